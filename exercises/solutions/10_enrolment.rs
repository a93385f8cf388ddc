//! Exercise 10, a reference solution: one critical section per enrolment.
//!
//! Looking her up, taking the next number and writing it into the register
//! happen under one lock, with no `.await` inside, so no other task can
//! read the register half-changed. The guard lives in a block that ends
//! before the database write is awaited: a std `MutexGuard` is not `Send`,
//! and a task holding one across an `.await` does not compile (the check
//! spawns each enrolment). A second tap finds her in the register and gets
//! her number without writing again.
//!
//! The proverb's way works too: a registry task owns the map, each
//! enrolment sends it the patient and a `oneshot::Sender`, and it answers
//! with the number and whether it is new (lesson 10's `actor`); the asking
//! task, not the registry, then awaits the write.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use exercises::ex10::{Database, Patient, TrialNumber, check};

type Register = Arc<Mutex<HashMap<Patient, TrialNumber>>>;

async fn enrol(register: Register, db: Database, patient: Patient) -> TrialNumber {
    let (number, new) = {
        let mut enrolled = register.lock().unwrap();
        match enrolled.get(patient) {
            Some(&number) => (number, false),
            None => {
                let number = TrialNumber::nth(enrolled.len() + 1);
                enrolled.insert(patient, number);
                (number, true)
            }
        }
    };
    if new {
        db.record(patient, number).await;
    }
    number
}

fn main() -> std::process::ExitCode {
    check(Register::default, enrol)
}

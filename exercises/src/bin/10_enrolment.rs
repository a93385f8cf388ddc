//! Exercise 10: every patient her own trial number.
//!
//! What is wrong: at 9:00 twelve patients tap "enrol" at once, and the
//! service gives each request a task of its own. Each task reads the next
//! free trial number from the register, records the enrolment in the
//! database (0.2 s), and only then writes the number into the register.
//! All twelve read before any has written: all twelve are told T-001, and
//! P-007, who tapped twice, is recorded twice.
//!
//! Done when: the twelve hold twelve numbers, T-001 to T-012; a second tap
//! gets the number she already has, and no second row; the request that
//! enrols her is answered once the database holds her row, 0.2 s after she
//! asked: the twelve writes run side by side, none waits for another. Keep
//! the register under one lock taken once per enrolment, or give it to a
//! task of its own that answers over `oneshot` (lesson 10).
//!
//! Practises: lesson 10, `cargo run --bin 10_shared_state`.
//! Check it:  cargo run -p exercises -- 10
//! Hint:      cargo run -p exercises -- hint 10

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use exercises::ex10::{Database, Patient, TrialNumber, check};

/// The trial's register: who is enrolled, under which number. Each
/// enrolment task holds a clone of the `Arc`.
type Register = Arc<Mutex<HashMap<Patient, TrialNumber>>>;

/// Enrols `patient`, or tells her the number she already has.
async fn enrol(register: Register, db: Database, patient: Patient) -> TrialNumber {
    // A second tap on "enrol": the number she already has.
    if let Some(&number) = register.lock().unwrap().get(patient) {
        return number;
    }
    // TODO: the lock is let go between reading the next number and writing
    // it into the register, and a 0.2 s database write is awaited between
    // the two: every other task reads the same register meanwhile.
    let number = TrialNumber::nth(register.lock().unwrap().len() + 1);
    db.record(patient, number).await;
    register.lock().unwrap().insert(patient, number);
    number
}

fn main() -> std::process::ExitCode {
    // The check enrols twelve patients at once, each in a task of her own.
    check(Register::default, enrol)
}

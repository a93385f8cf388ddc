//! Exercise 04: consent withdrawn: stop her export now.
//!
//! What is wrong: P-001 asked for her six reports to be exported to the
//! trial's sponsor, then at 2.5 s withdrew her consent. The export runs in a
//! task of its own and looks at a "withdrawn" flag only between reports, so
//! it finishes copying report 3 at 3.0 s: half a second after she said no,
//! her data is in the sponsor's archive. And `withdraw` returns while her
//! export task is still alive.
//!
//! Done when: a withdrawal stops that patient's export at once, in the
//! middle of a copy if need be (a copy dropped half-way keeps nothing), and
//! `withdraw` returns only when her export task has let go. Nobody else's
//! export may stop. This is lesson 04's `CancellationToken` in a `select!`.
//!
//! Practises: lesson 04, `cargo run --bin 04_cancel`.
//! Check it:  cargo run -p exercises -- 04
//! Hint:      cargo run -p exercises -- hint 04

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use exercises::ex04::{Archive, Patient, check};

/// The exports running, one per patient.
struct Exports {
    archive: Archive,
    // TODO: a Go-style shared flag, looked at only between reports.
    withdrawn: HashMap<Patient, Arc<AtomicBool>>,
}

impl Exports {
    fn new(archive: Archive) -> Exports {
        Exports {
            archive,
            withdrawn: HashMap::new(),
        }
    }

    /// Starts copying `patient`'s `reports` to the sponsor, in the background.
    fn start(&mut self, patient: Patient, reports: u32) {
        let withdrawn = Arc::new(AtomicBool::new(false));
        self.withdrawn.insert(patient, withdrawn.clone());
        let archive = self.archive.clone();
        tokio::spawn(async move {
            for report in 1..=reports {
                if withdrawn.load(Ordering::Relaxed) {
                    return;
                }
                archive.copy(patient, report).await;
            }
        });
    }

    /// `patient` withdrew her consent: her export stops, now.
    async fn withdraw(&mut self, patient: Patient) {
        if let Some(withdrawn) = self.withdrawn.remove(patient) {
            withdrawn.store(true, Ordering::Relaxed);
        }
    }
}

fn main() -> std::process::ExitCode {
    // The check starts two exports and withdraws consent in the middle.
    check(Exports::new, Exports::start, Exports::withdraw)
}

//! Exercise 04, a reference solution: one `CancellationToken` per export,
//! raced against each copy in a `select!`, and the task's `JoinHandle` kept
//! to wait on.
//!
//! When the token wins the `select!`, the copy's future is dropped in the
//! middle of its work, as in lesson 04. `withdraw` cancels and then awaits
//! the task, so when it returns her export has let go: the count of alive
//! tasks proves it. Each patient has her own token; one shared token would
//! stop everyone's. (`token.run_until_cancelled(export)` is the same race
//! in one call.)

use std::collections::HashMap;

use exercises::ex04::{Archive, Patient, check};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

struct Exports {
    archive: Archive,
    running: HashMap<Patient, (CancellationToken, JoinHandle<()>)>,
}

impl Exports {
    fn new(archive: Archive) -> Exports {
        Exports {
            archive,
            running: HashMap::new(),
        }
    }

    fn start(&mut self, patient: Patient, reports: u32) {
        let withdrawn = CancellationToken::new();
        let (archive, token) = (self.archive.clone(), withdrawn.clone());
        let task = tokio::spawn(async move {
            for report in 1..=reports {
                tokio::select! {
                    // A withdrawal wins over a copy that ends in the same instant.
                    biased;
                    () = token.cancelled() => return,
                    () = archive.copy(patient, report) => {}
                }
            }
        });
        self.running.insert(patient, (withdrawn, task));
    }

    async fn withdraw(&mut self, patient: Patient) {
        if let Some((withdrawn, task)) = self.running.remove(patient) {
            withdrawn.cancel();
            // Returns once the export has dropped its copy in progress.
            let _ = task.await;
        }
    }
}

fn main() -> std::process::ExitCode {
    check(Exports::new, Exports::start, Exports::withdraw)
}

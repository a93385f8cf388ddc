//! Exercise 03, a reference solution: the handler owns the query.
//!
//! No task is spawned, so none can be left behind. `select!` races the query
//! against the 2 s deadline; when the deadline wins, the query's future is
//! dropped in the middle of its wait and never runs again: cancelling is
//! dropping (lesson 04). `tokio::time::timeout(DEADLINE, lab.query(patient))`
//! does the same in one line.

use exercises::ex03::{Answer, DEADLINE, Lab, Patient, check};
use tokio::time::sleep;

/// Answers `patient`'s request for her history.
async fn history(lab: &Lab, patient: Patient) -> Answer {
    tokio::select! {
        history = lab.query(patient) => Answer::History(history),
        // Dropping the losing branch's future is what stops the query.
        () = sleep(DEADLINE) => Answer::TryAgain,
    }
}

fn main() -> std::process::ExitCode {
    check(history)
}

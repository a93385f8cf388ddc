//! Exercise 03: answer within 2 s, and stop the query when you give up.
//!
//! What is wrong: a patient opens the app, and it asks for her history. The
//! handler promises an answer within 2 s, but on a slow morning she stares at
//! a spinner for as long as the lab takes: 5 s for P-002. Put the 2 s deadline
//! in, and when it passes, tell her to try again *and stop the query*: a query
//! left running for nobody is lesson 03's leak, a database connection held
//! for a patient who has gone, and a task the clinic still counts.
//!
//! Done when: each patient hears back as soon as the lab answers, or after
//! 2.0 s with "try again"; a query given up on stops at that moment; the
//! alive-task count is back where it was after every request.
//!
//! Practises: lesson 03, `cargo run --bin 03_leak` (and the fix, lesson 04).
//! Check it:  cargo run -p exercises -- 03
//! Hint:      cargo run -p exercises -- hint 03

use exercises::ex03::{Answer, Lab, Patient, check};
use tokio::sync::mpsc;

/// Answers `patient`'s request for her history.
async fn history(lab: &Lab, patient: Patient) -> Answer {
    // Go's `go slowQuery(ch)`: the query runs in a task of its own and
    // sends its result back.
    let (reply, mut result) = mpsc::channel(1);
    let lab = lab.clone();
    tokio::spawn(async move {
        let history = lab.query(patient).await;
        // An Err only means nobody is waiting for the result any more.
        let _ = reply.send(history).await;
    });

    // TODO: the patient waits here for as long as the lab takes. Give up
    // after 2 s with `Answer::TryAgain`, and make sure the query stops then.
    match result.recv().await {
        Some(history) => Answer::History(history),
        None => Answer::TryAgain,
    }
}

fn main() -> std::process::ExitCode {
    // The check plays three patients against your handler, on the paused clock.
    check(history)
}

//! Exercise 13: one bad report must not stop the intake.
//!
//! What is wrong: the intake's worker takes reports off the queue and
//! stores them. Storing scores each report's risk with a library the clinic
//! does not own, and that library panics on R-003, whose diary is empty.
//! The panic ends the worker's task; the worker alone held the queue's
//! receiving end, so the queue goes with it, waiting in it,
//! are dropped, R-007 and R-008 find it closed, and nobody is told but the
//! `JoinHandle`, which nobody awaits.
//!
//! Done when: every other report is stored, as promptly as one worker can
//! manage; R-003 is put aside with `archive.quarantine` for a nurse to read;
//! the intake's task lives on through the panic and returns once the desk
//! has closed and the queue is empty, leaving no task behind. A panic ends
//! the task it happens in, and its `JoinHandle` says so (lesson 13).
//!
//! Practises: lesson 13, `cargo run --bin 13_panics`.
//! Check it:  cargo run -p exercises -- 13
//! Hint:      cargo run -p exercises -- hint 13

use exercises::ex13::{Archive, Report, check};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Starts the intake: a task that stores every report the queue brings,
/// until the desk closes the queue.
fn start(mut queue: mpsc::Receiver<Report>, archive: Archive) -> JoinHandle<()> {
    // Go: go func() { for r := range queue { store(r) } }(), where one
    // goroutine's panic would end the whole program.
    tokio::spawn(async move {
        while let Some(report) = queue.recv().await {
            // TODO: when the risk model panics in here, the panic ends this
            // whole task: the loop, the queue, and every report in it.
            archive.store(report).await;
        }
    })
}

fn main() -> std::process::ExitCode {
    // The check sends eight reports; the risk model panics on R-003.
    check(start)
}

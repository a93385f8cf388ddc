//! Exercise 13, a reference solution: each report is stored in a task of
//! its own, which the intake's task awaits.
//!
//! A panic ends only the task it happens in. Here that is the one report's
//! storing task: its `JoinHandle` gives `Err(JoinError)`, `is_panic()` says
//! why, and the intake's task, which still holds the queue and a copy of the
//! report, puts the report in quarantine and takes the next one. Awaiting
//! each storing task keeps the reports in order and leaves none running.
//!
//! Lesson 13's other way works too: a supervisor that keeps the queue's
//! receiver (shared, behind an `Arc<Mutex<..>>`) and starts a new worker
//! each time one panics; to quarantine, it must also know which report the
//! dead worker held. Go's twin is `defer func() { recover() }()` around each
//! report.

use exercises::ex13::{Archive, Report, check};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

fn start(mut queue: mpsc::Receiver<Report>, archive: Archive) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(report) = queue.recv().await {
            let storing = tokio::spawn({
                let (archive, report) = (archive.clone(), report.clone());
                async move { archive.store(report).await }
            });
            match storing.await {
                Ok(()) => {}
                Err(failed) if failed.is_panic() => {
                    archive.quarantine(report).await;
                }
                Err(failed) => unreachable!("nobody aborts it: {failed}"),
            }
        }
    })
}

fn main() -> std::process::ExitCode {
    check(start)
}

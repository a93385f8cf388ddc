//! Exercise 07, a reference solution: `try_send`, and a 503 when the queue
//! is full.
//!
//! `try_send` never waits: it puts the report in the queue, or hands it
//! straight back inside the error. On `Full` the intake answers 503 and the
//! patient's app keeps the report to send again later (with a
//! `Retry-After`, in a real service). Nothing is lost: every report is
//! either in the queue or still on the phone. This is Go's
//! `select { case queue <- r: default: }`.

use exercises::ex07::{Database, Report, Status, check};
use tokio::sync::mpsc::{self, error::TrySendError};

struct Intake {
    queue: mpsc::Sender<Report>,
}

fn open(db: Database, places: usize) -> Intake {
    let (queue, mut inbox) = mpsc::channel(places);
    tokio::spawn(async move {
        while let Some(report) = inbox.recv().await {
            db.store(report).await;
        }
    });
    Intake { queue }
}

impl Intake {
    async fn upload(&self, report: Report) -> Status {
        match self.queue.try_send(report) {
            Ok(()) => Status::Accepted,
            // The report comes back inside the error; the app still has it.
            Err(TrySendError::Full(_report)) => Status::Busy,
            // No worker at all: still not the patient's fault, still a 503.
            Err(TrySendError::Closed(_report)) => Status::Busy,
        }
    }
}

fn main() -> std::process::ExitCode {
    check(open, Intake::upload)
}

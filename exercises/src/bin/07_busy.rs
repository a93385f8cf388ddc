//! Exercise 07: busy, try again: answer 503 at once.
//!
//! What is wrong: the database is down for maintenance until 10.0 s, so
//! the intake's queue fills up with its first eight reports. At 0.0 s thirty
//! patients upload at once, and from the tenth on each upload waits for a
//! place in the queue: the phones show a spinner for ten seconds, the apps
//! time out, and the patients, who were told nothing, start again by hand.
//!
//! Done when: every upload is answered at once, 202 Accepted if its report
//! is in the queue, 503 Service Unavailable if the queue is full (the app
//! keeps the report and tries again later, lesson 07's `try_send`). Every
//! report answered 202 is stored; no report answered 503 is. And keep the
//! queue the size the clinic gives you: a bigger one only hides the
//! overload.
//!
//! Practises: lesson 07, `cargo run --bin 07_backpressure`.
//! Check it:  cargo run -p exercises -- 07
//! Hint:      cargo run -p exercises -- hint 07

use exercises::ex07::{Database, Report, Status, check};
use tokio::sync::mpsc;

/// The intake: a queue, and a worker storing what is in it.
struct Intake {
    queue: mpsc::Sender<Report>,
}

/// Opens the intake with a queue of `places` places.
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
    /// A patient's app uploads `report`: the answer goes straight back.
    async fn upload(&self, report: Report) -> Status {
        // TODO: on a full queue this waits for a place, with the patient's
        // request held open all the while.
        self.queue
            .send(report)
            .await
            .expect("the worker is running");
        Status::Accepted
    }
}

fn main() -> std::process::ExitCode {
    // The check sends a burst of uploads while the database is down.
    check(open, Intake::upload)
}

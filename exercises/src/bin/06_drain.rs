//! Exercise 06: closing time: drain, and name what is lost.
//!
//! What is wrong: at 1.5 s the clinic gets SIGTERM. Fifteen reports were
//! accepted, each answered "received", and about half are still queued or
//! being written. The shutdown is the first article's hook: it closes the
//! queue and returns at once, the process exits, and seven promised reports
//! are gone without a word. A hook that waited for ever would be no better:
//! if the database hangs, the platform kills the service mid-write anyway.
//!
//! Done when: `shut_down` stops accepting, lets the two workers store the
//! backlog and returns the moment they are done; if the deadline passes
//! first, it stops the workers there and returns the ids of every accepted
//! report not stored, so they can be recovered. Nothing may be stored after
//! it returns, and no task may be left running (lesson 06's TaskTracker).
//!
//! Practises: lesson 06, `cargo run --bin 06_shutdown`.
//! Check it:  cargo run -p exercises -- 06
//! Hint:      cargo run -p exercises -- hint 06

use exercises::ex06::{Database, Report, check};
use tokio::time::Duration;

/// The intake: a queue, and two workers storing what is in it.
struct Intake {
    queue: flume::Sender<Report>,
}

/// Opens the intake: a queue of 64 places and two workers.
fn open(db: Database) -> Intake {
    let (queue, inbox) = flume::bounded(64);
    for _ in 0..2 {
        let (inbox, db) = (inbox.clone(), db.clone());
        // TODO: nobody keeps track of these workers, or of what they hold.
        tokio::spawn(async move {
            while let Ok(id) = inbox.recv_async().await {
                db.store(id).await;
            }
        });
    }
    Intake { queue }
}

impl Intake {
    /// A patient's upload: queue the report and answer "received" (true).
    fn accept(&self, id: Report) -> bool {
        self.queue.try_send(id).is_ok()
    }

    /// SIGTERM: stop accepting, store what was accepted, but not past
    /// `deadline`. Returns the ids accepted and not stored (none, when the
    /// backlog was stored in time).
    async fn shut_down(self, deadline: Duration) -> Vec<Report> {
        // TODO: the article's hook: close the queue, and return at once.
        // The deadline is not even looked at.
        let _ = deadline;
        drop(self.queue);
        Vec::new()
    }
}

fn main() -> std::process::ExitCode {
    // The check sends fifteen reports, then the signal, three times over.
    check(open, Intake::accept, Intake::shut_down)
}

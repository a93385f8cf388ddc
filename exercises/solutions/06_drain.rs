//! Exercise 06, a reference solution: a `TaskTracker` for the workers, a
//! set of the reports still owed, and a deadline on the wait.
//!
//! Every accepted id goes into `owed`, and a worker takes it out once the
//! report is stored, so `owed` is always the list of open promises. At
//! SIGTERM, dropping the only Sender closes the queue and each worker's
//! loop ends when it is empty; `tracker.close()` then lets `wait()` finish
//! once they all have. If the deadline comes first, the token stops every
//! worker where it is (a write cut off stores nothing), we wait for them to
//! let go, and whatever is still owed is named lost.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use exercises::ex06::{Database, Report, check};
use tokio::time::{Duration, timeout};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

struct Intake {
    queue: flume::Sender<Report>,
    workers: TaskTracker,
    stop_writing: CancellationToken,
    /// Accepted and not yet stored: the promises still open.
    owed: Arc<Mutex<BTreeSet<Report>>>,
}

fn open(db: Database) -> Intake {
    let (queue, inbox) = flume::bounded(64);
    let workers = TaskTracker::new();
    let stop_writing = CancellationToken::new();
    let owed = Arc::new(Mutex::new(BTreeSet::new()));
    for _ in 0..2 {
        let (inbox, db, owed) = (inbox.clone(), db.clone(), Arc::clone(&owed));
        let work = async move {
            while let Ok(id) = inbox.recv_async().await {
                db.store(id).await;
                owed.lock().unwrap().remove(&id);
            }
        };
        workers.spawn(stop_writing.clone().run_until_cancelled_owned(work));
    }
    Intake {
        queue,
        workers,
        stop_writing,
        owed,
    }
}

impl Intake {
    fn accept(&self, id: Report) -> bool {
        let mut owed = self.owed.lock().unwrap();
        let queued = self.queue.try_send(id).is_ok();
        if queued {
            owed.insert(id);
        }
        queued
    }

    async fn shut_down(self, deadline: Duration) -> Vec<Report> {
        // 1. Stop accepting: the queue closes, the workers drain what is in it.
        drop(self.queue);
        // 2. No more workers will join, so `wait` can finish.
        self.workers.close();
        // 3. Wait for them, but not past the deadline...
        if timeout(deadline, self.workers.wait()).await.is_err() {
            // ...then stop them where they are, and wait until they have.
            self.stop_writing.cancel();
            self.workers.wait().await;
        }
        self.owed.lock().unwrap().iter().copied().collect()
    }
}

fn main() -> std::process::ExitCode {
    check(open, Intake::accept, Intake::shut_down)
}

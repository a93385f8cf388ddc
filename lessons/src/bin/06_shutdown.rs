//! Lesson 06: shutting down without losing accepted reports.
//!
//! Fifteen patients submit a report 0.1 s apart; the intake answers "received"
//! and queues it; two workers store each in 0.5 s, so a backlog builds. At 2.4 s
//! the shutdown signal arrives. The first article's hook closes the channel and
//! returns: as when `main` returns, the runtime drops every task still running,
//! and accepted reports are lost. The fix is the `sync.WaitGroup` it left out:
//! stop accepting, close the queue, let the workers drain it, and wait for them,
//! with a deadline.
//!
//! Previous: 05_deadlock. Next: 07_backpressure, when the queue is full.
//!
//! Run: cargo run --bin 06_shutdown      (add `-- --fast` to skip the waiting)
//! Go:  server.AddShutdownHook(func() { close(ch) })   // + the missing sync.WaitGroup

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use futures::future::BoxFuture;
use lessons::{alive_tasks, lanes, mark, ms, say, waiting, working};
use tokio::task::JoinSet;
use tokio::time::{Duration, Instant, sleep, sleep_until, timeout};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const WORKERS: usize = 2;
/// A patient submits every 0.1 s; storing one report takes a worker 0.5 s.
const PATIENTS: u32 = 15;
const EVERY: Duration = ms(100);
const STORE: Duration = ms(500);
/// The signal comes 0.2 s from any store's end, so a late timer cannot reorder
/// them; then we may take 5 s to finish.
const SIGNAL_AT: Duration = ms(2_400);
const DEADLINE: Duration = ms(5_000);

fn main() -> ExitCode {
    lessons::run(lesson)
}

// ANCHOR: lesson
async fn lesson() {
    lanes(&["intake", "worker 1", "worker 2", "shutdown"]); // for --timeline
    say!("--- naive: the article's hook closes the queue and returns");
    close_and_exit().await.print();
    say!("--- draining: stop accepting, finish the backlog, wait with a deadline");
    drain_and_wait().await.print();
    say!("tasks alive: {}", alive_tasks());
}
// ANCHOR_END: lesson

async fn close_and_exit() -> Arc<Ledger> {
    // Dropping a JoinSet aborts its tasks, as dropping the runtime does at exit.
    let mut tasks = JoinSet::new();
    let (stop, ledger) = open(|task| drop(tasks.spawn(task)));
    sleep(SIGNAL_AT).await;
    say!("signal: shutdown requested");
    // ANCHOR: naive
    // close(ch): the intake returns and drops the queue's only Sender.
    stop.cancel();
    say!("hook: queue closed; returning without waiting for the workers");
    // ...and main returns: the runtime drops every task still running.
    drop(tasks);
    // ANCHOR_END: naive
    ledger
}

async fn drain_and_wait() -> Arc<Ledger> {
    // A TaskTracker is Go's WaitGroup: it counts the tasks spawned through it.
    let tracker = TaskTracker::new();
    let (stop, ledger) = open(|task| drop(tracker.spawn(task)));
    sleep(SIGNAL_AT).await;
    say!("signal: shutdown requested");
    // ANCHOR: draining
    // 1. Stop accepting: the intake drops the only Sender, closing the queue.
    stop.cancel();
    // 2. No task will join the tracker any more, so `wait` may finish.
    tracker.close();
    let [accepted, taken, stored] = ledger.counts();
    let (writing, queued) = (taken - stored, accepted - taken);
    say!(
        "shutdown: stopped accepting; \
         {writing} reports being written, {queued} queued"
    );
    // 3. Wait for the backlog, but not forever: the host kills us at some point.
    let _waiting = waiting("shutdown", "waits for the workers, 5 s at most");
    match timeout(DEADLINE, tracker.wait()).await {
        Ok(()) => say!("shutdown: every task has finished; exiting"),
        Err(_) => say!("shutdown: deadline passed; {} tasks cut off", tracker.len()),
    }
    // ANCHOR_END: draining
    ledger
}

// ANCHOR: service
/// Opens the service: an intake and two workers around one queue. `spawn`
/// starts each task; who holds them decides what a shutdown can wait for.
fn open(
    mut spawn: impl FnMut(BoxFuture<'static, ()>),
) -> (CancellationToken, Arc<Ledger>) {
    let (stop, ledger) = (CancellationToken::new(), Arc::<Ledger>::default());
    // Room for 64, so a send never waits (a full queue is lesson 07). flume's
    // Receiver can be cloned: two workers share one queue, as in Go.
    let (queue, inbox) = flume::bounded(64);
    for id in 1..=WORKERS {
        spawn(Box::pin(worker(id, inbox.clone(), ledger.clone())));
    }
    spawn(Box::pin(intake(queue, stop.clone(), ledger.clone())));
    (stop, ledger)
}

/// Accepts patient n's report at n × 0.1 s, then waits for `stop`. Each
/// report carries its due time, so the real clock's lateness cannot add up.
async fn intake(
    queue: flume::Sender<Instant>,
    stop: CancellationToken,
    ledger: Arc<Ledger>,
) {
    let opened = Instant::now();
    let _open = waiting("intake", "open: 15 reports come in");
    for n in 1..=PATIENTS {
        let due = opened + EVERY * n;
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            () = sleep_until(due) => {}
        }
        queue.send_async(due).await.expect("the workers are up");
        // The patient's app now shows "received": a promise.
        ledger.accepted.fetch_add(1, Relaxed);
    }
    stop.cancelled().await;
    // `queue`, the only Sender, is dropped here: that is what closes the queue.
}

/// Go's `for r := range ch`: loops until the queue is closed *and* empty.
async fn worker(id: usize, inbox: flume::Receiver<Instant>, ledger: Arc<Ledger>) {
    let (mut stored, mut free_at, me) = (0, Instant::now(), format!("worker {id}"));
    while let Ok(arrived) = inbox.recv_async().await {
        ledger.taken.fetch_add(1, Relaxed);
        // Validate, write to the database, append to the audit log: 0.5 s
        // from when the report arrived or this worker was free, if later.
        free_at = free_at.max(arrived) + STORE;
        working(&me, "").during(sleep_until(free_at)).await; // a bar per report
        // The other worker, if due at the same moment, goes first: a worker
        // that woke late on a busy machine must not take its next report too.
        tokio::task::yield_now().await;
        ledger.stored.fetch_add(1, Relaxed);
        stored += 1;
    }
    say!("worker {id}: queue closed and empty; stored {stored}, exiting");
}
// ANCHOR_END: service

/// What the intake promised and what the workers did with it.
#[derive(Debug, Default)]
struct Ledger {
    accepted: AtomicUsize,
    taken: AtomicUsize,
    stored: AtomicUsize,
}

impl Ledger {
    fn counts(&self) -> [usize; 3] {
        [&self.accepted, &self.taken, &self.stored].map(|n| n.load(Relaxed))
    }
    fn lost(&self) -> usize {
        self.accepted.load(Relaxed) - self.stored.load(Relaxed)
    }
    fn print(&self) {
        let [accepted, taken, stored] = self.counts();
        let (lost, half, queued) = (self.lost(), taken - stored, accepted - taken);
        say!("count: accepted {accepted}, stored {stored}, lost {lost}");
        mark("shutdown", format!("{lost} of {accepted} lost"));
        if lost > 0 {
            say!("count: the lost: {half} half-written, {queued} still queued");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lessons::{Clock, block_on};

    #[test]
    fn only_the_draining_shutdown_keeps_every_report_and_leaves_no_task() {
        let (naive, draining, alive) = block_on(Clock::Paused, async {
            (close_and_exit().await, drain_and_wait().await, alive_tasks())
        });
        assert!(naive.lost() > 0, "{naive:?}");
        assert!(draining.accepted.load(Relaxed) > 0);
        assert_eq!((draining.lost(), alive), (0, 0), "{draining:?}");
    }
}

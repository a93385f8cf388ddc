//! Lesson 07: saying "busy, try again" instead of queueing forever.
//!
//! The first article's intake never waits on its queue: it tries to put the
//! report in, and if the queue is full it answers at once with an error (its
//! `select` with a `default` branch). In Rust that is `try_send`: on a full
//! queue it hands the report straight back, and the handler turns it into a
//! 503 the patient's app can retry. `send().await` would instead hold the
//! patient's request open until a worker frees a slot. (tokio's mpsc has the
//! same two methods; flume is used because four workers share one queue.)
//!
//! Then the article's other warning, measured: a bigger buffer is not better.
//! The same burst of 100 reports hits queues of 4, 16, 64 and 1024 slots, with
//! the same four workers behind them. The big queue refuses no one, yet the
//! last report it accepted waits 2.4 s before a worker opens it: the same
//! overload, hidden (and more reports to lose at a crash, lesson 06).
//!
//! Previous: 06_shutdown, draining the queue. Next: 08_tasks_vs_threads, why
//! a task per request is cheap where a thread or process per request is not.
//!
//! Run: cargo run --bin 07_backpressure      (add `-- --fast` to skip the waiting)
//! Go:  select { case ch <- r: default: return 503 }

use std::process::ExitCode;

use flume::TrySendError;
use lessons::{half_seconds, handoff, lanes, mark, ms, say, waiting, working};
use tokio::time::{Duration, Instant, sleep, sleep_until};

/// The burst: every patient of a study submits in the same instant.
const BURST: usize = 100;
const WORKERS: usize = 4;
/// Storing one report takes a worker 0.1 s.
const STORE: Duration = ms(100);

fn main() -> ExitCode {
    lessons::run(lesson)
}

// ANCHOR: lesson
async fn lesson() {
    lanes(&["intake", "worker", "4 workers"]);
    say!("--- a queue with 2 slots, its worker still busy elsewhere");
    try_send_or_wait().await;

    say!("--- {BURST} reports at once, {WORKERS} workers at 0.1 s each");
    say!("capacity  accepted  rejected (503)  longest wait in queue");
    let (mut last, mut at) = ((0, 0, 0.0), Instant::now());
    for capacity in [4, 16, 64, 1024] {
        // Each burst comes when the one before was due to be stored.
        let (accepted, longest, done) = burst(capacity, at).await;
        at = done;
        let rejected = BURST - accepted;
        let wait = longest.as_secs_f64();
        say!("{capacity:>8}  {accepted:>8}  {rejected:>14}  {wait:>19.1} s");
        last = (capacity, rejected, wait);
    }
    // Same workers, same burst: a bigger queue only trades refusals for waiting.
    let (capacity, rejected, wait) = last;
    say!(
        "{capacity} slots: {rejected} refused, \
         yet a report waited {wait:.1} s unopened"
    );
}
// ANCHOR_END: lesson

// ANCHOR: try_send
async fn try_send_or_wait() {
    let (queue, inbox) = flume::bounded::<&str>(2);
    for report in ["P-001", "P-002", "P-003"] {
        // select-with-default: never wait. A full queue hands the report back.
        match queue.try_send(report) {
            Ok(()) => say!("intake: {report} queued -> 202 Accepted"),
            Err(TrySendError::Full(report)) => {
                mark("intake", format!("{report} refused: 503"));
                say!(
                    "intake: queue full, {report} handed back at once \
                     -> 503, retry later"
                );
            }
            Err(TrySendError::Disconnected(_)) => unreachable!("`inbox` is alive"),
        }
    }

    let worker = tokio::spawn(async move {
        // The worker gets to this queue after 0.5 s.
        let _busy = working("worker", "busy elsewhere");
        sleep(ms(500)).await;
        let report = inbox.recv_async().await.expect("two reports wait");
        handoff("intake", "worker", report);
        say!("worker: took {report}; a slot is free");
        inbox
    });
    // The other way: wait for room, with the patient's request still open.
    say!("intake: send().await with P-003 instead: waiting for a slot");
    let _open = waiting("intake", "P-003's request held open");
    let since = Instant::now();
    queue.send_async("P-003").await.expect("the worker holds the inbox");
    let held = half_seconds(since.elapsed());
    say!("intake: P-003 queued; the patient's request was open {held:.1} s");
    worker.await.expect("the worker does not panic");
}
// ANCHOR_END: try_send

// ANCHOR: burst
/// Sends the burst, due `at`, into a queue of `capacity` and lets the workers
/// drain it. Returns how many reports were accepted, the longest any of them
/// queued, and when the last store was due to end.
async fn burst(capacity: usize, at: Instant) -> (usize, Duration, Instant) {
    // Each report carries the instant it arrived.
    let (queue, inbox) = flume::bounded::<Instant>(capacity);
    // No `.await` in this loop, so no worker runs during it: the whole burst
    // lands in the same instant, and the counts are exact on any clock.
    let accepted = (0..BURST).filter(|_| queue.try_send(at).is_ok()).count();
    drop(queue);
    mark("intake", format!("{} refused: 503", BURST - accepted));
    let _storing = working("4 workers", format!("storing {accepted}"));

    let workers: Vec<_> =
        (0..WORKERS).map(|_| tokio::spawn(worker(inbox.clone(), at))).collect();
    let (mut longest, mut done) = (Duration::ZERO, at);
    for worker in workers {
        let (waited, free_at) = worker.await.expect("workers do not panic");
        (longest, done) = (longest.max(waited), done.max(free_at));
    }
    (accepted, longest, done)
}

/// Stores reports until the queue is closed and empty. Returns the longest
/// time a report sat in the queue before this worker took it, and when the
/// worker was due to be free again.
async fn worker(
    inbox: flume::Receiver<Instant>,
    mut free_at: Instant,
) -> (Duration, Instant) {
    let mut longest = Duration::ZERO;
    while let Ok(arrived) = inbox.recv_async().await {
        // Queued until this worker was due to be free, and each store ends
        // 0.1 s after the previous one was due to end: counted from the plan,
        // not from when a timer woke (a little late on a busy machine), the
        // figures stay the same on any clock and the delays do not add up.
        longest = longest.max(free_at.saturating_duration_since(arrived));
        free_at += STORE;
        sleep_until(free_at).await;
        // Let the other workers due at the same moment take theirs first: on
        // a busy machine this one may wake late, and must not take two.
        tokio::task::yield_now().await;
    }
    (longest, free_at)
}
// ANCHOR_END: burst

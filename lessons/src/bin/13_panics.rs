//! Lesson 13: a worker panics on a malformed report.
//!
//! One app sends a pain score as a word; the worker's `expect` panics. Go ends
//! the program unless the goroutine `recover`s; tokio ends the task: its
//! `JoinHandle` gives `Err(JoinError)`. A worker that alone held the queue takes
//! every report in it down; a supervisor sharing the queue starts a new one. A
//! dropped `JoinSet` aborts its tasks.
//!
//! Previous: 12_limits. This is the last lesson; the playground comes next.
//!
//! Run: cargo run --bin 13_panics      (add `-- --fast` to skip the waiting)
//! Go:  defer func() { if r := recover(); r != nil { ... } }()

use std::{process::ExitCode, sync::Arc};

use lessons::{alive_tasks, elapsed, handoff, lanes, mark, ms, say, stamp, working};
use tokio::time::{Instant, sleep_until};
use tokio::{sync::Mutex, sync::mpsc, task::JoinSet};

const PAIN: [&str; 5] = ["4", "7", "severe", "2", "5"]; // P-001 to P-005's

fn main() -> ExitCode {
    // Not the default hook's message (and backtrace): one stamped line.
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map_or(String::new(), |l| l.to_string());
        let (now, text) = (stamp(elapsed()), message(info.payload()));
        eprintln!("{now} stderr: panicked at {at}: {text}");
    }));
    lessons::run(lesson)
}

// ANCHOR: lesson
async fn lesson() {
    let start = Instant::now();
    lanes(&["worker", "main", "lost reports", "worker 1", "supervisor", "worker 2"]);
    say!("--- the worker alone holds the queue");
    let (queue, inbox) = fill(start).await;
    let worker = tokio::spawn(work("worker".into(), inbox));
    let Err(failed) = worker.await else { unreachable!("P-003 panics") };
    handoff("worker", "main", "JoinError");
    say!("main: the JoinHandle gave Err: is_panic() = {}", failed.is_panic());
    say!("main: the panic carried {:?}", message(&*failed.into_panic()));
    say!("main: still running; the queue is closed: {}", queue.is_closed());
    say!("--- a supervisor holds the queue too, and starts another worker");
    let (queue, inbox) = fill(start + ms(600)).await;
    drop(queue); // no more reports: a worker ends once the queue is empty
    supervise(inbox).await;
    say!("--- a JoinSet owns the three risk checks of P-006's report");
    risk_checks(start + ms(1_600)).await;
}
// ANCHOR_END: lesson

// ANCHOR: workers
type Inbox = Arc<Mutex<mpsc::Receiver<Report>>>;
/// Stores reports until the queue is closed and empty, or a report is bad.
async fn work(name: String, inbox: Inbox) {
    // The lock is held only while waiting for the next report.
    while let Some(mut report) = inbox.lock().await.recv().await {
        let _storing = working(&name, format!("storing P-00{}", report.n));
        sleep_until(report.due).await;
        let pain: u8 = report.pain.parse().expect("a pain score is a number");
        report.stored = true;
        say!("{name}: stored P-00{} (pain {pain})", report.n);
    }
}

/// Starts a new worker each time one panics, until one ends on its own.
async fn supervise(inbox: Inbox) {
    for n in 1.. {
        // A panic drops the worker's clone of `inbox`; the queue lives on here.
        let worker = tokio::spawn(work(format!("worker {n}"), inbox.clone()));
        let Err(failed) = worker.await else { break };
        handoff(&format!("worker {n}"), "supervisor", "JoinError");
        assert!(failed.is_panic(), "nobody aborts a worker, so it panicked");
        say!("supervisor: worker {n} panicked");
    }
    say!("supervisor: the last worker is done, the queue is empty");
}
// ANCHOR_END: workers
// ANCHOR: join_set
/// Three checks; the first to end panics; dropping the `JoinSet` aborts the others.
async fn risk_checks(started: Instant) {
    let mut checks = JoinSet::new();
    for (check, takes) in [("pain trend", 500), ("free text", 100), ("meds", 800)] {
        checks.spawn(async move {
            let checking = working(check, format!("needs {takes} ms"));
            checking.during(sleep_until(started + ms(takes))).await;
            if check == "free text" {
                // P-006's note came in Latin-1, not UTF-8.
                String::from_utf8(b"tr\xe8s forte".to_vec()).expect("a UTF-8 note");
            }
            say!("risk: {check} check done");
        });
    }
    let Some(Err(failed)) = checks.join_next().await else { unreachable!() };
    say!("risk: join_next gave Err: is_panic() = {}", failed.is_panic());
    drop(checks);
    mark("risk", "JoinError in: dropped the set, the rest aborted");
    sleep_until(started + ms(1_000)).await; // past the slowest check's 0.8 s
    say!("risk: alive tasks {}: the other two were aborted", alive_tasks());
}
// ANCHOR_END: join_set

/// A report, due stored 0.2 s after the one before; it says so if lost unstored.
struct Report {
    n: u64,
    pain: &'static str,
    due: Instant,
    stored: bool,
}

impl Drop for Report {
    fn drop(&mut self) {
        if !self.stored {
            say!("P-00{}: report dropped, never stored", self.n);
            mark("lost reports", format!("P-00{}", self.n));
        }
    }
}

/// A queue holding five reports, filled `at`, and its receiving end to share.
async fn fill(at: Instant) -> (mpsc::Sender<Report>, Inbox) {
    let (queue, inbox) = mpsc::channel(8);
    for (n, pain) in (1..).zip(PAIN) {
        let due = at + ms(200 * n);
        queue.send(Report { n, pain, due, stored: false }).await.expect("open");
    }
    say!("intake: queued P-001 to P-005");
    (queue, Arc::new(Mutex::new(inbox)))
}

/// What a panic carried: `expect`, and `panic!` with arguments, give a String.
fn message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload.downcast_ref::<String>().map_or("(not a String)", String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn after_the_panic_a_send_to_the_closed_queue_hands_the_report_back() {
        lessons::block_on(lessons::Clock::Paused, async {
            let (queue, inbox) = fill(Instant::now()).await;
            let failed = tokio::spawn(work("w".into(), inbox)).await.unwrap_err();
            let late = Report { n: 7, pain: "3", due: Instant::now(), stored: true };
            let back = queue.send(late).await.expect_err("the queue is closed").0;
            assert_eq!((failed.is_panic(), back.n, alive_tasks()), (true, 7, 0));
        });
    }
}

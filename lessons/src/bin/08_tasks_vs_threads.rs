//! Lesson 08: a task per request, and what a waiting request costs.
//!
//! The second article's bank: PHP-FPM serves requests at a fixed number of
//! counters, each clerk an OS worker that stays at the counter while the
//! database works. Go, like tokio, gives each request a task instead, and a
//! task that waits gives its thread back. 1000 requests, each waiting 0.1 s on
//! the database, go to 20 clerk threads (5 s), then to one task each (0.1 s).
//! Then 1000 threads and 50000 tasks park on one signal, and the resident
//! memory each group adds is measured the same way.
//!
//! Previous: 07_backpressure. Next: 09_blocking, a task that blocks its thread
//! the way these clerks do.
//!
//! Run: cargo run --bin 08_tasks_vs_threads      (add `-- --fast` to skip the waiting)
//! Go:  go handle(r) for every request vs a fixed pool; runtime.NumGoroutine()

use std::process::ExitCode;

use lessons::{alive_tasks, lanes, ms, resident_kib, say, waiting};
use tokio::time::{Duration, Instant, sleep_until};
use tokio::{runtime::Handle, sync::broadcast};
use tokio_util::task::TaskTracker;

const REQUESTS: u32 = 1000;
const CLERKS: u32 = 20;
/// Each request's database call.
const IO: Duration = ms(100);
const THREADS: usize = 1_000;
const TASKS: usize = 50_000;

fn main() -> ExitCode {
    lessons::run(lesson)
}

// ANCHOR: lesson
async fn lesson() {
    let start = Instant::now();
    lanes(&[]); // each lane is a group of threads or tasks, named where it starts
    say!("{REQUESTS} requests at once; each waits 0.1 s on the database");
    bank(CLERKS).await;
    let each = REQUESTS / CLERKS;
    say!("bank of {CLERKS} clerk threads: all answered, {each} in turn at each");
    task_per_request().await;
    say!("one task per request: all answered, every wait at once");
    park_and_measure(start + ms(6_000), start + ms(7_000), start + ms(9_000)).await;
}
// ANCHOR_END: lesson

// ANCHOR: bank
/// A fixed pool: `clerks` OS threads, each serving its line of requests one
/// at a time and blocking through every database wait.
async fn bank(clerks: u32) {
    let opened = Instant::now();
    let database = Handle::current();
    // Counts the clerks still at work, like the tracker of tasks below.
    let at_work = TaskTracker::new();
    let _clerks = waiting("20 clerk threads", "each blocked in 50 waits, in turn");
    for _counter in 0..clerks {
        let (database, clerk) = (database.clone(), at_work.token());
        std::thread::spawn(move || {
            let mut answered_at = opened;
            for _request in 0..REQUESTS / clerks {
                answered_at += IO; // back to back, 0.1 s after the previous
                blocking_query(&database, answered_at);
            }
            drop(clerk);
        });
    }
    at_work.close();
    at_work.wait().await;
}

/// A blocking database driver: `block_on` parks this OS thread until the
/// answer, a timer on the lesson's clock, is in.
fn blocking_query(database: &Handle, answered_at: Instant) {
    database.block_on(async { sleep_until(answered_at).await });
}
// ANCHOR_END: bank

// ANCHOR: per_request
/// Go's `go handle(r)`: every request gets its own task, so every database
/// call starts at once, and the runtime's one thread serves whoever is ready.
async fn task_per_request() {
    let arrived = Instant::now();
    let handlers = TaskTracker::new();
    let _tasks = waiting("1000 tasks", "one a request: every wait at once");
    for _request in 0..REQUESTS {
        handlers.spawn(sleep_until(arrived + IO));
    }
    handlers.close();
    handlers.wait().await;
}
// ANCHOR_END: per_request

// ANCHOR: parked
/// Parks `THREADS` threads, then `TASKS` tasks, on one signal; measures each.
async fn park_and_measure(threads_at: Instant, tasks_at: Instant, end: Instant) {
    // Nobody ever sends on it: dropping `signal` closes it, waking everyone.
    let (signal, _) = broadcast::channel::<()>(1);
    let parked = TaskTracker::new();
    say!("parking {THREADS} threads, each blocked on the same signal");
    let before = resident_kib();
    let threads = waiting("1000 threads", "parked: blocked on the signal");
    park_threads(&signal, &parked).await;
    // Until a set time, not for a set span: the spawning's time is absorbed.
    sleep_until(threads_at).await;
    let middle = resident_kib();
    say!("threads parked: {}", parked.len());
    added("thread", THREADS, before, middle);

    say!("parking {TASKS} tasks, each awaiting the same signal");
    let tasks = waiting("50000 tasks", "parked: awaiting the signal");
    for _ in 0..TASKS {
        let mut parked_on = signal.subscribe();
        parked.spawn(async move { parked_on.recv().await });
    }
    // A parked task is not polled again until its signal: it costs no CPU.
    sleep_until(tasks_at).await;
    say!("tasks alive: {} (Go: runtime.NumGoroutine())", alive_tasks());
    added("task", TASKS, middle, resident_kib());
    say!("PHP-FPM: tens of MB a process (the article's figure, not measured)");

    say!("sending the signal");
    drop((signal, threads, tasks));
    parked.close();
    parked.wait().await;
    // Waking them all takes real CPU time: a set time keeps the stamps alike.
    sleep_until(end).await;
    say!("every thread and task saw it and ended; parked: {}", parked.len());
}

/// Starts `THREADS` threads that block on `signal`, each counted in `parked`
/// until it ends, and returns once every one of them is running.
async fn park_threads(signal: &broadcast::Sender<()>, parked: &TaskTracker) {
    let (ready, readies) = flume::unbounded();
    for _ in 0..THREADS {
        let (mut parked_on, ready) = (signal.subscribe(), ready.clone());
        let me = parked.token();
        std::thread::spawn(move || {
            ready.send(()).expect("the lesson counts us");
            // A blocking receive: the thread sleeps in the kernel until then.
            let _closed = parked_on.blocking_recv();
            drop(me);
        });
    }
    for _ in 0..THREADS {
        readies.recv_async().await.expect("every thread starts");
    }
}

/// Prints what one group of `count` parked waiters added to resident memory.
fn added(what: &str, count: usize, before: Option<u64>, after: Option<u64>) {
    match before.zip(after) {
        Some((before, after)) => {
            let kib = after.saturating_sub(before);
            let (mb, each) = (kib as f64 / 1024.0, kib * 1024 / count as u64);
            say!("+{mb:.1} MB resident: {each} bytes a {what} (varies by machine)");
        }
        None => say!("memory: not measured on this system (varies by machine)"),
    }
}
// ANCHOR_END: parked

#[cfg(test)]
mod tests {
    use super::*;
    use lessons::{Clock, block_on, elapsed};

    #[test]
    fn the_bank_takes_fifty_waits_and_the_tasks_take_one() {
        let (bank_took, tasks_took) = block_on(Clock::Paused, async {
            bank(CLERKS).await;
            let bank_took = elapsed();
            task_per_request().await;
            (bank_took, elapsed() - bank_took)
        });
        // Each clerk thread serves its 50 requests back to back...
        assert_eq!(bank_took, IO * (REQUESTS / CLERKS));
        // ...and with a task each, all the waits overlap.
        assert_eq!(tasks_took, IO);
    }
}

//! Lesson 08: a task per request, and what a waiting task costs.
//!
//! The second article's bank: PHP-FPM serves requests like a bank with a fixed
//! number of counters. Each clerk (a worker process of tens of MB) takes one
//! customer and stays at the counter while the database works; everyone else
//! queues at the door. Go, like tokio, gives each request its own lightweight
//! task: a task that waits on I/O gives the thread back and holds no counter.
//!
//! The same 1000 requests, each waiting 0.05 s on the database, go first to a
//! bank of 10 counters (1000 / 10 x 0.05 s = 5 s), then to one task each
//! (all the waits overlap: 0.05 s). Then we park 100000 tasks at once and
//! measure what each one costs in memory, next to Go's 2 KB goroutine stack.
//! The measured figure depends on the machine, so its line says so.
//!
//! Previous: 07_backpressure. This is the last lesson.
//!
//! Run: cargo run --bin 08_tasks_vs_threads      (add `-- --fast` to skip the waiting)
//! Go:  go handle(r) for every request vs a fixed pool; runtime.NumGoroutine()

use std::process::ExitCode;

use lessons::{alive_tasks, ms, say};
use tokio::time::{Duration, Instant, sleep_until};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const REQUESTS: u32 = 1000;
const COUNTERS: u32 = 10;
/// Each request's database call.
const IO: Duration = ms(50);
const PARKED: usize = 100_000;

fn main() -> ExitCode {
    lessons::run(lesson)
}

// ANCHOR: lesson
async fn lesson() {
    let start = Instant::now();
    say!("{REQUESTS} requests at once; each waits 0.05 s on the database");
    let took = stopwatch(bank(COUNTERS).await);
    let per_counter = REQUESTS / COUNTERS;
    say!(
        "bank, {COUNTERS} counters: all answered after {took}, {per_counter} in turn at each"
    );
    let took = stopwatch(task_per_request().await);
    say!("one task per request: all answered after {took}, every wait at once");
    park_and_measure(start + ms(6_000), start + ms(6_500)).await;
}
// ANCHOR_END: lesson

// ANCHOR: bank
/// A fixed pool: `counters` clerks, each serving one request at a time and
/// holding the counter through the database wait.
async fn bank(counters: u32) -> Duration {
    let opened = Instant::now();
    let (door, line) = flume::unbounded();
    for request in 0..REQUESTS {
        door.send(request).expect("the line is open");
    }
    drop(door);
    let clerks = TaskTracker::new();
    for _ in 0..counters {
        let line = line.clone();
        clerks.spawn(async move {
            let mut done_at = opened;
            while let Ok(_request) = line.recv_async().await {
                // Back to back: each call ends 0.05 s after the previous one.
                // Planning from `done_at`, not from when the timer woke us,
                // keeps the real clock's small lateness from adding up.
                done_at += IO;
                sleep_until(done_at).await;
            }
        });
    }
    clerks.close();
    clerks.wait().await;
    opened.elapsed()
}
// ANCHOR_END: bank

// ANCHOR: per_request
/// Go's `go handle(r)`: every request gets its own task, so every database
/// call starts at once, and the runtime's thread serves whoever is ready.
async fn task_per_request() -> Duration {
    let arrived = Instant::now();
    let handlers = TaskTracker::new();
    for _request in 0..REQUESTS {
        handlers.spawn(sleep_until(arrived + IO));
    }
    handlers.close();
    handlers.wait().await;
    arrived.elapsed()
}
// ANCHOR_END: per_request

// ANCHOR: parked
/// Parks `PARKED` tasks on one signal until `until`, measures the memory they
/// hold, then releases them all and counts again at `recount`.
async fn park_and_measure(until: Instant, recount: Instant) {
    say!("parking {PARKED} tasks, each waiting for the same signal");
    let before = resident_kib();
    // A token rather than a `Notify`: a task first polled after `cancel()`
    // still sees it, so no task can miss the signal and park forever.
    let (signal, parked) = (CancellationToken::new(), TaskTracker::new());
    for _ in 0..PARKED {
        let signal = signal.clone();
        parked.spawn(async move { signal.cancelled().await });
    }
    // A parked task is not polled again until its signal: it costs no CPU.
    // Waiting until a set time, not for a set span, also absorbs the time
    // the spawning took, so both clocks print the same stamps.
    sleep_until(until).await;
    let alive = alive_tasks();
    say!("tasks alive: {alive} (Go: runtime.NumGoroutine())");
    match (before, resident_kib()) {
        (Some(before), Some(after)) => {
            let bytes = after.saturating_sub(before) * 1024;
            let each = bytes / PARKED as u64;
            let mb = bytes as f64 / 1e6;
            say!(
                "they added {mb:.0} MB of resident memory: about {each} bytes a task (varies by machine)"
            );
        }
        _ => say!("memory: not measured on this system (varies by machine)"),
    }
    // A task is one allocation: tokio's header plus the future, sized by the
    // compiler for what it holds across its `.await`. A goroutine gets a
    // stack instead, which starts small and grows.
    say!(
        "Go: a goroutine starts with a 2 KB stack; PHP-FPM: a process of tens of MB"
    );
    say!("sending the signal");
    signal.cancel();
    parked.close();
    parked.wait().await;
    // Waking 100000 tasks is CPU work, which only the real clock sees: as
    // above, the line goes out at a set time so both clocks stamp it alike.
    sleep_until(recount).await;
    let alive = alive_tasks();
    say!("every task saw it and finished; tasks alive: {alive}");
}
// ANCHOR_END: parked

/// The process's resident memory in KiB: from /proc on Linux, else from `ps`
/// (macOS, the BSDs). Counting each allocation would be exact, but needs a
/// `#[global_allocator]`, which is `unsafe` code, forbidden in this workspace.
/// Resident memory is coarser: it also counts the allocator's bookkeeping.
fn resident_kib() -> Option<u64> {
    let text = match std::fs::read_to_string("/proc/self/status") {
        Ok(status) => status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .to_owned(),
        Err(_) => {
            let pid = std::process::id().to_string();
            let mut ps = std::process::Command::new("ps");
            ps.args(["-o", "rss=", "-p", &pid]);
            String::from_utf8(ps.output().ok()?.stdout).ok()?
        }
    };
    text.trim().trim_end_matches("kB").trim().parse().ok()
}

/// Shows hundredths of a second, cut off like a stopwatch's. Timers on the
/// real clock fire a little late, never early: while they are less than
/// 10 ms late, this shows the same figure on both clocks.
fn stopwatch(took: Duration) -> String {
    let hundredths = took.as_millis() / 10;
    format!("{}.{:02} s", hundredths / 100, hundredths % 100)
}

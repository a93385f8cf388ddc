//! Lesson 09: one blocking call stalls every task on its thread.
//!
//! Lesson 08's tasks were cheap because each gives its thread back at every
//! `.await`. A task that blocks (CPU work, `std::thread::sleep`) gives nothing
//! back: every task on its thread waits, timers too. P-002's 2 s deadline fires
//! 1 s late behind P-001's 3 s of blocking de-identification; on time once that
//! work moves to `spawn_blocking`. A blocking sleep defeats lesson 04's
//! `timeout`; on two worker threads, one blocked call takes a worker out of
//! service. The blocking work is `lessons::block_thread_for`: see its docs.
//!
//! Previous: 08_tasks_vs_threads. Next: 10_shared_state, who owns the registry.
//!
//! Run: cargo run --bin 09_blocking      (add `-- --fast` to skip the waiting)
//! Go:  time.Sleep(3 * time.Second) in a goroutine parks only that goroutine

use std::{process::ExitCode, sync::mpsc, thread, thread::ThreadId};

use lessons::{block_thread_for, half_seconds, lanes, mark, ms, say, working};
use tokio::time::{Duration, Instant, sleep, sleep_until, timeout};
use tokio::{sync::oneshot, task::spawn_blocking};

fn main() -> ExitCode {
    lessons::run(lesson)
}

async fn lesson() {
    let opening = Instant::now();
    lanes(&["handler P-002", "handler P-001", "blocking pool", "handler P-003"]);
    say!("-- P-001's report is de-identified inside its async task");
    morning(false).await;
    sleep_until(opening + ms(3_500)).await;
    say!("-- the same, with the de-identification on spawn_blocking");
    morning(true).await;
    sleep_until(opening + ms(7_000)).await;
    say!("-- lesson 04's query, waiting with a blocking sleep under a 2 s timeout");
    blocking_query_under_timeout().await;
    sleep_until(opening + ms(12_500)).await;
    say!("-- a multi-thread runtime with 2 worker threads");
    two_workers().await;
}

// ANCHOR: morning
/// P-002 waits with a 2 s deadline while P-001's report is de-identified, in
/// P-001's task or on the blocking pool. Returns how late the deadline fired.
async fn morning(on_blocking_pool: bool) -> Duration {
    let waiting = tokio::spawn(answer_within_2s("P-002"));
    let masking = tokio::spawn(async move {
        say!("handler P-001: de-identifying the report, 3 s of CPU work");
        let on = if on_blocking_pool { "blocking pool" } else { "handler P-001" };
        let _cpu = working(on, "de-identifying P-001: 3 s, no .await");
        let report = match on_blocking_pool {
            true => spawn_blocking(|| deidentify("P-001")).await.unwrap(),
            false => deidentify("P-001"),
        };
        say!("handler P-001: {report}");
    });
    masking.await.expect("no panic");
    waiting.await.expect("no panic")
}

/// Masks phone numbers, ID numbers and e-mail addresses: 3 s, no `.await`.
fn deidentify(patient: &str) -> String {
    block_thread_for(ms(3_000)); // a real program: std::thread::sleep or CPU
    format!("{patient}'s report de-identified")
}
// ANCHOR_END: morning

// ANCHOR: deadline
async fn answer_within_2s(patient: &str) -> Duration {
    say!("handler {patient}: asked the lab, the patient gets an answer within 2 s");
    let (asked, me) = (Instant::now(), format!("handler {patient}"));
    let _lab = lessons::waiting(&me, "awaits the lab, 2 s deadline");
    // The lab waits on the network: tokio's sleep, which gives the thread back.
    let _gave_up = timeout(ms(2_000), sleep(ms(5_000))).await;
    let late = asked.elapsed().saturating_sub(ms(2_000));
    let secs = half_seconds(late);
    say!("handler {patient}: gave up at the 2 s deadline, {secs:.1} s late");
    mark(&me, format!("gave up, {secs:.1} s late"));
    late
}
// ANCHOR_END: deadline

// ANCHOR: blocking_query
/// Lesson 04's `slow_query`, its `sleep(..).await` swapped for a blocking 5 s:
/// done in its first poll, before `timeout` ever looks at the clock.
async fn blocking_query(patient: &str) -> String {
    let _blocked = working(&format!("handler {patient}"), "blocks its thread 5 s");
    block_thread_for(ms(5_000));
    format!("{patient}'s 12 past reports")
}

async fn blocking_query_under_timeout() {
    let asked = Instant::now();
    let answer = timeout(ms(2_000), blocking_query("P-003")).await;
    let (took, fired) = (half_seconds(asked.elapsed()), answer.is_err());
    say!("handler P-003: answered after {took:.1} s; the timeout fired: {fired}");
}
// ANCHOR_END: blocking_query

// ANCHOR: two_workers
/// P-004 and P-005 block in a synchronous database driver, a worker thread
/// each. Only facts that no timing can change are printed.
async fn two_workers() {
    let (on_p004s, on_freed) = lessons::on_worker_threads(2, || async {
        let (p004_thread, free_p004) = block_a_worker().await;
        // 20 reports come in while P-004 holds its worker.
        let mut on_p004s = 0;
        for _ in 0..20 {
            let ran_on = tokio::spawn(async { thread::current().id() }).await;
            on_p004s += usize::from(ran_on.unwrap() == p004_thread);
        }
        let (_, free_p005) = block_a_worker().await;
        let p006 = tokio::spawn(async { thread::current().id() });
        free_p004.send(()).unwrap();
        let on_freed = p006.await.unwrap() == p004_thread;
        free_p005.send(()).unwrap();
        (on_p004s, on_freed)
    })
    .await;
    say!("P-004's call blocks a worker; of 20 reports since, {on_p004s} ran on it");
    say!("P-005's call blocks the other; P-006's task waits for a free worker");
    say!("P-004's call returns; P-006 ran on the worker it freed: {on_freed}");
}

/// Blocks a worker in std's `recv`; returns its thread and what frees it.
async fn block_a_worker() -> (ThreadId, mpsc::Sender<()>) {
    let (free, answer) = mpsc::channel::<()>();
    let (tell, blocked_on) = oneshot::channel();
    tokio::spawn(async move {
        tell.send(thread::current().id()).unwrap();
        answer.recv().unwrap();
    });
    (blocked_on.await.unwrap(), free)
}
// ANCHOR_END: two_workers

#[cfg(test)]
mod tests {
    use super::*;
    use lessons::{Clock, block_on};
    #[test]
    fn blocking_makes_the_deadline_late_and_spawn_blocking_keeps_it() {
        let (blocked, offloaded) = block_on(Clock::Paused, async {
            (morning(false).await, morning(true).await)
        });
        // 1 s late, when the blocking work ended; on time from the blocking pool.
        assert_eq!(blocked.as_millis(), 1_000);
        assert!(offloaded < ms(5), "{offloaded:?} late");
    }
}

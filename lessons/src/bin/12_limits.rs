//! Lesson 12: limits. A semaphore in front of the database, a pace for SMS.
//!
//! Lesson 08 gave every request a task: a waiting task is cheap. The database
//! is not: it takes 3 connections and refuses a 4th, so six reports at once are
//! three errors. A `Semaphore` of 3 permits sits between 08's counters and no
//! limit: every report gets a task, which first takes a permit; those that find
//! none wait in line, holding no connection and no thread. The SMS gateway
//! limits a rate, 5 a second: an `interval` paces the reminders.
//!
//! Previous: 11_select. Next: 13_panics, a worker that dies mid-report.
//!
//! Run: cargo run --bin 12_limits      (add `-- --fast` to skip the waiting)
//! Go:  sem := make(chan struct{}, 3); sem <- struct{}{}; defer func() { <-sem }()
//!      tick := time.Tick(200 * time.Millisecond); for ... { <-tick; send() }

use std::process::ExitCode;
use std::sync::{Arc, atomic::AtomicUsize, atomic::Ordering::Relaxed};

use lessons::{handoff, lanes, mark, ms, say, waiting, working};
use tokio::time::{Duration, Instant, MissedTickBehavior, interval_at, sleep};
use tokio::{sync::Semaphore, task::JoinSet};

/// What the database takes at once, and the SMS gateway a second.
const CONNECTIONS: usize = 3;
const SMS_PER_SECOND: u32 = 5;

fn main() -> ExitCode {
    lessons::run(lesson)
}

// ANCHOR: lesson
async fn lesson() {
    let start = Instant::now();
    lanes(&["P-001", "P-002", "P-003", "P-004", "P-005", "P-006", "reminders"]);
    say!("--- six reports at once, a task each, no limit");
    let stored = store_all(Semaphore::MAX_PERMITS).await;
    say!("no limit: {stored} of 6 stored; the other patients got an error");
    say!("--- the same six; each task first takes one of {CONNECTIONS} permits");
    let stored = store_all(CONNECTIONS).await;
    say!("a semaphore of {CONNECTIONS}: {stored} of 6 stored");
    say!("--- 8 SMS reminders; the gateway takes {SMS_PER_SECOND} a second");
    let mut gateway = Gateway::new();
    let sent = (0..8).filter(|_| gateway.try_send()).count();
    say!("all at once: {sent} sent, {} refused (429 Too Many Requests)", 8 - sent);
    mark("SMS gateway", format!("all at once: {sent} sent, {} refused", 8 - sent));
    paced_reminders(start + ms(2_800), ms(1_000) / SMS_PER_SECOND, 8).await;
}
// ANCHOR_END: lesson

// ANCHOR: store
/// Stores six reports, a task each, each first taking one of `limit` permits.
async fn store_all(limit: usize) -> usize {
    let permits = Arc::new(Semaphore::new(limit));
    let open = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for n in 1..=6 {
        let (open, permits) = (open.clone(), permits.clone());
        // Writes of 0.4, 0.6, 1.0, 0.4, ... s: no two events 0.2 s apart.
        let write = ms([400, 600, 1_000][(n as usize - 1) % 3]);
        tasks.spawn(async move {
            if permits.available_permits() == 0 {
                say!("P-00{n}: no permit free, waits in line (no thread held)");
            }
            let in_line = waiting(&format!("P-00{n}"), "waits for a permit");
            // Held until the task ends; dropping it hands it to the first
            // task in line (tokio's semaphore is first come, first served).
            let _permit = permits.acquire().await.expect("never closed");
            drop(in_line);
            store(&open, n, write).await
        });
    }
    tasks.join_all().await.into_iter().filter(|stored| *stored).count()
}

/// One report's write. The database refuses a connection over `CONNECTIONS`,
/// the way PostgreSQL answers "sorry, too many clients already".
async fn store(open: &AtomicUsize, n: u64, write: Duration) -> bool {
    let room = |in_use: usize| (in_use < CONNECTIONS).then_some(in_use + 1);
    match open.fetch_update(Relaxed, Relaxed, room) {
        Ok(before) => {
            say!("P-00{n}: connected ({} in use)", before + 1);
            let _write = working(&format!("P-00{n}"), "writing");
            sleep(write).await;
            open.fetch_sub(1, Relaxed); // the connection closes
            true
        }
        Err(in_use) => {
            say!("P-00{n}: refused: too many connections ({in_use} in use)");
            mark(&format!("P-00{n}"), "refused: too many connections");
            false
        }
    }
}
// ANCHOR_END: store

// ANCHOR: paced
/// Sends `count` reminders, one a tick from `first`; returns how many failed.
async fn paced_reminders(first: Instant, every: Duration, count: u32) -> u32 {
    let (mut gateway, mut refused) = (Gateway::new(), 0);
    let mut ticks = interval_at(first, every);
    // A tick missed while a send was slow is skipped, not fired at once with
    // the next (`Burst`, tokio's default): a burst is what gets refused.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    say!("paced instead, one every {:.1} s:", every.as_secs_f64());
    for n in 1..=count {
        ticks.tick().await;
        let sent = gateway.try_send();
        refused += u32::from(!sent);
        let answer = if sent { "sent" } else { "refused" };
        handoff("reminders", "SMS gateway", format!("{n}"));
        say!("  reminder {n}: {answer}");
    }
    refused
}
// ANCHOR_END: paced

/// The SMS gateway's rule, a token bucket: it holds 5 tokens and refills 5 a
/// second; a message that finds no whole token is refused.
struct Gateway(f64, Instant);

impl Gateway {
    const FULL: f64 = SMS_PER_SECOND as f64;
    fn new() -> Self {
        Gateway(Self::FULL, Instant::now())
    }

    fn try_send(&mut self) -> bool {
        let Gateway(tokens, counted_at) = *self;
        let elapsed = counted_at.elapsed().as_secs_f64();
        let tokens = (tokens + elapsed * Self::FULL).min(Self::FULL);
        let sent = tokens >= 1.0;
        *self = Gateway(if sent { tokens - 1.0 } else { tokens }, Instant::now());
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn permits_must_match_the_limit_and_a_faster_pace_is_refused() {
        lessons::block_on(lessons::Clock::Paused, async {
            assert_eq!(store_all(CONNECTIONS).await, 6);
            // One permit too many: the 4th task is refused, so are 5 and 6.
            assert_eq!(store_all(CONNECTIONS + 1).await, 3);
            // 8 a second against 5: after the first 5 tokens, 3 in 8 refused.
            assert_eq!(paced_reminders(Instant::now(), ms(125), 40).await, 11);
        });
    }
}

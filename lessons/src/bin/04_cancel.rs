//! Lesson 04: the deadline reaches the query.
//!
//! Lesson 03 left two leaks: a detached query working its full 5 s for a
//! handler that gave up at 2 s, and an audit writer kept waiting by a forgotten
//! Sender. Both are fixed here, and the alive-task count comes back down.
//!
//! A future runs only while polled, so cancelling is dropping. Two ways:
//! 1. `timeout` around the query future: at the deadline it is dropped;
//! 2. a spawned query races a `CancellationToken` (Go's `<-ctx.Done()`) in
//!    `select!`. (A third: `AbortOnDropHandle` aborts a task when its handle
//!    is dropped.)
//!
//! Last, the Go article's own fix, retold: it looks at the context only after
//! the 5 s of work, so the query still runs to the end (stopping at 5.0 s).
//!
//! Previous: 03_leak. Next: 05_deadlock, a task that waits for itself.
//!
//! Run: cargo run --bin 04_cancel      (add `-- --fast` to skip the waiting)
//! Go:  ctx, cancel := context.WithTimeout(ctx, 2*time.Second); defer cancel(); <-ctx.Done()

use std::process::ExitCode;

use lessons::{alive_tasks, half_seconds, handoff, lanes, mark, ms, say};
use lessons::{waiting, working};
use tokio::sync::mpsc::{self, Receiver, Sender};
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    lessons::run(lesson)
}

async fn lesson() {
    lanes(&["handler", "lab", "audit writer"]); // for `--timeline`
    let (before, after, closing) = scenario().await;
    say!(
        "verdict: alive tasks {before} before opening, {after:?} after requests, {closing} after closing: no leak"
    );
}

// ANCHOR: lesson
/// Alive-task counts: before opening, after each request, after closing.
async fn scenario() -> (usize, Vec<usize>, usize) {
    let before_opening = alive_tasks();
    let (audit, audit_inbox) = mpsc::channel::<String>(16);
    let writer = tokio::spawn(audit_writer(audit_inbox));
    let nightly_report = audit.clone();
    say!("clinic: open, alive tasks {}: the audit writer", alive_tasks());

    let outcome = with_timeout("P-001").await;
    let mut after_requests = vec![answered("P-001", outcome, &audit).await];
    let outcome = with_token("P-002").await;
    after_requests.push(answered("P-002", outcome, &audit).await);
    let outcome = articles_fix("P-003").await;
    after_requests.push(answered("P-003", outcome, &audit).await);
    sleep(ms(3_500)).await;
    // ANCHOR: closing
    // Every Sender, the spare too, so the writer's `recv` ends; then wait for it.
    drop(audit);
    drop(nightly_report);
    say!("clinic: closing, dropped every audit Sender, the spare too");
    writer.await.expect("the audit writer does not panic");
    // ANCHOR_END: closing
    (before_opening, after_requests, alive_tasks())
}
// ANCHOR_END: lesson

/// The handler's answer goes to the patient and the audit log; then we count.
async fn answered(patient: &str, outcome: String, audit: &Sender<String>) -> usize {
    say!("handler {patient}: {outcome}");
    audit.send(format!("{patient} {outcome}")).await.expect("the audit writer runs");
    let alive = alive_tasks();
    say!("clinic: after {patient}'s request, alive tasks {alive}");
    alive
}

// ANCHOR: fix_timeout
/// Fix 1: no task at all; `timeout` drops the query future at the deadline.
async fn with_timeout(patient: &'static str) -> String {
    say!("handler {patient}: asked the lab, `timeout` drops the query at 2 s");
    let _waiting = waiting("handler", patient);
    match timeout(ms(2_000), slow_query(patient)).await {
        Ok(history) => format!("answered with {history}"),
        Err(_elapsed) => {
            handoff("handler", "lab", "timeout fires");
            GAVE_UP.to_owned()
        }
    }
}
// ANCHOR_END: fix_timeout

// ANCHOR: fix_token
/// Fix 2: the query is its own task, so the deadline must be sent to it.
async fn with_token(patient: &'static str) -> String {
    say!(
        "handler {patient}: asked the lab, \
         a CancellationToken stops the query at 2 s"
    );
    let token = CancellationToken::new();
    let (reply, mut result) = mpsc::channel(1);
    let cancelled = token.clone();
    let query = tokio::spawn(async move {
        tokio::select! {
            // `biased`: a cancelled token wins over a result that is ready too.
            biased;
            () = cancelled.cancelled() => {}
            // An Err here only means the handler has already answered.
            history = slow_query(patient) => { let _ = reply.send(history).await; }
        }
    });
    let outcome = answer_within_2s(&mut result, patient).await;
    token.cancel();
    handoff("handler", "lab", "token.cancel()");
    // The query stops at its next wake-up; awaiting it proves it let go.
    query.await.expect("the query does not panic");
    outcome
}
// ANCHOR_END: fix_token

// ANCHOR: articles_fix
/// The Go article's fix: the query gets the context but checks it only after
/// the work, as its `select { case <-ctx.Done(): ... default: }` does.
async fn articles_fix(patient: &'static str) -> String {
    say!(
        "handler {patient}: asked the lab the article's way, \
         ctx checked after the work"
    );
    let ctx = CancellationToken::new();
    // Go's `defer cancel()`; named `_cancel`, as `_` would cancel at once.
    let _cancel = ctx.clone().drop_guard();
    let (reply, mut result) = mpsc::channel(1);
    tokio::spawn(async move {
        let history = slow_query(patient).await;
        if ctx.is_cancelled() {
            mark("lab", "sees ctx.Done() 3 s late");
            say!(
                "lab: {patient}'s query sees ctx.Done() only now, \
                 3 s after its handler gave up"
            );
            return;
        }
        let _ = reply.send(history).await;
    });
    let outcome = answer_within_2s(&mut result, patient).await;
    handoff("handler", "lab", "cancel() on return");
    outcome
}
// ANCHOR_END: articles_fix

const GAVE_UP: &str = "gave up after 2 s, told the patient to retry";

/// Go's `select { case r := <-ch: ... case <-time.After(2 * time.Second): ... }`.
async fn answer_within_2s(result: &mut Receiver<String>, patient: &str) -> String {
    let _waiting = waiting("handler", patient);
    tokio::select! {
        biased;
        Some(history) = result.recv() => format!("answered with {history}"),
        _ = sleep(ms(2_000)) => GAVE_UP.to_owned(),
    }
}

// ANCHOR: slow_query
/// The lab's 5 s query. `Work` says, when it is dropped, how long the query
/// really ran: cut short by a deadline, or to the end of the work.
async fn slow_query(patient: &'static str) -> String {
    let _work = Work(patient, Instant::now());
    working("lab", format!("{patient}'s query")).during(sleep(ms(5_000))).await;
    format!("{patient}'s 12 past reports")
}

/// Which patient's query, and when it started.
struct Work(&'static str, Instant);

impl Drop for Work {
    fn drop(&mut self) {
        let (patient, ran) = (self.0, half_seconds(self.1.elapsed()));
        say!("lab: {patient}'s query stopped after {ran:.1} s of work");
    }
}
// ANCHOR_END: slow_query

async fn audit_writer(mut inbox: Receiver<String>) {
    let _waiting = waiting("audit writer", "waits for entries");
    let mut written = 0;
    // Ends when the channel is closed: every Sender dropped.
    while let Some(_entry) = inbox.recv().await {
        written += 1;
    }
    say!("audit: channel closed after {written} entries, the writer goes home");
}

#[cfg(test)]
mod tests {
    use super::*;
    use lessons::{Clock, block_on};

    #[test]
    fn deadlines_stop_the_queries_and_the_count_returns_to_baseline() {
        // A forgotten Sender would hang the scenario: the limit fails it instead.
        let counts =
            block_on(Clock::Paused, async { timeout(ms(60_000), scenario()).await });
        // The article's fix leaves its query running past the answer: 2.
        assert_eq!(counts, Ok((0, vec![1, 1, 2], 0)), "the scenario ends, no leak");
    }
}

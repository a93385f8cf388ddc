//! Lesson 03: tasks that outlive the reason they were started.
//!
//! After lesson 02 we know a full channel makes the sender wait. Here the
//! receiver goes away. A handler asks the lab for a patient's history, a query
//! that takes 5 s, and answers the patient within 2 s, with or without it.
//! In Go the query goroutine then blocks forever on `ch <- result`: nobody will
//! ever receive. A tokio send cannot block like that: when the receiver is
//! dropped, `send` returns at once with `Err(SendError(result))`, the result
//! handed back. That is not enough, and this lesson shows the two leaks left:
//!
//! 1. dropping a `JoinHandle` detaches the task, it does not stop it: the query
//!    works its full 5 s for nobody (with thousands of patients a minute, that
//!    is thousands of database connections held for nothing);
//! 2. a task looping on `recv` ends only when *every* `Sender` is dropped, and
//!    one forgotten clone keeps the audit writer waiting forever: the first
//!    article's "forgot to close the channel".
//!
//! The runtime's alive-task count shows both: it goes up with every request and
//! does not come back down when the clinic closes.
//!
//! Previous: 02_buffered. Next: 04_cancel, where the deadline reaches the query.
//!
//! Run: cargo run --bin 03_leak      (add `-- --fast` to skip the waiting)
//! Go:  go slowQuery(ch); select { case r := <-ch: case <-time.After(2 * time.Second): }

use std::process::ExitCode;

use lessons::{alive_tasks, handoff, lanes, mark, ms, say, waiting, working};
use tokio::sync::mpsc::{self, Receiver, Sender, error::SendError};
use tokio::time::sleep;

fn main() -> ExitCode {
    lessons::run(lesson)
}

async fn lesson() {
    lanes(&["handler P-001", "P-001's query", "handler P-002"]);
    lanes(&["P-002's query", "audit writer"]);
    let (before, after, at_closing) = scenario().await;
    mark("audit writer", "leaked: waits for ever");
    say!(
        "verdict: alive tasks {before} before opening, {after:?} after requests, {at_closing} after closing: a leak, the audit writer"
    );
}

// ANCHOR: lesson
/// Alive-task counts: before opening, after each request, after closing.
async fn scenario() -> (usize, Vec<usize>, usize) {
    let before_opening = alive_tasks();
    // ANCHOR: forgotten_sender
    let (audit, audit_inbox) = mpsc::channel::<String>(16);
    tokio::spawn(audit_writer(audit_inbox));
    // A spare handle "for the nightly report", which nobody ever writes.
    let nightly_report = audit.clone();
    // ANCHOR_END: forgotten_sender
    say!("clinic: open, alive tasks {}: the audit writer", alive_tasks());
    let mut after_requests = Vec::new();
    for patient in ["P-001", "P-002"] {
        leaky_handler(patient, &audit).await;
        let alive = alive_tasks();
        after_requests.push(alive);
        let orphans = alive - 1;
        let queries = if orphans == 1 { "query" } else { "queries" };
        say!(
            "clinic: after {patient}'s request, alive tasks {alive}: \
             audit writer + {orphans} orphaned {queries}"
        );
    }
    // Both queries finish while the clinic waits out the evening.
    sleep(ms(3_500)).await;
    // ANCHOR: closing
    // The clinic closes the audit channel, or believes it does: the spare
    // handle is still a Sender, so the writer's `recv` keeps waiting.
    drop(audit);
    let open = nightly_report.strong_count();
    say!(
        "clinic: closing, dropped its audit Sender; \
         Senders still open: {open} (the spare)"
    );
    // ANCHOR_END: closing
    // The writer's "goes home" line never prints: compare lesson 04.
    (before_opening, after_requests, alive_tasks())
}
// ANCHOR_END: lesson

// ANCHOR: leaky_handler
async fn leaky_handler(patient: &'static str, audit: &Sender<String>) {
    // The article's reply channel is unbuffered (tokio has none); here it would
    // not matter: a send to a dropped receiver comes straight back as an error.
    let (reply, mut result) = mpsc::channel::<String>(1);
    // `go slowQuery(ch)`. The JoinHandle is dropped at the semicolon: that
    // detaches the task; nothing will ever stop it.
    tokio::spawn(slow_query(patient, reply));
    let me = format!("handler {patient}");
    handoff(&me, &format!("{patient}'s query"), "spawns");
    say!("handler {patient}: asked the lab, the patient gets an answer within 2 s");
    let _waiting = waiting(&me, "waits for the lab"); // a bar until it returns
    let outcome = tokio::select! {
        biased;
        Some(history) = result.recv() => format!("answered with {history}"),
        _ = sleep(ms(2_000)) => GAVE_UP.to_owned(),
    };
    say!("handler {patient}: {outcome}");
    audit.send(format!("{patient} {outcome}")).await.expect("the audit writer runs");
    mark(&me, "returns"); // dropping `result`, the receiving end: nobody listens
}
// ANCHOR_END: leaky_handler

const GAVE_UP: &str = "gave up after 2 s, told the patient to retry";

// ANCHOR: slow_query
async fn slow_query(patient: &'static str, reply: Sender<String>) {
    let me = format!("{patient}'s query");
    working(&me, "the 5 s query").during(sleep(ms(5_000))).await;
    let history = format!("{patient}'s 12 past reports");
    // Go would block here forever. tokio sees the receiver is gone and hands
    // the value back inside the error; the task then ends, 3 s too late.
    if let Err(SendError(unread)) = reply.send(history).await {
        mark(&me, "done, for nobody");
        say!(
            "lab: {patient}'s query done after 5 s, for nobody: \
             send gave back Err(\"{unread}\")"
        );
    }
}
// ANCHOR_END: slow_query

async fn audit_writer(mut inbox: Receiver<String>) {
    let _waiting = waiting("audit writer", "waits until every Sender is gone");
    let mut written = 0;
    // Ends only when the channel is closed: every Sender dropped.
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
    fn tasks_pile_up_and_the_audit_writer_outlives_closing() {
        let (before, after, closing) = block_on(Clock::Paused, scenario());
        // The audit writer, plus one detached query per request so far; the
        // queries end at 5 s and 7 s, the audit writer never does.
        assert_eq!((before, after, closing), (0, vec![2, 3], 1));
    }
}

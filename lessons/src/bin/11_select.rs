//! Lesson 11: a `select!` loop that drops a report.
//!
//! In a loop, `select!` drops every branch that did not win, every time round.
//! The intake loop races the end of the shift, a heartbeat to the trial monitor
//! every second (`interval`), and taking a report off the queue and checking it
//! (0.4 s). When the heartbeat wins mid-check, the report is dropped with its
//! future: off the queue, stored nowhere. Fixes: keep the one future alive, or
//! race only cancel-safe `recv` and check in the body, where the beat waits.
//!
//! Previous: 10_shared_state. Next: 12_limits, a cap on what runs at once.
//!
//! Run: cargo run --bin 11_select      (add `-- --fast` to skip the waiting)
//! Go:  for { select { case <-ticker.C: ... case r := <-queue: check(r) } }

use std::{pin::pin, process::ExitCode};

use lessons::{elapsed, lanes, mark, ms, say, working};
use tokio::sync::mpsc::{self, Receiver, Sender};
use tokio::time::{Duration, Instant, MissedTickBehavior, interval_at};
use tokio::time::{sleep, sleep_until};

const SHIFT: Duration = ms(2_500);
const CHECK: Duration = ms(400);
type Queue = Receiver<String>;

fn main() -> ExitCode {
    lessons::run(lesson)
}

async fn lesson() {
    let nine = Instant::now();
    lanes(&["intake loop", "heartbeat"]);
    say!("-- select! on a fresh take-and-check future each time round");
    let (_desk, queue) = four_reports();
    lossy_loop(queue, nine).await;
    say!("-- the same future kept across turns of the loop");
    let (_desk, queue) = four_reports();
    kept_future_loop(queue, nine + SHIFT).await;
    say!("-- select! on recv only; the check in the branch body");
    let (_desk, queue) = four_reports();
    recv_only_loop(queue, nine + SHIFT * 2).await;
}

/// Four reports in the queue at 9 a.m.; the desk stays open for more.
fn four_reports() -> (Sender<String>, Queue) {
    let (desk, queue) = mpsc::channel(8);
    (1..=4).for_each(|n| desk.try_send(format!("P-00{n}")).unwrap());
    (desk, queue)
}

// ANCHOR: lossy
async fn lossy_loop(mut queue: Queue, start: Instant) {
    let mut heartbeat = interval_at(start + ms(1_000), ms(1_000));
    let mut shift_over = pin!(sleep_until(start + SHIFT));
    let mut stored = Vec::new();
    loop {
        tokio::select! {
            biased;
            () = &mut shift_over => break,
            due = heartbeat.tick() => beat(due, &stored),
            // Made anew each turn; if another branch wins, dropped with its report.
            report = take_and_check(&mut queue) => stored.push(report),
        }
    }
    tally(&stored);
}
// ANCHOR_END: lossy

// ANCHOR: take_and_check
/// Takes the next report and checks it: 0.4 s awaiting the rules service.
async fn take_and_check(queue: &mut Queue) -> String {
    let report = queue.recv().await.expect("the desk stays open");
    let check = working("intake loop", format!("checking {report}"));
    let mut in_hand = InHand(Some(report));
    check.during(sleep(CHECK)).await; // the bar is drawn cut off if dropped
    in_hand.0.take().expect("still in hand")
}

struct InHand(Option<String>); // off the queue, not yet checked

impl Drop for InHand {
    fn drop(&mut self) {
        if let Some(report) = self.0.take() {
            say!("{report}'s report dropped mid-check: lost");
            mark("intake loop", format!("{report} lost"));
        }
    }
}
// ANCHOR_END: take_and_check

// ANCHOR: kept_future
async fn kept_future_loop(queue: Queue, start: Instant) {
    let mut heartbeat = interval_at(start + ms(1_000), ms(1_000));
    let mut shift_over = pin!(sleep_until(start + SHIFT));
    let mut stored = Vec::new();
    // One future, made before the loop; a new one only when it has finished.
    let mut next = pin!(take_and_check_owned(queue));
    loop {
        tokio::select! {
            biased;
            () = &mut shift_over => break,
            due = heartbeat.tick() => beat(due, &stored),
            (report, queue) = &mut next => {
                stored.push(report);
                next.set(take_and_check_owned(queue));
            }
        }
    }
    tally(&stored);
}

/// `take_and_check` owning the queue, so the future can outlive one turn.
async fn take_and_check_owned(mut queue: Queue) -> (String, Queue) {
    (take_and_check(&mut queue).await, queue)
}
// ANCHOR_END: kept_future

// ANCHOR: recv_only
async fn recv_only_loop(mut queue: Queue, start: Instant) {
    let mut heartbeat = interval_at(start + ms(1_000), ms(1_000));
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut shift_over = pin!(sleep_until(start + SHIFT));
    let mut stored = Vec::new();
    loop {
        tokio::select! {
            biased;
            () = &mut shift_over => break,
            due = heartbeat.tick() => beat(due, &stored),
            // `recv` is cancel safe: when another branch wins, no report has
            // left the queue. The check runs in the body, which nothing races.
            Some(report) = queue.recv() => {
                let _check = working("intake loop", format!("checking {report}"));
                sleep(CHECK).await;
                stored.push(report);
            }
        }
    }
    tally(&stored);
}
// ANCHOR_END: recv_only

fn beat(due: Instant, stored: &[String]) {
    let due_at = (elapsed() - due.elapsed()).as_secs_f64();
    say!("heartbeat (due {due_at:.1} s): stored {}", stored.join(" "));
    mark("heartbeat", format!("due {due_at:.1} s"));
}

fn tally(stored: &[String]) {
    say!("shift over: {} stored, {} lost", stored.len(), 4 - stored.len());
}

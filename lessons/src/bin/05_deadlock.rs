//! Lesson 05: a task waiting for itself (deadlock), and a watchdog that notices.
//!
//! A nurse drops a patient's report into the hand-to-hand tube from lesson 01
//! and means to take it out herself a moment later. But a tube with no room
//! only lets go of a report when someone on the other end takes it, and the
//! only one who would is the nurse, one line further down. She waits forever.
//!
//! Go notices this case, but only this case: when *every* goroutine is
//! blocked, its runtime stops the program with "fatal error: all goroutines are
//! asleep - deadlock!" (in a server, where a listener goroutine is still alive,
//! Go hangs as well). tokio never does: a waiting task is normal, so the
//! runtime waits with it, and raises no alarm. This lesson finds out with a
//! timer, its watchdog. (tokio's unstable task dumps show where each task
//! waits, when asked; the chapter says what they cost.) Then two fixes run
//! under the same watchdog.
//!
//! Previous: 04_cancel, where a deadline reached the query. Next: 06_shutdown,
//! stopping many workers without losing the reports they hold.
//!
//! Run: cargo run --bin 05_deadlock      (add `-- --fast` to skip the waiting;
//!      `-- --timeline 05.svg` draws the stuck nurse and the watchdog)
//! Go:  ch := make(chan int); ch <- 1; <-ch   // all goroutines are asleep

use std::process::ExitCode;

use lessons::{alive_tasks, half_seconds, handoff, lanes, mark, ms, say};
use lessons::{waiting, working};
use tokio::time::{Duration, Instant, sleep, timeout};

/// How long the watchdog lets a hand-off take before calling it stuck.
const PATIENCE: Duration = ms(2_000);

fn main() -> ExitCode {
    lessons::run(lesson)
}

// ANCHOR: lesson
async fn lesson() {
    lanes(&["nurse", "lab", "watchdog"]); // the timeline's lanes, with --timeline
    say!("--- the bug: one nurse, a tube with no room, both ends in her hands");
    // ANCHOR: watchdog
    let mut nurse = tokio::spawn(hand_to_myself());
    // `&mut nurse` lets the watchdog give up on the task without losing it.
    let watching = waiting("watchdog", "gives her 2 s");
    if watching.during(timeout(PATIENCE, &mut nurse)).await.is_err() {
        mark("watchdog", "deadlock detected");
        let (waited, alive) = (PATIENCE.as_secs_f64(), alive_tasks());
        say!(
            "watchdog: the nurse is still not done after {waited:.1} s; \
             tasks alive: {alive}"
        );
        say!(
            "watchdog: diagnosis: her send waits for a receiver, \
             the receiver is her next line"
        );
        say!(
            "watchdog: Go stops a program whose goroutines all sleep; \
             tokio waits with her"
        );
        // Nothing will ever wake her: abort, or the task leaks (lesson 03).
        nurse.abort();
        handoff("watchdog", "nurse", "abort()");
        let _ = nurse.await;
        let alive = alive_tasks();
        say!("watchdog: aborted the nurse; tasks alive: {alive}");
    }
    // ANCHOR_END: watchdog

    say!("--- fix 1: the lab receives, in a task of its own");
    let fixed = timeout(PATIENCE, receive_in_another_task()).await;
    say!("watchdog: fix 1 finished in time? {}", fixed.is_ok());

    say!("--- fix 2: a tube with room for one report");
    let fixed = timeout(PATIENCE, buffer_of_one()).await;
    say!("watchdog: fix 2 finished in time? {}", fixed.is_ok());
}
// ANCHOR_END: lesson

// ANCHOR: deadlock
/// The bug: send, then receive, on a capacity-0 channel, in the same task.
async fn hand_to_myself() {
    let (tube, tube_end) = flume::bounded::<&str>(0);
    say!("nurse: putting P-001's report in the tube, I'll take it out myself");
    // A rendezvous send finishes only when a receiver takes the report. The
    // only receiver is `tube_end` below, which this task never reaches.
    let holding = waiting("nurse", "holds it out, to herself");
    let sent = holding.during(tube.send_async("P-001's report")).await;
    sent.expect("tube_end is alive");
    say!("nurse: this line is never printed");
    let _report = tube_end.recv_async().await;
}
// ANCHOR_END: deadlock

// ANCHOR: fix_task
/// Fix 1: keep capacity 0, but let a second task be the receiver.
async fn receive_in_another_task() {
    let (tube, tube_end) = flume::bounded::<&str>(0);
    let lab = tokio::spawn(async move {
        // The lab is busy for half a second: the nurse waits, but not forever.
        working("lab", "busy").during(sleep(ms(500))).await;
        say!("lab: reaching into the tube");
        let report = tube_end.recv_async().await.expect("the nurse is sending");
        handoff("nurse", "lab", "P-001's report");
        say!("lab: took {report}");
    });
    say!("nurse: holding P-001's report out to the tube");
    let since = Instant::now();
    let holding = waiting("nurse", "holds it out");
    tube.send_async("P-001's report").await.expect("the lab is open");
    holding.end();
    let held = half_seconds(since.elapsed());
    say!("nurse: handed it over (held it {held:.1} s)");
    lab.await.expect("the lab task does not panic");
}
// ANCHOR_END: fix_task

// ANCHOR: fix_buffer
/// Fix 2: one slot of room, so the send finishes before anyone receives.
/// Go: `ch := make(chan int, 1)`.
async fn buffer_of_one() {
    let (tube, tube_end) = flume::bounded::<&str>(1);
    tube.send_async("P-001's report").await.expect("tube_end is alive");
    mark("nurse", "sent at once");
    say!("nurse: P-001's report is in the tube's one slot; my send is done");
    let report = tube_end.recv_async().await.expect("the slot holds it");
    say!("nurse: took {report} back out myself");
}
// ANCHOR_END: fix_buffer

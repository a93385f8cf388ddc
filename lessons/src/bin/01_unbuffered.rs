//! Lesson 01: a hand-to-hand channel (rendezvous).
//!
//! A ward nurse sends a blood sample to the lab through the hospital's
//! pneumatic tube, and this tube has no room inside: the nurse's send completes
//! only at the moment the lab takes the sample out. If the lab is busy, the
//! nurse stands there holding it; if the nurse is late, the lab waits. Each
//! side's waiting shows in the timestamps.
//!
//! tokio's `mpsc::channel(0)` panics: every tokio channel has room for at least
//! one message, so a tokio send never waits for the receiver to arrive. For a
//! true rendezvous this lesson uses `flume::bounded(0)`, whose `send_async`
//! finishes only when a receiver takes the value.
//!
//! This is the first lesson. Next: 02_buffered, a tube with room for three.
//!
//! Run: cargo run --bin 01_unbuffered      (add `-- --fast` to skip the waiting;
//!      `-- --timeline 01.svg` draws who waited when: bars, hand-offs, marks)
//! Go:  ch := make(chan Sample); ch <- s  /  s := <-ch

use std::process::ExitCode;

use lessons::{half_seconds, handoff, lanes, ms, say, waiting, working};
use tokio::time::{Instant, sleep};

fn main() -> ExitCode {
    lessons::run(lesson)
}

// ANCHOR: lesson
async fn lesson() {
    // Capacity 0: the tube holds nothing, the hand-off is the only way through.
    let (tube, lab_end) = flume::bounded::<&str>(0);
    lanes(&["nurse", "lab"]); // the timeline's lanes: only drawn with --timeline

    let lab = tokio::spawn(async move {
        // The lab is busy with earlier work for 1.5 s before it looks at the tube.
        working("lab", "earlier work").during(sleep(ms(1_500))).await;
        for _ in 0..2 {
            say!("lab: free, reaching into the tube");
            let waiting_since = Instant::now();
            let reaching = waiting("lab", "reaches into the tube");
            let Ok(sample) = lab_end.recv_async().await else {
                return;
            };
            reaching.end();
            handoff("nurse", "lab", sample);
            let waited = half_seconds(waiting_since.elapsed());
            say!("lab: took {sample} (waited {waited:.1} s for it)");
            // Analysing takes a second; only then does the lab look again.
            working("lab", "analyses").during(sleep(ms(1_000))).await;
        }
    });

    for sample in ["P-001's sample", "P-002's sample"] {
        say!("nurse: {sample} ready, holding it out to the tube");
        let holding_since = Instant::now();
        // Completes only when the lab's `recv_async` has taken the sample.
        let holding = waiting("nurse", format!("holds {sample} out"));
        tube.send_async(sample).await.expect("the lab is open");
        holding.end();
        let held = half_seconds(holding_since.elapsed());
        say!("nurse: handed over {sample} (held it {held:.1} s)");
        // Labelling the next tube takes the nurse 1.5 s.
        working("nurse", "labels the next tube").during(sleep(ms(1_500))).await;
    }
    lab.await.expect("the lab task does not panic");

    let panics = tokio_capacity_zero_panics();
    say!("why flume: does tokio::sync::mpsc::channel(0) panic? {panics}");
}
// ANCHOR_END: lesson

// ANCHOR: no_zero
/// tokio refuses a zero-capacity mpsc outright; this shows it instead of
/// claiming it.
fn tokio_capacity_zero_panics() -> bool {
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let panicked =
        std::panic::catch_unwind(|| tokio::sync::mpsc::channel::<u8>(0)).is_err();
    std::panic::set_hook(quiet);
    panicked
}
// ANCHOR_END: no_zero

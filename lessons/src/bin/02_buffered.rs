//! Lesson 02: a channel with room inside (a buffer).
//!
//! Outside the lab door stands a specimen basket with three slots. The front
//! desk drops patients' reports into it and goes straight back to the queue of
//! patients; the lab fishes them out when it is free. While the basket has a
//! free slot, a send finishes at once, so a burst of reports is absorbed. Once
//! it is full, the desk waits for the lab again, exactly as in lesson 01: the
//! buffer smooths out a peak, it does not make a slow lab fast.
//!
//! Each line shows the basket's fill as a gauge, `[##.] 2/3`: the desk reads
//! it from its `Sender`, the lab from its `Receiver`.
//!
//! Previous: 01_unbuffered, a hand-to-hand tube. Next: 03_leak, where the one
//! who should take the result has already gone.
//!
//! Run: cargo run --bin 02_buffered      (add `-- --fast` to skip the waiting;
//!      `-- --timeline 02.svg` draws the basket filling and emptying)
//! Go:  basket := make(chan Report, 3)

use std::collections::VecDeque;
use std::process::ExitCode;
use std::sync::Mutex;

use lessons::{Span, half_seconds, lanes, mark, ms, say, waiting, working};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};

fn main() -> ExitCode {
    lessons::run(lesson)
}

// ANCHOR: lesson
async fn lesson() {
    // ANCHOR: basket
    // Three slots: the first three sends complete without anyone receiving.
    let (desk, mut lab_side) = mpsc::channel::<String>(3);
    // ANCHOR_END: basket
    lanes(&["desk", "basket", "lab"]); // the timeline's lanes (with --timeline)

    let lab = tokio::spawn(async move {
        // The lab finishes earlier work before it first looks in the basket.
        working("lab", "earlier work").during(sleep(ms(1_000))).await;
        // `recv` gives `None` once the desk has dropped its Sender and the
        // basket is empty: Go's `for r := range basket` after `close(basket)`.
        while let Some(report) = lab_side.recv().await {
            taken_out();
            let fill = lab_side.len();
            let gauge = gauge(fill, lab_side.max_capacity());
            say!("lab:  took {report} out               {gauge}");
            // Analysing one report takes the lab a full second.
            let analysing = working("lab", format!("analyses {report}"));
            analysing.during(sleep(ms(1_000))).await;
        }
        say!("lab:  basket empty and closed, the lab goes home");
        mark("lab", "goes home");
    });

    // ANCHOR: desk
    for patient in 1..=5 {
        let report = format!("P-00{patient}");
        // `capacity()` counts the free slots. Zero means this send will wait.
        if desk.capacity() == 0 {
            say!("desk: basket full, {report} has to wait for the lab");
        }
        let since = Instant::now();
        let holding = waiting("desk", format!("{report} waits for room"));
        desk.send(report.clone()).await.expect("the lab is open");
        holding.end();
        put_in(&report);
        let waited = half_seconds(since.elapsed());
        let fill = desk.max_capacity() - desk.capacity();
        let gauge = gauge(fill, desk.max_capacity());
        say!("desk: put  {report} in (waited {waited:.1} s) {gauge}");
    }
    // ANCHOR_END: desk

    // Dropping the only Sender closes the basket; reports already inside stay
    // there for the lab. This is the graceful drain from Go's shutdown hook.
    say!("desk: all reports handed in, closing the basket");
    drop(desk);
    mark("desk", "closes the basket");
    lab.await.expect("the lab task does not panic");
}
// ANCHOR_END: lesson

// ANCHOR: gauge
/// `basket [##.] 2/3`: one `#` per full slot, one `.` per free one.
fn gauge(fill: usize, capacity: usize) -> String {
    let slots = "#".repeat(fill) + &".".repeat(capacity - fill);
    format!("basket [{slots}] {fill}/{capacity}")
}
// ANCHOR_END: gauge

// The timeline's basket lane: a bar per report, from put in to taken out.
// The basket is first in, first out, and so is this queue of bars.
static IN_BASKET: Mutex<VecDeque<Span>> = Mutex::new(VecDeque::new());

fn put_in(report: &str) {
    let bar = waiting("basket", report);
    IN_BASKET.lock().unwrap().push_back(bar);
}

fn taken_out() {
    IN_BASKET.lock().unwrap().pop_front();
}

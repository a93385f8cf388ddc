//! Exercise 11: the heartbeat that drops reports.
//!
//! What is wrong: the intake loop does two jobs. It takes reports off the
//! queue and checks and stores each one (0.3 s), and every second it sends
//! the trial monitor a heartbeat. A `select!` races the two, and when the
//! heartbeat's tick comes while a report is being checked, the losing
//! branch's future is dropped, with the report it has already taken off the
//! queue: R-003, taken at 0.8 s, is gone at 1.0 s. Stored nowhere, and
//! nobody told.
//!
//! Done when: all eight reports are stored, each 0.3 s after it arrived;
//! the monitor hears a heartbeat every second (at most 0.5 s late); and
//! `intake` returns when the desk closes at 6.5 s. Keep the report's future
//! alive across turns of the loop, or race only what is cancel safe
//! (lesson 11).
//!
//! Practises: lesson 11, `cargo run --bin 11_select`.
//! Check it:  cargo run -p exercises -- 11
//! Hint:      cargo run -p exercises -- hint 11

use exercises::ex11::{Clinic, HEARTBEAT, Inbox, Monitor, check};
use tokio::time::{Instant, interval_at};

/// Takes in reports until the desk closes, with a heartbeat every second.
async fn intake(mut inbox: Inbox, clinic: Clinic, monitor: Monitor) {
    // Go: ticker := time.NewTicker(time.Second), the first tick after 1 s.
    let mut heartbeat = interval_at(Instant::now() + HEARTBEAT, HEARTBEAT);
    loop {
        tokio::select! {
            biased;
            _ = heartbeat.tick() => monitor.beat(),
            // TODO: a new take_and_store future every turn. When the tick
            // wins, this one is dropped, and the report in it with it.
            more = take_and_store(&mut inbox, &clinic) => {
                if !more {
                    break;
                }
            }
        }
    }
}

/// Takes the next report off the queue, then checks and stores it (0.3 s).
/// False once the desk has closed and the queue is empty.
async fn take_and_store(inbox: &mut Inbox, clinic: &Clinic) -> bool {
    let Some(report) = inbox.recv().await else {
        return false;
    };
    clinic.check_and_store(report).await;
    true
}

fn main() -> std::process::ExitCode {
    // The check sends eight reports, one at a time, then closes the desk.
    check(intake)
}

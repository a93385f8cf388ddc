//! Exercise 11, a reference solution: one take-and-store future, kept alive
//! across turns of the loop.
//!
//! The future is made once, before the loop, and pinned; the `select!`
//! polls it through `&mut`, so when the tick wins, the future is not
//! dropped but left where it was, report in hand, and the next turn goes on
//! with it. Only when it has finished is a new one made (`set`). To outlive
//! one turn it must own the inbox, so it hands the inbox back when done.
//!
//! The other fix races only `inbox.recv()`, which is cancel safe, and checks
//! the report in the branch's body, which nothing races: then a heartbeat
//! due during a check goes out when the check ends, up to 0.3 s late (lesson
//! 11's `recv_only`). Here it goes out on time.

use std::pin::pin;

use exercises::ex11::{Clinic, HEARTBEAT, Inbox, Monitor, check};
use tokio::time::{Instant, interval_at};

async fn intake(inbox: Inbox, clinic: Clinic, monitor: Monitor) {
    let mut heartbeat = interval_at(Instant::now() + HEARTBEAT, HEARTBEAT);
    let mut next = pin!(take_and_store(inbox, &clinic));
    loop {
        tokio::select! {
            biased;
            _ = heartbeat.tick() => monitor.beat(),
            (more, inbox) = &mut next => {
                if !more {
                    break;
                }
                next.set(take_and_store(inbox, &clinic));
            }
        }
    }
}

/// Takes the next report off the queue, then checks and stores it; hands
/// the inbox back. False once the desk has closed and the queue is empty.
async fn take_and_store(mut inbox: Inbox, clinic: &Clinic) -> (bool, Inbox) {
    let Some(report) = inbox.recv().await else {
        return (false, inbox);
    };
    clinic.check_and_store(report).await;
    (true, inbox)
}

fn main() -> std::process::ExitCode {
    check(intake)
}

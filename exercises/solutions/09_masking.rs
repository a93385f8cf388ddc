//! Exercise 09, a reference solution: the masking runs on tokio's blocking
//! pool, and the handler awaits it.
//!
//! `spawn_blocking` hands the closure to a thread kept for blocking work and
//! returns a `JoinHandle` at once; awaiting it gives the runtime's thread
//! back until the masking is done, so P-002's timer fires on time. The
//! closure may run on another thread after `take_in` has moved on, so it
//! must own what it uses (`move`, and `Send + 'static`): the report goes in,
//! the masked report comes back out. `.await` on the handle gives `Err` only
//! if the masking panicked. Go has no twin: its scheduler preempts a
//! goroutine that computes, and hands a blocked one's thread to the others.

use exercises::ex09::{Archive, Report, check, deidentify};
use tokio::task::spawn_blocking;

async fn take_in(archive: &Archive, report: Report) {
    let masked = spawn_blocking(move || deidentify(&report))
        .await
        .expect("the masking does not panic");
    archive.store(masked).await;
}

fn main() -> std::process::ExitCode {
    check(take_in)
}

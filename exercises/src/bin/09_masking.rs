//! Exercise 09: one pair of hands: the masking that stalls everyone.
//!
//! What is wrong: before a report is stored, its free text is de-identified:
//! phone numbers, ID numbers and e-mail addresses masked. The masking library
//! is synchronous and slow, 3 s of CPU work a report, and the intake calls it
//! straight from its async handler. While it runs, nothing else on the
//! runtime's thread can: P-002, who asked for her history at 0.0 s and was
//! promised an answer within 2 s, hears "try again" only at 3.5 s, when
//! R-001's masking lets go of the thread.
//!
//! Done when: P-002 hears back at her 2.0 s deadline, on time, while R-001 is
//! being masked, and R-001 is still stored as soon as its masking is done
//! (3.6 s). `deidentify` cannot be made async, there is nothing in it to
//! await: give it a thread where it may block (lesson 09).
//!
//! Practises: lesson 09, `cargo run --bin 09_blocking`.
//! Check it:  cargo run -p exercises -- 09
//! Hint:      cargo run -p exercises -- hint 09

use exercises::ex09::{Archive, Report, check, deidentify};

// The masking library's one function, as its documentation gives it:
//
//     pub fn deidentify(report: &Report) -> Masked
//
// 3 s of CPU work on the calling thread, and not one `.await` inside.

/// Takes in one patient's report: masks its free text, then stores it.
async fn take_in(archive: &Archive, report: Report) {
    // Go habit: a goroutine may block; Go's scheduler runs the others on
    // another thread meanwhile. A tokio task that blocks holds its thread,
    // and this runtime has one.
    // TODO: 3 s of CPU work right here, on the runtime's only thread: every
    // other task, and every timer, waits until it is over.
    let masked = deidentify(&report);
    // Storing is I/O: `.await` gives the thread back while it waits.
    archive.store(masked).await;
}

fn main() -> std::process::ExitCode {
    // The check takes in one report while another patient waits.
    check(take_in)
}

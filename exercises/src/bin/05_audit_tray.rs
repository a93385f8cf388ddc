//! Exercise 05: the clerk who waits for herself.
//!
//! What is wrong: the ward's clerk stores each report and drops an audit
//! slip for it into a tray with room for three. She means to file the slips
//! into the audit book at the end of her shift. At 1.2 s the fourth slip
//! finds the tray full, so she stands there waiting for someone to take a
//! slip out, and the only one who ever would is herself, after the shift.
//! Nothing crashes and nothing is logged: the ward just stops (lesson 05).
//!
//! Done when: the shift ends, with all eight reports stored, each slip in
//! the audit book within 1.0 s of its report being stored (the trial's
//! audit rule, so a tray big enough for the whole shift is no answer), and
//! no task left running once the shift is over.
//!
//! Practises: lesson 05, `cargo run --bin 05_deadlock`.
//! Check it:  cargo run -p exercises -- 05
//! Hint:      cargo run -p exercises -- hint 05

use exercises::ex05::{AuditBook, Database, Report, Slip, check};
use tokio::sync::mpsc;

/// The clerk's shift: store every report, and audit each one.
async fn shift(reports: Vec<Report>, db: &Database, book: &AuditBook) {
    // The audit tray: room for three slips.
    let (tray, mut tray_out) = mpsc::channel::<Slip>(3);

    for report in reports {
        db.store(&report).await;
        // TODO: with three slips in the tray this waits for someone to take
        // one out, and nobody takes slips out until the loop below.
        tray.send(Slip::for_report(&report))
            .await
            .expect("the tray is here");
    }

    // End of the shift: file the slips from the tray into the audit book.
    drop(tray);
    while let Some(slip) = tray_out.recv().await {
        book.file(slip).await;
    }
}

fn main() -> std::process::ExitCode {
    // The check hands your clerk a shift of eight reports.
    check(shift)
}

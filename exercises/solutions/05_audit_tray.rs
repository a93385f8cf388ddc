//! Exercise 05, a reference solution: an auditor files the slips, in a task
//! of its own, while the clerk keeps storing.
//!
//! This is lesson 05's first fix: the tray still has room for three, but
//! the one who empties it is no longer the one filling it, so a full tray
//! only means "wait for the auditor", who is always at work. The clerk
//! closes the tray by dropping its only Sender, and the shift ends when the
//! auditor has filed the last slip and gone home: no task left behind.

use exercises::ex05::{AuditBook, Database, Report, Slip, check};
use tokio::sync::mpsc;

async fn shift(reports: Vec<Report>, db: &Database, book: &AuditBook) {
    let (tray, mut tray_out) = mpsc::channel::<Slip>(3);

    let book = book.clone();
    let auditor = tokio::spawn(async move {
        // Ends once the tray is closed and empty.
        while let Some(slip) = tray_out.recv().await {
            book.file(slip).await;
        }
    });

    for report in reports {
        db.store(&report).await;
        // Waits only while the auditor is busy with three slips.
        tray.send(Slip::for_report(&report))
            .await
            .expect("the auditor is at work");
    }

    // No more slips: the auditor's loop ends when the tray is empty...
    drop(tray);
    // ...and the shift ends when the last slip is in the book.
    auditor.await.expect("the auditor does not panic");
}

fn main() -> std::process::ExitCode {
    check(shift)
}

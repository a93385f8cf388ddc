//! The third design, ours: a 202 that survives a crash (`--intake durable`).
//!
//! The first article's queue lives in this process's memory, and so does
//! every report in it: a `kill -9`, an out-of-memory kill or a power cut
//! loses all of them, each one answered `202 Accepted`. The drain on SIGTERM
//! (`edges/shutdown.rs`) cannot help, because nothing runs after SIGKILL.
//! So here the upload is written to the `inbox` table of the same SQLite
//! file, committed and synced to disk, *before* the client hears 202:
//!
//! ```text
//! POST /api/epros/upload
//!   check ─▶ take a place ─▶ de-identify ─▶ append to the inbox ─▶ 202 ─▶ queue
//!            (503 if none)                   (group commit, fsync)
//! ```
//!
//! - **The promise.** Once the inbox row is committed, the report is safe
//!   whatever happens to the process; on the next start, whatever the inbox
//!   still holds is queued first (`Clinic::start`). A worker stores the
//!   report and deletes its inbox row in one transaction, so it is stored
//!   exactly once, however the process dies.
//! - **Bounded.** The inbox has `--queue` places: when they are all taken,
//!   the upload gets `503 queue_full` at once, as with the memory queue.
//! - **Never blocking a runtime thread.** The write goes to the database's
//!   own thread (`pipeline/store.rs`), and the handler awaits its answer on a
//!   oneshot: while the disk syncs, the runtime thread serves other
//!   requests. A dedicated thread rather than `spawn_blocking`, because it
//!   is where concurrent uploads meet: the writer takes every upload waiting
//!   into one transaction, and they share its fsync (group commit). With
//!   `spawn_blocking`, each upload would be its own transaction on a pool
//!   thread, each with its own fsync, queueing for SQLite's single write
//!   lock.
//! - **Nothing raw on disk.** The text is de-identified before it is
//!   written, so no phone number, ID number or e-mail address reaches the
//!   inbox either. (The pipeline's de-identify stage then finds nothing left
//!   to mask.)

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use crate::AppState;
use crate::designs::intake::{Accepted, Queued};
use crate::edges::error::AppError;
use crate::edges::stats::Counters;
use crate::pipeline::deidentified;
use crate::pipeline::report::{EproUpload, Report, ReportId};
use crate::pipeline::store::Appended;

// ANCHOR: accept
/// The durable intake's accept path: 202 once the report is on disk.
pub async fn accept(state: &AppState, mut upload: EproUpload) -> Accepted {
    if !state.inbox.take_place() {
        Counters::bump(&state.counters.rejected);
        return Err(AppError::queue_full(state.inbox.capacity()));
    }
    upload.report_data = deidentified(upload.report_data);
    // If the client hangs up, axum drops this handler at its next `.await`,
    // and with it this guard: then a report already sent to the inbox is
    // waited for by a task spawned there and then, and still reaches the
    // workers; one never sent gives its place back.
    let mut guard = Appending {
        state: state.clone(),
        appended: None,
    };
    let appended = match state.db.append(Report::new(upload)).await {
        Ok(appended) => guard.appended.insert(appended),
        Err(e) => return Err(not_appended(state, e)),
    };
    let result = appended.await;
    guard.appended = None;
    match result {
        Ok(report) => Ok(Queued(committed(state, report))),
        Err(e) => Err(not_appended(state, e)),
    }
}

/// The report is on disk: from here on the 202 is a promise kept whatever
/// happens. Hands it to the workers.
fn committed(state: &AppState, report: Report) -> ReportId {
    let id = report.id;
    state.in_flight.queued_in_inbox(&[id]);
    Counters::bump(&state.counters.accepted);
    if state.queue.try_send(report).is_err() {
        // The workers closed the queue: shutdown began meanwhile. The report
        // stays in the inbox, and the next start stores it.
        tracing::info!(%id, "accepted as shutdown began: stored on the next start");
    }
    id
}

fn not_appended(state: &AppState, e: anyhow::Error) -> AppError {
    state.inbox.give_back(1);
    tracing::error!("report not accepted: {e:#}");
    AppError::internal("saving the report")
}

/// An accept in progress, and what to do if it is dropped before the end.
struct Appending {
    state: AppState,
    /// Sent to the writer, not yet known to be committed.
    appended: Option<Appended>,
}

impl Drop for Appending {
    fn drop(&mut self) {
        let Some(appended) = self.appended.take() else {
            return;
        };
        // Only when the client hung up: a task to see the report through.
        // (No runtime means the process is stopping: the inbox keeps the
        // report, if committed, for the next start.)
        let state = self.state.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                match appended.await {
                    Ok(report) => {
                        committed(&state, report);
                    }
                    Err(e) => {
                        not_appended(&state, e);
                    }
                }
            });
        }
    }
}
// ANCHOR_END: accept

/// The inbox's places: reports in the `inbox` table, accepted and not yet
/// stored, out of `--queue`.
#[derive(Debug)]
pub struct Inbox {
    taken: AtomicUsize,
    capacity: usize,
}

impl Inbox {
    /// An inbox of `capacity` places, `recovered` of them taken by reports
    /// from before the last stop (which may be more than `capacity`: then
    /// uploads wait until the workers have stored enough of them).
    pub fn new(capacity: usize, recovered: usize) -> Inbox {
        Inbox {
            taken: AtomicUsize::new(recovered),
            capacity,
        }
    }

    /// Takes a place, if one is free.
    pub fn take_place(&self) -> bool {
        self.taken
            .fetch_update(Relaxed, Relaxed, |taken| {
                (taken < self.capacity).then_some(taken + 1)
            })
            .is_ok()
    }

    /// Gives back `n` places: their reports are stored (their rows left the
    /// inbox with the commit), or never made it in.
    pub fn give_back(&self, n: usize) {
        if n > 0 {
            self.taken.fetch_sub(n, Relaxed);
        }
    }

    /// Reports in the inbox.
    pub fn depth(&self) -> usize {
        self.taken.load(Relaxed)
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

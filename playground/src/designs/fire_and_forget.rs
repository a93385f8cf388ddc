//! The second article's design: answer at once, then `go process(req)`.
//!
//! ```text
//! POST /data/submit  {"patientId", "trialId", "reportData"}
//!   200 {"message", "id"}     a task was spawned to process it
//!   503 shutting_down
//!   4xx                       the same checks as /api/epros/upload
//! ```
//!
//! One task per request, no queue, no limit. It is fast to answer and it never
//! says "busy", which is exactly the problem: under a burst the number of tasks
//! (`fireAndForgetInFlight` in `/stats`) grows with the burst, and every one of
//! them holds a report in memory while it waits for the database. Set
//! `--work-ms 500`, send 5000 reports here and 5000 to the queue, and watch the
//! two counts side by side.
//!
//! The tasks are "detached" only from the request: they run through the same
//! pipeline as the queue's workers, and a [`TaskTracker`] counts them, so that
//! shutdown can wait for them too. The article's goroutines had no such
//! bookkeeping: a restart lost whatever they were doing.
//!
//! [`TaskTracker`]: tokio_util::task::TaskTracker

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::AppState;
use crate::edges::error::AppError;
use crate::edges::stats::Counters;
use crate::pipeline;
use crate::pipeline::report::{EproUpload, Report, ReportId, Status};

// ANCHOR: submit
/// `POST /data/submit`
pub async fn submit(
    State(state): State<AppState>,
    upload: EproUpload,
) -> Result<Json<Submitted>, AppError> {
    if state.is_shutting_down() {
        Counters::bump(&state.counters.refused_shutting_down);
        return Err(AppError::shutting_down());
    }
    let report = Report::new(upload);
    let id = report.id;
    state.in_flight.set(id, Status::Processing);
    Counters::bump(&state.counters.fire_and_forget_accepted);

    // Go: `go l.processPatientData(req)`.
    let task_state = state.clone();
    state.fire_and_forget.spawn(async move {
        pipeline::process(&task_state, vec![report]).await;
    });

    Ok(Json(Submitted {
        message: "Report received; it is being processed in the background.",
        id,
    }))
}
// ANCHOR_END: submit

#[derive(Debug, Serialize)]
pub struct Submitted {
    pub message: &'static str,
    pub id: ReportId,
}

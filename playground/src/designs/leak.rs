//! The second article's gin demo: a slow query, a handler that gives up on it,
//! and the task left behind.
//!
//! ```text
//! GET /leaky?timeout_ms=2000&work_ms=5000
//! GET /fixed?timeout_ms=2000&work_ms=5000
//!   200 {"result", "tookMs"}   the query finished within timeout_ms
//!   504 timeout                 it did not; leaky leaves it running, fixed cancels it
//!   400 invalid_query           a parameter is not a whole number in range
//! ```
//!
//! `/leaky` spawns the query and waits for its answer with a timeout. When the
//! timeout wins, the handler returns, but nothing tells the query: it runs on
//! for the rest of `work_ms`, doing work nobody will read. `leaked` in
//! `/stats` counts those orphans; `tasks` counts them too.
//!
//! In Go the orphan blocks forever on an unbuffered send. A tokio oneshot send
//! to a receiver that is gone fails at once instead, so our orphan does end,
//! after `work_ms`. The waste is the same: a task, its memory and, in a real
//! service, a database connection, held for nothing.
//!
//! `/fixed` does what the article's context was meant to do: it hands the query
//! a cancellation token and cancels it the moment the handler stops waiting,
//! whether that is the deadline, the client hanging up, or anything else (a
//! drop guard fires on every way out). The query checks the token *while* it
//! waits, not only afterwards: the article's "fix" checked `ctx.Done()` only
//! after its 5 s sleep, so its goroutine still ran the whole 5 s.
//!
//! (The shortest Rust fix is not to spawn at all: `timeout(t, slow_query())`
//! drops the query's future at the deadline. The token version is shown
//! because it is the one that carries over to work that must be spawned.)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::AppState;
use crate::edges::error::AppError;

/// Upper bound for both parameters: one minute.
pub const MAX_MS: u64 = 60_000;

// ANCHOR: leaky
/// `GET /leaky`: the article's `leakyHandler`.
pub async fn leaky(
    State(state): State<AppState>,
    params: Result<Query<RawParams>, QueryRejection>,
) -> Result<Json<QueryDone>, AppError> {
    let Params { timeout, work } = Params::check(params)?;
    let started = Instant::now();
    let (answer, result) = oneshot::channel();

    let orphan = Arc::new(Orphan::default());
    let query_orphan = orphan.clone();
    let query_state = state.clone();
    // Go: `go slowQuery(resultChan)`. Nothing will ever tell it to stop.
    tokio::spawn(async move {
        let rows = slow_query(work).await;
        query_orphan.query_finished(&query_state);
        // Fails if the handler has gone: the work was for nobody.
        let _ = answer.send(rows);
    });

    // Whatever way this handler ends from here on, the guard notes that the
    // caller stopped waiting (on success the query has already finished).
    let _caller_left = CallerLeft { orphan, state };
    match tokio::time::timeout(timeout, result).await {
        Ok(Ok(rows)) => Ok(Json(QueryDone::new(rows, started))),
        _ => Err(timed_out(
            timeout,
            "The query is still running in a task nobody waits for: it leaked.",
        )),
    }
}
// ANCHOR_END: leaky

// ANCHOR: fixed
/// `GET /fixed`: the leak fixed with a cancellation token.
pub async fn fixed(
    params: Result<Query<RawParams>, QueryRejection>,
) -> Result<Json<QueryDone>, AppError> {
    let Params { timeout, work } = Params::check(params)?;
    let started = Instant::now();
    let (answer, result) = oneshot::channel();

    let cancel = CancellationToken::new();
    // Cancels the query on every way out of this handler: deadline, success,
    // or the client hanging up (axum then drops this future).
    let _cancel_on_exit = cancel.clone().drop_guard();
    let query_cancel = cancel.clone();
    tokio::spawn(async move {
        tokio::select! {
            // `biased`: check the token first, so a cancelled query never
            // starts work.
            biased;
            () = query_cancel.cancelled() => {}
            rows = slow_query(work) => { let _ = answer.send(rows); }
        }
    });

    match tokio::time::timeout(timeout, result).await {
        Ok(Ok(rows)) => Ok(Json(QueryDone::new(rows, started))),
        _ => Err(timed_out(
            timeout,
            "The query was cancelled at the deadline: no task is left behind.",
        )),
    }
}
// ANCHOR_END: fixed

/// The slow database query of the article: it takes `work` to answer.
async fn slow_query(work: Duration) -> String {
    tokio::time::sleep(work).await;
    "42 rows of lab results".to_owned()
}

fn timed_out(timeout: Duration, what_happened: &str) -> AppError {
    AppError::new(
        StatusCode::GATEWAY_TIMEOUT,
        "timeout",
        format!(
            "The query did not answer within {} ms. {what_happened}",
            timeout.as_millis()
        ),
    )
}

/// Counts a `/leaky` query in `leaked` from the moment its caller stops
/// waiting until the query finishes. Two parties, each calls one method once;
/// whoever comes second settles the count, so it never goes below zero.
#[derive(Default)]
struct Orphan {
    other_side_done: AtomicBool,
}

impl Orphan {
    /// The handler has stopped waiting.
    fn caller_left(&self, state: &AppState) {
        state.counters.leaked.fetch_add(1, SeqCst);
        if self.other_side_done.swap(true, SeqCst) {
            // The query had already finished: nothing was orphaned after all.
            state.counters.leaked.fetch_sub(1, SeqCst);
        }
    }

    /// The query has finished.
    fn query_finished(&self, state: &AppState) {
        if self.other_side_done.swap(true, SeqCst) {
            // The caller had left and counted us: the orphan is gone now.
            state.counters.leaked.fetch_sub(1, SeqCst);
        }
    }
}

/// Calls [`Orphan::caller_left`] when the `/leaky` handler ends, however it ends.
struct CallerLeft {
    orphan: Arc<Orphan>,
    state: AppState,
}

impl Drop for CallerLeft {
    fn drop(&mut self) {
        self.orphan.caller_left(&self.state);
    }
}

/// The query string as sent: strings, so that a bad value gets our message.
#[derive(Debug, Deserialize)]
pub struct RawParams {
    timeout_ms: Option<String>,
    work_ms: Option<String>,
}

struct Params {
    timeout: Duration,
    work: Duration,
}

impl Params {
    fn check(raw: Result<Query<RawParams>, QueryRejection>) -> Result<Params, AppError> {
        let Query(raw) = raw.map_err(|e| {
            AppError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("The query string could not be read: {e}."),
            )
        })?;
        Ok(Params {
            timeout: millis("timeout_ms", raw.timeout_ms, 2_000, 1)?,
            work: millis("work_ms", raw.work_ms, 5_000, 0)?,
        })
    }
}

fn millis(name: &str, value: Option<String>, default: u64, min: u64) -> Result<Duration, AppError> {
    let Some(value) = value else {
        return Ok(Duration::from_millis(default));
    };
    match value.trim().parse::<u64>() {
        Ok(ms) if (min..=MAX_MS).contains(&ms) => Ok(Duration::from_millis(ms)),
        _ => Err(AppError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!(
                "{name} must be a whole number of milliseconds from {min} to {MAX_MS}, not {value:?}."
            ),
        )
        .field(name)),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryDone {
    pub result: String,
    pub took_ms: u128,
}

impl QueryDone {
    fn new(result: String, started: Instant) -> Self {
        Self {
            result,
            took_ms: started.elapsed().as_millis(),
        }
    }
}

//! The playground: the ePRO intake service of both articles, running for real.
//!
//! Thousands of trial patients submit their electronic reports (ePRO) in the
//! same minute. Each report must be checked, de-identified, stored, written to
//! the audit log and scored for risk, which is too slow to do while the phone
//! waits. The two articles this project retells answer that differently, and
//! this server runs both side by side so a trainer can show the difference:
//!
//! | | first article: a queue | second article: a task per request |
//! | --- | --- | --- |
//! | endpoint | `POST /api/epros/upload` (`intake.rs`) | `POST /data/submit` (`fire_and_forget.rs`) |
//! | answers | 202, or 503 when the queue is full | 200, always |
//! | under a burst | bounded: `--queue` reports, `--workers` tasks | one task per report, no limit |
//! | on shutdown | drained, with a deadline (`shutdown.rs`) | waited for, with the same deadline |
//!
//! Plus the second article's leak demo (`/leaky`, `/fixed`, in `leak.rs`) and
//! its `/stats`, with tokio's task count where Go had goroutines (`stats.rs`).
//!
//! Every report, whichever way it came in, goes through one pipeline
//! (`pipeline.rs`) and one database thread (`store.rs`).
//!
//! Run: `cargo run -p playground -- --help`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub mod deidentify;
pub mod error;
pub mod fire_and_forget;
pub mod intake;
pub mod leak;
pub mod loadgen;
pub mod pipeline;
pub mod report;
pub mod risk;
pub mod shutdown;
pub mod stats;
pub mod store;
pub mod workers;

use report::{InFlight, Report};
use stats::Counters;
use store::Db;
use workers::WorkerPool;

/// The HTTP API. Every route, in one place.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        // The first article: check, queue, 202.
        .route("/api/epros/upload", post(intake::upload))
        .route("/api/epros/{id}", get(intake::status))
        // The second article: a detached task per request...
        .route("/data/submit", post(fire_and_forget::submit))
        // ...its leak demo, and its /stats.
        .route("/leaky", get(leak::leaky))
        .route("/fixed", get(leak::fixed))
        .route("/stats", get(stats::stats))
        .route("/metrics", get(stats::metrics))
        // JSON for unknown paths and wrong methods too: never an HTML error page.
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(intake::MAX_BODY_BYTES))
        .with_state(state)
}

/// `GET /`: what is here.
async fn index() -> axum::Json<Value> {
    axum::Json(json!({
        "service": "async-clinic playground",
        "endpoints": {
            "POST /api/epros/upload": "queue a report: 202, or 503 when the queue is full",
            "GET /api/epros/{id}": "a report's status: queued, processing, stored or flagged",
            "POST /data/submit": "the same report, one detached task per request: always 200",
            "GET /leaky?timeout_ms=2000&work_ms=5000": "times out and leaves its query running",
            "GET /fixed?timeout_ms=2000&work_ms=5000": "times out and cancels its query",
            "GET /stats": "counters and the tokio task count, as JSON",
            "GET /metrics": "the same, for Prometheus",
        }
    }))
}

/// Shared by every handler, worker and task.
pub type AppState = Arc<Clinic>;

/// How the service is sized. All of it can be changed while running.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Pipeline workers.
    pub workers: usize,
    /// Places in the intake queue (at least 1).
    pub queue: usize,
    /// Simulated latency per report, spread over the slow stages.
    pub work_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            workers: 8,
            queue: 1024,
            work_ms: 0,
        }
    }
}

/// The running service: the queue, the workers, the counters, the database,
/// and the tokens that stop them.
pub struct Clinic {
    /// The sending half of the intake queue; the workers share the other half.
    pub(crate) queue: mpsc::Sender<Report>,
    pub(crate) pool: WorkerPool,
    pub(crate) in_flight: InFlight,
    pub(crate) counters: Counters,
    pub(crate) db: Db,
    /// `/data/submit` tasks, counted so that shutdown can wait for them.
    pub(crate) fire_and_forget: TaskTracker,
    work_ms: AtomicU64,
    /// Fires when shutdown begins: stop accepting, close and drain the queue.
    pub(crate) shutdown: CancellationToken,
    /// Fires when HTTP stops, after the drain: streams end on it.
    stop_http: CancellationToken,
}

impl Clinic {
    /// Creates the queue and starts the workers. Needs a tokio runtime.
    pub fn start(config: Config, db: Db) -> AppState {
        // tokio's mpsc panics on capacity 0; the CLI refuses 0 before this.
        let (queue, receiver) = mpsc::channel(config.queue.max(1));
        let clinic = Arc::new(Clinic {
            queue,
            pool: WorkerPool::new(receiver),
            in_flight: InFlight::default(),
            counters: Counters::default(),
            db,
            fire_and_forget: TaskTracker::new(),
            work_ms: AtomicU64::new(config.work_ms),
            shutdown: CancellationToken::new(),
            stop_http: CancellationToken::new(),
        });
        clinic.set_workers(config.workers);
        clinic
    }

    /// Changes the number of workers while running.
    pub fn set_workers(self: &Arc<Self>, workers: usize) {
        self.pool.resize(workers, self);
    }

    /// Pauses or resumes the workers (a simulated database outage).
    pub fn set_paused(&self, paused: bool) {
        self.pool.set_paused(paused);
    }

    pub fn work_ms(&self) -> u64 {
        self.work_ms.load(Relaxed)
    }

    /// Changes the simulated latency for reports from now on.
    pub fn set_work_ms(&self, work_ms: u64) {
        self.work_ms.store(work_ms, Relaxed);
    }

    /// Reports waiting in the queue.
    pub fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    pub fn capacity(&self) -> usize {
        self.queue.max_capacity()
    }

    /// A snapshot of the counters, as `/stats` shows them.
    pub fn stats(self: &Arc<Self>) -> stats::Stats {
        stats::Stats::read(self)
    }

    /// Begins shutdown from code (Ctrl-C and SIGTERM end up here too):
    /// new reports are refused and the queue drains. `main` then finishes the
    /// job with [`Clinic::drain`].
    pub fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// Completes when shutdown begins.
    pub fn shutdown_requested(&self) -> tokio_util::sync::WaitForCancellationFutureOwned {
        self.shutdown.clone().cancelled_owned()
    }

    /// Tells HTTP to stop: the server's graceful shutdown and any open stream
    /// (`.take_until(state.http_stopping())`) wait on this.
    pub fn stop_http(&self) {
        self.stop_http.cancel();
    }

    /// Completes when HTTP should stop.
    pub fn http_stopping(&self) -> tokio_util::sync::WaitForCancellationFutureOwned {
        self.stop_http.clone().cancelled_owned()
    }
}

//! `/stats` (JSON) and `/metrics` (Prometheus text): what the service is doing.
//!
//! The second article's `/stats` answered `runtime.NumGoroutine()`. Ours
//! answers `tasks`, tokio's count of alive tasks. Like Go's count it includes
//! the server's own machinery: one task per open HTTP connection, one per
//! worker. Compare it with itself over time, not with zero.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde::Serialize;
use tokio::runtime::Handle;

use crate::AppState;

/// Event counters, bumped with relaxed atomics: each is an independent tally,
/// nothing is ordered by them.
#[derive(Debug, Default)]
pub struct Counters {
    /// Uploads answered 202 (queued).
    pub accepted: AtomicU64,
    /// Uploads answered 503 because the queue was full.
    pub rejected: AtomicU64,
    /// Uploads answered 503 because the service was shutting down.
    pub refused_shutting_down: AtomicU64,
    /// `/data/submit` calls answered 200 (one detached task each).
    pub fire_and_forget_accepted: AtomicU64,
    /// Reports committed to the database, either way in.
    pub stored: AtomicU64,
    /// Stored reports the risk scorer flagged.
    pub flagged: AtomicU64,
    /// Reports the database refused.
    pub failed: AtomicU64,
    /// `/leaky` queries still running after their caller gave up.
    pub leaked: AtomicU64,
    /// Reports the inbox held at start, accepted before the last stop.
    pub recovered: AtomicU64,
}

impl Counters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    /// Counts `n` at once (a batch of reports).
    pub fn add(counter: &AtomicU64, n: usize) {
        if n > 0 {
            counter.fetch_add(n as u64, Relaxed);
        }
    }
}

/// A snapshot of everything `/stats` shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// `memory` or `durable`: where an upload waits between its 202 and its
    /// commit (`--intake`).
    pub intake: &'static str,
    /// Reports in the database's inbox (accepted, not yet stored), and its
    /// places: `--queue`.
    pub inbox: usize,
    pub inbox_capacity: usize,
    /// Reports the inbox held at start, accepted before the last stop.
    pub recovered: u64,
    /// Transactions the database thread committed, the fsyncs SQLite made for
    /// them (each commit syncs the WAL; see `pipeline/store.rs`), and the
    /// reports they carried per commit, on average (uploads appended to the
    /// inbox and reports stored, each counted once).
    pub commits: u64,
    pub fsyncs: u64,
    pub reports_committed: u64,
    pub reports_per_commit: f64,
    /// Alive tasks in the tokio runtime (the article's goroutine count).
    pub tasks: usize,
    /// Runtime worker threads.
    pub runtime_threads: usize,
    /// Reports waiting in the intake queue, and its size.
    pub queued: usize,
    pub capacity: usize,
    /// Pipeline workers, how many are busy with a report, whether paused.
    pub workers: usize,
    pub busy: usize,
    pub paused: bool,
    pub accepted: u64,
    pub rejected: u64,
    pub refused_shutting_down: u64,
    pub stored: u64,
    pub flagged: u64,
    pub failed: u64,
    /// Accepted reports not stored yet (queued or processing), both designs.
    pub in_flight: usize,
    pub fire_and_forget_accepted: u64,
    /// Detached `/data/submit` tasks still running.
    pub fire_and_forget_in_flight: usize,
    pub leaked: u64,
    /// Simulated latency added to each report, spread over the slow stages.
    pub work_ms: u64,
    pub shutting_down: bool,
}

impl Stats {
    // ANCHOR: stats_read
    pub fn read(state: &AppState) -> Stats {
        let counters = &state.counters;
        let runtime = Handle::current().metrics();
        let writer = state.db.stats();
        let commits = writer.commits.load(Relaxed);
        let reports_committed = writer.reports_committed.load(Relaxed);
        Stats {
            intake: state.intake().as_str(),
            inbox: state.inbox.depth(),
            inbox_capacity: state.inbox.capacity(),
            recovered: counters.recovered.load(Relaxed),
            commits,
            fsyncs: writer.fsyncs.load(Relaxed),
            reports_committed,
            reports_per_commit: reports_committed as f64 / commits.max(1) as f64,
            tasks: runtime.num_alive_tasks(),
            runtime_threads: runtime.num_workers(),
            queued: state.queued(),
            capacity: state.capacity(),
            workers: state.pool.size(),
            busy: state.pool.busy(),
            paused: state.pool.is_paused(),
            accepted: counters.accepted.load(Relaxed),
            rejected: counters.rejected.load(Relaxed),
            refused_shutting_down: counters.refused_shutting_down.load(Relaxed),
            stored: counters.stored.load(Relaxed),
            flagged: counters.flagged.load(Relaxed),
            failed: counters.failed.load(Relaxed),
            in_flight: state.in_flight.len(),
            fire_and_forget_accepted: counters.fire_and_forget_accepted.load(Relaxed),
            fire_and_forget_in_flight: state.fire_and_forget.len(),
            leaked: counters.leaked.load(Relaxed),
            work_ms: state.work_ms(),
            shutting_down: state.is_shutting_down(),
        }
    }
    // ANCHOR_END: stats_read
}

/// `GET /stats`
pub async fn stats(State(state): State<AppState>) -> Json<Stats> {
    Json(Stats::read(&state))
}

/// `GET /metrics`: the same numbers in Prometheus' text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let s = Stats::read(&state);
    let mut out = String::with_capacity(2048);
    // Text, not a number: Prometheus' way is a label on a constant 1.
    let _ = writeln!(
        out,
        "# HELP clinic_intake_info Where an upload waits between its 202 and its commit.\n\
         # TYPE clinic_intake_info gauge\n\
         clinic_intake_info{{intake=\"{}\"}} 1",
        s.intake
    );
    let mut metric = |name: &str, kind: &str, help: &str, value: f64| {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "# HELP clinic_{name} {help}");
        let _ = writeln!(out, "# TYPE clinic_{name} {kind}");
        let _ = writeln!(out, "clinic_{name} {value}");
    };
    let n = |v: usize| v as f64;
    let c = |v: u64| v as f64;
    metric(
        "tasks_alive",
        "gauge",
        "Alive tasks in the tokio runtime.",
        n(s.tasks),
    );
    metric(
        "runtime_threads",
        "gauge",
        "Runtime worker threads.",
        n(s.runtime_threads),
    );
    metric(
        "queue_depth",
        "gauge",
        "Reports waiting in the intake queue.",
        n(s.queued),
    );
    metric(
        "queue_capacity",
        "gauge",
        "Size of the intake queue.",
        n(s.capacity),
    );
    metric("workers", "gauge", "Pipeline workers.", n(s.workers));
    metric(
        "workers_busy",
        "gauge",
        "Workers processing a report.",
        n(s.busy),
    );
    metric(
        "workers_paused",
        "gauge",
        "1 while the workers are paused.",
        f64::from(u8::from(s.paused)),
    );
    metric(
        "reports_accepted_total",
        "counter",
        "Uploads answered 202.",
        c(s.accepted),
    );
    metric(
        "reports_rejected_total",
        "counter",
        "Uploads answered 503 queue_full.",
        c(s.rejected),
    );
    metric(
        "reports_refused_shutting_down_total",
        "counter",
        "Uploads answered 503 shutting_down.",
        c(s.refused_shutting_down),
    );
    metric(
        "reports_stored_total",
        "counter",
        "Reports committed to the database.",
        c(s.stored),
    );
    metric(
        "reports_flagged_total",
        "counter",
        "Stored reports flagged by the risk scorer.",
        c(s.flagged),
    );
    metric(
        "reports_failed_total",
        "counter",
        "Reports the database refused.",
        c(s.failed),
    );
    metric(
        "reports_in_flight",
        "gauge",
        "Accepted reports not stored yet.",
        n(s.in_flight),
    );
    metric(
        "fire_and_forget_accepted_total",
        "counter",
        "/data/submit calls answered 200.",
        c(s.fire_and_forget_accepted),
    );
    metric(
        "fire_and_forget_in_flight",
        "gauge",
        "Detached /data/submit tasks still running.",
        n(s.fire_and_forget_in_flight),
    );
    metric(
        "leaked_tasks",
        "gauge",
        "/leaky queries running after their caller gave up.",
        c(s.leaked),
    );
    metric(
        "inbox_depth",
        "gauge",
        "Reports in the database's inbox: accepted, not yet stored.",
        n(s.inbox),
    );
    metric(
        "inbox_capacity",
        "gauge",
        "Places in the inbox.",
        n(s.inbox_capacity),
    );
    metric(
        "reports_recovered_total",
        "counter",
        "Reports the inbox held at start, accepted before the last stop.",
        c(s.recovered),
    );
    metric(
        "db_commits_total",
        "counter",
        "Transactions the database thread committed.",
        c(s.commits),
    );
    metric(
        "db_fsyncs_total",
        "counter",
        "fsyncs SQLite made for those commits and their checkpoints.",
        c(s.fsyncs),
    );
    metric(
        "db_reports_per_commit",
        "gauge",
        "Reports appended to the inbox or stored, per commit, on average.",
        s.reports_per_commit,
    );
    metric(
        "work_ms",
        "gauge",
        "Simulated latency per report, in milliseconds.",
        c(s.work_ms),
    );
    metric(
        "shutting_down",
        "gauge",
        "1 once shutdown has begun.",
        f64::from(u8::from(s.shutting_down)),
    );
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        out,
    )
}

//! Bursts and leak runs: started by a click, run in the background.
//!
//! A click on *Send burst* or *Fire N /leaky* is answered at once (202); the
//! job goes on in a task the controls keep in a `TaskTracker`, sending real
//! HTTP to this server's own address, and the dashboard shows its progress.
//! One burst and one leak run at a time. Shutdown stops them: a burst would
//! only collect 503s then, and the drain waits for them to stop.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use tokio::time::Instant;

use super::forms::{Done, invalid};
use super::{Controls, grouped, lock};
use crate::AppState;
use crate::edges::error::AppError;
use crate::loadgen::{self, Progress};

// ANCHOR: leak_demo
/// A leak demo request gives up after this long...
pub const LEAK_TIMEOUT_MS: u64 = 1_000;
/// ...on a query that would take this long.
pub const LEAK_WORK_MS: u64 = 10_000;
// ANCHOR_END: leak_demo

pub(super) fn start_burst(
    state: &AppState,
    design: Design,
    n: usize,
    concurrency: usize,
) -> Result<Done, AppError> {
    let url = target(state, design.path())?;
    let progress = Arc::new(Progress::default());
    let label = format!(
        "{} reports to {}, {} at a time",
        grouped(n as u64),
        design.path(),
        concurrency
    );
    claim(
        &state.controls.burst,
        "A burst",
        Job::new(label, n, progress.clone()),
    )?;

    run_job(state, |controls| &controls.burst, async move {
        loadgen::burst_with_progress(&url, n, concurrency, progress).await
    });
    Ok(Done::accepted(format!(
        "Burst started: {} reports to {}, {concurrency} at a time.",
        grouped(n as u64),
        design.path()
    )))
}

pub(super) fn start_leak(state: &AppState, kind: &str, n: usize) -> Result<Done, AppError> {
    let path = format!("/{kind}?timeout_ms={LEAK_TIMEOUT_MS}&work_ms={LEAK_WORK_MS}");
    let url = target(state, &path)?;
    let progress = Arc::new(Progress::default());
    let label = format!("{n} × /{kind}");
    claim(
        &state.controls.leak,
        "A leak run",
        Job::new(label, n, progress.clone()),
    )?;

    // All at once: each request waits LEAK_TIMEOUT_MS for its query.
    run_job(state, |controls| &controls.leak, async move {
        loadgen::burst_get_with_progress(&url, n, n, progress).await
    });
    let what_happens = if kind == "leaky" {
        "each gives up after 1 s and leaves its 10 s query running: watch leaked tasks"
    } else {
        "each gives up after 1 s and cancels its query: the task count drops right back"
    };
    Ok(Done::accepted(format!(
        "Sent {n} requests to /{kind}: {what_happens}."
    )))
}

/// The URL of `path` on this server, for a job to send real HTTP to.
fn target(state: &AppState, path: &str) -> Result<String, AppError> {
    if state.is_shutting_down() {
        return Err(AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "The service is shutting down: no new bursts.",
        ));
    }
    let Some(addr) = state.controls.listening_on.get() else {
        return Err(AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_listening",
            "This server is not listening on a socket, so it cannot send itself requests.",
        ));
    };
    Ok(format!("http://{addr}{path}"))
}

/// Puts `job` in `slot` unless the one there is still running.
fn claim(slot: &Mutex<Option<Job>>, what: &str, job: Job) -> Result<(), AppError> {
    let mut slot = lock(slot);
    if let Some(running) = slot.as_ref().filter(|job| job.ended.is_none()) {
        let progress = running.snapshot();
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "already_running",
            format!(
                "{what} is already running ({} of {} sent). Wait for it to finish.",
                grouped(progress.done as u64),
                grouped(progress.total as u64)
            ),
        ));
    }
    *slot = Some(job);
    Ok(())
}

/// Runs a burst or leak job in the background until it is done or shutdown
/// begins (it would only collect 503s then, and it must not keep the process
/// alive), and records in its slot how it ended.
fn run_job<F>(state: &AppState, slot: fn(&Controls) -> &Mutex<Option<Job>>, job: F)
where
    F: Future<Output = anyhow::Result<loadgen::Outcome>> + Send + 'static,
{
    let job_state = state.clone();
    state.controls.jobs.spawn(async move {
        let ended = tokio::select! {
            biased;
            () = job_state.shutdown_requested() => Ended::StoppedForShutdown,
            sent = job => match sent {
                Ok(_) => Ended::Finished,
                Err(e) => Ended::Failed(format!("{e:#}")),
            },
        };
        finish(slot(&job_state.controls), ended);
    });
}

fn finish(slot: &Mutex<Option<Job>>, ended: Ended) {
    if let Some(job) = lock(slot).as_mut() {
        job.ended = Some((job.started.elapsed(), ended));
    }
}

/// Which article's endpoint a burst goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Design {
    /// `/api/epros/upload`: the bounded queue.
    Queue,
    /// `/data/submit`: a task per request.
    FireAndForget,
}

impl Design {
    pub(super) fn parse(value: Option<&str>) -> Result<Design, AppError> {
        match value.map(str::trim) {
            None | Some("queue") => Ok(Design::Queue),
            Some("fire-and-forget") => Ok(Design::FireAndForget),
            Some(other) => Err(invalid(
                "design",
                format!("design must be queue or fire-and-forget, not {other:?}."),
            )),
        }
    }

    fn path(self) -> &'static str {
        match self {
            Design::Queue => "/api/epros/upload",
            Design::FireAndForget => "/data/submit",
        }
    }
}

/// A burst or leak run: its counts while it runs, and how it ended.
pub(super) struct Job {
    label: String,
    total: usize,
    progress: Arc<Progress>,
    started: Instant,
    ended: Option<(Duration, Ended)>,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Finished,
    StoppedForShutdown,
    Failed(String),
}

impl Job {
    fn new(label: String, total: usize, progress: Arc<Progress>) -> Job {
        Job {
            label,
            total,
            progress,
            started: Instant::now(),
            ended: None,
        }
    }

    pub(super) fn snapshot(&self) -> JobSnapshot {
        use std::sync::atomic::Ordering::Relaxed;
        let p = &self.progress;
        JobSnapshot {
            label: self.label.clone(),
            total: self.total,
            done: p.done.load(Relaxed),
            accepted: p.accepted.load(Relaxed),
            unavailable: p.unavailable.load(Relaxed),
            other: p.other.load(Relaxed),
            errors: p.errors.load(Relaxed),
            elapsed: self
                .ended
                .as_ref()
                .map_or_else(|| self.started.elapsed(), |(took, _)| *took),
            ended: self.ended.as_ref().map(|(_, how)| how.clone()),
        }
    }
}

/// A job's counts at one moment.
#[derive(Debug, Clone)]
pub struct JobSnapshot {
    pub label: String,
    pub total: usize,
    /// Requests finished so far, answered or not.
    pub done: usize,
    /// 2xx answers.
    pub accepted: usize,
    /// 503 answers.
    pub unavailable: usize,
    /// Other answers (a 504 from /leaky and /fixed lands here).
    pub other: usize,
    /// No answer at all.
    pub errors: usize,
    pub elapsed: Duration,
    /// `None` while it runs.
    pub ended: Option<Ended>,
}

//! The worker pool: `--workers` tasks taking reports off the intake queue.
//!
//! Go's channel has many receivers; tokio's `mpsc` has one. So the workers
//! share the receiver behind a `tokio::sync::Mutex`: the worker holding the
//! lock waits for the next report, the others wait for the lock (the same
//! trick as the Rust book's thread pool). A tokio mutex, not a std one,
//! because it *is* held across an `.await` here, and that is fine: only
//! workers ever take it, never the accept path.
//!
//! A worker takes every report waiting, up to [`MAX_BATCH`], and runs them
//! through the pipeline together (`pipeline/mod.rs` says why). While
//! `--work-ms` adds latency, it takes one at a time, so that the latency is
//! each report's and a trainer sees the workers share the queue.
//!
//! The pool can grow and shrink while running ([`WorkerPool::resize`]) and be
//! paused, which is how a trainer simulates a database outage: the workers
//! stop taking reports and the queue fills behind them.
//!
//! Shutdown, as the first article meant it and then some: when the shutdown
//! token fires, the worker waiting on the queue *closes* it (Go's `close(ch)`).
//! `recv()` then hands out what is still queued and finally `None`, and each
//! worker returns. The article stopped there; we also wait for the workers
//! (the [`TaskTracker`]), with a deadline, before the process exits.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{Mutex as AsyncMutex, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::AppState;
use crate::pipeline;
use crate::pipeline::report::Report;
use crate::pipeline::store::MAX_BATCH;

pub struct WorkerPool {
    queue: Arc<AsyncMutex<mpsc::Receiver<Report>>>,
    /// Reports the inbox held at start, taken before anything in the queue.
    recovered: Mutex<VecDeque<Report>>,
    /// One token per running worker; cancelling it retires that worker after
    /// its current report.
    retire: Mutex<Vec<CancellationToken>>,
    tracker: TaskTracker,
    paused: watch::Sender<bool>,
    busy: AtomicUsize,
}

impl WorkerPool {
    /// An empty pool reading `recovered`, then `queue`. [`AppState`] starts
    /// the workers.
    pub fn new(queue: mpsc::Receiver<Report>, recovered: Vec<Report>) -> Self {
        Self {
            queue: Arc::new(AsyncMutex::new(queue)),
            recovered: Mutex::new(recovered.into()),
            retire: Mutex::new(Vec::new()),
            tracker: TaskTracker::new(),
            paused: watch::Sender::new(false),
            busy: AtomicUsize::new(0),
        }
    }

    /// Grows or shrinks the pool to `size` workers. A retired worker finishes
    /// the report it holds first.
    pub fn resize(&self, size: usize, state: &AppState) {
        let mut retire = self.retire.lock().unwrap_or_else(PoisonError::into_inner);
        while retire.len() < size {
            let token = CancellationToken::new();
            let number = retire.len() + 1;
            self.tracker
                .spawn(work(state.clone(), number, token.clone()));
            retire.push(token);
        }
        while retire.len() > size {
            if let Some(token) = retire.pop() {
                token.cancel();
            }
        }
    }

    pub fn size(&self) -> usize {
        self.retire
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Recovered reports no worker has taken yet.
    pub fn recovered_waiting(&self) -> usize {
        self.lock_recovered().len()
    }

    /// Up to `most` recovered reports, oldest first.
    fn take_recovered(&self, most: usize) -> Vec<Report> {
        let mut recovered = self.lock_recovered();
        let n = most.min(recovered.len());
        recovered.drain(..n).collect()
    }

    fn lock_recovered(&self) -> MutexGuard<'_, VecDeque<Report>> {
        self.recovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Workers processing a report right now.
    pub fn busy(&self) -> usize {
        self.busy.load(Relaxed)
    }

    /// Paused workers finish the report they hold, then take no more.
    pub fn set_paused(&self, paused: bool) {
        self.paused.send_replace(paused);
    }

    pub fn is_paused(&self) -> bool {
        *self.paused.borrow()
    }

    /// Waits until every worker has returned. They return once the queue is
    /// closed and empty, so call this after shutdown began.
    pub async fn wait(&self) {
        self.tracker.close();
        self.tracker.wait().await;
    }

    /// Workers still running.
    pub fn running(&self) -> usize {
        self.tracker.len()
    }
}

// ANCHOR: worker
/// One worker: wait while paused, take a report, run the pipeline, repeat.
async fn work(state: AppState, number: usize, retire: CancellationToken) {
    tracing::debug!(worker = number, "worker started");
    let mut paused = state.pool.paused.subscribe();
    let mut shutdown_seen = false;
    loop {
        // Paused (a "database outage"): wait here until resumed.
        let shutting_down = tokio::select! {
            biased;
            () = retire.cancelled() => break,
            resumed = paused.wait_for(|paused| !paused) => {
                if resumed.is_err() {
                    break;
                }
                false
            }
            () = state.shutdown.cancelled(), if !shutdown_seen => true,
        };
        // Shutdown during an outage. With nothing queued there is nothing to
        // wait for; with reports queued, keep waiting: a resume drains them,
        // or the drain deadline names them as lost.
        if shutting_down {
            shutdown_seen = true;
            let mut queue = state.pool.queue.lock().await;
            queue.close();
            if queue.is_empty() && state.pool.recovered_waiting() == 0 {
                break;
            }
            continue;
        }
        let most = if state.work_ms() == 0 { MAX_BATCH } else { 1 };
        let reports = tokio::select! {
            biased;
            () = retire.cancelled() => break,
            // Paused while waiting for a report: go back and wait for resume.
            _ = paused.wait_for(|paused| *paused) => continue,
            reports = next_reports(&state.pool, &state.shutdown, most) => reports,
        };
        // None: the queue is closed and empty. Shutdown, and nothing left.
        if reports.is_empty() {
            break;
        }

        state.pool.busy.fetch_add(1, Relaxed);
        pipeline::process(&state, reports).await;
        state.pool.busy.fetch_sub(1, Relaxed);
    }
    tracing::debug!(worker = number, "worker stopped");
}
// ANCHOR_END: worker

// ANCHOR: next_report
/// The reports waiting, at least one and at most `at_most`; none once the queue
/// is closed and empty.
///
/// If the caller's `select!` drops this future (the worker was paused or
/// retired), no report is lost: `recv_many()` is cancel-safe (dropped, it has
/// taken nothing), and dropping `lock()`, which is *not* cancel-safe, only
/// gives up this worker's place in the lock's first-come queue.
async fn next_reports(
    pool: &WorkerPool,
    shutdown: &CancellationToken,
    at_most: usize,
) -> Vec<Report> {
    let mut queue = pool.queue.lock().await;
    // Accepted before the last stop: first in line.
    let mut reports = pool.take_recovered(at_most);
    if !reports.is_empty() {
        return reports;
    }
    tokio::select! {
        biased;
        _ = queue.recv_many(&mut reports, at_most) => {}
        () = shutdown.cancelled() => {
            // Go: close(ch). Nothing new gets in; what is queued still comes
            // out, then an empty batch tells every worker the queue is done.
            queue.close();
            queue.recv_many(&mut reports, at_most).await;
        }
    }
    reports
}
// ANCHOR_END: next_report

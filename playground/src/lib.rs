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
//! | endpoint | `POST /api/epros/upload` | `POST /data/submit` |
//! | answers | 202, or 503 when the queue is full | 200, always |
//! | under a burst | bounded: `--queue` reports, `--workers` tasks | one task per report, no limit |
//! | on shutdown | drained, with a deadline | waited for, with the same deadline |
//!
//! Plus the second article's leak demo (`/leaky`, `/fixed`) and its `/stats`,
//! with tokio's task count where Go had goroutines. `GET /` is a live
//! dashboard of all of it for a trainer to project, with controls to burst,
//! pause, leak and shut down.
//!
//! The folders follow the parts:
//!
//! ```text
//! designs/    the articles' designs: the queue (intake.rs) and its workers,
//!             a task per request (fire_and_forget.rs), the leak demo (leak.rs);
//!             and ours, the durable intake (durable.rs): on disk before the 202
//! pipeline/   what every accepted report goes through: de-identify, score,
//!             and the one database thread (store.rs)
//! dashboard/  the live page, its history and latest lists, and its controls/
//! edges/      where the service meets the world: serving with time limits,
//!             errors, /stats and /metrics, shutdown
//! loadgen.rs  an HTTP load generator (the dashboard's bursts, tests, benchmarks)
//! ```
//!
//! Run: `cargo run -p playground -- --help`

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler as _;
use axum::http::header::{CONTENT_SECURITY_POLICY, X_FRAME_OPTIONS};
use axum::middleware;
use axum::routing::{get, post};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::set_header::SetResponseHeaderLayer;

pub mod dashboard;
pub mod designs;
pub mod edges;
pub mod loadgen;
pub mod pipeline;

use dashboard::controls::{self, Controls};
use dashboard::history::{self, History};
use dashboard::latest::Latest;
use designs::durable::Inbox;
use designs::workers::WorkerPool;
use designs::{fire_and_forget, intake, leak};
use edges::shutdown::{DrainClock, Drained};
use edges::stats::{self, Counters};
use edges::{error, serve};
use pipeline::report::{InFlight, Report, ReportId};
use pipeline::store::Db;

// ANCHOR: routes
/// The HTTP API. Every route, in one place.
///
/// Serve it with `into_make_service_with_connect_info::<SocketAddr>()`: the
/// controls answer only clients they can see are on this machine.
pub fn app(state: AppState) -> Router {
    // What a trainer clicks: only from this machine, or with the control token.
    let controls = Router::new()
        .route("/controls/burst", post(controls::burst))
        .route("/controls/workers", post(controls::workers))
        .route("/controls/pause", post(controls::pause))
        .route("/controls/resume", post(controls::resume))
        .route("/controls/latency", post(controls::latency))
        .route("/controls/leak", post(controls::leak))
        .route("/controls/shutdown", post(controls::shutdown))
        .route("/controls/crash", post(controls::crash))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            controls::guard,
        ));

    // The dashboard's page, the one HTML response: never in another site's
    // frame, nothing inline. (Only here: on every route, these two layers
    // were a tenth of an upload's instructions.)
    let page = Router::new()
        .route("/", get(dashboard::page))
        .layer(SetResponseHeaderLayer::overriding(
            CONTENT_SECURITY_POLICY,
            dashboard::on_html(dashboard::CONTENT_SECURITY_POLICY),
        ))
        // The same for browsers that predate `frame-ancestors`.
        .layer(SetResponseHeaderLayer::overriding(
            X_FRAME_OPTIONS,
            dashboard::on_html("DENY"),
        ));

    // Every body read at the door, within the client timeout (serve.rs).
    let read_body = middleware::from_fn_with_state(state.clone(), serve::read_body);
    let not_allowed = error::method_not_allowed.layer(read_body.clone());
    Router::new()
        // The dashboard: the page, its live updates, its stylesheet and script.
        .merge(page)
        .route("/events", get(dashboard::events))
        .route("/assets/dashboard.css", get(dashboard::stylesheet))
        .route("/assets/dashboard.js", get(dashboard::script))
        .merge(controls)
        .route("/controls/unlock", post(controls::unlock))
        // The first article's status URL (its upload is below).
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
        .layer(read_body)
        // The first article: check, queue, 202. The hot path, so added after
        // the layers: its extractor reads the body at the door itself
        // (`intake::Upload`). Its 405 reads it in the layer, as every route's.
        .route(
            "/api/epros/upload",
            post(intake::upload).fallback(not_allowed),
        )
        .with_state(state)
}
// ANCHOR_END: routes

/// Shared by every handler, worker and task.
pub type AppState = Arc<Clinic>;

/// How the service is sized, and where an accepted report waits. The sizes
/// can be changed while running.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Pipeline workers.
    pub workers: usize,
    /// Places in the intake queue, or in the inbox (at least 1).
    pub queue: usize,
    /// Simulated latency per report, spread over the slow stages.
    pub work_ms: u64,
    /// Where an upload waits between its 202 and its commit.
    pub intake: Intake,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            workers: 8,
            queue: 1024,
            work_ms: 0,
            intake: Intake::default(),
        }
    }
}

/// Where `POST /api/epros/upload` keeps a report it has answered 202.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Intake {
    /// In this process's memory, as in the first article: fast, and lost if
    /// the process dies without its drain (a crash, `kill -9`, a power cut).
    Memory,
    /// In the database's inbox, committed and synced to disk before the 202:
    /// every accepted report survives a crash (`designs/durable.rs`).
    #[default]
    Durable,
}

impl Intake {
    pub fn as_str(self) -> &'static str {
        match self {
            Intake::Memory => "memory",
            Intake::Durable => "durable",
        }
    }
}

/// The running service: the queue, the workers, the counters, the database,
/// and the tokens that stop them.
pub struct Clinic {
    pub(crate) intake: Intake,
    /// The sending half of the intake queue; the workers share the other half.
    pub(crate) queue: mpsc::Sender<Report>,
    /// The durable intake's places (reports in the `inbox` table).
    pub(crate) inbox: Inbox,
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
    /// Set when the drain begins and when it ends (`shutdown.rs`).
    pub(crate) drain_clock: OnceLock<DrainClock>,
    pub(crate) drained: OnceLock<Drained>,
    /// The dashboard's view of the last minute, and the newest reports.
    pub(crate) history: History,
    pub(crate) latest: Latest,
    pub(crate) controls: Controls,
    /// `--client-timeout`: see `serve.rs`.
    client_timeout: OnceLock<Duration>,
}

impl Clinic {
    /// Creates the queue and starts the workers, which take the reports the
    /// inbox held from before the last stop first. Needs a tokio runtime.
    pub fn start(config: Config, db: Db) -> AppState {
        // tokio's mpsc panics on capacity 0; the CLI refuses 0 before this.
        let (queue, receiver) = mpsc::channel(config.queue.max(1));
        let recovered = db.take_recovered();
        let in_flight = InFlight::default();
        let ids: Vec<ReportId> = recovered.iter().map(|report| report.id).collect();
        in_flight.queued_in_inbox(&ids);
        let counters = Counters::default();
        Counters::add(&counters.recovered, ids.len());
        let clinic = Arc::new(Clinic {
            intake: config.intake,
            queue,
            inbox: Inbox::new(config.queue.max(1), ids.len()),
            pool: WorkerPool::new(receiver, recovered),
            in_flight,
            counters,
            db,
            fire_and_forget: TaskTracker::new(),
            work_ms: AtomicU64::new(config.work_ms),
            shutdown: CancellationToken::new(),
            stop_http: CancellationToken::new(),
            drain_clock: OnceLock::new(),
            drained: OnceLock::new(),
            history: History::default(),
            latest: Latest::default(),
            controls: Controls::default(),
            client_timeout: OnceLock::new(),
        });
        if !ids.is_empty() {
            tracing::info!(
                "recovered {} reports accepted before the last stop",
                ids.len()
            );
        }
        clinic.set_workers(config.workers);
        // The dashboard's sparklines: one sample a second until HTTP stops.
        tokio::spawn(history::sample_every_second(clinic.clone()));
        clinic
    }

    /// Where the server listens: the dashboard's bursts are sent there.
    pub fn set_listening_on(&self, addr: SocketAddr) {
        self.controls.listening_on(addr);
    }

    /// Where the server listens, once [`Clinic::set_listening_on`] was called.
    pub fn listening_on(&self) -> Option<SocketAddr> {
        self.controls.address()
    }

    /// Requires this token on every control request (`--control-token`);
    /// without one, the controls answer only from this machine.
    pub fn set_control_token(&self, token: String) {
        self.controls.require_token(token);
    }

    /// How long a client may take to send a request's headers or body, and
    /// how long an idle connection stays open (`--client-timeout`); set once,
    /// before serving. Unset, [`serve::CLIENT_TIMEOUT`].
    pub fn set_client_timeout(&self, timeout: Duration) {
        let _ = self.client_timeout.set(timeout);
    }

    pub fn client_timeout(&self) -> Duration {
        self.client_timeout
            .get()
            .copied()
            .unwrap_or(serve::CLIENT_TIMEOUT)
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

    /// Where an upload waits between its 202 and its commit.
    pub fn intake(&self) -> Intake {
        self.intake
    }

    /// Reports waiting for a worker: in the queue, or recovered from the
    /// inbox and not yet taken.
    pub fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity() + self.pool.recovered_waiting()
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

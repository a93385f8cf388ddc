//! The dashboard's controls: what a trainer clicks during a demo.
//!
//! ```text
//! POST /controls/burst     n, concurrency, design=queue|fire-and-forget
//! POST /controls/workers   workers
//! POST /controls/pause     (a simulated database outage)
//! POST /controls/resume
//! POST /controls/latency   work_ms
//! POST /controls/leak      n, kind=leaky|fixed
//! POST /controls/shutdown  (the same path as SIGTERM)
//! POST /controls/unlock    token   (only with --control-token)
//! ```
//!
//! Bodies are form-encoded (`curl -d n=500`), as an HTML form sends them.
//! The answer depends on who asks. A browser submitting a form (its `Accept`
//! names `text/html`) gets `303 See Other` back to `/`, with the message in a
//! one-shot cookie the page shows once: the controls work without JavaScript.
//! Anyone else (the page's own script, curl, tests) gets JSON: `{"message"}`
//! on success, the usual [`AppError`] body on failure.
//!
//! **Who may use them.** A burst or a shutdown is not something a stranger on
//! the conference Wi-Fi should be able to start. So [`guard`] lets a request
//! through only if it comes from this machine (a loopback address), or, when
//! the server was started with `--control-token T`, if it carries that token
//! (header `X-Control-Token`, or the cookie `POST /controls/unlock` sets),
//! from anywhere, this machine included. And never from another web site's
//! page: a browser on this machine would otherwise carry such a site's form
//! post to 127.0.0.1 as a loopback request.

use std::fmt;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, FromRequestParts, Request, State};
use axum::http::header::{ACCEPT, COOKIE, HOST, LOCATION, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use crate::AppState;
use crate::error::AppError;
use crate::loadgen::{self, Progress};

/// Largest burst: enough to fill the default queue many times over, small
/// enough to finish in seconds on a laptop.
pub const MAX_BURST: u64 = 20_000;
/// Most connections a burst opens at once.
pub const MAX_CONCURRENCY: u64 = 256;
/// Most workers the dashboard will start.
pub const MAX_WORKERS: u64 = 64;
/// Longest simulated latency per report the dashboard will set.
pub const MAX_WORK_MS: u64 = 5_000;
/// Most `/leaky` or `/fixed` requests in one click.
pub const MAX_LEAKS: u64 = 500;
// ANCHOR: leak_demo
/// A leak demo request gives up after this long...
pub const LEAK_TIMEOUT_MS: u64 = 1_000;
/// ...on a query that would take this long.
pub const LEAK_WORK_MS: u64 = 10_000;
// ANCHOR_END: leak_demo

/// The controls' own state: who may use them, where the server listens (the
/// burst's target), and the background jobs they started.
#[derive(Default)]
pub struct Controls {
    token: OnceLock<String>,
    listening_on: OnceLock<SocketAddr>,
    burst: Mutex<Option<Job>>,
    leak: Mutex<Option<Job>>,
    /// Burst and leak jobs: they stop when shutdown begins, and the drain
    /// waits for them ([`Controls::stopped`]).
    jobs: TaskTracker,
}

impl Controls {
    /// Requires `token` on every control request (from `--control-token`).
    pub fn require_token(&self, token: String) {
        let _ = self.token.set(token);
    }

    /// Where bursts are sent: this server's own address. An unspecified
    /// address (0.0.0.0) is reached through loopback.
    pub fn listening_on(&self, mut addr: SocketAddr) {
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                [127, 0, 0, 1].into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        let _ = self.listening_on.set(addr);
    }

    /// The running or the last burst.
    pub fn burst(&self) -> Option<JobSnapshot> {
        lock(&self.burst).as_ref().map(Job::snapshot)
    }

    /// The running or the last leak run.
    pub fn leak(&self) -> Option<JobSnapshot> {
        lock(&self.leak).as_ref().map(Job::snapshot)
    }

    /// Completes once every burst and leak job has stopped. They stop as soon
    /// as shutdown begins, so during a drain this is quick; it makes sure no
    /// job outlives the drain.
    pub async fn stopped(&self) {
        self.jobs.close();
        self.jobs.wait().await;
    }

    /// What the controls will do for this client, for the page to explain.
    pub fn access(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Access {
        match self.token.get() {
            Some(token) if supplied_token(headers).is_some_and(|t| same(t, token)) => {
                Access::Unlocked
            }
            Some(_) => Access::NeedsToken,
            None if peer.is_some_and(is_loopback) => Access::Local,
            None => Access::LocalOnly,
        }
    }

    // ANCHOR: admit
    /// Lets a control request through, or says why not.
    fn admit(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Result<(), AppError> {
        if is_cross_site(headers) {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "cross_site_request",
                "This control request came from another web site's page, so it was refused. \
                 Use the dashboard itself.",
            ));
        }
        match (self.token.get(), supplied_token(headers)) {
            (Some(token), Some(supplied)) if same(supplied, token) => Ok(()),
            (Some(_), Some(_)) => Err(AppError::new(
                StatusCode::FORBIDDEN,
                "control_token_wrong",
                "That is not the control token this server was started with \
                 (--control-token). Enter it again above the controls.",
            )),
            (Some(_), None) => Err(AppError::new(
                StatusCode::FORBIDDEN,
                "control_token_required",
                "The controls need the token this server was started with \
                 (--control-token). Enter it above the controls, then try again.",
            )),
            (None, _) if peer.is_some_and(is_loopback) => Ok(()),
            (None, _) => Err(AppError::new(
                StatusCode::FORBIDDEN,
                "controls_local_only",
                "The controls only answer from this machine (a browser on the computer \
                 running the playground). To allow others, start the playground with \
                 --control-token T, then enter the token on the page.",
            )),
        }
    }
    // ANCHOR_END: admit
}

/// What a client may do with the controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// On this machine, no token configured: the controls work.
    Local,
    /// Elsewhere, no token configured: refused.
    LocalOnly,
    /// A token is configured and this client has not given it.
    NeedsToken,
    /// A token is configured and this client has given it.
    Unlocked,
}

impl Access {
    pub fn allowed(self) -> bool {
        matches!(self, Access::Local | Access::Unlocked)
    }

    pub fn needs_token(self) -> bool {
        matches!(self, Access::NeedsToken | Access::Unlocked)
    }

    /// The sentence the page shows above the controls.
    pub fn explanation(self) -> &'static str {
        match self {
            Access::Local => "Controls answer only from this machine.",
            Access::LocalOnly => {
                "Controls only answer from this machine. To allow others, start the \
                 playground with --control-token T, then enter the token here."
            }
            Access::NeedsToken => {
                "This playground was started with --control-token: enter the token to \
                 use the controls."
            }
            Access::Unlocked => "Controls unlocked with the control token.",
        }
    }
}

/// Refuses control requests [`Controls::admit`] does not let through.
pub async fn guard(
    State(state): State<AppState>,
    asker: Asker,
    Peer(peer): Peer,
    request: Request,
    next: Next,
) -> Response {
    match state.controls.admit(request.headers(), peer) {
        Ok(()) => next.run(request).await,
        Err(refused) => Answer::new(asker, Err(refused)).into_response(),
    }
}

/// `POST /controls/burst`
pub async fn burst(
    State(state): State<AppState>,
    asker: Asker,
    form: Result<Form<BurstForm>, FormRejection>,
) -> Answer {
    Answer::new(
        asker,
        form.map_err(unreadable).and_then(|Form(form)| {
            let n = whole(
                "n",
                "Reports (N)",
                form.n,
                1..=MAX_BURST,
                " (bursts are capped there)",
            )?;
            let concurrency = whole(
                "concurrency",
                "Concurrency (C)",
                form.concurrency,
                1..=MAX_CONCURRENCY,
                "",
            )?;
            let design = Design::parse(form.design.as_deref())?;
            start_burst(&state, design, n as usize, concurrency as usize)
        }),
    )
}

/// `POST /controls/workers`
pub async fn workers(
    State(state): State<AppState>,
    asker: Asker,
    form: Result<Form<WorkersForm>, FormRejection>,
) -> Answer {
    Answer::new(
        asker,
        form.map_err(unreadable).and_then(|Form(form)| {
            let workers = whole("workers", "Workers", form.workers, 0..=MAX_WORKERS, "")?;
            state.set_workers(workers as usize);
            Ok(Done::ok(match workers {
                0 => "No workers now: nothing leaves the queue until you add some.".to_owned(),
                1 => "Now 1 worker.".to_owned(),
                n => format!("Now {n} workers."),
            }))
        }),
    )
}

/// `POST /controls/pause`: a simulated database outage.
pub async fn pause(State(state): State<AppState>, asker: Asker) -> Answer {
    state.set_paused(true);
    Answer::new(
        asker,
        Ok(Done::ok(
            "Workers paused (a simulated database outage): the queue fills, and when it \
             is full uploads get 503.",
        )),
    )
}

/// `POST /controls/resume`
pub async fn resume(State(state): State<AppState>, asker: Asker) -> Answer {
    state.set_paused(false);
    Answer::new(asker, Ok(Done::ok("Workers resumed: the queue drains.")))
}

/// `POST /controls/latency`
pub async fn latency(
    State(state): State<AppState>,
    asker: Asker,
    form: Result<Form<LatencyForm>, FormRejection>,
) -> Answer {
    Answer::new(
        asker,
        form.map_err(unreadable).and_then(|Form(form)| {
            let work_ms = whole("work_ms", "Latency (ms)", form.work_ms, 0..=MAX_WORK_MS, "")?;
            state.set_work_ms(work_ms);
            Ok(Done::ok(format!(
                "Each report now takes about {work_ms} ms in the pipeline ({} ms per slow stage).",
                work_ms / 3
            )))
        }),
    )
}

/// `POST /controls/leak`
pub async fn leak(
    State(state): State<AppState>,
    asker: Asker,
    form: Result<Form<LeakForm>, FormRejection>,
) -> Answer {
    Answer::new(
        asker,
        form.map_err(unreadable).and_then(|Form(form)| {
            let n = whole(
                "n",
                "Requests (N)",
                form.n,
                1..=MAX_LEAKS,
                " (capped there)",
            )?;
            let kind = match form.kind.as_deref().map(str::trim) {
                Some("leaky") => "leaky",
                Some("fixed") => "fixed",
                other => {
                    return Err(invalid(
                        "kind",
                        format!("kind must be leaky or fixed, not {other:?}."),
                    ));
                }
            };
            start_leak(&state, kind, n as usize)
        }),
    )
}

/// `POST /controls/shutdown`: what SIGTERM does. `main` sees the token fire,
/// drains, then stops HTTP, which ends the page's event stream.
pub async fn shutdown(State(state): State<AppState>, asker: Asker) -> Answer {
    let message = if state.is_shutting_down() {
        "Already shutting down."
    } else {
        tracing::info!("shutdown requested from the dashboard");
        state.begin_shutdown();
        "Shutting down: no new reports are taken, the queue drains, then the server stops."
    };
    Answer::new(
        asker,
        Ok(Done {
            status: StatusCode::ACCEPTED,
            message: message.to_owned(),
        }),
    )
}

/// `POST /controls/unlock`: checks the token and keeps it in a cookie, so
/// that the forms (which work without JavaScript) carry it from then on.
/// Outside the guard: it is how a client gets past it.
pub async fn unlock(
    State(state): State<AppState>,
    asker: Asker,
    form: Result<Form<UnlockForm>, FormRejection>,
) -> Response {
    let checked = form.map_err(unreadable).and_then(|Form(form)| {
        let Some(token) = state.controls.token.get() else {
            return Err(AppError::new(
                StatusCode::BAD_REQUEST,
                "no_control_token",
                "This playground was started without --control-token: the controls \
                 answer from this machine without one.",
            ));
        };
        let given = form.token.unwrap_or_default();
        if !same(given.trim(), token) {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "control_token_wrong",
                "That is not the control token this server was started with \
                 (--control-token).",
            ));
        }
        Ok(token.clone())
    });
    let (result, cookie) = match checked {
        Ok(token) => (
            Ok(Done::ok("Controls unlocked.")),
            // HttpOnly: scripts cannot read it. SameSite=Strict: another site's
            // page cannot make the browser send it.
            Some(format!(
                "{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
            )),
        ),
        Err(e) => (Err(e), None),
    };
    let mut response = Answer::new(asker, result).into_response();
    if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

fn start_burst(
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
    Ok(Done {
        status: StatusCode::ACCEPTED,
        message: format!(
            "Burst started: {} reports to {}, {concurrency} at a time.",
            grouped(n as u64),
            design.path()
        ),
    })
}

fn start_leak(state: &AppState, kind: &str, n: usize) -> Result<Done, AppError> {
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
    Ok(Done {
        status: StatusCode::ACCEPTED,
        message: format!("Sent {n} requests to /{kind}: {what_happens}."),
    })
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

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Which article's endpoint a burst goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Design {
    /// `/api/epros/upload`: the bounded queue.
    Queue,
    /// `/data/submit`: a task per request.
    FireAndForget,
}

impl Design {
    fn parse(value: Option<&str>) -> Result<Design, AppError> {
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
struct Job {
    label: String,
    total: usize,
    progress: Arc<Progress>,
    started: Instant,
    ended: Option<(Duration, Ended)>,
}

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

    fn snapshot(&self) -> JobSnapshot {
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

/// A control's success: a status and a sentence.
#[derive(Debug, Clone)]
pub struct Done {
    status: StatusCode,
    message: String,
}

impl Done {
    fn ok(message: impl Into<String>) -> Done {
        Done {
            status: StatusCode::OK,
            message: message.into(),
        }
    }
}

/// Who sent a control request, which decides the shape of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asker {
    /// A browser submitting a form without JavaScript: redirect to the page.
    Page,
    /// A script or a program: JSON.
    Program,
}

impl<S: Send + Sync> FromRequestParts<S> for Asker {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let wants_html = parts
            .headers
            .get_all(ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("text/html"));
        Ok(if wants_html {
            Asker::Page
        } else {
            Asker::Program
        })
    }
}

/// The client's address, when the server knows it (it does when served with
/// `into_make_service_with_connect_info`; router tests add `MockConnectInfo`).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // `ConnectInfo` also reads `MockConnectInfo`; missing, it is rejected,
        // and an unknown client is treated as not on this machine.
        let peer = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .ok()
            .map(|ConnectInfo(addr)| addr);
        Ok(Peer(peer))
    }
}

/// A control's answer, shaped for whoever asked.
pub struct Answer {
    asker: Asker,
    result: Result<Done, AppError>,
}

impl Answer {
    fn new(asker: Asker, result: Result<Done, AppError>) -> Answer {
        Answer { asker, result }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        match (self.asker, self.result) {
            (Asker::Program, Ok(done)) => {
                (done.status, Json(json!({ "message": done.message }))).into_response()
            }
            (Asker::Program, Err(error)) => error.into_response(),
            (Asker::Page, result) => {
                let flash = match result {
                    Ok(done) => Flash {
                        ok: true,
                        message: done.message,
                    },
                    Err(error) => Flash {
                        ok: false,
                        message: error.message().to_owned(),
                    },
                };
                (
                    StatusCode::SEE_OTHER,
                    [
                        (LOCATION, HeaderValue::from_static("/")),
                        (SET_COOKIE, flash.cookie()),
                    ],
                )
                    .into_response()
            }
        }
    }
}

/// A message for the page to show once, after a form's redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub ok: bool,
    pub message: String,
}

const FLASH_COOKIE: &str = "flash";
const TOKEN_COOKIE: &str = "control_token";

impl Flash {
    /// The flash a request carries, if any.
    pub fn read(headers: &HeaderMap) -> Option<Flash> {
        let value = cookie(headers, FLASH_COOKIE)?;
        let (kind, message) = value.split_once('.')?;
        Some(Flash {
            ok: kind == "ok",
            message: percent_decode(message)?,
        })
    }

    fn cookie(&self) -> HeaderValue {
        let kind = if self.ok { "ok" } else { "error" };
        let value = format!(
            "{FLASH_COOKIE}={kind}.{}; Path=/; Max-Age=60; HttpOnly; SameSite=Strict",
            percent_encode(&self.message)
        );
        // Percent-encoding leaves only ASCII letters, digits and `-._~%`.
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("flash="))
    }

    /// Clears the flash once the page has shown it.
    pub fn clear() -> HeaderValue {
        HeaderValue::from_static("flash=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict")
    }
}

/// The form fields, as strings: a bad value gets our message, not serde's.
#[derive(Debug, Deserialize)]
pub struct BurstForm {
    n: Option<String>,
    concurrency: Option<String>,
    design: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct WorkersForm {
    workers: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LatencyForm {
    work_ms: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LeakForm {
    n: Option<String>,
    kind: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct UnlockForm {
    token: Option<String>,
}

fn unreadable(rejection: FormRejection) -> AppError {
    AppError::new(
        rejection.status(),
        "invalid_form",
        format!(
            "The form could not be read ({}). Send it as application/x-www-form-urlencoded.",
            rejection.body_text()
        ),
    )
}

fn invalid(field: &str, message: String) -> AppError {
    AppError::new(StatusCode::BAD_REQUEST, "invalid_control", message).field(field)
}

/// A whole number in `range`, or a sentence saying what was wrong.
fn whole(
    field: &str,
    label: &str,
    value: Option<String>,
    range: RangeInclusive<u64>,
    cap_note: &str,
) -> Result<u64, AppError> {
    let text = value.unwrap_or_default();
    match text.trim().replace(['_', ','], "").parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ if text.trim().is_empty() => Err(invalid(
            field,
            format!(
                "{label} is missing: enter a whole number from {} to {}.",
                grouped(*range.start()),
                grouped(*range.end())
            ),
        )),
        _ => Err(invalid(
            field,
            format!(
                "{label} must be a whole number from {} to {}{cap_note}, not {:?}.",
                grouped(*range.start()),
                grouped(*range.end()),
                text.trim()
            ),
        )),
    }
}

/// `20000` as `20,000`.
pub fn grouped(n: u64) -> String {
    Grouped(n).to_string()
}

/// A count with thousands separators, for numbers read from across a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grouped(pub u64);

impl fmt::Display for Grouped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.to_string();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                f.write_str(",")?;
            }
            write!(f, "{digit}")?;
        }
        Ok(())
    }
}

fn is_loopback(addr: SocketAddr) -> bool {
    // An IPv6 socket sees IPv4 clients as ::ffff:127.0.0.1.
    addr.ip().to_canonical().is_loopback()
}

/// True if a browser says the request comes from another site's page.
fn is_cross_site(headers: &HeaderMap) -> bool {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if header("sec-fetch-site") == Some("cross-site") {
        return true;
    }
    match (header(ORIGIN.as_str()), header(HOST.as_str())) {
        // Browsers send Origin with every form POST; compare its host with ours.
        (Some(origin), Some(host)) => {
            let origin_host = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            origin_host != Some(host)
        }
        (Some(_), None) => true,
        // No Origin: not a browser's cross-site form (curl, tests, old browsers).
        (None, _) => false,
    }
}

/// The token a request carries: the header, else the cookie.
fn supplied_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-control-token")
        .and_then(|v| v.to_str().ok())
        .or_else(|| cookie(headers, TOKEN_COOKIE))
        .map(str::trim)
}

/// Compares in time that does not depend on where the first difference is,
/// so the token cannot be guessed a character at a time.
fn same(given: &str, token: &str) -> bool {
    given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// The value of cookie `name`, if the request has it.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Characters a cookie value may hold unencoded.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_messages_survive_the_cookie() {
        let message = "Now 12 workers; 100% \"sure\" — ok? 队列";
        let encoded = percent_encode(message);
        assert!(
            encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b))
        );
        assert_eq!(percent_decode(&encoded).as_deref(), Some(message));
        assert_eq!(percent_decode("%zz"), None);
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(20_000), "20,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn whole_numbers_outside_the_range_are_explained() {
        let n = |text: &str| whole("n", "Reports (N)", Some(text.into()), 1..=MAX_BURST, "");
        assert_eq!(n("500").unwrap(), 500);
        assert_eq!(n("20,000").unwrap(), 20_000);
        for bad in ["-1", "0", "1000000000", "ten", "2.5"] {
            let error = n(bad).unwrap_err();
            assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{bad}");
            assert!(
                error.message().contains("from 1 to 20,000"),
                "{bad}: {}",
                error.message()
            );
        }
    }

    #[test]
    fn loopback_includes_ipv4_mapped_ipv6() {
        assert!(is_loopback("127.0.0.1:1".parse().unwrap()));
        assert!(is_loopback("[::1]:1".parse().unwrap()));
        assert!(is_loopback("[::ffff:127.0.0.1]:1".parse().unwrap()));
        assert!(!is_loopback("203.0.113.7:1".parse().unwrap()));
    }
}

//! The live dashboard a trainer projects: `GET /`, kept up to date over
//! Server-Sent Events.
//!
//! ```text
//! GET /                      the page, rendered by askama (templates/dashboard.html)
//! GET /events                text/event-stream: every 250 ms an `update` event whose
//!                            data is the page's live fragments, rendered again
//! GET /assets/dashboard.css  the stylesheet  } both compiled into the binary:
//! GET /assets/dashboard.js   the script      } no CDN, works offline
//! ```
//!
//! Each live fragment (`templates/live/*.html`) is an element with an `id`.
//! The page includes them where they belong; `/events` sends them all in one
//! event, and the script swaps each into the page by its `id`. Without
//! JavaScript the page still shows every number as of its load.
//!
//! Everything a patient sent (report text, ids) goes through askama's HTML
//! escaping, which every `.html` template gets; nothing here is marked `|safe`.
//!
//! An event stream never ends by itself, and the server's graceful shutdown
//! (`edges/serve.rs`) waits for open responses to finish: one open dashboard would hold the process
//! up. So the stream is cut with `.take_until(state.http_stopping())`, the
//! token `main` fires after the drain, and ends with one last `stopped` event
//! telling the page the server has gone (so it does not reconnect).

pub mod controls;
pub mod history;
pub mod latest;

use std::convert::Infallible;
use std::fmt;
use std::time::Duration;

use askama::Template;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::sse::{Event, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use futures::stream::{self, Stream, StreamExt};
use tokio::time::{Instant, MissedTickBehavior};

use crate::AppState;
use crate::edges::error::AppError;
use crate::edges::stats::Stats;
use controls::{Access, Ended, Flash, Grouped, JobSnapshot, LEAK_TIMEOUT_MS, LEAK_WORK_MS, Peer};
use history::{Rates, Sample};
use latest::StoredReport;

/// How often `/events` sends the live fragments: four times a second.
pub const EVENT_EVERY: Duration = Duration::from_millis(250);

// ANCHOR: queue_levels
/// The queue gauge turns amber at this fill...
const QUEUE_AMBER_PERCENT: f64 = 75.0;
/// ...and red at this one.
const QUEUE_RED_PERCENT: f64 = 90.0;
// ANCHOR_END: queue_levels

// ANCHOR: security_headers
/// The page's `Content-Security-Policy`. It runs only its own script,
/// stylesheet and event stream (`default-src 'self'`: no inline script or
/// style, nothing from elsewhere); its forms post only here; and no page may
/// frame it (`frame-ancestors 'none'`). Framed by another site, sandboxed so
/// that its confirm dialog never shows, the dashboard's "Drain and shut down"
/// was one disguised click away from stopping the server.
pub const CONTENT_SECURITY_POLICY: &str = concat!(
    "default-src 'self'; base-uri 'none'; ",
    "form-action 'self'; frame-ancestors 'none'"
);

// ANCHOR_END: security_headers

/// `value` for HTML responses, nothing for the others: what tower-http's
/// `SetResponseHeaderLayer` puts in a header (see `app` in `lib.rs`).
pub fn on_html(value: &'static str) -> impl Fn(&Response) -> Option<HeaderValue> + Clone {
    move |response| {
        let content_type = response.headers().get(CONTENT_TYPE)?.to_str().ok()?;
        content_type
            .starts_with("text/html")
            .then(|| HeaderValue::from_static(value))
    }
}

/// `GET /`
pub async fn page(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    jar: CookieJar,
) -> Result<Response, AppError> {
    // Shown once: the jar that comes back clears it.
    let (jar, flash) = Flash::take(jar);
    let page = Page {
        live: Live::read(&state, false),
        access: state.controls.access(&headers, peer),
        flash,
        limits: Limits::default(),
    };
    let html = page.render().map_err(render_failed)?;
    Ok((jar, [(CACHE_CONTROL, "no-store")], Html(html)).into_response())
}

// ANCHOR: events
/// `GET /events`: the live fragments, every [`EVENT_EVERY`], until HTTP stops.
pub async fn events(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut tick = tokio::time::interval(EVENT_EVERY);
    // A client that reads slowly gets the latest numbers, not a backlog.
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let ticks = stream::unfold(tick, |mut tick| async move {
        tick.tick().await;
        Some(((), tick))
    });

    let live_state = state.clone();
    let updates = ticks
        .filter_map(move |()| std::future::ready(fragments(&live_state, false)))
        .map(|html| Event::default().event("update").data(html))
        // Ends the stream, and so the response, when HTTP stops.
        .take_until(state.http_stopping());
    let goodbye = stream::once(async move {
        let html = fragments(&state, true).unwrap_or_default();
        Event::default().event("stopped").data(html)
    });
    Sse::new(updates.chain(goodbye).map(Ok))
}
// ANCHOR_END: events

/// `GET /assets/dashboard.css`
pub async fn stylesheet() -> impl IntoResponse {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../assets/dashboard.css"),
    )
}

/// `GET /assets/dashboard.js`
pub async fn script() -> impl IntoResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../assets/dashboard.js"),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    // `no-cache`: the browser checks again, so a rebuilt binary's assets show.
    (
        [(CONTENT_TYPE, content_type), (CACHE_CONTROL, "no-cache")],
        body,
    )
}

/// Every live fragment, rendered for one event.
fn fragments(state: &AppState, stopped: bool) -> Option<String> {
    let fragments = Fragments {
        live: Live::read(state, stopped),
    };
    match fragments.render() {
        Ok(html) => Some(html),
        Err(e) => {
            tracing::error!("rendering the dashboard fragments: {e}");
            None
        }
    }
}

fn render_failed(e: askama::Error) -> AppError {
    tracing::error!("rendering the dashboard: {e}");
    AppError::internal("rendering the dashboard")
}

/// The whole page.
#[derive(Template)]
#[template(path = "dashboard.html")]
struct Page {
    live: Live,
    access: Access,
    flash: Option<Flash>,
    limits: Limits,
}

/// The live fragments alone: the data of one `/events` event.
#[derive(Template)]
#[template(path = "live.html")]
struct Fragments {
    live: Live,
}

/// The controls' limits, as the forms state them.
struct Limits {
    burst: u64,
    burst_text: Grouped,
    concurrency: u64,
    workers: u64,
    work_ms: u64,
    work_ms_text: Grouped,
    leaks: u64,
    leak_timeout_s: u64,
    leak_work_s: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            burst: controls::MAX_BURST,
            burst_text: Grouped(controls::MAX_BURST),
            concurrency: controls::MAX_CONCURRENCY,
            workers: controls::MAX_WORKERS,
            work_ms: controls::MAX_WORK_MS,
            work_ms_text: Grouped(controls::MAX_WORK_MS),
            leaks: controls::MAX_LEAKS,
            leak_timeout_s: LEAK_TIMEOUT_MS / 1000,
            leak_work_s: LEAK_WORK_MS / 1000,
        }
    }
}

/// Everything the live fragments show, read at one moment.
struct Live {
    stats: Stats,
    counts: Counts,
    queue: QueueGauge,
    inbox: QueueGauge,
    commits: CommitTexts,
    idle: usize,
    rates: RateTexts,
    /// True with `--intake durable`.
    durable: bool,
    queue_line: Sparkline,
    tasks_line: Sparkline,
    burst: Option<JobView>,
    leak: Option<JobView>,
    reports: Vec<ReportRow>,
    alerts: Vec<ReportRow>,
    phase: Phase,
}

impl Live {
    fn read(state: &AppState, stopped: bool) -> Live {
        let stats = state.stats();
        let samples = state.history.samples();
        let rates = Rates::between(&samples, &Sample::of(&stats, Instant::now()));
        Live {
            counts: Counts::of(&stats),
            queue: QueueGauge::new(stats.queued, stats.capacity),
            inbox: QueueGauge::new(stats.inbox, stats.inbox_capacity),
            commits: CommitTexts::new(&stats, &rates),
            idle: stats.workers.saturating_sub(stats.busy),
            rates: RateTexts::from(rates),
            durable: stats.intake == crate::Intake::Durable.as_str(),
            queue_line: Sparkline::new(
                samples.iter().map(|s| s.queued),
                stats.capacity,
                format!("capacity {}", Grouped(stats.capacity as u64)),
            ),
            tasks_line: {
                let peak = samples.iter().map(|s| s.tasks).max().unwrap_or(0);
                // Head room above the peak, so the line never runs along the top.
                let top = (peak * 5 / 4).max(10);
                let label = format!("peak {}", Grouped(peak as u64));
                Sparkline::new(samples.iter().map(|s| s.tasks), top, label)
            },
            burst: state.controls.burst().map(JobView::from),
            leak: state.controls.leak().map(JobView::from),
            reports: state.latest.reports().iter().map(ReportRow::from).collect(),
            alerts: state.latest.alerts().iter().map(ReportRow::from).collect(),
            phase: Phase::of(state, &stats, stopped),
            stats,
        }
    }
}

/// The counters, with thousands separators.
struct Counts {
    accepted: Grouped,
    rejected: Grouped,
    refused_shutting_down: Grouped,
    stored: Grouped,
    flagged: Grouped,
    fire_and_forget: Grouped,
    fire_and_forget_in_flight: Grouped,
    tasks: Grouped,
    leaked: Grouped,
}

impl Counts {
    fn of(s: &Stats) -> Counts {
        Counts {
            accepted: Grouped(s.accepted),
            rejected: Grouped(s.rejected),
            refused_shutting_down: Grouped(s.refused_shutting_down),
            stored: Grouped(s.stored),
            flagged: Grouped(s.flagged),
            fire_and_forget: Grouped(s.fire_and_forget_accepted),
            fire_and_forget_in_flight: Grouped(s.fire_and_forget_in_flight as u64),
            tasks: Grouped(s.tasks as u64),
            leaked: Grouped(s.leaked),
        }
    }
}

/// The queue as a bar: how full, and what colour.
struct QueueGauge {
    depth: Grouped,
    capacity: Grouped,
    /// 0 to 100, for the bar's width.
    percent: String,
    /// `ok`, `warn` (amber) or `full` (red): a CSS class.
    level: &'static str,
}

impl QueueGauge {
    fn new(depth: usize, capacity: usize) -> QueueGauge {
        let percent = 100.0 * depth as f64 / capacity.max(1) as f64;
        QueueGauge {
            depth: Grouped(depth as u64),
            capacity: Grouped(capacity as u64),
            percent: format!("{percent:.1}"),
            level: if percent >= QUEUE_RED_PERCENT {
                "full"
            } else if percent >= QUEUE_AMBER_PERCENT {
                "warn"
            } else {
                "ok"
            },
        }
    }
}

/// What the database's commits carry, as the inbox card shows it.
struct CommitTexts {
    /// Reports per commit over the last few seconds, or `–` without a commit.
    recent_per_commit: String,
    /// The same since the start.
    mean_per_commit: String,
    commits: Grouped,
    fsyncs: Grouped,
    commits_rate: PerSecond,
    fsyncs_rate: PerSecond,
    recovered: Grouped,
}

impl CommitTexts {
    fn new(stats: &Stats, rates: &Rates) -> CommitTexts {
        CommitTexts {
            recent_per_commit: rates
                .reports_per_commit
                .map_or_else(|| "–".to_owned(), |n| format!("{n:.1}")),
            mean_per_commit: format!("{:.1}", stats.reports_per_commit),
            commits: Grouped(stats.commits),
            fsyncs: Grouped(stats.fsyncs),
            commits_rate: PerSecond(rates.commits),
            fsyncs_rate: PerSecond(rates.fsyncs),
            recovered: Grouped(stats.recovered),
        }
    }
}

/// Rates per second, as shown.
struct RateTexts {
    accepted: PerSecond,
    rejected: PerSecond,
    stored: PerSecond,
    flagged: PerSecond,
    fire_and_forget: PerSecond,
}

impl From<Rates> for RateTexts {
    fn from(r: Rates) -> Self {
        RateTexts {
            accepted: PerSecond(r.accepted),
            rejected: PerSecond(r.rejected),
            stored: PerSecond(r.stored),
            flagged: PerSecond(r.flagged),
            fire_and_forget: PerSecond(r.fire_and_forget),
        }
    }
}

/// `1,234/s`, `2.5/s`, `0/s`.
struct PerSecond(f64);

impl fmt::Display for PerSecond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 > 0.0 && self.0 < 10.0 {
            write!(f, "{:.1}/s", self.0)
        } else {
            write!(f, "{}/s", Grouped(self.0.round() as u64))
        }
    }
}

/// The last minute as an SVG polyline in a 300 × 60 box, newest on the right.
struct Sparkline {
    /// `x,y x,y ...` for `<polyline points>`.
    line: String,
    /// The same, closed along the bottom, for the shaded area.
    area: String,
    /// What the top of the box means (`capacity 1,024`, `peak 57`).
    top_label: String,
}

const SPARK_WIDTH: f64 = 300.0;
const SPARK_HEIGHT: f64 = 60.0;

impl Sparkline {
    fn new(
        values: impl ExactSizeIterator<Item = usize>,
        top: usize,
        top_label: String,
    ) -> Sparkline {
        let n = values.len();
        let step = SPARK_WIDTH / (history::SLOTS - 1) as f64;
        let points: Vec<(f64, f64)> = values
            .enumerate()
            .map(|(i, v)| {
                // Right-aligned: during the first minute the line grows leftwards.
                let x = (history::SLOTS - n + i) as f64 * step;
                let fill = (v as f64 / top.max(1) as f64).min(1.0);
                // A pixel of margin, so a line at 0 or at the top stays visible.
                let y = 1.0 + (SPARK_HEIGHT - 2.0) * (1.0 - fill);
                (x, y)
            })
            .collect();
        let line = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect::<Vec<_>>()
            .join(" ");
        let area = match (points.first(), points.last()) {
            (Some((first, _)), Some((last, _))) if n > 1 => {
                format!("{line} {last:.1},{SPARK_HEIGHT} {first:.1},{SPARK_HEIGHT}")
            }
            _ => String::new(),
        };
        Sparkline {
            line,
            area,
            top_label,
        }
    }
}

/// A burst or leak run, as its panel shows it.
struct JobView {
    label: String,
    done: Grouped,
    total: Grouped,
    percent: String,
    accepted: Grouped,
    unavailable: Grouped,
    other: Grouped,
    any_other: bool,
    errors: Grouped,
    any_errors: bool,
    running: bool,
    status: String,
    /// Requests finished per second so far.
    rate: String,
}

impl From<JobSnapshot> for JobView {
    fn from(job: JobSnapshot) -> Self {
        let seconds = job.elapsed.as_secs_f64();
        let status = match &job.ended {
            None => format!("running for {seconds:.1} s"),
            Some(Ended::Finished) => format!("finished in {seconds:.1} s"),
            Some(Ended::StoppedForShutdown) => {
                format!("stopped after {seconds:.1} s: the server is shutting down")
            }
            Some(Ended::Failed(why)) => format!("failed after {seconds:.1} s: {why}"),
        };
        JobView {
            rate: format!(
                "{} requests/s",
                Grouped((job.done as f64 / seconds.max(0.001)).round() as u64)
            ),
            percent: format!("{:.1}", 100.0 * job.done as f64 / job.total.max(1) as f64),
            label: job.label,
            done: Grouped(job.done as u64),
            total: Grouped(job.total as u64),
            accepted: Grouped(job.accepted as u64),
            unavailable: Grouped(job.unavailable as u64),
            other: Grouped(job.other as u64),
            any_other: job.other > 0,
            errors: Grouped(job.errors as u64),
            any_errors: job.errors > 0,
            running: job.ended.is_none(),
            status,
        }
    }
}

/// A stored report, as the tables list it. Patient text: escaped by askama.
struct ReportRow {
    time: String,
    patient_id: String,
    trial_id: String,
    excerpt: String,
    score: u32,
    flagged: bool,
    reasons: String,
}

impl From<&StoredReport> for ReportRow {
    fn from(report: &StoredReport) -> Self {
        ReportRow {
            time: clock_utc(report.received_at_ms),
            patient_id: report.patient_id.clone(),
            trial_id: report.trial_id.clone(),
            excerpt: report.excerpt.clone(),
            score: report.risk_score,
            flagged: report.flagged,
            reasons: report.reasons.join(", "),
        }
    }
}

/// `08:30:05`, UTC, from milliseconds since the Unix epoch.
fn clock_utc(ms: i64) -> String {
    let seconds_today = ms.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}",
        seconds_today / 3600,
        seconds_today % 3600 / 60,
        seconds_today % 60
    )
}

/// What the service is doing, for the banner at the top.
struct Phase {
    /// `running`, `paused`, `draining` or `stopped`: a CSS class.
    class: &'static str,
    title: String,
    detail: String,
}

impl Phase {
    fn of(state: &AppState, stats: &Stats, stopped: bool) -> Phase {
        // In flight = queued + held by a worker + fire-and-forget tasks; the
        // banner lists the three apart, so count each report once.
        let pipeline = stats
            .in_flight
            .saturating_sub(stats.queued + stats.fire_and_forget_in_flight);
        if stopped {
            let detail = match state.drained.get() {
                Some(drained) => {
                    let summary = state.summary(*drained);
                    let in_inbox = match summary.in_inbox {
                        0 => String::new(),
                        n => format!(
                            " {} stay in the inbox for the next start.",
                            Grouped(n as u64)
                        ),
                    };
                    format!(
                        "Accepted {}, stored {}, lost {}.{in_inbox} This page no longer \
                         updates; start the playground again and reload.",
                        Grouped(summary.accepted),
                        Grouped(summary.stored),
                        summary.lost()
                    )
                }
                None => {
                    "This page no longer updates; start the playground again and reload.".to_owned()
                }
            };
            return Phase {
                class: "stopped",
                title: "The server has stopped".to_owned(),
                detail,
            };
        }
        if stats.shutting_down {
            let clock = match (state.drain_clock.get(), state.drained.get()) {
                (_, Some(drained)) if drained.deadline_passed => format!(
                    "Stopped waiting after {:.1} s: the reports not stored are listed in the log.",
                    drained.took.as_secs_f64()
                ),
                (_, Some(drained)) => format!(
                    "Drained in {:.1} s: stopping HTTP.",
                    drained.took.as_secs_f64()
                ),
                (Some(clock), None) => format!(
                    "{:.1} s of the {} s deadline.",
                    clock.started.elapsed().as_secs_f64(),
                    clock.deadline.as_secs()
                ),
                (None, None) => String::new(),
            };
            let paused = if stats.paused {
                " The workers are paused: resume them, or the drain waits for its deadline."
            } else {
                ""
            };
            return Phase {
                class: "draining",
                title: "Shutting down: draining".to_owned(),
                detail: format!(
                    "{} queued, {} in the pipeline, {} fire-and-forget tasks. {clock}{paused}",
                    Grouped(stats.queued as u64),
                    Grouped(pipeline as u64),
                    Grouped(stats.fire_and_forget_in_flight as u64),
                ),
            };
        }
        if stats.paused {
            return Phase {
                class: "paused",
                title: "Workers paused: database outage".to_owned(),
                detail: "Nothing leaves the queue. When it is full, uploads get 503.".to_owned(),
            };
        }
        Phase {
            class: "running",
            title: "Running".to_owned(),
            detail: format!(
                "{} intake, {} workers, a queue of {}, {} ms per report.",
                stats.intake,
                stats.workers,
                Grouped(stats.capacity as u64),
                stats.work_ms
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_gauge_turns_amber_then_red() {
        assert_eq!(QueueGauge::new(0, 100).level, "ok");
        assert_eq!(QueueGauge::new(74, 100).level, "ok");
        assert_eq!(QueueGauge::new(75, 100).level, "warn");
        assert_eq!(QueueGauge::new(90, 100).level, "full");
        assert_eq!(QueueGauge::new(100, 100).percent, "100.0");
    }

    #[test]
    fn sparklines_are_right_aligned_and_scaled_to_the_top() {
        let line = Sparkline::new([0, 50, 100].into_iter(), 100, String::new());
        assert_eq!(line.line, "289.8,59.0 294.9,30.0 300.0,1.0");
        assert_eq!(line.area, format!("{} 300.0,60 289.8,60", line.line));
        assert_eq!(Sparkline::new([].into_iter(), 10, String::new()).area, "");
    }

    #[test]
    fn rates_read_well() {
        assert_eq!(PerSecond(0.0).to_string(), "0/s");
        assert_eq!(PerSecond(2.54).to_string(), "2.5/s");
        assert_eq!(PerSecond(1234.4).to_string(), "1,234/s");
    }

    #[test]
    fn clock_is_utc_time_of_day() {
        // 2024-05-13T08:30:05Z
        assert_eq!(clock_utc(1_715_589_005_000), "08:30:05");
    }
}

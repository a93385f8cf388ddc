//! The controls' forms and answers.
//!
//! Bodies are form-encoded (`curl -d n=500`), as an HTML form sends them;
//! each field is read as a string, so a bad value gets our sentence, not
//! serde's. The answer depends on who asks. A browser submitting a form (its
//! `Accept` names `text/html`) gets `303 See Other` back to `/`, with the
//! message in a one-shot cookie the page shows once: the controls work
//! without JavaScript. Anyone else (the page's own script, curl, tests) gets
//! JSON: `{"message"}` on success, the usual [`AppError`] body on failure.

use std::ops::RangeInclusive;

use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, FromRequestParts, State};
use axum::http::header::{ACCEPT, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;
use serde_json::json;

use super::jobs::{self, Design};
use super::{MAX_BURST, MAX_CONCURRENCY, MAX_LEAKS, MAX_WORK_MS, MAX_WORKERS, grouped};
use crate::AppState;
use crate::edges::error::AppError;

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
            jobs::start_burst(&state, design, n as usize, concurrency as usize)
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
            jobs::start_leak(&state, kind, n as usize)
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
    Answer::new(asker, Ok(Done::accepted(message)))
}

/// `POST /controls/crash`: what a power cut, an out-of-memory kill or
/// `kill -9` does. The process aborts on the spot: no drain, no summary, no
/// answer to this request. What survives is what was on disk: with the
/// durable intake, every report answered 202; with the memory queue, only
/// those already stored.
pub async fn crash(State(state): State<AppState>) -> Answer {
    let stats = state.stats();
    tracing::warn!(
        queued = stats.queued,
        inbox = stats.inbox,
        "crash requested from the dashboard: aborting now"
    );
    std::process::abort()
}

/// A control's success: a status and a sentence.
#[derive(Debug, Clone)]
pub struct Done {
    status: StatusCode,
    message: String,
}

impl Done {
    pub(super) fn ok(message: impl Into<String>) -> Done {
        Done {
            status: StatusCode::OK,
            message: message.into(),
        }
    }

    /// 202: started, and going on after this answer.
    pub(super) fn accepted(message: impl Into<String>) -> Done {
        Done {
            status: StatusCode::ACCEPTED,
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

/// A control's answer, shaped for whoever asked.
pub struct Answer {
    asker: Asker,
    result: Result<Done, AppError>,
}

impl Answer {
    pub(super) fn new(asker: Asker, result: Result<Done, AppError>) -> Answer {
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
                    CookieJar::new().add(flash.cookie()),
                    [(LOCATION, HeaderValue::from_static("/"))],
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

impl Flash {
    /// The flash a request carries, if any, and the jar that clears it: the
    /// page shows it once, and a reload does not show it again.
    pub fn take(jar: CookieJar) -> (CookieJar, Option<Flash>) {
        let flash = jar.get(FLASH_COOKIE).and_then(|cookie| {
            let (kind, message) = cookie.value().split_once('.')?;
            Some(Flash {
                ok: kind == "ok",
                message: message.to_owned(),
            })
        });
        // A removal cookie, sent only if the request had one.
        let jar = jar.remove(Cookie::build(FLASH_COOKIE).path("/"));
        (jar, flash)
    }

    /// `ok.Now 5 workers.`, percent-encoded by the jar on its way out.
    fn cookie(self) -> Cookie<'static> {
        let kind = if self.ok { "ok" } else { "error" };
        Cookie::build((FLASH_COOKIE, format!("{kind}.{}", self.message)))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .build()
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

pub(super) fn unreadable(rejection: FormRejection) -> AppError {
    AppError::new(
        rejection.status(),
        "invalid_form",
        format!(
            "The form could not be read ({}). Send it as application/x-www-form-urlencoded.",
            rejection.body_text()
        ),
    )
}

pub(super) fn invalid(field: &str, message: String) -> AppError {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn flash_messages_survive_the_cookie() {
        let message = "Now 12 workers; 100% \"sure\" — ok? 队列";
        let flash = Flash {
            ok: true,
            message: message.to_owned(),
        };
        let sent = flash.cookie().encoded().to_string();
        let value = sent.split(';').next().unwrap();
        assert!(
            value.is_ascii() && !value.contains([' ', '"', ',']),
            "{value}"
        );
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("cookie", value.parse().unwrap());
        let (_, read) = Flash::take(CookieJar::from_headers(&headers));
        assert_eq!(read.map(|f| f.message).as_deref(), Some(message));
    }
}

//! The first article's design: check the body, put the report in a bounded
//! queue, answer `202 Accepted` at once.
//!
//! ```text
//! POST /api/epros/upload  {"patientId", "trialId", "reportData"}
//!   202 {"id", "status": "queued", "statusUrl"}   in the queue
//!   503 queue_full    + Retry-After               the queue is full: nothing saved
//!   503 shutting_down + Retry-After               draining before exit
//!   4xx {"code", "message", "field"}              bad input (see `EproUpload`)
//! GET /api/epros/{id}
//!   200 {"id", "status"}   queued | processing | stored | flagged
//!   404 not_found
//! ```
//!
//! With `--intake memory` the queue is a tokio channel, as in the article;
//! with `--intake durable` the upload is first committed to the database's
//! inbox (`durable.rs`), and the 202 waits for that.
//!
//! The accept path is the hot path: it takes no lock across an `.await` and
//! does no database work. `try_send` is the article's `select` with a
//! `default:` branch: if the queue has room the report goes in, if not the
//! client hears so immediately instead of hanging.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::error::TrySendError;

use crate::designs::durable;
use crate::edges::error::AppError;
use crate::edges::serve;
use crate::edges::stats::Counters;
use crate::pipeline::deidentify;
use crate::pipeline::report::{EproUpload, Report, ReportId, Status};
use crate::{AppState, Intake};

/// Largest request body accepted (413 above it).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest `patientId` / `trialId`, in characters.
pub const MAX_ID_CHARS: usize = 64;
/// Longest `reportData`, in bytes of UTF-8.
pub const MAX_REPORT_BYTES: usize = 32 * 1024;

// ANCHOR: upload
/// `POST /api/epros/upload`
pub async fn upload(State(state): State<AppState>, upload: Upload) -> Accepted {
    let Upload(upload) = upload;
    if state.is_shutting_down() {
        Counters::bump(&state.counters.refused_shutting_down);
        return Err(AppError::shutting_down());
    }
    // The third design: on disk before the 202 (designs/durable.rs).
    if state.intake() == Intake::Durable {
        return durable::accept(&state, upload).await;
    }
    let report = Report::new(upload);
    let id = report.id;
    // Recorded before the send, so a worker that picks the report up at once
    // finds it here and moves it on to `processing`.
    state.in_flight.set(id, Status::Queued);
    match state.queue.try_send(report) {
        Ok(()) => {
            Counters::bump(&state.counters.accepted);
            Ok(Queued(id))
        }
        Err(TrySendError::Full(_)) => {
            state.in_flight.remove(id);
            Counters::bump(&state.counters.rejected);
            Err(AppError::queue_full(state.capacity()))
        }
        // The workers closed the queue: shutdown began after the check above.
        Err(TrySendError::Closed(_)) => {
            state.in_flight.remove(id);
            Counters::bump(&state.counters.refused_shutting_down);
            Err(AppError::shutting_down())
        }
    }
}
// ANCHOR_END: upload

/// `GET /api/epros/{id}`
pub async fn status(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<StatusBody>, AppError> {
    let unknown = || AppError::not_found("No report has this id.");
    let id: ReportId = id
        .map_err(|_| unknown())?
        .0
        .parse()
        .map_err(|_| unknown())?;
    // In flight (queued, in memory or in the inbox, or being processed):
    // memory knows. Otherwise ask the database thread for a stored report.
    if let Some(status) = state.in_flight.get(id) {
        return Ok(Json(StatusBody { id, status }));
    }
    match state.db.lookup(id).await {
        Ok(Some(status)) => Ok(Json(StatusBody { id, status })),
        Ok(None) => Err(unknown()),
        Err(e) => {
            tracing::error!(%id, "status lookup failed: {e:#}");
            Err(AppError::internal("looking up the report"))
        }
    }
}

/// What an upload hears: 202 with its status URL, or why not.
pub type Accepted = Result<Queued, AppError>;

/// A 202 for the report with this id:
/// `{"id":"…","status":"queued","statusUrl":"/api/epros/…"}`.
///
/// Written by hand rather than by serde: it is the answer to every upload,
/// a UUID never needs escaping, and serde_json's escaping scan of the three
/// strings cost more than everything else this body needs.
#[derive(Debug, Clone, Copy)]
pub struct Queued(pub ReportId);

impl Queued {
    pub fn body(self) -> String {
        let mut id = [0; 36];
        let id = self.0.encode(&mut id);
        // 7 + 36 + 43 + 36 + 2 bytes: the whole body, without growing.
        let mut body = String::with_capacity(124);
        for part in [
            r#"{"id":""#,
            id,
            r#"","status":"queued","statusUrl":"/api/epros/"#,
            id,
            r#""}"#,
        ] {
            body.push_str(part);
        }
        body
    }
}

impl IntoResponse for Queued {
    fn into_response(self) -> Response {
        let json = HeaderValue::from_static("application/json");
        (StatusCode::ACCEPTED, [(CONTENT_TYPE, json)], self.body()).into_response()
    }
}

#[derive(Debug, Serialize)]
pub struct StatusBody {
    pub id: ReportId,
    pub status: Status,
}

/// The body as sent, before checking. Every field is optional here so that a
/// missing field gets our own error (with its name), not serde's.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawUpload {
    patient_id: Option<String>,
    trial_id: Option<String>,
    report_data: Option<String>,
}

/// `EproUpload` is an extractor: a handler that takes one gets a checked upload
/// or never runs. Every way a body can be wrong maps to one `AppError`:
///
/// | problem | status | code |
/// | --- | --- | --- |
/// | Content-Type not JSON | 415 | `unsupported_media_type` |
/// | body over 64 KiB | 413 | `body_too_large` |
/// | empty body | 400 | `empty_body` |
/// | not JSON, truncated, trailing bytes | 400 | `invalid_json` |
/// | JSON but not an object | 422 | `not_an_object` |
/// | a field of the wrong type | 422 | `wrong_type` |
/// | a field twice | 422 | `duplicate_field` |
/// | a field missing or null | 422 | `missing_field` |
/// | a field empty, blank or invisible | 422 | `empty_field` |
/// | a field too long | 422 | `field_too_long` |
/// | an id with other than letters, digits, `-`, `_` | 422 | `invalid_field` |
/// | an id that is a phone/ID number/e-mail | 422 | `pii_in_identifier` |
impl<S: Send + Sync> FromRequest<S> for EproUpload {
    type Rejection = AppError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(not_json());
        }
        // The router's `read_body` layer has read the whole body already,
        // within the limit and the client timeout: this takes what it buffered
        // (still refusing more than the limit, should it ever be missing).
        let limited = Limited::new(req.into_body(), MAX_BODY_BYTES);
        let body = limited.collect().await.map_err(|e| {
            if e.is::<LengthLimitError>() {
                AppError::body_too_large()
            } else {
                AppError::new(
                    StatusCode::BAD_REQUEST,
                    "unreadable_body",
                    "The request body could not be read.",
                )
            }
        })?;
        let body = body.to_bytes();
        parse(&body)
    }
}

/// The upload route's extractor: what [`EproUpload`] checks, with the body
/// read at the door as every other route's is by `serve::read_body` (all of
/// it, within the client timeout, 413 for a `Content-Length` over the limit
/// before reading any), but here, not in a layer: the layer cost the hot
/// path a boxed service, a boxed future and a second copy of the body.
pub struct Upload(pub EproUpload);

impl FromRequest<AppState> for Upload {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let body = serve::read_whole(&parts.headers, body, state.client_timeout()).await?;
        if !is_json(&parts.headers) {
            return Err(not_json().into_response());
        }
        parse(&body)
            .map(Upload)
            .map_err(IntoResponse::into_response)
    }
}

fn not_json() -> AppError {
    AppError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "Send the report as JSON, with the header Content-Type: application/json.",
    )
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    // "application/json", "application/json; charset=utf-8", "application/x+json",
    // in any case (compared as it is, without a lowercase copy).
    let essence = value.split(';').next().unwrap_or("").trim();
    let has = |at: usize, part: &str| {
        essence
            .get(at..at + part.len())
            .is_some_and(|text| text.eq_ignore_ascii_case(part))
    };
    let (kind, json) = ("application/", "+json");
    essence.eq_ignore_ascii_case("application/json")
        || (essence.len() >= kind.len() + json.len()
            && has(0, kind)
            && has(essence.len() - json.len(), json))
}

/// Parses and checks a body. Public so the benchmark's parse-only handler can
/// do exactly the same work.
pub fn parse(body: &[u8]) -> Result<EproUpload, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::new(
            StatusCode::BAD_REQUEST,
            "empty_body",
            "The request body is empty; send a JSON object with patientId, trialId and reportData.",
        ));
    }
    // serde would happily read `["S1", "T1", "text"]` into the struct, field
    // by field: only an object is an upload.
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                Ok(_) => AppError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "not_an_object",
                    "The body must be a JSON object with patientId, trialId and reportData.",
                ),
                Err(e) => invalid_json(&e),
            },
        );
    }
    let mut json = serde_json::Deserializer::from_slice(body);
    // Most uploads are well formed: read them at full speed, and only for
    // one that is not, read it again to find where.
    let raw = match RawUpload::deserialize(&mut json) {
        Ok(raw) => raw,
        Err(_) => return Err(wrong_at(body)),
    };
    // Trailing bytes after the object (`{...} x`) are not JSON either.
    json.end().map_err(|e| invalid_json(&e))?;

    let patient_id = check_id("patientId", raw.patient_id)?;
    let trial_id = check_id("trialId", raw.trial_id)?;
    let report_data = required("reportData", raw.report_data)?;
    if report_data.len() > MAX_REPORT_BYTES {
        return Err(too_long(
            "reportData",
            format!("{} bytes", report_data.len()),
            format!("{MAX_REPORT_BYTES} bytes"),
        ));
    }
    Ok(EproUpload {
        patient_id,
        trial_id,
        report_data,
    })
}

/// Why `body`, a JSON object that did not read as an upload, did not: read
/// again with serde_path_to_error, which remembers where in the document the
/// error happened, so "expected a string" can say *which* field.
fn wrong_at(body: &[u8]) -> AppError {
    let mut json = serde_json::Deserializer::from_slice(body);
    let Err(e) = serde_path_to_error::deserialize::<_, RawUpload>(&mut json) else {
        // Not reached: the same bytes cannot read both ways.
        return AppError::internal("reading the upload");
    };
    let field = e.path().to_string();
    let inner = e.into_inner();
    if !inner.is_data() {
        invalid_json(&inner)
    } else if inner.to_string().starts_with("duplicate field") {
        AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "duplicate_field",
            format!("The body has a field twice: {inner}."),
        )
    } else {
        AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_type",
            format!("{field} must be a string."),
        )
        .field(field)
    }
}

fn invalid_json(error: &serde_json::Error) -> AppError {
    AppError::new(
        StatusCode::BAD_REQUEST,
        "invalid_json",
        format!("The body is not valid JSON: {error}."),
    )
}

fn unprocessable(code: &'static str, field: &str, message: String) -> AppError {
    AppError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).field(field)
}

fn required(field: &str, value: Option<String>) -> Result<String, AppError> {
    let Some(value) = value else {
        return Err(unprocessable(
            "missing_field",
            field,
            format!("{field} is missing (or null)."),
        ));
    };
    // Spaces, NULs, control and invisible characters alone are still empty.
    if deidentify::is_blank(&value) {
        return Err(unprocessable(
            "empty_field",
            field,
            format!("{field} is empty."),
        ));
    }
    Ok(value)
}

fn too_long(field: &str, actual: String, limit: String) -> AppError {
    unprocessable(
        "field_too_long",
        field,
        format!("{field} is {actual} long; the limit is {limit}."),
    )
}

/// Patient and trial ids are pseudonyms such as `SUBJ-0042`: they are stored
/// as sent, so they must not be a phone number or an ID number.
fn check_id(field: &str, value: Option<String>) -> Result<String, AppError> {
    let value = required(field, value)?;
    let chars = value.chars().count();
    if chars > MAX_ID_CHARS {
        return Err(too_long(
            field,
            format!("{chars} characters"),
            format!("{MAX_ID_CHARS}"),
        ));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(unprocessable(
            "invalid_field",
            field,
            format!("{field} may contain only letters, digits, '-' and '_'."),
        ));
    }
    if deidentify::contains_pii(&value) {
        return Err(unprocessable(
            "pii_in_identifier",
            field,
            format!(
                "{field} looks like a phone or ID number. Use the trial's pseudonymous \
                 subject id: ids are stored as sent."
            ),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_202_body_is_the_json_it_looks_like() {
        let id = ReportId::new();
        let body: serde_json::Value = serde_json::from_str(&Queued(id).body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "id": id.to_string(),
                "status": "queued",
                "statusUrl": format!("/api/epros/{id}"),
            })
        );
    }
}

//! One error type for the whole HTTP API.
//!
//! Every failure a client can see is an [`AppError`]: an HTTP status, a stable
//! machine-readable `code` that clients can branch on, and a sentence a person
//! can read. When one field of the request is at fault, `field` names it:
//!
//! ```json
//! {"code": "field_too_long", "message": "patientId is 80 characters long; the limit is 64.", "field": "patientId"}
//! ```
//!
//! The router's fallbacks live here too, so an unknown path or a wrong method
//! also answers JSON: the API never shows an HTML error page.

use axum::Json;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An HTTP error with a stable code and a human sentence.
#[derive(Debug, Clone)]
pub struct AppError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
    retry_after_secs: Option<u32>,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after_secs: None,
        }
    }

    /// Names the request field at fault.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Adds a `Retry-After` header: the client may try again after this long.
    pub fn retry_after(mut self, secs: u32) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// 503: the queue is full (the article's `select { ... default: }` branch).
    pub fn queue_full(capacity: usize) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "queue_full",
            format!(
                "All {capacity} places in the intake queue are taken. \
                 Nothing was saved; please send the report again in a moment."
            ),
        )
        .retry_after(1)
    }

    /// 503: the service is draining before it stops.
    pub fn shutting_down() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "The service is shutting down and takes no new reports. \
             Nothing was saved; please send the report again shortly.",
        )
        .retry_after(5)
    }

    /// 413: the request body is over the limit, `intake::MAX_BODY_BYTES`.
    pub fn body_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "The request body is over the {} KiB limit.",
                crate::designs::intake::MAX_BODY_BYTES / 1024
            ),
        )
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500 for a failure inside the service (the database, say). The details go
    /// to the log; the client gets a sentence without internals.
    pub fn internal(what: &str) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            format!("Something went wrong on our side while {what}. It has been logged."),
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The human sentence.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The JSON body of every error.
#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code,
            message: &self.message,
            field: self.field.as_deref(),
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The router's fallback: no route matches the path.
pub async fn not_found(method: Method, uri: Uri) -> AppError {
    AppError::not_found(format!(
        "There is no {method} {} here. The API lives under /api/epros/.",
        uri.path()
    ))
}

/// The path exists but not for this method. axum adds the `Allow` header.
pub async fn method_not_allowed(method: Method, uri: Uri) -> AppError {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} does not accept {method}; the Allow header lists what it does accept.",
            uri.path()
        ),
    )
}

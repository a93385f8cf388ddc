//! Serving the router over TCP, with time limits for slow clients.
//!
//! `axum::serve` would do, but it sets no timer on hyper's connections
//! (axum 0.8.9), so it has no time limits at all: a client that sends half
//! its headers, or fewer body bytes than its `Content-Length` says, holds a
//! connection and its task for good. Two hundred of them are two hundred
//! tasks waiting for ever. So the playground serves its router here, with
//! hyper's HTTP/1 builder, and one limit, [`CLIENT_TIMEOUT`] (`--client-timeout`):
//!
//! | a client that... | meets | |
//! | --- | --- | --- |
//! | sends its headers too slowly | [`close_when_idle`], per connection | the connection is closed |
//! | leaves a kept-alive connection idle | the same timer, for the next request's headers | closed |
//! | sends its body too slowly, or not all of it | [`read_whole`] ([`read_body`] in the router) | `408 body_timeout`, closed |
//! | declares a body over 64 KiB | [`read_whole`], before reading any | `413 body_too_large` at once, closed |
//!
//! hyper (1.12) has a `header_read_timeout` for the first two, but it boxes
//! a new timer for every request and takes it off again: about 900
//! instructions an upload under callgrind, 4 % of the bare handler's.
//! `close_when_idle` keeps one timer per connection and reads the clock
//! once per request.
//!
//! The last is answered before hyper sends `100 Continue`, which it does
//! only when the body is first read: a client that asked whether it may
//! send a terabyte hears no at once, instead of being told to go ahead.
//!
//! None of these limits the *response*: the dashboard's `/events` stream
//! stays open as long as the page does. The limits are on reading a
//! request, and a stream's connection is writing.
//!
//! Graceful shutdown works as with `axum::serve`: stop accepting, let the
//! responses in progress finish (the event streams end on their own token,
//! see `dashboard/mod.rs`), close idle connections, then return.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::task::Poll;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody as _};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{CONNECTION, CONTENT_LENGTH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::AppState;
use crate::designs::intake::MAX_BODY_BYTES;
use crate::edges::error::AppError;

/// How long a client may take to send a request's headers, or its body,
/// and how long a kept-alive connection may sit idle. 10 s is plenty for
/// this API: a report is a few hundred bytes.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

// ANCHOR: serve
/// Serves `router` on `listener` until `shutdown` completes, then finishes
/// the requests in progress. Each request carries the client's address
/// (`ConnectInfo<SocketAddr>`), which the dashboard's controls check.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    client_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    // Not hyper's header timeout, which sets a timer for every request:
    // `close_when_idle` keeps one per connection.
    http.header_read_timeout(None);
    let connections = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        let router = router.clone();
        let idle = Arc::new(Idle::new());
        let requests = idle.clone();
        let service = service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let in_progress = requests.start();
            let response = router.clone().oneshot(request.map(Body::new));
            async move {
                let response = response.await?;
                Ok::<_, Infallible>(until_sent(response, in_progress))
            }
        });
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let connection = connections.watch(connection);
        tokio::spawn(close_when_idle(connection, idle, client_timeout, peer));
    }
    // Stop accepting; idle connections close now, busy ones after their
    // response.
    drop(listener);
    connections.shutdown().await;
}
// ANCHOR_END: serve

/// Drives a connection until it ends, or until it has waited `timeout` for
/// a request's head: since it opened, or since its last response was sent.
/// One timer per connection, reset only when it goes off: a request costs
/// it a clock reading, not a timer set and taken off again.
async fn close_when_idle(
    connection: impl Future<Output = hyper::Result<()>>,
    idle: Arc<Idle>,
    timeout: Duration,
    peer: SocketAddr,
) {
    let mut connection = pin!(connection);
    let mut timer = pin!(tokio::time::sleep(timeout));
    loop {
        tokio::select! {
            biased;
            closed = &mut connection => {
                // A client that hangs up is not our error.
                if let Err(e) = closed {
                    tracing::debug!(%peer, "connection closed: {e}");
                }
                return;
            }
            () = &mut timer => {
                let now = Instant::now();
                match idle.since() {
                    // Waiting for a request's head since then.
                    Some(since) if since + timeout <= now => {
                        tracing::debug!(%peer, "no request within {timeout:?}: closed");
                        return;
                    }
                    Some(since) => timer.as_mut().reset(since + timeout),
                    // A request in progress: its body has its own limit
                    // (`read_whole`), and a response is never cut.
                    None => timer.as_mut().reset(now + timeout),
                }
            }
        }
    }
}

/// Whether a connection is waiting for a request, and since when.
struct Idle {
    opened: Instant,
    /// Requests whose response is not sent yet.
    busy: AtomicUsize,
    /// When the last one was, in nanoseconds after `opened`.
    last_sent: AtomicU64,
}

impl Idle {
    fn new() -> Idle {
        Idle {
            opened: Instant::now(),
            busy: AtomicUsize::new(0),
            last_sent: AtomicU64::new(0),
        }
    }

    /// A request's head has arrived: busy until the [`InProgress`] is dropped.
    fn start(self: &Arc<Self>) -> InProgress {
        self.busy.fetch_add(1, Relaxed);
        InProgress(self.clone())
    }

    /// Since when the connection has been waiting for a request, if it is.
    fn since(&self) -> Option<Instant> {
        (self.busy.load(Relaxed) == 0)
            .then(|| self.opened + Duration::from_nanos(self.last_sent.load(Relaxed)))
    }
}

/// A request in progress on its connection.
struct InProgress(Arc<Idle>);

impl Drop for InProgress {
    fn drop(&mut self) {
        let idle = &self.0;
        let sent = u64::try_from(idle.opened.elapsed().as_nanos()).unwrap_or(u64::MAX);
        idle.last_sent.store(sent, Relaxed);
        idle.busy.fetch_sub(1, Relaxed);
    }
}

/// The response, with its request in progress until it is sent: a body of
/// known length is written at once; a stream (`/events`) keeps the request
/// in progress until it ends.
fn until_sent(response: Response, in_progress: InProgress) -> Response {
    if response.body().size_hint().exact().is_some() {
        return response;
    }
    response.map(|body| {
        Body::new(Streaming {
            body,
            _in_progress: in_progress,
        })
    })
}

/// A streamed response body, and the request it belongs to.
struct Streaming {
    body: Body,
    _in_progress: InProgress,
}

impl hyper::body::Body for Streaming {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// Reads a request's body before the handler runs: all of it, within the
/// client timeout, and no more than [`MAX_BODY_BYTES`] (see [`read_whole`]).
/// Every route but the upload has this layer; the upload's extractor calls
/// [`read_whole`] itself (`intake::Upload`), the same rules without the
/// layer's cost on the hot path.
pub async fn read_body(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    match read_whole(&parts.headers, body, state.client_timeout()).await {
        Ok(body) => next.run(Request::from_parts(parts, Body::from(body))).await,
        Err(refused) => refused,
    }
}

/// A request's whole body, read within `timeout`; or the answer that
/// refuses it. A `Content-Length` over [`MAX_BODY_BYTES`] is refused before
/// any of the body is read.
pub async fn read_whole(
    headers: &HeaderMap,
    body: Body,
    timeout: Duration,
) -> Result<Bytes, Response> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|bytes| bytes > MAX_BODY_BYTES as u64) {
        return Err(closing(AppError::body_too_large()));
    }
    let mut limited = pin!(Limited::new(body, MAX_BODY_BYTES).collect());
    // A small body usually came in with the headers: then it is read at the
    // first try, and no timer is set for it (setting one and taking it off
    // again is most of what the timeout would cost).
    let first_try = std::future::poll_fn(|cx| Poll::Ready(limited.as_mut().poll(cx).map(Ok)));
    let read = match first_try.await {
        Poll::Ready(read) => read,
        Poll::Pending => tokio::time::timeout(timeout, limited).await,
    };
    match read {
        Ok(Ok(body)) => Ok(body.to_bytes()),
        Ok(Err(e)) if e.is::<LengthLimitError>() => Err(closing(AppError::body_too_large())),
        Ok(Err(_)) => Err(AppError::new(
            StatusCode::BAD_REQUEST,
            "unreadable_body",
            "The request body could not be read.",
        )
        .into_response()),
        Err(_) => Err(closing(AppError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!(
                "The request body did not arrive within {:.1} s; send it all at once.",
                timeout.as_secs_f64()
            ),
        ))),
    }
}

/// An error after which the connection closes: the rest of the body, if it
/// ever comes, is not read.
fn closing(error: AppError) -> Response {
    let mut response = error.into_response();
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

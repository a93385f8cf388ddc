//! A small HTTP load generator: patients submitting at the same minute.
//!
//! [`burst`] sends `n` synthetic reports over `concurrency` keep-alive
//! connections and counts the answers by status. The benchmark, the tests and
//! the dashboard's "burst" button all use it; the dashboard watches a running
//! burst through [`Progress`]. Plain HTTP/1.1 over
//! hyper's client connection, which is already in the tree under axum: no TLS,
//! no connection pool to second-guess, one connection per concurrent sender.
//!
//! Every loop here is bounded: each request, failed or not, uses up one of the
//! `n`, and each has a timeout. A load test stops by itself.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use axum::body::Bytes;
use axum::http::header::{CONNECTION, CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Longest wait for one answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What a burst got back.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Answers by HTTP status.
    pub statuses: BTreeMap<u16, usize>,
    /// Requests that got no answer (connection refused, reset, timed out).
    pub errors: usize,
    pub elapsed: Duration,
}

impl Outcome {
    /// Answers with this status.
    pub fn count(&self, status: u16) -> usize {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    /// Requests answered, whatever the status.
    pub fn answered(&self) -> usize {
        self.statuses.values().sum()
    }

    /// Answers per second.
    pub fn rate(&self) -> f64 {
        self.answered() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// Live counts of a running burst, readable while it runs (the final
/// [`Outcome`] comes only at the end).
#[derive(Debug, Default)]
pub struct Progress {
    /// Requests finished, answered or not.
    pub done: AtomicUsize,
    /// Answers 200 to 299 (202 from the queue, 200 from fire-and-forget).
    pub accepted: AtomicUsize,
    /// Answers 503 (queue full, or shutting down).
    pub unavailable: AtomicUsize,
    /// Any other status.
    pub other: AtomicUsize,
    /// Requests that got no answer.
    pub errors: AtomicUsize,
}

impl Progress {
    /// Counts one request: its status, or `None` if it got no answer.
    fn count(&self, status: Option<u16>) {
        let counter = match status {
            Some(200..=299) => &self.accepted,
            Some(503) => &self.unavailable,
            Some(_) => &self.other,
            None => &self.errors,
        };
        counter.fetch_add(1, Relaxed);
        self.done.fetch_add(1, Relaxed);
    }
}

/// POSTs `n` synthetic reports to `url` (an upload or submit endpoint), at
/// most `concurrency` at a time.
pub async fn burst(url: &str, n: usize, concurrency: usize) -> anyhow::Result<Outcome> {
    burst_with_progress(url, n, concurrency, Arc::default()).await
}

/// [`burst`], counting every answer in `progress` as it comes.
pub async fn burst_with_progress(
    url: &str,
    n: usize,
    concurrency: usize,
    progress: Arc<Progress>,
) -> anyhow::Result<Outcome> {
    run(
        url,
        Method::POST,
        n,
        concurrency,
        Some(synthetic_report),
        progress,
    )
    .await
}

/// POSTs `n` bodies to `url`, the `i`th being `body(i)`, at most
/// `concurrency` at a time.
pub async fn burst_of(
    url: &str,
    n: usize,
    concurrency: usize,
    body: BodyFn,
) -> anyhow::Result<Outcome> {
    run(
        url,
        Method::POST,
        n,
        concurrency,
        Some(body),
        Arc::default(),
    )
    .await
}

/// GETs `url` `n` times, at most `concurrency` at a time (`/leaky`, `/fixed`).
pub async fn burst_get(url: &str, n: usize, concurrency: usize) -> anyhow::Result<Outcome> {
    burst_get_with_progress(url, n, concurrency, Arc::default()).await
}

/// [`burst_get`], counting every answer in `progress` as it comes.
pub async fn burst_get_with_progress(
    url: &str,
    n: usize,
    concurrency: usize,
    progress: Arc<Progress>,
) -> anyhow::Result<Outcome> {
    run(url, Method::GET, n, concurrency, None, progress).await
}

/// One request on a fresh connection marked `Connection: close`, so no server
/// task is left behind for it. For tests and one-off calls.
pub async fn send(method: Method, url: &str, json_body: Option<&str>) -> anyhow::Result<Reply> {
    let target = Target::parse(url)?;
    let mut sender = connect(&target.authority).await?;
    let mut request = target.request(
        method,
        json_body.map(|b| Bytes::copy_from_slice(b.as_bytes())),
    )?;
    request
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    let response = tokio::time::timeout(REQUEST_TIMEOUT, sender.send_request(request))
        .await
        .context("no answer in time")??;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// An answer to [`send`].
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The body as JSON (`Value::Null` if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
}

/// The `i`-th synthetic report. Some carry phone numbers, ID numbers and
/// e-mail addresses (for de-identification to catch), some are high-risk
/// (for the scorer to flag), most are ordinary.
pub fn synthetic_report(i: usize) -> String {
    const TEXTS: &[&str] = &[
        "Slept well. Mild headache in the afternoon, pain 3/10. Took the study drug at 08:00.",
        "今天服药后有点恶心，没有呕吐。",
        "Dizzy after the second dose. Please call me on 13812345678 if you need details.",
        "Chest pain since this morning, pain 8/10.",
        "No side effects. My new e-mail is zhang.wei@example.com.",
        "服药正常，食欲一般，睡眠尚可。",
        "Rash on both arms, itchy. ID for the pharmacy: 110105199003071234.",
        "Felt tired, walked 20 minutes, blood pressure 128/82.",
    ];
    serde_json::json!({
        "patientId": format!("SUBJ-{:05}", i % 100_000),
        "trialId": "EPRO-2024-07",
        "reportData": TEXTS[i % TEXTS.len()],
    })
    .to_string()
}

pub type BodyFn = fn(usize) -> String;

async fn run(
    url: &str,
    method: Method,
    n: usize,
    concurrency: usize,
    body: Option<BodyFn>,
    progress: Arc<Progress>,
) -> anyhow::Result<Outcome> {
    let target = Arc::new(Target::parse(url)?);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..concurrency.clamp(1, n.max(1)) {
        let (target, next, method) = (target.clone(), next.clone(), method.clone());
        let progress = progress.clone();
        senders.spawn(async move {
            let mut outcome = Outcome::default();
            let mut connection: Option<SendRequest<Full<Bytes>>> = None;
            // Each turn claims one of the n requests: bounded however it goes.
            loop {
                let i = next.fetch_add(1, Relaxed);
                if i >= n {
                    break;
                }
                let sender = match connection.take() {
                    Some(sender) if sender.is_ready() => sender,
                    _ => match connect(&target.authority).await {
                        Ok(sender) => sender,
                        Err(_) => {
                            outcome.errors += 1;
                            progress.count(None);
                            continue;
                        }
                    },
                };
                let request = target.request(method.clone(), body.map(|f| Bytes::from(f(i))));
                let Ok(request) = request else {
                    outcome.errors += 1;
                    progress.count(None);
                    continue;
                };
                match answer(sender, request).await {
                    Ok((status, sender)) => {
                        *outcome.statuses.entry(status).or_default() += 1;
                        progress.count(Some(status));
                        connection = Some(sender);
                    }
                    Err(_) => {
                        outcome.errors += 1;
                        progress.count(None);
                    }
                }
            }
            outcome
        });
    }
    let mut total = Outcome::default();
    while let Some(done) = senders.join_next().await {
        let outcome = done.context("a load generator task failed")?;
        for (status, count) in outcome.statuses {
            *total.statuses.entry(status).or_default() += count;
        }
        total.errors += outcome.errors;
    }
    total.elapsed = started.elapsed();
    Ok(total)
}

/// Sends one request and reads the whole answer, handing the connection back
/// for the next request.
async fn answer(
    mut sender: SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> anyhow::Result<(u16, SendRequest<Full<Bytes>>)> {
    let exchange = async {
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        response.into_body().collect().await?;
        anyhow::Ok(status)
    };
    let status = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| anyhow!("no answer within {REQUEST_TIMEOUT:?}"))??;
    Ok((status, sender))
}

async fn connect(authority: &str) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(authority)
        .await
        .with_context(|| format!("connecting to {authority}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    // The connection's I/O runs in its own task; it ends when the sender is
    // dropped or the server closes the connection.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// `http://host:port/path?query`, taken apart once.
struct Target {
    authority: String,
    path_and_query: String,
}

impl Target {
    fn parse(url: &str) -> anyhow::Result<Target> {
        let uri: Uri = url.parse().with_context(|| format!("not a URL: {url}"))?;
        if uri.scheme_str() != Some("http") {
            bail!("only http:// URLs are supported, not {url}");
        }
        let authority = uri
            .authority()
            .with_context(|| format!("no host in {url}"))?
            .to_string();
        let path_and_query = uri
            .path_and_query()
            .map_or("/".to_owned(), ToString::to_string);
        Ok(Target {
            authority,
            path_and_query,
        })
    }

    fn request(&self, method: Method, body: Option<Bytes>) -> anyhow::Result<Request<Full<Bytes>>> {
        let mut builder = Request::builder()
            .method(method)
            .uri(&self.path_and_query)
            .header(HOST, &self.authority);
        if body.is_some() {
            builder = builder.header(CONTENT_TYPE, "application/json");
        }
        Ok(builder.body(Full::new(body.unwrap_or_default()))?)
    }
}

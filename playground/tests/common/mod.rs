//! Helpers the integration tests share: the router called with `oneshot`
//! (`api.rs`, `dashboard.rs`), and the real binary started on 127.0.0.1
//! port 0 (`process.rs`, `browser.rs`). Each test file says `mod common;`.

// Each test binary compiles this module and uses a part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::connect_info::MockConnectInfo;
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::Response;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use playground::loadgen::synthetic_report;
use playground::pipeline::store::Db;
use playground::{AppState, Clinic, Config, app};
use serde_json::{Value, json};
use tower::ServiceExt;

/// A client on this machine.
pub const LOOPBACK: ([u8; 4], u16) = ([127, 0, 0, 1], 50_000);

/// The service with `config`, on an in-memory database.
pub fn clinic(config: Config) -> AppState {
    Clinic::start(config, Db::open(":memory:").expect("in-memory database"))
}

/// The service with `config`, on the database file at `db` (for a test that
/// reads the database itself).
pub fn clinic_on_file(config: Config, db: &Path) -> AppState {
    Clinic::start(config, Db::open(&db.to_string_lossy()).unwrap())
}

/// What the router answered: the body as text, and as JSON (`Null` if it is
/// not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
}

/// The router's response to `request`, sent as if from `client`, its body
/// not read yet. `MockConnectInfo` plays the client's address (the real
/// server gets it from the socket). Without a `Host` header, it gets the one
/// a browser on this machine would send: the server's address, or
/// `localhost` if it is not listening on a socket.
pub async fn respond_from(
    client: ([u8; 4], u16),
    state: &AppState,
    mut request: Request<Body>,
) -> Response {
    if !request.headers().contains_key(HOST) {
        let host = state
            .listening_on()
            .map_or_else(|| "localhost".to_owned(), |addr| addr.to_string());
        request.headers_mut().insert(HOST, host.parse().unwrap());
    }
    app(state.clone())
        .layer(MockConnectInfo(SocketAddr::from(client)))
        .oneshot(request)
        .await
        .expect("the router never fails")
}

/// Sends `request` as if from `client`, and reads the whole answer.
pub async fn call_from(client: ([u8; 4], u16), state: &AppState, request: Request<Body>) -> Answer {
    let response = respond_from(client, state, request).await;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Answer {
        status,
        headers,
        json: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

/// Sends `request` as if from this machine ([`LOOPBACK`]).
pub async fn call(state: &AppState, request: Request<Body>) -> Answer {
    call_from(LOOPBACK, state, request).await
}

/// A GET of `path`, without a body.
/// Polls the service's counters until `done` holds, or fails after `within`
/// naming `what` and the last counters seen.
pub async fn wait_for_stats(
    state: &AppState,
    within: Duration,
    what: &str,
    done: impl Fn(&playground::edges::stats::Stats) -> bool,
) {
    let deadline = Instant::now() + within;
    loop {
        let stats = state.stats();
        if done(&stats) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited {within:?} for {what}: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

/// A POST of `body` as JSON.
pub fn post_json(path: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header(CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap()
}

/// An upload's JSON body: `text` as one patient's report in one trial.
pub fn report(text: &str) -> String {
    json!({"patientId": "SUBJ-0042", "trialId": "EPRO-2024-07", "reportData": text}).to_string()
}

/// A fresh, empty folder `playground-NAME-…` in the system's temporary one.
/// It stays afterwards: see [`TempDir`] for one that goes.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "playground-{name}-{}",
        playground::pipeline::report::ReportId::new()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A database file in a fresh temporary folder, removed afterwards.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        TempDir(fresh_dir(name))
    }

    /// `clinic.db` in the folder.
    pub fn db_path(&self) -> PathBuf {
        self.0.join("clinic.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The playground binary, to run on 127.0.0.1 port 0 with its database at
/// `db` (unless `args` name one with `--db`), then `args`. Its stdout is
/// piped: [`Playground::new`] reads the port there.
pub fn playground_command(db: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_playground"));
    command.args(["--addr", "127.0.0.1:0"]);
    if !args.contains(&"--db") {
        command.arg("--db").arg(db);
    }
    command.args(args).stdout(Stdio::piped());
    command
}

/// The playground binary, running; stopped when dropped (only if a test
/// failed half-way: our own child, by its handle).
pub struct Playground {
    pub child: Child,
    pub url: String,
}

impl Playground {
    /// Waits for `child` (spawned from [`playground_command`]) to name its
    /// port: its first stdout line, `listening on http://…`, read on a thread,
    /// with a deadline of 20 s. `log` says what it has logged, for the message
    /// if that line is not what it should be.
    pub fn new(mut child: Child, log: impl FnOnce() -> String) -> Playground {
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let mut playground = Playground {
            child,
            url: String::new(),
        };
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the playground printed its address");
        playground.url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first stdout line was {line:?}; log:\n{}", log()))
            .to_owned();
        playground
    }

    /// How the process ended, once it has; fails after `within`, with what
    /// `log` says it logged.
    pub async fn exit_status(
        &mut self,
        within: Duration,
        log: impl FnOnce() -> String,
    ) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the playground still ran {within:?} after it was told to stop; log:\n{}",
                log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Playground {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client's ledger of a burst: the id of every upload answered 202, and
/// how many got another answer, or none.
#[derive(Debug, Default)]
pub struct Ledger {
    accepted: Mutex<Vec<String>>,
    pub other: AtomicUsize,
    pub no_answer: AtomicUsize,
}

impl Ledger {
    /// Ids answered 202 so far.
    pub fn accepted(&self) -> Vec<String> {
        self.accepted.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.accepted.lock().unwrap().len()
    }
}

/// POSTs up to `n` synthetic reports to `url` (an upload endpoint) over
/// `concurrency` keep-alive connections, noting in `ledger` the id of every
/// 202. A connection that breaks (the server died) ends its sender, so a
/// burst stops soon after a crash.
pub async fn ledger_burst(url: String, n: usize, concurrency: usize, ledger: Arc<Ledger>) {
    let authority = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let path = url[url.find(&authority).unwrap() + authority.len()..].to_owned();
    let next = Arc::new(AtomicUsize::new(0));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (authority, path, next, ledger) = (
            authority.clone(),
            path.clone(),
            next.clone(),
            ledger.clone(),
        );
        senders.spawn(async move {
            let Ok(stream) = tokio::net::TcpStream::connect(&authority).await else {
                ledger.no_answer.fetch_add(1, Relaxed);
                return;
            };
            let handshake = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await;
            let Ok((mut sender, connection)) = handshake else {
                ledger.no_answer.fetch_add(1, Relaxed);
                return;
            };
            tokio::spawn(connection);
            loop {
                let i = next.fetch_add(1, Relaxed);
                if i >= n {
                    return;
                }
                let request = Request::post(path.as_str())
                    .header(HOST, authority.as_str())
                    .header(CONTENT_TYPE, "application/json")
                    .body(Full::new(Bytes::from(synthetic_report(i))))
                    .unwrap();
                let answer = async {
                    sender.ready().await?;
                    let response = sender.send_request(request).await?;
                    let status = response.status();
                    let body = response.into_body().collect().await?.to_bytes();
                    anyhow::Ok((status, body))
                };
                match tokio::time::timeout(Duration::from_secs(30), answer).await {
                    Ok(Ok((StatusCode::ACCEPTED, body))) => {
                        let body: Value = serde_json::from_slice(&body).unwrap();
                        let id = body["id"].as_str().unwrap().to_owned();
                        ledger.accepted.lock().unwrap().push(id);
                    }
                    Ok(Ok(_)) => {
                        ledger.other.fetch_add(1, Relaxed);
                    }
                    // The server is gone: this sender is done.
                    _ => {
                        ledger.no_answer.fetch_add(1, Relaxed);
                        return;
                    }
                }
            }
        });
    }
    while senders.join_next().await.is_some() {}
}

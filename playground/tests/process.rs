//! Process tests: the real binary on 127.0.0.1 port 0, driven over HTTP and
//! stopped with SIGTERM, as an orchestrator would. What they check is what a
//! user would see: exit status, the summary line, rows in the SQLite file, the
//! task count in /stats.
//!
//! Every wait polls for a condition with a deadline; none sleeps and hopes.

mod common;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::header::HOST;
use axum::http::{Method, Request};
use common::{Ledger, Playground, TempDir, ledger_burst, playground_command, report};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use playground::dashboard::EVENT_EVERY;
use playground::loadgen::{self, Reply};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The binary, started with `args`, and what it has printed so far.
struct Server {
    playground: Playground,
    url: String,
    stderr: Arc<Mutex<String>>,
    dir: TempDir,
}

impl Server {
    fn start(name: &str, args: &[&str]) -> Server {
        Server::start_in(TempDir::new(name), args)
    }

    /// The binary again, on the same database file, once this one has ended.
    fn restart(self, args: &[&str]) -> Server {
        let Server {
            mut playground,
            dir,
            ..
        } = self;
        assert!(
            playground.child.try_wait().unwrap().is_some(),
            "restart only a server that has stopped"
        );
        Server::start_in(dir, args)
    }

    fn start_in(dir: TempDir, args: &[&str]) -> Server {
        let mut child = playground_command(&dir.db_path(), args)
            .env("RUST_LOG", "playground=info")
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the playground binary");

        // Collect stderr (the log) as it comes, for the assertions at the end.
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });

        // The first stdout line names the port.
        let playground = Playground::new(child, || stderr.lock().unwrap().clone());
        let url = playground.url.clone();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Server {
            playground,
            url,
            stderr,
            dir,
        }
    }

    fn db_path(&self) -> PathBuf {
        self.dir.db_path()
    }

    async fn get(&self, path: &str) -> Reply {
        loadgen::send(Method::GET, &format!("{}{path}", self.url), None)
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e:#}"))
    }

    async fn stats(&self) -> Value {
        self.get("/stats").await.json()
    }

    /// Polls /stats until `done` holds, or fails after `within`.
    async fn wait_for_stats(
        &self,
        within: Duration,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let stats = self.stats().await;
            if done(&stats) {
                return stats;
            }
            assert!(
                Instant::now() < deadline,
                "waited {within:?} for {what}; last /stats: {stats}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `kill -9`: the process ends on the spot, nothing runs after it.
    fn sigkill(&mut self) {
        self.playground
            .child
            .kill()
            .expect("SIGKILL the playground");
        self.playground.child.wait().unwrap();
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.playground.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// How the server ended, once it has; fails after `within`, with its log.
    async fn wait_for_exit(&mut self, within: Duration) -> ExitStatus {
        let stderr = &self.stderr;
        self.playground
            .exit_status(within, || stderr.lock().unwrap().clone())
            .await
    }

    fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn count(&self, sql: &str) -> u64 {
        let conn = rusqlite::Connection::open(self.db_path()).unwrap();
        let count: i64 = conn.query_row(sql, [], |row| row.get(0)).unwrap();
        count.try_into().unwrap()
    }
}

#[tokio::test]
async fn sigterm_with_a_full_queue_stores_every_accepted_report_in_memory_mode() {
    sigterm_with_a_full_queue("memory").await;
}

#[tokio::test]
async fn sigterm_with_a_full_queue_stores_every_accepted_report_in_durable_mode() {
    sigterm_with_a_full_queue("durable").await;
}

async fn sigterm_with_a_full_queue(intake: &str) {
    let mut server = Server::start(
        &format!("sigterm-{intake}"),
        &[
            "--intake",
            intake,
            "--queue",
            "16",
            "--workers",
            "2",
            "--work-ms",
            "300",
        ],
    );
    let upload = format!("{}/api/epros/upload", server.url);

    // A burst far bigger than the queue: some 202s, the rest 503.
    let burst = loadgen::burst(&upload, 200, 32).await.unwrap();
    let accepted = burst.count(202);
    assert_eq!(burst.errors, 0, "{burst:?}");
    assert!(burst.count(503) > 0, "the queue must overflow: {burst:?}");
    assert_eq!(accepted + burst.count(503), 200, "{burst:?}");
    let stats = server.stats().await;
    assert!(
        stats["queued"].as_u64().unwrap() >= 12,
        "queue nearly full: {stats}"
    );

    server.sigterm();
    // While draining, HTTP is still up and new uploads are told why they fail.
    server
        .wait_for_stats(Duration::from_secs(5), "shutdown to begin", |s| {
            s["shuttingDown"] == true
        })
        .await;
    let late = loadgen::send(Method::POST, &upload, Some(&report("late")))
        .await
        .unwrap();
    assert_eq!(late.status, 503);
    assert_eq!(late.json()["code"], "shutting_down");

    let status = server.wait_for_exit(Duration::from_secs(30)).await;
    let log = server.log();
    assert_eq!(status.code(), Some(0), "log:\n{log}");
    let summary = format!("accepted {accepted}, stored {accepted}, lost 0");
    assert!(
        log.contains(&summary),
        "expected {summary:?} in the log:\n{log}"
    );

    // The database agrees with what clients were told.
    assert_eq!(
        server.count("SELECT COUNT(*) FROM reports"),
        accepted as u64
    );
    assert_eq!(
        server.count("SELECT COUNT(*) FROM audit_log WHERE event = 'received'"),
        accepted as u64
    );
}

/// One slow worker, 6 places, and a drain deadline too short for them.
fn slow_with_a_short_deadline(intake: &'static str) -> [&'static str; 10] {
    [
        "--intake",
        intake,
        "--queue",
        "6",
        "--workers",
        "1",
        "--work-ms",
        "3000",
        "--drain-timeout",
        "300ms",
    ]
}

/// Ten uploads, one after the other; the ids of those answered 202.
async fn ten_uploads(server: &Server) -> Vec<String> {
    let upload = format!("{}/api/epros/upload", server.url);
    let mut ids = Vec::new();
    for i in 0..10 {
        let body = report(&format!("report {i}"));
        let reply = loadgen::send(Method::POST, &upload, Some(&body))
            .await
            .unwrap();
        if reply.status == 202 {
            ids.push(reply.json()["id"].as_str().unwrap().to_owned());
        }
    }
    ids
}

#[tokio::test]
async fn a_passed_deadline_lists_every_lost_id_and_exits_2() {
    // One slow worker and a short deadline: the queue cannot drain in time.
    let mut server = Server::start("deadline", &slow_with_a_short_deadline("memory"));
    let ids = ten_uploads(&server).await;
    // 6 queued + 1 with the worker (6 if the worker was slow to take the first).
    assert!((6..=7).contains(&ids.len()), "accepted {}", ids.len());

    server.sigterm();
    let status = server.wait_for_exit(Duration::from_secs(20)).await;
    let log = server.log();
    assert_eq!(status.code(), Some(2), "log:\n{log}");

    let stored = server.count("SELECT COUNT(*) FROM reports") as usize;
    let lost = ids.len() - stored;
    assert!(lost > 0, "the deadline was meant to pass");
    let summary = format!("accepted {}, stored {stored}, lost {lost}", ids.len());
    assert!(
        log.contains(&summary),
        "expected {summary:?} in the log:\n{log}"
    );

    // Every id not in the database is named in the log: never a silent loss.
    let conn = rusqlite::Connection::open(server.db_path()).unwrap();
    let not_stored_line = log
        .lines()
        .find(|l| l.contains("reports not stored:"))
        .unwrap_or_else(|| panic!("no list of lost ids in:\n{log}"));
    for id in &ids {
        let in_db: bool = conn
            .query_row(
                "SELECT COUNT(*) > 0 FROM reports WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert_ne!(
            in_db,
            not_stored_line.contains(id.as_str()),
            "{id}: stored {in_db}, log:\n{log}"
        );
    }
}

#[tokio::test]
async fn a_passed_deadline_in_durable_mode_keeps_the_rest_for_the_next_start() {
    let args = slow_with_a_short_deadline("durable");
    let mut server = Server::start("deadline-durable", &args);
    let ids = ten_uploads(&server).await;
    // The inbox has 6 places: the 7th upload onwards hears 503.
    assert_eq!(ids.len(), 6);

    server.sigterm();
    let status = server.wait_for_exit(Duration::from_secs(20)).await;
    let log = server.log();
    // Nothing lost: what the drain did not store is on disk, in the inbox.
    assert_eq!(status.code(), Some(0), "log:\n{log}");
    let stored = server.count("SELECT COUNT(*) FROM reports");
    let in_inbox = server.count("SELECT COUNT(*) FROM inbox");
    assert!(in_inbox > 0, "the deadline was meant to pass");
    assert_eq!(stored + in_inbox, 6);
    let summary = format!("accepted 6, stored {stored}, lost 0");
    assert!(log.contains(&summary), "{summary:?} in the log:\n{log}");
    let kept = format!("{in_inbox} reports stay in the inbox and are stored on the next start");
    assert!(log.contains(&kept), "{kept:?} in the log:\n{log}");

    // The next start stores them, first thing.
    let restart = ["--intake", "durable", "--work-ms", "0"];
    let mut server = server.restart(&restart);
    server
        .wait_for_stats(Duration::from_secs(10), "the inbox to drain", |s| {
            s["inbox"] == 0 && s["inFlight"] == 0
        })
        .await;
    assert!(
        server.log().contains(&format!(
            "recovered {in_inbox} reports accepted before the last stop"
        )),
        "{}",
        server.log()
    );
    for id in &ids {
        let status = server.get(&format!("/api/epros/{id}")).await;
        assert_eq!(status.status, 200, "{id}: {}", status.body);
    }
    assert_eq!(server.count("SELECT COUNT(*) FROM reports"), 6);
    server.sigterm();
    assert_eq!(
        server.wait_for_exit(Duration::from_secs(10)).await.code(),
        Some(0)
    );
}

/// Uploads in the crash burst: enough that the kill lands mid-burst.
const CRASH_BURST: usize = 10_000;

/// What a SIGKILL in the middle of a burst did to the reports answered 202.
struct CrashAccount {
    /// Ids the client heard 202 for before the kill.
    answered: Vec<String>,
    /// Reports in the inbox (durable) or the queue (memory) just before it.
    waiting_at_kill: u64,
    /// Rows the inbox table held after it.
    in_inbox_after_kill: u64,
    /// Ids answered 202 that are not in `reports` once the restarted server
    /// has drained.
    missing: Vec<String>,
    /// Rows in `reports` after the restart's drain.
    stored: u64,
    /// The restarted server's log.
    log: String,
    server: Server,
}

/// Sends a burst of [`CRASH_BURST`] uploads at 64 connections, keeping a
/// ledger of every id answered 202; SIGKILLs the server once a third of them
/// were answered, with reports still waiting; restarts it on the same file;
/// waits for it to drain; and checks every id against the database.
async fn crash_mid_burst(intake: &str) -> CrashAccount {
    // Slow workers (10 ms a report, one at a time), so that reports pile up.
    let args = [
        "--intake",
        intake,
        "--queue",
        "20000",
        "--workers",
        "8",
        "--work-ms",
        "10",
    ];
    let mut server = Server::start(&format!("crash-{intake}"), &args);
    let ledger = Arc::new(Ledger::default());
    let upload = format!("{}/api/epros/upload", server.url);
    let burst = tokio::spawn(ledger_burst(upload, CRASH_BURST, 64, ledger.clone()));

    // Part-way: a third of the burst answered 202...
    let deadline = Instant::now() + Duration::from_secs(60);
    while ledger.count() < CRASH_BURST / 3 {
        assert!(
            Instant::now() < deadline,
            "the burst is too slow: {ledger:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // ...and plenty still waiting for a worker when the kill comes.
    let stats = server.stats().await;
    let waiting = if intake == "durable" {
        "inbox"
    } else {
        "queued"
    };
    let waiting_at_kill = stats[waiting].as_u64().unwrap();
    assert!(
        waiting_at_kill >= 100,
        "mid-burst, reports {waiting}: {stats}"
    );
    server.sigkill();
    burst.await.unwrap();
    let answered = ledger.accepted();
    assert!(
        answered.len() < CRASH_BURST,
        "the kill came after the burst"
    );
    let in_inbox_after_kill = server.count("SELECT COUNT(*) FROM inbox");
    // Whenever the kill came, the file is between two commits: a report is
    // either stored or in the inbox, never both.
    let both = server.count("SELECT COUNT(*) FROM inbox JOIN reports USING (id)");
    assert_eq!(
        both, 0,
        "reports stored and still in the inbox after the kill"
    );

    // The same file, fast workers: whatever survived is stored at once.
    let restart = ["--intake", intake, "--queue", "20000", "--work-ms", "0"];
    let server = server.restart(&restart);
    // A recovered report's status URL answers from the start.
    let recovered_id = rusqlite::Connection::open(server.db_path())
        .unwrap()
        .query_row("SELECT id FROM inbox LIMIT 1", [], |row| {
            row.get::<_, String>(0)
        })
        .ok();
    if let Some(id) = recovered_id {
        let status = server.get(&format!("/api/epros/{id}")).await;
        assert_eq!(status.status, 200, "{id}: {}", status.body);
    }
    server
        .wait_for_stats(Duration::from_secs(30), "the restart's drain", |s| {
            s["inbox"] == 0 && s["inFlight"] == 0
        })
        .await;

    let conn = rusqlite::Connection::open(server.db_path()).unwrap();
    let mut stored_ids = std::collections::HashSet::new();
    let mut select = conn.prepare("SELECT id FROM reports").unwrap();
    for id in select.query_map([], |row| row.get::<_, String>(0)).unwrap() {
        stored_ids.insert(id.unwrap());
    }
    let missing = answered
        .iter()
        .filter(|id| !stored_ids.contains(*id))
        .cloned()
        .collect();
    // Every stored report once in `reports` (its primary key sees to that),
    // and in the audit log exactly once received and once stored.
    let mut per_report = conn
        .prepare(
            "SELECT report_id, SUM(event = 'received'), SUM(event = 'stored')
             FROM audit_log GROUP BY report_id",
        )
        .unwrap();
    let audited: Vec<(String, i64, i64)> = per_report
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(audited.len(), stored_ids.len(), "an audit trail per report");
    for (id, received, stored) in &audited {
        assert!(stored_ids.contains(id), "audit rows for {id}, not stored");
        assert_eq!((*received, *stored), (1, 1), "{id}: received, stored");
    }
    CrashAccount {
        answered,
        waiting_at_kill,
        in_inbox_after_kill,
        missing,
        stored: stored_ids.len() as u64,
        log: server.log(),
        server,
    }
}

#[tokio::test]
async fn sigkill_mid_burst_loses_no_report_answered_202_in_durable_mode() {
    let account = crash_mid_burst("durable").await;
    let CrashAccount {
        answered,
        in_inbox_after_kill,
        missing,
        stored,
        log,
        mut server,
        ..
    } = account;
    assert!(in_inbox_after_kill > 0, "reports in the inbox at the kill");
    assert!(
        log.contains(&format!(
            "recovered {in_inbox_after_kill} reports accepted before the last stop"
        )),
        "log:\n{log}"
    );
    assert!(
        missing.is_empty(),
        "{} answered 202, then lost",
        missing.len()
    );
    // Stored at most a few more than answered: uploads whose commit made it
    // but whose 202 did not (the client would send those again).
    assert!(stored >= answered.len() as u64);

    server.sigterm();
    assert_eq!(
        server.wait_for_exit(Duration::from_secs(10)).await.code(),
        Some(0)
    );
    let log = server.log();
    let summary =
        format!("accepted 0, stored {in_inbox_after_kill}, lost 0 (queue 0, fire-and-forget 0; ");
    assert!(log.contains(&summary), "{summary:?} in the log:\n{log}");
    eprintln!(
        "durable: {} answered 202 before the kill, {in_inbox_after_kill} in the inbox, \
         recovered and stored after the restart, 0 lost; {stored} stored in all",
        answered.len()
    );
}

#[tokio::test]
async fn sigkill_mid_burst_loses_reports_answered_202_in_memory_mode() {
    let CrashAccount {
        answered,
        waiting_at_kill,
        in_inbox_after_kill,
        missing,
        log,
        server,
        ..
    } = crash_mid_burst("memory").await;
    assert_eq!(in_inbox_after_kill, 0);
    assert!(!log.contains("recovered"), "log:\n{log}");
    // The contrast the chapter teaches: each of these heard 202, and is gone.
    assert!(!missing.is_empty(), "nothing lost in memory mode?");
    let gone = server.get(&format!("/api/epros/{}", missing[0])).await;
    assert_eq!(gone.status, 404, "{}", gone.body);
    eprintln!(
        "memory: {} answered 202 before the kill, {waiting_at_kill} queued at the kill, \
         {} of the 202s lost ({:.0} %)",
        answered.len(),
        missing.len(),
        100.0 * missing.len() as f64 / answered.len() as f64
    );
}

#[tokio::test]
async fn the_crash_control_aborts_and_the_inbox_survives_it() {
    let args = ["--intake", "durable"];
    let mut server = Server::start("crash-control", &args);
    let control = |path: &str| format!("{}/controls/{path}", server.url);
    let paused = loadgen::send(Method::POST, &control("pause"), None).await;
    assert_eq!(paused.unwrap().status, 200);
    let upload = format!("{}/api/epros/upload", server.url);
    let mut ids = Vec::new();
    for i in 0..20 {
        let body = report(&format!("report {i}"));
        let reply = loadgen::send(Method::POST, &upload, Some(&body))
            .await
            .unwrap();
        assert_eq!(reply.status, 202, "{}", reply.body);
        ids.push(reply.json()["id"].as_str().unwrap().to_owned());
    }
    // The button: no answer, the process is gone.
    let crashed = loadgen::send(Method::POST, &control("crash"), None).await;
    assert!(crashed.is_err(), "answered: {crashed:?}");
    let status = server.wait_for_exit(Duration::from_secs(10)).await;
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(6), "SIGABRT, not an exit: {status}");
    assert!(server.log().contains("crash requested from the dashboard"));
    assert!(!server.log().contains("shutdown complete"), "no drain ran");

    let mut server = server.restart(&args);
    server
        .wait_for_stats(Duration::from_secs(10), "the recovered to be stored", |s| {
            s["recovered"] == 20 && s["stored"] == 20 && s["inbox"] == 0
        })
        .await;
    for id in &ids {
        let status = server.get(&format!("/api/epros/{id}")).await;
        assert_eq!(status.status, 200, "{id}: {}", status.body);
    }
    server.sigterm();
    server.wait_for_exit(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn durable_intake_on_a_memory_database_is_refused_at_start() {
    let dir = TempDir::new("durable-memory");
    let output = playground_command(&dir.db_path(), &["--db", ":memory:"])
        .stderr(Stdio::piped())
        .output()
        .expect("run the playground binary");
    assert_eq!(output.status.code(), Some(1));
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("--intake durable") && log.contains("--intake memory"),
        "{log}"
    );
}

#[tokio::test]
async fn leaky_leaves_tasks_behind_and_fixed_does_not() {
    const WORK_MS: u64 = 4000;
    let server = Server::start("leak", &["--db", ":memory:", "--intake", "memory"]);

    // The idle task count: workers, the server, this /stats connection. Read
    // it until it holds still (the start-up connection may still be closing).
    let mut baseline = server.stats().await["tasks"].as_u64().unwrap();
    let settle = Instant::now() + Duration::from_secs(5);
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = server.stats().await["tasks"].as_u64().unwrap();
        if now == baseline || Instant::now() > settle {
            break;
        }
        baseline = now;
    }

    // /fixed: 20 calls time out at 100 ms, and their queries are cancelled.
    let fixed = format!("{}/fixed?timeout_ms=100&work_ms={WORK_MS}", server.url);
    let outcome = loadgen::burst_get(&fixed, 20, 20).await.unwrap();
    assert_eq!(outcome.count(504), 20, "{outcome:?}");
    // Back to the baseline long before the queries would have finished.
    let within = Duration::from_millis(WORK_MS / 2);
    let stats = server
        .wait_for_stats(within, "tasks back at the baseline after /fixed", |s| {
            s["tasks"] == baseline
        })
        .await;
    assert_eq!(stats["leaked"], 0);

    // /leaky: the same 20 calls leave 20 queries running.
    let leaky = format!("{}/leaky?timeout_ms=100&work_ms={WORK_MS}", server.url);
    let outcome = loadgen::burst_get(&leaky, 20, 20).await.unwrap();
    assert_eq!(outcome.count(504), 20, "{outcome:?}");
    let stats = server.stats().await;
    assert_eq!(stats["leaked"], 20, "{stats}");
    assert!(
        stats["tasks"].as_u64().unwrap() >= baseline + 20,
        "baseline {baseline}: {stats}"
    );

    // They end only when their work is done, nobody having read it.
    server
        .wait_for_stats(
            Duration::from_millis(WORK_MS + 3000),
            "the leaked queries to finish",
            |s| s["tasks"] == baseline && s["leaked"] == 0,
        )
        .await;
}

/// An open `GET /events` response, read event by event.
struct EventStream {
    body: hyper::body::Incoming,
    seen: String,
}

impl EventStream {
    async fn open(url: &str) -> EventStream {
        let authority = url.strip_prefix("http://").unwrap().to_owned();
        let stream = TcpStream::connect(&authority).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let request = Request::get("/events")
            .header(HOST, authority)
            .body(Empty::<Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        EventStream {
            body: response.into_body(),
            seen: String::new(),
        }
    }

    /// Reads until `want` has arrived (true) or the stream ends (false);
    /// fails after `within`.
    async fn read_until(&mut self, within: Duration, want: &str) -> bool {
        self.read_until_seen(within, want, 1).await
    }

    /// Reads until `want` has arrived `times` in all (true) or the stream
    /// ends (false); fails after `within`.
    async fn read_until_seen(&mut self, within: Duration, want: &str, times: usize) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while self.seen.matches(want).count() < times {
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .unwrap_or_else(|_| panic!("waited {within:?} for {want:?}"));
            match frame {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.seen.push_str(&String::from_utf8_lossy(&data));
                    }
                }
                Some(Err(e)) => panic!("the event stream broke: {e}"),
                None => return false,
            }
        }
        true
    }
}

#[tokio::test]
async fn the_dashboard_button_drains_like_sigterm_and_open_event_streams_end() {
    let mut server = Server::start(
        "button",
        &["--queue", "64", "--workers", "2", "--work-ms", "100"],
    );
    let upload = format!("{}/api/epros/upload", server.url);
    let burst = loadgen::burst(&upload, 40, 8).await.unwrap();
    assert_eq!(burst.count(202), 40, "{burst:?}");

    // A trainer's browser has the dashboard open.
    let mut events = EventStream::open(&server.url).await;
    assert!(
        events
            .read_until(Duration::from_secs(1), "event: update")
            .await
    );

    // The button: from this machine, so the controls answer.
    let pressed = loadgen::send(
        Method::POST,
        &format!("{}/controls/shutdown", server.url),
        None,
    )
    .await
    .unwrap();
    assert_eq!(pressed.status, 202, "{}", pressed.body);

    // The page shows the drain, then hears the server stop, then the stream ends.
    assert!(
        events
            .read_until(Duration::from_secs(5), "Shutting down: draining")
            .await
    );
    assert!(
        events
            .read_until(Duration::from_secs(30), "event: stopped")
            .await
    );
    assert!(
        events.seen.contains("Accepted 40, stored 40, lost 0."),
        "{}",
        events.seen
    );
    assert!(!events.read_until(Duration::from_secs(5), "more").await);

    // The open stream did not hold the exit up.
    let status = server.wait_for_exit(Duration::from_secs(10)).await;
    let log = server.log();
    assert_eq!(status.code(), Some(0), "log:\n{log}");
    assert!(
        log.contains("shutdown requested from the dashboard"),
        "{log}"
    );
    assert!(
        log.contains("accepted 40, stored 40, lost 0"),
        "log:\n{log}"
    );
    assert!(!log.contains("still open"), "log:\n{log}");
}

/// The client timeout the slow-client test runs with (`--client-timeout`):
/// short, so the test does not wait 10 s a client. The default, 10 s, is
/// checked on tokio's paused clock in api.rs, and against the CLI in main.rs.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(1);

/// A raw TCP connection to the server, for clients that misbehave.
async fn raw_connection(server: &Server, sends: &[u8]) -> TcpStream {
    let authority = server.url.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(authority).await.unwrap();
    stream.write_all(sends).await.unwrap();
    stream
}

/// Reads until the server closes `stream`: what it sent, and how long after
/// `since` it closed. Fails after 5 s, five times the limit.
async fn until_closed(stream: &mut TcpStream, since: Instant, what: &str) -> (String, Duration) {
    let mut received = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut received))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{what}: the server still held the connection open after 5 s; it sent {:?}",
                String::from_utf8_lossy(&received)
            )
        });
    // A reset counts as closed, as a browser would see it.
    let _ = closed;
    (
        String::from_utf8_lossy(&received).into_owned(),
        since.elapsed(),
    )
}

#[tokio::test]
async fn slow_clients_are_cut_off_and_event_streams_are_not() {
    let limit = format!("{}ms", CLIENT_TIMEOUT.as_millis());
    let server = Server::start(
        "slow",
        &[
            "--db",
            ":memory:",
            "--intake",
            "memory",
            "--client-timeout",
            &limit,
        ],
    );
    let authority = server.url.strip_prefix("http://").unwrap().to_owned();
    let head = |extra: &str| {
        format!(
            "POST /api/epros/upload HTTP/1.1\r\nHost: {authority}\r\n\
             Content-Type: application/json\r\n{extra}"
        )
    };
    // The dashboard, open all along.
    let mut events = EventStream::open(&server.url).await;
    let opened = Instant::now();
    let started = Instant::now();

    // Half the headers, then nothing.
    let mut half_headers = raw_connection(&server, head("Content-Le").as_bytes()).await;
    // All the headers, then 10 of the 100 bytes promised.
    let short = head("Content-Length: 100\r\n\r\n") + r#"{"patientI"#;
    let mut short_body = raw_connection(&server, short.as_bytes()).await;
    // One request, answered, then an idle keep-alive connection.
    let stats = format!("GET /stats HTTP/1.1\r\nHost: {authority}\r\n\r\n");
    let mut idle = raw_connection(&server, stats.as_bytes()).await;
    // A terabyte announced, asking first whether it may be sent.
    let huge = head("Content-Length: 1000000000000\r\nExpect: 100-continue\r\n\r\n");
    let mut huge_body = raw_connection(&server, huge.as_bytes()).await;

    // The terabyte is refused at once, before any `100 Continue`.
    let (answer, took) = until_closed(&mut huge_body, started, "Content-Length: 10^12").await;
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer:?}");
    assert!(answer.contains(r#""code":"body_too_large""#), "{answer:?}");
    assert!(took < CLIENT_TIMEOUT / 2, "413 after {took:?}, not at once");

    // The others are closed once the limit has passed, not before.
    let within = |took: Duration| took >= CLIENT_TIMEOUT && took < CLIENT_TIMEOUT * 3;
    let (answer, took) = until_closed(&mut half_headers, started, "half the headers").await;
    assert!(within(took), "half the headers: closed after {took:?}");
    assert!(
        !answer.contains(" 200 ") && !answer.contains(" 202 "),
        "{answer:?}"
    );

    let (answer, took) = until_closed(&mut short_body, started, "a short body").await;
    assert!(within(took), "a short body: closed after {took:?}");
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer:?}");
    assert!(answer.contains(r#""code":"body_timeout""#), "{answer:?}");

    let (answer, took) = until_closed(&mut idle, started, "an idle connection").await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer:?}");
    assert!(within(took), "an idle connection: closed after {took:?}");

    // Meanwhile the dashboard's stream went on, on the same connection: more
    // updates than it sends before the limit (one every EVENT_EVERY), not
    // only those it had sent by then, still unread.
    let past = CLIENT_TIMEOUT * 2;
    tokio::time::sleep(past.saturating_sub(opened.elapsed())).await;
    let updates = (past.as_millis() / EVENT_EVERY.as_millis()) as usize;
    let went_on = events
        .read_until_seen(Duration::from_secs(3), "event: update", updates)
        .await;
    let seen = events.seen.matches("event: update").count();
    assert!(went_on, "the event stream ended after {seen} updates");
    assert!(opened.elapsed() > past);

    // Nothing half-sent was stored, and the service still answers.
    let stats = server.stats().await;
    assert_eq!(stats["accepted"], 0, "{stats}");
}

//! Router tests for the durable intake (`--intake durable`): uploads that
//! arrive together share a commit, the inbox is bounded, what it holds comes
//! back after a restart, and the crash control answers only whom the other
//! controls answer. The process tests (`process.rs`) crash the real binary.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::header::{HOST, ORIGIN};
use axum::http::{Request, StatusCode};
use common::{TempDir, call, call_from, clinic_on_file, get, post_json, report, wait_for_stats};
use futures::future::join_all;
use playground::pipeline::store::Db;
use playground::{Clinic, Config, Intake};

/// A client on the conference Wi-Fi (TEST-NET-3), not on this machine.
const ELSEWHERE: ([u8; 4], u16) = ([203, 0, 113, 7], 50_000);

fn durable(queue: usize) -> Config {
    Config {
        queue,
        intake: Intake::Durable,
        ..Config::default()
    }
}

/// Rows in the inbox table of the file at `db`.
fn inbox_rows(db: &std::path::Path) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM inbox", [], |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn uploads_arriving_together_share_a_commit() {
    let db = TempDir::new("group-commit");
    let state = clinic_on_file(durable(1024), &db.db_path());
    state.set_paused(true);
    let before = state.stats().commits;

    // Another connection holds SQLite's write lock: the database thread is
    // held up in a commit, as by a slow fsync, for as long as the test says.
    // (Unheld, a fast disk and this debug build let it commit each upload
    // before the next arrived: whether they met was up to timing.)
    let lock = rusqlite::Connection::open(db.db_path()).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    // 64 uploads at the same moment, as 64 patients' phones would send them.
    let uploads = (0..64).map(|i| {
        let state = state.clone();
        async move {
            call(
                &state,
                post_json("/api/epros/upload", report(&format!("{i}"))),
            )
            .await
        }
    });
    let uploads = tokio::spawn(join_all(uploads));
    wait_for_stats(&state, Duration::from_secs(5), "all 64 sent", |s| {
        s.inbox == 64
    })
    .await;
    lock.execute_batch("ROLLBACK").unwrap();
    let answers = uploads.await.unwrap();
    assert!(answers.iter().all(|a| a.status == StatusCode::ACCEPTED));

    let stats = state.stats();
    let commits = stats.commits - before;
    assert_eq!(stats.accepted, 64);
    assert_eq!(inbox_rows(&db.db_path()), 64, "every 202 is on disk");
    // One commit for what the database thread took before the lock held it
    // up, one for all that waited meanwhile (2 in five runs; 3 leaves room
    // for an upload sent a moment late).
    assert!(commits <= 3, "{commits} commits for 64 uploads: {stats:?}");
    // Each commit synced the WAL: at least one fsync per commit.
    assert!(stats.fsyncs >= stats.commits, "{stats:?}");
    assert!(stats.reports_per_commit > 1.0, "{stats:?}");
}

#[tokio::test]
async fn a_full_inbox_answers_503_queue_full_and_writes_nothing() {
    let db = TempDir::new("inbox-full");
    let state = clinic_on_file(durable(2), &db.db_path());
    state.set_paused(true);
    for _ in 0..2 {
        let answer = call(&state, post_json("/api/epros/upload", report("ok"))).await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    }
    let answer = call(&state, post_json("/api/epros/upload", report("ok"))).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.json["code"], "queue_full");
    assert!(
        answer.json["message"]
            .as_str()
            .unwrap()
            .contains("2 places")
    );
    let stats = state.stats();
    assert_eq!((stats.accepted, stats.rejected, stats.inbox), (2, 1, 2));
    assert_eq!(inbox_rows(&db.db_path()), 2);

    // Stored: out of the inbox, in the same transaction, and room again.
    state.set_paused(false);
    wait_for_stats(&state, Duration::from_secs(5), "both stored", |s| {
        s.stored == 2 && s.inbox == 0
    })
    .await;
    assert_eq!(inbox_rows(&db.db_path()), 0);
    let answer = call(&state, post_json("/api/epros/upload", report("ok"))).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn what_the_inbox_holds_is_queued_first_after_a_restart() {
    let db = TempDir::new("recover");
    // The first run: three reports accepted, then an outage, then (as far as
    // the file can tell) a crash: nothing of it stores them.
    let first = clinic_on_file(durable(16), &db.db_path());
    first.set_paused(true);
    let mut ids = Vec::new();
    for text in ["one", "two", "chest pain, three"] {
        let answer = call(&first, post_json("/api/epros/upload", report(text))).await;
        ids.push(answer.json["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(inbox_rows(&db.db_path()), 3);

    // The next start, on the same file.
    let db_again = Db::open(&db.db_path().to_string_lossy()).unwrap();
    let second = Clinic::start(durable(16), db_again);
    let stats = second.stats();
    assert_eq!(stats.recovered, 3);
    // Their status URLs answer at once...
    for id in &ids {
        let answer = call(&second, get(&format!("/api/epros/{id}"))).await;
        assert_eq!(answer.status, StatusCode::OK, "{id}: {}", answer.text);
    }
    // ...and they are stored, exactly once, out of the inbox.
    wait_for_stats(
        &second,
        Duration::from_secs(5),
        "the recovered stored",
        |s| s.stored == 3 && s.inbox == 0,
    )
    .await;
    for id in &ids {
        let answer = call(&second, get(&format!("/api/epros/{id}"))).await;
        let status = answer.json["status"].as_str().unwrap();
        assert!(["stored", "flagged"].contains(&status), "{id}: {status}");
    }
    assert_eq!(inbox_rows(&db.db_path()), 0);
    let conn = rusqlite::Connection::open(db.db_path()).unwrap();
    let audited: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE event = 'received'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(audited, 3);
}

#[tokio::test]
async fn an_inbox_from_the_last_version_keeps_its_reports() {
    // A file as version 2 left it: the inbox's id `UNIQUE` (an index), and
    // two reports accepted and never stored.
    let db = TempDir::new("schema-2");
    let ids = [
        "019ae0c4-1f2a-7000-8000-000000000001",
        "019ae0c4-1f2a-7000-8000-000000000002",
    ];
    {
        let conn = rusqlite::Connection::open(db.db_path()).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE inbox (
                 seq            INTEGER PRIMARY KEY,
                 id             TEXT NOT NULL UNIQUE,
                 patient_id     TEXT NOT NULL,
                 trial_id       TEXT NOT NULL,
                 report_data    TEXT NOT NULL,
                 received_at_ms INTEGER NOT NULL
             );
             PRAGMA user_version = 2;",
        )
        .unwrap();
        for (seq, id) in (1_i64..).zip(ids) {
            conn.execute(
                "INSERT INTO inbox VALUES (?1, ?2, 'SUBJ-00042', 'EPRO-2024-07', 'fine', 0)",
                rusqlite::params![seq, id],
            )
            .unwrap();
        }
    }

    let state = Clinic::start(
        durable(16),
        Db::open(&db.db_path().to_string_lossy()).unwrap(),
    );
    assert_eq!(state.stats().recovered, 2);
    wait_for_stats(&state, Duration::from_secs(5), "both stored", |s| {
        s.stored == 2 && s.inbox == 0
    })
    .await;
    for id in ids {
        let answer = call(&state, get(&format!("/api/epros/{id}"))).await;
        assert_eq!(answer.json["status"], "stored", "{id}: {}", answer.text);
    }
    // The table was made again, without the index.
    let conn = rusqlite::Connection::open(db.db_path()).unwrap();
    let (version, indexes): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT user_version FROM pragma_user_version),
                    (SELECT COUNT(*) FROM sqlite_schema
                     WHERE type = 'index' AND tbl_name = 'inbox')",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!((version, indexes), (3, 0));
}

#[tokio::test]
async fn the_crash_control_is_guarded_like_shutdown() {
    // Every refusal below happens in the guard, before the handler: were one
    // of them let through, this test process would abort, and fail.
    let state = common::clinic(Config {
        intake: Intake::Memory,
        ..Config::default()
    });
    state.set_listening_on("127.0.0.1:3000".parse().unwrap());
    let crash = |host: &str| {
        Request::post("/controls/crash")
            .header(HOST, host)
            .body(Body::empty())
            .unwrap()
    };

    let refused = call_from(ELSEWHERE, &state, crash("127.0.0.1:3000")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json["code"], "controls_local_only");

    let refused = call(&state, crash("evil.example:3000")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json["code"], "controls_host_not_local");

    let mut cross_site = crash("127.0.0.1:3000");
    cross_site
        .headers_mut()
        .insert(ORIGIN, "https://evil.example".parse().unwrap());
    let refused = call(&state, cross_site).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json["code"], "cross_site_request");

    let guarded = common::clinic(Config {
        intake: Intake::Memory,
        ..Config::default()
    });
    guarded.set_control_token("trainer-2024".to_owned());
    let refused = call(&guarded, crash("localhost")).await;
    assert_eq!(refused.json["code"], "control_token_required");

    // Still here, still serving.
    assert_eq!(call(&state, get("/stats")).await.status, StatusCode::OK);
    let page = call(&state, get("/")).await.text;
    assert!(page.contains(r#"action="/controls/crash""#), "{page}");
    assert!(page.contains(r#"id="crash""#));
}

#[tokio::test]
async fn stats_and_metrics_show_the_intake() {
    let db = TempDir::new("metrics");
    let state = clinic_on_file(durable(8), &db.db_path());
    state.set_paused(true);
    call(&state, post_json("/api/epros/upload", report("ok"))).await;
    let stats = call(&state, get("/stats")).await.json;
    assert_eq!(stats["intake"], "durable");
    assert_eq!(stats["inbox"], 1);
    assert_eq!(stats["inboxCapacity"], 8);
    assert_eq!(stats["recovered"], 0);
    for key in ["commits", "fsyncs", "reportsPerCommit"] {
        assert!(stats[key].as_f64().unwrap() > 0.0, "{key}: {stats}");
    }
    let metrics = call(&state, get("/metrics")).await;
    for line in [
        r#"clinic_intake_info{intake="durable"} 1"#,
        "clinic_inbox_depth 1",
        "clinic_inbox_capacity 8",
        "clinic_reports_recovered_total 0",
    ] {
        assert!(
            metrics.text.lines().any(|l| l == line),
            "{line:?} in:\n{}",
            metrics.text
        );
    }
    for name in [
        "db_commits_total",
        "db_fsyncs_total",
        "db_reports_per_commit",
    ] {
        assert!(metrics.text.contains(&format!("clinic_{name} ")), "{name}");
    }
}

#[tokio::test]
async fn an_upload_whose_client_hangs_up_before_its_commit_is_stored_all_the_same() {
    let db = TempDir::new("hang-up");
    let state = clinic_on_file(durable(16), &db.db_path());
    // Another connection holds the file's write lock, so the commit waits.
    let blocker = rusqlite::Connection::open(db.db_path()).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    // The handler runs until it waits for its commit, and is dropped there,
    // as the server drops it when the client hangs up.
    let upload = call(&state, post_json("/api/epros/upload", report("hung up")));
    let answered = futures::FutureExt::now_or_never(upload);
    assert!(answered.is_none(), "answered before its commit");
    blocker.execute_batch("ROLLBACK").unwrap();
    // Committed once the lock is free, and handed to the workers in this run,
    // not left in the inbox for the next start.
    wait_for_stats(&state, Duration::from_secs(10), "the report stored", |s| {
        s.stored == 1
    })
    .await;
    assert_eq!(state.stats().accepted, 1);
    assert_eq!(inbox_rows(&db.db_path()), 0, "stored and out of the inbox");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_that_lands_after_the_drain_deadline_is_counted() {
    let file = TempDir::new("late-commit");
    let db = Db::open(&file.db_path().to_string_lossy()).unwrap();
    let config = Config {
        workers: 1,
        ..durable(16)
    };
    let state = Clinic::start(config, db.clone());
    state.set_paused(true);
    let answer = call(&state, post_json("/api/epros/upload", report("late"))).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);

    // Another connection holds SQLite's write lock, so the worker's commit
    // waits for it (the database thread's busy timeout is 5 s)...
    let lock = rusqlite::Connection::open(file.db_path()).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    state.set_paused(false);
    wait_for_stats(
        &state,
        Duration::from_secs(5),
        "the worker to take it",
        |s| s.queued == 0,
    )
    .await;
    // ...past the drain's deadline...
    let drained = state.drain(Duration::from_millis(200)).await;
    assert!(drained.deadline_passed);
    // ...and lands after it, before the database closes, as in `main`.
    lock.execute_batch("ROLLBACK").unwrap();
    db.close().await;

    // The commit went first (the worker's job was waiting at the database
    // thread all along): the file has the report stored, and so must the
    // summary, taken after the close as `main` takes it.
    let count = |table: &str| -> usize {
        let conn = rusqlite::Connection::open(file.db_path()).unwrap();
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let rows: i64 = conn.query_row(&sql, [], |row| row.get(0)).unwrap();
        rows as usize
    };
    assert_eq!(
        (count("reports"), count("inbox")),
        (1, 0),
        "the late commit landed"
    );
    let summary = state.summary(drained);
    assert_eq!(
        (summary.stored, summary.in_inbox, summary.lost()),
        (1, 0, 0),
        "{summary}"
    );
}

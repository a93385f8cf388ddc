//! Router tests: requests go straight into `app(state)` with `oneshot`, no
//! socket. Each test gets its own service with an in-memory database (or a
//! temporary file when the test reads the database itself).

mod common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::body::Bytes;
use axum::http::header::{ALLOW, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{Method, Request, StatusCode};
use common::{TempDir, call, clinic, clinic_on_file, get, post_json, report, wait_for_stats};
use playground::{AppState, Config};
use serde_json::json;

/// Polls a report's status until it is `want`, or fails after 5 s.
async fn wait_for_status(state: &AppState, status_url: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let answer = call(state, get(status_url)).await;
        if answer.json["status"] == want {
            assert_eq!(answer.status, StatusCode::OK);
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{status_url} never became {want}; last answer {} {}",
            answer.status,
            answer.text
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_valid_upload_is_accepted_queued_and_then_stored() {
    let state = clinic(Config::default());
    let answer = call(&state, post_json("/api/epros/upload", report("slept well"))).await;

    assert_eq!(answer.status, StatusCode::ACCEPTED);
    assert_eq!(answer.json["status"], "queued");
    let id = answer.json["id"].as_str().expect("an id");
    assert_eq!(answer.json["statusUrl"], format!("/api/epros/{id}"));

    wait_for_status(&state, &format!("/api/epros/{id}"), "stored").await;
    let answer = call(&state, get(&format!("/api/epros/{id}"))).await;
    assert_eq!(answer.json, json!({"id": id, "status": "stored"}));
}

#[tokio::test]
async fn status_goes_queued_processing_flagged() {
    let state = clinic(Config::default());
    state.set_paused(true);
    let answer = call(
        &state,
        post_json("/api/epros/upload", report("chest pain, pain 9/10")),
    )
    .await;
    let url = answer.json["statusUrl"].as_str().unwrap().to_owned();

    // Paused workers: it waits in the queue.
    assert_eq!(call(&state, get(&url)).await.json["status"], "queued");
    // Slow enough to be seen mid-pipeline.
    state.set_work_ms(900);
    state.set_paused(false);
    wait_for_status(&state, &url, "processing").await;
    wait_for_status(&state, &url, "flagged").await;
    assert_eq!(state.stats().flagged, 1);
}

#[tokio::test]
async fn a_full_queue_answers_503_queue_full_with_retry_after() {
    let state = clinic(Config {
        queue: 2,
        ..Config::default()
    });
    state.set_paused(true);
    for _ in 0..2 {
        let answer = call(&state, post_json("/api/epros/upload", report("ok"))).await;
        assert_eq!(answer.status, StatusCode::ACCEPTED);
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
    assert_eq!(answer.headers[RETRY_AFTER], "1");
    let stats = state.stats();
    assert_eq!((stats.accepted, stats.rejected, stats.queued), (2, 1, 2));
}

#[tokio::test]
async fn shutting_down_answers_503_shutting_down_on_both_designs() {
    let state = clinic(Config::default());
    state.begin_shutdown();
    for path in ["/api/epros/upload", "/data/submit"] {
        let answer = call(&state, post_json(path, report("ok"))).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(answer.json["code"], "shutting_down", "{path}");
        assert!(answer.headers.contains_key(RETRY_AFTER), "{path}");
    }
    assert_eq!(state.stats().refused_shutting_down, 2);
}

#[tokio::test]
async fn fire_and_forget_answers_200_and_still_stores_the_report() {
    let state = clinic(Config::default());
    let answer = call(&state, post_json("/data/submit", report("slept well"))).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.json["message"]
            .as_str()
            .unwrap()
            .contains("received")
    );
    let id = answer.json["id"].as_str().unwrap();
    wait_for_status(&state, &format!("/api/epros/{id}"), "stored").await;
    assert_eq!(state.stats().fire_and_forget_accepted, 1);
}

/// One bad request, and what the client must get back.
struct Bad {
    what: &'static str,
    method: Method,
    path: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
}

/// A POST of `body` as JSON to the upload endpoint.
fn upload(
    what: &'static str,
    body: impl Into<Vec<u8>>,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
) -> Bad {
    Bad {
        what,
        method: Method::POST,
        path: "/api/epros/upload",
        content_type: Some("application/json"),
        body: body.into(),
        status,
        code,
        field,
    }
}

/// A request without a body.
fn bare(
    what: &'static str,
    method: Method,
    path: &'static str,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
) -> Bad {
    Bad {
        what,
        method,
        path,
        content_type: None,
        body: Vec::new(),
        status,
        code,
        field,
    }
}

/// Kept as a table, one case a line: easier to read than rustfmt's layout.
#[rustfmt::skip]
fn bad_inputs() -> Vec<Bad> {
    let body = |patient: &str, trial: &str, data: &str| {
        format!(r#"{{"patientId":{patient},"trialId":{trial},"reportData":{data}}}"#)
    };
    let long = |n: usize| format!("\"{}\"", "S".repeat(n));
    let (p, t, d) = (r#""S1""#, r#""T1""#, r#""ok""#);
    vec![
        upload("empty body",             "",                               400, "empty_body",     None),
        upload("blank body",             "  \n ",                          400, "empty_body",     None),
        upload("not JSON",               "patient=1",                      400, "invalid_json",   None),
        upload("truncated JSON",         r#"{"patientId": "S1", "#,        400, "invalid_json",   None),
        upload("trailing bytes",         body(p, t, d) + " x",             400, "invalid_json",   None),
        upload("single quotes",          "{'patientId': 'S1'}",            400, "invalid_json",   None),
        upload("invalid UTF-8",          &b"{\"patientId\": \"\xff\xfe\"}"[..], 400, "invalid_json", None),
        upload("an array",               r#"["S1", "T1", "ok"]"#,          422, "not_an_object",  None),
        upload("a string",               r#""hello""#,                     422, "not_an_object",  None),
        upload("null",                   "null",                           422, "not_an_object",  None),
        upload("empty object",           "{}",                             422, "missing_field",  Some("patientId")),
        upload("patientId missing",      r#"{"trialId":"T1","reportData":"ok"}"#,   422, "missing_field", Some("patientId")),
        upload("trialId missing",        r#"{"patientId":"S1","reportData":"ok"}"#, 422, "missing_field", Some("trialId")),
        upload("reportData missing",     r#"{"patientId":"S1","trialId":"T1"}"#,    422, "missing_field", Some("reportData")),
        upload("patientId null",         body("null", t, d),               422, "missing_field",  Some("patientId")),
        upload("patientId twice",        r#"{"patientId":"S1","patientId":"S2","trialId":"T1","reportData":"ok"}"#, 422, "duplicate_field", None),
        upload("patientId empty",        body(r#""""#, t, d),              422, "empty_field",    Some("patientId")),
        upload("reportData blank",       body(p, t, r#""  \n ""#),         422, "empty_field",    Some("reportData")),
        upload("patientId a number",     body("42", t, d),                 422, "wrong_type",     Some("patientId")),
        upload("trialId an array",       body(p, r#"["T1"]"#, d),          422, "wrong_type",     Some("trialId")),
        upload("reportData an object",   body(p, t, r#"{"pain":8}"#),      422, "wrong_type",     Some("reportData")),
        upload("reportData a bool",      body(p, t, "true"),               422, "wrong_type",     Some("reportData")),
        upload("patientId too long",     body(&long(65), t, d),            422, "field_too_long", Some("patientId")),
        upload("trialId too long",       body(p, &long(65), d),            422, "field_too_long", Some("trialId")),
        upload("reportData too long",    body(p, t, &long(33 * 1024)),     422, "field_too_long", Some("reportData")),
        upload("patientId with a space", body(r#""S 1""#, t, d),           422, "invalid_field",  Some("patientId")),
        upload("patientId an e-mail",    body(r#""a@b.cn""#, t, d),        422, "invalid_field",  Some("patientId")),
        upload("patientId a phone",      body(r#""13812345678""#, t, d),   422, "pii_in_identifier", Some("patientId")),
        upload("trialId an ID number",   body(p, r#""11010519900307123X""#, d), 422, "pii_in_identifier", Some("trialId")),
        upload("patientId a phone in groups",    body(r#""138_1234_5678""#, t, d),         422, "pii_in_identifier", Some("patientId")),
        upload("patientId a phone digit by digit", body(r#""1-3-8-1-2-3-4-5-6-7-8""#, t, d), 422, "pii_in_identifier", Some("patientId")),
        upload("patientId a 15-digit ID number", body(r#""110105900307123""#, t, d),       422, "pii_in_identifier", Some("patientId")),
        upload("reportData only NULs",   body(p, t, r#""\u0000\u0000""#),  422, "empty_field",    Some("reportData")),
        upload("reportData only invisible", body(p, t, r#""\u200b\ufeff\u3000\u00a0\u0007""#), 422, "empty_field", Some("reportData")),
        upload("body over 64 KiB",       body(p, t, &long(70 * 1024)),     413, "body_too_large", None),
        Bad { content_type: Some("text/plain"), ..upload("text/plain", body(p, t, d), 415, "unsupported_media_type", None) },
        Bad { content_type: None,               ..upload("no Content-Type", body(p, t, d), 415, "unsupported_media_type", None) },
        Bad { content_type: Some("application/x-www-form-urlencoded"), ..upload("a form", "patientId=S1", 415, "unsupported_media_type", None) },
        Bad { method: Method::PUT,              ..upload("PUT on upload", body(p, t, d), 405, "method_not_allowed", None) },
        bare("GET on upload",      Method::GET,    "/api/epros/upload",        405, "method_not_allowed", None),
        bare("DELETE a report",    Method::DELETE, "/api/epros/00000000-0000-4000-8000-000000000000", 405, "method_not_allowed", None),
        bare("unknown API path",   Method::POST,   "/api/nothing-here",        404, "not_found", None),
        bare("path too deep",      Method::GET,    "/api/epros/upload/extra",  404, "not_found", None),
        bare("id not a UUID",      Method::GET,    "/api/epros/not-a-uuid",    404, "not_found", None),
        bare("unknown id",         Method::GET,    "/api/epros/6f1c2d4e-0000-4000-8000-000000000000", 404, "not_found", None),
        bare("timeout not a number", Method::GET,  "/leaky?timeout_ms=abc",    400, "invalid_query", Some("timeout_ms")),
        bare("work over a minute", Method::GET,    "/leaky?work_ms=600000",    400, "invalid_query", Some("work_ms")),
        bare("zero timeout",       Method::GET,    "/fixed?timeout_ms=0",      400, "invalid_query", Some("timeout_ms")),
        bare("negative work",      Method::GET,    "/fixed?work_ms=-5",        400, "invalid_query", Some("work_ms")),
    ]
}

#[tokio::test]
async fn bad_requests_get_a_json_error_with_a_stable_code() {
    let state = clinic(Config::default());
    let cases = bad_inputs();
    assert!(cases.len() >= 20);
    for case in cases {
        let mut request = Request::builder()
            .method(case.method.clone())
            .uri(case.path);
        if let Some(content_type) = case.content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        let answer = call(&state, request.body(Body::from(case.body)).unwrap()).await;

        let what = case.what;
        assert_eq!(
            answer.status.as_u16(),
            case.status,
            "{what}: {}",
            answer.text
        );
        assert_eq!(answer.headers[CONTENT_TYPE], "application/json", "{what}");
        assert_eq!(answer.json["code"], case.code, "{what}: {}", answer.text);
        let message = answer.json["message"].as_str().unwrap_or("");
        assert!(
            message.len() > 10 && message.ends_with('.'),
            "{what}: a sentence, got {message:?}"
        );
        match case.field {
            Some(field) => assert_eq!(answer.json["field"], field, "{what}"),
            None => assert!(
                answer.json.get("field").is_none(),
                "{what}: {}",
                answer.text
            ),
        }
    }
    // None of it reached the queue.
    assert_eq!(state.stats().accepted, 0);
}

#[tokio::test]
async fn wrong_methods_list_the_allowed_ones() {
    let state = clinic(Config::default());
    let answer = call(&state, get("/api/epros/upload")).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers[ALLOW], "POST");
}

#[tokio::test]
async fn accepted_content_types_include_charset_and_json_suffixes() {
    let state = clinic(Config::default());
    for content_type in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/epro+json",
    ] {
        let request = Request::post("/api/epros/upload")
            .header(CONTENT_TYPE, content_type)
            .body(Body::from(report("ok")))
            .unwrap();
        assert_eq!(
            call(&state, request).await.status,
            StatusCode::ACCEPTED,
            "{content_type}"
        );
    }
}

#[tokio::test]
async fn fixed_answers_200_when_the_query_is_fast_enough() {
    let state = clinic(Config::default());
    for path in [
        "/fixed?timeout_ms=1000&work_ms=10",
        "/leaky?timeout_ms=1000&work_ms=10",
    ] {
        let answer = call(&state, get(path)).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(answer.json["result"], "42 rows of lab results");
    }
    let answer = call(&state, get("/fixed?timeout_ms=20&work_ms=5000")).await;
    assert_eq!(answer.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(answer.json["code"], "timeout");
    assert_eq!(state.stats().leaked, 0);
}

#[tokio::test]
async fn stats_and_metrics_show_the_counters() {
    let state = clinic(Config {
        queue: 1,
        ..Config::default()
    });
    state.set_paused(true);
    call(&state, post_json("/api/epros/upload", report("ok"))).await;
    call(&state, post_json("/api/epros/upload", report("ok"))).await;

    let stats = call(&state, get("/stats")).await;
    assert_eq!(stats.status, StatusCode::OK);
    for key in [
        "tasks",
        "queued",
        "capacity",
        "workers",
        "busy",
        "accepted",
        "rejected",
        "stored",
        "flagged",
        "fireAndForgetInFlight",
        "leaked",
    ] {
        assert!(
            stats.json[key].is_number(),
            "/stats has {key}: {}",
            stats.text
        );
    }
    assert_eq!(stats.json["accepted"], 1);
    assert_eq!(stats.json["rejected"], 1);
    assert_eq!(stats.json["queued"], 1);
    assert_eq!(stats.json["workers"], 8);
    assert!(
        stats.json["tasks"].as_u64().unwrap() >= 8,
        "the workers are tasks"
    );

    let metrics = call(&state, get("/metrics")).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics.headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    for line in [
        "clinic_reports_accepted_total 1",
        "clinic_reports_rejected_total 1",
        "clinic_queue_depth 1",
    ] {
        assert!(
            metrics.text.lines().any(|l| l == line),
            "/metrics has {line:?}:\n{}",
            metrics.text
        );
    }
    assert!(metrics.text.contains("# TYPE clinic_tasks_alive gauge"));
}

#[tokio::test]
async fn no_phone_id_number_or_email_reaches_the_database() {
    // Each identifier as a patient might type it. The checks below do not use
    // the service's own patterns: they look for these exact digits and for
    // shapes (long digit runs, '@'), so a bug in the patterns cannot hide.
    let identifiers = [
        "13812345678",
        "+86 139 1234 5678",
        "150-1234-5678",
        "８６１５８１２３４５６７８",
        "110105199003071234",
        "11010519900307123X",
        "zhang.wei@example.com",
        "13812345678@163.com",
        "138.1234.5678",
        "1 3 8 1 2 3 4 5 6 7 8",
        "138\u{200b}1234\u{200b}5678",
        "110105 1990 0307 1234",
        "110105900307123",
        "张伟@例子.中国",
        "zhang.wei＠example。com",
        "nurse@[192.0.2.7]",
    ];
    let db = TempDir::new("privacy");
    let state = clinic_on_file(Config::default(), &db.db_path());
    // Paused, so that the durable intake's reports wait in the inbox: no
    // identifier may reach that table either.
    state.set_paused(true);
    for (i, identifier) in identifiers.iter().enumerate() {
        let text = format!("Chest pain again. 联系方式：{identifier}，谢谢。 pain 9/10");
        let path = if i % 2 == 0 {
            "/api/epros/upload"
        } else {
            "/data/submit"
        };
        let answer = call(&state, post_json(path, report(&text))).await;
        assert!(answer.status.is_success(), "{path}: {}", answer.text);
    }
    let conn = rusqlite::Connection::open(db.db_path()).unwrap();
    let waiting = column(&conn, "SELECT report_data FROM inbox");
    assert_eq!(waiting.len(), identifiers.len().div_ceil(2));
    assert_no_identifier(&identifiers, &waiting);

    state.set_paused(false);
    let all = identifiers.len() as u64;
    wait_for_stats(&state, Duration::from_secs(5), "every report stored", |s| {
        s.stored >= all
    })
    .await;

    let mut texts = Vec::new();
    for sql in [
        "SELECT report_text FROM reports",
        "SELECT patient_id FROM reports",
        "SELECT trial_id FROM reports",
        "SELECT reasons FROM alerts",
        "SELECT event FROM audit_log",
        "SELECT report_data FROM inbox",
    ] {
        texts.extend(column(&conn, sql));
    }
    let stored = column(&conn, "SELECT report_text FROM reports");
    assert_eq!(stored.len(), identifiers.len());
    assert_no_identifier(&identifiers, &texts);
    // And the masks are there: the reports were stored, not dropped.
    let all = stored.join("\n");
    for mask in ["[phone]", "[id-number]", "[email]"] {
        assert!(all.contains(mask), "{mask} in {all}");
    }
    // Still flagged: the scorer saw the masked text and the chest pain.
    assert_eq!(state.stats().flagged, identifiers.len() as u64);
}

/// Every value of the first column `sql` selects, as text.
fn column(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    let rows = stmt.query_map([], |row| row.get::<_, String>(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

/// Fails if any of `texts` holds one of `identifiers`' digits, an `@`, or
/// a run of eleven digits or more.
fn assert_no_identifier(identifiers: &[&str], texts: &[String]) {
    for text in texts {
        let digits_only: String = text.chars().filter(char::is_ascii_digit).collect();
        for identifier in identifiers {
            let core = ascii_digits(identifier);
            let core = core.strip_prefix("86").unwrap_or(&core);
            assert!(
                !digits_only.contains(core) || core.is_empty(),
                "{identifier} survives in {text:?}"
            );
        }
        assert!(
            !text.contains(['@', '＠']),
            "an e-mail address survives in {text:?}"
        );
        let longest_digit_run = text
            .split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(longest_digit_run < 11, "a long number survives in {text:?}");
    }
}

/// The digits of `text`, full-width ones (`１３８`) turned to ASCII.
fn ascii_digits(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '0'..='9' => Some(c),
            '０'..='９' => char::from_digit(c as u32 - '０' as u32, 10),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_audit_log_is_append_only() {
    let db = TempDir::new("audit");
    let state = clinic_on_file(Config::default(), &db.db_path());
    let answer = call(&state, post_json("/api/epros/upload", report("ok"))).await;
    wait_for_status(&state, answer.json["statusUrl"].as_str().unwrap(), "stored").await;

    let conn = rusqlite::Connection::open(db.db_path()).unwrap();
    let events: Vec<String> = conn
        .prepare("SELECT event FROM audit_log ORDER BY seq")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(events, ["received", "stored"]);
    let update = conn.execute("UPDATE audit_log SET event = 'stored'", []);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = conn.execute("DELETE FROM audit_log", []);
    assert!(delete.unwrap_err().to_string().contains("append-only"));
}

#[tokio::test]
async fn workers_can_be_paused_resumed_and_resized_while_running() {
    let state = clinic(Config {
        workers: 1,
        work_ms: 600,
        ..Config::default()
    });
    state.set_paused(true);
    for _ in 0..4 {
        let answer = call(&state, post_json("/api/epros/upload", report("ok"))).await;
        assert_eq!(answer.status, StatusCode::ACCEPTED);
    }
    assert_eq!(state.stats().queued, 4, "paused: nothing taken");

    // Four workers, resumed: all four reports are worked on at once.
    state.set_workers(4);
    state.set_paused(false);
    wait_for_stats(&state, Duration::from_secs(5), "4 busy workers", |s| {
        s.busy >= 4
    })
    .await;
    state.set_workers(1);
    assert_eq!(state.stats().workers, 1);
    // Retired workers finish the report they hold.
    wait_for_stats(&state, Duration::from_secs(5), "all 4 stored", |s| {
        s.stored >= 4
    })
    .await;
}

#[tokio::test]
async fn shutdown_during_an_outage_with_an_empty_queue_does_not_wait_out_the_deadline() {
    let state = clinic(Config::default());
    state.set_paused(true);
    let drain = tokio::time::timeout(
        Duration::from_secs(10),
        state.drain(Duration::from_secs(30)),
    );
    let drained = drain
        .await
        .expect("paused workers with nothing queued stop at once");
    assert!(!drained.deadline_passed);
    assert_eq!(state.summary(drained).lost(), 0);
}

/// An upload that promises `declared` bytes and sends `body`.
fn promised(declared: &str, body: Body) -> Request<Body> {
    Request::post("/api/epros/upload")
        .header(CONTENT_TYPE, "application/json")
        .header(CONTENT_LENGTH, declared)
        .body(body)
        .unwrap()
}

// On tokio's paused clock: the 10 s pass in virtual time, at once.
#[tokio::test(start_paused = true)]
async fn a_body_that_stops_arriving_gets_408_after_the_default_10_s() {
    let state = clinic(Config::default());
    // 100 bytes promised, none ever sent.
    let never = futures::stream::pending::<Result<Bytes, std::io::Error>>();
    let started = tokio::time::Instant::now();
    let request = promised("100", Body::from_stream(never));
    // A minute of virtual time at most: without a limit, this would wait for ever.
    let answer = tokio::time::timeout(Duration::from_secs(60), call(&state, request))
        .await
        .expect("an answer within a minute");
    assert_eq!(
        answer.status,
        StatusCode::REQUEST_TIMEOUT,
        "{}",
        answer.text
    );
    assert_eq!(answer.json["code"], "body_timeout");
    assert!(answer.json["message"].as_str().unwrap().contains("10.0 s"));
    assert_eq!(answer.headers[CONNECTION], "close");
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    assert_eq!(state.stats().accepted, 0);
}

#[tokio::test(start_paused = true)]
async fn a_body_declared_too_large_is_refused_before_it_is_read() {
    let state = clinic(Config::default());
    let unread = futures::stream::poll_fn(
        |_| -> std::task::Poll<Option<Result<Bytes, std::io::Error>>> {
            panic!("the body of a 1 TB upload was read")
        },
    );
    let started = tokio::time::Instant::now();
    let request = promised("1000000000000", Body::from_stream(unread));
    let answer = tokio::time::timeout(Duration::from_secs(60), call(&state, request))
        .await
        .expect("an answer within a minute");
    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        answer.text
    );
    assert_eq!(answer.json["code"], "body_too_large");
    assert_eq!(answer.headers[CONNECTION], "close");
    assert_eq!(started.elapsed(), Duration::ZERO, "at once");
    // An upload that sends what it declares is read and accepted as usual.
    let ok = report("fits");
    let answer = call(&state, promised(&ok.len().to_string(), Body::from(ok))).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
}

//! Router tests for the dashboard and its controls: what a trainer sees on the
//! page, what `/events` pushes, and who the controls answer.
//!
//! Requests go through `app(state)` with `oneshot`; `MockConnectInfo` plays
//! the client's address (the real server gets it from the socket). Tests that
//! start a burst also serve the router on 127.0.0.1, since a burst sends real
//! HTTP to the server's own address.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::header::{ACCEPT, CONTENT_TYPE, COOKIE, HOST, LOCATION, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, Request, StatusCode};
use common::{LOOPBACK, call, call_from, clinic, get, post_json, report, respond_from};
use http_body_util::BodyExt;
use playground::{AppState, Config, app};
use tokio::net::TcpListener;

/// A client on the conference Wi-Fi (TEST-NET-3), not on this machine.
const ELSEWHERE: ([u8; 4], u16) = ([203, 0, 113, 7], 50_000);

/// A control request as a script or curl sends it: form body, JSON answer.
fn control(path: &str, form: &str) -> Request<Body> {
    Request::post(path)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap()
}

/// The same, as a browser submits a form without JavaScript.
fn form_post(path: &str, form: &str) -> Request<Body> {
    Request::post(path)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
        .body(Body::from(form.to_owned()))
        .unwrap()
}

/// An upload of `text` as a report, as a patient's app sends it.
fn upload(text: &str) -> Request<Body> {
    post_json("/api/epros/upload", report(text))
}

/// The `name=value` part of a response's `Set-Cookie` for `name`.
fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

/// Waits until `done` holds for the page's live fragments, or fails after `within`.
async fn wait_for_page(
    state: &AppState,
    within: Duration,
    what: &str,
    done: impl Fn(&str) -> bool,
) {
    let deadline = Instant::now() + within;
    loop {
        let page = call(state, get("/")).await.text;
        if done(&page) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited {within:?} for {what}; page:\n{page}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Serves the router on 127.0.0.1, as `main` does, and tells the state where.
async fn serve(state: &AppState) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    state.set_listening_on(addr);
    let service = app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
}

#[tokio::test]
async fn the_page_renders_its_gauges_with_the_numbers_as_of_load() {
    let state = clinic(Config::default());
    state.set_paused(true);
    for _ in 0..3 {
        assert_eq!(
            call(&state, upload("slept well")).await.status,
            StatusCode::ACCEPTED
        );
    }

    let page = call(&state, get("/")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    // Never framed by another site, and nothing inline for a script to hide in.
    assert_eq!(
        page.headers["content-security-policy"],
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    assert_eq!(page.headers["x-frame-options"], "DENY");
    let html = page.text;
    assert!(
        !html.contains("style=") && !html.contains("<style"),
        "{html}"
    );
    let handler = regex::Regex::new(r"<script>|\son[a-z]+=").unwrap();
    assert!(!handler.is_match(&html), "inline script:\n{html}");
    // Without JavaScript the numbers are there, as of the page's load.
    for gauge in [
        r#"id="queue-depth" data-value="3">3<"#,
        r#"<span class="of"> / 1,024</span>"#,
        r#"<rect width="0.3" height="1"/>"#,
        r#"id="workers-busy" data-value="0""#,
        r#"id="paused" data-value="true""#,
        r#"id="accepted-count" data-value="3""#,
        r#"id="rejected-count" data-value="0""#,
        r#"id="tasks-alive""#,
        r#"id="leaked" data-value="0""#,
        r#"<polyline class="line""#,
        // The durable intake (the default): 3 in the inbox, on disk.
        r#"id="intake" data-value="durable""#,
        r#"id="inbox-depth" data-value="3">3<"#,
        r#"id="reports-per-commit""#,
        "Workers paused: database outage",
    ] {
        assert!(html.contains(gauge), "the page shows {gauge:?}:\n{html}");
    }
    // Its stylesheet and script come from the binary itself.
    for (asset, kind) in [
        ("/assets/dashboard.css", "text/css"),
        ("/assets/dashboard.js", "text/javascript"),
    ] {
        assert!(html.contains(asset));
        let answer = call(&state, get(asset)).await;
        assert_eq!(answer.status, StatusCode::OK, "{asset}");
        assert!(
            answer.headers[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        assert!(answer.text.len() > 500, "{asset} is the real file");
    }
}

#[tokio::test]
async fn the_queue_gauge_turns_amber_then_red_as_it_fills() {
    let state = clinic(Config {
        queue: 4,
        ..Config::default()
    });
    state.set_paused(true);
    let level = |html: &str| {
        ["ok", "warn", "full"]
            .into_iter()
            .find(|level| html.contains(&format!(r#"class="live queue {level}""#)))
            .unwrap()
    };
    assert_eq!(level(&call(&state, get("/")).await.text), "ok");
    for _ in 0..3 {
        call(&state, upload("ok")).await;
    }
    assert_eq!(
        level(&call(&state, get("/")).await.text),
        "warn",
        "3 of 4 is 75%"
    );
    call(&state, upload("ok")).await;
    assert_eq!(level(&call(&state, get("/")).await.text), "full");
}

#[tokio::test]
async fn a_script_in_a_report_appears_escaped() {
    let state = clinic(Config::default());
    let attack = "<script>alert(1)</script> & \"chest pain\"";
    assert_eq!(
        call(&state, upload(attack)).await.status,
        StatusCode::ACCEPTED
    );

    wait_for_page(
        &state,
        Duration::from_secs(5),
        "the report to be listed",
        |page| page.contains("alert(1)"),
    )
    .await;
    let page = call(&state, get("/")).await.text;
    assert!(
        page.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;chest pain&#34;"),
        "the report text, escaped, in the latest reports and the alerts:\n{page}"
    );
    assert!(!page.contains("<script>alert"), "never raw:\n{page}");
    // The events carry the same fragments, escaped the same way.
    let event = first_event(&state).await;
    assert!(event.contains("&#60;script&#62;alert(1)"), "{event}");
    assert!(!event.contains("<script>alert"));
}

/// Opens `/events` and reads until the first complete event, at most 1 s.
async fn first_event(state: &AppState) -> String {
    let response = call_stream(state).await;
    let mut body = response.into_body();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    while !text.contains("\n\n") {
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .expect("an event within 1 s")
            .expect("the stream is open")
            .unwrap();
        if let Ok(data) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&data));
        }
    }
    text
}

/// Opens `/events`, from this machine.
async fn call_stream(state: &AppState) -> axum::response::Response {
    let response = respond_from(LOOPBACK, state, get("/events")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
    response
}

#[tokio::test]
async fn events_yields_the_live_fragments_within_a_second() {
    let state = clinic(Config::default());
    let started = Instant::now();
    let event = first_event(&state).await;
    assert!(started.elapsed() < Duration::from_secs(1));

    assert!(event.starts_with("event: update\n"), "{event}");
    // Multi-line HTML travels as several data: lines, one event.
    let data: Vec<&str> = event
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert!(data.len() > 10, "{event}");
    for fragment in [
        r#"id="status""#,
        r#"id="queue-live""#,
        r#"id="inbox-live""#,
        r#"id="workers-live""#,
        r#"id="tasks-live""#,
        r#"id="counters""#,
        r#"id="burst-live""#,
        r#"id="leak-live""#,
        r#"id="reports""#,
        r#"id="alerts""#,
    ] {
        assert!(
            event.contains(fragment),
            "the event has {fragment}:\n{event}"
        );
    }
}

#[tokio::test]
async fn an_open_event_stream_shows_the_drain_then_ends_when_http_stops() {
    let state = clinic(Config::default());
    let mut body = call_stream(&state).await.into_body();
    let mut seen = String::new();
    // Reads events until `want` appears or the stream ends; fails after 2 s.
    let mut read_until = async |want: &str| -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            if seen.contains(want) {
                return true;
            }
            let frame = tokio::time::timeout_at(deadline, body.frame())
                .await
                .unwrap_or_else(|_| panic!("waited 2 s for {want:?}; got:\n{seen}"));
            match frame {
                Some(frame) => {
                    if let Ok(data) = frame.unwrap().into_data() {
                        seen.push_str(&String::from_utf8_lossy(&data));
                    }
                }
                None => return false,
            }
        }
    };
    assert!(read_until("Running").await);

    // Shutdown begins: the stream stays open and shows the drain...
    state.begin_shutdown();
    assert!(read_until("Shutting down: draining").await);
    // ...until HTTP stops, when it says goodbye and ends.
    state.stop_http();
    assert!(read_until("event: stopped").await);
    assert!(read_until("The server has stopped").await);
    assert!(!read_until("the stream never ends").await, "ended");
}

#[tokio::test]
async fn controls_refuse_a_client_on_another_machine() {
    let state = clinic(Config::default());

    let refused = call_from(ELSEWHERE, &state, control("/controls/pause", "")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json["code"], "controls_local_only");
    let message = refused.json["message"].as_str().unwrap();
    assert!(
        message.contains("only answer from this machine"),
        "{message}"
    );
    assert!(message.contains("--control-token"), "{message}");
    assert!(!state.stats().paused, "nothing happened");
    let refused = call_from(ELSEWHERE, &state, control("/controls/shutdown", "")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!state.is_shutting_down());

    // The page says so before they try...
    let page = call_from(ELSEWHERE, &state, get("/")).await.text;
    assert!(page.contains(r#"class="access refused""#), "{page}");
    assert!(
        page.contains("Controls only answer from this machine"),
        "{page}"
    );
    // ...and a form posted without JavaScript comes back to the page with why.
    let redirect = call_from(ELSEWHERE, &state, form_post("/controls/pause", "")).await;
    assert_eq!(redirect.status, StatusCode::SEE_OTHER);
    assert_eq!(redirect.headers[LOCATION], "/");
    let flash = set_cookie(&redirect.headers, "flash").expect("a flash cookie");
    let page = call_from(
        ELSEWHERE,
        &state,
        Request::get("/")
            .header(COOKIE, &flash)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(
        page.text.contains(r#"<p class="flash error" role="status" id="flash">The controls only answer from this machine"#),
        "{}",
        page.text
    );
    // Shown once: the page clears it.
    assert!(set_cookie(&page.headers, "flash").is_some_and(|c| c == "flash="));
}

#[tokio::test]
async fn controls_answer_this_machine() {
    let state = clinic(Config::default());

    let paused = call(&state, control("/controls/pause", "")).await;
    assert_eq!(paused.status, StatusCode::OK);
    assert!(paused.json["message"].as_str().unwrap().contains("paused"));
    assert!(state.stats().paused);
    call(&state, control("/controls/resume", "")).await;
    assert!(!state.stats().paused);

    let workers = call(&state, control("/controls/workers", "workers=3")).await;
    assert_eq!(workers.json["message"], "Now 3 workers.");
    assert_eq!(state.stats().workers, 3);
    let latency = call(&state, control("/controls/latency", "work_ms=300")).await;
    assert_eq!(latency.status, StatusCode::OK);
    assert_eq!(state.stats().work_ms, 300);

    // Without JavaScript: the same, then back to the page with the answer.
    let redirect = call(&state, form_post("/controls/workers", "workers=5")).await;
    assert_eq!(redirect.status, StatusCode::SEE_OTHER);
    assert_eq!(state.stats().workers, 5);
    let flash = set_cookie(&redirect.headers, "flash").unwrap();
    let page = call(
        &state,
        Request::get("/")
            .header(COOKIE, &flash)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(
        page.text
            .contains(r#"<p class="flash ok" role="status" id="flash">Now 5 workers.</p>"#)
    );

    // The drain button: the same path as SIGTERM.
    let shutdown = call(&state, control("/controls/shutdown", "")).await;
    assert_eq!(shutdown.status, StatusCode::ACCEPTED);
    assert!(state.is_shutting_down());
}

#[tokio::test]
async fn with_a_control_token_every_client_must_give_it() {
    let state = clinic(Config::default());
    state.set_control_token("trainer-2024".to_owned());

    // This machine too, once a token is set.
    let refused = call(&state, control("/controls/pause", "")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json["code"], "control_token_required");
    let with = |token: &str| {
        Request::post("/controls/pause")
            .header("x-control-token", token)
            .body(Body::empty())
            .unwrap()
    };
    let wrong = call_from(ELSEWHERE, &state, with("guess-guess")).await;
    assert_eq!(wrong.json["code"], "control_token_wrong");
    assert!(!state.stats().paused);
    let right = call_from(ELSEWHERE, &state, with("trainer-2024")).await;
    assert_eq!(right.status, StatusCode::OK);
    assert!(state.stats().paused);

    // The page asks for it, and its unlock form keeps it in a cookie.
    let page = call_from(ELSEWHERE, &state, get("/")).await.text;
    assert!(page.contains(r#"action="/controls/unlock""#));
    let wrong = call_from(
        ELSEWHERE,
        &state,
        form_post("/controls/unlock", "token=nope"),
    )
    .await;
    assert!(set_cookie(&wrong.headers, "control_token").is_none());
    let unlocked = call_from(
        ELSEWHERE,
        &state,
        form_post("/controls/unlock", "token=trainer-2024"),
    )
    .await;
    assert_eq!(unlocked.status, StatusCode::SEE_OTHER);
    let cookie = set_cookie(&unlocked.headers, "control_token").expect("the token cookie");
    let resumed = call_from(
        ELSEWHERE,
        &state,
        Request::post("/controls/resume")
            .header(COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resumed.status, StatusCode::OK, "{}", resumed.text);
    assert!(!state.stats().paused);
}

#[tokio::test]
async fn a_form_posted_from_another_web_site_is_refused() {
    let state = clinic(Config::default());
    let request = Request::post("/controls/shutdown")
        .header("host", "127.0.0.1:3000")
        .header(ORIGIN, "https://evil.example")
        .body(Body::empty())
        .unwrap();
    let refused = call(&state, request).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json["code"], "cross_site_request");
    assert!(!state.is_shutting_down());
    // The dashboard's own forms carry its own origin.
    let request = Request::post("/controls/pause")
        .header("host", "127.0.0.1:3000")
        .header(ORIGIN, "http://127.0.0.1:3000")
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(&state, request).await.status, StatusCode::OK);
}

#[tokio::test]
async fn dns_rebinding_cannot_reach_the_controls() {
    let state = clinic(Config::default());
    state.set_listening_on("127.0.0.1:3000".parse().unwrap());
    // A page on evil.example whose name now resolves to 127.0.0.1: its
    // requests come from this machine, with its own name as Host and Origin.
    let rebound = |path: &str, host: &str| {
        Request::post(path)
            .header(HOST, host)
            .header(ORIGIN, format!("http://{host}"))
            .body(Body::empty())
            .unwrap()
    };
    for host in [
        "evil.example:3000",
        "127.0.0.1.nip.io:3000",
        "localhost.evil.example:3000",
        "127.0.0.1:4000",
        "127.0.0.1",
        "[::2]:3000",
    ] {
        let refused = call(&state, rebound("/controls/pause", host)).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{host}: {}",
            refused.text
        );
        assert_eq!(refused.json["code"], "controls_host_not_local", "{host}");
        let message = refused.json["message"].as_str().unwrap();
        assert!(
            message.contains("http://127.0.0.1:3000/") && message.contains(host),
            "{host}: {message}"
        );
    }
    let refused = call(&state, rebound("/controls/shutdown", "evil.example:3000")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        !state.stats().paused && !state.is_shutting_down(),
        "nothing happened"
    );
    // No Host at all: not addressed to this machine either.
    let mut bare = control("/controls/pause", "");
    bare.headers_mut().insert(HOST, "".parse().unwrap());
    assert_eq!(
        call(&state, bare).await.json["code"],
        "controls_host_not_local"
    );
    // The page opened under such a name says why the controls will refuse.
    let page = call(
        &state,
        Request::get("/")
            .header(HOST, "evil.example:3000")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .text;
    assert!(page.contains(r#"class="access refused""#), "{page}");
    assert!(page.contains("opened at localhost, 127.0.0.1"), "{page}");

    // The loopback names, as browsers on this machine send them, still work.
    for host in [
        "localhost:3000",
        "LocalHost:3000",
        "127.0.0.1:3000",
        "[::1]:3000",
    ] {
        let answer = call(&state, rebound("/controls/resume", host)).await;
        assert_eq!(answer.status, StatusCode::OK, "{host}: {}", answer.text);
    }
    // With a control token, the token decides, whatever the Host.
    let guarded = clinic(Config::default());
    guarded.set_control_token("trainer-2024".to_owned());
    let mut with_token = rebound("/controls/pause", "playground.lan:3000");
    with_token
        .headers_mut()
        .insert("x-control-token", "trainer-2024".parse().unwrap());
    assert_eq!(
        call_from(ELSEWHERE, &guarded, with_token).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn bad_control_input_gets_a_clear_message() {
    let state = clinic(Config::default());
    let cases = [
        (
            "/controls/burst",
            "n=-1&concurrency=8",
            "n",
            "from 1 to 20,000",
        ),
        (
            "/controls/burst",
            "n=1000000000&concurrency=8",
            "n",
            "bursts are capped",
        ),
        (
            "/controls/burst",
            "n=100&concurrency=0",
            "concurrency",
            "from 1 to 256",
        ),
        ("/controls/burst", "concurrency=8", "n", "missing"),
        (
            "/controls/burst",
            "n=100&concurrency=8&design=pigeon",
            "design",
            "queue or fire-and-forget",
        ),
        ("/controls/workers", "workers=65", "workers", "from 0 to 64"),
        (
            "/controls/latency",
            "work_ms=5001",
            "work_ms",
            "from 0 to 5,000",
        ),
        ("/controls/leak", "n=0&kind=leaky", "n", "from 1 to 500"),
        ("/controls/leak", "n=5&kind=drip", "kind", "leaky or fixed"),
    ];
    for (path, form, field, says) in cases {
        let answer = call(&state, control(path, form)).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{path} {form}: {}",
            answer.text
        );
        assert_eq!(answer.json["code"], "invalid_control", "{path} {form}");
        assert_eq!(answer.json["field"], field, "{path} {form}");
        let message = answer.json["message"].as_str().unwrap();
        assert!(message.contains(says), "{path} {form}: {message}");
    }
    // A body that is not a form at all.
    let answer = call(
        &state,
        Request::post("/controls/workers")
            .header(CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"workers": 3}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(answer.json["code"], "invalid_form");
    // Nothing changed, and the service still answers.
    let stats = state.stats();
    assert_eq!((stats.workers, stats.work_ms), (8, 0));
    assert_eq!(call(&state, get("/")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_burst_runs_in_the_background_one_at_a_time_and_stops_at_shutdown() {
    let state = clinic(Config {
        queue: 50,
        ..Config::default()
    });
    serve(&state).await;
    state.set_paused(true);

    let started = call(&state, control("/controls/burst", "n=20000&concurrency=2")).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    let again = call(&state, control("/controls/burst", "n=10&concurrency=1")).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.json["code"], "already_running");
    assert!(
        again.json["message"]
            .as_str()
            .unwrap()
            .contains("already running")
    );

    // Its progress is on the page while it runs: 202s, then 503s.
    wait_for_page(
        &state,
        Duration::from_secs(10),
        "503s in the burst panel",
        |page| {
            page.contains(r#"data-running="true""#)
                && page.contains(r#"id="burst-accepted">50<"#)
                && !page.contains(r#"id="burst-unavailable">0<"#)
        },
    )
    .await;
    assert_eq!(state.stats().queued, 50);

    // Shutdown stops it: a burst must not keep the process alive.
    state.begin_shutdown();
    wait_for_page(
        &state,
        Duration::from_secs(2),
        "the burst to stop",
        |page| {
            page.contains("the server is shutting down") && page.contains(r#"data-running="false""#)
        },
    )
    .await;
    let page = call(&state, get("/")).await.text;
    assert!(
        !page.contains(r#"id="burst-done">20,000 / 20,000<"#),
        "stopped early"
    );
    let again = call(&state, control("/controls/burst", "n=10&concurrency=1")).await;
    assert_eq!(again.status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn leaky_requests_from_the_dashboard_leave_tasks_behind() {
    let state = clinic(Config::default());
    serve(&state).await;

    let sent = call(&state, control("/controls/leak", "n=5&kind=leaky")).await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.text);
    // Each gives up after 1 s; its 10 s query runs on.
    wait_for_page(&state, Duration::from_secs(5), "5 leaked tasks", |page| {
        page.contains(r#"id="leaked" data-value="5""#)
    })
    .await;
    let page = call(&state, get("/")).await.text;
    assert!(page.contains("5 × /leaky"), "{page}");
}

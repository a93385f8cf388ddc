//! How much does queueing cost the accept path?
//!
//! Starts the real app and a parse-only router (the same `EproUpload`
//! extractor, the same 202 body, but no queue, no status map, no counters) on
//! 127.0.0.1 port 0, in this process, and fires the same burst at each, back
//! to back, alternating which goes first. Twice:
//!
//! - workers running: the pipeline and SQLite compete with the accept path for
//!   the CPU, as in production;
//! - workers paused: the accept path alone (the queue is as big as a burst, so
//!   every upload is still a 202; the queue is drained between rounds).
//!
//! Run: cargo run -p playground --release --example accept_bench [-- N CONCURRENCY ROUNDS]
//! (defaults: 20000 requests, 64 connections, 5 rounds)

use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::post;
use playground::designs::intake::{MAX_BODY_BYTES, Queued};
use playground::loadgen;
use playground::pipeline::report::{EproUpload, ReportId};
use playground::pipeline::store::Db;
use playground::{AppState, Clinic, Config, app};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let numbers = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse::<usize>()
                .with_context(|| format!("{a:?} is not a number"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let n = numbers.first().copied().unwrap_or(20_000);
    let concurrency = numbers.get(1).copied().unwrap_or(64);
    let rounds = numbers.get(2).copied().unwrap_or(5);

    let clinic = Clinic::start(
        Config {
            workers: 8,
            queue: n,
            work_ms: 0,
        },
        Db::open(":memory:")?,
    );
    let upload_url = serve(app(clinic.clone())).await? + "/api/epros/upload";
    let parse_url = serve(parse_only_router()).await? + "/api/epros/upload";

    println!(
        "{n} uploads per burst, {concurrency} connections, {rounds} rounds, {} runtime threads",
        tokio::runtime::Handle::current().metrics().num_workers()
    );
    // A short warm-up of both, so neither pays for first-use costs.
    loadgen::burst(&upload_url, 2_000, concurrency).await?;
    loadgen::burst(&parse_url, 2_000, concurrency).await?;
    drain(&clinic).await?;

    for paused in [false, true] {
        let mut upload_rates = Vec::new();
        let mut parse_rates = Vec::new();
        for round in 0..rounds {
            // Alternate the order so neither always runs on a warmer machine.
            let upload_first = round % 2 == 0;
            for upload in [upload_first, !upload_first] {
                clinic.set_paused(paused);
                let url = if upload { &upload_url } else { &parse_url };
                let outcome = loadgen::burst(url, n, concurrency).await?;
                ensure!(
                    outcome.count(202) == n,
                    "every request must be a 202 to measure the accept path: {outcome:?}"
                );
                if upload {
                    upload_rates.push(outcome.rate());
                    drain(&clinic).await?;
                } else {
                    parse_rates.push(outcome.rate());
                }
            }
        }
        let (upload, parse) = (median(&mut upload_rates), median(&mut parse_rates));
        println!(
            "workers {:<7}  upload {:>8.0} req/s   parse-only {:>8.0} req/s   ratio {:.2}   (rounds: upload {}; parse-only {})",
            if paused { "paused" } else { "running" },
            upload,
            parse,
            upload / parse,
            list(&upload_rates),
            list(&parse_rates),
        );
    }
    Ok(())
}

/// The same extractor and the same 202 body as the real handler, and nothing else.
fn parse_only_router() -> Router {
    async fn parse_only(upload: EproUpload) -> (StatusCode, Json<Queued>) {
        drop(upload);
        (StatusCode::ACCEPTED, Json(Queued::new(ReportId::new())))
    }
    Router::new()
        .route("/api/epros/upload", post(parse_only))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Serves `router` on a free loopback port; returns its base URL.
async fn serve(router: Router) -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(format!("http://{addr}"))
}

/// Resumes the workers and waits until every accepted report is stored.
async fn drain(clinic: &AppState) -> anyhow::Result<()> {
    clinic.set_paused(false);
    let deadline = Instant::now() + Duration::from_secs(120);
    while clinic.stats().in_flight > 0 {
        if Instant::now() > deadline {
            bail!("the workers did not drain the queue: {:?}", clinic.stats());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

fn median(rates: &mut [f64]) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

fn list(rates: &[f64]) -> String {
    let rates: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
    rates.join(", ")
}

//! `cargo run -p playground`: the intake service on http://127.0.0.1:3000.
//!
//! Start it small to see backpressure, then stop it with Ctrl-C mid-burst:
//!
//! ```text
//! cargo run -p playground -- --addr 127.0.0.1:0 --queue 8 --work-ms 500
//! ```
//!
//! Open the address in a browser for the live dashboard and its controls.
//!
//! The first line on stdout is always `listening on http://ADDR` (scripts and
//! tests read the port from it); everything else is logged to stderr, filtered
//! by `RUST_LOG` (default `warn,playground=info`).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use clap::builder::TypedValueParser as _;
use playground::edges::serve::serve;
use playground::edges::shutdown::{Drained, EXIT_LOST_REPORTS, shutdown_signal};
use playground::pipeline::store::Db;
use playground::{Clinic, Config, Intake, app};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// mimalloc, not glibc's malloc: every accepted report stays allocated until
/// it is stored, and glibc's allocator then leaves its fast per-thread cache
/// (the root Cargo.toml has the figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long HTTP may take to finish its last requests once the drain is done.
const HTTP_GRACE: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_tracing();
    match run(args).await {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.intake == Intake::Durable && args.db == ":memory:" {
        anyhow::bail!(
            "--intake durable keeps each accepted report in the database file until it \
             is stored, and with --db :memory: there is no file: a crash would lose \
             them all the same. Give --db a file, or use --intake memory."
        );
    }
    let db = Db::open(&args.db)?;
    let state = Clinic::start(
        Config {
            workers: args.workers,
            queue: args.queue,
            work_ms: args.work_ms,
            intake: args.intake,
        },
        db.clone(),
    );

    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("listening on {}", args.addr))?;
    let addr = listener.local_addr()?;
    // The dashboard's bursts are sent here, over real HTTP.
    state.set_listening_on(addr);
    if let Some(token) = args.control_token {
        state.set_control_token(token);
    } else if !addr.ip().is_loopback() {
        tracing::info!(
            "the dashboard's controls answer only from this machine (see --control-token)"
        );
    }
    println!("listening on http://{addr}");
    tracing::info!(
        intake = args.intake.as_str(),
        workers = args.workers,
        queue = args.queue,
        work_ms = args.work_ms,
        db = %args.db,
        "listening on http://{addr}"
    );

    // Ctrl-C, SIGTERM and the dashboard's button all begin shutdown through
    // the same token.
    let signalled = state.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        signalled.begin_shutdown();
    });

    // With each client's address (the dashboard's controls answer only
    // loopback clients unless --control-token is set), and time limits for
    // slow clients (edges/serve.rs). It stops accepting when HTTP stops.
    state.set_client_timeout(args.client_timeout);
    let mut server = tokio::spawn(serve(
        listener,
        app(state.clone()),
        args.client_timeout,
        state.http_stopping(),
    ));

    tokio::select! {
        biased;
        () = state.shutdown_requested() => {}
        stopped = &mut server => {
            // The server only returns early if something is badly wrong.
            stopped.context("the HTTP server task failed")?;
            anyhow::bail!("the HTTP server stopped on its own");
        }
    }

    // ANCHOR: after_signal
    // Stop accepting, close the queue, let the workers drain it (edges/shutdown.rs).
    // HTTP stays up meanwhile: late uploads hear 503 shutting_down. A second
    // Ctrl-C (or SIGTERM) stops the waiting; what is not stored is then listed.
    let started = Instant::now();
    tracing::info!("press Ctrl-C again to stop waiting for the drain");
    let drained = tokio::select! {
        biased;
        drained = state.drain(args.drain_timeout) => drained,
        () = shutdown_signal() => {
            tracing::warn!("second signal: no longer waiting for the queue to drain");
            Drained { deadline_passed: true, took: started.elapsed() }
        }
    };

    // Now HTTP: no new connections, finish the requests in progress, end the
    // dashboard's event streams (they stop on this same token).
    state.stop_http();
    match tokio::time::timeout(HTTP_GRACE, &mut server).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("HTTP server task: {e}"),
        Err(_) => tracing::warn!("HTTP requests still open after {HTTP_GRACE:?}; dropping them"),
    }

    // Commit what is pending and close the database file cleanly. Nothing can
    // be stored after this, so the account below is final. (Past a deadline, a
    // report whose commit raced with this close may be listed although it was
    // stored: the list errs towards listing, never towards silence.)
    db.close().await;
    let summary = state.summary(drained);
    summary.log();
    // Returning drops the runtime, which aborts what is still running: the
    // /leaky orphans, and workers past the deadline (already listed as lost).
    Ok(summary.exit_code())
    // ANCHOR_END: after_signal
}

fn init_tracing() {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,playground=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// The ePRO intake service of both articles: a bounded queue with workers next
/// to a task per request, the /leaky demo, and a shutdown that loses nothing.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = format!(
        "Exit status: 0 after a clean shutdown (every accepted report stored, or \
         kept in the inbox for the next start), {EXIT_LOST_REPORTS} if the drain \
         deadline passed with reports lost (their ids are logged), 1 on a startup \
         error.\n\
         Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=playground=debug) for more."
    )
)]
struct Args {
    /// Address to listen on. Port 0 picks a free port; the first line on stdout says which.
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,

    /// SQLite file for the stored reports and the inbox (created if missing);
    /// `:memory:` keeps nothing, and needs --intake memory.
    #[arg(long, default_value = "clinic.db")]
    db: String,

    /// Pipeline workers taking reports off the queue.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(0..=1024).map(usize::from))]
    workers: usize,

    /// Places in the intake queue (or the inbox); when they are all taken,
    /// uploads get 503 queue_full.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000).map(|v| v as usize))]
    queue: usize,

    /// Where an accepted upload waits for a worker: "durable" commits it to
    /// the database's inbox (synced to disk) before answering 202, so it
    /// survives a crash; "memory" queues it in this process, as the first
    /// article did, and a crash loses it.
    #[arg(long, value_enum, default_value_t = Intake::Durable)]
    intake: Intake,

    /// Extra simulated latency per report, in milliseconds, spread over the slow stages.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    work_ms: u64,

    /// How long shutdown waits for the queue to drain: "30", "30s" or "500ms".
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    drain_timeout: Duration,

    /// Let the dashboard's controls answer clients on other machines too, if
    /// they give this token (letters, digits, '-', '_', '.', at least 8).
    /// Without it, the controls answer only from this machine.
    #[arg(long, value_parser = parse_token)]
    control_token: Option<String>,

    /// How long a client may take to send a request's headers or its body, and
    /// how long an idle connection stays open: "10s" or "500ms".
    // The default is serve::CLIENT_TIMEOUT; a test below keeps the two equal.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    client_timeout: Duration,
}

/// A token that can travel in a cookie as it is.
fn parse_token(text: &str) -> Result<String, String> {
    let ok_chars = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if text.len() >= 8 && ok_chars {
        Ok(text.to_owned())
    } else {
        Err("use at least 8 letters, digits, '-', '_' or '.'".to_owned())
    }
}

/// "30" and "30s" are seconds, "500ms" milliseconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit_ms) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 1)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1000)
    } else {
        (text, 1000)
    };
    number
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_ms))
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{text:?} is not a duration like 30s or 500ms"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_client_timeout_is_the_documented_one() {
        let args = Args::parse_from(["playground"]);
        assert_eq!(
            args.client_timeout,
            playground::edges::serve::CLIENT_TIMEOUT
        );
        assert_eq!(args.client_timeout, Duration::from_secs(10));
        let args = Args::parse_from(["playground", "--client-timeout", "500ms"]);
        assert_eq!(args.client_timeout, Duration::from_millis(500));
    }
}

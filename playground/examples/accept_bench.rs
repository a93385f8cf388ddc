//! What do queueing, and then durability, cost the accept path? And how fast
//! does the pipeline empty a full queue?
//!
//! Every target is a server in its own process on 127.0.0.1 port 0, started
//! fresh for each measurement, and loaded by the same `wrk` (one thread, 64
//! keep-alive connections, the same upload) for the same few seconds:
//!
//! | target | what it does with an upload |
//! | --- | --- |
//! | bare | parses and checks it (the same `EproUpload` extractor), answers 202 `{}`: nothing else |
//! | memory accept | the playground, `--intake memory`: queued in memory, 202 with its status URL |
//! | durable accept | the playground, `--intake durable`: committed to the inbox, synced, then 202 |
//! | Go | with `--go`: the first article's service in Go (`lessons/go/service`), built by `go build`, its workers off: queued in a channel, 202 |
//! | external | any server a shell command starts (`--external`) |
//!
//! The playground's targets run with their workers paused, and the Go service
//! with none (`--workers 0`), so what is measured is the accept path alone:
//! every upload is a 202 and stays queued.
//! The targets take turns, in a different order each round, and each line
//! gives the median rate of the rounds and the median of its ratios to the
//! bare handler within each round (targets measured back to back, on the
//! same machine load). For the durable intake it also reads `/stats` before and
//! after: commits and fsyncs per second, and reports per commit (the group
//! commit at work). Then the drain, in each mode: the playground with paused
//! workers is sent `--drain` reports (by the load generator in this
//! process), its workers are resumed, and the time until the last one is
//! stored gives reports per second.
//!
//! Run:
//!
//! ```text
//! cargo run -p playground --release --example accept_bench
//! cargo run -p playground --release --example accept_bench -- --go
//! cargo run -p playground --release --example accept_bench -- --seconds 5 --rounds 5 \
//!     --external 'go run ./lessons/go/service --addr 127.0.0.1:0 --workers 0'
//! ```
//!
//! `--go` needs Go 1.25 or newer on PATH, and builds the service with it
//! first, into the benchmark's temporary directory.
//!
//! An external server is started with `sh -c CMD` in its own process group,
//! must print `listening on http://ADDR` as its first line on stdout (as the
//! playground does), and is sent the same uploads at `--external-path`
//! (default `/api/epros/upload`). Its process group gets SIGTERM at the end.
//!
//! Needs `wrk` on PATH (Debian: `apt-get install wrk`). The machine's cores
//! are shared by wrk, the server and anything else running: compare ratios
//! within one run, not seconds across runs.
//!
//! **Instructions, not seconds.** To see where an upload's time goes, count
//! its instructions: callgrind counts the same on every run. Serve the
//! playground alone under it (`serve-app INTAKE WORKERS PAUSED`, as the
//! benchmark starts it, on the database `BENCH_DB`), send it uploads with
//! `send URL N` (the same upload as wrk's, 16 at a time), and have callgrind
//! zero its counts after a warm-up and write them after N more:
//!
//! ```text
//! cargo build -p playground --release --example accept_bench
//! bench=target/release/examples/accept_bench
//! BENCH_DB=/tmp/cg.db valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \
//!     $bench serve-app durable 8 true &    # prints: listening on http://ADDR
//! $bench send http://ADDR/api/epros/upload 2000      # warm up
//! callgrind_control -z
//! $bench send http://ADDR/api/epros/upload 20000
//! callgrind_control -d                                # writes /tmp/cg.out.1
//! ```
//!
//! The `summary:` line of `/tmp/cg.out.1` divided by 20,000 is an upload's
//! cost, and `callgrind_annotate --inclusive=yes /tmp/cg.out.1` shows where
//! it goes. (`send` runs in its own process, so none of its work is counted.)

use std::io::{BufRead, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use axum::Router;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::routing::post;
use clap::ValueEnum as _;
use playground::edges::serve::{CLIENT_TIMEOUT, serve};
use playground::loadgen;
use playground::pipeline::report::EproUpload;
use playground::pipeline::store::Db;
use playground::{Clinic, Config, Intake, app};
use serde_json::Value;
use tokio::net::TcpListener;

/// The upload every wrk request sends: a typical report, with something to mask.
const UPLOAD: &str = r#"{"patientId":"SUBJ-00042","trialId":"EPRO-2024-07","reportData":"Dizzy after the second dose. Please call me on 13812345678 if you need details."}"#;

/// The same allocator as the playground's binary, for every target.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // This same program, started again by the benchmark, is each target.
    match args.first().map(String::as_str) {
        Some("serve-bare") => serve_bare(),
        Some("serve-app") => serve_app(&args[1..]),
        Some("send") => send(&args[1..]),
        _ => bench(Options::parse(&args)?),
    }
}

const USAGE: &str = "\
usage: accept_bench [--seconds S] [--rounds R] [--connections C] [--drain N]
                    [--go] [--external CMD] [--external-path PATH]
       accept_bench serve-app INTAKE WORKERS PAUSED   (one target, alone)
       accept_bench send URL N                        (N uploads to a target)
See the top of playground/examples/accept_bench.rs for what each does.";

/// The command line of the benchmark itself.
struct Options {
    seconds: u64,
    rounds: usize,
    connections: usize,
    drain: usize,
    go: bool,
    external: Option<String>,
    external_path: String,
}

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Options> {
        let mut options = Options {
            seconds: 3,
            rounds: 3,
            connections: 64,
            drain: 100_000,
            go: false,
            external: None,
            external_path: "/api/epros/upload".to_owned(),
        };
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let mut value = || {
                args.next()
                    .with_context(|| format!("{flag} needs a value"))
                    .cloned()
            };
            match flag.as_str() {
                "--seconds" => options.seconds = value()?.parse()?,
                "--rounds" => options.rounds = value()?.parse()?,
                "--connections" => options.connections = value()?.parse()?,
                "--drain" => options.drain = value()?.parse()?,
                "--go" => options.go = true,
                "--external" => options.external = Some(value()?),
                "--external-path" => options.external_path = value()?,
                "--help" | "-h" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => bail!("unknown option {other:?}\n{USAGE}"),
            }
        }
        ensure!(options.rounds > 0 && options.seconds > 0 && options.connections > 0);
        Ok(options)
    }
}

/// A server to measure, and how to start it.
struct Target {
    name: String,
    start: Start,
    path: String,
}

enum Start {
    /// This program again, with these arguments.
    Myself(Vec<String>),
    /// A shell command, in its own process group.
    Shell(String),
}

fn bench(options: Options) -> anyhow::Result<()> {
    ensure!(
        Command::new("wrk").arg("--version").output().is_ok(),
        "accept_bench drives wrk: install it (Debian: apt-get install wrk)"
    );
    let dir = std::env::temp_dir().join(format!("accept-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("upload.lua");
    std::fs::write(&script, wrk_script())?;

    let upload = "/api/epros/upload".to_owned();
    let mut targets = vec![
        Target {
            name: "bare axum (parse + 202 {})".into(),
            start: Start::Myself(vec!["serve-bare".into()]),
            path: upload.clone(),
        },
        Target {
            name: "memory accept".into(),
            start: app_args("memory", 0, true),
            path: upload.clone(),
        },
        Target {
            name: "durable accept".into(),
            start: app_args("durable", 0, true),
            path: upload.clone(),
        },
    ];
    if options.go {
        targets.push(Target {
            name: "Go net/http (memory queue)".into(),
            start: Start::Shell(go_service(&dir)?),
            path: upload.clone(),
        });
    }
    if let Some(command) = &options.external {
        targets.push(Target {
            name: format!("external: {command}"),
            start: Start::Shell(command.clone()),
            path: options.external_path.clone(),
        });
    }

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "wrk -t1 -c{} -d{}s, {} rounds, targets in turn; {cores} cores shared by wrk and the server",
        options.connections, options.seconds, options.rounds
    );
    let mut runs: Vec<Vec<Run>> = targets.iter().map(|_| Vec::new()).collect();
    let mut fsyncs = Vec::new();
    for round in 0..options.rounds {
        fsyncs.push(fsync_cost(&dir)?);
        // A different target goes first each round.
        for k in 0..targets.len() {
            let i = (round + k) % targets.len();
            let run = measure(&targets[i], &options, &script, &dir)?;
            runs[i].push(run);
        }
    }

    println!();
    println!(
        "{:<34} {:>10} {:>8}   rounds",
        "accept path", "uploads/s", "ratio"
    );
    // Ratios within a round: its targets ran back to back, on the same
    // machine load. The median of those is what the table gives.
    let ratio = |of: &[Run], to: &[Run]| median_of(of.iter().zip(to).map(|(a, b)| a.rate / b.rate));
    for (target, runs_of) in targets.iter().zip(&runs) {
        let rate = median(runs_of, |r| r.rate);
        let rounds: Vec<String> = runs_of.iter().map(|r| format!("{:.0}", r.rate)).collect();
        println!(
            "{:<34} {:>10.0} {:>7.2}×   {}",
            target.name,
            rate,
            ratio(runs_of, &runs[0]),
            rounds.join(", ")
        );
        let refused: u64 = runs_of.iter().map(|r| r.not_2xx).sum();
        if refused > 0 {
            println!("{:<34} {refused} answers were not 2xx", "");
        }
        if runs_of.iter().any(|r| r.commits.is_some()) {
            let of = |value: fn(&Commits) -> f64| {
                median(runs_of, |r| r.commits.as_ref().map_or(0.0, value))
            };
            println!(
                "{:<34} {:.2}× memory accept; {:.0} commits/s, {:.0} fsyncs/s, \
                 {:.1} uploads per commit",
                "",
                ratio(runs_of, &runs[1]),
                of(|c| c.commits),
                of(|c| c.fsyncs),
                of(|c| c.reports_per_commit),
            );
        }
    }

    // What a commit waits for: the disk's fsync, measured in every round.
    let fsync = FsyncCost {
        median: median_of(fsyncs.iter().map(|f| f.median)),
        p10: median_of(fsyncs.iter().map(|f| f.p10)),
        p90: median_of(fsyncs.iter().map(|f| f.p90)),
    };
    println!(
        "fsync (fdatasync of 4 KiB) on this disk, in each round: median {:.2} ms, \
         p10 {:.2} ms, p90 {:.2} ms: at most {:.0} commits/s",
        fsync.median * 1e3,
        fsync.p10 * 1e3,
        fsync.p90 * 1e3,
        1.0 / fsync.median
    );

    println!();
    for mode in ["memory", "durable"] {
        let drain = drain_rate(mode, &options, &dir)?;
        println!(
            "pipeline drain ({mode}): {} reports stored in {:.2} s: {:.0} reports/s; \
             {} commits ({:.0} reports per commit), {} fsyncs",
            drain.reports,
            drain.took.as_secs_f64(),
            drain.reports as f64 / drain.took.as_secs_f64(),
            drain.commits,
            drain.reports as f64 / drain.commits.max(1) as f64,
            drain.fsyncs,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Builds the Go service (`lessons/go/service`) into `dir`, and returns the
/// command that starts it with no workers and room for every upload of a run.
fn go_service(dir: &Path) -> anyhow::Result<String> {
    let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("../lessons/go");
    let binary = dir.join("go-service");
    let status = Command::new("go")
        .current_dir(&module)
        .arg("build")
        .arg("-o")
        .arg(&binary)
        .arg("./service")
        .status()
        .context("running `go build`: --go needs Go 1.25 or newer on PATH")?;
    ensure!(
        status.success(),
        "go build ./service failed in {}",
        module.display()
    );
    // A channel's buffer is allocated when it is made: 4 million places of
    // one pointer each is 32 MB, more than a run's uploads.
    Ok(format!(
        "exec '{}' --addr 127.0.0.1:0 --workers 0 --queue 4000000",
        binary.display()
    ))
}

/// The playground as a target: this program again, serving the real app.
fn app_args(intake: &str, workers: usize, paused: bool) -> Start {
    Start::Myself(vec![
        "serve-app".into(),
        intake.into(),
        workers.to_string(),
        paused.to_string(),
    ])
}

/// What one wrk run against one target measured.
struct Run {
    rate: f64,
    not_2xx: u64,
    /// For the playground: what its database thread did meanwhile.
    commits: Option<Commits>,
}

/// Commits and fsyncs per second during a run, and reports per commit.
struct Commits {
    commits: f64,
    fsyncs: f64,
    reports_per_commit: f64,
}

/// Starts `target` afresh, loads it with wrk, stops it.
fn measure(target: &Target, options: &Options, script: &Path, dir: &Path) -> anyhow::Result<Run> {
    let server = Server::start(&target.start, &dir.join("bench.db"))?;
    let url = format!("{}{}", server.url, target.path);
    let playground = matches!(&target.start, Start::Myself(args) if args[0] == "serve-app");
    let before = playground.then(|| stats_now(&server.url)).transpose()?;
    let started = Instant::now();
    let output = Command::new("wrk")
        .args(["-t1", &format!("-c{}", options.connections)])
        .arg(format!("-d{}s", options.seconds))
        .arg("-s")
        .arg(script)
        .arg(&url)
        .output()
        .context("running wrk")?;
    let seconds = started.elapsed().as_secs_f64();
    let after = playground.then(|| stats_now(&server.url)).transpose()?;
    drop(server);
    let commits = before.zip(after).and_then(|(before, after)| {
        let delta = |key: &str| Some(after[key].as_f64()? - before[key].as_f64()?);
        let commits = delta("commits")?;
        (commits > 0.0).then(|| Commits {
            commits: commits / seconds,
            fsyncs: delta("fsyncs").unwrap_or(0.0) / seconds,
            reports_per_commit: delta("reportsCommitted").unwrap_or(0.0) / commits,
        })
    });
    let text = String::from_utf8_lossy(&output.stdout);
    ensure!(output.status.success(), "wrk failed on {url}: {text}");
    let number_after = |label: &str| -> Option<f64> {
        let line = text.lines().find(|l| l.trim_start().starts_with(label))?;
        line.trim_start()[label.len()..].trim().parse().ok()
    };
    let rate = number_after("Requests/sec:").with_context(|| format!("wrk said: {text}"))?;
    let not_2xx = number_after("Non-2xx or 3xx responses:").unwrap_or(0.0) as u64;
    let _ = writeln!(
        std::io::stderr(),
        "  {:<34} {rate:>10.0} uploads/s",
        target.name
    );
    Ok(Run {
        rate,
        not_2xx,
        commits,
    })
}

/// How long the pipeline took to store a full queue, in how many commits.
struct Drain {
    reports: usize,
    took: Duration,
    commits: u64,
    fsyncs: u64,
}

/// Fills a paused playground with `options.drain` reports, resumes its
/// workers, and times the drain.
fn drain_rate(intake: &str, options: &Options, dir: &Path) -> anyhow::Result<Drain> {
    let db = dir.join(format!("drain-{intake}.db"));
    let server = Server::start(&app_args(intake, 8, true), &db)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let upload = format!("{}/api/epros/upload", server.url);
        let filled = loadgen::burst(&upload, options.drain, options.connections).await?;
        ensure!(
            filled.count(202) == options.drain,
            "every report must be accepted: {filled:?}"
        );
        let resume = format!("{}/controls/resume", server.url);
        let before = stats(&server.url).await?;
        let started = Instant::now();
        let reply = loadgen::send(axum::http::Method::POST, &resume, None).await?;
        ensure!(reply.status == 200, "resume: {}", reply.body);
        let deadline = started + Duration::from_secs(300);
        let after = loop {
            let stats = stats(&server.url).await?;
            if stats["stored"].as_u64() == Some(options.drain as u64) {
                break stats;
            }
            ensure!(Instant::now() < deadline, "no drain in 300 s: {stats}");
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        let took = started.elapsed();
        let delta = |key: &str| {
            let counter = |stats: &Value| stats[key].as_u64().unwrap_or(0);
            counter(&after).saturating_sub(counter(&before))
        };
        Ok(Drain {
            reports: options.drain,
            took,
            commits: delta("commits"),
            fsyncs: delta("fsyncs"),
        })
    })
}

/// Seconds an fsync takes: median, 10th and 90th percentile.
struct FsyncCost {
    median: f64,
    p10: f64,
    p90: f64,
}

/// Writes a page and syncs it (`File::sync_data`, fdatasync), 200 times, in
/// `dir`: the same disk as the benchmark's databases.
fn fsync_cost(dir: &Path) -> anyhow::Result<FsyncCost> {
    use std::os::unix::fs::FileExt;
    let path = dir.join("fsync.probe");
    let file = std::fs::File::create(&path)?;
    let page = [0x5a_u8; 4096];
    let mut seconds = Vec::new();
    for i in 0..200 {
        file.write_at(&page, (i % 64) * 4096)?;
        let started = Instant::now();
        file.sync_data()?;
        seconds.push(started.elapsed().as_secs_f64());
    }
    std::fs::remove_file(&path)?;
    seconds.sort_by(f64::total_cmp);
    let at = |fraction: f64| seconds[(fraction * (seconds.len() - 1) as f64) as usize];
    Ok(FsyncCost {
        median: at(0.5),
        p10: at(0.1),
        p90: at(0.9),
    })
}

/// `/stats`, from outside a runtime.
fn stats_now(base: &str) -> anyhow::Result<Value> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(stats(base))
}

async fn stats(base: &str) -> anyhow::Result<Value> {
    let reply = loadgen::send(axum::http::Method::GET, &format!("{base}/stats"), None).await?;
    Ok(reply.json())
}

/// A running target; stopped (with its whole process group, for a shell
/// command) when dropped.
struct Server {
    child: Child,
    url: String,
    group: bool,
}

impl Server {
    fn start(start: &Start, db: &Path) -> anyhow::Result<Server> {
        for stale in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(PathBuf::from(format!("{}{stale}", db.display())));
        }
        let (mut command, group) = match start {
            Start::Myself(args) => {
                let mut command = Command::new(std::env::current_exe()?);
                command.args(args).env("BENCH_DB", db);
                (command, false)
            }
            Start::Shell(line) => {
                let mut command = Command::new("sh");
                command.args(["-c", line]);
                // Its own process group, so that `go run` and the program it
                // builds and starts are stopped together.
                std::os::unix::process::CommandExt::process_group(&mut command, 0);
                (command, true)
            }
        };
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting a target")?;
        let stdout = child.stdout.take().context("the target's stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut server = Server {
            child,
            url: String::new(),
            group,
        };
        // `go run` may compile first: give it a minute.
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .context("the target never said where it listens")?;
        server.url = line
            .trim()
            .strip_prefix("listening on ")
            .with_context(|| format!("the target's first line was {line:?}"))?
            .to_owned();
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.group {
            // The group this benchmark started, by its id.
            let group = format!("-{}", self.child.id());
            let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// wrk's script: every request the same upload.
fn wrk_script() -> String {
    format!(
        "wrk.method = \"POST\"\n\
         wrk.headers[\"Content-Type\"] = \"application/json\"\n\
         wrk.body = '{UPLOAD}'\n"
    )
}

fn median(runs: &[Run], value: impl Fn(&Run) -> f64) -> f64 {
    median_of(runs.iter().map(value))
}

fn median_of(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The bare baseline: the same extractor, then 202 `{}`. No queue, no id, no
/// status map, no counters, no time limits, no middleware.
#[tokio::main]
async fn serve_bare() -> anyhow::Result<()> {
    async fn accept(
        upload: EproUpload,
    ) -> (
        StatusCode,
        [(axum::http::HeaderName, &'static str); 1],
        &'static str,
    ) {
        drop(upload);
        (
            StatusCode::ACCEPTED,
            [(CONTENT_TYPE, "application/json")],
            "{}",
        )
    }
    let router = Router::new().route("/api/epros/upload", post(accept));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router).await?;
    Ok(())
}

/// Sends `N` uploads (wrk's) to `URL`, 16 at a time, and says how they were
/// answered. Arguments: URL N.
#[tokio::main(flavor = "current_thread")]
async fn send(args: &[String]) -> anyhow::Result<()> {
    let [url, n] = args else {
        bail!("send URL N");
    };
    let n: usize = n.parse()?;
    let sent = loadgen::burst_of(url, n, 16, |_| UPLOAD.to_owned()).await?;
    let accepted = sent.count(202);
    println!("{accepted} of {n} answered 202");
    ensure!(accepted == n, "not every upload was answered 202");
    Ok(())
}

/// The playground as `main` serves it (the same router, the same `serve`
/// with its time limits), on the database `BENCH_DB`.
/// Arguments: INTAKE WORKERS PAUSED.
#[tokio::main]
async fn serve_app(args: &[String]) -> anyhow::Result<()> {
    let [intake, workers, paused] = args else {
        bail!("serve-app INTAKE WORKERS PAUSED");
    };
    let db = std::env::var("BENCH_DB").context("BENCH_DB")?;
    let state = Clinic::start(
        Config {
            workers: workers.parse()?,
            // Room for every upload of a run: the accept path never says 503.
            queue: 10_000_000,
            work_ms: 0,
            intake: Intake::from_str(intake, true).map_err(anyhow::Error::msg)?,
        },
        Db::open(&db)?,
    );
    state.set_paused(paused.parse()?);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr: SocketAddr = listener.local_addr()?;
    state.set_listening_on(addr);
    println!("listening on http://{addr}");
    serve(
        listener,
        app(state.clone()),
        CLIENT_TIMEOUT,
        std::future::pending(),
    )
    .await;
    Ok(())
}

//! The exercise's side of the checker: runs its scenarios in its own process,
//! on tokio's paused clock, and prints a verdict the checker reads.
//!
//! Every exercise's `main` hands its functions to its check (say
//! [`crate::ex03::check`]), which calls [`main`] with one or more
//! [`scenario`]s. Whatever the learner wrote, the run ends with a verdict:
//!
//! - each scenario runs on a fresh paused-clock runtime under a limit of
//!   [`WATCHDOG`] of *virtual* time. When every task waits for something
//!   that never comes, tokio's clock jumps straight to that limit, so a
//!   deadlock is diagnosed at once, not after a minute;
//! - a panic, in the scenario or in a task it spawned, is recorded with its
//!   place and becomes the verdict;
//! - a plain thread watches the runtime's thread through `/proc` (Linux). If
//!   it sits blocked in real time (`std::thread::sleep`, a blocking lock or
//!   `recv`) or spins without letting the clock move, the watcher prints the
//!   verdict and ends the process. Elsewhere the checker's wall-clock limit
//!   still stops it.
//!
//! The verdict is the last part of stdout: a line [`VERDICT`]`done` or
//! [`VERDICT`]`not done`, then the diagnosis, one line each. Everything
//! before it is the story's transcript, `say!` lines stamped on the paused
//! clock.

use std::fmt::Display;
use std::future::Future;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant as WallInstant;

use lessons::{Clock, alive_tasks};
use tokio::time::Duration;

/// How long a step may wait, in virtual time, before it counts as stuck.
/// Every story here is over in well under a minute.
pub const WATCHDOG: Duration = Duration::from_secs(60);

/// The line that starts the verdict: `=== verdict: done` or `... not done`.
pub const VERDICT: &str = "=== verdict: ";

/// Real time the runtime's thread may spend blocked before it is a verdict.
/// On the paused clock a correct run never sleeps at all: when every task
/// waits, tokio moves the clock instead.
const BLOCKED_LIMIT: Duration = Duration::from_millis(300);
/// Real time a run may keep its thread running without finishing before it
/// is a verdict. Every correct run here takes well under a second, even on
/// a loaded machine.
const BUSY_LIMIT: Duration = Duration::from_secs(3);

/// Why an exercise is not done: lines in the story's terms, with figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    lines: Vec<String>,
}

impl Failure {
    pub fn new(line: impl Into<String>) -> Self {
        Failure {
            lines: vec![line.into()],
        }
    }

    /// Adds a line of context below the others.
    pub fn also(mut self, line: impl Into<String>) -> Self {
        self.lines.push(line.into());
        self
    }

    pub fn lines(&self) -> &[String] {
        &self.lines
    }
}

/// What a check returns: done, or why not.
pub type Outcome = Result<(), Failure>;

/// Collects the rules a story breaks, so one verdict can name them all (a
/// leaked query usually shows in the task count too). Each call site of
/// [`Rules::expect`] is one rule: a verdict names the first time each rule
/// was broken, for at most three rules, and counts the repeats.
#[derive(Debug, Default)]
pub struct Rules {
    /// Where the rule is checked, and what went wrong.
    broken: Vec<(&'static std::panic::Location<'static>, String)>,
}

impl Rules {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `why` when `kept` is false.
    #[track_caller]
    pub fn expect(&mut self, kept: bool, why: impl FnOnce() -> String) {
        if !kept {
            self.broken.push((std::panic::Location::caller(), why()));
        }
    }

    /// Records `why` unconditionally.
    #[track_caller]
    pub fn broken(&mut self, why: impl Into<String>) {
        self.broken
            .push((std::panic::Location::caller(), why.into()));
    }

    /// `Err` naming the broken rules, or `Ok` if none was.
    pub fn verdict(self) -> Outcome {
        let mut rules: Vec<(&std::panic::Location<'static>, String, usize)> = Vec::new();
        for (rule, why) in self.broken {
            match rules.iter_mut().find(|(r, _, _)| *r == rule) {
                Some((_, _, repeats)) => *repeats += 1,
                None => rules.push((rule, why, 0)),
            }
        }
        let count = rules.len();
        let mut lines = rules
            .into_iter()
            .take(3)
            .map(|(_, why, repeats)| match repeats {
                0 => why,
                1 => format!("{why} (and once more like it)"),
                n => format!("{why} (and {n} more like it)"),
            });
        let Some(first) = lines.next() else {
            return Ok(());
        };
        let failure = lines.fold(Failure::new(first), Failure::also);
        Err(if count > 3 {
            failure.also(format!("(and {} more problems)", count - 3))
        } else {
            failure
        })
    }
}

/// Seconds as the transcripts print them, `2.0 s`, or to the hundredth
/// when a tenth would hide a difference (`1.95 s`).
pub fn secs(duration: Duration) -> String {
    if duration.as_millis() % 100 == 0 {
        format!("{:.1} s", duration.as_secs_f64())
    } else {
        format!("{:.2} s", duration.as_secs_f64())
    }
}

/// Virtual time since the scenario started (the `say!` clock).
pub fn now() -> Duration {
    let now = lessons::elapsed();
    LAST_SEEN_MS.store(now.as_millis() as u64, Relaxed);
    now
}

/// Awaits `future`, a step of the story, for at most [`WATCHDOG`] of virtual
/// time. Past that it has waited for something that will never come.
pub async fn within<T>(what: impl Display, future: impl Future<Output = T>) -> Result<T, Failure> {
    let started = now();
    match tokio::time::timeout(WATCHDOG, future).await {
        Ok(output) => {
            now();
            Ok(output)
        }
        Err(_) => Err(Failure::new(format!(
            "{what} started at {} and had still not finished {} later: it waits for something \
             that never comes (a deadlock); alive tasks {}",
            secs(started),
            secs(WATCHDOG),
            alive_tasks()
        ))),
    }
}

/// Runs an exercise's check: `body` runs its scenarios in turn and returns
/// the first failure. Prints the verdict and returns the exit status (0 when
/// done, 1 when not).
pub fn main(body: impl FnOnce() -> Outcome) -> ExitCode {
    install_panic_recorder();
    watcher::start();
    let outcome = panic::catch_unwind(AssertUnwindSafe(body));
    let outcome = match (first_panic(), outcome) {
        (Some(panicked), _) => Err(panicked),
        (None, Ok(outcome)) => outcome,
        (None, Err(_)) => Err(Failure::new("it panicked")),
    };
    print_verdict(&outcome);
    if outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs one scenario of the story on a fresh paused-clock runtime. Its
/// transcript starts with `--- title`; its clock starts at 0.0 s.
pub fn scenario<T>(
    title: &str,
    story: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    println!("--- {title}");
    RUNTIME_THREAD.set(true);
    let run = watcher::Run::begin();
    let outcome = lessons::block_on(Clock::Paused, async {
        match tokio::time::timeout(WATCHDOG * 2, story).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Failure::new(format!(
                "the story had not ended after {} of virtual time; alive tasks {}",
                secs(WATCHDOG * 2),
                alive_tasks()
            ))),
        }
    });
    // A panic outranks what it caused; a blocked thread outranks a story
    // that went wrong because the clock stood still.
    if let Some(panicked) = first_panic() {
        return Err(panicked);
    }
    if let Some(blocked) = run.end() {
        return Err(blocked);
    }
    outcome
}

fn print_verdict(outcome: &Outcome) {
    let mut out = std::io::stdout().lock();
    let _ = match outcome {
        Ok(()) => writeln!(out, "{VERDICT}done"),
        Err(failure) => writeln!(out, "{VERDICT}not done\n{}", failure.lines.join("\n")),
    };
    let _ = out.flush();
}

// ---------------------------------------------------------------------------
// Panics

static PANICS: Mutex<Vec<Failure>> = Mutex::new(Vec::new());

thread_local! {
    /// Set on the thread that runs the scenarios' runtime.
    static RUNTIME_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Set just before a panic the story itself raises.
    static STAGED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Panics as part of the story: the exercise's world breaks on purpose (a
/// library's bug the learner's code must survive). It unwinds like any
/// panic, and a `JoinHandle` reports it as one, but it is not a verdict in
/// itself: what the learner's code does about it is.
#[track_caller]
pub(crate) fn staged_panic(message: String) -> ! {
    STAGED.set(true);
    panic!("{message}")
}

/// Records every panic (its message, its place, the virtual time) instead of
/// printing it: tokio catches a panic in a spawned task and the story may
/// carry on, but the panic is what the learner needs to see.
fn install_panic_recorder() {
    panic::set_hook(Box::new(|info| {
        if STAGED.replace(false) {
            return;
        }
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(a panic without a message)".to_owned());
        let place = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_else(|| "an unknown place".to_owned());
        // `elapsed` is the runtime thread's clock; other threads (the
        // blocking pool, a thread of the learner's) have none to read.
        let when = match RUNTIME_THREAD.get() {
            true => format!("at {} on the paused clock", secs(lessons::elapsed())),
            false => "on a thread other than the runtime's".to_owned(),
        };
        let mut failure =
            Failure::new(format!("it panicked {when}, at {place}:")).also(format!("    {message}"));
        if let Some(why) = known_panic(&message) {
            failure = failure.also(why);
        }
        PANICS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(failure);
    }));
}

/// What a panic tokio raises means for the learner, when its message alone
/// does not say.
fn known_panic(message: &str) -> Option<&'static str> {
    if message.contains("can call blocking only when running on the multi-threaded runtime") {
        // `block_in_place` (tokio 1.54, runtime/scheduler/multi_thread/worker.rs).
        return Some(
            "block_in_place hands the thread's other tasks to another worker thread, and a \
             current-thread runtime has none: the clinic runs on one thread (so does tokio's \
             paused clock). tokio::task::spawn_blocking works on every runtime.",
        );
    }
    None
}

fn first_panic() -> Option<Failure> {
    let panics = PANICS.lock().unwrap_or_else(|e| e.into_inner());
    let first = panics.first()?.clone();
    Some(if panics.len() > 1 {
        let more = panics.len() - 1;
        first.also(match more {
            1 => "(and 1 more panic after it)".to_owned(),
            _ => format!("(and {more} more panics after it)"),
        })
    } else {
        first
    })
}

// ---------------------------------------------------------------------------
// The last virtual time anyone looked at, for the watcher's verdict.

static LAST_SEEN_MS: AtomicU64 = AtomicU64::new(0);

fn last_seen() -> Duration {
    Duration::from_millis(LAST_SEEN_MS.load(Relaxed))
}

// ---------------------------------------------------------------------------
// The watcher: a plain thread that sees the runtime's thread from outside.

mod watcher {
    use super::*;
    use std::collections::VecDeque;
    use std::path::PathBuf;

    /// How often the watcher looks at the runtime's thread.
    const EVERY: Duration = Duration::from_millis(10);

    /// The runtime's thread, as /proc shows it. `None` off Linux.
    struct Probe {
        stat: PathBuf,
    }

    impl Probe {
        /// The calling thread.
        fn this_thread() -> Option<Probe> {
            let me = std::fs::read_link("/proc/thread-self").ok()?;
            let probe = Probe {
                stat: PathBuf::from("/proc").join(me).join("stat"),
            };
            probe.state().map(|_| probe)
        }

        /// `R` running or waiting for a CPU, `S` asleep in a call that blocks
        /// (a sleep, a lock, a channel), `D` waiting for the disk. Time the
        /// machine's host steals, or other processes take, leaves a thread
        /// `R`: only a blocking call puts it in `S`.
        fn state(&self) -> Option<char> {
            let stat = std::fs::read_to_string(&self.stat).ok()?;
            // `pid (name) S ...`: the name may hold spaces and brackets.
            stat[stat.rfind(')')? + 1..].trim_start().chars().next()
        }
    }

    /// The run in progress, shared with the watcher thread.
    struct Current {
        probe: Probe,
        started: WallInstant,
        /// Real time the thread was seen asleep, in all.
        asleep: Duration,
        last_look: WallInstant,
        /// Over the last second: when the watcher looked, and whether the
        /// thread was running.
        recent: VecDeque<(WallInstant, bool)>,
    }

    static CURRENT: Mutex<Option<Current>> = Mutex::new(None);

    /// Starts the watcher thread (once per process).
    pub(super) fn start() {
        std::thread::Builder::new()
            .name("exercise-watcher".into())
            .spawn(watch)
            .map(drop)
            .unwrap_or_else(|e| eprintln!("exercises: no watcher thread ({e})"));
    }

    /// One scenario's run of the runtime, watched from its start to its end.
    pub(super) struct Run {
        watched: bool,
    }

    impl Run {
        pub(super) fn begin() -> Run {
            let Some(probe) = Probe::this_thread() else {
                return Run { watched: false };
            };
            let now = WallInstant::now();
            *lock() = Some(Current {
                probe,
                started: now,
                asleep: Duration::ZERO,
                last_look: now,
                recent: VecDeque::new(),
            });
            Run { watched: true }
        }

        /// Stops watching. Returns a failure if the thread was asleep for
        /// too long in all, in many short naps the watcher saw one by one.
        pub(super) fn end(mut self) -> Option<Failure> {
            self.watched = false;
            let current = lock().take()?;
            (current.asleep >= BLOCKED_LIMIT).then(|| blocked(current.asleep))
        }
    }

    impl Drop for Run {
        fn drop(&mut self) {
            // A panic unwinding out of the scenario: stop watching.
            if self.watched {
                lock().take();
            }
        }
    }

    /// Real time, to a tenth: it varies from run to run anyway.
    fn real(duration: Duration) -> String {
        format!("{:.1} s", duration.as_secs_f64())
    }

    fn lock() -> std::sync::MutexGuard<'static, Option<Current>> {
        CURRENT.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn blocked(for_how_long: Duration) -> Failure {
        Failure::new(format!(
            "the runtime's only thread sat blocked for {} of real time while the paused clock \
             stood at {}: std::thread::sleep, a blocking lock or a blocking recv() stops every \
             task on this thread, and the clock with them.",
            real(for_how_long),
            secs(last_seen())
        ))
        .also("Await instead: tokio::time::sleep(..).await, tokio::sync's locks and channels.")
    }

    fn busy(for_how_long: Duration) -> Failure {
        Failure::new(format!(
            "the runtime's only thread ran for {} of real time without letting the paused clock \
             move past {}: a loop that never reaches an .await that waits (or only yields) keeps \
             every other task, and the clock, from running.",
            real(for_how_long),
            secs(last_seen())
        ))
        .also("Wait for what you need with .await (recv(), a permit, a timer) instead of asking again and again.")
    }

    /// Looks at the thread once; returns a verdict if it is stuck.
    fn look(current: &mut Current) -> Option<Failure> {
        let state = current.probe.state()?;
        let now = WallInstant::now();
        let since = now.duration_since(current.last_look).min(EVERY * 3);
        current.last_look = now;
        // Only `S` counts as blocked: `D` is the disk (a page of the
        // program read in for the first time), which no answer controls.
        let running = state != 'S';
        if state == 'S' {
            // Asleep now: count the time since the last look as asleep.
            current.asleep += since;
        }
        current.recent.push_back((now, running));
        while current
            .recent
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > Duration::from_secs(1))
        {
            current.recent.pop_front();
        }
        let running_share =
            current.recent.iter().filter(|(_, r)| *r).count() as f64 / current.recent.len() as f64;
        if current.asleep >= BLOCKED_LIMIT {
            Some(blocked(current.asleep))
        } else if current.started.elapsed() >= BUSY_LIMIT && running_share >= 0.9 {
            Some(busy(current.started.elapsed()))
        } else {
            None
        }
    }

    fn watch() {
        loop {
            std::thread::sleep(EVERY);
            let verdict = lock().as_mut().and_then(look);
            if let Some(failure) = verdict {
                print_verdict(&Err(failure));
                std::process::exit(1);
            }
        }
    }
}

//! The lesson harness: one runtime, one clock, one way to print.
//!
//! Every lesson binary hands its `async` body to [`run`]. The harness reads the
//! command line, builds a single-threaded tokio runtime and starts the clock:
//!
//! - with no flag the runtime uses the real clock, so a 5 s query takes 5 s;
//! - with `--fast` it uses tokio's *paused* clock: when every task is waiting on
//!   a timer, tokio jumps straight to the next deadline. The lesson prints the
//!   same transcript, at once. The tests run lessons this way.
//!
//! Lines are printed with [`say!`], stamped with the time since the lesson
//! started, rounded to 0.1 s, so a real-clock run reads like the book:
//!
//! ```text
//! [ 2.0s] handler: gave up on the lab after 2 s
//! ```
//!
//! Why one thread? A current-thread runtime runs one task at a time, so when two
//! things happen "at once" the order is set by the code (who woke whom), not by
//! which OS thread got there first. That keeps every transcript exact.
//!
//! With `--timeline FILE` the harness also records what the lesson's tasks did
//! and draws it as an SVG swimlane picture once the lesson ends (see
//! [`timeline`]: lessons add bars, hand-offs and marks; `say!` lines are
//! recorded by themselves).
//!
//! Two helpers serve the lessons on blocking (09 onwards): [`block_thread_for`],
//! the harness's stand-in for `std::thread::sleep` that keeps working on the
//! paused clock, and [`on_worker_threads`], a multi-thread runtime for the parts
//! of a lesson that need real worker threads.

use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use futures::FutureExt;
use tokio::runtime::{Builder, Handle, Runtime};
use tokio::sync::Notify;
use tokio::time::{Duration, Instant};

pub mod timeline;
pub mod transcript;
pub use timeline::{Span, handoff, lanes, mark, waiting, working};

/// Which clock a lesson runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Wall-clock time: sleeps really sleep.
    Real,
    /// tokio's paused clock (`--fast`): idle time is skipped, order is kept.
    Paused,
}

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Run the lesson on `clock`; with `timeline`, draw it into that file.
    Run {
        clock: Clock,
        timeline: Option<PathBuf>,
    },
    Help,
}

// Set by `run`: the lesson is a binary printing to a terminal or a pipe.
static IN_BINARY: AtomicBool = AtomicBool::new(false);

thread_local! {
    // When the lesson started. Thread-local because a current-thread runtime
    // runs every task on the thread that called `block_on`, and tests may run
    // several lessons at once on different threads.
    static START: Cell<Option<Instant>> = const { Cell::new(None) };
    // The clock of the lesson that `block_on` runs on this thread.
    static CLOCK: Cell<Option<Clock>> = const { Cell::new(None) };
    // Set on the blocking-pool threads of a lesson on the paused clock: who
    // moves that clock while one of them stands in for blocking work.
    static KEEPER: RefCell<Option<Arc<ClockKeeper>>> = const { RefCell::new(None) };
}

/// Reads the flags after the program name. Anything but `--fast`,
/// `--timeline FILE` or `--help` is an error naming the flag.
pub fn parse_args<I: IntoIterator<Item = String>>(
    args: I,
) -> Result<Command, String> {
    let (mut clock, mut timeline) = (Clock::Real, None);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--fast" => clock = Clock::Paused,
            "--timeline" => match args.next() {
                Some(file) if !file.starts_with('-') => timeline = Some(file.into()),
                _ => return Err("`--timeline` needs a file name".to_owned()),
            },
            "-h" | "--help" => return Ok(Command::Help),
            other => return Err(format!("unknown flag `{other}`")),
        }
    }
    Ok(Command::Run { clock, timeline })
}

/// The usage text for the lesson binary called `lesson`.
pub fn usage(lesson: &str) -> String {
    format!(
        "usage: cargo run --bin {lesson} [-- [--fast] [--timeline FILE]]\n\n\
         \x20 (no flag)        run on the real clock: sleeps take real time\n\
         \x20 --fast           run on tokio's paused clock: same transcript, at once\n\
         \x20 --timeline FILE  also draw the lesson's tasks as an SVG into FILE\n\
         \x20 --help           print this text"
    )
}

/// Runs one lesson: parses the flags, builds the runtime, awaits `lesson`.
///
/// An unknown flag prints the usage to stderr and exits with status 2; a
/// timeline that cannot be written, an error and status 1.
pub fn run<F, Fut>(lesson: F) -> ExitCode
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut args = std::env::args();
    let program = args.next().unwrap_or_default();
    let name = std::path::Path::new(&program)
        .file_stem()
        .map_or_else(|| "lesson".to_owned(), |s| s.to_string_lossy().into_owned());

    match parse_args(args) {
        Ok(Command::Run { clock, timeline: None }) => {
            IN_BINARY.store(true, Ordering::Relaxed);
            block_on(clock, lesson());
            ExitCode::SUCCESS
        }
        Ok(Command::Run { clock, timeline: Some(file) }) => {
            IN_BINARY.store(true, Ordering::Relaxed);
            timeline::start_recording();
            block_on(clock, lesson());
            let title = format!("Lesson {name}: what its tasks did, and when");
            let svg = timeline::render(&title, &timeline::finish());
            match std::fs::write(&file, svg) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!(
                        "{name}: cannot write the timeline {}: {e}",
                        file.display()
                    );
                    ExitCode::FAILURE
                }
            }
        }
        Ok(Command::Help) => {
            println!("{}", usage(&name));
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("{name}: {problem}\n\n{}", usage(&name));
            ExitCode::from(2)
        }
    }
}

/// Builds the lesson runtime: one thread, timers on, the chosen clock.
pub fn runtime(clock: Clock) -> Runtime {
    builder(clock).build().expect("a current-thread runtime always builds")
}

fn builder(clock: Clock) -> Builder {
    let mut builder = Builder::new_current_thread();
    builder.enable_time();
    if clock == Clock::Paused {
        builder.start_paused(true);
    }
    builder
}

/// Runs `future` to completion on a fresh lesson runtime with the clock
/// started, and returns its output. Lessons' own tests call this directly.
///
/// When it returns, the runtime is dropped: any task still alive is dropped
/// with it, the way a process exit ends every goroutine.
pub fn block_on<T>(clock: Clock, future: impl Future<Output = T>) -> T {
    let keeper = Arc::new(ClockKeeper::default());
    let mut builder = builder(clock);
    if clock == Clock::Paused {
        // The runtime starts its blocking-pool threads itself; this hook is
        // how they learn which keeper moves their clock.
        let for_pool = Arc::clone(&keeper);
        builder.on_thread_start(move || KEEPER.set(Some(Arc::clone(&for_pool))));
    }
    let runtime = builder.build().expect("a current-thread runtime always builds");
    runtime.block_on(async {
        START.set(Some(Instant::now()));
        CLOCK.set(Some(clock));
        timeline::lesson_started();
        let output = match clock {
            Clock::Real => future.await,
            // The keeper never finishes; it only works while a blocking-pool
            // thread waits in `block_thread_for`.
            Clock::Paused => tokio::select! {
                biased;
                output = future => output,
                never = keeper.keep_clock() => match never {},
            },
        };
        timeline::lesson_ended();
        START.set(None);
        CLOCK.set(None);
        output
    })
}

/// Blocks the calling OS thread for `duration`: the harness's stand-in for
/// `std::thread::sleep`, or for as long a stretch of CPU-heavy work.
///
/// - On the real clock it *is* `std::thread::sleep(duration)`.
/// - On the paused clock, on the lesson's own thread, it moves tokio's clock
///   forward by `duration` at once and returns. No other task runs meanwhile,
///   so every timer that came due fires late, after it, exactly as on the real
///   clock. (It polls `tokio::time::advance` once: `advance` moves the clock
///   before it yields, and the yield is dropped.)
/// - On the paused clock, on a blocking-pool thread (`spawn_blocking`), the
///   thread waits while the lesson's thread moves the clock forward 1 ms at a
///   time, so the runtime's timers keep firing on time. tokio itself stops
///   its paused clock while a blocking task runs: it cannot know how long
///   blocking work takes.
///
/// Anywhere else (a thread the lesson made, a runtime of its own) it sleeps.
pub fn block_thread_for(duration: Duration) {
    if CLOCK.get() == Some(Clock::Paused) {
        let _yielded = tokio::time::advance(duration).now_or_never();
    } else if let Some(keeper) = KEEPER.with_borrow(Option::clone) {
        keeper.stand_in(duration);
    } else {
        std::thread::sleep(duration);
    }
}

/// Runs `part` on a fresh multi-thread runtime with `workers` worker threads,
/// the kind `#[tokio::main]` builds, and returns its output.
///
/// tokio can pause time only on a current-thread runtime, so this one always
/// runs on the real clock: a lesson prints from it only what does not depend
/// on timing. `part` starts on a blocking-pool thread of the lesson runtime,
/// which waits for it.
pub async fn on_worker_threads<F, Fut, T>(workers: usize, part: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    // The timeline stamps this part's records with the lesson time it began.
    let (began, paused) = (elapsed(), CLOCK.get() == Some(Clock::Paused));
    let real_start = std::time::Instant::now();
    let enter = move || timeline::enter_worker_part(began, real_start, paused);
    tokio::task::spawn_blocking(move || {
        // The new runtime keeps real time: here `block_thread_for` sleeps.
        let keeper = KEEPER.take();
        enter();
        let output = Builder::new_multi_thread()
            .worker_threads(workers)
            .on_thread_start(enter)
            .enable_time()
            .build()
            .expect("a multi-thread runtime builds")
            .block_on(part());
        // This blocking-pool thread may serve the lesson again: on its clock.
        timeline::leave_worker_part();
        KEEPER.set(keeper);
        output
    })
    .await
    .expect("the lesson part does not panic")
}

/// Moves the paused clock for blocking-pool threads that stand in for
/// blocking work (see [`block_thread_for`]).
#[derive(Default)]
struct ClockKeeper {
    /// When each standing-in thread is due back, on the lesson's clock.
    due: Mutex<Vec<Instant>>,
    /// Rung, under `due`'s lock, when the clock reaches a due time.
    reached: Condvar,
    /// Wakes the keeper when a thread starts or stops standing in.
    changed: Notify,
}

impl ClockKeeper {
    /// On a blocking-pool thread: waits until the clock has moved `duration`.
    fn stand_in(&self, duration: Duration) {
        let back_at = Instant::now() + duration;
        let mut due = self.due.lock().expect("the keeper never panics");
        due.push(back_at);
        self.changed.notify_one();
        while Instant::now() < back_at {
            due = self.reached.wait(due).expect("the keeper never panics");
        }
        let mine = due.iter().position(|at| *at == back_at);
        due.swap_remove(mine.expect("registered above"));
        drop(due);
        self.changed.notify_one();
    }

    /// On the lesson's thread, beside the lesson: while a thread stands in,
    /// moves the clock 1 ms at a time towards the earliest due time, letting
    /// the tasks that each step's timers woke run before the next step.
    async fn keep_clock(&self) -> Infallible {
        loop {
            let next = self.due.lock().expect("no panics").iter().min().copied();
            match next {
                None => self.changed.notified().await,
                Some(back_at) if Instant::now() >= back_at => {
                    let due = self.due.lock().expect("no panics");
                    self.reached.notify_all();
                    drop(due);
                    self.changed.notified().await;
                }
                Some(back_at) => {
                    let step =
                        (back_at - Instant::now()).min(Duration::from_millis(1));
                    tokio::time::advance(step).await;
                    tokio::task::yield_now().await;
                }
            }
        }
    }
}

/// Time since the lesson started (zero outside a lesson).
pub fn elapsed() -> Duration {
    START.get().map_or(Duration::ZERO, |start| start.elapsed())
}

/// Prints one transcript line stamped with [`elapsed`]. Use [`say!`].
pub fn say_line(line: fmt::Arguments<'_>) {
    let text = line.to_string();
    timeline::said(&text);
    let line = format!("{} {text}", stamp(elapsed()));
    if !IN_BINARY.load(Ordering::Relaxed) {
        // In a unit test: `println!` lets the test harness capture the line.
        println!("{line}");
    } else if writeln!(std::io::stdout(), "{line}").is_err() {
        // The reader has gone (`cargo run --bin 03_leak | head -3`): end
        // quietly instead of panicking on a broken pipe.
        std::process::exit(0);
    }
}

/// `[ 2.0s]`: elapsed time rounded to a tenth of a second.
pub fn stamp(elapsed: Duration) -> String {
    format!("[{:4.1}s]", elapsed.as_secs_f64())
}

/// How many tasks the runtime holds right now: spawned and not yet finished.
/// This is tokio's twin of Go's `runtime.NumGoroutine()`, less one: the lesson's
/// own body runs in `block_on`, not in a spawned task, so an idle lesson has 0.
pub fn alive_tasks() -> usize {
    Handle::current().metrics().num_alive_tasks()
}

/// The process's resident memory in KiB: from /proc on Linux, else from `ps`
/// (macOS, the BSDs). Counting each allocation would be exact, but needs a
/// `#[global_allocator]`, `unsafe` code, forbidden in this workspace. Resident
/// memory is coarser: it counts the allocator's bookkeeping, and for a thread
/// only the stack pages it touched, not the kernel's memory (its kernel stack).
pub fn resident_kib() -> Option<u64> {
    let text = match std::fs::read_to_string("/proc/self/status") {
        Ok(status) => {
            status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.to_owned()
        }
        Err(_) => {
            let pid = std::process::id().to_string();
            let mut ps = std::process::Command::new("ps");
            ps.args(["-o", "rss=", "-p", &pid]);
            String::from_utf8(ps.output().ok()?.stdout).ok()?
        }
    };
    text.trim().trim_end_matches("kB").trim().parse().ok()
}

/// A wait the lesson measured, in seconds, to the nearest half second.
///
/// Every wait the lessons print is a whole or half number of seconds by
/// design. On the real clock a timer fires a little late, never early, and on
/// a busy machine it can be a tenth or two late: rounding to the half second
/// keeps a timer up to 0.25 s late from changing what the line says. The
/// line's stamp keeps the finer reading. (Give a lesson waits of other lengths
/// and this rounds them too: print `waited.as_secs_f64()` to see the tenths.)
pub fn half_seconds(waited: Duration) -> f64 {
    (waited.as_secs_f64() * 2.0).round() / 2.0
}

/// Shorthand for a duration in milliseconds, so timelines read as numbers.
pub const fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Prints a transcript line: `say!("lab: took {report}")` prints
/// `[ 1.5s] lab: took P-001`.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::say_line(format_args!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_choose_the_clock() {
        let run = |clock, timeline: Option<&str>| {
            Ok(Command::Run { clock, timeline: timeline.map(PathBuf::from) })
        };
        assert_eq!(parse_args(args(&[])), run(Clock::Real, None));
        assert_eq!(parse_args(args(&["--fast"])), run(Clock::Paused, None));
        assert_eq!(
            parse_args(args(&["--timeline", "03.svg", "--fast"])),
            run(Clock::Paused, Some("03.svg"))
        );
        assert_eq!(
            parse_args(args(&["--fast", "--timeline"])),
            Err("`--timeline` needs a file name".to_owned())
        );
        assert_eq!(parse_args(args(&["--help"])), Ok(Command::Help));
        assert_eq!(
            parse_args(args(&["--fats"])),
            Err("unknown flag `--fats`".to_owned())
        );
    }

    #[test]
    fn a_pool_thread_stands_in_again_after_a_worker_part() {
        // The blocking-pool thread that ran a worker part is idle after it,
        // so the next `spawn_blocking` is likely to get it back: its blocking
        // must still move the paused clock, not sleep for real.
        let real = std::time::Instant::now();
        let virtual_time = block_on(Clock::Paused, async {
            on_worker_threads(1, || async {}).await;
            let start = Instant::now();
            for _ in 0..3 {
                tokio::task::spawn_blocking(|| block_thread_for(ms(2_000)))
                    .await
                    .unwrap();
            }
            start.elapsed()
        });
        assert_eq!(virtual_time, ms(6_000));
        assert!(real.elapsed() < ms(2_000), "slept for real: {:?}", real.elapsed());
    }

    #[test]
    fn measured_waits_round_to_the_half_second() {
        assert_eq!(half_seconds(ms(1_500)), 1.5);
        // A timer 0.2 s late on a busy machine still reads as planned...
        assert_eq!(half_seconds(ms(1_700)), 1.5);
        assert_eq!(half_seconds(ms(220)), 0.0);
        // ...but a wait of another length is not hidden.
        assert_eq!(half_seconds(ms(1_800)), 2.0);
    }

    #[test]
    fn stamps_round_to_a_tenth() {
        assert_eq!(stamp(ms(0)), "[ 0.0s]");
        assert_eq!(stamp(ms(2_004)), "[ 2.0s]");
        assert_eq!(stamp(ms(1_960)), "[ 2.0s]");
        assert_eq!(stamp(ms(12_500)), "[12.5s]");
    }

    #[test]
    fn paused_clock_skips_idle_time_and_counts_tasks() {
        let wall = std::time::Instant::now();
        let (during, after, lesson_time) = block_on(Clock::Paused, async {
            let query = tokio::spawn(tokio::time::sleep(ms(5_000)));
            let during = alive_tasks();
            query.await.unwrap();
            (during, alive_tasks(), elapsed())
        });
        assert_eq!((during, after), (1, 0));
        assert_eq!(lesson_time, ms(5_000));
        assert!(wall.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn on_the_lesson_thread_a_blocking_call_makes_due_timers_fire_late() {
        let wall = std::time::Instant::now();
        let fired_at = block_on(Clock::Paused, async {
            let deadline = tokio::spawn(async {
                tokio::time::sleep(ms(2_000)).await;
                elapsed()
            });
            tokio::task::yield_now().await; // the deadline's timer is set
            block_thread_for(ms(3_000));
            assert_eq!(elapsed(), ms(3_000), "the clock moved at once");
            deadline.await.unwrap()
        });
        assert_eq!(fired_at, ms(3_000));
        assert!(wall.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn on_the_blocking_pool_timers_keep_firing_while_the_thread_stands_in() {
        let wall = std::time::Instant::now();
        let (deadline, back) = block_on(Clock::Paused, async {
            let deadline = tokio::spawn(async {
                tokio::time::sleep(ms(2_000)).await;
                elapsed()
            });
            let worker = tokio::task::spawn_blocking(|| block_thread_for(ms(3_000)));
            worker.await.unwrap();
            (deadline.await.unwrap(), elapsed())
        });
        // Timers fire within the keeper's 1 ms step of their deadline.
        assert!((ms(2_000)..=ms(2_001)).contains(&deadline), "{deadline:?}");
        assert!((ms(3_000)..=ms(3_001)).contains(&back), "{back:?}");
        assert!(wall.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn on_the_real_clock_a_blocking_call_really_sleeps() {
        let wall = std::time::Instant::now();
        block_on(Clock::Real, async { block_thread_for(ms(50)) });
        assert!(wall.elapsed() >= std::time::Duration::from_millis(50));
    }
}

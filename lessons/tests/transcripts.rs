//! Every lesson prints exactly its checked transcript.
//!
//! - `--fast` (paused clock): the output equals `transcripts/NN_name.txt` line for
//!   line, and the run takes under a second of wall time (the quickest of
//!   three tries, if the first is slower: see `common::quickest_fast_run`).
//! - real clock: the same lines in the same order; only the `[ 2.0s]` stamps may
//!   differ, by at most 0.3 s.
//!
//! A line that ends in `(varies by machine)` carries a measured figure: its digits
//! are masked before comparing, and only on that line.
//!
//! stderr is checked the same way: a lesson prints nothing there unless
//! `transcripts/NN_name.stderr` holds what it prints (13_panics: one stamped
//! line per panic, from its own panic hook).
//!
//! On a difference the test names the first line that differs, then prints the
//! whole expected output and the whole actual one, one after the other.

mod common;

use common::{FAST_RUN_LIMIT, lessons, quickest_fast_run};
use lessons::transcript::same_line;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The fast runs are timed, so they must not share the two cores with the
/// real-clock runs (lesson 08 parks 50,000 tasks on both clocks).
static ONE_SUITE_AT_A_TIME: Mutex<()> = Mutex::new(());

const REAL_CLOCK_TOLERANCE: f64 = 0.3;
/// Lessons that burn CPU on purpose: 08 parks 1,000 threads and 50,000 tasks.
const RUN_ALONE: [&str; 1] = ["08_tasks_vs_threads"];

fn transcripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("transcripts")
}

fn expected(lesson: &str) -> String {
    let path = transcripts_dir().join(format!("{lesson}.txt"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{lesson} has no transcript at {}: {e}", path.display())
    })
}

/// What the lesson prints to stderr: nothing, unless a `.stderr` file says so.
fn expected_stderr(lesson: &str) -> String {
    std::fs::read_to_string(transcripts_dir().join(format!("{lesson}.stderr")))
        .unwrap_or_default()
}

fn run(exe: &Path, args: &[&str]) -> (Output, Duration) {
    run_command(Command::new(exe).args(args))
}

fn run_command(command: &mut Command) -> (Output, Duration) {
    let started = Instant::now();
    let output =
        command.output().unwrap_or_else(|e| panic!("running {command:?}: {e}"));
    (output, started.elapsed())
}

/// A real-clock run, at a raised priority where the OS allows it.
///
/// The real-clock runs check the lessons' timing, not the machine's load: on
/// a busy two-core machine (neighbours' builds, or the busy loops of a load
/// test) a lesson whose timer has fired can wait half a second for a core. A
/// lesson mostly sleeps, so raising its priority (`nice -n -10`) costs the
/// others little and gets it a core as soon as it wakes. Without the right to
/// (not root, no CAP_SYS_NICE) it runs at normal priority.
fn run_on_the_real_clock(exe: &Path) -> (Output, Duration) {
    static ALLOWED: OnceLock<bool> = OnceLock::new();
    let allowed = *ALLOWED.get_or_init(|| {
        let probe = Command::new("nice").args(["-n", "-10", "true"]).output();
        probe.is_ok_and(|probe| probe.status.success() && probe.stderr.is_empty())
    });
    if allowed {
        run_command(Command::new("nice").args(["-n", "-10"]).arg(exe))
    } else {
        run(exe, &[])
    }
}

fn stdout_of(lesson: &str, output: &Output) -> String {
    assert!(
        output.status.success(),
        "{lesson} exited with {}; stderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("lessons print UTF-8")
}

/// `None` if `actual` matches `want` line by line; otherwise the first line
/// that differs, then both outputs in full.
fn difference(
    lesson: &str,
    stream: &str,
    actual: &str,
    want: &str,
    tolerance: Option<f64>,
) -> Option<String> {
    let (got, wanted): (Vec<&str>, Vec<&str>) =
        (actual.lines().collect(), want.lines().collect());
    let line = (0..got.len().max(wanted.len())).find(|&i| {
        match (got.get(i), wanted.get(i)) {
            (Some(got), Some(wanted)) => !same_line(got, wanted, tolerance),
            _ => true,
        }
    })?;
    let show = |text: Option<&&str>| {
        text.map_or("(no line: it ends here)".into(), |t| format!("{t:?}"))
    };
    let (got_line, want_line) = (show(got.get(line)), show(wanted.get(line)));
    Some(format!(
        "{lesson}: {stream} line {} differs\n  expected: {want_line}\n  actual:   {got_line}\n\
         --- expected {stream}\n{want}--- actual {stream}\n{actual}",
        line + 1
    ))
}

#[test]
fn fast_runs_print_the_checked_transcripts_within_a_second() {
    let _alone = ONE_SUITE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut failures = Vec::new();
    for (lesson, exe) in lessons() {
        let (output, took) = quickest_fast_run(|| run(&exe, &["--fast"]));
        failures.extend(check(&lesson, &output, None));
        if took >= FAST_RUN_LIMIT {
            failures.push(format!(
                "{lesson} --fast took {took:?} at best of three, over {FAST_RUN_LIMIT:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn real_clock_runs_print_the_same_lines_at_about_the_same_times() {
    let _alone = ONE_SUITE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // The lessons mostly sleep, so they run side by side, started a tenth of a
    // second apart so that their start-up work (loading a debug binary,
    // building a runtime) does not all land in the same instant. The lessons
    // that burn CPU run after the rest, one at a time: their bursts would make
    // everyone else's timers late on a busy two-core machine.
    let (alone, together): (Vec<_>, Vec<_>) = lessons()
        .into_iter()
        .partition(|(lesson, _)| RUN_ALONE.contains(&lesson.as_str()));
    let mut runs = Vec::new();
    for (lesson, exe) in together {
        runs.push(std::thread::spawn(move || (lesson, run_on_the_real_clock(&exe))));
        std::thread::sleep(Duration::from_millis(100));
    }
    let runs: Vec<_> = runs
        .into_iter()
        .map(|handle| handle.join().expect("runner thread"))
        .chain(alone.into_iter().map(|(lesson, exe)| {
            let output = run_on_the_real_clock(&exe);
            (lesson, output)
        }))
        .collect();
    let mut failures = Vec::new();
    for (lesson, (output, took)) in runs {
        if took > Duration::from_secs(15) {
            failures.push(format!(
                "{lesson} took {took:?} on the real clock, over 15 s"
            ));
        }
        failures.extend(check(&lesson, &output, Some(REAL_CLOCK_TOLERANCE)));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Checks one run's stdout and stderr against the lesson's checked files.
fn check(lesson: &str, output: &Output, tolerance: Option<f64>) -> Vec<String> {
    let stdout = stdout_of(lesson, output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    [
        difference(lesson, "stdout", &stdout, &expected(lesson), tolerance),
        difference(lesson, "stderr", &stderr, &expected_stderr(lesson), tolerance),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[test]
fn every_lesson_has_a_transcript_and_every_transcript_a_lesson() {
    let names: Vec<String> = lessons().into_iter().map(|(name, _)| name).collect();
    let mut transcripts: Vec<String> = std::fs::read_dir(transcripts_dir())
        .expect("lessons/transcripts exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    transcripts.sort();
    assert_eq!(names, transcripts);
    // A .stderr file belongs to a lesson too, and nothing else lives there.
    for entry in std::fs::read_dir(transcripts_dir()).expect("lessons/transcripts") {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let ext = path.extension().map(|e| e.to_string_lossy().into_owned());
        assert!(
            matches!(ext.as_deref(), Some("txt" | "stderr"))
                && names.contains(&stem),
            "{} is neither a lesson's transcript nor its stderr",
            path.display()
        );
    }
}

#[test]
fn an_unknown_flag_prints_usage_and_exits_2() {
    for (lesson, exe) in lessons() {
        let (output, _) = run(&exe, &["--fats"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{lesson}: {stderr}");
        assert!(stderr.contains("unknown flag `--fats`"), "{lesson}: {stderr}");
        assert!(
            stderr.contains(&format!("usage: cargo run --bin {lesson}")),
            "{lesson}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{lesson} printed a transcript anyway");
    }
}

//! Every lesson prints exactly its checked transcript.
//!
//! - `--fast` (paused clock): the output equals `transcripts/NN_name.txt` line for
//!   line, and the run takes under a second of wall time.
//! - real clock: the same lines in the same order; only the `[ 2.0s]` stamps may
//!   differ, by at most 0.3 s.
//!
//! A line that ends in `(varies by machine)` carries a measured figure: its digits
//! are masked before comparing, and only on that line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The fast runs are timed, so they must not share the two cores with the
/// real-clock runs (lesson 08 parks 100,000 tasks on both clocks).
static ONE_SUITE_AT_A_TIME: Mutex<()> = Mutex::new(());

const MACHINE_DEPENDENT: &str = "(varies by machine)";
const REAL_CLOCK_TOLERANCE: f64 = 0.3;

/// Every lesson binary, found next to the one cargo built for this test.
fn lessons() -> Vec<(String, PathBuf)> {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_01_unbuffered"))
        .parent()
        .expect("binaries live in a directory")
        .to_path_buf();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bin");
    let mut names: Vec<String> = std::fs::read_dir(src)
        .expect("lessons/src/bin exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let exe =
                bin_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
            (name, exe)
        })
        .collect()
}

fn expected(lesson: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("transcripts")
        .join(format!("{lesson}.txt"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{lesson} has no transcript at {}: {e}", path.display())
    })
}

fn run(exe: &Path, args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let output = Command::new(exe)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
    (output, started.elapsed())
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

/// Masks the digits of a machine-dependent line; other lines are kept as they are.
fn masked(line: &str) -> String {
    if line.ends_with(MACHINE_DEPENDENT) {
        line.chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .collect()
    } else {
        line.to_owned()
    }
}

/// Splits `[ 2.0s] text` into (2.0, "text").
fn split_stamp(line: &str) -> Option<(f64, &str)> {
    let rest = line.strip_prefix('[')?;
    let (seconds, text) = rest.split_once("s] ")?;
    Some((seconds.trim().parse().ok()?, text))
}

#[test]
fn fast_runs_print_the_checked_transcripts_within_a_second() {
    let _alone = ONE_SUITE_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let mut failures = Vec::new();
    for (lesson, exe) in lessons() {
        let (output, took) = run(&exe, &["--fast"]);
        let actual = stdout_of(&lesson, &output);
        let want = expected(&lesson);
        let actual_lines: Vec<String> = actual.lines().map(masked).collect();
        let want_lines: Vec<String> = want.lines().map(masked).collect();
        if actual_lines != want_lines {
            failures.push(format!(
                "{lesson}: transcript differs.\n--- expected\n{want}--- actual\n{actual}"
            ));
        }
        if took >= Duration::from_secs(1) {
            failures.push(format!("{lesson} --fast took {took:?}, over 1 s"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn real_clock_runs_print_the_same_lines_at_about_the_same_times() {
    let _alone = ONE_SUITE_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    // The lessons mostly sleep, so they run side by side: the whole check takes
    // about as long as the slowest lesson (15 s at most).
    let runs: Vec<_> = lessons()
        .into_iter()
        .map(|(lesson, exe)| {
            std::thread::spawn(move || (lesson.clone(), run(&exe, &[])))
        })
        .collect();
    let mut failures = Vec::new();
    for handle in runs {
        let (lesson, (output, took)) = handle.join().expect("runner thread");
        let actual = stdout_of(&lesson, &output);
        let want = expected(&lesson);
        if took > Duration::from_secs(15) {
            failures.push(format!(
                "{lesson} took {took:?} on the real clock, over 15 s"
            ));
        }
        let (actual_lines, want_lines): (Vec<_>, Vec<_>) =
            (actual.lines().collect(), want.lines().collect());
        if actual_lines.len() != want_lines.len() {
            failures.push(format!(
                "{lesson}: {} lines on the real clock, {} expected.\n--- expected\n{want}--- actual\n{actual}",
                actual_lines.len(),
                want_lines.len()
            ));
            continue;
        }
        for (got, wanted) in actual_lines.iter().zip(&want_lines) {
            let (Some((got_at, got_text)), Some((want_at, want_text))) =
                (split_stamp(got), split_stamp(wanted))
            else {
                failures
                    .push(format!("{lesson}: unstamped line {got:?} / {wanted:?}"));
                continue;
            };
            if masked(got_text) != masked(want_text)
                || (got_at - want_at).abs() > REAL_CLOCK_TOLERANCE
            {
                failures.push(format!("{lesson}: got {got:?}, expected {wanted:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_lesson_has_a_transcript_and_every_transcript_a_lesson() {
    let names: Vec<String> = lessons().into_iter().map(|(name, _)| name).collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("transcripts");
    let mut transcripts: Vec<String> = std::fs::read_dir(dir)
        .expect("lessons/transcripts exists")
        .map(|entry| entry.unwrap().path())
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    transcripts.sort();
    assert_eq!(names, transcripts);
}

#[test]
fn an_unknown_flag_prints_usage_and_exits_2() {
    for (lesson, exe) in lessons() {
        let (output, _) = run(&exe, &["--fats"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{lesson}: {stderr}");
        assert!(
            stderr.contains("unknown flag `--fats`"),
            "{lesson}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("usage: cargo run --bin {lesson}")),
            "{lesson}: {stderr}"
        );
        assert!(
            output.stdout.is_empty(),
            "{lesson} printed a transcript anyway"
        );
    }
}

//! The checker's side: builds an exercise, runs it in a child process under a
//! wall-clock limit, and reads the verdict it prints (see [`crate::harness`]).
//!
//! Each exercise is its own binary, built by its own `cargo build --bin`, so
//! a compile error in one never stops the others from being checked, and a
//! hang in one never hangs the checker.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::VERDICT;

pub mod hints;
pub mod watch;

/// One exercise: where it lives and which lesson it practises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exercise {
    /// `03`: what the learner types.
    pub number: &'static str,
    /// `03_deadline`: the binary's name, and the stem of every file that
    /// belongs to the exercise.
    pub slug: &'static str,
    pub title: &'static str,
    /// The lesson binary it practises, `03_leak`.
    pub lesson: &'static str,
}

/// Every exercise, in the order a learner does them.
pub const EXERCISES: &[Exercise] = &[
    Exercise {
        number: "01",
        slug: "01_rendezvous",
        title: "The nurse waits until the lab holds the sample",
        lesson: "01_unbuffered",
    },
    Exercise {
        number: "02",
        slug: "02_basket",
        title: "A basket of three, and a gauge that tells the truth",
        lesson: "02_buffered",
    },
    Exercise {
        number: "03",
        slug: "03_deadline",
        title: "Answer within 2 s, and stop the query",
        lesson: "03_leak",
    },
    Exercise {
        number: "04",
        slug: "04_withdraw",
        title: "Consent withdrawn: stop her export now",
        lesson: "04_cancel",
    },
    Exercise {
        number: "05",
        slug: "05_audit_tray",
        title: "The clerk who waits for herself",
        lesson: "05_deadlock",
    },
    Exercise {
        number: "06",
        slug: "06_drain",
        title: "Closing time: drain, and name what is lost",
        lesson: "06_shutdown",
    },
    Exercise {
        number: "07",
        slug: "07_busy",
        title: "Busy, try again: 503 at once",
        lesson: "07_backpressure",
    },
    Exercise {
        number: "08",
        slug: "08_connections",
        title: "Ten connections for a thousand requests",
        lesson: "08_tasks_vs_threads",
    },
    Exercise {
        number: "09",
        slug: "09_masking",
        title: "One pair of hands: the masking that stalls everyone",
        lesson: "09_blocking",
    },
    Exercise {
        number: "10",
        slug: "10_enrolment",
        title: "Every patient her own trial number",
        lesson: "10_shared_state",
    },
    Exercise {
        number: "11",
        slug: "11_heartbeat",
        title: "The heartbeat that drops reports",
        lesson: "11_select",
    },
    Exercise {
        number: "12",
        slug: "12_reminders",
        title: "Reminders: three connections, five texts a second",
        lesson: "12_limits",
    },
    Exercise {
        number: "13",
        slug: "13_quarantine",
        title: "One bad report must not stop the intake",
        lesson: "13_panics",
    },
];

/// Finds an exercise by number (`3`, `03`) or by name (`03_deadline`).
pub fn find(wanted: &str) -> Option<&'static Exercise> {
    let padded = format!("{wanted:0>2}");
    EXERCISES
        .iter()
        .find(|e| e.number == padded || e.slug == wanted)
}

/// How long an exercise may run, in real time, before the checker stops it.
/// Its own watcher answers long before this; this catches the rest.
pub const WALL_LIMIT: Duration = Duration::from_secs(15);

/// Where the checker works: the exercises' package, and how to call cargo.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// `exercises/`, the package holding the exercises.
    pub dir: PathBuf,
    pub cargo: OsString,
}

impl Workspace {
    /// This package, built by the cargo that is running us (or the one on
    /// the PATH).
    pub fn here() -> Workspace {
        Workspace {
            dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
            cargo: std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
        }
    }

    /// The workspace root, for paths shown to the learner.
    pub fn root(&self) -> &Path {
        self.dir.parent().unwrap_or(&self.dir)
    }

    /// The file a learner edits for `exercise`.
    pub fn exercise_file(&self, exercise: &Exercise) -> PathBuf {
        self.dir
            .join("src/bin")
            .join(format!("{}.rs", exercise.slug))
    }

    /// `path` relative to the workspace root, as the learner would type it.
    pub fn show(&self, path: &Path) -> String {
        path.strip_prefix(self.root())
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

/// What is checked: the learner's exercise, or one of the binaries the
/// tests and `--solutions` use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `exercises/src/bin/NN_name.rs`.
    Exercise(&'static Exercise),
    /// A program inside `exercise-variants`: `solutions/03_deadline`,
    /// `shipped/03_deadline`, `wrong/03_deadline/leaky_select`.
    Variant(String),
    /// Another binary of the package, built with these features.
    Bin { name: String, features: Vec<String> },
}

/// What checking one target found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Done {
        transcript: Vec<String>,
    },
    /// It ran and its check says why it is not done.
    NotDone {
        transcript: Vec<String>,
        diagnosis: Vec<String>,
    },
    /// cargo could not build it: the compiler's errors, as rendered.
    DoesNotCompile {
        errors: Vec<String>,
    },
    /// It ended without a verdict (exited early, killed by a signal).
    Crashed {
        transcript: Vec<String>,
        how: String,
        stderr: Vec<String>,
    },
    /// Still running at the wall-clock limit, so the checker stopped it.
    TimedOut {
        transcript: Vec<String>,
    },
}

impl Verdict {
    pub fn is_done(&self) -> bool {
        matches!(self, Verdict::Done { .. })
    }

    /// The lines that say what is wrong (empty when done).
    pub fn diagnosis(&self) -> Vec<String> {
        match self {
            Verdict::Done { .. } => Vec::new(),
            Verdict::NotDone { diagnosis, .. } => diagnosis.clone(),
            Verdict::DoesNotCompile { errors } => {
                let mut lines = vec!["it does not compile:".to_owned()];
                lines.extend(errors.iter().cloned());
                lines
            }
            Verdict::Crashed { how, stderr, .. } => {
                let mut lines = vec![format!("it stopped before the check could finish: {how}")];
                lines.extend(stderr.iter().rev().take(10).rev().cloned());
                lines
            }
            Verdict::TimedOut { .. } => vec![format!(
                "it was still running after {} s of real time, so the checker stopped it: a story on \
                 the paused clock takes well under a second. Something kept the runtime's thread \
                 from reaching an .await (a busy loop, or a blocking call).",
                WALL_LIMIT.as_secs()
            )],
        }
    }

    /// The story's transcript, as far as it got.
    pub fn transcript(&self) -> &[String] {
        match self {
            Verdict::Done { transcript }
            | Verdict::NotDone { transcript, .. }
            | Verdict::Crashed { transcript, .. }
            | Verdict::TimedOut { transcript } => transcript,
            Verdict::DoesNotCompile { .. } => &[],
        }
    }
}

/// Builds `target` and runs it: the whole check of one exercise.
pub fn check(workspace: &Workspace, target: &Target) -> Verdict {
    let (bin, features, args) = match target {
        Target::Exercise(exercise) => (exercise.slug.to_owned(), Vec::new(), Vec::new()),
        Target::Variant(name) => (VARIANTS_BIN.to_owned(), Vec::new(), vec![name.clone()]),
        Target::Bin { name, features } => (name.clone(), features.clone(), Vec::new()),
    };
    match build(workspace, &bin, &features) {
        Ok(program) => run(&program, &args, WALL_LIMIT),
        Err(errors) => Verdict::DoesNotCompile { errors },
    }
}

/// The binary holding the solutions, the shipped copies and the fixtures.
pub const VARIANTS_BIN: &str = "exercise-variants";

/// `cargo build`s one binary of the exercises package. Returns the path of
/// the program, or the compiler's errors.
pub fn build(
    workspace: &Workspace,
    bin: &str,
    features: &[String],
) -> Result<PathBuf, Vec<String>> {
    let manifest = workspace.dir.join("Cargo.toml");
    let mut cargo = Command::new(&workspace.cargo);
    cargo
        .arg("build")
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["-p", "exercises", "--bin", bin])
        .args(["--message-format=json-render-diagnostics", "--color=never"])
        .stdin(Stdio::null());
    if !features.is_empty() {
        cargo.arg("--features").arg(features.join(","));
    }
    let output = match cargo.output() {
        Ok(output) => output,
        Err(e) => return Err(vec![format!("could not run cargo: {e}")]),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(compiler_errors(&stderr));
    }
    stdout
        .lines()
        .filter(|line| line.contains("\"reason\":\"compiler-artifact\""))
        .find_map(|line| json_string_after(line, "\"executable\":"))
        .map(PathBuf::from)
        .ok_or_else(|| vec![format!("cargo built `{bin}` but named no program")])
}

/// The error blocks of cargo's human output (warnings and progress left
/// out), at most three, with a count of the rest.
fn compiler_errors(stderr: &str) -> Vec<String> {
    let mut blocks: Vec<Vec<String>> = Vec::new();
    let mut inside = false;
    for line in stderr.lines() {
        let starts_error =
            line.starts_with("error") && !line.starts_with("error: could not compile");
        if starts_error {
            blocks.push(Vec::new());
            inside = true;
        } else if line.trim().is_empty() || line.starts_with("warning") {
            inside = false;
        }
        if inside && let Some(block) = blocks.last_mut() {
            block.push(line.to_owned());
        }
    }
    if blocks.is_empty() {
        // Not the compiler: cargo itself refused (say, a missing file).
        return stderr
            .lines()
            .filter(|l| l.starts_with("error") || l.starts_with("  "))
            .map(str::to_owned)
            .collect();
    }
    let more = blocks.len().saturating_sub(3);
    let mut lines: Vec<String> = blocks.into_iter().take(3).flatten().collect();
    if more > 0 {
        lines.push(format!("(and {more} more errors)"));
    }
    lines
}

/// The JSON string value after `key` on a line of cargo's messages, or None
/// if it is `null`. Enough JSON for cargo's paths, without a JSON crate.
fn json_string_after(line: &str, key: &str) -> Option<String> {
    let rest = &line[line.find(key)? + key.len()..];
    let mut chars = rest.strip_prefix('"')?.chars();
    let mut value = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    value.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

/// A child's output keeps its first and last this many lines: a busy loop
/// that prints would otherwise fill the checker's memory. The verdict is
/// always among the last.
const KEEP_LINES: usize = 200;

/// Runs an exercise's program and reads its verdict.
pub fn run(program: &Path, args: &[String], limit: Duration) -> Verdict {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            return Verdict::Crashed {
                transcript: Vec::new(),
                how: format!("could not start {}: {e}", program.display()),
                stderr: Vec::new(),
            };
        }
    };
    let stdout = read_lines(child.stdout.take().expect("piped"));
    let stderr = read_lines(child.stderr.take().expect("piped"));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() >= limit => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => break None,
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let Some(status) = status else {
        return Verdict::TimedOut { transcript: stdout };
    };
    match stdout.iter().position(|line| line.starts_with(VERDICT)) {
        Some(at) => {
            let transcript = stdout[..at].to_vec();
            let diagnosis = stdout[at + 1..].to_vec();
            if stdout[at][VERDICT.len()..].trim() == "done" && status.success() {
                Verdict::Done { transcript }
            } else {
                Verdict::NotDone {
                    transcript,
                    diagnosis,
                }
            }
        }
        None => Verdict::Crashed {
            transcript: stdout,
            how: describe_exit(status),
            stderr,
        },
    }
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let name = match signal {
                6 => " (SIGABRT: aborted, say a panic while panicking)",
                9 => " (SIGKILL)",
                11 => " (SIGSEGV)",
                _ => "",
            };
            return format!("it was killed by signal {signal}{name}");
        }
    }
    match status.code() {
        Some(code) => format!(
            "it exited with status {code} before printing a verdict (did something call \
             std::process::exit?)"
        ),
        None => "it ended without an exit status".to_owned(),
    }
}

/// Collects a pipe's lines on a thread, keeping the first and last ones.
fn read_lines(pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let (mut head, mut tail) = (Vec::new(), std::collections::VecDeque::new());
        let mut dropped = 0usize;
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if head.len() < KEEP_LINES {
                head.push(line);
                continue;
            }
            tail.push_back(line);
            if tail.len() > KEEP_LINES {
                tail.pop_front();
                dropped += 1;
            }
        }
        if dropped > 0 {
            head.push(format!("... ({dropped} lines not shown)"));
        }
        head.extend(tail);
        head
    })
}

// ---------------------------------------------------------------------------
// What the learner reads

/// How many transcript lines a verdict shows: the last ones, where it went
/// wrong.
const SHOWN_TRANSCRIPT: usize = 18;

/// The learner's screen for one exercise that is not done.
/// `file` is the file to edit, as shown; `help` closes the screen (how to
/// get a hint, how to check again).
pub fn explain(exercise: &Exercise, file: &str, verdict: &Verdict, help: &str) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{} · {}   (lesson {}: cargo run --bin {})\n",
        exercise.number,
        exercise.title,
        &exercise.lesson[..2],
        exercise.lesson
    ));
    out.push_str(&format!("Edit {file}\n"));
    let transcript = verdict.transcript();
    if !transcript.is_empty() {
        out.push_str("\nWhat happened, on the paused clock:\n");
        let skipped = transcript.len().saturating_sub(SHOWN_TRANSCRIPT);
        if skipped > 0 {
            out.push_str(&format!("    ... ({skipped} lines before these)\n"));
        }
        for line in &transcript[skipped..] {
            out.push_str(&format!("    {line}\n"));
        }
    }
    out.push_str(match verdict {
        Verdict::DoesNotCompile { .. } => "\nNot yet: ",
        _ => "\nNot done yet:\n",
    });
    let diagnosis = verdict.diagnosis();
    for (i, line) in diagnosis.iter().enumerate() {
        match verdict {
            // The compiler's lines keep their layout.
            Verdict::DoesNotCompile { .. } if i == 0 => out.push_str(&format!("{line}\n")),
            Verdict::DoesNotCompile { .. } => out.push_str(&format!("  {line}\n")),
            _ => out.push_str(&wrap(line, "  ", "    ")),
        }
    }
    out.push_str(&format!("\n{help}\n"));
    out
}

/// What checking exercises in order found.
#[derive(Debug)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
    /// The first exercise not done, and why.
    pub stopped_at: Option<(&'static Exercise, Verdict)>,
}

/// Checks each `(exercise, target)` in order, printing a line for each to
/// `out`, and stops at the first one not done.
pub fn progress(
    workspace: &Workspace,
    list: &[(&'static Exercise, Target)],
    out: &mut dyn std::io::Write,
) -> Progress {
    let total = EXERCISES.len();
    let mut done = 0;
    for (exercise, target) in list {
        let _ = write!(out, "  {} · {:<52} ", exercise.number, exercise.title);
        let _ = out.flush();
        let verdict = check(workspace, target);
        if verdict.is_done() {
            let _ = writeln!(out, "done");
            done += 1;
            continue;
        }
        let status = match verdict {
            Verdict::DoesNotCompile { .. } => "does not compile",
            _ => "not done",
        };
        let _ = writeln!(out, "{status}");
        return Progress {
            done,
            total,
            stopped_at: Some((exercise, verdict)),
        };
    }
    Progress {
        done,
        total,
        stopped_at: None,
    }
}

/// How wide the checker's prose runs before it wraps.
const WIDTH: usize = 88;

/// `text` wrapped at [`WIDTH`] columns: the first line indented by `first`,
/// the rest by `rest`. A line that starts with spaces is left as it is.
fn wrap(text: &str, first: &str, rest: &str) -> String {
    if text.starts_with(' ') {
        return format!("{first}{text}\n");
    }
    // "2.0 s" is one word to the eye: never wrap between number and unit.
    let mut words: Vec<String> = Vec::new();
    for word in text.split(' ') {
        let unit = word.trim_end_matches([')', ':', ',', ';', '.']) == "s";
        match words.last_mut() {
            Some(last) if unit && last.ends_with(|c: char| c.is_ascii_digit()) => {
                last.push(' ');
                last.push_str(word);
            }
            _ => words.push(word.to_owned()),
        }
    }
    let mut out = String::new();
    let mut line = first.to_owned();
    let mut empty = true;
    for word in &words {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = rest.to_owned();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

/// What the checker prints before the first exercise.
pub fn checking_line(solutions: bool) -> String {
    let what = if solutions {
        "the reference solutions"
    } else {
        "your exercises"
    };
    format!("Checking {what} in order (the very first build takes a minute or so).")
}

/// The screen's last lines: how to get the next hint, how to check again.
pub fn help(exercise: &Exercise, next_hint: usize, hints: usize) -> String {
    let n = exercise.number;
    format!(
        "Stuck?       cargo run -p exercises -- hint {n}   (hint {} of {hints})\n\
         Check again: cargo run -p exercises -- {n}        (or `-- watch`: on every save)",
        next_hint.min(hints.max(1))
    )
}

/// `N of M done.`, the progress line.
pub fn progress_line(progress: &Progress) -> String {
    format!("{} of {} done.", progress.done, progress.total)
}

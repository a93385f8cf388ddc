//! The Go twins (`lessons/go/NN_name/`) compile, run and say what the book says.
//!
//! Each directory `lessons/go/NN_name` is the Go twin of the lesson binary
//! `NN_name`; twins are found by directory, so a new one is checked as soon as
//! it exists. With Go 1.25 or newer on the PATH:
//!
//! - `go vet ./...` and `gofmt -l .` in `lessons/go` are clean;
//! - `go test ./...` passes, and it runs a test in every twin: each twin's run
//!   on `testing/synctest`'s fake clock prints exactly its checked transcript,
//!   `lessons/go/transcripts/NN_name.txt` (see `lessons/go/clinic/clinictest`);
//! - a real-clock run of each twin prints the same lines, stamps within 0.3 s,
//!   as lessons/tests/transcripts.rs allows the Rust lessons. A twin with a
//!   `NN_name.stderr` beside its transcript is run with `go run`, as a learner
//!   would, and must fail with exactly that on stderr (05: the runtime's
//!   "all goroutines are asleep - deadlock!", exit status 2), once the parts
//!   that change from machine to machine are masked (see [`masked_trace`]).
//!
//! Without Go (or with one older than 1.25) those tests print a loud SKIPPED
//! and pass; with `CI` set they fail instead.
//!
//! Whatever the machine has, every Go transcript is diffed with its Rust
//! transcript: a line only one of them has must be listed, with a reason, in
//! `lessons/go/differences.md`, and every line listed there must still be only
//! in one of them. And a chapter whose lesson has a twin includes it from its
//! file, with that lesson's differences, and keeps no Go of its own.

use lessons::transcript::{masked, same_line, split_stamp};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_clinic::{lesson_names, read, workspace_root};

/// The Go module of the twins, relative to the workspace root.
const GO_DIR: &str = "lessons/go";
/// The oldest Go the twins build with: `testing/synctest` arrived in 1.25.
const MIN_GO: (u32, u32) = (1, 25);
const REAL_CLOCK_TOLERANCE: f64 = 0.3;
const DIFFERENCES: &str = "lessons/go/differences.md";

/// The real-clock runs check the twins' timing, not the machine's load: they
/// must not share the two cores with `go vet` and `go test` compiling.
static ONE_GO_SUITE_AT_A_TIME: Mutex<()> = Mutex::new(());

// ---------------------------------------------------------------------------
// The tests that need Go

#[test]
fn go_vet_and_gofmt_are_clean() {
    let Some(go) = go_or_skip("go vet and gofmt") else {
        return;
    };
    let _alone = ONE_GO_SUITE_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let vet = go.command(&["vet", "./..."]).output().expect("go vet runs");
    assert!(
        vet.status.success(),
        "go vet ./... in {GO_DIR} found problems:\n{}",
        String::from_utf8_lossy(&vet.stderr)
    );
    let gofmt = Command::new(&go.gofmt)
        .args(["-l", "."])
        .current_dir(go_dir())
        .output()
        .expect("gofmt runs");
    let unformatted = String::from_utf8_lossy(&gofmt.stdout);
    assert!(
        gofmt.status.success() && unformatted.trim().is_empty(),
        "gofmt -l lists files that are not gofmt'd (run `gofmt -w {GO_DIR}`):\n\
         {unformatted}{}",
        String::from_utf8_lossy(&gofmt.stderr)
    );
}

#[test]
fn every_twin_prints_its_transcript_on_the_fake_clock() {
    let Some(go) = go_or_skip("the Go twins' fake-clock transcripts") else {
        return;
    };
    let _alone = ONE_GO_SUITE_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let test = go
        .command(&["test", "./..."])
        .output()
        .expect("go test runs");
    let report = String::from_utf8_lossy(&test.stdout);
    assert!(
        test.status.success(),
        "go test ./... in {GO_DIR} failed:\n{report}{}",
        String::from_utf8_lossy(&test.stderr)
    );
    // A twin without a test would pass as "[no test files]": each must be "ok".
    for twin in twins() {
        let ok = format!("ok  \tasync-clinic/lessons/go/{twin}\t");
        assert!(
            report.lines().any(|line| line.starts_with(&ok)),
            "go test ran no test of the twin {twin}:\n{report}"
        );
    }
}

#[test]
fn every_twin_prints_its_transcript_on_the_real_clock() {
    let Some(go) = go_or_skip("the Go twins' real-clock runs") else {
        return;
    };
    let _alone = ONE_GO_SUITE_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    // One build for every twin that ends normally; the ones that abort are run
    // with `go run`, as the learner would, since `go run` adds its own line.
    let (aborting, normal): (Vec<String>, Vec<String>) = twins()
        .into_iter()
        .partition(|twin| expected_stderr(twin).is_some());
    let bin = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-twins");
    std::fs::create_dir_all(&bin).expect("the test's temporary directory");
    let mut build_args = vec!["build".to_owned(), "-o".to_owned()];
    build_args.push(format!("{}/", bin.display()));
    build_args.extend(normal.iter().map(|twin| format!("./{twin}")));
    let args: Vec<&str> = build_args.iter().map(String::as_str).collect();
    let build = go.command(&args).output().expect("go build runs");
    assert!(
        build.status.success(),
        "go build failed:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );

    // The twins mostly sleep, so they run side by side, started a tenth of a
    // second apart so that their start-up work does not land in one instant.
    let mut runs = Vec::new();
    for twin in normal {
        let mut command = Command::new(bin.join(&twin));
        command.current_dir(go_dir());
        runs.push(std::thread::spawn(move || (twin, run_at_priority(command))));
        std::thread::sleep(Duration::from_millis(100));
    }
    for twin in aborting {
        let mut command = go.command(&["run", &format!("./{twin}")]);
        command.env("GOTRACEBACK", "single");
        runs.push(std::thread::spawn(move || (twin, run_at_priority(command))));
        std::thread::sleep(Duration::from_millis(100));
    }

    let mut failures = Vec::new();
    for run in runs {
        let (twin, (output, took)) = run.join().expect("runner thread");
        if took > Duration::from_secs(20) {
            failures.push(format!("{twin} took {took:?} on the real clock, over 20 s"));
        }
        failures.extend(check_real_run(&twin, &output));
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Checks one real-clock run: stdout against the transcript, with the real
/// clock's tolerance; stderr and the exit status against what the twin's
/// checked files say.
fn check_real_run(twin: &str, output: &Output) -> Vec<String> {
    let mut failures = Vec::new();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let want = read(go_transcript(twin));
    failures.extend(difference(
        twin,
        "stdout",
        &stdout,
        &want,
        Some(REAL_CLOCK_TOLERANCE),
    ));
    match expected_stderr(twin) {
        None => {
            if !output.status.success() || !stderr.is_empty() {
                failures.push(format!(
                    "{twin} exited with {} and printed on stderr:\n{stderr}",
                    output.status
                ));
            }
        }
        Some(want_stderr) => {
            // `go run` reports the program's exit status on stderr and exits 1.
            if output.status.code() != Some(1) {
                failures.push(format!(
                    "go run ./{twin} was expected to fail (exit 1, the program's \
                     status on its last line), but exited with {}",
                    output.status
                ));
            }
            let actual = masked_trace(twin, &stderr);
            failures.extend(difference(twin, "stderr", &actual, &want_stderr, None));
        }
    }
    failures
}

// ---------------------------------------------------------------------------
// The tests that need only the files

#[test]
fn every_go_transcript_differs_from_its_rust_one_only_where_listed() {
    let (listed, problems) = parse_differences(&read(DIFFERENCES));
    assert!(
        problems.is_empty(),
        "{DIFFERENCES}:\n{}",
        problems.join("\n")
    );
    let mut failures = Vec::new();
    let mut compared = 0;
    for twin in twins() {
        let rust = read(format!("lessons/transcripts/{twin}.txt"));
        let go = read(go_transcript(&twin));
        compared += 1;
        let mut differing = differing_lines(&rust, &go);
        let mut entries = listed.get(&twin).cloned().unwrap_or_default();
        differing.sort();
        entries.sort();
        // Every differing line must be listed, as often as it differs...
        for line in &differing {
            if let Some(at) = entries.iter().position(|entry| entry == line) {
                entries.remove(at);
            } else {
                failures.push(format!(
                    "{twin}: this line is only in the {} transcript, and \
                     {DIFFERENCES} does not list it:\n  {}",
                    line.0, line.1
                ));
            }
        }
        // ...and whatever is left over in the list no longer differs.
        for (side, line) in entries {
            failures.push(format!(
                "{twin}: {DIFFERENCES} lists this {side} line, but it is not \
                 (or no longer) only in the {side} transcript:\n  {line}"
            ));
        }
    }
    assert!(compared > 0, "no Go twin found in {GO_DIR}");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_twin_has_a_lesson_a_transcript_and_a_differences_section() {
    let twins = twins();
    let lessons = lesson_names();
    let (listed, problems) = parse_differences(&read(DIFFERENCES));
    let mut failures = problems;
    let sections = anchors(&read(DIFFERENCES));
    for twin in &twins {
        if !lessons.contains(twin) {
            failures.push(format!("{GO_DIR}/{twin} is the twin of no lesson binary"));
        }
        for file in ["main.go", "main_test.go"] {
            if !go_dir().join(twin).join(file).is_file() {
                failures.push(format!("{GO_DIR}/{twin} has no {file}"));
            }
        }
        if !workspace_root().join(go_transcript(twin)).is_file() {
            failures.push(format!(
                "{twin} has no transcript at {}",
                go_transcript(twin)
            ));
        }
        if !sections.contains(twin) {
            failures.push(format!(
                "{DIFFERENCES} has no section `<!-- ANCHOR: {twin} -->` (the \
                 chapter includes it; say so in a sentence if nothing differs)"
            ));
        }
    }
    for name in sections.iter().chain(listed.keys()) {
        if !twins.contains(name) {
            failures.push(format!(
                "{DIFFERENCES} has a section for {name}, which has no twin"
            ));
        }
    }
    let transcripts = go_dir().join("transcripts");
    for entry in std::fs::read_dir(&transcripts).expect("lessons/go/transcripts") {
        let path = entry.expect("a directory entry").path();
        let stem = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let ext = path
            .extension()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if !(twins.contains(&stem) && matches!(ext.as_str(), "txt" | "stderr")) {
            failures.push(format!(
                "{} is neither a twin's transcript nor its stderr",
                path.display()
            ));
        }
    }
    assert!(!twins.is_empty(), "no Go twin found in {GO_DIR}");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn chapters_include_their_twins_and_keep_no_go_of_their_own() {
    let mut failures = Vec::new();
    for twin in twins() {
        let chapter = format!("book/src/{twin}.md");
        let markdown = read(&chapter);
        for wanted in [
            format!("{{{{#include ../../lessons/go/{twin}/main.go"),
            format!("{{{{#include ../../lessons/go/differences.md:{twin}}}}}"),
        ] {
            if !markdown.contains(&wanted) {
                failures.push(format!("{chapter} has no `{wanted}...`"));
            }
        }
        // A ```go block may hold include lines and nothing else.
        let mut in_go = false;
        for (number, line) in markdown.lines().enumerate() {
            let fence = line.trim_start().starts_with("```");
            if fence {
                in_go = !in_go && line.trim() == "```go";
            } else if in_go
                && !line.trim().is_empty()
                && !(line.trim().starts_with("{{#include") && line.trim().ends_with("}}"))
            {
                failures.push(format!(
                    "{chapter}:{}: Go written in the chapter instead of included \
                     from {GO_DIR}/{twin}: {line:?}",
                    number + 1
                ));
                break;
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------
// Finding Go

struct Go {
    go: PathBuf,
    gofmt: PathBuf,
}

impl Go {
    /// `go args...` in `lessons/go`, with the local toolchain only: Go would
    /// otherwise try to download a newer one that a go.mod asks for.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.go);
        command
            .args(args)
            .current_dir(go_dir())
            .env("GOTOOLCHAIN", "local");
        command
    }
}

/// The Go on the PATH if it is new enough. If not: a loud SKIPPED and `None`,
/// or, with `CI` set, a failure.
fn go_or_skip(what: &str) -> Option<&'static Go> {
    static FOUND: OnceLock<Result<Go, String>> = OnceLock::new();
    let problem = match FOUND.get_or_init(find_go) {
        Ok(go) => return Some(go),
        Err(problem) => problem,
    };
    // As the dashboard's browser test: set and not "false" means CI.
    let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
    assert!(
        !in_ci,
        "{problem}; CI is set, so {what} must not be skipped"
    );
    // Straight to stderr, past the test harness's capture: a skip must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "\n\n********************************************************************\n\
         SKIPPED: {what} did not run: {problem}.\n\
         Install Go {}.{} or newer from https://go.dev/dl/ (not Debian's\n\
         golang-go, which is Go 1.19) to run them.\n\
         ********************************************************************\n",
        MIN_GO.0,
        MIN_GO.1
    );
    None
}

fn find_go() -> Result<Go, String> {
    let output = Command::new("go")
        .arg("version")
        .env("GOTOOLCHAIN", "local")
        .output()
        .map_err(|e| format!("`go version` did not run ({e}): Go is not on the PATH"))?;
    let version = String::from_utf8_lossy(&output.stdout).into_owned();
    let found = go_version(&version)
        .ok_or_else(|| format!("`go version` printed {version:?}, not a version"))?;
    if found < MIN_GO {
        return Err(format!(
            "found Go {}.{}, the twins need {}.{} or newer (testing/synctest)",
            found.0, found.1, MIN_GO.0, MIN_GO.1
        ));
    }
    let goroot = Command::new("go")
        .args(["env", "GOROOT"])
        .env("GOTOOLCHAIN", "local")
        .output()
        .map_err(|e| format!("`go env GOROOT` did not run: {e}"))?;
    let goroot = String::from_utf8_lossy(&goroot.stdout).trim().to_owned();
    let gofmt = Path::new(&goroot).join("bin").join("gofmt");
    Ok(Go {
        go: PathBuf::from("go"),
        gofmt,
    })
}

/// `go version go1.26.8 linux/amd64` is (1, 26).
fn go_version(text: &str) -> Option<(u32, u32)> {
    let word = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("go1."))?;
    let minor: String = word.chars().take_while(char::is_ascii_digit).collect();
    Some((1, minor.parse().ok()?))
}

// ---------------------------------------------------------------------------
// The twins and their files

fn go_dir() -> PathBuf {
    workspace_root().join(GO_DIR)
}

/// Every twin's directory name (`01_unbuffered`, ...), sorted: the
/// directories of `lessons/go` whose name starts with two digits.
fn twins() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(go_dir())
        .expect("lessons/go exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_dir())
        .map(|path| {
            path.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.len() > 2 && name[..2].chars().all(|c| c.is_ascii_digit()))
        .collect();
    names.sort();
    names
}

fn go_transcript(twin: &str) -> String {
    format!("{GO_DIR}/transcripts/{twin}.txt")
}

/// What a twin that aborts prints on stderr, if it is one.
fn expected_stderr(twin: &str) -> Option<String> {
    std::fs::read_to_string(go_dir().join(format!("transcripts/{twin}.stderr"))).ok()
}

/// Runs `command` at a raised priority (`nice -n -10`) where the OS allows it,
/// as lessons/tests/transcripts.rs does: a twin mostly sleeps, and once its
/// timer fires it should get a core at once, even on a busy machine.
fn run_at_priority(command: Command) -> (Output, Duration) {
    static ALLOWED: OnceLock<bool> = OnceLock::new();
    let allowed = *ALLOWED.get_or_init(|| {
        let probe = Command::new("nice").args(["-n", "-10", "true"]).output();
        probe.is_ok_and(|probe| probe.status.success() && probe.stderr.is_empty())
    });
    let mut command = if allowed {
        let mut nice = Command::new("nice");
        nice.args(["-n", "-10"])
            .arg(command.get_program())
            .args(command.get_args());
        if let Some(dir) = command.get_current_dir() {
            nice.current_dir(dir);
        }
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => nice.env(key, value),
                None => nice.env_remove(key),
            };
        }
        nice
    } else {
        command
    };
    let started = Instant::now();
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("running {command:?}: {e}"));
    (output, started.elapsed())
}

/// A Go stack trace with what changes from machine to machine and from build
/// to build masked: the repository's absolute path (source paths then read
/// `lessons/go/05_deadlock/main.go:91`), each frame's `+0x4a` offset, the
/// hex words of an argument list (`clinic.Main(...)`), goroutine ids, which
/// depend on how many goroutines the runtime started for itself, and the line
/// numbers of files outside the twin's own directory (`clinic.go:N`); the
/// standard library's files read `$GOROOT/src/...`.
fn masked_trace(twin: &str, stderr: &str) -> String {
    // Go prints the path it was given (the test's working directory), which
    // may or may not be the canonical one.
    let canonical = workspace_root()
        .canonicalize()
        .expect("the workspace root exists");
    let prefixes =
        [workspace_root(), canonical.as_path()].map(|root| format!("\t{}/", root.display()));
    let mut masked = String::new();
    for line in stderr.lines() {
        let rest = prefixes
            .iter()
            .find_map(|prefix| line.strip_prefix(prefix.as_str()));
        let mut line = match rest {
            Some(rest) => format!("\t{rest}"),
            None => line.to_owned(),
        };
        if let Some(at) = line.rfind(" +0x") {
            if line[at + 4..].chars().all(|c| c.is_ascii_hexdigit()) {
                line.truncate(at);
            }
        }
        // The standard library's files (`panic(...)` in a panic's trace)
        // live wherever Go is installed.
        if line.starts_with("\t/") {
            if let Some(at) = line.find("/src/") {
                line.replace_range(1..at, "$GOROOT");
            }
        }
        if line.ends_with(')') {
            // `f(0x4df3b0)`, or `panic({0x4b2f60?, 0xc000012345?})`.
            if let Some(at) = line.rfind("(0x").or_else(|| line.rfind("({0x")) {
                line.replace_range(at.., "(...)");
            }
        }
        // Line numbers outside the twin's own directory (the clinic harness,
        // the runtime) change with edits that have nothing to do with it.
        let own = format!("\t{GO_DIR}/{twin}/");
        if line.starts_with('\t') && !line.starts_with(&own) {
            if let Some(at) = line.rfind(':') {
                if line[at + 1..].chars().all(|c| c.is_ascii_digit()) {
                    line.replace_range(at + 1.., "N");
                }
            }
        }
        masked.push_str(&mask_goroutine_ids(&line));
        masked.push('\n');
    }
    masked
}

/// `goroutine 7 [chan send]:` and `in goroutine 1` read `goroutine N`.
fn mask_goroutine_ids(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("goroutine ") {
        let (before, after) = rest.split_at(at + "goroutine ".len());
        out.push_str(before);
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.push('N');
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------
// Comparing transcripts

/// `None` if `actual` matches `want` line by line; otherwise the first line
/// that differs, then both texts in full.
///
/// Lines that share a stamp in `want` may come in any order: Go does not
/// order goroutines that run at the same instant (see `Difference` in
/// lessons/go/clinic/clinictest). Their text and stamps must still match.
fn difference(
    twin: &str,
    stream: &str,
    actual: &str,
    want: &str,
    tolerance: Option<f64>,
) -> Option<String> {
    let (got, wanted): (Vec<&str>, Vec<&str>) = (actual.lines().collect(), want.lines().collect());
    let mut start = 0;
    let first_difference = loop {
        if start >= got.len().max(wanted.len()) {
            return None;
        }
        let stamp = wanted
            .get(start)
            .and_then(|line| split_stamp(line))
            .map(|(at, _)| at);
        let mut end = start + 1;
        while stamp.is_some()
            && end < wanted.len()
            && split_stamp(wanted[end]).map(|(at, _)| at) == stamp
        {
            end += 1;
        }
        if end > got.len() || end > wanted.len() {
            break start;
        }
        let mut unused: Vec<&str> = got[start..end].to_vec();
        for line in &wanted[start..end] {
            match unused
                .iter()
                .position(|got| same_line(got, line, tolerance))
            {
                Some(at) => {
                    unused.remove(at);
                }
                None => break,
            }
        }
        if !unused.is_empty() {
            break start;
        }
        start = end;
    };
    let line = first_difference;
    let show =
        |text: Option<&&str>| text.map_or("(no line: it ends here)".into(), |t| format!("{t:?}"));
    Some(format!(
        "{twin} (Go, real clock): {stream} line {} differs\n  expected: {}\n  actual:   {}\n\
         --- expected {stream}\n{want}--- actual {stream}\n{actual}",
        line + 1,
        show(wanted.get(line)),
        show(got.get(line)),
    ))
}

/// The lines only one of two transcripts has, by a longest common
/// subsequence of lines (as `diff` finds them): `("Rust", line)` or
/// `("Go", line)`. Machine-dependent lines are compared masked.
fn differing_lines(rust: &str, go: &str) -> Vec<SideLine> {
    let a: Vec<&str> = rust.lines().collect();
    let b: Vec<&str> = go.lines().collect();
    let same = |i: usize, j: usize| masked(a[i]) == masked(b[j]);
    // common[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut common = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            common[i][j] = if same(i, j) {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut only) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && same(i, j) {
            (i, j) = (i + 1, j + 1);
        } else if j == b.len() || (i < a.len() && common[i + 1][j] >= common[i][j + 1]) {
            only.push(("Rust".to_owned(), a[i].to_owned()));
            i += 1;
        } else {
            only.push(("Go".to_owned(), b[j].to_owned()));
            j += 1;
        }
    }
    only
}

// ---------------------------------------------------------------------------
// lessons/go/differences.md

/// A line only one transcript has: which one ("Rust" or "Go"), and the line.
type SideLine = (String, String);
/// The differences file's lines, by lesson.
type Listed = BTreeMap<String, Vec<SideLine>>;

/// The sections of the differences file: the names in its `ANCHOR:` lines.
fn anchors(markdown: &str) -> Vec<String> {
    markdown
        .lines()
        .filter_map(|line| {
            let name = line
                .trim()
                .strip_prefix("<!-- ANCHOR:")?
                .strip_suffix("-->")?;
            Some(name.trim().to_owned())
        })
        .collect()
}

/// The listed lines of each lesson, `(side, line)`, and what is malformed:
/// an entry outside a section, a line that is not a code span, a group of
/// lines with no reason given.
fn parse_differences(markdown: &str) -> (Listed, Vec<String>) {
    let mut listed = Listed::new();
    let mut problems = Vec::new();
    let mut section: Option<String> = None;
    // The group being read: its first line's number, its entries, its reason.
    let mut group: Option<(usize, usize, String)> = None;
    let close_group = |group: &mut Option<(usize, usize, String)>, problems: &mut Vec<String>| {
        if let Some((line, entries, why)) = group.take() {
            if entries == 0 {
                problems.push(format!("line {line}: a bullet that lists no line"));
            } else if why.split_whitespace().count() < 3 {
                problems.push(format!("line {line}: lines listed without a reason"));
            }
        }
    };
    for (index, line) in markdown.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim();
        if let Some(name) = anchors(line).pop() {
            close_group(&mut group, &mut problems);
            section = Some(name);
            continue;
        }
        if trimmed.starts_with("<!-- ANCHOR_END:") {
            close_group(&mut group, &mut problems);
            section = None;
            continue;
        }
        if line.starts_with("- ") {
            close_group(&mut group, &mut problems);
            if section.is_some() {
                group = Some((number, 0, String::new()));
            }
        }
        let body = trimmed.strip_prefix("- ").unwrap_or(trimmed);
        let side = ["Rust", "Go"]
            .into_iter()
            .find(|side| body.starts_with(&format!("**{side} only** ")));
        match (side, &section, &mut group) {
            (Some(side), Some(lesson), Some((_, entries, _))) => {
                let span = body[format!("**{side} only** ").len()..].trim_end();
                let span = span.strip_suffix('\\').unwrap_or(span);
                match code_span(span) {
                    Some(text) => {
                        *entries += 1;
                        listed
                            .entry(lesson.clone())
                            .or_default()
                            .push((side.to_owned(), text));
                    }
                    None => problems.push(format!(
                        "line {number}: after **{side} only** comes the line in backticks"
                    )),
                }
            }
            (Some(_), _, _) => problems.push(format!(
                "line {number}: a listed line outside a lesson's `- ` bullet in an ANCHOR section"
            )),
            (None, _, Some((_, _, why))) => {
                why.push_str(trimmed);
                why.push(' ');
            }
            (None, _, None) => {}
        }
    }
    close_group(&mut group, &mut problems);
    (listed, problems)
}

/// The text of a Markdown code span: `` `text` ``, or with two backticks
/// when the text holds one (`` ``a `b` c`` ``).
fn code_span(span: &str) -> Option<String> {
    let ticks = span.chars().take_while(|&c| c == '`').count();
    let fence = "`".repeat(ticks);
    let inner = span.strip_prefix(&fence)?.strip_suffix(&fence)?;
    if ticks == 0 || inner.is_empty() || inner.ends_with('`') {
        return None;
    }
    // CommonMark strips one space on each side when both are there.
    let inner = match inner.strip_prefix(' ').and_then(|i| i.strip_suffix(' ')) {
        Some(stripped) if !stripped.trim().is_empty() => stripped,
        _ => inner,
    };
    Some(inner.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_versions_are_read() {
        assert_eq!(go_version("go version go1.26.8 linux/amd64"), Some((1, 26)));
        assert_eq!(
            go_version("go version go1.25rc1 linux/amd64"),
            Some((1, 25))
        );
        assert_eq!(go_version("go version go1.19.8 linux/amd64"), Some((1, 19)));
        assert!(go_version("go version go1.19.8 linux/amd64") < Some(MIN_GO));
        assert_eq!(go_version("bash: go: command not found"), None);
    }

    #[test]
    fn lines_only_one_side_has_are_found() {
        let rust = "[ 0.0s] a\n[ 1.0s] b\n[ 2.0s] c\n";
        let go = "[ 0.0s] a\n[ 1.0s] B\n[ 2.0s] c\n[ 2.5s] d\n";
        let only = differing_lines(rust, go);
        let pair = |side: &str, line: &str| (side.to_owned(), line.to_owned());
        assert_eq!(
            only,
            [
                pair("Rust", "[ 1.0s] b"),
                pair("Go", "[ 1.0s] B"),
                pair("Go", "[ 2.5s] d")
            ]
        );
        assert!(differing_lines(rust, rust).is_empty());
    }

    #[test]
    fn the_differences_format_is_read_and_checked() {
        let file = "intro, `ignored`\n\
            <!-- ANCHOR: 03_leak -->\n\
            - **Rust only** `[ 5.0s] lab: a`\\\n  **Go only** ``[ 5.0s] `go` b``\\\n  \
            Why it differs, in words.\n\
            - **Go only** `[ 6.0s] c`\n\
            <!-- ANCHOR_END: 03_leak -->\n";
        let (listed, problems) = parse_differences(file);
        assert_eq!(problems, ["line 6: lines listed without a reason"]);
        let pair = |side: &str, line: &str| (side.to_owned(), line.to_owned());
        assert_eq!(
            listed["03_leak"],
            [
                pair("Rust", "[ 5.0s] lab: a"),
                pair("Go", "[ 5.0s] `go` b"),
                pair("Go", "[ 6.0s] c")
            ]
        );
    }

    #[test]
    fn stack_traces_are_masked_where_machines_differ() {
        let root = workspace_root()
            .canonicalize()
            .unwrap()
            .display()
            .to_string();
        let trace = format!(
            "goroutine 7 [chan send]:\nasync-clinic/lessons/go/clinic.Main(0x4df3b0)\n\
             \t{root}/lessons/go/clinic/clinic.go:55 +0x102\n\
             created by main.finishesWithin in goroutine 1\n\
             \t{root}/lessons/go/05_deadlock/main.go:72 +0x7d\n\
             panic({{0x4b2f60?, 0xc000012345?}})\n\
             \t/usr/local/go/src/runtime/panic.go:783 +0x132\n"
        );
        assert_eq!(
            masked_trace("05_deadlock", &trace),
            "goroutine N [chan send]:\nasync-clinic/lessons/go/clinic.Main(...)\n\
             \tlessons/go/clinic/clinic.go:N\ncreated by main.finishesWithin in goroutine N\n\
             \tlessons/go/05_deadlock/main.go:72\npanic(...)\n\
             \t$GOROOT/src/runtime/panic.go:N\n"
        );
    }

    #[test]
    fn lines_of_one_instant_may_come_in_any_order_and_nothing_else_may() {
        let want = "[ 1.5s] lab: took it\n[ 1.5s] nurse: handed it over\n[ 2.0s] lab: done\n";
        let swapped = "[ 1.6s] nurse: handed it over\n[ 1.5s] lab: took it\n[ 2.1s] lab: done\n";
        assert_eq!(difference("01", "stdout", swapped, want, Some(0.3)), None);
        for got in [
            "[ 1.5s] lab: took it\n[ 2.0s] lab: done\n[ 2.0s] nurse: handed it over\n",
            "[ 1.5s] lab: took it\n[ 1.5s] nurse: handed it over\n",
            "[ 1.5s] lab: took it\n[ 1.5s] nurse: handed it over\n[ 2.4s] lab: done\n",
            "[ 1.5s] lab: took it\n[ 1.5s] nurse: handed it over\n[ 2.0s] lab: done\nmore\n",
        ] {
            assert!(
                difference("01", "stdout", got, want, Some(0.3)).is_some(),
                "{got}"
            );
        }
        let trace = "fatal error: x\n\ngoroutine N [chan send]:\n";
        assert_eq!(difference("05", "stderr", trace, trace, None), None);
        assert!(difference("05", "stderr", "fatal error: x\n", trace, None).is_some());
    }

    #[test]
    fn real_clock_lines_may_drift_three_tenths() {
        assert!(same_line("[ 2.3s] a", "[ 2.0s] a", Some(0.3)));
        assert!(!same_line("[ 2.4s] a", "[ 2.0s] a", Some(0.3)));
        assert!(!same_line("[ 2.0s] b", "[ 2.0s] a", Some(0.3)));
        assert!(!same_line("[ 2.1s] a", "[ 2.0s] a", None));
    }
}

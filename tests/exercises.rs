//! The exercises' checker can fail, and says why.
//!
//! - every reference solution passes;
//! - every exercise *as shipped* fails, with the diagnosis it should;
//! - every wrong answer kept as a fixture is caught, with its diagnosis;
//! - a compile error in exercise 05 does not stop 01 to 04 being checked,
//!   and exercise 10's std guard held across `.await` shows rustc's message;
//! - a program that never answers is stopped at the wall-clock limit;
//! - hints are shown one at a time, and the lesson lines they point at exist.
//!
//! The exercises as shipped are read from `exercises/fixtures/shipped/`,
//! never from `exercises/src/bin/`, which the learner edits: someone who has
//! solved half the exercises still gets a green `cargo test`. In CI, where
//! the clone is clean, a test checks the two are the same file.
//!
//! A fixture says what the checker must answer in `//! expect: ...` lines
//! (`fixtures/shipped/NN_name.expect` for a shipped exercise): each must
//! appear in the verdict.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use exercises::checker::hints::{self, Progress};
use exercises::checker::watch::Watcher;
use exercises::checker::{
    self, EXERCISES, Exercise, Target, VARIANTS_BIN, Verdict, WALL_LIMIT, Workspace,
};

use async_clinic::{lesson_names, read, workspace_root};

fn workspace() -> Workspace {
    Workspace::here()
}

/// `exercise-variants`, built once for all the tests here.
fn variants() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        checker::build(&workspace(), VARIANTS_BIN, &[]).unwrap_or_else(|errors| {
            panic!("exercise-variants does not build:\n{}", errors.join("\n"))
        })
    })
}

/// Runs variants, a few at a time (most take milliseconds; a busy loop is
/// stopped after 2 s), and returns their verdicts by name.
fn run_all(names: &[String]) -> BTreeMap<String, Verdict> {
    let program = variants();
    let queue = Mutex::new(names.to_vec());
    let verdicts = Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                while let Some(name) = queue.lock().unwrap().pop() {
                    let verdict = checker::run(program, std::slice::from_ref(&name), WALL_LIMIT);
                    verdicts.lock().unwrap().insert(name, verdict);
                }
            });
        }
    });
    verdicts.into_inner().unwrap()
}

fn exercises_dir() -> PathBuf {
    workspace_root().join("exercises")
}

/// The `.rs` files in a directory, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    files.sort();
    files
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// The `//! expect: ...` lines of a fixture.
fn expectations(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .lines()
        .filter_map(|line| line.strip_prefix("//! expect: "))
        .map(str::to_owned)
        .collect()
}

/// Every wrong answer kept as a fixture: (variant name, file).
fn wrong_answers() -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    for exercise in EXERCISES {
        let dir = exercises_dir().join("fixtures/wrong").join(exercise.slug);
        for file in rust_files(&dir) {
            found.push((format!("wrong/{}/{}", exercise.slug, stem(&file)), file));
        }
    }
    found
}

/// Checks that `verdict` is "not done" and says each expected line.
fn caught(name: &str, verdict: &Verdict, expected: &[String]) -> Result<(), String> {
    if verdict.is_done() {
        return Err(format!("{name}: the checker passed it:\n{verdict:#?}"));
    }
    let said = verdict.diagnosis().join("\n");
    let missing: Vec<&String> = expected.iter().filter(|e| !said.contains(*e)).collect();
    if expected.is_empty() {
        return Err(format!(
            "{name}: the fixture expects nothing; add `//! expect:` lines"
        ));
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{name}: the verdict lacks {missing:?}; it said:\n{said}\n(transcript:\n{})",
            verdict.transcript().join("\n")
        ))
    }
}

// ---------------------------------------------------------------------------
// Solutions, shipped exercises, wrong answers

#[test]
fn every_reference_solution_passes() {
    let names: Vec<String> = EXERCISES
        .iter()
        .map(|e| format!("solutions/{}", e.slug))
        .collect();
    let failures: Vec<String> = run_all(&names)
        .into_iter()
        .filter(|(_, verdict)| !verdict.is_done())
        .map(|(name, verdict)| {
            format!(
                "{name}: not done:\n{}\n{}",
                verdict.transcript().join("\n"),
                verdict.diagnosis().join("\n")
            )
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn every_exercise_as_shipped_fails_with_its_diagnosis() {
    let names: Vec<String> = EXERCISES
        .iter()
        .map(|e| format!("shipped/{}", e.slug))
        .collect();
    let verdicts = run_all(&names);
    let mut failures = Vec::new();
    for exercise in EXERCISES {
        let name = format!("shipped/{}", exercise.slug);
        let expect_file = exercises_dir()
            .join("fixtures/shipped")
            .join(format!("{}.expect", exercise.slug));
        let expected: Vec<String> = std::fs::read_to_string(&expect_file)
            .unwrap_or_else(|e| panic!("reading {}: {e}", expect_file.display()))
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
        if let Err(problem) = caught(&name, &verdicts[&name], &expected) {
            failures.push(problem);
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn every_wrong_answer_is_caught_with_its_diagnosis() {
    let fixtures = wrong_answers();
    let names: Vec<String> = fixtures.iter().map(|(name, _)| name.clone()).collect();
    let verdicts = run_all(&names);
    let mut failures = Vec::new();
    for (name, file) in &fixtures {
        if let Err(problem) = caught(name, &verdicts[name], &expectations(file)) {
            failures.push(problem);
        }
    }
    for exercise in EXERCISES {
        let count = fixtures
            .iter()
            .filter(|(name, _)| name.starts_with(&format!("wrong/{}/", exercise.slug)))
            .count();
        if count < 2 {
            failures.push(format!(
                "{} has {count} wrong answers in fixtures/wrong/{}/; it needs at least two",
                exercise.number, exercise.slug
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn the_wrong_answers_cover_every_way_a_run_can_go_wrong() {
    // What the harness must tell apart, each proven by at least one fixture.
    let kinds = [
        ("a deadlock", "had still not finished 60.0 s later"),
        ("a busy loop", "the runtime's only thread ran for"),
        (
            "a blocked thread",
            "the runtime's only thread sat blocked for",
        ),
        ("a panic", "it panicked at"),
    ];
    let all: Vec<String> = wrong_answers()
        .iter()
        .flat_map(|(_, file)| expectations(file))
        .collect();
    for (kind, phrase) in kinds {
        assert!(
            all.iter().any(|line| line.contains(phrase)),
            "no wrong answer shows the checker diagnosing {kind} (`{phrase}`)"
        );
    }
}

// ---------------------------------------------------------------------------
// The checker's own robustness

#[test]
fn a_compile_error_in_05_does_not_stop_01_to_04() {
    let workspace = workspace();
    let mut list: Vec<(&'static Exercise, Target)> = EXERCISES[..4]
        .iter()
        .map(|e| (e, Target::Variant(format!("solutions/{}", e.slug))))
        .collect();
    list.push((
        &EXERCISES[4],
        Target::Bin {
            name: "does-not-compile".to_owned(),
            features: vec!["compile-error-fixture".to_owned()],
        },
    ));
    let mut out = Vec::new();
    let progress = checker::progress(&workspace, &list, &mut out);
    let out = String::from_utf8(out).unwrap();
    assert_eq!(progress.done, 4, "{out}");
    assert_eq!(
        checker::progress_line(&progress),
        format!("4 of {} done.", EXERCISES.len())
    );
    assert_eq!(out.matches(" done\n").count(), 4, "{out}");
    assert!(out.contains("does not compile"), "{out}");
    let (exercise, verdict) = progress.stopped_at.expect("stopped at 05");
    assert_eq!(exercise.number, "05");
    let Verdict::DoesNotCompile { errors } = &verdict else {
        panic!("expected a compile error, got {verdict:#?}");
    };
    let errors = errors.join("\n");
    assert!(errors.contains("error[E0521]"), "{errors}");
    assert!(
        errors.contains("exercises/fixtures/does_not_compile.rs:"),
        "{errors}"
    );
    assert!(
        !errors.contains("warning"),
        "warnings are left out: {errors}"
    );
    let screen = checker::explain(
        exercise,
        "exercises/src/bin/05_audit_tray.rs",
        &verdict,
        "HINT",
    );
    assert!(screen.contains("Not yet: it does not compile:"), "{screen}");
    assert!(
        screen.contains("Edit exercises/src/bin/05_audit_tray.rs"),
        "{screen}"
    );
}

#[test]
fn a_std_guard_held_across_an_await_in_10_gets_rustcs_message() {
    // Lesson 10's compile error, met in exercise 10: the check spawns each
    // enrolment, so the learner sees why the guard may not cross `.await`.
    let verdict = checker::check(
        &workspace(),
        &Target::Bin {
            name: "guard-across-await".to_owned(),
            features: vec!["compile-error-fixture".to_owned()],
        },
    );
    let Verdict::DoesNotCompile { errors } = &verdict else {
        panic!("expected a compile error, got {verdict:#?}");
    };
    let errors = errors.join("\n");
    for wanted in [
        "error: future cannot be sent between threads safely",
        "exercises/fixtures/guard_across_await.rs:",
        "is not `Send`",
        "std::sync::MutexGuard",
        "await occurs here",
    ] {
        assert!(errors.contains(wanted), "no {wanted:?} in:\n{errors}");
    }
}

#[cfg(unix)]
#[test]
fn a_program_that_never_answers_is_stopped_at_the_wall_clock_limit() {
    let started = Instant::now();
    let verdict = checker::run(
        Path::new("sleep"),
        &["30".to_owned()],
        Duration::from_secs(1),
    );
    let took = started.elapsed();
    assert!(matches!(verdict, Verdict::TimedOut { .. }), "{verdict:#?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(verdict.diagnosis()[0].contains("still running after"));
}

#[cfg(unix)]
#[test]
fn a_program_that_exits_without_a_verdict_is_reported() {
    let verdict = checker::run(Path::new("false"), &[], WALL_LIMIT);
    let Verdict::Crashed { how, .. } = &verdict else {
        panic!("expected a crash, got {verdict:#?}");
    };
    assert!(
        how.contains("exited with status 1 before printing a verdict"),
        "{how}"
    );
}

#[test]
fn the_checker_screen_names_the_file_the_transcript_and_the_hint() {
    let exercise = checker::find("3").expect("exercise 03");
    assert_eq!(checker::find("03_deadline"), Some(exercise));
    assert_eq!(checker::find("99"), None);
    let verdict = run_all(&["shipped/03_deadline".to_owned()]).remove("shipped/03_deadline");
    let verdict = verdict.expect("ran");
    let screen = checker::explain(
        exercise,
        "exercises/src/bin/03_deadline.rs",
        &verdict,
        "Stuck? cargo run -p exercises -- hint 03",
    );
    for wanted in [
        "03 · Answer within 2 s, and stop the query   (lesson 03: cargo run --bin 03_leak)",
        "Edit exercises/src/bin/03_deadline.rs",
        "What happened, on the paused clock:",
        "[ 2.0s] patient P-002: asks for their history (the lab needs 5.0 s today)",
        "Not done yet:",
        "  P-002 waited 5.0 s for an answer; the handler promises one within 2.0 s",
        "Stuck? cargo run -p exercises -- hint 03",
    ] {
        assert!(screen.contains(wanted), "no {wanted:?} in:\n{screen}");
    }
}

// ---------------------------------------------------------------------------
// Hints

#[test]
fn every_exercise_has_hints_and_the_last_points_at_lesson_lines() {
    let workspace = workspace();
    let mut problems = Vec::new();
    for exercise in EXERCISES {
        let hints = match hints::load(&workspace, exercise) {
            Ok(hints) => hints,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        if hints.len() < 2 {
            problems.push(format!(
                "{}: {} hint(s); give at least two",
                exercise.slug,
                hints.len()
            ));
        }
        for (i, hint) in hints.iter().enumerate() {
            if !hint.starts_with(&format!("**Hint {}", i + 1)) {
                problems.push(format!(
                    "{}: hint {} is numbered wrong",
                    exercise.slug,
                    i + 1
                ));
            }
        }
        let last = hints.last().expect("at least one");
        let pointers = hints::lesson_pointers(last);
        if pointers.is_empty() {
            problems.push(format!(
                "{}: the last hint points at no lesson lines (`lessons/...rs:anchor`)",
                exercise.slug
            ));
        }
        for hint in &hints {
            for (file, anchor) in hints::lesson_pointers(hint) {
                if let Err(problem) = hints::resolve(workspace_root(), &file, &anchor) {
                    problems.push(format!("{}: {problem}", exercise.slug));
                }
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn a_missing_anchor_is_reported_not_shown_empty() {
    let root = workspace_root();
    let found = hints::resolve(root, "lessons/src/bin/04_cancel.rs", "fix_timeout").unwrap();
    assert!(
        found
            .lines
            .iter()
            .any(|(_, l)| l.contains("timeout(ms(2_000)"))
    );
    assert!(found.first < found.last);
    let missing = hints::resolve(root, "lessons/src/bin/04_cancel.rs", "fix_timout");
    assert!(missing.unwrap_err().contains("no `ANCHOR: fix_timout`"));
}

#[test]
fn hints_come_one_at_a_time_are_remembered_and_can_be_reset() {
    let workspace = workspace();
    let exercise = checker::find("07").unwrap();
    let dir = std::env::temp_dir().join(format!("exercise-hints-{}", std::process::id()));
    let state = dir.join("progress.txt");
    let _ = std::fs::remove_dir_all(&dir);
    let count = hints::load(&workspace, exercise).unwrap().len();
    for n in 1..=count {
        let shown = hints::next(&workspace, &state, exercise).unwrap();
        assert!(
            shown.starts_with(&format!("Hint {n} of {count} for 07")),
            "{shown}"
        );
    }
    let last = hints::next(&workspace, &state, exercise).unwrap();
    assert!(
        last.starts_with(&format!("Hint {count} of {count}")),
        "{last}"
    );
    assert!(last.contains("That was the last hint."), "{last}");
    assert!(
        last.contains("lessons/src/bin/07_backpressure.rs, lines "),
        "{last}"
    );
    assert_eq!(Progress::load(&state).seen.get("07"), Some(&count));
    hints::reset(&state, Some(exercise)).unwrap();
    let again = hints::next(&workspace, &state, exercise).unwrap();
    assert!(again.starts_with(&format!("Hint 1 of {count}")), "{again}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn watch_mode_sees_a_saved_file() {
    let dir = std::env::temp_dir().join(format!("exercise-watch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("03_deadline.rs");
    std::fs::write(&file, "// before\n").unwrap();
    let mut watcher = Watcher::new(&dir);
    assert!(watcher.changed().is_empty());
    // Some file systems keep modification times to the second.
    std::thread::sleep(Duration::from_millis(1_100));
    std::fs::write(&file, "// after\n").unwrap();
    std::fs::write(dir.join("notes.txt"), "not an exercise").unwrap();
    assert_eq!(watcher.changed(), [file]);
    assert!(watcher.changed().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------
// The files agree with each other

#[test]
fn every_exercise_has_its_files_and_no_file_lacks_an_exercise() {
    let slugs: Vec<String> = EXERCISES.iter().map(|e| e.slug.to_owned()).collect();
    let dir = exercises_dir();
    for (what, found) in [
        ("exercises/src/bin", rust_files(&dir.join("src/bin"))),
        ("exercises/solutions", rust_files(&dir.join("solutions"))),
        (
            "exercises/fixtures/shipped",
            rust_files(&dir.join("fixtures/shipped")),
        ),
    ] {
        let stems: Vec<String> = found.iter().map(|p| stem(p)).collect();
        assert_eq!(
            stems, slugs,
            "{what} and the checker's list of exercises differ"
        );
    }
    for exercise in EXERCISES {
        for file in [
            format!("hints/{}.md", exercise.slug),
            format!("fixtures/shipped/{}.expect", exercise.slug),
        ] {
            assert!(dir.join(&file).is_file(), "exercises/{file} is missing");
        }
        assert!(
            exercise.slug.starts_with(exercise.number),
            "{} is numbered {}",
            exercise.slug,
            exercise.number
        );
    }
    // Exercise binaries share target/debug with the lessons: no name twice.
    let lessons = lesson_names();
    for exercise in EXERCISES {
        assert!(
            !lessons.contains(&exercise.slug.to_owned()),
            "{} is a lesson's name",
            exercise.slug
        );
        assert!(
            lessons.contains(&exercise.lesson.to_owned()),
            "{}: no lesson {}",
            exercise.slug,
            exercise.lesson
        );
    }
}

#[test]
fn every_exercise_as_shipped_is_a_small_program_with_a_header_and_a_todo() {
    let mut problems = Vec::new();
    for exercise in EXERCISES {
        let file = format!("exercises/fixtures/shipped/{}.rs", exercise.slug);
        let text = read(&file);
        let lines = text.lines().count();
        if !(40..=120).contains(&lines) {
            problems.push(format!("{file}: {lines} lines, not 40 to 120"));
        }
        let n = exercise.number;
        for wanted in [
            format!("//! Exercise {n}: "),
            "//! What is wrong: ".to_owned(),
            "//! Done when: ".to_owned(),
            format!(
                "//! Practises: lesson {n}, `cargo run --bin {}`",
                exercise.lesson
            ),
            format!("//! Check it:  cargo run -p exercises -- {n}\n"),
            format!("//! Hint:      cargo run -p exercises -- hint {n}\n"),
            "// TODO".to_owned(),
        ] {
            if !text.contains(&wanted) {
                problems.push(format!("{file}: no {wanted:?}"));
            }
        }
        if let Some(long) = text.lines().find(|l| l.chars().count() > 85) {
            problems.push(format!(
                "{file}: a line over 85 columns (the book shows it): {long}"
            ));
        }
        let solution = read(format!("exercises/solutions/{}.rs", exercise.slug));
        if let Some(long) = solution.lines().find(|l| l.chars().count() > 85) {
            problems.push(format!(
                "{}'s solution has a line over 85 columns: {long}",
                exercise.slug
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn in_a_clean_clone_the_exercises_are_their_shipped_copies() {
    // A learner edits exercises/src/bin; the tests use the copies. Outside
    // CI an edited exercise is the learner's progress, not a defect.
    let strict = std::env::var_os("CI").is_some();
    let mut differ = Vec::new();
    for exercise in EXERCISES {
        let working = read(format!("exercises/src/bin/{}.rs", exercise.slug));
        let shipped = read(format!("exercises/fixtures/shipped/{}.rs", exercise.slug));
        if working != shipped {
            differ.push(exercise.slug);
        }
    }
    if strict {
        assert!(
            differ.is_empty(),
            "exercises/src/bin and exercises/fixtures/shipped differ for {differ:?}: an \
             exercise was changed without its shipped copy (cp one to the other)"
        );
    } else if !differ.is_empty() {
        println!("edited by you, so checked from their shipped copies: {differ:?}");
    }
}

#[test]
fn the_solutions_and_fixtures_are_formatted() {
    // `cargo fmt` reaches them only through build.rs's copies, so check
    // the originals here.
    let dir = exercises_dir();
    let mut files = rust_files(&dir.join("solutions"));
    files.extend(rust_files(&dir.join("fixtures/shipped")));
    files.extend(wrong_answers().into_iter().map(|(_, file)| file));
    let output = std::process::Command::new("rustfmt")
        .args(["--check", "--edition", "2024"])
        .args(&files)
        .output()
        .expect("rustfmt runs (rustup component add rustfmt)");
    assert!(
        output.status.success(),
        "run `rustfmt --edition 2024` on these:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn the_readme_shows_the_checker_and_an_exercises_section() {
    let readme = read("README.md");
    let start = readme.find("## Start").expect("a Start section");
    let block = &readme[start..];
    let block = &block[..block.find("\n```\n").expect("its commands end")];
    for command in [
        "cargo run --bin 01_unbuffered",
        "cargo test",
        "cargo run -p exercises",
    ] {
        assert!(
            block.contains(command),
            "the Start commands lack `{command}`"
        );
    }
    assert!(readme.contains("\n## Exercises\n"), "no Exercises section");
    for exercise in EXERCISES {
        assert!(
            readme.contains(&format!("exercises/src/bin/{}.rs", exercise.slug)),
            "the README does not list {}",
            exercise.slug
        );
    }
}

#[test]
fn the_checker_screen_quoted_in_the_readme_is_the_real_one() {
    // The README shows a learner who has done 01 and 02 and tried lesson
    // 03's leaky handler for 03. Rebuild that screen and compare.
    let readme = read("README.md");
    let start = readme
        .find("<!-- checker:start -->")
        .expect("checker:start marker");
    let end = readme
        .find("<!-- checker:end -->")
        .expect("checker:end marker");
    let quoted: Vec<&str> = readme[start..end]
        .lines()
        .skip_while(|line| !line.starts_with("$ cargo run -p exercises"))
        .skip(1)
        .take_while(|line| *line != "```")
        .collect();

    let workspace = workspace();
    let list: Vec<(&'static Exercise, Target)> = vec![
        (
            &EXERCISES[0],
            Target::Variant("solutions/01_rendezvous".into()),
        ),
        (&EXERCISES[1], Target::Variant("solutions/02_basket".into())),
        (
            &EXERCISES[2],
            Target::Variant("wrong/03_deadline/leaky_select".into()),
        ),
    ];
    let mut progress_lines = Vec::new();
    let progress = checker::progress(&workspace, &list, &mut progress_lines);
    let (exercise, verdict) = progress.stopped_at.as_ref().expect("03 is not done");
    let hints = hints::load(&workspace, exercise).unwrap().len();
    let screen = format!(
        "{}\n{}\n{}\n\n{}",
        checker::checking_line(false),
        String::from_utf8(progress_lines).unwrap(),
        checker::progress_line(&progress),
        checker::explain(
            exercise,
            "exercises/src/bin/03_deadline.rs",
            verdict,
            &checker::help(exercise, 1, hints)
        )
    );
    let screen: Vec<&str> = screen.lines().map(str::trim_end).collect();
    let quoted: Vec<&str> = quoted.iter().map(|l| l.trim_end()).collect();
    assert_eq!(quoted, screen);
}

//! The exercises' checker.
//!
//! ```text
//! cargo run -p exercises                  check the exercises in order, stop at the first not done
//! cargo run -p exercises -- 03            check exercise 03 alone
//! cargo run -p exercises -- hint          the next hint for the exercise you are on (or: hint 03)
//! cargo run -p exercises -- hint --reset  forget the hints you have seen (or: hint --reset 03)
//! cargo run -p exercises -- watch         check again every time you save an exercise
//! cargo run -p exercises -- --solutions   check the reference solutions (or: --solutions 03)
//! cargo run -p exercises -- list          the exercises, their files and their lessons
//! ```
//!
//! Each exercise is built on its own and run as a child process; see
//! `exercises/src/checker.rs` for why, and `exercises/src/harness.rs` for what
//! runs inside it.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use exercises::checker::hints::{self, Progress as Seen};
use exercises::checker::watch::Watcher;
use exercises::checker::{
    EXERCISES, Exercise, Target, Workspace, checking_line, explain, find, help, progress,
    progress_line,
};

const USAGE: &str = "\
usage:
  cargo run -p exercises                  check the exercises in order, stop at the first not done
  cargo run -p exercises -- 03            check exercise 03 alone
  cargo run -p exercises -- hint          the next hint for the exercise you are on (or: hint 03)
  cargo run -p exercises -- hint --reset  forget the hints you have seen (or: hint --reset 03)
  cargo run -p exercises -- watch         check again every time you save an exercise
  cargo run -p exercises -- --solutions   check the reference solutions (or: --solutions 03)
  cargo run -p exercises -- list          the exercises, their files and their lessons";

enum Mode {
    Check {
        solutions: bool,
        only: Option<&'static Exercise>,
    },
    Hint {
        exercise: Option<&'static Exercise>,
        reset: bool,
    },
    Watch,
    List,
    Help,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match parse(&args) {
        Ok(mode) => mode,
        Err(problem) => {
            eprintln!("exercises: {problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let workspace = Workspace::here();
    match mode {
        Mode::Check { solutions, only } => check(&workspace, solutions, only),
        Mode::Hint { exercise, reset } => hint(&workspace, exercise, reset),
        Mode::Watch => watch(&workspace),
        Mode::List => list(&workspace),
        Mode::Help => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
    }
}

fn parse(args: &[String]) -> Result<Mode, String> {
    let exercise = |word: &str| {
        find(word).ok_or_else(|| {
            format!(
                "no exercise `{word}`: they are {}",
                EXERCISES
                    .iter()
                    .map(|e| e.number)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    };
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    Ok(match words[..] {
        [] => Mode::Check {
            solutions: false,
            only: None,
        },
        ["-h" | "--help" | "help"] => Mode::Help,
        ["watch"] => Mode::Watch,
        ["list"] => Mode::List,
        ["--solutions"] => Mode::Check {
            solutions: true,
            only: None,
        },
        ["--solutions", number] => Mode::Check {
            solutions: true,
            only: Some(exercise(number)?),
        },
        ["hint"] => Mode::Hint {
            exercise: None,
            reset: false,
        },
        ["hint", "--reset"] => Mode::Hint {
            exercise: None,
            reset: true,
        },
        ["hint", "--reset", number] | ["hint", number, "--reset"] => Mode::Hint {
            exercise: Some(exercise(number)?),
            reset: true,
        },
        ["hint", number] => Mode::Hint {
            exercise: Some(exercise(number)?),
            reset: false,
        },
        [word] if !word.starts_with('-') => Mode::Check {
            solutions: false,
            only: Some(exercise(word)?),
        },
        _ => return Err(format!("did not understand `{}`", words.join(" "))),
    })
}

/// Where the checker remembers hints: next to the build, in `target/`.
fn state_file() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| Workspace::here().root().join("target"))
        .join("exercises-progress.txt")
}

fn check(workspace: &Workspace, solutions: bool, only: Option<&'static Exercise>) -> ExitCode {
    let target = |exercise: &'static Exercise| {
        if solutions {
            Target::Variant(format!("solutions/{}", exercise.slug))
        } else {
            Target::Exercise(exercise)
        }
    };
    let list: Vec<(&'static Exercise, Target)> = match only {
        Some(exercise) => vec![(exercise, target(exercise))],
        None => EXERCISES.iter().map(|e| (e, target(e))).collect(),
    };
    println!("{}", checking_line(solutions));
    let mut stdout = std::io::stdout();
    let found = progress(workspace, &list, &mut stdout);
    if only.is_none() {
        println!("\n{}", progress_line(&found));
    }
    let Some((exercise, verdict)) = found.stopped_at else {
        if only.is_none() && !solutions {
            println!(
                "Every exercise passes its check. Compare yours with the reference solutions in \
                 exercises/solutions/, or read them in the book's \"Your turn\" sections."
            );
        }
        return ExitCode::SUCCESS;
    };
    let file = if solutions {
        workspace
            .dir
            .join("solutions")
            .join(format!("{}.rs", exercise.slug))
    } else {
        workspace.exercise_file(exercise)
    };
    if !solutions {
        let state = state_file();
        let mut seen = Seen::load(&state);
        seen.current = Some(exercise.number.to_owned());
        let _ = seen.save(&state);
    }
    let next_hint = Seen::load(&state_file())
        .seen
        .get(exercise.number)
        .copied()
        .unwrap_or(0)
        + 1;
    let count = hints::load(workspace, exercise).map_or(0, |h| h.len());
    let help = help(exercise, next_hint, count);
    println!();
    print!(
        "{}",
        explain(exercise, &workspace.show(&file), &verdict, &help)
    );
    ExitCode::FAILURE
}

fn hint(workspace: &Workspace, exercise: Option<&'static Exercise>, reset: bool) -> ExitCode {
    let state = state_file();
    if reset {
        return match hints::reset(&state, exercise) {
            Ok(()) => {
                match exercise {
                    Some(e) => println!("Forgot the hints you had seen for {}.", e.number),
                    None => println!("Forgot every hint you had seen."),
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("exercises: cannot write {}: {e}", state.display());
                ExitCode::FAILURE
            }
        };
    }
    let exercise = exercise.unwrap_or_else(|| {
        Seen::load(&state)
            .current
            .and_then(|number| find(&number))
            .unwrap_or(&EXERCISES[0])
    });
    match hints::next(workspace, &state, exercise) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("exercises: {problem}");
            ExitCode::FAILURE
        }
    }
}

fn watch(workspace: &Workspace) -> ExitCode {
    let dir = workspace.dir.join("src/bin");
    let mut watcher = Watcher::new(&dir);
    loop {
        check(workspace, false, None);
        println!(
            "\nWatching {} for changes: save an exercise to check again (Ctrl-C stops).",
            workspace.show(&dir)
        );
        let _ = std::io::stdout().flush();
        let changed = loop {
            std::thread::sleep(Duration::from_millis(500));
            let changed = watcher.changed();
            if !changed.is_empty() {
                break changed;
            }
        };
        if std::io::stdout().is_terminal() {
            // Clear the screen, so the new verdict is the only one on it.
            print!("\x1b[2J\x1b[H");
        }
        let names: Vec<String> = changed.iter().map(|p| workspace.show(p)).collect();
        println!("{} changed.", names.join(", "));
    }
}

fn list(workspace: &Workspace) -> ExitCode {
    for exercise in EXERCISES {
        println!(
            "{} · {}\n     edit {}   (lesson: cargo run --bin {})",
            exercise.number,
            exercise.title,
            workspace.show(&workspace.exercise_file(exercise)),
            exercise.lesson
        );
    }
    ExitCode::SUCCESS
}

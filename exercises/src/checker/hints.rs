//! Hints: kept beside each exercise in `exercises/hints/NN_name.md` and shown
//! one at a time. Which ones a learner has seen is remembered in a small
//! file under `target/` (`hint --reset` forgets).
//!
//! A hint file is Markdown, so the book can include it as it is. Each hint
//! starts with a line `**Hint N.** ...`. The last one points at the lesson's
//! lines as `` `lessons/src/bin/04_cancel.rs:fix_timeout` `` (a file and an
//! anchor, the way the book includes them); the checker prints those lines
//! with their numbers, and a test makes sure every such pointer resolves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Exercise, Workspace};

/// The hints of one exercise, in order.
pub fn load(workspace: &Workspace, exercise: &Exercise) -> Result<Vec<String>, String> {
    let path = hint_file(workspace, exercise);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", workspace.show(&path)))?;
    let hints = split(&text);
    if hints.is_empty() {
        return Err(format!(
            "{} has no `**Hint 1.**` line",
            workspace.show(&path)
        ));
    }
    Ok(hints)
}

/// `exercises/hints/NN_name.md`.
pub fn hint_file(workspace: &Workspace, exercise: &Exercise) -> PathBuf {
    workspace
        .dir
        .join("hints")
        .join(format!("{}.md", exercise.slug))
}

/// Splits a hint file at each line that starts with `**Hint `.
pub fn split(markdown: &str) -> Vec<String> {
    let mut hints: Vec<Vec<&str>> = Vec::new();
    for line in markdown.lines() {
        if line.starts_with("**Hint ") {
            hints.push(Vec::new());
        }
        if let Some(hint) = hints.last_mut() {
            hint.push(line);
        }
    }
    hints
        .into_iter()
        .map(|lines| lines.join("\n").trim().to_owned())
        .collect()
}

/// The `file:anchor` pointers to lesson lines in a hint: backticked,
/// starting with `lessons/`.
pub fn lesson_pointers(hint: &str) -> Vec<(String, String)> {
    hint.split('`')
        .skip(1)
        .step_by(2)
        .filter(|code| code.starts_with("lessons/"))
        .filter_map(|code| code.split_once(':'))
        .map(|(file, anchor)| (file.to_owned(), anchor.to_owned()))
        .collect()
}

/// Lines of a lesson, found by their anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonLines {
    /// 1-based numbers of the first and last line shown.
    pub first: usize,
    pub last: usize,
    /// Each line with its number (nested anchor markers left out).
    pub lines: Vec<(usize, String)>,
}

/// The lines between `ANCHOR: name` and `ANCHOR_END: name` in `file`
/// (relative to the workspace root), as the book includes them: marker
/// lines left out. An error names what is missing.
pub fn resolve(root: &Path, file: &str, anchor: &str) -> Result<LessonLines, String> {
    let text = std::fs::read_to_string(root.join(file)).map_err(|e| format!("{file}: {e}"))?;
    let is_marker = |line: &str, tag: &str| {
        line.split_once(tag)
            .is_some_and(|(_, name)| name.split_whitespace().next() == Some(anchor))
    };
    let all: Vec<&str> = text.lines().collect();
    let start = all
        .iter()
        .position(|l| is_marker(l, "ANCHOR:"))
        .ok_or_else(|| format!("{file} has no `ANCHOR: {anchor}`"))?;
    let end = all[start..]
        .iter()
        .position(|l| is_marker(l, "ANCHOR_END:"))
        .map(|at| start + at)
        .ok_or_else(|| format!("{file}: `ANCHOR: {anchor}` has no `ANCHOR_END`"))?;
    let lines: Vec<(usize, String)> = (start + 1..end)
        .filter(|&i| !all[i].contains("ANCHOR:") && !all[i].contains("ANCHOR_END:"))
        .map(|i| (i + 1, all[i].to_owned()))
        .collect();
    if lines.iter().all(|(_, l)| l.trim().is_empty()) {
        return Err(format!("{file}: anchor `{anchor}` holds no lines"));
    }
    Ok(LessonLines {
        first: start + 2,
        last: end,
        lines,
    })
}

/// Which hints the learner has seen, and which exercise the last check
/// stopped at. Kept in a small text file.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// The exercise the last check stopped at.
    pub current: Option<String>,
    /// Hints seen, by exercise number.
    pub seen: BTreeMap<String, usize>,
}

impl Progress {
    /// Reads the file; a missing or unreadable one is a fresh start.
    pub fn load(path: &Path) -> Progress {
        let mut progress = Progress::default();
        let text = std::fs::read_to_string(path).unwrap_or_default();
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words[..] {
                ["current", number] => progress.current = Some(number.to_owned()),
                ["seen", number, count] => {
                    if let Ok(count) = count.parse() {
                        progress.seen.insert(number.to_owned(), count);
                    }
                }
                _ => {}
            }
        }
        progress
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut text = String::from(
            "# The exercises' checker remembers here which hints you have seen.\n\
             # `cargo run -p exercises -- hint --reset` forgets them.\n",
        );
        if let Some(current) = &self.current {
            text.push_str(&format!("current {current}\n"));
        }
        for (number, count) in &self.seen {
            text.push_str(&format!("seen {number} {count}\n"));
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, text)
    }
}

/// Shows the next hint for `exercise` and records that it was seen. After
/// the last one, shows the last one again.
pub fn next(workspace: &Workspace, state: &Path, exercise: &Exercise) -> Result<String, String> {
    let hints = load(workspace, exercise)?;
    let mut progress = Progress::load(state);
    let seen = progress.seen.get(exercise.number).copied().unwrap_or(0);
    let index = seen.min(hints.len() - 1);
    progress
        .seen
        .insert(exercise.number.to_owned(), (seen + 1).min(hints.len()));
    progress
        .save(state)
        .map_err(|e| format!("cannot remember hints in {}: {e}", state.display()))?;
    Ok(render(workspace, exercise, &hints, index))
}

/// Forgets the hints seen, for one exercise or (with `None`) for all.
pub fn reset(state: &Path, exercise: Option<&Exercise>) -> std::io::Result<()> {
    let mut progress = Progress::load(state);
    match exercise {
        Some(exercise) => {
            progress.seen.remove(exercise.number);
        }
        None => progress.seen.clear(),
    }
    progress.save(state)
}

fn render(workspace: &Workspace, exercise: &Exercise, hints: &[String], index: usize) -> String {
    let hint = &hints[index];
    let mut out = format!(
        "Hint {} of {} for {} · {}\n\n{}\n",
        index + 1,
        hints.len(),
        exercise.number,
        exercise.title,
        hint.replace("**", "")
    );
    for (file, anchor) in lesson_pointers(hint) {
        match resolve(workspace.root(), &file, &anchor) {
            Ok(found) => {
                out.push_str(&format!(
                    "\n{file}, lines {}-{} (anchor `{anchor}`):\n",
                    found.first, found.last
                ));
                for (number, line) in &found.lines {
                    out.push_str(&format!("{number:>5} | {line}\n"));
                }
            }
            Err(problem) => out.push_str(&format!("\n({problem})\n")),
        }
    }
    let solution = workspace
        .dir
        .join("solutions")
        .join(format!("{}.rs", exercise.slug));
    if index + 1 < hints.len() {
        out.push_str(&format!(
            "\nThe next one: cargo run -p exercises -- hint {}\n",
            exercise.number
        ));
    } else {
        out.push_str(&format!(
            "\nThat was the last hint. A reference solution is in {} (the book shows it \
             too); `cargo run -p exercises -- hint --reset {}` starts the hints again.\n",
            workspace.show(&solution),
            exercise.number
        ));
    }
    out
}

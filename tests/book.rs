//! The book can't drift from the lessons.
//!
//! The book never keeps its own copy of code or output: it includes named slices
//! of the lesson files and the checked transcripts with mdBook's
//! `{{#include path:anchor}}`. mdBook renders *nothing* for a misspelt anchor and
//! only logs a missing file, so these tests resolve every include the way mdBook
//! does and insist on text. They also check that every lesson binary has a
//! chapter, that SUMMARY.md and the pages agree, that every picture the
//! book shows exists and ends up in the built book, that every lesson's
//! chapter shows its timeline picture, and that every exercise
//! closes its lesson's chapter in a "Your turn" section that includes it, its
//! hints and its solution.

use std::path::{Path, PathBuf};

use async_clinic::{lesson_names, workspace_root};

/// The book's sources, relative to the workspace root.
const BOOK_SRC: &str = "book/src";

/// Where included text may come from: lesson and playground sources, the
/// lessons' checked transcripts (which live under `lessons/`), and the
/// exercises with their hints and solutions.
const INCLUDABLE_ROOTS: [&str; 3] = ["lessons", "playground", "exercises"];

/// Lesson code sits beside its Go twin in two columns on a wide screen; a line
/// wider than this makes the reader scroll sideways to finish it. (Transcripts
/// are shown full width, and are exempt.)
const MAX_COLUMNS: usize = 85;
/// Where the lessons' code lives, relative to the workspace root: the Rust
/// lessons and their Go twins, whose fragments sit side by side.
const LESSON_CODE: [&str; 2] = ["lessons/src", "lessons/go"];
/// How wide a tab is in the book's Go listings (gofmt indents with tabs).
const TAB_COLUMNS: usize = 4;

// ---------------------------------------------------------------------------
// The tests

#[test]
fn every_include_resolves_to_non_empty_text() {
    let mut problems = Vec::new();
    let mut resolved = 0;
    for page in pages() {
        let markdown = read_page(&page);
        for directive in directives(&markdown) {
            if directive.kind == "title" {
                continue; // sets the page's <title>; reads no file
            }
            match resolve(&page, &directive) {
                Ok(_) => resolved += 1,
                Err(problem) => problems.push(format!(
                    "{}: `{}`: {problem}",
                    relative(&page),
                    directive.text
                )),
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    assert!(resolved > 0, "the book includes nothing at all");
}

#[test]
fn every_lesson_has_a_chapter_in_lesson_order() {
    let linked = summary_links();
    let mut problems = Vec::new();
    let mut positions = Vec::new();
    for lesson in lesson_names() {
        let chapter = format!("{lesson}.md");
        let Some(position) = linked.iter().position(|link| *link == chapter) else {
            problems.push(format!(
                "{lesson} has no chapter: SUMMARY.md links no `{chapter}`"
            ));
            continue;
        };
        positions.push((position, lesson.clone()));

        let page = book_src().join(&chapter);
        let Ok(markdown) = std::fs::read_to_string(&page) else {
            continue; // reported by the SUMMARY test
        };
        let included: Vec<String> = directives(&markdown)
            .iter()
            .filter_map(|d| resolve_path(&page, d).ok())
            .map(|path| relative(&path))
            .collect();
        for (what, wanted) in [
            ("its code", format!("lessons/src/bin/{lesson}.rs")),
            (
                "its transcript",
                format!("lessons/transcripts/{lesson}.txt"),
            ),
        ] {
            if !included.contains(&wanted) {
                problems.push(format!("{chapter} does not include {what} ({wanted})"));
            }
        }
        let run = format!("cargo run --bin {lesson}");
        if !markdown.contains(&run) {
            problems.push(format!("{chapter} never tells the reader to `{run}`"));
        }
        if !markdown.contains("<summary>Going further</summary>") {
            problems.push(format!("{chapter} has no \"Going further\" block"));
        }
    }
    // lesson_names() is in lesson order; SUMMARY.md must list them the same way.
    if let Some(pair) = positions.windows(2).find(|pair| pair[0].0 > pair[1].0) {
        problems.push(format!(
            "SUMMARY.md lists {} after {}: chapters follow the lesson numbers",
            pair[1].1, pair[0].1
        ));
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn every_exercise_closes_its_lesson_chapter_in_a_your_turn() {
    // Appended at the end, after "Going further", so edits in the middle of
    // a chapter never touch it; the hints in a <details> block, the solution
    // included from its file.
    let mut problems = Vec::new();
    for exercise in exercises::checker::EXERCISES {
        let chapter = format!("{}.md", exercise.lesson);
        let page = book_src().join(&chapter);
        let markdown = read_page(&page);
        let Some(start) = markdown.find("\n## Your turn\n") else {
            problems.push(format!("{chapter} has no \"## Your turn\" section"));
            continue;
        };
        let turn = &markdown[start..];
        let going_further = markdown.find("<summary>Going further</summary>");
        if going_further.is_some_and(|at| at > start) {
            problems.push(format!(
                "{chapter}: \"Your turn\" must come after \"Going further\""
            ));
        }
        if turn[1..].contains("\n## ") {
            problems.push(format!("{chapter}: \"Your turn\" must be the last section"));
        }
        let included: Vec<String> = directives(turn)
            .iter()
            .filter_map(|d| resolve_path(&page, d).ok())
            .map(|path| relative(&path))
            .collect();
        let slug = exercise.slug;
        for wanted in [
            format!("exercises/src/bin/{slug}.rs"),
            format!("exercises/hints/{slug}.md"),
            format!("exercises/solutions/{slug}.rs"),
        ] {
            if !included.contains(&wanted) {
                problems.push(format!(
                    "{chapter}: \"Your turn\" does not include {wanted}"
                ));
            }
        }
        let hints = format!("{{{{#include ../../exercises/hints/{slug}.md}}}}");
        let in_details = turn
            .split_once("<details>\n<summary>Hints</summary>")
            .and_then(|(_, after)| after.split_once("</details>"))
            .is_some_and(|(block, _)| block.contains(&hints));
        if !in_details {
            problems.push(format!(
                "{chapter}: the hints are not in a <details> block of their own"
            ));
        }
        let check = format!("cargo run -p exercises -- {}", exercise.number);
        if !turn.contains(&check) {
            problems.push(format!("{chapter}: \"Your turn\" never says `{check}`"));
        }
    }
    // Every lesson up to the last one with an exercise has one (the lessons
    // after it get theirs when they land).
    let last = exercises::checker::EXERCISES
        .iter()
        .map(|e| e.lesson)
        .max()
        .unwrap_or_default();
    for lesson in lesson_names().iter().filter(|l| l.as_str() <= last) {
        if !exercises::checker::EXERCISES
            .iter()
            .any(|e| e.lesson == lesson)
        {
            problems.push(format!("lesson {lesson} has no exercise"));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn summary_links_point_to_pages_and_every_page_is_linked() {
    let linked = summary_links();
    assert!(!linked.is_empty(), "SUMMARY.md links no pages");
    let mut problems = Vec::new();
    for link in &linked {
        if !book_src().join(link).is_file() {
            problems.push(format!("SUMMARY.md links `{link}`, which does not exist"));
        }
    }
    for page in pages() {
        let name = relative_to(&page, &book_src());
        if name != "SUMMARY.md" && !linked.contains(&name) {
            problems.push(format!(
                "{name} is not in SUMMARY.md, so mdBook would never show it"
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn links_between_pages_resolve() {
    // mdBook does not check a chapter's links to other chapters; a renamed
    // page would leave a dead link behind.
    let mut problems = Vec::new();
    for page in pages() {
        for link in markdown_links(&read_page(&page)) {
            let path = link.split('#').next().unwrap_or("");
            if link.contains("://") || !path.ends_with(".md") {
                continue;
            }
            let dir = page.parent().expect("a page is in a directory");
            if !dir.join(path).is_file() {
                problems.push(format!("{}: dead link `{link}`", relative(&page)));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn every_image_exists_inside_book_src_and_every_image_is_shown() {
    // mdBook copies every file under book/src into the built book, following
    // symlinks (book/src/screenshots is one, to playground/screenshots, so
    // that each screenshot is kept in git once). It checks no image path: a
    // misspelt one, or one that climbs out of book/src, is a broken picture in
    // the built book and no warning in its log.
    let src = book_src();
    let mut problems = Vec::new();
    let mut shown = Vec::new();
    for page in pages() {
        let dir = relative_to(page.parent().expect("a page is in a directory"), &src);
        for target in local_files(&prose(&read_page(&page))) {
            let Some(path) = within(&dir, &target) else {
                problems.push(format!(
                    "{}: `{target}` is outside book/src, so the built book would not have it",
                    relative(&page)
                ));
                continue;
            };
            if src.join(&path).is_file() {
                shown.push(path);
            } else {
                problems.push(format!(
                    "{}: `{target}` does not exist (looked for book/src/{path})",
                    relative(&page)
                ));
            }
        }
    }
    // A picture nobody shows is dead weight in git, or a page that lost it.
    let images = images(&src);
    assert!(!images.is_empty(), "the book shows no pictures at all");
    for image in images {
        if !shown.contains(&image) {
            problems.push(format!("book/src/{image} is not shown on any page"));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn every_lesson_chapter_shows_its_timeline() {
    // The picture is lessons/tests/timelines.rs's checked drawing of the
    // lesson's run; its chapter shows it from the file, as an image.
    let mut problems = Vec::new();
    for lesson in lesson_names() {
        let picture = format!("timelines/{lesson}.svg");
        let exists = book_src().join(&picture).is_file();
        let chapter = book_src().join(format!("{lesson}.md"));
        let shown = std::fs::read_to_string(&chapter)
            .map(|markdown| local_files(&prose(&markdown)).contains(&picture))
            .unwrap_or(false);
        if !exists {
            problems.push(format!(
                "{lesson} has no timeline: draw book/src/{picture} with \
                 UPDATE_TIMELINES={lesson} cargo test -p lessons --test timelines"
            ));
        }
        if !shown {
            problems.push(format!(
                "{} does not show its timeline: add ![...]({picture}) near its transcript",
                relative(&chapter)
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn included_lesson_code_fits_beside_its_go_twin() {
    let root = workspace_root()
        .canonicalize()
        .expect("the workspace root exists");
    let code = LESSON_CODE.map(|dir| root.join(dir));
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in pages() {
        for directive in directives(&read_page(&page)) {
            // A directive that does not resolve is reported by the test above.
            let Ok(path) = resolve_path(&page, &directive) else {
                continue;
            };
            let Ok(text) = resolve(&page, &directive) else {
                continue;
            };
            let is_code = path
                .extension()
                .is_some_and(|ext| ext == "rs" || ext == "go");
            if !is_code || !code.iter().any(|dir| path.starts_with(dir)) {
                continue;
            }
            checked += 1;
            let file = std::fs::read_to_string(&path).unwrap_or_default();
            for line in text.lines() {
                let width = line
                    .chars()
                    .map(|c| if c == '\t' { TAB_COLUMNS } else { 1 })
                    .sum::<usize>();
                let number = file.lines().position(|l| l == line).map_or(0, |i| i + 1);
                let problem = format!(
                    "{}:{number}: {width} columns, over {MAX_COLUMNS}: {}",
                    relative(&path),
                    line.trim()
                );
                if width > MAX_COLUMNS && !problems.contains(&problem) {
                    problems.push(problem);
                }
            }
        }
    }
    assert!(checked > 0, "the book includes no lesson code at all");
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn rust_and_transcript_blocks_hold_only_includes() {
    // A ```rust or ```text block with anything but include lines in it is a
    // copy of code or output, and copies drift. Shell commands are the book's
    // own and may be written inline. (A ```go block is checked the same way
    // by tests/go_twins.rs, in every chapter whose lesson has a Go twin.)
    let mut problems = Vec::new();
    for page in pages() {
        for block in fenced_blocks(&read_page(&page)) {
            if !matches!(block.language.as_str(), "rust" | "text") {
                continue;
            }
            let copied: Vec<&String> = block
                .lines
                .iter()
                .filter(|line| !line.trim().is_empty())
                .filter(|line| {
                    let found = directives(line);
                    found.len() != 1 || found[0].text.trim() != line.trim()
                })
                .collect();
            if !copied.is_empty() {
                problems.push(format!(
                    "{} line {}: a ```{} block with its own text instead of an include: {:?}",
                    relative(&page),
                    block.first_line,
                    block.language,
                    copied[0]
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------
// mdBook's include directives, resolved as mdBook 0.5 does

/// One `{{#kind target}}` found in a page.
#[derive(Debug, PartialEq)]
struct Directive {
    kind: String,
    /// `path`, `path:anchor`, `path:3:10`, ... (the first word after the kind).
    target: String,
    /// The whole directive as written, for messages.
    text: String,
}

/// Every directive in `markdown`, in order. An escaped `\{{#...}}` is text,
/// as in mdBook, and is skipped.
fn directives(markdown: &str) -> Vec<Directive> {
    let mut found = Vec::new();
    let mut rest = markdown;
    while let Some(open) = rest.find("{{") {
        let escaped = rest[..open].ends_with('\\');
        let after = &rest[open + 2..];
        rest = after;
        if escaped {
            continue;
        }
        let body = after.trim_start();
        let Some(body) = body.strip_prefix('#') else {
            continue;
        };
        let kind: String = body
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let Some(close) = body.find("}}") else {
            continue;
        };
        let args = &body[kind.len()..close];
        let text = format!("{{{{#{}}}}}", &body[..close]);
        found.push(Directive {
            kind,
            target: args.split_whitespace().next().unwrap_or("").to_owned(),
            text,
        });
    }
    found
}

/// The text a directive puts in the page, or why it puts nothing there.
fn resolve(page: &Path, directive: &Directive) -> Result<String, String> {
    let path = resolve_path(page, directive)?;
    let file = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let (_, selector) = split_target(&directive.target);
    let text = match directive.kind.as_str() {
        "include" | "rustdoc_include" => select(&file, selector)?,
        "playground" => file,
        other => unreachable!("resolve_path rejects `{other}`"),
    };
    if text.trim().is_empty() {
        return Err("resolves to no text".to_owned());
    }
    if !directives(&text).is_empty() {
        return Err("the included text has directives of its own; check them by hand".to_owned());
    }
    Ok(text)
}

/// The file a directive reads, relative to the page as mdBook resolves it.
fn resolve_path(page: &Path, directive: &Directive) -> Result<PathBuf, String> {
    match directive.kind.as_str() {
        "include" | "rustdoc_include" | "playground" => {}
        // mdBook leaves an unknown directive in the page as raw text.
        other => return Err(format!("`#{other}` is not a directive mdBook knows")),
    }
    let (path, _) = split_target(&directive.target);
    if path.is_empty() {
        return Err("no file named".to_owned());
    }
    let joined = page.parent().expect("a page is in a directory").join(path);
    let path = std::fs::canonicalize(&joined)
        .map_err(|e| format!("no file at {}: {e}", joined.display()))?;
    let root = workspace_root()
        .canonicalize()
        .expect("the workspace root exists");
    if !INCLUDABLE_ROOTS
        .iter()
        .any(|allowed| path.starts_with(root.join(allowed)))
    {
        return Err(format!(
            "{} is outside {INCLUDABLE_ROOTS:?}: the book shows only lesson, playground and \
             exercise files",
            path.display()
        ));
    }
    Ok(path)
}

/// `path:rest` → (`path`, `rest`); the selector is empty for a whole file.
fn split_target(target: &str) -> (&str, &str) {
    target.split_once(':').unwrap_or((target, ""))
}

/// Applies a selector the way mdBook does: empty for the whole file, `name`
/// for the lines between `ANCHOR: name` and `ANCHOR_END: name` (any line that
/// is itself an anchor marker is left out), or a 1-based line range `3`, `3:`,
/// `:10`, `3:10`. Stricter than mdBook: a missing anchor or a missing end is an
/// error here, not an empty or runaway slice.
fn select(file: &str, selector: &str) -> Result<String, String> {
    let mut parts = selector.splitn(3, ':');
    let first = parts.next().unwrap_or("");
    let start = if first.is_empty() {
        None
    } else if let Ok(line) = first.parse::<usize>() {
        Some(line.saturating_sub(1))
    } else {
        return anchored(file, first);
    };
    let lines: Vec<&str> = file.lines().collect();
    let (from, to) = match (start, parts.next().map(str::parse::<usize>)) {
        (Some(start), Some(Ok(end))) => (start, end),
        (Some(start), Some(Err(_))) => (start, lines.len()),
        (Some(start), None) => (start, start + 1),
        (None, Some(Ok(end))) => (0, end),
        (None, None | Some(Err(_))) => (0, lines.len()),
    };
    let to = to.min(lines.len());
    if from >= to {
        return Err(format!(
            "line range `{selector}` is empty (the file has {} lines)",
            lines.len()
        ));
    }
    Ok(lines[from..to].join("\n"))
}

fn anchored(file: &str, anchor: &str) -> Result<String, String> {
    let mut kept = Vec::new();
    let mut inside = false;
    for line in file.lines() {
        if !inside {
            inside = marker(line, "ANCHOR:") == Some(anchor);
            continue;
        }
        if let Some(name) = marker(line, "ANCHOR_END:") {
            if name == anchor {
                return Ok(kept.join("\n"));
            }
        } else if marker(line, "ANCHOR:").is_none() {
            kept.push(line);
        }
    }
    Err(if inside {
        format!("`ANCHOR: {anchor}` has no `ANCHOR_END: {anchor}`")
    } else {
        format!("no `ANCHOR: {anchor}` in the file")
    })
}

/// The name after `ANCHOR:` or `ANCHOR_END:` on a line (mdBook's regex
/// `ANCHOR:\s*[\w_-]+`), if the line has one.
fn marker<'a>(line: &'a str, tag: &str) -> Option<&'a str> {
    let after = line[line.find(tag)? + tag.len()..].trim_start();
    let end = after
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(after.len());
    (end > 0).then(|| &after[..end])
}

// ---------------------------------------------------------------------------
// The book's pages

fn book_src() -> PathBuf {
    workspace_root().join(BOOK_SRC)
}

/// Every Markdown file under book/src, sorted.
fn pages() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![book_src()];
    while let Some(dir) = dirs.pop() {
        let entries =
            std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a readable directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                found.push(path);
            }
        }
    }
    found.sort();
    assert!(!found.is_empty(), "no pages in {}", book_src().display());
    found
}

fn read_page(page: &Path) -> String {
    std::fs::read_to_string(page).unwrap_or_else(|e| panic!("reading {}: {e}", page.display()))
}

/// The page paths SUMMARY.md links, in order, relative to book/src.
fn summary_links() -> Vec<String> {
    markdown_links(&read_page(&book_src().join("SUMMARY.md")))
        .into_iter()
        .filter(|link| !link.contains("://"))
        .collect()
}

/// The targets of every `[text](target)` link in `markdown`, in order.
fn markdown_links(markdown: &str) -> Vec<String> {
    let mut links = Vec::new();
    for line in markdown.lines() {
        let mut rest = line;
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            let Some(end) = after.find(')') else { break };
            if end > 0 {
                links.push(after[..end].to_owned());
            }
            rest = &after[end..];
        }
    }
    links
}

/// `markdown` without its fenced code blocks: what mdBook renders as text,
/// links and pictures (a Go twin's `a[i](x)` is code, not a link).
fn prose(markdown: &str) -> String {
    let mut kept = Vec::new();
    let mut in_block = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
        } else if !in_block {
            kept.push(line);
        }
    }
    kept.join("\n")
}

/// The files a page links to or shows that are not pages: the targets of
/// `[text](file)` and `![alt](file)`, and `src="file"` in HTML.
fn local_files(markdown: &str) -> Vec<String> {
    let mut targets = markdown_links(markdown);
    let mut rest = markdown;
    while let Some(start) = rest.find("src=\"") {
        let after = &rest[start + 5..];
        let Some(end) = after.find('"') else { break };
        targets.push(after[..end].to_owned());
        rest = &after[end..];
    }
    targets
        .into_iter()
        .map(|target| {
            let end = target.find(['#', '?', ' ']).unwrap_or(target.len());
            target[..end].to_owned()
        })
        .filter(|path| {
            !path.is_empty()
                && !path.contains("://")
                && !path.starts_with("mailto:")
                && !path.ends_with(".md")
        })
        .collect()
}

/// `target`, read from a page in `dir` (both relative to book/src), as a path
/// relative to book/src; `None` if it climbs out of book/src. Lexical, like a
/// browser resolving a link: a symlink inside book/src is still inside.
fn within(dir: &str, target: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|part| !part.is_empty()).collect();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// Every picture under `dir` (through symlinks), relative to it, sorted.
fn images(dir: &Path) -> Vec<String> {
    const PICTURES: [&str; 6] = ["png", "jpg", "jpeg", "gif", "svg", "webp"];
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(current) = dirs.pop() {
        let entries = std::fs::read_dir(&current)
            .unwrap_or_else(|e| panic!("reading {}: {e}", current.display()));
        for entry in entries {
            let path = entry.expect("a readable directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .and_then(|ext| ext.to_str())
                .is_some_and(|ext| PICTURES.contains(&ext.to_ascii_lowercase().as_str()))
            {
                found.push(relative_to(&path, dir));
            }
        }
    }
    found.sort();
    found
}

/// A fenced code block: its language and its lines.
struct Block {
    language: String,
    first_line: usize,
    lines: Vec<String>,
}

fn fenced_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (number, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        match (&mut open, trimmed.strip_prefix("```")) {
            (None, Some(info)) => {
                let language = info
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .next()
                    .unwrap_or("")
                    .to_owned();
                open = Some(Block {
                    language,
                    first_line: number + 1,
                    lines: Vec::new(),
                });
            }
            (Some(_), Some(_)) => blocks.push(open.take().expect("a block is open")),
            (Some(block), None) => block.lines.push(line.to_owned()),
            (None, None) => {}
        }
    }
    blocks
}

fn relative(path: &Path) -> String {
    let root = workspace_root()
        .canonicalize()
        .expect("the workspace root exists");
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    relative_to(&path, &root)
}

fn relative_to(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

// ---------------------------------------------------------------------------
// The resolver itself: it must agree with mdBook, or the checks above mean
// nothing.

mod resolver {
    use super::*;

    const REPORT: &str = "\
// ANCHOR: intake
let report = read_form();
// ANCHOR: check
validate(&report)?;
// ANCHOR_END: check
queue.send(report).await?;
// ANCHOR_END: intake
// ANCHOR: audit
audit_log.append(&report);
";

    #[test]
    fn an_anchor_keeps_its_lines_and_drops_nested_markers() {
        assert_eq!(
            select(REPORT, "intake").unwrap(),
            "let report = read_form();\nvalidate(&report)?;\nqueue.send(report).await?;"
        );
        assert_eq!(select(REPORT, "check").unwrap(), "validate(&report)?;");
    }

    #[test]
    fn a_misspelt_or_unterminated_anchor_is_an_error() {
        assert!(
            select(REPORT, "intak")
                .unwrap_err()
                .contains("no `ANCHOR: intak`")
        );
        assert!(
            select(REPORT, "audit")
                .unwrap_err()
                .contains("no `ANCHOR_END: audit`")
        );
    }

    #[test]
    fn line_ranges_are_one_based_and_end_inclusive() {
        let file = "a\nb\nc\nd";
        assert_eq!(select(file, "").unwrap(), file);
        assert_eq!(select(file, "2").unwrap(), "b");
        assert_eq!(select(file, "2:3").unwrap(), "b\nc");
        assert_eq!(select(file, "3:").unwrap(), "c\nd");
        assert_eq!(select(file, ":2").unwrap(), "a\nb");
        assert!(select(file, "9").is_err());
    }

    #[test]
    fn directives_are_found_and_escapes_skipped() {
        let page =
            "x {{#include a.rs:intake}} y \\{{#include b.rs}} {{ #title T }} {{#inclde c.rs}}";
        let found = directives(page);
        let found: Vec<(&str, &str)> = found
            .iter()
            .map(|d| (d.kind.as_str(), d.target.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("include", "a.rs:intake"),
                ("title", "T"),
                ("inclde", "c.rs")
            ]
        );
    }

    #[test]
    fn image_paths_resolve_like_a_browser_and_may_not_leave_book_src() {
        assert_eq!(
            within("", "screenshots/a.png").as_deref(),
            Some("screenshots/a.png")
        );
        assert_eq!(
            within("part", "../screenshots/./a.png").as_deref(),
            Some("screenshots/a.png")
        );
        assert_eq!(within("", "../../playground/screenshots/a.png"), None);
        let page = "![A](screenshots/a.png) [![B](b.png)](b.png#top) [c](c.md) [d](https://x.org/d.png)\n\
                    ```go\nqueue[i](x)\n```\n<img src=\"e.svg\" alt=\"E\">";
        assert_eq!(
            local_files(&prose(page)),
            ["screenshots/a.png", "b.png", "b.png", "e.svg"]
        );
    }

    #[test]
    fn an_unknown_directive_is_reported() {
        let page = book_src().join("introduction.md");
        let typo = Directive {
            kind: "inclde".to_owned(),
            target: "../../lessons/src/lib.rs".to_owned(),
            text: String::new(),
        };
        assert!(
            resolve(&page, &typo)
                .unwrap_err()
                .contains("not a directive")
        );
    }
}

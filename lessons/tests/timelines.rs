//! Every picture in the book is its lesson's `--fast` run, drawn again now.
//!
//! For each lesson with a committed `book/src/timelines/NN_name.svg`, the test
//! runs `NN_name --fast --timeline FILE` and compares FILE with the committed
//! picture byte for byte, as the transcripts test does for the text: a picture
//! cannot drift from its lesson. The run must stay under a second with the
//! recorder on (at best of three tries), and no two texts in a picture may
//! cover each other.
//!
//! To redraw after changing a lesson or the renderer:
//!
//! ```text
//! UPDATE_TIMELINES=1 cargo test -p lessons --test timelines          # every committed one
//! UPDATE_TIMELINES=07_backpressure cargo test -p lessons --test timelines  # add one
//! ```
//!
//! (a comma-separated list of lesson names works too), then look at the
//! pictures before committing them.

mod common;

use common::{FAST_RUN_LIMIT, lessons, quickest_fast_run};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn timelines_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/timelines")
}

/// What `UPDATE_TIMELINES` asks to redraw: nothing, every committed picture
/// (`1`), or the lessons it names.
enum Update {
    Nothing,
    Committed,
    Named(Vec<String>),
}

fn update() -> Update {
    match std::env::var("UPDATE_TIMELINES").unwrap_or_default().trim() {
        "" | "0" => Update::Nothing,
        "1" => Update::Committed,
        names => {
            Update::Named(names.split(',').map(|n| n.trim().to_owned()).collect())
        }
    }
}

/// Draws `lesson`'s timeline from its `--fast` run; returns the SVG and how
/// long the run took.
fn draw(lesson: &str, exe: &Path) -> (String, Duration) {
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{lesson}.svg"));
    let started = Instant::now();
    let output = Command::new(exe)
        .args(["--fast", "--timeline"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
    let took = started.elapsed();
    assert!(
        output.status.success(),
        "{lesson} --fast --timeline failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let svg = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!("{lesson} wrote no timeline at {}: {e}", file.display())
    });
    (svg, took)
}

/// Names the first line where two pictures differ.
fn first_difference(committed: &str, drawn: &str) -> String {
    let (old, new): (Vec<&str>, Vec<&str>) =
        (committed.lines().collect(), drawn.lines().collect());
    let line = (0..old.len().max(new.len()))
        .find(|&i| old.get(i) != new.get(i))
        .unwrap_or(0);
    let show = |text: Option<&&str>| {
        text.map_or("(no line: it ends here)".into(), |t| format!("{t:?}"))
    };
    format!(
        "line {}:\n  committed: {}\n  drawn now: {}",
        line + 1,
        show(old.get(line)),
        show(new.get(line))
    )
}

/// One piece of text in a picture, as the box it covers at the least.
#[derive(Debug)]
struct TextBox {
    text: String,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

/// The value of attribute `name` in the start tag `tag`.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')?;
    Some(&tag[start..start + end])
}

/// Every `<text>` in `svg`, boxed with a narrow estimate of its width (half
/// the font size per character: real glyphs average wider), so that two
/// boxes that overlap here overlap on screen too.
fn text_boxes(svg: &str) -> Vec<TextBox> {
    let mut boxes = Vec::new();
    for piece in svg.split("<text ").skip(1) {
        let Some((attributes, rest)) = piece.split_once('>') else { continue };
        let tag = &format!(" {attributes}");
        let Some((content, _)) = rest.split_once("</text>") else { continue };
        let number = |name| attribute(tag, name).and_then(|v| v.parse::<f64>().ok());
        let (Some(x), Some(y)) = (number("x"), number("y")) else {
            panic!("a <text> without x and y: <text {attributes}>");
        };
        let size = number("font-size").unwrap_or(14.0);
        let text =
            content.replace("&#39;", "'").replace("&amp;", "&").replace("&lt;", "<");
        let width = text.chars().count() as f64 * size * 0.5;
        let left = match attribute(tag, "text-anchor") {
            Some("middle") => x - width / 2.0,
            Some("end") => x - width,
            _ => x,
        };
        let (top, bottom) = (y - 0.7 * size, y + 0.2 * size);
        boxes.push(TextBox { text, left, right: left + width, top, bottom });
    }
    boxes
}

/// Pairs of texts that cover each other.
fn overlaps(svg: &str) -> Vec<String> {
    let boxes = text_boxes(svg);
    let mut found = Vec::new();
    for (i, a) in boxes.iter().enumerate() {
        for b in &boxes[i + 1..] {
            let apart = a.right <= b.left || b.right <= a.left;
            if !apart && a.bottom > b.top && b.bottom > a.top {
                found.push(format!("{:?} covers {:?}", a.text, b.text));
            }
        }
    }
    found
}

/// What a reader or a screen reader relies on in every picture.
fn check_picture(lesson: &str, svg: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if !svg.starts_with("<svg ") || !svg.contains("<title id=\"title\">") {
        problems.push(format!(
            "{lesson}: the SVG has no <svg> root with a <title> first"
        ));
    }
    if !svg.contains("<desc id=\"desc\">") {
        problems.push(format!("{lesson}: the SVG has no <desc> for screen readers"));
    }
    if svg.contains("<script")
        || svg.contains("javascript:")
        || svg.contains(" onload=")
    {
        problems
            .push(format!("{lesson}: the SVG carries a script; it must be static"));
    }
    problems
}

#[test]
fn committed_timelines_match_a_fresh_fast_run() {
    let update = update();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (lesson, exe) in lessons() {
        let path = timelines_dir().join(format!("{lesson}.svg"));
        let committed = std::fs::read_to_string(&path).ok();
        let redraw = match &update {
            Update::Nothing => false,
            Update::Committed => committed.is_some(),
            Update::Named(names) => names.contains(&lesson),
        };
        if committed.is_none() && !redraw {
            continue;
        }
        let (drawn, took) = quickest_fast_run(|| draw(&lesson, &exe));
        checked += 1;
        if took >= FAST_RUN_LIMIT {
            failures.push(format!(
                "{lesson} --fast --timeline took {took:?} at best of three, \
                 over {FAST_RUN_LIMIT:?}"
            ));
        }
        failures.extend(check_picture(&lesson, &drawn));
        failures
            .extend(overlaps(&drawn).into_iter().map(|o| format!("{lesson}: {o}")));
        if redraw {
            std::fs::write(&path, &drawn)
                .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
            eprintln!("redrew {}", path.display());
        } else if committed.as_deref() != Some(drawn.as_str()) {
            failures.push(format!(
                "{lesson}: book/src/timelines/{lesson}.svg differs from what the lesson \
                 draws now, at {}\n  If the change is meant, redraw it with\n  \
                 UPDATE_TIMELINES=1 cargo test -p lessons --test timelines\n  \
                 and look at the picture before committing it.",
                first_difference(committed.as_deref().unwrap_or_default(), &drawn)
            ));
        }
    }
    assert!(checked > 0, "no timeline found in {}", timelines_dir().display());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_lesson_has_its_timeline_in_the_book() {
    let missing: Vec<String> = lessons()
        .into_iter()
        .map(|(lesson, _)| lesson)
        .filter(|lesson| !timelines_dir().join(format!("{lesson}.svg")).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "no book/src/timelines/NN_name.svg for: {}\n  Draw one with \
         UPDATE_TIMELINES={} cargo test -p lessons --test timelines",
        missing.join(", "),
        missing.join(",")
    );
}

//! The README agrees with the workspace: it lists every lesson, in order, and
//! the transcript it quotes is the checked one.

use async_clinic::{lesson_names, read, transcript_path};

/// The lesson names in the README's table, between its two markers.
fn readme_lessons(readme: &str) -> Vec<String> {
    let start = readme
        .find("<!-- lessons:start -->")
        .expect("lessons:start marker");
    let end = readme
        .find("<!-- lessons:end -->")
        .expect("lessons:end marker");
    readme[start..end]
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`'))
        .map(|(name, _)| name.to_owned())
        .collect()
}

#[test]
fn the_readme_lists_every_lesson_in_order() {
    assert_eq!(readme_lessons(&read("README.md")), lesson_names());
}

#[test]
fn the_transcript_quoted_in_the_readme_is_the_checked_one() {
    let readme = read("README.md");
    let command = "$ cargo run --bin 01_unbuffered -- --fast\n";
    let start = readme.find(command).expect("the README quotes lesson 01") + command.len();
    let quoted: Vec<&str> = readme[start..]
        .lines()
        .take_while(|line| *line != "...")
        .collect();
    let checked = read(transcript_path("01_unbuffered"));
    let checked: Vec<&str> = checked.lines().take(quoted.len()).collect();
    assert!(
        quoted.len() >= 3,
        "the README quotes too little: {quoted:?}"
    );
    assert_eq!(quoted, checked);
}

#[test]
fn ci_runs_the_readme_test_command() {
    assert!(read("README.md").contains("\ncargo test "));
    let ci = read(".ci/run");
    // `cargo test` itself, maybe piped on, not `cargo test -p one_crate`.
    let calls_it = ci.lines().map(str::trim).any(|line| {
        line == "cargo test"
            || line.starts_with("cargo test 2>&1 |")
            || line.starts_with("cargo test |")
    });
    assert!(calls_it, ".ci/run must call `cargo test`:\n{ci}");
}

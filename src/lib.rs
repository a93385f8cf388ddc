//! Helpers for the cross-crate tests in `tests/`: where things live in the
//! workspace, and which lessons exist. The lessons crate and the README are
//! checked against each other from here, so neither can drift from the other.

use std::path::{Path, PathBuf};

/// The workspace root (this package's directory).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Reads a file relative to the workspace root, with the path in any error.
pub fn read(relative: impl AsRef<Path>) -> String {
    let path = workspace_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every lesson binary's name (`01_unbuffered`, ...), in lesson order, read
/// from `lessons/src/bin/`.
pub fn lesson_names() -> Vec<String> {
    let dir = workspace_root().join("lessons/src/bin");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| file_stem(&path))
        .collect();
    names.sort();
    names
}

/// The path of a lesson's checked transcript, relative to the workspace root.
pub fn transcript_path(lesson: &str) -> PathBuf {
    PathBuf::from(format!("lessons/transcripts/{lesson}.txt"))
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .expect("a file name")
        .to_string_lossy()
        .into_owned()
}

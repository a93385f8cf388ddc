//! What the lessons' test files share: finding the lesson binaries.

use std::path::{Path, PathBuf};

/// Every lesson binary, by name, found next to the one cargo built for the
/// test that includes this module.
pub fn lessons() -> Vec<(String, PathBuf)> {
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

//! Lists the reference solutions, the exercises as shipped and the wrong
//! answers kept as fixtures, for the `exercise-variants` binary: each file
//! becomes a module, its `main` an entry in `VARIANTS`. Adding a fixture is
//! adding a file; nothing here changes.
//!
//! Each file is a whole program whose `main` is private, so a parent module
//! could not call it. The module is therefore a copy in OUT_DIR, identical
//! but for `pub` in front of `fn main(`: same lines, so a panic's line number
//! or a compiler error still points at the right line of the original.

use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The directories whose `.rs` files are variants, and the prefix of their
/// names: `solutions/03_deadline`, `shipped/03_deadline`,
/// `wrong/03_deadline/leaky_select`.
const SOURCES: [(&str, &str); 3] = [
    ("solutions", "solutions"),
    ("fixtures/shipped", "shipped"),
    ("fixtures/wrong", "wrong"),
];

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    let mut modules = String::new();
    let mut table = String::from(
        "/// Every variant: its name and its `main`.\n\
         pub const VARIANTS: &[(&str, Main)] = &[\n",
    );
    for (dir, prefix) in SOURCES {
        let dir = root.join(dir);
        println!("cargo::rerun-if-changed={}", dir.display());
        for file in rust_files(&dir) {
            let relative = file.strip_prefix(&dir).expect("found under dir");
            let stem = relative.with_extension("");
            let name = format!("{prefix}/{}", stem.to_string_lossy().replace('\\', "/"));
            let module: String = format!("v_{name}")
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let copy = out.join(format!("{module}.rs"));
            let source = std::fs::read_to_string(&file).expect("a readable variant");
            let public = source.replace("\nfn main(", "\npub fn main(");
            assert_ne!(source, public, "{} has no `fn main(`", file.display());
            std::fs::write(&copy, public).expect("OUT_DIR is writable");
            let copy = copy.display().to_string();
            writeln!(modules, "#[path = {copy:?}]\nmod {module};").unwrap();
            writeln!(table, "    ({name:?}, {module}::main),").unwrap();
        }
    }
    table.push_str("];\n");
    std::fs::write(out.join("variants.rs"), modules + &table).expect("OUT_DIR is writable");
}

/// Every `.rs` file under `dir`, one level of subdirectories deep, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
    found.sort();
    found
}

//! Comparing transcript lines, for the tests that check a run against its
//! committed transcript: the lessons' own, and the Go twins' (`tests/go_twins.rs`).

/// How a line ends whose figures differ from machine to machine: its digits
/// are not compared.
pub const MACHINE_DEPENDENT: &str = "(varies by machine)";

/// Masks the digits of a machine-dependent line; other lines are kept as they
/// are.
pub fn masked(line: &str) -> String {
    if line.ends_with(MACHINE_DEPENDENT) {
        line.chars().map(|c| if c.is_ascii_digit() { '#' } else { c }).collect()
    } else {
        line.to_owned()
    }
}

/// Splits `[ 2.0s] text` into (2.0, "text").
pub fn split_stamp(line: &str) -> Option<(f64, &str)> {
    let rest = line.strip_prefix('[')?;
    let (seconds, text) = rest.split_once("s] ")?;
    Some((seconds.trim().parse().ok()?, text))
}

/// Whether `got` matches `wanted`: exactly (after masking) on the paused
/// clock; with `tolerance`, the same text with stamps at most that far apart.
pub fn same_line(got: &str, wanted: &str, tolerance: Option<f64>) -> bool {
    let Some(tolerance) = tolerance else {
        return masked(got) == masked(wanted);
    };
    match (split_stamp(got), split_stamp(wanted)) {
        (Some((got_at, got_text)), Some((want_at, want_text))) => {
            masked(got_text) == masked(want_text)
                && (got_at - want_at).abs() <= tolerance
        }
        _ => false,
    }
}

//! What does de-identification cost a report?
//!
//! Each report is checked twice on its way in: its two ids at the door
//! (`contains_pii`, in `designs/intake.rs`) and its text in the pipeline (`mask`).
//! This runs both over the load generator's eight synthetic reports (plain
//! English, Chinese, a phone number, an ID number, an e-mail address), and,
//! back to back in the same run, a baseline: copying the same text once,
//! which is the least the pipeline does with it anyway.
//!
//! Run: cargo run -p playground --release --example deidentify_bench [-- REPORTS ROUNDS]
//! (defaults: 200000 reports, 5 rounds)
//!
//! Seconds are noisy on a shared machine; instruction counts are not. For
//! those, run it under callgrind twice, with N reports and with 2N, and
//! divide the difference by N:
//!
//! ```text
//! cargo build -p playground --release --example deidentify_bench
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/deidentify_bench 20000 1
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/deidentify_bench 40000 1
//! ```
//!
//! Not 0 and N: the regex engine builds its automaton lazily, state by state,
//! the first times it meets a kind of text, and a state can cost hundreds of
//! thousands of instructions. The first N reports pay for those; the next N
//! show what a report costs from then on, as in a server that has been up a
//! while. (With 0 and 20,000, the figure was 4,737 a report; with 20,000
//! and 40,000, 2,491: the lazy states, 46 of them, were 21 million.)

use std::hint::black_box;
use std::time::Instant;

use anyhow::Context;
use playground::loadgen::synthetic_report;
use playground::pipeline::deidentify::{contains_pii, mask};

fn main() -> anyhow::Result<()> {
    let numbers = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse::<usize>()
                .with_context(|| format!("{a:?} is not a number"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let reports = numbers.first().copied().unwrap_or(200_000);
    let rounds = numbers.get(1).copied().unwrap_or(5);

    let uploads: Vec<[String; 3]> = (0..8)
        .map(|i| {
            let body: serde_json::Value = serde_json::from_str(&synthetic_report(i))?;
            let field = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
            Ok([field("patientId"), field("trialId"), field("reportData")])
        })
        .collect::<anyhow::Result<_>>()?;

    let mut ratios = Vec::new();
    for round in 0..rounds {
        let started = Instant::now();
        for i in 0..reports {
            let [patient, trial, text] = &uploads[i % uploads.len()];
            black_box(contains_pii(black_box(patient)));
            black_box(contains_pii(black_box(trial)));
            black_box(mask(black_box(text)));
        }
        let deidentify = started.elapsed();

        let started = Instant::now();
        for i in 0..reports {
            let [_, _, text] = &uploads[i % uploads.len()];
            black_box(black_box(text).to_owned());
        }
        let copy = started.elapsed();

        let per_report = |d: std::time::Duration| d.as_nanos() as f64 / reports.max(1) as f64;
        let ratio = per_report(deidentify) / per_report(copy).max(0.001);
        ratios.push(ratio);
        println!(
            "round {round}: de-identify {:.0} ns/report, copy {:.0} ns/report, ratio {ratio:.1}",
            per_report(deidentify),
            per_report(copy)
        );
    }
    ratios.sort_by(f64::total_cmp);
    if let Some(median) = ratios.get(ratios.len() / 2) {
        println!("median ratio, de-identify / copy: {median:.1}");
    }
    Ok(())
}

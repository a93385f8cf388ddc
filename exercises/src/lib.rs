//! The exercises' kit and their checker.
//!
//! - [`harness`]: runs an exercise's scenarios in its own process on the
//!   paused clock, and prints the verdict.
//! - `ex01`, `ex02`, …: one module per exercise: the story's pieces the
//!   exercise works with (instrumented, so the check can see what happened)
//!   and the `check` its `main` calls.
//! - [`checker`]: `cargo run -p exercises`: builds each exercise, runs it in a
//!   child process under a wall-clock limit, reads the verdict; hints; watch.
//!
//! # Adding an exercise (say for a lesson 14)
//!
//! Files only; no manifest or build script changes, and `tests/exercises.rs`
//! and `tests/book.rs` refuse the exercise until every piece is there:
//!
//! 1. `src/ex14.rs`, with `pub mod ex14;` below: the story's pieces, which
//!    record what happens on the paused clock, and a `check` that drives the
//!    exercise's functions through [`harness::main`] and [`harness::scenario`]
//!    and judges them with [`harness::Rules`];
//! 2. its line in [`checker::EXERCISES`];
//! 3. `src/bin/14_name.rs`: the exercise (40 to 120 lines, the `//!` header,
//!    a `// TODO`, a `main` that calls `exercises::ex14::check`), and the same
//!    file in `fixtures/shipped/`, with `fixtures/shipped/14_name.expect`: the
//!    lines the checker must say about it as shipped;
//! 4. `solutions/14_name.rs`, and at least two wrong answers in
//!    `fixtures/wrong/14_name/`, each with `//! expect:` lines;
//! 5. `hints/14_name.md`, its last hint pointing at the lesson's lines as
//!    `` `lessons/src/bin/14_x.rs:anchor` ``;
//! 6. the chapter's "Your turn" section, and a row in the README's table.

pub mod checker;
mod clinic;
pub mod harness;

pub mod ex01;
pub mod ex02;
pub mod ex03;
pub mod ex04;
pub mod ex05;
pub mod ex06;
pub mod ex07;
pub mod ex08;
pub mod ex09;
pub mod ex10;
pub mod ex11;
pub mod ex12;
pub mod ex13;

//! The exercises' kit and their checker.
//!
//! - [`harness`]: runs an exercise's scenarios in its own process on the
//!   paused clock, and prints the verdict.
//! - `ex01` … `ex08`: one module per exercise: the story's pieces the
//!   exercise works with (instrumented, so the check can see what happened)
//!   and the `check` its `main` calls.
//! - [`checker`]: `cargo run -p exercises`: builds each exercise, runs it in a
//!   child process under a wall-clock limit, reads the verdict; hints; watch.

pub mod checker;
pub mod harness;

pub mod ex01;
pub mod ex02;
pub mod ex03;
pub mod ex04;
pub mod ex05;
pub mod ex06;
pub mod ex07;
pub mod ex08;

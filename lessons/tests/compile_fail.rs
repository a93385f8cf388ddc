//! What must not compile, and the compiler's words for it.
//!
//! Each file in `tests/compile_fail/` is a program rustc must refuse. trybuild
//! compiles it against this crate's dependencies and compares the error with
//! the `.stderr` file beside it, which the book includes: if a new Rust says it
//! differently, this test fails and the book's copy is renewed with
//! `TRYBUILD=overwrite cargo test -p lessons --test compile_fail`.

#[test]
fn a_std_mutex_guard_held_across_await_in_a_spawned_task_does_not_compile() {
    trybuild::TestCases::new().compile_fail("tests/compile_fail/*.rs");
}

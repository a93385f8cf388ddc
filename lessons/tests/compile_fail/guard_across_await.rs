//! Does not compile, on purpose: lesson 10's registry with a std `MutexGuard`
//! held across the database write's `.await`, inside a spawned task.
//! tests/compile_fail.rs checks that rustc still refuses it, with the message
//! in guard_across_await.stderr, which the book shows.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

// ANCHOR: guard_across_await
async fn enrol(registry: Arc<Mutex<HashMap<u32, usize>>>, patient: u32) {
    let mut patients = registry.lock().unwrap();
    let number = patients.len() + 1;
    database_write().await;
    patients.insert(patient, number);
}

fn main() {
    let registry = Arc::default();
    tokio::spawn(enrol(registry, 1));
}
// ANCHOR_END: guard_across_await

async fn database_write() {
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
}

//! Lesson 10: who owns the patient registry.
//!
//! "Share memory by communicating", the first Go article's closing proverb. Go
//! lets you share anyway and finds races at run time, if at all; Rust refuses
//! data races at compile time. A spawned task must be `Send + 'static`: shared
//! state is an `Arc<Mutex<..>>`, its guard dropped before any `.await`. Letting
//! go for the `.await` compiles, and races. Or: an actor owns the map.
//!
//! Previous: 09_blocking. Next: 11_select, the report a `select!` loop drops.
//!
//! Run: cargo run --bin 10_shared_state      (add `-- --fast`: same lines)
//! Go:  mu.Lock(); registry[id] = n; mu.Unlock()  vs  a goroutine owning the map

use std::sync::{Arc, Mutex, atomic::AtomicUsize, atomic::Ordering::Relaxed};
use std::{collections::HashMap, collections::HashSet, process::ExitCode};

use futures::future::try_join_all;
use lessons::{lanes, mark, ms, on_worker_threads, say, waiting};
use tokio::{sync::mpsc, sync::oneshot, time::sleep};

/// Patient number → enrolment number.
type Registry = Arc<Mutex<HashMap<u32, usize>>>;

fn main() -> ExitCode {
    lessons::run(lesson)
}

async fn lesson() {
    lanes(&["register"]); // and a lane per patient, none for the summing-up lines
    say!("-- 1000 patients enrol at once, a task each, on 2 worker threads");
    let (registered, numbers, counted) = on_worker_threads(2, shared_map).await;
    say!("Arc<Mutex<HashMap>>: {registered} patients, {numbers} distinct numbers");
    say!("AtomicUsize: {counted} enrolments counted, no lock taken");
    let numbers = on_worker_threads(2, actor_map).await;
    say!("registry actor: {numbers} distinct numbers, answered over oneshot");
    say!("-- 10 patients enrol; each enrolment also awaits a 0.1 s database write");
    let numbers = ten_patients(enrol_lock_released).await;
    say!("lock let go for the write, taken again: {numbers} of 10 numbers distinct");
    let numbers = ten_patients(enrol).await;
    say!("read and recorded under one lock: {numbers} of 10 numbers distinct");
}

// ANCHOR: shared_map
async fn shared_map() -> (usize, usize, usize) {
    let registry = Registry::default();
    let enrolled = Arc::new(AtomicUsize::new(0));
    let tasks = (1..=1000).map(|patient| {
        // Each task gets its own handles: `'static` means it borrows nothing.
        let (registry, enrolled) = (Arc::clone(&registry), Arc::clone(&enrolled));
        tokio::spawn(async move {
            let mut patients = registry.lock().unwrap();
            let number = patients.len() + 1;
            patients.insert(patient, number);
            drop(patients); // the guard goes before any `.await`
            enrolled.fetch_add(1, Relaxed);
        })
    });
    try_join_all(tasks).await.expect("no panic");
    let patients = registry.lock().unwrap();
    (patients.len(), distinct(patients.values()), enrolled.load(Relaxed))
}
// ANCHOR_END: shared_map

// ANCHOR: lock_released
/// Tempting once the compiler refuses the guard across `.await`: let go for
/// the write, take the lock again to record. Every task reads the count
/// before any has recorded: they all get the same number.
async fn enrol_lock_released(registry: Registry, patient: u32) {
    let number = registry.lock().unwrap().len() + 1;
    let _write = waiting(&format!("patient {patient}"), format!("number {number}"));
    sleep(ms(100)).await; // the database write
    registry.lock().unwrap().insert(patient, number);
}

/// The fix: read and record in one critical section, then await.
async fn enrol(registry: Registry, patient: u32) {
    let number = {
        // A block, not `drop(patients)`: the Send check goes by scope.
        let mut patients = registry.lock().unwrap();
        let number = patients.len() + 1;
        patients.insert(patient, number);
        number
    };
    let _write = waiting(&format!("patient {patient}"), format!("number {number}"));
    sleep(ms(100)).await; // the database write
}
// ANCHOR_END: lock_released

async fn ten_patients<F: Future<Output = ()> + Send + 'static>(
    enrol: fn(Registry, u32) -> F,
) -> usize {
    let registry = Registry::default();
    let tasks = (1..=10).map(|p| tokio::spawn(enrol(registry.clone(), p)));
    try_join_all(tasks).await.expect("no panic");
    distinct(registry.lock().unwrap().values())
}

fn distinct<'a>(numbers: impl Iterator<Item = &'a usize>) -> usize {
    let count = numbers.collect::<HashSet<_>>().len();
    mark("register", format!("distinct numbers: {count}"));
    count
}

// ANCHOR: actor
/// A question for the registry's owner, with the channel for its answer.
struct Enrol {
    patient: u32,
    reply: oneshot::Sender<usize>,
}

/// Owns the map: no lock, because no other task can reach it.
async fn registry_actor(mut inbox: mpsc::Receiver<Enrol>) {
    let mut patients = HashMap::new();
    while let Some(Enrol { patient, reply }) = inbox.recv().await {
        let number = patients.len() + 1;
        patients.insert(patient, number);
        // An Err only means the asker has stopped waiting.
        let _ = reply.send(number);
    }
}

async fn actor_map() -> usize {
    let (registry, inbox) = mpsc::channel(64);
    tokio::spawn(registry_actor(inbox));
    let asking = (1..=1000).map(|patient| {
        let registry = registry.clone();
        tokio::spawn(async move {
            let (reply, number) = oneshot::channel();
            registry.send(Enrol { patient, reply }).await.expect("the actor runs");
            number.await.expect("the actor answers")
        })
    });
    let numbers = try_join_all(asking).await.expect("no panic");
    distinct(numbers.iter())
}
// ANCHOR_END: actor

#[cfg(test)]
mod tests {
    use super::*;
    use lessons::{Clock, block_on};
    #[test]
    fn the_worker_thread_figures_are_the_same_in_every_run() {
        for _ in 0..20 {
            let shared = block_on(Clock::Real, on_worker_threads(2, shared_map));
            let actor = block_on(Clock::Real, on_worker_threads(2, actor_map));
            assert_eq!((shared, actor), ((1000, 1000, 1000), 1000));
        }
    }
}

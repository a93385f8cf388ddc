//! Exercise 12, a reference solution: a semaphore for the connections, and
//! one sender that paces the texts.
//!
//! Each task still looks up its patient's phone, but first takes one of
//! three permits, held only while the look-up runs (`_connection` lives to
//! the end of its block). Instead of texting, it hands the phone to one
//! sender task over a channel; the sender waits for the next tick of an
//! `interval` of 0.2 s before each text, so five go out a second, however
//! fast the look-ups end. `MissedTickBehavior::Delay`: should the sender
//! fall behind, the next text still waits a whole 0.2 s, no burst to catch
//! up. When the last task has sent its phone, the channel closes and the
//! sender's loop ends. Go's twins: a buffered channel of three as the
//! semaphore, and `time.Tick` in the sender's loop.

use std::sync::Arc;

use exercises::ex12::{CONNECTIONS, TEXTS_PER_SECOND};
use exercises::ex12::{Database, Gateway, Patient, check};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::{Duration, MissedTickBehavior, interval};

async fn remind(db: &Database, gateway: &Gateway, patients: Vec<Patient>) {
    let connections = Arc::new(Semaphore::new(CONNECTIONS));
    let (to_send, mut outbox) = mpsc::channel(patients.len());
    let mut lookups = JoinSet::new();
    for patient in patients {
        let (db, connections) = (db.clone(), Arc::clone(&connections));
        let to_send = to_send.clone();
        lookups.spawn(async move {
            let phone = {
                let _connection = connections.acquire().await.expect("never closed");
                db.phone_of(patient).await
            };
            if let Ok(phone) = phone {
                to_send
                    .send((patient, phone))
                    .await
                    .expect("the sender runs");
            }
        });
    }
    drop(to_send);
    let mut pace = interval(Duration::from_secs(1) / TEXTS_PER_SECOND as u32);
    pace.set_missed_tick_behavior(MissedTickBehavior::Delay);
    while let Some((patient, phone)) = outbox.recv().await {
        pace.tick().await;
        let _ = gateway.send(patient, &phone).await;
    }
    lookups.join_all().await;
}

fn main() -> std::process::ExitCode {
    check(remind)
}

//! Exercise 12: reminders: three connections, five texts a second.
//!
//! What is wrong: at 8:00 the clinic texts twenty patients a reminder to
//! fill in today's diary. Each reminder gets a task of its own (tasks are
//! cheap, lesson 08), and each task looks up the patient's phone in the
//! database and texts her. All twenty look up at once, and the database
//! takes three connections: seventeen are refused at 0.0 s, and seventeen
//! patients are not reminded. Let the look-ups wait their turn, and the
//! texts go out as fast as the look-ups end, about ten a second, where the
//! SMS gateway takes five: it answers "429 Too Many Requests", and each
//! text it refuses is a patient not reminded.
//!
//! Done when: every patient gets her reminder once; the database never has
//! more than three connections open; the gateway never refuses a text; and
//! the last text goes out by 4.5 s, as fast as five a second allows. Two
//! limits, two tools: how many at once is not how many a second
//! (lesson 12).
//!
//! Practises: lesson 12, `cargo run --bin 12_limits`.
//! Check it:  cargo run -p exercises -- 12
//! Hint:      cargo run -p exercises -- hint 12

use exercises::ex12::{Database, Gateway, Patient, check};
use tokio::task::JoinSet;

/// Looks up each patient's phone and texts her a reminder.
async fn remind(db: &Database, gateway: &Gateway, patients: Vec<Patient>) {
    let mut reminders = JoinSet::new();
    for patient in patients {
        let (db, gateway) = (db.clone(), gateway.clone());
        // TODO: twenty look-ups at once against three connections, and
        // each text sent the moment its look-up ends, whatever the rate.
        reminders.spawn(async move {
            // An error is a patient left without her reminder: the check
            // counts them, so nothing here reports it.
            if let Ok(phone) = db.phone_of(patient).await {
                let _ = gateway.send(patient, &phone).await;
            }
        });
    }
    reminders.join_all().await;
}

fn main() -> std::process::ExitCode {
    // The check asks for twenty reminders at once.
    check(remind)
}

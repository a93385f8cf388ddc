//! Exercise 12's world: a database that takes three connections and
//! refuses a fourth, an SMS gateway that takes five texts a second and
//! refuses the sixth, and the check: twenty patients to remind at once.

use std::fmt;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use lessons::{ms, say};
use tokio::time::{Duration, sleep};

use crate::harness::{self, Rules, now, secs, within};

/// The database takes this many connections at once.
pub const CONNECTIONS: usize = 3;
/// The SMS gateway takes this many texts a second.
pub const TEXTS_PER_SECOND: u64 = 5;
const PATIENTS: u32 = 20;

/// A patient to remind, `P-007`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Patient(u32);

impl fmt::Display for Patient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P-{:03}", self.0)
    }
}

/// A patient's phone number, as the database holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

/// What the database answers a fourth connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyClients;

impl fmt::Display for TooManyClients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sorry, too many clients already")
    }
}

/// What the gateway answers a text over its rate: HTTP 429. The text is
/// not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyRequests;

impl fmt::Display for TooManyRequests {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("429 Too Many Requests")
    }
}

/// How long looking up patient `n`'s phone takes: 0.2, 0.3 or 0.4 s.
fn lookup_takes(n: u32) -> Duration {
    ms(200 + 100 * u64::from(n % 3))
}

/// Everything that happened, for the verdict.
#[derive(Debug, Default)]
struct Log {
    open: usize,
    most_open: usize,
    refused: Vec<(Patient, Duration)>,
    /// Milli-texts in the gateway's bucket, and when it was last filled.
    bucket: (u64, Duration),
    sent: Vec<(Patient, Duration)>,
    turned_away: Vec<(Patient, Duration)>,
}

/// The clinic's database. A clone is cheap and reaches the same database.
#[derive(Clone)]
pub struct Database {
    log: Arc<Mutex<Log>>,
}

impl Database {
    /// Looks up `patient`'s phone number on a connection of its own: 0.2 to
    /// 0.4 s. With three connections already open, it is refused at once.
    pub async fn phone_of(&self, patient: Patient) -> Result<Phone, TooManyClients> {
        {
            let mut log = self.log.lock().unwrap();
            if log.open >= CONNECTIONS {
                log.refused.push((patient, now()));
                // The first few tell the story; the summary counts them all.
                if log.refused.len() <= 3 {
                    say!("database: {patient}'s look-up refused, {TooManyClients}");
                }
                return Err(TooManyClients);
            }
            log.open += 1;
            log.most_open = log.most_open.max(log.open);
        }
        // Closes the connection when the look-up ends, finished or dropped.
        struct Connection<'a>(&'a Database);
        impl Drop for Connection<'_> {
            fn drop(&mut self) {
                self.0.log.lock().unwrap().open -= 1;
            }
        }
        let _connection = Connection(self);
        sleep(lookup_takes(patient.0)).await;
        Ok(Phone(format!("+86 138 0013 {:04}", 8000 + patient.0)))
    }
}

/// The SMS gateway. A clone is cheap and reaches the same gateway.
#[derive(Clone)]
pub struct Gateway {
    log: Arc<Mutex<Log>>,
}

impl Gateway {
    /// Texts `patient` a reminder at `phone`. The gateway's rule is a
    /// token bucket: it holds five texts and refills five a second, so five
    /// may go at once, then one every 0.2 s. A text over that is refused.
    pub async fn send(&self, patient: Patient, phone: &Phone) -> Result<(), TooManyRequests> {
        // Sending is a request over the network.
        sleep(ms(20)).await;
        let at = now();
        let mut log = self.log.lock().unwrap();
        let (milli, filled) = log.bucket;
        let refill = (at - filled).as_millis() as u64 * TEXTS_PER_SECOND;
        let milli = (milli + refill).min(TEXTS_PER_SECOND * 1_000);
        if milli < 1_000 {
            log.bucket = (milli, at);
            log.turned_away.push((patient, at));
            say!("gateway: {patient}'s reminder refused, {TooManyRequests}");
            return Err(TooManyRequests);
        }
        log.bucket = (milli - 1_000, at);
        log.sent.push((patient, at));
        say!("gateway: reminder sent to {patient} at {}", phone.0);
        Ok(())
    }
}

/// Twenty patients to remind, all at once.
pub fn check(remind: impl AsyncFn(&Database, &Gateway, Vec<Patient>)) -> ExitCode {
    harness::main(|| {
        harness::scenario(
            "20 reminders at once: 3 database connections, 5 texts a second",
            async {
                let log = Arc::new(Mutex::new(Log {
                    bucket: (TEXTS_PER_SECOND * 1_000, Duration::ZERO),
                    ..Log::default()
                }));
                let db = Database {
                    log: Arc::clone(&log),
                };
                let gateway = Gateway {
                    log: Arc::clone(&log),
                };
                let patients: Vec<Patient> = (1..=PATIENTS).map(Patient).collect();
                say!(
                    "clinic: reminding P-001 to P-{PATIENTS:03}: a phone look-up each ({} \
                     connections), then a text ({TEXTS_PER_SECOND} a second)",
                    CONNECTIONS
                );
                within("remind()", remind(&db, &gateway, patients)).await?;
                let returned = now();
                say!("clinic: remind() returned");
                // Whatever remind() left running gets the time to end.
                sleep(ms(1_000)).await;
                let log = log.lock().unwrap();
                say!(
                    "clinic: {} reminders sent, {} look-ups and {} texts refused; at most {} \
                     connections open at once, at most {} texts in any one second",
                    log.sent.len(),
                    log.refused.len(),
                    log.turned_away.len(),
                    log.most_open,
                    busiest_second(&log.sent).0
                );
                judge(&log, returned)
            },
        )
    })
}

/// `1st`, `2nd`, `3rd`, `10th`.
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// The most texts sent in any one second, `[t, t + 1 s)`, and when that
/// second began.
fn busiest_second(sent: &[(Patient, Duration)]) -> (usize, Duration) {
    sent.iter()
        .map(|&(_, from)| {
            let within = sent
                .iter()
                .filter(|&&(_, at)| at >= from && at < from + ms(1_000))
                .count();
            (within, from)
        })
        .max_by_key(|&(count, from)| (count, std::cmp::Reverse(from)))
        .unwrap_or_default()
}

fn judge(log: &Log, returned: Duration) -> harness::Outcome {
    let mut rules = Rules::new();
    if let Some(&(first, at)) = log.refused.first() {
        rules.broken(format!(
            "{} of {PATIENTS} look-ups were refused with \"{TooManyClients}\", the first \
             ({first}'s) at {}: the database takes {CONNECTIONS} connections at once",
            log.refused.len(),
            secs(at)
        ));
    }
    if let Some(&(first, at)) = log.turned_away.first() {
        let tried: Vec<Duration> = log
            .sent
            .iter()
            .chain(&log.turned_away)
            .map(|&(_, at)| at)
            .collect();
        let since = tried.iter().min().copied().unwrap_or_default();
        let before = tried.iter().filter(|&&t| t <= at).count();
        rules.broken(format!(
            "the gateway refused {} of {} reminders with {TooManyRequests}, the first \
             ({first}'s) at {}, the {} text tried since {}: it takes five at once, \
             then one every 0.2 s ({TEXTS_PER_SECOND} a second)",
            log.turned_away.len(),
            tried.len(),
            secs(at),
            ordinal(before),
            secs(since)
        ));
    }
    let mut reminded: Vec<Patient> = log.sent.iter().map(|&(p, _)| p).collect();
    reminded.sort();
    let twice: Vec<String> = reminded
        .windows(2)
        .filter(|pair| pair[0] == pair[1])
        .map(|pair| pair[0].to_string())
        .collect();
    rules.expect(twice.is_empty(), || {
        format!("{} got the same reminder twice", twice.join(", "))
    });
    reminded.dedup();
    let missed: Vec<String> = (1..=PATIENTS)
        .map(Patient)
        .filter(|p| reminded.binary_search(p).is_err())
        .map(|p| p.to_string())
        .collect();
    rules.expect(missed.is_empty(), || {
        let who = match &missed[..] {
            [first, second, .., last] if missed.len() > 5 => {
                format!("{first}, {second}, ..., {last}")
            }
            _ => missed.join(", "),
        };
        format!(
            "{} of {PATIENTS} patients got no reminder ({who})",
            missed.len()
        )
    });
    // Five at once and then one every 0.2 s: the 20th text could go at
    // 3.0 s; paced evenly from the first look-up, at about 4.0 s.
    let due = ms(4_500);
    let last = log.sent.iter().map(|&(_, at)| at).max().unwrap_or(returned);
    rules.expect(last <= due, || {
        format!(
            "the last reminder went out at {}, with at most {} connection{} open at once and \
             at most {} texts in any second: {CONNECTIONS} connections look up the {PATIENTS} \
             phones in about 2 s, and at {TEXTS_PER_SECOND} a second the texts can all be \
             out by {}",
            secs(last),
            log.most_open,
            if log.most_open == 1 { "" } else { "s" },
            busiest_second(&log.sent).0,
            secs(due)
        )
    });
    rules.verdict()
}

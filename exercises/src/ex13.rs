//! Exercise 13's world: an archive whose risk model panics on one report
//! (a bug in a library the clinic does not own), and the check: eight
//! reports through the learner's worker, one of them the one that panics.
//!
//! The panic is staged (`harness::staged_panic`): it unwinds and ends
//! the task it happens in, like any panic, but it is the story, not the
//! verdict. What the learner's code does about it is judged.

use std::fmt;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use lessons::{alive_tasks, ms, say};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Duration, Instant, sleep, sleep_until};

use crate::clinic::Report as Id;
use crate::harness::{self, Rules, now, secs, within};

/// Storing a report: 0.1 s to fetch the patient's history, the risk score,
/// then 0.1 s to write.
pub const STORE: Duration = ms(200);
/// The report the risk model panics on: its diary has no entries.
const BAD: u32 = 3;
/// are in the queue at 0.0 s; come at 2.0 s.
const LATER: Duration = ms(2_000);
/// The desk closes its end of the queue.
const CLOSES: Duration = ms(3_000);
const REPORTS: u32 = 8;

/// A patient's report. A clone is a copy of the same report.
#[derive(Debug, Clone)]
pub struct Report {
    id: Id,
    diary_entries: u32,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id)
    }
}

/// The trial's archive. A clone is cheap and reaches the same archive.
#[derive(Clone)]
pub struct Archive {
    world: Arc<Mutex<World>>,
}

impl Archive {
    /// Scores `report`'s risk and stores it: 0.2 s. The risk model, a
    /// library the clinic does not own, panics on some reports: the task
    /// that calls this one ends with the panic.
    pub async fn store(&self, report: Report) {
        sleep(STORE / 2).await;
        if report.diary_entries == 0 {
            self.world.lock().unwrap().panicked.push((report.id, now()));
            say!("archive: the risk model panicked on {report}");
            harness::staged_panic(format!(
                "risk model: index out of bounds: the len is 0 but the index is 0 ({} has no \
                 diary entries)",
                report.id
            ));
        }
        sleep(STORE / 2).await;
        say!("archive: stored {report}");
        self.world.lock().unwrap().stored.push((report.id, now()));
    }

    /// Puts `report` aside, unstored, for a nurse to read: at once.
    pub async fn quarantine(&self, report: Report) {
        say!("archive: {report} quarantined for a nurse to read");
        self.world
            .lock()
            .unwrap()
            .quarantined
            .push((report.id, now()));
    }
}

#[derive(Debug, Default)]
struct World {
    stored: Vec<(Id, Duration)>,
    quarantined: Vec<(Id, Duration)>,
    panicked: Vec<(Id, Duration)>,
    /// Reports the desk could not queue: the queue was closed.
    refused: Vec<(Id, Duration)>,
}

/// How `start`'s task ended, and when.
type Ended = (Duration, Result<(), tokio::task::JoinError>);

/// Eight reports, R-003 the one the risk model panics on; the desk closes
/// at 3.0 s. `start` gets the queue's receiving end and the archive, and
/// returns the intake's task, which should end once the queue is closed
/// and empty.
pub fn check(start: impl Fn(mpsc::Receiver<Report>, Archive) -> JoinHandle<()>) -> ExitCode {
    harness::main(|| {
        harness::scenario(
            "R-001 to R-006 queued at 0.0 s, R-007 and R-008 at 2.0 s; the risk model panics \
             on R-003; the desk closes at 3.0 s",
            async {
                let world = Arc::new(Mutex::new(World::default()));
                let archive = Archive {
                    world: Arc::clone(&world),
                };
                let before = alive_tasks();
                let opened = Instant::now();
                let (desk, queue) = mpsc::channel(REPORTS as usize);
                let intake = start(queue, archive);
                // Note when the intake's task ends, whenever that is.
                let ended = tokio::spawn(async move {
                    let how = intake.await;
                    (now(), how)
                });
                let report = |n| Report {
                    id: Id::new(n),
                    diary_entries: if n == BAD { 0 } else { 7 },
                };
                say!("desk: R-001 to R-006 in the queue");
                for n in 1..=REPORTS {
                    if n == 7 {
                        sleep_until(opened + LATER).await;
                    }
                    if desk.send(report(n)).await.is_err() {
                        say!("desk: R-{n:03} refused, the queue is closed");
                        world.lock().unwrap().refused.push((Id::new(n), now()));
                    } else if n >= 7 {
                        say!("desk: R-{n:03} in the queue");
                    }
                }
                sleep_until(opened + CLOSES).await;
                say!("desk: closed");
                drop(desk);
                let ended: Ended = within("the intake's task, after the desk closed", ended)
                    .await?
                    .expect("the check's own task does not panic");
                match &ended.1 {
                    Ok(()) => say!("check: start()'s task returned"),
                    Err(e) => say!("check: start()'s task ended: {e}"),
                }
                sleep(ms(10)).await;
                let after = alive_tasks();
                let world = world.lock().unwrap();
                judge(&world, ended, before, after)
            },
        )
    })
}

/// When each report can be stored, or put aside, by one worker taking them
/// in order: the earliest a one-at-a-time intake manages.
fn schedule() -> Vec<(Id, Duration)> {
    let mut free_at = Duration::ZERO;
    (1..=REPORTS)
        .map(|n| {
            let arrives = if n >= 7 { LATER } else { Duration::ZERO };
            free_at = free_at.max(arrives) + if n == BAD { STORE / 2 } else { STORE };
            (Id::new(n), free_at)
        })
        .collect()
}

fn judge(world: &World, ended: Ended, before: usize, after: usize) -> harness::Outcome {
    let mut rules = Rules::new();
    let bad = Id::new(BAD);
    let times = |list: &[(Id, Duration)], id: Id| -> Vec<Duration> {
        list.iter()
            .filter(|(i, _)| *i == id)
            .map(|&(_, at)| at)
            .collect()
    };
    let (ended_at, how) = ended;

    let lost: Vec<Id> = (1..=REPORTS)
        .map(Id::new)
        .filter(|&id| times(&world.stored, id).is_empty())
        .filter(|&id| times(&world.quarantined, id).is_empty())
        .collect();
    if !lost.is_empty() {
        let mut why = Vec::new();
        let went_down = match (&how, world.panicked.first()) {
            (Err(e), Some(&(_, at))) => e.is_panic() && ended_at == at,
            _ => false,
        };
        if let Some(&(id, at)) = world.panicked.first() {
            let worker = match went_down {
                true => ", ending start()'s task, the queue's only receiver",
                false => "",
            };
            why.push(format!(
                "the risk model panicked on {id} at {}{worker}",
                secs(at)
            ));
        }
        let refused: Vec<Id> = world.refused.iter().map(|&(id, _)| id).collect();
        let dropped: Vec<Id> = lost
            .iter()
            .copied()
            .filter(|id| *id != bad && !refused.contains(id))
            .collect();
        if !dropped.is_empty() {
            why.push(match went_down {
                true => format!("{}, waiting in it, were dropped with it", named(&dropped)),
                false => format!("{} never stored", named(&dropped)),
            });
        }
        if let Some(&(_, at)) = world.refused.first() {
            why.push(format!(
                "{} found the queue closed at {}",
                named(&refused),
                secs(at)
            ));
        }
        rules.broken(format!(
            "{REPORTS} reports sent, {} stored, {} quarantined, {} lost: {}",
            world.stored.len(),
            world.quarantined.len(),
            lost.len(),
            why.join("; ")
        ));
    }
    rules.expect(!times(&world.quarantined, bad).is_empty(), || {
        format!(
            "{bad}, on which the risk model panics, was not quarantined: a report that cannot \
             be stored is put aside with archive.quarantine() for a nurse to read, not dropped"
        )
    });
    for (id, due) in schedule() {
        let stored = times(&world.stored, id);
        let quarantined = times(&world.quarantined, id);
        if id != bad && !quarantined.is_empty() {
            rules.broken(format!(
                "{id} was quarantined at {}, though the risk model had no trouble with it",
                secs(quarantined[0])
            ));
        }
        let done = stored.iter().chain(&quarantined).min().copied();
        if let Some(at) = done {
            rules.expect(at <= due + ms(500), || {
                format!(
                    "{id} was done with only at {}: taken in order by one worker, it is done \
                     by {}. Start again at once; the queue is waiting",
                    secs(at),
                    secs(due)
                )
            });
        }
        rules.expect(stored.len() <= 1, || {
            format!("{id} was stored {} times", stored.len())
        });
    }
    match how {
        Err(e) if e.is_panic() => rules.broken(format!(
            "start()'s task ended with a panic at {} (its JoinHandle gave a JoinError, \
             is_panic() = true): from then on, nothing took reports off the queue",
            secs(ended_at)
        )),
        Err(e) => rules.broken(format!("start()'s task ended at {}: {e}", secs(ended_at))),
        Ok(()) => rules.expect(ended_at >= CLOSES, || {
            format!(
                "start()'s task returned at {}, while the desk was open until {}",
                secs(ended_at),
                secs(CLOSES)
            )
        }),
    }
    rules.expect(after == before, || {
        format!(
            "alive tasks {after} after start()'s task ended, {before} before it started: a \
             task it started is still running"
        )
    });
    rules.verdict()
}

/// `R-004`, `R-004 and R-005`, `R-004, R-005 and R-006`.
fn named(ids: &[Id]) -> String {
    match ids {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(Id::to_string).collect();
            format!("{} and {last}", rest.join(", "))
        }
    }
}

//! Exercise 11's world: a queue of reports that says when each one was
//! taken off it, a check that takes 0.3 s and keeps nothing if it is cut
//! off, the trial monitor's heartbeat, and the check: eight reports that
//! come one at a time, and the desk closing at 6.5 s.

use std::fmt;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use lessons::{ms, say};
use tokio::sync::mpsc;
use tokio::time::{Duration, Instant, sleep, sleep_until};

use crate::clinic::Report as Id;
use crate::harness::{self, Rules, now, secs, within};

/// Checking a report against the trial's rules, then storing it.
pub const CHECK: Duration = ms(300);
/// The monitor expects a heartbeat this often, from 1.0 s on...
pub const HEARTBEAT: Duration = ms(1_000);
/// ... and raises an alarm when one is later than this.
const HEARTBEAT_SLACK: Duration = ms(500);
/// When, ... arrive. Never two things at once: no check ends
/// as a report arrives or a heartbeat falls due, so no answer's verdict
/// depends on which of two ready branches `select!` picks.
const ARRIVALS: [Duration; 8] = [
    ms(0),
    ms(400),
    ms(800),
    ms(1_400),
    ms(2_600),
    ms(3_800),
    ms(4_500),
    ms(5_900),
];
/// When the desk closes its end of the queue.
const CLOSES: Duration = ms(6_500);

/// A patient's report, on its way through the intake. Not `Clone`: there
/// is one of each. Dropped before it is stored, it is lost, and it says so.
pub struct Report {
    id: Id,
    taken: Option<Duration>,
    stored: bool,
    world: Arc<World>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id)
    }
}

impl Drop for Report {
    fn drop(&mut self) {
        if self.stored {
            return;
        }
        let at = now();
        match self.taken {
            Some(taken) => say!(
                "{}: dropped, taken off the queue at {}: lost",
                self.id,
                secs(taken)
            ),
            None => say!(
                "{}: dropped with the queue, never taken off it: lost",
                self.id
            ),
        }
        self.world.lost.lock().unwrap().push(Lost {
            id: self.id,
            taken: self.taken,
            dropped: at,
        });
    }
}

/// The intake's end of the queue.
pub struct Inbox {
    queue: mpsc::Receiver<Report>,
}

impl Inbox {
    /// The next report, once there is one; `None` once the desk has closed
    /// and the queue is empty. Cancel safe, like the `mpsc::Receiver::recv`
    /// it wraps: dropped before it returns, it has taken nothing.
    pub async fn recv(&mut self) -> Option<Report> {
        let mut report = self.queue.recv().await?;
        report.taken = Some(now());
        Some(report)
    }
}

/// The clinic's checking and storing.
pub struct Clinic {
    world: Arc<World>,
}

impl Clinic {
    /// Checks `report` against the trial's rules and stores it: 0.3 s.
    /// Dropped half-way, it stores nothing, and the report is lost with it.
    pub async fn check_and_store(&self, mut report: Report) {
        sleep(CHECK).await;
        report.stored = true;
        say!("clinic: {} checked and stored", report.id);
        self.world.stored.lock().unwrap().push((report.id, now()));
    }
}

/// The trial monitor, who wants to hear from the intake every second.
pub struct Monitor {
    world: Arc<World>,
}

impl Monitor {
    /// Sends a heartbeat: "the intake is alive".
    pub fn beat(&self) {
        say!("heartbeat to the trial monitor");
        self.world.beats.lock().unwrap().push(now());
    }
}

#[derive(Debug, Clone, Copy)]
struct Lost {
    id: Id,
    taken: Option<Duration>,
    dropped: Duration,
}

#[derive(Default)]
struct World {
    stored: Mutex<Vec<(Id, Duration)>>,
    lost: Mutex<Vec<Lost>>,
    beats: Mutex<Vec<Duration>>,
}

/// Eight reports, one at a time; the desk closes at 6.5 s.
pub fn check(intake: impl AsyncFn(Inbox, Clinic, Monitor)) -> ExitCode {
    harness::main(|| {
        harness::scenario(
            "eight reports, one at a time from 0.0 s; a heartbeat due every second; the desk \
             closes at 6.5 s",
            async {
                let world = Arc::new(World::default());
                let (desk, queue) = mpsc::channel(16);
                let opened = Instant::now();
                let mut reports = (1..).zip(ARRIVALS).map(|(n, at)| {
                    let report = Report {
                        id: Id::new(n),
                        taken: None,
                        stored: false,
                        world: Arc::clone(&world),
                    };
                    (at, report)
                });
                // R-001 is in the queue when the intake starts; the desk
                // sends the others as they come, then closes.
                let (_, first) = reports.next().expect("eight reports");
                say!("desk: {first} in the queue");
                desk.try_send(first).ok();
                let later: Vec<_> = reports.collect();
                tokio::spawn(async move {
                    for (at, report) in later {
                        sleep_until(opened + at).await;
                        say!("desk: {report} in the queue");
                        desk.send(report).await.ok();
                    }
                    sleep_until(opened + CLOSES).await;
                    say!("desk: closed");
                });
                let inbox = Inbox { queue };
                let clinic = Clinic {
                    world: Arc::clone(&world),
                };
                let monitor = Monitor {
                    world: Arc::clone(&world),
                };
                within("intake()", intake(inbox, clinic, monitor)).await?;
                let returned = now();
                say!("intake() returned");
                // Whatever it left running gets the time to finish, and the
                // desk the time to close.
                sleep_until(opened + CLOSES.max(returned) + CHECK * 2).await;
                judge(&world, returned)
            },
        )
    })
}

/// When each report is stored if each is checked as soon as it arrives
/// (none arrives while another is being checked).
fn schedule() -> Vec<(Id, Duration, Duration)> {
    (1..)
        .zip(ARRIVALS)
        .map(|(n, at)| (Id::new(n), at, at + CHECK))
        .collect()
}

fn judge(world: &World, returned: Duration) -> harness::Outcome {
    let stored = world.stored.lock().unwrap().clone();
    let lost = world.lost.lock().unwrap().clone();
    let beats = world.beats.lock().unwrap().clone();
    let schedule = schedule();
    let mut rules = Rules::new();

    if !lost.is_empty() {
        let (taken, never): (Vec<Lost>, Vec<Lost>) = lost.iter().partition(|l| l.taken.is_some());
        let mut what: Vec<String> = taken
            .iter()
            .enumerate()
            .map(|(i, lost)| {
                let beat = match beats.contains(&lost.dropped) {
                    true => " as a heartbeat went out",
                    false => "",
                };
                let (id, taken) = (lost.id, secs(lost.taken.unwrap_or_default()));
                match i {
                    0 => format!(
                        "{id}, taken off the queue at {taken} and dropped at {}{beat}",
                        secs(lost.dropped)
                    ),
                    _ => format!(
                        "{id} the same way (taken at {taken}, dropped at {})",
                        secs(lost.dropped)
                    ),
                }
            })
            .collect();
        if !never.is_empty() {
            let (first, last) = (never[0].id, never[never.len() - 1].id);
            let in_a_row = last.number() - first.number() + 1 == never.len() as u32;
            what.push(match never.len() {
                1 => format!("{first}, never taken off the queue"),
                2 => format!("{first} and {last}, never taken off the queue"),
                _ if in_a_row => format!("{first} to {last}, never taken off the queue"),
                n => format!("{first} and {} more, never taken off the queue", n - 1),
            });
        }
        rules.broken(format!(
            "{} reports sent, {} stored, {} lost: {}",
            schedule.len(),
            stored.len(),
            lost.len(),
            what.join("; ")
        ));
    }
    for (id, arrived, due) in &schedule {
        let times: Vec<Duration> = stored
            .iter()
            .filter(|(s, _)| s == id)
            .map(|(_, at)| *at)
            .collect();
        match times[..] {
            [] => {}
            [at] => rules.expect(at <= *due + ms(10), || {
                format!(
                    "{id} arrived at {} and was stored only at {}: checking takes {}, and \
                     nothing else was being checked, so it is stored by {}",
                    secs(*arrived),
                    secs(at),
                    secs(CHECK),
                    secs(*due)
                )
            }),
            _ => rules.broken(format!("{id} was stored {} times", times.len())),
        }
    }
    let mut due = HEARTBEAT;
    while due < CLOSES {
        let heard = beats
            .iter()
            .any(|&at| at >= due && at <= due + HEARTBEAT_SLACK);
        rules.expect(heard, || {
            let before = beats.iter().filter(|&&at| at < due).max();
            let after = beats.iter().filter(|&&at| at > due).min();
            let gap = match (before, after) {
                (Some(b), Some(a)) => format!("none between {} and {}", secs(*b), secs(*a)),
                (Some(b), None) => format!("none after {}", secs(*b)),
                (None, Some(a)) => format!("none before {}", secs(*a)),
                (None, None) => "none at all".to_owned(),
            };
            format!(
                "the trial monitor expected a heartbeat at {} (by {} at the latest) and heard \
                 {gap}: it wants one every {} while the desk is open",
                secs(due),
                secs(due + HEARTBEAT_SLACK),
                secs(HEARTBEAT)
            )
        });
        due += HEARTBEAT;
    }
    rules.expect(returned >= CLOSES, || {
        format!(
            "intake() returned at {}, while the desk was open until {}",
            secs(returned),
            secs(CLOSES)
        )
    });
    rules.expect(returned <= CLOSES + ms(10), || {
        format!(
            "the desk closed at {} with nothing left to check, but intake() returned only at {}",
            secs(CLOSES),
            secs(returned)
        )
    });
    rules.verdict()
}

//! Exercise 09's world: a masking library that takes 3 s of a thread's time
//! and never awaits, and the check: a report comes in while another patient
//! waits for an answer promised within 2 s.
//!
//! The masking stands in for CPU-heavy work with `lessons::block_thread_for`,
//! as lesson 09 does: on the runtime's own thread it moves the paused clock
//! 3 s at once, with every other task stuck behind it (a real blocking call,
//! exactly); on the blocking pool the runtime keeps the clock moving while
//! the pool's thread waits. Where it ran is recorded, so the verdict can say.

use std::fmt;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};

use lessons::{block_thread_for, ms, say};
use tokio::runtime::Handle;
use tokio::time::{Duration, Instant, sleep, sleep_until, timeout};

use crate::clinic::Report as Id;
use crate::harness::{self, Rules, secs, within};

/// Masking one report's free text: this much CPU work.
pub const MASKING: Duration = ms(3_000);
/// Storing a masked report.
pub const STORE: Duration = ms(100);
/// The app promises P-002 an answer within this long.
const DEADLINE: Duration = ms(2_000);
/// How long the lab needs for P-002's history today.
const LAB: Duration = ms(4_000);
/// When R-001 arrives.
const ARRIVES: Duration = ms(500);
/// The keeper moves the clock 1 ms at a time while the pool works, and a
/// timer may fire a step late: this much either way is on time.
const SLACK: Duration = ms(5);

/// A patient's report as the app sent it: its free text still holds her
/// phone number and e-mail address.
pub struct Report {
    id: Id,
    text: String,
    world: Arc<World>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id)
    }
}

/// A report whose free text has been de-identified: the only kind the
/// archive takes.
pub struct Masked {
    id: Id,
    text: String,
    world: Arc<World>,
}

/// Masks the phone numbers, ID numbers and e-mail addresses in `report`'s
/// free text. A synchronous library: 3 s of CPU work on the calling thread,
/// and not one `.await` in it.
pub fn deidentify(report: &Report) -> Masked {
    let world = &report.world;
    let place = world.place();
    let started = world.since_opening();
    block_thread_for(MASKING);
    world.maskings.lock().unwrap().push(Masking {
        report: report.id,
        started,
        ended: world.since_opening(),
        place,
    });
    let text = report
        .text
        .split(' ')
        .map(|word| match word.contains('@') || word.starts_with('+') {
            true => "***",
            false => word,
        })
        .collect::<Vec<_>>()
        .join(" ");
    Masked {
        id: report.id,
        text,
        world: Arc::clone(world),
    }
}

/// The trial's archive of de-identified reports.
pub struct Archive {
    world: Arc<World>,
}

impl Archive {
    /// Stores `report`: takes 0.1 s.
    pub async fn store(&self, report: Masked) {
        sleep(STORE).await;
        say!("archive: stored {}: \"{}\"", report.id, report.text);
        let at = report.world.since_opening();
        self.world.stored.lock().unwrap().push((report.id, at));
    }
}

/// Where a masking ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// On the runtime's only thread; in a task of its own if spawned.
    RuntimeThread { spawned: bool },
    /// On a thread of tokio's blocking pool.
    BlockingPool,
}

#[derive(Debug, Clone, Copy)]
struct Masking {
    report: Id,
    started: Duration,
    ended: Duration,
    place: Place,
}

/// What happened, recorded from whichever thread it happened on. Times
/// come from tokio's clock, which the blocking pool's threads share.
struct World {
    opened: Instant,
    runtime_thread: ThreadId,
    maskings: Mutex<Vec<Masking>>,
    stored: Mutex<Vec<(Id, Duration)>>,
}

impl World {
    fn since_opening(&self) -> Duration {
        Instant::now() - self.opened
    }

    fn place(&self) -> Place {
        if Handle::try_current().is_err() {
            // A thread the runtime does not know: the paused clock cannot
            // wait for it, so no figure measured here would mean anything.
            panic!(
                "deidentify() ran on a thread of your own (std::thread::spawn), which the \
                 runtime does not know: tokio's paused clock, which the checker runs on, cannot \
                 wait for it. Use tokio::task::spawn_blocking, the runtime's own pool of threads \
                 for blocking work (lesson 09): awaiting its JoinHandle gives the runtime's \
                 thread back, where a thread's join() would block it"
            );
        }
        if thread::current().id() == self.runtime_thread {
            Place::RuntimeThread {
                spawned: tokio::task::try_id().is_some(),
            }
        } else {
            Place::BlockingPool
        }
    }
}

/// P-002 asks for her history at 0.0 s; R-001 arrives at 0.5 s.
pub fn check(take_in: impl AsyncFn(&Archive, Report)) -> ExitCode {
    harness::main(|| {
        harness::scenario(
            "R-001 is taken in while P-002 waits for an answer promised within 2 s",
            async {
                let world = Arc::new(World {
                    opened: Instant::now(),
                    runtime_thread: thread::current().id(),
                    maskings: Mutex::default(),
                    stored: Mutex::default(),
                });
                let archive = Archive {
                    world: Arc::clone(&world),
                };
                let p002 = tokio::spawn(p002_asks_for_her_history());
                // Her request has set its deadline before anything else runs.
                tokio::task::yield_now().await;
                sleep_until(world.opened + ARRIVES).await;
                let report = Report {
                    id: Id::new(1),
                    text: "pain 6 since Monday, call me on +8613800138000 or mail li@example.org"
                        .to_owned(),
                    world: Arc::clone(&world),
                };
                say!(
                    "intake: {} arrives from P-001; masking it takes {} of CPU work",
                    report.id,
                    secs(MASKING)
                );
                within("take_in(R-001)", take_in(&archive, report)).await?;
                let answered = within("P-002's request", p002).await?;
                let answered = answered.expect("the check's own task does not panic");
                // Time for work take_in left running to end, then judge.
                sleep_until(world.opened + ARRIVES + MASKING + STORE + ms(1_000)).await;
                judge(&world, answered)
            },
        )
    })
}

/// The check's own handler, written as lesson 03 taught: the lab's answer
/// or, at 2.0 s, "try again". Returns when she heard back.
async fn p002_asks_for_her_history() -> Duration {
    say!(
        "patient P-002: asks for her history, promised within {} (the lab needs {} today)",
        secs(DEADLINE),
        secs(LAB)
    );
    let asked = Instant::now();
    match timeout(DEADLINE, sleep(LAB)).await {
        Ok(()) => say!("handler: answered P-002 with her history"),
        Err(_) => say!("handler: told P-002 to try again"),
    }
    asked.elapsed()
}

fn judge(world: &World, answered: Duration) -> harness::Outcome {
    let maskings = world.maskings.lock().unwrap().clone();
    let stored = world.stored.lock().unwrap().clone();
    let mut rules = Rules::new();
    let late = answered.saturating_sub(DEADLINE);
    let blocker = maskings
        .iter()
        .find(|m| matches!(m.place, Place::RuntimeThread { .. }));
    rules.expect(late <= SLACK, || {
        let mut why = format!(
            "P-002 was promised an answer by {} and heard \"try again\" only at {}, {} late",
            secs(DEADLINE),
            secs(answered),
            secs(late)
        );
        if let Some(masking) = blocker {
            let place = match masking.place {
                Place::RuntimeThread { spawned: true } => {
                    "in a task spawned with tokio::spawn, which runs on that same thread"
                }
                _ => "inside take_in",
            };
            why += &format!(
                ": her deadline's timer could not fire while {}'s masking held the runtime's \
                 only thread, {} of CPU work from {} to {}, {place}",
                masking.report,
                secs(MASKING),
                secs(masking.started),
                secs(masking.ended)
            );
        }
        why
    });
    let due = ARRIVES + MASKING + STORE;
    match stored[..] {
        [] => rules.broken(format!(
            "R-001 arrived at {} and was never stored: masked or not, it is lost",
            secs(ARRIVES)
        )),
        [(_, at)] => rules.expect(at <= due + SLACK, || {
            format!(
                "R-001 arrived at {} and was stored only at {}: its masking takes {} and \
                 storing {}, so it can be stored at {}",
                secs(ARRIVES),
                secs(at),
                secs(MASKING),
                secs(STORE),
                secs(due)
            )
        }),
        _ => rules.broken(format!("R-001 was stored {} times", stored.len())),
    }
    rules.expect(maskings.len() <= 1, || {
        format!(
            "R-001 was masked {} times, {} of CPU work each: once is the job",
            maskings.len(),
            secs(MASKING)
        )
    });
    rules.verdict()
}

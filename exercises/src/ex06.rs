//! Exercise 06's world: the clinic's database, which may stall, and the
//! check that sends reports to the intake and then the shutdown signal.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::Arc;

use lessons::{alive_tasks, ms, say};
use tokio::time::{Duration, Instant, sleep, sleep_until};

pub use crate::clinic::Report;
use crate::clinic::{Work, Works};
use crate::harness::{self, Rules, now, secs, within};

/// Storing one report takes this long.
pub const STORE: Duration = ms(300);

/// The clinic's database. A clone is cheap and reaches the same database.
#[derive(Clone)]
pub struct Database {
    shared: Arc<Shared>,
}

struct Shared {
    /// The report the database hangs on, if any.
    stalls_on: Option<Report>,
    writes: Works<Report>,
}

impl Database {
    fn new(stalls_on: Option<Report>) -> Database {
        Database {
            shared: Arc::new(Shared {
                stalls_on,
                writes: Works::default(),
            }),
        }
    }

    /// Stores `report`: takes [`STORE`] (or, on a bad day, for ever).
    /// Dropping the future stops the write half-way: nothing is stored.
    pub async fn store(&self, report: Report) {
        let write = self.shared.writes.begin(report, |write| {
            if write.finished() {
                say!("database: stored {}", write.what);
            } else {
                say!("database: the write of {} was cut off", write.what);
            }
        });
        if self.shared.stalls_on == Some(report) {
            say!("database: stalls while writing {report}");
            std::future::pending::<()>().await;
        }
        sleep(STORE).await;
        write.finish();
    }

    fn stores(&self) -> Vec<Work<Report>> {
        self.shared.writes.all()
    }
}

/// Fifteen reports arrive, one every 0.1 s from 0.0 s; the signal comes at
/// 1.5 s. Three closing times: with 5.0 s to drain, with only 0.45 s, and
/// with the database stalled on R-007 and 2.05 s to drain.
pub fn check<I>(
    open: impl Fn(Database) -> I,
    accept: impl Fn(&I, Report) -> bool,
    shut_down: impl AsyncFn(I, Duration) -> Vec<Report>,
) -> ExitCode {
    let closing = |stalls_on, deadline| {
        closing_time(
            &open,
            &accept,
            &shut_down,
            Database::new(stalls_on),
            deadline,
        )
    };
    harness::main(|| {
        harness::scenario(
            "closing time, with 5.0 s to finish the backlog",
            closing(None, ms(5_000)),
        )?;
        harness::scenario(
            "closing time, with only 0.45 s to finish the backlog",
            // Writes end on the tenth of a second; a deadline in the same
            // instant as one of them would make the verdict hang on which
            // timer tokio fires first.
            closing(None, ms(450)),
        )?;
        harness::scenario(
            "closing time while the database stalls on R-007, with 2.05 s to finish",
            closing(Some(Report::new(7)), ms(2_050)),
        )
    })
}

async fn closing_time<I>(
    open: &impl Fn(Database) -> I,
    accept: &impl Fn(&I, Report) -> bool,
    shut_down: &impl AsyncFn(I, Duration) -> Vec<Report>,
    db: Database,
    deadline: Duration,
) -> harness::Outcome {
    let before = alive_tasks();
    let intake = open(db.clone());
    let opened = Instant::now();
    let mut rules = Rules::new();
    let mut accepted = BTreeSet::new();
    for n in 0..15 {
        sleep_until(opened + ms(100 * n)).await;
        let id = Report::new(n as u32 + 1);
        if accept(&intake, id) {
            accepted.insert(id);
        } else {
            rules.broken(format!(
                "the intake refused {id} at {} though it was open and its queue had room",
                secs(now())
            ));
        }
    }
    sleep_until(opened + ms(1_500)).await;
    let signal = now();
    say!(
        "signal: shut down; {} accepted, {} to finish",
        accepted.len(),
        secs(deadline)
    );
    let named = within(
        format!("shut_down({})", secs(deadline)),
        shut_down(intake, deadline),
    )
    .await
    .map_err(|stuck| {
        let stalled = db.stores().iter().any(|s| s.stopped.is_none());
        stuck.also(format!(
            "its deadline was {}{}: when it passes, name the reports not stored and return",
            secs(signal + deadline),
            if stalled {
                ", and a write had hung in the database"
            } else {
                ""
            }
        ))
    })?;
    let returned = now();
    say!("shut_down: returned, naming {} lost", list(&named));
    sleep(ms(10)).await;
    let alive = alive_tasks();
    // Whatever is still running has time to finish, late.
    sleep(ms(10_000)).await;

    let stores = db.stores();
    let stored_by = |t: Duration| -> BTreeSet<Report> {
        stores
            .iter()
            .filter(|s| matches!(s.stopped, Some((at, true)) if at <= t))
            .map(|s| s.what)
            .collect()
    };
    let due = signal + deadline;
    rules.expect(returned <= due, || {
        format!(
            "shut_down({}) was called at {} and returned only at {}, after its deadline",
            secs(deadline),
            secs(signal),
            secs(returned)
        )
    });
    let stored = stored_by(returned);
    let not_stored: BTreeSet<Report> = accepted.difference(&stored).copied().collect();
    let named_set: BTreeSet<Report> = named.iter().copied().collect();
    let unnamed: Vec<Report> = not_stored.difference(&named_set).copied().collect();
    if !not_stored.is_empty() && returned < due && named.is_empty() {
        rules.broken(format!(
            "shut_down returned at {}, before its deadline at {}, with {} accepted reports not \
             stored ({}), and named none of them lost: each was promised to a patient. Wait for \
             the workers to store them, until the deadline",
            secs(returned),
            secs(due),
            not_stored.len(),
            list(&not_stored.iter().copied().collect::<Vec<_>>())
        ));
    } else {
        rules.expect(unnamed.is_empty(), || {
            format!(
                "{} accepted and not stored when shut_down returned at {}, but it did not name \
                 {}",
                were(&unnamed),
                secs(returned),
                if unnamed.len() == 1 { "it" } else { "them" }
            )
        });
    }
    let wrongly: Vec<Report> = named_set.intersection(&stored).copied().collect();
    rules.expect(wrongly.is_empty(), || {
        format!(
            "shut_down named {} lost, but {} stored by {}",
            list(&wrongly),
            if wrongly.len() == 1 {
                "it was"
            } else {
                "they were"
            },
            secs(returned)
        )
    });
    let unknown: Vec<Report> = named_set.difference(&accepted).copied().collect();
    rules.expect(unknown.is_empty(), || {
        format!(
            "shut_down named {} lost, which the intake never accepted",
            list(&unknown)
        )
    });
    rules.expect(named.len() == named_set.len(), || {
        "shut_down named the same report twice".to_owned()
    });
    if not_stored.is_empty() {
        let last = stores
            .iter()
            .filter_map(|s| s.stopped.map(|(at, _)| at))
            .filter(|at| *at <= returned)
            .max()
            .unwrap_or(signal)
            .max(signal);
        rules.expect(returned == last, || {
            format!(
                "every accepted report was stored by {}, but shut_down returned only at {}: \
                 return as soon as the workers are done, not at the deadline",
                secs(last),
                secs(returned)
            )
        });
    }
    for store in &stores {
        if let Some((at, true)) = store.stopped
            && at > returned
        {
            let id = store.what;
            let what = if named_set.contains(&id) {
                format!(
                    "{id} was named lost at {}, then stored at {}",
                    secs(returned),
                    secs(at)
                )
            } else {
                format!(
                    "{id} was stored at {}, after shut_down returned at {}",
                    secs(at),
                    secs(returned)
                )
            };
            rules.broken(format!(
                "{what}: when shut_down returns the process exits, so stop the workers at the \
                 deadline; a write cut off there is one you name lost"
            ));
        }
    }
    rules.expect(alive == before, || {
        format!(
            "alive tasks {alive} just after shut_down returned, {before} before the clinic \
             opened: a task it started is still running"
        )
    });
    rules.verdict()
}

/// `R-009, R-010, ..., R-015`: a list of ids that fits on a line.
fn list(ids: &[Report]) -> String {
    match ids {
        [] => "none".to_owned(),
        [a, b, c, .., last] if ids.len() > 5 => format!("{a}, {b}, {c}, ..., {last}"),
        _ => ids
            .iter()
            .map(|id| id.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// `R-013 was` / `R-013 and R-014 were`.
fn were(ids: &[Report]) -> String {
    match ids {
        [one] => format!("{one} was"),
        _ => format!("{} were", list(ids)),
    }
}

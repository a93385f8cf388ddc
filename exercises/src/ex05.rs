//! Exercise 05's world: the ward's database, its audit book, and the check
//! that gives the clerk a shift of eight reports.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use lessons::{alive_tasks, ms, say};
use tokio::time::{Duration, sleep};

pub use crate::clinic::Report;
use crate::harness::{self, Rules, now, secs, within};

/// An audit slip: "report R-003 was stored".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slip {
    report: Report,
}

impl Slip {
    /// The slip for a stored report.
    pub fn for_report(report: &Report) -> Slip {
        Slip { report: *report }
    }
}

/// Storing a report takes the database this long.
pub const STORE: Duration = ms(300);
/// Filing a slip in the audit book takes this long.
pub const FILE: Duration = ms(200);
/// The trial's audit rule: a stored report's slip is in the book this soon.
pub const AUDIT_WITHIN: Duration = ms(1_000);

/// What happened to each report and slip, shared by the database and the
/// book.
#[derive(Debug, Default)]
struct Ledger {
    /// (report, when its store finished)
    stored: Vec<(Report, Duration)>,
    /// (report, when its slip was filed)
    filed: Vec<(Report, Duration)>,
}

/// The ward's database. A clone is cheap and reaches the same database.
#[derive(Clone, Default)]
pub struct Database {
    ledger: Arc<Mutex<Ledger>>,
}

impl Database {
    /// Stores `report`: takes [`STORE`].
    pub async fn store(&self, report: &Report) {
        sleep(STORE).await;
        self.ledger.lock().unwrap().stored.push((*report, now()));
        say!("clerk: stored {report}");
    }
}

/// The audit book. A clone is cheap and reaches the same book, so a task of
/// its own can file slips.
#[derive(Clone)]
pub struct AuditBook {
    ledger: Arc<Mutex<Ledger>>,
}

impl AuditBook {
    /// Files `slip` in the book: takes [`FILE`].
    pub async fn file(&self, slip: Slip) {
        sleep(FILE).await;
        self.ledger.lock().unwrap().filed.push((slip.report, now()));
        say!("audit book: filed the slip for {}", slip.report);
    }
}

/// One shift: eight reports, all waiting at 0.0 s.
pub fn check(shift: impl AsyncFn(Vec<Report>, &Database, &AuditBook)) -> ExitCode {
    harness::main(|| {
        harness::scenario(
            "the clerk's shift: eight reports to store, each with an audit slip",
            async {
                let db = Database::default();
                let book = AuditBook {
                    ledger: db.ledger.clone(),
                };
                let reports: Vec<Report> = (1..=8).map(Report::new).collect();
                let before = alive_tasks();
                say!("clerk: my shift starts, eight reports to store");
                within("the clerk's shift", shift(reports.clone(), &db, &book))
                    .await
                    .map_err(|stuck| stuck.also(progress(&db.ledger.lock().unwrap())))?;
                let ended = now();
                say!("clerk: my shift is over");
                sleep(ms(10)).await;
                let after = alive_tasks();
                // Anything still on its way has time to arrive, late.
                sleep(ms(10_000)).await;
                judge(&reports, &db.ledger.lock().unwrap(), ended, before, after)
            },
        )
    })
}

/// How far the shift got: counts, and the last thing that happened.
fn progress(ledger: &Ledger) -> String {
    let last = ledger
        .stored
        .iter()
        .chain(&ledger.filed)
        .map(|(_, at)| *at)
        .max();
    format!(
        "by then {} of 8 reports were stored and {} of their slips filed; {}",
        ledger.stored.len(),
        ledger.filed.len(),
        match last {
            Some(at) => format!(
                "nothing has happened since {}: whoever could wake the clerk is waiting too, or \
                 is the clerk herself",
                secs(at)
            ),
            None => "nothing happened at all".to_owned(),
        }
    )
}

fn judge(
    reports: &[Report],
    ledger: &Ledger,
    ended: Duration,
    before: usize,
    after: usize,
) -> harness::Outcome {
    let mut rules = Rules::new();
    for report in reports {
        let stored: Vec<Duration> = times(&ledger.stored, report);
        let filed: Vec<Duration> = times(&ledger.filed, report);
        let [stored] = stored[..] else {
            rules.broken(match stored.len() {
                0 => format!("{report} was never stored"),
                n => format!("{report} was stored {n} times; once is the job"),
            });
            continue;
        };
        match filed[..] {
            [] => rules.broken(format!(
                "{report} was stored at {}, but its slip never reached the audit book",
                secs(stored)
            )),
            [filed] => {
                rules.expect(filed <= stored + AUDIT_WITHIN, || {
                    format!(
                        "{report} was stored at {}, its slip filed only at {}, {} later; the \
                         trial's audit rule allows {}",
                        secs(stored),
                        secs(filed),
                        secs(filed - stored),
                        secs(AUDIT_WITHIN)
                    )
                });
                rules.expect(filed <= ended, || {
                    format!(
                        "the shift ended at {}, but {report}'s slip was filed only at {}: the \
                         shift is over when the last slip is in the book",
                        secs(ended),
                        secs(filed)
                    )
                });
            }
            _ => rules.broken(format!(
                "{report}'s slip was filed {} times; once is the rule",
                filed.len()
            )),
        }
    }
    rules.expect(after == before, || {
        format!(
            "alive tasks {after} just after the shift ended, {before} before it began: a task \
             started during the shift is still running"
        )
    });
    rules.verdict()
}

fn times(events: &[(Report, Duration)], report: &Report) -> Vec<Duration> {
    events
        .iter()
        .filter(|(r, _)| r == report)
        .map(|(_, at)| *at)
        .collect()
}

//! Exercise 03's world: a lab whose history queries take their time, and the
//! check that sends three patients to the exercise's handler.

use std::collections::HashMap;
use std::fmt;
use std::process::ExitCode;
use std::sync::Arc;

use lessons::{alive_tasks, ms, say};
use tokio::time::{Duration, Instant, sleep, sleep_until};

use crate::clinic::{Work, Works};
use crate::harness::{self, Rules, now, secs, within};

/// A patient's id, `P-001`.
pub type Patient = &'static str;

/// The handler promises the patient an answer within this long.
pub const DEADLINE: Duration = ms(2_000);

/// What the lab sends back: a patient's past reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History(String);

impl fmt::Display for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the patient's app hears back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Their history: the app shows it.
    History(History),
    /// No history in time: the app says "try again in a minute".
    TryAgain,
}

/// The lab. A clone is cheap and reaches the same lab, so a task can take
/// one along.
#[derive(Clone)]
pub struct Lab {
    shared: Arc<Shared>,
}

struct Shared {
    /// How long each patient's query takes today.
    takes: HashMap<Patient, Duration>,
    queries: Works<Patient>,
}

impl Lab {
    fn new(takes: &[(Patient, Duration)]) -> Lab {
        Lab {
            shared: Arc::new(Shared {
                takes: takes.iter().copied().collect(),
                queries: Works::default(),
            }),
        }
    }

    /// Looks up `patient`'s history: takes as long as the lab needs today.
    /// Dropping the future stops the query where it is.
    pub async fn query(&self, patient: Patient) -> History {
        let takes = self.shared.takes.get(patient).copied().unwrap_or(ms(500));
        let work = self.shared.queries.begin(patient, |query| {
            let (patient, ran) = (query.what, secs(query.ran()));
            if query.finished() {
                say!("lab: {patient}'s query finished after {ran}");
            } else {
                say!("lab: {patient}'s query stopped after {ran}");
            }
        });
        sleep(takes).await;
        work.finish();
        History(format!("{patient}'s 12 past reports"))
    }

    /// The instant `at` on the scenario's clock.
    fn opened_at(&self, at: Duration) -> Instant {
        Instant::now() - (now() - at)
    }

    fn queries_for(&self, patient: Patient) -> Vec<Work<Patient>> {
        let queries = self.shared.queries.all();
        queries.into_iter().filter(|q| q.what == patient).collect()
    }
}

/// Three patients ask for their history, one after the other. The lab
/// takes 1.0 s for P-001, 5.0 s for P-002 and 1.5 s for P-003.
pub fn check(history: impl AsyncFn(&Lab, Patient) -> Answer) -> ExitCode {
    harness::main(|| {
        harness::scenario(
            "three patients ask for their history; the handler promises an answer within 2 s",
            async {
                let today = [
                    ("P-001", ms(0), ms(1_000)),
                    ("P-002", ms(2_000), ms(5_000)),
                    ("P-003", ms(8_000), ms(1_500)),
                ];
                let takes: Vec<_> = today.iter().map(|&(p, _, t)| (p, t)).collect();
                let lab = Lab::new(&takes);
                let opened = Instant::now();
                for (patient, at, takes) in today {
                    sleep_until(opened + at).await;
                    request(&history, &lab, patient, takes).await?;
                }
                Ok(())
            },
        )
    })
}

async fn request(
    history: &impl AsyncFn(&Lab, Patient) -> Answer,
    lab: &Lab,
    patient: Patient,
    takes: Duration,
) -> harness::Outcome {
    let before = alive_tasks();
    say!(
        "patient {patient}: asks for their history (the lab needs {} today)",
        secs(takes)
    );
    let asked = now();
    let answer = within(format!("{patient}'s request"), history(lab, patient)).await?;
    let waited = now() - asked;
    match &answer {
        Answer::History(history) => say!("handler: answered {patient} with {history}"),
        Answer::TryAgain => say!("handler: told {patient} to try again"),
    }
    // The runtime gets a moment to drop whatever was aborted, then we count.
    sleep(ms(10)).await;
    let after = alive_tasks();
    // Let a query that was left running finish, so we can say how long it ran.
    sleep_until(lab.opened_at(asked) + takes + ms(10)).await;

    let mut rules = Rules::new();
    let queries = lab.queries_for(patient);
    let [query] = queries[..] else {
        rules.broken(format!(
            "{patient}'s handler asked the lab {} times; once is the job",
            queries.len()
        ));
        return rules.verdict();
    };
    if takes < DEADLINE {
        match &answer {
            Answer::History(history) if history.0.starts_with(patient) => {
                rules.expect(waited == takes, || {
                    format!(
                        "{patient}'s history was ready after {}, but the patient heard back only after {}",
                        secs(takes),
                        secs(waited)
                    )
                });
            }
            Answer::History(other) => {
                rules.broken(format!("{patient} was shown someone else's history: {other}"))
            }
            Answer::TryAgain => rules.broken(format!(
                "{patient}'s history was ready after {}, yet the patient heard \"try again\" after {}: \
                 wait for the lab for up to {}",
                secs(takes),
                secs(waited),
                secs(DEADLINE)
            )),
        }
    } else if waited > DEADLINE {
        rules.broken(format!(
            "{patient} waited {} for an answer; the handler promises one within {}: at {} it \
             should tell the patient to try again",
            secs(waited),
            secs(DEADLINE),
            secs(asked + DEADLINE)
        ));
    } else {
        rules.expect(waited == DEADLINE && answer == Answer::TryAgain, || {
            format!(
                "{patient} heard \"try again\" after {}; the lab deserves the full {}",
                secs(waited),
                secs(DEADLINE)
            )
        });
        let ran = query.stopped.map_or(takes, |(at, _)| at - query.started);
        let finished = query.stopped.is_none_or(|(_, finished)| finished);
        rules.expect(ran == waited && !finished, || {
            format!(
                "{patient}'s query ran {} (from {} to {}); its handler gave up after {} (at {}): \
                 the query must stop then too",
                secs(ran),
                secs(query.started),
                secs(query.started + ran),
                secs(waited),
                secs(asked + waited),
            )
        });
    }
    rules.expect(after == before, || {
        format!(
            "alive tasks {after} just after {patient}'s answer, {before} before the request: \
             a task the handler started is still running"
        )
    });
    rules.verdict()
}

//! Exercise 10's world: trial numbers, a database that takes 0.2 s to record
//! an enrolment, and the check: twelve patients enrol at once, a task each,
//! and one of them taps "enrol" twice.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use futures::future::join_all;
use lessons::{ms, say};
use tokio::time::{Duration, Instant, sleep, sleep_until};

use crate::harness::{self, Failure, Rules, now, secs, within};

/// A patient's id, `P-007`.
pub type Patient = &'static str;

/// The number a patient is known by in the trial, `T-007`: the first
/// patient enrolled is `T-001`, the next `T-002`, with no gaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TrialNumber(usize);

impl TrialNumber {
    /// The `n`th number given out: `nth(1)` is `T-001`.
    pub fn nth(n: usize) -> TrialNumber {
        TrialNumber(n)
    }
}

impl fmt::Display for TrialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "T-{:03}", self.0)
    }
}

/// Recording an enrolment in the database takes this long.
pub const WRITE: Duration = ms(200);
const PATIENTS: [Patient; 12] = [
    "P-001", "P-002", "P-003", "P-004", "P-005", "P-006", "P-007", "P-008", "P-009", "P-010",
    "P-011", "P-012",
];
/// Who taps "enrol" a second time, and when.
const TAPS_AGAIN: (Patient, Duration) = ("P-007", ms(100));

/// The trial's database. A clone is cheap and reaches the same database.
#[derive(Clone, Default)]
pub struct Database {
    rows: Arc<Mutex<Vec<Row>>>,
}

/// One enrolment, as the database holds it.
#[derive(Debug, Clone, Copy)]
struct Row {
    patient: Patient,
    number: TrialNumber,
    at: Duration,
}

impl Database {
    /// Records that `patient` is enrolled as `number`: takes 0.2 s. The
    /// row exists once the future has finished; dropped half-way, it does
    /// not.
    pub fn record(
        &self,
        patient: Patient,
        number: TrialNumber,
    ) -> impl Future<Output = ()> + Send + 'static {
        let rows = Arc::clone(&self.rows);
        async move {
            sleep(WRITE).await;
            rows.lock().unwrap().push(Row {
                patient,
                number,
                at: now(),
            });
        }
    }

    fn rows_of(&self, patient: Patient) -> Vec<Row> {
        let rows = self.rows.lock().unwrap();
        rows.iter()
            .filter(|r| r.patient == patient)
            .copied()
            .collect()
    }
}

/// One request to enrol, as the patient's app saw it.
#[derive(Debug, Clone, Copy)]
struct Asked {
    patient: Patient,
    asked: Duration,
    answered: Duration,
    number: TrialNumber,
}

/// Twelve patients enrol at 0.0 s, a task each; P-007 taps again at 0.1 s.
/// `open` makes the register, `enrol` is called once per request with a
/// clone of it, in a task of its own (`tokio::spawn`, hence `Send` and
/// `'static`).
pub fn check<R, F>(open: impl Fn() -> R, enrol: impl Fn(R, Database, Patient) -> F) -> ExitCode
where
    R: Clone + Send + 'static,
    F: Future<Output = TrialNumber> + Send + 'static,
{
    harness::main(|| {
        harness::scenario(
            "12 patients enrol at once, a task each; P-007 taps \"enrol\" again at 0.1 s",
            async {
                let db = Database::default();
                let register = open();
                let opened = Instant::now();
                let ask = |patient: Patient| {
                    let request = enrol(register.clone(), db.clone(), patient);
                    tokio::spawn(async move {
                        let asked = now();
                        let number = request.await;
                        say!("{patient}: told she is {number}");
                        Asked {
                            patient,
                            asked,
                            answered: now(),
                            number,
                        }
                    })
                };
                say!(
                    "patients: {} to {} ask to enrol; each enrolment is recorded in the \
                     database ({} a write)",
                    PATIENTS[0],
                    PATIENTS[PATIENTS.len() - 1],
                    secs(WRITE)
                );
                let mut requests: Vec<_> = PATIENTS.iter().map(|&p| ask(p)).collect();
                sleep_until(opened + TAPS_AGAIN.1).await;
                say!("{}: taps \"enrol\" again", TAPS_AGAIN.0);
                requests.push(ask(TAPS_AGAIN.0));
                let answers = within("the enrolments", join_all(requests)).await?;
                let answers = answers
                    .into_iter()
                    .collect::<Result<Vec<Asked>, _>>()
                    .map_err(|e| Failure::new(format!("an enrolment task failed: {e}")))?;
                // Writes left running by an answer that did not wait for them.
                sleep(WRITE * 2).await;
                judge(&db, &answers)
            },
        )
    })
}

/// `P-001, P-002, ..., P-012`: a list short enough for one line.
fn listed(patients: &[Patient]) -> String {
    match patients {
        [first, second, .., last] if patients.len() > 4 => {
            format!("{first}, {second}, ..., {last}")
        }
        _ => patients.join(", "),
    }
}

fn judge(db: &Database, answers: &[Asked]) -> harness::Outcome {
    let mut rules = Rules::new();
    // Who was told which number, in the order they were told.
    let mut holders: BTreeMap<TrialNumber, Vec<Patient>> = BTreeMap::new();
    let mut numbers_of: BTreeMap<Patient, Vec<TrialNumber>> = BTreeMap::new();
    for answer in answers {
        let holding = holders.entry(answer.number).or_default();
        if !holding.contains(&answer.patient) {
            holding.push(answer.patient);
        }
        numbers_of
            .entry(answer.patient)
            .or_default()
            .push(answer.number);
    }
    for (number, patients) in holders.iter().filter(|(_, p)| p.len() > 1) {
        let distinct = match holders.len() {
            1 => "1 trial number".to_owned(),
            n => format!("{n} distinct trial numbers"),
        };
        rules.broken(format!(
            "{} patients asked to enrol and were given only {distinct}: {} all hold {number}",
            PATIENTS.len(),
            listed(patients)
        ));
    }
    for (patient, numbers) in &numbers_of {
        let distinct: BTreeSet<_> = numbers.iter().collect();
        rules.expect(distinct.len() == 1, || {
            let told: Vec<String> = numbers.iter().map(|n| n.to_string()).collect();
            let times = match numbers.len() {
                2 => "twice".to_owned(),
                n => format!("{n} times"),
            };
            format!(
                "{patient} tapped \"enrol\" {times} and was told {}: one patient, one number",
                told.join(", then ")
            )
        });
    }
    for &patient in &PATIENTS {
        let told = numbers_of[patient][0];
        let rows = db.rows_of(patient);
        match rows[..] {
            [] => rules.broken(format!(
                "{patient} was told she is {told}, but the database has no row for her"
            )),
            [row] => rules.expect(row.number == told, || {
                format!(
                    "{patient} was told she is {told}, but the database recorded her as {}",
                    row.number
                )
            }),
            _ => {
                let numbers: Vec<String> = rows.iter().map(|r| r.number.to_string()).collect();
                rules.broken(format!(
                    "the database holds {} rows for {patient} ({}): one patient, one row",
                    rows.len(),
                    numbers.join(", ")
                ))
            }
        }
        let last_answer = answers
            .iter()
            .filter(|a| a.patient == patient)
            .map(|a| a.answered)
            .max()
            .unwrap_or_default();
        if let Some(row) = rows.first() {
            rules.expect(last_answer >= row.at, || {
                format!(
                    "{patient} heard she is {told} at {}, before the database recorded it at \
                     {}: had the write failed, she would hold a number the trial does not know",
                    secs(last_answer),
                    secs(row.at)
                )
            });
        }
    }
    if let Some(slowest) = answers.iter().max_by_key(|a| a.answered - a.asked) {
        let waited = slowest.answered - slowest.asked;
        rules.expect(waited <= WRITE + ms(1), || {
            format!(
                "{} asked at {} and heard her number only at {}: a database write takes {} and \
                 the {} writes may run side by side, yet each enrolment waited for the one \
                 before it. Nothing may hold the register while a write is awaited",
                slowest.patient,
                secs(slowest.asked),
                secs(slowest.answered),
                secs(WRITE),
                PATIENTS.len()
            )
        });
    }
    let given: BTreeSet<TrialNumber> = holders.keys().copied().collect();
    let expected: BTreeSet<TrialNumber> = (1..=given.len()).map(TrialNumber).collect();
    rules.expect(given == expected, || {
        let missing: Vec<String> = (1..=PATIENTS.len())
            .map(TrialNumber)
            .filter(|n| !given.contains(n))
            .map(|n| n.to_string())
            .collect();
        let last = given.last().copied().unwrap_or(TrialNumber(0));
        format!(
            "the numbers given run to {last} for {} patients, with {} never given: the \
             trial numbers its patients in order, without gaps",
            PATIENTS.len(),
            missing.join(", ")
        )
    });
    rules.verdict()
}

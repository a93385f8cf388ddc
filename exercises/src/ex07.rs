//! Exercise 07's world: a database that is down for maintenance until
//! 10.0 s, and the check that sends a burst of uploads at 0.0 s.

use std::fmt;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use futures::future::join_all;
use lessons::{ms, say};
use tokio::time::{Duration, Instant, sleep, sleep_until};

pub use crate::clinic::Report;
use crate::harness::{self, Rules, now, secs, within};

/// What the intake answers a patient's app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 202: queued; the report will be stored.
    Accepted,
    /// 503: not now; the app keeps the report and tries again later.
    Busy,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Accepted => "202 Accepted",
            Status::Busy => "503 Service Unavailable",
        })
    }
}

/// Storing a report takes this long, once the database is up.
pub const STORE: Duration = ms(100);
/// The database is down for maintenance until then.
const UP_AT: Duration = ms(10_000);
/// The queue's places, as the check opens the intake.
const PLACES: usize = 8;
const BURST: u32 = 30;

/// The clinic's database. A clone is cheap and reaches the same database.
#[derive(Clone, Default)]
pub struct Database {
    stored: Arc<Mutex<Vec<(Report, Duration)>>>,
}

impl Database {
    /// Stores `report`: waits while the database is down, then takes
    /// [`STORE`].
    pub async fn store(&self, report: Report) {
        let down_for = UP_AT.saturating_sub(now());
        sleep(down_for + STORE).await;
        self.stored.lock().unwrap().push((report, now()));
    }

    fn stored(&self, report: Report) -> Vec<Duration> {
        let stored = self.stored.lock().unwrap();
        stored
            .iter()
            .filter(|(r, _)| *r == report)
            .map(|(_, at)| *at)
            .collect()
    }
}

/// One upload, as the patient's app saw it.
struct Upload {
    report: Report,
    asked: Duration,
    answered: Duration,
    status: Status,
}

/// A burst of 30 uploads at 0.0 s while the database is down; three more
/// at 12.0 s, once it is back and the queue has drained.
pub fn check<I>(
    open: impl Fn(Database, usize) -> I,
    upload: impl AsyncFn(&I, Report) -> Status,
) -> ExitCode {
    harness::main(|| {
        harness::scenario(
            "30 uploads at once while the database is down until 10.0 s; 3 more at 12.0 s",
            async {
                let db = Database::default();
                let intake = open(db.clone(), PLACES);
                let opened = Instant::now();
                say!("intake: open, a queue of {PLACES} places; the database is down until 10.0 s");
                let burst = send(&upload, &intake, 1..=BURST).await?;
                sleep_until(opened + ms(12_000)).await;
                let later = send(&upload, &intake, BURST + 1..=BURST + 3).await?;
                sleep_until(opened + ms(20_000)).await;
                judge(&db, &burst, &later)
            },
        )
    })
}

/// Uploads the reports all at once, and says how they were answered.
async fn send<I>(
    upload: &impl AsyncFn(&I, Report) -> Status,
    intake: &I,
    reports: std::ops::RangeInclusive<u32>,
) -> Result<Vec<Upload>, harness::Failure> {
    let (first, last) = (Report::new(*reports.start()), Report::new(*reports.end()));
    let uploads = reports.map(|n| async move {
        let (report, asked) = (Report::new(n), now());
        let status = upload(intake, report).await;
        Upload {
            report,
            asked,
            answered: now(),
            status,
        }
    });
    let uploads = within(
        format!("the uploads of {first} to {last}"),
        join_all(uploads),
    )
    .await?;
    let accepted = uploads
        .iter()
        .filter(|u| u.status == Status::Accepted)
        .count();
    let last_answer = uploads.iter().map(|u| u.answered).max().unwrap_or_default();
    say!(
        "patients: {first} to {last} sent: {accepted} answered 202, {} answered 503, the last answer at {}",
        uploads.len() - accepted,
        secs(last_answer)
    );
    Ok(uploads)
}

fn judge(db: &Database, burst: &[Upload], later: &[Upload]) -> harness::Outcome {
    let mut rules = Rules::new();
    for upload in burst.iter().chain(later) {
        let (report, waited) = (upload.report, upload.answered - upload.asked);
        rules.expect(waited.is_zero(), || {
            format!(
                "{report} was answered {} only at {}, {} after its upload: the queue was full and \
                 the upload waited for a place. Answer at once: 503 when the queue is full",
                upload.status,
                secs(upload.answered),
                secs(waited)
            )
        });
    }
    // Only answers given while the database was down say how much the
    // intake promised that it could not yet keep.
    let accepted = burst
        .iter()
        .filter(|u| u.status == Status::Accepted && u.answered < UP_AT)
        .count();
    // The worker may hold one report of the burst besides the queue's.
    rules.expect(accepted <= PLACES + 1, || {
        format!(
            "while the database was down the intake accepted {accepted} of {BURST} reports, with \
             a queue of {PLACES} places: {} promises more than the queue can hold. A bigger \
             queue, or one outside the queue, only hides the overload (lesson 07)",
            accepted - PLACES
        )
    });
    rules.expect(accepted >= PLACES, || {
        format!(
            "while the database was down the intake accepted only {accepted} of {BURST} \
             reports, though its queue has {PLACES} places"
        )
    });
    for upload in later {
        rules.expect(upload.status == Status::Accepted, || {
            format!(
                "{} was refused at {} though the database was back and the queue empty",
                upload.report,
                secs(upload.asked)
            )
        });
    }
    for upload in burst.iter().chain(later) {
        let stored = db.stored(upload.report);
        match (upload.status, stored.len()) {
            (Status::Accepted, 1) | (Status::Busy, 0) => {}
            (Status::Accepted, 0) => rules.broken(format!(
                "{} was answered 202 Accepted but never stored: a lost report",
                upload.report
            )),
            (Status::Busy, _) => rules.broken(format!(
                "{} was answered 503, yet stored at {}: the app will send it again, and it will \
                 be stored twice",
                upload.report,
                secs(stored[0])
            )),
            (Status::Accepted, n) => {
                rules.broken(format!("{} was stored {n} times", upload.report))
            }
        }
    }
    rules.verdict()
}

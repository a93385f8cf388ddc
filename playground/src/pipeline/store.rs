//! The database: one std thread owns the SQLite connection.
//!
//! rusqlite calls block, and a blocked tokio worker thread stalls every task
//! scheduled on it. So async code never touches the connection: it sends a
//! job down a channel to the `db-writer` thread and awaits the answer on a
//! oneshot. A report counts as stored only when that answer says its
//! transaction committed.
//!
//! **Batches, twice.** A worker sends the reports it took off the queue
//! together (up to [`MAX_BATCH`]), and the writer takes every job waiting
//! into one transaction. When the queue is deep, one commit carries hundreds
//! of reports, which is what keeps SQLite up with a burst: a commit costs
//! the same whether it carries one report or 256.
//!
//! **Cheap per row.** The statements are prepared once per transaction, the
//! timestamps are formatted here ([`iso_utc`]) rather than by SQLite's
//! `strftime` for every row, and the audit log's `CHECK` compares with `=`:
//! `event IN ('received', 'stored', 'flagged')` made SQLite build a
//! temporary table for every row it checked. Together that was two thirds of
//! the writer's instructions per report.
//!
//! Tables (created if missing):
//!
//! - `reports`: one row per stored report, text already de-identified;
//! - `audit_log`: append-only (triggers refuse UPDATE and DELETE): `received`,
//!   `stored`, and `flagged` when the scorer raised an alert;
//! - `alerts`: the score and the reasons behind it, for flagged reports.
//!
//! A report, its audit rows and its alert are written in one transaction:
//! either all of them are there or none is.

use std::thread;

use anyhow::{Context, anyhow};
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{mpsc, oneshot};

use crate::pipeline::report::{ReportId, Status, now_ms};
use crate::pipeline::risk::Risk;

/// Reports a worker takes off the queue, and stores, together at most.
pub const MAX_BATCH: usize = 256;

/// Reports written in one transaction at most: the writer stops taking jobs
/// into a transaction once it holds this many.
const MAX_ROWS_PER_COMMIT: usize = 4 * MAX_BATCH;

/// Room in the channel to the writer. When it is full, workers wait for the
/// writer: backpressure from the database up to the queue.
const JOB_CHANNEL: usize = 1024;

/// The database file's page cache: room for a drain's worth of index pages.
/// (SQLite's default is 2 MiB; in KiB when negative.)
const CACHE_KIB: i64 = 32 * 1024;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS reports (
    id          TEXT PRIMARY KEY,
    patient_id  TEXT NOT NULL,
    trial_id    TEXT NOT NULL,
    report_text TEXT NOT NULL,     -- de-identified
    risk_score  INTEGER NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('stored', 'flagged')),
    received_at TEXT NOT NULL,     -- UTC, ISO 8601
    stored_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id TEXT NOT NULL,
    -- `=`, not `IN (...)`: SQLite checks a list of three with a temporary table.
    event     TEXT NOT NULL
              CHECK (event = 'received' OR event = 'stored' OR event = 'flagged'),
    at        TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TABLE IF NOT EXISTS alerts (
    report_id TEXT PRIMARY KEY REFERENCES reports(id),
    score     INTEGER NOT NULL,
    reasons   TEXT NOT NULL,       -- JSON array of sentences
    at        TEXT NOT NULL
);
";

const INSERT_REPORT: &str = "
    INSERT OR ROLLBACK INTO reports (id, patient_id, trial_id, report_text, risk_score, status,
                         received_at, stored_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
const INSERT_AUDIT: &str = "
    INSERT OR ROLLBACK INTO audit_log (report_id, event, at)
    VALUES (?1, 'received', ?2), (?1, 'stored', ?3)";
const INSERT_AUDIT_FLAGGED: &str = "
    INSERT OR ROLLBACK INTO audit_log (report_id, event, at)
    VALUES (?1, 'received', ?2), (?1, 'stored', ?3), (?1, 'flagged', ?3)";
const INSERT_ALERT: &str = "
    INSERT OR ROLLBACK INTO alerts (report_id, score, reasons, at) VALUES (?1, ?2, ?3, ?4)";

/// A report ready for the database: de-identified and scored.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub id: ReportId,
    pub patient_id: String,
    pub trial_id: String,
    pub report_text: String,
    pub risk: Risk,
    pub received_at_ms: i64,
}

/// A stored report, or why it was not stored.
pub type Stored = (NewReport, Result<(), String>);

enum Job {
    Store(Vec<NewReport>, oneshot::Sender<Vec<Stored>>),
    Lookup(ReportId, oneshot::Sender<Result<Option<Status>, String>>),
    Close(oneshot::Sender<()>),
}

impl Job {
    /// Rows this job writes.
    fn rows(&self) -> usize {
        match self {
            Job::Store(reports, _) => reports.len(),
            Job::Lookup(..) | Job::Close(_) => 0,
        }
    }
}

/// A handle to the writer thread. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    jobs: mpsc::Sender<Job>,
}

impl Db {
    /// Opens (or creates) the database and starts the writer thread. `path` may
    /// be `:memory:`. Errors here are startup errors: a bad path, a file that is
    /// not a database.
    pub fn open(path: &str) -> anyhow::Result<Db> {
        let conn = Connection::open(path).with_context(|| format!("opening database {path}"))?;
        if path != ":memory:" {
            // WAL lets readers (a trainer's sqlite3 shell, the tests) look while
            // the writer writes; NORMAL is durable across a crash of this process.
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| {
                row.get::<_, String>(0)
            })
            .context("switching the database to WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        conn.execute_batch(SCHEMA)
            .with_context(|| format!("creating the tables in {path}"))?;

        let (jobs, rx) = mpsc::channel(JOB_CHANNEL);
        thread::Builder::new()
            .name("db-writer".into())
            .spawn(move || run_writer(conn, rx))
            .context("starting the database thread")?;
        Ok(Db { jobs })
    }

    /// Stores reports with their audit rows (and alerts), in one transaction
    /// if it can, returning once it has committed: each report with whether it
    /// was stored. If the transaction fails, each report is tried in its own,
    /// so that one bad row cannot sink the others.
    pub async fn store(&self, reports: Vec<NewReport>) -> anyhow::Result<Vec<Stored>> {
        let (done, answer) = oneshot::channel();
        self.send(Job::Store(reports, done)).await?;
        answer
            .await
            .map_err(|_| anyhow!("the database thread stopped"))
    }

    /// `stored` or `flagged` for a stored report, `None` if there is no such row.
    pub async fn lookup(&self, id: ReportId) -> anyhow::Result<Option<Status>> {
        let (done, answer) = oneshot::channel();
        self.send(Job::Lookup(id, done)).await?;
        answer
            .await
            .map_err(|_| anyhow!("the database thread stopped"))?
            .map_err(|e| anyhow!(e))
    }

    /// Finishes the jobs already sent, closes the connection (checkpointing the
    /// WAL into the main file) and stops the thread.
    pub async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.send(Job::Close(done)).await.is_ok() {
            let _ = closed.await;
        }
    }

    async fn send(&self, job: Job) -> anyhow::Result<()> {
        self.jobs
            .send(job)
            .await
            .map_err(|_| anyhow!("the database thread has stopped"))
    }
}

/// The writer thread: take every job waiting, write them in one
/// transaction, answer.
fn run_writer(mut conn: Connection, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::new();
    // `blocking_recv` parks this (non-tokio) thread until a job arrives; it
    // returns `None` once every `Db` handle is gone.
    while let Some(first) = jobs.blocking_recv() {
        let mut rows = first.rows();
        batch.push(first);
        while rows < MAX_ROWS_PER_COMMIT {
            match jobs.try_recv() {
                Ok(job) => {
                    rows += job.rows();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }

        let mut stores = Vec::new();
        let mut lookups = Vec::new();
        let mut close = None;
        for job in batch.drain(..) {
            match job {
                Job::Store(reports, done) => stores.push((reports, done)),
                Job::Lookup(id, done) => lookups.push((id, done)),
                Job::Close(done) => close = Some(done),
            }
        }

        if !stores.is_empty() {
            let all: Vec<&NewReport> = stores.iter().flat_map(|(r, _)| r).collect();
            let mut results = write_batch(&mut conn, &all).into_iter();
            for (reports, done) in stores {
                let answer = reports.into_iter().zip(results.by_ref()).collect();
                // The worker may have given up waiting (shutdown deadline); the
                // rows are committed all the same.
                let _ = done.send(answer);
            }
        }
        for (id, done) in lookups {
            let _ = done.send(lookup(&conn, id).map_err(|e| e.to_string()));
        }
        if let Some(done) = close {
            drop(conn);
            let _ = done.send(());
            return;
        }
    }
}

// ANCHOR: write_batch
/// Writes all reports in one transaction. If that fails, each report gets its
/// own transaction, so one bad row cannot sink the others.
fn write_batch(conn: &mut Connection, reports: &[&NewReport]) -> Vec<Result<(), String>> {
    let all_at_once = (|| {
        let tx = conn.transaction()?;
        insert(&tx, reports)?;
        tx.commit()
    })();
    match all_at_once {
        Ok(()) => reports.iter().map(|_| Ok(())).collect(),
        Err(_) => reports
            .iter()
            .map(|report| {
                let tx = conn.transaction()?;
                insert(&tx, &[report])?;
                tx.commit()
            })
            .map(|result| result.map_err(|e| e.to_string()))
            .collect(),
    }
}
// ANCHOR_END: write_batch

/// Inserts reports, their audit rows and their alerts, with the statements
/// prepared once for all of them.
fn insert(conn: &Connection, reports: &[&NewReport]) -> rusqlite::Result<()> {
    // One moment for the whole transaction: it commits as one.
    let now = iso_utc(now_ms());
    let mut report_row = conn.prepare_cached(INSERT_REPORT)?;
    let mut audit = conn.prepare_cached(INSERT_AUDIT)?;
    for report in reports {
        let id = report.id.to_string();
        let flagged = report.risk.is_flagged();
        let status = if flagged {
            Status::Flagged
        } else {
            Status::Stored
        };
        let received_at = iso_utc(report.received_at_ms);
        report_row.execute(params![
            id,
            report.patient_id,
            report.trial_id,
            report.report_text,
            report.risk.score,
            status.as_str(),
            received_at,
            now,
        ])?;
        if !flagged {
            audit.execute(params![id, received_at, now])?;
            continue;
        }
        // About one report in eight: its own statements, prepared when needed.
        let reasons = serde_json::to_string(&report.risk.reasons)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        conn.prepare_cached(INSERT_AUDIT_FLAGGED)?
            .execute(params![id, received_at, now])?;
        conn.prepare_cached(INSERT_ALERT)?
            .execute(params![id, report.risk.score, reasons, now])?;
    }
    Ok(())
}

fn lookup(conn: &Connection, id: ReportId) -> rusqlite::Result<Option<Status>> {
    let status: Option<String> = conn
        .prepare_cached("SELECT status FROM reports WHERE id = ?1")?
        .query_row(params![id.to_string()], |row| row.get(0))
        .optional()?;
    Ok(status.map(|s| {
        if s == "flagged" {
            Status::Flagged
        } else {
            Status::Stored
        }
    }))
}

/// `2024-05-13T08:30:05.123Z`, UTC, from milliseconds since the Unix epoch:
/// the text SQLite's `strftime('%Y-%m-%dT%H:%M:%fZ', ms / 1000.0, 'unixepoch')`
/// gives, without its date parser running for every row. Written digit by
/// digit: `format!` with its padding costs ten times as much, per row.
pub fn iso_utc(ms: i64) -> String {
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (year, month, day) = civil_from_days(days);
    let fields = [
        (year, 4, b'-'),
        (month, 2, b'-'),
        (day, 2, b'T'),
        (ms_of_day / 3_600_000, 2, b':'),
        (ms_of_day / 60_000 % 60, 2, b':'),
        (ms_of_day / 1000 % 60, 2, b'.'),
        (ms_of_day % 1000, 3, b'Z'),
    ];
    let mut text = Vec::with_capacity(24);
    for (value, digits, then) in fields {
        // Years before 0 or after 9999 do not fit ISO's four digits.
        let value = value.clamp(0, 9999);
        for place in (0..digits).rev() {
            let digit = value / 10_i64.pow(place) % 10;
            text.push(b'0' + digit as u8);
        }
        text.push(then);
    }
    String::from_utf8(text).unwrap_or_default()
}

/// The date `days` after 1970-01-01, in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`, <https://howardhinnant.github.io/date_algorithms.html>).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months counted from March, so that February's leap day comes last.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_as_sqlite_writes_them() {
        let conn = Connection::open_in_memory().unwrap();
        let sqlite = |ms: i64| -> String {
            conn.query_row(
                "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', ?1 / 1000.0, 'unixepoch')",
                [ms],
                |row| row.get(0),
            )
            .unwrap()
        };
        let mut samples = vec![
            0,
            1,
            999,
            86_399_999,
            86_400_000,
            951_782_400_000,   // 2000-02-29
            1_715_589_005_123, // 2024-05-13T08:30:05.123Z
            4_107_542_399_999, // 2100-02-28T23:59:59.999Z (not a leap year)
        ];
        // And a spread of moments over three centuries.
        let mut x: i64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push(x.rem_euclid(10_000_000_000_000));
        }
        for ms in samples {
            assert_eq!(iso_utc(ms), sqlite(ms), "{ms} ms");
        }
    }
}

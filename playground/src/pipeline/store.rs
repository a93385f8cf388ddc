//! The database: one std thread owns the SQLite connection.
//!
//! rusqlite calls block, and a blocked tokio worker thread stalls every task
//! scheduled on it. So async code never touches the connection: it sends a
//! job down a channel to the `db-writer` thread and awaits the answer on a
//! oneshot. A report counts as stored only when that answer says its
//! transaction committed.
//!
//! The writer takes everything waiting (up to [`MAX_BATCH`] jobs) into one
//! transaction. With one worker that is one report per commit; when the queue
//! is deep and many workers are waiting, one commit carries them all, which is
//! what keeps SQLite up with a burst.
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

use crate::pipeline::report::{ReportId, Status};
use crate::pipeline::risk::Risk;

/// Jobs taken into one transaction at most.
pub const MAX_BATCH: usize = 256;

/// Room in the channel to the writer. When it is full, workers wait for the
/// writer: backpressure from the database up to the queue.
const JOB_CHANNEL: usize = 1024;

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
    event     TEXT NOT NULL CHECK (event IN ('received', 'stored', 'flagged')),
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

/// SQL turning milliseconds since the epoch into `2024-05-13T08:30:00.123Z`.
const ISO_FROM_MS: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', ?1 / 1000.0, 'unixepoch')";
const ISO_NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

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

enum Job {
    Store(NewReport, oneshot::Sender<Result<(), String>>),
    Lookup(ReportId, oneshot::Sender<Result<Option<Status>, String>>),
    Close(oneshot::Sender<()>),
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
        conn.execute_batch(SCHEMA)
            .with_context(|| format!("creating the tables in {path}"))?;

        let (jobs, rx) = mpsc::channel(JOB_CHANNEL);
        thread::Builder::new()
            .name("db-writer".into())
            .spawn(move || run_writer(conn, rx))
            .context("starting the database thread")?;
        Ok(Db { jobs })
    }

    /// Stores a report with its audit rows (and alert), returning once the
    /// transaction has committed.
    pub async fn store(&self, report: NewReport) -> anyhow::Result<()> {
        let (done, answer) = oneshot::channel();
        self.send(Job::Store(report, done)).await?;
        answer
            .await
            .map_err(|_| anyhow!("the database thread stopped"))?
            .map_err(|e| anyhow!(e))
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

/// The writer thread: take a batch, write it in one transaction, answer.
fn run_writer(mut conn: Connection, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // `blocking_recv` parks this (non-tokio) thread until a job arrives; it
    // returns `None` once every `Db` handle is gone.
    while let Some(first) = jobs.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }

        let mut stores = Vec::new();
        let mut lookups = Vec::new();
        let mut close = None;
        for job in batch.drain(..) {
            match job {
                Job::Store(report, done) => stores.push((report, done)),
                Job::Lookup(id, done) => lookups.push((id, done)),
                Job::Close(done) => close = Some(done),
            }
        }

        if !stores.is_empty() {
            let reports: Vec<&NewReport> = stores.iter().map(|(r, _)| r).collect();
            let results = write_batch(&mut conn, &reports);
            for ((_, done), result) in stores.into_iter().zip(results) {
                // The worker may have given up waiting (shutdown deadline); the
                // row is committed all the same.
                let _ = done.send(result.map_err(|e| e.to_string()));
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
/// own transaction, so one bad row cannot sink the other 255.
fn write_batch(conn: &mut Connection, reports: &[&NewReport]) -> Vec<rusqlite::Result<()>> {
    let all_at_once = (|| {
        let tx = conn.transaction()?;
        for report in reports {
            insert(&tx, report)?;
        }
        tx.commit()
    })();
    match all_at_once {
        Ok(()) => reports.iter().map(|_| Ok(())).collect(),
        Err(_) => reports
            .iter()
            .map(|report| {
                let tx = conn.transaction()?;
                insert(&tx, report)?;
                tx.commit()
            })
            .collect(),
    }
}
// ANCHOR_END: write_batch

fn insert(conn: &Connection, report: &NewReport) -> rusqlite::Result<()> {
    let id = report.id.to_string();
    let status = if report.risk.is_flagged() {
        Status::Flagged
    } else {
        Status::Stored
    };
    conn.prepare_cached(&format!(
        "INSERT INTO reports (id, patient_id, trial_id, report_text, risk_score, status,
                              received_at, stored_at)
         VALUES (?2, ?3, ?4, ?5, ?6, ?7, {ISO_FROM_MS}, {ISO_NOW})"
    ))?
    .execute(params![
        report.received_at_ms,
        id,
        report.patient_id,
        report.trial_id,
        report.report_text,
        report.risk.score,
        status.as_str(),
    ])?;
    conn.prepare_cached(&format!(
        "INSERT INTO audit_log (report_id, event, at) VALUES
             (?2, 'received', {ISO_FROM_MS}),
             (?2, 'stored', {ISO_NOW})"
    ))?
    .execute(params![report.received_at_ms, id])?;
    if report.risk.is_flagged() {
        let reasons = serde_json::to_string(&report.risk.reasons)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        conn.prepare_cached(&format!(
            "INSERT INTO audit_log (report_id, event, at) VALUES (?1, 'flagged', {ISO_NOW})"
        ))?
        .execute(params![id])?;
        conn.prepare_cached(&format!(
            "INSERT INTO alerts (report_id, score, reasons, at) VALUES (?1, ?2, ?3, {ISO_NOW})"
        ))?
        .execute(params![id, report.risk.score, reasons])?;
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

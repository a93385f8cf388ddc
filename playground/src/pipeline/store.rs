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
//! **Group commit.** The durable intake's uploads ([`Db::append`]) are jobs
//! like any other: every upload waiting while the writer was busy goes into
//! the next transaction, together with the batches waiting to be stored, and
//! the whole transaction costs one fsync. Nothing waits on purpose for more
//! uploads to arrive: the fsync itself is the wait during which the next
//! group gathers. (See `designs/durable.rs`.)
//!
//! **Durable.** The file is in WAL mode with `synchronous=FULL`: a commit
//! returns once the WAL is synced to disk, so it survives a power cut, not
//! only a crash of this process. The WAL hook counts what that costs
//! ([`WriterStats`]).
//!
//! **Cheap per row.** The statements are prepared once per transaction, the
//! timestamps are formatted here ([`iso_utc`]) rather than by SQLite's
//! `strftime` for every row, and the audit log's `CHECK` compares with `=`:
//! `event IN ('received', 'stored', 'flagged')` made SQLite build a
//! temporary table for every row it checked. `INSERT OR ROLLBACK` lets a
//! statement that fails roll the transaction back (the writer then tries each
//! report on its own), so SQLite keeps no journal per statement.
//!
//! Tables (created if missing):
//!
//! - `inbox`: reports the durable intake accepted and that are not stored
//!   yet, text already de-identified; a report's row goes in the
//!   transaction that stores it;
//! - `reports`: one row per stored report, text already de-identified;
//! - `audit_log`: append-only (triggers refuse UPDATE and DELETE): `received`,
//!   `stored`, and `flagged` when the scorer raised an alert;
//! - `alerts`: the score and the reasons behind it, for flagged reports.
//!
//! A report, its audit rows, its alert and the removal of its inbox row are
//! written in one transaction: either all of them happen or none does. So a
//! report is stored exactly once, however the process dies.

use std::ffi::c_int;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::{slice, thread};

use anyhow::{Context, anyhow};
use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tokio::sync::{mpsc, oneshot};

use crate::pipeline::report::{EproUpload, Report, ReportId, Status, now_ms};
use crate::pipeline::risk::Risk;

/// Reports a worker takes off the queue, and stores, together at most.
pub const MAX_BATCH: usize = 256;

/// Reports written in one transaction at most: the writer stops taking jobs
/// into a transaction once it holds this many.
const MAX_ROWS_PER_COMMIT: usize = 4 * MAX_BATCH;

/// Room in the channel to the writer. When it is full, workers and uploads
/// wait for the writer: backpressure from the database up to the intake.
const JOB_CHANNEL: usize = 1024;

/// Frames in the WAL after which the writer copies them into the database
/// file (a checkpoint): SQLite's own default, done by our WAL hook instead
/// of SQLite's so that its fsyncs are counted.
const CHECKPOINT_FRAMES: c_int = 1000;

/// The schema's version, in the file's `user_version`: 2 added the inbox,
/// 3 took the index off its `id` (see [`migrate_to_3`]).
const SCHEMA_VERSION: i64 = 3;

const SCHEMA: &str = "
-- No index on `id`: we make the ids, unique by construction, and nothing
-- looks a report up here by id (memory knows what the inbox holds). Keeping
-- a second B-tree in order cost each durable upload 4,600 instructions, a
-- tenth of them (callgrind; the recipe is in examples/accept_bench.rs).
CREATE TABLE IF NOT EXISTS inbox (
    seq            INTEGER PRIMARY KEY,   -- the order they were accepted in
    id             TEXT NOT NULL,
    patient_id     TEXT NOT NULL,
    trial_id       TEXT NOT NULL,
    report_data    TEXT NOT NULL,         -- de-identified
    received_at_ms INTEGER NOT NULL
);
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

const INSERT_INBOX: &str = "
    INSERT OR ROLLBACK INTO inbox (id, patient_id, trial_id, report_data, received_at_ms)
    VALUES (?1, ?2, ?3, ?4, ?5)";
const DELETE_INBOX: &str = "DELETE FROM inbox WHERE seq = ?1";
const INSERT_REPORT: &str = "
    INSERT OR ROLLBACK INTO reports (id, patient_id, trial_id, report_text, risk_score,
                                     status, received_at, stored_at)
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
    /// Its inbox row, deleted in the transaction that stores it.
    pub inbox_seq: Option<i64>,
}

/// A stored report, or why it was not stored.
pub type Stored = (NewReport, Written);

/// Whether a row made it into a committed transaction, or why not.
pub type Written = Result<(), String>;

/// What the database thread does with a batch's results after the commit.
type AfterCommit = Box<dyn FnOnce(Vec<Stored>) + Send>;

/// What the writer thread has done so far, for `/stats`: each an
/// independent tally, read with relaxed loads.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Transactions committed (every one of them writes).
    pub commits: AtomicU64,
    /// Reports those commits carried: each upload appended to the inbox,
    /// and each report stored, counts once.
    pub reports_committed: AtomicU64,
    /// fsyncs SQLite made for those commits; see [`count_syncs`].
    pub fsyncs: AtomicU64,
}

enum Job {
    Append(Report, oneshot::Sender<Result<Report, String>>),
    Store(Vec<NewReport>, AfterCommit, oneshot::Sender<()>),
    Lookup(ReportId, oneshot::Sender<Result<Option<Status>, String>>),
    Close(oneshot::Sender<()>),
}

impl Job {
    /// Rows this job writes.
    fn rows(&self) -> usize {
        match self {
            Job::Append(..) => 1,
            Job::Store(reports, ..) => reports.len(),
            Job::Lookup(..) | Job::Close(_) => 0,
        }
    }
}

/// A handle to the writer thread. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    jobs: mpsc::Sender<Job>,
    shared: Arc<Shared>,
}

struct Shared {
    stats: WriterStats,
    /// Reports found in the inbox at start, until `Clinic::start` takes them.
    recovered: Mutex<Vec<Report>>,
    /// False for `:memory:`, where nothing survives the process anyway.
    on_disk: bool,
}

impl Db {
    /// Opens (or creates) the database, reads what the inbox holds from
    /// before (see [`Db::take_recovered`]), and starts the writer thread.
    /// `path` may be `:memory:`. Errors here are startup errors: a bad path, a
    /// file that is not a database.
    pub fn open(path: &str) -> anyhow::Result<Db> {
        let mut conn =
            Connection::open(path).with_context(|| format!("opening database {path}"))?;
        let on_disk = path != ":memory:";
        if on_disk {
            // WAL lets readers (a trainer's sqlite3 shell, the tests) look while
            // the writer writes; FULL syncs the WAL at every commit, so that a
            // commit survives a power cut, not only a crash of this process.
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| {
                row.get::<_, String>(0)
            })
            .context("switching the database to WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
        }
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if version == 2 {
            migrate_to_3(&mut conn).with_context(|| format!("updating the inbox in {path}"))?;
        }
        conn.execute_batch(SCHEMA)
            .with_context(|| format!("creating the tables in {path}"))?;
        // Also the first commit of this run, which syncs what only a first
        // commit syncs (the WAL's header and, for a new WAL file, its
        // folder), before the hook below starts counting.
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        let recovered =
            read_inbox(&conn).with_context(|| format!("reading the inbox in {path}"))?;

        let shared = Arc::new(Shared {
            stats: WriterStats::default(),
            recovered: Mutex::new(recovered),
            on_disk,
        });
        if on_disk {
            count_syncs(&mut conn, shared.clone())?;
        }
        let (jobs, rx) = mpsc::channel(JOB_CHANNEL);
        let writer_shared = shared.clone();
        thread::Builder::new()
            .name("db-writer".into())
            .spawn(move || run_writer(conn, rx, &writer_shared.stats))
            .context("starting the database thread")?;
        Ok(Db { jobs, shared })
    }

    /// True unless the database is `:memory:`.
    pub fn is_on_disk(&self) -> bool {
        self.shared.on_disk
    }

    /// The reports the inbox held when the database was opened: accepted
    /// before the last stop and never stored. Oldest first; empty after the
    /// first call.
    pub fn take_recovered(&self) -> Vec<Report> {
        let mut recovered = self
            .shared
            .recovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        std::mem::take(&mut *recovered)
    }

    /// What the writer has done so far.
    pub fn stats(&self) -> &WriterStats {
        &self.shared.stats
    }

    // ANCHOR: append
    /// Sends `report` to the writer, to be written to the inbox; the
    /// [`Appended`] it returns completes with the report, and its inbox row,
    /// once the transaction is committed and synced to disk. Uploads appended
    /// while the writer is busy share the next transaction and its fsync.
    pub async fn append(&self, report: Report) -> anyhow::Result<Appended> {
        let (done, answer) = oneshot::channel();
        self.send(Job::Append(report, done)).await?;
        Ok(Appended(answer))
    }
    // ANCHOR_END: append

    /// Stores reports with their audit rows (and alerts), in one transaction
    /// if it can, and returns once it has committed. If the transaction
    /// fails, each report is tried in its own, so that one bad row cannot
    /// sink the others.
    ///
    /// `noted` gets each report with whether it was stored, on the database
    /// thread, right after the commit and before the next job: so once
    /// [`Db::close`] has returned, every commit has been noted, even those
    /// whose worker stopped waiting (a drain deadline that passed).
    pub async fn store(
        &self,
        reports: Vec<NewReport>,
        noted: impl FnOnce(Vec<Stored>) + Send + 'static,
    ) -> anyhow::Result<()> {
        let (done, answer) = oneshot::channel();
        self.send(Job::Store(reports, Box::new(noted), done))
            .await?;
        answer
            .await
            .map_err(|_| anyhow!("the database thread stopped"))
    }

    /// Whether the database has stored a report: `stored` or `flagged`, or
    /// `None`. (A report waiting in the inbox is in memory too, as every
    /// report in flight is: `InFlight` answers for it.)
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

/// A report on its way into the inbox: awaited, it gives the report back once
/// its transaction is committed. The writer commits it whether or not anyone
/// awaits this.
pub struct Appended(oneshot::Receiver<Result<Report, String>>);

impl std::future::Future for Appended {
    type Output = anyhow::Result<Report>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|answer| {
            answer
                .map_err(|_| anyhow!("the database thread stopped"))?
                .map_err(|e| anyhow!(e))
        })
    }
}

/// A file from before version 3: its inbox's `id` is `UNIQUE`, an index
/// SQLite cannot drop on its own. So the table is made again without it,
/// with the rows it holds, in one transaction: a crash halfway leaves the
/// old table as it was.
fn migrate_to_3(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    tx.execute_batch("ALTER TABLE inbox RENAME TO inbox_v2")?;
    tx.execute_batch(SCHEMA)?;
    tx.execute_batch(
        "INSERT INTO inbox SELECT * FROM inbox_v2;
         DROP TABLE inbox_v2;",
    )?;
    tx.pragma_update(None, "user_version", 3)?;
    tx.commit()
}

/// The reports in the inbox, oldest first.
fn read_inbox(conn: &Connection) -> anyhow::Result<Vec<Report>> {
    let mut select = conn.prepare(
        "SELECT seq, id, patient_id, trial_id, report_data, received_at_ms
         FROM inbox ORDER BY seq",
    )?;
    let rows = select.query_map([], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, String>(1)?,
            EproUpload {
                patient_id: row.get(2)?,
                trial_id: row.get(3)?,
                report_data: row.get(4)?,
            },
            row.get::<_, i64>(5)?,
        ))
    })?;
    let mut reports = Vec::new();
    for row in rows {
        let (seq, id, upload, received_at_ms) = row?;
        let id = id
            .parse()
            .with_context(|| format!("inbox row {seq}: {id:?} is not a report id"))?;
        reports.push(Report {
            id,
            upload,
            received_at_ms,
            inbox_seq: Some(seq),
        });
    }
    Ok(reports)
}

// ANCHOR: count_syncs
/// Counts the fsyncs SQLite makes, from its WAL hook, which it calls after
/// every commit with the number of frames (pages) in the WAL. In WAL mode
/// with `synchronous=FULL`, SQLite syncs the WAL file:
///
/// - once at every commit, before the commit returns;
/// - once more when a commit starts the WAL over from its first frame (after
///   a checkpoint copied all of it), for the new header: the frame count
///   then falls instead of growing;
/// - and a checkpoint that copies frames syncs the WAL before copying and,
///   if it copied them all, the database file after.
///
/// The hook also does the checkpoints, every [`CHECKPOINT_FRAMES`] frames,
/// as SQLite's default hook would. `strace -f -e trace=fsync,fdatasync`
/// agrees with this count (the playground chapter shows a run).
fn count_syncs(conn: &mut Connection, shared: Arc<Shared>) -> rusqlite::Result<()> {
    let mut frames_before = 0;
    let mut copied = 0;
    conn.wal_hook(Some(move |wal: &mut Wal, frames: c_int| {
        let mut syncs = 1;
        if frames <= frames_before {
            syncs += 1;
            copied = 0;
        }
        frames_before = frames;
        if frames >= CHECKPOINT_FRAMES {
            let (in_wal, in_file) = wal.checkpoint_v2(CheckpointMode::PASSIVE)?;
            if in_file > copied {
                syncs += if in_file == in_wal { 2 } else { 1 };
                copied = in_file;
            }
        }
        shared.stats.fsyncs.fetch_add(syncs, Relaxed);
        Ok(())
    }))
}
// ANCHOR_END: count_syncs

/// The writer thread: take every job waiting, write them in one
/// transaction, answer.
fn run_writer(mut conn: Connection, mut jobs: mpsc::Receiver<Job>, stats: &WriterStats) {
    let mut batch = Vec::new();
    // `blocking_recv` parks this (non-tokio) thread until a job arrives; it
    // returns `None` once every `Db` handle is gone.
    while let Some(first) = jobs.blocking_recv() {
        let mut rows = first.rows();
        batch.push(first);
        // ANCHOR: group
        // Everything that arrived while the last transaction was syncing.
        while rows < MAX_ROWS_PER_COMMIT {
            match jobs.try_recv() {
                Ok(job) => {
                    rows += job.rows();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        // ANCHOR_END: group

        let mut appends = Vec::new();
        let mut stores = Vec::new();
        let mut lookups = Vec::new();
        let mut close = None;
        for job in batch.drain(..) {
            match job {
                Job::Append(report, done) => appends.push((report, done)),
                Job::Store(reports, noted, done) => stores.push((reports, noted, done)),
                Job::Lookup(id, done) => lookups.push((id, done)),
                Job::Close(done) => close = Some(done),
            }
        }

        if !appends.is_empty() || !stores.is_empty() {
            let (mut uploads, waiting): (Vec<Report>, Vec<_>) = appends.into_iter().unzip();
            let rows: Vec<&NewReport> = stores.iter().flat_map(|(r, ..)| r).collect();
            let (appended, stored) = write(&mut conn, &mut uploads, &rows, stats);
            for ((upload, result), done) in uploads.into_iter().zip(appended).zip(waiting) {
                // An upload whose task is gone: it is in the inbox all the
                // same, and the next start stores it.
                let _ = done.send(result.map(|()| upload));
            }
            let mut stored = stored.into_iter();
            for (reports, noted, done) in stores {
                noted(reports.into_iter().zip(stored.by_ref()).collect());
                // The worker may have given up waiting (shutdown deadline); the
                // rows are committed, and counted, all the same.
                let _ = done.send(());
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

// ANCHOR: write
/// Appends `uploads` to the inbox (noting each one's row) and stores
/// `reports`, all in one transaction. If that fails, each upload and each
/// report gets a transaction of its own, so that one bad row cannot sink the
/// others.
fn write(
    conn: &mut Connection,
    uploads: &mut [Report],
    reports: &[&NewReport],
    stats: &WriterStats,
) -> (Vec<Written>, Vec<Written>) {
    let count = uploads.len() + reports.len();
    let all_at_once = commit(conn, stats, count, |tx| {
        append(tx, uploads)?;
        insert(tx, reports)
    });
    if all_at_once.is_ok() {
        return (vec![Ok(()); uploads.len()], vec![Ok(()); reports.len()]);
    }
    let appended = uploads
        .iter_mut()
        .map(|upload| {
            let alone = slice::from_mut(upload);
            commit(conn, stats, 1, |tx| append(tx, alone))
        })
        .collect();
    let stored = reports
        .iter()
        .map(|report| commit(conn, stats, 1, |tx| insert(tx, &[report])))
        .collect();
    (appended, stored)
}
// ANCHOR_END: write

/// Runs `write` in a transaction and commits it, counting the commit and
/// the `reports` it carried.
fn commit(
    conn: &mut Connection,
    stats: &WriterStats,
    reports: usize,
    write: impl FnOnce(&Transaction) -> rusqlite::Result<()>,
) -> Result<(), String> {
    let tx = conn.transaction().map_err(|e| e.to_string())?;
    write(&tx).map_err(|e| e.to_string())?;
    tx.commit().map_err(|e| e.to_string())?;
    stats.commits.fetch_add(1, Relaxed);
    stats.reports_committed.fetch_add(reports as u64, Relaxed);
    Ok(())
}

/// Inserts uploads into the inbox, noting each one's row.
fn append(tx: &Transaction, uploads: &mut [Report]) -> rusqlite::Result<()> {
    if uploads.is_empty() {
        return Ok(());
    }
    let mut insert = tx.prepare_cached(INSERT_INBOX)?;
    for report in uploads {
        let mut id = [0; 36];
        insert.execute(params![
            report.id.encode(&mut id),
            report.upload.patient_id,
            report.upload.trial_id,
            report.upload.report_data,
            report.received_at_ms,
        ])?;
        report.inbox_seq = Some(tx.last_insert_rowid());
    }
    Ok(())
}

/// Inserts reports, their audit rows and their alerts, and deletes their
/// inbox rows, with the statements prepared once for all of them.
fn insert(conn: &Connection, reports: &[&NewReport]) -> rusqlite::Result<()> {
    // A transaction of uploads alone: no clock to read, no statements to find.
    if reports.is_empty() {
        return Ok(());
    }
    // One moment for the whole transaction: it commits as one.
    let now = iso_utc(now_ms());
    let mut report_row = conn.prepare_cached(INSERT_REPORT)?;
    let mut audit = conn.prepare_cached(INSERT_AUDIT)?;
    let mut out_of_inbox = conn.prepare_cached(DELETE_INBOX)?;
    for report in reports {
        let mut id = [0; 36];
        let id = report.id.encode(&mut id);
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
        // ANCHOR: out_of_inbox
        // In the same transaction as the report: stored and out of the inbox
        // together, or neither. So it is stored exactly once.
        if let Some(seq) = report.inbox_seq {
            out_of_inbox.execute([seq])?;
        }
        // ANCHOR_END: out_of_inbox
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

/// `stored` or `flagged`, from `reports`.
fn lookup(conn: &Connection, id: ReportId) -> rusqlite::Result<Option<Status>> {
    let id = id.to_string();
    let status: Option<String> = conn
        .prepare_cached("SELECT status FROM reports WHERE id = ?1")?
        .query_row([&id], |row| row.get(0))
        .optional()?;
    Ok(status.map(|status| {
        if status == "flagged" {
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

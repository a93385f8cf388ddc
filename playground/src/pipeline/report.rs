//! A patient's report on its way through the service, and where to find it.
//!
//! A report is *in flight* from the moment the service accepts it until its row
//! is committed to SQLite. In-flight statuses (`queued`, `processing`) live in
//! memory, in [`InFlight`]; once stored, the database answers. So memory holds
//! only the reports still moving, never every report ever accepted, and at
//! shutdown whatever is left in [`InFlight`] is exactly the list of reports not
//! stored.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use uuid::{NoContext, Timestamp, Uuid};

/// A report's id: a UUIDv7 (RFC 9562), the millisecond it was accepted
/// followed by 74 random bits.
///
/// The random bits are what keeps one patient from guessing the status URL
/// of another patient's report: 2^74 tries. The time in front is for the
/// database: ids that grow with time are appended to the `reports` table's
/// index on `id`, where random ones (UUIDv4) landed all over it, so that
/// every commit rewrote hundreds of index pages and the writer spent most
/// of a drain waiting on the disk. The price: an id tells when its report
/// was accepted, to the millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReportId(Uuid);

impl Hash for ReportId {
    /// The last eight bytes: 62 random bits (the first bytes are the time,
    /// the same for every id of a millisecond).
    fn hash<H: Hasher>(&self, state: &mut H) {
        let bytes = self.0.as_bytes();
        state.write(&bytes[8..]);
    }
}

impl ReportId {
    pub fn new() -> Self {
        Self::at(now_ms())
    }

    /// An id for a report accepted at `ms` (milliseconds since the Unix epoch).
    pub fn at(ms: i64) -> Self {
        let ms = u64::try_from(ms).unwrap_or(0);
        let at = Timestamp::from_unix(NoContext, ms / 1000, (ms % 1000) as u32 * 1_000_000);
        Self(Uuid::new_v7(at))
    }
}

impl ReportId {
    /// The id as text (`0190d1e4-…`), written into `buf`: no allocation.
    pub fn encode<'b>(&self, buf: &'b mut [u8; 36]) -> &'b str {
        self.0.hyphenated().encode_lower(buf)
    }
}

impl Default for ReportId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ReportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for ReportId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

impl Serialize for ReportId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Where a report is. The first two live in memory, the next two in SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Accepted, waiting in the queue for a worker.
    Queued,
    /// A worker (or a fire-and-forget task) is running it through the pipeline.
    Processing,
    /// Committed to the `reports` table.
    Stored,
    /// Committed, and the risk scorer raised an alert.
    Flagged,
    /// The database refused it; the error is in the log. Counts as lost.
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Processing => "processing",
            Status::Stored => "stored",
            Status::Flagged => "flagged",
            Status::Failed => "failed",
        }
    }
}

/// What a patient sent: the body of `/api/epros/upload` and `/data/submit`,
/// already checked (see `designs/intake.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EproUpload {
    pub patient_id: String,
    pub trial_id: String,
    pub report_data: String,
}

/// An accepted upload with its id and the moment it was accepted.
#[derive(Debug, Clone)]
pub struct Report {
    pub id: ReportId,
    pub upload: EproUpload,
    /// Milliseconds since the Unix epoch.
    pub received_at_ms: i64,
    /// Its row in the `inbox` table, if the durable intake put it there: the
    /// transaction that stores the report deletes that row.
    pub inbox_seq: Option<i64>,
}

impl Report {
    pub fn new(upload: EproUpload) -> Self {
        // One reading of the clock for both: the id's time is this moment.
        let received_at_ms = now_ms();
        Self {
            id: ReportId::at(received_at_ms),
            upload,
            received_at_ms,
            inbox_seq: None,
        }
    }
}

/// Milliseconds since the Unix epoch, for the `received_at` column.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis().try_into().unwrap_or(i64::MAX))
}

/// Statuses of the reports not yet stored.
///
/// A std `Mutex`, not tokio's: it is held for one `HashMap` operation (or one
/// batch of them) and never across an `.await`, so a blocking lock is both
/// correct and cheaper (the same reasoning as mini-redis's `db.rs`).
#[derive(Debug, Default)]
pub struct InFlight {
    statuses: Mutex<HashMap<ReportId, InFlightReport, BuildHasherDefault<IdHasher>>>,
}

/// Hashes a [`ReportId`] by its random bits. std's default hasher (SipHash)
/// is keyed so that an attacker cannot choose keys that collide; these keys
/// are ids the service drew itself, 74 random bits each, so their last eight
/// bytes, mixed once, are hash enough, for a tenth of the work.
#[derive(Debug, Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0 ^ u64::from_le_bytes(word)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

#[derive(Debug, Clone, Copy)]
struct InFlightReport {
    status: Status,
    /// Committed to the `inbox` table: safe whatever happens to this process.
    in_inbox: bool,
}

impl InFlight {
    pub fn set(&self, id: ReportId, status: Status) {
        self.set_all(&[id], status);
    }

    /// The same status for a batch of reports, under one lock.
    pub fn set_all(&self, ids: &[ReportId], status: Status) {
        if ids.is_empty() {
            return;
        }
        let mut statuses = self.lock();
        for &id in ids {
            statuses
                .entry(id)
                .and_modify(|report| report.status = status)
                .or_insert(InFlightReport {
                    status,
                    in_inbox: false,
                });
        }
    }

    /// Reports queued that are safe in the `inbox` table.
    pub fn queued_in_inbox(&self, ids: &[ReportId]) {
        let mut statuses = self.lock();
        for &id in ids {
            let queued = InFlightReport {
                status: Status::Queued,
                in_inbox: true,
            };
            statuses.insert(id, queued);
        }
    }

    pub fn get(&self, id: ReportId) -> Option<Status> {
        self.lock().get(&id).map(|report| report.status)
    }

    /// The report is stored: from now on the database answers for it.
    pub fn remove(&self, id: ReportId) {
        self.lock().remove(&id);
    }

    /// A batch of reports is stored, under one lock.
    pub fn remove_all(&self, ids: &[ReportId]) {
        if ids.is_empty() {
            return;
        }
        let mut statuses = self.lock();
        for id in ids {
            statuses.remove(id);
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Every report not stored, sorted so logs are stable: those only this
    /// process knew of (lost if it stops now), and those in the inbox (stored
    /// by the next start).
    pub fn not_stored(&self) -> NotStored {
        let mut not_stored = NotStored::default();
        for (&id, report) in self.lock().iter() {
            if report.in_inbox {
                not_stored.in_inbox.push(id);
            } else {
                not_stored.lost.push(id);
            }
        }
        not_stored.lost.sort();
        not_stored.in_inbox.sort();
        not_stored
    }

    fn lock(
        &self,
    ) -> MutexGuard<'_, HashMap<ReportId, InFlightReport, BuildHasherDefault<IdHasher>>> {
        // Nothing panics while holding this lock, but if something ever did, the
        // map is still consistent (every operation is a single insert/remove),
        // so carry on rather than poison every later request.
        self.statuses.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The reports not stored, at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotStored {
    /// Accepted, and nowhere but in this process's memory.
    pub lost: Vec<ReportId>,
    /// Accepted into the inbox: the next start stores them.
    pub in_inbox: Vec<ReportId>,
}

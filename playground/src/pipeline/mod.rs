//! What happens to every accepted report, whichever way it came in: the
//! article's "validate, de-identify, store, write the audit log, run the risk
//! model", as one async function.
//!
//! ```text
//! normalise ─▶ de-identify ─▶ risk score ─▶ store + audit + alert (one transaction)
//!   (fast)       (slow)          (slow)          (slow: the database thread)
//! ```
//!
//! The cheap checks ran at the door (`designs/intake.rs`), so the client heard
//! about bad input at once; here the text is cleaned for storage. The risk
//! score is computed *before* the write so that the report, its audit trail
//! and its alert commit together: no moment exists where a high-risk report
//! is stored but not yet flagged.
//!
//! **A batch at a time.** A worker hands over every report it took off the
//! queue at once (up to [`store::MAX_BATCH`]), and each stage runs over all
//! of them before the next: one trip to the database thread and one
//! transaction for the batch, one lock of the in-flight map, one update of
//! each counter, one update of the dashboard's lists. What is left per report
//! is the work itself. A batch of 256 is a couple of milliseconds of CPU, too
//! long to hold a runtime thread that also serves HTTP, so the loops yield
//! every [`YIELD_EVERY`] reports.
//!
//! `--work-ms` adds simulated latency, split over the three slow stages, so a
//! trainer can make the queue fill up on a laptop. While it is set, a worker
//! takes one report at a time (`designs/workers.rs`), so it is the latency of
//! each report, as it would be for a model that scores one report per call.

pub mod deidentify;
pub mod report;
pub mod risk;
pub mod store;

use std::borrow::Cow;
use std::mem;
use std::time::Duration;

use tracing::instrument;

use crate::AppState;
use crate::edges::stats::Counters;
use report::{Report, ReportId, Status};
use store::NewReport;

/// Reports processed between two turns given to other tasks.
pub const YIELD_EVERY: usize = 32;

/// Runs a batch of reports through every stage and stores them together.
/// Never fails: a report the database refuses is logged and left in the
/// in-flight map as `failed`, where the shutdown summary will list it.
#[instrument(level = "debug", skip_all, fields(reports = reports.len()))]
pub async fn process(state: &AppState, mut reports: Vec<Report>) {
    let ids: Vec<ReportId> = reports.iter().map(|report| report.id).collect();
    state.in_flight.set_all(&ids, Status::Processing);
    let stage_latency = Duration::from_millis(state.work_ms() / 3);

    // ANCHOR: stages
    simulate(stage_latency).await;
    let mut texts = Vec::with_capacity(reports.len());
    for (i, report) in reports.iter_mut().enumerate() {
        take_turns(i).await;
        texts.push(deidentified(mem::take(&mut report.upload.report_data)));
    }

    // The stand-in for the article's AI model: it reads the masked text only.
    simulate(stage_latency).await;
    let mut rows = Vec::with_capacity(reports.len());
    for (i, (report, text)) in reports.into_iter().zip(texts).enumerate() {
        take_turns(i).await;
        rows.push(NewReport {
            id: report.id,
            risk: risk::score(&text),
            report_text: text,
            patient_id: report.upload.patient_id,
            trial_id: report.upload.trial_id,
            received_at_ms: report.received_at_ms,
            inbox_seq: report.inbox_seq,
        });
    }
    simulate(stage_latency).await;
    // ANCHOR_END: stages

    // ANCHOR: commit
    // Noted on the database thread, at the commit (see `Db::store`).
    let noting = state.clone();
    let stored = state
        .db
        .store(rows, move |stored| note_stored(&noting, stored));
    match stored.await {
        Ok(()) => {}
        Err(e) => {
            tracing::error!("{} reports not stored: {e:#}", ids.len());
            state.in_flight.set_all(&ids, Status::Failed);
            Counters::add(&state.counters.failed, ids.len());
        }
    }
    // ANCHOR_END: commit
}

/// After the commit: the counters, the in-flight map (the database answers
/// for stored reports from now on) and the dashboard's lists.
fn note_stored(state: &AppState, stored: Vec<store::Stored>) {
    let mut done = Vec::with_capacity(stored.len());
    let mut refused = Vec::new();
    for (row, result) in stored {
        match result {
            Ok(()) => done.push(row),
            Err(e) => {
                tracing::error!(id = %row.id, "report not stored: {e}");
                refused.push(row.id);
            }
        }
    }
    let flagged = done.iter().filter(|row| row.risk.is_flagged()).count();
    Counters::add(&state.counters.stored, done.len());
    Counters::add(&state.counters.flagged, flagged);
    Counters::add(&state.counters.failed, refused.len());
    let ids: Vec<ReportId> = done.iter().map(|row| row.id).collect();
    state.in_flight.remove_all(&ids);
    state.in_flight.set_all(&refused, Status::Failed);
    // Their inbox rows went with the commit: room for as many uploads.
    let out_of_inbox = done.iter().filter(|row| row.inbox_seq.is_some()).count();
    state.inbox.give_back(out_of_inbox);
    state.latest.stored(&done);
    tracing::debug!(stored = done.len(), flagged, "stored");
}

/// Every [`YIELD_EVERY`] reports, lets the runtime run other tasks.
async fn take_turns(done_so_far: usize) {
    if done_so_far > 0 && done_so_far % YIELD_EVERY == 0 {
        tokio::task::yield_now().await;
    }
}

/// A report's text as it may be stored: tidied ([`normalise`]), then with
/// every phone number, ID number and e-mail address masked. Doing it twice
/// changes nothing, so text the durable intake cleaned before writing it to
/// the inbox goes through the pipeline's stage unchanged.
pub fn deidentified(text: String) -> String {
    let text = normalise(text);
    // Borrowed back when there was nothing to mask: no copy then.
    match deidentify::mask(&text) {
        Cow::Owned(masked) => masked,
        Cow::Borrowed(_) => text,
    }
}

/// Cleans text for storage: line endings unified, control characters (other
/// than newline and tab) dropped, surrounding blanks trimmed. Most reports
/// need none of it, and are returned as they came, without a copy.
fn normalise(text: String) -> String {
    let kept = |c: char| !c.is_control() || c == '\n' || c == '\t';
    // ASCII's control characters are below the space, and DEL: checked a
    // byte at a time, without decoding characters.
    let clean = if text.is_ascii() {
        text.bytes()
            .all(|b| (b' '..=b'~').contains(&b) || b == b'\n' || b == b'\t')
    } else {
        text.chars().all(kept)
    };
    if clean && text.trim().len() == text.len() {
        return text;
    }
    text.replace("\r\n", "\n")
        .chars()
        .filter(|&c| kept(c))
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A slow stage. Zero means no wait at all, not even a trip to the timer.
async fn simulate(latency: Duration) {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_cleans_ascii_as_it_cleans_any_text() {
        // Every ASCII character between two letters: the byte-wise check for
        // ASCII text must drop exactly what `char::is_control` calls control.
        for byte in 0..=127_u8 {
            let text = format!("a{}b", char::from(byte));
            let kept = if byte == b'\n' || byte == b'\t' || !byte.is_ascii_control() {
                text.clone()
            } else {
                "ab".to_owned()
            };
            assert_eq!(normalise(text), kept, "byte {byte:#04x}");
        }
    }

    #[test]
    fn normalise_cleans_without_changing_words() {
        assert_eq!(normalise("  a\r\nb\u{0}c\td  ".into()), "a\nbc\td");
        assert_eq!(
            normalise("as sent\n\tindented".into()),
            "as sent\n\tindented"
        );
    }
}

//! What happens to every accepted report, whichever way it came in: the
//! article's "validate, de-identify, store, write the audit log, run the risk
//! model", as one async function.
//!
//! ```text
//! normalise ─▶ de-identify ─▶ risk score ─▶ store + audit + alert (one transaction)
//!   (fast)       (slow)          (slow)          (slow: the database thread)
//! ```
//!
//! The cheap checks ran at the door (`designs/intake.rs`), so the client heard about
//! bad input at once; here the text is cleaned for storage. The risk score is
//! computed *before* the write so that the report, its audit trail and its
//! alert commit together: no moment exists where a high-risk report is stored
//! but not yet flagged.
//!
//! `--work-ms` adds simulated latency, split over the three slow stages, so a
//! trainer can make the queue fill up on a laptop.

pub mod deidentify;
pub mod report;
pub mod risk;
pub mod store;

use std::borrow::Cow;
use std::time::Duration;

use tracing::instrument;

use crate::AppState;
use crate::dashboard::latest::{self, StoredReport};
use crate::edges::stats::Counters;
use report::{Report, Status};
use store::NewReport;

/// Runs one report through every stage. Never fails: a report the database
/// refuses is logged and left in the in-flight map as `failed`, where the
/// shutdown summary will list it.
#[instrument(level = "debug", skip_all, fields(report = %report.id))]
pub async fn process(state: &AppState, report: Report) {
    let id = report.id;
    state.in_flight.set(id, Status::Processing);
    let stage_latency = Duration::from_millis(state.work_ms() / 3);

    // ANCHOR: stages
    let text = normalise(report.upload.report_data);

    simulate(stage_latency).await;
    // Borrowed back when there was nothing to mask: no copy then.
    let text = match deidentify::mask(&text) {
        Cow::Owned(masked) => masked,
        Cow::Borrowed(_) => text,
    };

    // The stand-in for the article's AI model: it reads the masked text only.
    simulate(stage_latency).await;
    let risk = risk::score(&text);

    simulate(stage_latency).await;
    let flagged = risk.is_flagged();
    // ANCHOR_END: stages
    // What the dashboard will list once the row is committed.
    let shown = StoredReport {
        id,
        patient_id: report.upload.patient_id.clone(),
        trial_id: report.upload.trial_id.clone(),
        excerpt: latest::excerpt(&text),
        risk_score: risk.score,
        flagged,
        reasons: risk.reasons.clone(),
        received_at_ms: report.received_at_ms,
    };
    let row = NewReport {
        id,
        patient_id: report.upload.patient_id,
        trial_id: report.upload.trial_id,
        report_text: text,
        risk,
        received_at_ms: report.received_at_ms,
    };
    // ANCHOR: commit
    match state.db.store(row).await {
        Ok(()) => {
            Counters::bump(&state.counters.stored);
            if flagged {
                Counters::bump(&state.counters.flagged);
            }
            // Stored: the database answers for it from now on.
            state.in_flight.remove(id);
            state.latest.stored(shown);
            tracing::debug!(flagged, "stored");
        }
        Err(e) => {
            Counters::bump(&state.counters.failed);
            state.in_flight.set(id, Status::Failed);
            tracing::error!(%id, "report not stored: {e:#}");
        }
    }
    // ANCHOR_END: commit
}

/// Cleans text for storage: line endings unified, control characters (other
/// than newline and tab) dropped, surrounding blanks trimmed. Most reports
/// need none of it, and are returned as they came, without a copy.
fn normalise(text: String) -> String {
    let kept = |c: char| !c.is_control() || c == '\n' || c == '\t';
    if text.chars().all(kept) && text.trim().len() == text.len() {
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
    fn normalise_cleans_without_changing_words() {
        assert_eq!(normalise("  a\r\nb\u{0}c\td  ".into()), "a\nbc\td");
        assert_eq!(
            normalise("as sent\n\tindented".into()),
            "as sent\n\tindented"
        );
    }
}

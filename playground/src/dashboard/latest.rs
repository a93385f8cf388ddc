//! The latest stored reports and risk alerts, kept in memory for the
//! dashboard so that it never has to query the database four times a second.
//!
//! The pipeline adds each report once its transaction has committed, so what
//! the dashboard lists is what the database holds: de-identified text, as
//! stored. The text is still what a patient typed, so the templates escape it
//! like everything else (askama does, for every `.html` template).

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::pipeline::report::ReportId;
use crate::pipeline::store::NewReport;

/// Reports listed on the dashboard.
pub const REPORTS_SHOWN: usize = 8;
/// Alerts listed on the dashboard.
pub const ALERTS_SHOWN: usize = 5;
/// Characters of a report's text shown; the rest is in the database.
const EXCERPT_CHARS: usize = 120;

/// A stored report as the dashboard lists it.
#[derive(Debug, Clone)]
pub struct StoredReport {
    pub id: ReportId,
    pub patient_id: String,
    pub trial_id: String,
    /// The start of the de-identified text.
    pub excerpt: String,
    pub risk_score: u32,
    pub flagged: bool,
    /// Why it was flagged, e.g. `chest pain (+5)`; empty if it was not.
    pub reasons: Vec<String>,
    /// When it was accepted, milliseconds since the Unix epoch.
    pub received_at_ms: i64,
}

/// The newest reports and alerts, newest first.
#[derive(Debug, Default)]
pub struct Latest {
    lists: Mutex<Lists>,
}

#[derive(Debug, Default)]
struct Lists {
    reports: VecDeque<StoredReport>,
    alerts: VecDeque<StoredReport>,
}

impl StoredReport {
    fn of(row: &NewReport) -> StoredReport {
        StoredReport {
            id: row.id,
            patient_id: row.patient_id.clone(),
            trial_id: row.trial_id.clone(),
            excerpt: excerpt(&row.report_text),
            risk_score: row.risk.score,
            flagged: row.risk.is_flagged(),
            reasons: row.risk.reasons.clone(),
            received_at_ms: row.received_at_ms,
        }
    }
}

impl Latest {
    /// Notes reports that have just been stored, oldest first. Only the
    /// newest few of a batch can be shown, so only they are copied.
    pub fn stored(&self, rows: &[NewReport]) {
        let newest = rows.iter().rev().take(REPORTS_SHOWN);
        let reports: Vec<StoredReport> = newest.map(StoredReport::of).collect();
        let flagged = rows.iter().rev().filter(|row| row.risk.is_flagged());
        let alerts: Vec<StoredReport> = flagged.take(ALERTS_SHOWN).map(StoredReport::of).collect();
        let mut lists = self.lock();
        // Newest first in the lists: push the oldest of these first.
        for report in reports.into_iter().rev() {
            push_front_capped(&mut lists.reports, report, REPORTS_SHOWN);
        }
        for alert in alerts.into_iter().rev() {
            push_front_capped(&mut lists.alerts, alert, ALERTS_SHOWN);
        }
    }

    pub fn reports(&self) -> Vec<StoredReport> {
        self.lock().reports.iter().cloned().collect()
    }

    pub fn alerts(&self) -> Vec<StoredReport> {
        self.lock().alerts.iter().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, Lists> {
        self.lists.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn push_front_capped(list: &mut VecDeque<StoredReport>, report: StoredReport, cap: usize) {
    list.push_front(report);
    list.truncate(cap);
}

/// The first [`EXCERPT_CHARS`] characters of `text`, on one line, with `…`
/// if something was cut.
pub fn excerpt(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_one_short_line_cut_on_a_character() {
        assert_eq!(excerpt("  chest\npain\t 8/10 "), "chest pain 8/10");
        let long = "胸".repeat(EXCERPT_CHARS + 10);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}

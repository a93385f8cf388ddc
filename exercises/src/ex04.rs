//! Exercise 04's world: the sponsor's archive, which copies one report a
//! second, and the check that starts exports and withdraws consent.

use std::process::ExitCode;
use std::sync::Arc;

use lessons::{alive_tasks, ms, say};
use tokio::time::{Duration, Instant, sleep, sleep_until};

use crate::clinic::{Work, Works};
use crate::harness::{self, Rules, now, secs, within};

/// A patient's id, `P-001`.
pub type Patient = &'static str;

/// Copying one report to the archive takes this long.
pub const COPY: Duration = ms(1_000);

/// The sponsor's archive. A clone is cheap and reaches the same archive,
/// so an export task can take one along.
#[derive(Clone, Default)]
pub struct Archive {
    /// Each copy: whose report, and which.
    copies: Arc<Works<(Patient, u32)>>,
}

impl Archive {
    /// Copies `patient`'s report number `report`: takes [`COPY`]. Dropping
    /// the future stops the copy half-way, and nothing of it is kept.
    pub async fn copy(&self, patient: Patient, report: u32) {
        let copying = self.copies.begin((patient, report), |copy| {
            let (patient, report) = copy.what;
            if copy.finished() {
                say!("archive: {patient}'s report {report} copied");
            } else {
                say!("archive: {patient}'s report {report} dropped half-way");
            }
        });
        sleep(COPY).await;
        copying.finish();
    }

    fn copies_of(&self, patient: Patient) -> Vec<Work<(Patient, u32)>> {
        let copies = self.copies.all();
        copies.into_iter().filter(|c| c.what.0 == patient).collect()
    }
}

/// Two exports run side by side; P-001 withdraws her consent half-way
/// through hers; P-003 withdraws with no export running; P-002's export
/// runs to the end.
pub fn check<E>(
    new: impl Fn(Archive) -> E,
    start: impl Fn(&mut E, Patient, u32),
    withdraw: impl AsyncFn(&mut E, Patient),
) -> ExitCode {
    harness::main(|| {
        harness::scenario(
            "P-001 and P-002 export their reports; P-001 withdraws her consent at 2.5 s",
            async {
                let archive = Archive::default();
                let mut exports = new(archive.clone());
                let opened = Instant::now();
                let mut rules = Rules::new();

                say!("P-001: export my 6 reports to the sponsor");
                start(&mut exports, "P-001", 6);
                sleep_until(opened + ms(200)).await;
                say!("P-002: export my 6 reports to the sponsor");
                start(&mut exports, "P-002", 6);

                sleep_until(opened + ms(2_500)).await;
                say!("P-001: I withdraw my consent");
                let withdrew = now();
                within("withdraw(P-001)", withdraw(&mut exports, "P-001")).await?;
                let returned = now();
                say!("clinic: P-001's withdrawal done");
                sleep(ms(10)).await;
                let alive = alive_tasks();
                rules.expect(returned == withdrew, || {
                    format!(
                        "withdraw(P-001) returned only at {}, {} after she withdrew",
                        secs(returned),
                        secs(returned - withdrew)
                    )
                });
                rules.expect(alive <= 1, || {
                    format!(
                        "alive tasks {alive} just after P-001's withdrawal; only P-002's export \
                         should still be running: P-001's export task is still alive"
                    )
                });

                sleep_until(opened + ms(4_000)).await;
                say!("P-003: I withdraw my consent (no export of mine is running)");
                let asked = now();
                within("withdraw(P-003)", withdraw(&mut exports, "P-003")).await?;
                let waited = now() - asked;
                rules.expect(waited.is_zero(), || {
                    format!(
                        "withdraw(P-003), who had no export running, took {}",
                        secs(waited)
                    )
                });

                // P-002's export is due to end at 6.2 s.
                sleep_until(opened + ms(7_000)).await;
                let alive = alive_tasks();
                rules.expect(alive == 0, || {
                    format!(
                        "alive tasks {alive} at 7.0 s, when every export had finished or been \
                         withdrawn: a task is still waiting"
                    )
                });
                say!("P-002: I withdraw my consent too (her export ended at 6.2 s)");
                within("withdraw(P-002)", withdraw(&mut exports, "P-002")).await?;
                drop(exports);

                judge_withdrawn(&archive, withdrew, &mut rules);
                judge_kept(&archive, withdrew, &mut rules);
                rules.verdict()
            },
        )
    })
}

/// Until P-001 withdrew, her export ran; after, nothing more of hers may be
/// copied, and the copy in progress stops at that moment.
fn judge_withdrawn(archive: &Archive, withdrew: Duration, rules: &mut Rules) {
    let copies = archive.copies_of("P-001");
    let before = copies
        .iter()
        .filter(|c| matches!(c.stopped, Some((at, true)) if at <= withdrew))
        .count();
    rules.expect(before == 2, || {
        format!(
            "P-001's export copied {before} of her reports before she withdrew at {}; reports 1 \
             and 2 were due by 2.0 s: an export runs until she withdraws",
            secs(withdrew)
        )
    });
    for copy in copies {
        let report = copy.what.1;
        match copy.stopped {
            Some((at, true)) => rules.expect(at <= withdrew, || {
                format!(
                    "P-001 withdrew her consent at {}, yet her report {report} was copied at {}: \
                     after she withdraws, nothing more of hers may be copied",
                    secs(withdrew),
                    secs(at)
                )
            }),
            Some((at, false)) => rules.expect(at == withdrew, || {
                format!(
                    "P-001 withdrew her consent at {}, yet her export kept copying report \
                     {report} until {}: it must stop the moment she withdraws",
                    secs(withdrew),
                    secs(at)
                )
            }),
            None => rules.broken(format!(
                "P-001's report {report} was still being copied at the end of the day"
            )),
        }
        rules.expect(copy.started <= withdrew, || {
            format!(
                "P-001 withdrew her consent at {}, yet her export started copying report \
                 {report} at {}",
                secs(withdrew),
                secs(copy.started)
            )
        });
    }
}

/// P-002 never withdrew: all six of her reports reach the archive.
fn judge_kept(archive: &Archive, withdrew: Duration, rules: &mut Rules) {
    let copies = archive.copies_of("P-002");
    let whole = copies
        .iter()
        .filter(|c| matches!(c.stopped, Some((_, true))))
        .count();
    let stopped = copies
        .iter()
        .filter_map(|c| c.stopped)
        .map(|(at, _)| at)
        .max();
    rules.expect(whole == 6, || match stopped {
        None => "P-002 never withdrew, yet her export copied none of her 6 reports".to_owned(),
        Some(at) if at == withdrew => format!(
            "P-002 never withdrew, yet her export stopped at {} with {whole} of her 6 reports \
             copied, the moment P-001 withdrew: do the two exports share a token?",
            secs(at)
        ),
        Some(at) => format!(
            "P-002 never withdrew, yet her export stopped at {} with {whole} of her 6 reports copied",
            secs(at)
        ),
    });
}

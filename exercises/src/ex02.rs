//! Exercise 02's world: the morning's reports, and the check that plays the
//! front desk and the lab around the exercise's basket.

use std::cell::RefCell;
use std::process::ExitCode;

use lessons::{ms, say};
use tokio::time::{Duration, Instant, sleep, sleep_until};

pub use crate::clinic::Report;
use crate::harness::{self, Failure, Rules, now, secs, within};

/// The basket's places.
pub const PLACES: usize = 3;
/// The morning's reports, all at the desk at 0.0 s.
const REPORTS: u32 = 6;
/// The lab looks in the basket first at 1.0 s, then once a second.
const LAB_FREE_AT: Duration = ms(1_000);
const ANALYSIS: Duration = ms(1_000);
/// When the desk reads the gauge again after its last report, and closes.
const READINGS: [Duration; 4] = [ms(3_500), ms(4_500), ms(5_500), ms(6_500)];

/// Six reports at once; the lab takes one a second from 1.0 s.
pub fn check<D, L>(
    basket: impl Fn() -> (D, L),
    put: impl AsyncFn(&D, Report),
    fill: impl Fn(&D) -> usize,
    take: impl AsyncFn(&mut L) -> Option<Report>,
) -> ExitCode {
    harness::main(|| {
        harness::scenario(
            "six reports at the desk at once; the lab takes one a second from 1.0 s",
            async {
                let (desk, mut lab) = basket();
                let log = RefCell::new(Vec::new());
                let opened = Instant::now();
                let desk = desk_side(&put, &fill, desk, opened, &log);
                let lab = lab_side(&take, &mut lab, &log);
                futures::try_join!(desk, lab)?;
                judge(&log.into_inner())
            },
        )
    })
}

#[derive(Debug, Clone, Copy)]
enum Event {
    Put(Report, Duration),
    /// The gauge as the desk read it, and after which report it did.
    Gauge(usize, Duration, Option<Report>),
    Took(Report, Duration),
}

async fn desk_side<D>(
    put: &impl AsyncFn(&D, Report),
    fill: &impl Fn(&D) -> usize,
    desk: D,
    opened: Instant,
    log: &RefCell<Vec<Event>>,
) -> harness::Outcome {
    for id in 1..=REPORTS {
        let report = Report::new(id);
        let began = now();
        within(
            format!("putting {report} in the basket"),
            put(&desk, report),
        )
        .await?;
        let at = now();
        log.borrow_mut().push(Event::Put(report, at));
        let gauge = fill(&desk);
        log.borrow_mut().push(Event::Gauge(gauge, at, Some(report)));
        say!(
            "desk: put  {report} in (waited {}) {}",
            secs(at - began),
            picture(gauge)
        );
    }
    for reading in READINGS {
        sleep_until(opened + reading).await;
        let gauge = fill(&desk);
        log.borrow_mut().push(Event::Gauge(gauge, now(), None));
        say!("desk: the gauge reads           {}", picture(gauge));
    }
    say!("desk: all reports handed in, closing the basket");
    drop(desk);
    Ok(())
}

async fn lab_side<L>(
    take: &impl AsyncFn(&mut L) -> Option<Report>,
    lab: &mut L,
    log: &RefCell<Vec<Event>>,
) -> harness::Outcome {
    sleep(LAB_FREE_AT).await;
    while let Some(report) = within("the lab's take()", take(lab)).await? {
        log.borrow_mut().push(Event::Took(report, now()));
        say!("lab:  took {report} out");
        sleep(ANALYSIS).await;
    }
    say!("lab:  basket empty and closed, the lab goes home");
    Ok(())
}

/// `basket [##.] 2/3`, or the number alone when it cannot be drawn.
fn picture(gauge: usize) -> String {
    if gauge <= PLACES {
        let slots = "#".repeat(gauge) + &".".repeat(PLACES - gauge);
        format!("basket [{slots}] {gauge}/{PLACES}")
    } else {
        format!("basket [###] {gauge}/{PLACES}?")
    }
}

fn judge(log: &[Event]) -> harness::Outcome {
    let taken: Vec<(Report, Duration)> = log
        .iter()
        .filter_map(|e| match *e {
            Event::Took(report, at) => Some((report, at)),
            _ => None,
        })
        .collect();
    let expected: Vec<Report> = (1..=REPORTS).map(Report::new).collect();
    let got: Vec<Report> = taken.iter().map(|(r, _)| *r).collect();
    if got != expected {
        let missing: Vec<String> = expected
            .iter()
            .filter(|r| !got.contains(r))
            .map(|r| r.to_string())
            .collect();
        let mut failure = Failure::new(format!(
            "the lab received {} of {REPORTS} reports",
            got.len()
        ));
        if !missing.is_empty() {
            failure = failure.also(format!(
                "{} never reached it: lost, though the desk was told they were in",
                missing.join(", ")
            ));
        } else {
            failure =
                failure.also("each report must reach the lab once, in the order it was put in");
        }
        return Err(failure);
    }

    let mut rules = Rules::new();
    // Walk the events in the order they happened, counting the basket.
    let mut inside = 0usize;
    for event in log {
        match *event {
            Event::Put(report, at) => {
                inside += 1;
                let k = (report.number() - 1) as usize;
                // The k-th report goes in at once while there is room, else
                // the moment the lab takes out the report three before it.
                let due = if k < PLACES {
                    Duration::ZERO
                } else {
                    taken[k - PLACES].1
                };
                rules.expect(inside <= PLACES, || {
                    format!(
                        "at {} the desk put {report} in while the basket already held {}: it has \
                         {PLACES} places, and {report} should have waited for the lab (until {})",
                        secs(at),
                        inside - 1,
                        secs(due)
                    )
                });
                rules.expect(at <= due || inside > PLACES, || {
                    format!(
                        "{report} waited until {} though the basket had a free place from {}: the \
                         desk may run ahead of the lab by {PLACES}",
                        secs(at),
                        secs(due)
                    )
                });
            }
            Event::Took(..) => inside -= 1,
            Event::Gauge(gauge, at, after) => rules.expect(gauge == inside, || match after {
                Some(report) => format!(
                    "after {report} went in at {} the gauge read {gauge}, but the basket held {inside}",
                    secs(at)
                ),
                None => format!(
                    "at {} the gauge read {gauge}, but the basket held {inside}",
                    secs(at)
                ),
            }),
        }
    }
    rules.verdict()
}

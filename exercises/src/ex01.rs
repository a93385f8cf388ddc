//! Exercise 01's world: blood samples, and the check that plays the ward
//! nurse and the lab with the exercise's tube.

use std::cell::RefCell;
use std::fmt;
use std::process::ExitCode;

use lessons::{ms, say};
use tokio::time::{Duration, Instant, sleep, sleep_until};

use crate::harness::{self, Failure, Rules, now, secs, within};

/// A patient's blood sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    patient: &'static str,
}

impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}'s sample", self.patient)
    }
}

/// The morning: the lab is busy until 1.5 s, then takes a second over each
/// sample; the nurse has P-001's sample at 0.0 s and P-002's at 3.0 s.
pub fn check<W, L>(
    tube: impl Fn() -> (W, L),
    hand_over: impl AsyncFn(&W, Sample),
    take: impl AsyncFn(&mut L) -> Option<Sample>,
) -> ExitCode {
    harness::main(|| {
        harness::scenario(
            "the nurse hands two samples to a busy lab through your tube",
            async {
                let (ward, mut lab) = tube();
                let log = RefCell::new(Vec::new());
                let opened = Instant::now();
                let nurse = nurse(&hand_over, ward, opened, &log);
                let lab = lab_side(&take, &mut lab, &log);
                futures::try_join!(nurse, lab)?;
                judge(&log.into_inner())
            },
        )
    })
}

#[derive(Debug, Clone, Copy)]
enum Event {
    /// The nurse's hand-over ended.
    HandedOver(Sample, Duration),
    Took(Sample, Duration),
    WardClosed(Duration),
}

const SAMPLES: [(Sample, Duration); 2] = [
    (Sample { patient: "P-001" }, ms(0)),
    (Sample { patient: "P-002" }, ms(3_000)),
];

async fn nurse<W>(
    hand_over: &impl AsyncFn(&W, Sample),
    ward: W,
    opened: Instant,
    log: &RefCell<Vec<Event>>,
) -> harness::Outcome {
    for (sample, ready) in SAMPLES {
        sleep_until(opened + ready).await;
        say!("nurse: {sample} ready, holding it out to the tube");
        let began = now();
        within(
            format!("the nurse's hand-over of {sample}"),
            hand_over(&ward, sample),
        )
        .await
        .map_err(|stuck| stuck.also("the lab was reaching into the tube from 1.5 s"))?;
        let ended = now();
        say!(
            "nurse: hand-over of {sample} done (held it {})",
            secs(ended - began)
        );
        log.borrow_mut().push(Event::HandedOver(sample, ended));
    }
    say!("nurse: no more samples; the ward closes its end of the tube");
    log.borrow_mut().push(Event::WardClosed(now()));
    drop(ward);
    Ok(())
}

async fn lab_side<L>(
    take: &impl AsyncFn(&mut L) -> Option<Sample>,
    lab: &mut L,
    log: &RefCell<Vec<Event>>,
) -> harness::Outcome {
    // Earlier work keeps the lab busy until 1.5 s.
    sleep(ms(1_500)).await;
    loop {
        say!("lab: free, reaching into the tube");
        let taken = within("the lab's take()", take(lab))
            .await
            .map_err(|stuck| {
                let closed = log.borrow().iter().find_map(|e| match e {
                    Event::WardClosed(at) => Some(*at),
                    _ => None,
                });
                match closed {
                    Some(at) => stuck.also(format!(
                        "the ward closed its end of the tube at {}: once the tube is empty, take() \
                     should return None so the lab can go home",
                        secs(at)
                    )),
                    None => stuck,
                }
            })?;
        match taken {
            Some(sample) => {
                say!("lab: took {sample}");
                log.borrow_mut().push(Event::Took(sample, now()));
                // Analysing takes a second; only then does the lab look again.
                sleep(ms(1_000)).await;
            }
            None => {
                say!("lab: the tube is closed and empty; the lab goes home");
                return Ok(());
            }
        }
    }
}

fn judge(log: &[Event]) -> harness::Outcome {
    let taken: Vec<(Sample, Duration)> = log
        .iter()
        .filter_map(|e| match *e {
            Event::Took(sample, at) => Some((sample, at)),
            _ => None,
        })
        .collect();
    let expected: Vec<Sample> = SAMPLES.iter().map(|(s, _)| *s).collect();
    let got: Vec<Sample> = taken.iter().map(|(s, _)| *s).collect();
    if got != expected {
        return Err(Failure::new(format!(
            "the lab took {}; the nurse handed over P-001's sample, then P-002's, each once",
            list(&got)
        )));
    }
    let mut rules = Rules::new();
    for event in log {
        let Event::HandedOver(sample, ended) = *event else {
            continue;
        };
        let (_, took) = taken
            .iter()
            .find(|(s, _)| *s == sample)
            .copied()
            .expect("checked");
        rules.expect(ended >= took, || {
            format!(
                "{sample}: the nurse's hand-over finished at {}, but the lab took it out only at \
                 {}: for {} she believed the lab had it while it sat in the tube. A hand-over ends \
                 when the lab takes the sample: at {}",
                secs(ended),
                secs(took),
                secs(took - ended),
                secs(took)
            )
        });
        rules.expect(ended <= took, || {
            format!(
                "{sample}: the lab took it at {}, but the nurse was held until {}: let her go as \
                 soon as the lab has it",
                secs(took),
                secs(ended)
            )
        });
    }
    rules.verdict()
}

fn list(samples: &[Sample]) -> String {
    if samples.is_empty() {
        return "no sample at all".to_owned();
    }
    samples
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", then ")
}

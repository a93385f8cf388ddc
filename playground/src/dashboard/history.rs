//! The last minute, one sample a second: what the dashboard's sparklines draw
//! and its rates per second are computed from.
//!
//! A background task ([`sample_every_second`]) reads the counters once a
//! second into a ring of [`SLOTS`] samples; the oldest falls off the end. It
//! stops when HTTP stops, like the event streams that read it.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};

use crate::AppState;
use crate::edges::stats::Stats;

/// Samples kept: one minute at one a second.
pub const SLOTS: usize = 60;

/// The counters at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub at: Instant,
    /// Reports waiting in the queue.
    pub queued: usize,
    /// Alive tasks in the runtime.
    pub tasks: usize,
    pub accepted: u64,
    pub rejected: u64,
    pub stored: u64,
    pub flagged: u64,
    pub fire_and_forget: u64,
    pub commits: u64,
    pub fsyncs: u64,
    pub reports_committed: u64,
}

impl Sample {
    pub fn of(stats: &Stats, at: Instant) -> Sample {
        Sample {
            at,
            queued: stats.queued,
            tasks: stats.tasks,
            accepted: stats.accepted,
            rejected: stats.rejected,
            stored: stats.stored,
            flagged: stats.flagged,
            fire_and_forget: stats.fire_and_forget_accepted,
            commits: stats.commits,
            fsyncs: stats.fsyncs,
            reports_committed: stats.reports_committed,
        }
    }
}

/// A ring of the last [`SLOTS`] samples, oldest first.
///
/// A std `Mutex`: held for a push or a copy, never across an `.await`.
#[derive(Debug, Default)]
pub struct History {
    samples: Mutex<VecDeque<Sample>>,
}

impl History {
    pub fn record(&self, sample: Sample) {
        let mut samples = self.lock();
        if samples.len() == SLOTS {
            samples.pop_front();
        }
        samples.push_back(sample);
    }

    /// Every sample kept, oldest first.
    pub fn samples(&self) -> Vec<Sample> {
        self.lock().iter().copied().collect()
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Sample>> {
        self.samples.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Events per second over the last few seconds, from `now` back to the
/// oldest sample at most [`RATE_WINDOW`] old.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rates {
    pub accepted: f64,
    pub rejected: f64,
    pub stored: f64,
    pub flagged: f64,
    pub fire_and_forget: f64,
    pub commits: f64,
    pub fsyncs: f64,
    /// Reports per commit over the window; `None` without a commit in it.
    pub reports_per_commit: Option<f64>,
}

/// Long enough to smooth out a single second, short enough to fall to zero
/// soon after a burst ends.
pub const RATE_WINDOW: Duration = Duration::from_secs(3);

impl Rates {
    pub fn between(samples: &[Sample], now: &Sample) -> Rates {
        let oldest = samples
            .iter()
            .find(|s| now.at.saturating_duration_since(s.at) <= RATE_WINDOW);
        let Some(then) = oldest else {
            return Rates::default();
        };
        let seconds = now.at.saturating_duration_since(then.at).as_secs_f64();
        // Less than half a second apart: too short to call a rate.
        if seconds < 0.5 {
            return Rates::default();
        }
        let per_second = |now: u64, then: u64| now.saturating_sub(then) as f64 / seconds;
        Rates {
            accepted: per_second(now.accepted, then.accepted),
            rejected: per_second(now.rejected, then.rejected),
            stored: per_second(now.stored, then.stored),
            flagged: per_second(now.flagged, then.flagged),
            fire_and_forget: per_second(now.fire_and_forget, then.fire_and_forget),
            commits: per_second(now.commits, then.commits),
            fsyncs: per_second(now.fsyncs, then.fsyncs),
            reports_per_commit: {
                let commits = now.commits.saturating_sub(then.commits);
                let reports = now.reports_committed.saturating_sub(then.reports_committed);
                (commits > 0).then(|| reports as f64 / commits as f64)
            },
        }
    }
}

/// Samples the counters once a second until HTTP stops. `Clinic::start`
/// spawns it.
pub async fn sample_every_second(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let stopping = state.http_stopping();
    tokio::pin!(stopping);
    loop {
        tokio::select! {
            biased;
            () = &mut stopping => break,
            _ = tick.tick() => {
                let sample = Sample::of(&state.stats(), Instant::now());
                state.history.record(sample);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: Instant, accepted: u64) -> Sample {
        Sample {
            at,
            queued: 0,
            tasks: 0,
            accepted,
            rejected: 0,
            stored: 0,
            flagged: 0,
            fire_and_forget: 0,
            commits: 0,
            fsyncs: 0,
            reports_committed: 0,
        }
    }

    #[test]
    fn the_ring_keeps_the_last_minute() {
        let history = History::default();
        let start = Instant::now();
        for i in 0..(SLOTS as u64 + 5) {
            history.record(sample(start + Duration::from_secs(i), i));
        }
        let samples = history.samples();
        assert_eq!(samples.len(), SLOTS);
        assert_eq!(samples[0].accepted, 5);
        assert_eq!(samples[SLOTS - 1].accepted, SLOTS as u64 + 4);
    }

    #[test]
    fn rates_count_per_second_over_the_window() {
        let start = Instant::now();
        let samples: Vec<Sample> = (0..10)
            .map(|i| sample(start + Duration::from_secs(i), i * 100))
            .collect();
        // 2 s after the last sample, 400 more: the window reaches back to
        // the sample at 8 s (3 s before "now" at 11 s).
        let now = sample(start + Duration::from_secs(11), 1300);
        let rates = Rates::between(&samples, &now);
        assert_eq!(rates.accepted, (1300.0 - 800.0) / 3.0);
        // Nothing recent: no rate rather than a wrong one.
        let later = sample(start + Duration::from_secs(100), 5000);
        assert_eq!(Rates::between(&samples, &later).accepted, 0.0);
    }
}

//! Shutdown that loses nothing.
//!
//! The first article closed the queue in a shutdown hook and returned at once,
//! trusting that the workers would "naturally" finish: the process could exit
//! with reports still in the channel. Here the drain reads top to bottom:
//!
//! 1. **Stop accepting.** The shutdown token fires; uploads and submits now
//!    answer `503 shutting_down`. The HTTP server stays up meanwhile, so
//!    clients hear that instead of a refused connection, and `/stats` keeps
//!    answering while the queue empties.
//! 2. **Close the queue.** The worker waiting on it sees the token and closes
//!    it (`designs/workers.rs`): Go's `close(ch)`.
//! 3. **Wait, with a deadline.** For the workers to empty the queue and for
//!    every fire-and-forget task, at most `--drain-timeout`. (A burst the
//!    dashboard started stops as soon as shutdown begins.)
//! 4. **Stop HTTP** (in `main.rs`): open streams, such as the dashboard's
//!    `/events`, end on the second token, so none can hold the exit up.
//! 5. **Account.** One line: `accepted N, stored N, lost 0`. If the deadline
//!    passed, the ids of the reports lost are logged and the exit code is 2:
//!    never a silent loss. With the durable intake, reports still in the
//!    inbox are not lost: the line says how many stay there for the next
//!    start, and the exit code is 0.
//!
//! `/leaky` orphans are not waited for: nobody wants their results. They are
//! counted in the summary and aborted when the runtime stops.

use std::fmt;
use std::pin::pin;
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};
use tracing::instrument;

use crate::Clinic;
use crate::pipeline::report::ReportId;

/// Exit status when the deadline passed with reports not stored.
pub const EXIT_LOST_REPORTS: u8 = 2;

/// Completes on Ctrl-C or SIGTERM (what `docker stop` and Kubernetes send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };

    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        biased;
        () = ctrl_c => tracing::info!("Ctrl-C received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}

/// When the drain began and how long it may take.
#[derive(Debug, Clone, Copy)]
pub struct DrainClock {
    pub started: Instant,
    pub deadline: Duration,
}

/// How the drain went.
#[derive(Debug, Clone, Copy)]
pub struct Drained {
    /// True if we stopped waiting: the deadline passed, or a second signal came.
    pub deadline_passed: bool,
    pub took: Duration,
}

impl Clinic {
    /// Steps 1 to 3: stop accepting, let the workers close and empty the
    /// queue, wait for them and for every fire-and-forget task, at most
    /// `deadline`. Safe to call more than once.
    #[instrument(skip_all)]
    pub async fn drain(&self, deadline: Duration) -> Drained {
        let started = Instant::now();
        // The dashboard shows the drain against its deadline.
        let _ = self.drain_clock.set(DrainClock { started, deadline });
        // 1 and 2: the workers close the queue when they see this.
        self.begin_shutdown();
        tracing::info!(
            queued = self.queued(),
            in_flight = self.in_flight.len(),
            workers = self.pool.size(),
            "shutting down: taking no new reports, draining the queue (deadline {deadline:?})"
        );
        if self.pool.is_paused() {
            tracing::warn!(
                "the workers are paused: reports still queued cannot drain unless they are resumed"
            );
        }

        // ANCHOR: drain_wait
        // 3: everything we wait for, as one future.
        let mut everything = pin!(async {
            self.pool.wait().await;
            self.fire_and_forget.close();
            self.fire_and_forget.wait().await;
            // The dashboard's bursts: they stopped when shutdown began.
            self.controls.stopped().await;
        });
        let give_up_at = started + deadline;
        let mut progress =
            tokio::time::interval_at(started + Duration::from_secs(1), Duration::from_secs(1));
        progress.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let finished = loop {
            tokio::select! {
                biased;
                () = &mut everything => break true,
                () = tokio::time::sleep_until(give_up_at) => break false,
                _ = progress.tick() => tracing::info!(
                    queued = self.queued(),
                    in_flight = self.in_flight.len(),
                    workers_running = self.pool.running(),
                    fire_and_forget = self.fire_and_forget.len(),
                    "draining"
                ),
            }
        };
        // ANCHOR_END: drain_wait
        let drained = Drained {
            deadline_passed: !finished,
            took: started.elapsed(),
        };
        let _ = self.drained.set(drained);
        drained
    }

    /// Step 5: what was accepted and what was stored. Take it after HTTP has
    /// stopped, so that no handler is still counting.
    pub fn summary(&self, drained: Drained) -> Summary {
        let counters = &self.counters;
        let queued = counters.accepted.load(Relaxed);
        let fire_and_forget = counters.fire_and_forget_accepted.load(Relaxed);
        let not_stored = self.in_flight.not_stored();
        Summary {
            accepted: queued + fire_and_forget,
            accepted_queue: queued,
            accepted_fire_and_forget: fire_and_forget,
            recovered: counters.recovered.load(Relaxed),
            stored: counters.stored.load(Relaxed),
            flagged: counters.flagged.load(Relaxed),
            not_stored: not_stored.lost,
            in_inbox: not_stored.in_inbox.len(),
            leaked_aborted: counters.leaked.load(Relaxed),
            deadline_passed: drained.deadline_passed,
            took: drained.took,
        }
    }
}

/// The shutdown account.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Reports answered 202 or 200, both designs together.
    pub accepted: u64,
    pub accepted_queue: u64,
    pub accepted_fire_and_forget: u64,
    /// Reports the inbox held at start: stored by this run, on top of its own.
    pub recovered: u64,
    pub stored: u64,
    pub flagged: u64,
    /// Accepted, not stored and nowhere else: queued in memory, mid-pipeline,
    /// or refused by the database. Lost.
    pub not_stored: Vec<ReportId>,
    /// Accepted into the inbox and not stored yet: the next start stores them.
    pub in_inbox: usize,
    /// `/leaky` orphans still running, aborted with the runtime.
    pub leaked_aborted: u64,
    pub deadline_passed: bool,
    pub took: Duration,
}

impl Summary {
    pub fn lost(&self) -> usize {
        self.not_stored.len()
    }

    // ANCHOR: account
    /// One line through tracing; on loss, a second line with every id.
    pub fn log(&self) {
        if self.not_stored.is_empty() && self.in_inbox > 0 {
            tracing::warn!(
                "shutdown complete: {self}; {} reports stay in the inbox and are \
                 stored on the next start",
                self.in_inbox
            );
        } else if self.not_stored.is_empty() {
            tracing::info!("shutdown complete: {self}");
        } else {
            tracing::error!("shutdown incomplete: {self}");
            let ids: Vec<String> = self.not_stored.iter().map(ToString::to_string).collect();
            tracing::error!("reports not stored: {}", ids.join(", "));
        }
    }

    /// 0 when nothing was lost, [`EXIT_LOST_REPORTS`] otherwise.
    pub fn exit_code(&self) -> ExitCode {
        if self.not_stored.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_LOST_REPORTS)
        }
    }
    // ANCHOR_END: account
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "accepted {}, stored {}, lost {} (queue {}, fire-and-forget {}; {} flagged; ",
            self.accepted,
            self.stored,
            self.lost(),
            self.accepted_queue,
            self.accepted_fire_and_forget,
            self.flagged,
        )?;
        if self.recovered > 0 {
            write!(f, "{} recovered from the inbox at start; ", self.recovered)?;
        }
        if self.in_inbox > 0 {
            write!(f, "{} in the inbox; ", self.in_inbox)?;
        }
        if self.deadline_passed {
            write!(
                f,
                "stopped waiting for the drain after {:.1} s",
                self.took.as_secs_f64()
            )?;
        } else {
            write!(f, "drained in {:.1} s", self.took.as_secs_f64())?;
        }
        write!(f, "; {} leaked /leaky tasks aborted)", self.leaked_aborted)
    }
}

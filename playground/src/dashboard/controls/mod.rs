//! The dashboard's controls: what a trainer clicks during a demo.
//!
//! ```text
//! POST /controls/burst     n, concurrency, design=queue|fire-and-forget
//! POST /controls/workers   workers
//! POST /controls/pause     (a simulated database outage)
//! POST /controls/resume
//! POST /controls/latency   work_ms
//! POST /controls/leak      n, kind=leaky|fixed
//! POST /controls/shutdown  (the same path as SIGTERM)
//! POST /controls/crash     (std::process::abort: a crash, on purpose)
//! POST /controls/unlock    token   (only with --control-token)
//! ```
//!
//! In three parts:
//!
//! - `guard.rs`: **who may use them.** A burst or a shutdown is not something
//!   a stranger on the conference Wi-Fi, or another web site's page, should
//!   be able to start.
//! - `forms.rs`: **the forms and the answers.** Bodies are form-encoded
//!   (`curl -d n=500`), as an HTML form sends them; a browser without
//!   JavaScript is sent back to the page, anyone else gets JSON.
//! - `jobs.rs`: **bursts and leak runs**, which go on in the background after
//!   the click has been answered, and stop when shutdown begins.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use tokio_util::task::TaskTracker;

mod forms;
mod guard;
mod jobs;

pub use forms::{
    Answer, Asker, BurstForm, Done, Flash, LatencyForm, LeakForm, WorkersForm, burst, crash,
    latency, leak, pause, resume, shutdown, workers,
};
pub use guard::{Access, Peer, UnlockForm, guard, unlock};
pub use jobs::{Ended, JobSnapshot, LEAK_TIMEOUT_MS, LEAK_WORK_MS};

use jobs::Job;

/// Largest burst: enough to fill the default queue many times over, small
/// enough to finish in seconds on a laptop.
pub const MAX_BURST: u64 = 20_000;
/// Most connections a burst opens at once.
pub const MAX_CONCURRENCY: u64 = 256;
/// Most workers the dashboard will start.
pub const MAX_WORKERS: u64 = 64;
/// Longest simulated latency per report the dashboard will set.
pub const MAX_WORK_MS: u64 = 5_000;
/// Most `/leaky` or `/fixed` requests in one click.
pub const MAX_LEAKS: u64 = 500;

/// The controls' own state: who may use them, where the server listens (the
/// burst's target), and the background jobs they started.
#[derive(Default)]
pub struct Controls {
    token: OnceLock<String>,
    listening_on: OnceLock<SocketAddr>,
    burst: Mutex<Option<Job>>,
    leak: Mutex<Option<Job>>,
    /// Burst and leak jobs: they stop when shutdown begins, and the drain
    /// waits for them ([`Controls::stopped`]).
    jobs: TaskTracker,
}

impl Controls {
    /// Requires `token` on every control request (from `--control-token`).
    pub fn require_token(&self, token: String) {
        let _ = self.token.set(token);
    }

    /// Where bursts are sent: this server's own address. An unspecified
    /// address (0.0.0.0) is reached through loopback.
    pub fn listening_on(&self, mut addr: SocketAddr) {
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                [127, 0, 0, 1].into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        let _ = self.listening_on.set(addr);
    }

    /// Where the server listens, once it has been told.
    pub fn address(&self) -> Option<SocketAddr> {
        self.listening_on.get().copied()
    }

    /// The running or the last burst.
    pub fn burst(&self) -> Option<JobSnapshot> {
        lock(&self.burst).as_ref().map(Job::snapshot)
    }

    /// The running or the last leak run.
    pub fn leak(&self) -> Option<JobSnapshot> {
        lock(&self.leak).as_ref().map(Job::snapshot)
    }

    /// Completes once every burst and leak job has stopped. They stop as soon
    /// as shutdown begins, so during a drain this is quick; it makes sure no
    /// job outlives the drain.
    pub async fn stopped(&self) {
        self.jobs.close();
        self.jobs.wait().await;
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `20000` as `20,000`.
pub fn grouped(n: u64) -> String {
    Grouped(n).to_string()
}

/// A count with thousands separators, for numbers read from across a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grouped(pub u64);

impl fmt::Display for Grouped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.to_string();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                f.write_str(",")?;
            }
            write!(f, "{digit}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(20_000), "20,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}

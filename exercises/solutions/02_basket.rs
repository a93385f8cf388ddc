//! Exercise 02, a reference solution: a bounded channel of three places,
//! and the gauge read from the channel itself.
//!
//! `mpsc::channel(3)` lets the first three sends finish at once and makes
//! the fourth wait until the lab takes a report out, as Go's
//! `make(chan Report, 3)` does. The channel knows how full it is: its
//! `capacity()` counts the *free* places, so the fill is `max_capacity()`
//! minus that. No counter of our own to keep in step.

use exercises::ex02::{PLACES, Report, check};
use tokio::sync::mpsc;

struct Desk {
    basket: mpsc::Sender<Report>,
}

struct Lab {
    basket: mpsc::Receiver<Report>,
}

fn basket() -> (Desk, Lab) {
    let (desk_side, lab_side) = mpsc::channel(PLACES);
    (Desk { basket: desk_side }, Lab { basket: lab_side })
}

impl Desk {
    async fn put(&self, report: Report) {
        // Waits while all three places are taken.
        self.basket.send(report).await.expect("the lab is open");
    }

    fn fill(&self) -> usize {
        self.basket.max_capacity() - self.basket.capacity()
    }
}

impl Lab {
    async fn take(&mut self) -> Option<Report> {
        self.basket.recv().await
    }
}

fn main() -> std::process::ExitCode {
    check(basket, Desk::put, Desk::fill, Lab::take)
}

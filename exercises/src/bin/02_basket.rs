//! Exercise 02: a basket of three, and a gauge that tells the truth.
//!
//! What is wrong: at 9:00 the front desk has six reports and drops them all
//! into the basket outside the lab at once. This basket has no bottom: all
//! six are "in" at 0.0 s, piled on the floor by the lab door, and the desk
//! has no idea the lab is behind. The gauge above the basket is no help: it
//! counts the reports the desk put in, never the ones the lab took out, so
//! at closing time it still reads 6.
//!
//! Done when: the basket holds three reports, no more; the desk runs ahead
//! of the lab by three and then waits for a free place (lesson 02), losing
//! nothing; and the gauge shows what is in the basket at every moment.
//!
//! Practises: lesson 02, `cargo run --bin 02_buffered`.
//! Check it:  cargo run -p exercises -- 02
//! Hint:      cargo run -p exercises -- hint 02

use std::cell::Cell;

use exercises::ex02::{Report, check};
use tokio::sync::mpsc;

/// The desk's side of the basket.
struct Desk {
    basket: mpsc::UnboundedSender<Report>,
    /// Reports put in so far, for the gauge.
    put_in: Cell<usize>,
}

/// The lab's side of the basket.
struct Lab {
    basket: mpsc::UnboundedReceiver<Report>,
}

/// Puts the basket out by the lab door.
fn basket() -> (Desk, Lab) {
    // TODO: this basket has no bottom. Give it three places.
    let (desk_side, lab_side) = mpsc::unbounded_channel();
    let desk = Desk {
        basket: desk_side,
        put_in: Cell::new(0),
    };
    (desk, Lab { basket: lab_side })
}

impl Desk {
    /// Puts `report` in the basket; waits while the basket is full.
    async fn put(&self, report: Report) {
        self.basket.send(report).expect("the lab is open");
        self.put_in.set(self.put_in.get() + 1);
    }

    /// The gauge: how many reports are in the basket right now.
    fn fill(&self) -> usize {
        // TODO: this counts what went in, never what came out.
        self.put_in.get()
    }
}

impl Lab {
    /// The next report out of the basket; `None` once the desk has closed
    /// it and it is empty.
    async fn take(&mut self) -> Option<Report> {
        self.basket.recv().await
    }
}

fn main() -> std::process::ExitCode {
    // The check plays the desk and the lab with your basket.
    check(basket, Desk::put, Desk::fill, Lab::take)
}

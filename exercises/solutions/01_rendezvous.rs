//! Exercise 01, a reference solution: each sample travels with a `oneshot`
//! sender, and the nurse awaits its receiver after the send.
//!
//! The `mpsc` channel of one place still carries the sample; the `oneshot`
//! carries the lab's "taken" back. The nurse's send finishes as soon as the
//! sample is in the tube, but her hand-over finishes only when the lab
//! answers, the moment it takes the sample out: a rendezvous, as with
//! `flume::bounded(0)` in lesson 01. The same shape could carry a result
//! back instead of `()`: the request/response pattern.

use exercises::ex01::{Sample, check};
use tokio::sync::{mpsc, oneshot};

/// A sample, and the way to tell the nurse the lab has it.
type Delivery = (Sample, oneshot::Sender<()>);

struct Ward {
    tube: mpsc::Sender<Delivery>,
}

struct Lab {
    tube: mpsc::Receiver<Delivery>,
}

fn tube() -> (Ward, Lab) {
    let (ward_end, lab_end) = mpsc::channel(1);
    (Ward { tube: ward_end }, Lab { tube: lab_end })
}

impl Ward {
    async fn hand_over(&self, sample: Sample) {
        let (taken, lab_has_it) = oneshot::channel();
        self.tube
            .send((sample, taken))
            .await
            .expect("the lab is open");
        // The sample is in the tube; wait until it is in the lab's hand.
        lab_has_it
            .await
            .expect("the lab answers every sample it takes");
    }
}

impl Lab {
    async fn take(&mut self) -> Option<Sample> {
        let (sample, taken) = self.tube.recv().await?;
        // An Err would only mean the nurse stopped waiting; the lab has it.
        let _ = taken.send(());
        Some(sample)
    }
}

fn main() -> std::process::ExitCode {
    check(tube, Ward::hand_over, Lab::take)
}

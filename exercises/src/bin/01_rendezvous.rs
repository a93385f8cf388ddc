//! Exercise 01: the nurse must wait until the lab holds the sample.
//!
//! What is wrong: the ward nurse drops P-001's blood sample into the
//! pneumatic tube at 0.0 s and walks straight back to her patients, telling
//! them "the lab has it". The lab has not: it is busy until 1.5 s, and for
//! that second and a half the sample sits in the tube, unseen. Had the lab
//! closed meanwhile, nobody would know where the sample went.
//!
//! Done when: each hand-over ends at the moment the lab takes the sample
//! out, not before (Go's unbuffered channel, lesson 01), and the lab still
//! goes home once the ward closes its end. Use tokio only: tokio has no
//! channel of capacity 0 (`mpsc::channel(0)` panics), so keep the tube an
//! `mpsc` channel with one place and let the lab say "taken".
//!
//! Practises: lesson 01, `cargo run --bin 01_unbuffered`.
//! Check it:  cargo run -p exercises -- 01
//! Hint:      cargo run -p exercises -- hint 01

use exercises::ex01::{Sample, check};
use tokio::sync::mpsc;

/// The ward's end of the tube.
struct Ward {
    tube: mpsc::Sender<Sample>,
}

/// The lab's end of the tube.
struct Lab {
    tube: mpsc::Receiver<Sample>,
}

/// Lays the tube between the ward and the lab.
fn tube() -> (Ward, Lab) {
    // TODO: a tube of one place lets go of the nurse as soon as the sample
    // is inside. Let each sample travel with a way for the lab to answer.
    let (ward_end, lab_end) = mpsc::channel(1);
    (Ward { tube: ward_end }, Lab { tube: lab_end })
}

impl Ward {
    /// Hands `sample` to the lab: must return only once the lab holds it.
    async fn hand_over(&self, sample: Sample) {
        self.tube.send(sample).await.expect("the lab is open");
    }
}

impl Lab {
    /// The next sample out of the tube; `None` once the ward has closed its
    /// end and the tube is empty.
    async fn take(&mut self) -> Option<Sample> {
        self.tube.recv().await
    }
}

fn main() -> std::process::ExitCode {
    // The check plays the nurse and a busy lab with your tube.
    check(tube, Ward::hand_over, Lab::take)
}

//! The articles' designs, each behind its own endpoint.
//!
//! - `intake.rs`: the first article's, a bounded queue: check the body, queue
//!   the report, answer `202 Accepted` (or `503` when the queue is full).
//! - `durable.rs`: ours, the same queue behind an inbox table on disk, so
//!   that a 202 survives a crash (`--intake durable`).
//! - `workers.rs`: the pool of workers that empties the queue.
//! - `fire_and_forget.rs`: the second article's, a task per request.
//! - `leak.rs`: the second article's leak demo, `/leaky` and `/fixed`.

pub mod durable;
pub mod fire_and_forget;
pub mod intake;
pub mod leak;
pub mod workers;

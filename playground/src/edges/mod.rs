//! Where the service meets the outside world.
//!
//! - `serve.rs`: serving the router over TCP, with time limits for slow clients.
//! - `error.rs`: the one error type every failure a client sees turns into.
//! - `stats.rs`: `/stats` and `/metrics`, what the service is doing.
//! - `shutdown.rs`: the signal, the drain, and the account of what was lost.

pub mod error;
pub mod serve;
pub mod shutdown;
pub mod stats;

//! The schedule: a pure pacer computes intended send times from the stages ([`pacer`]); the open loop
//! fires one call per slot at those times, on the sub-millisecond [`crate::timer`], and never waits on the
//! server ([`open`]); the closed loop
//! runs users that send, wait and sleep, for those coming from request/response scripts ([`closed`]);
//! [`admission`] decides whether a due slot starts or is dropped, and why; [`control`] steers a running
//! open schedule (pause, resume, re-rate, mix weights).

pub mod admission;
pub mod closed;
pub mod control;
pub mod open;
pub mod pacer;

pub use pacer::{Pacer, Slot};

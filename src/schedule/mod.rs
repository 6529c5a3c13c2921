//! The schedule: a pure pacer computes intended send times from the stages, and the runner fires one
//! task per call at those times (open model) or runs user loops (closed model).

pub mod pacer;

pub use pacer::{Pacer, Slot};

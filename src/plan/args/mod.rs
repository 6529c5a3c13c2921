//! Arguments of a call: a template written in the config (static JSON with generators and
//! captures in its leaves), or `auto`, synthesized from the tool's `inputSchema`.
//!
//! A template is written as ordinary JSON/TOML; an object whose key is `gen` is a generator, an
//! object whose key is `capture` takes a value captured from an earlier result, and
//! `{ literal = ... }` passes any value through untouched (for arguments that really have a `gen` key):
//!
//! ```toml
//! args = { amount = { gen = "decimal", min = 1.0, max = 500.0, precision = 2 },
//!          currency = { gen = "choice", values = ["USD", "EUR"] },
//!          order = { gen = "seq", start = 1, prefix = "order-" },
//!          payment_id = { capture = "payment_ids", fallback = { gen = "uuid" } } }
//! ```
//!
//! An operation with a `capture` whose pool is still empty and has no `fallback` is not picked while
//! another operation can be ([`crate::plan::Mix::pick_ready`]); when none can, it sends the string
//! [`EMPTY_CAPTURE_PREFIX`]`<pool>` so the server's answer shows the cause.
//!
//! One file per job: [`template`] (the tree and its parsing and rendering), [`generator`] (value
//! sources), [`schema`] (synthesis from a JSON Schema), [`capture`] (values taken from results).

pub mod capture;
pub mod check;

pub mod generator;
pub mod pattern;
pub mod schema;
pub mod template;

pub use capture::{CapturePool, CaptureSpec, DEFAULT_POOL_CAPACITY, EMPTY_CAPTURE_PREFIX};
pub use check::{ArgCheckError, ArgProblem, check_mix};
pub use generator::{Generator, StringFormat, TimeFormat};
pub use template::ArgTemplate;

/// A mistake in an argument template; `path` is where in the template (`amount.min`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("at `{path}`: {message}")]
pub struct ArgError {
    /// Where in the template, e.g. `args.amount.min`.
    pub path: String,
    /// What is wrong with the value there.
    pub message: String,
}

pub(crate) fn err(path: &str, message: impl Into<String>) -> ArgError {
    ArgError {
        path: if path.is_empty() {
            "(args)".into()
        } else {
            path.into()
        },
        message: message.into(),
    }
}

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

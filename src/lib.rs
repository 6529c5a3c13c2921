//! mcp-soak: a soak tester for MCP servers.
//!
//! Data flows one way through the modules, and each folder is one room of that flow:
//!
//! ```text
//! config ─► plan ─► schedule ─► mcp client ─► record ─► report
//! ```
//!
//! * [`config`] reads defaults < file < environment < flags and lowers them into one typed [`plan::Plan`].
//! * [`plan`] holds the load shape (stages), the weighted operation mix, argument generators and SLOs.
//! * [`schedule`] turns the plan into intended send times (a pure pacer) and drives the calls.
//! * [`mcp`] speaks MCP over Streamable HTTP (session and stateless eras) and legacy HTTP+SSE, and
//!   classifies every call into exactly one [`mcp::OutcomeKind`].
//! * [`record`] takes one cheap [`record::Record`] per call and fans it out to metrics, histograms,
//!   the timeline and the raw stream.
//! * [`serve`] is the run's HTTP listener: `/metrics`, health and readiness, the `/control/…` routes.
//! * [`report`] renders snapshots: console report, JSON summary, SLO verdicts, baseline compare.
//! * [`mock`] is the built-in MCP server used by `demo`, the tests and the docker-compose stack.
//! * [`timer`] is the sub-millisecond sleep the pacer and the mock's latency share.
//! * [`secret`] (secrets and credential-free URLs) and [`tls`] sit below every layer that needs them.

pub mod commands;
pub mod config;
pub mod engine;
pub mod mcp;
pub mod mock;
pub mod plan;
pub mod record;
pub mod report;
pub mod schedule;
pub mod secret;
pub mod serve;
pub mod telemetry;
pub mod timer;
pub mod tls;

//! Logging (`tracing`, text or JSON, `RUST_LOG` filtering) and optional OpenTelemetry export of one
//! span per call over OTLP http/protobuf.
//!
//! Export is on only when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is
//! set; `OTEL_SERVICE_NAME` names the service and `OTEL_TRACES_SAMPLER_ARG` (0..1) the sampling
//! ratio. When it is off, per-call spans are disabled at their call site and cost next to nothing.

use anyhow::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// The `tracing` target of the per-call spans.
pub const CALL_TARGET: &str = "mcp_soak::call";

/// Log line format: `Text`, human-readable lines (the default), or `Json`, one JSON object per line
/// for log pipelines.
// The variants carry no doc comments on purpose: clap shows a possible value's doc in `--help`,
// which switches every command's `--help` to its long layout.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Keeps the exporter alive; flushes pending spans when dropped.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// True when spans are exported.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown();
        }
    }
}

/// Whether log lines get colour: only on a terminal, and never when `NO_COLOR` is set to anything
/// but the empty string (no-color.org). Docker logs, pipes and files get plain text.
pub fn colour(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Installs the global subscriber: logs to stderr, spans to OTLP when configured.
pub fn init(format: LogFormat) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,rmcp=warn"))
        .add_directive(format!("{CALL_TARGET}=off").parse().context("log filter")?);
    let fmt = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(colour(
                std::io::IsTerminal::is_terminal(&std::io::stderr()),
                std::env::var_os("NO_COLOR").as_deref(),
            ))
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let provider = otlp_provider()?;
    EXPORTING.store(provider.is_some(), std::sync::atomic::Ordering::Relaxed);
    // A Vec of boxed layers rather than an `Option` layer: a `None` layer reports interest in every
    // callsite, which would make each call build its (unused) `mcp.call` span.
    let mut layers = vec![fmt.with_filter(filter).boxed()];
    if let Some(p) = &provider {
        layers.push(
            tracing_opentelemetry::layer()
                .with_tracer(p.tracer("mcp-soak"))
                .with_filter(
                    Targets::new()
                        .with_target(CALL_TARGET, tracing::Level::INFO)
                        .with_target("mcp_soak", tracing::Level::INFO),
                )
                .boxed(),
        );
    }
    Registry::default()
        .with(layers)
        .try_init()
        .context("installing the log subscriber")?;
    Ok(Telemetry { provider })
}

/// Builds the OTLP tracer provider when an endpoint is configured in the environment.
fn otlp_provider() -> anyhow::Result<Option<SdkTracerProvider>> {
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .ok()
        .or_else(|| {
            std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
                .ok()
                .map(|e| format!("{}/v1/traces", e.trim_end_matches('/')))
        });
    let Some(endpoint) = endpoint.filter(|e| !e.is_empty()) else {
        return Ok(None);
    };
    let ratio = match std::env::var("OTEL_TRACES_SAMPLER_ARG") {
        Ok(v) => v
            .parse::<f64>()
            .ok()
            .filter(|r| (0.0..=1.0).contains(r))
            .with_context(|| {
                format!("OTEL_TRACES_SAMPLER_ARG: expected a ratio from 0 to 1, got {v:?}")
            })?,
        Err(_) => 1.0,
    };
    crate::tls::install_crypto_provider();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint.clone())
        .build()
        .with_context(|| format!("OTLP exporter for {endpoint}"))?;
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "mcp-soak".into());
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            ratio,
        ))))
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service)
                .build(),
        )
        .build();
    Ok(Some(provider))
}

/// Set once by [`init`] when spans are exported: without it no call looks up its span.
static EXPORTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The W3C `traceparent` of the current span, when spans are being exported (so a server that
/// traces joins the tester's trace); `None` otherwise, cheaply.
pub fn traceparent() -> Option<http::HeaderValue> {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    if !EXPORTING.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    let span = tracing::Span::current();
    if span.is_disabled() {
        return None;
    }
    let context = span.context();
    let sc = context.span().span_context().clone();
    if !sc.is_valid() {
        return None;
    }
    let value = format!(
        "00-{}-{}-{:02x}",
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags().to_u8()
    );
    http::HeaderValue::from_str(&value).ok()
}

#[cfg(test)]
mod tests {
    use super::colour;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some(OsStr::new(""))));
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(false, None));
        assert!(!colour(false, Some(OsStr::new("1"))));
    }
}

//! Logging (`tracing`, text or JSON) and optional OpenTelemetry export of a span per call.

//! TLS set-up shared by every HTTPS client in the process (the MCP transport, the token endpoint,
//! the target's metrics, the OTLP exporter), below all of them.

/// Makes `ring` the process-wide rustls provider (reqwest is built without one); idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

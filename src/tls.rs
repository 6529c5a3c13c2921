//! TLS set-up shared by every HTTPS client in the process (the MCP transport, the token endpoint,
//! the target's metrics, the OTLP exporter), below all of them: the crypto provider and the
//! extra CA file.

use std::path::Path;

/// Makes `ring` the process-wide rustls provider (reqwest is built without one); idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The certificates of a PEM CA file, to trust beside the system's. The file must hold at least
/// one (an empty or foreign file would otherwise be accepted, and every TLS handshake fail later).
pub fn load_ca(path: &Path) -> Result<Vec<reqwest::Certificate>, String> {
    let pem =
        std::fs::read(path).map_err(|e| format!("cannot read CA file {}: {e}", path.display()))?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        Ok(_) => Err(format!(
            "CA file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        )),
        Err(e) => Err(format!("invalid CA file {}: {e}", path.display())),
    }
}

/// `builder` trusting the certificates of `ca_file` too, when one is given.
pub fn trust_ca(
    mut builder: reqwest::ClientBuilder,
    ca_file: Option<&Path>,
) -> Result<reqwest::ClientBuilder, String> {
    if let Some(path) = ca_file {
        for cert in load_ca(path)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_that_is_missing_empty_or_foreign_says_which_and_why() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.pem");
        assert!(
            load_ca(&missing)
                .unwrap_err()
                .starts_with("cannot read CA file")
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = load_ca(&empty).unwrap_err();
        assert!(e.contains("holds no PEM certificate"), "{e}");
        assert!(trust_ca(reqwest::Client::builder(), Some(&empty)).is_err());
        assert!(trust_ca(reqwest::Client::builder(), None).is_ok());
    }
}

//! PEM as OpenSSL writes it: 64-column base64, `\n` line endings.

use der::pem::LineEnding;

/// PEM `CERTIFICATE` block.
pub fn certificate_pem(der: &[u8]) -> String {
    encode("CERTIFICATE", der)
}

/// PEM block with any label (`X509 CRL`, `PUBLIC KEY`, ...).
pub fn encode(label: &str, der: &[u8]) -> String {
    der::pem::encode_string(label, LineEnding::LF, der).unwrap_or_default()
}

/// All `CERTIFICATE` blocks in a PEM bundle, as DER.
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<Vec<u8>>, der::Error> {
    let text = std::str::from_utf8(pem).map_err(|_| der::Error::from(der::ErrorKind::Failed))?;
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let tail = rest.get(start..).unwrap_or_default();
        let end_marker = "-----END CERTIFICATE-----";
        let end = tail
            .find(end_marker)
            .ok_or_else(|| der::Error::from(der::ErrorKind::Failed))?
            + end_marker.len();
        let block = tail.get(..end).unwrap_or_default();
        let (label, der) = der::pem::decode_vec(block.as_bytes())?;
        if label == "CERTIFICATE" {
            out.push(der);
        }
        rest = tail.get(end..).unwrap_or_default();
    }
    Ok(out)
}

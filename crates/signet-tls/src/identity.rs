//! Loading a service's own certificate and key, and the trust anchors it
//! checks peers against, from PEM.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::{self, PemObject as _};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use zeroize::Zeroizing;

use crate::TlsError;
use crate::config::crypto_provider;

#[cfg(test)]
mod tests;

/// Where in-memory PEM came from, for error messages.
const IN_MEMORY: &str = "in-memory PEM";

/// A certificate chain (end-entity first) and the matching private key.
///
/// The key is parsed into aws-lc-rs at load time, so a wrong or mismatched key
/// fails at startup rather than at the first handshake, and the raw key bytes
/// are not kept around. `Debug` shows the chain length, never the key.
#[derive(Clone)]
pub struct Identity {
    certified_key: Arc<CertifiedKey>,
}

impl Identity {
    /// Loads the chain from `cert` and the key from `key` (PKCS#8, SEC1 or
    /// PKCS#1 PEM). Both may be the same file.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Identity, TlsError> {
        let cert_pem = read_file(cert)?;
        // The key's PEM is wiped from memory once parsed.
        let key_pem = Zeroizing::new(read_file(key)?);
        Self::load(
            &cert_pem,
            &cert.display().to_string(),
            &key_pem,
            &key.display().to_string(),
        )
    }

    /// Like [`Identity::from_pem_files`] from PEM text already in memory.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Identity, TlsError> {
        Self::load(cert_pem, IN_MEMORY, key_pem, IN_MEMORY)
    }

    fn load(
        cert_pem: &[u8],
        cert_origin: &str,
        key_pem: &[u8],
        key_origin: &str,
    ) -> Result<Identity, TlsError> {
        let chain = parse_certificates(cert_pem, cert_origin)?;
        let key = match PrivateKeyDer::from_pem_slice(key_pem) {
            Ok(key) => key,
            Err(pem::Error::NoItemsFound) => {
                return Err(TlsError::NoPrivateKey {
                    origin: key_origin.to_owned(),
                });
            }
            Err(source) => {
                return Err(TlsError::BadPem {
                    origin: key_origin.to_owned(),
                    source,
                });
            }
        };
        // Parses the key with the one provider and checks that it matches the
        // end-entity certificate's public key.
        let certified_key =
            CertifiedKey::from_der(chain, key, &crypto_provider()).map_err(|source| {
                TlsError::BadPrivateKey {
                    origin: key_origin.to_owned(),
                    source,
                }
            })?;
        Ok(Identity {
            certified_key: Arc::new(certified_key),
        })
    }

    /// The chain, end-entity certificate first.
    pub fn certificate_chain(&self) -> &[CertificateDer<'static>] {
        &self.certified_key.cert
    }

    /// The end-entity certificate.
    pub fn end_entity(&self) -> Option<&CertificateDer<'static>> {
        self.certified_key.cert.first()
    }

    /// The chain and key as rustls holds them, for building a custom config
    /// (e.g. a test client restricted to one protocol version).
    pub fn certified_key(&self) -> &Arc<CertifiedKey> {
        &self.certified_key
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("chain_len", &self.certified_key.cert.len())
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Loads trust anchors (one or more `CERTIFICATE` sections) from a PEM file.
///
/// Every certificate must be usable as a trust anchor; a bad one is an error
/// rather than silently skipped, so a typo cannot shrink the trusted set
/// unnoticed.
pub fn load_roots(pem_path: &Path) -> Result<Arc<RootCertStore>, TlsError> {
    let pem = read_file(pem_path)?;
    roots(&pem, &pem_path.display().to_string())
}

/// Like [`load_roots`] from PEM text already in memory.
pub fn load_roots_from_pem(pem: &[u8]) -> Result<Arc<RootCertStore>, TlsError> {
    roots(pem, IN_MEMORY)
}

fn roots(pem: &[u8], origin: &str) -> Result<Arc<RootCertStore>, TlsError> {
    let mut store = RootCertStore::empty();
    for cert in parse_certificates(pem, origin)? {
        store.add(cert).map_err(|source| TlsError::BadTrustAnchor {
            origin: origin.to_owned(),
            source,
        })?;
    }
    Ok(Arc::new(store))
}

fn parse_certificates(pem: &[u8], origin: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::BadPem {
            origin: origin.to_owned(),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            origin: origin.to_owned(),
        });
    }
    Ok(chain)
}

fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::ReadFile {
        path: path.to_owned(),
        source,
    })
}

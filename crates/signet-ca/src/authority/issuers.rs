//! Issuer certificates paired with their signing keys, and the chains
//! handed out with issued certificates.

use std::sync::Arc;

use der::Decode;
use signet_core::{Issuer, Signer};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, SubjectKeyIdentifier};

/// An issuer this CA can sign for.
#[derive(Clone, Debug)]
pub struct IssuerKey {
    /// Database id.
    pub id: i64,
    /// Name used in requests.
    pub name: String,
    /// The issuer certificate and its URLs.
    pub issuer: Issuer,
    /// Its key.
    pub signer: Arc<dyn Signer>,
    /// DER certificates from this issuer up to, not including, a
    /// self-signed root: what clients need besides the root.
    pub chain: Vec<Vec<u8>>,
}

fn key_ids(der: &[u8]) -> (Option<Vec<u8>>, Option<Vec<u8>>, bool) {
    let Ok(cert) = Certificate::from_der(der) else {
        return (None, None, false);
    };
    let tbs = cert.tbs_certificate();
    let ski = tbs
        .get_extension::<SubjectKeyIdentifier>()
        .ok()
        .flatten()
        .map(|(_, s)| s.0.as_bytes().to_vec());
    let aki = tbs
        .get_extension::<AuthorityKeyIdentifier>()
        .ok()
        .flatten()
        .and_then(|(_, a)| a.key_identifier.map(|k| k.as_bytes().to_vec()));
    let self_signed = tbs.issuer() == tbs.subject();
    (ski, aki, self_signed)
}

/// Builds each issuer's chain by following authorityKeyIdentifier to the
/// subjectKeyIdentifier of another known CA certificate.
pub(crate) fn build_chains(certs: &[Vec<u8>]) -> Vec<Vec<Vec<u8>>> {
    let ids: Vec<_> = certs.iter().map(|c| key_ids(c)).collect();
    certs
        .iter()
        .enumerate()
        .map(|(start, der)| {
            let mut chain = Vec::new();
            let mut current = Some(start);
            let mut seen = 0;
            while let (Some(i), true) = (current, seen <= certs.len()) {
                seen += 1;
                let Some((_, aki, self_signed)) = ids.get(i) else {
                    break;
                };
                if *self_signed {
                    break;
                }
                chain.push(certs.get(i).cloned().unwrap_or_else(|| der.clone()));
                current = ids
                    .iter()
                    .position(|(ski, _, _)| ski.is_some() && ski == aki);
            }
            chain
        })
        .collect()
}

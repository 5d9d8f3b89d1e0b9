//! The issuers this responder answers for, and the delegated signer of
//! each (RFC 6960 §4.2.2.2): the CA writes issuers and `ocsp_signers` rows
//! to its database and the keys to the token; the responder re-reads them
//! every `signer_refresh`, so a new signer (rotation) is picked up without
//! a restart. An issuer without a usable signer is not served
//! (`unauthorized`), though its CRLs and certificate still are.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use der::{Decode, Encode};
use signet_core::ocsp::{CertId, IssuerHashes, ResponseBuilder};
use signet_core::{Clock, Signer, Timestamp};
use signet_store::{IssuerRecord, OcspSignerRecord, StatusReader};
use signet_token::Token;
use x509_cert::Certificate;

use crate::error::OcspServiceError;

/// A delegated responder: its certificate (inside the builder) and key.
pub(crate) struct Responder {
    /// The `ocsp_signers` row.
    pub signer_id: i64,
    /// The key's token label.
    pub key_label: String,
    /// Builds responses naming this responder and carrying its certificate.
    pub builder: ResponseBuilder,
    /// The key.
    pub signer: Arc<dyn Signer>,
    /// The certificate's notAfter.
    pub not_after: Timestamp,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("signer_id", &self.signer_id)
            .field("key_label", &self.key_label)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// One CA certificate of the CA database.
#[derive(Debug)]
pub(crate) struct ServedIssuer {
    /// Database id.
    pub id: i64,
    /// Name, as in CRL and caIssuers URLs.
    pub name: String,
    /// The certificate, DER.
    pub certificate: Bytes,
    /// CertID hashes naming it.
    pub hashes: IssuerHashes,
    /// Its delegated responder, when one is usable.
    pub responder: Option<Arc<Responder>>,
}

/// The issuers as of the last refresh.
#[derive(Debug, Default)]
pub(crate) struct Issuers {
    issuers: Vec<ServedIssuer>,
}

impl Issuers {
    /// The issuer `cert_id` names, whether or not it has a responder.
    pub fn find(&self, cert_id: &CertId) -> Option<&ServedIssuer> {
        self.issuers.iter().find(|i| i.hashes.matches(cert_id))
    }

    /// The issuer called `name`.
    pub fn by_name(&self, name: &str) -> Option<&ServedIssuer> {
        self.issuers.iter().find(|i| i.name == name)
    }

    /// Issuers with a responder.
    pub fn served(&self) -> usize {
        self.issuers
            .iter()
            .filter(|i| i.responder.is_some())
            .count()
    }
}

#[cfg(test)]
impl Issuers {
    /// Issuers known by id and name only.
    pub(crate) fn named(list: &[(i64, &str)]) -> Self {
        Issuers {
            issuers: list
                .iter()
                .map(|(id, name)| ServedIssuer {
                    id: *id,
                    name: (*name).to_owned(),
                    certificate: Bytes::new(),
                    hashes: IssuerHashes::new(b"", b""),
                    responder: None,
                })
                .collect(),
        }
    }
}

/// Issuers and signers, refreshed from the database.
pub(crate) struct IssuerDirectory {
    current: RwLock<Arc<Issuers>>,
    reader: StatusReader,
    token: Arc<Token>,
    clock: Arc<dyn Clock>,
    query_timeout: Duration,
}

impl std::fmt::Debug for IssuerDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerDirectory")
            .field("current", &self.snapshot())
            .finish_non_exhaustive()
    }
}

impl IssuerDirectory {
    /// An empty directory; call [`Self::refresh`] to fill it.
    pub fn new(
        reader: StatusReader,
        token: Arc<Token>,
        clock: Arc<dyn Clock>,
        query_timeout: Duration,
    ) -> Self {
        IssuerDirectory {
            current: RwLock::new(Arc::new(Issuers::default())),
            reader,
            token,
            clock,
            query_timeout,
        }
    }

    /// The issuers as of the last refresh.
    pub fn snapshot(&self) -> Arc<Issuers> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Re-reads issuers and signers. A signer already loaded is kept; a
    /// new one is loaded from the token; one that cannot be used leaves
    /// the previous signer in place while it is valid.
    pub async fn refresh(&self) -> Result<(), OcspServiceError> {
        let now = self.clock.now();
        let timeout = self.query_timeout;
        let records = tokio::time::timeout(timeout, self.reader.issuers())
            .await
            .map_err(|_| OcspServiceError::StoreTimeout { timeout })??;
        let signers = tokio::time::timeout(timeout, self.reader.ocsp_signers(now))
            .await
            .map_err(|_| OcspServiceError::StoreTimeout { timeout })??;
        let previous = self.snapshot();
        let mut issuers = Vec::with_capacity(records.len());
        for record in records {
            let Some(hashes) = issuer_hashes(&record) else {
                tracing::error!(issuer = %record.name, "issuer certificate in the database does not parse; not served");
                continue;
            };
            let old = previous
                .issuers
                .iter()
                .find(|i| i.id == record.id)
                .and_then(|i| i.responder.clone())
                .filter(|r| r.not_after > now);
            let responder = match newest_signer(&signers, record.id) {
                Some(s) if old.as_ref().is_some_and(|o| o.signer_id == s.id) => old,
                Some(s) => match self.load(&record, s).await {
                    Ok(responder) => {
                        tracing::info!(issuer = %record.name, key = %s.key_label, not_after = %s.not_after, "OCSP signer loaded");
                        Some(Arc::new(responder))
                    }
                    Err(reason) => {
                        tracing::error!(issuer = %record.name, key = %s.key_label, %reason, "OCSP signer unusable");
                        old
                    }
                },
                None => {
                    if old.is_some() {
                        tracing::warn!(issuer = %record.name, "no valid OCSP signer in the database any more");
                    }
                    None
                }
            };
            issuers.push(ServedIssuer {
                id: record.id,
                name: record.name,
                certificate: Bytes::from(record.certificate),
                hashes,
                responder,
            });
        }
        *self.current.write().unwrap_or_else(PoisonError::into_inner) =
            Arc::new(Issuers { issuers });
        Ok(())
    }

    /// Opens a signer's key and checks it against its certificate.
    async fn load(
        &self,
        issuer: &IssuerRecord,
        record: &OcspSignerRecord,
    ) -> Result<Responder, String> {
        let token = Arc::clone(&self.token);
        let label = record.key_label.clone();
        let signer = tokio::task::spawn_blocking(move || token.signer(&label))
            .await
            .map_err(|_| "token task failed".to_owned())?
            .map_err(|e| e.to_string())?;
        let cert = Certificate::from_der(&record.certificate).map_err(|e| e.to_string())?;
        let tbs = cert.tbs_certificate();
        if tbs.subject_public_key_info() != signer.public_key() {
            return Err("the token key is not the key of the signer certificate".into());
        }
        let issuer_cert = Certificate::from_der(&issuer.certificate).map_err(|e| e.to_string())?;
        if tbs.issuer().to_der().ok() != issuer_cert.tbs_certificate().subject().to_der().ok() {
            return Err("the signer certificate was not issued by this issuer".into());
        }
        let builder = ResponseBuilder::new(&record.certificate, signer.algorithm())
            .map_err(|e| e.to_string())?;
        Ok(Responder {
            signer_id: record.id,
            key_label: record.key_label.clone(),
            builder,
            signer,
            not_after: record.not_after,
        })
    }
}

/// The newest valid signer of an issuer: the latest notBefore, and of
/// those the last recorded.
fn newest_signer(signers: &[OcspSignerRecord], issuer_id: i64) -> Option<&OcspSignerRecord> {
    signers
        .iter()
        .filter(|s| s.issuer_id == issuer_id)
        .max_by_key(|s| (s.not_before, s.id))
}

fn issuer_hashes(record: &IssuerRecord) -> Option<IssuerHashes> {
    let cert = Certificate::from_der(&record.certificate).ok()?;
    let tbs = cert.tbs_certificate();
    Some(IssuerHashes::new(
        &tbs.subject().to_der().ok()?,
        tbs.subject_public_key_info().subject_public_key.raw_bytes(),
    ))
}

#[cfg(test)]
mod tests;

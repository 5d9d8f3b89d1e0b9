//! Dual certificates through the RA: a request for a profile listed in
//! `[kmc] dual_profiles` is issued by the CA's dual endpoint
//! (`POST /v1/certificates/dual`), which has the KMC generate and escrow
//! the encryption key pair. The request records the signing certificate
//! like any other; the encryption certificate and the envelope are not
//! stored by the RA: the CA answers the same request id with the same two
//! certificates and the same escrowed key, freshly enveloped to the
//! signing key, so a download asks again (idempotently) and the RA keeps
//! nothing it would have to protect.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use signet_api::ClientError;
use signet_api::ca::{CaClient, IssueRequest, IssuedCertificate};
use signet_store::ra::RequestRecord;

use super::RegistrationAuthority;
use super::certificates::sans_of;
use crate::audit::{AuditEvent, Outcome};
use crate::error::RaError;
use crate::roles::{Caller, Permission};

/// The encryption half of an issued dual request.
#[derive(Clone, Debug)]
pub struct DualMaterial {
    /// The encryption certificate's serial.
    pub serial: String,
    /// The encryption certificate, PEM, followed by its chain (no root).
    pub encryption_pem: String,
    /// The escrowed key's id at the KMC (recovery names it).
    pub key_id: String,
    /// The encryption private key enveloped to the signing key, DER.
    pub envelope: Vec<u8>,
    /// `gmt0009-sm2-enveloped-key` or `cms-auth-enveloped-data`.
    pub envelope_format: String,
}

/// The CA request of a stored RA request: the same every time, so that
/// the CA's idempotency under the request id holds.
pub(crate) fn issue_request(record: &RequestRecord) -> IssueRequest {
    IssueRequest {
        request_id: format!("ra:{}", record.uid),
        profile: record.profile.clone(),
        csr: record.csr_pem.clone(),
        issuer: None,
        subject: record.subject_override.clone(),
        sans: sans_of(record),
        validity_days: None,
    }
}

impl RegistrationAuthority {
    /// Issues `request` at the CA: through the dual endpoint for a dual
    /// profile (answering its signing certificate), the single one
    /// otherwise.
    pub(crate) async fn issue_at_ca(
        &self,
        ca: &CaClient,
        request: &IssueRequest,
    ) -> Result<IssuedCertificate, ClientError> {
        if self.settings.is_dual(&request.profile) {
            ca.issue_dual(request).await.map(|pair| pair.signing)
        } else {
            ca.issue(request).await
        }
    }

    /// The encryption certificate and the envelope of issued dual request
    /// `uid`, asked of the CA again under the request's id. Audited: the
    /// envelope opens only with the subscriber's signing key, but who
    /// fetched it is worth knowing.
    pub async fn dual_material(&self, caller: &Caller, uid: &str) -> Result<DualMaterial, RaError> {
        const ACTION: &str = "certificate.dual_download";
        self.require(caller, Permission::ViewRequests, ACTION)
            .await?;
        let record = self.scoped_request(caller, uid).await?;
        if !self.settings.is_dual(&record.profile) || record.certificate_pem.is_none() {
            return Err(RaError::NotFound {
                what: "dual certificate",
            });
        }
        let ca = self.ca.as_ref().ok_or_else(|| RaError::CaUnavailable {
            reason: "no CA configured".into(),
        })?;
        let event = AuditEvent::by(caller, ACTION).target(format!("request:{uid}"));
        let answer = match ca.issue_dual(&issue_request(&record)).await {
            Ok(pair) => match B64.decode(pair.envelope.as_bytes()) {
                Ok(envelope) => Ok(DualMaterial {
                    serial: pair.encryption.serial,
                    encryption_pem: format!(
                        "{}{}",
                        pair.encryption.certificate,
                        pair.encryption.chain.concat()
                    ),
                    key_id: pair.key_id,
                    envelope,
                    envelope_format: pair.envelope_format,
                }),
                Err(_) => Err(RaError::CaUnavailable {
                    reason: "the CA's envelope is not base64".into(),
                }),
            },
            Err(ClientError::Api {
                status,
                code,
                message,
            }) if (400..500).contains(&status) && status != 408 && status != 429 => {
                Err(RaError::CaRefused { code, message })
            }
            Err(other) => Err(RaError::CaUnavailable {
                reason: other.to_string(),
            }),
        };
        match &answer {
            Ok(m) => {
                self.audit
                    .record(
                        &event
                            .detail("serial", m.serial.clone())
                            .detail("key_id", m.key_id.clone()),
                    )
                    .await?;
            }
            Err(e) => {
                self.audit
                    .record_or_log(
                        &event
                            .outcome(Outcome::Error)
                            .detail("reason", e.to_string()),
                    )
                    .await;
            }
        }
        answer
    }
}

//! The certificate side of a request: issuance by the CA once a request
//! is approved, downloads, and revoke / suspend / resume.
//!
//! The RA calls the CA with request id `ra:<request uid>`. The CA treats
//! request ids as idempotency keys forever, so an issuance retried after a
//! lost answer (or by a second officer pressing "retry") returns the same
//! certificate instead of issuing another.

use signet_api::ClientError;
use signet_api::ca::{CaClient, IssueRequest, RevokeRequest, StatusRequest};
use signet_core::Timestamp;
use signet_store::ra::{IssuedRecord, RequestRecord};

use super::RegistrationAuthority;
use crate::audit::{AuditEvent, Outcome};
use crate::error::RaError;
use crate::roles::{Caller, Permission};

/// Revocation reasons an officer may give (RFC 5280 §5.3.1). Hold is
/// `suspend`; removeFromCRL is not a reason one revokes with; the CA
/// reasons (cACompromise, aACompromise) are not for end-entity requests.
pub const REVOCATION_REASONS: [&str; 6] = [
    "unspecified",
    "keyCompromise",
    "affiliationChanged",
    "superseded",
    "cessationOfOperation",
    "privilegeWithdrawn",
];

/// The status changes an officer can make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusChange {
    /// Revoke for good, with a reason.
    Revoke(&'static str),
    /// Suspend (certificateHold).
    Suspend,
    /// Resume a suspended certificate.
    Resume,
}

impl StatusChange {
    fn action(self) -> &'static str {
        match self {
            StatusChange::Revoke(_) => "certificate.revoke",
            StatusChange::Suspend => "certificate.suspend",
            StatusChange::Resume => "certificate.resume",
        }
    }
}

/// What a revocation may add beyond its reason (the REST API and the
/// `signet revoke` command line pass them on to the CA).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevokeOptions {
    /// When the key was (suspected to be) compromised, RFC 3339
    /// (RFC 5280 §5.3.2); the CA checks the format.
    pub invalidity_date: Option<String>,
    /// Ask the CA to sign a new CRL at once (emergency revocation).
    pub crl_now: bool,
}

/// The CA's refusal (a 4xx answer) or unavailability.
pub(crate) fn ca_error(e: ClientError) -> RaError {
    match e {
        ClientError::Api {
            status,
            code,
            message,
        } if (400..500).contains(&status) && status != 408 && status != 429 => {
            RaError::CaRefused { code, message }
        }
        other => RaError::CaUnavailable {
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests;

/// Certificates read per statement when the SANs of rows recorded before
/// migration 0011 are filled in at start.
const SANS_BACKFILL_CHUNK: usize = 500;

/// The certificate's subject alternative names as OpenSSL prints them
/// (`DNS:a.example, IP:10.0.0.1, email:a@b`), as the `sans` column keeps
/// them for the "SAN contains" search; empty when it has none. A
/// certificate that cannot be read (never one the CA answered with) is
/// logged and gets none.
pub(crate) fn certificate_sans(pem: &str) -> String {
    use der::DecodePem as _;
    use x509_cert::ext::pkix::SubjectAltName;
    let names = x509_cert::Certificate::from_pem(pem.as_bytes()).map_err(|e| e.to_string());
    match names.and_then(|cert| {
        cert.tbs_certificate()
            .get_extension::<SubjectAltName>()
            .map(|found| found.map(|(_, san)| san))
            .map_err(|e| e.to_string())
    }) {
        Ok(Some(san)) => san
            .0
            .iter()
            .map(signet_core::names::general_name_text)
            .collect::<Vec<_>>()
            .join(", "),
        Ok(None) => String::new(),
        Err(e) => {
            tracing::warn!(error = %e, "a recorded certificate's SANs cannot be read");
            String::new()
        }
    }
}

/// The SANs a request asks to replace the CSR's with, if any.
pub(crate) fn sans_of(record: &RequestRecord) -> Option<Vec<String>> {
    record
        .sans_override
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
}

fn rfc3339_to_timestamp(text: &str) -> Timestamp {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_or(Timestamp::EPOCH, |t| {
            Timestamp::from_unix(t.unix_timestamp())
        })
}

impl RegistrationAuthority {
    fn ca_client(&self) -> Result<&CaClient, RaError> {
        self.ca.as_ref().ok_or_else(|| RaError::CaUnavailable {
            reason: "no CA configured".into(),
        })
    }

    /// Asks the CA to issue an approved request and records the answer:
    /// `issued` with the certificate, `failed` with the CA's refusal, or
    /// still `approved` with the transport error (retry later).
    pub(crate) async fn issue_approved(
        &self,
        caller: &Caller,
        record: RequestRecord,
    ) -> Result<RequestRecord, RaError> {
        let target = format!("request:{}", record.uid);
        let request = IssueRequest {
            request_id: format!("ra:{}", record.uid),
            profile: record.profile.clone(),
            csr: record.csr_pem.clone(),
            issuer: None,
            subject: record.subject_override.clone(),
            sans: sans_of(&record),
            validity_days: None,
        };
        let answer = match self.ca_client() {
            Ok(ca) => self.issue_at_ca(ca, &request).await.map_err(ca_error),
            Err(e) => Err(e),
        };
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        match answer {
            Ok(issued) => {
                let chain_pem = issued.chain.concat();
                let stored = tx
                    .record_issued(
                        record.id,
                        &IssuedRecord {
                            serial: issued.serial.clone(),
                            issuer: issued.issuer.clone(),
                            certificate_pem: issued.certificate.clone(),
                            chain_pem,
                            not_after: rfc3339_to_timestamp(&issued.not_after),
                            sans: certificate_sans(&issued.certificate),
                        },
                        now,
                    )
                    .await?;
                if stored {
                    self.metrics.issued.inc();
                    self.audit
                        .append(
                            &mut tx,
                            &AuditEvent::by(caller, "certificate.issue")
                                .target(target)
                                .detail("serial", issued.serial.as_str())
                                .detail("issuer", issued.issuer.as_str())
                                .detail("profile", record.profile.as_str())
                                .detail("replayed", issued.replayed),
                        )
                        .await?;
                    // A portal renewal supersedes the certificate it renews.
                    self.schedule_superseded(&mut tx, caller, &record, now)
                        .await?;
                }
            }
            Err(RaError::CaRefused { code, message }) => {
                let failed = tx
                    .set_request_status(record.id, "approved", "failed", Some(&message), now)
                    .await?;
                // Never to be issued: a generated key has no further use,
                // erased with the status change (first try or a retry).
                if failed {
                    self.erase_generated_key(&mut tx, caller, &record, "ca_refused")
                        .await?;
                }
                self.audit
                    .append(
                        &mut tx,
                        &AuditEvent::by(caller, "certificate.issue")
                            .target(target)
                            .outcome(Outcome::Denied)
                            .detail("ca_code", code)
                            .detail("reason", message),
                    )
                    .await?;
            }
            Err(e) => {
                let reason = e.to_string();
                tx.set_request_status(record.id, "approved", "approved", Some(&reason), now)
                    .await?;
                self.audit
                    .append(
                        &mut tx,
                        &AuditEvent::by(caller, "certificate.issue")
                            .target(target)
                            .outcome(Outcome::Error)
                            .detail("reason", reason),
                    )
                    .await?;
                tracing::warn!(error = %e, request = %record.uid, "issuance postponed: CA unavailable");
            }
        }
        tx.commit().await?;
        self.scoped_request(caller, &record.uid).await
    }

    /// Fills in the SANs of certificates recorded before the RA kept them
    /// (migration 0011), read from their stored PEM, a chunk at a time;
    /// run once at start (later starts find nothing to do). Returns how
    /// many rows were filled in.
    pub(crate) async fn backfill_sans(&self) -> Result<u64, RaError> {
        let mut after = 0;
        let mut filled = 0;
        loop {
            let rows = self
                .store
                .requests_without_sans(after, SANS_BACKFILL_CHUNK)
                .await?;
            let Some((last, _)) = rows.last() else {
                break;
            };
            after = *last;
            let sans: Vec<(i64, String)> = rows
                .iter()
                .map(|(id, pem)| (*id, certificate_sans(pem)))
                .collect();
            let mut tx = self.store.begin().await?;
            filled += tx.record_sans_many(&sans).await?;
            tx.commit().await?;
        }
        if filled > 0 {
            tracing::info!(
                rows = filled,
                "recorded the SANs of certificates issued before migration 0011"
            );
        }
        Ok(filled)
    }

    /// Asks the CA again for an approved request whose issuance did not
    /// complete. Safe to repeat: the CA request id makes it idempotent.
    pub async fn retry_issuance(
        &self,
        caller: &Caller,
        uid: &str,
    ) -> Result<RequestRecord, RaError> {
        self.require(caller, Permission::DecideRequests, "certificate.issue")
            .await?;
        let record = self.scoped_request(caller, uid).await?;
        if record.status != "approved" {
            return Err(RaError::Conflict {
                key: "error.request_not_approved",
            });
        }
        self.issue_approved(caller, record).await
    }

    /// The issued certificate, PEM, alone or followed by its chain
    /// (without the root).
    pub async fn certificate_pem(
        &self,
        caller: &Caller,
        uid: &str,
        with_chain: bool,
    ) -> Result<(String, String), RaError> {
        self.require(caller, Permission::ViewRequests, "certificate.download")
            .await?;
        let record = self.scoped_request(caller, uid).await?;
        let (Some(cert), Some(serial)) = (record.certificate_pem, record.serial) else {
            return Err(RaError::NotFound {
                what: "certificate",
            });
        };
        let mut pem = cert;
        if with_chain {
            pem.push_str(record.chain_pem.as_deref().unwrap_or_default());
        }
        Ok((serial, pem))
    }

    /// Revokes, suspends or resumes the certificate of request `uid`
    /// through the CA, and records the CA's answer.
    pub async fn change_certificate_status(
        &self,
        caller: &Caller,
        uid: &str,
        change: StatusChange,
    ) -> Result<RequestRecord, RaError> {
        self.change_certificate_status_with(caller, uid, change, &RevokeOptions::default())
            .await
    }

    /// [`Self::change_certificate_status`], with the revocation's
    /// invalidity date and an immediate CRL when asked (`options` is
    /// ignored for suspend and resume).
    pub async fn change_certificate_status_with(
        &self,
        caller: &Caller,
        uid: &str,
        change: StatusChange,
        options: &RevokeOptions,
    ) -> Result<RequestRecord, RaError> {
        let action = change.action();
        self.require(caller, Permission::ManageCertificates, action)
            .await?;
        let record = self.scoped_request(caller, uid).await?;
        let (Some(serial), Some(issuer)) = (&record.serial, &record.issuer) else {
            return Err(RaError::Conflict {
                key: "error.no_certificate_yet",
            });
        };
        let ca = self.ca_client()?;
        let status = StatusRequest {
            issuer: Some(issuer.clone()),
        };
        let answer = match change {
            StatusChange::Revoke(reason) => {
                ca.revoke(
                    serial,
                    &RevokeRequest {
                        reason: reason.to_owned(),
                        invalidity_date: options.invalidity_date.clone(),
                        issuer: Some(issuer.clone()),
                        crl_now: options.crl_now,
                    },
                )
                .await
            }
            StatusChange::Suspend => ca.suspend(serial, &status).await,
            StatusChange::Resume => ca.resume(serial, &status).await,
        };
        let target = format!("request:{uid}");
        let info = match answer.map_err(ca_error) {
            Ok(info) => info,
            Err(e) => {
                let (outcome, reason) = match &e {
                    RaError::CaRefused { message, .. } => (Outcome::Denied, message.clone()),
                    other => (Outcome::Error, other.to_string()),
                };
                self.audit
                    .record_or_log(
                        &AuditEvent::by(caller, action)
                            .target(target)
                            .outcome(outcome)
                            .detail("serial", serial.as_str())
                            .detail("reason", reason),
                    )
                    .await;
                return Err(e);
            }
        };
        let mut tx = self.store.begin().await?;
        tx.set_certificate_status(
            record.id,
            &info.status,
            info.revocation_reason.as_deref(),
            self.clock.now(),
        )
        .await?;
        let mut event = AuditEvent::by(caller, action)
            .target(target)
            .detail("serial", serial.as_str())
            .detail("status", info.status.as_str());
        if let StatusChange::Revoke(reason) = change {
            event = event.detail("reason", reason);
            if options.crl_now {
                event = event.detail("crl_now", true);
            }
        }
        self.audit.append(&mut tx, &event).await?;
        // A revoked certificate's generated key is never handed over.
        if info.status == "revoked" {
            self.erase_generated_key(&mut tx, caller, &record, "revoked")
                .await?;
        }
        tx.commit().await?;
        self.scoped_request(caller, uid).await
    }
}

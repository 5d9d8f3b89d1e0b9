//! The subscribers' self-service portal: the holder of a certificate this
//! RA issued logs in with it (the TLS handshake proved possession of its
//! key; the certificate must be the very one the RA recorded, and still
//! valid by the CA's last word), sees it, files a renewal with a new CSR
//! inside the renewal window, or revokes it.
//!
//! A renewal is a new request for the same profile and unit, filed by the
//! certificate (`renewal_of`); officers approve it as the profile demands,
//! whether the CSR holds a new key (re-key) or the certificate's own key
//! (renewal with the same key; the trail records which, as `key`),
//! like any other request. One renewal per certificate: none is filed
//! while another waits or once one was issued.

use std::net::IpAddr;

use der::Decode as _;
use signet_core::csr::VerifiedCsr;
use signet_store::ra::{NewRequest, RequestRecord, ScopePrefix};

use super::certificates::{REVOCATION_REASONS, StatusChange};
use super::{RegistrationAuthority, ip_text};
use crate::audit::{ActorKind, AuditEvent, Outcome};
use crate::error::RaError;
use crate::roles::Caller;

/// The holder of a certificate, logged into the portal.
#[derive(Clone, Debug)]
pub struct PortalHolder {
    /// For the audit trail and scoped operations.
    pub caller: Caller,
    /// The request the certificate was issued for.
    pub record: RequestRecord,
}

/// What the portal page shows.
#[derive(Clone, Debug)]
pub struct PortalView {
    /// The holder's certificate.
    pub record: RequestRecord,
    /// Whole days until it expires.
    pub days_left: i64,
    /// Whether a renewal may be filed now.
    pub renewable: bool,
    /// Renewals filed for it, newest first.
    pub renewals: Vec<RequestRecord>,
    /// When it will be revoked as superseded by an issued renewal, if
    /// that is scheduled.
    pub superseded_on: Option<signet_core::Timestamp>,
}

impl RegistrationAuthority {
    async fn refuse_holder(&self, who: &str, reason: &str, ip: IpAddr) -> RaError {
        self.audit
            .record_or_log(
                &AuditEvent::new(ActorKind::Subscriber, who, "portal.login", &ip_text(ip))
                    .outcome(Outcome::Denied)
                    .detail("reason", reason),
            )
            .await;
        if reason == "revoked" || reason == "suspended" {
            RaError::Forbidden {
                action: "portal.login",
            }
        } else {
            RaError::Unauthenticated
        }
    }

    /// Who holds the connection's certificate: it must be one the RA
    /// recorded (same bytes), issued and not revoked or suspended.
    pub async fn portal_holder(
        &self,
        certificate_der: Option<&[u8]>,
        ip: IpAddr,
    ) -> Result<PortalHolder, RaError> {
        let Some(der) = certificate_der else {
            return Err(self.refuse_holder("-", "no_certificate", ip).await);
        };
        let Ok(cert) = x509_cert::Certificate::from_der(der) else {
            return Err(self.refuse_holder("-", "malformed_certificate", ip).await);
        };
        let serial = hex::encode(cert.tbs_certificate().serial_number().as_bytes());
        let who = format!("certificate:{serial}");
        let record = self
            .store
            .request_by_serial(&serial, &ScopePrefix::all())
            .await?;
        let recorded = record
            .as_ref()
            .and_then(|r| r.certificate_pem.as_deref())
            .and_then(|pem| {
                signet_core::pem::certificates_from_pem(pem.as_bytes())
                    .ok()
                    .and_then(|c| c.into_iter().next())
            });
        let (Some(record), Some(recorded)) = (record, recorded) else {
            return Err(self.refuse_holder(&who, "unknown_certificate", ip).await);
        };
        if recorded != der {
            return Err(self.refuse_holder(&who, "different_certificate", ip).await);
        }
        match record.cert_status.as_deref() {
            Some("good") => {}
            Some("suspended") => return Err(self.refuse_holder(&who, "suspended", ip).await),
            _ => return Err(self.refuse_holder(&who, "revoked", ip).await),
        }
        let unit = self
            .store
            .org_unit(record.org_unit_id)
            .await?
            .ok_or_else(|| RaError::internal("certificate's unit is gone"))?;
        Ok(PortalHolder {
            caller: Caller::subscriber(&serial, &unit, ip_text(ip)),
            record,
        })
    }

    /// The portal page's content.
    pub async fn portal_view(&self, holder: &PortalHolder) -> Result<PortalView, RaError> {
        let now = self.clock.now();
        let not_after = holder.record.not_after.unwrap_or(now);
        let left = now.seconds_until(not_after);
        let window = i64::try_from(self.settings.renewal_window.as_secs()).unwrap_or(i64::MAX);
        let serial = holder.record.serial.clone().unwrap_or_default();
        let renewals = self
            .store
            .requests(holder.caller.scope.prefix(), &Default::default(), 1000, 0)
            .await?
            .into_iter()
            .filter(|r| r.renewal_of.as_deref() == Some(serial.as_str()))
            .collect();
        Ok(PortalView {
            record: holder.record.clone(),
            days_left: left.div_euclid(86_400),
            renewable: left <= window,
            renewals,
            superseded_on: self.superseded_on(&holder.record).await?,
        })
    }

    /// Files a renewal (a new CSR: re-key) inside the renewal window.
    pub async fn portal_renew(
        &self,
        holder: &PortalHolder,
        csr_pem: &str,
    ) -> Result<RequestRecord, RaError> {
        let view = self.portal_view(holder).await?;
        let serial = holder.record.serial.clone().unwrap_or_default();
        let target = format!("certificate:{serial}");
        if !view.renewable {
            self.audit
                .record_or_log(
                    &AuditEvent::by(&holder.caller, "portal.renew")
                        .target(target)
                        .outcome(Outcome::Denied)
                        .detail("reason", "outside_renewal_window")
                        .detail("days_left", view.days_left),
                )
                .await;
            return Err(RaError::Conflict {
                key: "error.outside_renewal_window",
            });
        }
        // One renewal per certificate: none waiting, none issued already
        // (a renewal revoked since does not reopen it; an officer files
        // a new request then).
        let refusal = if view.renewals.iter().any(|r| r.status == "issued") {
            Some(("renewal_issued", "error.renewal_issued"))
        } else if view
            .renewals
            .iter()
            .any(|r| r.status == "pending" || r.status == "approved")
        {
            Some(("renewal_pending", "error.renewal_pending"))
        } else {
            None
        };
        if let Some((reason, key)) = refusal {
            self.audit
                .record_or_log(
                    &AuditEvent::by(&holder.caller, "portal.renew")
                        .target(format!("certificate:{serial}"))
                        .outcome(Outcome::Denied)
                        .detail("reason", reason),
                )
                .await;
            return Err(RaError::Conflict { key });
        }
        let Some(profile) = self.settings.profile(&holder.record.profile) else {
            return Err(RaError::Invalid {
                field: "profile",
                key: "error.invalid_profile",
            });
        };
        let csr = VerifiedCsr::parse(
            csr_pem.trim().as_bytes(),
            signet_core::csr::DEFAULT_MAX_CSR_BYTES,
        )
        .map_err(|_| RaError::Invalid {
            field: "csr",
            key: "error.invalid_csr",
        })?;
        let key = if same_key(&holder.record, &csr) {
            "same"
        } else {
            "new"
        };
        let uid = format!("{:032x}", rand::random::<u128>());
        let mut tx = self.store.begin().await?;
        tx.create_request(&NewRequest {
            uid: uid.clone(),
            org_unit_id: holder.record.org_unit_id,
            profile: holder.record.profile.clone(),
            csr_pem: format!("{}\n", csr_pem.trim()),
            subject: csr.subject().to_string(),
            approvals_required: i64::from(profile.approvals),
            status: "pending",
            filed_by: None,
            api_client_id: None,
            comment: String::new(),
            batch: None,
            renewal_of: Some(serial.clone()),
            subject_override: None,
            sans_override: None,
            now: self.clock.now(),
        })
        .await?;
        self.audit
            .append(
                &mut tx,
                &AuditEvent::by(&holder.caller, "portal.renew")
                    .target(format!("request:{uid}"))
                    .detail("renews", serial)
                    .detail("key", key)
                    .detail("profile", holder.record.profile.as_str())
                    .detail("days_left", view.days_left),
            )
            .await?;
        tx.commit().await?;
        self.scoped_request(&holder.caller, &uid).await
    }

    /// The certificate (with its chain, without the root) of an issued
    /// renewal of the holder's certificate.
    pub async fn portal_renewal_certificate(
        &self,
        holder: &PortalHolder,
        uid: &str,
    ) -> Result<(String, String), RaError> {
        let record = self.scoped_request(&holder.caller, uid).await?;
        let serial = holder.record.serial.as_deref().unwrap_or_default();
        if record.renewal_of.as_deref() != Some(serial) || serial.is_empty() {
            return Err(RaError::NotFound { what: "request" });
        }
        let (Some(cert), Some(new_serial)) = (record.certificate_pem, record.serial) else {
            return Err(RaError::NotFound {
                what: "certificate",
            });
        };
        let mut pem = cert;
        pem.push_str(record.chain_pem.as_deref().unwrap_or_default());
        Ok((new_serial, pem))
    }

    /// Revokes the holder's own certificate.
    pub async fn portal_revoke(
        &self,
        holder: &PortalHolder,
        reason: &str,
    ) -> Result<RequestRecord, RaError> {
        let Some(reason) = REVOCATION_REASONS.into_iter().find(|r| *r == reason) else {
            return Err(RaError::Invalid {
                field: "reason",
                key: "error.invalid_reason",
            });
        };
        self.change_certificate_status(
            &holder.caller,
            &holder.record.uid,
            StatusChange::Revoke(reason),
        )
        .await
    }
}

/// Whether the CSR asks for the key the holder's certificate already
/// certifies (a renewal with the same key rather than a re-key).
fn same_key(record: &RequestRecord, csr: &VerifiedCsr) -> bool {
    use der::Encode as _;
    let current = record
        .certificate_pem
        .as_deref()
        .and_then(|pem| signet_core::pem::certificates_from_pem(pem.as_bytes()).ok())
        .and_then(|certs| certs.into_iter().next())
        .and_then(|der| x509_cert::Certificate::from_der(&der).ok())
        .and_then(|cert| {
            cert.tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .ok()
        });
    current.is_some_and(|spki| csr.spki().to_der().ok().as_deref() == Some(spki.as_slice()))
}

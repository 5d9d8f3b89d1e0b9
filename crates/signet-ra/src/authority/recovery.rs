//! Key recovery and key health through the KMC.
//!
//! The KMC holds the escrowed encryption keys and enforces dual control
//! (distinct approvers, the requester never approving, the count); the RA
//! authenticates the officers, names them to the KMC (it calls as role
//! `ra`), and records every step, refusals included, in its own audit
//! trail. The RA keeps no recovery state of its own: the KMC's record is
//! the one truth, and the RA's trail says who asked for what.
//!
//! Nothing here ever sees a private key in plaintext: the KMC delivers the
//! recovered key enveloped to the subscriber's current signing key, and
//! the RA hands that envelope (DER) to the officer as it came.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use der::{Decode as _, Encode as _};
use signet_api::ClientError;
use signet_api::kmc::{KeyHealth, KmcClient, RecoveryInfo, RecoveryRequest};
use signet_store::ra::AuditFilter;

use super::RegistrationAuthority;
use crate::audit::{AuditEvent, Outcome};
use crate::error::RaError;
use crate::roles::{Caller, Permission};

/// Most characters of a recovery reason.
const MAX_REASON: usize = 1000;
/// Recent recoveries listed on the recoveries page.
const RECENT: u32 = 50;
/// The audit action of a filed recovery (the list reads it back).
const FILE_ACTION: &str = "kmc.recovery.file";

/// What an officer files.
#[derive(Clone, Debug, Default)]
pub struct RecoveryForm {
    /// The encryption certificate's serial (hex), or empty.
    pub serial: String,
    /// The escrowed key's id, or empty (one of the two is needed).
    pub key_id: String,
    /// Why (ticket, circumstances).
    pub reason: String,
    /// The subscriber's *current* signing certificate or public key, PEM:
    /// the recovered key is enveloped to it.
    pub signing_key: String,
}

/// A recovery filed through this RA, as its audit trail recorded it.
#[derive(Clone, Debug)]
pub struct FiledRecovery {
    /// The KMC's recovery id.
    pub id: String,
    /// The officer who filed it.
    pub requester: String,
    /// When, Unix seconds.
    pub at: i64,
}

/// A delivered recovery: the envelope as the KMC made it.
#[derive(Clone, Debug)]
pub struct DeliveredEnvelope {
    /// The KMC's recovery id.
    pub recovery_id: String,
    /// The escrowed key.
    pub key_id: String,
    /// `gmt0009-sm2-enveloped-key` or `cms-auth-enveloped-data`.
    pub format: String,
    /// The envelope's DER (sealed to the subscriber's signing key).
    pub der: Vec<u8>,
}

/// The KMC's refusal (a 4xx answer) or unavailability.
fn kmc_error(e: ClientError) -> RaError {
    match e {
        ClientError::Api {
            status,
            code,
            message,
        } if (400..500).contains(&status) && status != 408 && status != 429 => {
            RaError::KmcRefused { code, message }
        }
        other => RaError::KmcUnavailable {
            reason: other.to_string(),
        },
    }
}

/// The `PUBLIC KEY` PEM of a pasted certificate or public key.
fn signing_public_key(text: &str) -> Result<String, RaError> {
    let invalid = || RaError::Invalid {
        field: "signing_key",
        key: "error.invalid_signing_key",
    };
    let (label, der) = der::pem::decode_vec(text.trim().as_bytes()).map_err(|_| invalid())?;
    let spki = match label {
        "CERTIFICATE" => {
            let cert = x509_cert::Certificate::from_der(&der).map_err(|_| invalid())?;
            cert.tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .map_err(|_| invalid())?
        }
        "PUBLIC KEY" => {
            // Parsed to refuse garbage here rather than at the KMC.
            spki::SubjectPublicKeyInfoOwned::from_der(&der).map_err(|_| invalid())?;
            der
        }
        _ => return Err(invalid()),
    };
    Ok(signet_core::pem::encode("PUBLIC KEY", &spki))
}

/// Whether `id` can be a KMC id (letters, digits, `-`, `_`, `.`): refuses
/// anything else before it reaches a URL or the trail.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

impl RegistrationAuthority {
    /// Whether `ra.toml` names a KMC.
    pub fn kmc_configured(&self) -> bool {
        self.kmc.is_some()
    }

    fn kmc_client(&self) -> Result<&KmcClient, RaError> {
        self.kmc.as_ref().ok_or(RaError::KmcNotConfigured)
    }

    /// Records the outcome of a KMC call in the trail and passes it on.
    async fn audited<T>(
        &self,
        event: AuditEvent,
        result: Result<T, RaError>,
        facts: impl FnOnce(AuditEvent, &T) -> AuditEvent,
    ) -> Result<T, RaError> {
        match result {
            Ok(value) => {
                self.audit.record(&facts(event, &value)).await?;
                Ok(value)
            }
            Err(e) => {
                let event = match &e {
                    RaError::KmcRefused { code, .. } => event
                        .outcome(Outcome::Denied)
                        .detail("kmc_code", code.clone()),
                    other => event
                        .outcome(Outcome::Error)
                        .detail("reason", other.to_string()),
                };
                self.audit.record_or_log(&event).await;
                Err(e)
            }
        }
    }

    /// Files a recovery of a subscriber's escrowed encryption key, named by
    /// its certificate serial or key id, to be enveloped to the signing key
    /// given. Approval is another officer's.
    pub async fn file_recovery(
        &self,
        caller: &Caller,
        form: &RecoveryForm,
    ) -> Result<RecoveryInfo, RaError> {
        self.require(caller, Permission::RecoverKeys, FILE_ACTION)
            .await?;
        let reason = form.reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON {
            return Err(RaError::Invalid {
                field: "reason",
                key: "error.invalid_reason_text",
            });
        }
        let signing_key = signing_public_key(&form.signing_key)?;
        let kmc = self.kmc_client()?;
        let serial = form.serial.trim().to_ascii_lowercase();
        let key_id = form.key_id.trim();
        let event = AuditEvent::by(caller, FILE_ACTION).detail("reason", reason);
        let key_id = if !key_id.is_empty() {
            if !valid_id(key_id) {
                return Err(RaError::Invalid {
                    field: "key_id",
                    key: "error.invalid_key_id",
                });
            }
            key_id.to_owned()
        } else if !serial.is_empty() && serial.chars().all(|c| c.is_ascii_hexdigit()) {
            let found = kmc
                .escrowed_keys_by_serial(&serial)
                .await
                .map_err(kmc_error);
            let found = self
                .audited(
                    AuditEvent::by(caller, "kmc.escrow.lookup").target(format!("serial:{serial}")),
                    found,
                    |e, list| e.detail("keys", list.keys.len()),
                )
                .await?;
            // A serial names one certificate; two live keys under it would
            // be an ambiguity the officer must resolve by key id.
            let live: Vec<_> = found
                .keys
                .into_iter()
                .filter(|k| k.state != "destroyed")
                .collect();
            match live.as_slice() {
                [one] => one.key_id.clone(),
                [] => {
                    return Err(RaError::NotFound {
                        what: "escrowed key",
                    });
                }
                _ => {
                    return Err(RaError::Conflict {
                        key: "error.serial_ambiguous",
                    });
                }
            }
        } else {
            return Err(RaError::Invalid {
                field: "serial",
                key: "error.invalid_key_id",
            });
        };
        let request = RecoveryRequest {
            key_id: key_id.clone(),
            officer: caller.name.clone(),
            reason: reason.to_owned(),
            signing_key,
        };
        let result = kmc.request_recovery(&request).await.map_err(kmc_error);
        self.audited(event.target(format!("key:{key_id}")), result, |e, info| {
            e.target(format!("recovery:{}", info.id))
                .detail("key_id", info.key_id.clone())
                .detail("serial", serial.clone())
                .detail("required_approvals", info.required_approvals)
        })
        .await
    }

    /// A recovery's state at the KMC.
    pub async fn recovery(&self, caller: &Caller, id: &str) -> Result<RecoveryInfo, RaError> {
        self.require(caller, Permission::RecoverKeys, "kmc.recovery.view")
            .await?;
        if !valid_id(id) {
            return Err(RaError::NotFound { what: "recovery" });
        }
        self.kmc_client()?.recovery(id).await.map_err(kmc_error)
    }

    /// The recoveries filed through this RA, newest first (from its audit
    /// trail: the KMC lists none).
    pub async fn recent_recoveries(&self, caller: &Caller) -> Result<Vec<FiledRecovery>, RaError> {
        self.require(caller, Permission::RecoverKeys, "kmc.recovery.view")
            .await?;
        let filter = AuditFilter {
            action: Some(FILE_ACTION.to_owned()),
            outcome: Some(Outcome::Success.as_str().to_owned()),
            ..AuditFilter::default()
        };
        let events = self.store.audit_events(&filter, RECENT, 0).await?;
        Ok(events
            .into_iter()
            .filter_map(|r| {
                let id = r.entry.target.strip_prefix("recovery:")?.to_owned();
                Some(FiledRecovery {
                    id,
                    requester: r.entry.actor,
                    at: r.entry.at.unix(),
                })
            })
            .collect())
    }

    /// Approves a recovery as this officer. The KMC refuses the requester
    /// and a second approval by the same officer; the refusal is audited
    /// here too and comes back as [`RaError::KmcRefused`].
    pub async fn approve_recovery(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<RecoveryInfo, RaError> {
        self.require(caller, Permission::RecoverKeys, "kmc.recovery.approve")
            .await?;
        if !valid_id(id) {
            return Err(RaError::NotFound { what: "recovery" });
        }
        let result = self
            .kmc_client()?
            .approve_recovery(id, &caller.name)
            .await
            .map_err(kmc_error);
        self.audited(
            AuditEvent::by(caller, "kmc.recovery.approve").target(format!("recovery:{id}")),
            result,
            |e, info| {
                e.detail("state", info.state.clone())
                    .detail("approvals", info.approvals.len())
                    .detail("required_approvals", info.required_approvals)
            },
        )
        .await
    }

    /// Has the KMC deliver an approved recovery: the key enveloped to the
    /// subscriber's signing key named at filing. The KMC delivers once.
    pub async fn deliver_recovery(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<DeliveredEnvelope, RaError> {
        self.require(caller, Permission::RecoverKeys, "kmc.recovery.deliver")
            .await?;
        if !valid_id(id) {
            return Err(RaError::NotFound { what: "recovery" });
        }
        let result = match self.kmc_client()?.deliver_recovery(id, &caller.name).await {
            Ok(d) => match B64.decode(d.envelope.as_bytes()) {
                Ok(der) => Ok(DeliveredEnvelope {
                    recovery_id: d.recovery_id,
                    key_id: d.key_id,
                    format: d.envelope_format,
                    der,
                }),
                Err(_) => Err(RaError::KmcUnavailable {
                    reason: "the KMC's envelope is not base64".into(),
                }),
            },
            Err(e) => Err(kmc_error(e)),
        };
        self.audited(
            AuditEvent::by(caller, "kmc.recovery.deliver").target(format!("recovery:{id}")),
            result,
            |e, d| {
                e.detail("key_id", d.key_id.clone())
                    .detail("format", d.format.clone())
                    .detail("envelope_bytes", d.der.len())
            },
        )
        .await
    }

    /// The KMC's key health view (administrators and auditors).
    pub async fn key_health(&self, caller: &Caller) -> Result<KeyHealth, RaError> {
        self.require(caller, Permission::ViewKeyHealth, "kmc.health.view")
            .await?;
        self.kmc_client()?.key_health().await.map_err(kmc_error)
    }
}

#[cfg(test)]
mod tests;

//! Key recovery under dual control.
//!
//! An officer files a request for an escrowed key, naming the subscriber's
//! current signing key; `recovery.approvals` other officers (distinct, never
//! the requester) approve it; an officer then has it delivered: the KMC
//! unwraps the escrowed key and envelopes it to that signing key. The RA
//! authenticates officers and names them in each call; the KMC accepts
//! those names only from RA and administrator clients, records them with
//! the client's identity, and audits every step, refusals included. The API
//! never returns a private key in plaintext, and a request is delivered at
//! most once.

use signet_api::kmc::RecoveryInfo;
use signet_core::SubjectKey;
use signet_core::envelope::{self, Envelope};
use signet_store::kmc::{EscrowState, RecoveryRecord, RecoveryState};
use signet_tls::Role;

use crate::audit::{Caller, officer};
use crate::error::KmcError;
use crate::escrow::check_pairing;
use crate::kmc::{Kmc, rfc3339};

/// A recovered key, enveloped to the subscriber's signing key.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The recovery request.
    pub recovery_id: String,
    /// The escrowed key.
    pub key_id: String,
    /// The envelope.
    pub envelope: Envelope,
}

const OFFICERS: &[Role] = &[Role::Ra, Role::Admin];

fn random_id() -> String {
    use rand::Rng as _;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    format!("rc-{}", hex::encode(bytes))
}

impl Kmc {
    async fn recovery_record(&self, id: &str) -> Result<RecoveryRecord, KmcError> {
        self.store
            .recovery(id)
            .await?
            .ok_or_else(|| KmcError::not_found("recovery", id))
    }

    /// The view of a recovery request.
    pub(crate) async fn recovery_info(&self, r: &RecoveryRecord) -> Result<RecoveryInfo, KmcError> {
        let approvals = self.store.approvals(&r.id).await?;
        Ok(RecoveryInfo {
            id: r.id.clone(),
            key_id: r.escrow_id.clone(),
            requester: r.requester.clone(),
            reason: r.reason.clone(),
            state: r.state.as_str().to_owned(),
            approvals: approvals.into_iter().map(|a| a.approver).collect(),
            required_approvals: u32::try_from(r.required_approvals).unwrap_or(u32::MAX),
            created_at: rfc3339(r.created_at),
            expires_at: rfc3339(r.expires_at),
            delivered_at: r.delivered_at.map(rfc3339),
        })
    }

    /// Records a refused step in the audit trail (and the metrics), then
    /// returns the refusal.
    async fn refuse(
        &self,
        caller: &Caller,
        who: &str,
        step: &'static str,
        target: &str,
        err: KmcError,
    ) -> KmcError {
        self.metrics.step(step, "denied");
        let entry = caller.entry(
            self.clock.now(),
            Some(who),
            &format!("recovery.{step}"),
            target.to_owned(),
            "denied",
            err.to_string(),
        );
        let recorded = async {
            let mut tx = self.store.begin().await?;
            tx.append_audit(&entry).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = recorded {
            tracing::error!(error = %e, "cannot audit a refused recovery step");
        }
        err
    }

    /// Files a recovery request for escrowed key `key_id` (roles ra,
    /// admin).
    pub async fn request_recovery(
        &self,
        caller: &Caller,
        requester: &str,
        key_id: &str,
        reason: &str,
        signing_key: &SubjectKey,
    ) -> Result<RecoveryInfo, KmcError> {
        caller.require(OFFICERS, "request key recovery")?;
        let requester = officer(requester, "officer")?;
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > 1000 {
            return Err(KmcError::bad("reason", "must be 1 to 1000 characters"));
        }
        let target = format!("escrow:{key_id}");
        let escrow = match self.store.escrow(key_id).await? {
            Some(e) => e,
            None => {
                let err = KmcError::not_found("escrowed key", key_id);
                return Err(self
                    .refuse(caller, &requester, "request", &target, err)
                    .await);
            }
        };
        if escrow.state == EscrowState::Destroyed {
            let err = KmcError::Destroyed {
                what: "escrowed key",
                id: key_id.to_owned(),
            };
            return Err(self
                .refuse(caller, &requester, "request", &target, err)
                .await);
        }
        let key_type = escrow.key_type.parse().map_err(|_| KmcError::Internal {
            reason: "stored key type is unknown",
        })?;
        if let Err(err) = check_pairing(signing_key, key_type) {
            return Err(self
                .refuse(caller, &requester, "request", &target, err)
                .await);
        }
        let now = self.clock.now();
        let record = RecoveryRecord {
            id: random_id(),
            escrow_id: key_id.to_owned(),
            requester: requester.clone(),
            requester_role: caller.role_name().to_owned(),
            requester_client: caller.client.clone(),
            reason: reason.to_owned(),
            signing_key: der::Encode::to_der(signing_key.spki()).map_err(|_| {
                KmcError::Internal {
                    reason: "public key encoding",
                }
            })?,
            required_approvals: i64::from(self.settings.approvals),
            state: RecoveryState::Pending,
            created_at: now,
            expires_at: now.plus(self.settings.recovery_expiry),
            updated_at: now,
            delivered_by: None,
            delivered_at: None,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_recovery(&record).await?;
        tx.append_audit(&caller.entry(
            now,
            Some(&requester),
            "recovery.request",
            format!("recovery:{}", record.id),
            "success",
            format!(
                "key {key_id} ({}, {}); {} approvals needed; reason: {reason}",
                escrow.key_type, escrow.subject, record.required_approvals
            ),
        ))
        .await?;
        tx.commit().await?;
        self.metrics.step("request", "success");
        self.recovery_info(&record).await
    }

    /// A recovery request's state (roles ra, admin).
    pub async fn recovery(&self, caller: &Caller, id: &str) -> Result<RecoveryInfo, KmcError> {
        caller.require(OFFICERS, "read key recoveries")?;
        let record = self.recovery_record(id).await?;
        self.recovery_info(&record).await
    }

    /// `approver` approves recovery `id` (roles ra, admin). The requester
    /// cannot approve; an officer counts once; once `required_approvals`
    /// distinct officers approved, the request becomes `approved`.
    pub async fn approve_recovery(
        &self,
        caller: &Caller,
        approver: &str,
        id: &str,
    ) -> Result<RecoveryInfo, KmcError> {
        caller.require(OFFICERS, "approve key recovery")?;
        let approver = officer(approver, "officer")?;
        let target = format!("recovery:{id}");
        let record = match self.store.recovery(id).await? {
            Some(r) => r,
            None => {
                let err = KmcError::not_found("recovery", id);
                return Err(self
                    .refuse(caller, &approver, "approve", &target, err)
                    .await);
            }
        };
        let now = self.clock.now();
        let refusal = if approver == record.requester {
            Some(KmcError::RequesterCannotApprove {
                officer: approver.clone(),
                id: id.to_owned(),
            })
        } else if record.state != RecoveryState::Pending || record.expires_at <= now {
            let state = if record.state == RecoveryState::Pending {
                "expired"
            } else {
                record.state.as_str()
            };
            Some(KmcError::InvalidState {
                what: "recovery",
                id: id.to_owned(),
                state: state.to_owned(),
                action: "approve it",
            })
        } else {
            None
        };
        if let Some(err) = refusal {
            return Err(self
                .refuse(caller, &approver, "approve", &target, err)
                .await);
        }
        let mut tx = self.store.begin().await?;
        if !tx.add_approval(id, &approver, &caller.client, now).await? {
            drop(tx);
            let err = KmcError::AlreadyApproved {
                officer: approver.clone(),
                id: id.to_owned(),
            };
            return Err(self
                .refuse(caller, &approver, "approve", &target, err)
                .await);
        }
        let count = tx.count_approvals(id).await?;
        let complete = count >= record.required_approvals
            && tx
                .transition_recovery(
                    id,
                    RecoveryState::Pending,
                    RecoveryState::Approved,
                    None,
                    now,
                )
                .await?;
        tx.append_audit(&caller.entry(
            now,
            Some(&approver),
            "recovery.approve",
            target.clone(),
            "success",
            format!(
                "approval {count} of {}{}",
                record.required_approvals,
                if complete { "; approved" } else { "" }
            ),
        ))
        .await?;
        tx.commit().await?;
        self.metrics.step("approve", "success");
        let record = self.recovery_record(id).await?;
        self.recovery_info(&record).await
    }

    /// Delivers an approved recovery (roles ra, admin): the escrowed key,
    /// enveloped to the subscriber's signing key named in the request. A
    /// request is delivered once.
    pub async fn deliver_recovery(
        &self,
        caller: &Caller,
        by: &str,
        id: &str,
    ) -> Result<Delivery, KmcError> {
        caller.require(OFFICERS, "deliver key recovery")?;
        let by = officer(by, "officer")?;
        let target = format!("recovery:{id}");
        let record = match self.store.recovery(id).await? {
            Some(r) => r,
            None => {
                let err = KmcError::not_found("recovery", id);
                return Err(self.refuse(caller, &by, "deliver", &target, err).await);
            }
        };
        let now = self.clock.now();
        let refusal = match record.state {
            RecoveryState::Approved if record.expires_at > now => None,
            RecoveryState::Pending if record.expires_at > now => Some(KmcError::NotApproved {
                id: id.to_owned(),
                approvals: i64::try_from(self.store.approvals(id).await?.len()).unwrap_or(0),
                required: record.required_approvals,
            }),
            state => Some(KmcError::InvalidState {
                what: "recovery",
                id: id.to_owned(),
                state: if matches!(state, RecoveryState::Pending | RecoveryState::Approved) {
                    "expired".to_owned()
                } else {
                    state.as_str().to_owned()
                },
                action: "deliver it",
            }),
        };
        if let Some(err) = refusal {
            return Err(self.refuse(caller, &by, "deliver", &target, err).await);
        }
        let escrow = self
            .store
            .escrow(&record.escrow_id)
            .await?
            .ok_or_else(|| KmcError::not_found("escrowed key", &record.escrow_id))?;
        if escrow.state == EscrowState::Destroyed {
            let err = KmcError::Destroyed {
                what: "escrowed key",
                id: escrow.id.clone(),
            };
            return Err(self.refuse(caller, &by, "deliver", &target, err).await);
        }
        let recipient =
            SubjectKey::from_spki_der(&record.signing_key).map_err(|_| KmcError::Internal {
                reason: "stored signing key is unreadable",
            })?;
        let key = self.unwrap_escrow(&escrow).await?;
        let envelope = envelope::seal_private_key(&recipient, &key, &mut rand::rng())?;
        drop(key);
        let mut tx = self.store.begin().await?;
        if !tx
            .transition_recovery(
                id,
                RecoveryState::Approved,
                RecoveryState::Delivered,
                Some(&by),
                now,
            )
            .await?
        {
            drop(tx);
            let err = KmcError::InvalidState {
                what: "recovery",
                id: id.to_owned(),
                state: "delivered".into(),
                action: "deliver it again",
            };
            return Err(self.refuse(caller, &by, "deliver", &target, err).await);
        }
        tx.append_audit(&caller.entry(
            now,
            Some(&by),
            "recovery.deliver",
            target,
            "success",
            format!(
                "key {} enveloped ({}) to the subscriber's signing key {}",
                escrow.id,
                envelope.format,
                hex::encode(recipient.key_identifier())
            ),
        ))
        .await?;
        tx.commit().await?;
        self.metrics.step("deliver", "success");
        Ok(Delivery {
            recovery_id: id.to_owned(),
            key_id: escrow.id,
            envelope,
        })
    }
}

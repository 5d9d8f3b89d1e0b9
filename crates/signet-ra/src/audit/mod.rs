//! The audit trail: who did what, when, from where, with what outcome.
//!
//! Events are appended to a hash chain in the RA database
//! (`signet_store::ra::chain_hash`), inside the transaction of the action
//! they record wherever there is one ([`AuditTrail::append`]), so an action
//! is never committed without its record. Refusals and failures, which
//! change nothing else, get a transaction of their own
//! ([`AuditTrail::record`]). Periodically, and at start and stop, the
//! token's `ra-audit` key signs a checkpoint of the chain's head
//! ([`AuditTrail::checkpoint`]); [`verify`] recomputes the chain and checks
//! the checkpoints.
//!
//! Details are a JSON object of facts (names, ids, counts, reasons); never
//! a password, TOTP code or secret, PIN, ID number or phone number.

mod verify;

use std::sync::Arc;

use serde_json::{Map, Value};
use signet_core::{Clock, Signer, Timestamp};
use signet_store::RaStore;
use signet_store::RaTx;
use signet_store::ra::{AuditCheckpoint, AuditEntry, AuditRecord};

use crate::error::RaError;
use crate::metrics::{OutcomeLabels, RaMetrics};
use crate::roles::{Caller, CallerKind};

pub use verify::{ChainProblem, ProblemKind, VerifyReport, verify, verify_config};

/// Domain separation and version of checkpoint signatures.
const CHECKPOINT_DOMAIN: &[u8] = b"signet-ra-audit-checkpoint-v1";

/// Who acted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorKind {
    /// An officer (console).
    Officer,
    /// A subscriber (portal).
    Subscriber,
    /// An integrating system (REST API).
    Api,
    /// Signet itself.
    System,
}

impl ActorKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Officer => "officer",
            ActorKind::Subscriber => "subscriber",
            ActorKind::Api => "api",
            ActorKind::System => "system",
        }
    }
}

/// How it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Success,
    /// Refused: not allowed, wrong credentials, bad token.
    Denied,
    /// Failed for a reason of ours.
    Error,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Error => "error",
        }
    }
}

/// An event to record. Build it with [`AuditEvent::by`] and friends.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEvent {
    actor_kind: ActorKind,
    actor: String,
    action: String,
    target: String,
    outcome: Outcome,
    source_ip: String,
    details: Map<String, Value>,
}

impl AuditEvent {
    /// `caller` did `action` (dotted: `org_unit.create`), successfully
    /// unless changed with [`AuditEvent::outcome`].
    pub fn by(caller: &Caller, action: &str) -> Self {
        let actor_kind = match caller.kind {
            CallerKind::Officer => ActorKind::Officer,
            CallerKind::Api => ActorKind::Api,
            CallerKind::Subscriber => ActorKind::Subscriber,
            CallerKind::System => ActorKind::System,
        };
        AuditEvent::new(actor_kind, &caller.name, action, &caller.source_ip)
    }

    /// Any actor.
    pub fn new(actor_kind: ActorKind, actor: &str, action: &str, source_ip: &str) -> Self {
        AuditEvent {
            actor_kind,
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: "-".to_owned(),
            outcome: Outcome::Success,
            source_ip: source_ip.to_owned(),
            details: Map::new(),
        }
    }

    /// Signet itself.
    pub fn system(action: &str) -> Self {
        AuditEvent::new(ActorKind::System, "system", action, "-")
    }

    /// On what.
    #[must_use]
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = target.into();
        self
    }

    /// How it ended.
    #[must_use]
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// A fact about it. Never pass a secret or personal data.
    #[must_use]
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// The action name.
    pub fn action(&self) -> &str {
        &self.action
    }

    fn entry(&self, at: Timestamp) -> AuditEntry {
        AuditEntry {
            at,
            actor_kind: self.actor_kind.as_str().to_owned(),
            actor: self.actor.clone(),
            action: self.action.clone(),
            target: self.target.clone(),
            outcome: self.outcome.as_str().to_owned(),
            source_ip: self.source_ip.clone(),
            details: Value::Object(self.details.clone()).to_string(),
        }
    }
}

/// The message a checkpoint signature covers: a domain tag, the seq, the
/// event hash and the checkpoint time.
pub fn checkpoint_message(seq: i64, hash: &[u8], at: Timestamp) -> Vec<u8> {
    let mut m = Vec::with_capacity(CHECKPOINT_DOMAIN.len() + 16 + hash.len());
    m.extend_from_slice(CHECKPOINT_DOMAIN);
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(&at.unix().to_be_bytes());
    m.extend_from_slice(hash);
    m
}

/// Writes the audit trail and its checkpoints.
pub struct AuditTrail {
    store: RaStore,
    signer: Arc<dyn Signer>,
    key_id: String,
    clock: Arc<dyn Clock>,
    metrics: Arc<RaMetrics>,
}

impl std::fmt::Debug for AuditTrail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditTrail")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl AuditTrail {
    pub(crate) fn new(
        store: RaStore,
        signer: Arc<dyn Signer>,
        clock: Arc<dyn Clock>,
        metrics: Arc<RaMetrics>,
    ) -> Result<Self, RaError> {
        let spki = der::Encode::to_der(signer.public_key())
            .map_err(|_| RaError::internal("audit key cannot be encoded"))?;
        Ok(AuditTrail {
            store,
            signer,
            key_id: crate::keys::key_id(&spki),
            clock,
            metrics,
        })
    }

    /// The key id checkpoints carry.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public half of the checkpoint signing key.
    pub fn public_key(&self) -> Result<signet_core::SubjectKey, RaError> {
        let spki = der::Encode::to_der(self.signer.public_key())
            .map_err(|_| RaError::internal("audit key cannot be encoded"))?;
        signet_core::SubjectKey::from_spki_der(&spki)
            .map_err(|_| RaError::internal("audit key is not a usable public key"))
    }

    /// Verifies the whole trail against this RA's audit key.
    pub async fn verify(&self) -> Result<VerifyReport, RaError> {
        verify(&self.store, &self.public_key()?).await
    }

    /// Appends `event` in `tx`: it commits with the action it records.
    pub async fn append(&self, tx: &mut RaTx, event: &AuditEvent) -> Result<AuditRecord, RaError> {
        let record = tx.append_audit(&event.entry(self.clock.now())).await?;
        self.metrics
            .audit_events
            .get_or_create(&OutcomeLabels {
                outcome: event.outcome.as_str().to_owned(),
            })
            .inc();
        Ok(record)
    }

    /// Records `event` in a transaction of its own (refusals, failures).
    pub async fn record(&self, event: &AuditEvent) -> Result<AuditRecord, RaError> {
        let mut tx = self.store.begin().await?;
        let record = self.append(&mut tx, event).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Records `event`, logging instead of failing: for refusals, where the
    /// caller's answer must not depend on the audit database.
    pub async fn record_or_log(&self, event: &AuditEvent) {
        if let Err(error) = self.record(event).await {
            tracing::error!(%error, action = event.action(), "cannot write audit event");
        }
    }

    /// Signs a checkpoint of the newest event, unless the newest
    /// checkpoint already covers it. Returns the new checkpoint.
    pub async fn checkpoint(&self) -> Result<Option<AuditCheckpoint>, RaError> {
        let Some(last) = self.store.last_audit_event().await? else {
            return Ok(None);
        };
        if let Some(cp) = self.store.last_audit_checkpoint().await?
            && cp.seq >= last.seq
        {
            return Ok(None);
        }
        let at = self.clock.now();
        let message = checkpoint_message(last.seq, &last.hash, at);
        let signer = Arc::clone(&self.signer);
        let signature = tokio::task::spawn_blocking(move || signer.sign(&message))
            .await
            .map_err(|_| RaError::internal("checkpoint signing task failed"))?
            .map_err(|e| RaError::internal(format!("cannot sign audit checkpoint: {e}")))?;
        let checkpoint = AuditCheckpoint {
            seq: last.seq,
            hash: last.hash,
            at,
            key_id: self.key_id.clone(),
            signature,
        };
        self.store.insert_audit_checkpoint(&checkpoint).await?;
        tracing::debug!(seq = checkpoint.seq, "audit checkpoint signed");
        Ok(Some(checkpoint))
    }

    /// Checkpoints every `interval` until the task is aborted.
    pub(crate) async fn run_checkpoints(self: Arc<Self>, interval: std::time::Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            if let Err(error) = self.checkpoint().await {
                tracing::error!(%error, "audit checkpoint failed");
            }
        }
    }
}

//! Verifying the audit trail: recompute every event's hash in order, check
//! that the chain has no gap, and check every signed checkpoint against
//! the token's audit key and the chain. An edited event, a deleted one, two
//! events swapped, a chain recomputed after an edit (caught by the next
//! checkpoint) and a trail cut short behind a checkpoint are all found;
//! the report names the first sequence number that does not hold.
//!
//! What no chain can show: events removed from the end after the newest
//! checkpoint. Checkpoints are made every `audit.checkpoint_interval` and
//! at stop, which bounds that window.

use std::fmt;

use der::Encode as _;
use signet_core::{SignatureAlgorithm, SubjectKey};
use signet_store::ra::{AUDIT_GENESIS_HASH, AuditCheckpoint, chain_hash};
use signet_store::{Database, DbOptions, RaStore, Schema};
use subtle::ConstantTimeEq as _;

use super::checkpoint_message;
use crate::config::RaConfig;
use crate::error::RaError;
use crate::keys::{AUDIT_KEY_LABEL, key_id};

/// Events read per query while walking the chain.
const PAGE: u32 = 1000;

/// What verification found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events read.
    pub events: i64,
    /// The highest sequence number read.
    pub last_seq: i64,
    /// Checkpoints checked.
    pub checkpoints: usize,
    /// The newest checkpoint's sequence number.
    pub last_checkpoint: Option<i64>,
    /// The first problem, if any.
    pub problem: Option<ChainProblem>,
}

impl VerifyReport {
    /// Whether the trail verified.
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            None => write!(
                f,
                "audit trail intact: {} events (seq 1..{}), {} signed checkpoints{}",
                self.events,
                self.last_seq,
                self.checkpoints,
                match self.last_checkpoint {
                    Some(seq) if seq < self.last_seq =>
                        format!("; events after seq {seq} are not yet covered by a checkpoint"),
                    _ => String::new(),
                }
            ),
            Some(p) => write!(f, "audit trail broken at seq {}: {}", p.seq, p.kind),
        }
    }
}

/// Where and how the trail fails to verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainProblem {
    /// The first sequence number that does not verify.
    pub seq: i64,
    /// What is wrong there.
    pub kind: ProblemKind,
}

/// The kinds of breakage.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// No event with this number: it was deleted.
    Missing,
    /// The event does not follow its predecessor: events were deleted or
    /// reordered.
    Unlinked,
    /// The event's content does not match its hash: it was edited.
    Edited,
    /// The chain up to a signed checkpoint differs from what was signed:
    /// an event between the previous checkpoint and this one was changed
    /// and the chain recomputed.
    CheckpointMismatch {
        /// The checkpoint that does not match.
        checkpoint: i64,
    },
    /// A checkpoint's signature does not verify, or it names another key.
    BadCheckpointSignature {
        /// The checkpoint.
        checkpoint: i64,
    },
    /// A checkpoint covers events that no longer exist: the trail was cut
    /// short.
    Truncated {
        /// The checkpoint.
        checkpoint: i64,
    },
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemKind::Missing => f.write_str("event missing (deleted)"),
            ProblemKind::Unlinked => {
                f.write_str("event does not follow its predecessor (deleted or reordered)")
            }
            ProblemKind::Edited => f.write_str("event content does not match its hash (edited)"),
            ProblemKind::CheckpointMismatch { checkpoint } => write!(
                f,
                "the chain differs from signed checkpoint {checkpoint} (events changed and \
                 the chain recomputed)"
            ),
            ProblemKind::BadCheckpointSignature { checkpoint } => write!(
                f,
                "checkpoint {checkpoint} is not signed by this RA's audit key"
            ),
            ProblemKind::Truncated { checkpoint } => write!(
                f,
                "signed checkpoint {checkpoint} covers events that no longer exist (truncated)"
            ),
        }
    }
}

/// Verifies the audit trail in `store` against `audit_key` (the public
/// half of the token's `ra-audit` key).
pub async fn verify(store: &RaStore, audit_key: &SubjectKey) -> Result<VerifyReport, RaError> {
    let spki = audit_key
        .spki()
        .to_der()
        .map_err(|_| RaError::internal("audit key cannot be encoded"))?;
    let expected_key_id = key_id(&spki);
    let checkpoints = store.audit_checkpoints().await?;
    let mut report = VerifyReport {
        events: 0,
        last_seq: 0,
        checkpoints: checkpoints.len(),
        last_checkpoint: checkpoints.last().map(|c| c.seq),
        problem: None,
    };
    // Checkpoint signatures first: a checkpoint that is not ours proves
    // nothing, and is itself a sign of tampering.
    let mut bad_signature: Option<&AuditCheckpoint> = None;
    for cp in &checkpoints {
        let message = checkpoint_message(cp.seq, &cp.hash, cp.at);
        let signed = cp.key_id == expected_key_id
            && audit_key
                .verify(SignatureAlgorithm::EcdsaSha256, &message, &cp.signature)
                .is_ok();
        if !signed {
            bad_signature = Some(cp);
            break;
        }
    }

    let mut next_checkpoint = checkpoints.iter().peekable();
    let mut previous_checkpoint = 0i64;
    let mut prev_hash = AUDIT_GENESIS_HASH.to_vec();
    let mut expected = 1i64;
    let mut problem: Option<ChainProblem> = None;
    'walk: loop {
        let page = store.audit_events_after(expected - 1, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for event in page {
            report.events += 1;
            report.last_seq = event.seq;
            if event.seq != expected {
                problem = Some(ChainProblem {
                    seq: expected,
                    kind: ProblemKind::Missing,
                });
                break 'walk;
            }
            if !bool::from(event.prev_hash.ct_eq(&prev_hash)) {
                problem = Some(ChainProblem {
                    seq: event.seq,
                    kind: ProblemKind::Unlinked,
                });
                break 'walk;
            }
            let hash = chain_hash(&event.prev_hash, event.seq, &event.entry);
            if !bool::from(hash.as_slice().ct_eq(&event.hash)) {
                problem = Some(ChainProblem {
                    seq: event.seq,
                    kind: ProblemKind::Edited,
                });
                break 'walk;
            }
            while let Some(cp) = next_checkpoint.next_if(|cp| cp.seq <= event.seq) {
                if bad_signature.is_some_and(|bad| bad.seq == cp.seq) {
                    problem = Some(ChainProblem {
                        seq: cp.seq,
                        kind: ProblemKind::BadCheckpointSignature { checkpoint: cp.seq },
                    });
                    break 'walk;
                }
                if cp.seq == event.seq && !bool::from(cp.hash.ct_eq(&event.hash)) {
                    problem = Some(ChainProblem {
                        seq: previous_checkpoint + 1,
                        kind: ProblemKind::CheckpointMismatch { checkpoint: cp.seq },
                    });
                    break 'walk;
                }
                previous_checkpoint = cp.seq;
            }
            prev_hash = event.hash;
            expected += 1;
        }
    }
    if problem.is_none()
        && let Some(cp) = next_checkpoint.next()
    {
        problem = Some(if bad_signature.is_some_and(|bad| bad.seq == cp.seq) {
            ChainProblem {
                seq: cp.seq,
                kind: ProblemKind::BadCheckpointSignature { checkpoint: cp.seq },
            }
        } else {
            ChainProblem {
                seq: report.last_seq + 1,
                kind: ProblemKind::Truncated { checkpoint: cp.seq },
            }
        });
    }
    report.problem = problem;
    Ok(report)
}

/// What `signet audit verify` runs: opens the token named by `config` for
/// the audit key's public half and the database read-only, and verifies.
pub async fn verify_config(config: &RaConfig) -> Result<VerifyReport, RaError> {
    let token_config = config.token.clone();
    let spki = tokio::task::spawn_blocking(move || {
        let token = signet_token::Token::open(&token_config)?;
        let signer = token.signer(AUDIT_KEY_LABEL)?;
        Ok::<_, signet_token::TokenError>(signer.public_key().to_der())
    })
    .await
    .map_err(|_| RaError::internal("token task failed"))??
    .map_err(|_| RaError::internal("audit key cannot be encoded"))?;
    let key = SubjectKey::from_spki_der(&spki)
        .map_err(|_| RaError::internal("the token's audit key is not a usable public key"))?;
    let db = Database::open(
        &config.database.url,
        Schema::Ra,
        &DbOptions {
            max_connections: 2,
            read_only: true,
            ..DbOptions::default()
        },
    )
    .await?;
    let store = RaStore::new(db);
    let report = verify(&store, &key).await;
    store.database().close().await;
    report
}

//! The audit trail: append-only, hash-chained, checkpointed with
//! signatures.
//!
//! Each event's `hash` is [`chain_hash`] of the previous event's hash and
//! a canonical encoding of its own columns; the first event follows
//! [`AUDIT_GENESIS_HASH`]. Appending happens inside the [`RaTx`] of the
//! action it records, and takes the one-row `audit_head` lock first, so
//! appends are serialised and the chain never forks.

use signet_core::Timestamp;

use super::{RaStore, RaTx, on_tx};
use crate::database::{on_reader, on_writer};
use crate::error::{Context, StoreError};

/// The `prev_hash` of the first event.
pub const AUDIT_GENESIS_HASH: [u8; 32] = [0; 32];

/// Domain separation of the chain hash, and its version.
const CHAIN_DOMAIN: &[u8] = b"signet-ra-audit-v1";

/// What an event says, before it is chained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// When.
    pub at: Timestamp,
    /// `officer`, `subscriber`, `api` or `system`.
    pub actor_kind: String,
    /// Who: a username, a subscriber uid, an API client name, `system`.
    pub actor: String,
    /// What, dotted: `officer.login`, `org_unit.create`, `csrf.refused`.
    pub action: String,
    /// On what: `officer:alice`, `org_unit:7`, a path.
    pub target: String,
    /// `success`, `denied` or `error`.
    pub outcome: String,
    /// From where: the client's IP address, or `-`.
    pub source_ip: String,
    /// A JSON object with further facts; never secrets.
    pub details: String,
}

/// An event as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// The event.
    pub entry: AuditEntry,
    /// The previous event's hash.
    pub prev_hash: Vec<u8>,
    /// This event's hash.
    pub hash: Vec<u8>,
}

/// A signed checkpoint: the audit key signed that event `seq` had `hash`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditCheckpoint {
    /// The last event covered.
    pub seq: i64,
    /// Its hash.
    pub hash: Vec<u8>,
    /// When the checkpoint was made.
    pub at: Timestamp,
    /// SHA-256 of the signing key's SubjectPublicKeyInfo, hex.
    pub key_id: String,
    /// The signature (DER ECDSA-Sig-Value).
    pub signature: Vec<u8>,
}

/// Filters of the audit view; `None` matches everything.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Exact actor.
    pub actor: Option<String>,
    /// Exact action.
    pub action: Option<String>,
    /// Exact outcome.
    pub outcome: Option<String>,
    /// At or after.
    pub from: Option<Timestamp>,
    /// Before.
    pub until: Option<Timestamp>,
}

/// The chain hash of an event: SHA-256 over a domain tag, the previous
/// hash, and every column of the event, each length-prefixed so that no
/// two different events encode alike.
pub fn chain_hash(prev_hash: &[u8], seq: i64, entry: &AuditEntry) -> [u8; 32] {
    crate::chain::link_hash(
        CHAIN_DOMAIN,
        prev_hash,
        seq,
        entry.at.unix(),
        &[
            &entry.actor_kind,
            &entry.actor,
            &entry.action,
            &entry.target,
            &entry.outcome,
            &entry.source_ip,
            &entry.details,
        ],
    )
}

type EventRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Vec<u8>,
    Vec<u8>,
);

fn record_from_row(r: EventRow) -> AuditRecord {
    let (seq, at, actor_kind, actor, action, target, outcome, source_ip, details, prev, hash) = r;
    AuditRecord {
        seq,
        entry: AuditEntry {
            at: Timestamp::from_unix(at),
            actor_kind,
            actor,
            action,
            target,
            outcome,
            source_ip,
            details,
        },
        prev_hash: prev,
        hash,
    }
}

macro_rules! select_events {
    ($rest:literal) => {
        concat!(
            "SELECT seq, at, actor_kind, actor, action, target, outcome, source_ip, details, \
             prev_hash, hash FROM audit_events ",
            $rest
        )
    };
}

type CheckpointRow = (i64, Vec<u8>, i64, String, Vec<u8>);

fn checkpoint_from_row((seq, hash, at, key_id, signature): CheckpointRow) -> AuditCheckpoint {
    AuditCheckpoint {
        seq,
        hash,
        at: Timestamp::from_unix(at),
        key_id,
        signature,
    }
}

impl RaTx {
    /// Appends `entry` to the chain, in this transaction: it commits or
    /// rolls back with the action it records.
    pub async fn append_audit(&mut self, entry: &AuditEntry) -> Result<AuditRecord, StoreError> {
        // Taking the head row's lock first serialises appenders.
        let (seq, prev_hash): (i64, Vec<u8>) = on_tx!(self, |conn| {
            sqlx::query_as("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
                .fetch_one(&mut *conn)
                .await
                .during("advance audit head")?
        });
        let hash = chain_hash(&prev_hash, seq, entry);
        on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO audit_events (seq, at, actor_kind, actor, action, target, outcome, \
                 source_ip, details, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(seq)
            .bind(entry.at.unix())
            .bind(&entry.actor_kind)
            .bind(&entry.actor)
            .bind(&entry.action)
            .bind(&entry.target)
            .bind(&entry.outcome)
            .bind(&entry.source_ip)
            .bind(&entry.details)
            .bind(&prev_hash)
            .bind(hash.as_slice())
            .execute(&mut *conn)
            .await
            .during("append audit event")?;
            sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
                .bind(hash.as_slice())
                .execute(&mut *conn)
                .await
                .during("set audit head")?
                .rows_affected()
        });
        Ok(AuditRecord {
            seq,
            entry: entry.clone(),
            prev_hash,
            hash: hash.to_vec(),
        })
    }
}

impl RaStore {
    /// Events matching `filter`, newest first.
    pub async fn audit_events(
        &self,
        filter: &AuditFilter,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let rows: Vec<EventRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(select_events!(
                "WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR action = $2) \
                 AND ($3 IS NULL OR outcome = $3) AND ($4 IS NULL OR at >= $4) \
                 AND ($5 IS NULL OR at < $5) ORDER BY seq DESC LIMIT $6 OFFSET $7"
            ))
            .bind(filter.actor.as_deref())
            .bind(filter.action.as_deref())
            .bind(filter.outcome.as_deref())
            .bind(filter.from.map(Timestamp::unix))
            .bind(filter.until.map(Timestamp::unix))
            .bind(i64::from(limit.clamp(1, 100_000)))
            .bind(i64::from(offset))
            .fetch_all(pool)
            .await
            .during("list audit events")?
        });
        Ok(rows.into_iter().map(record_from_row).collect())
    }

    /// Up to `limit` events with `seq > after`, in chain order (for
    /// verification, which walks the whole chain page by page).
    pub async fn audit_events_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let rows: Vec<EventRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(select_events!("WHERE seq > $1 ORDER BY seq LIMIT $2"))
                .bind(after)
                .bind(i64::from(limit.clamp(1, 10_000)))
                .fetch_all(pool)
                .await
                .during("read audit chain")?
        });
        Ok(rows.into_iter().map(record_from_row).collect())
    }

    /// The event with this seq.
    pub async fn audit_event(&self, seq: i64) -> Result<Option<AuditRecord>, StoreError> {
        let row: Option<EventRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(select_events!("WHERE seq = $1"))
                .bind(seq)
                .fetch_optional(pool)
                .await
                .during("read audit event")?
        });
        Ok(row.map(record_from_row))
    }

    /// The newest event.
    pub async fn last_audit_event(&self) -> Result<Option<AuditRecord>, StoreError> {
        let row: Option<EventRow> = on_writer!(self.db, |pool| {
            sqlx::query_as(select_events!("ORDER BY seq DESC LIMIT 1"))
                .fetch_optional(pool)
                .await
                .during("read last audit event")?
        });
        Ok(row.map(record_from_row))
    }

    /// Every action name in the trail, for the view's filter.
    pub async fn audit_actions(&self) -> Result<Vec<String>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_scalar("SELECT DISTINCT action FROM audit_events ORDER BY action")
                .fetch_all(pool)
                .await
                .during("list audit actions")?
        }))
    }

    /// Every checkpoint, oldest first.
    pub async fn audit_checkpoints(&self) -> Result<Vec<AuditCheckpoint>, StoreError> {
        let rows: Vec<CheckpointRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(
                "SELECT seq, hash, at, key_id, signature FROM audit_checkpoints ORDER BY seq",
            )
            .fetch_all(pool)
            .await
            .during("list audit checkpoints")?
        });
        Ok(rows.into_iter().map(checkpoint_from_row).collect())
    }

    /// The newest checkpoint.
    pub async fn last_audit_checkpoint(&self) -> Result<Option<AuditCheckpoint>, StoreError> {
        let row: Option<CheckpointRow> = on_writer!(self.db, |pool| {
            sqlx::query_as(
                "SELECT seq, hash, at, key_id, signature FROM audit_checkpoints \
                 ORDER BY seq DESC LIMIT 1",
            )
            .fetch_optional(pool)
            .await
            .during("read last audit checkpoint")?
        });
        Ok(row.map(checkpoint_from_row))
    }

    /// Stores a checkpoint (a second one for the same seq is ignored).
    pub async fn insert_audit_checkpoint(
        &self,
        checkpoint: &AuditCheckpoint,
    ) -> Result<(), StoreError> {
        on_writer!(self.db, |pool| {
            sqlx::query(
                "INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING",
            )
            .bind(checkpoint.seq)
            .bind(&checkpoint.hash)
            .bind(checkpoint.at.unix())
            .bind(&checkpoint.key_id)
            .bind(&checkpoint.signature)
            .execute(pool)
            .await
            .during("insert audit checkpoint")?
            .rows_affected()
        });
        Ok(())
    }
}

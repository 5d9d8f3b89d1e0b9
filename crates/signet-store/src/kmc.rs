//! The KMC's tables (`migrations/kmc/`): root key versions, master and
//! working keys, escrowed keys, recoveries, data-key access lists and the
//! hash-chained audit trail.
//!
//! Reads go through [`KmcStore`]; every change goes through a [`KmcTx`], so
//! that the audit entry recording an action commits in the same transaction
//! as the action ([`KmcTx::append_audit`]). Conditional updates (`... WHERE
//! state = 'approved'`) report whether they matched, so that two concurrent
//! requests cannot both make the same transition.
//!
//! Key material is stored only wrapped (`wrapped` columns); this module
//! never sees a key in plaintext and never logs a column's value.

use signet_core::Timestamp;
use sqlx::{Postgres, Sqlite, Transaction};

use crate::database::{Database, Pools, on_reader, on_writer};
use crate::error::{Context, StoreError};

/// Life of a key of the hierarchy (root, master, working).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyState {
    /// Wraps or encrypts new material.
    Active,
    /// Superseded by a newer version; still unwraps and decrypts.
    Retired,
    /// Crypto-erased: the wrapped key is gone.
    Destroyed,
}

impl KeyState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Active => "active",
            KeyState::Retired => "retired",
            KeyState::Destroyed => "destroyed",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "active" => Ok(KeyState::Active),
            "retired" => Ok(KeyState::Retired),
            "destroyed" => Ok(KeyState::Destroyed),
            _ => Err(StoreError::Corrupt { what: "key state" }),
        }
    }
}

/// Life of an escrowed key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EscrowState {
    /// Generated and escrowed; its certificate is not issued yet.
    Escrowed,
    /// Archived with its issued certificate.
    Archived,
    /// Its certificate was revoked; still recoverable until destroyed.
    Revoked,
    /// Destroyed after the retention period.
    Destroyed,
}

impl EscrowState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EscrowState::Escrowed => "escrowed",
            EscrowState::Archived => "archived",
            EscrowState::Revoked => "revoked",
            EscrowState::Destroyed => "destroyed",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "escrowed" => Ok(EscrowState::Escrowed),
            "archived" => Ok(EscrowState::Archived),
            "revoked" => Ok(EscrowState::Revoked),
            "destroyed" => Ok(EscrowState::Destroyed),
            _ => Err(StoreError::Corrupt {
                what: "escrow state",
            }),
        }
    }
}

/// Life of a recovery request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecoveryState {
    /// Filed, waiting for approvals.
    Pending,
    /// Approved by enough officers; may be delivered once.
    Approved,
    /// The key was enveloped and handed out.
    Delivered,
    /// Not approved or delivered in time.
    Expired,
}

impl RecoveryState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RecoveryState::Pending => "pending",
            RecoveryState::Approved => "approved",
            RecoveryState::Delivered => "delivered",
            RecoveryState::Expired => "expired",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "pending" => Ok(RecoveryState::Pending),
            "approved" => Ok(RecoveryState::Approved),
            "delivered" => Ok(RecoveryState::Delivered),
            "expired" => Ok(RecoveryState::Expired),
            _ => Err(StoreError::Corrupt {
                what: "recovery state",
            }),
        }
    }
}

/// A version of the root storage key (the key itself is in the token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootKeyRecord {
    /// Version, from 1.
    pub version: i64,
    /// The token label of the key.
    pub token_label: String,
    /// HMAC-SHA-256 of a fixed string under the key.
    pub check_value: Vec<u8>,
    /// Custodian shares made at its birth.
    pub shares: i64,
    /// Shares needed to rebuild it.
    pub threshold: i64,
    /// Its state.
    pub state: KeyState,
    /// Born.
    pub created_at: Timestamp,
    /// Superseded.
    pub retired_at: Option<Timestamp>,
}

/// A master key of a business domain, wrapped by a root key version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterKeyRecord {
    /// The business domain.
    pub domain: String,
    /// Version within the domain, from 1.
    pub version: i64,
    /// The root version that wraps it.
    pub root_version: i64,
    /// The wrapped key; `None` once destroyed.
    pub wrapped: Option<Vec<u8>>,
    /// Its state.
    pub state: KeyState,
    /// Born.
    pub created_at: Timestamp,
    /// Due for rotation.
    pub rotate_at: Timestamp,
    /// Superseded.
    pub retired_at: Option<Timestamp>,
    /// Crypto-erased.
    pub destroyed_at: Option<Timestamp>,
}

/// A working key (escrow key of a domain, or named data key), wrapped by
/// its domain's master key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkingKeyRecord {
    /// `escrow.<domain>` or the data key's name.
    pub name: String,
    /// Version, from 1.
    pub version: i64,
    /// The business domain.
    pub domain: String,
    /// `escrow` or `data`.
    pub purpose: String,
    /// `aes-256-gcm` or `sm4-gcm`.
    pub algorithm: String,
    /// The master version that wraps it.
    pub master_version: i64,
    /// The wrapped key; `None` once destroyed.
    pub wrapped: Option<Vec<u8>>,
    /// Its state.
    pub state: KeyState,
    /// Born.
    pub created_at: Timestamp,
    /// Due for rotation.
    pub rotate_at: Timestamp,
    /// Superseded.
    pub retired_at: Option<Timestamp>,
    /// Crypto-erased.
    pub destroyed_at: Option<Timestamp>,
}

/// An escrowed encryption key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscrowRecord {
    /// Key id (`ek-` and 32 hex digits).
    pub id: String,
    /// The CA's request id this key was generated for (idempotency key).
    pub request_id: String,
    /// Digest of the request, to tell a retry from a reused id.
    pub request_hash: Vec<u8>,
    /// The business domain.
    pub domain: String,
    /// `sm2`, `p256`, `rsa3072`, ...
    pub key_type: String,
    /// SubjectPublicKeyInfo DER of the key.
    pub public_key: Vec<u8>,
    /// SubjectPublicKeyInfo DER of the subscriber's signing key.
    pub signing_key: Vec<u8>,
    /// The subscriber's subject (RFC 4514).
    pub subject: String,
    /// The working key that wraps it.
    pub working_name: String,
    /// Its version.
    pub working_version: i64,
    /// PKCS#8 under the working key; `None` once destroyed.
    pub wrapped: Option<Vec<u8>>,
    /// Its state.
    pub state: EscrowState,
    /// Issuer name of its certificate, once archived.
    pub issuer: Option<String>,
    /// Serial of its certificate (lowercase hex), once archived.
    pub serial: Option<String>,
    /// Its certificate, DER, once archived.
    pub certificate: Option<Vec<u8>>,
    /// The certificate's notAfter.
    pub not_after: Option<Timestamp>,
    /// When the certificate was revoked.
    pub revoked_at: Option<Timestamp>,
    /// Why.
    pub revocation_reason: Option<String>,
    /// When retention ends and the key is destroyed.
    pub destroy_after: Timestamp,
    /// Generated.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
    /// Destroyed.
    pub destroyed_at: Option<Timestamp>,
}

/// A recovery request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryRecord {
    /// Request id (`rc-` and 32 hex digits).
    pub id: String,
    /// The escrowed key to recover.
    pub escrow_id: String,
    /// The officer who filed it.
    pub requester: String,
    /// The role of the client that filed it (`ra` or `admin`).
    pub requester_role: String,
    /// The common name of that client's certificate.
    pub requester_client: String,
    /// Why.
    pub reason: String,
    /// The subscriber's current signing key (SPKI DER), the envelope's
    /// recipient.
    pub signing_key: Vec<u8>,
    /// Distinct approvers needed (the requester never counts).
    pub required_approvals: i64,
    /// Its state.
    pub state: RecoveryState,
    /// Filed.
    pub created_at: Timestamp,
    /// Approval and delivery must happen before this.
    pub expires_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
    /// The officer who had it delivered.
    pub delivered_by: Option<String>,
    /// When.
    pub delivered_at: Option<Timestamp>,
}

/// One officer's approval of a recovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalRecord {
    /// The approving officer.
    pub approver: String,
    /// The common name of the client that sent the approval.
    pub approver_client: String,
    /// When.
    pub approved_at: Timestamp,
}

/// An application allowed to use a data key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataKeyGrant {
    /// The data key.
    pub key_name: String,
    /// The client certificate's common name.
    pub client: String,
    /// Who granted it (`config` for grants from the configuration file).
    pub granted_by: String,
    /// When.
    pub granted_at: Timestamp,
}

/// What an audit entry says, before it is chained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// When.
    pub at: Timestamp,
    /// Who: the officer named by the RA, the client's common name, or
    /// `system`.
    pub actor: String,
    /// The role of the TLS client (`ca`, `ra`, `admin`, `app`) or `system`.
    pub actor_role: String,
    /// The common name of the TLS client, or `-`.
    pub client: String,
    /// What, dotted: `escrow.generate`, `recovery.approve`, `key.rotate`.
    pub action: String,
    /// On what: `escrow:ek-...`, `recovery:rc-...`, `master:default:2`.
    pub target: String,
    /// `success`, `denied` or `error`.
    pub outcome: String,
    /// Further facts, never secrets.
    pub detail: String,
}

/// An audit entry as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// The entry.
    pub entry: AuditEntry,
    /// The previous entry's hash (32 zero bytes for the first).
    pub prev_hash: Vec<u8>,
    /// This entry's hash.
    pub hash: Vec<u8>,
}

/// Domain separation of the KMC audit chain hash.
const CHAIN_DOMAIN: &[u8] = b"signet-kmc-audit-v1";

/// The chain hash of an entry: SHA-256 over a domain tag, the previous hash,
/// the sequence number, the time and every field, length-prefixed.
pub fn audit_chain_hash(prev_hash: &[u8], seq: i64, entry: &AuditEntry) -> [u8; 32] {
    crate::chain::link_hash(
        CHAIN_DOMAIN,
        prev_hash,
        seq,
        entry.at.unix(),
        &[
            &entry.actor,
            &entry.actor_role,
            &entry.client,
            &entry.action,
            &entry.target,
            &entry.outcome,
            &entry.detail,
        ],
    )
}

fn ts(secs: Option<i64>) -> Option<Timestamp> {
    secs.map(Timestamp::from_unix)
}

#[derive(sqlx::FromRow)]
struct RootRow {
    version: i64,
    token_label: String,
    check_value: Vec<u8>,
    shares: i64,
    threshold: i64,
    state: String,
    created_at: i64,
    retired_at: Option<i64>,
}

impl TryFrom<RootRow> for RootKeyRecord {
    type Error = StoreError;
    fn try_from(r: RootRow) -> Result<Self, StoreError> {
        Ok(RootKeyRecord {
            version: r.version,
            token_label: r.token_label,
            check_value: r.check_value,
            shares: r.shares,
            threshold: r.threshold,
            state: KeyState::parse(&r.state)?,
            created_at: Timestamp::from_unix(r.created_at),
            retired_at: ts(r.retired_at),
        })
    }
}

#[derive(sqlx::FromRow)]
struct MasterRow {
    domain: String,
    version: i64,
    root_version: i64,
    wrapped: Option<Vec<u8>>,
    state: String,
    created_at: i64,
    rotate_at: i64,
    retired_at: Option<i64>,
    destroyed_at: Option<i64>,
}

impl TryFrom<MasterRow> for MasterKeyRecord {
    type Error = StoreError;
    fn try_from(r: MasterRow) -> Result<Self, StoreError> {
        Ok(MasterKeyRecord {
            domain: r.domain,
            version: r.version,
            root_version: r.root_version,
            wrapped: r.wrapped,
            state: KeyState::parse(&r.state)?,
            created_at: Timestamp::from_unix(r.created_at),
            rotate_at: Timestamp::from_unix(r.rotate_at),
            retired_at: ts(r.retired_at),
            destroyed_at: ts(r.destroyed_at),
        })
    }
}

#[derive(sqlx::FromRow)]
struct WorkingRow {
    name: String,
    version: i64,
    domain: String,
    purpose: String,
    algorithm: String,
    master_version: i64,
    wrapped: Option<Vec<u8>>,
    state: String,
    created_at: i64,
    rotate_at: i64,
    retired_at: Option<i64>,
    destroyed_at: Option<i64>,
}

impl TryFrom<WorkingRow> for WorkingKeyRecord {
    type Error = StoreError;
    fn try_from(r: WorkingRow) -> Result<Self, StoreError> {
        Ok(WorkingKeyRecord {
            name: r.name,
            version: r.version,
            domain: r.domain,
            purpose: r.purpose,
            algorithm: r.algorithm,
            master_version: r.master_version,
            wrapped: r.wrapped,
            state: KeyState::parse(&r.state)?,
            created_at: Timestamp::from_unix(r.created_at),
            rotate_at: Timestamp::from_unix(r.rotate_at),
            retired_at: ts(r.retired_at),
            destroyed_at: ts(r.destroyed_at),
        })
    }
}

#[derive(sqlx::FromRow)]
struct EscrowRow {
    id: String,
    request_id: String,
    request_hash: Vec<u8>,
    domain: String,
    key_type: String,
    public_key: Vec<u8>,
    signing_key: Vec<u8>,
    subject: String,
    working_name: String,
    working_version: i64,
    wrapped: Option<Vec<u8>>,
    state: String,
    issuer: Option<String>,
    serial: Option<String>,
    certificate: Option<Vec<u8>>,
    not_after: Option<i64>,
    revoked_at: Option<i64>,
    revocation_reason: Option<String>,
    destroy_after: i64,
    created_at: i64,
    updated_at: i64,
    destroyed_at: Option<i64>,
}

impl TryFrom<EscrowRow> for EscrowRecord {
    type Error = StoreError;
    fn try_from(r: EscrowRow) -> Result<Self, StoreError> {
        Ok(EscrowRecord {
            id: r.id,
            request_id: r.request_id,
            request_hash: r.request_hash,
            domain: r.domain,
            key_type: r.key_type,
            public_key: r.public_key,
            signing_key: r.signing_key,
            subject: r.subject,
            working_name: r.working_name,
            working_version: r.working_version,
            wrapped: r.wrapped,
            state: EscrowState::parse(&r.state)?,
            issuer: r.issuer,
            serial: r.serial,
            certificate: r.certificate,
            not_after: ts(r.not_after),
            revoked_at: ts(r.revoked_at),
            revocation_reason: r.revocation_reason,
            destroy_after: Timestamp::from_unix(r.destroy_after),
            created_at: Timestamp::from_unix(r.created_at),
            updated_at: Timestamp::from_unix(r.updated_at),
            destroyed_at: ts(r.destroyed_at),
        })
    }
}

#[derive(sqlx::FromRow)]
struct RecoveryRow {
    id: String,
    escrow_id: String,
    requester: String,
    requester_role: String,
    requester_client: String,
    reason: String,
    signing_key: Vec<u8>,
    required_approvals: i64,
    state: String,
    created_at: i64,
    expires_at: i64,
    updated_at: i64,
    delivered_by: Option<String>,
    delivered_at: Option<i64>,
}

impl TryFrom<RecoveryRow> for RecoveryRecord {
    type Error = StoreError;
    fn try_from(r: RecoveryRow) -> Result<Self, StoreError> {
        Ok(RecoveryRecord {
            id: r.id,
            escrow_id: r.escrow_id,
            requester: r.requester,
            requester_role: r.requester_role,
            requester_client: r.requester_client,
            reason: r.reason,
            signing_key: r.signing_key,
            required_approvals: r.required_approvals,
            state: RecoveryState::parse(&r.state)?,
            created_at: Timestamp::from_unix(r.created_at),
            expires_at: Timestamp::from_unix(r.expires_at),
            updated_at: Timestamp::from_unix(r.updated_at),
            delivered_by: r.delivered_by,
            delivered_at: ts(r.delivered_at),
        })
    }
}

type AuditRow = (
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

fn audit_from_row(r: AuditRow) -> AuditRecord {
    let (seq, at, actor, actor_role, client, action, target, outcome, detail, prev_hash, hash) = r;
    AuditRecord {
        seq,
        entry: AuditEntry {
            at: Timestamp::from_unix(at),
            actor,
            actor_role,
            client,
            action,
            target,
            outcome,
            detail,
        },
        prev_hash,
        hash,
    }
}

const SELECT_ROOTS: &str = "SELECT version, token_label, check_value, shares, threshold, state, \
     created_at, retired_at FROM root_keys ORDER BY version";
const SELECT_MASTERS: &str = "SELECT domain, version, root_version, wrapped, state, created_at, \
     rotate_at, retired_at, destroyed_at FROM master_keys ORDER BY domain, version";
const SELECT_WORKING: &str = "SELECT name, version, domain, purpose, algorithm, master_version, \
     wrapped, state, created_at, rotate_at, retired_at, destroyed_at FROM working_keys \
     ORDER BY name, version";

/// `SELECT <every escrow column> FROM escrowed_keys <rest>`.
macro_rules! select_escrow {
    ($rest:literal) => {
        concat!(
            "SELECT id, request_id, request_hash, domain, key_type, public_key, signing_key, \
             subject, working_name, working_version, wrapped, state, issuer, serial, certificate, \
             not_after, revoked_at, revocation_reason, destroy_after, created_at, updated_at, \
             destroyed_at FROM escrowed_keys ",
            $rest
        )
    };
}

/// `SELECT <every recovery column> FROM recoveries <rest>`.
macro_rules! select_recovery {
    ($rest:literal) => {
        concat!(
            "SELECT id, escrow_id, requester, requester_role, requester_client, reason, \
             signing_key, required_approvals, state, created_at, expires_at, updated_at, \
             delivered_by, delivered_at FROM recoveries ",
            $rest
        )
    };
}

/// The KMC's data access: reads, and [`KmcStore::begin`] for changes.
#[derive(Clone, Debug)]
pub struct KmcStore {
    db: Database,
}

impl KmcStore {
    /// The KMC store over an open KMC database (`Schema::Kmc`).
    pub fn new(db: Database) -> Self {
        KmcStore { db }
    }

    /// The underlying database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Starts a transaction for a change and its audit entry.
    pub async fn begin(&self) -> Result<KmcTx, StoreError> {
        let inner = match &*self.db.pools {
            Pools::Sqlite { writer, .. } => {
                KmcTxInner::Sqlite(writer.begin().await.during("begin transaction")?)
            }
            Pools::Postgres(pool) => {
                KmcTxInner::Postgres(pool.begin().await.during("begin transaction")?)
            }
        };
        Ok(KmcTx { inner })
    }

    /// This KMC's id, once the ceremony has set it.
    pub async fn kmc_id(&self) -> Result<Option<String>, StoreError> {
        Ok(on_writer!(self.db, |pool| {
            sqlx::query_scalar("SELECT kmc_id FROM kmc_identity WHERE id = 1")
                .fetch_optional(pool)
                .await
                .during("read kmc identity")?
        }))
    }

    /// Every root key version, oldest first.
    pub async fn roots(&self) -> Result<Vec<RootKeyRecord>, StoreError> {
        let rows: Vec<RootRow> = on_writer!(self.db, |pool| {
            sqlx::query_as(SELECT_ROOTS)
                .fetch_all(pool)
                .await
                .during("list root keys")?
        });
        rows.into_iter().map(RootKeyRecord::try_from).collect()
    }

    /// Every master key version, by domain and version.
    pub async fn masters(&self) -> Result<Vec<MasterKeyRecord>, StoreError> {
        let rows: Vec<MasterRow> = on_writer!(self.db, |pool| {
            sqlx::query_as(SELECT_MASTERS)
                .fetch_all(pool)
                .await
                .during("list master keys")?
        });
        rows.into_iter().map(MasterKeyRecord::try_from).collect()
    }

    /// Every working key version, by name and version.
    pub async fn working_keys(&self) -> Result<Vec<WorkingKeyRecord>, StoreError> {
        let rows: Vec<WorkingRow> = on_writer!(self.db, |pool| {
            sqlx::query_as(SELECT_WORKING)
                .fetch_all(pool)
                .await
                .during("list working keys")?
        });
        rows.into_iter().map(WorkingKeyRecord::try_from).collect()
    }

    /// The escrowed key `id`.
    pub async fn escrow(&self, id: &str) -> Result<Option<EscrowRecord>, StoreError> {
        let row: Option<EscrowRow> = on_writer!(self.db, |pool| {
            sqlx::query_as(select_escrow!("WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await
                .during("read escrowed key")?
        });
        row.map(EscrowRecord::try_from).transpose()
    }

    /// The escrowed key generated for `request_id`.
    pub async fn escrow_by_request(
        &self,
        request_id: &str,
    ) -> Result<Option<EscrowRecord>, StoreError> {
        let row: Option<EscrowRow> = on_writer!(self.db, |pool| {
            sqlx::query_as(select_escrow!("WHERE request_id = $1"))
                .bind(request_id)
                .fetch_optional(pool)
                .await
                .during("read escrowed key by request")?
        });
        row.map(EscrowRecord::try_from).transpose()
    }

    /// Escrowed keys whose certificate has this serial (lowercase hex).
    pub async fn escrows_by_serial(&self, serial: &str) -> Result<Vec<EscrowRecord>, StoreError> {
        let rows: Vec<EscrowRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(select_escrow!("WHERE serial = $1 ORDER BY created_at"))
                .bind(serial)
                .fetch_all(pool)
                .await
                .during("read escrowed keys by serial")?
        });
        rows.into_iter().map(EscrowRecord::try_from).collect()
    }

    /// Keys whose retention ended before `now` and are not destroyed yet.
    pub async fn escrows_due(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<EscrowRecord>, StoreError> {
        let rows: Vec<EscrowRow> = on_writer!(self.db, |pool| {
            sqlx::query_as(select_escrow!(
                "WHERE state <> 'destroyed' AND destroy_after <= $1 ORDER BY destroy_after LIMIT $2"
            ))
            .bind(now.unix())
            .bind(i64::from(limit.clamp(1, 10_000)))
            .fetch_all(pool)
            .await
            .during("list escrowed keys due")?
        });
        rows.into_iter().map(EscrowRecord::try_from).collect()
    }

    /// Escrowed keys per state.
    pub async fn escrow_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(
                "SELECT state, COUNT(*) FROM escrowed_keys GROUP BY state ORDER BY state",
            )
            .fetch_all(pool)
            .await
            .during("count escrowed keys")?
        }))
    }

    /// Escrowed keys not destroyed that the working key version wraps.
    pub async fn live_escrows_under(&self, name: &str, version: i64) -> Result<i64, StoreError> {
        Ok(on_writer!(self.db, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM escrowed_keys WHERE working_name = $1 \
                 AND working_version = $2 AND state <> 'destroyed'",
            )
            .bind(name)
            .bind(version)
            .fetch_one(pool)
            .await
            .during("count escrows under a working key")?
        }))
    }

    /// The recovery request `id`.
    pub async fn recovery(&self, id: &str) -> Result<Option<RecoveryRecord>, StoreError> {
        let row: Option<RecoveryRow> = on_writer!(self.db, |pool| {
            sqlx::query_as(select_recovery!("WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await
                .during("read recovery")?
        });
        row.map(RecoveryRecord::try_from).transpose()
    }

    /// Recoveries still pending or approved whose time ran out before `now`.
    pub async fn expired_recoveries(
        &self,
        now: Timestamp,
    ) -> Result<Vec<RecoveryRecord>, StoreError> {
        let rows: Vec<RecoveryRow> = on_writer!(self.db, |pool| {
            sqlx::query_as(select_recovery!(
                "WHERE state IN ('pending', 'approved') AND expires_at <= $1 ORDER BY expires_at"
            ))
            .bind(now.unix())
            .fetch_all(pool)
            .await
            .during("list expired recoveries")?
        });
        rows.into_iter().map(RecoveryRecord::try_from).collect()
    }

    /// The approvals of recovery `id`, oldest first.
    pub async fn approvals(&self, id: &str) -> Result<Vec<ApprovalRecord>, StoreError> {
        let rows: Vec<(String, String, i64)> = on_writer!(self.db, |pool| {
            sqlx::query_as(
                "SELECT approver, approver_client, approved_at FROM recovery_approvals \
                 WHERE recovery_id = $1 ORDER BY approved_at, approver",
            )
            .bind(id)
            .fetch_all(pool)
            .await
            .during("list approvals")?
        });
        Ok(rows
            .into_iter()
            .map(|(approver, approver_client, at)| ApprovalRecord {
                approver,
                approver_client,
                approved_at: Timestamp::from_unix(at),
            })
            .collect())
    }

    /// Every data-key grant, by key and client.
    pub async fn data_key_grants(&self) -> Result<Vec<DataKeyGrant>, StoreError> {
        let rows: Vec<(String, String, String, i64)> = on_writer!(self.db, |pool| {
            sqlx::query_as(
                "SELECT key_name, client, granted_by, granted_at FROM data_key_clients \
                 ORDER BY key_name, client",
            )
            .fetch_all(pool)
            .await
            .during("list data key grants")?
        });
        Ok(rows
            .into_iter()
            .map(|(key_name, client, granted_by, at)| DataKeyGrant {
                key_name,
                client,
                granted_by,
                granted_at: Timestamp::from_unix(at),
            })
            .collect())
    }

    /// Up to `limit` audit entries with `seq > after`, in chain order.
    pub async fn audit_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let rows: Vec<AuditRow> = on_writer!(self.db, |pool| {
            sqlx::query_as(
                "SELECT seq, at, actor, actor_role, client, action, target, outcome, detail, \
                 prev_hash, hash FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after)
            .bind(i64::from(limit.clamp(1, 10_000)))
            .fetch_all(pool)
            .await
            .during("read audit trail")?
        });
        Ok(rows.into_iter().map(audit_from_row).collect())
    }

    /// Walks the whole audit chain and returns the number of entries, or
    /// [`StoreError::Corrupt`] at the first entry whose hash, link or
    /// sequence number is wrong (an edit, deletion or reordering).
    pub async fn verify_audit_chain(&self) -> Result<i64, StoreError> {
        let mut prev = vec![0u8; 32];
        let mut expected_seq = 1i64;
        loop {
            let page = self.audit_after(expected_seq - 1, 1000).await?;
            if page.is_empty() {
                break;
            }
            for record in page {
                let hash = audit_chain_hash(&prev, record.seq, &record.entry);
                if record.seq != expected_seq || record.prev_hash != prev || record.hash != hash {
                    return Err(StoreError::Corrupt {
                        what: "audit chain",
                    });
                }
                prev = record.hash;
                expected_seq += 1;
            }
        }
        let head: (i64, Vec<u8>) = on_writer!(self.db, |pool| {
            sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_one(pool)
                .await
                .during("read audit head")?
        });
        if head.0 != expected_seq - 1 || head.1 != prev {
            return Err(StoreError::Corrupt {
                what: "audit chain head",
            });
        }
        Ok(expected_seq - 1)
    }
}

/// A write transaction on the KMC database. Dropped without
/// [`KmcTx::commit`], it rolls back.
pub struct KmcTx {
    inner: KmcTxInner,
}

enum KmcTxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl std::fmt::Debug for KmcTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmcTx").finish_non_exhaustive()
    }
}

/// Runs `$body` with `$conn` bound to the transaction's connection,
/// compiled once per backend. Use `&mut *$conn` as the executor.
macro_rules! on_kmc_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match &mut $tx.inner {
            KmcTxInner::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            KmcTxInner::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

/// Runs one statement in the transaction and returns the rows it changed.
macro_rules! tx_execute {
    ($tx:expr, $sql:expr, $what:literal $(, $bind:expr)* $(,)?) => {
        on_kmc_tx!($tx, |conn| {
            sqlx::query($sql)
                $(.bind($bind))*
                .execute(&mut *conn)
                .await
                .during($what)?
                .rows_affected()
        })
    };
}

impl KmcTx {
    /// Commits every change made in this transaction.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.inner {
            KmcTxInner::Sqlite(tx) => tx.commit().await.during("commit"),
            KmcTxInner::Postgres(tx) => tx.commit().await.during("commit"),
        }
    }

    /// Appends `entry` to the audit chain, in this transaction.
    pub async fn append_audit(&mut self, entry: &AuditEntry) -> Result<AuditRecord, StoreError> {
        // Taking the head row's lock first serialises appenders (PostgreSQL
        // row lock; SQLite has a single writer).
        let (seq, prev_hash): (i64, Vec<u8>) = on_kmc_tx!(self, |conn| {
            sqlx::query_as("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
                .fetch_one(&mut *conn)
                .await
                .during("advance audit head")?
        });
        let hash = audit_chain_hash(&prev_hash, seq, entry);
        tx_execute!(
            self,
            "INSERT INTO audit (seq, at, actor, actor_role, client, action, target, outcome, \
             detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            "append audit entry",
            seq,
            entry.at.unix(),
            &entry.actor,
            &entry.actor_role,
            &entry.client,
            &entry.action,
            &entry.target,
            &entry.outcome,
            &entry.detail,
            &prev_hash,
            hash.as_slice(),
        );
        tx_execute!(
            self,
            "UPDATE audit_head SET hash = $1 WHERE id = 1",
            "set audit head",
            hash.as_slice(),
        );
        Ok(AuditRecord {
            seq,
            entry: entry.clone(),
            prev_hash,
            hash: hash.to_vec(),
        })
    }

    /// Sets this KMC's id (once; a second call keeps the first id).
    pub async fn set_kmc_id(&mut self, kmc_id: &str, now: Timestamp) -> Result<(), StoreError> {
        tx_execute!(
            self,
            "INSERT INTO kmc_identity (id, kmc_id, created_at) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO NOTHING",
            "set kmc identity",
            kmc_id,
            now.unix(),
        );
        Ok(())
    }

    /// Records a new root key version.
    pub async fn insert_root(&mut self, root: &RootKeyRecord) -> Result<(), StoreError> {
        tx_execute!(
            self,
            "INSERT INTO root_keys (version, token_label, check_value, shares, threshold, state, \
             created_at, retired_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            "insert root key",
            root.version,
            &root.token_label,
            &root.check_value,
            root.shares,
            root.threshold,
            root.state.as_str(),
            root.created_at.unix(),
            root.retired_at.map(Timestamp::unix),
        );
        Ok(())
    }

    /// Moves root `version` to `state` (retired or destroyed).
    pub async fn set_root_state(
        &mut self,
        version: i64,
        state: KeyState,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = tx_execute!(
            self,
            "UPDATE root_keys SET state = $2, retired_at = COALESCE(retired_at, $3) \
             WHERE version = $1 AND state <> 'destroyed'",
            "change root key state",
            version,
            state.as_str(),
            now.unix(),
        );
        Ok(n > 0)
    }

    /// Records a master key version.
    pub async fn insert_master(&mut self, m: &MasterKeyRecord) -> Result<(), StoreError> {
        tx_execute!(
            self,
            "INSERT INTO master_keys (domain, version, root_version, wrapped, state, created_at, \
             rotate_at, retired_at, destroyed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            "insert master key",
            &m.domain,
            m.version,
            m.root_version,
            m.wrapped.as_deref(),
            m.state.as_str(),
            m.created_at.unix(),
            m.rotate_at.unix(),
            m.retired_at.map(Timestamp::unix),
            m.destroyed_at.map(Timestamp::unix),
        );
        Ok(())
    }

    /// Replaces the wrapped form of a master key (rewrapped under a new
    /// root version).
    pub async fn rewrap_master(
        &mut self,
        domain: &str,
        version: i64,
        root_version: i64,
        wrapped: &[u8],
    ) -> Result<bool, StoreError> {
        let n = tx_execute!(
            self,
            "UPDATE master_keys SET root_version = $3, wrapped = $4 \
             WHERE domain = $1 AND version = $2 AND state <> 'destroyed'",
            "rewrap master key",
            domain,
            version,
            root_version,
            wrapped,
        );
        Ok(n > 0)
    }

    /// Retires the active master of `domain` (a new version takes over).
    pub async fn retire_master(
        &mut self,
        domain: &str,
        version: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = tx_execute!(
            self,
            "UPDATE master_keys SET state = 'retired', retired_at = $3 \
             WHERE domain = $1 AND version = $2 AND state = 'active'",
            "retire master key",
            domain,
            version,
            now.unix(),
        );
        Ok(n > 0)
    }

    /// Crypto-erases a retired master version that no working key still
    /// needs. Returns whether it was destroyed.
    pub async fn destroy_master(
        &mut self,
        domain: &str,
        version: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = tx_execute!(
            self,
            "UPDATE master_keys SET state = 'destroyed', wrapped = NULL, destroyed_at = $3 \
             WHERE domain = $1 AND version = $2 AND state = 'retired' AND NOT EXISTS (\
             SELECT 1 FROM working_keys w WHERE w.domain = $1 AND w.master_version = $2 \
             AND w.state <> 'destroyed')",
            "destroy master key",
            domain,
            version,
            now.unix(),
        );
        Ok(n > 0)
    }

    /// Records a working key version.
    pub async fn insert_working(&mut self, w: &WorkingKeyRecord) -> Result<(), StoreError> {
        tx_execute!(
            self,
            "INSERT INTO working_keys (name, version, domain, purpose, algorithm, master_version, \
             wrapped, state, created_at, rotate_at, retired_at, destroyed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            "insert working key",
            &w.name,
            w.version,
            &w.domain,
            &w.purpose,
            &w.algorithm,
            w.master_version,
            w.wrapped.as_deref(),
            w.state.as_str(),
            w.created_at.unix(),
            w.rotate_at.unix(),
            w.retired_at.map(Timestamp::unix),
            w.destroyed_at.map(Timestamp::unix),
        );
        Ok(())
    }

    /// Replaces the wrapped form of a working key (rewrapped under a new
    /// master version).
    pub async fn rewrap_working(
        &mut self,
        name: &str,
        version: i64,
        master_version: i64,
        wrapped: &[u8],
    ) -> Result<bool, StoreError> {
        let n = tx_execute!(
            self,
            "UPDATE working_keys SET master_version = $3, wrapped = $4 \
             WHERE name = $1 AND version = $2 AND state <> 'destroyed'",
            "rewrap working key",
            name,
            version,
            master_version,
            wrapped,
        );
        Ok(n > 0)
    }

    /// Retires the active version of working key `name`.
    pub async fn retire_working(
        &mut self,
        name: &str,
        version: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = tx_execute!(
            self,
            "UPDATE working_keys SET state = 'retired', retired_at = $3 \
             WHERE name = $1 AND version = $2 AND state = 'active'",
            "retire working key",
            name,
            version,
            now.unix(),
        );
        Ok(n > 0)
    }

    /// Crypto-erases a retired working key version that wraps no escrowed
    /// key any more. Returns whether it was destroyed.
    pub async fn destroy_working(
        &mut self,
        name: &str,
        version: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = tx_execute!(
            self,
            "UPDATE working_keys SET state = 'destroyed', wrapped = NULL, destroyed_at = $3 \
             WHERE name = $1 AND version = $2 AND state = 'retired' AND NOT EXISTS (\
             SELECT 1 FROM escrowed_keys e WHERE e.working_name = $1 \
             AND e.working_version = $2 AND e.state <> 'destroyed')",
            "destroy working key",
            name,
            version,
            now.unix(),
        );
        Ok(n > 0)
    }

    /// Records an escrowed key; `false` when its request id exists already
    /// (the caller reads that row and answers from it).
    pub async fn insert_escrow(&mut self, e: &EscrowRecord) -> Result<bool, StoreError> {
        let n = tx_execute!(
            self,
            "INSERT INTO escrowed_keys (id, request_id, request_hash, domain, key_type, public_key, \
             signing_key, subject, working_name, working_version, wrapped, state, issuer, serial, \
             certificate, not_after, revoked_at, revocation_reason, destroy_after, created_at, \
             updated_at, destroyed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
             $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) ON CONFLICT (request_id) DO NOTHING",
            "insert escrowed key",
            &e.id,
            &e.request_id,
            &e.request_hash,
            &e.domain,
            &e.key_type,
            &e.public_key,
            &e.signing_key,
            &e.subject,
            &e.working_name,
            e.working_version,
            e.wrapped.as_deref(),
            e.state.as_str(),
            e.issuer.as_deref(),
            e.serial.as_deref(),
            e.certificate.as_deref(),
            e.not_after.map(Timestamp::unix),
            e.revoked_at.map(Timestamp::unix),
            e.revocation_reason.as_deref(),
            e.destroy_after.unix(),
            e.created_at.unix(),
            e.updated_at.unix(),
            e.destroyed_at.map(Timestamp::unix),
        );
        Ok(n > 0)
    }

    /// Archives an escrowed key with its issued certificate (only from
    /// `escrowed`).
    #[allow(clippy::too_many_arguments)]
    pub async fn bind_certificate(
        &mut self,
        id: &str,
        issuer: &str,
        serial: &str,
        certificate: &[u8],
        not_after: Timestamp,
        destroy_after: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = tx_execute!(
            self,
            "UPDATE escrowed_keys SET state = 'archived', issuer = $2, serial = $3, \
             certificate = $4, not_after = $5, destroy_after = $6, updated_at = $7 \
             WHERE id = $1 AND state = 'escrowed'",
            "archive escrowed key",
            id,
            issuer,
            serial,
            certificate,
            not_after.unix(),
            destroy_after.unix(),
            now.unix(),
        );
        Ok(n > 0)
    }

    /// Marks an escrowed key revoked with its certificate (from
    /// `escrowed` or `archived`).
    pub async fn revoke_escrow(
        &mut self,
        id: &str,
        reason: &str,
        revoked_at: Timestamp,
        destroy_after: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = tx_execute!(
            self,
            "UPDATE escrowed_keys SET state = 'revoked', revoked_at = $2, revocation_reason = $3, \
             destroy_after = $4, updated_at = $2 WHERE id = $1 AND state IN ('escrowed', 'archived')",
            "revoke escrowed key",
            id,
            revoked_at.unix(),
            reason,
            destroy_after.unix(),
        );
        Ok(n > 0)
    }

    /// Destroys an escrowed key: its wrapped private key is deleted.
    pub async fn destroy_escrow(&mut self, id: &str, now: Timestamp) -> Result<bool, StoreError> {
        let n = tx_execute!(
            self,
            "UPDATE escrowed_keys SET state = 'destroyed', wrapped = NULL, destroyed_at = $2, \
             updated_at = $2 WHERE id = $1 AND state <> 'destroyed'",
            "destroy escrowed key",
            id,
            now.unix(),
        );
        Ok(n > 0)
    }

    /// Records a recovery request.
    pub async fn insert_recovery(&mut self, r: &RecoveryRecord) -> Result<(), StoreError> {
        tx_execute!(
            self,
            "INSERT INTO recoveries (id, escrow_id, requester, requester_role, requester_client, \
             reason, signing_key, required_approvals, state, created_at, expires_at, updated_at, \
             delivered_by, delivered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             $12, $13, $14)",
            "insert recovery",
            &r.id,
            &r.escrow_id,
            &r.requester,
            &r.requester_role,
            &r.requester_client,
            &r.reason,
            &r.signing_key,
            r.required_approvals,
            r.state.as_str(),
            r.created_at.unix(),
            r.expires_at.unix(),
            r.updated_at.unix(),
            r.delivered_by.as_deref(),
            r.delivered_at.map(Timestamp::unix),
        );
        Ok(())
    }

    /// Adds `approver`'s approval; `false` if that officer approved before.
    pub async fn add_approval(
        &mut self,
        recovery_id: &str,
        approver: &str,
        approver_client: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = tx_execute!(
            self,
            "INSERT INTO recovery_approvals (recovery_id, approver, approver_client, approved_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (recovery_id, approver) DO NOTHING",
            "add approval",
            recovery_id,
            approver,
            approver_client,
            now.unix(),
        );
        Ok(n > 0)
    }

    /// Approvals of `recovery_id`, as seen inside this transaction.
    pub async fn count_approvals(&mut self, recovery_id: &str) -> Result<i64, StoreError> {
        Ok(on_kmc_tx!(self, |conn| {
            sqlx::query_scalar("SELECT COUNT(*) FROM recovery_approvals WHERE recovery_id = $1")
                .bind(recovery_id)
                .fetch_one(&mut *conn)
                .await
                .during("count approvals")?
        }))
    }

    /// Moves a recovery from `from` to `to`; `false` if it was not in
    /// `from` (another request got there first).
    pub async fn transition_recovery(
        &mut self,
        id: &str,
        from: RecoveryState,
        to: RecoveryState,
        by: Option<&str>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let delivered = to == RecoveryState::Delivered;
        let n = tx_execute!(
            self,
            "UPDATE recoveries SET state = $3, updated_at = $4, \
             delivered_by = CASE WHEN $5 THEN $6 ELSE delivered_by END, \
             delivered_at = CASE WHEN $5 THEN $4 ELSE delivered_at END \
             WHERE id = $1 AND state = $2",
            "change recovery state",
            id,
            from.as_str(),
            to.as_str(),
            now.unix(),
            delivered,
            by,
        );
        Ok(n > 0)
    }

    /// Allows `client` to use data key `key_name` (idempotent).
    pub async fn grant_data_key(
        &mut self,
        key_name: &str,
        client: &str,
        granted_by: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = tx_execute!(
            self,
            "INSERT INTO data_key_clients (key_name, client, granted_by, granted_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (key_name, client) DO NOTHING",
            "grant data key",
            key_name,
            client,
            granted_by,
            now.unix(),
        );
        Ok(n > 0)
    }

    /// Withdraws `client`'s use of `key_name`.
    pub async fn revoke_data_key(
        &mut self,
        key_name: &str,
        client: &str,
    ) -> Result<bool, StoreError> {
        let n = tx_execute!(
            self,
            "DELETE FROM data_key_clients WHERE key_name = $1 AND client = $2",
            "revoke data key grant",
            key_name,
            client,
        );
        Ok(n > 0)
    }
}

//! The CA's tables: issuers, certificates, idempotency keys, CRL numbers.

use signet_core::{CertificateStatus, RevocationReason, Serial, Timestamp};

use crate::database::{Database, on_reader, on_writer};
use crate::error::{Context, StoreError};

/// A CA certificate the signer holds a key for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerRecord {
    /// Database id, referenced by certificates.
    pub id: i64,
    /// Name used in configuration (`root`, `issuing`, ...).
    pub name: String,
    /// The token label of its key.
    pub key_label: String,
    /// The certificate, DER.
    pub certificate: Vec<u8>,
}

/// One serial, from reservation onwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRecord {
    /// Issuer id.
    pub issuer_id: i64,
    /// Serial number.
    pub serial: Serial,
    /// Current status.
    pub status: CertificateStatus,
    /// The caller's request id (idempotency key).
    pub request_id: String,
    /// Digest of the request content, to detect an id reused for another request.
    pub request_hash: Vec<u8>,
    /// Profile name.
    pub profile: String,
    /// Subject, RFC 4514.
    pub subject: String,
    /// SANs as `TYPE:value`.
    pub sans: Vec<String>,
    /// notBefore.
    pub not_before: Timestamp,
    /// notAfter.
    pub not_after: Timestamp,
    /// The CRL partition the certificate is listed in when revoked.
    pub crl_shard: i64,
    /// The TBSCertificate recorded before signing; emptied once the
    /// certificate (which contains it) is stored.
    pub tbs: Vec<u8>,
    /// The certificate, once signed.
    pub der: Option<Vec<u8>>,
    /// When it was revoked or suspended.
    pub revoked_at: Option<Timestamp>,
    /// Why.
    pub reason: Option<RevocationReason>,
    /// When the key is known or suspected to have been compromised (RFC 5280 §5.3.2).
    pub invalidity_date: Option<Timestamp>,
    /// First recorded.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct CertificateRow {
    issuer_id: i64,
    serial: String,
    status: String,
    request_id: String,
    request_hash: Vec<u8>,
    profile: String,
    subject: String,
    sans: String,
    not_before: i64,
    not_after: i64,
    crl_shard: i64,
    tbs: Vec<u8>,
    der: Option<Vec<u8>>,
    revoked_at: Option<i64>,
    revocation_reason: Option<i64>,
    invalidity_date: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<CertificateRow> for CertificateRecord {
    type Error = StoreError;

    fn try_from(r: CertificateRow) -> Result<Self, StoreError> {
        let reason = crate::status::reason_from_code(r.revocation_reason)?;
        Ok(CertificateRecord {
            issuer_id: r.issuer_id,
            serial: r
                .serial
                .parse()
                .map_err(|_| StoreError::Corrupt { what: "serial" })?,
            status: crate::status::status_from_text(&r.status)?,
            request_id: r.request_id,
            request_hash: r.request_hash,
            profile: r.profile,
            subject: r.subject,
            sans: r.sans.lines().map(str::to_owned).collect(),
            not_before: Timestamp::from_unix(r.not_before),
            not_after: Timestamp::from_unix(r.not_after),
            crl_shard: r.crl_shard,
            tbs: r.tbs,
            der: r.der,
            revoked_at: r.revoked_at.map(Timestamp::from_unix),
            reason,
            invalidity_date: r.invalidity_date.map(Timestamp::from_unix),
            created_at: Timestamp::from_unix(r.created_at),
            updated_at: Timestamp::from_unix(r.updated_at),
        })
    }
}

/// What is recorded before the token signs.
#[derive(Clone, Debug)]
pub struct NewPending {
    /// Issuer id.
    pub issuer_id: i64,
    /// The reserved serial.
    pub serial: Serial,
    /// The caller's request id.
    pub request_id: String,
    /// Digest of the request content.
    pub request_hash: Vec<u8>,
    /// Profile name.
    pub profile: String,
    /// Subject, RFC 4514.
    pub subject: String,
    /// SANs as `TYPE:value`.
    pub sans: Vec<String>,
    /// notBefore.
    pub not_before: Timestamp,
    /// notAfter.
    pub not_after: Timestamp,
    /// The CRL partition the certificate belongs to.
    pub crl_shard: i64,
    /// The exact TBS that will be signed.
    pub tbs: Vec<u8>,
    /// Now.
    pub now: Timestamp,
}

/// The result of recording a pending row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PendingOutcome {
    /// Recorded; the serial is reserved for this request.
    Recorded,
    /// The serial already exists for this issuer: draw another.
    SerialTaken,
    /// The request id was seen before: return that request's certificate.
    RequestExists,
}

/// A status transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusChange {
    /// Revoke for good (from good or suspended).
    Revoke {
        /// Why.
        reason: RevocationReason,
        /// Known or suspected compromise time.
        invalidity_date: Option<Timestamp>,
    },
    /// Put on hold (certificateHold).
    Suspend,
    /// Take off hold.
    Resume,
}

/// What a status change did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusOutcome {
    /// The change was made.
    Changed(CertificateRecord),
    /// The certificate was already in the requested state.
    Unchanged(CertificateRecord),
    /// The change is not possible from the current state (e.g. resuming a
    /// revoked certificate, revoking one still pending).
    NotAllowed(CertificateRecord),
    /// No such serial.
    NotFound,
}

/// Filters for listing certificates.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    /// Only this status.
    pub status: Option<CertificateStatus>,
    /// Only this issuer.
    pub issuer_id: Option<i64>,
    /// Only certificates expiring before this time.
    pub expiring_before: Option<Timestamp>,
    /// Most rows (capped at 1000).
    pub limit: u32,
    /// Rows to skip.
    pub offset: u32,
}

/// The CA's data access.
#[derive(Clone, Debug)]
pub struct CaStore {
    pub(crate) db: Database,
}

/// `SELECT <every certificate column> FROM certificates <rest>`, as a
/// static string (sqlx refuses SQL built at run time).
macro_rules! select_certificates {
    ($rest:literal) => {
        concat!(
            "SELECT issuer_id, serial, status, request_id, request_hash, profile, subject, sans, \
             not_before, not_after, crl_shard, tbs, der, revoked_at, revocation_reason, invalidity_date, \
             created_at, updated_at FROM certificates ",
            $rest
        )
    };
}

impl CaStore {
    /// The CA store over an open CA database.
    pub fn new(db: Database) -> Self {
        CaStore { db }
    }

    /// The underlying database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Records an issuer certificate, or returns the existing row with that
    /// name (issuers are written once, by `signet init`).
    pub async fn put_issuer(
        &self,
        id: i64,
        name: &str,
        key_label: &str,
        certificate: &[u8],
        now: Timestamp,
    ) -> Result<IssuerRecord, StoreError> {
        on_writer!(self.db, |pool| {
            sqlx::query(
                "INSERT INTO issuers (id, name, key_label, certificate, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(name)
            .bind(key_label)
            .bind(certificate)
            .bind(now.unix())
            .execute(pool)
            .await
            .during("insert issuer")?
            .rows_affected()
        });
        self.issuers()
            .await?
            .into_iter()
            .find(|i| i.name == name)
            .ok_or(StoreError::Corrupt { what: "issuer" })
    }

    /// Every issuer.
    pub async fn issuers(&self) -> Result<Vec<IssuerRecord>, StoreError> {
        let rows: Vec<(i64, String, String, Vec<u8>)> = on_reader!(self.db, |pool| {
            sqlx::query_as("SELECT id, name, key_label, certificate FROM issuers ORDER BY id")
                .fetch_all(pool)
                .await
                .during("list issuers")?
        });
        Ok(rows
            .into_iter()
            .map(|(id, name, key_label, certificate)| IssuerRecord {
                id,
                name,
                key_label,
                certificate,
            })
            .collect())
    }

    /// The certificate row for a request id.
    pub async fn find_by_request(
        &self,
        request_id: &str,
    ) -> Result<Option<CertificateRecord>, StoreError> {
        let sql = select_certificates!("WHERE request_id = $1");
        let row: Option<CertificateRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(sql)
                .bind(request_id)
                .fetch_optional(pool)
                .await
                .during("find by request id")?
        });
        row.map(CertificateRecord::try_from).transpose()
    }

    /// The certificate with this serial from this issuer.
    pub async fn get(
        &self,
        issuer_id: i64,
        serial: &Serial,
    ) -> Result<Option<CertificateRecord>, StoreError> {
        let sql = select_certificates!("WHERE issuer_id = $1 AND serial = $2");
        let row: Option<CertificateRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(sql)
                .bind(issuer_id)
                .bind(serial.to_hex())
                .fetch_optional(pool)
                .await
                .during("get certificate")?
        });
        row.map(CertificateRecord::try_from).transpose()
    }

    /// Certificates with this serial under any issuer (serials are random,
    /// so in practice at most one).
    pub async fn find_serial(&self, serial: &Serial) -> Result<Vec<CertificateRecord>, StoreError> {
        let sql = select_certificates!("WHERE serial = $1 ORDER BY issuer_id");
        let rows: Vec<CertificateRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(sql)
                .bind(serial.to_hex())
                .fetch_all(pool)
                .await
                .during("find serial")?
        });
        rows.into_iter().map(CertificateRecord::try_from).collect()
    }

    /// Rows still pending: reserved and recorded, not known to be signed.
    pub async fn pending(&self) -> Result<Vec<CertificateRecord>, StoreError> {
        let sql = select_certificates!("WHERE status = 'pending' ORDER BY created_at");
        let rows: Vec<CertificateRow> = on_writer!(self.db, |pool| {
            sqlx::query_as(sql)
                .fetch_all(pool)
                .await
                .during("list pending")?
        });
        rows.into_iter().map(CertificateRecord::try_from).collect()
    }

    /// Lists certificates, newest first.
    pub async fn list(&self, q: &ListQuery) -> Result<Vec<CertificateRecord>, StoreError> {
        let sql = select_certificates!(
            "WHERE ($1 IS NULL OR status = $1) \
             AND ($2 IS NULL OR issuer_id = $2) AND ($3 IS NULL OR not_after < $3) \
             ORDER BY created_at DESC, serial LIMIT $4 OFFSET $5"
        );
        let status = q.status.map(|s| s.as_str().to_owned());
        let limit = i64::from(q.limit.clamp(1, 1000));
        let rows: Vec<CertificateRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(sql)
                .bind(status.clone())
                .bind(q.issuer_id)
                .bind(q.expiring_before.map(Timestamp::unix))
                .bind(limit)
                .bind(i64::from(q.offset))
                .fetch_all(pool)
                .await
                .during("list certificates")?
        });
        rows.into_iter().map(CertificateRecord::try_from).collect()
    }

    /// Counts certificates per status.
    pub async fn count_by_status(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(
                "SELECT status, COUNT(*) FROM certificates GROUP BY status ORDER BY status",
            )
            .fetch_all(pool)
            .await
            .during("count certificates")?
        }))
    }

    /// Applies a status change atomically: the UPDATE only matches rows in
    /// a state the change may start from, so two concurrent changes cannot
    /// both act.
    pub async fn change_status(
        &self,
        issuer_id: i64,
        serial: &Serial,
        change: StatusChange,
        now: Timestamp,
    ) -> Result<StatusOutcome, StoreError> {
        let (sql, reason, invalidity): (&str, Option<i64>, Option<i64>) = match change {
            StatusChange::Revoke {
                reason,
                invalidity_date,
            } => (
                "UPDATE certificates SET status = 'revoked', revoked_at = $3, \
                 revocation_reason = $4, invalidity_date = $5, updated_at = $3 \
                 WHERE issuer_id = $1 AND serial = $2 AND status IN ('good', 'suspended')",
                Some(i64::from(reason.code())),
                invalidity_date.map(Timestamp::unix),
            ),
            StatusChange::Suspend => (
                "UPDATE certificates SET status = 'suspended', revoked_at = $3, \
                 revocation_reason = $4, invalidity_date = $5, updated_at = $3 \
                 WHERE issuer_id = $1 AND serial = $2 AND status = 'good'",
                Some(i64::from(RevocationReason::CertificateHold.code())),
                None,
            ),
            StatusChange::Resume => (
                "UPDATE certificates SET status = 'good', revoked_at = NULL, \
                 revocation_reason = $4, invalidity_date = $5, updated_at = $3 \
                 WHERE issuer_id = $1 AND serial = $2 AND status = 'suspended'",
                None,
                None,
            ),
        };
        let new_status = match change {
            StatusChange::Revoke { .. } => CertificateStatus::Revoked,
            StatusChange::Suspend => CertificateStatus::Suspended,
            StatusChange::Resume => CertificateStatus::Good,
        };
        // The change and its entry in the change feed commit together, so
        // a responder following the feed never misses a change.
        let changed = on_writer!(self.db, |pool| {
            let mut tx = pool.begin().await.during("begin status change")?;
            let changed = sqlx::query(sql)
                .bind(issuer_id)
                .bind(serial.to_hex())
                .bind(now.unix())
                .bind(reason)
                .bind(invalidity)
                .execute(&mut *tx)
                .await
                .during("change status")?
                .rows_affected();
            if changed > 0 {
                sqlx::query(
                    "INSERT INTO status_changes (issuer_id, serial, status, changed_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(issuer_id)
                .bind(serial.to_hex())
                .bind(new_status.as_str())
                .bind(now.unix())
                .execute(&mut *tx)
                .await
                .during("record status change")?;
            }
            tx.commit().await.during("commit status change")?;
            changed
        });

        let Some(record) = self.get(issuer_id, serial).await? else {
            return Ok(StatusOutcome::NotFound);
        };
        if changed > 0 {
            return Ok(StatusOutcome::Changed(record));
        }
        let already = matches!(
            (change, record.status),
            (StatusChange::Revoke { .. }, CertificateStatus::Revoked)
                | (StatusChange::Suspend, CertificateStatus::Suspended)
                | (StatusChange::Resume, CertificateStatus::Good)
        );
        Ok(if already {
            StatusOutcome::Unchanged(record)
        } else {
            StatusOutcome::NotAllowed(record)
        })
    }

    /// Claims an idempotency key for an operation. Returns `None` when the
    /// key is new (go ahead), or the stored request digest when it was
    /// used before (compare to tell a retry from a reuse).
    pub async fn claim_idempotency_key(
        &self,
        key: &str,
        operation: &str,
        request_hash: &[u8],
        now: Timestamp,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let inserted = on_writer!(self.db, |pool| {
            sqlx::query(
                "INSERT INTO idempotency_keys (key, operation, request_hash, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(key)
            .bind(operation)
            .bind(request_hash)
            .bind(now.unix())
            .execute(pool)
            .await
            .during("claim idempotency key")?
            .rows_affected()
        });
        if inserted > 0 {
            return Ok(None);
        }
        let row: Option<(String, Vec<u8>)> = on_writer!(self.db, |pool| {
            sqlx::query_as("SELECT operation, request_hash FROM idempotency_keys WHERE key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await
                .during("read idempotency key")?
        });
        Ok(row.map(|(op, hash)| {
            // The same key for another operation is a different request.
            if op == operation { hash } else { Vec::new() }
        }))
    }

    /// The next CRL number for an issuer's shard (RFC 5280 §5.2.3:
    /// monotonically increasing).
    pub async fn next_crl_number(&self, issuer_id: i64, shard: i64) -> Result<i64, StoreError> {
        Ok(on_writer!(self.db, |pool| {
            sqlx::query_scalar(
                "INSERT INTO crl_numbers (issuer_id, shard, last_number) VALUES ($1, $2, 1) \
                 ON CONFLICT (issuer_id, shard) DO UPDATE SET last_number = crl_numbers.last_number + 1 \
                 RETURNING last_number",
            )
            .bind(issuer_id)
            .bind(shard)
            .fetch_one(pool)
            .await
            .during("next crl number")?
        }))
    }
}

//! What relying parties may learn: certificate status, the change feed,
//! published CRLs and OCSP signers. Read-only, so the OCSP/CRL responder
//! can run against a replica or a read-only role.

use signet_core::{CertificateStatus, RevocationReason, Serial, Timestamp};

use crate::ca::IssuerRecord;
use crate::database::{Database, DbOptions, Schema, on_reader};
use crate::error::{Context, StoreError};

/// A certificate's status, as OCSP needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateState {
    /// Status (`Pending` means reserved, not issued).
    pub status: CertificateStatus,
    /// When revoked or suspended.
    pub revoked_at: Option<Timestamp>,
    /// Why.
    pub reason: Option<RevocationReason>,
    /// Compromise time, when known.
    pub invalidity_date: Option<Timestamp>,
    /// notAfter.
    pub not_after: Timestamp,
}

/// One entry of the change feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusChangeRecord {
    /// Position in the feed.
    pub seq: i64,
    /// Issuer id.
    pub issuer_id: i64,
    /// Serial.
    pub serial: Serial,
    /// The status it changed to.
    pub status: CertificateStatus,
}

/// Full or delta CRL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CrlKind {
    /// A complete CRL.
    Full,
    /// Changes since a full CRL (RFC 5280 §5.2.4).
    Delta,
}

impl CrlKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CrlKind::Full => "full",
            CrlKind::Delta => "delta",
        }
    }
}

/// A published CRL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlRecord {
    /// Issuer id.
    pub issuer_id: i64,
    /// Partition.
    pub shard: i64,
    /// Full or delta.
    pub kind: CrlKind,
    /// cRLNumber.
    pub number: i64,
    /// For a delta: the full CRL it completes.
    pub base_number: Option<i64>,
    /// thisUpdate.
    pub this_update: Timestamp,
    /// nextUpdate.
    pub next_update: Timestamp,
    /// The last change-feed entry it includes.
    pub changes_seq: i64,
    /// Number of entries.
    pub entries: i64,
    /// DER.
    pub der: Vec<u8>,
}

/// A delegated OCSP signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcspSignerRecord {
    /// Row id.
    pub id: i64,
    /// The issuer it answers for.
    pub issuer_id: i64,
    /// Token label of its key.
    pub key_label: String,
    /// Its certificate, DER.
    pub certificate: Vec<u8>,
    /// notBefore.
    pub not_before: Timestamp,
    /// notAfter.
    pub not_after: Timestamp,
}

pub(crate) fn status_from_text(text: &str) -> Result<CertificateStatus, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Corrupt { what: "status" })
}

pub(crate) fn reason_from_code(code: Option<i64>) -> Result<Option<RevocationReason>, StoreError> {
    code.map(|c| {
        u8::try_from(c)
            .ok()
            .and_then(RevocationReason::from_code)
            .ok_or(StoreError::Corrupt {
                what: "revocation reason",
            })
    })
    .transpose()
}

/// An `ocsp_signers` row.
pub(crate) type SignerRow = (i64, i64, String, Vec<u8>, i64, i64);

pub(crate) fn signer_from_row(r: SignerRow) -> OcspSignerRecord {
    let (id, issuer_id, key_label, certificate, not_before, not_after) = r;
    OcspSignerRecord {
        id,
        issuer_id,
        key_label,
        certificate,
        not_before: Timestamp::from_unix(not_before),
        not_after: Timestamp::from_unix(not_after),
    }
}

/// Read-only access to the CA database for relying-party services.
#[derive(Clone, Debug)]
pub struct StatusReader {
    pub(crate) db: Database,
}

type CrlRow = (
    i64,
    i64,
    String,
    i64,
    Option<i64>,
    i64,
    i64,
    i64,
    i64,
    Vec<u8>,
);

fn crl_from_row(r: CrlRow) -> Result<CrlRecord, StoreError> {
    let (
        issuer_id,
        shard,
        kind,
        number,
        base_number,
        this_update,
        next_update,
        changes_seq,
        entries,
        der,
    ) = r;
    Ok(CrlRecord {
        issuer_id,
        shard,
        kind: match kind.as_str() {
            "full" => CrlKind::Full,
            "delta" => CrlKind::Delta,
            _ => return Err(StoreError::Corrupt { what: "CRL kind" }),
        },
        number,
        base_number,
        this_update: Timestamp::from_unix(this_update),
        next_update: Timestamp::from_unix(next_update),
        changes_seq,
        entries,
        der,
    })
}

impl StatusReader {
    /// Opens the CA database at `url` read-only (it must exist: the CA creates it).
    pub async fn open(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = DbOptions {
            read_only: true,
            max_connections,
            ..DbOptions::default()
        };
        Ok(StatusReader {
            db: Database::open(url, Schema::Ca, &options).await?,
        })
    }

    /// The underlying database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Every issuer.
    pub async fn issuers(&self) -> Result<Vec<IssuerRecord>, StoreError> {
        crate::CaStore::new(self.db.clone()).issuers().await
    }

    /// The status of one certificate, if the serial exists under this issuer.
    pub async fn state(
        &self,
        issuer_id: i64,
        serial: &Serial,
    ) -> Result<Option<CertificateState>, StoreError> {
        type Row = (String, Option<i64>, Option<i64>, Option<i64>, i64);
        let row: Option<Row> = on_reader!(self.db, |pool| {
            sqlx::query_as(
                "SELECT status, revoked_at, revocation_reason, invalidity_date, not_after \
                 FROM certificates WHERE serial = $1 AND issuer_id = $2",
            )
            .bind(serial.to_hex())
            .bind(issuer_id)
            .fetch_optional(pool)
            .await
            .during("read certificate status")?
        });
        row.map(|(status, revoked_at, reason, invalidity, not_after)| {
            Ok(CertificateState {
                status: status_from_text(&status)?,
                revoked_at: revoked_at.map(Timestamp::from_unix),
                reason: reason_from_code(reason)?,
                invalidity_date: invalidity.map(Timestamp::from_unix),
                not_after: Timestamp::from_unix(not_after),
            })
        })
        .transpose()
    }

    /// The newest position of the change feed (0 when empty).
    pub async fn last_change_seq(&self) -> Result<i64, StoreError> {
        let seq: Option<i64> = on_reader!(self.db, |pool| {
            sqlx::query_scalar("SELECT MAX(seq) FROM status_changes")
                .fetch_one(pool)
                .await
                .during("read change feed position")?
        });
        Ok(seq.unwrap_or(0))
    }

    /// Feed entries after `seq`, oldest first, at most `limit`.
    pub async fn changes_since(
        &self,
        seq: i64,
        limit: i64,
    ) -> Result<Vec<StatusChangeRecord>, StoreError> {
        let rows: Vec<(i64, i64, String, String)> = on_reader!(self.db, |pool| {
            sqlx::query_as(
                "SELECT seq, issuer_id, serial, status FROM status_changes \
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(seq)
            .bind(limit)
            .fetch_all(pool)
            .await
            .during("read change feed")?
        });
        rows.into_iter()
            .map(|(seq, issuer_id, serial, status)| {
                Ok(StatusChangeRecord {
                    seq,
                    issuer_id,
                    serial: serial
                        .parse()
                        .map_err(|_| StoreError::Corrupt { what: "serial" })?,
                    status: status_from_text(&status)?,
                })
            })
            .collect()
    }

    /// The newest CRL of a kind for an issuer's shard.
    pub async fn latest_crl(
        &self,
        issuer_id: i64,
        shard: i64,
        kind: CrlKind,
    ) -> Result<Option<CrlRecord>, StoreError> {
        let row: Option<CrlRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(
                "SELECT issuer_id, shard, kind, number, base_number, this_update, next_update, \
                 changes_seq, entries, der FROM crls \
                 WHERE issuer_id = $1 AND shard = $2 AND kind = $3 ORDER BY number DESC LIMIT 1",
            )
            .bind(issuer_id)
            .bind(shard)
            .bind(kind.as_str())
            .fetch_optional(pool)
            .await
            .during("read CRL")?
        });
        row.map(crl_from_row).transpose()
    }

    /// The number of the newest CRL of a kind for an issuer's shard, without
    /// its bytes: a responder holding a copy asks this to learn whether the
    /// copy is still the newest (a large CRL is megabytes).
    pub async fn latest_crl_number(
        &self,
        issuer_id: i64,
        shard: i64,
        kind: CrlKind,
    ) -> Result<Option<i64>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_scalar(
                "SELECT MAX(number) FROM crls WHERE issuer_id = $1 AND shard = $2 AND kind = $3",
            )
            .bind(issuer_id)
            .bind(shard)
            .bind(kind.as_str())
            .fetch_one(pool)
            .await
            .during("read CRL number")?
        }))
    }

    /// OCSP signers whose certificates are valid at `now`, newest first.
    pub async fn ocsp_signers(&self, now: Timestamp) -> Result<Vec<OcspSignerRecord>, StoreError> {
        let rows: Vec<SignerRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(
                "SELECT id, issuer_id, key_label, certificate, not_before, not_after FROM ocsp_signers \
                 WHERE not_before <= $1 AND not_after > $1 ORDER BY not_after DESC",
            )
            .bind(now.unix())
            .fetch_all(pool)
            .await
            .during("read OCSP signers")?
        });
        Ok(rows.into_iter().map(signer_from_row).collect())
    }
}

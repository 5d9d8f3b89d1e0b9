//! What the CA publishes: CRLs (written here, read through
//! `StatusReader`) and delegated OCSP signers.

use futures_util::TryStreamExt as _;
use signet_core::{CertificateStatus, RevocationReason, Serial, Timestamp};

use crate::ca::CaStore;
use crate::database::{on_reader, on_writer};
use crate::error::{Context, StoreError};
use crate::status::{
    CrlRecord, OcspSignerRecord, SignerRow, StatusReader, reason_from_code, signer_from_row,
    status_from_text,
};

/// A certificate as a CRL lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedEntry {
    /// Serial.
    pub serial: Serial,
    /// Current status (revoked, suspended; good for a delta's removeFromCRL).
    pub status: CertificateStatus,
    /// When revoked or suspended (for good certificates: when last changed).
    pub revoked_at: Timestamp,
    /// Why.
    pub reason: Option<RevocationReason>,
    /// Compromise time, when known.
    pub invalidity_date: Option<Timestamp>,
}

type EntryRow = (String, String, Option<i64>, Option<i64>, Option<i64>, i64);

fn entry_from_row(r: EntryRow) -> Result<RevokedEntry, StoreError> {
    let (serial, status, revoked_at, reason, invalidity, updated_at) = r;
    Ok(RevokedEntry {
        serial: serial
            .parse()
            .map_err(|_| StoreError::Corrupt { what: "serial" })?,
        status: status_from_text(&status)?,
        revoked_at: Timestamp::from_unix(revoked_at.unwrap_or(updated_at)),
        reason: reason_from_code(reason)?,
        invalidity_date: invalidity.map(Timestamp::from_unix),
    })
}

impl CaStore {
    /// Read-only access over the same database.
    pub fn reader(&self) -> StatusReader {
        StatusReader {
            db: self.db.clone(),
        }
    }

    /// Streams every revoked or suspended certificate of an issuer's shard
    /// that has not expired at `unexpired_at` to `f`, without collecting
    /// them: a million-entry CRL is built from a stream. Returns the count.
    pub async fn for_each_revoked<F>(
        &self,
        issuer_id: i64,
        shard: i64,
        unexpired_at: Timestamp,
        mut f: F,
    ) -> Result<usize, StoreError>
    where
        F: FnMut(RevokedEntry) -> Result<(), StoreError>,
    {
        const SQL: &str = "SELECT serial, status, revoked_at, revocation_reason, invalidity_date, \
            updated_at FROM certificates WHERE issuer_id = $1 AND crl_shard = $2 \
            AND status IN ('revoked', 'suspended') AND not_after > $3";
        let mut count = 0usize;
        on_reader!(self.db, |pool| {
            let mut rows = sqlx::query_as::<_, EntryRow>(SQL)
                .bind(issuer_id)
                .bind(shard)
                .bind(unexpired_at.unix())
                .fetch(pool);
            while let Some(row) = rows
                .try_next()
                .await
                .during("stream revoked certificates")?
            {
                f(entry_from_row(row)?)?;
                count += 1;
            }
        });
        Ok(count)
    }

    /// Certificates of an issuer's shard whose status changed after feed
    /// position `after_seq`, in their current state (for delta CRLs).
    pub async fn changed_after(
        &self,
        issuer_id: i64,
        shard: i64,
        after_seq: i64,
    ) -> Result<Vec<RevokedEntry>, StoreError> {
        let rows: Vec<EntryRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(
                "SELECT serial, status, revoked_at, revocation_reason, invalidity_date, updated_at \
                 FROM certificates WHERE issuer_id = $1 AND crl_shard = $2 AND serial IN \
                 (SELECT serial FROM status_changes WHERE issuer_id = $1 AND seq > $3)",
            )
            .bind(issuer_id)
            .bind(shard)
            .bind(after_seq)
            .fetch_all(pool)
            .await
            .during("read changes for a delta CRL")?
        });
        rows.into_iter().map(entry_from_row).collect()
    }

    /// Stores a signed CRL.
    pub async fn put_crl(&self, crl: &CrlRecord) -> Result<(), StoreError> {
        on_writer!(self.db, |pool| {
            sqlx::query(
                "INSERT INTO crls (issuer_id, shard, kind, number, base_number, this_update, \
                 next_update, changes_seq, entries, der) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(crl.issuer_id)
            .bind(crl.shard)
            .bind(crl.kind.as_str())
            .bind(crl.number)
            .bind(crl.base_number)
            .bind(crl.this_update.unix())
            .bind(crl.next_update.unix())
            .bind(crl.changes_seq)
            .bind(crl.entries)
            .bind(&crl.der)
            .execute(pool)
            .await
            .during("store CRL")?
            .rows_affected()
        });
        Ok(())
    }

    /// Drops CRLs of an issuer's shard and kind older than `keep_from`
    /// (by number): only recent ones are served.
    pub async fn prune_crls(
        &self,
        issuer_id: i64,
        shard: i64,
        keep_from: i64,
    ) -> Result<(), StoreError> {
        on_writer!(self.db, |pool| {
            sqlx::query("DELETE FROM crls WHERE issuer_id = $1 AND shard = $2 AND number < $3")
                .bind(issuer_id)
                .bind(shard)
                .bind(keep_from)
                .execute(pool)
                .await
                .during("prune CRLs")?
                .rows_affected()
        });
        Ok(())
    }

    /// Records a new delegated OCSP signer.
    pub async fn put_ocsp_signer(
        &self,
        issuer_id: i64,
        key_label: &str,
        certificate: &[u8],
        not_before: Timestamp,
        not_after: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_writer!(self.db, |pool| {
            sqlx::query(
                "INSERT INTO ocsp_signers (issuer_id, key_label, certificate, not_before, not_after, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(issuer_id)
            .bind(key_label)
            .bind(certificate)
            .bind(not_before.unix())
            .bind(not_after.unix())
            .bind(now.unix())
            .execute(pool)
            .await
            .during("store OCSP signer")?
            .rows_affected()
        });
        Ok(())
    }

    /// Signers whose certificates expired before `now` (their keys can go).
    pub async fn expired_ocsp_signers(
        &self,
        now: Timestamp,
    ) -> Result<Vec<OcspSignerRecord>, StoreError> {
        let rows: Vec<SignerRow> = on_writer!(self.db, |pool| {
            sqlx::query_as(
                "SELECT id, issuer_id, key_label, certificate, not_before, not_after FROM ocsp_signers \
                 WHERE not_after <= $1",
            )
            .bind(now.unix())
            .fetch_all(pool)
            .await
            .during("read expired OCSP signers")?
        });
        Ok(rows.into_iter().map(signer_from_row).collect())
    }

    /// Forgets a signer (after its key was destroyed).
    pub async fn delete_ocsp_signer(&self, id: i64) -> Result<(), StoreError> {
        on_writer!(self.db, |pool| {
            sqlx::query("DELETE FROM ocsp_signers WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await
                .during("delete OCSP signer")?
                .rows_affected()
        });
        Ok(())
    }
}

//! Keys the RA generated for requests filed without a CSR, kept encrypted
//! (by the RA, under a token key) until they are handed over in a
//! PKCS#12, and then erased. The row stays as the record of what happened.
//!
//! Erasure sets the columns to NULL. On SQLite the connection runs with
//! `secure_delete` (see `database.rs`), so the freed bytes are zeroed in
//! the database file; on PostgreSQL it is logical only: the old row
//! versions stay in dead tuples until vacuumed, and in the WAL and
//! backups, as ciphertext under the RA's token key.

use std::fmt;

use signet_core::Timestamp;

use super::{RaStore, RaTx, on_tx};
use crate::database::on_reader;
use crate::error::{Context, StoreError};

/// A generated key's row. The blobs are ciphertext; `Debug` omits them.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ServerKeyRecord {
    /// The request (`cert_requests.id`).
    pub request_id: i64,
    /// `p256`, `p384`, `rsa2048`, `rsa3072`.
    pub key_type: String,
    /// The encrypted PKCS#8 key, until delivered or erased.
    pub private_key: Option<Vec<u8>>,
    /// The encrypted PKCS#12 last made, from packaging until downloaded.
    pub pkcs12: Option<Vec<u8>>,
    /// Generated, Unix seconds.
    pub created_at: i64,
    /// The PKCS#12 last made, Unix seconds.
    pub packaged_at: Option<i64>,
    /// The officer who made it (`officers.id`): the only one who may
    /// download it or make it again.
    pub packaged_by: Option<i64>,
    /// The PKCS#12 downloaded, Unix seconds.
    pub delivered_at: Option<i64>,
    /// Erased without delivery (request rejected or failed), Unix seconds.
    pub erased_at: Option<i64>,
}

impl fmt::Debug for ServerKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerKeyRecord")
            .field("request_id", &self.request_id)
            .field("key_type", &self.key_type)
            .field("has_private_key", &self.private_key.is_some())
            .field("has_pkcs12", &self.pkcs12.is_some())
            .field("packaged_at", &self.packaged_at)
            .field("packaged_by", &self.packaged_by)
            .field("delivered_at", &self.delivered_at)
            .field("erased_at", &self.erased_at)
            .finish_non_exhaustive()
    }
}

const SELECT: &str = "SELECT request_id, key_type, private_key, pkcs12, created_at, packaged_at, \
                      packaged_by, delivered_at, erased_at FROM server_keys WHERE request_id = $1";

impl RaStore {
    /// The generated key of request `request_id`, if it was filed so.
    pub async fn server_key(&self, request_id: i64) -> Result<Option<ServerKeyRecord>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(SELECT)
                .bind(request_id)
                .fetch_optional(pool)
                .await
                .during("read server key")?
        }))
    }
}

impl RaTx {
    /// Stores the encrypted key of a request filed without a CSR.
    pub async fn insert_server_key(
        &mut self,
        request_id: i64,
        key_type: &str,
        private_key: &[u8],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO server_keys (request_id, key_type, private_key, created_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(request_id)
            .bind(key_type)
            .bind(private_key)
            .bind(now.unix())
            .execute(&mut *conn)
            .await
            .during("store server key")?
            .rows_affected()
        });
        Ok(())
    }

    /// The key's row, read inside this transaction.
    pub async fn server_key(
        &mut self,
        request_id: i64,
    ) -> Result<Option<ServerKeyRecord>, StoreError> {
        Ok(on_tx!(self, |conn| {
            sqlx::query_as(SELECT)
                .bind(request_id)
                .fetch_optional(&mut *conn)
                .await
                .during("read server key")?
        }))
    }

    /// Stores the PKCS#12 made from the kept key by `officer_id`,
    /// replacing an earlier one only if the same officer made it. Only
    /// while the key is kept and the request's certificate is issued,
    /// `good` by the RA's last answer from the CA, and not expired at
    /// `now`: checked in the statement itself, so a revocation or a
    /// delivery committed meanwhile wins. False: nothing was stored.
    pub async fn package_server_key(
        &mut self,
        request_id: i64,
        pkcs12: &[u8],
        officer_id: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE server_keys SET pkcs12 = $2, packaged_at = $3, packaged_by = $4 \
                 WHERE request_id = $1 AND private_key IS NOT NULL \
                 AND (pkcs12 IS NULL OR packaged_by = $4) \
                 AND EXISTS (SELECT 1 FROM cert_requests r WHERE r.id = $1 \
                 AND r.status = 'issued' AND r.cert_status = 'good' AND r.not_after > $3)",
            )
            .bind(request_id)
            .bind(pkcs12)
            .bind(now.unix())
            .bind(officer_id)
            .execute(&mut *conn)
            .await
            .during("package server key")?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// Erases the stored PKCS#12 and the key it was made from as
    /// delivered to `officer_id`, who must be the officer who made it;
    /// only while the certificate is `good` and not expired at `now` (in
    /// the statement, as for packaging). False: nothing was delivered.
    pub async fn deliver_server_pkcs12(
        &mut self,
        request_id: i64,
        officer_id: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE server_keys SET private_key = NULL, pkcs12 = NULL, delivered_at = $2, \
                 delivered_by = $3 \
                 WHERE request_id = $1 AND pkcs12 IS NOT NULL AND packaged_by = $3 \
                 AND EXISTS (SELECT 1 FROM cert_requests r WHERE r.id = $1 \
                 AND r.status = 'issued' AND r.cert_status = 'good' AND r.not_after > $2)",
            )
            .bind(request_id)
            .bind(now.unix())
            .bind(officer_id)
            .execute(&mut *conn)
            .await
            .during("deliver server key")?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// Erases whatever is still stored of the key (the request will never
    /// be issued). False: nothing was stored.
    pub async fn erase_server_key(
        &mut self,
        request_id: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE server_keys SET private_key = NULL, pkcs12 = NULL, erased_at = $2 \
                 WHERE request_id = $1 AND (private_key IS NOT NULL OR pkcs12 IS NOT NULL)",
            )
            .bind(request_id)
            .bind(now.unix())
            .execute(&mut *conn)
            .await
            .during("erase server key")?
            .rows_affected()
        });
        Ok(n > 0)
    }
}

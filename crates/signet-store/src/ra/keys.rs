//! Keys kept wrapped (AES-GCM) by a token key, such as the HMAC key of the
//! sensitive-field digests.

use std::fmt;

use signet_core::Timestamp;

use super::{RaStore, RaTx, on_tx};
use crate::database::on_reader;
use crate::error::{Context, StoreError};

/// A wrapped key.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyBlob {
    /// What the key is for (`digest-key`).
    pub name: String,
    /// The token AES key that wraps it.
    pub token_key_label: String,
    /// IV || ciphertext || tag.
    pub blob: Vec<u8>,
    /// Created.
    pub created_at: Timestamp,
}

impl fmt::Debug for KeyBlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyBlob")
            .field("name", &self.name)
            .field("token_key_label", &self.token_key_label)
            .finish_non_exhaustive()
    }
}

impl RaStore {
    /// The wrapped key called `name`.
    pub async fn key_blob(&self, name: &str) -> Result<Option<KeyBlob>, StoreError> {
        let row: Option<(String, String, Vec<u8>, i64)> = on_reader!(self.db, |pool| {
            sqlx::query_as(
                "SELECT name, token_key_label, blob, created_at FROM key_blobs WHERE name = $1",
            )
            .bind(name)
            .fetch_optional(pool)
            .await
            .during("read key blob")?
        });
        Ok(row.map(|(name, token_key_label, blob, at)| KeyBlob {
            name,
            token_key_label,
            blob,
            created_at: Timestamp::from_unix(at),
        }))
    }
}

impl RaTx {
    /// Stores a wrapped key unless one of that name exists; returns whether
    /// it was stored.
    pub async fn put_key_blob(&mut self, key: &KeyBlob) -> Result<bool, StoreError> {
        let n = on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO key_blobs (name, token_key_label, blob, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
            )
            .bind(&key.name)
            .bind(&key.token_key_label)
            .bind(&key.blob)
            .bind(key.created_at.unix())
            .execute(&mut *conn)
            .await
            .during("store key blob")?
            .rows_affected()
        });
        Ok(n > 0)
    }
}

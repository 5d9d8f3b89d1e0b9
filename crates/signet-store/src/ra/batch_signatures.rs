//! Who signed a batch file: the certificate whose detached CMS signature
//! over the uploaded file the RA verified when the batch was filed
//! (migration 0008). Unsigned batches have no row.

use signet_core::Timestamp;

use super::{RaStore, RaTx, on_tx};
use crate::database::on_reader;
use crate::error::{Context, StoreError};

/// The signer of a batch file, as recorded at filing.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct BatchSignatureRecord {
    /// The batch.
    pub batch_id: i64,
    /// SHA-256 (hex) of the signer's certificate (DER).
    pub signer_sha256: String,
    /// The signer certificate's subject, RFC 4514.
    pub signer_subject: String,
    /// SHA-256 (hex) of the signed file.
    pub file_sha256: String,
    /// Filed, Unix seconds.
    pub created_at: i64,
}

impl RaStore {
    /// The signer of batch `batch_id`'s file, if it was signed.
    pub async fn batch_signature(
        &self,
        batch_id: i64,
    ) -> Result<Option<BatchSignatureRecord>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(
                "SELECT batch_id, signer_sha256, signer_subject, file_sha256, created_at \
                 FROM batch_signatures WHERE batch_id = $1",
            )
            .bind(batch_id)
            .fetch_optional(pool)
            .await
            .during("read batch signature")?
        }))
    }
}

impl RaStore {
    /// The uid of the batch a file with SHA-256 `file_sha256`, signed by
    /// the certificate with SHA-256 `signer_sha256`, was filed as, if any.
    pub async fn batch_signed_with(
        &self,
        signer_sha256: &str,
        file_sha256: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_scalar(
                "SELECT b.uid FROM batch_signatures s JOIN batches b ON b.id = s.batch_id \
                 WHERE s.signer_sha256 = $1 AND s.file_sha256 = $2",
            )
            .bind(signer_sha256)
            .bind(file_sha256)
            .fetch_optional(pool)
            .await
            .during("find signed batch")?
        }))
    }
}

impl RaTx {
    /// Records who signed the file of batch `batch_id` (in the filing
    /// transaction). False: this signer's signature over this file was
    /// recorded before (a replay); nothing was written and the
    /// transaction is still usable (to be rolled back).
    pub async fn record_batch_signature(
        &mut self,
        batch_id: i64,
        signer_sha256: &str,
        signer_subject: &str,
        file_sha256: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO batch_signatures \
                 (batch_id, signer_sha256, signer_subject, file_sha256, created_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (signer_sha256, file_sha256) DO NOTHING",
            )
            .bind(batch_id)
            .bind(signer_sha256)
            .bind(signer_subject)
            .bind(file_sha256)
            .bind(now.unix())
            .execute(&mut *conn)
            .await
            .during("insert batch signature")?
            .rows_affected()
        });
        Ok(n > 0)
    }
}

//! Batches of requests: the batch itself, officers' decisions on it, and
//! its progress. Its rows are `cert_requests` rows (see `requests.rs`).

use signet_core::Timestamp;

use super::{RaStore, RaTx, ScopePrefix, on_tx};
use crate::database::{on_reader, on_writer};
use crate::error::{Context, StoreError};

/// A batch as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct BatchRecord {
    /// Database id.
    pub id: i64,
    /// Public id.
    pub uid: String,
    /// Unit.
    pub org_unit_id: i64,
    /// Filing officer (none for a batch an API client filed).
    pub filed_by: Option<i64>,
    /// Filing API client (none for an officer's batch).
    pub api_client_id: Option<i64>,
    /// `pending`, `running`, `done` or `rejected`.
    pub status: String,
    /// Distinct approvers needed.
    pub approvals_required: i64,
    /// Rows.
    pub total: i64,
    /// Rows issued so far.
    pub issued: i64,
    /// Rows the CA refused.
    pub failed: i64,
    /// Filed, Unix seconds.
    pub created_at: i64,
}

macro_rules! select_batches {
    ($rest:literal) => {
        concat!(
            "SELECT id, uid, org_unit_id, filed_by, api_client_id, status, approvals_required, \
             total, issued, \
             failed, created_at FROM batches ",
            $rest
        )
    };
}

impl RaStore {
    /// One batch, if it is in `scope`.
    pub async fn batch(
        &self,
        uid: &str,
        scope: &ScopePrefix,
    ) -> Result<Option<BatchRecord>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(select_batches!(
                "WHERE uid = $1 AND org_unit_id IN (SELECT id FROM org_units WHERE path LIKE $2)"
            ))
            .bind(uid)
            .bind(scope.pattern())
            .fetch_optional(pool)
            .await
            .during("read batch")?
        }))
    }

    /// Batches in `scope`, newest first.
    pub async fn batches(
        &self,
        scope: &ScopePrefix,
        limit: u32,
    ) -> Result<Vec<BatchRecord>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(select_batches!(
                "WHERE org_unit_id IN (SELECT id FROM org_units WHERE path LIKE $1) \
                 ORDER BY created_at DESC, id DESC LIMIT $2"
            ))
            .bind(scope.pattern())
            .bind(i64::from(limit.clamp(1, 1000)))
            .fetch_all(pool)
            .await
            .during("list batches")?
        }))
    }

    /// Claims the job of running batch `batch_id` for RA instance `owner`
    /// until `until`, or renews the claim: true if `owner` holds it now.
    /// Another owner's claim is taken over only once its lease has run
    /// out before `now` (that instance stopped); a batch no longer
    /// `running` is never claimed.
    pub async fn claim_batch_job(
        &self,
        batch_id: i64,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = on_writer!(self.db, |pool| {
            sqlx::query(
                "UPDATE batches SET job_owner = $1, job_lease_until = $2 \
                 WHERE id = $3 AND status = 'running' \
                 AND (job_owner IS NULL OR job_owner = $1 OR job_lease_until < $4)",
            )
            .bind(owner)
            .bind(until.unix())
            .bind(batch_id)
            .bind(now.unix())
            .execute(pool)
            .await
            .during("claim batch job")?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// Ends `owner`'s claim on the job of batch `batch_id` (its job ended).
    pub async fn release_batch_job(&self, batch_id: i64, owner: &str) -> Result<(), StoreError> {
        on_writer!(self.db, |pool| {
            sqlx::query(
                "UPDATE batches SET job_owner = NULL, job_lease_until = NULL \
                 WHERE id = $1 AND job_owner = $2",
            )
            .bind(batch_id)
            .bind(owner)
            .execute(pool)
            .await
            .during("release batch job")?
            .rows_affected()
        });
        Ok(())
    }

    /// Batches whose job was running (to resume after a restart).
    pub async fn running_batches(&self) -> Result<Vec<BatchRecord>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(select_batches!("WHERE status = 'running' ORDER BY id"))
                .fetch_all(pool)
                .await
                .during("list running batches")?
        }))
    }
}

impl RaTx {
    /// Files a batch (`pending`); returns its id.
    pub async fn create_batch(
        &mut self,
        uid: &str,
        org_unit_id: i64,
        filed_by: i64,
        approvals_required: i64,
        total: i64,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        Ok(on_tx!(self, |conn| {
            sqlx::query_scalar(
                "INSERT INTO batches (uid, org_unit_id, filed_by, status, approvals_required, \
                 total, issued, failed, created_at, updated_at) \
                 VALUES ($1, $2, $3, 'pending', $4, $5, 0, 0, $6, $6) RETURNING id",
            )
            .bind(uid)
            .bind(org_unit_id)
            .bind(filed_by)
            .bind(approvals_required)
            .bind(total)
            .bind(now.unix())
            .fetch_one(&mut *conn)
            .await
            .during("insert batch")?
        }))
    }

    /// Files a batch for API client `api_client_id`, already `running`:
    /// the client's registration is its approval. Returns its id, or
    /// `None` if a batch with `uid` exists (the uid derives from the
    /// client's idempotency key: a retry, even a concurrent one, finds the
    /// batch filed first).
    pub async fn create_api_batch(
        &mut self,
        uid: &str,
        org_unit_id: i64,
        api_client_id: i64,
        total: i64,
        now: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        Ok(on_tx!(self, |conn| {
            sqlx::query_scalar(
                "INSERT INTO batches (uid, org_unit_id, api_client_id, status, \
                 approvals_required, total, issued, failed, created_at, updated_at) \
                 VALUES ($1, $2, $3, 'running', 0, $4, 0, 0, $5, $5) \
                 ON CONFLICT (uid) DO NOTHING RETURNING id",
            )
            .bind(uid)
            .bind(org_unit_id)
            .bind(api_client_id)
            .bind(total)
            .bind(now.unix())
            .fetch_optional(&mut *conn)
            .await
            .during("insert API batch")?
        }))
    }

    /// Records an officer's decision; false if that officer decided before.
    pub async fn add_batch_decision(
        &mut self,
        batch_id: i64,
        officer_id: i64,
        decision: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO batch_decisions (batch_id, officer_id, decision, at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (batch_id, officer_id) DO NOTHING",
            )
            .bind(batch_id)
            .bind(officer_id)
            .bind(decision)
            .bind(now.unix())
            .execute(&mut *conn)
            .await
            .during("insert batch decision")?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// Distinct approvals of a batch.
    pub async fn count_batch_approvals(&mut self, batch_id: i64) -> Result<i64, StoreError> {
        Ok(on_tx!(self, |conn| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM batch_decisions WHERE batch_id = $1 AND decision = 'approve'",
            )
            .bind(batch_id)
            .fetch_one(&mut *conn)
            .await
            .during("count batch approvals")?
        }))
    }

    /// Moves a batch from `from` to `to` (and, into `running`, its pending
    /// rows to `approved`; into `rejected`, to `rejected`). False if it was
    /// not in `from`.
    pub async fn set_batch_status(
        &mut self,
        batch_id: i64,
        from: &str,
        to: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE batches SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
            )
            .bind(to)
            .bind(now.unix())
            .bind(batch_id)
            .bind(from)
            .execute(&mut *conn)
            .await
            .during("update batch status")?
            .rows_affected()
        });
        let rows_to = match to {
            "running" => Some("approved"),
            "rejected" => Some("rejected"),
            _ => None,
        };
        if n > 0
            && let Some(rows_to) = rows_to
        {
            on_tx!(self, |conn| {
                sqlx::query(
                    "UPDATE cert_requests SET status = $1, updated_at = $2 \
                     WHERE batch_id = $3 AND status = 'pending'",
                )
                .bind(rows_to)
                .bind(now.unix())
                .bind(batch_id)
                .execute(&mut *conn)
                .await
                .during("update batch rows")?
                .rows_affected()
            });
        }
        Ok(n > 0)
    }

    /// Adds to a batch's issued and failed counts (the batch job, in the
    /// transaction that changes those rows; cheaper than a recount).
    pub async fn add_batch_progress(
        &mut self,
        batch_id: i64,
        issued: i64,
        failed: i64,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE batches SET issued = issued + $1, failed = failed + $2, updated_at = $3 \
                 WHERE id = $4",
            )
            .bind(issued)
            .bind(failed)
            .bind(now.unix())
            .bind(batch_id)
            .execute(&mut *conn)
            .await
            .during("update batch progress")?
            .rows_affected()
        });
        Ok(())
    }

    /// Recounts a batch's issued and failed rows from its rows.
    pub async fn refresh_batch_progress(
        &mut self,
        batch_id: i64,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE batches SET \
                 issued = (SELECT COUNT(*) FROM cert_requests WHERE batch_id = $1 AND status = 'issued'), \
                 failed = (SELECT COUNT(*) FROM cert_requests WHERE batch_id = $1 AND status = 'failed'), \
                 updated_at = $2 WHERE id = $1",
            )
            .bind(batch_id)
            .bind(now.unix())
            .execute(&mut *conn)
            .await
            .during("update batch progress")?
            .rows_affected()
        });
        Ok(())
    }
}

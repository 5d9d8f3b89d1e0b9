//! Batches through the REST API (`POST /api/v1/batches`): the rows of a
//! console batch (profile, CSR, optional vetted subject and SANs), filed by
//! an API client. The client's scope and registered profiles apply to
//! every row; every row is validated before anything is stored, and with a
//! bad row nothing is filed unless the client asked to issue the valid
//! rows. As for the client's single enrolments its registration is the
//! approval, so the batch is filed `running` and the background job of
//! [`super::batches`] starts at once (each row keeps its own CA request id
//! `ra:<uid>`, so a job resumed after a restart never issues twice). With
//! an idempotency key the batch's uid is derived from (client, key), as
//! for single enrolments: a retry, even a concurrent one or one after a
//! lost answer, finds the batch filed first and files nothing. A client
//! sees its own batches only.

use std::sync::Arc;

use rand::RngExt as _;
use sha2::{Digest as _, Sha256};
use signet_store::ra::{BatchRecord, NewRequest};

use super::RegistrationAuthority;
use super::api::ApiPrincipal;
use super::batches::{BatchFiling, BatchLine, RowError};
use crate::audit::AuditEvent;
use crate::error::RaError;
use crate::roles::Permission;

/// A batch as an API client sends it.
#[derive(Debug)]
pub struct ApiBatch {
    /// Unit the certificates belong to; default the client's own.
    pub org_unit_id: Option<i64>,
    /// File the valid rows even if some are bad.
    pub issue_valid_rows: bool,
    /// The rows, in order; row `n` (from 1) is element `n - 1`.
    pub rows: Vec<ApiBatchRow>,
}

/// One row of an [`ApiBatch`].
#[derive(Clone, Debug)]
pub struct ApiBatchRow {
    /// A profile the client is registered for.
    pub profile: String,
    /// PKCS#10, PEM.
    pub csr: String,
    /// Subject DN (RFC 4514) replacing the CSR's.
    pub subject: Option<String>,
    /// SANs replacing the CSR's.
    pub sans: Option<Vec<String>>,
}

struct Filed {
    line: usize,
    profile: String,
    csr_pem: String,
    subject: String,
    subject_override: Option<String>,
    sans_override: Option<String>,
}

impl RegistrationAuthority {
    /// Validates and files an API client's batch and starts its job (see
    /// the module documentation).
    pub async fn api_file_batch(
        self: &Arc<Self>,
        p: &ApiPrincipal,
        batch: ApiBatch,
        idempotency_key: Option<&str>,
    ) -> Result<BatchFiling, RaError> {
        let caller = &p.caller;
        self.require(caller, Permission::FileRequests, "batch.file")
            .await?;
        if batch.rows.is_empty() {
            return Err(RaError::Invalid {
                field: "rows",
                key: "error.batch_empty",
            });
        }
        if batch.rows.len() > self.settings.batch_max_rows {
            return Err(RaError::Invalid {
                field: "rows",
                key: "error.batch_too_many_rows",
            });
        }
        let unit = self
            .unit_to_file_in(
                caller,
                batch.org_unit_id.unwrap_or(p.client.org_unit_id),
                "batch.file",
            )
            .await?;
        let total = batch.rows.len();
        let (valid, errors) = self.check_rows(p, batch.rows).await?;
        if (!errors.is_empty() && !batch.issue_valid_rows) || valid.is_empty() {
            return Ok(self.refuse_batch(caller, errors, total).await);
        }
        let uid = match idempotency_key {
            Some(k) => {
                let digest = Sha256::digest(format!("api-batch:{}:{k}", p.client.id).as_bytes());
                hex::encode(digest.get(..16).unwrap_or_default())
            }
            None => format!("{:032x}", rand::rng().random::<u128>()),
        };
        if idempotency_key.is_some()
            && let Some(batch) = self.filed_before(p, &uid).await?
        {
            return Ok(BatchFiling::Filed {
                batch,
                skipped: errors,
            });
        }
        let now = self.clock.now();
        let count = i64::try_from(valid.len()).unwrap_or(i64::MAX);
        let mut tx = self.store.begin().await?;
        let Some(batch_id) = tx
            .create_api_batch(&uid, unit.id, p.client.id, count, now)
            .await?
        else {
            // A concurrent call with the same key filed it first.
            drop(tx);
            return match self.filed_before(p, &uid).await? {
                Some(batch) => Ok(BatchFiling::Filed {
                    batch,
                    skipped: errors,
                }),
                None => Err(RaError::internal("batch uid taken by another batch")),
            };
        };
        let filed_rows = valid.len();
        let requests: Vec<NewRequest> = valid
            .into_iter()
            .map(|row| NewRequest {
                uid: format!("{:032x}", rand::rng().random::<u128>()),
                org_unit_id: unit.id,
                profile: row.profile,
                csr_pem: row.csr_pem,
                subject: row.subject,
                approvals_required: 0,
                status: "approved",
                filed_by: None,
                api_client_id: Some(p.client.id),
                comment: String::new(),
                batch: Some((batch_id, i64::try_from(row.line).unwrap_or(i64::MAX))),
                renewal_of: None,
                subject_override: row.subject_override,
                sans_override: row.sans_override,
                now,
            })
            .collect();
        tx.create_requests(&requests).await?;
        drop(requests);
        self.audit
            .append(
                &mut tx,
                &AuditEvent::by(caller, "batch.file")
                    .target(format!("batch:{uid}"))
                    .detail("org_unit", unit.id)
                    .detail("rows", total)
                    .detail("filed_rows", filed_rows)
                    .detail(
                        "skipped_lines",
                        errors.iter().map(|e| e.line).collect::<Vec<_>>(),
                    )
                    .detail("approvals_required", 0)
                    .detail("status", "running"),
            )
            .await?;
        // Committed and started in a task of its own: a client gone
        // during the commit cannot leave the batch running with no job
        // (the sweep of `super::batches` would start it, one
        // `batch.job_sweep_interval` later).
        let ra = Arc::clone(self);
        tokio::spawn(async move {
            tx.commit().await?;
            ra.spawn_batch_job(batch_id);
            Ok::<(), RaError>(())
        })
        .await
        .map_err(|e| RaError::internal(format!("batch filing: {e}")))??;
        let batch = self.api_batch(p, &uid).await?;
        Ok(BatchFiling::Filed {
            batch,
            skipped: errors,
        })
    }

    /// Checks every row (the CSR signatures on all cores: they are most
    /// of the work); the valid rows and the bad ones, in row order.
    async fn check_rows(
        self: &Arc<Self>,
        p: &ApiPrincipal,
        rows: Vec<ApiBatchRow>,
    ) -> Result<(Vec<Filed>, Vec<RowError>), RaError> {
        let parts = std::thread::available_parallelism().map_or(1, |n| n.get());
        let per_part = rows.len().div_ceil(parts).max(1);
        let registered: Arc<Vec<String>> =
            Arc::new(p.client.profiles.split(',').map(str::to_owned).collect());
        let mut numbered = rows.into_iter().enumerate().peekable();
        let mut tasks = Vec::new();
        while numbered.peek().is_some() {
            let part: Vec<(usize, ApiBatchRow)> = numbered.by_ref().take(per_part).collect();
            let (ra, registered) = (Arc::clone(self), Arc::clone(&registered));
            tasks.push(tokio::task::spawn_blocking(move || {
                part.into_iter()
                    .map(|(i, row)| {
                        let line = i + 1;
                        ra.check_row(&registered, row, line)
                            .map_err(|key| RowError { line, key })
                    })
                    .collect::<Vec<_>>()
            }));
        }
        let (mut valid, mut errors) = (Vec::new(), Vec::new());
        for task in tasks {
            let checked = task
                .await
                .map_err(|e| RaError::internal(format!("batch row check: {e}")))?;
            for result in checked {
                match result {
                    Ok(row) => valid.push(row),
                    Err(e) => errors.push(e),
                }
            }
        }
        Ok((valid, errors))
    }

    /// One row: an offered profile this client is registered for, then the
    /// console's checks (CSR signature, subject and SAN syntax).
    fn check_row(
        &self,
        registered: &[String],
        row: ApiBatchRow,
        line: usize,
    ) -> Result<Filed, &'static str> {
        // The RA's own offer first (as the console names it), then the
        // client's registration.
        if self.settings.profile(&row.profile).is_some() && !registered.contains(&row.profile) {
            return Err("error.profile_not_registered");
        }
        if self.settings.is_dual(&row.profile) {
            // As for single enrolments: a dual pair needs two certificates
            // and an envelope, which a batch row cannot carry.
            return Err("error.dual_not_available");
        }
        let (row, subject, _) = self.validate_line(BatchLine {
            profile: row.profile,
            csr: row.csr,
            subject: row.subject,
            sans: row.sans,
        })?;
        Ok(Filed {
            line,
            csr_pem: format!("{}\n", row.csr.trim()),
            subject,
            sans_override: match &row.sans {
                Some(sans) => Some(serde_json::to_string(sans).map_err(|_| "error.invalid_sans")?),
                None => None,
            },
            subject_override: row.subject,
            profile: row.profile,
        })
    }

    /// The batch `uid` if this client filed it (a batch of an officer or
    /// of another client is not found, even in the client's scope).
    pub async fn api_batch(&self, p: &ApiPrincipal, uid: &str) -> Result<BatchRecord, RaError> {
        self.filed_before(p, uid)
            .await?
            .ok_or(RaError::NotFound { what: "batch" })
    }

    /// The batch `uid`, if this client filed it.
    async fn filed_before(
        &self,
        p: &ApiPrincipal,
        uid: &str,
    ) -> Result<Option<BatchRecord>, RaError> {
        match self.scoped_batch(&p.caller, uid).await {
            Ok(batch) => Ok((batch.api_client_id == Some(p.client.id)).then_some(batch)),
            Err(RaError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The result ZIP of batch `uid` (in the client's scope), once its job
    /// is done; a running batch is a conflict.
    pub async fn api_batch_result(&self, p: &ApiPrincipal, uid: &str) -> Result<Vec<u8>, RaError> {
        let batch = self.api_batch(p, uid).await?;
        if batch.status != "done" {
            return Err(RaError::Conflict {
                key: "error.batch_not_done",
            });
        }
        let zip = self.batch_result_zip(&p.caller, uid).await?;
        self.audit
            .record_or_log(
                &AuditEvent::by(&p.caller, "batch.download")
                    .target(format!("batch:{uid}"))
                    .detail("issued", batch.issued)
                    .detail("failed", batch.failed),
            )
            .await;
        Ok(zip)
    }
}

//! Batch issuance: an officer uploads a file of requests (JSON lines, one
//! `{"profile": ..., "csr": ...}` per line, or a ZIP of a CSV manifest and
//! CSR files, see [`super::batch_files`]). Every row is validated before
//! anything is stored; with errors nothing is filed and each bad row is
//! named, unless the officer chose to issue the valid rows only. Distinct
//! officers other than the filer approve the batch, as many as the
//! strictest profile in it demands; a background job then has the CA
//! issue the rows in chunks (each row keeps its own CA request id
//! `ra:<uid>`, so a job resumed after a restart never issues twice). The
//! result downloads as a ZIP of certificates with their chains and a CSV
//! report.

use std::sync::Arc;

use rand::RngExt as _;
use serde::Deserialize;
use signet_core::csr::VerifiedCsr;
use signet_store::ra::{BatchRecord, NewRequest};

use super::RegistrationAuthority;
use super::batch_files::{self, BatchUpload, Row, ZipLimits};
use super::batch_signature::BatchSigner;
use crate::audit::{AuditEvent, Outcome};
use crate::error::RaError;
use crate::roles::{Caller, Permission};

/// Rows read at a time while the result ZIP is built.
const ZIP_PAGE: usize = 1000;

/// One row of a batch file, whatever its format.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BatchLine {
    pub(crate) profile: String,
    pub(crate) csr: String,
    /// Subject replacing the CSR's, RFC 4514 (vetted identity data).
    #[serde(default)]
    pub(crate) subject: Option<String>,
    /// SANs replacing the CSR's: `DNS:x`, `IP:x`, `email:x`, `URI:x`.
    #[serde(default)]
    pub(crate) sans: Option<Vec<String>>,
}

/// Why a row was refused: its line and the translation key.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// Line number in the file, from 1.
    pub line: usize,
    /// Translation key of the reason.
    pub key: &'static str,
}

/// What filing a batch did.
#[derive(Debug)]
pub enum BatchFiling {
    /// Stored, waiting for approval; the rows skipped (with "issue valid
    /// rows") are listed.
    Filed {
        /// The batch.
        batch: BatchRecord,
        /// Rows left out.
        skipped: Vec<RowError>,
    },
    /// Nothing stored: these rows are wrong.
    Refused {
        /// Every bad row.
        errors: Vec<RowError>,
        /// Rows in the file.
        total: usize,
    },
    /// Nothing stored: the same file with the same signer's signature was
    /// filed before (a replayed upload), as this batch.
    AlreadyFiled {
        /// The uid of the batch it was filed as.
        batch: String,
    },
}

struct ValidRow {
    line: usize,
    profile: String,
    csr_pem: String,
    subject: String,
    approvals: u32,
    subject_override: Option<String>,
    sans_override: Option<String>,
}

impl RegistrationAuthority {
    /// Audits a batch file refused for its bad rows (the first 20 lines
    /// named) and says so; nothing was filed.
    pub(super) async fn refuse_batch(
        &self,
        caller: &Caller,
        errors: Vec<RowError>,
        total: usize,
    ) -> BatchFiling {
        self.audit
            .record_or_log(
                &AuditEvent::by(caller, "batch.file")
                    .outcome(Outcome::Denied)
                    .detail("rows", total)
                    .detail("bad_rows", errors.len())
                    .detail(
                        "first_bad_lines",
                        errors.iter().take(20).map(|e| e.line).collect::<Vec<_>>(),
                    ),
            )
            .await;
        BatchFiling::Refused { errors, total }
    }

    pub(super) fn validate_line(
        &self,
        row: BatchLine,
    ) -> Result<(BatchLine, String, u32), &'static str> {
        let approvals = self
            .settings
            .profile(&row.profile)
            .map(|p| p.approvals)
            .ok_or("error.invalid_profile")?;
        let csr = VerifiedCsr::parse(
            row.csr.trim().as_bytes(),
            signet_core::csr::DEFAULT_MAX_CSR_BYTES,
        )
        .map_err(|_| "error.invalid_csr")?;
        if let Some(subject) = &row.subject
            && signet_core::names::parse_name(subject).is_err()
        {
            return Err("error.invalid_subject");
        }
        if let Some(sans) = &row.sans
            && (sans.is_empty()
                || sans
                    .iter()
                    .any(|s| signet_core::names::parse_general_name(s).is_err()))
        {
            return Err("error.invalid_sans");
        }
        let subject = row
            .subject
            .clone()
            .unwrap_or_else(|| csr.subject().to_string());
        Ok((row, subject, approvals))
    }

    /// Validates every row of the JSON-lines `file` and files the batch
    /// for unit `org_unit_id` (see the module documentation).
    pub async fn file_batch(
        &self,
        caller: &Caller,
        org_unit_id: i64,
        file: &str,
        issue_valid_rows: bool,
    ) -> Result<BatchFiling, RaError> {
        self.file_batch_upload(
            caller,
            org_unit_id,
            BatchUpload::JsonLines(file.to_owned()),
            issue_valid_rows,
        )
        .await
    }

    /// Validates every row of `upload`, in any format, and files the
    /// batch for unit `org_unit_id` (see the module documentation).
    pub async fn file_batch_upload(
        &self,
        caller: &Caller,
        org_unit_id: i64,
        upload: BatchUpload,
        issue_valid_rows: bool,
    ) -> Result<BatchFiling, RaError> {
        self.file_batch_rows(caller, org_unit_id, upload, None, issue_valid_rows)
            .await
    }

    /// [`Self::file_batch_upload`], recording `signer` (verified by
    /// [`super::batch_signature`]) with the batch and in its audit event.
    pub(crate) async fn file_batch_rows(
        &self,
        caller: &Caller,
        org_unit_id: i64,
        upload: BatchUpload,
        signer: Option<&BatchSigner>,
        issue_valid_rows: bool,
    ) -> Result<BatchFiling, RaError> {
        self.require(caller, Permission::FileRequests, "batch.file")
            .await?;
        // Every console filing passes here, so no path skips these.
        match signer {
            None if self.settings.batch_require_signature => {
                self.audit_refused_signature(caller, "signature_required", None)
                    .await;
                return Err(RaError::Invalid {
                    field: "signature",
                    key: "batch_signature.error_required",
                });
            }
            Some(s) => {
                if let Some(batch) = self.batch_signed_before(caller, s).await? {
                    return Ok(BatchFiling::AlreadyFiled { batch });
                }
            }
            None => {}
        }
        let unit = self
            .unit_to_file_in(caller, org_unit_id, "batch.file")
            .await?;
        let filer = caller.officer_id.ok_or(RaError::Forbidden {
            action: "batch.file",
        })?;
        let lines: Vec<Row> = match &upload {
            BatchUpload::JsonLines(text) => batch_files::json_rows(text),
            // A ZIP may unpack to no more than a pasted file may hold,
            // and hold the manifest and one CSR per row at most.
            BatchUpload::Zip(data) => batch_files::zip_rows(
                data,
                ZipLimits {
                    max_entries: self.settings.batch_max_rows.saturating_add(1),
                    max_unpacked_bytes: u64::try_from(self.settings.max_upload_bytes)
                        .unwrap_or(u64::MAX),
                },
            )?,
        };
        if lines.is_empty() {
            return Err(RaError::Invalid {
                field: "file",
                key: "error.batch_empty",
            });
        }
        if lines.len() > self.settings.batch_max_rows {
            return Err(RaError::Invalid {
                field: "file",
                key: "error.batch_too_many_rows",
            });
        }
        let total = lines.len();
        let mut valid = Vec::with_capacity(total);
        let mut errors = Vec::new();
        for Row { line, parsed } in lines {
            match parsed.and_then(|row| self.validate_line(row)) {
                Ok((row, subject, approvals)) => valid.push(ValidRow {
                    line,
                    csr_pem: format!("{}\n", row.csr.trim()),
                    subject,
                    approvals,
                    subject_override: row.subject.clone(),
                    sans_override: row
                        .sans
                        .as_ref()
                        .and_then(|s| serde_json::to_string(s).ok()),
                    profile: row.profile,
                }),
                Err(key) => errors.push(RowError { line, key }),
            }
        }
        if (!errors.is_empty() && !issue_valid_rows) || valid.is_empty() {
            return Ok(self.refuse_batch(caller, errors, total).await);
        }
        let approvals = valid.iter().map(|r| r.approvals).max().unwrap_or(1);
        let uid = format!("{:032x}", rand::rng().random::<u128>());
        let now = self.clock.now();
        let count = i64::try_from(valid.len()).unwrap_or(i64::MAX);
        let mut tx = self.store.begin().await?;
        let batch_id = tx
            .create_batch(&uid, unit.id, filer, i64::from(approvals), count, now)
            .await?;
        for row in &valid {
            tx.create_request(&NewRequest {
                uid: format!("{:032x}", rand::rng().random::<u128>()),
                org_unit_id: unit.id,
                profile: row.profile.clone(),
                csr_pem: row.csr_pem.clone(),
                subject: row.subject.clone(),
                approvals_required: i64::from(approvals),
                status: "pending",
                filed_by: Some(filer),
                api_client_id: None,
                comment: String::new(),
                batch: Some((batch_id, i64::try_from(row.line).unwrap_or(i64::MAX))),
                renewal_of: None,
                subject_override: row.subject_override.clone(),
                sans_override: row.sans_override.clone(),
                now,
            })
            .await?;
        }
        let mut event = AuditEvent::by(caller, "batch.file")
            .target(format!("batch:{uid}"))
            .detail("org_unit", unit.id)
            .detail("rows", total)
            .detail("filed_rows", valid.len())
            .detail(
                "skipped_lines",
                errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            )
            .detail("approvals_required", approvals);
        if let Some(s) = signer {
            // The unique (signer, file) index refuses a replay that raced
            // past the check above.
            if !tx
                .record_batch_signature(
                    batch_id,
                    &s.certificate_sha256,
                    &s.subject,
                    &s.file_sha256,
                    now,
                )
                .await?
            {
                drop(tx);
                return match self.batch_signed_before(caller, s).await? {
                    Some(batch) => Ok(BatchFiling::AlreadyFiled { batch }),
                    None => Err(RaError::internal("batch signature not recorded")),
                };
            }
            event = event
                .detail("signer_sha256", s.certificate_sha256.as_str())
                .detail("signer_subject", s.subject.as_str())
                .detail("file_sha256", s.file_sha256.as_str());
        }
        self.audit.append(&mut tx, &event).await?;
        tx.commit().await?;
        let batch = self.scoped_batch(caller, &uid).await?;
        Ok(BatchFiling::Filed {
            batch,
            skipped: errors,
        })
    }

    /// The batch `uid`, if in scope.
    pub async fn scoped_batch(&self, caller: &Caller, uid: &str) -> Result<BatchRecord, RaError> {
        self.require(caller, Permission::ViewRequests, "batch.view")
            .await?;
        self.store
            .batch(uid, caller.scope.prefix())
            .await?
            .ok_or(RaError::NotFound { what: "batch" })
    }

    /// Batches in scope, newest first.
    pub async fn list_batches(&self, caller: &Caller) -> Result<Vec<BatchRecord>, RaError> {
        self.require(caller, Permission::ViewRequests, "batch.list")
            .await?;
        Ok(self.store.batches(caller.scope.prefix(), 100).await?)
    }

    /// Approves (`approve`) or rejects a batch filed by someone else; the
    /// last needed approval starts the job.
    pub async fn decide_batch(
        self: &Arc<Self>,
        caller: &Caller,
        uid: &str,
        approve: bool,
    ) -> Result<BatchRecord, RaError> {
        let action = if approve {
            "batch.approve"
        } else {
            "batch.reject"
        };
        self.require(caller, Permission::DecideRequests, action)
            .await?;
        let batch = self.scoped_batch(caller, uid).await?;
        let target = format!("batch:{uid}");
        if caller.officer_id.is_some() && caller.officer_id == batch.filed_by {
            // Separation of duties: never on one's own batch.
            self.audit
                .record_or_log(
                    &AuditEvent::by(caller, action)
                        .target(target)
                        .outcome(Outcome::Denied)
                        .detail("reason", "own_batch"),
                )
                .await;
            return Err(RaError::Forbidden { action });
        }
        let Some(officer_id) = caller.officer_id else {
            return self.deny(caller, action, &target).await;
        };
        if batch.status != "pending" {
            return Err(RaError::Conflict {
                key: "error.request_not_pending",
            });
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let decision = if approve { "approve" } else { "reject" };
        if !tx
            .add_batch_decision(batch.id, officer_id, decision, now)
            .await?
        {
            return Err(RaError::Conflict {
                key: "error.already_decided",
            });
        }
        let approvals = tx.count_batch_approvals(batch.id).await?;
        let next = if !approve {
            Some("rejected")
        } else if approvals >= batch.approvals_required {
            Some("running")
        } else {
            None
        };
        if let Some(next) = next
            && !tx.set_batch_status(batch.id, "pending", next, now).await?
        {
            return Err(RaError::Conflict {
                key: "error.request_not_pending",
            });
        }
        let mut event = AuditEvent::by(caller, action)
            .target(target)
            .detail("approvals", approvals)
            .detail("approvals_required", batch.approvals_required);
        if let Some(next) = next {
            event = event.detail("status", next);
        }
        self.audit.append(&mut tx, &event).await?;
        tx.commit().await?;
        if next == Some("running") {
            self.spawn_batch_job(batch.id);
        }
        self.scoped_batch(caller, uid).await
    }

    /// Runs the job of batch `batch_id` in the background, unless one
    /// runs for it in this RA already.
    pub(crate) fn spawn_batch_job(self: &Arc<Self>, batch_id: i64) {
        let Some(claim) = self.batch_jobs.claim(batch_id) else {
            return;
        };
        let ra = Arc::clone(self);
        tokio::spawn(async move {
            let _claim = claim;
            if let Err(error) = ra.run_leased_batch(batch_id).await {
                tracing::error!(
                    %error,
                    batch_id,
                    "batch job stopped; the batch sweep starts it again"
                );
            }
        });
    }

    /// Starts a job for every running batch without one: at start-up the
    /// batches that were running when the RA stopped, then every
    /// `batch.job_sweep_interval` those whose job stopped on an error or
    /// never started (a client gone between the filing's commit and the
    /// job's start). The sweep ends with the RA.
    pub(crate) async fn resume_batches(self: &Arc<Self>) -> Result<(), RaError> {
        self.start_missing_batch_jobs().await?;
        let ra = Arc::downgrade(self);
        let interval = self.settings.batch_job_sweep_interval;
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(ra) = ra.upgrade() else {
                    return;
                };
                if let Err(error) = ra.start_missing_batch_jobs().await {
                    tracing::warn!(%error, "cannot sweep the running batches");
                }
            }
        });
        Ok(())
    }

    async fn start_missing_batch_jobs(self: &Arc<Self>) -> Result<(), RaError> {
        for batch in self.store.running_batches().await? {
            self.spawn_batch_job(batch.id);
        }
        Ok(())
    }

    /// The result bundle: `certificates/<line>-<serial>.pem` (certificate
    /// and chain) for every issued row, and `report.csv` for every row.
    pub async fn batch_result_zip(&self, caller: &Caller, uid: &str) -> Result<Vec<u8>, RaError> {
        let batch = self.scoped_batch(caller, uid).await?;
        let mut zip = crate::zip::ZipWriter::default();
        let mut report = String::from("line,status,serial,subject,error\n");
        // A page of rows at a time: a 100,000-row batch is never in
        // memory twice (rows and ZIP).
        let mut after = 0i64;
        loop {
            let rows = self
                .store
                .batch_requests_page(batch.id, after, ZIP_PAGE)
                .await?;
            let Some(last) = rows.last() else {
                break;
            };
            after = last.batch_row.unwrap_or(i64::MAX);
            for r in &rows {
                let line = r.batch_row.unwrap_or_default();
                let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
                report.push_str(&format!(
                    "{line},{},{},{},{}\n",
                    r.status,
                    r.serial.as_deref().unwrap_or_default(),
                    quote(&r.subject),
                    quote(r.failure.as_deref().unwrap_or_default())
                ));
                if let (Some(serial), Some(cert)) = (&r.serial, &r.certificate_pem) {
                    let pem = format!("{cert}{}", r.chain_pem.as_deref().unwrap_or_default());
                    zip.add(
                        &format!("certificates/{line:05}-{serial}.pem"),
                        pem.as_bytes(),
                    )?;
                }
            }
        }
        zip.add("report.csv", report.as_bytes())?;
        zip.finish()
    }
}

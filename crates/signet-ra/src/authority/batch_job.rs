//! The background job of a running batch (officers' batches after their
//! last approval, API clients' batches at once): it has the CA issue the
//! approved rows, a chunk (`batch.chunk_size` rows) per CA batch call.
//!
//! The job keeps [`CHUNKS_IN_FLIGHT`] chunks at the CA and sends the next
//! chunk as soon as one answers (the CA never waits for the slowest chunk
//! of a group). It reads rows [`CHUNKS_PER_WINDOW`] chunks at a time, in
//! file order, through the `(batch_id, batch_row)` index, from the row
//! after the last one read: no rescanning of finished rows. A recorder
//! takes the answers as they come, whatever is ready (up to
//! [`CHUNKS_PER_WINDOW`] chunks), and records them in one transaction
//! while the CA goes on issuing: the issued rows
//! with multi-row UPDATEs (each row's SANs read from its certificate for
//! the "SAN contains" search), their issuer chain stored once
//! (`issuer_chains`), not in every row; the batch's issued and failed
//! counts in the same transaction (so the progress bar is exact); one
//! audit event for what was issued and refused.
//!
//! Each row keeps its own CA request id `ra:<uid>`, and only `approved`
//! rows are sent: a job resumed after a restart never issues twice. A
//! chunk the CA cannot take now (no answer, 5xx, 408, 429) is sent again
//! after a pause that doubles from [`RETRY_FIRST_PAUSE`] to
//! [`RETRY_MAX_PAUSE`], at most [`CHUNK_ATTEMPTS`] times; a chunk it
//! refuses as a whole (another 4xx) fails its rows with the CA's reason,
//! except 401, 403 and 413, which say the RA's link or settings are wrong,
//! not the rows: they stop the job. A row the CA could not issue *now*
//! ([`TEMPORARY_ROW_ERRORS`]: the CA may still sign it when it reconciles
//! its journal) stays `approved` with the CA's words as its failure text,
//! as does every row of a chunk answered with fewer results than rows.
//! When a pass has sent every row, the job starts another pass over the
//! rows still `approved` (after a pause, doubling the same way), and
//! marks the batch done only when none is left; after [`MAX_PASSES`] it
//! stops with an error and the batch stays `running`, for the sweep of
//! [`super::batches`] to start again.
//!
//! A job runs only while its RA instance holds the batch's lease
//! ([`JOB_LEASE`], renewed every [`JOB_LEASE_RENEWAL`]): several RA
//! instances on one database never run two jobs on one batch, and a
//! crashed instance's batches are taken over once its leases run out.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use signet_api::ca::{BatchIssueRequest, BatchIssueResponse, BatchItem, CaClient, IssueRequest};
use signet_store::ra::{IssuedRecord, RequestRecord};

use super::RegistrationAuthority;
use crate::audit::AuditEvent;
use crate::error::RaError;
use crate::roles::Caller;

/// First pause before a chunk (or a pass) is sent again after the CA
/// could not take it; each further pause doubles, up to
/// [`RETRY_MAX_PAUSE`].
const RETRY_FIRST_PAUSE: Duration = Duration::from_secs(5);

/// Longest pause between two attempts.
const RETRY_MAX_PAUSE: Duration = Duration::from_secs(300);

/// Calls for one chunk before its rows are left `approved` for the next
/// pass (5 s + 10 s + ... + 300 s: about 15 minutes of a CA down).
const CHUNK_ATTEMPTS: u32 = 8;

/// Passes over the rows still `approved` before the job stops and leaves
/// the batch `running` for the sweep.
const MAX_PASSES: u32 = 6;

/// Per-row error codes of the CA (signet-ca's `http/errors.rs`) that say
/// "not now" rather than "never": after `database_unavailable` or
/// `signing_unavailable` the CA's journal may hold the row and sign it at
/// its next start; `in_progress` is the same request id still running in
/// an earlier call. The row stays `approved` and is sent again under the
/// same request id, so the CA answers with what it signed.
const TEMPORARY_ROW_ERRORS: [&str; 6] = [
    "in_progress",
    "signing_unavailable",
    "token_unavailable",
    "database_unavailable",
    "kmc_unavailable",
    "internal",
];

/// CA batch calls one job keeps in flight. The CA groups the journal
/// writes of concurrent calls, so more calls in flight issue faster, up
/// to the CA's own limits (docs/benchmarks.md).
const CHUNKS_IN_FLIGHT: usize = 32;

/// Most answered chunks recorded in one transaction (one commit, one
/// audit event; fewer when no more answers are ready); also the chunks
/// read from the database at a time.
const CHUNKS_PER_WINDOW: usize = 8;

/// How long an RA instance's claim on a batch's job (its lease, columns
/// `job_owner` and `job_lease_until`) holds without renewal: after a
/// crash, another instance (or the restarted one) takes the batch over
/// this long after the last renewal.
const JOB_LEASE: Duration = Duration::from_secs(120);

/// How often a running job renews its lease.
const JOB_LEASE_RENEWAL: Duration = Duration::from_secs(30);

/// The batches whose job runs in this RA: [`super::batches`]'s sweep and
/// resumption start a job only for a batch not in the set, so one RA
/// never runs two jobs on one batch; and this RA instance's name in the
/// batches' leases, so that two instances on one database never do
/// either.
#[derive(Clone, Debug)]
pub(crate) struct LiveBatchJobs {
    live: Arc<Mutex<HashSet<i64>>>,
    owner: Arc<str>,
}

impl Default for LiveBatchJobs {
    fn default() -> Self {
        use rand::RngExt as _;
        LiveBatchJobs {
            live: Arc::default(),
            owner: format!("{:032x}", rand::rng().random::<u128>()).into(),
        }
    }
}

impl LiveBatchJobs {
    /// Claims `batch_id` for a new job; `None` if a job runs for it. The
    /// claim ends when the returned guard is dropped (the job ended,
    /// however).
    pub(crate) fn claim(&self, batch_id: i64) -> Option<LiveBatchJob> {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.insert(batch_id).then(|| LiveBatchJob {
            jobs: self.clone(),
            batch_id,
        })
    }
}

/// A claim of [`LiveBatchJobs`]: the job of one batch runs.
pub(crate) struct LiveBatchJob {
    jobs: LiveBatchJobs,
    batch_id: i64,
}

impl Drop for LiveBatchJob {
    fn drop(&mut self) {
        let mut live = self.jobs.live.lock().unwrap_or_else(|e| e.into_inner());
        live.remove(&self.batch_id);
    }
}

/// A chunk of rows and what the CA answered for it.
struct AnsweredChunk {
    rows: Vec<RequestRecord>,
    answer: ChunkAnswer,
}

/// What the CA answered for one chunk.
enum ChunkAnswer {
    /// Issued or refused row by row (one result per row, in row order).
    Items(BatchIssueResponse),
    /// Refused as a whole: every row fails with this reason.
    Refused(String),
    /// Not taken now: every row stays `approved` with this text.
    Later(String),
    /// The call itself is refused (401, 403, 413): the job stops.
    Stop(RaError),
}

/// The pause after `attempt` failed attempts (from 1): doubling from
/// [`RETRY_FIRST_PAUSE`], at most [`RETRY_MAX_PAUSE`].
pub(super) fn retry_pause(attempt: u32) -> Duration {
    RETRY_FIRST_PAUSE
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(RETRY_MAX_PAUSE)
}

/// Sends one chunk until the CA gives a final answer, or until
/// [`CHUNK_ATTEMPTS`] calls found it unable to take the chunk.
async fn issue_chunk(ca: CaClient, request: BatchIssueRequest, batch_id: i64) -> ChunkAnswer {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let reason = match ca.issue_batch(&request).await {
            Ok(answer) if answer.results.len() == request.requests.len() => {
                return ChunkAnswer::Items(answer);
            }
            Ok(answer) => format!(
                "the CA answered {} results for {} rows",
                answer.results.len(),
                request.requests.len()
            ),
            Err(signet_api::ClientError::Api {
                status: status @ (401 | 403 | 413),
                code,
                message,
            }) => {
                return ChunkAnswer::Stop(RaError::CaRefused {
                    code,
                    message: format!("the CA refused the batch call ({status}): {message}"),
                });
            }
            Err(signet_api::ClientError::Api {
                status, message, ..
            }) if (400..500).contains(&status) && status != 408 && status != 429 => {
                return ChunkAnswer::Refused(message);
            }
            Err(e) => e.to_string(),
        };
        if attempt >= CHUNK_ATTEMPTS {
            return ChunkAnswer::Later(reason);
        }
        let pause = retry_pause(attempt);
        tracing::warn!(
            reason = %reason,
            batch_id,
            attempt,
            pause_seconds = pause.as_secs(),
            "the CA could not take a batch chunk; it is sent again"
        );
        tokio::time::sleep(pause).await;
    }
}

fn chunk_request(rows: &[RequestRecord]) -> BatchIssueRequest {
    BatchIssueRequest {
        requests: rows
            .iter()
            .map(|r| IssueRequest {
                request_id: format!("ra:{}", r.uid),
                profile: r.profile.clone(),
                csr: r.csr_pem.clone(),
                issuer: None,
                subject: r.subject_override.clone(),
                sans: super::certificates::sans_of(r),
                validity_days: None,
            })
            .collect(),
    }
}

fn not_after(text: &str) -> signet_core::Timestamp {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_or(signet_core::Timestamp::EPOCH, |t| {
            signet_core::Timestamp::from_unix(t.unix_timestamp())
        })
}

impl RegistrationAuthority {
    /// Runs the job of batch `batch_id` while this RA instance holds the
    /// batch's lease, renewing it; does nothing if another instance holds
    /// it. The lease is released when the job ends, however.
    pub(super) async fn run_leased_batch(&self, batch_id: i64) -> Result<(), RaError> {
        if !self.claim_batch_lease(batch_id).await? {
            tracing::debug!(batch_id, "another RA instance runs this batch's job");
            return Ok(());
        }
        let result = tokio::select! {
            r = self.run_batch(batch_id) => r,
            r = self.keep_batch_lease(batch_id) => r,
        };
        let owner = &self.batch_jobs.owner;
        if let Err(error) = self.store.release_batch_job(batch_id, owner).await {
            tracing::warn!(%error, batch_id, "cannot release the batch job's lease");
        }
        result
    }

    async fn claim_batch_lease(&self, batch_id: i64) -> Result<bool, RaError> {
        let now = self.clock.now();
        Ok(self
            .store
            .claim_batch_job(batch_id, &self.batch_jobs.owner, now, now.plus(JOB_LEASE))
            .await?)
    }

    /// Renews the lease every [`JOB_LEASE_RENEWAL`]; ends with an error
    /// (which stops the job) only if another instance took it over.
    async fn keep_batch_lease(&self, batch_id: i64) -> Result<(), RaError> {
        loop {
            tokio::time::sleep(JOB_LEASE_RENEWAL).await;
            match self.claim_batch_lease(batch_id).await {
                Ok(true) => {}
                Ok(false) => {
                    return Err(RaError::internal(
                        "the batch's job lease ran out and another RA instance took it over",
                    ));
                }
                // The lease holds a while yet: the next renewal may work.
                Err(error) => {
                    tracing::warn!(%error, batch_id, "cannot renew the batch job's lease");
                }
            }
        }
    }

    /// Issues every approved row of the batch (see the module
    /// documentation), pass after pass until none is left, then marks the
    /// batch done.
    pub(super) async fn run_batch(&self, batch_id: i64) -> Result<(), RaError> {
        let Some(ca) = self.ca.as_ref() else {
            return Err(RaError::CaUnavailable {
                reason: "no CA configured".into(),
            });
        };
        let chunk_size = self.settings.batch_chunk_size.max(1);
        let mut pass = 1;
        loop {
            self.issue_pass(ca, batch_id, chunk_size).await?;
            let left = self
                .store
                .batch_requests_after(batch_id, "approved", 0, 1)
                .await?;
            if left.is_empty() {
                break;
            }
            if pass >= MAX_PASSES {
                return Err(RaError::CaUnavailable {
                    reason: format!(
                        "rows still approved after {MAX_PASSES} passes (the CA could not \
                         issue them yet)"
                    ),
                });
            }
            let pause = retry_pause(pass);
            tracing::warn!(
                batch_id,
                pass,
                pause_seconds = pause.as_secs(),
                "rows the CA could not issue yet; they are sent again"
            );
            tokio::time::sleep(pause).await;
            pass += 1;
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        tx.refresh_batch_progress(batch_id, now).await?;
        if tx
            .set_batch_status(batch_id, "running", "done", now)
            .await?
        {
            self.audit
                .append(
                    &mut tx,
                    &AuditEvent::by(&Caller::system(), "batch.done")
                        .target(format!("batch_id:{batch_id}")),
                )
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One pass over the batch's approved rows: the issuer sends them to
    /// the CA while the recorder records the answers. The recorder owns
    /// its end of the channel, so when it fails the channel closes and the
    /// issuer stops too (the rows still at the CA stay `approved`).
    async fn issue_pass(
        &self,
        ca: &CaClient,
        batch_id: i64,
        chunk_size: usize,
    ) -> Result<(), RaError> {
        // Answered chunks go to the recorder; room for two windows, so
        // the issuer never waits while a window is being recorded.
        let (answered, mut to_record) =
            tokio::sync::mpsc::channel::<AnsweredChunk>(2 * CHUNKS_PER_WINDOW);
        let issue = self.issue_rows(ca, batch_id, chunk_size, answered);
        let record = async move {
            let mut window = Vec::with_capacity(CHUNKS_PER_WINDOW);
            // Whatever answers are ready, up to a window, as soon as one
            // is: progress shows while the CA is slow.
            while to_record.recv_many(&mut window, CHUNKS_PER_WINDOW).await > 0 {
                if let Err(e) = self
                    .record_window(batch_id, std::mem::take(&mut window))
                    .await
                {
                    to_record.close();
                    return Err(e);
                }
            }
            Ok::<(), RaError>(())
        };
        let (issued, recorded) = tokio::join!(issue, record);
        // A failed recorder closes the channel, which stops the issuer:
        // its error is the one to report.
        recorded?;
        issued
    }

    /// Keeps [`CHUNKS_IN_FLIGHT`] chunks of the batch's approved rows at
    /// the CA until every row has been sent, and hands each answer to
    /// `answered` as it comes (a new chunk is sent at once, so the CA
    /// never waits for the slowest chunk of a window). Rows are read a
    /// window at a time, in file order, after the last row read.
    async fn issue_rows(
        &self,
        ca: &CaClient,
        batch_id: i64,
        chunk_size: usize,
        answered: tokio::sync::mpsc::Sender<AnsweredChunk>,
    ) -> Result<(), RaError> {
        let window = chunk_size.saturating_mul(CHUNKS_PER_WINDOW);
        let mut after = 0i64;
        let mut unsent: std::collections::VecDeque<Vec<RequestRecord>> = Default::default();
        let mut exhausted = false;
        let mut in_flight = tokio::task::JoinSet::new();
        loop {
            while in_flight.len() < CHUNKS_IN_FLIGHT {
                if unsent.is_empty() && !exhausted {
                    let rows = self
                        .store
                        .batch_requests_after(batch_id, "approved", after, window)
                        .await?;
                    match rows.last() {
                        Some(row) => after = row.batch_row.unwrap_or(after),
                        None => exhausted = true,
                    }
                    let mut rows = rows.into_iter();
                    while rows.len() > 0 {
                        unsent.push_back(rows.by_ref().take(chunk_size).collect());
                    }
                }
                let Some(rows) = unsent.pop_front() else {
                    break;
                };
                let (ca, request) = (ca.clone(), chunk_request(&rows));
                in_flight.spawn(async move {
                    let answer = issue_chunk(ca, request, batch_id).await;
                    AnsweredChunk { rows, answer }
                });
            }
            let Some(joined) = in_flight.join_next().await else {
                return Ok(());
            };
            let chunk = joined.map_err(|e| RaError::internal(format!("batch chunk: {e}")))?;
            let chunk = match chunk {
                // Dropping `in_flight` aborts the other calls: their rows
                // stay `approved` for the next job.
                AnsweredChunk {
                    answer: ChunkAnswer::Stop(e),
                    ..
                } => return Err(e),
                chunk => chunk,
            };
            if answered.send(chunk).await.is_err() {
                // The recorder stopped (its error is reported); the rows
                // of the chunks still at the CA stay `approved` and are
                // sent again, under the same request ids, on resumption.
                return Ok(());
            }
        }
    }

    /// Records the CA's answers for one window in one transaction: the
    /// issued rows with multi-row UPDATEs (their chain stored once), the
    /// refused ones row by row (rare), the batch's counts, and one audit
    /// event for the window.
    async fn record_window(
        &self,
        batch_id: i64,
        window: Vec<AnsweredChunk>,
    ) -> Result<(), RaError> {
        let now = self.clock.now();
        let rows: usize = window.iter().map(|c| c.rows.len()).sum();
        let mut issued_rows: Vec<(i64, IssuedRecord)> = Vec::with_capacity(rows);
        let mut failed_rows: Vec<(i64, String)> = Vec::new();
        // Rows the CA could not issue now: they stay `approved`.
        let mut later_rows: Vec<(i64, String)> = Vec::new();
        for AnsweredChunk {
            rows: chunk,
            answer,
        } in window
        {
            match answer {
                ChunkAnswer::Refused(message) => {
                    failed_rows.extend(chunk.iter().map(|row| (row.id, message.clone())));
                }
                ChunkAnswer::Later(message) => {
                    later_rows.extend(chunk.iter().map(|row| (row.id, message.clone())));
                }
                // The issuer stops at this answer; it never comes here.
                ChunkAnswer::Stop(_) => {}
                ChunkAnswer::Items(mut answer) => {
                    // Each issuer's chain is joined once per chunk, not
                    // once per row.
                    let chains: Vec<(String, String)> = std::mem::take(&mut answer.chains)
                        .into_iter()
                        .map(|(issuer, pems)| (issuer, pems.concat()))
                        .collect();
                    for (row, item) in chunk.iter().zip(answer.results) {
                        match item {
                            BatchItem::Issued(c) => {
                                let chain_pem = chains
                                    .iter()
                                    .find(|(issuer, _)| *issuer == c.issuer)
                                    .map(|(_, chain)| chain.clone())
                                    .unwrap_or_default();
                                issued_rows.push((
                                    row.id,
                                    IssuedRecord {
                                        sans: super::certificates::certificate_sans(&c.certificate),
                                        not_after: not_after(&c.not_after),
                                        serial: c.serial,
                                        issuer: c.issuer,
                                        certificate_pem: c.certificate,
                                        chain_pem,
                                    },
                                ));
                            }
                            BatchItem::Error(body)
                                if TEMPORARY_ROW_ERRORS.contains(&body.error.as_str()) =>
                            {
                                later_rows.push((row.id, body.message));
                            }
                            BatchItem::Error(body) => failed_rows.push((row.id, body.message)),
                        }
                    }
                }
            }
        }
        let mut tx = self.store.begin().await?;
        let issued = tx.record_issued_many(&issued_rows, now).await?;
        let mut failed = 0u64;
        for (id, message) in &failed_rows {
            if tx
                .set_request_status(*id, "approved", "failed", Some(message), now)
                .await?
            {
                failed += 1;
            }
        }
        for (id, message) in &later_rows {
            tx.set_request_status(*id, "approved", "approved", Some(message), now)
                .await?;
        }
        self.audit
            .append(
                &mut tx,
                &AuditEvent::by(&Caller::system(), "batch.issue")
                    .target(format!("batch_id:{batch_id}"))
                    .detail("rows", rows)
                    .detail("issued", issued)
                    .detail("failed", failed)
                    .detail("later", later_rows.len()),
            )
            .await?;
        tx.add_batch_progress(
            batch_id,
            i64::try_from(issued).unwrap_or(i64::MAX),
            i64::try_from(failed).unwrap_or(i64::MAX),
            now,
        )
        .await?;
        tx.commit().await?;
        self.metrics.issued.inc_by(issued);
        Ok(())
    }
}

#[cfg(test)]
mod tests;

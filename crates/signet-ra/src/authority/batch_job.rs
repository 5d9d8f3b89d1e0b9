//! The background job of a running batch (officers' batches after their
//! last approval, API clients' batches at once): it has the CA issue the
//! approved rows, a chunk (`batch.chunk_size` rows) per CA batch call.
//!
//! The job keeps [`CHUNKS_IN_FLIGHT`] chunks at the CA and sends the next
//! chunk as soon as one answers (the CA never waits for the slowest chunk
//! of a group). It reads rows [`CHUNKS_PER_WINDOW`] chunks at a time, in
//! file order, through the `(batch_id, batch_row)` index, from the row
//! after the last one read: no rescanning of finished rows. A recorder
//! takes the answers [`CHUNKS_PER_WINDOW`] chunks at a time and records
//! them in one transaction while the CA goes on issuing: the issued rows
//! with multi-row UPDATEs, their issuer chain stored once
//! (`issuer_chains`), not in every row; the batch's issued and failed
//! counts in the same transaction (so the progress bar is exact); one
//! audit event for what was issued and refused.
//!
//! Each row keeps its own CA request id `ra:<uid>`, and only `approved`
//! rows are sent: a job resumed after a restart never issues twice. A
//! chunk the CA cannot take now (no answer, 5xx, 408, 429) is sent again
//! after [`RETRY_PAUSE`]; a chunk it refuses as a whole (another 4xx)
//! fails its rows with the CA's reason.

use std::time::Duration;

use signet_api::ca::{BatchIssueRequest, BatchIssueResponse, BatchItem, CaClient, IssueRequest};
use signet_store::ra::{IssuedRecord, RequestRecord};

use super::RegistrationAuthority;
use crate::audit::AuditEvent;
use crate::error::RaError;
use crate::roles::Caller;

/// Pause before a chunk is sent again after the CA could not take it.
const RETRY_PAUSE: Duration = Duration::from_secs(5);

/// CA batch calls one job keeps in flight. The CA groups the journal
/// writes of concurrent calls: with 8 calls in flight it issues about 13%
/// slower than with 64 (docs/benchmarks.md).
const CHUNKS_IN_FLIGHT: usize = 32;

/// Answered chunks recorded in one transaction (one commit, one audit
/// event); also the chunks read from the database at a time.
const CHUNKS_PER_WINDOW: usize = 8;

/// A chunk of rows and what the CA answered for it.
struct AnsweredChunk {
    rows: Vec<RequestRecord>,
    answer: ChunkAnswer,
}

/// What the CA answered for one chunk.
enum ChunkAnswer {
    /// Issued or refused row by row.
    Items(BatchIssueResponse),
    /// Refused as a whole: every row fails with this reason.
    Refused(String),
}

/// Sends one chunk until the CA gives a final answer.
async fn issue_chunk(ca: CaClient, request: BatchIssueRequest, batch_id: i64) -> ChunkAnswer {
    loop {
        match ca.issue_batch(&request).await {
            Ok(answer) => return ChunkAnswer::Items(answer),
            Err(signet_api::ClientError::Api {
                status, message, ..
            }) if (400..500).contains(&status) && status != 408 && status != 429 => {
                return ChunkAnswer::Refused(message);
            }
            Err(e) => {
                tracing::warn!(error = %e, batch_id, "CA unavailable; the chunk is sent again");
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
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
    /// Issues every approved row of the batch (see the module
    /// documentation), then marks the batch done.
    pub(super) async fn run_batch(&self, batch_id: i64) -> Result<(), RaError> {
        let Some(ca) = self.ca.as_ref() else {
            return Err(RaError::CaUnavailable {
                reason: "no CA configured".into(),
            });
        };
        let chunk_size = self.settings.batch_chunk_size.max(1);
        // Answered chunks go to the recorder; room for two windows, so
        // the issuer never waits while a window is being recorded.
        let (answered, mut to_record) =
            tokio::sync::mpsc::channel::<AnsweredChunk>(2 * CHUNKS_PER_WINDOW);
        let issue = self.issue_rows(ca, batch_id, chunk_size, answered);
        let record = async {
            let mut window = Vec::with_capacity(CHUNKS_PER_WINDOW);
            loop {
                let room = CHUNKS_PER_WINDOW - window.len();
                let open = to_record.recv_many(&mut window, room).await > 0;
                // A window is full, or the issuer has finished.
                if window.len() >= CHUNKS_PER_WINDOW || (!open && !window.is_empty()) {
                    self.record_window(batch_id, std::mem::take(&mut window))
                        .await?;
                }
                if !open {
                    return Ok::<(), RaError>(());
                }
            }
        };
        let (issued, recorded) = tokio::join!(issue, record);
        // A failed recorder closes the channel, which stops the issuer:
        // its error is the one to report.
        recorded?;
        issued?;
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
        for AnsweredChunk {
            rows: chunk,
            answer,
        } in window
        {
            match answer {
                ChunkAnswer::Refused(message) => {
                    failed_rows.extend(chunk.iter().map(|row| (row.id, message.clone())));
                }
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
                                        not_after: not_after(&c.not_after),
                                        serial: c.serial,
                                        issuer: c.issuer,
                                        certificate_pem: c.certificate,
                                        chain_pem,
                                    },
                                ));
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
        self.audit
            .append(
                &mut tx,
                &AuditEvent::by(&Caller::system(), "batch.issue")
                    .target(format!("batch_id:{batch_id}"))
                    .detail("rows", rows)
                    .detail("issued", issued)
                    .detail("failed", failed),
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

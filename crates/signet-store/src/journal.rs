//! The issuance journal: group commit for the two writes every certificate
//! needs (the pending row before signing, the certificate after).
//!
//! Each write must be durable before the caller goes on (the pending row
//! before the token signs, the certificate before it is returned). One
//! commit per certificate would cap issuance at the disk's fsync rate, so
//! a single writer task gathers whatever writes are waiting, applies them
//! in one transaction and answers each caller after the commit. Under load
//! hundreds of certificates share one fsync; alone, a write commits at once.

use signet_core::{Serial, Timestamp};
use tokio::sync::{mpsc, oneshot};

use crate::ca::{CaStore, NewPending, PendingOutcome};
use crate::database::{Database, Pools};
use crate::error::{Context, StoreError};

enum Op {
    Pending(
        Box<NewPending>,
        oneshot::Sender<Result<PendingOutcome, StoreError>>,
    ),
    Issued {
        issuer_id: i64,
        serial: Serial,
        der: Vec<u8>,
        now: Timestamp,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
}

/// Handle to the journal's writer task. Cheap to clone.
#[derive(Clone, Debug)]
pub struct IssuanceJournal {
    tx: mpsc::Sender<Op>,
}

impl IssuanceJournal {
    /// Starts the writer task. `max_batch` bounds the writes per commit.
    pub fn start(store: &CaStore, max_batch: usize) -> Self {
        let (tx, rx) = mpsc::channel(max_batch.max(1) * 4);
        tokio::spawn(writer(store.db.clone(), rx, max_batch.max(1)));
        IssuanceJournal { tx }
    }

    /// Durably records a pending row.
    pub async fn record_pending(&self, row: NewPending) -> Result<PendingOutcome, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Op::Pending(Box::new(row), reply))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Durably stores the signed certificate for a pending row.
    pub async fn record_issued(
        &self,
        issuer_id: i64,
        serial: Serial,
        der: Vec<u8>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Op::Issued {
                issuer_id,
                serial,
                der,
                now,
                reply,
            })
            .await
            .map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }
}

async fn writer(db: Database, mut rx: mpsc::Receiver<Op>, max_batch: usize) {
    let mut batch = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut batch, max_batch).await > 0 {
        match apply(&db, &batch).await {
            Ok(results) => {
                for (op, result) in batch.drain(..).zip(results) {
                    answer(op, result);
                }
            }
            Err(e) => {
                // A failed batch is retried one write per transaction so a
                // single bad write cannot fail its neighbours.
                tracing::warn!(error = %e, size = batch.len(), "issuance batch failed; retrying singly");
                for op in batch.drain(..) {
                    let result = match apply(&db, std::slice::from_ref(&op)).await {
                        Ok(mut r) => r.pop().unwrap_or(Err(StoreError::WriterGone)),
                        Err(e) => Err(e),
                    };
                    answer(op, result);
                }
            }
        }
    }
}

/// What one write produced, before it is sent back.
type OpResult = Result<Option<PendingOutcome>, StoreError>;

fn answer(op: Op, result: OpResult) {
    match op {
        Op::Pending(_, reply) => {
            let _ = reply.send(result.and_then(|o| o.ok_or(StoreError::WriterGone)));
        }
        Op::Issued { reply, .. } => {
            let _ = reply.send(result.map(|_| ()));
        }
    }
}

/// Rows per multi-row statement (11 parameters each: SQLite allows 32766).
const ROWS_PER_STATEMENT: usize = 256;

const REQUEST_EXISTS: &str = "SELECT COUNT(*) FROM certificates WHERE request_id = $1";

/// Runs every write of the batch in one transaction, with one multi-row
/// statement per kind of write (per 256 rows): a statement is a round trip
/// to the driver's thread, so per-row statements would cost more than the
/// rows.
async fn apply(db: &Database, batch: &[Op]) -> Result<Vec<OpResult>, StoreError> {
    let pendings: Vec<(usize, &NewPending)> = batch
        .iter()
        .enumerate()
        .filter_map(|(i, op)| match op {
            Op::Pending(row, _) => Some((i, row.as_ref())),
            Op::Issued { .. } => None,
        })
        .collect();
    let issued: Vec<(usize, i64, String, &[u8], i64)> = batch
        .iter()
        .enumerate()
        .filter_map(|(i, op)| match op {
            Op::Issued {
                issuer_id,
                serial,
                der,
                now,
                ..
            } => Some((i, *issuer_id, serial.to_hex(), der.as_slice(), now.unix())),
            Op::Pending(..) => None,
        })
        .collect();
    let mut results: Vec<Option<OpResult>> = (0..batch.len()).map(|_| None).collect();

    macro_rules! run {
        ($pool:expr) => {{
            let mut tx = $pool.begin().await.during("begin issuance batch")?;
            for chunk in pendings.chunks(ROWS_PER_STATEMENT) {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO certificates (issuer_id, serial, status, request_id, request_hash, \
                     profile, subject, sans, not_before, not_after, tbs, created_at, updated_at) ",
                );
                q.push_values(chunk, |mut b, (_, row)| {
                    b.push_bind(row.issuer_id)
                        .push_bind(row.serial.to_hex())
                        .push("'pending'")
                        .push_bind(row.request_id.as_str())
                        .push_bind(row.request_hash.as_slice())
                        .push_bind(row.profile.as_str())
                        .push_bind(row.subject.as_str())
                        .push_bind(row.sans.join("\n"))
                        .push_bind(row.not_before.unix())
                        .push_bind(row.not_after.unix())
                        .push_bind(row.tbs.as_slice())
                        .push_bind(row.now.unix())
                        .push_bind(row.now.unix());
                });
                q.push(" ON CONFLICT DO NOTHING RETURNING issuer_id, serial");
                let inserted: std::collections::HashSet<(i64, String)> = q
                    .build_query_as::<(i64, String)>()
                    .fetch_all(&mut *tx)
                    .await
                    .during("record pending")?
                    .into_iter()
                    .collect();
                for (i, row) in chunk {
                    let hex = row.serial.to_hex();
                    let outcome = if inserted.contains(&(row.issuer_id, hex)) {
                        PendingOutcome::Recorded
                    } else {
                        // Rare: tell a repeated request id from a serial collision.
                        let n: i64 = sqlx::query_scalar(REQUEST_EXISTS)
                            .bind(row.request_id.as_str())
                            .fetch_one(&mut *tx)
                            .await
                            .during("check request id")?;
                        if n > 0 {
                            PendingOutcome::RequestExists
                        } else {
                            PendingOutcome::SerialTaken
                        }
                    };
                    if let Some(slot) = results.get_mut(*i) {
                        *slot = Some(Ok(Some(outcome)));
                    }
                }
            }
            for chunk in issued.chunks(ROWS_PER_STATEMENT) {
                // The certificate contains the TBS: keep the bytes once.
                let mut q = sqlx::QueryBuilder::new("UPDATE certificates SET status = 'good', tbs = ");
                q.push_bind(Vec::<u8>::new());
                q.push(", der = v.column3, updated_at = v.column4 FROM (");
                q.push_values(chunk, |mut b, (_, issuer_id, serial, der, now)| {
                    b.push_bind(*issuer_id)
                        .push_bind(serial.as_str())
                        .push_bind(*der)
                        .push_bind(*now);
                });
                q.push(
                    ") AS v WHERE certificates.issuer_id = v.column1 AND certificates.serial = v.column2 \
                     AND certificates.status = 'pending' RETURNING certificates.issuer_id, certificates.serial",
                );
                let updated: std::collections::HashSet<(i64, String)> = q
                    .build_query_as::<(i64, String)>()
                    .fetch_all(&mut *tx)
                    .await
                    .during("record issued")?
                    .into_iter()
                    .collect();
                for (i, issuer_id, serial, _, _) in chunk {
                    let done = updated.contains(&(*issuer_id, serial.clone()));
                    if let Some(slot) = results.get_mut(*i) {
                        *slot = Some(if done {
                            Ok(None)
                        } else {
                            Err(StoreError::Corrupt {
                                what: "pending row for the issued certificate",
                            })
                        });
                    }
                }
            }
            tx.commit().await.during("commit issuance batch")?;
        }};
    }
    match &*db.pools {
        Pools::Sqlite { writer, .. } => run!(writer),
        Pools::Postgres(pool) => run!(pool),
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or(Err(StoreError::WriterGone)))
        .collect())
}

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

const INSERT_PENDING: &str = "INSERT INTO certificates (issuer_id, serial, status, request_id, \
    request_hash, profile, subject, sans, not_before, not_after, tbs, created_at, updated_at) \
    VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) ON CONFLICT DO NOTHING";
const REQUEST_EXISTS: &str = "SELECT COUNT(*) FROM certificates WHERE request_id = $1";
const COMPLETE: &str = "UPDATE certificates SET status = 'good', der = $3, updated_at = $4 \
    WHERE issuer_id = $1 AND serial = $2 AND status = 'pending'";

/// Runs every write of the batch in one transaction.
async fn apply(db: &Database, batch: &[Op]) -> Result<Vec<OpResult>, StoreError> {
    macro_rules! run {
        ($pool:expr) => {{
            let mut tx = $pool.begin().await.during("begin issuance batch")?;
            let mut results = Vec::with_capacity(batch.len());
            for op in batch {
                match op {
                    Op::Pending(row, _) => {
                        let inserted = sqlx::query(INSERT_PENDING)
                            .bind(row.issuer_id)
                            .bind(row.serial.to_hex())
                            .bind(&row.request_id)
                            .bind(&row.request_hash)
                            .bind(&row.profile)
                            .bind(&row.subject)
                            .bind(row.sans.join("\n"))
                            .bind(row.not_before.unix())
                            .bind(row.not_after.unix())
                            .bind(&row.tbs)
                            .bind(row.now.unix())
                            .execute(&mut *tx)
                            .await
                            .during("record pending")?
                            .rows_affected();
                        let outcome = if inserted > 0 {
                            PendingOutcome::Recorded
                        } else {
                            let n: i64 = sqlx::query_scalar(REQUEST_EXISTS)
                                .bind(&row.request_id)
                                .fetch_one(&mut *tx)
                                .await
                                .during("check request id")?;
                            if n > 0 {
                                PendingOutcome::RequestExists
                            } else {
                                PendingOutcome::SerialTaken
                            }
                        };
                        results.push(Ok(Some(outcome)));
                    }
                    Op::Issued {
                        issuer_id,
                        serial,
                        der,
                        now,
                        ..
                    } => {
                        let updated = sqlx::query(COMPLETE)
                            .bind(*issuer_id)
                            .bind(serial.to_hex())
                            .bind(der)
                            .bind(now.unix())
                            .execute(&mut *tx)
                            .await
                            .during("record issued")?
                            .rows_affected();
                        results.push(if updated == 1 {
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
            Ok(results)
        }};
    }
    match &*db.pools {
        Pools::Sqlite { writer, .. } => run!(writer),
        Pools::Postgres(pool) => run!(pool),
    }
}

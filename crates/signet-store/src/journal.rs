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
use std::collections::HashSet;

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

/// Rows per multi-row statement on SQLite (14 parameters each; SQLite
/// allows 32766).
const ROWS_PER_STATEMENT: usize = 256;

const REQUEST_EXISTS: &str = "SELECT COUNT(*) FROM certificates WHERE request_id = $1";

/// A batch, split by kind of write.
struct Work<'a> {
    pendings: Vec<(usize, &'a NewPending)>,
    /// (position, issuer id, serial hex, DER, now)
    issued: Vec<(usize, i64, String, &'a [u8], i64)>,
}

/// What the database did with a batch.
#[derive(Default)]
struct Applied {
    /// (issuer id, serial) of pending rows written.
    inserted: HashSet<(i64, String)>,
    /// Request ids of pending rows not written because the id exists.
    repeated_requests: HashSet<String>,
    /// (issuer id, serial) of rows completed.
    completed: HashSet<(i64, String)>,
}

/// Runs every write of the batch in one transaction, a statement per kind
/// of write rather than per row: each statement is a round trip to the
/// driver (and to the server), which would cost more than the rows.
async fn apply(db: &Database, batch: &[Op]) -> Result<Vec<OpResult>, StoreError> {
    let work = Work {
        pendings: batch
            .iter()
            .enumerate()
            .filter_map(|(i, op)| match op {
                Op::Pending(row, _) => Some((i, row.as_ref())),
                Op::Issued { .. } => None,
            })
            .collect(),
        issued: batch
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
            .collect(),
    };
    let applied = match &*db.pools {
        Pools::Sqlite { writer, .. } => apply_sqlite(writer, &work).await?,
        Pools::Postgres(pool) => apply_postgres(pool, &work).await?,
    };
    let mut results: Vec<OpResult> = (0..batch.len())
        .map(|_| Err(StoreError::WriterGone))
        .collect();
    for (i, row) in &work.pendings {
        let outcome = if applied
            .inserted
            .contains(&(row.issuer_id, row.serial.to_hex()))
        {
            PendingOutcome::Recorded
        } else if applied.repeated_requests.contains(&row.request_id) {
            PendingOutcome::RequestExists
        } else {
            PendingOutcome::SerialTaken
        };
        if let Some(slot) = results.get_mut(*i) {
            *slot = Ok(Some(outcome));
        }
    }
    for (i, issuer_id, serial, _, _) in &work.issued {
        if let Some(slot) = results.get_mut(*i) {
            *slot = if applied.completed.contains(&(*issuer_id, serial.clone())) {
                Ok(None)
            } else {
                Err(StoreError::Corrupt {
                    what: "pending row for the issued certificate",
                })
            };
        }
    }
    Ok(results)
}

/// SQLite: multi-row `INSERT ... VALUES` and `UPDATE ... FROM (VALUES ...)`.
async fn apply_sqlite(pool: &sqlx::SqlitePool, work: &Work<'_>) -> Result<Applied, StoreError> {
    let mut applied = Applied::default();
    let mut tx = pool.begin().await.during("begin issuance batch")?;
    for chunk in work.pendings.chunks(ROWS_PER_STATEMENT) {
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO certificates (issuer_id, serial, status, request_id, request_hash, \
             profile, subject, sans, not_before, not_after, crl_shard, tbs, created_at, updated_at) ",
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
                .push_bind(row.crl_shard)
                .push_bind(row.tbs.as_slice())
                .push_bind(row.now.unix())
                .push_bind(row.now.unix());
        });
        q.push(" ON CONFLICT DO NOTHING RETURNING issuer_id, serial");
        let rows: Vec<(i64, String)> = q
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .during("record pending")?;
        applied.inserted.extend(rows);
    }
    for (_, row) in &work.pendings {
        if !applied
            .inserted
            .contains(&(row.issuer_id, row.serial.to_hex()))
        {
            // Rare: tell a repeated request id from a serial collision.
            let n: i64 = sqlx::query_scalar(REQUEST_EXISTS)
                .bind(row.request_id.as_str())
                .fetch_one(&mut *tx)
                .await
                .during("check request id")?;
            if n > 0 {
                applied.repeated_requests.insert(row.request_id.clone());
            }
        }
    }
    for chunk in work.issued.chunks(ROWS_PER_STATEMENT) {
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
             AND certificates.der IS NULL RETURNING certificates.issuer_id, certificates.serial",
        );
        let rows: Vec<(i64, String)> = q
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .during("record issued")?;
        applied.completed.extend(rows);
    }
    tx.commit().await.during("commit issuance batch")?;
    Ok(applied)
}

const PG_INSERT_PENDING: &str = "INSERT INTO certificates (issuer_id, serial, status, request_id, \
    request_hash, profile, subject, sans, not_before, not_after, crl_shard, tbs, created_at, \
    updated_at) \
    SELECT issuer_id, serial, 'pending', request_id, request_hash, profile, subject, sans, \
    not_before, not_after, crl_shard, tbs, now, now \
    FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::bytea[], $5::text[], $6::text[], \
    $7::text[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bytea[], $12::bigint[]) \
    AS v(issuer_id, serial, request_id, request_hash, profile, subject, sans, not_before, \
    not_after, crl_shard, tbs, now) \
    ON CONFLICT DO NOTHING RETURNING issuer_id, serial";

const PG_REPEATED_REQUESTS: &str =
    "SELECT request_id FROM certificates WHERE request_id = ANY($1::text[])";

const PG_COMPLETE: &str = "UPDATE certificates AS c SET status = 'good', tbs = ''::bytea, \
    der = v.der, updated_at = v.now \
    FROM UNNEST($1::bigint[], $2::text[], $3::bytea[], $4::bigint[]) AS v(issuer_id, serial, der, now) \
    WHERE c.issuer_id = v.issuer_id AND c.serial = v.serial AND c.der IS NULL \
    RETURNING c.issuer_id, c.serial";

/// PostgreSQL: one fixed statement per kind of write over `UNNEST` of array
/// parameters, so it is parsed and planned once, whatever the batch size.
///
/// A pending row is one without a certificate: completion matches
/// `der IS NULL`, a filter on the row the primary key finds, rather than
/// `status = 'pending'`, which invites the planner to intersect with an
/// index of every pending row for each row updated.
async fn apply_postgres(pool: &sqlx::PgPool, work: &Work<'_>) -> Result<Applied, StoreError> {
    let mut applied = Applied::default();
    let mut tx = pool.begin().await.during("begin issuance batch")?;
    if !work.pendings.is_empty() {
        let rows = || work.pendings.iter().map(|(_, r)| *r);
        let inserted: Vec<(i64, String)> = sqlx::query_as(PG_INSERT_PENDING)
            .bind(rows().map(|r| r.issuer_id).collect::<Vec<_>>())
            .bind(rows().map(|r| r.serial.to_hex()).collect::<Vec<_>>())
            .bind(rows().map(|r| r.request_id.clone()).collect::<Vec<_>>())
            .bind(rows().map(|r| r.request_hash.clone()).collect::<Vec<_>>())
            .bind(rows().map(|r| r.profile.clone()).collect::<Vec<_>>())
            .bind(rows().map(|r| r.subject.clone()).collect::<Vec<_>>())
            .bind(rows().map(|r| r.sans.join("\n")).collect::<Vec<_>>())
            .bind(rows().map(|r| r.not_before.unix()).collect::<Vec<_>>())
            .bind(rows().map(|r| r.not_after.unix()).collect::<Vec<_>>())
            .bind(rows().map(|r| r.crl_shard).collect::<Vec<_>>())
            .bind(rows().map(|r| r.tbs.clone()).collect::<Vec<_>>())
            .bind(rows().map(|r| r.now.unix()).collect::<Vec<_>>())
            .fetch_all(&mut *tx)
            .await
            .during("record pending")?;
        applied.inserted.extend(inserted);
        let missing: Vec<String> = rows()
            .filter(|r| !applied.inserted.contains(&(r.issuer_id, r.serial.to_hex())))
            .map(|r| r.request_id.clone())
            .collect();
        if !missing.is_empty() {
            let repeated: Vec<String> = sqlx::query_scalar(PG_REPEATED_REQUESTS)
                .bind(missing)
                .fetch_all(&mut *tx)
                .await
                .during("check request ids")?;
            applied.repeated_requests.extend(repeated);
        }
    }
    if !work.issued.is_empty() {
        let completed: Vec<(i64, String)> = sqlx::query_as(PG_COMPLETE)
            .bind(work.issued.iter().map(|i| i.1).collect::<Vec<_>>())
            .bind(work.issued.iter().map(|i| i.2.clone()).collect::<Vec<_>>())
            .bind(work.issued.iter().map(|i| i.3.to_vec()).collect::<Vec<_>>())
            .bind(work.issued.iter().map(|i| i.4).collect::<Vec<_>>())
            .fetch_all(&mut *tx)
            .await
            .during("record issued")?;
        applied.completed.extend(completed);
    }
    tx.commit().await.during("commit issuance batch")?;
    Ok(applied)
}

//! The RA's tables: organisation units, officers, console sessions,
//! subscribers, API clients, certificate requests and their decisions, the
//! hash-chained audit trail and wrapped key blobs.
//!
//! Reads go through [`RaStore`]; every change goes through a [`RaTx`], so
//! that the audit event recording an action commits in the same
//! transaction as the action itself ([`RaTx::append_audit`]). Later phases
//! add their tables in new migrations and their queries in new modules
//! here, following the same pattern: `impl RaStore` for reads, `impl RaTx`
//! for writes.

mod api;
mod audit;
mod batch_signatures;
mod batches;
mod keys;
mod officers;
mod org_units;
mod portal;
mod reminders;
mod reports;
mod requests;
mod server_keys;
mod sessions;
mod subscribers;

use sqlx::{Postgres, Sqlite, Transaction};

pub use api::{ApiClientRecord, IdempotentResponse, NewApiClient};
pub use audit::{
    AUDIT_GENESIS_HASH, AuditCheckpoint, AuditEntry, AuditFilter, AuditRecord, chain_hash,
};
pub use batch_signatures::BatchSignatureRecord;
pub use batches::BatchRecord;
pub use keys::KeyBlob;
pub use officers::{FailureOutcome, NewOfficer, OfficerRecord, OfficerUpdate};
pub use org_units::{MoveOutcome, OrgUnit, ScopePrefix};
pub use portal::{EnrolmentCodeRecord, NewEnrolmentCode, SupersededRevocation};
pub use reminders::{ExpiringCertificate, ReminderBand, ReminderFinish, ReminderRecord};
pub use reports::{ReportScope, UnitCount};
pub use requests::{
    CertificateFilter, DecisionRecord, IssuedRecord, NewRequest, RequestFilter, RequestRecord,
};
pub use server_keys::ServerKeyRecord;
pub use sessions::{NewSession, SessionRecord};
pub use subscribers::{NewSubscriber, SubscriberRecord};

use crate::database::{Database, Pools};
use crate::error::{Context, StoreError};

/// The RA's data access: reads, and [`RaStore::begin`] for changes.
#[derive(Clone, Debug)]
pub struct RaStore {
    pub(crate) db: Database,
}

impl RaStore {
    /// The RA store over an open RA database (`Schema::Ra`).
    pub fn new(db: Database) -> Self {
        RaStore { db }
    }

    /// The underlying database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Starts a transaction for a change and its audit event.
    pub async fn begin(&self) -> Result<RaTx, StoreError> {
        let inner = match &*self.db.pools {
            Pools::Sqlite { writer, .. } => {
                TxInner::Sqlite(writer.begin().await.during("begin transaction")?)
            }
            Pools::Postgres(pool) => {
                TxInner::Postgres(pool.begin().await.during("begin transaction")?)
            }
        };
        Ok(RaTx { inner })
    }

    /// Whether the database answers (readiness probe).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let _: i64 = crate::database::on_reader!(self.db, |pool| {
            sqlx::query_scalar("SELECT 1")
                .fetch_one(pool)
                .await
                .during("ping")?
        });
        Ok(())
    }
}

/// A write transaction on the RA database. Dropped without
/// [`RaTx::commit`], it rolls back.
pub struct RaTx {
    pub(crate) inner: TxInner,
}

pub(crate) enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl std::fmt::Debug for RaTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaTx").finish_non_exhaustive()
    }
}

impl RaTx {
    /// Commits every change made in this transaction.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.commit().await.during("commit"),
            TxInner::Postgres(tx) => tx.commit().await.during("commit"),
        }
    }
}

/// Runs `$body` with `$conn` bound to the transaction's connection; the
/// body is written once and compiled for each backend. Use `&mut *$conn`
/// as the executor.
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match &mut $tx.inner {
            $crate::ra::TxInner::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::ra::TxInner::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

pub(crate) use on_tx;

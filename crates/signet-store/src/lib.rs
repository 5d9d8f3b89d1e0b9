//! Signet's databases.
//!
//! Each service has its own logical database: a SQLite file under the PKI
//! home (the embedded default) or a schema in PostgreSQL. Both are migrated
//! from `migrations/<service>/<dialect>/` and queried with the same SQL
//! (`$n` placeholders, `ON CONFLICT`, `RETURNING` work in both).
//!
//! SQLite runs in WAL mode with one writer connection, so the process never
//! races itself for the write lock, and a pool of readers.

#![forbid(unsafe_code)]

mod ca;
mod chain;
mod database;
mod error;
mod journal;
pub mod kmc;
mod publication;
pub mod ra;
mod status;
pub mod testing;

pub use ca::{
    CaStore, CertificateRecord, IssuerRecord, ListQuery, NewPending, PendingOutcome, StatusChange,
    StatusOutcome,
};
pub use database::{Backend, Database, DbOptions, Schema};
pub use error::StoreError;
pub use journal::IssuanceJournal;
pub use kmc::KmcStore;
pub use publication::RevokedEntry;
pub use ra::{RaStore, RaTx};
pub use status::{
    CertificateState, CrlKind, CrlRecord, OcspSignerRecord, StatusChangeRecord, StatusReader,
};

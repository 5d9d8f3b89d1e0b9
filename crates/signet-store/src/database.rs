//! Opening a service database on SQLite or PostgreSQL.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::ConnectOptions as _;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::{Context, StoreError};

/// Which service's tables a database holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Schema {
    /// The CA signer's database.
    Ca,
    /// The key management centre's database (key hierarchy, escrow, audit).
    Kmc,
    /// The RA's database (console, portal, API, audit trail).
    Ra,
}

impl Schema {
    /// The PostgreSQL schema name, also the SQLite file stem.
    pub fn name(self) -> &'static str {
        match self {
            Schema::Ca => "ca",
            Schema::Kmc => "kmc",
            Schema::Ra => "ra",
        }
    }

    fn create_sql(self) -> &'static str {
        match self {
            Schema::Ca => "CREATE SCHEMA IF NOT EXISTS ca",
            Schema::Kmc => "CREATE SCHEMA IF NOT EXISTS kmc",
            Schema::Ra => "CREATE SCHEMA IF NOT EXISTS ra",
        }
    }
}

/// Which engine a database runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// Tunables, with defaults documented in docs/configuration.md.
#[derive(Clone, Debug)]
pub struct DbOptions {
    /// Most connections in a pool (readers for SQLite). Default 8.
    pub max_connections: u32,
    /// How long a query waits for a lock or a pooled connection. Default 10 s.
    pub busy_timeout: Duration,
    /// Open read-only (the OCSP responder reading the CA's database).
    pub read_only: bool,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            max_connections: 8,
            busy_timeout: Duration::from_secs(10),
            read_only: false,
        }
    }
}

pub(crate) enum Pools {
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    Postgres(PgPool),
}

/// A connected, migrated service database. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    pub(crate) pools: Arc<Pools>,
    schema: Schema,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend())
            .field("schema", &self.schema)
            .finish()
    }
}

/// Runs `$body` with `$pool` bound to the writer pool (SQLite) or the pool
/// (PostgreSQL). The body is written once and compiled for each backend.
macro_rules! on_writer {
    ($db:expr, |$pool:ident| $body:expr) => {
        match &*$db.pools {
            $crate::database::Pools::Sqlite { writer: $pool, .. } => $body,
            $crate::database::Pools::Postgres($pool) => $body,
        }
    };
}

/// Like `on_writer!`, with the reader pool.
macro_rules! on_reader {
    ($db:expr, |$pool:ident| $body:expr) => {
        match &*$db.pools {
            $crate::database::Pools::Sqlite { reader: $pool, .. } => $body,
            $crate::database::Pools::Postgres($pool) => $body,
        }
    };
}

pub(crate) use {on_reader, on_writer};

impl Database {
    /// Opens (creating if needed) and migrates the database at `url`:
    /// `sqlite:PATH` (or `sqlite://PATH`) or `postgres://...`.
    pub async fn open(url: &str, schema: Schema, options: &DbOptions) -> Result<Self, StoreError> {
        let db = if let Some(path) = sqlite_path(url) {
            open_sqlite(path, options).await?
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            open_postgres(url, schema, options).await?
        } else {
            return Err(StoreError::BadUrl);
        };
        let db = Database {
            pools: Arc::new(db),
            schema,
        };
        if !options.read_only {
            db.migrate().await?;
        }
        Ok(db)
    }

    /// The engine behind this database.
    pub fn backend(&self) -> Backend {
        match &*self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        match (&*self.pools, self.schema) {
            (Pools::Sqlite { writer, .. }, Schema::Ca) => {
                sqlx::migrate!("../../migrations/ca/sqlite")
                    .run(writer)
                    .await?
            }
            (Pools::Postgres(pool), Schema::Ca) => {
                sqlx::migrate!("../../migrations/ca/postgres")
                    .run(pool)
                    .await?
            }
            (Pools::Sqlite { writer, .. }, Schema::Kmc) => {
                sqlx::migrate!("../../migrations/kmc/sqlite")
                    .run(writer)
                    .await?
            }
            (Pools::Postgres(pool), Schema::Kmc) => {
                sqlx::migrate!("../../migrations/kmc/postgres")
                    .run(pool)
                    .await?
            }
            (Pools::Sqlite { writer, .. }, Schema::Ra) => {
                sqlx::migrate!("../../migrations/ra/sqlite")
                    .run(writer)
                    .await?
            }
            (Pools::Postgres(pool), Schema::Ra) => {
                sqlx::migrate!("../../migrations/ra/postgres")
                    .run(pool)
                    .await?
            }
        }
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match &*self.pools {
            Pools::Sqlite { writer, reader } => {
                writer.close().await;
                reader.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }
}

/// Statements slower than this are logged as warnings. CRL publication
/// streams every revoked certificate in one statement, which takes seconds
/// for a million entries; sqlx's default of one second would warn about
/// every large CRL.
const SLOW_STATEMENT: Duration = Duration::from_secs(10);

fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let rest = rest.split('?').next().unwrap_or(rest);
    Some(PathBuf::from(rest))
}

async fn open_sqlite(path: PathBuf, options: &DbOptions) -> Result<Pools, StoreError> {
    let base = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(!options.read_only)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a commit survives power loss, not only a process crash.
        // Issuance batches its writes (see journal.rs), so the fsync per
        // commit is shared by many certificates.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        // Deleted and overwritten content is zeroed in the file, not left
        // in free pages: the RA erases stored keys by setting them NULL.
        // Old page images still sit in the WAL until a checkpoint and the
        // next transactions overwrite them.
        .pragma("secure_delete", "ON")
        .busy_timeout(options.busy_timeout)
        .log_slow_statements(log::LevelFilter::Warn, SLOW_STATEMENT);
    let writer = if options.read_only {
        None
    } else {
        Some(
            SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(options.busy_timeout)
                .connect_with(base.clone())
                .await
                .during("open sqlite writer")?,
        )
    };
    let reader = SqlitePoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .acquire_timeout(options.busy_timeout)
        .connect_with(base.read_only(true))
        .await
        .during("open sqlite readers")?;
    Ok(Pools::Sqlite {
        writer: writer.unwrap_or_else(|| reader.clone()),
        reader,
    })
}

async fn open_postgres(
    url: &str,
    schema: Schema,
    options: &DbOptions,
) -> Result<Pools, StoreError> {
    let base = PgConnectOptions::from_str(url)
        .during("parse postgres url")?
        .log_slow_statements(log::LevelFilter::Warn, SLOW_STATEMENT);
    if !options.read_only {
        // Each service keeps its tables, and its migration history, in its
        // own schema of the database the operator named.
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(base.clone())
            .await
            .during("open postgres")?;
        sqlx::query(schema.create_sql())
            .execute(&pool)
            .await
            .during("create schema")?;
        pool.close().await;
    }
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .acquire_timeout(options.busy_timeout)
        .connect_with(base.options([("search_path", schema.name())]))
        .await
        .during("open postgres pool")?;
    Ok(Pools::Postgres(pool))
}

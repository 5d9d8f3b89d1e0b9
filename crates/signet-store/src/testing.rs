//! Test databases: a SQLite file in a temporary directory, or a fresh
//! PostgreSQL database created for one test and dropped after it.
//!
//! PostgreSQL is found through `SIGNET_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`).

use std::path::PathBuf;

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::database::{Backend, Database, DbOptions, Schema};
use crate::error::{Context, StoreError};

/// The PostgreSQL server tests use.
pub fn postgres_admin_url() -> String {
    std::env::var("SIGNET_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL to open it with.
    pub url: String,
    backend: Backend,
    name: String,
    dir: Option<PathBuf>,
}

impl TestDatabase {
    /// A new, empty database on `backend`.
    pub async fn create(backend: Backend) -> Result<Self, StoreError> {
        let name = format!("signet_test_{:016x}", rand::random::<u64>());
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).map_err(|_| StoreError::BadUrl)?;
                Ok(TestDatabase {
                    url: format!("sqlite:{}", dir.join("test.db").display()),
                    backend,
                    name,
                    dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let mut conn = PgConnection::connect(&admin)
                    .await
                    .during("connect to postgres")?;
                // The name is `signet_test_` and hex digits: nothing to inject.
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .during("create test database")?;
                conn.close().await.ok();
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                Ok(TestDatabase {
                    url: format!("{base}/{name}"),
                    backend,
                    name,
                    dir: None,
                })
            }
        }
    }

    /// Opens it with `schema` migrated.
    pub async fn open(&self, schema: Schema) -> Result<Database, StoreError> {
        Database::open(&self.url, schema, &DbOptions::default()).await
    }

    /// Drops the database (PostgreSQL) or removes its directory (SQLite).
    pub async fn drop_database(self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => {
                if let Some(dir) = &self.dir {
                    std::fs::remove_dir_all(dir).ok();
                }
            }
            Backend::Postgres => {
                let mut conn = PgConnection::connect(&postgres_admin_url())
                    .await
                    .during("connect to postgres")?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                )))
                .execute(&mut conn)
                .await
                .during("drop test database")?;
            }
        }
        Ok(())
    }
}

/// Fills `store` with `count` synthetic revoked certificates of
/// `issuer_id` (random serials, mixed reasons, a quarter with invalidity
/// dates), for CRL benchmarks. Rows go in through multi-row inserts of 500.
pub async fn fill_revoked(
    store: &crate::CaStore,
    issuer_id: i64,
    count: usize,
    now: signet_core::Timestamp,
) -> Result<(), StoreError> {
    use crate::database::Pools;
    use signet_core::{RevocationReason, Serial};
    let reasons = [
        RevocationReason::KeyCompromise,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
        RevocationReason::AffiliationChanged,
        RevocationReason::Unspecified,
    ];
    let mut rng = rand::rng();
    let mut done = 0usize;
    while done < count {
        let n = (count - done).min(500);
        let rows: Vec<(String, i64, Option<i64>)> = (0..n)
            .map(|i| {
                let reason = reasons.get((done + i) % reasons.len()).copied();
                let invalidity = (done + i).is_multiple_of(4).then(|| now.unix() - 86_400);
                (
                    Serial::random(&mut rng).to_hex(),
                    i64::from(reason.map(RevocationReason::code).unwrap_or(0)),
                    invalidity,
                )
            })
            .collect();
        macro_rules! insert {
            ($pool:expr) => {{
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO certificates (issuer_id, serial, status, request_id, request_hash, \
                     profile, subject, sans, not_before, not_after, crl_shard, tbs, der, revoked_at, \
                     revocation_reason, invalidity_date, created_at, updated_at) ",
                );
                q.push_values(&rows, |mut b, (serial, reason, invalidity)| {
                    b.push_bind(issuer_id)
                        .push_bind(serial.as_str())
                        .push("'revoked'")
                        .push_bind(format!("fill-{serial}"))
                        .push_bind(Vec::<u8>::new())
                        .push("'server'")
                        .push("'CN=fill'")
                        .push("''")
                        .push_bind(now.unix() - 3600)
                        .push_bind(now.unix() + 365 * 86_400)
                        .push("0")
                        .push_bind(Vec::<u8>::new())
                        .push_bind(Vec::<u8>::new())
                        .push_bind(now.unix() - 600)
                        .push_bind(*reason)
                        .push_bind(*invalidity)
                        .push_bind(now.unix())
                        .push_bind(now.unix());
                });
                q.build().execute($pool).await.during("fill revoked certificates")?;
            }};
        }
        match &*store.db.pools {
            Pools::Sqlite { writer, .. } => insert!(writer),
            Pools::Postgres(pool) => insert!(pool),
        }
        done += n;
    }
    Ok(())
}

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

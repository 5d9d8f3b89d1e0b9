//! Storage errors. Messages name the operation, never row contents.

/// A storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL is not one Signet understands.
    #[error("unsupported database URL (expected sqlite:PATH or postgres://...)")]
    BadUrl,
    /// Connecting or running a query failed.
    #[error("database error during {operation}: {source}")]
    Database {
        /// What was being done.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// Applying migrations failed.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored value does not parse (a corrupted or hand-edited row).
    #[error("stored {what} is invalid")]
    Corrupt {
        /// Which value.
        what: &'static str,
    },
    /// The writer task has stopped (the service is shutting down).
    #[error("the database writer has stopped")]
    WriterGone,
}

/// Attaches the operation name to driver errors.
pub(crate) trait Context<T> {
    fn during(self, operation: &'static str) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, sqlx::Error> {
    fn during(self, operation: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Database { operation, source })
    }
}

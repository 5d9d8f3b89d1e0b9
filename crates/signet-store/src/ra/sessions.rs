//! Console sessions. Only the SHA-256 of a session id is stored, so a copy
//! of the database does not let anyone take over a session.

use std::fmt;

use signet_core::Timestamp;

use super::{RaStore, RaTx, on_tx};
use crate::database::{on_reader, on_writer};
use crate::error::{Context, StoreError};

/// One session.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the session id.
    pub id_hash: Vec<u8>,
    /// The officer.
    pub officer_id: i64,
    /// `totp`, `password`, `enroll` or `active`.
    pub stage: String,
    /// `password` or `certificate`.
    pub auth_method: String,
    /// The anti-CSRF token of this session's forms.
    pub csrf_token: String,
    /// Where the login came from.
    pub source_ip: String,
    /// Created (absolute lifetime counts from here).
    pub created_at: Timestamp,
    /// Last request (idle timeout counts from here).
    pub last_seen: Timestamp,
    /// Absolute expiry.
    pub expires_at: Timestamp,
}

impl fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRecord")
            .field("officer_id", &self.officer_id)
            .field("stage", &self.stage)
            .field("auth_method", &self.auth_method)
            .finish_non_exhaustive()
    }
}

/// A session to create.
#[derive(Clone)]
pub struct NewSession {
    /// SHA-256 of the new session id.
    pub id_hash: Vec<u8>,
    /// The officer.
    pub officer_id: i64,
    /// Login stage.
    pub stage: String,
    /// `password` or `certificate`.
    pub auth_method: String,
    /// Anti-CSRF token.
    pub csrf_token: String,
    /// Client address.
    pub source_ip: String,
    /// Now.
    pub now: Timestamp,
    /// Absolute expiry.
    pub expires_at: Timestamp,
}

impl fmt::Debug for NewSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSession")
            .field("officer_id", &self.officer_id)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

type SessionRow = (Vec<u8>, i64, String, String, String, String, i64, i64, i64);

fn session_from_row(r: SessionRow) -> SessionRecord {
    let (id_hash, officer_id, stage, auth_method, csrf_token, source_ip, created, seen, expires) =
        r;
    SessionRecord {
        id_hash,
        officer_id,
        stage,
        auth_method,
        csrf_token,
        source_ip,
        created_at: Timestamp::from_unix(created),
        last_seen: Timestamp::from_unix(seen),
        expires_at: Timestamp::from_unix(expires),
    }
}

impl RaStore {
    /// The session whose id hashes to `id_hash`.
    pub async fn session(&self, id_hash: &[u8]) -> Result<Option<SessionRecord>, StoreError> {
        let row: Option<SessionRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(
                "SELECT id_hash, officer_id, stage, auth_method, csrf_token, source_ip, \
                 created_at, last_seen, expires_at FROM sessions WHERE id_hash = $1",
            )
            .bind(id_hash)
            .fetch_optional(pool)
            .await
            .during("read session")?
        });
        Ok(row.map(session_from_row))
    }

    /// Records activity on a session (idle timeout). Outside any
    /// transaction: it changes nothing worth auditing.
    pub async fn touch_session(&self, id_hash: &[u8], now: Timestamp) -> Result<(), StoreError> {
        on_writer!(self.db, |pool| {
            sqlx::query("UPDATE sessions SET last_seen = $1 WHERE id_hash = $2")
                .bind(now.unix())
                .bind(id_hash)
                .execute(pool)
                .await
                .during("touch session")?
                .rows_affected()
        });
        Ok(())
    }

    /// Deletes sessions past their absolute expiry or idle since before
    /// `idle_before`. Returns how many.
    pub async fn purge_sessions(
        &self,
        now: Timestamp,
        idle_before: Timestamp,
    ) -> Result<u64, StoreError> {
        Ok(on_writer!(self.db, |pool| {
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen < $2")
                .bind(now.unix())
                .bind(idle_before.unix())
                .execute(pool)
                .await
                .during("purge sessions")?
                .rows_affected()
        }))
    }
}

impl RaTx {
    /// Creates a session.
    pub async fn create_session(&mut self, new: &NewSession) -> Result<(), StoreError> {
        on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO sessions (id_hash, officer_id, stage, auth_method, csrf_token, \
                 source_ip, created_at, last_seen, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)",
            )
            .bind(&new.id_hash)
            .bind(new.officer_id)
            .bind(&new.stage)
            .bind(&new.auth_method)
            .bind(&new.csrf_token)
            .bind(&new.source_ip)
            .bind(new.now.unix())
            .bind(new.expires_at.unix())
            .execute(&mut *conn)
            .await
            .during("insert session")?
            .rows_affected()
        });
        Ok(())
    }

    /// Deletes one session (logout, or replaced by a new id at a login
    /// stage change). False: there was none.
    pub async fn delete_session(&mut self, id_hash: &[u8]) -> Result<bool, StoreError> {
        let n = on_tx!(self, |conn| {
            sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(id_hash)
                .execute(&mut *conn)
                .await
                .during("delete session")?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Ends every session of an officer (password reset, lock, role change).
    pub async fn delete_officer_sessions(&mut self, officer_id: i64) -> Result<u64, StoreError> {
        Ok(on_tx!(self, |conn| {
            sqlx::query("DELETE FROM sessions WHERE officer_id = $1")
                .bind(officer_id)
                .execute(&mut *conn)
                .await
                .during("delete officer sessions")?
                .rows_affected()
        }))
    }
}

//! Officers: registration officers, system administrators and security
//! auditors, with their credentials and lockout state.

use std::fmt;

use signet_core::Timestamp;

use super::{RaStore, RaTx, ScopePrefix, on_tx};
use crate::database::on_reader;
use crate::error::{Context, StoreError};

/// One officer account.
#[derive(Clone, PartialEq, Eq)]
pub struct OfficerRecord {
    /// Database id.
    pub id: i64,
    /// Login name, unique.
    pub username: String,
    /// Name shown in the console.
    pub display_name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// The next login must set a new password.
    pub must_change_password: bool,
    /// The TOTP secret, encrypted under the token's field key.
    pub totp_secret: Option<Vec<u8>>,
    /// TOTP enrolment was confirmed with a code.
    pub totp_enabled: bool,
    /// The last TOTP time step accepted.
    pub totp_last_step: Option<i64>,
    /// `sysadmin`, `officer` or `auditor`.
    pub role: String,
    /// The unit the officer belongs to (and, for officers, is scoped to).
    pub org_unit_id: i64,
    /// Consecutive failed logins since the last success or lockout.
    pub failed_attempts: i64,
    /// Locked until this time.
    pub locked_until: Option<Timestamp>,
    /// SHA-256 of the login certificate, lowercase hex.
    pub cert_fingerprint: Option<String>,
    /// Disabled accounts cannot log in.
    pub active: bool,
    /// Created.
    pub created_at: Timestamp,
}

impl fmt::Debug for OfficerRecord {
    /// Credentials are left out: Debug output ends up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OfficerRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("org_unit_id", &self.org_unit_id)
            .field("totp_enabled", &self.totp_enabled)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl OfficerRecord {
    /// Whether the account is locked at `now`.
    pub fn is_locked(&self, now: Timestamp) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

#[derive(sqlx::FromRow)]
struct OfficerRow {
    id: i64,
    username: String,
    display_name: String,
    password_hash: String,
    must_change_password: bool,
    totp_secret: Option<Vec<u8>>,
    totp_enabled: bool,
    totp_last_step: Option<i64>,
    role: String,
    org_unit_id: i64,
    failed_attempts: i64,
    locked_until: Option<i64>,
    cert_fingerprint: Option<String>,
    active: bool,
    created_at: i64,
}

impl From<OfficerRow> for OfficerRecord {
    fn from(r: OfficerRow) -> Self {
        OfficerRecord {
            id: r.id,
            username: r.username,
            display_name: r.display_name,
            password_hash: r.password_hash,
            must_change_password: r.must_change_password,
            totp_secret: r.totp_secret,
            totp_enabled: r.totp_enabled,
            totp_last_step: r.totp_last_step,
            role: r.role,
            org_unit_id: r.org_unit_id,
            failed_attempts: r.failed_attempts,
            locked_until: r.locked_until.map(Timestamp::from_unix),
            cert_fingerprint: r.cert_fingerprint,
            active: r.active,
            created_at: Timestamp::from_unix(r.created_at),
        }
    }
}

/// `SELECT <every officer column> FROM officers <rest>`.
macro_rules! select_officers {
    ($rest:literal) => {
        concat!(
            "SELECT id, username, display_name, password_hash, must_change_password, totp_secret, \
             totp_enabled, totp_last_step, role, org_unit_id, failed_attempts, locked_until, \
             cert_fingerprint, active, created_at FROM officers ",
            $rest
        )
    };
}

/// A new officer account.
#[derive(Clone)]
pub struct NewOfficer {
    /// Login name.
    pub username: String,
    /// Name shown in the console.
    pub display_name: String,
    /// argon2id PHC string of the initial password.
    pub password_hash: String,
    /// `sysadmin`, `officer` or `auditor`.
    pub role: String,
    /// Unit.
    pub org_unit_id: i64,
    /// Now.
    pub now: Timestamp,
}

impl fmt::Debug for NewOfficer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewOfficer")
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// Changes a system administrator makes to an account.
#[derive(Clone, Debug)]
pub struct OfficerUpdate {
    /// Name shown in the console.
    pub display_name: String,
    /// `sysadmin`, `officer` or `auditor`.
    pub role: String,
    /// Unit.
    pub org_unit_id: i64,
    /// Enabled.
    pub active: bool,
}

/// What a failed login did to the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Counted; the account is still open.
    Counted {
        /// Consecutive failures now.
        attempts: i64,
    },
    /// This failure reached the threshold: the account is now locked.
    Locked {
        /// Until when.
        until: Timestamp,
    },
}

impl RaStore {
    /// The officer with this id.
    pub async fn officer(&self, id: i64) -> Result<Option<OfficerRecord>, StoreError> {
        let row: Option<OfficerRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(select_officers!("WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await
                .during("read officer")?
        });
        Ok(row.map(OfficerRecord::from))
    }

    /// The officer with this username.
    pub async fn officer_by_username(
        &self,
        username: &str,
    ) -> Result<Option<OfficerRecord>, StoreError> {
        let row: Option<OfficerRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(select_officers!("WHERE username = $1"))
                .bind(username)
                .fetch_optional(pool)
                .await
                .during("read officer by username")?
        });
        Ok(row.map(OfficerRecord::from))
    }

    /// The officer whose login certificate has this SHA-256 fingerprint.
    pub async fn officer_by_fingerprint(
        &self,
        fingerprint: &str,
    ) -> Result<Option<OfficerRecord>, StoreError> {
        let row: Option<OfficerRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(select_officers!("WHERE cert_fingerprint = $1"))
                .bind(fingerprint)
                .fetch_optional(pool)
                .await
                .during("read officer by certificate")?
        });
        Ok(row.map(OfficerRecord::from))
    }

    /// Officers whose unit is in `scope`, by username.
    pub async fn officers(&self, scope: &ScopePrefix) -> Result<Vec<OfficerRecord>, StoreError> {
        let rows: Vec<OfficerRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(select_officers!(
                "WHERE org_unit_id IN (SELECT id FROM org_units WHERE path LIKE $1) \
                 ORDER BY username"
            ))
            .bind(scope.pattern())
            .fetch_all(pool)
            .await
            .during("list officers")?
        });
        Ok(rows.into_iter().map(OfficerRecord::from).collect())
    }

    /// How many active system administrators there are.
    pub async fn active_sysadmins(&self) -> Result<i64, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM officers WHERE role = 'sysadmin' AND active = $1",
            )
            .bind(true)
            .fetch_one(pool)
            .await
            .during("count system administrators")?
        }))
    }
}

impl RaTx {
    /// Creates an account; returns its id, or `None` if the username is taken.
    pub async fn create_officer(&mut self, new: &NewOfficer) -> Result<Option<i64>, StoreError> {
        let id: Option<i64> = on_tx!(self, |conn| {
            sqlx::query_scalar(
                "INSERT INTO officers (username, display_name, password_hash, must_change_password, \
                 role, org_unit_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 ON CONFLICT (username) DO NOTHING RETURNING id",
            )
            .bind(&new.username)
            .bind(&new.display_name)
            .bind(&new.password_hash)
            .bind(true)
            .bind(&new.role)
            .bind(new.org_unit_id)
            .bind(new.now.unix())
            .fetch_optional(&mut *conn)
            .await
            .during("insert officer")?
        });
        Ok(id)
    }

    /// Applies a system administrator's changes. False: no such officer.
    pub async fn update_officer(
        &mut self,
        id: i64,
        update: &OfficerUpdate,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE officers SET display_name = $1, role = $2, org_unit_id = $3, active = $4, \
                 updated_at = $5 WHERE id = $6",
            )
            .bind(&update.display_name)
            .bind(&update.role)
            .bind(update.org_unit_id)
            .bind(update.active)
            .bind(now.unix())
            .bind(id)
            .execute(&mut *conn)
            .await
            .during("update officer")?
            .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Counts a failed login; at `threshold` consecutive failures the
    /// account locks until `now + lock_for` and the count starts again.
    /// One statement, so concurrent failures cannot both miss the threshold.
    pub async fn record_login_failure(
        &mut self,
        id: i64,
        threshold: i64,
        lock_for: std::time::Duration,
        now: Timestamp,
    ) -> Result<FailureOutcome, StoreError> {
        let until = now.plus(lock_for);
        let row: Option<(i64, Option<i64>)> = on_tx!(self, |conn| {
            sqlx::query_as(
                "UPDATE officers SET \
                 locked_until = CASE WHEN failed_attempts + 1 >= $1 THEN $2 ELSE locked_until END, \
                 failed_attempts = CASE WHEN failed_attempts + 1 >= $1 THEN 0 ELSE failed_attempts + 1 END, \
                 updated_at = $3 \
                 WHERE id = $4 RETURNING failed_attempts, locked_until",
            )
            .bind(threshold)
            .bind(until.unix())
            .bind(now.unix())
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .during("count failed login")?
        });
        Ok(match row {
            Some((0, Some(locked))) if locked == until.unix() => FailureOutcome::Locked { until },
            Some((attempts, _)) => FailureOutcome::Counted { attempts },
            None => FailureOutcome::Counted { attempts: 0 },
        })
    }

    /// A successful login clears the failure count.
    pub async fn clear_login_failures(&mut self, id: i64) -> Result<(), StoreError> {
        on_tx!(self, |conn| {
            sqlx::query("UPDATE officers SET failed_attempts = 0 WHERE id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await
                .during("clear failed logins")?
                .rows_affected()
        });
        Ok(())
    }

    /// Locks (`Some(until)`) or unlocks (`None`) an account.
    pub async fn set_locked_until(
        &mut self,
        id: i64,
        until: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE officers SET locked_until = $1, failed_attempts = 0, updated_at = $2 \
                 WHERE id = $3",
            )
            .bind(until.map(Timestamp::unix))
            .bind(now.unix())
            .bind(id)
            .execute(&mut *conn)
            .await
            .during("lock or unlock officer")?
            .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Sets a new password hash; `must_change` forces a change at the next
    /// login (an administrator's reset).
    pub async fn set_password(
        &mut self,
        id: i64,
        password_hash: &str,
        must_change: bool,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE officers SET password_hash = $1, must_change_password = $2, \
                 password_changed_at = $3, updated_at = $3 WHERE id = $4",
            )
            .bind(password_hash)
            .bind(must_change)
            .bind(now.unix())
            .bind(id)
            .execute(&mut *conn)
            .await
            .during("set password")?
            .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Stores a TOTP secret awaiting confirmation (`totp_enabled` false), or
    /// removes TOTP altogether with `None` (an administrator's reset).
    pub async fn set_totp_secret(
        &mut self,
        id: i64,
        encrypted: Option<&[u8]>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE officers SET totp_secret = $1, totp_enabled = $2, totp_last_step = NULL, \
                 updated_at = $3 WHERE id = $4",
            )
            .bind(encrypted)
            .bind(false)
            .bind(now.unix())
            .bind(id)
            .execute(&mut *conn)
            .await
            .during("set totp secret")?
            .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Accepts TOTP time step `step` for the officer if it is later than
    /// every step accepted before, and (with `enable`) confirms enrolment.
    /// False means the code was already used: a replay.
    pub async fn claim_totp_step(
        &mut self,
        id: i64,
        step: i64,
        enable: bool,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE officers SET totp_last_step = $1, \
                 totp_enabled = CASE WHEN $2 THEN $2 ELSE totp_enabled END, updated_at = $3 \
                 WHERE id = $4 AND totp_secret IS NOT NULL \
                 AND (totp_last_step IS NULL OR totp_last_step < $1)",
            )
            .bind(step)
            .bind(enable)
            .bind(now.unix())
            .bind(id)
            .execute(&mut *conn)
            .await
            .during("claim totp step")?
            .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Registers (`Some`) or removes (`None`) the login certificate's
    /// fingerprint. False: no such officer, or the fingerprint belongs to
    /// another officer already.
    pub async fn set_cert_fingerprint(
        &mut self,
        id: i64,
        fingerprint: Option<&str>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        if let Some(fp) = fingerprint {
            let taken: Option<i64> = on_tx!(self, |conn| {
                sqlx::query_scalar("SELECT id FROM officers WHERE cert_fingerprint = $1")
                    .bind(fp)
                    .fetch_optional(&mut *conn)
                    .await
                    .during("check certificate fingerprint")?
            });
            if taken.is_some_and(|other| other != id) {
                return Ok(false);
            }
        }
        let changed = on_tx!(self, |conn| {
            sqlx::query("UPDATE officers SET cert_fingerprint = $1, updated_at = $2 WHERE id = $3")
                .bind(fingerprint)
                .bind(now.unix())
                .bind(id)
                .execute(&mut *conn)
                .await
                .during("set certificate fingerprint")?
                .rows_affected()
        });
        Ok(changed > 0)
    }
}

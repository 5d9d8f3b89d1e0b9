//! Certificate counts for the RA's reports: by status, profile,
//! organisation unit, day of issuance and day of expiry. Every query is
//! scoped like the officers' lists (`org_unit_id IN (SELECT id FROM
//! org_units WHERE path LIKE $1)`) and counts certificates whose
//! `issued_at` lies in an optional range. Days are Unix days (seconds /
//! 86400, UTC): the caller folds them into calendar months, which SQLite
//! and PostgreSQL would spell differently.

use signet_core::Timestamp;

use super::{RaStore, ScopePrefix};
use crate::database::on_reader;
use crate::error::{Context, StoreError};

/// Which certificates a report counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportScope {
    /// The caller's units.
    pub scope: ScopePrefix,
    /// Issued at or after this...
    pub issued_from: Option<Timestamp>,
    /// ...and before this.
    pub issued_until: Option<Timestamp>,
}

/// Certificates of one organisation unit.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct UnitCount {
    /// The unit's id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its path from the root (`/1/4/`).
    pub path: String,
    /// How many certificates.
    pub count: i64,
}

/// The rows a report counts, after `SELECT ... FROM cert_requests r`.
macro_rules! counted {
    ($rest:literal) => {
        concat!(
            "WHERE r.status = 'issued' \
             AND r.org_unit_id IN (SELECT id FROM org_units WHERE path LIKE $1) \
             AND ($2 IS NULL OR r.issued_at >= $2) AND ($3 IS NULL OR r.issued_at < $3) ",
            $rest
        )
    };
}

impl RaStore {
    /// Certificates by status as of `now`: `valid`, `expired`,
    /// `suspended`, `revoked` (only those with a count).
    pub async fn report_by_status(
        &self,
        r: &ReportScope,
        now: Timestamp,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(concat!(
                "SELECT CASE WHEN r.cert_status = 'revoked' THEN 'revoked' \
                 WHEN r.cert_status = 'suspended' THEN 'suspended' \
                 WHEN r.not_after < $4 THEN 'expired' ELSE 'valid' END AS s, COUNT(*) \
                 FROM cert_requests r ",
                counted!("GROUP BY 1 ORDER BY 1")
            ))
            .bind(r.scope.pattern())
            .bind(r.issued_from.map(Timestamp::unix))
            .bind(r.issued_until.map(Timestamp::unix))
            .bind(now.unix())
            .fetch_all(pool)
            .await
            .during("report by status")?
        }))
    }

    /// Certificates by profile.
    pub async fn report_by_profile(
        &self,
        r: &ReportScope,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(concat!(
                "SELECT r.profile, COUNT(*) FROM cert_requests r ",
                counted!("GROUP BY r.profile ORDER BY r.profile")
            ))
            .bind(r.scope.pattern())
            .bind(r.issued_from.map(Timestamp::unix))
            .bind(r.issued_until.map(Timestamp::unix))
            .fetch_all(pool)
            .await
            .during("report by profile")?
        }))
    }

    /// Certificates by organisation unit (each unit on its own, not with
    /// the units below it), in tree order.
    pub async fn report_by_unit(&self, r: &ReportScope) -> Result<Vec<UnitCount>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(concat!(
                "SELECT u.id, u.name, u.path, COUNT(*) AS count \
                 FROM cert_requests r JOIN org_units u ON u.id = r.org_unit_id ",
                counted!("GROUP BY u.id, u.name, u.path ORDER BY u.path")
            ))
            .bind(r.scope.pattern())
            .bind(r.issued_from.map(Timestamp::unix))
            .bind(r.issued_until.map(Timestamp::unix))
            .fetch_all(pool)
            .await
            .during("report by unit")?
        }))
    }

    /// Certificates by Unix day of issuance.
    pub async fn report_issued_by_day(
        &self,
        r: &ReportScope,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(concat!(
                "SELECT r.issued_at / 86400 AS d, COUNT(*) FROM cert_requests r ",
                counted!("AND r.issued_at IS NOT NULL GROUP BY 1 ORDER BY 1")
            ))
            .bind(r.scope.pattern())
            .bind(r.issued_from.map(Timestamp::unix))
            .bind(r.issued_until.map(Timestamp::unix))
            .fetch_all(pool)
            .await
            .during("report issued by day")?
        }))
    }

    /// Valid (not revoked, not suspended) certificates by Unix day of
    /// expiry, for those expiring in `[from, until)`.
    pub async fn report_expiring_by_day(
        &self,
        r: &ReportScope,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(concat!(
                "SELECT r.not_after / 86400 AS d, COUNT(*) FROM cert_requests r ",
                counted!(
                    "AND r.cert_status = 'good' AND r.not_after >= $4 AND r.not_after < $5 \
                     GROUP BY 1 ORDER BY 1"
                )
            ))
            .bind(r.scope.pattern())
            .bind(r.issued_from.map(Timestamp::unix))
            .bind(r.issued_until.map(Timestamp::unix))
            .bind(from.unix())
            .bind(until.unix())
            .fetch_all(pool)
            .await
            .during("report expiring by day")?
        }))
    }
}

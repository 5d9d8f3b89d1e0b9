//! Certificate requests, the officers' decisions on them, and the
//! certificates the CA issued for them. Reads are scoped like every other
//! officer query: `org_unit_id IN (SELECT id FROM org_units WHERE path
//! LIKE $n)`.

use signet_core::Timestamp;

use super::{RaStore, RaTx, ScopePrefix, on_tx};
use crate::database::on_reader;
use crate::error::{Context, StoreError};

/// One request as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// Database id.
    pub id: i64,
    /// Public id; the CA request id is `ra:<uid>`.
    pub uid: String,
    /// The unit the request belongs to (scoping).
    pub org_unit_id: i64,
    /// CA profile name.
    pub profile: String,
    /// The PKCS#10 request, PEM.
    pub csr_pem: String,
    /// The CSR's subject, RFC 4514, for display and search.
    pub subject: String,
    /// Distinct approvers needed.
    pub approvals_required: i64,
    /// `pending`, `approved`, `issued`, `rejected` or `failed`.
    pub status: String,
    /// The officer who filed it (none when an API client did).
    pub filed_by: Option<i64>,
    /// The API client that filed it (none when an officer did).
    pub api_client_id: Option<i64>,
    /// When.
    pub filed_at: Timestamp,
    /// The filer's comment.
    pub comment: String,
    /// Why the CA refused (status `failed`), or the last transport error
    /// (status `approved`).
    pub failure: Option<String>,
    /// Serial of the issued certificate, lowercase hex.
    pub serial: Option<String>,
    /// Issuer name.
    pub issuer: Option<String>,
    /// The certificate, PEM.
    pub certificate_pem: Option<String>,
    /// The chain without the root, nearest first, PEM.
    pub chain_pem: Option<String>,
    /// notAfter of the certificate.
    pub not_after: Option<Timestamp>,
    /// `good`, `suspended` or `revoked`, as the CA last answered.
    pub cert_status: Option<String>,
    /// RFC 5280 reason name, when revoked.
    pub revocation_reason: Option<String>,
    /// The batch it belongs to, if any.
    pub batch_id: Option<i64>,
    /// Its line in the batch file (from 1).
    pub batch_row: Option<i64>,
    /// For a renewal filed through the portal: the serial renewed.
    pub renewal_of: Option<String>,
    /// Subject replacing the CSR's (RFC 4514), as a batch row asked.
    pub subject_override: Option<String>,
    /// SANs replacing the CSR's, JSON array of `TYPE:value`.
    pub sans_override: Option<String>,
    /// The issued certificate's SANs as OpenSSL prints them, joined by
    /// `, ` (`DNS:a.example, IP:10.0.0.1`); empty when it has none; `None`
    /// before issuance (and, for rows issued before migration 0011, until
    /// the RA has read them at start).
    pub sans: Option<String>,
    /// The subscriber the request was filed for, if any.
    pub subscriber_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct RequestRow {
    id: i64,
    uid: String,
    org_unit_id: i64,
    profile: String,
    csr_pem: String,
    subject: String,
    approvals_required: i64,
    status: String,
    filed_by: Option<i64>,
    api_client_id: Option<i64>,
    filed_at: i64,
    comment: String,
    failure: Option<String>,
    serial: Option<String>,
    issuer: Option<String>,
    certificate_pem: Option<String>,
    chain_pem: Option<String>,
    not_after: Option<i64>,
    cert_status: Option<String>,
    revocation_reason: Option<String>,
    batch_id: Option<i64>,
    batch_row: Option<i64>,
    renewal_of: Option<String>,
    subject_override: Option<String>,
    sans_override: Option<String>,
    sans: Option<String>,
    subscriber_id: Option<i64>,
}

impl From<RequestRow> for RequestRecord {
    fn from(r: RequestRow) -> Self {
        RequestRecord {
            id: r.id,
            uid: r.uid,
            org_unit_id: r.org_unit_id,
            profile: r.profile,
            csr_pem: r.csr_pem,
            subject: r.subject,
            approvals_required: r.approvals_required,
            status: r.status,
            filed_by: r.filed_by,
            api_client_id: r.api_client_id,
            filed_at: Timestamp::from_unix(r.filed_at),
            comment: r.comment,
            failure: r.failure,
            serial: r.serial,
            issuer: r.issuer,
            certificate_pem: r.certificate_pem,
            chain_pem: r.chain_pem,
            not_after: r.not_after.map(Timestamp::from_unix),
            cert_status: r.cert_status,
            revocation_reason: r.revocation_reason,
            batch_id: r.batch_id,
            batch_row: r.batch_row,
            renewal_of: r.renewal_of,
            subject_override: r.subject_override,
            sans_override: r.sans_override,
            sans: r.sans,
            subscriber_id: r.subscriber_id,
        }
    }
}

/// `SELECT <every request column> FROM cert_requests <rest>`. The chain
/// is the row's own `chain_pem` or, for rows a batch job recorded, the
/// shared `issuer_chains` row it points at: the same bytes either way.
macro_rules! select_requests {
    ($rest:literal) => {
        concat!(
            "SELECT id, uid, org_unit_id, profile, csr_pem, subject, approvals_required, status, \
             filed_by, api_client_id, filed_at, comment, failure, serial, issuer, certificate_pem, \
             COALESCE(chain_pem, (SELECT c.chain_pem FROM issuer_chains c \
             WHERE c.id = cert_requests.chain_id)) AS chain_pem, \
             not_after, cert_status, revocation_reason, batch_id, batch_row, renewal_of, subject_override, \
             sans_override, sans, subscriber_id FROM cert_requests ",
            $rest
        )
    };
}

/// A request to file.
#[derive(Clone, Debug)]
pub struct NewRequest {
    /// Public id.
    pub uid: String,
    /// Unit.
    pub org_unit_id: i64,
    /// CA profile.
    pub profile: String,
    /// CSR, PEM.
    pub csr_pem: String,
    /// The CSR's subject.
    pub subject: String,
    /// Distinct approvers needed: at least 1 for an officer's request, 0
    /// for an API client's.
    pub approvals_required: i64,
    /// `pending` (officers decide) or `approved` (an API client's
    /// request for a profile it is registered for).
    pub status: &'static str,
    /// Filing officer.
    pub filed_by: Option<i64>,
    /// Filing API client.
    pub api_client_id: Option<i64>,
    /// Filer's comment.
    pub comment: String,
    /// (batch id, line) for a row of a batch.
    pub batch: Option<(i64, i64)>,
    /// For a portal renewal: the serial renewed (then no filer).
    pub renewal_of: Option<String>,
    /// Subject replacing the CSR's.
    pub subject_override: Option<String>,
    /// SANs replacing the CSR's, JSON array.
    pub sans_override: Option<String>,
    /// Now.
    pub now: Timestamp,
}

/// What the CA answered for an issued request.
#[derive(Clone, Debug)]
pub struct IssuedRecord {
    /// Serial, lowercase hex.
    pub serial: String,
    /// Issuer name.
    pub issuer: String,
    /// Certificate, PEM.
    pub certificate_pem: String,
    /// Chain without the root, PEM.
    pub chain_pem: String,
    /// notAfter.
    pub not_after: Timestamp,
    /// The certificate's SANs as OpenSSL prints them, joined by `, `
    /// (empty: none).
    pub sans: String,
}

/// Filters of the console's request list; `None` matches everything.
#[derive(Clone, Debug, Default)]
pub struct RequestFilter {
    /// Request status.
    pub status: Option<String>,
    /// Profile name.
    pub profile: Option<String>,
    /// Substring of the subject.
    pub subject_contains: Option<String>,
    /// Serial of the issued certificate, lowercase hex.
    pub serial: Option<String>,
    /// Exactly this unit (within the caller's scope).
    pub org_unit_id: Option<i64>,
    /// Valid certificates whose notAfter is before this...
    pub expires_before: Option<Timestamp>,
    /// ...and not before this (not yet expired).
    pub expires_after: Option<Timestamp>,
    /// Substring of the certificate's SANs (`DNS:a.example, IP:...`),
    /// case-insensitive.
    pub san_contains: Option<String>,
    /// Filed for this subscriber.
    pub subscriber_id: Option<i64>,
}

/// Filters of the API's certificate search; `None` matches everything.
#[derive(Clone, Debug, Default)]
pub struct CertificateFilter {
    /// `good`, `suspended` or `revoked`, as the CA last answered.
    pub cert_status: Option<String>,
    /// Profile name.
    pub profile: Option<String>,
    /// Substring of the subject.
    pub subject_contains: Option<String>,
    /// Substring of the SANs, case-insensitive.
    pub san_contains: Option<String>,
}

/// `%text%` for LIKE, with `\`, `%` and `_` escaped (`ESCAPE '\'`).
fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// One officer's decision on a request.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct DecisionRecord {
    /// The officer.
    pub officer_id: i64,
    /// Their username.
    pub username: String,
    /// `approve` or `reject`.
    pub decision: String,
    /// Their comment.
    pub comment: String,
    /// When, Unix seconds.
    pub at: i64,
}

impl RaStore {
    /// One request, if it is in `scope`.
    pub async fn request(
        &self,
        uid: &str,
        scope: &ScopePrefix,
    ) -> Result<Option<RequestRecord>, StoreError> {
        let row: Option<RequestRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(select_requests!(
                "WHERE uid = $1 AND org_unit_id IN (SELECT id FROM org_units WHERE path LIKE $2)"
            ))
            .bind(uid)
            .bind(scope.pattern())
            .fetch_optional(pool)
            .await
            .during("read request")?
        });
        Ok(row.map(RequestRecord::from))
    }

    /// Requests in `scope` matching `filter`, newest first.
    pub async fn requests(
        &self,
        scope: &ScopePrefix,
        filter: &RequestFilter,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let pattern = filter.subject_contains.as_deref().map(like_pattern);
        let san_pattern = filter.san_contains.as_deref().map(like_pattern);
        let rows: Vec<RequestRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(select_requests!(
                "WHERE org_unit_id IN (SELECT id FROM org_units WHERE path LIKE $1) \
                 AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR profile = $3) \
                 AND ($4 IS NULL OR subject LIKE $4 ESCAPE '\\') AND ($5 IS NULL OR serial = $5) \
                 AND ($6 IS NULL OR org_unit_id = $6) \
                 AND ($7 IS NULL OR (cert_status = 'good' AND not_after < $7)) \
                 AND ($8 IS NULL OR (cert_status = 'good' AND not_after >= $8)) \
                 AND ($9 IS NULL OR LOWER(sans) LIKE LOWER($9) ESCAPE '\\') \
                 AND ($10 IS NULL OR subscriber_id = $10) \
                 ORDER BY filed_at DESC, id DESC LIMIT $11 OFFSET $12"
            ))
            .bind(scope.pattern())
            .bind(filter.status.as_deref())
            .bind(filter.profile.as_deref())
            .bind(pattern.as_deref())
            .bind(filter.serial.as_deref())
            .bind(filter.org_unit_id)
            .bind(filter.expires_before.map(Timestamp::unix))
            .bind(filter.expires_after.map(Timestamp::unix))
            .bind(san_pattern.as_deref())
            .bind(filter.subscriber_id)
            .bind(i64::from(limit.clamp(1, 1000)))
            .bind(i64::from(offset))
            .fetch_all(pool)
            .await
            .during("list requests")?
        });
        Ok(rows.into_iter().map(RequestRecord::from).collect())
    }

    /// Valid certificates in `scope` whose notAfter is in `[from, until)`.
    pub async fn count_expiring(
        &self,
        scope: &ScopePrefix,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<i64, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM cert_requests \
                 WHERE org_unit_id IN (SELECT id FROM org_units WHERE path LIKE $1) \
                 AND status = 'issued' AND cert_status = 'good' \
                 AND not_after >= $2 AND not_after < $3",
            )
            .bind(scope.pattern())
            .bind(from.unix())
            .bind(until.unix())
            .fetch_one(pool)
            .await
            .during("count expiring certificates")?
        }))
    }

    /// The request whose certificate has `serial`, if it is in `scope`.
    pub async fn request_by_serial(
        &self,
        serial: &str,
        scope: &ScopePrefix,
    ) -> Result<Option<RequestRecord>, StoreError> {
        let row: Option<RequestRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(select_requests!(
                "WHERE serial = $1 AND org_unit_id IN (SELECT id FROM org_units WHERE path LIKE $2)"
            ))
            .bind(serial)
            .bind(scope.pattern())
            .fetch_optional(pool)
            .await
            .during("read request by serial")?
        });
        Ok(row.map(RequestRecord::from))
    }

    /// Issued certificates in `scope`, newest first, matching `filter`.
    pub async fn issued_certificates(
        &self,
        scope: &ScopePrefix,
        filter: &CertificateFilter,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let pattern = filter.subject_contains.as_deref().map(like_pattern);
        let san_pattern = filter.san_contains.as_deref().map(like_pattern);
        let rows: Vec<RequestRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(select_requests!(
                "WHERE status = 'issued' \
                 AND org_unit_id IN (SELECT id FROM org_units WHERE path LIKE $1) \
                 AND ($2 IS NULL OR cert_status = $2) AND ($3 IS NULL OR profile = $3) \
                 AND ($4 IS NULL OR subject LIKE $4 ESCAPE '\\') \
                 AND ($5 IS NULL OR LOWER(sans) LIKE LOWER($5) ESCAPE '\\') \
                 ORDER BY filed_at DESC, id DESC LIMIT $6 OFFSET $7"
            ))
            .bind(scope.pattern())
            .bind(filter.cert_status.as_deref())
            .bind(filter.profile.as_deref())
            .bind(pattern.as_deref())
            .bind(san_pattern.as_deref())
            .bind(i64::from(limit.clamp(1, 1000)))
            .bind(i64::from(offset))
            .fetch_all(pool)
            .await
            .during("search certificates")?
        });
        Ok(rows.into_iter().map(RequestRecord::from).collect())
    }

    /// The rows of a batch, in file order.
    pub async fn batch_requests(&self, batch_id: i64) -> Result<Vec<RequestRecord>, StoreError> {
        let rows: Vec<RequestRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(select_requests!("WHERE batch_id = $1 ORDER BY batch_row"))
                .bind(batch_id)
                .fetch_all(pool)
                .await
                .during("read batch rows")?
        });
        Ok(rows.into_iter().map(RequestRecord::from).collect())
    }

    /// Up to `limit` rows of a batch in `status` after row `after_row`, in
    /// file order: the batch job's next window, found through the
    /// `(batch_id, batch_row)` index without passing the rows before it.
    pub async fn batch_requests_after(
        &self,
        batch_id: i64,
        status: &str,
        after_row: i64,
        limit: usize,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows: Vec<RequestRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(select_requests!(
                "WHERE batch_id = $1 AND batch_row > $2 AND status = $3 \
                 ORDER BY batch_row LIMIT $4"
            ))
            .bind(batch_id)
            .bind(after_row)
            .bind(status)
            .bind(limit)
            .fetch_all(pool)
            .await
            .during("read batch window")?
        });
        Ok(rows.into_iter().map(RequestRecord::from).collect())
    }

    /// Up to `limit` rows of a batch after row `after_row`, in file order
    /// (the result ZIP is built a page at a time).
    pub async fn batch_requests_page(
        &self,
        batch_id: i64,
        after_row: i64,
        limit: usize,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows: Vec<RequestRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(select_requests!(
                "WHERE batch_id = $1 AND batch_row > $2 ORDER BY batch_row LIMIT $3"
            ))
            .bind(batch_id)
            .bind(after_row)
            .bind(limit)
            .fetch_all(pool)
            .await
            .during("read batch page")?
        });
        Ok(rows.into_iter().map(RequestRecord::from).collect())
    }

    /// Up to `limit` issued rows after id `after_id` whose SANs were not
    /// read yet (recorded before migration 0011), in id order: (id,
    /// certificate PEM).
    pub async fn requests_without_sans(
        &self,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(
                "SELECT id, certificate_pem FROM cert_requests \
                 WHERE sans IS NULL AND certificate_pem IS NOT NULL AND id > $1 \
                 ORDER BY id LIMIT $2",
            )
            .bind(after_id)
            .bind(limit)
            .fetch_all(pool)
            .await
            .during("read certificates without SANs")?
        }))
    }

    /// The decisions on a request, oldest first.
    pub async fn request_decisions(
        &self,
        request_id: i64,
    ) -> Result<Vec<DecisionRecord>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(
                "SELECT d.officer_id, o.username, d.decision, d.comment, d.at \
                 FROM request_decisions d JOIN officers o ON o.id = d.officer_id \
                 WHERE d.request_id = $1 ORDER BY d.at, d.officer_id",
            )
            .bind(request_id)
            .fetch_all(pool)
            .await
            .during("read request decisions")?
        }))
    }
}

impl RaTx {
    /// Files a request (status `pending`); returns its id.
    pub async fn create_request(&mut self, new: &NewRequest) -> Result<i64, StoreError> {
        Ok(on_tx!(self, |conn| {
            sqlx::query_scalar(
                "INSERT INTO cert_requests (uid, org_unit_id, profile, csr_pem, subject, \
                 approvals_required, status, filed_by, api_client_id, filed_at, comment, \
                 updated_at, batch_id, batch_row, renewal_of, subject_override, sans_override) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $10, $12, $13, $14, \
                 $15, $16) RETURNING id",
            )
            .bind(&new.uid)
            .bind(new.org_unit_id)
            .bind(&new.profile)
            .bind(&new.csr_pem)
            .bind(&new.subject)
            .bind(new.approvals_required)
            .bind(new.status)
            .bind(new.filed_by)
            .bind(new.api_client_id)
            .bind(new.now.unix())
            .bind(&new.comment)
            .bind(new.batch.map(|b| b.0))
            .bind(new.batch.map(|b| b.1))
            .bind(new.renewal_of.as_deref())
            .bind(new.subject_override.as_deref())
            .bind(new.sans_override.as_deref())
            .fetch_one(&mut *conn)
            .await
            .during("insert request")?
        }))
    }

    /// Links a request to the subscriber it was filed for.
    pub async fn link_subscriber(
        &mut self,
        request_id: i64,
        subscriber_id: i64,
    ) -> Result<(), StoreError> {
        on_tx!(self, |conn| {
            sqlx::query("UPDATE cert_requests SET subscriber_id = $1 WHERE id = $2")
                .bind(subscriber_id)
                .bind(request_id)
                .execute(&mut *conn)
                .await
                .during("link request to subscriber")?
                .rows_affected()
        });
        Ok(())
    }

    /// Files many requests with multi-row statements (a batch's rows):
    /// like [`Self::create_request`] for each, in far fewer round trips.
    pub async fn create_requests(&mut self, rows: &[NewRequest]) -> Result<(), StoreError> {
        // 17 values a row; 500 rows stay under SQLite's and PostgreSQL's
        // bind-parameter limits (32,766 and 65,535).
        for part in rows.chunks(500) {
            on_tx!(self, |conn| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO cert_requests (uid, org_unit_id, profile, csr_pem, subject, \
                     approvals_required, status, filed_by, api_client_id, filed_at, comment, \
                     updated_at, batch_id, batch_row, renewal_of, subject_override, \
                     sans_override) ",
                );
                q.push_values(part, |mut b, new| {
                    b.push_bind(&new.uid)
                        .push_bind(new.org_unit_id)
                        .push_bind(&new.profile)
                        .push_bind(&new.csr_pem)
                        .push_bind(&new.subject)
                        .push_bind(new.approvals_required)
                        .push_bind(new.status)
                        .push_bind(new.filed_by)
                        .push_bind(new.api_client_id)
                        .push_bind(new.now.unix())
                        .push_bind(&new.comment)
                        .push_bind(new.now.unix())
                        .push_bind(new.batch.map(|b| b.0))
                        .push_bind(new.batch.map(|b| b.1))
                        .push_bind(new.renewal_of.as_deref())
                        .push_bind(new.subject_override.as_deref())
                        .push_bind(new.sans_override.as_deref());
                });
                q.build()
                    .execute(&mut *conn)
                    .await
                    .during("insert requests")?
                    .rows_affected()
            });
        }
        Ok(())
    }

    /// Records an officer's decision. False: that officer decided on this
    /// request before (each officer counts once).
    pub async fn add_decision(
        &mut self,
        request_id: i64,
        officer_id: i64,
        decision: &str,
        comment: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let inserted = on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO request_decisions (request_id, officer_id, decision, comment, at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id, officer_id) DO NOTHING",
            )
            .bind(request_id)
            .bind(officer_id)
            .bind(decision)
            .bind(comment)
            .bind(now.unix())
            .execute(&mut *conn)
            .await
            .during("insert request decision")?
            .rows_affected()
        });
        Ok(inserted > 0)
    }

    /// Distinct approvals of a request, counted in this transaction.
    pub async fn count_approvals(&mut self, request_id: i64) -> Result<i64, StoreError> {
        Ok(on_tx!(self, |conn| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM request_decisions \
                 WHERE request_id = $1 AND decision = 'approve'",
            )
            .bind(request_id)
            .fetch_one(&mut *conn)
            .await
            .during("count approvals")?
        }))
    }

    /// Moves a request from status `from` to `to`, recording `failure`.
    /// False: it was not in `from` any more (someone else moved it).
    pub async fn set_request_status(
        &mut self,
        id: i64,
        from: &str,
        to: &str,
        failure: Option<&str>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE cert_requests SET status = $1, failure = $2, updated_at = $3 \
                 WHERE id = $4 AND status = $5",
            )
            .bind(to)
            .bind(failure)
            .bind(now.unix())
            .bind(id)
            .bind(from)
            .execute(&mut *conn)
            .await
            .during("update request status")?
            .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Stores the certificate of an approved request (status `issued`,
    /// certificate `good`). False: the request was not `approved`.
    pub async fn record_issued(
        &mut self,
        id: i64,
        issued: &IssuedRecord,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE cert_requests SET status = 'issued', failure = NULL, serial = $1, \
                 issuer = $2, certificate_pem = $3, chain_pem = $4, not_after = $5, \
                 cert_status = 'good', updated_at = $6, sans = $7 \
                 WHERE id = $8 AND status = 'approved'",
            )
            .bind(&issued.serial)
            .bind(&issued.issuer)
            .bind(&issued.certificate_pem)
            .bind(&issued.chain_pem)
            .bind(issued.not_after.unix())
            .bind(now.unix())
            .bind(&issued.sans)
            .bind(id)
            .execute(&mut *conn)
            .await
            .during("record issued certificate")?
            .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Stores the certificates of many approved requests (a batch job's
    /// window) like [`Self::record_issued`] for each, with one UPDATE per
    /// 200 rows, and each distinct chain once in `issuer_chains` (the rows
    /// point at it). Returns how many rows changed: a row that was not
    /// `approved` any more is left alone and not counted.
    pub async fn record_issued_many(
        &mut self,
        rows: &[(i64, IssuedRecord)],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        // Almost always one chain for the whole window: a linear search by
        // equality is cheaper than hashing 2 KB of PEM per row.
        let mut chains: Vec<(&str, i64)> = Vec::new();
        let mut chain_ids = Vec::with_capacity(rows.len());
        for (_, issued) in rows {
            let known = chains
                .iter()
                .find(|(pem, _)| *pem == issued.chain_pem)
                .map(|(_, id)| *id);
            let id = match known {
                Some(id) => id,
                None => {
                    let id = self.issuer_chain_id(&issued.chain_pem, now).await?;
                    chains.push((&issued.chain_pem, id));
                    id
                }
            };
            chain_ids.push(id);
        }
        let mut changed = 0;
        // 7 values a row: far below both engines' bind-parameter limits.
        for (part, ids) in rows.chunks(200).zip(chain_ids.chunks(200)) {
            changed += on_tx!(self, |conn| {
                let mut q = sqlx::QueryBuilder::new(
                    "WITH v (id, serial, issuer, certificate_pem, chain_id, not_after, sans) AS (",
                );
                q.push_values(part.iter().zip(ids), |mut b, ((id, issued), chain_id)| {
                    b.push_bind(*id)
                        .push_bind(&issued.serial)
                        .push_bind(&issued.issuer)
                        .push_bind(&issued.certificate_pem)
                        .push_bind(*chain_id)
                        .push_bind(issued.not_after.unix())
                        .push_bind(&issued.sans);
                });
                // `issued_at` is set here, so migration 0009's trigger
                // (which copies `updated_at`) has nothing left to do.
                q.push(
                    ") UPDATE cert_requests SET status = 'issued', failure = NULL, \
                     serial = v.serial, issuer = v.issuer, certificate_pem = v.certificate_pem, \
                     chain_pem = NULL, chain_id = v.chain_id, not_after = v.not_after, \
                     sans = v.sans, cert_status = 'good', updated_at = ",
                );
                q.push_bind(now.unix());
                q.push(", issued_at = ");
                q.push_bind(now.unix());
                q.push(
                    " FROM v WHERE cert_requests.id = v.id AND cert_requests.status = 'approved'",
                );
                q.build()
                    .execute(&mut *conn)
                    .await
                    .during("record issued certificates")?
                    .rows_affected()
            });
        }
        Ok(changed)
    }

    /// Records the SANs read from stored certificates (rows recorded
    /// before migration 0011), one UPDATE per 500 rows; a row whose SANs
    /// were recorded meanwhile is left alone. Returns the rows changed.
    pub async fn record_sans_many(&mut self, rows: &[(i64, String)]) -> Result<u64, StoreError> {
        let mut changed = 0;
        // 2 values a row.
        for part in rows.chunks(500) {
            changed += on_tx!(self, |conn| {
                let mut q = sqlx::QueryBuilder::new("WITH v (id, sans) AS (");
                q.push_values(part, |mut b, (id, sans)| {
                    b.push_bind(*id).push_bind(sans.as_str());
                });
                q.push(
                    ") UPDATE cert_requests SET sans = v.sans FROM v \
                     WHERE cert_requests.id = v.id AND cert_requests.sans IS NULL",
                );
                q.build()
                    .execute(&mut *conn)
                    .await
                    .during("record certificate SANs")?
                    .rows_affected()
            });
        }
        Ok(changed)
    }

    /// The id of the `issuer_chains` row holding `chain_pem`, stored now
    /// if it is new.
    async fn issuer_chain_id(
        &mut self,
        chain_pem: &str,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        use sha2::{Digest as _, Sha256};
        use std::fmt::Write as _;
        let digest = Sha256::digest(chain_pem.as_bytes());
        let sha256 = digest.iter().fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        });
        Ok(on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO issuer_chains (sha256, chain_pem, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (sha256) DO NOTHING",
            )
            .bind(&sha256)
            .bind(chain_pem)
            .bind(now.unix())
            .execute(&mut *conn)
            .await
            .during("store issuer chain")?;
            sqlx::query_scalar("SELECT id FROM issuer_chains WHERE sha256 = $1")
                .bind(&sha256)
                .fetch_one(&mut *conn)
                .await
                .during("read issuer chain")?
        }))
    }

    /// Records the certificate's status as the CA answered it.
    pub async fn set_certificate_status(
        &mut self,
        id: i64,
        cert_status: &str,
        reason: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE cert_requests SET cert_status = $1, revocation_reason = $2, \
                 updated_at = $3 WHERE id = $4 AND status = 'issued'",
            )
            .bind(cert_status)
            .bind(reason)
            .bind(now.unix())
            .bind(id)
            .execute(&mut *conn)
            .await
            .during("update certificate status")?
            .rows_affected()
        });
        Ok(())
    }
}

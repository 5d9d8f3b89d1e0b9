//! REST API clients, the nonces they used (replay protection) and their
//! idempotency keys.

use signet_core::Timestamp;

use super::{RaStore, RaTx, ScopePrefix, on_tx};
use crate::database::on_reader;
use crate::error::{Context, StoreError};

/// A registered API client. Its token is never stored, only its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiClientRecord {
    /// Database id.
    pub id: i64,
    /// Name (also the audit trail's actor).
    pub name: String,
    /// The unit it acts in (and the units below).
    pub org_unit_id: i64,
    /// SHA-256 of its API token, if it has one.
    pub token_hash: Option<Vec<u8>>,
    /// SHA-256 of its client certificate's DER, lowercase hex, if any.
    pub cert_fingerprint: Option<String>,
    /// Comma-separated profiles it may enroll for.
    pub profiles: String,
    /// Comma-separated addresses it may call from; empty: any.
    pub ip_allowlist: String,
    /// Calls accepted per minute.
    pub rate_per_minute: i64,
    /// Whether enabled.
    pub active: bool,
    /// Registered, Unix seconds.
    pub created_at: i64,
}

/// A client to register.
#[derive(Clone, Debug)]
pub struct NewApiClient {
    /// Name.
    pub name: String,
    /// Unit.
    pub org_unit_id: i64,
    /// SHA-256 of the token.
    pub token_hash: Option<Vec<u8>>,
    /// Certificate fingerprint.
    pub cert_fingerprint: Option<String>,
    /// Comma-separated profiles.
    pub profiles: String,
    /// Comma-separated addresses.
    pub ip_allowlist: String,
    /// Calls per minute.
    pub rate_per_minute: i64,
    /// The administrator.
    pub created_by: i64,
    /// Now.
    pub now: Timestamp,
}

/// A stored answer to an idempotent call.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct IdempotentResponse {
    /// SHA-256 of the request it answered.
    pub request_digest: Vec<u8>,
    /// HTTP status.
    pub status: i64,
    /// JSON body.
    pub response: String,
}

macro_rules! select_clients {
    ($rest:literal) => {
        concat!(
            "SELECT id, name, org_unit_id, token_hash, cert_fingerprint, profiles, ip_allowlist, \
             rate_per_minute, active, created_at FROM api_clients ",
            $rest
        )
    };
}

impl RaStore {
    /// The active client whose token hashes to `hash`.
    pub async fn api_client_by_token(
        &self,
        hash: &[u8],
    ) -> Result<Option<ApiClientRecord>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(select_clients!("WHERE token_hash = $1"))
                .bind(hash)
                .fetch_optional(pool)
                .await
                .during("read api client")?
        }))
    }

    /// The client registered with certificate `fingerprint`.
    pub async fn api_client_by_fingerprint(
        &self,
        fingerprint: &str,
    ) -> Result<Option<ApiClientRecord>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(select_clients!("WHERE cert_fingerprint = $1"))
                .bind(fingerprint)
                .fetch_optional(pool)
                .await
                .during("read api client")?
        }))
    }

    /// Clients of units in `scope`, by name.
    pub async fn api_clients(
        &self,
        scope: &ScopePrefix,
    ) -> Result<Vec<ApiClientRecord>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(select_clients!(
                "WHERE org_unit_id IN (SELECT id FROM org_units WHERE path LIKE $1) ORDER BY name"
            ))
            .bind(scope.pattern())
            .fetch_all(pool)
            .await
            .during("list api clients")?
        }))
    }

    /// The stored answer for `(client, key)`, if any.
    pub async fn idempotent_response(
        &self,
        client_id: i64,
        key: &str,
    ) -> Result<Option<IdempotentResponse>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(
                "SELECT request_digest, status, response FROM api_idempotency \
                 WHERE client_id = $1 AND idem_key = $2",
            )
            .bind(client_id)
            .bind(key)
            .fetch_optional(pool)
            .await
            .during("read idempotency key")?
        }))
    }
}

impl RaTx {
    /// Registers a client; `None` if the name, token or certificate is
    /// taken.
    pub async fn create_api_client(
        &mut self,
        new: &NewApiClient,
    ) -> Result<Option<i64>, StoreError> {
        Ok(on_tx!(self, |conn| {
            sqlx::query_scalar(
                "INSERT INTO api_clients (name, org_unit_id, token_hash, cert_fingerprint, \
                 profiles, ip_allowlist, rate_per_minute, active, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING \
                 RETURNING id",
            )
            .bind(&new.name)
            .bind(new.org_unit_id)
            .bind(new.token_hash.as_deref())
            .bind(new.cert_fingerprint.as_deref())
            .bind(&new.profiles)
            .bind(&new.ip_allowlist)
            .bind(new.rate_per_minute)
            .bind(true)
            .bind(new.created_by)
            .bind(new.now.unix())
            .fetch_optional(&mut *conn)
            .await
            .during("insert api client")?
        }))
    }

    /// Enables or disables a client.
    pub async fn set_api_client_active(
        &mut self,
        id: i64,
        active: bool,
    ) -> Result<bool, StoreError> {
        let changed = on_tx!(self, |conn| {
            sqlx::query("UPDATE api_clients SET active = $1 WHERE id = $2")
                .bind(active)
                .bind(id)
                .execute(&mut *conn)
                .await
                .during("update api client")?
                .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Accepts `nonce` for the client once; false if it was seen before.
    /// Nonces older than `forget_before` are deleted first: a call that
    /// old is refused by its timestamp.
    pub async fn claim_nonce(
        &mut self,
        client_id: i64,
        nonce: &str,
        now: Timestamp,
        forget_before: Timestamp,
    ) -> Result<bool, StoreError> {
        let inserted = on_tx!(self, |conn| {
            sqlx::query("DELETE FROM api_nonces WHERE seen_at < $1")
                .bind(forget_before.unix())
                .execute(&mut *conn)
                .await
                .during("purge api nonces")?;
            sqlx::query(
                "INSERT INTO api_nonces (client_id, nonce, seen_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (client_id, nonce) DO NOTHING",
            )
            .bind(client_id)
            .bind(nonce)
            .bind(now.unix())
            .execute(&mut *conn)
            .await
            .during("record api nonce")?
            .rows_affected()
        });
        Ok(inserted > 0)
    }

    /// Stores the answer to an idempotent call; false if the key was
    /// stored meanwhile (the first answer stands).
    pub async fn store_idempotent_response(
        &mut self,
        client_id: i64,
        key: &str,
        response: &IdempotentResponse,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let inserted = on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO api_idempotency (client_id, idem_key, request_digest, status, \
                 response, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (client_id, idem_key) DO NOTHING",
            )
            .bind(client_id)
            .bind(key)
            .bind(&response.request_digest)
            .bind(response.status)
            .bind(&response.response)
            .bind(now.unix())
            .execute(&mut *conn)
            .await
            .during("store idempotent response")?
            .rows_affected()
        });
        Ok(inserted > 0)
    }
}

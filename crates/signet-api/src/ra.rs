//! A client of the RA's REST API (`/api`, HTTPS on the RA port), for
//! integrating systems, the `signet` CLI and tests.
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | POST | `/api/v1/certificates` | [`EnrollRequest`] | 201 [`Certificate`] |
//! | GET | `/api/v1/certificates?status=&profile=&subject=&limit=&offset=` | | [`CertificateList`] |
//! | GET | `/api/v1/certificates/{serial}` | | [`Certificate`] |
//! | POST | `/api/v1/certificates/{serial}/revoke` | [`RevokeRequest`] | [`Certificate`] |
//! | POST | `/api/v1/certificates/{serial}/suspend`, `/resume` | (none) | [`Certificate`] |
//!
//! The client authenticates with the TLS client certificate in its
//! [`crate::ApiClient`] (a certificate an RA administrator registered as an
//! API client). Every POST carries `X-Signet-Timestamp` and a fresh
//! `X-Signet-Nonce` (the RA refuses a replayed or stale call) and, when
//! given, an `Idempotency-Key` (a retry with the same key answers the
//! stored response and changes nothing).

use serde::{Deserialize, Serialize};

/// Header: the call's time, Unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-signet-timestamp";
/// Header: a value used once per client.
pub const NONCE_HEADER: &str = "x-signet-nonce";
/// Header: the caller's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// `POST /api/v1/certificates`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// A profile the client is registered for.
    pub profile: String,
    /// PKCS#10 request, PEM.
    pub csr: String,
    /// Organisation unit; default the client's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_unit_id: Option<i64>,
    /// Subject DN (RFC 4514) replacing the CSR's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// SANs (`DNS:x`, `IP:x`, `email:x`, `URI:x`) replacing the CSR's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sans: Option<Vec<String>>,
}

/// `POST /api/v1/certificates/{serial}/revoke`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// RFC 5280 §5.3.1 reason name.
    pub reason: String,
    /// When the key was (suspected to be) compromised, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalidity_date: Option<String>,
    /// Ask the CA for a new CRL at once (emergency revocation).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub crl_now: bool,
}

/// A certificate as the RA API shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Certificate {
    /// Serial, lowercase hex.
    pub serial: String,
    /// Issuer name.
    pub issuer: String,
    /// Profile.
    pub profile: String,
    /// Subject, RFC 4514.
    pub subject: String,
    /// `good`, `suspended` or `revoked`.
    pub status: String,
    /// RFC 5280 reason, when revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_reason: Option<String>,
    /// notAfter, RFC 3339.
    pub not_after: String,
    /// The certificate, PEM.
    pub certificate: String,
    /// The chain without the root, nearest first, PEM.
    pub chain: Vec<String>,
    /// The RA's request id.
    pub request_id: String,
}

/// A page of certificates.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CertificateList {
    /// Newest first.
    pub certificates: Vec<Certificate>,
}

/// The replay-protection values of one state-changing call: the caller's
/// clock (time is a parameter) and a fresh random nonce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Freshness {
    timestamp: i64,
    nonce: String,
}

impl Freshness {
    /// A call made at `unix_seconds`, with 128 random bits as its nonce.
    pub fn at(unix_seconds: i64) -> Self {
        Freshness {
            timestamp: unix_seconds,
            nonce: format!("{:032x}", rand::random::<u128>()),
        }
    }

    fn headers(&self, idempotency_key: Option<&str>) -> Vec<(&'static str, String)> {
        let mut h = vec![
            (TIMESTAMP_HEADER, self.timestamp.to_string()),
            (NONCE_HEADER, self.nonce.clone()),
        ];
        if let Some(k) = idempotency_key {
            h.push((IDEMPOTENCY_HEADER, k.to_owned()));
        }
        h
    }
}

/// Typed calls to the RA's REST API.
#[derive(Clone, Debug)]
pub struct RaClient(pub crate::ApiClient);

impl RaClient {
    /// Enrolls; the same `idempotency_key` always answers the same
    /// certificate.
    pub async fn enroll(
        &self,
        req: &EnrollRequest,
        idempotency_key: Option<&str>,
        fresh: &Freshness,
    ) -> Result<Certificate, crate::ClientError> {
        self.0
            .post_with_headers(
                "/api/v1/certificates",
                Some(req),
                &fresh.headers(idempotency_key),
            )
            .await
    }

    /// Revokes.
    pub async fn revoke(
        &self,
        serial: &str,
        req: &RevokeRequest,
        idempotency_key: Option<&str>,
        fresh: &Freshness,
    ) -> Result<Certificate, crate::ClientError> {
        self.0
            .post_with_headers(
                &format!("/api/v1/certificates/{serial}/revoke"),
                Some(req),
                &fresh.headers(idempotency_key),
            )
            .await
    }

    /// Suspends (certificateHold).
    pub async fn suspend(
        &self,
        serial: &str,
        fresh: &Freshness,
    ) -> Result<Certificate, crate::ClientError> {
        self.0
            .post_with_headers::<(), _>(
                &format!("/api/v1/certificates/{serial}/suspend"),
                None,
                &fresh.headers(None),
            )
            .await
    }

    /// Resumes a suspended certificate.
    pub async fn resume(
        &self,
        serial: &str,
        fresh: &Freshness,
    ) -> Result<Certificate, crate::ClientError> {
        self.0
            .post_with_headers::<(), _>(
                &format!("/api/v1/certificates/{serial}/resume"),
                None,
                &fresh.headers(None),
            )
            .await
    }

    /// One certificate of the client's scope.
    pub async fn get(&self, serial: &str) -> Result<Certificate, crate::ClientError> {
        self.0.get(&format!("/api/v1/certificates/{serial}")).await
    }

    /// A page of the client's certificates, newest first.
    pub async fn list(
        &self,
        limit: u32,
        offset: u32,
    ) -> Result<CertificateList, crate::ClientError> {
        self.0
            .get(&format!(
                "/api/v1/certificates?limit={limit}&offset={offset}"
            ))
            .await
    }
}

#[cfg(test)]
mod tests;

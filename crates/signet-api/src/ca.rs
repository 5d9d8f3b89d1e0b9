//! The CA signer's API (mutual TLS; RA and administrator only).
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | POST | `/v1/certificates` | [`IssueRequest`] | [`IssuedCertificate`] |
//! | POST | `/v1/certificates/batch` | [`BatchIssueRequest`] | [`BatchIssueResponse`] |
//! | GET | `/v1/certificates?status=&issuer=&limit=&offset=` | | [`CertificateList`] |
//! | GET | `/v1/certificates/{serial}` | | [`CertificateInfo`] |
//! | POST | `/v1/certificates/{serial}/revoke` | [`RevokeRequest`] | [`CertificateInfo`] |
//! | POST | `/v1/certificates/{serial}/suspend` | [`StatusRequest`] | [`CertificateInfo`] |
//! | POST | `/v1/certificates/{serial}/resume` | [`StatusRequest`] | [`CertificateInfo`] |
//! | GET | `/v1/issuers` | | [`IssuerList`] |

use serde::{Deserialize, Serialize};

/// Issue one certificate.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// The caller's idempotency key: the same id always yields the same
    /// certificate, however often the call is retried.
    pub request_id: String,
    /// Profile name.
    pub profile: String,
    /// PKCS#10 request, PEM.
    pub csr: String,
    /// Issuer name; default: the CA's default issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Subject DN (RFC 4514) replacing the CSR's, e.g. from vetted identity data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// SANs (`DNS:x`, `IP:x`, `email:x`, `URI:x`) replacing the CSR's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sans: Option<Vec<String>>,
    /// Validity in days, at most the profile's maximum; default the maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity_days: Option<u32>,
}

/// An issued certificate.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// Serial, lowercase hex.
    pub serial: String,
    /// Issuer name.
    pub issuer: String,
    /// The certificate, PEM.
    pub certificate: String,
    /// The issuing chain without the root, nearest first, PEM. Empty in
    /// batch answers, which carry each issuer's chain once
    /// ([`BatchIssueResponse::chains`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<String>,
    /// notBefore, RFC 3339.
    pub not_before: String,
    /// notAfter, RFC 3339.
    pub not_after: String,
    /// True when this answers a retried request id (nothing new was issued).
    pub replayed: bool,
}

/// Issue many certificates in one call (batch files, benchmarks).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BatchIssueRequest {
    /// The requests; each keeps its own request id.
    pub requests: Vec<IssueRequest>,
}

/// One result per request, in order.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BatchIssueResponse {
    /// Results in request order.
    pub results: Vec<BatchItem>,
    /// The chain (without the root, nearest first, PEM) of each issuer
    /// named in `results`.
    #[serde(default)]
    pub chains: std::collections::BTreeMap<String, Vec<String>>,
}

/// The outcome of one request in a batch.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BatchItem {
    /// Issued (or replayed).
    Issued(IssuedCertificate),
    /// Refused, with the same body a single call would get.
    Error(crate::ErrorBody),
}

/// Revoke a certificate.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// RFC 5280 reason name (`keyCompromise`, `superseded`, ...).
    pub reason: String,
    /// When the key was (suspected to be) compromised, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalidity_date: Option<String>,
    /// Issuer name, when a serial is ambiguous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Ask for a new CRL at once (emergency revocation).
    #[serde(default)]
    pub crl_now: bool,
}

/// Suspend or resume a certificate.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// Issuer name, when a serial is ambiguous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

/// What the CA knows of a certificate.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CertificateInfo {
    /// Serial, lowercase hex.
    pub serial: String,
    /// Issuer name.
    pub issuer: String,
    /// `pending`, `good`, `suspended` or `revoked`.
    pub status: String,
    /// Profile name.
    pub profile: String,
    /// Subject, RFC 4514.
    pub subject: String,
    /// SANs as `TYPE:value`.
    pub sans: Vec<String>,
    /// notBefore, RFC 3339.
    pub not_before: String,
    /// notAfter, RFC 3339.
    pub not_after: String,
    /// When revoked or suspended, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// RFC 5280 reason name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_reason: Option<String>,
    /// The certificate, PEM (absent while pending).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
}

/// A page of certificates.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CertificateList {
    /// The certificates, newest first.
    pub certificates: Vec<CertificateInfo>,
}

/// The CA certificates this signer issues under.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct IssuerList {
    /// Issuers.
    pub issuers: Vec<IssuerInfo>,
}

/// One issuer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct IssuerInfo {
    /// Name (`root`, `issuing`, `platform`).
    pub name: String,
    /// The CA certificate, PEM.
    pub certificate: String,
    /// Key type (`p256`, `sm2`, ...).
    pub key_type: String,
}

/// Typed calls to the CA API.
#[derive(Clone, Debug)]
pub struct CaClient(pub crate::ApiClient);

impl CaClient {
    /// Issues one certificate.
    pub async fn issue(&self, req: &IssueRequest) -> Result<IssuedCertificate, crate::ClientError> {
        self.0.post("/v1/certificates", req).await
    }

    /// Issues many certificates in one call.
    pub async fn issue_batch(
        &self,
        req: &BatchIssueRequest,
    ) -> Result<BatchIssueResponse, crate::ClientError> {
        self.0.post("/v1/certificates/batch", req).await
    }

    /// Revokes.
    pub async fn revoke(
        &self,
        serial: &str,
        req: &RevokeRequest,
    ) -> Result<CertificateInfo, crate::ClientError> {
        self.0
            .post(&format!("/v1/certificates/{serial}/revoke"), req)
            .await
    }

    /// Suspends (certificateHold).
    pub async fn suspend(
        &self,
        serial: &str,
        req: &StatusRequest,
    ) -> Result<CertificateInfo, crate::ClientError> {
        self.0
            .post(&format!("/v1/certificates/{serial}/suspend"), req)
            .await
    }

    /// Resumes a suspended certificate.
    pub async fn resume(
        &self,
        serial: &str,
        req: &StatusRequest,
    ) -> Result<CertificateInfo, crate::ClientError> {
        self.0
            .post(&format!("/v1/certificates/{serial}/resume"), req)
            .await
    }

    /// One certificate.
    pub async fn get(&self, serial: &str) -> Result<CertificateInfo, crate::ClientError> {
        self.0.get(&format!("/v1/certificates/{serial}")).await
    }

    /// A page of certificates.
    pub async fn list(
        &self,
        status: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> Result<CertificateList, crate::ClientError> {
        let status = status.map(|s| format!("&status={s}")).unwrap_or_default();
        self.0
            .get(&format!(
                "/v1/certificates?limit={limit}&offset={offset}{status}"
            ))
            .await
    }

    /// The CA's issuers.
    pub async fn issuers(&self) -> Result<IssuerList, crate::ClientError> {
        self.0.get("/v1/issuers").await
    }
}

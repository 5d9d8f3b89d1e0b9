//! Dual certificates through the CA (mutual TLS, roles ra and admin):
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | POST | `/v1/certificates/dual` | [`IssueRequest`] (a profile marked `dual`) | [`DualIssueResponse`] |
//!
//! The CA issues the signing certificate from the CSR, asks the KMC for an
//! escrowed encryption key pair, issues the encryption certificate for it,
//! and answers with both certificates and the encryption private key
//! enveloped to the CSR's key (open it with `signet envelope open`).

use serde::{Deserialize, Serialize};

use crate::ca::{CaClient, IssueRequest, IssuedCertificate};

/// Both certificates of a dual request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DualIssueResponse {
    /// The signing certificate (the CSR's key).
    pub signing: IssuedCertificate,
    /// The encryption certificate (the KMC's escrowed key).
    pub encryption: IssuedCertificate,
    /// The escrowed key's id at the KMC (key recovery names it).
    pub key_id: String,
    /// The encryption private key enveloped to the signing key, base64 of DER.
    pub envelope: String,
    /// `gmt0009-sm2-enveloped-key` or `cms-auth-enveloped-data`.
    pub envelope_format: String,
    /// True when this answers a retried request id.
    pub replayed: bool,
}

impl CaClient {
    /// Issues a dual certificate pair (profile marked `dual`).
    pub async fn issue_dual(
        &self,
        req: &IssueRequest,
    ) -> Result<DualIssueResponse, crate::ClientError> {
        self.0.post("/v1/certificates/dual", req).await
    }
}

//! The KMC's API (mutual TLS). Who may call what:
//!
//! | method | path | roles | body | answer |
//! |---|---|---|---|---|
//! | POST | `/v1/key-pairs` | ca | [`KeyPairRequest`] | [`KeyPairResponse`] |
//! | POST | `/v1/escrowed-keys/{id}/certificate` | ca | [`BindCertificateRequest`] | [`EscrowedKeyInfo`] |
//! | POST | `/v1/escrowed-keys/revoke` | ca, ra, admin | [`RevokeEscrowRequest`] | [`EscrowedKeyList`] |
//! | GET | `/v1/escrowed-keys/{id}` | ra, admin | | [`EscrowedKeyInfo`] |
//! | GET | `/v1/escrowed-keys?serial=HEX` | ra, admin | | [`EscrowedKeyList`] |
//! | POST | `/v1/recoveries` | ra, admin | [`RecoveryRequest`] | [`RecoveryInfo`] |
//! | GET | `/v1/recoveries/{id}` | ra, admin | | [`RecoveryInfo`] |
//! | POST | `/v1/recoveries/{id}/approve` | ra, admin | [`OfficerRequest`] | [`RecoveryInfo`] |
//! | POST | `/v1/recoveries/{id}/deliver` | ra, admin | [`OfficerRequest`] | [`DeliveredKey`] |
//! | GET | `/v1/keys/health` | ra, admin | | [`KeyHealth`] |
//! | POST | `/v1/keys/rotate` | admin | [`RotateRequest`] | [`RotatedKey`] |
//! | POST | `/v1/maintenance` | admin | `{}` | [`MaintenanceReport`] |
//! | GET | `/v1/data-keys` | admin | | [`DataKeyList`] |
//! | POST | `/v1/data-keys` | admin | [`CreateDataKeyRequest`] | [`DataKeyInfo`] |
//! | POST | `/v1/data-keys/{name}/grant` | admin | [`ClientRequest`] | [`DataKeyInfo`] |
//! | POST | `/v1/data-keys/{name}/revoke` | admin | [`ClientRequest`] | [`DataKeyInfo`] |
//! | POST | `/v1/data-keys/{name}/destroy` | admin | [`DestroyVersionRequest`] | [`DataKeyInfo`] |
//! | POST | `/v1/data-keys/{name}/encrypt` | app (allowed clients) | [`EncryptRequest`] | [`CiphertextResponse`] |
//! | POST | `/v1/data-keys/{name}/decrypt` | app (allowed clients) | [`DecryptRequest`] | [`PlaintextResponse`] |
//! | POST | `/v1/data-keys/{name}/re-encrypt` | app (allowed clients) | [`DecryptRequest`] | [`CiphertextResponse`] |
//!
//! No answer ever carries a private key in plaintext: key pairs and
//! recovered keys travel only enveloped to the subscriber's signing key
//! (`envelope`, base64 of DER; `envelope_format` says which kind: see
//! `signet_core::envelope`). Officers are named by the RA in the body
//! (`officer`); the KMC records them with the calling client's identity.

use serde::{Deserialize, Serialize};

use crate::{ApiClient, ClientError};

/// Generate, escrow and envelope an encryption key pair (the CA, for a
/// dual-certificate request).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct KeyPairRequest {
    /// The CA's request id: a retry with the same id and request returns
    /// the same key pair (freshly enveloped), never a second one.
    pub request_id: String,
    /// `sm2`, `p256`, `p384` or `rsa3072` (as the profile says).
    pub key_type: String,
    /// The subscriber's signing public key (from the CSR whose proof of
    /// possession the CA checked), PEM `PUBLIC KEY`.
    pub signing_key: String,
    /// The subscriber's subject DN (RFC 4514), for the escrow record.
    pub subject: String,
    /// Business domain (default: the KMC's default domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// A generated key pair.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyPairResponse {
    /// The escrowed key's id; the CA reports the issued certificate under it.
    pub key_id: String,
    /// Key type.
    pub key_type: String,
    /// The encryption public key for the certificate, PEM `PUBLIC KEY`.
    pub public_key: String,
    /// The private key enveloped to the signing key, base64 of DER.
    pub envelope: String,
    /// `gmt0009-sm2-enveloped-key` or `cms-auth-enveloped-data`.
    pub envelope_format: String,
    /// True when this answers a retried request id.
    pub replayed: bool,
}

/// The certificate issued for an escrowed key: archive the key with it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BindCertificateRequest {
    /// Issuer name (as the CA calls it).
    pub issuer: String,
    /// The encryption certificate, PEM. Its public key must be the
    /// escrowed key's.
    pub certificate: String,
}

/// A certificate was revoked: revoke its escrowed key with it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RevokeEscrowRequest {
    /// Certificate serial, hexadecimal.
    pub serial: String,
    /// Issuer name, when serials may repeat across issuers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// RFC 5280 reason name.
    pub reason: String,
    /// When, RFC 3339; default now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

/// What the KMC holds about an escrowed key (never the key).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EscrowedKeyInfo {
    /// Key id.
    pub key_id: String,
    /// Key type.
    pub key_type: String,
    /// Business domain.
    pub domain: String,
    /// Subscriber subject.
    pub subject: String,
    /// `escrowed`, `archived`, `revoked` or `destroyed`.
    pub state: String,
    /// Public key, PEM.
    pub public_key: String,
    /// Issuer of its certificate, once archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Serial of its certificate, once archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// notAfter of its certificate, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// Revocation time, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Revocation reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_reason: Option<String>,
    /// When retention ends and the key is destroyed, RFC 3339.
    pub destroy_after: String,
    /// Generated, RFC 3339.
    pub created_at: String,
}

/// Several escrowed keys.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EscrowedKeyList {
    /// The keys.
    pub keys: Vec<EscrowedKeyInfo>,
}

/// File a key recovery request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RecoveryRequest {
    /// The escrowed key to recover.
    pub key_id: String,
    /// The officer filing it (authenticated by the RA).
    pub officer: String,
    /// Why (ticket, circumstances).
    pub reason: String,
    /// The subscriber's current signing public key, PEM `PUBLIC KEY`: the
    /// recovered key is enveloped to it.
    pub signing_key: String,
}

/// An officer acting on a recovery (approve, deliver).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OfficerRequest {
    /// The officer (authenticated by the RA).
    pub officer: String,
}

/// A recovery request's state.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RecoveryInfo {
    /// Recovery id.
    pub id: String,
    /// The escrowed key.
    pub key_id: String,
    /// Who filed it.
    pub requester: String,
    /// Why.
    pub reason: String,
    /// `pending`, `approved`, `delivered` or `expired`.
    pub state: String,
    /// Officers who approved, in order.
    pub approvals: Vec<String>,
    /// Distinct approvals needed (the requester does not count).
    pub required_approvals: u32,
    /// Filed, RFC 3339.
    pub created_at: String,
    /// Approval and delivery must happen before this, RFC 3339.
    pub expires_at: String,
    /// Delivered, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<String>,
}

/// A recovered key, enveloped to the subscriber's current signing key.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeliveredKey {
    /// Recovery id.
    pub recovery_id: String,
    /// The escrowed key.
    pub key_id: String,
    /// Base64 of the envelope's DER.
    pub envelope: String,
    /// `gmt0009-sm2-enveloped-key` or `cms-auth-enveloped-data`.
    pub envelope_format: String,
}

/// One key of the hierarchy, in the health view.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyStatus {
    /// `root`, `master` or `working`.
    pub level: String,
    /// Domain (root: `-`).
    pub domain: String,
    /// Working key name (`escrow.<domain>` or a data key), or the domain.
    pub name: String,
    /// Version.
    pub version: i64,
    /// `active`, `retired` or `destroyed`.
    pub state: String,
    /// `escrow` or `data` for working keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// `aes-256-gcm` or `sm4-gcm` for working keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// Created, RFC 3339.
    pub created_at: String,
    /// Due for rotation, RFC 3339 (active keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate_at: Option<String>,
    /// True when an active key is past its rotation time.
    pub overdue: bool,
}

/// Counts by state.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct StateCounts {
    /// `state -> count`.
    pub counts: std::collections::BTreeMap<String, i64>,
}

/// The key health view.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyHealth {
    /// Every key of the hierarchy (destroyed ones included).
    pub keys: Vec<KeyStatus>,
    /// Master keys by state.
    pub master_keys: StateCounts,
    /// Working keys by state.
    pub working_keys: StateCounts,
    /// Escrowed keys by state.
    pub escrowed_keys: StateCounts,
    /// The earliest rotation due among active keys, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_rotation: Option<String>,
    /// Active keys past their rotation time (`master:<domain>`, `working:<name>`).
    pub overdue: Vec<String>,
}

/// Rotate a key now (after an incident, or ahead of schedule).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// `master` (name = domain: new master version, working keys
    /// rewrapped) or `working` (name = `escrow.<domain>` or a data key).
    pub level: String,
    /// Domain or working key name.
    pub name: String,
    /// Why, for the audit trail.
    #[serde(default)]
    pub reason: String,
}

/// The new version after a rotation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RotatedKey {
    /// `master` or `working`.
    pub level: String,
    /// Domain or working key name.
    pub name: String,
    /// The new active version.
    pub version: i64,
}

/// What a maintenance run did.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct MaintenanceReport {
    /// Keys rotated because they were due (`master:<domain>:v<n>`, `working:<name>:v<n>`).
    pub rotated: Vec<String>,
    /// Escrowed keys destroyed after retention.
    pub escrows_destroyed: Vec<String>,
    /// Keys crypto-erased because they wrapped nothing any more.
    pub keys_destroyed: Vec<String>,
    /// Recovery requests expired.
    pub recoveries_expired: Vec<String>,
}

/// A data key, for administrators.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DataKeyInfo {
    /// Name.
    pub name: String,
    /// Business domain.
    pub domain: String,
    /// `aes-256-gcm` or `sm4-gcm`.
    pub algorithm: String,
    /// The version new ciphertexts use.
    pub active_version: i64,
    /// Versions that still decrypt (active and retired).
    pub live_versions: Vec<i64>,
    /// Client certificate common names allowed to use it.
    pub clients: Vec<String>,
}

/// Every data key.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DataKeyList {
    /// The keys.
    pub keys: Vec<DataKeyInfo>,
}

/// Create a data key.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CreateDataKeyRequest {
    /// Name: lowercase letters, digits, `.`, `_`, `-`; at most 64.
    pub name: String,
    /// Business domain (default: the KMC's default domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// `aes-256-gcm` (default) or `sm4-gcm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// Client common names allowed to use it.
    #[serde(default)]
    pub clients: Vec<String>,
}

/// A client common name to grant or withdraw.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClientRequest {
    /// The client certificate's common name.
    pub client: String,
}

/// Destroy one retired version of a data key: ciphertexts under it can
/// never be decrypted again.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DestroyVersionRequest {
    /// The version.
    pub version: i64,
}

/// Encrypt under a data key.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EncryptRequest {
    /// Base64 of the plaintext.
    pub plaintext: String,
    /// Base64 of associated data bound to the ciphertext (must be given
    /// again to decrypt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad: Option<String>,
}

/// Decrypt (or re-encrypt) a data-key ciphertext.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DecryptRequest {
    /// Base64 of the ciphertext.
    pub ciphertext: String,
    /// Base64 of the associated data given at encryption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad: Option<String>,
}

/// A ciphertext.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CiphertextResponse {
    /// Base64 of the ciphertext; it names the key version inside.
    pub ciphertext: String,
    /// The key version used.
    pub version: i64,
}

/// A plaintext.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PlaintextResponse {
    /// Base64 of the plaintext.
    pub plaintext: String,
    /// The key version that decrypted it.
    pub version: i64,
}

/// The KMC's API through an mTLS [`ApiClient`].
#[derive(Clone, Debug)]
pub struct KmcClient(pub ApiClient);

fn seg(s: &str) -> String {
    // Ids and names are restricted to URL-safe characters by the KMC; this
    // keeps a stray character from changing the path.
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c.to_string()
            } else {
                format!("%{:02X}", u32::from(c) & 0xff)
            }
        })
        .collect()
}

impl KmcClient {
    /// Generates, escrows and envelopes an encryption key pair (role ca).
    pub async fn generate_key_pair(
        &self,
        req: &KeyPairRequest,
    ) -> Result<KeyPairResponse, ClientError> {
        self.0.post("/v1/key-pairs", req).await
    }

    /// Archives an escrowed key with its issued certificate (role ca).
    pub async fn bind_certificate(
        &self,
        key_id: &str,
        req: &BindCertificateRequest,
    ) -> Result<EscrowedKeyInfo, ClientError> {
        self.0
            .post(
                &format!("/v1/escrowed-keys/{}/certificate", seg(key_id)),
                req,
            )
            .await
    }

    /// Revokes the escrowed keys of a revoked certificate.
    pub async fn revoke_escrow(
        &self,
        req: &RevokeEscrowRequest,
    ) -> Result<EscrowedKeyList, ClientError> {
        self.0.post("/v1/escrowed-keys/revoke", req).await
    }

    /// One escrowed key's record.
    pub async fn escrowed_key(&self, key_id: &str) -> Result<EscrowedKeyInfo, ClientError> {
        self.0
            .get(&format!("/v1/escrowed-keys/{}", seg(key_id)))
            .await
    }

    /// The escrowed keys of a certificate serial.
    pub async fn escrowed_keys_by_serial(
        &self,
        serial: &str,
    ) -> Result<EscrowedKeyList, ClientError> {
        self.0
            .get(&format!("/v1/escrowed-keys?serial={}", seg(serial)))
            .await
    }

    /// Files a recovery request.
    pub async fn request_recovery(
        &self,
        req: &RecoveryRequest,
    ) -> Result<RecoveryInfo, ClientError> {
        self.0.post("/v1/recoveries", req).await
    }

    /// A recovery request's state.
    pub async fn recovery(&self, id: &str) -> Result<RecoveryInfo, ClientError> {
        self.0.get(&format!("/v1/recoveries/{}", seg(id))).await
    }

    /// Approves a recovery request as `officer`.
    pub async fn approve_recovery(
        &self,
        id: &str,
        officer: &str,
    ) -> Result<RecoveryInfo, ClientError> {
        let body = OfficerRequest {
            officer: officer.to_owned(),
        };
        self.0
            .post(&format!("/v1/recoveries/{}/approve", seg(id)), &body)
            .await
    }

    /// Has an approved recovery delivered: the key enveloped to the
    /// subscriber's signing key.
    pub async fn deliver_recovery(
        &self,
        id: &str,
        officer: &str,
    ) -> Result<DeliveredKey, ClientError> {
        let body = OfficerRequest {
            officer: officer.to_owned(),
        };
        self.0
            .post(&format!("/v1/recoveries/{}/deliver", seg(id)), &body)
            .await
    }

    /// The key health view.
    pub async fn key_health(&self) -> Result<KeyHealth, ClientError> {
        self.0.get("/v1/keys/health").await
    }

    /// Rotates a key now.
    pub async fn rotate(&self, req: &RotateRequest) -> Result<RotatedKey, ClientError> {
        self.0.post("/v1/keys/rotate", req).await
    }

    /// Runs scheduled rotations and retention now.
    pub async fn maintenance(&self) -> Result<MaintenanceReport, ClientError> {
        self.0.post("/v1/maintenance", &serde_json::json!({})).await
    }

    /// Every data key.
    pub async fn data_keys(&self) -> Result<DataKeyList, ClientError> {
        self.0.get("/v1/data-keys").await
    }

    /// Creates a data key.
    pub async fn create_data_key(
        &self,
        req: &CreateDataKeyRequest,
    ) -> Result<DataKeyInfo, ClientError> {
        self.0.post("/v1/data-keys", req).await
    }

    /// Allows `client` to use data key `name`.
    pub async fn grant_data_key(
        &self,
        name: &str,
        client: &str,
    ) -> Result<DataKeyInfo, ClientError> {
        let body = ClientRequest {
            client: client.to_owned(),
        };
        self.0
            .post(&format!("/v1/data-keys/{}/grant", seg(name)), &body)
            .await
    }

    /// Withdraws `client`'s use of data key `name`.
    pub async fn revoke_data_key(
        &self,
        name: &str,
        client: &str,
    ) -> Result<DataKeyInfo, ClientError> {
        let body = ClientRequest {
            client: client.to_owned(),
        };
        self.0
            .post(&format!("/v1/data-keys/{}/revoke", seg(name)), &body)
            .await
    }

    /// Destroys a retired version of data key `name`.
    pub async fn destroy_data_key_version(
        &self,
        name: &str,
        version: i64,
    ) -> Result<DataKeyInfo, ClientError> {
        let body = DestroyVersionRequest { version };
        self.0
            .post(&format!("/v1/data-keys/{}/destroy", seg(name)), &body)
            .await
    }

    /// Encrypts under data key `name` (role app, allowed clients).
    pub async fn encrypt(
        &self,
        name: &str,
        req: &EncryptRequest,
    ) -> Result<CiphertextResponse, ClientError> {
        self.0
            .post(&format!("/v1/data-keys/{}/encrypt", seg(name)), req)
            .await
    }

    /// Decrypts a ciphertext of data key `name`.
    pub async fn decrypt(
        &self,
        name: &str,
        req: &DecryptRequest,
    ) -> Result<PlaintextResponse, ClientError> {
        self.0
            .post(&format!("/v1/data-keys/{}/decrypt", seg(name)), req)
            .await
    }

    /// Re-encrypts a ciphertext under the key's active version, without the
    /// plaintext leaving the KMC.
    pub async fn re_encrypt(
        &self,
        name: &str,
        req: &DecryptRequest,
    ) -> Result<CiphertextResponse, ClientError> {
        self.0
            .post(&format!("/v1/data-keys/{}/re-encrypt", seg(name)), req)
            .await
    }
}

//! The REST API's JSON bodies. Each type states its own JSON Schema
//! ([`ApiSchema`]) right beside its fields, so the OpenAPI document is
//! built from the same code that serialises the answers; a unit test
//! checks that every serialised field is in the schema and every required
//! one is serialised.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use signet_store::ra::RequestRecord;

/// A type's JSON Schema, for `components/schemas`.
pub(crate) trait ApiSchema {
    /// The component name.
    const NAME: &'static str;
    /// The schema.
    fn schema() -> Value;
}

/// `POST /api/v1/certificates`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnrollRequest {
    /// A profile the client is registered for.
    pub profile: String,
    /// PKCS#10 request, PEM.
    pub csr: String,
    /// Unit the certificate belongs to; default the client's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_unit_id: Option<i64>,
    /// Subject DN (RFC 4514) replacing the CSR's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// SANs (`DNS:x`, `IP:x`, `email:x`, `URI:x`) replacing the CSR's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sans: Option<Vec<String>>,
}

impl ApiSchema for EnrollRequest {
    const NAME: &'static str = "EnrollRequest";
    fn schema() -> Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["profile", "csr"],
            "properties": {
                "profile": {"type": "string", "minLength": 1, "maxLength": 64, "description": "A profile this client is registered for."},
                "csr": {"type": "string", "minLength": 1, "maxLength": 65536, "description": "PKCS#10 certificate request, PEM."},
                "org_unit_id": {"type": "integer", "format": "int64", "description": "Organisation unit (default: the client's own; must be within it)."},
                "subject": {"type": "string", "minLength": 1, "description": "Subject DN (RFC 4514) replacing the CSR's; the CA checks it against the profile."},
                "sans": {"type": "array", "minItems": 1, "items": {"type": "string"}, "description": "SANs (`DNS:x`, `IP:x`, `email:x`, `URI:x`) replacing the CSR's."}
            }
        })
    }
}

/// `POST /api/v1/certificates/{serial}/revoke`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevokeBody {
    /// RFC 5280 reason name.
    pub reason: String,
    /// When the key was (suspected to be) compromised, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalidity_date: Option<String>,
    /// Ask the CA for a new CRL at once (emergency revocation).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub crl_now: bool,
}

impl ApiSchema for RevokeBody {
    const NAME: &'static str = "RevokeRequest";
    fn schema() -> Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["reason"],
            "properties": {
                "reason": {
                    "type": "string",
                    "enum": crate::authority::REVOCATION_REASONS,
                    "description": "RFC 5280 §5.3.1 reason."
                },
                "invalidity_date": {"type": "string", "format": "date-time", "description": "When the key was (suspected to be) compromised (RFC 5280 §5.3.2)."},
                "crl_now": {"type": "boolean", "default": false, "description": "Have the CA sign a new CRL at once (emergency revocation)."}
            }
        })
    }
}

/// A certificate as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CertificateBody {
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
    #[serde(skip_serializing_if = "Option::is_none")]
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

impl ApiSchema for CertificateBody {
    const NAME: &'static str = "Certificate";
    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["serial", "issuer", "profile", "subject", "status", "not_after", "certificate", "chain", "request_id"],
            "properties": {
                "serial": {"type": "string", "pattern": "^[0-9a-f]+$"},
                "issuer": {"type": "string"},
                "profile": {"type": "string"},
                "subject": {"type": "string"},
                "status": {"type": "string", "enum": ["good", "suspended", "revoked"]},
                "revocation_reason": {"type": "string"},
                "not_after": {"type": "string", "format": "date-time"},
                "certificate": {"type": "string", "description": "PEM"},
                "chain": {"type": "array", "items": {"type": "string"}, "description": "Issuing chain without the root, nearest first, PEM."},
                "request_id": {"type": "string"}
            }
        })
    }
}

/// Splits concatenated PEM certificates.
fn split_pem(text: &str) -> Vec<String> {
    const END: &str = "-----END CERTIFICATE-----";
    text.split_inclusive(END)
        .map(str::trim)
        .filter(|p| p.ends_with(END))
        .map(|p| format!("{p}\n"))
        .collect()
}

impl TryFrom<&RequestRecord> for CertificateBody {
    type Error = crate::error::RaError;

    fn try_from(r: &RequestRecord) -> Result<Self, Self::Error> {
        let missing = || crate::error::RaError::NotFound {
            what: "certificate",
        };
        let not_after = r.not_after.ok_or_else(missing)?;
        Ok(CertificateBody {
            serial: r.serial.clone().ok_or_else(missing)?,
            issuer: r.issuer.clone().ok_or_else(missing)?,
            profile: r.profile.clone(),
            subject: r.subject.clone(),
            status: r.cert_status.clone().ok_or_else(missing)?,
            revocation_reason: r.revocation_reason.clone(),
            not_after: time::OffsetDateTime::from_unix_timestamp(not_after.unix())
                .ok()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default(),
            certificate: r.certificate_pem.clone().ok_or_else(missing)?,
            chain: split_pem(r.chain_pem.as_deref().unwrap_or_default()),
            request_id: r.uid.clone(),
        })
    }
}

/// A page of certificates.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CertificateList {
    /// Newest first.
    pub certificates: Vec<CertificateBody>,
}

impl ApiSchema for CertificateList {
    const NAME: &'static str = "CertificateList";
    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["certificates"],
            "properties": {
                "certificates": {"type": "array", "items": {"$ref": "#/components/schemas/Certificate"}}
            }
        })
    }
}

/// Every error answer.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ErrorBody {
    /// Stable code (`not_found`, `replayed`, `invalid_csr`, ...).
    pub error: String,
    /// One line for people; never secrets.
    pub message: String,
}

impl ApiSchema for ErrorBody {
    const NAME: &'static str = "Error";
    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["error", "message"],
            "properties": {
                "error": {"type": "string"},
                "message": {"type": "string"}
            }
        })
    }
}

/// Every component, for the document.
pub(crate) fn components() -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert(EnrollRequest::NAME.into(), EnrollRequest::schema());
    m.insert(RevokeBody::NAME.into(), RevokeBody::schema());
    m.insert(CertificateBody::NAME.into(), CertificateBody::schema());
    m.insert(CertificateList::NAME.into(), CertificateList::schema());
    m.insert(ErrorBody::NAME.into(), ErrorBody::schema());
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every serialised field is declared, and every required one present.
    fn conforms<T: Serialize + ApiSchema>(value: &T) {
        let json = serde_json::to_value(value).unwrap();
        let schema = T::schema();
        let props = schema["properties"].as_object().unwrap();
        let obj = json.as_object().unwrap();
        for k in obj.keys() {
            assert!(props.contains_key(k), "{}: {k} not in schema", T::NAME);
        }
        for r in schema["required"].as_array().unwrap() {
            assert!(
                obj.contains_key(r.as_str().unwrap()),
                "{}: {r} missing",
                T::NAME
            );
        }
    }

    #[test]
    fn bodies_match_their_schemas() {
        conforms(&EnrollRequest {
            profile: "server".into(),
            csr: "x".into(),
            org_unit_id: Some(2),
            subject: Some("CN=x".into()),
            sans: Some(vec!["DNS:x".into()]),
        });
        conforms(&RevokeBody {
            reason: "keyCompromise".into(),
            invalidity_date: Some("2030-01-01T00:00:00Z".into()),
            crl_now: true,
        });
        conforms(&CertificateBody {
            serial: "01ab".into(),
            issuer: "issuing".into(),
            profile: "server".into(),
            subject: "CN=x".into(),
            status: "revoked".into(),
            revocation_reason: Some("keyCompromise".into()),
            not_after: "2030-01-01T00:00:00Z".into(),
            certificate: "PEM".into(),
            chain: vec!["PEM".into()],
            request_id: "r".into(),
        });
        conforms(&ErrorBody {
            error: "e".into(),
            message: "m".into(),
        });
    }

    #[test]
    fn chains_split_into_certificates() {
        let one = "-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n";
        assert_eq!(
            split_pem(&format!("{one}{one}")),
            vec![one.to_owned(), one.to_owned()]
        );
        assert!(split_pem("").is_empty());
    }
}

//! The REST API's JSON bodies. Each type states its own JSON Schema
//! ([`ApiSchema`]) right beside its fields, so the OpenAPI document is
//! built from the same code that serialises the answers; a unit test
//! checks that every serialised field is in the schema and every required
//! one is serialised.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use signet_store::ra::{BatchRecord, RequestRecord};

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
    /// The certificate's subject alternative names as OpenSSL prints
    /// them (`DNS:a.example`, `IP:10.0.0.1`).
    pub sans: Vec<String>,
    /// The RA's request id.
    pub request_id: String,
}

impl ApiSchema for CertificateBody {
    const NAME: &'static str = "Certificate";
    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["serial", "issuer", "profile", "subject", "status", "not_after", "certificate", "chain", "sans", "request_id"],
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
                "sans": {"type": "array", "items": {"type": "string"}, "description": "Subject alternative names as OpenSSL prints them (DNS:a.example, IP:10.0.0.1)."},
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
            sans: r
                .sans
                .as_deref()
                .unwrap_or_default()
                .split(", ")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
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

/// One row of `POST /api/v1/batches`: the fields of a console batch row.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BatchRowBody {
    /// A profile the client is registered for.
    pub profile: String,
    /// PKCS#10 request, PEM.
    pub csr: String,
    /// Subject DN (RFC 4514) replacing the CSR's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// SANs replacing the CSR's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sans: Option<Vec<String>>,
}

impl ApiSchema for BatchRowBody {
    const NAME: &'static str = "BatchRow";
    fn schema() -> Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["profile", "csr"],
            "properties": {
                "profile": {"type": "string", "minLength": 1, "maxLength": 64, "description": "A profile this client is registered for."},
                "csr": {"type": "string", "minLength": 1, "maxLength": 65536, "description": "PKCS#10 certificate request, PEM."},
                "subject": {"type": "string", "minLength": 1, "description": "Subject DN (RFC 4514) replacing the CSR's; the CA checks it against the profile."},
                "sans": {"type": "array", "minItems": 1, "items": {"type": "string"}, "description": "SANs (`DNS:x`, `IP:x`, `email:x`, `URI:x`) replacing the CSR's."}
            }
        })
    }
}

/// `POST /api/v1/batches`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BatchSubmit {
    /// Unit the certificates belong to; default the client's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_unit_id: Option<i64>,
    /// File the valid rows even if some are bad (the bad ones are listed).
    #[serde(default)]
    pub issue_valid_rows: bool,
    /// The rows; row `n` (from 1) is element `n - 1`.
    pub rows: Vec<BatchRowBody>,
}

impl ApiSchema for BatchSubmit {
    const NAME: &'static str = "BatchRequest";
    fn schema() -> Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["rows"],
            "properties": {
                "org_unit_id": {"type": "integer", "format": "int64", "description": "Organisation unit (default: the client's own; must be within it)."},
                "issue_valid_rows": {"type": "boolean", "default": false, "description": "File the valid rows even if some are bad; the bad ones are listed in skipped_rows."},
                "rows": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/BatchRow"}, "description": "At most batch.max_rows rows."}
            }
        })
    }
}

/// Why one row was refused.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct BatchRowError {
    /// Index in `rows`, from 0.
    pub index: usize,
    /// Row number, from 1 (as in `report.csv` and the ZIP's file names).
    pub line: usize,
    /// Stable code (`invalid_csr`, `invalid_profile`, ...).
    pub error: String,
    /// One line for people.
    pub message: String,
}

impl ApiSchema for BatchRowError {
    const NAME: &'static str = "BatchRowError";
    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["index", "line", "error", "message"],
            "properties": {
                "index": {"type": "integer", "minimum": 0, "description": "Index in rows, from 0."},
                "line": {"type": "integer", "minimum": 1, "description": "Row number from 1, as report.csv and the result's file names give it."},
                "error": {"type": "string", "enum": ["invalid_profile", "profile_not_registered", "invalid_csr", "invalid_subject", "invalid_sans"]},
                "message": {"type": "string"}
            }
        })
    }
}

/// A batch as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct BatchBody {
    /// The batch id.
    pub id: String,
    /// `running` or `done` (`pending` and `rejected` for officers' batches).
    pub status: String,
    /// Unit.
    pub org_unit_id: i64,
    /// Rows filed.
    pub total: i64,
    /// Rows issued so far.
    pub issued: i64,
    /// Rows the CA refused.
    pub failed: i64,
    /// Filed, RFC 3339.
    pub created_at: String,
    /// This batch's URL.
    pub location: String,
    /// The result ZIP's URL, once done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// Rows left out at filing (with `issue_valid_rows`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_rows: Vec<BatchRowError>,
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

impl BatchBody {
    /// The API's view of `b`, with the rows skipped at filing.
    pub(crate) fn new(b: &BatchRecord, skipped_rows: Vec<BatchRowError>) -> Self {
        let location = format!("/api/v1/batches/{}", b.uid);
        BatchBody {
            id: b.uid.clone(),
            status: b.status.clone(),
            org_unit_id: b.org_unit_id,
            total: b.total,
            issued: b.issued,
            failed: b.failed,
            created_at: rfc3339(b.created_at),
            result: (b.status == "done").then(|| format!("{location}/result.zip")),
            location,
            skipped_rows,
        }
    }
}

impl ApiSchema for BatchBody {
    const NAME: &'static str = "Batch";
    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["id", "status", "org_unit_id", "total", "issued", "failed", "created_at", "location"],
            "properties": {
                "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                "status": {"type": "string", "enum": ["pending", "running", "done", "rejected"]},
                "org_unit_id": {"type": "integer", "format": "int64"},
                "total": {"type": "integer", "minimum": 0, "description": "Rows filed."},
                "issued": {"type": "integer", "minimum": 0, "description": "Rows issued so far."},
                "failed": {"type": "integer", "minimum": 0, "description": "Rows the CA refused (reasons in report.csv)."},
                "created_at": {"type": "string", "format": "date-time"},
                "location": {"type": "string", "description": "This batch's URL (also the Location header of the 202 answer)."},
                "result": {"type": "string", "description": "The result ZIP's URL, once the batch is done."},
                "skipped_rows": {"type": "array", "items": {"$ref": "#/components/schemas/BatchRowError"}, "description": "Bad rows left out at filing (issue_valid_rows)."}
            }
        })
    }
}

/// The answer when a batch is refused for its rows: nothing was filed.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct BatchRefusal {
    /// `invalid_rows`.
    pub error: String,
    /// One line for people.
    pub message: String,
    /// Rows sent.
    pub total: usize,
    /// Every bad row.
    pub rows: Vec<BatchRowError>,
}

impl ApiSchema for BatchRefusal {
    const NAME: &'static str = "BatchRefusal";
    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["error", "message", "total", "rows"],
            "properties": {
                "error": {"type": "string", "enum": ["invalid_rows"]},
                "message": {"type": "string"},
                "total": {"type": "integer", "minimum": 1, "description": "Rows sent."},
                "rows": {"type": "array", "items": {"$ref": "#/components/schemas/BatchRowError"}, "description": "Every bad row."}
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
    m.insert(BatchRowBody::NAME.into(), BatchRowBody::schema());
    m.insert(BatchSubmit::NAME.into(), BatchSubmit::schema());
    m.insert(BatchRowError::NAME.into(), BatchRowError::schema());
    m.insert(BatchBody::NAME.into(), BatchBody::schema());
    m.insert(BatchRefusal::NAME.into(), BatchRefusal::schema());
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
            sans: vec!["DNS:x".into(), "IP:10.0.0.1".into()],
            request_id: "r".into(),
        });
        conforms(&ErrorBody {
            error: "e".into(),
            message: "m".into(),
        });
        let row = BatchRowBody {
            profile: "server".into(),
            csr: "x".into(),
            subject: Some("CN=x".into()),
            sans: Some(vec!["DNS:x".into()]),
        };
        conforms(&row);
        conforms(&BatchSubmit {
            org_unit_id: Some(2),
            issue_valid_rows: true,
            rows: vec![row],
        });
        let bad = BatchRowError {
            index: 0,
            line: 1,
            error: "invalid_csr".into(),
            message: "m".into(),
        };
        conforms(&bad);
        conforms(&BatchRefusal {
            error: "invalid_rows".into(),
            message: "m".into(),
            total: 1,
            rows: vec![bad.clone()],
        });
        conforms(&BatchBody::new(
            &BatchRecord {
                id: 1,
                uid: "0123456789abcdef0123456789abcdef".into(),
                org_unit_id: 1,
                filed_by: None,
                api_client_id: Some(1),
                status: "done".into(),
                approvals_required: 0,
                total: 2,
                issued: 1,
                failed: 1,
                created_at: 0,
            },
            vec![bad],
        ));
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

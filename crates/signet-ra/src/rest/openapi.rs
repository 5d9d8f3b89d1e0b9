//! The OpenAPI 3.1 document of the REST API, built from [`ENDPOINTS`] (the
//! same table the router is built from, so a route cannot exist without
//! its description or the other way round) and the schemas each wire type
//! declares ([`super::wire`]).

use axum::routing::{MethodRouter, get, post};
use serde_json::{Map, Value, json};

use super::handlers;
use crate::web::AppState;

/// Where a parameter goes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum In {
    Path,
    Query,
    Header,
}

/// One parameter.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Param {
    pub name: &'static str,
    pub at: In,
    pub required: bool,
    pub schema: &'static str,
    pub description: &'static str,
}

/// One operation: its route and its description.
pub(crate) struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    pub operation_id: &'static str,
    pub summary: &'static str,
    pub params: &'static [Param],
    pub request: Option<&'static str>,
    /// (status, description, schema component or none).
    pub responses: &'static [(u16, &'static str, Option<&'static str>)],
    pub secured: bool,
    pub route: fn() -> MethodRouter<AppState>,
}

const STRING: &str = r#"{"type":"string"}"#;
const INTEGER: &str = r#"{"type":"integer","minimum":0}"#;

const FRESHNESS: [Param; 3] = [
    Param {
        name: "X-Signet-Timestamp",
        at: In::Header,
        required: true,
        schema: r#"{"type":"string","pattern":"^-?[0-9]{1,19}$"}"#,
        description: "Unix seconds when the call was made; refused beyond api.max_clock_skew of the RA's clock.",
    },
    Param {
        name: "X-Signet-Nonce",
        at: In::Header,
        required: true,
        schema: r#"{"type":"string","pattern":"^[A-Za-z0-9_-]{16,128}$"}"#,
        description: "Fresh random value; a nonce already seen from this client is refused as a replay.",
    },
    Param {
        name: "Idempotency-Key",
        at: In::Header,
        required: false,
        schema: r#"{"type":"string","pattern":"^[!-~]{1,128}$"}"#,
        description: "Retrying with the same key and request returns the first answer; nothing is done twice. The same key with another request is refused: 400 `idempotency_key_reused`.",
    },
];

const SERIAL: Param = Param {
    name: "serial",
    at: In::Path,
    required: true,
    schema: r#"{"type":"string","pattern":"^[0-9a-fA-F]{1,40}$"}"#,
    description: "Certificate serial number, hex.",
};

const BATCH_ID: Param = Param {
    name: "id",
    at: In::Path,
    required: true,
    schema: r#"{"type":"string","pattern":"^[0-9a-f]{32}$"}"#,
    description: "Batch id, as the 202 answer gave it.",
};

/// The operation whose body may be `api.max_batch_body_bytes` instead of
/// `api.max_body_bytes`.
pub(crate) const BATCH_SUBMIT: &str = "submitBatch";

/// The operation answering a ZIP file rather than JSON.
const BATCH_RESULT: &str = "batchResult";

/// Every route of the API.
pub(crate) const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: "post",
        path: "/api/v1/certificates",
        operation_id: "enroll",
        summary: "Enroll: issue a certificate for a CSR under a profile this client is registered for.",
        params: &FRESHNESS,
        request: Some("EnrollRequest"),
        responses: &[
            (
                201,
                "Issued (or the stored answer of a retried Idempotency-Key).",
                Some("Certificate"),
            ),
            (
                400,
                "Malformed body or CSR (`invalid_csr`, in the CA's words), a profile the RA does not offer (`invalid_profile`), a dual profile (`dual_not_available`), an Idempotency-Key used for another request (`idempotency_key_reused`), or a stale timestamp / missing nonce.",
                Some("Error"),
            ),
            (401, "No or unknown credentials.", Some("Error")),
            (
                403,
                "Profile or unit not allowed for this client.",
                Some("Error"),
            ),
            (409, "Replayed nonce.", Some("Error")),
            (413, "Body larger than api.max_body_bytes.", None),
            (422, "The CA refused.", Some("Error")),
            (429, "Over the client's rate limit.", Some("Error")),
            (
                503,
                "The CA is unavailable; retry with the same Idempotency-Key.",
                Some("Error"),
            ),
        ],
        secured: true,
        route: || post(handlers::enroll),
    },
    Endpoint {
        method: "get",
        path: "/api/v1/certificates",
        operation_id: "search",
        summary: "Search the certificates of this client's organisation unit and the units below.",
        params: &[
            Param {
                name: "status",
                at: In::Query,
                required: false,
                schema: r#"{"type":"string","enum":["good","suspended","revoked"]}"#,
                description: "Certificate status.",
            },
            Param {
                name: "profile",
                at: In::Query,
                required: false,
                schema: STRING,
                description: "Profile name.",
            },
            Param {
                name: "subject",
                at: In::Query,
                required: false,
                schema: STRING,
                description: "Substring of the subject.",
            },
            Param {
                name: "san",
                at: In::Query,
                required: false,
                schema: STRING,
                description: "Substring of the certificate's subject alternative names as OpenSSL prints them (`DNS:a.example, IP:10.0.0.1`), case-insensitive.",
            },
            Param {
                name: "limit",
                at: In::Query,
                required: false,
                schema: r#"{"type":"integer","minimum":1,"maximum":1000}"#,
                description: "At most this many (default 100).",
            },
            Param {
                name: "offset",
                at: In::Query,
                required: false,
                schema: INTEGER,
                description: "Skip this many.",
            },
        ],
        request: None,
        responses: &[
            (200, "Certificates, newest first.", Some("CertificateList")),
            (400, "Bad query.", Some("Error")),
            (401, "No or unknown credentials.", Some("Error")),
            (429, "Over the client's rate limit.", Some("Error")),
        ],
        secured: true,
        route: || get(handlers::search),
    },
    Endpoint {
        method: "get",
        path: "/api/v1/certificates/{serial}",
        operation_id: "get",
        summary: "One certificate of this client's scope, with its status and chain.",
        params: &[SERIAL],
        request: None,
        responses: &[
            (200, "The certificate.", Some("Certificate")),
            (401, "No or unknown credentials.", Some("Error")),
            (
                404,
                "No such certificate in this client's scope.",
                Some("Error"),
            ),
            (429, "Over the client's rate limit.", Some("Error")),
        ],
        secured: true,
        route: || get(handlers::get),
    },
    Endpoint {
        method: "post",
        path: "/api/v1/certificates/{serial}/revoke",
        operation_id: "revoke",
        summary: "Revoke a certificate of this client's scope.",
        params: &[SERIAL, FRESHNESS[0], FRESHNESS[1], FRESHNESS[2]],
        request: Some("RevokeRequest"),
        responses: &[
            (200, "Revoked.", Some("Certificate")),
            (
                400,
                "Malformed body or reason, an Idempotency-Key used for another request (`idempotency_key_reused`), or a stale timestamp / missing nonce.",
                Some("Error"),
            ),
            (401, "No or unknown credentials.", Some("Error")),
            (
                404,
                "No such certificate in this client's scope.",
                Some("Error"),
            ),
            (409, "Replayed nonce.", Some("Error")),
            (413, "Body larger than api.max_body_bytes.", None),
            (422, "The CA refused (e.g. already revoked).", Some("Error")),
            (429, "Over the client's rate limit.", Some("Error")),
            (
                503,
                "The CA is unavailable; retry with the same Idempotency-Key.",
                Some("Error"),
            ),
        ],
        secured: true,
        route: || post(handlers::revoke),
    },
    Endpoint {
        method: "post",
        path: "/api/v1/certificates/{serial}/suspend",
        operation_id: "suspend",
        summary: "Suspend (certificateHold) a certificate of this client's scope; no body.",
        params: &[SERIAL, FRESHNESS[0], FRESHNESS[1], FRESHNESS[2]],
        request: None,
        responses: &[
            (200, "Suspended.", Some("Certificate")),
            (
                400,
                "A stale timestamp or missing nonce, or an Idempotency-Key used for another request (`idempotency_key_reused`).",
                Some("Error"),
            ),
            (401, "No or unknown credentials.", Some("Error")),
            (
                404,
                "No such certificate in this client's scope.",
                Some("Error"),
            ),
            (409, "Replayed nonce.", Some("Error")),
            (422, "The CA refused (e.g. not valid).", Some("Error")),
            (429, "Over the client's rate limit.", Some("Error")),
            (
                503,
                "The CA is unavailable; retry with the same Idempotency-Key.",
                Some("Error"),
            ),
        ],
        secured: true,
        route: || post(handlers::suspend),
    },
    Endpoint {
        method: "post",
        path: "/api/v1/certificates/{serial}/resume",
        operation_id: "resume",
        summary: "Resume a suspended certificate of this client's scope; no body.",
        params: &[SERIAL, FRESHNESS[0], FRESHNESS[1], FRESHNESS[2]],
        request: None,
        responses: &[
            (200, "Valid again.", Some("Certificate")),
            (
                400,
                "A stale timestamp or missing nonce, or an Idempotency-Key used for another request (`idempotency_key_reused`).",
                Some("Error"),
            ),
            (401, "No or unknown credentials.", Some("Error")),
            (
                404,
                "No such certificate in this client's scope.",
                Some("Error"),
            ),
            (409, "Replayed nonce.", Some("Error")),
            (422, "The CA refused (e.g. not suspended).", Some("Error")),
            (429, "Over the client's rate limit.", Some("Error")),
            (
                503,
                "The CA is unavailable; retry with the same Idempotency-Key.",
                Some("Error"),
            ),
        ],
        secured: true,
        route: || post(handlers::resume),
    },
    Endpoint {
        method: "post",
        path: "/api/v1/batches",
        operation_id: BATCH_SUBMIT,
        summary: "Submit a batch: many CSRs under profiles this client is registered for. Every row is validated first; with a bad row nothing is filed unless issue_valid_rows. No officer approval: the job starts at once; poll the batch, then fetch its result ZIP.",
        params: &FRESHNESS,
        request: Some("BatchRequest"),
        responses: &[
            (
                202,
                "Filed and running (or, for a retried Idempotency-Key, the batch it filed first: never a second batch); Location names the batch.",
                Some("Batch"),
            ),
            (
                400,
                "Malformed body, no rows or more than batch.max_rows, an Idempotency-Key used for another request (`idempotency_key_reused`), or a stale timestamp / missing nonce.",
                Some("Error"),
            ),
            (401, "No or unknown credentials.", Some("Error")),
            (403, "Unit not allowed for this client.", Some("Error")),
            (409, "Replayed nonce.", Some("Error")),
            (413, "Body larger than api.max_batch_body_bytes.", None),
            (
                422,
                "Bad rows, each named (index, line, reason): nothing was filed.",
                Some("BatchRefusal"),
            ),
            (429, "Over the client's rate limit.", Some("Error")),
        ],
        secured: true,
        route: || post(handlers::submit_batch),
    },
    Endpoint {
        method: "get",
        path: "/api/v1/batches/{id}",
        operation_id: "getBatch",
        summary: "A batch of this client's scope: status and progress (rows issued and failed of the total).",
        params: &[BATCH_ID],
        request: None,
        responses: &[
            (200, "The batch.", Some("Batch")),
            (401, "No or unknown credentials.", Some("Error")),
            (404, "No such batch in this client's scope.", Some("Error")),
            (429, "Over the client's rate limit.", Some("Error")),
        ],
        secured: true,
        route: || get(handlers::get_batch),
    },
    Endpoint {
        method: "get",
        path: "/api/v1/batches/{id}/result.zip",
        operation_id: BATCH_RESULT,
        summary: "The result of a done batch: certificates/<line>-<serial>.pem (certificate and chain) per issued row and report.csv (line, status, serial, subject, error) for every row.",
        params: &[BATCH_ID],
        request: None,
        responses: &[
            (200, "The ZIP file.", None),
            (401, "No or unknown credentials.", Some("Error")),
            (404, "No such batch in this client's scope.", Some("Error")),
            (409, "The batch is still running.", Some("Error")),
            (429, "Over the client's rate limit.", Some("Error")),
        ],
        secured: true,
        route: || get(handlers::batch_result),
    },
    Endpoint {
        method: "get",
        path: "/api/openapi.json",
        operation_id: "openapi",
        summary: "This document.",
        params: &[],
        request: None,
        responses: &[(200, "OpenAPI 3.1 document.", None)],
        secured: false,
        route: || get(handlers::openapi),
    },
];

fn parse(schema: &str) -> Value {
    serde_json::from_str(schema).unwrap_or_else(|_| json!({"type": "string"}))
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The whole document.
pub(crate) fn document() -> Value {
    let mut paths = Map::new();
    for e in ENDPOINTS {
        let params: Vec<Value> = e
            .params
            .iter()
            .map(|p| {
                json!({
                    "name": p.name,
                    "in": match p.at { In::Path => "path", In::Query => "query", In::Header => "header" },
                    "required": p.required,
                    "description": p.description,
                    "schema": parse(p.schema),
                })
            })
            .collect();
        let mut responses = Map::new();
        for (status, description, schema) in e.responses {
            let mut r = Map::new();
            r.insert("description".into(), json!(description));
            let content = match schema {
                Some(s) => Some(schema_ref(s)),
                None if e.operation_id == "openapi" => Some(json!({"type": "object"})),
                None => None,
            };
            if let Some(c) = content {
                r.insert("content".into(), json!({"application/json": {"schema": c}}));
            } else if e.operation_id == BATCH_RESULT && *status == 200 {
                r.insert(
                    "content".into(),
                    json!({"application/zip": {"schema": {"type": "string", "format": "binary"}}}),
                );
            }
            responses.insert(status.to_string(), Value::Object(r));
        }
        let mut op = Map::new();
        op.insert("operationId".into(), json!(e.operation_id));
        op.insert("summary".into(), json!(e.summary));
        op.insert("parameters".into(), Value::Array(params));
        op.insert("responses".into(), Value::Object(responses));
        if let Some(body) = e.request {
            op.insert(
                "requestBody".into(),
                json!({
                    "required": true,
                    "content": {"application/json": {"schema": schema_ref(body)}}
                }),
            );
        }
        op.insert(
            "security".into(),
            if e.secured {
                json!([{"apiToken": []}, {"clientCertificate": []}])
            } else {
                json!([])
            },
        );
        let op = Value::Object(op);
        let entry = paths
            .entry(e.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert(e.method.to_owned(), op);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Signet RA API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Enroll, read, search and revoke certificates as a registered API client. Authenticate with an API token (Authorization: Bearer) or a registered client certificate. State-changing calls carry X-Signet-Timestamp and X-Signet-Nonce (replays are refused) and may carry Idempotency-Key."
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": super::wire::components(),
            "securitySchemes": {
                "apiToken": {"type": "http", "scheme": "bearer", "description": "Token shown once when an administrator registers the client."},
                "clientCertificate": {"type": "mutualTLS", "description": "A client certificate registered for the client."}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_described_with_existing_components() {
        let doc = document();
        let components = doc["components"]["schemas"].as_object().unwrap();
        for e in ENDPOINTS {
            let op = &doc["paths"][e.path][e.method];
            assert_eq!(op["operationId"], e.operation_id);
            for (_, _, schema) in e.responses {
                if let Some(s) = schema {
                    assert!(components.contains_key(*s), "{s}");
                }
            }
            if let Some(r) = e.request {
                assert!(components.contains_key(r), "{r}");
            }
            // Path parameters named in the path are declared, and back.
            for p in e.params.iter().filter(|p| matches!(p.at, In::Path)) {
                assert!(e.path.contains(&format!("{{{}}}", p.name)));
            }
            for p in e.params {
                assert!(
                    serde_json::from_str::<Value>(p.schema).is_ok(),
                    "{}",
                    p.name
                );
            }
        }
    }
}

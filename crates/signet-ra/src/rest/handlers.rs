//! REST API handlers: authenticate (extractor [`Client`]), call the
//! authority, answer JSON. State-changing calls go through [`idempotent`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest as _, Sha256};
use signet_store::ra::{CertificateFilter, IdempotentResponse};
use signet_tls::ClientCertificate;

use super::errors::{ApiError, error_parts};
use super::wire::{
    BatchBody, BatchRefusal, BatchRowError, BatchSubmit, CertificateBody, CertificateList,
    EnrollRequest, RevokeBody,
};
use crate::authority::{
    ApiBatch, ApiBatchRow, ApiEnrollment, ApiPrincipal, BatchFiling, RevokeOptions, RowError,
    valid_idempotency_key,
};
use crate::error::RaError;
use crate::web::AppState;

/// Headers of the replay check and of idempotency.
pub(crate) const TIMESTAMP_HEADER: &str = "x-signet-timestamp";
pub(crate) const NONCE_HEADER: &str = "x-signet-nonce";
pub(crate) const IDEMPOTENCY_HEADER: &str = "idempotency-key";
pub(crate) const REPLAYED_HEADER: &str = "idempotency-replayed";

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// An authenticated API client; state-changing methods have also passed
/// the timestamp and nonce check.
pub(crate) struct Client(pub ApiPrincipal);

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        let bearer = header(&parts.headers, header::AUTHORIZATION.as_str())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let cert = parts.extensions.get::<ClientCertificate>();
        let principal = state
            .ra
            .authenticate_api(bearer, cert.map(|c| c.0.as_ref()), ip)
            .await?;
        if !parts.method.is_safe() {
            state
                .ra
                .check_freshness(
                    &principal,
                    header(&parts.headers, TIMESTAMP_HEADER),
                    header(&parts.headers, NONCE_HEADER),
                )
                .await?;
        }
        Ok(Client(principal))
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, RaError> {
    serde_json::from_slice(body).map_err(|_| RaError::Invalid {
        field: "body",
        key: "error.invalid_body",
    })
}

fn json_response(status: StatusCode, body: &str, replayed: bool) -> Response {
    // A 202 names what it accepted (`location` in the body): the same
    // header for the first answer and for a replayed one.
    let location = (status == StatusCode::ACCEPTED)
        .then(|| serde_json::from_str::<serde_json::Value>(body).ok())
        .flatten()
        .and_then(|v| v.get("location")?.as_str().map(str::to_owned))
        .and_then(|l| HeaderValue::from_str(&l).ok());
    let mut r = (status, body.to_owned()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(l) = location {
        r.headers_mut().insert(header::LOCATION, l);
    }
    if replayed {
        r.headers_mut()
            .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    r
}

/// Runs a state-changing call at most once per `Idempotency-Key`: the
/// same key with the same request (method, path, body) answers the stored
/// response; with another request, 400 `idempotency_key_reused`. Final
/// answers (successes and refusals) are stored; failures worth retrying
/// (5xx, 429) are not.
async fn idempotent<F, Fut>(
    state: &AppState,
    p: &ApiPrincipal,
    headers: &HeaderMap,
    what: &str,
    body: &[u8],
    op: F,
) -> Response
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(StatusCode, serde_json::Value), RaError>>,
{
    let key = header(headers, IDEMPOTENCY_HEADER);
    if let Some(k) = key
        && !valid_idempotency_key(k)
    {
        return ApiError(RaError::Invalid {
            field: "idempotency-key",
            key: "error.invalid_idempotency_key",
        })
        .into_response();
    }
    let mut digest = Sha256::new();
    digest.update(what.as_bytes());
    digest.update([0]);
    digest.update(body);
    let digest = digest.finalize().to_vec();
    if let Some(k) = key {
        match state.ra.store().idempotent_response(p.client.id, k).await {
            Ok(Some(stored)) if stored.request_digest == digest => {
                let status = u16::try_from(stored.status)
                    .ok()
                    .and_then(|s| StatusCode::from_u16(s).ok())
                    .unwrap_or(StatusCode::OK);
                return json_response(status, &stored.response, true);
            }
            Ok(Some(_)) => {
                return ApiError(RaError::Invalid {
                    field: "idempotency-key",
                    key: "error.idempotency_key_reused",
                })
                .into_response();
            }
            Ok(None) => {}
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    let (status, text) = match op().await {
        Ok((status, value)) => (status, value.to_string()),
        Err(e) => {
            let (status, body) = error_parts(&e);
            (
                status,
                serde_json::to_string(&body).unwrap_or_else(|_| "{}".to_owned()),
            )
        }
    };
    let retryable = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
    if let Some(k) = key
        && !retryable
    {
        let stored = async {
            let mut tx = state.ra.store().begin().await?;
            tx.store_idempotent_response(
                p.client.id,
                k,
                &IdempotentResponse {
                    request_digest: digest,
                    status: i64::from(status.as_u16()),
                    response: text.clone(),
                },
                state.ra.now(),
            )
            .await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = stored {
            tracing::warn!(error = %e, "cannot store an idempotent response");
        }
    }
    json_response(status, &text, false)
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, RaError> {
    serde_json::to_value(v).map_err(|_| RaError::internal("cannot encode answer"))
}

/// POST /api/v1/certificates.
pub(crate) async fn enroll(
    State(state): State<AppState>,
    Client(p): Client,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = header(&headers, IDEMPOTENCY_HEADER).map(str::to_owned);
    idempotent(
        &state,
        &p,
        &headers,
        "POST /api/v1/certificates",
        &body,
        || async {
            let req: EnrollRequest = parse(&body)?;
            let record = state
                .ra
                .api_enroll(
                    &p,
                    &ApiEnrollment {
                        profile: req.profile,
                        csr_pem: req.csr,
                        org_unit_id: req.org_unit_id,
                        subject: req.subject,
                        sans: req.sans,
                    },
                    key.as_deref(),
                )
                .await?;
            Ok((
                StatusCode::CREATED,
                to_json(&CertificateBody::try_from(&record)?)?,
            ))
        },
    )
    .await
}

/// GET /api/v1/certificates/{serial}.
pub(crate) async fn get(
    State(state): State<AppState>,
    Client(p): Client,
    Path(serial): Path<String>,
) -> Result<Json<CertificateBody>, ApiError> {
    let record = state.ra.api_certificate(&p, &serial).await?;
    Ok(Json(CertificateBody::try_from(&record)?))
}

#[derive(Deserialize)]
pub(crate) struct SearchQuery {
    status: Option<String>,
    profile: Option<String>,
    subject: Option<String>,
    san: Option<String>,
    #[serde(default = "default_limit")]
    limit: u32,
    #[serde(default)]
    offset: u32,
}

fn default_limit() -> u32 {
    100
}

/// GET /api/v1/certificates.
pub(crate) async fn search(
    State(state): State<AppState>,
    Client(p): Client,
    query: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CertificateList>, ApiError> {
    let Query(q) = query.map_err(|_| RaError::Invalid {
        field: "query",
        key: "error.invalid_query",
    })?;
    let given = |s: Option<String>| s.filter(|s| !s.is_empty());
    let filter = CertificateFilter {
        cert_status: given(q.status),
        profile: given(q.profile),
        subject_contains: given(q.subject),
        san_contains: given(q.san),
    };
    let records = state
        .ra
        .api_search(&p, &filter, q.limit.clamp(1, 1000), q.offset)
        .await?;
    let certificates = records
        .iter()
        .map(CertificateBody::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(CertificateList { certificates }))
}

/// POST /api/v1/certificates/{serial}/revoke.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Client(p): Client,
    Path(serial): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let what = format!("POST /api/v1/certificates/{serial}/revoke");
    idempotent(&state, &p, &headers, &what, &body, || async {
        let req: RevokeBody = parse(&body)?;
        let options = RevokeOptions {
            invalidity_date: req.invalidity_date,
            crl_now: req.crl_now,
        };
        let record = state
            .ra
            .api_revoke(&p, &serial, &req.reason, &options)
            .await?;
        Ok((
            StatusCode::OK,
            to_json(&CertificateBody::try_from(&record)?)?,
        ))
    })
    .await
}

/// POST /api/v1/certificates/{serial}/suspend and /resume (empty body).
async fn hold(
    state: AppState,
    p: ApiPrincipal,
    serial: String,
    headers: HeaderMap,
    body: Bytes,
    suspend: bool,
) -> Response {
    let verb = if suspend { "suspend" } else { "resume" };
    let what = format!("POST /api/v1/certificates/{serial}/{verb}");
    idempotent(&state, &p, &headers, &what, &body, || async {
        let record = state.ra.api_hold(&p, &serial, suspend).await?;
        Ok((
            StatusCode::OK,
            to_json(&CertificateBody::try_from(&record)?)?,
        ))
    })
    .await
}

/// POST /api/v1/certificates/{serial}/suspend.
pub(crate) async fn suspend(
    State(state): State<AppState>,
    Client(p): Client,
    Path(serial): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    hold(state, p, serial, headers, body, true).await
}

/// POST /api/v1/certificates/{serial}/resume.
pub(crate) async fn resume(
    State(state): State<AppState>,
    Client(p): Client,
    Path(serial): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    hold(state, p, serial, headers, body, false).await
}

fn row_errors(state: &AppState, errors: &[RowError]) -> Vec<BatchRowError> {
    errors
        .iter()
        .map(|e| BatchRowError {
            index: e.line.saturating_sub(1),
            line: e.line,
            error: e.key.trim_start_matches("error.").to_owned(),
            message: state.ui.english(e.key),
        })
        .collect()
}

/// POST /api/v1/batches (its own body limit, `api.max_batch_body_bytes`).
pub(crate) async fn submit_batch(
    State(state): State<AppState>,
    Client(p): Client,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = header(&headers, IDEMPOTENCY_HEADER).map(str::to_owned);
    idempotent(
        &state,
        &p,
        &headers,
        "POST /api/v1/batches",
        &body,
        || async {
            let req: BatchSubmit = parse(&body)?;
            let batch = ApiBatch {
                org_unit_id: req.org_unit_id,
                issue_valid_rows: req.issue_valid_rows,
                rows: req
                    .rows
                    .into_iter()
                    .map(|r| ApiBatchRow {
                        profile: r.profile,
                        csr: r.csr,
                        subject: r.subject,
                        sans: r.sans,
                    })
                    .collect(),
            };
            match state.ra.api_file_batch(&p, batch, key.as_deref()).await? {
                BatchFiling::Filed { batch, skipped } => Ok((
                    StatusCode::ACCEPTED,
                    to_json(&BatchBody::new(&batch, row_errors(&state, &skipped)))?,
                )),
                // Only console filings of signed files can be replays.
                BatchFiling::AlreadyFiled { .. } => Err(RaError::Conflict {
                    key: "batch_signature.error_replayed",
                }),
                BatchFiling::Refused { errors, total } => Ok((
                    StatusCode::UNPROCESSABLE_ENTITY,
                    to_json(&BatchRefusal {
                        error: "invalid_rows".into(),
                        message: format!(
                            "{} of {total} rows are invalid; nothing was filed",
                            errors.len()
                        ),
                        total,
                        rows: row_errors(&state, &errors),
                    })?,
                )),
            }
        },
    )
    .await
}

/// GET /api/v1/batches/{id}.
pub(crate) async fn get_batch(
    State(state): State<AppState>,
    Client(p): Client,
    Path(id): Path<String>,
) -> Result<Json<BatchBody>, ApiError> {
    let batch = state.ra.api_batch(&p, &id).await?;
    Ok(Json(BatchBody::new(&batch, Vec::new())))
}

/// GET /api/v1/batches/{id}/result.zip.
pub(crate) async fn batch_result(
    State(state): State<AppState>,
    Client(p): Client,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let zip = state.ra.api_batch_result(&p, &id).await?;
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"batch-{id}.zip\""))
        .map_err(|_| RaError::NotFound { what: "batch" })?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/zip"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        zip,
    )
        .into_response())
}

/// GET /api/openapi.json.
pub(crate) async fn openapi() -> Response {
    let mut r = Json(super::openapi::document()).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// GET /api/docs: the document rendered as a page (server-side: the CSP
/// allows no inline or third-party scripts).
pub(crate) async fn docs(State(state): State<AppState>) -> Result<Html<String>, ApiError> {
    Ok(Html(state.ui.api_docs(&super::openapi::document())?))
}

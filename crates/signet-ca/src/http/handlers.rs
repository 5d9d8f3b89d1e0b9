//! Request handlers.

use std::time::Duration;

use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use signet_api::ErrorBody;
use signet_api::ca::{
    BatchIssueRequest, BatchIssueResponse, BatchItem, CertificateList, IssueRequest, IssuerInfo,
    IssuerList, RevokeRequest, StatusRequest,
};
use signet_core::pem::certificate_pem;
use signet_core::{CertificateStatus, RevocationReason, Serial, Timestamp};
use signet_store::{ListQuery, StatusChange};
use signet_tls::{PeerIdentity, Role};

use super::errors::{ApiError, json_rejection};
use super::{AppState, convert};
use crate::authority::{CertificateAuthority, IssueCommand, StatusCommand};
use crate::error::CaError;

/// JSON body whose rejections use the API's error shape.
pub(crate) struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| ApiJson(v))
            .map_err(json_rejection)
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// Only the RA and the administrator change certificates.
fn require_operator(peer: &PeerIdentity, action: &'static str) -> Result<(), CaError> {
    match peer.role {
        Role::Ra | Role::Admin => Ok(()),
        other => Err(CaError::Forbidden {
            role: other.to_string(),
            action,
        }),
    }
}

impl TryFrom<IssueRequest> for IssueCommand {
    type Error = CaError;

    fn try_from(r: IssueRequest) -> Result<Self, CaError> {
        if r.request_id.is_empty() || r.request_id.len() > 200 {
            return Err(CaError::BadRequest {
                field: "request_id",
                reason: "must be 1 to 200 characters".into(),
            });
        }
        Ok(IssueCommand {
            request_id: r.request_id,
            profile: r.profile,
            issuer: r.issuer,
            csr: r.csr.into_bytes(),
            subject: r.subject,
            sans: r.sans,
            validity: r
                .validity_days
                .map(|d| Duration::from_secs(u64::from(d) * 86_400)),
        })
    }
}

fn parse_serial(text: &str) -> Result<Serial, CaError> {
    text.parse()
        .map_err(|e: signet_core::serial::SerialError| CaError::BadRequest {
            field: "serial",
            reason: e.to_string(),
        })
}

fn parse_time(field: &'static str, text: &str) -> Result<Timestamp, CaError> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| Timestamp::from_unix(t.unix_timestamp()))
        .map_err(|e| CaError::BadRequest {
            field,
            reason: format!("not an RFC 3339 time: {e}"),
        })
}

pub(crate) async fn issue(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    ApiJson(req): ApiJson<IssueRequest>,
) -> Result<Response, ApiError> {
    require_operator(&peer, "issue certificates")?;
    let cmd = IssueCommand::try_from(req)?;
    refuse_dual(&state, &cmd)?;
    let issued = match state.ca.issue(&cmd).await {
        Ok(i) => i,
        Err(e) => {
            state.ca.count_error(super::errors::classify(&e).1);
            return Err(e.into());
        }
    };
    let status = if issued.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(convert::issued(&issued))).into_response())
}

/// A dual profile issues a signing certificate only together with its
/// encryption certificate and escrowed key (`POST /v1/certificates/dual`):
/// on the single path it would silently issue half the pair.
fn dual_profile_refusal(ca: &CertificateAuthority, cmd: &IssueCommand) -> Option<CaError> {
    ca.profile(&cmd.profile)
        .is_some_and(|p| p.is_dual())
        .then(|| CaError::BadRequest {
            field: "profile",
            reason: format!(
                "profile `{}` issues dual certificates: use POST /v1/certificates/dual \
                 (`signet enroll --envelope-out FILE`)",
                cmd.profile
            ),
        })
}

fn refuse_dual(state: &AppState, cmd: &IssueCommand) -> Result<(), CaError> {
    dual_profile_refusal(&state.ca, cmd).map_or(Ok(()), Err)
}

pub(crate) async fn issue_batch(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    ApiJson(req): ApiJson<BatchIssueRequest>,
) -> ApiResult<BatchIssueResponse> {
    require_operator(&peer, "issue certificates")?;
    if req.requests.len() > state.max_batch {
        return Err(CaError::BatchTooLarge {
            count: req.requests.len(),
            max: state.max_batch,
        }
        .into());
    }
    // Requests run concurrently so that the journal can share commits and
    // the token's sessions stay busy; results keep request order.
    let mut set = tokio::task::JoinSet::new();
    for (index, request) in req.requests.into_iter().enumerate() {
        let ca = state.ca.clone();
        set.spawn(async move {
            let item = match IssueCommand::try_from(request) {
                Ok(cmd) => match dual_profile_refusal(&ca, &cmd) {
                    Some(refusal) => Err(refusal),
                    None => ca.issue(&cmd).await,
                },
                Err(e) => Err(e),
            };
            let item = match item {
                Ok(issued) => BatchItem::Issued(convert::issued_without_chain(&issued)),
                Err(e) => {
                    let (_, body) = super::errors::body(&e);
                    ca.count_error(&body.error);
                    BatchItem::Error(body)
                }
            };
            (index, item)
        });
    }
    let mut results: Vec<Option<BatchItem>> = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (index, item) = joined.map_err(|_| CaError::Config {
            reason: "batch task failed".into(),
        })?;
        if results.len() <= index {
            results.resize(index + 1, None);
        }
        if let Some(slot) = results.get_mut(index) {
            *slot = Some(item);
        }
    }
    let results: Vec<BatchItem> = results.into_iter().flatten().collect();
    let mut chains = std::collections::BTreeMap::new();
    for item in &results {
        if let BatchItem::Issued(c) = item
            && !chains.contains_key(&c.issuer)
            && let Some(issuer) = state.ca.issuers().iter().find(|i| i.name == c.issuer)
        {
            chains.insert(
                c.issuer.clone(),
                issuer.chain.iter().map(|d| certificate_pem(d)).collect(),
            );
        }
    }
    Ok(Json(BatchIssueResponse { results, chains }))
}

#[derive(Deserialize)]
pub(crate) struct IssuerQuery {
    issuer: Option<String>,
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Path(serial): Path<String>,
    Query(q): Query<IssuerQuery>,
) -> ApiResult<signet_api::ca::CertificateInfo> {
    let serial = parse_serial(&serial)?;
    let (record, issuer) = state.ca.find(&serial, q.issuer.as_deref()).await?;
    Ok(Json(convert::info(&record, &issuer)))
}

#[derive(Deserialize)]
pub(crate) struct ListParams {
    status: Option<String>,
    issuer: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Query(p): Query<ListParams>,
) -> ApiResult<CertificateList> {
    let status = p
        .status
        .as_deref()
        .map(|s| {
            s.parse::<CertificateStatus>()
                .map_err(|e| CaError::BadRequest {
                    field: "status",
                    reason: e.to_string(),
                })
        })
        .transpose()?;
    let issuer_id = match &p.issuer {
        Some(name) => Some(
            state
                .ca
                .issuers()
                .iter()
                .find(|i| &i.name == name)
                .map(|i| i.id)
                .ok_or_else(|| CaError::UnknownIssuer { name: name.clone() })?,
        ),
        None => None,
    };
    let rows = state
        .ca
        .store()
        .list(&ListQuery {
            status,
            issuer_id,
            expiring_before: None,
            limit: p.limit.unwrap_or(100),
            offset: p.offset.unwrap_or(0),
        })
        .await
        .map_err(CaError::from)?;
    let certificates = rows
        .iter()
        .map(|r| convert::info(r, state.ca.issuer_name(r.issuer_id).unwrap_or("?")))
        .collect();
    Ok(Json(CertificateList { certificates }))
}

async fn change(
    state: &AppState,
    peer: &PeerIdentity,
    serial: &str,
    issuer: Option<String>,
    change: StatusChange,
    action: &'static str,
) -> ApiResult<signet_api::ca::CertificateInfo> {
    require_operator(peer, action)?;
    let cmd = StatusCommand {
        serial: parse_serial(serial)?,
        issuer,
        change,
    };
    match state.ca.change_status(&cmd).await {
        Ok((record, issuer)) => {
            tracing::info!(
                actor_role = %peer.role,
                actor = peer.common_name.as_deref().unwrap_or("?"),
                action,
                serial = %record.serial,
                "status change by operator"
            );
            Ok(Json(convert::info(&record, &issuer)))
        }
        Err(e) => {
            state.ca.count_error(super::errors::classify(&e).1);
            Err(e.into())
        }
    }
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    Path(serial): Path<String>,
    ApiJson(req): ApiJson<RevokeRequest>,
) -> ApiResult<signet_api::ca::CertificateInfo> {
    let reason: RevocationReason =
        req.reason
            .parse()
            .map_err(
                |e: signet_core::revocation::UnknownReason| CaError::BadRequest {
                    field: "reason",
                    reason: e.to_string(),
                },
            )?;
    if !reason.is_revocation() {
        return Err(CaError::BadRequest {
            field: "reason",
            reason: format!("{reason} is not a revocation reason (use suspend and resume)"),
        }
        .into());
    }
    let invalidity_date = req
        .invalidity_date
        .as_deref()
        .map(|t| parse_time("invalidity_date", t))
        .transpose()?;
    let change_req = StatusChange::Revoke {
        reason,
        invalidity_date,
    };
    let answer = change(&state, &peer, &serial, req.issuer, change_req, "revoke").await?;
    if req.crl_now {
        // Emergency revocation: a new CRL before the call returns.
        let id = state
            .ca
            .issuer_id(&answer.0.issuer)
            .ok_or_else(|| CaError::UnknownIssuer {
                name: answer.0.issuer.clone(),
            })?;
        state.publisher.publish_now(id).await?;
    }
    if let Some(dual) = &state.dual {
        dual.certificate_revoked(&answer.0).await;
    }
    Ok(answer)
}

pub(crate) async fn suspend(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    Path(serial): Path<String>,
    ApiJson(req): ApiJson<StatusRequest>,
) -> ApiResult<signet_api::ca::CertificateInfo> {
    change(
        &state,
        &peer,
        &serial,
        req.issuer,
        StatusChange::Suspend,
        "suspend",
    )
    .await
}

pub(crate) async fn resume(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    Path(serial): Path<String>,
    ApiJson(req): ApiJson<StatusRequest>,
) -> ApiResult<signet_api::ca::CertificateInfo> {
    change(
        &state,
        &peer,
        &serial,
        req.issuer,
        StatusChange::Resume,
        "resume",
    )
    .await
}

pub(crate) async fn issuers(State(state): State<AppState>) -> Json<IssuerList> {
    Json(IssuerList {
        issuers: state
            .ca
            .issuers()
            .iter()
            .map(|i| IssuerInfo {
                name: i.name.clone(),
                certificate: certificate_pem(i.issuer.der()),
                key_type: i.issuer.key().key_type().to_string(),
            })
            .collect(),
    })
}

pub(crate) async fn health() -> &'static str {
    "ok"
}

pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    match state.ca.store().issuers().await {
        Ok(_) => "ready".into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response(),
    }
}

pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = String::new();
    if prometheus_client::encoding::text::encode(&mut text, &state.registry).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

pub(crate) async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(ErrorBody {
            error: "not_found".into(),
            message: "no such endpoint".into(),
        }),
    )
        .into_response()
}

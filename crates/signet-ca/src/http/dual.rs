//! `POST /v1/certificates/dual`: both certificates of a dual request (see
//! `crate::dual`). Roles ra and admin, as for single issuance.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine as _;
use signet_api::ca::IssueRequest;
use signet_api::dual::DualIssueResponse;
use signet_tls::{PeerIdentity, Role};

use super::errors::ApiError;
use super::handlers::ApiJson;
use super::{AppState, convert};
use crate::authority::IssueCommand;
use crate::error::CaError;

pub(crate) async fn issue_dual(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    ApiJson(req): ApiJson<IssueRequest>,
) -> Result<Response, ApiError> {
    if !matches!(peer.role, Role::Ra | Role::Admin) {
        return Err(CaError::Forbidden {
            role: peer.role.to_string(),
            action: "issue certificates",
        }
        .into());
    }
    let dual = state
        .dual
        .clone()
        .ok_or_else(|| CaError::DualNotAvailable {
            reason: "this CA has no KMC configured ([kmc] in ca.toml)".into(),
        })?;
    let cmd = IssueCommand::try_from(req)?;
    let issued = match dual.issue(&state.ca, &cmd).await {
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
    let body = DualIssueResponse {
        signing: convert::issued(&issued.signing),
        encryption: convert::issued(&issued.encryption),
        key_id: issued.key_id,
        envelope: base64::engine::general_purpose::STANDARD.encode(&issued.envelope),
        envelope_format: issued.envelope_format,
        replayed: issued.replayed,
    };
    Ok((status, Json(body)).into_response())
}

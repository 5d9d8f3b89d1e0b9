//! Escrowed keys through the KMC: recovery under dual control (file,
//! approve, deliver the envelope as a download) and the key health page.
//! Without `[kmc]` in ra.toml the pages say the KMC is not configured.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::Deserialize;

use super::{form_error, see_other};
use crate::authority::RecoveryForm;
use crate::error::RaError;
use crate::web::AppState;
use crate::web::context::Active;
use crate::web::errors::{WebError, WebResult};

fn time_text(unix: i64) -> String {
    let t = signet_core::Timestamp::from_unix(unix);
    t.to_datetime()
        .map_or_else(|| t.unix().to_string(), |d| d.to_string())
}

/// The recoveries page: the filing form and the recoveries filed here.
async fn list_page(
    state: &AppState,
    a: &Active,
    status: StatusCode,
    error: Option<&str>,
    kmc_message: Option<&str>,
    form: Option<&RecoveryForm>,
) -> WebResult {
    let configured = state.ra.kmc_configured();
    let recent: Vec<Value> = state
        .ra
        .recent_recoveries(&a.caller)
        .await?
        .into_iter()
        .map(|r| {
            context! {
                id => r.id,
                requester => r.requester,
                at => time_text(r.at),
            }
        })
        .collect();
    state.ui.page_with_status(
        status,
        "keys/recoveries.html",
        &a.ctx,
        context! {
            configured => configured,
            recent => recent,
            error => error,
            kmc_message => kmc_message,
            serial => form.map(|f| f.serial.clone()),
            key_id => form.map(|f| f.key_id.clone()),
            reason => form.map(|f| f.reason.clone()),
            signing_key => form.map(|f| f.signing_key.clone()),
        },
    )
}

/// GET /recoveries.
pub(crate) async fn recoveries(State(state): State<AppState>, a: Active) -> WebResult {
    list_page(&state, &a, StatusCode::OK, None, None, None).await
}

#[derive(Deserialize)]
pub(crate) struct FileForm {
    #[serde(default)]
    serial: String,
    #[serde(default)]
    key_id: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    signing_key: String,
}

/// POST /recoveries: file a recovery at the KMC.
pub(crate) async fn file(
    State(state): State<AppState>,
    a: Active,
    Form(form): Form<FileForm>,
) -> WebResult {
    let request = RecoveryForm {
        serial: form.serial,
        key_id: form.key_id,
        reason: form.reason,
        signing_key: form.signing_key,
    };
    match state.ra.file_recovery(&a.caller, &request).await {
        Ok(info) => Ok(see_other(&format!("/recoveries/{}", info.id), &[])),
        Err(RaError::KmcRefused { message, .. }) => {
            list_page(
                &state,
                &a,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("error.kmc_refused"),
                Some(&message),
                Some(&request),
            )
            .await
        }
        Err(e @ (RaError::KmcUnavailable { .. } | RaError::KmcNotConfigured)) => {
            let (status, key) = crate::web::classify(&e);
            tracing::warn!(error = %e, "recovery not filed");
            list_page(&state, &a, status, Some(key), None, Some(&request)).await
        }
        Err(e) => {
            let (status, key) = form_error(e)?;
            list_page(&state, &a, status, Some(key), None, Some(&request)).await
        }
    }
}

/// One recovery, with the KMC's refusal of the last action if any.
async fn detail_page(
    state: &AppState,
    a: &Active,
    id: &str,
    status: StatusCode,
    error: Option<&str>,
    kmc_message: Option<&str>,
) -> WebResult {
    let info = state.ra.recovery(&a.caller, id).await?;
    let me = a.caller.name.as_str();
    let may_approve =
        info.state == "pending" && info.requester != me && !info.approvals.iter().any(|o| o == me);
    state.ui.page_with_status(
        status,
        "keys/recovery.html",
        &a.ctx,
        context! {
            r => Value::from(Serde(&info)),
            may_approve => may_approve,
            may_deliver => info.state == "approved",
            error => error,
            kmc_message => kmc_message,
        },
    )
}

/// GET /recoveries/{id}.
pub(crate) async fn recovery(
    State(state): State<AppState>,
    a: Active,
    Path(id): Path<String>,
) -> WebResult {
    detail_page(&state, &a, &id, StatusCode::OK, None, None).await
}

/// The detail page again with a refused action's explanation.
async fn refused(state: &AppState, a: &Active, id: &str, e: RaError) -> WebResult {
    match e {
        RaError::KmcRefused { message, .. } => {
            detail_page(
                state,
                a,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("error.kmc_refused"),
                Some(&message),
            )
            .await
        }
        RaError::KmcUnavailable { .. } => {
            tracing::warn!(error = %e, "KMC call failed");
            detail_page(
                state,
                a,
                id,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("error.kmc_unavailable"),
                None,
            )
            .await
        }
        other => Err(WebError(other)),
    }
}

/// POST /recoveries/{id}/approve.
pub(crate) async fn approve(
    State(state): State<AppState>,
    a: Active,
    Path(id): Path<String>,
) -> WebResult {
    match state.ra.approve_recovery(&a.caller, &id).await {
        Ok(info) => Ok(see_other(&format!("/recoveries/{}", info.id), &[])),
        Err(e) => refused(&state, &a, &id, e).await,
    }
}

/// POST /recoveries/{id}/deliver: the envelope as a DER download. It is
/// sealed to the subscriber's signing key: only the subscriber opens it.
pub(crate) async fn deliver(
    State(state): State<AppState>,
    a: Active,
    Path(id): Path<String>,
) -> WebResult {
    let delivered = match state.ra.deliver_recovery(&a.caller, &id).await {
        Ok(d) => d,
        Err(e) => return refused(&state, &a, &id, e).await,
    };
    // Recovery ids pass `valid_id` (URL-safe ASCII): a valid file name.
    let mut response = attachment(
        delivered.der,
        "application/octet-stream",
        &format!("recovery-{}.der", delivered.recovery_id),
    )?;
    if let Ok(v) = HeaderValue::from_str(&delivered.format) {
        response.headers_mut().insert("x-signet-envelope-format", v);
    }
    Ok(response)
}

/// GET /keys/health: counts by state, next rotation, overdue keys.
pub(crate) async fn health(State(state): State<AppState>, a: Active) -> WebResult {
    // The role is checked first, so officers are refused alike whether
    // or not a KMC is configured.
    let (health, error) = match state.ra.key_health(&a.caller).await {
        Ok(h) => (Some(h), None),
        Err(RaError::KmcNotConfigured) => (None, None),
        Err(e @ RaError::KmcUnavailable { .. }) => {
            tracing::warn!(error = %e, "KMC health view failed");
            (None, Some("error.kmc_unavailable"))
        }
        Err(e) => return Err(WebError(e)),
    };
    state.ui.page(
        "keys/health.html",
        &a.ctx,
        context! {
            configured => state.ra.kmc_configured(),
            h => health.map(|h| Value::from(Serde(h))),
            error => error,
        },
    )
}

/// A file download, as a handler's answer.
fn attachment(body: Vec<u8>, content_type: &'static str, name: &str) -> WebResult {
    Ok(super::attachment(body, content_type, name))
}

/// GET /requests/{uid}/encryption.pem: the encryption certificate of a
/// dual request, with its chain.
pub(crate) async fn dual_encryption(
    State(state): State<AppState>,
    a: Active,
    Path(uid): Path<String>,
) -> WebResult {
    let m = state.ra.dual_material(&a.caller, &uid).await?;
    // Serials are lowercase hex: a valid file name.
    attachment(
        m.encryption_pem.into_bytes(),
        "application/x-pem-file",
        &format!("{}-encryption.pem", m.serial),
    )
}

/// GET /requests/{uid}/envelope.der: the encryption private key of a dual
/// request, enveloped to the subscriber's signing key (only the subscriber
/// opens it: `signet envelope open` or `openssl cms -decrypt`).
pub(crate) async fn dual_envelope(
    State(state): State<AppState>,
    a: Active,
    Path(uid): Path<String>,
) -> WebResult {
    let m = state.ra.dual_material(&a.caller, &uid).await?;
    let mut response = attachment(
        m.envelope,
        "application/octet-stream",
        &format!("{}-envelope.der", m.serial),
    )?;
    if let Ok(v) = HeaderValue::from_str(&m.envelope_format) {
        response.headers_mut().insert("x-signet-envelope-format", v);
    }
    Ok(response)
}

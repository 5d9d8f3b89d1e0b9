//! The subscribers' portal: log in with the certificate one holds, see it,
//! renew inside the window, revoke. No session: every request presents the
//! certificate again (TLS), and forms carry the double-submitted
//! `signet_prelogin` anti-CSRF value.

use axum::Form;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::see_other;
use crate::auth::secrets::random_token;
use crate::authority::{PortalHolder, REVOCATION_REASONS};
use crate::error::RaError;
use crate::web::AppState;
use crate::web::context::Ctx;
use crate::web::cookies;
use crate::web::errors::{WebError, WebResult};

async fn holder(state: &AppState, ctx: &Ctx) -> Result<PortalHolder, WebError> {
    let der = ctx.client_certificate.as_ref().map(|c| c.0.as_ref());
    match state.ra.portal_holder(der, ctx.ip).await {
        // The console's "log in" redirect is no help to a certificate holder.
        Err(RaError::Unauthenticated) => Err(WebError(RaError::Forbidden {
            action: "portal.login",
        })),
        other => other.map_err(WebError),
    }
}

async fn page(
    state: &AppState,
    ctx: &Ctx,
    holder: &PortalHolder,
    status: StatusCode,
    error: Option<&str>,
) -> WebResult {
    let view = state.ra.portal_view(holder).await?;
    let mut ctx = ctx.clone();
    let mut set = None;
    if ctx.prelogin.is_none() {
        let token = random_token();
        set = Some(cookies::prelogin(&token));
        ctx.prelogin = Some(token.to_string());
    }
    let renewals: Vec<_> = view
        .renewals
        .iter()
        .map(|r| context! { status => r.status.clone(), subject => r.subject.clone() })
        .collect();
    let r = &view.record;
    let mut response: Response = state.ui.page_with_status(
        status,
        "portal.html",
        &ctx,
        context! {
            serial => r.serial.clone(),
            subject => r.subject.clone(),
            profile => r.profile.clone(),
            days_left => view.days_left,
            renewable => view.renewable,
            renewals => renewals,
            reasons => REVOCATION_REASONS,
            error => error,
        },
    )?;
    if let Some(c) = set {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(response)
}

/// GET /portal.
pub(crate) async fn show(State(state): State<AppState>, ctx: Ctx) -> WebResult {
    let holder = holder(&state, &ctx).await?;
    page(&state, &ctx, &holder, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub(crate) struct RenewForm {
    csr: String,
}

/// POST /portal/renew.
pub(crate) async fn renew(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<RenewForm>,
) -> WebResult {
    let holder = holder(&state, &ctx).await?;
    match state.ra.portal_renew(&holder, &form.csr).await {
        Ok(_) => Ok(see_other("/portal", &[])),
        Err(RaError::Conflict { key }) => {
            page(&state, &ctx, &holder, StatusCode::CONFLICT, Some(key)).await
        }
        Err(RaError::Invalid { key, .. }) => {
            page(&state, &ctx, &holder, StatusCode::BAD_REQUEST, Some(key)).await
        }
        Err(e) => Err(WebError(e)),
    }
}

#[derive(Deserialize)]
pub(crate) struct RevokeForm {
    reason: String,
}

/// POST /portal/revoke.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<RevokeForm>,
) -> WebResult {
    let holder = holder(&state, &ctx).await?;
    match state.ra.portal_revoke(&holder, &form.reason).await {
        Ok(_) => Ok(see_other("/portal/revoked", &[])),
        Err(RaError::Invalid { key, .. }) => {
            page(&state, &ctx, &holder, StatusCode::BAD_REQUEST, Some(key)).await
        }
        Err(e) => Err(WebError(e)),
    }
}

/// GET /portal/revoked: the confirmation (the certificate no longer logs in).
pub(crate) async fn revoked(State(state): State<AppState>, ctx: Ctx) -> WebResult {
    state.ui.page("portal_revoked.html", &ctx, context! {})
}

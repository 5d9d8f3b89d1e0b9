//! The subscribers' portal: log in with the certificate one holds, see it,
//! renew inside the window, revoke; or, holding no certificate yet,
//! enrol with a one-time code an officer handed out. No session: every
//! request presents the certificate (TLS) or the code again, and forms
//! carry the double-submitted `signet_prelogin` anti-CSRF value.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{attachment, see_other};
use crate::auth::secrets::random_token;
use crate::authority::{EnrolmentView, PortalHolder, REVOCATION_REASONS};
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
    let (ctx, set) = with_prelogin(ctx);
    let renewals: Vec<_> = view
        .renewals
        .iter()
        .map(|r| {
            context! {
                uid => r.uid.clone(),
                status => r.status.clone(),
                subject => r.subject.clone(),
                serial => r.serial.clone(),
            }
        })
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
            superseded_on => view.superseded_on.map(time_text),
            error => error,
        },
    )?;
    if let Some(c) = set {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(response)
}

fn time_text(t: signet_core::Timestamp) -> String {
    t.to_datetime()
        .map_or_else(|| t.unix().to_string(), |d| d.to_string())
}

/// The context with a double-submit anti-CSRF value, and the cookie to
/// set when the browser had none.
fn with_prelogin(ctx: &Ctx) -> (Ctx, Option<HeaderValue>) {
    let mut ctx = ctx.clone();
    let mut set = None;
    if ctx.prelogin.is_none() {
        let token = random_token();
        set = Some(cookies::prelogin(&token));
        ctx.prelogin = Some(token.to_string());
    }
    (ctx, set)
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

/// GET /portal/renewals/{uid}/chain.pem: an issued renewal of the
/// holder's certificate, with its chain.
pub(crate) async fn renewal_chain(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uid): Path<String>,
) -> WebResult {
    let holder = holder(&state, &ctx).await?;
    let (serial, pem) = state.ra.portal_renewal_certificate(&holder, &uid).await?;
    Ok(attachment(
        pem,
        "application/x-pem-file",
        &format!("{serial}-chain.pem"),
    ))
}

/// The enrolment pages: the form (`view` none) or a code's status.
async fn enrolment_page(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    view: Option<(&EnrolmentView, &str)>,
    error: Option<&str>,
) -> WebResult {
    let (ctx, set) = with_prelogin(ctx);
    let mut response: Response = match view {
        None => state.ui.page_with_status(
            status,
            "portal_enroll.html",
            &ctx,
            context! { error => error },
        )?,
        Some((view, code)) => {
            // The CA's or an officer's words on a refusal are not for an
            // anonymous page: it says "refused, ask your officer".
            let request = view.request.as_ref().map(|r| {
                context! {
                    status => r.status.clone(),
                    subject => r.subject.clone(),
                    serial => r.serial.clone(),
                    cert_status => r.cert_status.clone(),
                }
            });
            state.ui.page_with_status(
                status,
                "portal_enroll_status.html",
                &ctx,
                context! {
                    code => code,
                    profile => view.code.profile.clone(),
                    expires_at => time_text(signet_core::Timestamp::from_unix(view.code.usable_until())),
                    request => request,
                    downloadable => view.downloadable(),
                    error => error,
                },
            )?
        }
    };
    if let Some(c) = set {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(response)
}

/// Answers a refused code the same way whatever the reason (the trail
/// has it), and bad CSRs next to the form.
async fn enrolment_error(state: &AppState, ctx: &Ctx, e: RaError) -> WebResult {
    match e {
        RaError::Forbidden {
            action: "portal.enroll",
        } => {
            enrolment_page(
                state,
                ctx,
                StatusCode::FORBIDDEN,
                None,
                Some("enrolment.refused"),
            )
            .await
        }
        RaError::Invalid { key, .. } => {
            enrolment_page(state, ctx, StatusCode::BAD_REQUEST, None, Some(key)).await
        }
        RaError::Conflict { key } => {
            enrolment_page(state, ctx, StatusCode::CONFLICT, None, Some(key)).await
        }
        other => Err(WebError(other)),
    }
}

/// GET /portal/enroll.
pub(crate) async fn enroll_page(State(state): State<AppState>, ctx: Ctx) -> WebResult {
    enrolment_page(&state, &ctx, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub(crate) struct EnrollForm {
    code: String,
    csr: String,
}

/// POST /portal/enroll: files the request; answers with the code's status.
pub(crate) async fn enroll(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<EnrollForm>,
) -> WebResult {
    let code = Zeroizing::new(form.code);
    match state
        .ra
        .redeem_enrolment_code(&code, &form.csr, ctx.ip)
        .await
    {
        Ok(view) => {
            enrolment_page(
                &state,
                &ctx,
                StatusCode::OK,
                Some((&view, code.as_str())),
                None,
            )
            .await
        }
        Err(e) => enrolment_error(&state, &ctx, e).await,
    }
}

#[derive(Deserialize)]
pub(crate) struct CodeForm {
    code: String,
}

/// POST /portal/enroll/status.
pub(crate) async fn enroll_status(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CodeForm>,
) -> WebResult {
    let code = Zeroizing::new(form.code);
    match state.ra.enrolment_status(&code, ctx.ip).await {
        Ok(view) => {
            enrolment_page(
                &state,
                &ctx,
                StatusCode::OK,
                Some((&view, code.as_str())),
                None,
            )
            .await
        }
        Err(e) => enrolment_error(&state, &ctx, e).await,
    }
}

/// POST /portal/enroll/certificate: the certificate with its chain, once.
pub(crate) async fn enroll_certificate(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CodeForm>,
) -> WebResult {
    let code = Zeroizing::new(form.code);
    match state.ra.enrolment_certificate(&code, ctx.ip).await {
        Ok((serial, pem)) => Ok(attachment(
            pem,
            "application/x-pem-file",
            &format!("{serial}-chain.pem"),
        )),
        Err(e) => enrolment_error(&state, &ctx, e).await,
    }
}

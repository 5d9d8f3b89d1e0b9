//! The login pages: password, TOTP, new password, TOTP enrolment,
//! certificate login, logout.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::see_other;
use crate::auth::secrets::random_token;
use crate::authority::{NewLogin, Stage};
use crate::error::RaError;
use crate::web::context::{Ctx, Pending};
use crate::web::errors::{WebError, WebResult};
use crate::web::{AppState, cookies};

/// The login form, with a fresh anti-CSRF cookie if there is none.
fn login_form(state: &AppState, ctx: &Ctx, status: StatusCode, error: Option<&str>) -> WebResult {
    let mut ctx = ctx.clone();
    let mut set = Vec::new();
    if ctx.prelogin.is_none() {
        let token = random_token();
        set.push(cookies::prelogin(&token));
        ctx.prelogin = Some(token.to_string());
    }
    let certificate = ctx.client_certificate.is_some() && !ctx.platform_peer;
    let mut response = state.ui.page_with_status(
        status,
        "login.html",
        &ctx,
        context! { error => error, certificate => certificate },
    )?;
    for c in set {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, c);
    }
    Ok(response)
}

/// Where a logged-in or part-logged-in visitor of `/login` goes instead.
fn continue_login(ctx: &Ctx) -> Option<Response> {
    ctx.session.as_ref().map(|s| see_other(s.stage.path(), &[]))
}

/// The new session's cookie, and the page its stage continues on.
fn logged_in(login: &NewLogin) -> Response {
    see_other(
        login.stage.path(),
        &[
            cookies::session(login.session_id.expose()),
            cookies::clear(cookies::PRELOGIN),
        ],
    )
}

/// GET /login.
pub(crate) async fn page(State(state): State<AppState>, ctx: Ctx) -> WebResult {
    if let Some(r) = continue_login(&ctx) {
        return Ok(r);
    }
    login_form(&state, &ctx, StatusCode::OK, None)
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    username: String,
    password: String,
}

/// The status and message of a refused login step.
fn refused(e: RaError) -> Result<(StatusCode, &'static str), WebError> {
    match e {
        RaError::LoginFailed => Ok((StatusCode::UNAUTHORIZED, "error.login_failed")),
        RaError::RateLimited => Ok((StatusCode::TOO_MANY_REQUESTS, "error.rate_limited")),
        other => super::form_error(other),
    }
}

/// POST /login.
pub(crate) async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<PasswordForm>,
) -> WebResult {
    let password = Zeroizing::new(form.password);
    match state
        .ra
        .login_password(&form.username, password, ctx.ip)
        .await
    {
        Ok(login) => Ok(logged_in(&login)),
        Err(e) => {
            let (status, key) = refused(e)?;
            login_form(&state, &ctx, status, Some(key))
        }
    }
}

/// POST /login/certificate: the client certificate of this connection.
pub(crate) async fn certificate(State(state): State<AppState>, ctx: Ctx) -> WebResult {
    let Some(cert) = &ctx.client_certificate else {
        return login_form(
            &state,
            &ctx,
            StatusCode::UNAUTHORIZED,
            Some("error.no_certificate"),
        );
    };
    match state
        .ra
        .login_certificate(cert.0.as_ref(), ctx.platform_peer, ctx.ip)
        .await
    {
        Ok(login) => Ok(logged_in(&login)),
        Err(e) => {
            let (status, key) = refused(e)?;
            login_form(&state, &ctx, status, Some(key))
        }
    }
}

fn at_stage(p: &Pending, stage: Stage) -> Option<Response> {
    (p.stage() != stage).then(|| see_other(p.stage().path(), &[]))
}

/// GET /login/totp.
pub(crate) async fn totp_page(State(state): State<AppState>, p: Pending) -> WebResult {
    if let Some(r) = at_stage(&p, Stage::Totp) {
        return Ok(r);
    }
    state.ui.page(
        "login_totp.html",
        &p.ctx,
        context! { error => None::<&str> },
    )
}

#[derive(Deserialize)]
pub(crate) struct CodeForm {
    code: String,
}

/// POST /login/totp.
pub(crate) async fn totp_submit(
    State(state): State<AppState>,
    p: Pending,
    Form(form): Form<CodeForm>,
) -> WebResult {
    let code = Zeroizing::new(form.code);
    match state.ra.login_totp(&p.session, &code, p.ctx.ip).await {
        Ok(login) => Ok(logged_in(&login)),
        Err(RaError::Unauthenticated) => Ok(see_other(p.stage().path(), &[])),
        Err(e) => {
            let (status, key) = refused(e)?;
            state
                .ui
                .page_with_status(status, "login_totp.html", &p.ctx, context! { error => key })
        }
    }
}

/// GET /login/password.
pub(crate) async fn password_page(State(state): State<AppState>, p: Pending) -> WebResult {
    if let Some(r) = at_stage(&p, Stage::Password) {
        return Ok(r);
    }
    state.ui.page(
        "login_password.html",
        &p.ctx,
        context! { error => None::<&str>, min_length => crate::auth::password::MIN_LENGTH },
    )
}

#[derive(Deserialize)]
pub(crate) struct NewPasswordForm {
    password: String,
    confirmation: String,
}

/// POST /login/password.
pub(crate) async fn password_submit(
    State(state): State<AppState>,
    p: Pending,
    Form(form): Form<NewPasswordForm>,
) -> WebResult {
    let password = Zeroizing::new(form.password);
    let confirmation = Zeroizing::new(form.confirmation);
    match state
        .ra
        .change_password_at_login(&p.session, password, confirmation, p.ctx.ip)
        .await
    {
        Ok(login) => Ok(logged_in(&login)),
        Err(RaError::Unauthenticated) => Ok(see_other(p.stage().path(), &[])),
        Err(e) => {
            let (status, key) = refused(e)?;
            state.ui.page_with_status(
                status,
                "login_password.html",
                &p.ctx,
                context! { error => key, min_length => crate::auth::password::MIN_LENGTH },
            )
        }
    }
}

async fn enroll_form(
    state: &AppState,
    p: &Pending,
    status: StatusCode,
    error: Option<&str>,
) -> WebResult {
    let enrolment = state.ra.begin_enrolment(&p.session).await?;
    state.ui.page_with_status(
        status,
        "login_enroll.html",
        &p.ctx,
        context! {
            error => error,
            qr => enrolment.qr_data_uri.as_str(),
            secret => enrolment.secret_base32.as_str(),
            issuer => state.ra.settings().totp_issuer.clone(),
        },
    )
}

/// GET /login/enroll: the QR code and the secret as text.
pub(crate) async fn enroll_page(State(state): State<AppState>, p: Pending) -> WebResult {
    if let Some(r) = at_stage(&p, Stage::Enroll) {
        return Ok(r);
    }
    enroll_form(&state, &p, StatusCode::OK, None).await
}

/// POST /login/enroll: a code from the new secret confirms it.
pub(crate) async fn enroll_submit(
    State(state): State<AppState>,
    p: Pending,
    Form(form): Form<CodeForm>,
) -> WebResult {
    let code = Zeroizing::new(form.code);
    match state
        .ra
        .confirm_enrolment(&p.session, &code, p.ctx.ip)
        .await
    {
        Ok(login) => Ok(logged_in(&login)),
        Err(RaError::Unauthenticated) => Ok(see_other(p.stage().path(), &[])),
        Err(e) => {
            let (status, key) = refused(e)?;
            enroll_form(&state, &p, status, Some(key)).await
        }
    }
}

/// POST /logout.
pub(crate) async fn logout(State(state): State<AppState>, p: Pending) -> WebResult {
    state.ra.logout(&p.session, p.ctx.ip).await?;
    Ok(see_other("/login", &[cookies::clear(cookies::SESSION)]))
}

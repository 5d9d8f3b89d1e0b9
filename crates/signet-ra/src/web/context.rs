//! What every handler knows about its request: language, client address,
//! session, client certificate. [`super::middleware::context`] builds it
//! once per request; handlers take it, or [`Active`] / [`Pending`] when a
//! session is required.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use signet_tls::ClientCertificate;

use super::Lang;
use super::errors::WebError;
use crate::authority::{LoadedSession, Stage};
use crate::error::RaError;
use crate::roles::Caller;

/// The request's context.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    /// The page language.
    pub lang: Lang,
    /// The client's address.
    pub ip: IpAddr,
    /// Path and query, for the language switch to come back to.
    pub path: String,
    /// A valid session, at any login stage.
    pub session: Option<Arc<LoadedSession>>,
    /// The verified client certificate, if one was presented.
    pub client_certificate: Option<ClientCertificate>,
    /// Whether that certificate names a Signet platform role.
    pub platform_peer: bool,
    /// The login form's anti-CSRF cookie, before any session.
    pub prelogin: Option<String>,
}

impl Ctx {
    /// The caller, for a fully logged-in session.
    pub fn caller(&self) -> Option<Caller> {
        self.session.as_ref().and_then(|s| s.caller(self.ip))
    }

    /// The anti-CSRF value forms on this page must carry.
    pub fn csrf(&self) -> Option<&str> {
        match &self.session {
            Some(s) => Some(s.record.csrf_token.as_str()),
            None => self.prelogin.as_deref(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, WebError> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or_else(|| WebError(RaError::internal("request context missing")))
    }
}

/// A fully logged-in officer.
#[derive(Clone, Debug)]
pub(crate) struct Active {
    pub ctx: Ctx,
    pub caller: Caller,
}

impl<S: Send + Sync> FromRequestParts<S> for Active {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, WebError> {
        let ctx = Ctx::from_request_parts(parts, state).await?;
        match ctx.caller() {
            Some(caller) => Ok(Active { ctx, caller }),
            None => Err(WebError(RaError::Unauthenticated)),
        }
    }
}

/// A session part-way through logging in (or done).
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    pub ctx: Ctx,
    pub session: Arc<LoadedSession>,
}

impl Pending {
    /// The session's stage.
    pub fn stage(&self) -> Stage {
        self.session.stage
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Pending {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, WebError> {
        let ctx = Ctx::from_request_parts(parts, state).await?;
        match ctx.session.clone() {
            Some(session) => Ok(Pending { ctx, session }),
            None => Err(WebError(RaError::Unauthenticated)),
        }
    }
}

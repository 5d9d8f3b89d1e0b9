//! Layers every request passes through, outermost first:
//! [`security_headers`], [`observe`] (latency metrics), [`context`]
//! (language, session, error pages), [`guard`] (anti-CSRF, read-only
//! roles).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use signet_tls::{ClientCertificate, PeerIdentity};

use super::context::Ctx;
use super::errors::{ErrorPage, WebError};
use super::{AppState, Lang, cookies};
use crate::audit::{ActorKind, AuditEvent, Outcome};
use crate::auth::secrets::{SessionId, is_token, secrets_equal};
use crate::error::RaError;
use crate::metrics::RouteLabels;

/// The Content-Security-Policy of every response: only this origin's
/// scripts, styles and images (plus `data:` images, for the TOTP QR code);
/// no plugins, no framing, forms post only here, no `<base>`.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// State-changing requests accepted without a session: the login forms
/// and the subscribers' portal (authenticated by client certificate),
/// whose anti-CSRF value is the double-submitted `signet_prelogin` cookie.
const ANONYMOUS_POSTS: &[&str] = &[
    "/login",
    "/login/certificate",
    "/portal/renew",
    "/portal/revoke",
    "/portal/enroll",
    "/portal/enroll/status",
    "/portal/enroll/certificate",
];

/// Header carrying the anti-CSRF token for requests that are neither
/// urlencoded forms nor the multipart batch upload (scripts).
const CSRF_HEADER: &str = "x-csrf-token";

/// Paths that need no session lookup.
/// The console's pages that answer GET, as patterns (`*` is one path
/// segment). The language switch of a page that answers a form leads to
/// the nearest of these.
const PAGES: &[&str] = &[
    "/",
    "/login",
    "/subscribers",
    "/subscribers/new",
    "/requests",
    "/requests/new",
    "/requests/*",
    "/batches",
    "/batches/*",
    "/portal",
    "/portal/enroll",
    "/enrolment-codes",
    "/recoveries",
    "/recoveries/*",
    "/keys/health",
    "/units",
    "/admin/officers",
    "/admin/officers/*",
    "/admin/api-clients",
    "/reports",
    "/audit",
];

fn is_page(path: &str) -> bool {
    PAGES.iter().any(|pattern| {
        let mut want = pattern.split('/');
        let mut have = path.split('/');
        loop {
            match (want.next(), have.next()) {
                (None, None) => return true,
                (Some("*"), Some(seg)) if !seg.is_empty() => {}
                (Some(w), Some(h)) if w == h => {}
                _ => return false,
            }
        }
    })
}

/// Where the language switch of this page leads back to: the page itself
/// for a GET. A page that answers a form (a POST) has no address of its
/// own to fetch again (`/requests/{uid}/pkcs12` has only a POST route;
/// fetching it would end in 405), so the switch leads to that path if it
/// is also a page, else to the nearest page above it
/// (`/requests/{uid}/pkcs12` → `/requests/{uid}`, `/units/{id}/rename` →
/// `/units`), else home. What the answer showed once, such as a one-time
/// password, is not shown again.
fn switch_target(method: &http::Method, uri: &http::Uri) -> String {
    if method == http::Method::GET || method == http::Method::HEAD {
        return uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
    }
    let mut path = uri.path().trim_end_matches('/');
    while !path.is_empty() {
        if is_page(path) {
            return path.to_owned();
        }
        path = path.rsplit_once('/').map_or("", |(parent, _)| parent);
    }
    "/".to_owned()
}

fn sessionless(path: &str) -> bool {
    path.starts_with("/static/") || matches!(path, "/health" | "/ready" | "/metrics")
}

/// Security headers on every response, error pages and assets included.
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let is_static = request.uri().path().starts_with("/static/");
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    if !is_static && !h.contains_key(header::CACHE_CONTROL) {
        // Pages show personal data and one-time passwords: never cache.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Request latency by route.
pub(crate) async fn observe(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    state
        .ra
        .metrics
        .request_seconds
        .get_or_create(&RouteLabels { route, method })
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Builds the request's [`Ctx`] (language, client, session), and renders
/// error responses as pages in that language.
pub(crate) async fn context(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let lang = Lang::negotiate(
        cookies::get(headers, cookies::LANG).as_deref(),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
        state.ra.settings().default_language,
    );
    let path = switch_target(request.method(), request.uri());
    let presented = cookies::get(headers, cookies::SESSION);
    let prelogin = cookies::get(headers, cookies::PRELOGIN).filter(|v| is_token(v));
    let mut stale_cookie = false;
    let mut session = None;
    let mut failure = None;
    if !sessionless(request.uri().path())
        && let Some(text) = &presented
    {
        match SessionId::parse(text) {
            Some(id) => match state.ra.load_session(&id).await {
                Ok(Some(s)) => session = Some(Arc::new(s)),
                Ok(None) => stale_cookie = true,
                Err(e) => failure = Some(e),
            },
            None => stale_cookie = true,
        }
    }
    let ctx = Ctx {
        lang,
        ip,
        path,
        session,
        client_certificate: request.extensions().get::<ClientCertificate>().cloned(),
        platform_peer: request.extensions().get::<PeerIdentity>().is_some(),
        prelogin,
    };
    let mut response = match failure {
        Some(e) => WebError(e).into_response(),
        None => {
            request.extensions_mut().insert(ctx.clone());
            next.run(request).await
        }
    };
    if let Some(page) = response.extensions().get::<ErrorPage>().copied() {
        let status = response.status();
        let cookies_set: Vec<HeaderValue> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .cloned()
            .collect();
        response = state.ui.error_page(&ctx, status, page.key);
        for c in cookies_set {
            response.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    if stale_cookie {
        let replaced = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|v| v.as_bytes().starts_with(cookies::SESSION.as_bytes()));
        if !replaced {
            response
                .headers_mut()
                .append(header::SET_COOKIE, cookies::clear(cookies::SESSION));
        }
    }
    response
}

/// The `csrf` field of an urlencoded form body. Tokens are base64url, so
/// a genuine one is never percent-encoded.
fn form_field<'a>(body: &'a [u8], name: &str) -> Option<&'a str> {
    std::str::from_utf8(body)
        .ok()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The text of field `name` of a buffered multipart/form-data body
/// (RFC 7578), read with the parser the handler's extractor uses so both
/// see the same fields.
async fn multipart_field(body: &axum::body::Bytes, boundary: String, name: &str) -> Option<String> {
    let stream = Body::from(body.clone()).into_data_stream();
    let mut form = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some(name) {
            return field.text().await.ok();
        }
    }
    None
}

/// On every state-changing request (POST, PUT, PATCH, DELETE): the
/// anti-CSRF token of the session (or of the login form) must be present
/// and right (a header, or the `csrf` field of an urlencoded form or of
/// the multipart batch upload), else 403 and an audit event; and a read-only role
/// (auditor) is refused anything but logging out, also with 403 and an
/// audit event.
pub(crate) async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method().is_safe() {
        return next.run(request).await;
    }
    let Some(ctx) = request.extensions().get::<Ctx>().cloned() else {
        return WebError(RaError::internal("request context missing")).into_response();
    };
    let path = request.uri().path().to_owned();
    let method = request.method().as_str().to_owned();
    let expected: Option<String> = match &ctx.session {
        Some(s) => Some(s.record.csrf_token.clone()),
        None if ANONYMOUS_POSTS.contains(&path.as_str()) => ctx.prelogin.clone(),
        None => None,
    };
    let header_token = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    // An uploaded batch file comes as multipart/form-data; an HTML form
    // cannot set the header, so the token is its `csrf` field.
    let multipart_boundary = if path == "/batches" {
        multer::parse_boundary(&content_type).ok()
    } else {
        None
    };
    let (parts, body) = request.into_parts();
    // Batch files are posted as forms too, under their own (larger) limit.
    let limit = if path == "/batches" {
        state.ra.settings().max_upload_bytes
    } else {
        state.ra.settings().max_form_bytes
    };
    let (body, form_token) = if is_form {
        match axum::body::to_bytes(body, limit).await {
            Ok(bytes) => {
                let token = form_field(&bytes, "csrf").map(str::to_owned);
                (Body::from(bytes), token)
            }
            Err(_) => {
                return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
            }
        }
    } else if let Some(boundary) = multipart_boundary {
        match axum::body::to_bytes(body, limit).await {
            Ok(bytes) => {
                let token = multipart_field(&bytes, boundary, "csrf").await;
                (Body::from(bytes), token)
            }
            Err(_) => {
                return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
            }
        }
    } else {
        (body, None)
    };
    let presented = header_token.or(form_token);
    let actor = ctx
        .session
        .as_ref()
        .map_or_else(|| "-".to_owned(), |s| s.officer.username.clone());
    let ip = ctx.ip.to_string();
    let accepted = match (&expected, &presented) {
        (Some(e), Some(p)) => secrets_equal(e, p),
        _ => false,
    };
    if !accepted {
        state.ra.metrics.csrf_refusals.inc();
        let reason = if presented.is_none() {
            "missing"
        } else {
            "wrong"
        };
        tracing::warn!(%path, %ip, reason, "anti-CSRF check failed");
        state
            .ra
            .audit()
            .record_or_log(
                &AuditEvent::new(ActorKind::Officer, &actor, "csrf.refused", &ip)
                    .target(path)
                    .outcome(Outcome::Denied)
                    .detail("method", method)
                    .detail("reason", reason),
            )
            .await;
        return WebError(RaError::Csrf).into_response();
    }
    if let Some(caller) = ctx.caller()
        && !caller.role.may_change()
        && path != "/logout"
    {
        state
            .ra
            .audit()
            .record_or_log(
                &AuditEvent::by(&caller, "request.refused")
                    .target(path)
                    .outcome(Outcome::Denied)
                    .detail("method", method)
                    .detail("reason", "read_only_role"),
            )
            .await;
        return WebError(RaError::Forbidden { action: "change" }).into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::switch_target;
    use http::{Method, Uri};

    fn target(method: Method, uri: &str) -> String {
        switch_target(&method, &uri.parse::<Uri>().expect("test uri"))
    }

    #[test]
    fn the_language_switch_returns_to_a_page_that_answers_get() {
        assert_eq!(
            target(Method::GET, "/requests?status=issued"),
            "/requests?status=issued"
        );
        assert_eq!(
            target(Method::POST, "/requests/abc/pkcs12"),
            "/requests/abc"
        );
        assert_eq!(
            target(Method::POST, "/portal/enroll/status"),
            "/portal/enroll"
        );
        assert_eq!(target(Method::POST, "/portal/enroll"), "/portal/enroll");
        assert_eq!(target(Method::POST, "/units/5/rename"), "/units");
        assert_eq!(
            target(Method::POST, "/admin/api-clients"),
            "/admin/api-clients"
        );
        assert_eq!(
            target(Method::POST, "/enrolment-codes/abc/revoke"),
            "/enrolment-codes"
        );
        assert_eq!(target(Method::POST, "/logout"), "/");
        assert_eq!(target(Method::POST, "/"), "/");
    }
}

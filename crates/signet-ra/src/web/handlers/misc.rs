//! Home, language switch, static assets, health, readiness, metrics.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;

use super::see_other;
use crate::error::RaError;
use crate::web::context::{Active, Ctx};
use crate::web::errors::{WebError, WebResult};
use crate::web::{AppState, Lang, cookies};

/// The home page.
pub(crate) async fn home(State(state): State<AppState>, a: Active) -> WebResult {
    let expiring = state.ra.expiry_summary(&a.caller).await?;
    state.ui.page(
        "home.html",
        &a.ctx,
        context! {
            role => a.caller.role.as_str(),
            unit => a.ctx.session.as_ref().map(|s| s.unit.name.clone()),
            expiring => expiring,
        },
    )
}

#[derive(Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

/// A local path to return to: absolute, not protocol-relative, no
/// backslashes (browsers read `/\evil` as `//evil`).
fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p,
        _ => "/",
    }
}

/// Sets the language cookie and goes back.
pub(crate) async fn switch_language(
    Path(code): Path<String>,
    Query(q): Query<NextQuery>,
) -> WebResult {
    let lang: Lang = code
        .parse()
        .map_err(|()| WebError(RaError::NotFound { what: "language" }))?;
    Ok(see_other(
        local_path(q.next.as_deref()),
        &[cookies::lang(lang.code())],
    ))
}

/// A file from `web/static/`.
pub(crate) async fn static_file(Path(file): Path<String>) -> WebResult {
    let Some((_, bytes)) = crate::assets::STATIC_FILES
        .iter()
        .find(|(name, _)| *name == file)
    else {
        return Err(WebError(RaError::NotFound { what: "file" }));
    };
    let content_type = match file.rsplit_once('.').map(|(_, e)| e) {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    };
    let mut response = (*bytes).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(response)
}

/// Liveness.
pub(crate) async fn health() -> &'static str {
    "ok"
}

/// Readiness: the database and the token answer.
pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    if state.ra.ready().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

/// Prometheus metrics.
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

/// Anything else.
pub(crate) async fn not_found(_ctx: Ctx) -> WebResult {
    Err(WebError(RaError::NotFound { what: "page" }))
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path(Some("/audit?x=1")), "/audit?x=1");
        assert_eq!(local_path(Some("//evil.example")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        assert_eq!(local_path(Some("https://evil.example")), "/");
        assert_eq!(local_path(None), "/");
    }
}

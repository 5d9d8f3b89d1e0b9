//! REST API clients, registered by system administrators: the list, and
//! registration (the API token, if any, is shown once).

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use minijinja::context;
use serde::Deserialize;

use super::form_error;
use crate::authority::ApiClientForm;
use crate::error::RaError;
use crate::web::AppState;
use crate::web::context::Active;
use crate::web::errors::{WebError, WebResult};

async fn list_page(
    state: &AppState,
    a: &Active,
    status: StatusCode,
    error: Option<&str>,
) -> WebResult {
    let clients: Vec<_> = state
        .ra
        .list_api_clients(&a.caller)
        .await?
        .into_iter()
        .map(|c| {
            context! {
                name => c.name,
                org_unit_id => c.org_unit_id,
                auth => if c.cert_fingerprint.is_some() { "certificate" } else { "token" },
                profiles => c.profiles,
                ip_allowlist => c.ip_allowlist,
                rate_per_minute => c.rate_per_minute,
                active => c.active,
            }
        })
        .collect();
    let units: Vec<(i64, String)> = state
        .ra
        .list_org_units(&a.caller)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let profiles: Vec<String> = state
        .ra
        .settings()
        .profiles
        .iter()
        .map(|p| p.name.clone())
        .collect();
    state.ui.page_with_status(
        status,
        "admin/api_clients.html",
        &a.ctx,
        context! {
            clients => clients,
            units => units,
            profiles => profiles,
            default_rate => state.ra.settings().api_default_rate,
            error => error,
        },
    )
}

/// GET /admin/api-clients.
pub(crate) async fn list(State(state): State<AppState>, a: Active) -> WebResult {
    list_page(&state, &a, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub(crate) struct CreateForm {
    name: String,
    org_unit_id: i64,
    /// Comma- or space-separated.
    profiles: String,
    #[serde(default)]
    ip_allowlist: String,
    #[serde(default)]
    rate_per_minute: u32,
    #[serde(default)]
    certificate: String,
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split([',', ' ', '\n', '\r', '\t'])
        .filter(|w| !w.is_empty())
}

/// POST /admin/api-clients.
pub(crate) async fn create(
    State(state): State<AppState>,
    a: Active,
    Form(form): Form<CreateForm>,
) -> WebResult {
    let ips: Result<Vec<crate::net::AddrRange>, _> =
        words(&form.ip_allowlist).map(str::parse).collect();
    let Ok(ip_allowlist) = ips else {
        return list_page(
            &state,
            &a,
            StatusCode::BAD_REQUEST,
            Some("error.invalid_ip"),
        )
        .await;
    };
    let client = ApiClientForm {
        name: form.name.trim().to_owned(),
        org_unit_id: form.org_unit_id,
        profiles: words(&form.profiles).map(str::to_owned).collect(),
        ip_allowlist,
        rate_per_minute: form.rate_per_minute,
        certificate: form.certificate,
    };
    match state.ra.register_api_client(&a.caller, &client).await {
        Ok(registered) => state.ui.page_with_status(
            StatusCode::CREATED,
            "admin/api_client_created.html",
            &a.ctx,
            context! {
                name => registered.client.name.clone(),
                token => registered.token.as_ref().map(|t| t.to_string()),
            },
        ),
        Err(RaError::Forbidden { action }) => Err(WebError(RaError::Forbidden { action })),
        Err(e) => {
            let (status, key) = form_error(e)?;
            list_page(&state, &a, status, Some(key)).await
        }
    }
}

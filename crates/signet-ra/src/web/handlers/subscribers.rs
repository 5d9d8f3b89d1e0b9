//! Subscribers: the list (masked, scoped), exact search on a sensitive
//! field, registration, and a subscriber's page with the requests filed
//! for it.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::requests::RequestView;
use super::{form_error, see_other};
use crate::authority::{SUBSCRIBER_REQUESTS, SubscriberForm, SubscriberSearch};
use crate::error::RaError;
use crate::roles::Permission;
use crate::web::AppState;
use crate::web::context::Active;
use crate::web::errors::{WebError, WebResult};

#[derive(Deserialize)]
pub(crate) struct PageQuery {
    #[serde(default)]
    page: u32,
}

async fn list_page(
    state: &AppState,
    a: &Active,
    search: Option<&SubscriberSearch>,
    page: u32,
    status: StatusCode,
    error: Option<&str>,
) -> WebResult {
    let subscribers = state.ra.list_subscribers(&a.caller, search, page).await?;
    let units = state.ra.list_org_units(&a.caller).await?;
    let unit_names: std::collections::BTreeMap<String, String> = units
        .iter()
        .map(|u| (u.id.to_string(), u.name.clone()))
        .collect();
    let full = subscribers.len() >= usize::try_from(crate::authority::SUBSCRIBER_PAGE).unwrap_or(0);
    state.ui.page_with_status(
        status,
        "subscribers/list.html",
        &a.ctx,
        context! {
            subscribers => Value::from(Serde(subscribers)),
            units => unit_names,
            searched => search.is_some(),
            may_create => a.caller.may(Permission::ManageSubscribers),
            error => error,
            previous => (page > 0).then(|| page - 1),
            next => (full && search.is_none()).then(|| page + 1),
        },
    )
}

/// GET /subscribers.
pub(crate) async fn list(
    State(state): State<AppState>,
    a: Active,
    Query(q): Query<PageQuery>,
) -> WebResult {
    list_page(&state, &a, None, q.page, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub(crate) struct SearchForm {
    field: String,
    value: String,
}

/// POST /subscribers/search: exact match on ID number or phone, by keyed
/// digest (the value is never stored or logged).
pub(crate) async fn search(
    State(state): State<AppState>,
    a: Active,
    Form(form): Form<SearchForm>,
) -> WebResult {
    let value = Zeroizing::new(form.value);
    let search = match form.field.as_str() {
        "id_number" => SubscriberSearch::IdNumber(value),
        "phone" => SubscriberSearch::Phone(value),
        _ => {
            return Err(WebError(RaError::Invalid {
                field: "field",
                key: "error.invalid_search",
            }));
        }
    };
    match list_page(&state, &a, Some(&search), 0, StatusCode::OK, None).await {
        Err(WebError(RaError::Invalid { key, .. })) => {
            list_page(&state, &a, None, 0, StatusCode::BAD_REQUEST, Some(key)).await
        }
        other => other,
    }
}

/// GET /subscribers/{id}: the subscriber (sensitive fields masked) and
/// the requests filed for it, with their status.
pub(crate) async fn detail(
    State(state): State<AppState>,
    a: Active,
    Path(id): Path<String>,
) -> WebResult {
    let id = id
        .parse::<i64>()
        .map_err(|_| WebError(RaError::NotFound { what: "subscriber" }))?;
    let detail = state.ra.subscriber_detail(&a.caller, id).await?;
    let unit = state
        .ra
        .list_org_units(&a.caller)
        .await?
        .into_iter()
        .find(|u| u.id == detail.subscriber.org_unit_id)
        .map(|u| u.name);
    let more = detail.requests.len() >= usize::try_from(SUBSCRIBER_REQUESTS).unwrap_or(usize::MAX);
    let requests: Vec<RequestView> = detail.requests.iter().map(RequestView::from).collect();
    state.ui.page(
        "subscribers/detail.html",
        &a.ctx,
        context! {
            s => Value::from(Serde(&detail.subscriber)),
            unit => unit,
            requests => Value::from(Serde(requests)),
            show_requests => a.caller.may(Permission::ViewRequests),
            may_file => a.caller.may(Permission::FileRequests),
            more => more,
            limit => SUBSCRIBER_REQUESTS,
        },
    )
}

async fn new_form(
    state: &AppState,
    a: &Active,
    status: StatusCode,
    error: Option<&str>,
    kind: &str,
    display_name: &str,
    email: &str,
) -> WebResult {
    if !a.caller.may(Permission::ManageSubscribers) {
        return state
            .ra
            .deny(&a.caller, "subscriber.create", "-")
            .await
            .map_err(WebError);
    }
    let units = state.ra.list_org_units(&a.caller).await?;
    let units: Vec<(i64, String)> = units.iter().map(|u| (u.id, u.name.clone())).collect();
    state.ui.page_with_status(
        status,
        "subscribers/new.html",
        &a.ctx,
        context! {
            units => units,
            error => error,
            kind => kind,
            display_name => display_name,
            email => email,
        },
    )
}

/// GET /subscribers/new.
pub(crate) async fn new_page(State(state): State<AppState>, a: Active) -> WebResult {
    new_form(&state, &a, StatusCode::OK, None, "person", "", "").await
}

#[derive(Deserialize)]
pub(crate) struct CreateForm {
    kind: String,
    display_name: String,
    org_unit_id: i64,
    #[serde(default)]
    email: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    phone: String,
}

/// POST /subscribers/new.
pub(crate) async fn create(
    State(state): State<AppState>,
    a: Active,
    Form(form): Form<CreateForm>,
) -> WebResult {
    let subscriber = SubscriberForm {
        kind: form.kind,
        display_name: form.display_name,
        org_unit_id: form.org_unit_id,
        email: form.email,
        id_number: Zeroizing::new(form.id_number),
        phone: Zeroizing::new(form.phone),
    };
    match state.ra.create_subscriber(&a.caller, &subscriber).await {
        Ok(_) => Ok(see_other("/subscribers", &[])),
        Err(RaError::Forbidden { action }) => Err(WebError(RaError::Forbidden { action })),
        Err(e) => {
            let (status, key) = form_error(e)?;
            // The sensitive fields are not echoed back.
            new_form(
                &state,
                &a,
                status,
                Some(key),
                &subscriber.kind,
                &subscriber.display_name,
                &subscriber.email,
            )
            .await
        }
    }
}

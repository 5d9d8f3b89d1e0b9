//! System administration: officer accounts and the organisation tree.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::{Deserialize, Serialize};
use signet_store::ra::OrgUnit;

use super::{form_error, see_other};
use crate::authority::{CreatedOfficer, OfficerForm};
use crate::error::RaError;
use crate::roles::{Caller, OfficerRole, Permission};
use crate::web::AppState;
use crate::web::context::Active;
use crate::web::errors::{WebError, WebResult};

/// A unit as pages show it: indented by depth.
#[derive(Serialize)]
struct UnitRow {
    id: i64,
    name: String,
    depth: usize,
    indent: String,
    parent_id: Option<i64>,
}

fn unit_rows(units: &[OrgUnit]) -> Value {
    let rows: Vec<UnitRow> = units
        .iter()
        .map(|u| UnitRow {
            id: u.id,
            name: u.name.clone(),
            depth: u.depth(),
            indent: "\u{2003}".repeat(u.depth()),
            parent_id: u.parent_id,
        })
        .collect();
    Value::from(Serde(rows))
}

fn roles() -> Vec<&'static str> {
    OfficerRole::ALL.iter().map(|r| r.as_str()).collect()
}

fn parse_role(text: &str) -> Result<OfficerRole, RaError> {
    text.parse().map_err(|()| RaError::Invalid {
        field: "role",
        key: "error.invalid_role",
    })
}

async fn officers_page(
    state: &AppState,
    a: &Active,
    status: StatusCode,
    error: Option<&str>,
) -> WebResult {
    let officers = state.ra.list_officers(&a.caller).await?;
    let units = state.ra.list_org_units(&a.caller).await?;
    state.ui.page_with_status(
        status,
        "admin/officers.html",
        &a.ctx,
        context! {
            officers => Value::from(Serde(officers)),
            units => unit_rows(&units),
            roles => roles(),
            error => error,
        },
    )
}

/// GET /admin/officers.
pub(crate) async fn officers(State(state): State<AppState>, a: Active) -> WebResult {
    officers_page(&state, &a, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub(crate) struct CreateForm {
    username: String,
    display_name: String,
    role: String,
    org_unit_id: i64,
}

fn one_time_password_page(
    state: &AppState,
    a: &Active,
    created: &CreatedOfficer,
    reset: bool,
) -> WebResult {
    state.ui.page_with_status(
        if reset {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        },
        "admin/password.html",
        &a.ctx,
        context! {
            id => created.id,
            username => created.username.clone(),
            password => created.one_time_password.as_str(),
            reset => reset,
        },
    )
}

/// POST /admin/officers: create an account, show its password once.
pub(crate) async fn officer_create(
    State(state): State<AppState>,
    a: Active,
    Form(form): Form<CreateForm>,
) -> WebResult {
    let result = async {
        let officer = OfficerForm {
            username: form.username,
            display_name: form.display_name,
            role: parse_role(&form.role)?,
            org_unit_id: form.org_unit_id,
            active: true,
        };
        state.ra.create_officer(&a.caller, &officer).await
    }
    .await;
    match result {
        Ok(created) => one_time_password_page(&state, &a, &created, false),
        Err(e) => {
            let (status, key) = form_error(e)?;
            officers_page(&state, &a, status, Some(key)).await
        }
    }
}

async fn officer_page(
    state: &AppState,
    a: &Active,
    id: i64,
    status: StatusCode,
    error: Option<&str>,
) -> WebResult {
    let officer = state.ra.officer_view(&a.caller, id).await?;
    let units = state.ra.list_org_units(&a.caller).await?;
    let is_self = a.caller.officer_id == Some(id);
    state.ui.page_with_status(
        status,
        "admin/officer.html",
        &a.ctx,
        context! {
            o => Value::from(Serde(officer)),
            units => unit_rows(&units),
            roles => roles(),
            is_self => is_self,
            error => error,
        },
    )
}

/// GET /admin/officers/{id}.
pub(crate) async fn officer(
    State(state): State<AppState>,
    a: Active,
    Path(id): Path<i64>,
) -> WebResult {
    officer_page(&state, &a, id, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub(crate) struct UpdateForm {
    display_name: String,
    role: String,
    org_unit_id: i64,
    #[serde(default)]
    active: Option<String>,
}

/// Runs an action on officer `id` and goes back to its page, or shows the
/// page again with the action's error.
async fn officer_action<F, Fut>(state: &AppState, a: &Active, id: i64, action: F) -> WebResult
where
    F: FnOnce(Caller) -> Fut,
    Fut: std::future::Future<Output = Result<(), RaError>>,
{
    match action(a.caller.clone()).await {
        Ok(()) => Ok(see_other(&format!("/admin/officers/{id}"), &[])),
        Err(RaError::Forbidden { action }) => Err(WebError(RaError::Forbidden { action })),
        Err(e) => {
            let (status, key) = form_error(e)?;
            officer_page(state, a, id, status, Some(key)).await
        }
    }
}

/// POST /admin/officers/{id}: role, unit, name, enabled.
pub(crate) async fn officer_update(
    State(state): State<AppState>,
    a: Active,
    Path(id): Path<i64>,
    Form(form): Form<UpdateForm>,
) -> WebResult {
    let ra = state.ra.clone();
    officer_action(&state, &a, id, |caller| async move {
        let update = OfficerForm {
            username: String::new(),
            display_name: form.display_name,
            role: parse_role(&form.role)?,
            org_unit_id: form.org_unit_id,
            active: form.active.is_some(),
        };
        ra.update_officer(&caller, id, &update).await
    })
    .await
}

/// POST /admin/officers/{id}/password: a new one-time password.
pub(crate) async fn officer_reset_password(
    State(state): State<AppState>,
    a: Active,
    Path(id): Path<i64>,
) -> WebResult {
    let created = state.ra.reset_password(&a.caller, id).await?;
    one_time_password_page(&state, &a, &created, true)
}

/// POST /admin/officers/{id}/totp: enrol again at the next login.
pub(crate) async fn officer_reset_totp(
    State(state): State<AppState>,
    a: Active,
    Path(id): Path<i64>,
) -> WebResult {
    let ra = state.ra.clone();
    officer_action(&state, &a, id, |caller| async move {
        ra.reset_totp(&caller, id).await
    })
    .await
}

/// POST /admin/officers/{id}/lock.
pub(crate) async fn officer_lock(
    State(state): State<AppState>,
    a: Active,
    Path(id): Path<i64>,
) -> WebResult {
    let ra = state.ra.clone();
    officer_action(&state, &a, id, |caller| async move {
        ra.set_officer_lock(&caller, id, true).await
    })
    .await
}

/// POST /admin/officers/{id}/unlock.
pub(crate) async fn officer_unlock(
    State(state): State<AppState>,
    a: Active,
    Path(id): Path<i64>,
) -> WebResult {
    let ra = state.ra.clone();
    officer_action(&state, &a, id, |caller| async move {
        ra.set_officer_lock(&caller, id, false).await
    })
    .await
}

#[derive(Deserialize)]
pub(crate) struct CertificateForm {
    certificate: String,
}

/// POST /admin/officers/{id}/certificate: PEM or SHA-256 fingerprint.
pub(crate) async fn officer_certificate(
    State(state): State<AppState>,
    a: Active,
    Path(id): Path<i64>,
    Form(form): Form<CertificateForm>,
) -> WebResult {
    let ra = state.ra.clone();
    officer_action(&state, &a, id, |caller| async move {
        ra.set_officer_certificate(&caller, id, Some(&form.certificate))
            .await
    })
    .await
}

/// POST /admin/officers/{id}/certificate/remove.
pub(crate) async fn officer_certificate_remove(
    State(state): State<AppState>,
    a: Active,
    Path(id): Path<i64>,
) -> WebResult {
    let ra = state.ra.clone();
    officer_action(&state, &a, id, |caller| async move {
        ra.set_officer_certificate(&caller, id, None).await
    })
    .await
}

async fn units_page(
    state: &AppState,
    a: &Active,
    status: StatusCode,
    error: Option<&str>,
) -> WebResult {
    let units = state.ra.list_org_units(&a.caller).await?;
    state.ui.page_with_status(
        status,
        "units.html",
        &a.ctx,
        context! {
            units => unit_rows(&units),
            manage => a.caller.may(Permission::ManageOrgUnits),
            error => error,
        },
    )
}

/// GET /units: the tree in the caller's scope.
pub(crate) async fn units(State(state): State<AppState>, a: Active) -> WebResult {
    units_page(&state, &a, StatusCode::OK, None).await
}

async fn unit_result(state: &AppState, a: &Active, result: Result<(), RaError>) -> WebResult {
    match result {
        Ok(()) => Ok(see_other("/units", &[])),
        Err(RaError::Forbidden { action }) => Err(WebError(RaError::Forbidden { action })),
        Err(e) => {
            let (status, key) = form_error(e)?;
            units_page(state, a, status, Some(key)).await
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct UnitForm {
    parent: i64,
    name: String,
}

/// POST /units: a new unit.
pub(crate) async fn unit_create(
    State(state): State<AppState>,
    a: Active,
    Form(form): Form<UnitForm>,
) -> WebResult {
    let result = state
        .ra
        .create_org_unit(&a.caller, form.parent, &form.name)
        .await
        .map(|_| ());
    unit_result(&state, &a, result).await
}

#[derive(Deserialize)]
pub(crate) struct RenameForm {
    name: String,
}

/// POST /units/{id}/rename.
pub(crate) async fn unit_rename(
    State(state): State<AppState>,
    a: Active,
    Path(id): Path<i64>,
    Form(form): Form<RenameForm>,
) -> WebResult {
    let result = state.ra.rename_org_unit(&a.caller, id, &form.name).await;
    unit_result(&state, &a, result).await
}

#[derive(Deserialize)]
pub(crate) struct MoveForm {
    parent: i64,
}

/// POST /units/{id}/move.
pub(crate) async fn unit_move(
    State(state): State<AppState>,
    a: Active,
    Path(id): Path<i64>,
    Form(form): Form<MoveForm>,
) -> WebResult {
    let result = state.ra.move_org_unit(&a.caller, id, form.parent).await;
    unit_result(&state, &a, result).await
}

//! Batch issuance pages: list and upload, a batch's progress and
//! decisions, the result ZIP.

use axum::Form;
use axum::extract::{FromRequest as _, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use minijinja::context;
use minijinja::value::Value;
use serde::Deserialize;
use signet_store::ra::BatchRecord;

use super::{form_error, see_other};
use crate::authority::{BatchFiling, BatchUpload, RowError};
use crate::error::RaError;
use crate::roles::Permission;
use crate::web::AppState;
use crate::web::context::Active;
use crate::web::errors::{WebError, WebResult};

fn view(b: &BatchRecord) -> Value {
    context! {
        uid => b.uid.clone(),
        status => b.status.clone(),
        total => b.total,
        issued => b.issued,
        failed => b.failed,
        approvals_required => b.approvals_required,
    }
}

async fn list_page(
    state: &AppState,
    a: &Active,
    status: StatusCode,
    error: Option<&str>,
    row_errors: &[RowError],
    total: usize,
) -> WebResult {
    list_page_replayed(state, a, status, error, row_errors, total, None).await
}

/// [`list_page`], saying that the signed file was already filed as batch
/// `replayed`.
async fn list_page_replayed(
    state: &AppState,
    a: &Active,
    status: StatusCode,
    error: Option<&str>,
    row_errors: &[RowError],
    total: usize,
    replayed: Option<&str>,
) -> WebResult {
    let batches: Vec<Value> = state
        .ra
        .list_batches(&a.caller)
        .await?
        .iter()
        .map(view)
        .collect();
    let units: Vec<(i64, String)> = state
        .ra
        .list_org_units(&a.caller)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let s = state.ra.settings();
    state.ui.page_with_status(
        status,
        "batches/list.html",
        &a.ctx,
        context! {
            batches => batches,
            units => units,
            may_file => a.caller.may(Permission::FileRequests),
            max_rows => s.batch_max_rows,
            max_bytes => s.max_upload_bytes,
            require_signature => s.batch_require_signature,
            error => error,
            replayed => replayed,
            row_errors => row_errors.iter().map(|e| context! { line => e.line, key => e.key }).collect::<Vec<_>>(),
            total => total,
        },
    )
}

/// GET /batches.
pub(crate) async fn list(State(state): State<AppState>, a: Active) -> WebResult {
    list_page(&state, &a, StatusCode::OK, None, &[], 0).await
}

#[derive(Deserialize)]
pub(crate) struct UploadForm {
    org_unit_id: i64,
    file: String,
    /// `on` when the officer chose to issue the valid rows only.
    #[serde(default)]
    issue_valid_rows: Option<String>,
}

/// The batch form, sent either urlencoded (pasted JSON lines only) or as
/// multipart/form-data (pasted text, or a `.jsonl` or `.zip` file).
struct Upload {
    org_unit_id: i64,
    file: BatchUpload,
    /// The officer's detached CMS signature over the uploaded file.
    signature: Option<Vec<u8>>,
    issue_valid_rows: bool,
}

fn malformed() -> RaError {
    RaError::Invalid {
        field: "file",
        key: "error.batch_upload_malformed",
    }
}

impl Upload {
    async fn from_request(request: Request, state: &AppState) -> Result<Self, RaError> {
        let multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("multipart/form-data"));
        if !multipart {
            let Form(form) = Form::<UploadForm>::from_request(request, state)
                .await
                .map_err(|_| malformed())?;
            return Ok(Self {
                org_unit_id: form.org_unit_id,
                file: BatchUpload::JsonLines(form.file),
                signature: None,
                issue_valid_rows: form.issue_valid_rows.is_some(),
            });
        }
        let mut parts = Multipart::from_request(request, state)
            .await
            .map_err(|_| malformed())?;
        let (mut unit, mut pasted, mut uploaded, mut issue_valid_rows) = (None, None, None, false);
        let mut signature = None;
        while let Some(field) = parts.next_field().await.map_err(|_| malformed())? {
            match field.name().unwrap_or_default() {
                "org_unit_id" => {
                    let text = field.text().await.map_err(|_| malformed())?;
                    unit = text.trim().parse::<i64>().ok();
                }
                "file" => pasted = Some(field.text().await.map_err(|_| malformed())?),
                "upload" => {
                    let name = field.file_name().unwrap_or_default().to_owned();
                    let bytes = field.bytes().await.map_err(|_| malformed())?;
                    // A browser sends an empty part when no file was chosen.
                    if !bytes.is_empty() {
                        uploaded = Some((name, bytes.to_vec()));
                    }
                }
                "signature" => {
                    let bytes = field.bytes().await.map_err(|_| malformed())?;
                    if !bytes.is_empty() {
                        signature = Some(bytes.to_vec());
                    }
                }
                "issue_valid_rows" => issue_valid_rows = true,
                // `csrf` was checked by the guard.
                _ => {}
            }
        }
        let pasted = pasted.filter(|p| !p.trim().is_empty());
        if pasted.is_some() && signature.is_some() {
            // A signature covers the bytes of a file; a browser rewrites
            // the line breaks of pasted text.
            return Err(RaError::Invalid {
                field: "signature",
                key: "batch_signature.error_needs_file",
            });
        }
        let file = match (pasted, uploaded) {
            (Some(text), None) => BatchUpload::JsonLines(text),
            (None, Some((name, bytes))) => BatchUpload::from_file(&name, bytes)?,
            (Some(_), Some(_)) => {
                return Err(RaError::Invalid {
                    field: "file",
                    key: "error.batch_two_files",
                });
            }
            (None, None) => {
                return Err(RaError::Invalid {
                    field: "file",
                    key: "error.batch_empty",
                });
            }
        };
        Ok(Self {
            org_unit_id: unit.ok_or_else(malformed)?,
            file,
            signature,
            issue_valid_rows,
        })
    }
}

/// POST /batches: validate every row, file the batch or show the errors.
pub(crate) async fn upload(
    State(state): State<AppState>,
    a: Active,
    request: Request,
) -> WebResult {
    let result = match Upload::from_request(request, &state).await {
        Ok(form) => {
            state
                .ra
                .file_signed_batch(
                    &a.caller,
                    form.org_unit_id,
                    form.file,
                    form.signature.as_deref(),
                    form.issue_valid_rows,
                )
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(BatchFiling::Filed { batch, .. }) => {
            Ok(see_other(&format!("/batches/{}", batch.uid), &[]))
        }
        Ok(BatchFiling::Refused { errors, total }) => {
            list_page(
                &state,
                &a,
                StatusCode::BAD_REQUEST,
                Some("error.batch_refused"),
                &errors,
                total,
            )
            .await
        }
        Ok(BatchFiling::AlreadyFiled { batch }) => {
            list_page_replayed(&state, &a, StatusCode::CONFLICT, None, &[], 0, Some(&batch)).await
        }
        Err(RaError::Forbidden { action }) => Err(WebError(RaError::Forbidden { action })),
        Err(e) => {
            let (status, key) = form_error(e)?;
            list_page(&state, &a, status, Some(key), &[], 0).await
        }
    }
}

async fn detail_page(
    state: &AppState,
    a: &Active,
    uid: &str,
    status: StatusCode,
    error: Option<&str>,
) -> WebResult {
    let batch = state.ra.scoped_batch(&a.caller, uid).await?;
    let signer = state.ra.batch_signer(&batch).await?.map(|s| {
        context! {
            subject => s.signer_subject,
            sha256 => s.signer_sha256,
        }
    });
    let own = a.caller.officer_id.is_some() && a.caller.officer_id == batch.filed_by;
    state.ui.page_with_status(
        status,
        "batches/detail.html",
        &a.ctx,
        context! {
            b => view(&batch),
            signer => signer,
            may_decide => batch.status == "pending" && !own && a.caller.may(Permission::DecideRequests),
            error => error,
        },
    )
}

/// GET /batches/{uid}: progress (the page reloads itself while running).
pub(crate) async fn detail(
    State(state): State<AppState>,
    a: Active,
    Path(uid): Path<String>,
) -> WebResult {
    detail_page(&state, &a, &uid, StatusCode::OK, None).await
}

async fn decide(state: AppState, a: Active, uid: String, approve: bool) -> WebResult {
    match state.ra.decide_batch(&a.caller, &uid, approve).await {
        Ok(_) => Ok(see_other(&format!("/batches/{uid}"), &[])),
        Err(RaError::Forbidden { action }) => Err(WebError(RaError::Forbidden { action })),
        Err(e) => {
            let (status, key) = form_error(e)?;
            detail_page(&state, &a, &uid, status, Some(key)).await
        }
    }
}

/// POST /batches/{uid}/approve.
pub(crate) async fn approve(
    State(state): State<AppState>,
    a: Active,
    Path(uid): Path<String>,
) -> WebResult {
    decide(state, a, uid, true).await
}

/// POST /batches/{uid}/reject.
pub(crate) async fn reject(
    State(state): State<AppState>,
    a: Active,
    Path(uid): Path<String>,
) -> WebResult {
    decide(state, a, uid, false).await
}

/// GET /batches/{uid}/result.zip.
pub(crate) async fn result(
    State(state): State<AppState>,
    a: Active,
    Path(uid): Path<String>,
) -> WebResult {
    let zip = state.ra.batch_result_zip(&a.caller, &uid).await?;
    Ok(super::attachment(
        zip,
        "application/zip",
        &format!("batch-{uid}.zip"),
    ))
}

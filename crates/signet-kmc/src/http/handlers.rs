//! Request handlers: extract, convert the body, call the [`Kmc`], convert
//! the answer. Role checks happen in the domain methods.

use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use signet_api::ErrorBody;
use signet_api::kmc::{
    BindCertificateRequest, CiphertextResponse, ClientRequest, CreateDataKeyRequest, DataKeyInfo,
    DataKeyList, DecryptRequest, DeliveredKey, DestroyVersionRequest, EncryptRequest,
    EscrowedKeyInfo, EscrowedKeyList, KeyHealth, KeyPairRequest, KeyPairResponse,
    MaintenanceReport, OfficerRequest, PlaintextResponse, RecoveryInfo, RecoveryRequest,
    RevokeEscrowRequest, RotateRequest, RotatedKey,
};
use signet_core::{KeyType, Serial, SubjectKey, Timestamp};
use signet_store::kmc::EscrowRecord;
use signet_tls::PeerIdentity;

use super::AppState;
use super::errors::{ApiError, json_rejection};
use crate::audit::Caller;
use crate::error::KmcError;
use crate::escrow::KeyPairCommand;
use crate::kmc::rfc3339;

/// JSON body whose rejections use the API's error shape.
pub(crate) struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| ApiJson(v))
            .map_err(json_rejection)
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// Counts the error by its code, then hands it on.
fn counted(state: &AppState, err: KmcError) -> ApiError {
    let (_, code) = super::errors::classify(&err);
    state
        .kmc
        .metrics
        .errors
        .get_or_create(&crate::metrics::ErrorLabels {
            code: code.to_owned(),
        })
        .inc();
    ApiError(err)
}

/// A `PUBLIC KEY` PEM (or bare base64 DER) checked against Signet's key
/// rules.
pub(crate) fn public_key(field: &'static str, text: &str) -> Result<SubjectKey, KmcError> {
    let der = if text.trim_start().starts_with("-----BEGIN") {
        let (label, der) = der::pem::decode_vec(text.trim().as_bytes())
            .map_err(|_| KmcError::bad(field, "not a PEM public key"))?;
        if label != "PUBLIC KEY" {
            return Err(KmcError::bad(field, "the PEM block is not a PUBLIC KEY"));
        }
        der
    } else {
        B64.decode(text.trim())
            .map_err(|_| KmcError::bad(field, "neither PEM nor base64 DER"))?
    };
    SubjectKey::from_spki_der(&der).map_err(|e| KmcError::bad(field, e.to_string()))
}

fn base64_field(field: &'static str, text: &str) -> Result<Vec<u8>, KmcError> {
    B64.decode(text.trim())
        .map_err(|_| KmcError::bad(field, "not base64"))
}

fn certificate_der(text: &str) -> Result<Vec<u8>, KmcError> {
    if text.trim_start().starts_with("-----BEGIN") {
        signet_core::pem::certificates_from_pem(text.as_bytes())
            .ok()
            .and_then(|mut c| (!c.is_empty()).then(|| c.remove(0)))
            .ok_or_else(|| KmcError::bad("certificate", "not a PEM certificate"))
    } else {
        base64_field("certificate", text)
    }
}

fn parse_serial(text: &str) -> Result<Serial, KmcError> {
    text.parse()
        .map_err(|e: signet_core::serial::SerialError| KmcError::bad("serial", e.to_string()))
}

fn parse_time(field: &'static str, text: &str) -> Result<Timestamp, KmcError> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| Timestamp::from_unix(t.unix_timestamp()))
        .map_err(|e| KmcError::bad(field, format!("not an RFC 3339 time: {e}")))
}

pub(crate) fn escrow_info(e: &EscrowRecord) -> EscrowedKeyInfo {
    EscrowedKeyInfo {
        key_id: e.id.clone(),
        key_type: e.key_type.clone(),
        domain: e.domain.clone(),
        subject: e.subject.clone(),
        state: e.state.as_str().to_owned(),
        public_key: signet_core::pem::encode("PUBLIC KEY", &e.public_key),
        issuer: e.issuer.clone(),
        serial: e.serial.clone(),
        not_after: e.not_after.map(rfc3339),
        revoked_at: e.revoked_at.map(rfc3339),
        revocation_reason: e.revocation_reason.clone(),
        destroy_after: rfc3339(e.destroy_after),
        created_at: rfc3339(e.created_at),
    }
}

impl TryFrom<KeyPairRequest> for KeyPairCommand {
    type Error = KmcError;

    fn try_from(r: KeyPairRequest) -> Result<Self, KmcError> {
        let key_type: KeyType = r
            .key_type
            .parse()
            .map_err(|_| KmcError::bad("key_type", format!("unknown key type `{}`", r.key_type)))?;
        Ok(KeyPairCommand {
            request_id: r.request_id,
            key_type,
            signing_key: public_key("signing_key", &r.signing_key)?,
            subject: r.subject,
            domain: r.domain,
        })
    }
}

pub(crate) async fn generate_key_pair(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    ApiJson(req): ApiJson<KeyPairRequest>,
) -> Result<Response, ApiError> {
    let caller = Caller::from(&peer);
    let result = async {
        let cmd = KeyPairCommand::try_from(req)?;
        state.kmc.generate_key_pair(&caller, cmd).await
    }
    .await;
    let pair = result.map_err(|e| counted(&state, e))?;
    let status = if pair.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let body = KeyPairResponse {
        key_id: pair.key_id,
        key_type: pair.key_type.as_str().to_owned(),
        public_key: signet_core::pem::encode("PUBLIC KEY", &pair.public_key),
        envelope: B64.encode(&pair.envelope.der),
        envelope_format: pair.envelope.format.as_str().to_owned(),
        replayed: pair.replayed,
    };
    Ok((status, Json(body)).into_response())
}

pub(crate) async fn bind_certificate(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<BindCertificateRequest>,
) -> ApiResult<EscrowedKeyInfo> {
    let caller = Caller::from(&peer);
    let result = async {
        let der = certificate_der(&req.certificate)?;
        state
            .kmc
            .bind_certificate(&caller, &id, &req.issuer, &der)
            .await
    }
    .await;
    Ok(Json(escrow_info(&result.map_err(|e| counted(&state, e))?)))
}

pub(crate) async fn revoke_escrow(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    ApiJson(req): ApiJson<RevokeEscrowRequest>,
) -> ApiResult<EscrowedKeyList> {
    let caller = Caller::from(&peer);
    let result = async {
        let serial = parse_serial(&req.serial)?;
        let revoked_at = req
            .revoked_at
            .as_deref()
            .map(|t| parse_time("revoked_at", t))
            .transpose()?;
        state
            .kmc
            .revoke_escrow(
                &caller,
                &serial,
                req.issuer.as_deref(),
                &req.reason,
                revoked_at,
            )
            .await
    }
    .await;
    let keys = result.map_err(|e| counted(&state, e))?;
    Ok(Json(EscrowedKeyList {
        keys: keys.iter().map(escrow_info).collect(),
    }))
}

pub(crate) async fn escrowed_key(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    Path(id): Path<String>,
) -> ApiResult<EscrowedKeyInfo> {
    let caller = Caller::from(&peer);
    let record = state
        .kmc
        .escrowed_key(&caller, &id)
        .await
        .map_err(|e| counted(&state, e))?;
    Ok(Json(escrow_info(&record)))
}

/// `?serial=HEX`.
#[derive(Debug, Deserialize)]
pub(crate) struct SerialQuery {
    serial: String,
}

pub(crate) async fn escrowed_keys(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    Query(q): Query<SerialQuery>,
) -> ApiResult<EscrowedKeyList> {
    let caller = Caller::from(&peer);
    let result = async {
        let serial = parse_serial(&q.serial)?;
        state.kmc.escrowed_keys_by_serial(&caller, &serial).await
    }
    .await;
    let keys = result.map_err(|e| counted(&state, e))?;
    Ok(Json(EscrowedKeyList {
        keys: keys.iter().map(escrow_info).collect(),
    }))
}

pub(crate) async fn request_recovery(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    ApiJson(req): ApiJson<RecoveryRequest>,
) -> Result<Response, ApiError> {
    let caller = Caller::from(&peer);
    let result = async {
        let signing_key = public_key("signing_key", &req.signing_key)?;
        state
            .kmc
            .request_recovery(
                &caller,
                &req.officer,
                &req.key_id,
                &req.reason,
                &signing_key,
            )
            .await
    }
    .await;
    let info = result.map_err(|e| counted(&state, e))?;
    Ok((StatusCode::CREATED, Json(info)).into_response())
}

pub(crate) async fn recovery(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    Path(id): Path<String>,
) -> ApiResult<RecoveryInfo> {
    let caller = Caller::from(&peer);
    Ok(Json(
        state
            .kmc
            .recovery(&caller, &id)
            .await
            .map_err(|e| counted(&state, e))?,
    ))
}

pub(crate) async fn approve_recovery(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<OfficerRequest>,
) -> ApiResult<RecoveryInfo> {
    let caller = Caller::from(&peer);
    Ok(Json(
        state
            .kmc
            .approve_recovery(&caller, &req.officer, &id)
            .await
            .map_err(|e| counted(&state, e))?,
    ))
}

pub(crate) async fn deliver_recovery(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<OfficerRequest>,
) -> ApiResult<DeliveredKey> {
    let caller = Caller::from(&peer);
    let delivery = state
        .kmc
        .deliver_recovery(&caller, &req.officer, &id)
        .await
        .map_err(|e| counted(&state, e))?;
    Ok(Json(DeliveredKey {
        recovery_id: delivery.recovery_id,
        key_id: delivery.key_id,
        envelope: B64.encode(&delivery.envelope.der),
        envelope_format: delivery.envelope.format.as_str().to_owned(),
    }))
}

pub(crate) async fn key_health(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
) -> ApiResult<KeyHealth> {
    let caller = Caller::from(&peer);
    Ok(Json(
        state
            .kmc
            .key_health(&caller)
            .await
            .map_err(|e| counted(&state, e))?,
    ))
}

pub(crate) async fn rotate(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    ApiJson(req): ApiJson<RotateRequest>,
) -> ApiResult<RotatedKey> {
    let caller = Caller::from(&peer);
    Ok(Json(
        state
            .kmc
            .rotate(&caller, &req.level, &req.name, &req.reason)
            .await
            .map_err(|e| counted(&state, e))?,
    ))
}

pub(crate) async fn maintenance(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
) -> ApiResult<MaintenanceReport> {
    let caller = Caller::from(&peer);
    Ok(Json(
        state
            .kmc
            .maintenance(&caller)
            .await
            .map_err(|e| counted(&state, e))?,
    ))
}

pub(crate) async fn data_keys(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
) -> ApiResult<DataKeyList> {
    let caller = Caller::from(&peer);
    Ok(Json(
        state
            .kmc
            .data_keys(&caller)
            .await
            .map_err(|e| counted(&state, e))?,
    ))
}

pub(crate) async fn create_data_key(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    ApiJson(req): ApiJson<CreateDataKeyRequest>,
) -> Result<Response, ApiError> {
    let caller = Caller::from(&peer);
    let info = state
        .kmc
        .create_data_key(
            &caller,
            &req.name,
            req.domain.as_deref(),
            req.algorithm.as_deref(),
            &req.clients,
        )
        .await
        .map_err(|e| counted(&state, e))?;
    Ok((StatusCode::CREATED, Json(info)).into_response())
}

pub(crate) async fn grant_data_key(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<ClientRequest>,
) -> ApiResult<DataKeyInfo> {
    let caller = Caller::from(&peer);
    Ok(Json(
        state
            .kmc
            .grant_data_key(&caller, &name, &req.client)
            .await
            .map_err(|e| counted(&state, e))?,
    ))
}

pub(crate) async fn revoke_data_key(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<ClientRequest>,
) -> ApiResult<DataKeyInfo> {
    let caller = Caller::from(&peer);
    Ok(Json(
        state
            .kmc
            .revoke_data_key(&caller, &name, &req.client)
            .await
            .map_err(|e| counted(&state, e))?,
    ))
}

pub(crate) async fn destroy_data_key_version(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<DestroyVersionRequest>,
) -> ApiResult<DataKeyInfo> {
    let caller = Caller::from(&peer);
    Ok(Json(
        state
            .kmc
            .destroy_data_key_version(&caller, &name, req.version)
            .await
            .map_err(|e| counted(&state, e))?,
    ))
}

pub(crate) async fn encrypt(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<EncryptRequest>,
) -> ApiResult<CiphertextResponse> {
    let caller = Caller::from(&peer);
    let result = async {
        let plaintext = zeroize::Zeroizing::new(base64_field("plaintext", &req.plaintext)?);
        let aad = req
            .aad
            .as_deref()
            .map(|a| base64_field("aad", a))
            .transpose()?
            .unwrap_or_default();
        state.kmc.encrypt(&caller, &name, &plaintext, &aad).await
    }
    .await;
    let (ciphertext, version) = result.map_err(|e| counted(&state, e))?;
    Ok(Json(CiphertextResponse {
        ciphertext: B64.encode(ciphertext),
        version,
    }))
}

fn decrypt_inputs(req: &DecryptRequest) -> Result<(Vec<u8>, Vec<u8>), KmcError> {
    let ciphertext = base64_field("ciphertext", &req.ciphertext)?;
    let aad = req
        .aad
        .as_deref()
        .map(|a| base64_field("aad", a))
        .transpose()?
        .unwrap_or_default();
    Ok((ciphertext, aad))
}

pub(crate) async fn decrypt(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<DecryptRequest>,
) -> ApiResult<PlaintextResponse> {
    let caller = Caller::from(&peer);
    let result = async {
        let (ciphertext, aad) = decrypt_inputs(&req)?;
        state.kmc.decrypt(&caller, &name, &ciphertext, &aad).await
    }
    .await;
    let (plaintext, version) = result.map_err(|e| counted(&state, e))?;
    Ok(Json(PlaintextResponse {
        plaintext: B64.encode(&*plaintext),
        version,
    }))
}

pub(crate) async fn re_encrypt(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<DecryptRequest>,
) -> ApiResult<CiphertextResponse> {
    let caller = Caller::from(&peer);
    let result = async {
        let (ciphertext, aad) = decrypt_inputs(&req)?;
        state
            .kmc
            .re_encrypt(&caller, &name, &ciphertext, &aad)
            .await
    }
    .await;
    let (ciphertext, version) = result.map_err(|e| counted(&state, e))?;
    Ok(Json(CiphertextResponse {
        ciphertext: B64.encode(ciphertext),
        version,
    }))
}

pub(crate) async fn health() -> &'static str {
    "ok"
}

pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    match state.kmc.store().roots().await {
        Ok(_) => "ready".into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response(),
    }
}

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

pub(crate) async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(ErrorBody {
            error: "not_found".into(),
            message: "no such endpoint".into(),
        }),
    )
        .into_response()
}

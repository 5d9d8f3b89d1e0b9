//! Server-side key generation: for subscribers without tooling, the
//! officer files a request without a CSR; the RA generates the key pair,
//! signs a PKCS#10 request with it (so approvals, issuance with request id
//! `ra:<uid>`, downloads and revocation are those of any request), and
//! keeps the private key until delivery, encrypted under the token's
//! `ra-fields` key and bound to its table, column and request.
//!
//! Once the certificate is issued, an officer creates the PKCS#12: the RA
//! makes a one-time password, shows it once (never stored, logged or
//! audited), writes the key, certificate and chain into a PKCS#12 under
//! it ([`signet_core::pkcs12`]) and stores that file beside the key
//! (encrypted again under `ra-fields`). Only that officer may download
//! it, once; the download erases file and key. Until then the same
//! officer may create it again (a lost password page), which replaces
//! file and password. Both need the certificate still `good` and not
//! expired. A rejected, refused or revoked request's key is erased in the
//! transaction that records that status.

use std::fmt;

use rand::RngExt as _;
use signet_core::names::{parse_general_name, parse_name};
use signet_core::pkcs12::{Pkcs12Contents, write_pkcs12};
use signet_core::subscriber_key::{SUBSCRIBER_KEY_TYPES, SubscriberKey};
use signet_core::{KeyType, Timestamp};
use signet_store::RaTx;
use signet_store::ra::{RequestRecord, ServerKeyRecord};
use zeroize::Zeroizing;

use super::RegistrationAuthority;
use crate::audit::{AuditEvent, Outcome};
use crate::error::RaError;
use crate::keys::{FIELD_KEY_LABEL, blocking};
use crate::roles::{Caller, Permission};

/// What the officer vetted for a request without a CSR.
#[derive(Clone, Debug, Default)]
pub struct ServerKeyForm {
    /// `p256`, `p384`, `rsa2048` or `rsa3072`.
    pub key_type: String,
    /// The subject, RFC 4514.
    pub subject: String,
    /// Subject alternative names (`DNS:a.example`, `IP:10.0.0.1`,
    /// `email:a@b`, `URI:...`), separated by commas or line breaks; may be
    /// empty (the CA's profile decides whether it needs any).
    pub sans: String,
}

/// A server-key request, validated and with its key generated.
pub(super) struct GeneratedRequest {
    pub key_type: KeyType,
    pub csr_pem: String,
    pub subject: String,
    pub sans_json: Option<String>,
    key: SubscriberKey,
}

/// The one-time password of a PKCS#12: shown once, never stored.
pub struct OneTimePassword(Zeroizing<String>);

impl OneTimePassword {
    /// RFC 4648 base32 letters and digits: no 0, 1 or 8 to confuse with
    /// O, I or B.
    const ALPHABET: &'static [u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    /// Four groups of five characters: 100 bits, readable aloud.
    fn generate() -> Self {
        let mut rng = rand::rng();
        let mut text = Zeroizing::new(String::with_capacity(23));
        for i in 0..20 {
            if i > 0 && i % 5 == 0 {
                text.push('-');
            }
            let index = rng.random_range(0..Self::ALPHABET.len());
            text.push(char::from(
                Self::ALPHABET.get(index).copied().unwrap_or(b'A'),
            ));
        }
        OneTimePassword(text)
    }

    /// The password, to show once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OneTimePassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimePassword(***)")
    }
}

/// The state of a request's generated key, as its page shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKeyState {
    /// Stored until the certificate is issued and packaged.
    Stored,
    /// Packaged into a PKCS#12 waiting for its one download; the key is
    /// kept until then, so the PKCS#12 can be made again.
    Packaged,
    /// Downloaded; the RA holds the key no more.
    Delivered,
    /// Erased without delivery (request rejected, refused or revoked).
    Erased,
}

impl ServerKeyState {
    fn of(row: &ServerKeyRecord) -> Self {
        match (&row.private_key, &row.pkcs12) {
            (Some(_), None) => ServerKeyState::Stored,
            (Some(_), Some(_)) => ServerKeyState::Packaged,
            (None, _) if row.delivered_at.is_some() => ServerKeyState::Delivered,
            (None, _) => ServerKeyState::Erased,
        }
    }

    /// The name templates and audit records use.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerKeyState::Stored => "stored",
            ServerKeyState::Packaged => "packaged",
            ServerKeyState::Delivered => "delivered",
            ServerKeyState::Erased => "erased",
        }
    }
}

/// A request's generated key: its type and state.
#[derive(Clone, Debug)]
pub struct ServerKeyView {
    /// The key type (`p256`, ...).
    pub key_type: String,
    /// Where it is in its life.
    pub state: ServerKeyState,
    /// The officer who made the PKCS#12 last, the only one who may
    /// download it or make it again.
    pub packaged_by: Option<i64>,
}

impl ServerKeyView {
    /// Whether `officer` may create the PKCS#12 now (the certificate's
    /// state is checked apart).
    pub fn may_package(&self, officer: Option<i64>) -> bool {
        match self.state {
            ServerKeyState::Stored => officer.is_some(),
            ServerKeyState::Packaged => officer.is_some() && self.packaged_by == officer,
            ServerKeyState::Delivered | ServerKeyState::Erased => false,
        }
    }

    /// Whether `officer` may download the PKCS#12 now.
    pub fn may_download(&self, officer: Option<i64>) -> bool {
        self.state == ServerKeyState::Packaged && officer.is_some() && self.packaged_by == officer
    }
}

/// Why a PKCS#12 action is refused: the audit reason and the message key.
type Refusal = (&'static str, &'static str);

/// Whether the certificate of `record` is one a key may still be handed
/// over for: issued, `good` by the RA's last answer from the CA, and not
/// expired at `now`.
fn certificate_refusal(record: &RequestRecord, now: Timestamp) -> Option<Refusal> {
    if record.status != "issued" || record.certificate_pem.is_none() {
        return Some(("not_issued", "server_key.not_issued"));
    }
    match record.cert_status.as_deref() {
        Some("good") => {}
        Some("revoked") => return Some(("certificate_revoked", "server_key.certificate_revoked")),
        _ => return Some(("certificate_not_valid", "server_key.certificate_not_valid")),
    }
    if record.not_after.is_none_or(|t| t <= now) {
        return Some(("certificate_expired", "server_key.certificate_not_valid"));
    }
    None
}

/// Why `officer` may not create (`for_delivery` false) or download the
/// PKCS#12 of `row` now, if it may not.
fn refusal(
    row: &ServerKeyRecord,
    record: &RequestRecord,
    officer: i64,
    now: Timestamp,
    for_delivery: bool,
) -> Option<Refusal> {
    let own = row.packaged_by == Some(officer);
    match ServerKeyState::of(row) {
        ServerKeyState::Delivered => return Some(("delivered", "server_key.already_delivered")),
        ServerKeyState::Erased => return Some(("erased", "server_key.erased")),
        ServerKeyState::Stored if for_delivery => {
            return Some(("not_created", "server_key.not_created"));
        }
        ServerKeyState::Packaged if !own => return Some(("not_creator", "server_key.not_creator")),
        ServerKeyState::Stored | ServerKeyState::Packaged => {}
    }
    certificate_refusal(record, now)
}

/// Binds a ciphertext to its table, column and request.
fn aad(column: &str, uid: &str) -> Vec<u8> {
    format!("signet-ra:server_keys:{column}:{uid}").into_bytes()
}

fn invalid(field: &'static str, key: &'static str) -> RaError {
    RaError::Invalid { field, key }
}

/// Checks the officer's input and generates the key and its CSR.
pub(super) async fn generate(form: &ServerKeyForm) -> Result<GeneratedRequest, RaError> {
    let key_type = form
        .key_type
        .trim()
        .parse::<KeyType>()
        .ok()
        .filter(|k| SUBSCRIBER_KEY_TYPES.contains(k))
        .ok_or(invalid("key_type", "server_key.invalid_key_type"))?;
    let subject = form.subject.trim();
    if subject.is_empty() {
        return Err(invalid("subject", "server_key.subject_required"));
    }
    let name = parse_name(subject).map_err(|_| invalid("subject", "error.invalid_subject"))?;
    if name.is_empty() {
        return Err(invalid("subject", "server_key.subject_required"));
    }
    let sans: Vec<String> = form
        .sans
        .split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if sans.iter().any(|s| parse_general_name(s).is_err()) {
        return Err(invalid("sans", "error.invalid_sans"));
    }
    let sans_json = if sans.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&sans).map_err(|_| RaError::internal("cannot encode SANs"))?)
    };
    // RSA generation takes a while: off the async workers.
    let (key, csr_der) = tokio::task::spawn_blocking(move || {
        let key = SubscriberKey::generate(key_type, &mut rand::rng())
            .map_err(|e| RaError::internal(format!("key generation: {e}")))?;
        let csr = signet_core::csr::build_csr(&key, &name)
            .map_err(|e| RaError::internal(format!("CSR: {e}")))?;
        Ok::<_, RaError>((key, csr))
    })
    .await
    .map_err(|_| RaError::internal("key generation task failed"))??;
    Ok(GeneratedRequest {
        key_type,
        csr_pem: signet_core::pem::encode("CERTIFICATE REQUEST", &csr_der),
        subject: subject.to_owned(),
        sans_json,
        key,
    })
}

impl RegistrationAuthority {
    /// Encrypts a generated key for request `uid` under the token's
    /// `ra-fields` key, before the filing transaction begins.
    pub(super) async fn seal_generated_key(
        &self,
        uid: &str,
        generated: &GeneratedRequest,
    ) -> Result<Vec<u8>, RaError> {
        let pkcs8 = generated
            .key
            .to_pkcs8_der()
            .map_err(|e| RaError::internal(format!("PKCS#8: {e}")))?;
        let aad = aad("private_key", uid);
        blocking(&self.token, move |t| {
            t.aes_gcm_encrypt(FIELD_KEY_LABEL, &aad, &pkcs8)
        })
        .await
    }

    /// Stores a sealed generated key for request `request_id` and audits
    /// its generation, in the filing transaction.
    pub(super) async fn store_generated_key(
        &self,
        tx: &mut RaTx,
        caller: &Caller,
        uid: &str,
        request_id: i64,
        generated: &GeneratedRequest,
        sealed: &[u8],
    ) -> Result<(), RaError> {
        let now = self.clock.now();
        tx.insert_server_key(request_id, generated.key_type.as_str(), sealed, now)
            .await?;
        self.audit
            .append(
                tx,
                &AuditEvent::by(caller, "server_key.generate")
                    .target(format!("request:{uid}"))
                    .detail("key_type", generated.key_type.as_str())
                    .detail(
                        "key_id",
                        crate::keys::key_id(generated.key.public_key_der()),
                    ),
            )
            .await?;
        Ok(())
    }

    /// The generated key of a request, if it was filed without a CSR.
    pub(crate) async fn server_key_view(
        &self,
        record: &RequestRecord,
    ) -> Result<Option<ServerKeyView>, RaError> {
        Ok(self
            .store
            .server_key(record.id)
            .await?
            .map(|row| ServerKeyView {
                state: ServerKeyState::of(&row),
                packaged_by: row.packaged_by,
                key_type: row.key_type,
            }))
    }

    /// Erases the stored key (and any PKCS#12 made from it) of a request
    /// whose certificate will never be handed over (rejected, refused by
    /// the CA, revoked), in `tx`, the transaction that records that
    /// status, and audits it. Nothing stored: nothing done.
    pub(crate) async fn erase_generated_key(
        &self,
        tx: &mut RaTx,
        caller: &Caller,
        record: &RequestRecord,
        why: &'static str,
    ) -> Result<(), RaError> {
        if tx.erase_server_key(record.id, self.clock.now()).await? {
            self.audit
                .append(
                    tx,
                    &AuditEvent::by(caller, "server_key.erase")
                        .target(format!("request:{}", record.uid))
                        .detail("reason", why),
                )
                .await?;
        }
        Ok(())
    }

    /// The request, stored key and acting officer of a PKCS#12 action, once the
    /// caller may act on them: an officer in scope, the key still held,
    /// and nothing in [`refusal`] against it (each refusal audited).
    async fn pkcs12_subject(
        &self,
        caller: &Caller,
        uid: &str,
        action: &'static str,
        delivering: bool,
    ) -> Result<(RequestRecord, ServerKeyRecord, i64), RaError> {
        self.require(caller, Permission::FileRequests, action)
            .await?;
        let record = self.scoped_request(caller, uid).await?;
        let Some(officer_id) = caller.officer_id else {
            return self.deny(caller, action, &format!("request:{uid}")).await;
        };
        let Some(row) = self.store.server_key(record.id).await? else {
            return self
                .refuse_pkcs12(
                    caller,
                    action,
                    &record,
                    ("no_server_key", "server_key.no_key"),
                )
                .await;
        };
        if let Some(why) = refusal(&row, &record, officer_id, self.clock.now(), delivering) {
            return self.refuse_pkcs12(caller, action, &record, why).await;
        }
        Ok((record, row, officer_id))
    }

    /// Audits a refused PKCS#12 action and returns the error. A refusal
    /// because the certificate is revoked also erases what is still
    /// stored (a revocation recorded by a path that did not erase it).
    async fn refuse_pkcs12<T>(
        &self,
        caller: &Caller,
        action: &'static str,
        record: &RequestRecord,
        (reason, key): Refusal,
    ) -> Result<T, RaError> {
        if reason == "certificate_revoked" {
            let mut tx = self.store.begin().await?;
            self.erase_generated_key(&mut tx, caller, record, "revoked")
                .await?;
            tx.commit().await?;
        }
        self.audit
            .record_or_log(
                &AuditEvent::by(caller, action)
                    .target(format!("request:{}", record.uid))
                    .outcome(Outcome::Denied)
                    .detail("reason", reason),
            )
            .await;
        Err(RaError::Conflict { key })
    }

    /// After a conditional update changed nothing (another officer, a
    /// delivery or a revocation got there first): the refusal the state
    /// now calls for, audited.
    async fn refuse_after_race<T>(
        &self,
        caller: &Caller,
        action: &'static str,
        uid: &str,
        officer: i64,
        for_delivery: bool,
    ) -> Result<T, RaError> {
        let record = self.scoped_request(caller, uid).await?;
        let why = match self.store.server_key(record.id).await? {
            Some(row) => refusal(&row, &record, officer, self.clock.now(), for_delivery),
            None => Some(("no_server_key", "server_key.no_key")),
        };
        self.refuse_pkcs12(
            caller,
            action,
            &record,
            why.unwrap_or(("concurrent_change", "server_key.concurrent")),
        )
        .await
    }

    /// Packages an issued request's generated key, its certificate and
    /// chain (without the root) into a PKCS#12 under a new one-time
    /// password and stores that file beside the key. The password is
    /// returned to be shown once; it is never stored, logged or audited.
    /// Until the download the officer who made it may make it again (a
    /// lost password page): the new file and password replace the old.
    pub async fn create_pkcs12(
        &self,
        caller: &Caller,
        uid: &str,
    ) -> Result<OneTimePassword, RaError> {
        const ACTION: &str = "pkcs12.create";
        let (record, row, officer_id) = self.pkcs12_subject(caller, uid, ACTION, false).await?;
        let recreated = ServerKeyState::of(&row) == ServerKeyState::Packaged;
        let (Some(cert_pem), Some(serial)) =
            (record.certificate_pem.as_deref(), record.serial.as_deref())
        else {
            return self
                .refuse_pkcs12(
                    caller,
                    ACTION,
                    &record,
                    ("not_issued", "server_key.not_issued"),
                )
                .await;
        };
        let certificate = signet_core::pem::certificates_from_pem(cert_pem.as_bytes())
            .ok()
            .and_then(|c| c.into_iter().next())
            .ok_or_else(|| RaError::internal("stored certificate is not PEM"))?;
        let chain = signet_core::pem::certificates_from_pem(
            record.chain_pem.as_deref().unwrap_or_default().as_bytes(),
        )
        .map_err(|_| RaError::internal("stored chain is not PEM"))?;
        let sealed = row
            .private_key
            .ok_or_else(|| RaError::internal("server key vanished"))?;
        let aad_key = aad("private_key", uid);
        let pkcs8 = blocking(&self.token, move |t| {
            t.aes_gcm_decrypt(FIELD_KEY_LABEL, &aad_key, &sealed)
        })
        .await
        .map_err(|e| match e {
            RaError::Token(signet_token::TokenError::Decrypt { .. }) => RaError::Tampered {
                what: "server_keys:private_key",
            },
            other => other,
        })?;
        // The subject's CN, or the serial; signet_core::pkcs12 replaces
        // characters a BMPString cannot hold.
        let friendly_name = signet_core::csr::VerifiedCsr::parse(
            record.csr_pem.as_bytes(),
            signet_core::csr::DEFAULT_MAX_CSR_BYTES,
        )
        .ok()
        .and_then(|csr| signet_core::names::common_name(csr.subject()))
        .filter(|cn| !cn.trim().is_empty())
        .unwrap_or_else(|| serial.to_owned());
        let password = OneTimePassword::generate();
        let iterations = self.settings.pkcs12_iterations;
        let otp = Zeroizing::new(password.expose().to_owned());
        let p12 = tokio::task::spawn_blocking(move || {
            let key = SubscriberKey::from_pkcs8_der(&pkcs8).map_err(|_| RaError::Tampered {
                what: "server_keys:private_key",
            })?;
            // The certificate must be for this key: a stored key that does
            // not match is not handed out.
            let cert_spki = <x509_cert::Certificate as der::Decode>::from_der(&certificate)
                .ok()
                .and_then(|c| {
                    der::Encode::to_der(c.tbs_certificate().subject_public_key_info()).ok()
                });
            if cert_spki.as_deref() != Some(key.public_key_der()) {
                return Err(RaError::Tampered {
                    what: "server_keys:private_key",
                });
            }
            write_pkcs12(
                &Pkcs12Contents {
                    private_key_pkcs8: &pkcs8,
                    certificate: &certificate,
                    chain: &chain,
                    friendly_name: &friendly_name,
                },
                &otp,
                iterations,
                &mut rand::rng(),
            )
            .map(Zeroizing::new)
            .map_err(|e| RaError::internal(format!("PKCS#12: {e}")))
        })
        .await
        .map_err(|_| RaError::internal("PKCS#12 task failed"))??;
        let aad_p12 = aad("pkcs12", uid);
        let sealed = blocking(&self.token, move |t| {
            t.aes_gcm_encrypt(FIELD_KEY_LABEL, &aad_p12, &p12)
        })
        .await?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !tx
            .package_server_key(record.id, &sealed, officer_id, now)
            .await?
        {
            // Another officer, a delivery or a revocation came first.
            drop(tx);
            return self
                .refuse_after_race(caller, ACTION, uid, officer_id, false)
                .await;
        }
        self.audit
            .append(
                &mut tx,
                &AuditEvent::by(caller, ACTION)
                    .target(format!("request:{uid}"))
                    .detail("serial", serial)
                    .detail("key_type", row.key_type.as_str())
                    .detail("recreated", recreated),
            )
            .await?;
        tx.commit().await?;
        Ok(password)
    }

    /// The PKCS#12 of a request, once, to the officer who made it: the
    /// stored file and the key are erased as it is handed over. Returns
    /// the serial (for the file name) and the file.
    pub async fn deliver_pkcs12(
        &self,
        caller: &Caller,
        uid: &str,
    ) -> Result<(String, Vec<u8>), RaError> {
        const ACTION: &str = "pkcs12.deliver";
        let (record, row, officer_id) = self.pkcs12_subject(caller, uid, ACTION, true).await?;
        let Some(sealed) = row.pkcs12 else {
            return Err(RaError::internal("PKCS#12 vanished"));
        };
        let aad_p12 = aad("pkcs12", uid);
        let p12 = blocking(&self.token, move |t| {
            t.aes_gcm_decrypt(FIELD_KEY_LABEL, &aad_p12, &sealed)
        })
        .await
        .map_err(|e| match e {
            RaError::Token(signet_token::TokenError::Decrypt { .. }) => RaError::Tampered {
                what: "server_keys:pkcs12",
            },
            other => other,
        })?;
        let serial = record.serial.clone().unwrap_or_else(|| uid.to_owned());
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !tx.deliver_server_pkcs12(record.id, officer_id, now).await? {
            drop(tx);
            return self
                .refuse_after_race(caller, ACTION, uid, officer_id, true)
                .await;
        }
        self.audit
            .append(
                &mut tx,
                &AuditEvent::by(caller, ACTION)
                    .target(format!("request:{uid}"))
                    .detail("serial", serial.as_str()),
            )
            .await?;
        tx.commit().await?;
        Ok((serial, p12.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_passwords_are_four_groups_of_five_base32() {
        let a = OneTimePassword::generate();
        let b = OneTimePassword::generate();
        assert_ne!(a.expose(), b.expose());
        let groups: Vec<&str> = a.expose().split('-').collect();
        assert_eq!(groups.len(), 4);
        for g in groups {
            assert_eq!(g.len(), 5);
            assert!(g.bytes().all(|c| OneTimePassword::ALPHABET.contains(&c)));
        }
        assert_eq!(format!("{a:?}"), "OneTimePassword(***)");
    }
}

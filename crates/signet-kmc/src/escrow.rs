//! Encryption key pairs for dual certificates: generate, escrow, envelope;
//! then archive with the certificate, revoke with it, destroy after the
//! retention period.
//!
//! The escrowed private key is stored as PKCS#8 encrypted under the
//! domain's active escrow working key (associated data binds it to its id,
//! type and domain), never in plaintext.

use sha2::Digest as _;
use signet_core::envelope::{self, Envelope, PrivateKey};
use signet_core::{KeyType, Serial, SubjectKey, Timestamp};
use signet_store::kmc::{EscrowRecord, EscrowState};
use signet_tls::Role;

use crate::audit::Caller;
use crate::error::{KmcError, blocking};
use crate::hierarchy::escrow_key_name;
use crate::kmc::{Kmc, rfc3339};

/// What the CA asks for.
#[derive(Clone, Debug)]
pub struct KeyPairCommand {
    /// The CA's request id (idempotency key).
    pub request_id: String,
    /// The key type the profile names.
    pub key_type: KeyType,
    /// The subscriber's signing public key.
    pub signing_key: SubjectKey,
    /// The subscriber's subject (RFC 4514).
    pub subject: String,
    /// Business domain; `None` for the default.
    pub domain: Option<String>,
}

/// A generated, escrowed and enveloped key pair.
#[derive(Clone, Debug)]
pub struct GeneratedKeyPair {
    /// The escrowed key's id.
    pub key_id: String,
    /// Its type.
    pub key_type: KeyType,
    /// Its public key, SubjectPublicKeyInfo DER.
    pub public_key: Vec<u8>,
    /// The private key enveloped to the signing key.
    pub envelope: Envelope,
    /// True when this answers a retried request.
    pub replayed: bool,
}

fn random_id(prefix: &str) -> String {
    use rand::Rng as _;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// Associated data of an escrowed key under its working key.
fn escrow_aad(id: &str, key_type: &str, domain: &str) -> Vec<u8> {
    format!("signet-kmc:escrow:{id}:{key_type}:{domain}").into_bytes()
}

fn request_hash(domain: &str, key_type: KeyType, signing_key: &[u8], subject: &str) -> Vec<u8> {
    let mut h = sha2::Sha256::new();
    h.update(b"signet-kmc-key-pair-v1");
    for field in [
        domain.as_bytes(),
        key_type.as_str().as_bytes(),
        signing_key,
        subject.as_bytes(),
    ] {
        h.update(u64::try_from(field.len()).unwrap_or(u64::MAX).to_be_bytes());
        h.update(field);
    }
    h.finalize().to_vec()
}

fn spki_der(key: &SubjectKey) -> Result<Vec<u8>, KmcError> {
    der::Encode::to_der(key.spki()).map_err(|_| KmcError::Internal {
        reason: "public key encoding",
    })
}

/// Whether a key of `key_type` can be enveloped to `signing_key`: an SM2
/// signing key receives SM2 keys only (GM/T 0009); ECDSA and RSA signing
/// keys receive any type (CMS).
pub(crate) fn check_pairing(signing_key: &SubjectKey, key_type: KeyType) -> Result<(), KmcError> {
    if signing_key.key_type() == KeyType::Sm2 && key_type != KeyType::Sm2 {
        return Err(KmcError::bad(
            "signing_key",
            format!("an SM2 signing key receives SM2 encryption keys only, not {key_type}"),
        ));
    }
    Ok(())
}

impl Kmc {
    /// Generates an encryption key pair for a dual-certificate request,
    /// escrows the private key and returns it enveloped to the signing key
    /// (role ca only). A retried request id returns the same key pair.
    pub async fn generate_key_pair(
        &self,
        caller: &Caller,
        cmd: KeyPairCommand,
    ) -> Result<GeneratedKeyPair, KmcError> {
        caller.require(&[Role::Ca], "request encryption key pairs")?;
        let started = std::time::Instant::now();
        if cmd.request_id.is_empty() || cmd.request_id.len() > 200 {
            return Err(KmcError::bad("request_id", "must be 1 to 200 characters"));
        }
        if cmd.subject.len() > 4096 {
            return Err(KmcError::bad("subject", "too long"));
        }
        if !self.settings.key_types.contains(&cmd.key_type) {
            return Err(KmcError::bad(
                "key_type",
                format!(
                    "{} is not offered by this KMC (escrow.key_types)",
                    cmd.key_type
                ),
            ));
        }
        let domain = cmd
            .domain
            .clone()
            .unwrap_or_else(|| self.settings.default_domain.clone());
        if !self.settings.domains.contains(&domain) {
            return Err(KmcError::not_found("domain", domain));
        }
        check_pairing(&cmd.signing_key, cmd.key_type)?;
        let signing_der = spki_der(&cmd.signing_key)?;
        let hash = request_hash(&domain, cmd.key_type, &signing_der, &cmd.subject);
        if let Some(existing) = self.store.escrow_by_request(&cmd.request_id).await? {
            return self.replay(existing, &hash, &cmd).await;
        }

        let key_type = cmd.key_type;
        let key = blocking(move || Ok(PrivateKey::generate(key_type, &mut rand::rng())?)).await?;
        let working = self.keys.active(&escrow_key_name(&domain))?;
        let id = random_id("ek-");
        let pkcs8 = key.to_pkcs8_der()?;
        let wrapped = working.seal(&escrow_aad(&id, key_type.as_str(), &domain), &pkcs8)?;
        drop(pkcs8);
        let envelope = envelope::seal_private_key(&cmd.signing_key, &key, &mut rand::rng())?;
        let now = self.clock.now();
        let record = EscrowRecord {
            id: id.clone(),
            request_id: cmd.request_id.clone(),
            request_hash: hash.clone(),
            domain: domain.clone(),
            key_type: key_type.as_str().to_owned(),
            public_key: key.public_key_der().to_vec(),
            signing_key: signing_der,
            subject: cmd.subject.clone(),
            working_name: working.name.clone(),
            working_version: working.version,
            wrapped: Some(wrapped),
            state: EscrowState::Escrowed,
            issuer: None,
            serial: None,
            certificate: None,
            not_after: None,
            revoked_at: None,
            revocation_reason: None,
            destroy_after: now.plus(self.settings.unbound_retention),
            created_at: now,
            updated_at: now,
            destroyed_at: None,
        };
        let mut tx = self.store.begin().await?;
        if !tx.insert_escrow(&record).await? {
            // A concurrent call with the same request id won: answer as it did.
            drop(tx);
            let existing =
                self.store
                    .escrow_by_request(&cmd.request_id)
                    .await?
                    .ok_or(KmcError::Internal {
                        reason: "escrow row vanished",
                    })?;
            return self.replay(existing, &hash, &cmd).await;
        }
        tx.append_audit(&caller.entry(
            now,
            None,
            "escrow.generate",
            format!("escrow:{id}"),
            "success",
            format!(
                "{key_type} for {} (request {}, domain {domain}, working key {} v{}, envelope {})",
                cmd.subject, cmd.request_id, working.name, working.version, envelope.format
            ),
        ))
        .await?;
        tx.commit().await?;
        self.metrics
            .key_pairs
            .get_or_create(&crate::metrics::KeyTypeLabels {
                key_type: key_type.as_str().to_owned(),
            })
            .inc();
        self.metrics
            .key_pair_seconds
            .observe(started.elapsed().as_secs_f64());
        Ok(GeneratedKeyPair {
            key_id: id,
            key_type,
            public_key: record.public_key,
            envelope,
            replayed: false,
        })
    }

    /// Answers a retried request id: the same key, enveloped again.
    async fn replay(
        &self,
        existing: EscrowRecord,
        hash: &[u8],
        cmd: &KeyPairCommand,
    ) -> Result<GeneratedKeyPair, KmcError> {
        if existing.request_hash != hash {
            return Err(KmcError::RequestIdReused {
                request_id: cmd.request_id.clone(),
            });
        }
        let key = self.unwrap_escrow(&existing).await?;
        let envelope = envelope::seal_private_key(&cmd.signing_key, &key, &mut rand::rng())?;
        Ok(GeneratedKeyPair {
            key_id: existing.id,
            key_type: key.key_type(),
            public_key: existing.public_key,
            envelope,
            replayed: true,
        })
    }

    /// The escrowed private key, unwrapped into zeroizing memory. Only the
    /// envelope made from it ever leaves the KMC.
    pub(crate) async fn unwrap_escrow(
        &self,
        record: &EscrowRecord,
    ) -> Result<PrivateKey, KmcError> {
        let wrapped = record.wrapped.as_ref().ok_or_else(|| KmcError::Destroyed {
            what: "escrowed key",
            id: record.id.clone(),
        })?;
        let working = self
            .keys
            .working(&record.working_name, record.working_version)
            .await?;
        let pkcs8 = working
            .open(
                &escrow_aad(&record.id, &record.key_type, &record.domain),
                wrapped,
            )?
            .ok_or_else(|| KmcError::Unwrap {
                what: format!("escrowed key {}", record.id),
            })?;
        let key = PrivateKey::from_pkcs8_der(&pkcs8)?;
        if key.public_key_der() != record.public_key {
            return Err(KmcError::Unwrap {
                what: format!("escrowed key {} (public key mismatch)", record.id),
            });
        }
        Ok(key)
    }

    async fn escrow_record(&self, id: &str) -> Result<EscrowRecord, KmcError> {
        self.store
            .escrow(id)
            .await?
            .ok_or_else(|| KmcError::not_found("escrowed key", id))
    }

    /// Archives an escrowed key with the certificate issued for it (role
    /// ca). The certificate's public key must be the escrowed key's; serial
    /// and notAfter are read from it. Repeating the call with the same
    /// certificate is a no-op.
    pub async fn bind_certificate(
        &self,
        caller: &Caller,
        key_id: &str,
        issuer: &str,
        certificate_der: &[u8],
    ) -> Result<EscrowRecord, KmcError> {
        caller.require(&[Role::Ca], "archive escrowed keys")?;
        if issuer.is_empty() || issuer.len() > 200 {
            return Err(KmcError::bad("issuer", "must be 1 to 200 characters"));
        }
        let cert = <x509_cert::Certificate as der::Decode>::from_der(certificate_der)
            .map_err(|_| KmcError::bad("certificate", "not a DER X.509 certificate"))?;
        let tbs = cert.tbs_certificate();
        let cert_key = der::Encode::to_der(tbs.subject_public_key_info())
            .map_err(|_| KmcError::bad("certificate", "unreadable public key"))?;
        let serial = Serial::from_certificate_serial(tbs.serial_number())
            .map_err(|e| KmcError::bad("certificate", e.to_string()))?
            .to_hex();
        let not_after = Timestamp::from_x509_time(&tbs.validity().not_after);
        let record = self.escrow_record(key_id).await?;
        if cert_key != record.public_key {
            return Err(KmcError::bad(
                "certificate",
                format!("its public key is not escrowed key {key_id}'s"),
            ));
        }
        if record.state != EscrowState::Escrowed {
            if record.serial.as_deref() == Some(serial.as_str())
                && record.issuer.as_deref() == Some(issuer)
            {
                return Ok(record);
            }
            return Err(KmcError::InvalidState {
                what: "escrowed key",
                id: key_id.to_owned(),
                state: record.state.as_str().to_owned(),
                action: "archive it with another certificate",
            });
        }
        let now = self.clock.now();
        let destroy_after = not_after.max(now).plus(self.settings.retention);
        let mut tx = self.store.begin().await?;
        if !tx
            .bind_certificate(
                key_id,
                issuer,
                &serial,
                certificate_der,
                not_after,
                destroy_after,
                now,
            )
            .await?
        {
            return Err(KmcError::InvalidState {
                what: "escrowed key",
                id: key_id.to_owned(),
                state: "changing".into(),
                action: "archive it now",
            });
        }
        tx.append_audit(&caller.entry(
            now,
            None,
            "escrow.archive",
            format!("escrow:{key_id}"),
            "success",
            format!(
                "certificate {issuer}/{serial}, notAfter {}, destroy after {}",
                rfc3339(not_after),
                rfc3339(destroy_after)
            ),
        ))
        .await?;
        tx.commit().await?;
        self.escrow_record(key_id).await
    }

    /// Revokes the escrowed keys of a revoked certificate (roles ca, ra,
    /// admin). They stay recoverable until the retention period after the
    /// later of revocation and expiry has passed.
    pub async fn revoke_escrow(
        &self,
        caller: &Caller,
        serial: &Serial,
        issuer: Option<&str>,
        reason: &str,
        revoked_at: Option<Timestamp>,
    ) -> Result<Vec<EscrowRecord>, KmcError> {
        caller.require(&[Role::Ca, Role::Ra, Role::Admin], "revoke escrowed keys")?;
        if reason.is_empty() || reason.len() > 64 {
            return Err(KmcError::bad("reason", "must be 1 to 64 characters"));
        }
        let now = self.clock.now();
        let revoked_at = revoked_at.unwrap_or(now);
        let serial = serial.to_hex();
        let matching: Vec<EscrowRecord> = self
            .store
            .escrows_by_serial(&serial)
            .await?
            .into_iter()
            .filter(|e| issuer.is_none_or(|i| e.issuer.as_deref() == Some(i)))
            .collect();
        if matching.is_empty() {
            return Err(KmcError::not_found("escrowed key with serial", serial));
        }
        let mut out = Vec::new();
        for e in matching {
            if matches!(e.state, EscrowState::Escrowed | EscrowState::Archived) {
                let end = e.not_after.unwrap_or(revoked_at).max(revoked_at);
                let destroy_after = end.plus(self.settings.retention).max(e.destroy_after);
                let mut tx = self.store.begin().await?;
                if tx
                    .revoke_escrow(&e.id, reason, revoked_at, destroy_after)
                    .await?
                {
                    tx.append_audit(&caller.entry(
                        now,
                        None,
                        "escrow.revoke",
                        format!("escrow:{}", e.id),
                        "success",
                        format!(
                            "certificate {serial} revoked ({reason}); destroy after {}",
                            rfc3339(destroy_after)
                        ),
                    ))
                    .await?;
                    tx.commit().await?;
                }
            }
            out.push(self.escrow_record(&e.id).await?);
        }
        Ok(out)
    }

    /// An escrowed key's record (roles ra, admin).
    pub async fn escrowed_key(&self, caller: &Caller, id: &str) -> Result<EscrowRecord, KmcError> {
        caller.require(&[Role::Ra, Role::Admin], "read escrowed keys")?;
        self.escrow_record(id).await
    }

    /// The escrowed keys of a certificate serial (roles ra, admin).
    pub async fn escrowed_keys_by_serial(
        &self,
        caller: &Caller,
        serial: &Serial,
    ) -> Result<Vec<EscrowRecord>, KmcError> {
        caller.require(&[Role::Ra, Role::Admin], "read escrowed keys")?;
        Ok(self.store.escrows_by_serial(&serial.to_hex()).await?)
    }
}

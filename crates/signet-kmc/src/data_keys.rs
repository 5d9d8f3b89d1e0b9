//! The data-key service: business systems encrypt and decrypt under named
//! keys that never leave the KMC.
//!
//! Callers are authenticated by mutual TLS (role `app`, platform
//! certificates) and must be on the key's access list (their certificate's
//! common name). A ciphertext names the key version that made it:
//!
//! ```text
//! ciphertext = format (1, = 0x01) || algorithm (1: 1 AES-256-GCM, 2 SM4-GCM)
//!            || key version (4, big-endian) || nonce (12) || ciphertext || tag (16)
//! AAD        = "signet-kmc:data:" || key name || 0x00 || the first 6 bytes
//!              || the caller's associated data
//! ```
//!
//! so decryption picks the right version after rotations, and a ciphertext
//! cannot be moved to another key, version or algorithm. Retired versions
//! decrypt until an administrator destroys them; `re-encrypt` moves a
//! ciphertext to the active version without the plaintext leaving the KMC.

use std::collections::BTreeSet;
use std::sync::PoisonError;

use signet_api::kmc::{DataKeyInfo, DataKeyList};
use signet_store::kmc::KeyState;
use signet_tls::Role;
use zeroize::Zeroizing;

use crate::aead::Algorithm;
use crate::audit::Caller;
use crate::config::valid_name;
use crate::error::KmcError;
use crate::hierarchy::{Purpose, WorkingKey};
use crate::kmc::Kmc;
use crate::metrics::DataKeyLabels;

const FORMAT: u8 = 1;
const HEADER_LEN: usize = 6;
/// Largest plaintext accepted (the request body limit caps it too).
pub const MAX_PLAINTEXT: usize = 512 * 1024;

fn header(key: &WorkingKey) -> Result<[u8; HEADER_LEN], KmcError> {
    let version = u32::try_from(key.version).map_err(|_| KmcError::Internal {
        reason: "key version out of range",
    })?;
    let v = version.to_be_bytes();
    Ok([FORMAT, key.algorithm.id(), v[0], v[1], v[2], v[3]])
}

fn aad(name: &str, header: &[u8], caller_aad: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + name.len() + caller_aad.len());
    out.extend_from_slice(b"signet-kmc:data:");
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    out.extend_from_slice(header);
    out.extend_from_slice(caller_aad);
    out
}

impl Kmc {
    /// Refuses clients that are not `app` or not on the key's list. An
    /// unknown key is refused the same way, so that clients cannot probe
    /// which keys exist.
    fn allowed(&self, caller: &Caller, name: &str) -> Result<(), KmcError> {
        caller.require(&[Role::App], "use data keys")?;
        let acl = self.acl.read().unwrap_or_else(PoisonError::into_inner);
        if acl
            .get(name)
            .is_some_and(|clients| clients.contains(&caller.client))
        {
            Ok(())
        } else {
            Err(KmcError::NotAllowed {
                client: caller.client.clone(),
                key: name.to_owned(),
            })
        }
    }

    fn count(&self, name: &str, op: &str) {
        self.metrics
            .data_key_ops
            .get_or_create(&DataKeyLabels {
                key: name.to_owned(),
                op: op.to_owned(),
            })
            .inc();
    }

    fn seal_data(
        &self,
        name: &str,
        plaintext: &[u8],
        caller_aad: &[u8],
    ) -> Result<(Vec<u8>, i64), KmcError> {
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(KmcError::bad("plaintext", "larger than 512 KiB"));
        }
        let key = self.keys.active(name)?;
        if key.purpose != Purpose::Data {
            return Err(KmcError::not_found("data key", name));
        }
        let header = header(&key)?;
        let blob = key.seal(&aad(name, &header, caller_aad), plaintext)?;
        let mut out = Vec::with_capacity(HEADER_LEN + blob.len());
        out.extend_from_slice(&header);
        out.extend_from_slice(&blob);
        Ok((out, key.version))
    }

    async fn open_data(
        &self,
        name: &str,
        ciphertext: &[u8],
        caller_aad: &[u8],
    ) -> Result<(Zeroizing<Vec<u8>>, i64), KmcError> {
        let decrypt_error = || KmcError::Decrypt {
            key: name.to_owned(),
        };
        let (header, blob) = ciphertext
            .split_first_chunk::<HEADER_LEN>()
            .ok_or_else(decrypt_error)?;
        let [format, algorithm, v0, v1, v2, v3] = *header;
        if format != FORMAT {
            return Err(decrypt_error());
        }
        let version = i64::from(u32::from_be_bytes([v0, v1, v2, v3]));
        let key = match self.keys.working(name, version).await {
            Ok(k) => k,
            Err(e @ KmcError::Destroyed { .. }) => return Err(e),
            Err(_) => return Err(decrypt_error()),
        };
        if key.purpose != Purpose::Data || key.algorithm.id() != algorithm {
            return Err(decrypt_error());
        }
        let plain = key
            .open(&aad(name, header, caller_aad), blob)?
            .ok_or_else(decrypt_error)?;
        Ok((plain, version))
    }

    /// Encrypts `plaintext` under the active version of data key `name`
    /// (role app, allowed clients). Returns the ciphertext and the version.
    pub async fn encrypt(
        &self,
        caller: &Caller,
        name: &str,
        plaintext: &[u8],
        caller_aad: &[u8],
    ) -> Result<(Vec<u8>, i64), KmcError> {
        self.allowed(caller, name)?;
        let out = self.seal_data(name, plaintext, caller_aad)?;
        self.count(name, "encrypt");
        Ok(out)
    }

    /// Decrypts a ciphertext of data key `name` with the version it names
    /// (role app, allowed clients).
    pub async fn decrypt(
        &self,
        caller: &Caller,
        name: &str,
        ciphertext: &[u8],
        caller_aad: &[u8],
    ) -> Result<(Zeroizing<Vec<u8>>, i64), KmcError> {
        self.allowed(caller, name)?;
        let out = self.open_data(name, ciphertext, caller_aad).await?;
        self.count(name, "decrypt");
        Ok(out)
    }

    /// Decrypts and encrypts again under the active version; the plaintext
    /// never leaves the KMC (role app, allowed clients).
    pub async fn re_encrypt(
        &self,
        caller: &Caller,
        name: &str,
        ciphertext: &[u8],
        caller_aad: &[u8],
    ) -> Result<(Vec<u8>, i64), KmcError> {
        self.allowed(caller, name)?;
        let (plain, _) = self.open_data(name, ciphertext, caller_aad).await?;
        let out = self.seal_data(name, &plain, caller_aad)?;
        self.count(name, "re-encrypt");
        Ok(out)
    }

    async fn data_key_info(&self, name: &str) -> Result<DataKeyInfo, KmcError> {
        let versions: Vec<_> = self
            .store
            .working_keys()
            .await?
            .into_iter()
            .filter(|w| w.name == name && w.purpose == Purpose::Data.as_str())
            .collect();
        let first = versions
            .first()
            .ok_or_else(|| KmcError::not_found("data key", name))?;
        let clients = self
            .acl
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .map(|c| c.iter().cloned().collect())
            .unwrap_or_default();
        Ok(DataKeyInfo {
            name: name.to_owned(),
            domain: first.domain.clone(),
            algorithm: first.algorithm.clone(),
            active_version: versions
                .iter()
                .find(|w| w.state == KeyState::Active)
                .map_or(0, |w| w.version),
            live_versions: versions
                .iter()
                .filter(|w| w.state != KeyState::Destroyed)
                .map(|w| w.version)
                .collect(),
            clients,
        })
    }

    /// Every data key, with its versions and clients (role admin).
    pub async fn data_keys(&self, caller: &Caller) -> Result<DataKeyList, KmcError> {
        caller.require(&[Role::Admin], "list data keys")?;
        let names: BTreeSet<String> = self
            .store
            .working_keys()
            .await?
            .into_iter()
            .filter(|w| w.purpose == Purpose::Data.as_str())
            .map(|w| w.name)
            .collect();
        let mut keys = Vec::with_capacity(names.len());
        for name in names {
            keys.push(self.data_key_info(&name).await?);
        }
        Ok(DataKeyList { keys })
    }

    /// Creates a data key (role admin).
    pub async fn create_data_key(
        &self,
        caller: &Caller,
        name: &str,
        domain: Option<&str>,
        algorithm: Option<&str>,
        clients: &[String],
    ) -> Result<DataKeyInfo, KmcError> {
        caller.require(&[Role::Admin], "create data keys")?;
        if !valid_name(name) || name.starts_with("escrow.") {
            return Err(KmcError::bad(
                "name",
                "lowercase letters, digits, `.`, `_`, `-`; at most 64; not escrow.*",
            ));
        }
        let domain = domain.unwrap_or(&self.settings.default_domain);
        if !self.settings.domains.iter().any(|d| d == domain) {
            return Err(KmcError::not_found("domain", domain));
        }
        let algorithm: Algorithm = algorithm
            .unwrap_or(Algorithm::Aes256Gcm.as_str())
            .parse()
            .map_err(|_| KmcError::bad("algorithm", "aes-256-gcm or sm4-gcm"))?;
        let now = self.clock.now();
        let created = self
            .keys
            .ensure_data_key(
                name,
                domain,
                algorithm,
                self.settings.working_rotation,
                now,
                caller,
            )
            .await?;
        if !created {
            return Err(KmcError::AlreadyExists {
                what: "data key",
                id: name.to_owned(),
            });
        }
        for client in clients {
            self.change_grant(caller, name, client, true).await?;
        }
        self.data_key_info(name).await
    }

    async fn change_grant(
        &self,
        caller: &Caller,
        name: &str,
        client: &str,
        grant: bool,
    ) -> Result<(), KmcError> {
        let client = client.trim();
        if client.is_empty() || client.len() > 200 || client.chars().any(char::is_control) {
            return Err(KmcError::bad(
                "client",
                "must be 1 to 200 printable characters",
            ));
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let changed = if grant {
            tx.grant_data_key(name, client, &caller.client, now).await?
        } else {
            tx.revoke_data_key(name, client).await?
        };
        if changed {
            tx.append_audit(&caller.entry(
                now,
                None,
                if grant {
                    "data_key.grant"
                } else {
                    "data_key.revoke"
                },
                format!("data_key:{name}"),
                "success",
                format!("client {client}"),
            ))
            .await?;
        }
        tx.commit().await?;
        self.reload_acl().await
    }

    /// Allows `client` to use data key `name` (role admin).
    pub async fn grant_data_key(
        &self,
        caller: &Caller,
        name: &str,
        client: &str,
    ) -> Result<DataKeyInfo, KmcError> {
        caller.require(&[Role::Admin], "grant data keys")?;
        self.data_key_info(name).await?;
        self.change_grant(caller, name, client, true).await?;
        self.data_key_info(name).await
    }

    /// Withdraws `client`'s use of data key `name` (role admin).
    pub async fn revoke_data_key(
        &self,
        caller: &Caller,
        name: &str,
        client: &str,
    ) -> Result<DataKeyInfo, KmcError> {
        caller.require(&[Role::Admin], "revoke data key grants")?;
        self.data_key_info(name).await?;
        self.change_grant(caller, name, client, false).await?;
        self.data_key_info(name).await
    }

    /// Destroys a retired version of data key `name`: what it encrypted can
    /// never be decrypted again (role admin).
    pub async fn destroy_data_key_version(
        &self,
        caller: &Caller,
        name: &str,
        version: i64,
    ) -> Result<DataKeyInfo, KmcError> {
        caller.require(&[Role::Admin], "destroy data key versions")?;
        let info = self.data_key_info(name).await?;
        if version == info.active_version {
            return Err(KmcError::InvalidState {
                what: "data key version",
                id: format!("{name}:v{version}"),
                state: "active".into(),
                action: "destroy it (rotate first)",
            });
        }
        if !info.live_versions.contains(&version) {
            return Err(KmcError::not_found(
                "live data key version",
                format!("{name}:v{version}"),
            ));
        }
        self.keys
            .destroy_working(
                name,
                version,
                self.clock.now(),
                caller,
                "destroyed on demand",
            )
            .await?;
        self.data_key_info(name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_associated_data_separates_keys_headers_and_callers() {
        let h1 = [FORMAT, 1, 0, 0, 0, 1];
        let h2 = [FORMAT, 1, 0, 0, 0, 2];
        let base = aad("payroll", &h1, b"ctx");
        assert!(base.starts_with(b"signet-kmc:data:payroll\0"));
        assert_ne!(base, aad("payroll", &h2, b"ctx"));
        assert_ne!(base, aad("ledger", &h1, b"ctx"));
        assert_ne!(base, aad("payroll", &h1, b"other"));
    }
}

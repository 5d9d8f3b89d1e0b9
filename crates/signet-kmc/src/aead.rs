//! Authenticated encryption in the KMC's memory: AES-256-GCM (NIST SP
//! 800-38D) and SM4-GCM (GB/T 36624 / RFC 8998's SM4 in GCM mode, 128-bit
//! key), with a random 96-bit nonce per message.
//!
//! Blob format, as the token's own AES-GCM: nonce (12) || ciphertext ||
//! tag (16). With random nonces a key may encrypt at most 2^32 messages
//! (SP 800-38D §8.3); working keys are rotated long before that, and the
//! data-key service counts its encryptions per version.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{AeadInOut as _, KeyInit as _};
use rand::Rng as _;
use zeroize::Zeroizing;

use crate::error::KmcError;

/// SM4 in GCM mode.
type Sm4Gcm = aes_gcm::AesGcm<sm4::Sm4, U12>;

/// Nonce length.
pub(crate) const NONCE_LEN: usize = 12;
/// Tag length.
pub(crate) const TAG_LEN: usize = 16;

/// A symmetric algorithm of working keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// AES-256-GCM, 256-bit key.
    Aes256Gcm,
    /// SM4-GCM, 128-bit key.
    Sm4Gcm,
}

impl Algorithm {
    /// The configuration and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Aes256Gcm => "aes-256-gcm",
            Algorithm::Sm4Gcm => "sm4-gcm",
        }
    }

    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Algorithm::Aes256Gcm => 32,
            Algorithm::Sm4Gcm => 16,
        }
    }

    /// The identifier byte in data-key ciphertexts.
    pub(crate) fn id(self) -> u8 {
        match self {
            Algorithm::Aes256Gcm => 1,
            Algorithm::Sm4Gcm => 2,
        }
    }

    /// A fresh random key.
    pub(crate) fn generate_key(self) -> Zeroizing<Vec<u8>> {
        let mut key = Zeroizing::new(vec![0u8; self.key_len()]);
        rand::rng().fill_bytes(&mut key);
        key
    }
}

impl std::str::FromStr for Algorithm {
    type Err = KmcError;

    fn from_str(s: &str) -> Result<Self, KmcError> {
        match s {
            "aes-256-gcm" => Ok(Algorithm::Aes256Gcm),
            "sm4-gcm" => Ok(Algorithm::Sm4Gcm),
            other => Err(KmcError::Config {
                reason: format!("unknown algorithm `{other}` (aes-256-gcm or sm4-gcm)"),
            }),
        }
    }
}

fn cipher_failure<E>(_: E) -> KmcError {
    KmcError::Internal {
        reason: "symmetric cipher refused its key",
    }
}

/// Encrypts `plaintext` under `key`, authenticating `aad`: nonce || ct || tag.
pub(crate) fn seal(
    algorithm: Algorithm,
    key: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, KmcError> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let body = out
        .get_mut(NONCE_LEN..)
        .ok_or(KmcError::Internal { reason: "buffer" })?;
    let tag = match algorithm {
        Algorithm::Aes256Gcm => aes_gcm::Aes256Gcm::new_from_slice(key)
            .map_err(cipher_failure)?
            .encrypt_inout_detached(&nonce.into(), aad, body.into())
            .map_err(cipher_failure)?,
        Algorithm::Sm4Gcm => Sm4Gcm::new_from_slice(key)
            .map_err(cipher_failure)?
            .encrypt_inout_detached(&nonce.into(), aad, body.into())
            .map_err(cipher_failure)?,
    };
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Opens a blob made by [`seal`] with the same key and `aad`; `None` when it
/// does not authenticate.
pub(crate) fn open(
    algorithm: Algorithm,
    key: &[u8],
    aad: &[u8],
    blob: &[u8],
) -> Result<Option<Zeroizing<Vec<u8>>>, KmcError> {
    let Some((nonce, rest)) = blob.split_first_chunk::<NONCE_LEN>() else {
        return Ok(None);
    };
    let Some(body_len) = rest.len().checked_sub(TAG_LEN) else {
        return Ok(None);
    };
    let (body, tag) = rest.split_at(body_len);
    let Ok(tag) = <[u8; TAG_LEN]>::try_from(tag) else {
        return Ok(None);
    };
    let mut plain = Zeroizing::new(body.to_vec());
    let result = match algorithm {
        Algorithm::Aes256Gcm => aes_gcm::Aes256Gcm::new_from_slice(key)
            .map_err(cipher_failure)?
            .decrypt_inout_detached(
                &(*nonce).into(),
                aad,
                plain.as_mut_slice().into(),
                &tag.into(),
            ),
        Algorithm::Sm4Gcm => Sm4Gcm::new_from_slice(key)
            .map_err(cipher_failure)?
            .decrypt_inout_detached(
                &(*nonce).into(),
                aad,
                plain.as_mut_slice().into(),
                &tag.into(),
            ),
    };
    Ok(result.ok().map(|()| plain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_algorithms_round_trip_and_detect_tampering() {
        for alg in [Algorithm::Aes256Gcm, Algorithm::Sm4Gcm] {
            let key = alg.generate_key();
            assert_eq!(key.len(), alg.key_len());
            let blob = seal(alg, &key, b"aad", b"secret message").unwrap();
            assert_eq!(blob.len(), 12 + 14 + 16);
            assert_eq!(
                &open(alg, &key, b"aad", &blob).unwrap().unwrap()[..],
                b"secret message"
            );
            assert!(open(alg, &key, b"other", &blob).unwrap().is_none());
            let mut bad = blob.clone();
            bad[14] ^= 1;
            assert!(open(alg, &key, b"aad", &bad).unwrap().is_none());
            assert!(open(alg, &key, b"aad", &blob[..20]).unwrap().is_none());
            let other = alg.generate_key();
            assert!(open(alg, &other, b"aad", &blob).unwrap().is_none());
        }
    }

    #[test]
    fn sm4_gcm_matches_a_known_answer() {
        // RFC 8998 Appendix A.1 (SM4-GCM test vector).
        let key = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap();
        let nonce = hex::decode("00001234567800000000ABCD").unwrap();
        let aad = hex::decode("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2").unwrap();
        let plain = hex::decode(
            "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD\
             EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
        )
        .unwrap();
        let mut blob = nonce.clone();
        let mut body = plain.clone();
        let tag = Sm4Gcm::new_from_slice(&key)
            .unwrap()
            .encrypt_inout_detached(
                nonce.as_slice().try_into().unwrap(),
                &aad,
                body.as_mut_slice().into(),
            )
            .unwrap();
        assert_eq!(
            hex::encode_upper(&body),
            "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735\
             D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
        );
        assert_eq!(hex::encode_upper(tag), "83DE3541E4C2B58177E065A9BF7B62EC");
        blob.extend_from_slice(&body);
        blob.extend_from_slice(&tag);
        assert_eq!(
            &open(Algorithm::Sm4Gcm, &key, &aad, &blob).unwrap().unwrap()[..],
            &plain[..]
        );
    }
}

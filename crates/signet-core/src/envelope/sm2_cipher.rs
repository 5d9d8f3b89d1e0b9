//! `SM2Cipher`, the DER form of an SM2 public-key encryption result.
//!
//! GM/T 0009-2012 §7.2:
//!
//! ```text
//! SM2Cipher ::= SEQUENCE {
//!   XCoordinate  INTEGER,                 -- x of C1
//!   YCoordinate  INTEGER,                 -- y of C1
//!   HASH         OCTET STRING SIZE(32),   -- C3 = SM3(x2 || M || y2)
//!   CipherText   OCTET STRING             -- C2 = M xor KDF(x2 || y2)
//! }
//! ```
//!
//! The `sm2` crate's `pke` encrypts to the raw byte string C1 || C3 || C2
//! (GB/T 32918.4-2016 order; C1 = 04 || x || y). This module converts that
//! to and from the structure above, so the encoding is spelt out here and
//! does not depend on the crate's own DER feature.

use der::asn1::{OctetString, Uint};
use der::{Decode as _, Encode as _};
use zeroize::Zeroizing;

use super::error::EnvelopeError;

/// Bytes of an SM2 field element.
const COORDINATE_LEN: usize = 32;
/// Bytes of an SM3 digest.
const HASH_LEN: usize = 32;

/// GM/T 0009 `SM2Cipher`.
#[derive(Clone, Debug, PartialEq, Eq, der::Sequence)]
pub struct Sm2Cipher {
    /// x of the ephemeral point C1.
    pub x_coordinate: Uint,
    /// y of the ephemeral point C1.
    pub y_coordinate: Uint,
    /// C3, the SM3 check value.
    pub hash: OctetString,
    /// C2, the masked message.
    pub cipher_text: OctetString,
}

impl Sm2Cipher {
    /// Encrypts `message` to the SM2 public key `recipient` (SEC1 point).
    pub fn encrypt<R: rand_core::CryptoRng>(
        recipient: &sm2::PublicKey,
        message: &[u8],
        rng: &mut R,
    ) -> Result<Sm2Cipher, EnvelopeError> {
        let key = sm2::pke::EncryptingKey::new_with_mode(*recipient, sm2::pke::Mode::C1C3C2);
        let raw = key
            .encrypt(rng, message)
            .map_err(|_| EnvelopeError::Crypto {
                what: "SM2 encryption",
            })?;
        Self::from_c1c3c2(&raw)
    }

    /// Decrypts with the recipient's secret scalar; fails with
    /// [`EnvelopeError::NotForThisKey`] when C3 does not verify.
    pub fn decrypt(&self, scalar: &[u8]) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        let secret =
            sm2::NonZeroScalar::try_from(scalar).map_err(|_| EnvelopeError::InvalidKey {
                reason: "SM2 scalar out of range",
            })?;
        let key = sm2::pke::DecryptingKey::new_with_mode(secret, sm2::pke::Mode::C1C3C2);
        let raw = self.to_c1c3c2()?;
        key.decrypt(&raw)
            .map(Zeroizing::new)
            .map_err(|_| EnvelopeError::NotForThisKey)
    }

    /// From C1 (04 || x || y) || C3 || C2.
    pub fn from_c1c3c2(raw: &[u8]) -> Result<Sm2Cipher, EnvelopeError> {
        let malformed = || EnvelopeError::Malformed {
            what: "SM2 ciphertext",
        };
        let (tag, rest) = raw.split_first().ok_or_else(malformed)?;
        if *tag != 0x04 {
            return Err(malformed());
        }
        let (x, rest) = rest
            .split_at_checked(COORDINATE_LEN)
            .ok_or_else(malformed)?;
        let (y, rest) = rest
            .split_at_checked(COORDINATE_LEN)
            .ok_or_else(malformed)?;
        let (hash, c2) = rest.split_at_checked(HASH_LEN).ok_or_else(malformed)?;
        Ok(Sm2Cipher {
            x_coordinate: Uint::new(x).map_err(|_| malformed())?,
            y_coordinate: Uint::new(y).map_err(|_| malformed())?,
            hash: OctetString::new(hash).map_err(|_| malformed())?,
            cipher_text: OctetString::new(c2).map_err(|_| malformed())?,
        })
    }

    /// To C1 (04 || x || y) || C3 || C2, coordinates left-padded to 32 bytes.
    pub fn to_c1c3c2(&self) -> Result<Vec<u8>, EnvelopeError> {
        let malformed = || EnvelopeError::Malformed { what: "SM2Cipher" };
        if self.hash.as_bytes().len() != HASH_LEN {
            return Err(malformed());
        }
        let mut out = Vec::with_capacity(
            1 + 2 * COORDINATE_LEN + HASH_LEN + self.cipher_text.as_bytes().len(),
        );
        out.push(0x04);
        for coordinate in [&self.x_coordinate, &self.y_coordinate] {
            let bytes = coordinate.as_bytes();
            let pad = COORDINATE_LEN
                .checked_sub(bytes.len())
                .ok_or_else(malformed)?;
            out.extend(std::iter::repeat_n(0u8, pad));
            out.extend_from_slice(bytes);
        }
        out.extend_from_slice(self.hash.as_bytes());
        out.extend_from_slice(self.cipher_text.as_bytes());
        Ok(out)
    }

    /// DER.
    pub fn to_der_bytes(&self) -> Result<Vec<u8>, EnvelopeError> {
        self.to_der().map_err(|_| EnvelopeError::Crypto {
            what: "SM2Cipher encoding",
        })
    }

    /// From DER.
    pub fn from_der_bytes(der: &[u8]) -> Result<Sm2Cipher, EnvelopeError> {
        Sm2Cipher::from_der(der).map_err(|_| EnvelopeError::Malformed { what: "SM2Cipher" })
    }
}

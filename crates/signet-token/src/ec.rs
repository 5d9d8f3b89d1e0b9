//! Elliptic-curve details the token leaves to the host: curve parameters,
//! the `CKA_EC_POINT` wrapping, and the DER form of ECDSA signatures.

use const_oid::ObjectIdentifier;
use der::asn1::{OctetStringRef, UintRef};
use der::{Decode as _, Encode as _};
use signet_core::algorithm::oid;
use signet_core::{HashAlgorithm, KeyType, SignatureAlgorithm};

/// An ECDSA curve Signet keeps in a token.
///
/// The SM2 curve is deliberately absent: SoftHSM2 generates keys on it and
/// `CKM_ECDSA` signs with them, but that is ECDSA on the SM2 curve, not an
/// SM2 signature (no Z value, no SM3). SM2 keys are wrapped instead (see
/// `wrap.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Curve {
    pub(crate) key_type: KeyType,
    pub(crate) oid: ObjectIdentifier,
    /// Length in bytes of a field element, of r and of s.
    pub(crate) field_len: usize,
    /// The hash applied on the host before raw `CKM_ECDSA` (SoftHSM2 has no
    /// `CKM_ECDSA_SHA256`); RFC 5480 §4 pairs P-256 with SHA-256 and P-384
    /// with SHA-384.
    pub(crate) hash: HashAlgorithm,
    pub(crate) algorithm: SignatureAlgorithm,
}

const P256: Curve = Curve {
    key_type: KeyType::P256,
    oid: oid::SECP256R1,
    field_len: 32,
    hash: HashAlgorithm::Sha256,
    algorithm: SignatureAlgorithm::EcdsaSha256,
};

const P384: Curve = Curve {
    key_type: KeyType::P384,
    oid: oid::SECP384R1,
    field_len: 48,
    hash: HashAlgorithm::Sha384,
    algorithm: SignatureAlgorithm::EcdsaSha384,
};

impl Curve {
    /// The ECDSA curve of `key_type`, if it has one the token signs with.
    pub(crate) fn for_key_type(key_type: KeyType) -> Option<Curve> {
        match key_type {
            KeyType::P256 => Some(P256),
            KeyType::P384 => Some(P384),
            _ => None,
        }
    }

    /// The curve named by a `CKA_EC_PARAMS` value (DER of the curve OID).
    /// Explicit parameters and other curves are not recognised.
    pub(crate) fn from_ec_params(params: &[u8]) -> Option<Curve> {
        match ObjectIdentifier::from_der(params).ok()? {
            o if o == P256.oid => Some(P256),
            o if o == P384.oid => Some(P384),
            _ => None,
        }
    }

    /// `CKA_EC_PARAMS` for key generation: the DER of the named curve's OID
    /// (RFC 5480 §2.1.1 `namedCurve`).
    pub(crate) fn ec_params(self) -> Result<Vec<u8>, der::Error> {
        self.oid.to_der()
    }

    /// Length of an uncompressed SEC 1 point: 0x04 || X || Y.
    fn point_len(self) -> usize {
        1 + 2 * self.field_len
    }

    /// The uncompressed point from a `CKA_EC_POINT` value.
    ///
    /// PKCS#11 §2.3.3 says the value is the DER of an OCTET STRING around
    /// the point, and SoftHSM2 does so; some tokens return the bare point.
    /// The two are told apart by length (a bare point is two bytes shorter),
    /// never by the first byte: 0x04 is both the OCTET STRING tag and the
    /// "uncompressed" marker.
    pub(crate) fn point_from_ec_point(self, value: &[u8]) -> Option<Vec<u8>> {
        let point = if value.len() == self.point_len() {
            value
        } else {
            <&OctetStringRef>::from_der(value).ok()?.as_bytes()
        };
        (point.len() == self.point_len() && point.first() == Some(&0x04)).then(|| point.to_vec())
    }
}

/// RFC 5480 §2.2 / RFC 3279 §2.2.3:
///
/// ```text
/// ECDSA-Sig-Value  ::=  SEQUENCE  {
///      r     INTEGER,
///      s     INTEGER  }
/// ```
///
/// `UintRef` writes each INTEGER in its minimal form: superfluous leading
/// zero bytes are stripped and one zero byte is added where the top bit is
/// set, which about three signatures in four need.
#[derive(der::Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// Re-encodes the `r || s` that `CKM_ECDSA` returns (PKCS#11 §2.3.1, each
/// half `field_len` bytes) as a DER `ECDSA-Sig-Value`.
pub(crate) fn raw_signature_to_der(raw: &[u8], field_len: usize) -> Option<Vec<u8>> {
    if raw.len() != 2 * field_len {
        return None;
    }
    let (r, s) = raw.split_at(field_len);
    EcdsaSigValue {
        r: UintRef::new(r).ok()?,
        s: UintRef::new(s).ok()?,
    }
    .to_der()
    .ok()
}

#[cfg(test)]
mod tests;

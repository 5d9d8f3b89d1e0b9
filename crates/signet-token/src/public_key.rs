//! SubjectPublicKeyInfo for keys read out of the token.

use const_oid::ObjectIdentifier;
use der::asn1::{BitString, Null, UintRef};
use der::{Any, Encode as _};
use signet_core::algorithm::oid;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

/// RFC 5480 §2: `id-ecPublicKey` with the named curve as parameters, and
/// the uncompressed point as the subjectPublicKey bits.
pub(crate) fn ec_spki(
    curve: ObjectIdentifier,
    point: &[u8],
) -> Result<SubjectPublicKeyInfoOwned, der::Error> {
    Ok(SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: oid::EC_PUBLIC_KEY,
            parameters: Some(Any::encode_from(&curve)?),
        },
        subject_public_key: BitString::from_bytes(point)?,
    })
}

/// RFC 8017 Appendix A.1.1:
///
/// ```text
/// RSAPublicKey ::= SEQUENCE {
///     modulus           INTEGER,  -- n
///     publicExponent    INTEGER   -- e
/// }
/// ```
#[derive(der::Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

/// RFC 3279 §2.3.1: `rsaEncryption` with NULL parameters, and the DER of
/// `RSAPublicKey` as the subjectPublicKey bits. `modulus` and `exponent` are
/// the big-endian `CKA_MODULUS` and `CKA_PUBLIC_EXPONENT`.
pub(crate) fn rsa_spki(
    modulus: &[u8],
    exponent: &[u8],
) -> Result<SubjectPublicKeyInfoOwned, der::Error> {
    let key = RsaPublicKey {
        modulus: UintRef::new(modulus)?,
        public_exponent: UintRef::new(exponent)?,
    }
    .to_der()?;
    Ok(SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: oid::RSA_ENCRYPTION,
            parameters: Some(Any::from(Null)),
        },
        subject_public_key: BitString::from_bytes(&key)?,
    })
}

#[cfg(test)]
mod tests;

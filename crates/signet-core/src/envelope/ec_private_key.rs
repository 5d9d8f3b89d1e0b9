//! `ECPrivateKey`, the SEC1 encoding of an elliptic-curve private key.
//!
//! RFC 5915 §3:
//!
//! ```text
//! ECPrivateKey ::= SEQUENCE {
//!   version        INTEGER { ecPrivkeyVer1(1) } (ecPrivkeyVer1),
//!   privateKey     OCTET STRING,
//!   parameters [0] ECParameters {{ NamedCurve }} OPTIONAL,
//!   publicKey  [1] BIT STRING OPTIONAL
//! }
//! ```
//!
//! Inside PKCS#8 the curve is named by the outer AlgorithmIdentifier and
//! `parameters` is left out (RFC 5915 §3); a bare `EC PRIVATE KEY` PEM
//! names it here.

use const_oid::ObjectIdentifier;
use der::asn1::{BitString, OctetString};
use zeroize::Zeroize;

/// RFC 5915 `ECPrivateKey`.
#[derive(Clone, Debug, der::Sequence)]
pub(crate) struct EcPrivateKey {
    /// Always 1.
    pub version: u8,
    /// The secret scalar, big-endian, as long as the group order.
    pub private_key: OctetString,
    /// The named curve.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub parameters: Option<ObjectIdentifier>,
    /// The public point, uncompressed SEC1.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub public_key: Option<BitString>,
}

impl Drop for EcPrivateKey {
    fn drop(&mut self) {
        // OctetString does not zeroize on drop: take its buffer and wipe it.
        if let Ok(empty) = OctetString::new(Vec::new()) {
            let old = std::mem::replace(&mut self.private_key, empty);
            let mut inner = old.into_bytes();
            inner.zeroize();
        }
    }
}

//! Errors of sealing and opening envelopes. They name structures and
//! algorithms, never key bytes or plaintext.

/// Why an envelope could not be made or opened, or a key not parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// A key type this module cannot generate or envelope.
    #[error("key type {key_type} is not supported here: {reason}")]
    UnsupportedKeyType {
        /// The key type.
        key_type: String,
        /// Why.
        reason: &'static str,
    },
    /// The envelope, or a key, does not parse.
    #[error("malformed: {what}")]
    Malformed {
        /// What did not parse.
        what: &'static str,
    },
    /// The envelope uses an algorithm this module does not implement.
    #[error("unsupported algorithm {oid} in {context}")]
    UnsupportedAlgorithm {
        /// The algorithm's OID.
        oid: String,
        /// Where it was found.
        context: &'static str,
    },
    /// The envelope is not addressed to this key, or was tampered with.
    #[error("this key cannot open the envelope (wrong key, or damaged envelope)")]
    NotForThisKey,
    /// A private key that does not fit (wrong curve, bad scalar, public
    /// key not matching).
    #[error("invalid private key: {reason}")]
    InvalidKey {
        /// What is wrong.
        reason: &'static str,
    },
    /// A cryptographic primitive failed where it should not.
    #[error("cryptographic failure in {what}")]
    Crypto {
        /// Which step.
        what: &'static str,
    },
}

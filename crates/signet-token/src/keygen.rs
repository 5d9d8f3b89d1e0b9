//! Generating CA key pairs inside the token.
//!
//! Private keys are made `CKA_SENSITIVE` and not `CKA_EXTRACTABLE` at
//! generation, so the token also marks them `CKA_ALWAYS_SENSITIVE` and
//! `CKA_NEVER_EXTRACTABLE`: proof that the key was never outside it.

use std::ffi::c_ulong;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectHandle};
use cryptoki::types::Ulong;
use der::Encode as _;
use signet_core::KeyType;
use spki::SubjectPublicKeyInfoOwned;

use crate::ec::Curve;
use crate::error::{TokenError, malformed};
use crate::objects::{bytes_of, label_attribute, random_id};
use crate::public_key::{ec_spki, rsa_spki};
use crate::token::{Token, validate_key_label};
use crate::wrap::WRAP_KEY_LABEL;

/// RSA public exponent F4 = 65537.
const RSA_PUBLIC_EXPONENT: [u8; 3] = [0x01, 0x00, 0x01];

impl Token {
    /// Generates a CA key called `label` of `key_type` and returns its
    /// public key as DER SubjectPublicKeyInfo.
    ///
    /// ECDSA and RSA keys are generated in the token and never leave it. SM2
    /// keys are generated in software and kept encrypted under a token AES
    /// key (SoftHSM2 has no SM2 mechanism; see `wrap.rs`). An existing
    /// object with the same label is never replaced.
    pub fn generate_key(&self, label: &str, key_type: KeyType) -> Result<Vec<u8>, TokenError> {
        validate_key_label(label)?;
        if label == WRAP_KEY_LABEL {
            return Err(TokenError::ReservedLabel {
                label: label.to_owned(),
            });
        }
        let _admin = self.module.admin();
        if self.has_key(label)? {
            return Err(TokenError::KeyExists {
                label: label.to_owned(),
            });
        }
        let spki = if let Some(curve) = Curve::for_key_type(key_type) {
            self.generate_ec(label, curve)?
        } else if let Some(bits) = key_type.rsa_bits() {
            self.generate_rsa(label, bits)?
        } else if key_type == KeyType::Sm2 {
            // Holds the admin lock, as creating the wrapping key needs.
            return self.generate_wrapped_sm2(label);
        } else {
            return Err(TokenError::UnsupportedKeyType {
                key_type: key_type.to_string(),
                reason: "no key generation for this key type",
            });
        };
        tracing::info!(token = %self.label(), key = label, %key_type, "key pair generated");
        spki.to_der().map_err(|_| TokenError::MalformedKey {
            label: label.to_owned(),
            reason: "public key cannot be DER-encoded",
        })
    }

    fn generate_ec(
        &self,
        label: &str,
        curve: Curve,
    ) -> Result<SubjectPublicKeyInfoOwned, TokenError> {
        let params = curve
            .ec_params()
            .map_err(|_| TokenError::UnsupportedKeyType {
                key_type: curve.key_type.to_string(),
                reason: "curve parameters cannot be encoded",
            })?;
        let id = random_id();
        let public = vec![
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(params),
            label_attribute(label),
            Attribute::Id(id.clone()),
        ];
        let private = private_key_template(label, id);
        let (public, private) = self.pool.with_session("C_GenerateKeyPair", |s| {
            s.generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
        })?;
        self.spki_or_destroy(label, [public, private], || {
            let attributes = self.pool.with_session("C_GetAttributeValue", |s| {
                s.get_attributes(public, &[AttributeType::EcPoint])
            })?;
            let point = bytes_of(&attributes, AttributeType::EcPoint)
                .and_then(|value| curve.point_from_ec_point(value))
                .ok_or_else(|| malformed(label, "the token returned no valid EC point"))?;
            ec_spki(curve.oid, &point).map_err(|_| malformed(label, "EC point cannot be encoded"))
        })
    }

    fn generate_rsa(
        &self,
        label: &str,
        bits: usize,
    ) -> Result<SubjectPublicKeyInfoOwned, TokenError> {
        let modulus_bits = c_ulong::try_from(bits).map_err(|_| TokenError::UnsupportedKeyType {
            key_type: format!("rsa{bits}"),
            reason: "modulus size out of range",
        })?;
        let id = random_id();
        let public = vec![
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::ModulusBits(Ulong::from(modulus_bits)),
            Attribute::PublicExponent(RSA_PUBLIC_EXPONENT.to_vec()),
            label_attribute(label),
            Attribute::Id(id.clone()),
        ];
        let private = private_key_template(label, id);
        let (public, private) = self.pool.with_session("C_GenerateKeyPair", |s| {
            s.generate_key_pair(&Mechanism::RsaPkcsKeyPairGen, &public, &private)
        })?;
        self.spki_or_destroy(label, [public, private], || {
            let attributes = self.pool.with_session("C_GetAttributeValue", |s| {
                s.get_attributes(
                    public,
                    &[AttributeType::Modulus, AttributeType::PublicExponent],
                )
            })?;
            let modulus = bytes_of(&attributes, AttributeType::Modulus)
                .ok_or_else(|| malformed(label, "the token returned no modulus"))?;
            let exponent = bytes_of(&attributes, AttributeType::PublicExponent)
                .ok_or_else(|| malformed(label, "the token returned no public exponent"))?;
            rsa_spki(modulus, exponent).map_err(|_| malformed(label, "RSA key cannot be encoded"))
        })
    }

    /// Runs `read` to get the new key's SPKI; if that fails, destroys the
    /// new key pair so that no half-made key is left under the label.
    fn spki_or_destroy(
        &self,
        label: &str,
        objects: [ObjectHandle; 2],
        read: impl FnOnce() -> Result<SubjectPublicKeyInfoOwned, TokenError>,
    ) -> Result<SubjectPublicKeyInfoOwned, TokenError> {
        read().inspect_err(|_| {
            for handle in objects {
                if let Err(e) = self
                    .pool
                    .with_session("C_DestroyObject", |s| s.destroy_object(handle))
                {
                    tracing::error!(key = label, error = %e, "cannot remove a half-made key pair");
                }
            }
        })
    }
}

/// The private half of a CA key pair: a token object, usable after login
/// only, never readable or extractable, for signing only.
fn private_key_template(label: &str, id: Vec<u8>) -> Vec<Attribute> {
    vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Decrypt(false),
        Attribute::Derive(false),
        Attribute::Unwrap(false),
        label_attribute(label),
        Attribute::Id(id),
    ]
}

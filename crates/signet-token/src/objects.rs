//! Finding the token objects stored under a label, and reading their
//! attributes.
//!
//! Signet gives every key its own label: a key pair is a private and a
//! public key object under one label (same `CKA_ID`), an AES key is one
//! secret key object, a wrapped SM2 key is one data object. Labels are the
//! only names callers use.

use cryptoki::error::Error as CryptokiError;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;

use crate::error::TokenError;

/// `CKA_APPLICATION` of the data objects holding wrapped SM2 keys; it names
/// the blob format (IV || AES-256-GCM(secret scalar) || tag).
pub(crate) const WRAPPED_SM2_APPLICATION: &[u8] = b"signet-wrapped-sm2-key";

/// The objects found under one label, by kind.
#[derive(Debug, Default)]
pub(crate) struct LabelledObjects {
    pub(crate) private_keys: Vec<ObjectHandle>,
    pub(crate) public_keys: Vec<ObjectHandle>,
    pub(crate) secret_keys: Vec<ObjectHandle>,
    pub(crate) wrapped_sm2: Vec<ObjectHandle>,
    /// Certificates, foreign data objects and the like.
    pub(crate) others: Vec<ObjectHandle>,
}

impl LabelledObjects {
    /// Every object labelled `label` that this (logged-in) session can see.
    pub(crate) fn find(session: &Session, label: &str) -> Result<Self, CryptokiError> {
        let mut found = LabelledObjects::default();
        for handle in session.find_objects(&[label_attribute(label)])? {
            let attributes = session
                .get_attributes(handle, &[AttributeType::Class, AttributeType::Application])?;
            let class = attributes.iter().find_map(|a| match a {
                Attribute::Class(c) => Some(*c),
                _ => None,
            });
            let application = attributes.iter().find_map(|a| match a {
                Attribute::Application(app) => Some(app.as_slice()),
                _ => None,
            });
            let bucket = match class {
                Some(ObjectClass::PRIVATE_KEY) => &mut found.private_keys,
                Some(ObjectClass::PUBLIC_KEY) => &mut found.public_keys,
                Some(ObjectClass::SECRET_KEY) => &mut found.secret_keys,
                Some(ObjectClass::DATA) if application == Some(WRAPPED_SM2_APPLICATION) => {
                    &mut found.wrapped_sm2
                }
                _ => &mut found.others,
            };
            bucket.push(handle);
        }
        Ok(found)
    }

    /// Whether nothing carries the label.
    pub(crate) fn is_empty(&self) -> bool {
        self.all().next().is_none()
    }

    /// Every object found.
    pub(crate) fn all(&self) -> impl Iterator<Item = ObjectHandle> + '_ {
        self.private_keys
            .iter()
            .chain(&self.public_keys)
            .chain(&self.secret_keys)
            .chain(&self.wrapped_sm2)
            .chain(&self.others)
            .copied()
    }
}

/// The one object in `handles`; several objects of one kind under one label
/// were not made by Signet, and using "the first" could sign with the wrong
/// key.
pub(crate) fn single(
    handles: &[ObjectHandle],
    label: &str,
    kind: &'static str,
) -> Result<Option<ObjectHandle>, TokenError> {
    match handles {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err(TokenError::MalformedKey {
            label: label.to_owned(),
            reason: kind,
        }),
    }
}

/// `CKA_LABEL` for `label`.
pub(crate) fn label_attribute(label: &str) -> Attribute {
    Attribute::Label(label.as_bytes().to_vec())
}

/// The first byte-string attribute `wanted` among `attributes`.
pub(crate) fn bytes_of(attributes: &[Attribute], wanted: AttributeType) -> Option<&[u8]> {
    attributes.iter().find_map(|a| match (a, wanted) {
        (Attribute::EcParams(v), AttributeType::EcParams)
        | (Attribute::EcPoint(v), AttributeType::EcPoint)
        | (Attribute::Modulus(v), AttributeType::Modulus)
        | (Attribute::PublicExponent(v), AttributeType::PublicExponent)
        | (Attribute::Value(v), AttributeType::Value) => Some(v.as_slice()),
        _ => None,
    })
}

/// The boolean attribute `wanted` among `attributes`.
pub(crate) fn bool_of(attributes: &[Attribute], wanted: AttributeType) -> Option<bool> {
    attributes.iter().find_map(|a| match (a, wanted) {
        (Attribute::Sensitive(b), AttributeType::Sensitive)
        | (Attribute::Extractable(b), AttributeType::Extractable)
        | (Attribute::NeverExtractable(b), AttributeType::NeverExtractable)
        | (Attribute::AlwaysSensitive(b), AttributeType::AlwaysSensitive) => Some(*b),
        _ => None,
    })
}

/// A fresh random `CKA_ID` shared by the halves of a key pair.
pub(crate) fn random_id() -> Vec<u8> {
    use rand::Rng as _;
    let mut id = vec![0u8; 16];
    rand::rng().fill_bytes(&mut id);
    id
}

//! `CertID` (RFC 6960 §4.1.1).

use der::Sequence;
use der::asn1::OctetString;
use spki::AlgorithmIdentifierOwned;
use x509_cert::serial_number::SerialNumber;

/// Identifies a certificate by its issuer and serial:
///
/// ```text
/// CertID ::= SEQUENCE {
///     hashAlgorithm       AlgorithmIdentifier,
///     issuerNameHash      OCTET STRING, -- Hash of issuer's DN
///     issuerKeyHash       OCTET STRING, -- Hash of issuer's public key
///     serialNumber        CertificateSerialNumber }
/// ```
///
/// The hashes are over the DER of the issuer's subject name and over the
/// value of its subjectPublicKey BIT STRING (without tag, length and
/// unused-bits octet).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CertId {
    /// Hash algorithm of the two hashes (SHA-1 or SHA-256 in practice).
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// Hash of the issuer's DN.
    pub issuer_name_hash: OctetString,
    /// Hash of the issuer's public key.
    pub issuer_key_hash: OctetString,
    /// The certificate's serial number.
    pub serial_number: SerialNumber,
}

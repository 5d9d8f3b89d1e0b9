//! The revokedCertificates list, encoded as it grows.

use der::Encode;
use der::asn1::OctetString;
use x509_cert::ext::Extension;

use crate::clock::Timestamp;
use crate::ocsp::CrlReason;
use crate::revocation::RevocationReason;
use crate::serial::Serial;

/// `id-ce-cRLReasons` (RFC 5280 §5.3.1).
const ID_CE_CRL_REASONS: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("2.5.29.21");
/// `id-ce-invalidityDate` (RFC 5280 §5.3.2).
const ID_CE_INVALIDITY_DATE: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("2.5.29.24");

/// ```text
/// SEQUENCE  {
///      userCertificate         CertificateSerialNumber,
///      revocationDate          Time,
///      crlEntryExtensions      Extensions OPTIONAL }
/// ```
#[derive(der::Sequence)]
struct Entry {
    user_certificate: x509_cert::serial_number::SerialNumber,
    revocation_date: x509_cert::time::Time,
    crl_entry_extensions: Option<Vec<Extension>>,
}

/// The encoded entries of a CRL and how many there are.
#[derive(Debug, Default)]
pub struct CrlEntries {
    buf: Vec<u8>,
    count: usize,
}

impl CrlEntries {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one entry. The reason is left out when unspecified (RFC 5280
    /// §5.3.1: "CRL issuers ... SHOULD ... omit reasonCode" rather than use
    /// unspecified).
    pub fn push(
        &mut self,
        serial: &Serial,
        revoked_at: Timestamp,
        reason: Option<RevocationReason>,
        invalidity_date: Option<Timestamp>,
    ) -> der::Result<()> {
        let mut extensions = Vec::new();
        if let Some(reason) = reason.filter(|r| *r != RevocationReason::Unspecified) {
            let value = der::asn1::Any::encode_from(&CrlReason::from(reason))?.to_der()?;
            extensions.push(Extension {
                extn_id: ID_CE_CRL_REASONS,
                critical: false,
                extn_value: OctetString::new(value)?,
            });
        }
        if let Some(when) = invalidity_date {
            let value = when
                .to_generalized()
                .ok_or_else(|| der::Error::from(der::ErrorKind::DateTime))?
                .to_der()?;
            extensions.push(Extension {
                extn_id: ID_CE_INVALIDITY_DATE,
                critical: false,
                extn_value: OctetString::new(value)?,
            });
        }
        let entry = Entry {
            user_certificate: serial.to_serial_number()?,
            revocation_date: revoked_at
                .to_x509_time()
                .ok_or_else(|| der::Error::from(der::ErrorKind::DateTime))?,
            crl_entry_extensions: (!extensions.is_empty()).then_some(extensions),
        };
        entry.encode_to_vec(&mut self.buf)?;
        self.count += 1;
        Ok(())
    }

    /// Entries so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Encoded size so far.
    pub fn encoded_len(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

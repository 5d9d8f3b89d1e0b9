//! Certificate serial numbers.
//!
//! RFC 5280 §4.1.2.2: positive, unique per issuer, at most 20 octets.
//! CA/Browser Forum BR §7.1 asks for at least 64 bits of CSPRNG output;
//! Signet draws 16 octets, the first in 0x01..=0x7F so that the INTEGER is
//! positive and always exactly 16 octets long (about 127 bits of entropy).

use std::fmt;
use std::str::FromStr;

use x509_cert::serial_number::SerialNumber;

/// RFC 5280 §4.1.2.2: conforming CAs MUST NOT use serials longer than 20 octets.
pub const MAX_SERIAL_OCTETS: usize = 20;

/// Octets in a serial Signet generates.
pub const GENERATED_SERIAL_OCTETS: usize = 16;

/// A positive certificate serial number: the big-endian magnitude, without
/// leading zero octets.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(Vec<u8>);

/// A serial number given as text or bytes is not acceptable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SerialError {
    /// Not hexadecimal.
    #[error("serial number is not hexadecimal")]
    NotHex,
    /// Zero, or negative in two's complement.
    #[error("serial number must be a positive integer")]
    NotPositive,
    /// More than 20 octets.
    #[error("serial number is longer than 20 octets")]
    TooLong,
}

impl Serial {
    /// Draws a fresh serial from a cryptographically secure generator.
    pub fn random<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = vec![0u8; GENERATED_SERIAL_OCTETS];
        rng.fill_bytes(&mut bytes);
        if let Some(first) = bytes.first_mut() {
            // Top bit clear (positive), never zero (fixed length).
            *first = (*first & 0x7f).max(1);
        }
        Serial(bytes)
    }

    /// A serial from the magnitude bytes (big-endian, unsigned).
    pub fn from_magnitude(bytes: &[u8]) -> Result<Self, SerialError> {
        let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
        let magnitude = bytes.get(start..).unwrap_or_default();
        if magnitude.is_empty() {
            return Err(SerialError::NotPositive);
        }
        // The DER INTEGER needs a leading zero when the top bit is set.
        let encoded_len =
            magnitude.len() + usize::from(magnitude.first().is_some_and(|b| b & 0x80 != 0));
        if encoded_len > MAX_SERIAL_OCTETS {
            return Err(SerialError::TooLong);
        }
        Ok(Serial(magnitude.to_vec()))
    }

    /// A serial from DER INTEGER content octets (two's complement).
    pub fn from_der_content(bytes: &[u8]) -> Result<Self, SerialError> {
        if bytes.first().is_some_and(|b| b & 0x80 != 0) {
            return Err(SerialError::NotPositive);
        }
        Self::from_magnitude(bytes)
    }

    /// The serial of a parsed certificate.
    pub fn from_certificate_serial(serial: &SerialNumber) -> Result<Self, SerialError> {
        Self::from_der_content(serial.as_bytes())
    }

    /// The magnitude, big-endian, no leading zeros.
    pub fn magnitude(&self) -> &[u8] {
        &self.0
    }

    /// Lowercase hexadecimal of the magnitude: the canonical text form, used
    /// in the database, APIs and logs.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }

    /// x509-cert's serial number type for TBS building.
    pub fn to_serial_number(&self) -> Result<SerialNumber, der::Error> {
        SerialNumber::new(&self.0)
    }
}

impl FromStr for Serial {
    type Err = SerialError;

    /// Accepts hex in either case, with optional `0x` prefix and `:`
    /// separators (as `openssl x509 -serial` and browsers print them).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let s = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .unwrap_or(s);
        let cleaned: String = s.chars().filter(|c| *c != ':').collect();
        let padded = if cleaned.len() % 2 == 1 {
            format!("0{cleaned}")
        } else {
            cleaned
        };
        let bytes = hex::decode(padded).map_err(|_| SerialError::NotHex)?;
        Self::from_magnitude(&bytes)
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests;

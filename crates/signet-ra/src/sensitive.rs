//! Sensitive fields: encrypted at rest under the token's `ra-fields` key,
//! with a keyed digest for exact-match search and tamper detection, and
//! masked wherever they are shown in lists or logs.
//!
//! Ciphertext: AES-256-GCM in the token; the AAD binds it to its table,
//! column and row (`signet-ra:subscribers:id_number:<uid>`), so a value
//! copied into another row or column does not decrypt. Digest:
//! HMAC-SHA-256 under the digest key over the column name and the
//! normalised value, so equal values match across rows (search) and a
//! digest changed in the database no longer matches the decrypted value.

use std::sync::Arc;

use hmac::{KeyInit as _, Mac as _};
use signet_token::Token;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::error::RaError;
use crate::keys::{FIELD_KEY_LABEL, blocking};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Which sensitive column a value belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SensitiveField {
    /// `subscribers.id_number`: national ID or passport number.
    IdNumber,
    /// `subscribers.phone`.
    Phone,
    /// `officers.totp_secret`.
    TotpSecret,
}

impl SensitiveField {
    /// `table:column`.
    pub fn column(self) -> &'static str {
        match self {
            SensitiveField::IdNumber => "subscribers:id_number",
            SensitiveField::Phone => "subscribers:phone",
            SensitiveField::TotpSecret => "officers:totp_secret",
        }
    }

    fn aad(self, row: &str) -> Vec<u8> {
        format!("signet-ra:{}:{row}", self.column()).into_bytes()
    }

    /// The canonical form a value is stored, digested and compared in, or
    /// `None` if it is not a plausible value for the field.
    pub fn normalize(self, value: &str) -> Option<String> {
        match self {
            SensitiveField::IdNumber => {
                // Letters and digits (ID cards end in X; passports mix).
                let v: String = value
                    .chars()
                    .filter(|c| !c.is_whitespace() && *c != '-')
                    .collect::<String>()
                    .to_uppercase();
                (v.len() >= 4 && v.len() <= 32 && v.chars().all(|c| c.is_ascii_alphanumeric()))
                    .then_some(v)
            }
            SensitiveField::Phone => {
                let trimmed = value.trim();
                let plus = trimmed.starts_with('+');
                let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
                let allowed = trimmed
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'));
                (allowed && digits.len() >= 5 && digits.len() <= 20)
                    .then(|| if plus { format!("+{digits}") } else { digits })
            }
            SensitiveField::TotpSecret => Some(value.to_owned()),
        }
    }

    /// The value as lists and logs show it: a few characters at each end.
    pub fn mask(self, value: &str) -> String {
        let chars: Vec<char> = value.chars().collect();
        let (head, tail) = match self {
            SensitiveField::IdNumber => (3, 4),
            SensitiveField::Phone => (3, 4),
            SensitiveField::TotpSecret => (0, 0),
        };
        if chars.len() <= head + tail + 2 {
            let keep = chars.len().min(2);
            let hidden = chars.len().saturating_sub(keep);
            return "*".repeat(hidden) + &chars.iter().skip(hidden).collect::<String>();
        }
        let middle = chars.len() - head - tail;
        chars.iter().take(head).collect::<String>()
            + &"*".repeat(middle)
            + &chars.iter().skip(head + middle).collect::<String>()
    }
}

/// What reading a sensitive value found.
#[derive(Clone, PartialEq, Eq)]
pub enum Revealed {
    /// Decrypted, and its digest matches.
    Intact(Zeroizing<String>),
    /// The ciphertext does not decrypt under this row's AAD, or the
    /// digest does not match: changed outside the RA.
    Tampered,
}

impl std::fmt::Debug for Revealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Revealed::Intact(_) => f.write_str("Intact(***)"),
            Revealed::Tampered => f.write_str("Tampered"),
        }
    }
}

/// Encrypts, decrypts and digests sensitive fields.
pub struct FieldCipher {
    token: Arc<Token>,
    digest_key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldCipher").finish_non_exhaustive()
    }
}

impl FieldCipher {
    pub(crate) fn new(token: Arc<Token>, digest_key: Zeroizing<Vec<u8>>) -> Self {
        FieldCipher { token, digest_key }
    }

    /// Encrypts a normalised `value` of `field` for row `row`.
    pub async fn encrypt(
        &self,
        field: SensitiveField,
        row: &str,
        value: &[u8],
    ) -> Result<Vec<u8>, RaError> {
        let aad = field.aad(row);
        let plain = Zeroizing::new(value.to_vec());
        blocking(&self.token, move |t| {
            t.aes_gcm_encrypt(FIELD_KEY_LABEL, &aad, &plain)
        })
        .await
    }

    /// Decrypts; a blob that fails authentication is
    /// [`RaError::Tampered`].
    pub async fn decrypt(
        &self,
        field: SensitiveField,
        row: &str,
        blob: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, RaError> {
        let aad = field.aad(row);
        let blob = blob.to_vec();
        blocking(&self.token, move |t| {
            t.aes_gcm_decrypt(FIELD_KEY_LABEL, &aad, &blob)
        })
        .await
        .map_err(|e| match e {
            RaError::Token(signet_token::TokenError::Decrypt { .. }) => RaError::Tampered {
                what: field.column(),
            },
            other => other,
        })
    }

    /// The keyed digest of a normalised value.
    pub fn digest(&self, field: SensitiveField, normalized: &str) -> Vec<u8> {
        let Ok(mut mac) = HmacSha256::new_from_slice(&self.digest_key) else {
            // HMAC takes keys of any length.
            return Vec::new();
        };
        mac.update(field.column().as_bytes());
        mac.update(&[0]);
        mac.update(normalized.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// `(ciphertext, digest)` of a value to store.
    pub async fn seal(
        &self,
        field: SensitiveField,
        row: &str,
        normalized: &str,
    ) -> Result<(Vec<u8>, Vec<u8>), RaError> {
        let enc = self.encrypt(field, row, normalized.as_bytes()).await?;
        Ok((enc, self.digest(field, normalized)))
    }

    /// Decrypts a stored value and checks its digest.
    pub async fn open(
        &self,
        field: SensitiveField,
        row: &str,
        enc: &[u8],
        digest: &[u8],
    ) -> Result<Revealed, RaError> {
        let plain = match self.decrypt(field, row, enc).await {
            Ok(p) => p,
            Err(RaError::Tampered { .. }) => return Ok(Revealed::Tampered),
            Err(e) => return Err(e),
        };
        let Ok(text) = String::from_utf8(plain.to_vec()) else {
            return Ok(Revealed::Tampered);
        };
        let text = Zeroizing::new(text);
        let expected = self.digest(field, &text);
        if bool::from(expected.ct_eq(digest)) {
            Ok(Revealed::Intact(text))
        } else {
            Ok(Revealed::Tampered)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        let id = SensitiveField::IdNumber;
        assert_eq!(
            id.normalize(" 11010519491231002x ").as_deref(),
            Some("11010519491231002X")
        );
        assert_eq!(id.normalize("E 1234-5678").as_deref(), Some("E12345678"));
        assert_eq!(id.normalize("12"), None);
        assert_eq!(id.normalize("<script>"), None);
        let phone = SensitiveField::Phone;
        assert_eq!(
            phone.normalize("+86 138-0013-8000").as_deref(),
            Some("+8613800138000")
        );
        assert_eq!(
            phone.normalize("(010) 6552 9988").as_deref(),
            Some("01065529988")
        );
        assert_eq!(phone.normalize("call me"), None);
    }

    #[test]
    fn masking_hides_the_middle() {
        assert_eq!(
            SensitiveField::IdNumber.mask("11010519491231002X"),
            "110***********002X"
        );
        assert_eq!(SensitiveField::Phone.mask("13800138000"), "138****8000");
        assert_eq!(SensitiveField::IdNumber.mask("ABCDE"), "***DE");
    }
}

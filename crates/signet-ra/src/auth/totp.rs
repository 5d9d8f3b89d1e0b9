//! Time-based one-time passwords (RFC 6238) as authenticator apps make
//! them: HMAC-SHA-1, 6 digits, 30-second steps, from a 160-bit secret
//! (RFC 4226 §4 R6 recommends 160 bits).
//!
//! A code is accepted for the current step and one step either side
//! (RFC 6238 §5.2 allows "at most one time step" of network delay and
//! clock drift); the step a code matched is returned so the caller can
//! refuse a code that was already used (RFC 6238 §5.2: "the verifier MUST
//! NOT accept the second attempt of the OTP after the successful
//! validation has been issued").

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit as _, Mac as _};
use rand::Rng as _;
use signet_core::Timestamp;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::error::RaError;

/// Seconds per step (RFC 6238 §4.1 X, default 30).
pub const STEP_SECONDS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps accepted either side of now.
pub const SKEW_STEPS: i64 = 1;
/// Secret length in bytes.
pub const SECRET_BYTES: usize = 20;

type HmacSha1 = hmac::Hmac<sha1::Sha1>;

/// A TOTP shared secret, zeroized on drop.
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(***)")
    }
}

impl TotpSecret {
    /// A new random secret.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; SECRET_BYTES]);
        rand::rng().fill_bytes(&mut bytes);
        TotpSecret(bytes)
    }

    /// A secret from its bytes (after decryption).
    pub fn from_bytes(bytes: Zeroizing<Vec<u8>>) -> Self {
        TotpSecret(bytes)
    }

    /// The secret's bytes, for encryption at rest.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret in base32 without padding, as typed into an app.
    pub fn base32(&self) -> Zeroizing<String> {
        Zeroizing::new(data_encoding::BASE32_NOPAD.encode(&self.0))
    }

    /// The code for time step `step` (RFC 4226 §5.3 HOTP with the step as
    /// counter).
    pub fn code(&self, step: i64) -> u32 {
        let Ok(mut mac) = HmacSha1::new_from_slice(&self.0) else {
            // HMAC takes keys of any length.
            return u32::MAX;
        };
        mac.update(&step.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        // RFC 4226 §5.3 dynamic truncation.
        let offset = usize::from(digest.last().copied().unwrap_or(0) & 0x0f);
        let word = digest
            .get(offset..offset + 4)
            .and_then(|w| <[u8; 4]>::try_from(w).ok())
            .map(u32::from_be_bytes)
            .unwrap_or(0);
        (word & 0x7fff_ffff) % 10u32.pow(DIGITS)
    }

    /// The step `code` is valid for at `now` (within the skew), if any.
    /// Every candidate is compared, in constant time, so timing says
    /// nothing about which step matched.
    pub fn verify(&self, code: &str, now: Timestamp) -> Option<i64> {
        let code = code.trim();
        if code.len() != usize::try_from(DIGITS).unwrap_or(6)
            || !code.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let current = step_at(now);
        let mut found = None;
        for step in current - SKEW_STEPS..=current + SKEW_STEPS {
            let expected = format!("{:0width$}", self.code(step), width = 6);
            if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && found.is_none() {
                found = Some(step);
            }
        }
        found
    }

    /// The `otpauth://` URI authenticator apps read from the QR code
    /// (Google Authenticator's Key Uri Format).
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> Zeroizing<String> {
        let label = format!("{}:{}", encode(issuer), encode(account));
        Zeroizing::new(format!(
            "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            self.base32().as_str(),
            encode(issuer)
        ))
    }
}

/// The time step `now` falls in.
pub fn step_at(now: Timestamp) -> i64 {
    now.unix().div_euclid(STEP_SECONDS)
}

/// The QR code of `uri` as an SVG `data:` URI for an `<img>` (the CSP
/// allows `img-src data:`; no inline markup or script is needed).
pub fn qr_data_uri(uri: &str) -> Result<Zeroizing<String>, RaError> {
    let code = qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M)
        .map_err(|_| RaError::internal("the TOTP URI does not fit a QR code"))?;
    let svg = Zeroizing::new(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .build(),
    );
    Ok(Zeroizing::new(format!(
        "data:image/svg+xml;base64,{}",
        STANDARD.encode(svg.as_bytes())
    )))
}

/// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(Zeroizing::new(b"12345678901234567890".to_vec()))
    }

    /// RFC 6238 Appendix B, SHA-1 column, reduced to 6 digits (the last six
    /// of the 8-digit values).
    #[test]
    fn rfc6238_test_vectors() {
        let s = rfc_secret();
        for (t, eight) in [
            (59, 94_287_082u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            assert_eq!(
                s.code(step_at(Timestamp::from_unix(t))),
                eight % 1_000_000,
                "t = {t}"
            );
        }
    }

    #[test]
    fn accepts_one_step_of_skew_and_no_more() {
        let s = rfc_secret();
        let now = Timestamp::from_unix(1_800_000_000);
        let step = step_at(now);
        let code = |st: i64| format!("{:06}", s.code(st));
        assert_eq!(s.verify(&code(step), now), Some(step));
        assert_eq!(s.verify(&code(step - 1), now), Some(step - 1));
        assert_eq!(s.verify(&code(step + 1), now), Some(step + 1));
        assert_eq!(s.verify(&code(step - 2), now), None);
        assert_eq!(s.verify(&code(step + 2), now), None);
        assert_eq!(s.verify("12345", now), None);
        assert_eq!(s.verify("abcdef", now), None);
    }

    #[test]
    fn uri_and_qr() {
        let s = rfc_secret();
        assert_eq!(s.base32().as_str(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = s.otpauth_uri("Signet RA", "alice");
        assert_eq!(
            uri.as_str(),
            "otpauth://totp/Signet%20RA:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Signet%20RA&algorithm=SHA1&digits=6&period=30"
        );
        let qr = qr_data_uri(&uri).unwrap();
        assert!(qr.starts_with("data:image/svg+xml;base64,"));
    }
}

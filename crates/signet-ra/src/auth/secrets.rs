//! Session ids and anti-CSRF tokens: 256 random bits, base64url, compared
//! in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// Length of a token in characters: 32 bytes in base64url without padding.
pub const TOKEN_CHARS: usize = 43;

/// 32 random bytes, base64url.
pub fn random_token() -> Zeroizing<String> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(bytes.as_mut());
    Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref()))
}

/// Whether `text` has the shape of a token (so junk never reaches a query).
pub fn is_token(text: &str) -> bool {
    text.len() == TOKEN_CHARS
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Constant-time equality of two secrets (tokens, CSRF values).
pub fn secrets_equal(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A session id: what the cookie carries. Only [`SessionId::hash`] is
/// stored.
pub struct SessionId(Zeroizing<String>);

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(***)")
    }
}

impl SessionId {
    /// A new random id.
    pub fn generate() -> Self {
        SessionId(random_token())
    }

    /// The id a cookie carries, if it has the right shape.
    pub fn parse(text: &str) -> Option<Self> {
        is_token(text).then(|| SessionId(Zeroizing::new(text.to_owned())))
    }

    /// The cookie value.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the id: the database key.
    pub fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_well_formed() {
        let a = random_token();
        let b = random_token();
        assert!(is_token(&a) && is_token(&b));
        assert_ne!(*a, *b);
        assert!(!is_token("short"));
        assert!(!is_token(&format!("{}=", &a[..42])));
    }

    #[test]
    fn session_ids_parse_and_hash() {
        let id = SessionId::generate();
        let again = SessionId::parse(id.expose()).unwrap();
        assert_eq!(id.hash(), again.hash());
        assert_eq!(id.hash().len(), 32);
        assert!(SessionId::parse("' OR 1=1 --").is_none());
        assert_eq!(format!("{id:?}"), "SessionId(***)");
    }

    #[test]
    fn secret_comparison() {
        assert!(secrets_equal("abc", "abc"));
        assert!(!secrets_equal("abc", "abd"));
        assert!(!secrets_equal("abc", "abcd"));
        assert!(!secrets_equal("", "a"));
    }
}

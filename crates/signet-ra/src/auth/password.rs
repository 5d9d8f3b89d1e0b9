//! Passwords: argon2id with OWASP's parameters, one-time passwords for new
//! and reset accounts, and the password policy.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::{Rng as _, RngExt as _};
use zeroize::Zeroizing;

use crate::error::RaError;

/// OWASP Password Storage Cheat Sheet (2025): argon2id with 19 MiB of
/// memory, 2 iterations, 1 degree of parallelism.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

/// Shortest password accepted (NIST SP 800-63B §3.1.1.2 asks for at least
/// 8; officers' accounts are privileged, so 12).
pub const MIN_LENGTH: usize = 12;
/// Longest password accepted: hashing cost must stay bounded.
pub const MAX_LENGTH: usize = 128;

/// Characters of generated passwords: no 0/O, 1/l/I look-alikes.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
const GENERATED_LENGTH: usize = 20;

fn argon2() -> Result<Argon2<'static>, RaError> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|_| RaError::internal("argon2 parameters rejected"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The argon2id PHC string of `password`, with a fresh 16-byte salt.
/// Slow by design (tens of milliseconds): call it off the async runtime.
pub fn hash_password(password: &str) -> Result<String, RaError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    argon2()?
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| RaError::internal("argon2 hashing failed"))
}

/// Whether `password` matches the PHC string `hash`. A malformed hash
/// never matches. Parameters come from the hash itself, so older hashes
/// keep verifying after the parameters change.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match argon2() {
        Ok(a) => a.verify_password(password.as_bytes(), hash).is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of one verification against a hash nobody has, so
/// that an unknown username takes as long to refuse as a wrong password.
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    let hash = DUMMY.get_or_init(|| {
        let unguessable = generate_password();
        hash_password(&unguessable).ok()
    });
    if let Some(hash) = hash {
        let _ = verify_password(password, hash);
    }
}

/// A random password for a new or reset account, shown once and changed
/// at the first login: 20 characters, about 117 bits.
pub fn generate_password() -> Zeroizing<String> {
    let mut rng = rand::rng();
    let mut out = Zeroizing::new(String::with_capacity(GENERATED_LENGTH));
    for _ in 0..GENERATED_LENGTH {
        let i = rng.random_range(0..ALPHABET.len());
        if let Some(c) = ALPHABET.get(i) {
            out.push(char::from(*c));
        }
    }
    out
}

/// The policy for passwords officers choose: 12 to 128 characters, not
/// containing the username. (No composition rules: NIST SP 800-63B
/// §3.1.1.2 advises against them.)
pub fn check_policy(password: &str, username: &str) -> Result<(), RaError> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(RaError::Invalid {
            field: "password",
            key: "error.password_too_short",
        });
    }
    if length > MAX_LENGTH {
        return Err(RaError::Invalid {
            field: "password",
            key: "error.password_too_long",
        });
    }
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        return Err(RaError::Invalid {
            field: "password",
            key: "error.password_contains_username",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("correct horse battery", "not a hash"));
        // Salted: the same password hashes differently twice.
        assert_ne!(hash, hash_password("correct horse battery").unwrap());
    }

    #[test]
    fn generated_passwords_are_long_and_unambiguous() {
        let a = generate_password();
        let b = generate_password();
        assert_eq!(a.len(), GENERATED_LENGTH);
        assert_ne!(*a, *b);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)));
        check_policy(&a, "admin").unwrap();
    }

    #[test]
    fn policy_refuses_short_long_and_username_passwords() {
        assert!(check_policy("short", "alice").is_err());
        assert!(check_policy(&"x".repeat(129), "alice").is_err());
        assert!(check_policy("my-name-is-ALICE-ok", "alice").is_err());
        assert!(check_policy("twelve chars!", "alice").is_ok());
    }
}

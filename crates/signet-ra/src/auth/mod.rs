//! Officer authentication: passwords (argon2id), TOTP (RFC 6238), session
//! and anti-CSRF tokens, and the per-address login throttle.

pub mod password;
pub mod rates;
pub mod secrets;
pub mod throttle;
pub mod totp;

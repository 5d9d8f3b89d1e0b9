//! The profiles every Signet installation starts with. `signet init`
//! writes them to `<home>/profiles/` where operators may edit them; the
//! files in `crates/signet-core/profiles/` are the documented defaults.

use super::{Profile, ProfileError};

/// Names of the built-in profiles.
pub const BUILTIN_PROFILE_NAMES: [&str; 8] = [
    "root-ca",
    "sub-ca",
    "server",
    "client",
    "user-sign",
    "user-enc",
    "ocsp-signer",
    "service",
];

const SOURCES: [(&str, &str); 8] = [
    ("root-ca", include_str!("../../profiles/root-ca.toml")),
    ("sub-ca", include_str!("../../profiles/sub-ca.toml")),
    ("server", include_str!("../../profiles/server.toml")),
    ("client", include_str!("../../profiles/client.toml")),
    ("user-sign", include_str!("../../profiles/user-sign.toml")),
    ("user-enc", include_str!("../../profiles/user-enc.toml")),
    (
        "ocsp-signer",
        include_str!("../../profiles/ocsp-signer.toml"),
    ),
    ("service", include_str!("../../profiles/service.toml")),
];

/// The TOML text of a built-in profile.
pub fn builtin_profile_toml(name: &str) -> Option<&'static str> {
    SOURCES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// All built-in profiles, validated.
pub fn builtin_profiles() -> Result<Vec<Profile>, ProfileError> {
    SOURCES
        .iter()
        .map(|(_, text)| Profile::from_toml(text))
        .collect()
}

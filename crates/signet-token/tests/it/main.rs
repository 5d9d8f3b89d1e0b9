//! signet-token against a real SoftHSM2 token.
//!
//! Every test makes its own token (`signet_token::testing::test_token`), so
//! tests run in parallel threads (`cargo test`) or processes (`cargo
//! nextest`) without sharing state. Signatures are checked with independent
//! implementations: the RustCrypto p256/p384/sm2 crates and aws-lc-rs.

// Test code: a panic is a failed test. (clippy's allow-*-in-tests covers
// `#[test]` functions but not the helpers they share.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod aes;
mod concurrency;
mod ecdsa;
mod errors;
mod kit;
mod protection;
mod rsa;
mod sm2;

//! Integration tests of the KMC: a platform PKI made with rcgen, a SoftHSM2
//! test token, PostgreSQL (and SQLite) test databases, the key ceremony,
//! the service on 127.0.0.1:0 over mutual TLS, and OpenSSL as an
//! independent opener of CMS envelopes.

// Test code: a panic is a failed test. (clippy's allow-*-in-tests covers
// `#[test]` functions but not the helpers they share.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod access;
mod data_keys;
mod dual;
mod dump;
mod envelopes;
mod kit;
mod lifecycle;
mod recovery;
mod shares;

//! Integration tests of the OCSP/CRL responder: a CA database filled as
//! the CA fills it (SQLite and PostgreSQL), a delegated signer key in a
//! SoftHSM2 test token, the responder on 127.0.0.1:0, and OpenSSL, curl
//! and raw HTTP as clients.

// Test code: a panic is a failed test. (clippy's allow-*-in-tests covers
// `#[test]` functions but not the helpers they share.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod answers;
mod downloads;
mod freshness;
mod get;
mod kit;
mod refusals;
mod stalls;

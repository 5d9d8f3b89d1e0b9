//! End-to-end tests: PKI homes made by the real `signet` binary, services
//! on loopback, OpenSSL and pkcs11-tool as independent checkers.
//!
//! Build the binary first: `cargo build -p signet-cli` (the README's test
//! command does).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod api_fuzz;
mod bad_input;
mod crash;
mod dual;
mod issuance;
mod mtls;
mod ocsp;
mod through_ra;

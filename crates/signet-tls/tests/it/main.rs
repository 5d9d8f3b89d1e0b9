//! Integration tests: real TLS over 127.0.0.1, certificates made with rcgen.

// Test code: a panic is a failed test. (clippy's allow-*-in-tests covers
// `#[test]` functions but not the helpers they share.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod kit;
mod pki;

mod client;
mod handshake;
mod protocol;
mod serve_loop;

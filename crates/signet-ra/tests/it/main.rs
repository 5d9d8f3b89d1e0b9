//! Integration tests: the RA started in-process on 127.0.0.1:0 with an
//! rcgen-made customer PKI, a SoftHSM2 test token and SQLite, driven over
//! HTTPS by a small browser with a cookie jar; issuance tests also start
//! a real CA in-process (`ca.rs`) and check certificates with OpenSSL.

// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod browser;
mod ca;
mod kit;
mod pki;

mod api;
mod api_batches;
mod audit;
mod batch_chains;
mod batches;
mod chromium;
mod i18n;
mod login;
mod portal;
mod recovery;
mod reminders;
mod reports;
mod requests;
mod roles;
mod server_keys;
mod signed_batches;
mod web_security;

//! Wire types shared by Signet's services and a typed mTLS client for each
//! service API. Services never depend on each other: they meet here.
//!
//! Bodies are JSON; certificates travel as PEM strings, serials as
//! lowercase hex, times as RFC 3339 UTC strings.

#![forbid(unsafe_code)]

pub mod ca;
mod client;
pub mod dual;
mod error;
pub mod kmc;
pub mod ra;

pub use client::{ApiClient, ClientError};
pub use error::ErrorBody;

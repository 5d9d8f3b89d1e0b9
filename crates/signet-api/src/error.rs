//! The error body every Signet API returns.

use serde::{Deserialize, Serialize};

/// `{"error": "<code>", "message": "<one clear line>"}`.
///
/// `error` is a stable machine-readable code (`bad_csr`, `not_found`,
/// `conflict`, `forbidden`, `payload_too_large`, ...); `message` is meant
/// for a person and never holds secrets or personal data.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    /// Stable error code.
    pub error: String,
    /// Human-readable explanation.
    pub message: String,
}

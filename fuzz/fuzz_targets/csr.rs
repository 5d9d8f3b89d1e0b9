//! CSRs come from subscribers and batch files: parsing must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = signet_core::csr::VerifiedCsr::parse(data, signet_core::csr::DEFAULT_MAX_CSR_BYTES);
});

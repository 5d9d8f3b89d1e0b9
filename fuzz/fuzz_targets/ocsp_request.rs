//! The OCSP request parser faces the internet: whatever bytes arrive, it
//! must return a request or an error, never panic, hang or blow up memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = signet_core::ocsp::parse_request(data, 20) {
        // A request that parses has what the responder relies on.
        assert!(!request.certs.is_empty() && request.certs.len() <= 20);
        if let Some(nonce) = &request.nonce {
            assert!(nonce.len() >= 3 && nonce.len() <= 34);
        }
    }
});

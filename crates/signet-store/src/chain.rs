//! The link hash of a hash-chained audit trail (the RA's and the KMC's):
//! SHA-256 over a domain tag, the previous link, the sequence number, the
//! time and every field, each field length-prefixed so that no two
//! different entries encode alike. Editing, deleting or reordering an
//! entry breaks every link after it.

use sha2::{Digest as _, Sha256};

/// The hash linking an entry to `prev_hash`.
pub(crate) fn link_hash(
    domain: &[u8],
    prev_hash: &[u8],
    seq: i64,
    at_unix: i64,
    fields: &[&str],
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(domain);
    length_prefixed(&mut h, prev_hash);
    h.update(seq.to_be_bytes());
    h.update(at_unix.to_be_bytes());
    for text in fields {
        length_prefixed(&mut h, text.as_bytes());
    }
    h.finalize().into()
}

fn length_prefixed(h: &mut Sha256, bytes: &[u8]) {
    // usize always fits in u64 on the platforms Rust supports.
    h.update(u64::try_from(bytes.len()).unwrap_or(u64::MAX).to_be_bytes());
    h.update(bytes);
}

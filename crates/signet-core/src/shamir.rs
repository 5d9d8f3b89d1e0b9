//! Shamir's secret sharing over GF(2^8), byte by byte.
//!
//! A secret of `n` bytes is split into `total` shares of `n` bytes each:
//! byte `i` of the secret is the constant term of a random polynomial of
//! degree `threshold - 1` over GF(2^8) (the AES field, reduction polynomial
//! x^8 + x^4 + x^3 + x + 1), and share `x` holds the polynomial's value at
//! `x` (1 to 255). Any `threshold` shares give the secret back by Lagrange
//! interpolation at 0; fewer give no information about it: for every
//! candidate secret there is exactly one polynomial through them.
//!
//! Interpolation cannot tell a wrong result from a right one, so every
//! share carries a *check value*, a SHA-256 commitment to the secret
//! (domain-separated, with the split's random id): [`combine`] refuses a
//! result that does not match it, which catches a corrupt share, shares of
//! different splits, and a forged `threshold`. The check value reveals
//! nothing usable about a high-entropy secret such as a 256-bit key; it is
//! not meant for passwords.
//!
//! Field arithmetic is branch-free on secret data (no lookup tables).

use sha2::Digest as _;
use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize as _, Zeroizing};

/// Why a secret cannot be split or rebuilt.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShamirError {
    /// `threshold` must be at least 2 and at most `total`, `total` at most 255.
    #[error("cannot split into {total} shares with threshold {threshold}")]
    BadParameters {
        /// Shares asked for.
        total: usize,
        /// Shares needed to rebuild.
        threshold: usize,
    },
    /// The secret is empty.
    #[error("the secret to split is empty")]
    EmptySecret,
    /// Fewer shares than the split's threshold.
    #[error("{given} shares given, {threshold} needed")]
    NotEnoughShares {
        /// Distinct shares given.
        given: usize,
        /// Shares needed.
        threshold: usize,
    },
    /// Two shares with the same index.
    #[error("share {index} was given twice")]
    DuplicateShare {
        /// The repeated index.
        index: u8,
    },
    /// Shares of different splits, lengths or parameters, or index 0.
    #[error("the shares do not belong to one split")]
    Mismatched,
    /// The rebuilt secret does not match the check value: a share is
    /// corrupt or forged.
    #[error("the shares do not rebuild the secret (a share is corrupt or from another split)")]
    CheckFailed,
}

/// One custodian's share of a split secret.
#[derive(Clone)]
pub struct Share {
    /// Random id of the split this share belongs to.
    pub set_id: [u8; 16],
    /// Shares needed to rebuild the secret.
    pub threshold: u8,
    /// Shares made.
    pub total: u8,
    /// This share's x coordinate, 1 to `total`.
    pub index: u8,
    /// The polynomials' values at `index`, one byte per secret byte.
    pub value: Zeroizing<Vec<u8>>,
    /// Commitment to the secret (see the module docs).
    pub check: [u8; 32],
}

impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Share")
            .field("set_id", &hex::encode(self.set_id))
            .field("threshold", &self.threshold)
            .field("total", &self.total)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// Splits `secret` into `total` shares, any `threshold` of which rebuild it.
pub fn split<R: rand_core::CryptoRng + ?Sized>(
    secret: &[u8],
    threshold: usize,
    total: usize,
    rng: &mut R,
) -> Result<Vec<Share>, ShamirError> {
    if threshold < 2 || threshold > total || total > 255 {
        return Err(ShamirError::BadParameters { total, threshold });
    }
    if secret.is_empty() {
        return Err(ShamirError::EmptySecret);
    }
    let (Ok(threshold_u8), Ok(total_u8)) = (u8::try_from(threshold), u8::try_from(total)) else {
        return Err(ShamirError::BadParameters { total, threshold });
    };
    let mut set_id = [0u8; 16];
    rng.fill_bytes(&mut set_id);
    let check = check_value(&set_id, secret);
    let mut shares: Vec<Share> = (1..=total_u8)
        .map(|index| Share {
            set_id,
            threshold: threshold_u8,
            total: total_u8,
            index,
            value: Zeroizing::new(Vec::with_capacity(secret.len())),
            check,
        })
        .collect();
    // coefficients[0] is the secret byte; the others are random.
    let mut coefficients = Zeroizing::new(vec![0u8; threshold]);
    for &byte in secret {
        rng.fill_bytes(&mut coefficients);
        if let Some(c0) = coefficients.first_mut() {
            *c0 = byte;
        }
        for share in &mut shares {
            share.value.push(evaluate(&coefficients, share.index));
        }
    }
    coefficients.zeroize();
    Ok(shares)
}

/// Rebuilds the secret from at least `threshold` shares of one split and
/// checks it against the shares' check value.
pub fn combine(shares: &[Share]) -> Result<Zeroizing<Vec<u8>>, ShamirError> {
    let Some(first) = shares.first() else {
        return Err(ShamirError::NotEnoughShares {
            given: 0,
            threshold: 2,
        });
    };
    for (i, share) in shares.iter().enumerate() {
        let same_split = share.set_id == first.set_id
            && share.threshold == first.threshold
            && share.total == first.total
            && share.check == first.check
            && share.value.len() == first.value.len();
        if !same_split || share.index == 0 {
            return Err(ShamirError::Mismatched);
        }
        if shares.iter().take(i).any(|s| s.index == share.index) {
            return Err(ShamirError::DuplicateShare { index: share.index });
        }
    }
    if shares.len() < usize::from(first.threshold) {
        return Err(ShamirError::NotEnoughShares {
            given: shares.len(),
            threshold: usize::from(first.threshold),
        });
    }
    let points: Vec<(u8, &[u8])> = shares.iter().map(|s| (s.index, &s.value[..])).collect();
    let secret = interpolate(&points)?;
    let expected = check_value(&first.set_id, &secret);
    if bool::from(expected.ct_eq(&first.check)) {
        Ok(secret)
    } else {
        Err(ShamirError::CheckFailed)
    }
}

/// Lagrange interpolation at x = 0 through `points` (x, y bytes), without
/// any check. [`combine`] is the function to use; this one shows, in tests,
/// what too few shares give.
pub fn interpolate(points: &[(u8, &[u8])]) -> Result<Zeroizing<Vec<u8>>, ShamirError> {
    let len = points.first().map_or(0, |(_, y)| y.len());
    if points.iter().any(|(x, y)| *x == 0 || y.len() != len) {
        return Err(ShamirError::Mismatched);
    }
    // Lagrange basis at 0: l_i = prod_{j != i} x_j / (x_j - x_i); in
    // GF(2^8) subtraction is XOR.
    let mut basis = Vec::with_capacity(points.len());
    for (i, (xi, _)) in points.iter().enumerate() {
        let mut numerator = 1u8;
        let mut denominator = 1u8;
        for (j, (xj, _)) in points.iter().enumerate() {
            if i != j {
                numerator = gf_mul(numerator, *xj);
                denominator = gf_mul(denominator, xj ^ xi);
            }
        }
        if denominator == 0 {
            return Err(ShamirError::DuplicateShare { index: *xi });
        }
        basis.push(gf_mul(numerator, gf_inv(denominator)));
    }
    let mut secret = Zeroizing::new(vec![0u8; len]);
    for (k, out) in secret.iter_mut().enumerate() {
        let mut acc = 0u8;
        for ((_, y), l) in points.iter().zip(&basis) {
            acc ^= gf_mul(y.get(k).copied().unwrap_or(0), *l);
        }
        *out = acc;
    }
    Ok(secret)
}

/// SHA-256("signet-shamir-check-v1" || set id || secret).
fn check_value(set_id: &[u8; 16], secret: &[u8]) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    h.update(b"signet-shamir-check-v1");
    h.update(set_id);
    h.update(secret);
    h.finalize().into()
}

/// The polynomial with `coefficients` (constant term first) at `x`
/// (Horner's rule).
fn evaluate(coefficients: &[u8], x: u8) -> u8 {
    coefficients
        .iter()
        .rev()
        .fold(0u8, |acc, &c| gf_mul(acc, x) ^ c)
}

/// Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1, without
/// branches or table lookups on the operands.
fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut product = 0u8;
    for _ in 0..8 {
        // All ones when the low bit of b is set.
        product ^= a & 0u8.wrapping_sub(b & 1);
        let carry = 0u8.wrapping_sub(a >> 7);
        a = (a << 1) ^ (0x1b & carry);
        b >>= 1;
    }
    product
}

/// The multiplicative inverse: a^254 (a^255 = 1 for a != 0).
fn gf_inv(a: u8) -> u8 {
    let mut result = 1u8;
    let mut base = a;
    let mut exponent = 254u8;
    while exponent > 0 {
        if exponent & 1 == 1 {
            result = gf_mul(result, base);
        }
        base = gf_mul(base, base);
        exponent >>= 1;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Vec<u8> {
        (0u8..32)
            .map(|i| i.wrapping_mul(37).wrapping_add(11))
            .collect()
    }

    #[test]
    fn field_inverse_is_an_inverse() {
        for a in 1u8..=255 {
            assert_eq!(gf_mul(a, gf_inv(a)), 1, "a = {a}");
        }
        // 0x53 * 0xca = 1 in the AES field (FIPS 197 §4.2).
        assert_eq!(gf_mul(0x53, 0xca), 0x01);
        assert_eq!(gf_mul(0x57, 0x83), 0xc1);
    }

    #[test]
    fn every_threshold_subset_rebuilds_the_secret() {
        let secret = secret();
        let shares = split(&secret, 3, 5, &mut rand::rng()).unwrap();
        assert_eq!(shares.len(), 5);
        for a in 0..5 {
            for b in (a + 1)..5 {
                for c in (b + 1)..5 {
                    let subset = [shares[c].clone(), shares[a].clone(), shares[b].clone()];
                    assert_eq!(&combine(&subset).unwrap()[..], &secret[..], "{a} {b} {c}");
                }
            }
        }
        // More than the threshold works too.
        assert_eq!(&combine(&shares).unwrap()[..], &secret[..]);
    }

    #[test]
    fn two_of_three() {
        let secret = secret();
        let shares = split(&secret, 2, 3, &mut rand::rng()).unwrap();
        for (a, b) in [(0, 1), (0, 2), (1, 2), (2, 0)] {
            let pair = [shares[a].clone(), shares[b].clone()];
            assert_eq!(&combine(&pair).unwrap()[..], &secret[..]);
        }
    }

    #[test]
    fn fewer_than_threshold_shares_rebuild_nothing() {
        let secret = secret();
        let shares = split(&secret, 3, 5, &mut rand::rng()).unwrap();
        let two = [shares[0].clone(), shares[3].clone()];
        assert_eq!(
            combine(&two).unwrap_err(),
            ShamirError::NotEnoughShares {
                given: 2,
                threshold: 3
            }
        );
        // Interpolating them anyway gives a value that is not the secret,
        // and lying about the threshold is caught by the check value.
        let points: Vec<(u8, &[u8])> = two.iter().map(|s| (s.index, &s.value[..])).collect();
        assert_ne!(&interpolate(&points).unwrap()[..], &secret[..]);
        let forged: Vec<Share> = two
            .iter()
            .cloned()
            .map(|mut s| {
                s.threshold = 2;
                s
            })
            .collect();
        assert_eq!(combine(&forged).unwrap_err(), ShamirError::CheckFailed);
        // A single share of a 2-of-3 split is refused as well.
        let pair_split = split(&secret, 2, 3, &mut rand::rng()).unwrap();
        assert!(matches!(
            combine(&pair_split[..1]).unwrap_err(),
            ShamirError::NotEnoughShares { .. }
        ));
    }

    #[test]
    fn a_single_share_reveals_nothing_byte_by_byte() {
        // With threshold 2 the share byte is secret ^ (r * x) for uniform r:
        // over many splits of the same secret, a share byte takes (nearly)
        // every value.
        let secret = [0x42u8];
        let mut seen = [false; 256];
        for _ in 0..4096 {
            let shares = split(&secret, 2, 2, &mut rand::rng()).unwrap();
            seen[usize::from(shares[0].value[0])] = true;
        }
        assert!(seen.iter().filter(|s| **s).count() > 240);
    }

    #[test]
    fn corrupt_or_foreign_shares_fail_the_check() {
        let secret = secret();
        let shares = split(&secret, 2, 3, &mut rand::rng()).unwrap();
        let mut corrupt = shares[1].clone();
        corrupt.value[7] ^= 0x01;
        assert_eq!(
            combine(&[shares[0].clone(), corrupt.clone()]).unwrap_err(),
            ShamirError::CheckFailed
        );
        // With all three, the corrupt one still spoils the result.
        assert_eq!(
            combine(&[shares[0].clone(), corrupt, shares[2].clone()]).unwrap_err(),
            ShamirError::CheckFailed
        );
        // A share from another split of the same secret does not mix.
        let other = split(&secret, 2, 3, &mut rand::rng()).unwrap();
        assert_eq!(
            combine(&[shares[0].clone(), other[1].clone()]).unwrap_err(),
            ShamirError::Mismatched
        );
        // Even with the set id and check forged to match, it fails.
        let mut forged = other[1].clone();
        forged.set_id = shares[0].set_id;
        forged.check = shares[0].check;
        assert_eq!(
            combine(&[shares[0].clone(), forged]).unwrap_err(),
            ShamirError::CheckFailed
        );
        assert_eq!(
            combine(&[shares[0].clone(), shares[0].clone()]).unwrap_err(),
            ShamirError::DuplicateShare { index: 1 }
        );
    }

    #[test]
    fn bad_parameters_are_refused() {
        let mut rng = rand::rng();
        for (t, n) in [(1, 3), (0, 0), (4, 3), (2, 256)] {
            assert!(matches!(
                split(b"k", t, n, &mut rng).unwrap_err(),
                ShamirError::BadParameters { .. }
            ));
        }
        assert_eq!(
            split(b"", 2, 3, &mut rng).unwrap_err(),
            ShamirError::EmptySecret
        );
        assert!(format!("{:?}", split(b"k", 2, 3, &mut rng).unwrap()[0]).contains("Share"));
    }
}

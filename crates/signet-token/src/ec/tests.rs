use super::*;

#[test]
fn ec_params_are_the_der_curve_oid() {
    let p256 = Curve::for_key_type(KeyType::P256).unwrap();
    let der = p256.ec_params().unwrap();
    assert_eq!(der, hex("06082a8648ce3d030107"));
    assert_eq!(Curve::from_ec_params(&der), Some(p256));
    let p384 = Curve::for_key_type(KeyType::P384).unwrap();
    assert_eq!(p384.ec_params().unwrap(), hex("06052b81040022"));
    assert_eq!(
        Curve::from_ec_params(&p384.ec_params().unwrap()),
        Some(p384)
    );
}

#[test]
fn sm2_curve_is_not_an_ecdsa_curve_here() {
    assert_eq!(Curve::for_key_type(KeyType::Sm2), None);
    assert_eq!(Curve::for_key_type(KeyType::Rsa2048), None);
    let sm2_params = oid::SM2_CURVE.to_der().unwrap();
    assert_eq!(Curve::from_ec_params(&sm2_params), None);
    assert_eq!(Curve::from_ec_params(b"\x05\x00"), None);
}

#[test]
fn ec_point_is_unwrapped_from_its_octet_string() {
    let p256 = Curve::for_key_type(KeyType::P256).unwrap();
    let mut point = vec![0x04];
    point.extend(0u8..64);
    let mut wrapped = vec![0x04, 0x41];
    wrapped.extend(&point);
    assert_eq!(p256.point_from_ec_point(&wrapped), Some(point.clone()));
    // A bare point is accepted too, even when its X starts with the byte
    // that would make it look like a short OCTET STRING.
    let mut tricky = point.clone();
    tricky[1] = 0x3f;
    assert_eq!(p256.point_from_ec_point(&tricky), Some(tricky.clone()));
    // Compressed points, wrong lengths and wrong curves are refused.
    let mut compressed = vec![0x04, 0x21, 0x02];
    compressed.extend([7u8; 32]);
    assert_eq!(p256.point_from_ec_point(&compressed), None);
    let p384 = Curve::for_key_type(KeyType::P384).unwrap();
    assert_eq!(p384.point_from_ec_point(&wrapped), None);
    assert_eq!(p256.point_from_ec_point(&[]), None);
}

#[test]
fn signature_halves_become_minimal_integers() {
    // r has its top bit set (needs 0x00), s has two superfluous zeros.
    let mut raw = vec![0x80];
    raw.extend([0x11; 31]);
    raw.extend([0x00, 0x00, 0x7f]);
    raw.extend([0x22; 29]);
    let der = raw_signature_to_der(&raw, 32).unwrap();
    let mut expected = vec![0x30, 0x43, 0x02, 0x21, 0x00, 0x80];
    expected.extend([0x11; 31]);
    expected.extend([0x02, 0x1e, 0x7f]);
    expected.extend([0x22; 29]);
    assert_eq!(der, expected);
}

#[test]
fn zero_halves_encode_as_zero() {
    let der = raw_signature_to_der(&[0u8; 64], 32).unwrap();
    assert_eq!(der, hex("3006020100020100"));
}

#[test]
fn long_signatures_use_long_form_lengths() {
    // P-384 with both top bits set: each INTEGER is 02 31 00 || 48 bytes.
    let raw = [0xff; 96];
    let der = raw_signature_to_der(&raw, 48).unwrap();
    assert_eq!(&der[..2], &[0x30, 102]);
    assert_eq!(&der[2..5], &[0x02, 49, 0x00]);
    assert_eq!(der.len(), 104);
}

#[test]
fn wrong_length_is_refused() {
    assert_eq!(raw_signature_to_der(&[1u8; 63], 32), None);
    assert_eq!(raw_signature_to_der(&[1u8; 64], 48), None);
}

#[test]
fn matches_the_p256_crate_encoding() {
    use p256::ecdsa::Signature;
    for seed in 1u8..=50 {
        let mut raw = [0u8; 64];
        for (i, b) in (0u8..).zip(raw.iter_mut()) {
            *b = seed.wrapping_mul(31).wrapping_add(i).wrapping_mul(seed);
        }
        // Keep r and s below the group order so the p256 crate accepts them.
        raw[0] &= 0x7f | (seed & 0x80);
        raw[0] = raw[0].min(0xfe);
        raw[32] = raw[32].min(0xfe);
        if seed % 5 == 0 {
            raw[0] = 0;
            raw[1] = 0;
        }
        let Ok(sig) = Signature::from_slice(&raw) else {
            continue;
        };
        assert_eq!(
            raw_signature_to_der(&raw, 32).unwrap(),
            sig.to_der().as_bytes(),
            "seed {seed}"
        );
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

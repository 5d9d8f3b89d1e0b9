use super::*;

#[test]
fn a_certificate_or_a_public_key_names_the_signing_key() {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["alice.example".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let from_cert = signing_public_key(&cert.pem()).unwrap();
    let from_key = signing_public_key(&key.public_key_pem()).unwrap();
    assert_eq!(from_cert, from_key);
    assert!(from_cert.starts_with("-----BEGIN PUBLIC KEY-----"));
    for bad in [
        "",
        "not pem",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        &key.serialize_pem(),
    ] {
        assert!(
            matches!(signing_public_key(bad), Err(RaError::Invalid { .. })),
            "{bad:?} accepted"
        );
    }
}

#[test]
fn ids_cannot_carry_path_or_markup() {
    assert!(valid_id("0f3a-44_b.c"));
    for bad in ["", "../x", "a/b", "a?b", "<x>", &"a".repeat(129)] {
        assert!(!valid_id(bad), "{bad:?}");
    }
}

#[test]
fn refusals_and_outages_are_told_apart() {
    let refused = kmc_error(ClientError::Api {
        status: 409,
        code: "requester_cannot_approve".into(),
        message: "the requester cannot approve".into(),
    });
    assert!(
        matches!(refused, RaError::KmcRefused { ref code, .. } if code == "requester_cannot_approve")
    );
    let busy = kmc_error(ClientError::Api {
        status: 503,
        code: "unavailable".into(),
        message: "x".into(),
    });
    assert!(matches!(busy, RaError::KmcUnavailable { .. }));
}

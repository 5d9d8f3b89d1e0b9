use super::*;

#[test]
fn key_types_round_trip_their_names() {
    for k in KeyType::ALL {
        assert_eq!(k.as_str().parse::<KeyType>(), Ok(k));
    }
    assert!("rsa1024".parse::<KeyType>().is_err());
}

#[test]
fn signature_identifiers_round_trip() {
    for alg in [
        SignatureAlgorithm::EcdsaSha256,
        SignatureAlgorithm::EcdsaSha384,
        SignatureAlgorithm::RsaPkcs1Sha256,
        SignatureAlgorithm::RsaPss(HashAlgorithm::Sha256),
        SignatureAlgorithm::Sm2Sm3,
    ] {
        let id = alg.identifier();
        let params = id.parameters.as_ref().map(der::Any::to_ref);
        assert_eq!(SignatureAlgorithm::from_identifier(id.oid, params), Ok(alg));
    }
}

#[test]
fn ecdsa_identifier_has_no_parameters_and_rsa_has_null() {
    assert!(
        SignatureAlgorithm::EcdsaSha256
            .identifier()
            .parameters
            .is_none()
    );
    let rsa = SignatureAlgorithm::RsaPkcs1Sha256.identifier();
    assert!(rsa.parameters.as_ref().is_some_and(|p| p.is_null()));
}

#[test]
fn sha1_is_weak() {
    assert_eq!(
        SignatureAlgorithm::from_identifier(oid::SHA1_WITH_RSA, None),
        Err(AlgorithmError::Weak {
            oid: oid::SHA1_WITH_RSA
        })
    );
    assert_eq!(
        SignatureAlgorithm::from_identifier(oid::ECDSA_WITH_SHA1, None),
        Err(AlgorithmError::Weak {
            oid: oid::ECDSA_WITH_SHA1
        })
    );
}

use super::*;

fn signer(id: i64, issuer_id: i64, not_before: i64) -> OcspSignerRecord {
    OcspSignerRecord {
        id,
        issuer_id,
        key_label: format!("ocsp-{id}"),
        certificate: Vec::new(),
        not_before: Timestamp::from_unix(not_before),
        not_after: Timestamp::from_unix(not_before + 30 * 86_400),
    }
}

#[test]
fn the_newest_signer_of_the_issuer_is_chosen() {
    let signers = [
        signer(1, 2, 1_000),
        signer(2, 2, 5_000),
        signer(3, 9, 9_000),
        signer(4, 2, 3_000),
    ];
    assert_eq!(newest_signer(&signers, 2).map(|s| s.id), Some(2));
    assert_eq!(newest_signer(&signers, 9).map(|s| s.id), Some(3));
    assert_eq!(newest_signer(&signers, 5).map(|s| s.id), None);
    // Same notBefore: the one recorded last.
    let tie = [signer(7, 2, 1_000), signer(8, 2, 1_000)];
    assert_eq!(newest_signer(&tie, 2).map(|s| s.id), Some(8));
}

#[test]
fn an_issuer_certificate_that_does_not_parse_has_no_hashes() {
    let record = IssuerRecord {
        id: 1,
        name: "broken".into(),
        key_label: "k".into(),
        certificate: b"not DER".to_vec(),
    };
    assert!(issuer_hashes(&record).is_none());
}

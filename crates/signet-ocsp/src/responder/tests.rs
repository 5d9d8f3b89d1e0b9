use der::asn1::{Null, OctetString};
use signet_core::algorithm::oid;

use super::*;

fn id() -> CertId {
    CertId {
        hash_algorithm: spki::AlgorithmIdentifierOwned {
            oid: oid::SHA1,
            parameters: Some(der::Any::from(Null)),
        },
        issuer_name_hash: OctetString::new(vec![1u8; 20]).unwrap(),
        issuer_key_hash: OctetString::new(vec![2u8; 20]).unwrap(),
        serial_number: Serial::from_magnitude(&[1])
            .unwrap()
            .to_serial_number()
            .unwrap(),
    }
}

#[test]
fn a_response_is_counted_by_its_most_telling_status() {
    let revoked = SingleAnswer::Revoked {
        at: Timestamp::EPOCH,
        reason: None,
    };
    let cases = [
        (vec![SingleAnswer::Good], Outcome::Good),
        (vec![SingleAnswer::Good, SingleAnswer::Good], Outcome::Good),
        (
            vec![SingleAnswer::Good, SingleAnswer::Unknown],
            Outcome::Unknown,
        ),
        (
            vec![SingleAnswer::Unknown, revoked.clone()],
            Outcome::Revoked,
        ),
        (vec![revoked, SingleAnswer::Good], Outcome::Revoked),
        (vec![SingleAnswer::NotIssued], Outcome::Revoked),
    ];
    for (answers, expected) in cases {
        let answers: Vec<_> = answers.into_iter().map(|a| (id(), a)).collect();
        assert_eq!(outcome_of(&answers), expected, "{answers:?}");
    }
}

#[test]
fn entity_tags_are_quoted_hex_and_follow_the_bytes() {
    let a = etag(b"one response");
    assert_eq!(a.len(), 34);
    assert!(a.starts_with('"') && a.ends_with('"'));
    assert!(a.trim_matches('"').bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(a, etag(b"one response"));
    assert_ne!(a, etag(b"another response"));
}

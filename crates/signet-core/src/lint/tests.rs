use super::*;
use crate::algorithm::KeyType;
use crate::csr::VerifiedCsr;
use crate::issuance::CertificateRequest;
use crate::issuance::tests::{NOW, profile, test_ca};
use crate::signer::Signer;

fn server_tbs() -> (Vec<u8>, crate::issuance::tests::TestCa, CertificateRequest) {
    let ca = test_ca(KeyType::P256);
    let path = format!("{}/tests/data/p256.csr", env!("CARGO_MANIFEST_DIR"));
    let csr = VerifiedCsr::parse(&std::fs::read(path).unwrap(), 65536).unwrap();
    let request = CertificateRequest::from_csr(&csr);
    let token = ca.prepare("server", &request, NOW).unwrap();
    (token.tbs_der().to_vec(), ca, request)
}

#[test]
fn every_rule_cites_a_source() {
    let rules = rule_names();
    assert!(rules.len() >= 20);
    for (name, citation) in rules {
        assert!(name.starts_with("e_"), "{name}");
        assert!(!citation.is_empty());
    }
}

#[test]
fn a_tbs_checked_against_the_wrong_profile_fails_by_rule_name() {
    let (tbs, ca, request) = server_tbs();
    let err = check(&LintInput {
        tbs_der: &tbs,
        profile: &profile("client"),
        subject_key: &request.key,
        signing: ca.issuing_signer.algorithm(),
        issuer: Some(&ca.issuing),
    })
    .unwrap_err();
    assert_eq!(err.rule, "e_ext_extended_key_usage");
}

#[test]
fn a_tbs_from_another_issuer_fails_name_chaining() {
    let (tbs, ca, request) = server_tbs();
    let err = check(&LintInput {
        tbs_der: &tbs,
        profile: &profile("server"),
        subject_key: &request.key,
        signing: ca.issuing_signer.algorithm(),
        issuer: Some(&ca.root),
    })
    .unwrap_err();
    assert_eq!(err.rule, "e_issuer_name_chains");
}

#[test]
fn a_tbs_for_another_key_fails() {
    let (tbs, ca, _) = server_tbs();
    let err = check(&LintInput {
        tbs_der: &tbs,
        profile: &profile("server"),
        subject_key: ca.issuing.key(),
        signing: ca.issuing_signer.algorithm(),
        issuer: Some(&ca.issuing),
    })
    .unwrap_err();
    assert_eq!(err.rule, "e_public_key_is_the_requested_key");
}

#[test]
fn non_der_bytes_are_refused() {
    let (mut tbs, ca, request) = server_tbs();
    // Append a byte inside the outer length: no longer the DER we built.
    tbs.push(0);
    let err = check(&LintInput {
        tbs_der: &tbs,
        profile: &profile("server"),
        subject_key: &request.key,
        signing: ca.issuing_signer.algorithm(),
        issuer: Some(&ca.issuing),
    })
    .unwrap_err();
    assert!(err.rule.starts_with("e_tbs"), "{}", err.rule);
}

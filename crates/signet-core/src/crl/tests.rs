use std::time::Duration;

use der::Decode;
use x509_cert::crl::CertificateList;

use super::*;
use crate::RevocationReason;
use crate::algorithm::KeyType;
use crate::issuance::tests::{NOW, test_ca};
use crate::serial::Serial;
use crate::signer::Signer;

fn spec(signing: SignatureAlgorithm, delta_base: Option<u64>) -> CrlSpec {
    CrlSpec {
        signing,
        this_update: NOW,
        next_update: NOW.plus(Duration::from_secs(86_400)),
        number: 7,
        delta_base,
        url: Some("http://127.0.0.1:8444/crl/issuing.crl".into()),
        delta_url: Some("http://127.0.0.1:8444/crl/issuing-delta.crl".into()),
        scope: CrlScope::UserCerts,
    }
}

fn signed(ca: &crate::issuance::tests::TestCa, spec: &CrlSpec, entries: CrlEntries) -> Vec<u8> {
    let tbs = crl_tbs(&ca.issuing, spec, entries).unwrap();
    let sig = ca.issuing_signer.sign(&tbs).unwrap();
    ca.issuing.key().verify(spec.signing, &tbs, &sig).unwrap();
    crate::issuance::assemble_signed(&tbs, spec.signing, &sig).unwrap()
}

#[test]
fn a_crl_lists_its_entries_with_reasons_and_decodes() {
    let ca = test_ca(KeyType::P256);
    let mut entries = CrlEntries::new();
    let serials: Vec<Serial> = (0..3).map(|_| Serial::random(&mut rand::rng())).collect();
    entries
        .push(
            &serials[0],
            NOW,
            Some(RevocationReason::KeyCompromise),
            Some(NOW.minus(Duration::from_secs(60))),
        )
        .unwrap();
    entries
        .push(&serials[1], NOW, Some(RevocationReason::Unspecified), None)
        .unwrap();
    entries
        .push(
            &serials[2],
            NOW,
            Some(RevocationReason::CertificateHold),
            None,
        )
        .unwrap();
    let der = signed(&ca, &spec(ca.issuing_signer.algorithm(), None), entries);

    let crl = CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&der).unwrap();
    let tbs = &crl.tbs_cert_list;
    assert_eq!(
        der::Encode::to_der(&tbs.issuer).unwrap(),
        ca.issuing.subject_der()
    );
    let revoked = tbs.revoked_certificates.as_ref().unwrap();
    assert_eq!(revoked.len(), 3);
    assert_eq!(revoked[0].serial_number.as_bytes(), serials[0].magnitude());
    // RFC 5280 §5.3.1: unspecified is left out.
    assert_eq!(revoked[0].crl_entry_extensions.as_ref().unwrap().len(), 2);
    assert!(revoked[1].crl_entry_extensions.is_none());
    let oids: Vec<_> = tbs
        .crl_extensions
        .as_ref()
        .unwrap()
        .iter()
        .map(|e| (e.extn_id.to_string(), e.critical))
        .collect();
    assert_eq!(
        oids,
        vec![
            ("2.5.29.35".to_owned(), false), // AKI
            ("2.5.29.20".to_owned(), false), // CRL number
            ("2.5.29.28".to_owned(), true),  // IDP
            ("2.5.29.46".to_owned(), false), // freshest CRL
        ]
    );
}

#[test]
fn an_empty_crl_has_no_revoked_certificates_field_and_a_delta_is_marked() {
    let ca = test_ca(KeyType::P384);
    let der = signed(
        &ca,
        &spec(ca.issuing_signer.algorithm(), Some(6)),
        CrlEntries::new(),
    );
    let crl = CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&der).unwrap();
    assert!(crl.tbs_cert_list.revoked_certificates.is_none());
    let exts = crl.tbs_cert_list.crl_extensions.unwrap();
    assert!(
        exts.iter()
            .any(|e| e.extn_id.to_string() == "2.5.29.27" && e.critical),
        "deltaCRLIndicator"
    );
    assert!(
        !exts.iter().any(|e| e.extn_id.to_string() == "2.5.29.46"),
        "no freshestCRL in a delta"
    );
}

/// OpenSSL parses and verifies what we sign, for ECDSA and SM2 issuers.
#[test]
fn openssl_verifies_crls() {
    let dir = std::env::temp_dir().join(format!("signet-core-crl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for kt in [KeyType::P256, KeyType::Sm2] {
        let ca = test_ca(kt);
        let mut entries = CrlEntries::new();
        entries
            .push(
                &Serial::random(&mut rand::rng()),
                NOW,
                Some(RevocationReason::Superseded),
                None,
            )
            .unwrap();
        let der = signed(&ca, &spec(ca.issuing_signer.algorithm(), None), entries);
        let crl_path = dir.join(format!("{kt}.crl"));
        std::fs::write(&crl_path, &der).unwrap();
        let chain = dir.join(format!("{kt}-chain.pem"));
        std::fs::write(
            &chain,
            format!(
                "{}{}",
                crate::pem::certificate_pem(ca.root.der()),
                crate::pem::certificate_pem(ca.issuing.der())
            ),
        )
        .unwrap();
        let mut args: Vec<String> = vec![
            "crl".into(),
            "-inform".into(),
            "DER".into(),
            "-in".into(),
            crl_path.display().to_string(),
            "-noout".into(),
            "-text".into(),
        ];
        if kt != KeyType::Sm2 {
            // OpenSSL 3.0 cannot apply the SM2 ID to CRL signatures: parse only.
            args.extend([
                "-CAfile".into(),
                chain.display().to_string(),
                "-verify".into(),
            ]);
        }
        let out = std::process::Command::new("openssl")
            .args(&args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{kt}: {text}");
        if kt != KeyType::Sm2 {
            assert!(text.contains("verify OK"), "{kt}: {text}");
        }
        assert!(
            text.contains("Superseded") && text.contains("Issuing Distribution Point"),
            "{kt}: {text}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

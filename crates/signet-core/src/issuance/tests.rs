use std::time::Duration;

use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, SubjectAltName};

use super::*;
use crate::algorithm::KeyType;
use crate::names::parse_name;
use crate::profile::builtin_profile_toml;
use crate::signer::{Signer, SoftwareSigner};

pub(crate) const NOW: Timestamp = Timestamp::from_unix(1_795_000_000); // 2026-11-18

pub(crate) fn profile(name: &str) -> Profile {
    Profile::from_toml(builtin_profile_toml(name).unwrap()).unwrap()
}

pub(crate) struct TestCa {
    pub root_signer: SoftwareSigner,
    pub root: Issuer,
    pub issuing_signer: SoftwareSigner,
    pub issuing: Issuer,
}

fn key_of(signer: &dyn Signer) -> SubjectKey {
    SubjectKey::from_spki(der::referenced::OwnedToRef::owned_to_ref(
        signer.public_key(),
    ))
    .unwrap()
}

impl TestCa {
    /// Prepares `request` under `profile` from the issuing CA, fresh serial.
    pub(crate) fn prepare(
        &self,
        profile_name: &str,
        request: &CertificateRequest,
        now: Timestamp,
    ) -> Result<IssuanceToken, IssueError> {
        prepare(
            &profile(profile_name),
            &self.issuing,
            self.issuing_signer.algorithm(),
            request,
            Serial::random(&mut rand::rng()),
            now,
        )
    }
}

pub(crate) fn test_ca(key_type: KeyType) -> TestCa {
    let mut rng = rand::rng();
    let root_signer = SoftwareSigner::generate(key_type, &mut rng).unwrap();
    let root_key = key_of(&root_signer);
    let token = prepare_self_signed(
        &profile("root-ca"),
        &parse_name("CN=Test Root,O=Signet Test,C=CN").unwrap(),
        &root_key,
        root_signer.algorithm(),
        Serial::random(&mut rng),
        NOW,
    )
    .unwrap();
    let root_cert = token.sign(&root_signer, &root_key).unwrap();
    let urls = IssuerUrls {
        ocsp: Some("http://127.0.0.1:8444/ocsp".into()),
        ca_issuers: Some("http://127.0.0.1:8444/ca/root.der".into()),
        crl: Some("http://127.0.0.1:8444/crl/root.crl".into()),
        delta_crl: None,
        crl_shards: 0,
    };
    let root = Issuer::from_der(&root_cert.der, urls.clone()).unwrap();

    let issuing_signer = SoftwareSigner::generate(key_type, &mut rng).unwrap();
    let request = CertificateRequest {
        subject: parse_name("CN=Test Issuing CA,O=Signet Test,C=CN").unwrap(),
        sans: vec![],
        key: key_of(&issuing_signer),
        validity: None,
    };
    let token = prepare(
        &profile("sub-ca"),
        &root,
        root_signer.algorithm(),
        &request,
        Serial::random(&mut rng),
        NOW,
    )
    .unwrap();
    let issuing_cert = token.sign(&root_signer, root.key()).unwrap();
    let issuing = Issuer::from_der(&issuing_cert.der, urls).unwrap();
    TestCa {
        root_signer,
        root,
        issuing_signer,
        issuing,
    }
}

fn csr(name: &str) -> VerifiedCsr {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    VerifiedCsr::parse(
        &std::fs::read(path).unwrap(),
        crate::csr::DEFAULT_MAX_CSR_BYTES,
    )
    .unwrap()
}

#[test]
fn issues_a_server_certificate_with_the_expected_shape() {
    let ca = test_ca(KeyType::P256);
    let request = CertificateRequest::from_csr(&csr("p256.csr"));
    let serial = Serial::random(&mut rand::rng());
    let token = prepare(
        &profile("server"),
        &ca.issuing,
        ca.issuing_signer.algorithm(),
        &request,
        serial.clone(),
        NOW,
    )
    .unwrap();
    assert_eq!(token.serial(), &serial);
    let issued = token.sign(&ca.issuing_signer, ca.issuing.key()).unwrap();
    assert_eq!(issued.sans, vec!["DNS:www.example.test".to_owned()]);

    let cert = Certificate::from_der(&issued.der).unwrap();
    let tbs = cert.tbs_certificate();
    assert_eq!(tbs.issuer().to_der().unwrap(), ca.issuing.subject_der());
    assert_eq!(
        Timestamp::from_x509_time(&tbs.validity().not_before),
        NOW.minus(Duration::from_secs(300))
    );
    assert_eq!(
        Timestamp::from_x509_time(&tbs.validity().not_after),
        NOW.plus(Duration::from_secs(397 * 86_400))
    );
    let (critical, bc) = tbs.get_extension::<BasicConstraints>().unwrap().unwrap();
    assert!(critical && !bc.ca);
    let (_, ku) = tbs.get_extension::<KeyUsage>().unwrap().unwrap();
    assert!(
        ku.digital_signature() && !ku.key_encipherment(),
        "no keyEncipherment for an EC key"
    );
    let (san_critical, san) = tbs.get_extension::<SubjectAltName>().unwrap().unwrap();
    assert!(!san_critical);
    assert_eq!(san.0.len(), 1);
    // The signature verifies with the issuer key over the TBS as encoded.
    let sig = cert.signature().as_bytes().unwrap();
    ca.issuing
        .key()
        .verify(ca.issuing_signer.algorithm(), &tbs.to_der().unwrap(), sig)
        .unwrap();
}

#[test]
fn validity_is_capped_by_the_issuer() {
    let ca = test_ca(KeyType::P256);
    let request = CertificateRequest::from_csr(&csr("p256.csr"));
    let late = ca.issuing.not_after().minus(Duration::from_secs(86_400));
    let token = ca.prepare("server", &request, late).unwrap();
    assert_eq!(token.not_after(), ca.issuing.not_after());
}

#[test]
fn refuses_what_the_profile_forbids() {
    let ca = test_ca(KeyType::P256);

    let request = CertificateRequest::from_csr(&csr("p256-forbidden-san.csr"));
    let err = ca.prepare("server", &request, NOW).unwrap_err();
    assert!(
        matches!(
            err,
            IssueError::Name(NameViolation::SanKindForbidden { kind: "email" })
        ),
        "{err}"
    );

    let mut request = CertificateRequest::from_csr(&csr("p256.csr"));
    request.validity = Some(Duration::from_secs(400 * 86_400));
    let err = ca.prepare("server", &request, NOW).unwrap_err();
    assert!(matches!(err, IssueError::ValidityTooLong { .. }), "{err}");

    let request = CertificateRequest::from_csr(&csr("p256.csr"));
    let err = ca.prepare("user-sign", &request, NOW).unwrap_err();
    assert!(
        matches!(
            err,
            IssueError::Name(NameViolation::SanKindForbidden { kind: "DNS" })
        ),
        "{err}"
    );

    let request = CertificateRequest::from_csr(&csr("rsa2048.csr"));
    let err = ca.prepare("service", &request, NOW).unwrap_err();
    assert!(matches!(err, IssueError::KeyTypeNotAllowed { .. }), "{err}");

    let mut request = CertificateRequest::from_csr(&csr("p256.csr"));
    request.subject = parse_name("CN=other.example.test").unwrap();
    let err = ca.prepare("server", &request, NOW).unwrap_err();
    assert!(
        matches!(err, IssueError::Name(NameViolation::CommonNameNotInSan)),
        "{err}"
    );
}

#[test]
fn an_issuing_ca_with_path_length_zero_cannot_issue_cas() {
    let ca = test_ca(KeyType::P256);
    let request = CertificateRequest {
        subject: parse_name("CN=Too Deep").unwrap(),
        sans: vec![],
        key: ca.issuing.key().clone(),
        validity: None,
    };
    let err = ca.prepare("sub-ca", &request, NOW).unwrap_err();
    assert!(matches!(err, IssueError::BadIssuer { .. }));
}

#[test]
fn a_signer_that_is_not_the_issuer_is_caught() {
    let ca = test_ca(KeyType::P256);
    let request = CertificateRequest::from_csr(&csr("p256.csr"));
    let token = ca.prepare("server", &request, NOW).unwrap();
    // The root's key signs, but the issuing CA's key is expected.
    let err = token.sign(&ca.root_signer, ca.issuing.key()).unwrap_err();
    assert!(matches!(err, IssueError::SignatureCheck));
}

#[test]
fn sm2_and_p384_hierarchies_issue() {
    for kt in [KeyType::Sm2, KeyType::P384] {
        let ca = test_ca(kt);
        for file in ["p256.csr", "sm2.csr", "rsa2048.csr"] {
            let request = CertificateRequest::from_csr(&csr(file));
            let token = ca.prepare("server", &request, NOW).unwrap();
            token.sign(&ca.issuing_signer, ca.issuing.key()).unwrap();
        }
    }
}

#[test]
fn a_resumed_token_signs_the_recorded_bytes() {
    let ca = test_ca(KeyType::P256);
    let request = CertificateRequest::from_csr(&csr("p256.csr"));
    let token = ca.prepare("server", &request, NOW).unwrap();
    let recorded = token.tbs_der().to_vec();
    let serial = token.serial().clone();
    drop(token);
    let resumed = IssuanceToken::resume(recorded.clone(), "server").unwrap();
    assert_eq!(resumed.serial(), &serial);
    let issued = resumed.sign(&ca.issuing_signer, ca.issuing.key()).unwrap();
    let cert = Certificate::from_der(&issued.der).unwrap();
    assert_eq!(cert.tbs_certificate().to_der().unwrap(), recorded);
}

/// OpenSSL, as an independent checker, accepts the chains we build.
#[test]
fn openssl_verifies_the_chains() {
    let dir = std::env::temp_dir().join(format!("signet-core-openssl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for kt in [KeyType::P256, KeyType::P384, KeyType::Sm2] {
        let ca = test_ca(kt);
        let leaf_csr = if kt == KeyType::Sm2 {
            "sm2.csr"
        } else {
            "p256.csr"
        };
        let request = CertificateRequest::from_csr(&csr(leaf_csr));
        let token = ca
            .prepare(
                "server",
                &request,
                Timestamp::from_unix(1_700_000_000).max(NOW),
            )
            .unwrap();
        let leaf = token.sign(&ca.issuing_signer, ca.issuing.key()).unwrap();
        let write = |name: &str, der: &[u8]| {
            let path = dir.join(format!("{kt}-{name}.pem"));
            std::fs::write(&path, crate::pem::certificate_pem(der)).unwrap();
            path
        };
        let root = write("root", ca.root.der());
        let issuing = write("issuing", ca.issuing.der());
        let leaf = write("leaf", &leaf.der);
        let attime = NOW.plus(Duration::from_secs(3600)).unix().to_string();
        let mut checks: Vec<Vec<String>> = Vec::new();
        let s = |p: &std::path::Path| p.display().to_string();
        if kt == KeyType::Sm2 {
            // OpenSSL 3.0 applies the SM2 ID only to the certificate being
            // checked: verify link by link.
            for (ca_file, cert) in [(&root, &issuing), (&issuing, &leaf)] {
                checks.push(vec![
                    "-vfyopt".into(),
                    "distid:1234567812345678".into(),
                    "-partial_chain".into(),
                    "-CAfile".into(),
                    s(ca_file),
                    s(cert),
                ]);
            }
        } else {
            checks.push(vec![
                "-CAfile".into(),
                s(&root),
                "-untrusted".into(),
                s(&issuing),
                s(&leaf),
            ]);
        }
        for args in checks {
            let out = std::process::Command::new("openssl")
                .arg("verify")
                .args(["-attime", &attime])
                .args(&args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{kt}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

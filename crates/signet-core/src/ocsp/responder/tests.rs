//! Requests made by `openssl ocsp -reqout` (fixtures in tests/data/ocsp/)
//! are parsed and matched; responses built and signed here are parsed and
//! verified by `openssl ocsp -respin`.

use std::path::{Path, PathBuf};
use std::process::Command;

use der::asn1::OctetString;
use der::{Decode, Encode};
use x509_cert::ext::Extension;

use super::*;
use crate::algorithm::KeyType;
use crate::clock::{Clock, SystemClock};
use crate::issuance::{CertificateRequest, Issuer, IssuerUrls, prepare, prepare_self_signed};
use crate::names::parse_name;
use crate::ocsp::{BasicOcspResponse, ID_PKIX_OCSP_EXTENDED_REVOKE};
use crate::profile::builtin_profile_toml;
use crate::public_key::SubjectKey;
use crate::signer::{Signer, SoftwareSigner};
use crate::{Profile, Serial};

// ---------------------------------------------------------------------------
// Fixtures and helpers

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/ocsp/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The name and key hashes of the fixture CA (`tests/data/ocsp/ca.pem`).
fn fixture_ca_hashes() -> IssuerHashes {
    let der = crate::pem::certificates_from_pem(&fixture("ca.pem"))
        .unwrap()
        .remove(0);
    hashes_of(&der)
}

fn hashes_of(cert_der: &[u8]) -> IssuerHashes {
    let cert = Certificate::from_der(cert_der).unwrap();
    let tbs = cert.tbs_certificate();
    IssuerHashes::new(
        &tbs.subject().to_der().unwrap(),
        tbs.subject_public_key_info().subject_public_key.raw_bytes(),
    )
}

fn profile(name: &str) -> Profile {
    Profile::from_toml(builtin_profile_toml(name).unwrap()).unwrap()
}

fn key_of(signer: &dyn Signer) -> SubjectKey {
    SubjectKey::from_spki(der::referenced::OwnedToRef::owned_to_ref(
        signer.public_key(),
    ))
    .unwrap()
}

/// A root, an issuing CA under it and a delegated OCSP signer of the
/// issuing CA, all valid now (OpenSSL checks validity against its clock).
struct Pki {
    root: Issuer,
    issuing: Issuer,
    responder_signer: SoftwareSigner,
    responder_der: Vec<u8>,
}

fn pki(key_type: KeyType) -> Pki {
    let now = SystemClock.now();
    let mut rng = rand::rng();
    let urls = IssuerUrls {
        ca_issuers: Some("http://127.0.0.1:1/ca/test.der".into()),
        ..IssuerUrls::default()
    };
    let root_signer = SoftwareSigner::generate(key_type, &mut rng).unwrap();
    let root_key = key_of(&root_signer);
    let root_der = prepare_self_signed(
        &profile("root-ca"),
        &parse_name("CN=OCSP Test Root,O=Signet Test").unwrap(),
        &root_key,
        root_signer.algorithm(),
        Serial::random(&mut rng),
        now,
    )
    .unwrap()
    .sign(&root_signer, &root_key)
    .unwrap()
    .der;
    let root = Issuer::from_der(&root_der, urls.clone()).unwrap();

    let issuing_signer = SoftwareSigner::generate(key_type, &mut rng).unwrap();
    let request = CertificateRequest {
        subject: parse_name("CN=OCSP Test Issuing CA,O=Signet Test").unwrap(),
        sans: vec![],
        key: key_of(&issuing_signer),
        validity: None,
    };
    let issuing_der = prepare(
        &profile("sub-ca"),
        &root,
        root_signer.algorithm(),
        &request,
        Serial::random(&mut rng),
        now,
    )
    .unwrap()
    .sign(&root_signer, root.key())
    .unwrap()
    .der;
    let issuing = Issuer::from_der(&issuing_der, urls).unwrap();

    let responder_signer = SoftwareSigner::generate(key_type, &mut rng).unwrap();
    let request = CertificateRequest {
        subject: parse_name("CN=OCSP Test Responder,O=Signet Test").unwrap(),
        sans: vec![],
        key: key_of(&responder_signer),
        validity: None,
    };
    let responder_der = prepare(
        &profile("ocsp-signer"),
        &issuing,
        issuing_signer.algorithm(),
        &request,
        Serial::random(&mut rng),
        now,
    )
    .unwrap()
    .sign(&issuing_signer, issuing.key())
    .unwrap()
    .der;
    Pki {
        root,
        issuing,
        responder_signer,
        responder_der,
    }
}

impl Pki {
    fn hashes(&self) -> IssuerHashes {
        hashes_of(self.issuing.der())
    }

    fn builder(&self) -> ResponseBuilder {
        ResponseBuilder::new(&self.responder_der, self.responder_signer.algorithm()).unwrap()
    }

    /// Builds, signs and assembles a response; checks the signature with
    /// the responder's public key before handing it out.
    fn respond(&self, answers: &[(CertId, SingleAnswer)], nonce: Option<&[u8]>) -> Vec<u8> {
        let now = SystemClock.now();
        let builder = self.builder();
        let tbs = builder
            .tbs(
                answers,
                now,
                now,
                now.plus(std::time::Duration::from_secs(3600)),
                nonce,
            )
            .unwrap();
        let signature = self.responder_signer.sign(&tbs).unwrap();
        key_of(&self.responder_signer)
            .verify(builder.signing(), &tbs, &signature)
            .unwrap();
        builder.assemble(&tbs, &signature).unwrap()
    }

    /// A CertID for `serial` under the issuing CA, with SHA-1 hashes.
    fn cert_id(&self, serial: &Serial) -> CertId {
        let cert = self.issuing.certificate();
        let tbs = cert.tbs_certificate();
        CertId {
            hash_algorithm: spki::AlgorithmIdentifierOwned {
                oid: oid::SHA1,
                parameters: Some(der::Any::from(Null)),
            },
            issuer_name_hash: OctetString::new(
                sha1::Sha1::digest(tbs.subject().to_der().unwrap()).to_vec(),
            )
            .unwrap(),
            issuer_key_hash: OctetString::new(
                sha1::Sha1::digest(tbs.subject_public_key_info().subject_public_key.raw_bytes())
                    .to_vec(),
            )
            .unwrap(),
            serial_number: serial.to_serial_number().unwrap(),
        }
    }
}

/// A scratch directory for OpenSSL's files, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "signet-core-ocsp-{tag}-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn write_pki(&self, pki: &Pki) {
        self.write(
            "root.pem",
            crate::pem::certificate_pem(pki.root.der()).as_bytes(),
        );
        self.write(
            "issuing.pem",
            crate::pem::certificate_pem(pki.issuing.der()).as_bytes(),
        );
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// Runs openssl; returns (success, stdout + stderr).
fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `openssl ocsp -respin` verifying against the root, asking for `serials`.
fn openssl_check(scratch: &Scratch, resp: &Path, serials: &[&Serial]) -> (bool, String) {
    let root = scratch.path("root.pem");
    let issuing = scratch.path("issuing.pem");
    let serial_args: Vec<String> = serials
        .iter()
        .map(|s| format!("0x{}", s.to_hex()))
        .collect();
    let mut args = vec![
        "ocsp",
        "-respin",
        p(resp),
        "-CAfile",
        p(&root),
        "-verify_other",
        p(&issuing),
        "-issuer",
        p(&issuing),
        "-resp_text",
    ];
    for s in &serial_args {
        args.extend(["-serial", s.as_str()]);
    }
    openssl(&args)
}

fn serial(hex: &str) -> Serial {
    hex.parse().unwrap()
}

// ---------------------------------------------------------------------------
// Parsing requests

#[test]
fn parses_an_openssl_request_with_a_sha1_cert_id() {
    let parsed = parse_request(&fixture("req-sha1.der"), 20).unwrap();
    assert_eq!(parsed.certs.len(), 1);
    assert_eq!(parsed.nonce, None);
    let cert = &parsed.certs[0];
    assert_eq!(cert.cert_id.hash_algorithm.oid, oid::SHA1);
    assert_eq!(cert.serial, Some(serial("1f2e3d4c5b6a7988")));
    assert!(fixture_ca_hashes().matches(&cert.cert_id));
}

#[test]
fn parses_an_openssl_request_with_a_sha256_cert_id() {
    let parsed = parse_request(&fixture("req-sha256.der"), 20).unwrap();
    assert_eq!(parsed.certs.len(), 1);
    let cert = &parsed.certs[0];
    assert_eq!(cert.cert_id.hash_algorithm.oid, oid::SHA256);
    assert_eq!(cert.cert_id.issuer_name_hash.as_bytes().len(), 32);
    assert_eq!(cert.serial, Some(serial("1f2e3d4c5b6a7988")));
    assert!(fixture_ca_hashes().matches(&cert.cert_id));
}

#[test]
fn extracts_the_nonce_of_an_openssl_request() {
    let parsed = parse_request(&fixture("req-nonce.der"), 20).unwrap();
    let nonce = parsed.nonce.expect("nonce");
    // The extnValue holds the DER OCTET STRING of 16 random octets
    // (RFC 8954 §2.1); it is kept whole, to be echoed byte for byte.
    assert_eq!(nonce.len(), 18);
    assert_eq!(&nonce[..2], &[0x04, 0x10]);
    assert!(fixture_ca_hashes().matches(&parsed.certs[0].cert_id));
}

#[test]
fn parses_two_cert_ids_in_order_including_a_serial_with_the_top_bit_set() {
    let parsed = parse_request(&fixture("req-two.der"), 20).unwrap();
    let serials: Vec<_> = parsed.certs.iter().map(|c| c.serial.clone()).collect();
    assert_eq!(
        serials,
        vec![
            Some(serial("1f2e3d4c5b6a7988")),
            Some(serial("80a1b2c3d4e5f60718293a4b5c6d7e8f")),
        ]
    );
    let hashes = fixture_ca_hashes();
    assert!(parsed.certs.iter().all(|c| hashes.matches(&c.cert_id)));
}

#[test]
fn parses_a_request_mixing_sha1_and_sha256_cert_ids() {
    let parsed = parse_request(&fixture("req-mixed.der"), 20).unwrap();
    let algorithms: Vec<_> = parsed
        .certs
        .iter()
        .map(|c| c.cert_id.hash_algorithm.oid)
        .collect();
    assert_eq!(algorithms, vec![oid::SHA1, oid::SHA256]);
    assert_eq!(parsed.certs[1].serial, Some(serial("2a")));
    let hashes = fixture_ca_hashes();
    assert!(parsed.certs.iter().all(|c| hashes.matches(&c.cert_id)));
}

#[test]
fn refuses_more_cert_ids_than_allowed() {
    assert!(matches!(
        parse_request(&fixture("req-two.der"), 1),
        Err(OcspError::Malformed(_))
    ));
    assert!(parse_request(&fixture("req-two.der"), 2).is_ok());
}

#[test]
fn refuses_empty_garbage_and_truncated_requests() {
    for bad in [
        Vec::new(),
        b"hello, OCSP".to_vec(),
        vec![0x30, 0x00],
        vec![0x30; 64],
        fixture("req-sha1.der")[..40].to_vec(),
    ] {
        let err = parse_request(&bad, 20).unwrap_err();
        assert!(matches!(err, OcspError::Malformed(_)), "{bad:02x?}: {err}");
        assert_eq!(err.status(), OcspResponseStatus::MalformedRequest);
    }
    // Trailing bytes after the request are not DER.
    let mut trailing = fixture("req-sha1.der");
    trailing.push(0);
    assert!(matches!(
        parse_request(&trailing, 20),
        Err(OcspError::Malformed(_))
    ));
}

/// The request of `req-sha1.der` with other request extensions.
fn with_extensions(extensions: Vec<Extension>) -> Vec<u8> {
    let mut request = OcspRequest::from_der(&fixture("req-sha1.der")).unwrap();
    request.tbs_request.request_extensions = Some(extensions);
    request.to_der().unwrap()
}

fn nonce_extension(value: &[u8]) -> Extension {
    Extension {
        extn_id: ID_PKIX_OCSP_NONCE,
        critical: false,
        extn_value: OctetString::new(value.to_vec()).unwrap(),
    }
}

#[test]
fn checks_the_nonce_size_and_critical_extensions() {
    let wrapped = |n: usize| OctetString::new(vec![7u8; n]).unwrap().to_der().unwrap();
    // RFC 8954 §2.1: 1 to 32 octets.
    for n in [1, 32] {
        let parsed = parse_request(&with_extensions(vec![nonce_extension(&wrapped(n))]), 20)
            .unwrap_or_else(|e| panic!("{n}: {e}"));
        assert_eq!(parsed.nonce, Some(wrapped(n)));
    }
    for n in [0, 33] {
        assert!(
            matches!(
                parse_request(&with_extensions(vec![nonce_extension(&wrapped(n))]), 20),
                Err(OcspError::Malformed(_))
            ),
            "{n}"
        );
    }
    // A nonce that is not an OCTET STRING.
    assert!(matches!(
        parse_request(
            &with_extensions(vec![nonce_extension(&[0x02, 0x01, 0x05])]),
            20
        ),
        Err(OcspError::Malformed(_))
    ));
    // An unknown extension is ignored unless critical.
    let unknown = |critical| Extension {
        extn_id: const_oid::ObjectIdentifier::new_unwrap("1.2.3.4"),
        critical,
        extn_value: OctetString::new(vec![0x05, 0x00]).unwrap(),
    };
    assert!(parse_request(&with_extensions(vec![unknown(false)]), 20).is_ok());
    assert!(matches!(
        parse_request(&with_extensions(vec![unknown(true)]), 20),
        Err(OcspError::Malformed(_))
    ));
}

#[test]
fn refuses_a_critical_single_request_extension_and_ignores_others() {
    let with_single = |critical| {
        let mut request = OcspRequest::from_der(&fixture("req-sha1.der")).unwrap();
        request.tbs_request.request_list[0].single_request_extensions = Some(vec![Extension {
            // id-pkix-ocsp-service-locator (RFC 6960 §4.4.6).
            extn_id: const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.7"),
            critical,
            extn_value: OctetString::new(vec![0x30, 0x00]).unwrap(),
        }]);
        parse_request(&request.to_der().unwrap(), 20)
    };
    assert!(with_single(false).is_ok());
    assert!(matches!(with_single(true), Err(OcspError::Malformed(_))));
}

#[test]
fn a_serial_that_no_certificate_can_have_parses_as_none() {
    let mut request = OcspRequest::from_der(&fixture("req-sha1.der")).unwrap();
    // Zero is not a positive serial.
    request.tbs_request.request_list[0].req_cert.serial_number =
        x509_cert::serial_number::SerialNumber::new(&[0]).unwrap();
    let parsed = parse_request(&request.to_der().unwrap(), 20).unwrap();
    assert_eq!(parsed.certs[0].serial, None);
}

#[test]
fn issuer_hashes_match_only_their_issuer() {
    let a = pki(KeyType::P256);
    let b = pki(KeyType::P256);
    let id = a.cert_id(&serial("0102"));
    assert!(a.hashes().matches(&id));
    assert!(!b.hashes().matches(&id));
    // Right hashes under the wrong algorithm name do not match.
    let mut wrong = id.clone();
    wrong.hash_algorithm.oid = oid::SHA256;
    assert!(!a.hashes().matches(&wrong));
    // The key hash alone is not enough.
    let mut other_name = id;
    other_name.issuer_name_hash = OctetString::new(vec![0u8; 20]).unwrap();
    assert!(!a.hashes().matches(&other_name));
    // The fixture CA's requests do not name these issuers.
    let parsed = parse_request(&fixture("req-sha256.der"), 20).unwrap();
    assert!(!a.hashes().matches(&parsed.certs[0].cert_id));
}

// ---------------------------------------------------------------------------
// Building responses

#[test]
fn error_responses_are_the_five_byte_ocsp_response() {
    for (err, status) in [
        (
            OcspError::Malformed("x"),
            OcspResponseStatus::MalformedRequest,
        ),
        (OcspError::Unauthorized, OcspResponseStatus::Unauthorized),
        (OcspError::TryLater, OcspResponseStatus::TryLater),
        (OcspError::Internal, OcspResponseStatus::InternalError),
    ] {
        let der = err.to_response();
        let decoded = OcspResponse::from_der(&der).unwrap();
        assert_eq!(decoded.response_status, status);
        assert_eq!(decoded.response_bytes, None);
        assert_eq!(
            der,
            OcspResponse {
                response_status: status,
                response_bytes: None
            }
            .to_der()
            .unwrap()
        );
    }
}

#[test]
fn openssl_reads_error_responses() {
    let scratch = Scratch::new("errors");
    for (err, text) in [
        (OcspError::Malformed("x"), "malformedrequest (1)"),
        (OcspError::Internal, "internalerror (2)"),
        (OcspError::TryLater, "trylater (3)"),
        (OcspError::Unauthorized, "unauthorized (6)"),
    ] {
        let path = scratch.write("error.der", &err.to_response());
        let (_, out) = openssl(&["ocsp", "-respin", p(&path), "-resp_text", "-noverify"]);
        assert!(out.contains(text), "{text}: {out}");
    }
}

/// Decodes a successful response into its BasicOCSPResponse.
fn basic_of(der: &[u8]) -> BasicOcspResponse {
    let response = OcspResponse::from_der(der).unwrap();
    assert_eq!(response.response_status, OcspResponseStatus::Successful);
    let bytes = response.response_bytes.unwrap();
    assert_eq!(bytes.response_type, ID_PKIX_OCSP_BASIC);
    BasicOcspResponse::from_der(bytes.response.as_bytes()).unwrap()
}

#[test]
fn a_response_decodes_with_every_status_and_the_responder_certificate() {
    let pki = pki(KeyType::P256);
    let revoked_at = Timestamp::from_unix(1_790_000_000);
    let (good, revoked, unknown, hold, not_issued) = (
        serial("01aa"),
        serial("02bb"),
        serial("03cc"),
        serial("04dd"),
        serial("05ee"),
    );
    let answers = vec![
        (pki.cert_id(&good), SingleAnswer::Good),
        (
            pki.cert_id(&revoked),
            SingleAnswer::Revoked {
                at: revoked_at,
                reason: Some(RevocationReason::KeyCompromise),
            },
        ),
        (pki.cert_id(&unknown), SingleAnswer::Unknown),
        (
            pki.cert_id(&hold),
            SingleAnswer::Revoked {
                at: revoked_at,
                reason: Some(RevocationReason::CertificateHold),
            },
        ),
        (pki.cert_id(&not_issued), SingleAnswer::NotIssued),
    ];
    let nonce = OctetString::new(vec![9u8; 16]).unwrap().to_der().unwrap();
    let der = pki.respond(&answers, Some(&nonce));
    let basic = basic_of(&der);

    // The signature is over the DER of ResponseData as decoded.
    let tbs = basic.tbs_response_data.to_der().unwrap();
    key_of(&pki.responder_signer)
        .verify(
            SignatureAlgorithm::EcdsaSha256,
            &tbs,
            basic.signature.raw_bytes(),
        )
        .unwrap();
    assert_eq!(
        basic.signature_algorithm,
        SignatureAlgorithm::EcdsaSha256.identifier()
    );
    let certs = basic.certs.unwrap();
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0].to_der().unwrap(), pki.responder_der);

    let data = &basic.tbs_response_data;
    assert_eq!(data.version, 0);
    // RFC 5019 §2.2.3 / RFC 6960 §4.2.2.3: byKey is the SHA-1 of the
    // responder's public key BIT STRING value.
    let key_hash = sha1::Sha1::digest(
        pki.responder_signer
            .public_key()
            .subject_public_key
            .raw_bytes(),
    );
    assert_eq!(
        data.responder_id,
        ResponderId::ByKey(OctetString::new(key_hash.to_vec()).unwrap())
    );
    let statuses: Vec<_> = data
        .responses
        .iter()
        .map(|r| r.cert_status.clone())
        .collect();
    let revoked_info = |at: Timestamp, reason| {
        CertStatus::Revoked(RevokedInfo {
            revocation_time: at.to_generalized().unwrap(),
            revocation_reason: Some(reason),
        })
    };
    assert_eq!(
        statuses,
        vec![
            CertStatus::Good(Null),
            revoked_info(revoked_at, CrlReason::KeyCompromise),
            CertStatus::Unknown(Null),
            revoked_info(revoked_at, CrlReason::CertificateHold),
            revoked_info(Timestamp::EPOCH, CrlReason::CertificateHold),
        ]
    );
    for (response, (cert_id, _)) in data.responses.iter().zip(&answers) {
        assert_eq!(&response.cert_id, cert_id);
        assert!(response.next_update.is_some());
    }
    let extensions = data.response_extensions.as_ref().unwrap();
    let echoed = extensions
        .iter()
        .find(|e| e.extn_id == ID_PKIX_OCSP_NONCE)
        .unwrap();
    assert_eq!(echoed.extn_value.as_bytes(), nonce.as_slice());
    let extended = extensions
        .iter()
        .find(|e| e.extn_id == ID_PKIX_OCSP_EXTENDED_REVOKE)
        .unwrap();
    assert_eq!(extended.extn_value.as_bytes(), &[0x05, 0x00]);
}

#[test]
fn a_response_without_nonce_or_not_issued_has_no_extensions() {
    let pki = pki(KeyType::P256);
    let der = pki.respond(&[(pki.cert_id(&serial("01")), SingleAnswer::Good)], None);
    assert_eq!(basic_of(&der).tbs_response_data.response_extensions, None);
}

#[test]
fn openssl_verifies_good_revoked_and_unknown_answers() {
    let pki = pki(KeyType::P256);
    let scratch = Scratch::new("verify");
    scratch.write_pki(&pki);
    let revoked_at = Timestamp::from_unix(1_790_000_000); // 2026-09-21T14:13:20Z
    let (good, revoked, unknown, held, plain) = (
        serial("7a01"),
        serial("7a02"),
        serial("7a03"),
        serial("7a04"),
        serial("7a05"),
    );
    let der = pki.respond(
        &[
            (pki.cert_id(&good), SingleAnswer::Good),
            (
                pki.cert_id(&revoked),
                SingleAnswer::Revoked {
                    at: revoked_at,
                    reason: Some(RevocationReason::KeyCompromise),
                },
            ),
            (pki.cert_id(&unknown), SingleAnswer::Unknown),
            (
                pki.cert_id(&held),
                SingleAnswer::Revoked {
                    at: revoked_at,
                    reason: Some(RevocationReason::CertificateHold),
                },
            ),
            (
                pki.cert_id(&plain),
                SingleAnswer::Revoked {
                    at: revoked_at,
                    reason: None,
                },
            ),
        ],
        None,
    );
    let resp = scratch.write("resp.der", &der);
    let (ok, out) = openssl_check(&scratch, &resp, &[&good, &revoked, &unknown, &held, &plain]);
    assert!(ok, "{out}");
    assert!(out.contains("Response verify OK"), "{out}");
    assert!(out.contains("0x7a01: good"), "{out}");
    assert!(out.contains("0x7a02: revoked"), "{out}");
    assert!(out.contains("0x7a03: unknown"), "{out}");
    assert!(out.contains("0x7a04: revoked"), "{out}");
    assert!(out.contains("Reason: keyCompromise"), "{out}");
    assert!(out.contains("Reason: certificateHold"), "{out}");
    assert!(
        out.contains("Revocation Time: Sep 21 14:13:20 2026 GMT"),
        "{out}"
    );
    assert!(out.contains("Responder Id: "), "{out}");
    assert!(
        out.contains("OCSP Signing"),
        "the responder certificate: {out}"
    );
}

#[test]
fn openssl_checks_the_echoed_nonce_of_its_own_request() {
    let pki = pki(KeyType::P256);
    let scratch = Scratch::new("nonce");
    scratch.write_pki(&pki);
    let leaf = serial("5e7a11");
    // OpenSSL asks, with a nonce and a SHA-256 CertID.
    let req = scratch.path("req.der");
    let (ok, out) = openssl(&[
        "ocsp",
        "-sha256",
        "-issuer",
        p(&scratch.path("issuing.pem")),
        "-serial",
        "0x5e7a11",
        "-reqout",
        p(&req),
    ]);
    assert!(ok, "{out}");
    let parsed = parse_request(&std::fs::read(&req).unwrap(), 20).unwrap();
    assert!(pki.hashes().matches(&parsed.certs[0].cert_id));
    assert_eq!(parsed.certs[0].serial, Some(leaf.clone()));
    let nonce = parsed
        .nonce
        .clone()
        .expect("openssl sends a nonce by default");

    let answers = vec![(parsed.certs[0].cert_id.clone(), SingleAnswer::Good)];
    let echoed = scratch.write("resp.der", &pki.respond(&answers, Some(&nonce)));
    let check = |resp: &Path| {
        let mut args = vec!["ocsp", "-reqin", p(&req), "-respin", p(resp), "-CAfile"];
        let root = scratch.path("root.pem");
        let issuing = scratch.path("issuing.pem");
        // No -issuer/-serial here: with them OpenSSL builds a new request
        // (with a new nonce) and ignores -reqin.
        args.extend([p(&root), "-verify_other", p(&issuing), "-resp_text"]);
        openssl(&args)
    };
    let (ok, out) = check(&echoed);
    assert!(ok, "{out}");
    assert!(out.contains("Response verify OK"), "{out}");
    assert!(out.contains("Cert Status: good"), "{out}");
    assert!(out.contains("Serial Number: 5E7A11"), "{out}");
    assert!(!out.contains("Nonce Verify error"), "{out}");
    assert!(!out.contains("no nonce"), "{out}");

    // A response with another nonce is caught by OpenSSL: the echo is real.
    let other = OctetString::new(vec![1u8; 16]).unwrap().to_der().unwrap();
    let wrong = scratch.write("wrong.der", &pki.respond(&answers, Some(&other)));
    let (_, out) = check(&wrong);
    assert!(out.contains("Nonce Verify error"), "{out}");
    // And a response without one is reported.
    let missing = scratch.write("missing.der", &pki.respond(&answers, None));
    let (_, out) = check(&missing);
    assert!(out.contains("WARNING: no nonce in response"), "{out}");
}

#[test]
fn openssl_reads_the_extended_revoked_answer() {
    let pki = pki(KeyType::P256);
    let scratch = Scratch::new("extended");
    scratch.write_pki(&pki);
    let never = serial("0badc0de");
    let der = pki.respond(&[(pki.cert_id(&never), SingleAnswer::NotIssued)], None);
    let resp = scratch.write("resp.der", &der);
    let (ok, out) = openssl_check(&scratch, &resp, &[&never]);
    assert!(ok, "{out}");
    assert!(out.contains("Response verify OK"), "{out}");
    assert!(out.contains("0x0badc0de: revoked"), "{out}");
    assert!(out.contains("Reason: certificateHold"), "{out}");
    assert!(
        out.contains("Revocation Time: Jan  1 00:00:00 1970 GMT"),
        "{out}"
    );
    // OpenSSL 3.0 still names id-pkix-ocsp 9 after its pre-RFC 6960 use,
    // `valid`; RFC 6960 §4.4.8 assigned it to extended-revoke.
    assert!(
        out.contains("Response Extensions:\n        valid:"),
        "{out}"
    );
}

#[test]
fn p384_responses_verify_too() {
    let pki = pki(KeyType::P384);
    let scratch = Scratch::new("p384");
    scratch.write_pki(&pki);
    let s = serial("3840");
    let der = pki.respond(&[(pki.cert_id(&s), SingleAnswer::Good)], None);
    assert_eq!(
        basic_of(&der).signature_algorithm,
        SignatureAlgorithm::EcdsaSha384.identifier()
    );
    let resp = scratch.write("resp.der", &der);
    let (ok, out) = openssl_check(&scratch, &resp, &[&s]);
    assert!(ok && out.contains("Response verify OK"), "{out}");
    assert!(out.contains("0x3840: good"), "{out}");
}

#[test]
fn sm2_responses_carry_sm2_signatures_that_verify() {
    let pki = pki(KeyType::Sm2);
    let s = serial("5320");
    let der = pki.respond(&[(pki.cert_id(&s), SingleAnswer::Good)], None);
    let basic = basic_of(&der);
    assert_eq!(
        basic.signature_algorithm,
        SignatureAlgorithm::Sm2Sm3.identifier()
    );
    key_of(&pki.responder_signer)
        .verify(
            SignatureAlgorithm::Sm2Sm3,
            &basic.tbs_response_data.to_der().unwrap(),
            basic.signature.raw_bytes(),
        )
        .unwrap();
    // OpenSSL 3.0 cannot apply the SM2 ID to OCSP signatures: parse only.
    let scratch = Scratch::new("sm2");
    let resp = scratch.write("resp.der", &der);
    let (ok, out) = openssl(&["ocsp", "-respin", p(&resp), "-resp_text", "-noverify"]);
    assert!(ok, "{out}");
    assert!(out.contains("Cert Status: good"), "{out}");
}

#[test]
fn assemble_refuses_bytes_that_are_not_der() {
    let pki = pki(KeyType::P256);
    assert_eq!(
        pki.builder().assemble(&[0x30, 0x05, 0x01], &[1, 2, 3]),
        Err(OcspError::Internal)
    );
    assert!(ResponseBuilder::new(b"not a certificate", SignatureAlgorithm::EcdsaSha256).is_err());
}

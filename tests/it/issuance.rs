//! Issuance for every key type: a PKI made by `signet init`, certificates
//! enrolled through the CLI, and everything checked with tools that are not
//! Signet: OpenSSL for the certificates, pkcs11-tool for the token.

use std::path::{Path, PathBuf};
use std::process::Output;

use signet_testkit::openssl::{self, SM2_DISTID, extension};
use signet_testkit::{Pki, TokenObject, random_hex};

/// Every key type the `server` profile allows for a subscriber.
const SERVER_KEY_TYPES: [&str; 6] = ["p256", "p384", "rsa2048", "rsa3072", "rsa4096", "sm2"];

/// An administrator can init a PKI whose CA keys are P-256 and issue a TLS
/// server certificate for every key type the `server` profile allows.
#[test]
fn p256_ca_issues_server_certificates_for_every_key_type() {
    issues_every_server_key_type("p256");
}

/// The same with P-384 CA keys.
#[test]
fn p384_ca_issues_server_certificates_for_every_key_type() {
    issues_every_server_key_type("p384");
}

/// The same with RSA-2048 CA keys.
#[test]
fn rsa2048_ca_issues_server_certificates_for_every_key_type() {
    issues_every_server_key_type("rsa2048");
}

/// The same with RSA-3072 CA keys.
#[test]
fn rsa3072_ca_issues_server_certificates_for_every_key_type() {
    issues_every_server_key_type("rsa3072");
}

/// The same with RSA-4096 CA keys (key generation in SoftHSM takes a while).
#[test]
fn rsa4096_ca_issues_server_certificates_for_every_key_type() {
    issues_every_server_key_type("rsa4096");
}

/// The same with SM2 CA keys, whose chains OpenSSL 3.0 can only check one
/// link at a time.
#[test]
fn sm2_ca_issues_server_certificates_for_every_key_type() {
    issues_every_server_key_type("sm2");
}

/// Retrying an enrollment with the same request id gives back the same
/// certificate and issues nothing new; reusing the id for another CSR is
/// refused with one line naming the id.
#[test]
fn the_same_request_id_never_issues_twice() {
    let pki = Pki::init("p256");
    let _services = pki.up();
    let dir = tempfile::tempdir().unwrap();
    let (_, csr) = openssl::new_csr(
        dir.path(),
        "a",
        "p256",
        "/CN=retry.example.com",
        Some("DNS:retry.example.com"),
    );
    let (_, other_csr) = openssl::new_csr(
        dir.path(),
        "b",
        "p256",
        "/CN=other.example.com",
        Some("DNS:other.example.com"),
    );
    let request_id = format!("retry-{}", random_hex(8));
    let before = certificate_count(&pki);

    let enroll = |csr: &Path| {
        pki.signet(&[
            "enroll",
            "--profile",
            "server",
            "--csr",
            csr.to_str().unwrap(),
            "--request-id",
            &request_id,
        ])
    };
    let first = enroll(&csr);
    let second = enroll(&csr);
    assert_success(&first, "first enroll");
    assert_success(&second, "retried enroll");
    assert_eq!(
        first.stdout, second.stdout,
        "a retried request id must return the same certificate and chain"
    );
    let first_pem = dir.path().join("first.pem");
    std::fs::write(&first_pem, &first.stdout).unwrap();
    let second_pem = dir.path().join("second.pem");
    std::fs::write(&second_pem, &second.stdout).unwrap();
    assert_eq!(openssl::serial(&first_pem), openssl::serial(&second_pem));

    let reused = enroll(&other_csr);
    assert_eq!(
        reused.status.code(),
        Some(3),
        "reusing a request id for another CSR must be refused (exit 3)"
    );
    assert!(reused.stdout.is_empty(), "a refusal prints no certificate");
    let stderr = String::from_utf8_lossy(&reused.stderr);
    assert_eq!(
        stderr.lines().count(),
        1,
        "one clear line expected, got: {stderr}"
    );
    assert!(
        stderr.contains(&request_id),
        "the refusal should name the request id: {stderr}"
    );

    assert_eq!(
        certificate_count(&pki),
        before + 1,
        "three calls with one request id must store exactly one certificate"
    );
}

/// Suspend, resume and revoke through the CLI: `signet show` reports each
/// status; impossible changes (revoke twice, resume or suspend a revoked
/// certificate) are refused with exit code 3 and one line.
#[test]
fn revoke_suspend_and_resume_through_the_cli() {
    let pki = Pki::init("p256");
    let _services = pki.up();
    let dir = tempfile::tempdir().unwrap();
    let issued = enroll_server(&pki, dir.path(), "status", "p256");
    let serial = openssl::serial(&issued.leaf);
    let status = |verb: &str| pki.signet(&[verb, "--serial", &serial]);
    let shown = |expected: &str| {
        let out = status("show");
        assert_success(&out, "show");
        let first = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        let words: Vec<&str> = first.split_whitespace().collect();
        assert_eq!(
            words.get(1).copied(),
            Some(expected),
            "`signet show` first line: {first}"
        );
        assert!(
            first.to_lowercase().starts_with(&serial.to_lowercase()),
            "`signet show` names the serial: {first}"
        );
        first
    };

    shown("good");
    assert_success(&status("suspend"), "suspend");
    shown("suspended");
    assert_success(&status("resume"), "resume");
    shown("good");
    assert_success(
        &pki.signet(&["revoke", "--serial", &serial, "--reason", "keyCompromise"]),
        "revoke",
    );
    let line = shown("revoked");
    assert!(
        line.contains("keyCompromise"),
        "the revocation reason is shown: {line}"
    );

    let again = pki.signet(&["revoke", "--serial", &serial, "--reason", "keyCompromise"]);
    assert_refused(&again, "revoking a revoked certificate");
    assert_refused(&status("resume"), "resuming a revoked certificate");
    assert_refused(&status("suspend"), "suspending a revoked certificate");
    shown("revoked");
}

/// The whole check for one CA key type.
fn issues_every_server_key_type(ca_key: &str) {
    let pki = Pki::init(ca_key);
    let _services = pki.up();
    check_ca_certificates(&pki, ca_key);
    check_ca_keys_stay_in_the_token(&pki, ca_key);

    let dir = tempfile::tempdir().unwrap();
    let issuing_ski = extension(
        &openssl::x509_text(&pki.path("issuing.pem")),
        "X509v3 Subject Key Identifier",
    )
    .expect("issuing CA has a subject key identifier")
    .1;
    for leaf_key in SERVER_KEY_TYPES {
        let issued = enroll_server(&pki, dir.path(), leaf_key, leaf_key);
        let context = format!("{ca_key} CA, {leaf_key} leaf");
        assert_eq!(
            std::fs::read_to_string(&issued.chain).unwrap().trim(),
            std::fs::read_to_string(pki.path("issuing.pem"))
                .unwrap()
                .trim(),
            "{context}: the chain printed after the certificate is the issuing CA, without the root"
        );
        check_signatures(&pki, ca_key, &issued, &context);
        check_leaf(&pki, ca_key, leaf_key, &issued, &issuing_ski, &context);
    }
}

/// A certificate enrolled through the CLI, split into files.
pub(crate) struct Enrolled {
    pub(crate) leaf: PathBuf,
    pub(crate) chain: PathBuf,
    pub(crate) key: PathBuf,
    pub(crate) dns: String,
}

/// `signet enroll --profile server --csr FILE` for a fresh `leaf_key` CSR.
pub(crate) fn enroll_server(pki: &Pki, dir: &Path, name: &str, leaf_key: &str) -> Enrolled {
    let dns = format!("{name}-{}.example.com", random_hex(4));
    let (key, csr) = openssl::new_csr(
        dir,
        name,
        leaf_key,
        &format!("/CN={dns}"),
        Some(&format!("DNS:{dns}")),
    );
    let out = pki.signet(&[
        "enroll",
        "--profile",
        "server",
        "--csr",
        csr.to_str().unwrap(),
    ]);
    assert_success(&out, &format!("enroll a {leaf_key} CSR"));
    let bundle = dir.join(format!("{name}.bundle.pem"));
    std::fs::write(&bundle, &out.stdout).unwrap();
    let blocks = openssl::split_pem(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(
        blocks.len(),
        2,
        "enroll prints the certificate and the issuing CA"
    );
    let leaf = dir.join(format!("{name}.pem"));
    let chain = dir.join(format!("{name}.chain.pem"));
    std::fs::write(&leaf, &blocks[0]).unwrap();
    std::fs::write(&chain, &blocks[1]).unwrap();
    Enrolled {
        leaf,
        chain,
        key,
        dns,
    }
}

/// The root is self-signed (and its signature checks out), the issuing CA
/// is a CA for end entities only (pathlen 0) that may sign certificates and
/// CRLs.
fn check_ca_certificates(pki: &Pki, ca_key: &str) {
    let root = pki.path("root.pem");
    let names = openssl::run(&[
        "x509",
        "-in",
        root.to_str().unwrap(),
        "-noout",
        "-subject",
        "-issuer",
    ])
    .unwrap();
    let subject = names
        .lines()
        .find_map(|l| l.strip_prefix("subject="))
        .unwrap();
    let issuer = names
        .lines()
        .find_map(|l| l.strip_prefix("issuer="))
        .unwrap();
    assert_eq!(subject, issuer, "the root must be self-signed");
    if ca_key == "sm2" {
        openssl::verify_sm2_self_signature(&root)
            .unwrap_or_else(|e| panic!("SM2 root self-signature: {e}"));
    } else {
        let r = root.to_str().unwrap();
        openssl::run(&["verify", "-check_ss_sig", "-x509_strict", "-CAfile", r, r])
            .unwrap_or_else(|e| panic!("root self-signature: {e}"));
    }

    let text = openssl::x509_text(&pki.path("issuing.pem"));
    let (critical, bc) =
        extension(&text, "X509v3 Basic Constraints").expect("issuing CA has basicConstraints");
    assert!(
        critical,
        "basicConstraints of the issuing CA must be critical"
    );
    assert_eq!(
        bc, "CA:TRUE, pathlen:0",
        "the issuing CA may only issue end-entity certificates"
    );
    let (critical, ku) = extension(&text, "X509v3 Key Usage").expect("issuing CA has keyUsage");
    assert!(critical, "keyUsage of the issuing CA must be critical");
    assert!(
        ku.contains("Certificate Sign") && ku.contains("CRL Sign"),
        "issuing CA keyUsage: {ku}"
    );
}

/// The certificate's signature verifies with OpenSSL, as far as OpenSSL 3.0
/// can check the chain.
fn check_signatures(pki: &Pki, ca_key: &str, issued: &Enrolled, context: &str) {
    let (root, chain, leaf) = (pki.path("root.pem"), &issued.chain, &issued.leaf);
    if ca_key == "sm2" {
        // OpenSSL 3.0 applies the SM2 distinguishing ID only to the
        // certificate being checked, so a whole SM2 chain cannot verify in
        // one call: check each link (signatures, validity, strict X.509).
        let link = |issuer: &Path, cert: &Path, purpose: &[&str]| {
            let mut args = vec![
                "verify",
                "-x509_strict",
                "-vfyopt",
                SM2_DISTID,
                "-partial_chain",
            ];
            args.extend(purpose);
            args.extend(["-CAfile", issuer.to_str().unwrap(), cert.to_str().unwrap()]);
            openssl::run(&args)
        };
        link(chain, leaf, &["-purpose", "sslserver"])
            .unwrap_or_else(|e| panic!("{context}: leaf <- issuing CA: {e}"));
        link(&root, chain, &[]).unwrap_or_else(|e| panic!("{context}: issuing CA <- root: {e}"));
    } else {
        // Whatever the leaf key (SM2 included), an ECDSA or RSA CA signs with
        // ECDSA or RSA: the ordinary full-chain check works.
        let out = openssl::run(&[
            "verify",
            "-x509_strict",
            "-purpose",
            "sslserver",
            "-CAfile",
            root.to_str().unwrap(),
            "-untrusted",
            chain.to_str().unwrap(),
            leaf.to_str().unwrap(),
        ])
        .unwrap_or_else(|e| panic!("{context}: openssl verify: {e}"));
        assert!(
            out.trim_end().ends_with(": OK"),
            "{context}: openssl verify said: {out}"
        );
    }
}

/// What `openssl x509 -text` shows of a TLS server certificate.
fn check_leaf(
    pki: &Pki,
    ca_key: &str,
    leaf_key: &str,
    issued: &Enrolled,
    issuing_ski: &str,
    context: &str,
) {
    let text = openssl::x509_text(&issued.leaf);
    let ext = |name: &str| {
        extension(&text, name).unwrap_or_else(|| panic!("{context}: no {name} in\n{text}"))
    };

    assert_eq!(
        ext("X509v3 Basic Constraints"),
        (true, "CA:FALSE".to_owned()),
        "{context}: basicConstraints"
    );
    let (critical, ku) = ext("X509v3 Key Usage");
    assert!(critical, "{context}: keyUsage must be critical");
    let expected_ku = match leaf_key {
        // RSA key transport (TLS 1.2 RSA kex) needs keyEncipherment.
        k if k.starts_with("rsa") => "Digital Signature, Key Encipherment",
        // RFC 5480 §3: an EC key cannot encipher; SM2 signing keys follow
        // the same rule (their encryption keys get their own certificate).
        _ => "Digital Signature",
    };
    assert_eq!(ku, expected_ku, "{context}: keyUsage");
    assert_eq!(
        ext("X509v3 Extended Key Usage").1,
        "TLS Web Server Authentication",
        "{context}: extKeyUsage"
    );
    assert!(
        !ext("X509v3 Subject Key Identifier").1.is_empty(),
        "{context}: subjectKeyIdentifier"
    );
    let aki = ext("X509v3 Authority Key Identifier").1;
    assert_eq!(
        aki.trim_start_matches("keyid:"),
        issuing_ski,
        "{context}: AKI must be the issuing CA's SKI"
    );
    assert_eq!(
        ext("X509v3 Subject Alternative Name").1,
        format!("DNS:{}", issued.dns),
        "{context}: SAN"
    );

    let status_host = format!("http://127.0.0.1:{}", pki.base_port + 1);
    let aia = ext("Authority Information Access").1;
    assert!(
        aia.contains(&format!("OCSP - URI:{status_host}/ocsp")),
        "{context}: AIA OCSP: {aia}"
    );
    assert!(
        aia.contains(&format!("CA Issuers - URI:{status_host}/ca/issuing.der")),
        "{context}: AIA caIssuers: {aia}"
    );
    let cdp = ext("X509v3 CRL Distribution Points").1;
    assert!(
        cdp.contains(&format!("URI:{status_host}/crl/issuing.crl")),
        "{context}: CRL DP: {cdp}"
    );

    let algorithm = match ca_key {
        "p256" => "ecdsa-with-SHA256",
        "p384" => "ecdsa-with-SHA384",
        "sm2" => "SM2-with-SM3",
        _ => "sha256WithRSAEncryption",
    };
    let algorithms: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Signature Algorithm: "))
        .collect();
    assert_eq!(
        algorithms,
        [algorithm, algorithm],
        "{context}: signature algorithm (TBS and outer)"
    );

    assert_eq!(
        openssl::serial_octets(&issued.leaf),
        16,
        "{context}: the serial must be 16 octets"
    );
    // The certificate certifies the requester's key, not another.
    let certified = openssl::run(&[
        "x509",
        "-in",
        issued.leaf.to_str().unwrap(),
        "-noout",
        "-pubkey",
    ])
    .unwrap();
    let requested =
        openssl::run(&["pkey", "-in", issued.key.to_str().unwrap(), "-pubout"]).unwrap();
    assert_eq!(
        certified, requested,
        "{context}: the certificate's public key is the CSR's"
    );
}

/// The CA keys are in the token and cannot leave it, as pkcs11-tool (OpenSC)
/// sees them.
fn check_ca_keys_stay_in_the_token(pki: &Pki, ca_key: &str) {
    let objects = pki.token_objects();
    let private_keys: Vec<&TokenObject> = objects
        .iter()
        .filter(|o| o.header.starts_with("Private Key Object"))
        .collect();
    if ca_key == "sm2" {
        // SoftHSM2 has no SM2: the keys are AES-GCM blobs in private data
        // objects, under an AES key that never leaves the token.
        for label in ["root-ca", "issuing-ca"] {
            assert!(
                !private_keys.iter().any(|o| o.field("label") == Some(label)),
                "an SM2 CA key must not be a token private key object ({label})"
            );
            let data = objects
                .iter()
                .find(|o| {
                    o.header.starts_with("Data object")
                        && o.field("label") == Some(format!("'{label}'").as_str())
                })
                .unwrap_or_else(|| panic!("no wrapped-key data object `{label}` in the token"));
            assert_eq!(
                data.field("application"),
                Some("'signet-wrapped-sm2-key'"),
                "{label}"
            );
            let flags = data.field("flags").unwrap_or_default();
            assert!(
                flags.split_whitespace().any(|f| f == "private"),
                "{label}: data object must be private (login needed): {flags}"
            );
        }
        let wrap = objects
            .iter()
            .find(|o| {
                o.header.starts_with("Secret Key Object; AES")
                    && o.field("label") == Some("signet-key-wrap")
            })
            .expect("the AES wrapping key `signet-key-wrap` is in the token");
        assert_not_extractable(wrap, "signet-key-wrap");
    } else {
        for label in ["root-ca", "issuing-ca"] {
            let keys: Vec<_> = private_keys
                .iter()
                .filter(|o| o.field("label") == Some(label))
                .collect();
            assert_eq!(
                keys.len(),
                1,
                "exactly one private key `{label}` in the token"
            );
            assert_not_extractable(keys[0], label);
        }
    }
}

fn assert_not_extractable(object: &TokenObject, label: &str) {
    let access: Vec<&str> = object
        .field("Access")
        .unwrap_or_default()
        .split(", ")
        .collect();
    assert!(
        access.contains(&"sensitive"),
        "`{label}` must be sensitive: {access:?}"
    );
    assert!(
        access.contains(&"never extractable"),
        "`{label}` must never have been extractable: {access:?}"
    );
}

/// Certificates the CA has recorded, through the administrator's API.
fn certificate_count(pki: &Pki) -> usize {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        pki.admin_client()
            .list(None, 1000, 0)
            .await
            .unwrap()
            .certificates
            .len()
    })
}

fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Refused by the CA: exit code 3, one line on stderr, nothing on stdout.
fn assert_refused(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{what} must be refused (exit 3): {stderr}"
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "{what}: one line on stderr, got: {stderr}"
    );
    assert!(out.stdout.is_empty(), "{what}: nothing on stdout");
}

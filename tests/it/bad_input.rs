//! Bad input gets a clear error and stores nothing: every refusal has a
//! stable error code, the CLI prints exactly one line, and the CA's
//! certificate list is unchanged afterwards.
//!
//! Each test has its own P-256 PKI: nextest runs every test in its own
//! process, so a shared `signet up` could not outlive one test cleanly.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use signet_api::ca::{CaClient, IssueRequest};
use signet_api::{ClientError, ErrorBody};
use signet_testkit::{Pki, Services, openssl, random_hex};

/// A CSR whose subject was altered after signing is refused as `bad_csr`:
/// the proof of possession no longer verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csr_with_a_broken_signature_is_refused() {
    let fx = Fixture::new();
    let (_, csr) = openssl::new_csr(
        fx.dir(),
        "tampered",
        "p256",
        "/CN=tamper.example.com/O=Tamper Test",
        Some("DNS:tamper.example.com"),
    );
    let mut der = fx.der_of(&csr);
    let at = find(&der, b"Tamper Test").expect("the subject is in the DER") + b"Tamper Tes".len();
    der[at] ^= 0x01; // "Tamper Test" -> "Tamper Tesu": still valid DER.
    let refusal = fx
        .refused_everywhere("server", &fx.write("tampered.der", &der))
        .await;
    refusal.expect(400, "bad_csr", &["signature"]);
}

/// A DER CSR cut in half is refused as `bad_csr`, not misread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_der_csr_is_refused() {
    let fx = Fixture::new();
    let (_, csr) = openssl::new_csr(
        fx.dir(),
        "whole",
        "p256",
        "/CN=cut.example.com",
        Some("DNS:cut.example.com"),
    );
    let der = fx.der_of(&csr);
    let truncated = fx.write("truncated.der", &der[..der.len() / 2]);
    let refusal = fx.refused_everywhere("server", &truncated).await;
    refusal.expect(400, "bad_csr", &["not valid PEM or DER"]);
}

/// An RSA-1024 key is refused as too weak, naming its size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_1024_csr_is_refused_as_too_weak() {
    let fx = Fixture::new();
    let (_, csr) = openssl::new_csr(
        fx.dir(),
        "weak",
        "rsa1024",
        "/CN=weak.example.com",
        Some("DNS:weak.example.com"),
    );
    let refusal = fx.refused_everywhere("server", &csr).await;
    refusal.expect(400, "bad_csr", &["1024 bits", "too weak"]);
}

/// A CSR signed with SHA-1 is refused as too weak.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sha1_signed_csr_is_refused_as_too_weak() {
    let fx = Fixture::new();
    let (key, csr) = (fx.dir().join("sha1.key"), fx.dir().join("sha1.csr"));
    #[rustfmt::skip]
    openssl::run(&[
        "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-sha1",
        "-keyout", key.to_str().unwrap(), "-out", csr.to_str().unwrap(),
        "-subj", "/CN=sha1.example.com", "-addext", "subjectAltName=DNS:sha1.example.com",
    ])
    .unwrap();
    let refusal = fx.refused_everywhere("server", &csr).await;
    refusal.expect(400, "bad_csr", &["too weak", "SHA-1"]);
}

/// An e-mail SAN on a TLS server certificate is a `profile_violation`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn san_type_the_profile_forbids_is_refused() {
    let fx = Fixture::new();
    let sans = "DNS:mail.example.com,email:admin@example.com";
    let (_, csr) = openssl::new_csr(
        fx.dir(),
        "email",
        "p256",
        "/CN=mail.example.com",
        Some(sans),
    );
    let refusal = fx.refused_everywhere("server", &csr).await;
    refusal.expect(422, "profile_violation", &["email"]);
}

/// A profile that does not exist is `unknown_profile`, naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_profile_is_refused() {
    let fx = Fixture::new();
    let (_, csr) = openssl::new_csr(
        fx.dir(),
        "fine",
        "p256",
        "/CN=fine.example.com",
        Some("DNS:fine.example.com"),
    );
    let refusal = fx.refused_everywhere("no-such-profile", &csr).await;
    refusal.expect(400, "unknown_profile", &["no-such-profile"]);
}

/// A 10 MB request body is cut off with 413 `payload_too_large`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_megabyte_body_is_refused() {
    let fx = Fixture::new();
    let before = fx.count().await;
    let err = fx
        .admin
        .issue(&issue_request("server", "A".repeat(10 * 1024 * 1024)))
        .await
        .unwrap_err();
    assert_api_error(&err, 413, "payload_too_large");
    assert_eq!(fx.count().await, before, "nothing may be stored");
}

/// A CSR over the CA's CSR size limit (64 KiB) inside an otherwise small
/// body is also `payload_too_large`, with the sizes in the message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csr_over_the_size_limit_is_refused() {
    let fx = Fixture::new();
    let before = fx.count().await;
    let big = format!(
        "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
        "A".repeat(100_000)
    );
    let err = fx
        .admin
        .issue(&issue_request("server", big))
        .await
        .unwrap_err();
    assert_api_error(&err, 413, "payload_too_large");
    assert!(
        err.to_string().contains("65536"),
        "the limit is named: {err}"
    );
    assert_eq!(fx.count().await, before, "nothing may be stored");
}

/// A body that is not JSON is 400 `bad_json`, in the API's error shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_json_is_refused() {
    let fx = Fixture::new();
    let before = fx.count().await;
    for body in [
        &b"this is not json"[..],
        b"{\"request_id\": \"x\", \"profile\": ",
        b"\xff\xfe\x00garbage",
    ] {
        let (status, error) = fx.raw_post("/v1/certificates", body).await;
        assert_eq!(
            (status, error.error.as_str()),
            (400, "bad_json"),
            "body {body:?}: {}",
            error.message
        );
        assert!(!error.message.is_empty(), "the error explains itself");
    }
    assert_eq!(fx.count().await, before, "nothing may be stored");
}

/// A running p256 PKI, an administrator client and a scratch directory.
struct Fixture {
    pki: Pki,
    admin: CaClient,
    dir: tempfile::TempDir,
    _services: Services,
}

/// The same bad request refused through the CLI and the API.
struct Refusal {
    cli_line: String,
    api: ClientError,
}

impl Refusal {
    /// Asserts the API status and code, that the message names `words`,
    /// and that the CLI printed the same message.
    fn expect(&self, status: u16, code: &str, words: &[&str]) {
        assert_api_error(&self.api, status, code);
        let message = self.api.to_string();
        for word in words {
            assert!(
                message.contains(word),
                "the {code} message should mention `{word}`: {message}"
            );
        }
        assert_eq!(
            self.cli_line,
            format!("signet: refused: {message}"),
            "CLI and API say the same"
        );
    }
}

impl Fixture {
    fn new() -> Fixture {
        let pki = Pki::init("p256");
        let services = pki.up();
        Fixture {
            admin: pki.admin_client(),
            pki,
            dir: tempfile::tempdir().unwrap(),
            _services: services,
        }
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// The DER of a PEM CSR, through OpenSSL.
    fn der_of(&self, csr: &Path) -> Vec<u8> {
        let der = csr.with_extension("der");
        openssl::run(&[
            "req",
            "-in",
            csr.to_str().unwrap(),
            "-outform",
            "DER",
            "-out",
            der.to_str().unwrap(),
        ])
        .unwrap();
        std::fs::read(der).unwrap()
    }

    /// Certificates the CA has recorded, in any state.
    async fn count(&self) -> usize {
        self.admin
            .list(None, 1000, 0)
            .await
            .unwrap()
            .certificates
            .len()
    }

    /// Sends the CSR file (PEM or DER) through `signet enroll` and through
    /// the API; both must be refused and store nothing.
    async fn refused_everywhere(&self, profile: &str, csr: &Path) -> Refusal {
        let before = self.count().await;
        let out = self.pki.signet(&[
            "enroll",
            "--profile",
            profile,
            "--csr",
            csr.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(3),
            "the CLI must exit 3 (refused): {stderr}"
        );
        assert_eq!(
            stderr.lines().count(),
            1,
            "exactly one line on stderr, got: {stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "nothing on stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );

        let bytes = std::fs::read(csr).unwrap();
        let pem = match String::from_utf8(bytes.clone()) {
            Ok(text) if text.contains("-----BEGIN") => text,
            _ => signet_core::pem::encode("CERTIFICATE REQUEST", &bytes),
        };
        let api = self
            .admin
            .issue(&issue_request(profile, pem))
            .await
            .unwrap_err();
        assert_eq!(
            self.count().await,
            before,
            "a refused request must store nothing"
        );
        Refusal {
            cli_line: stderr.trim_end().to_owned(),
            api,
        }
    }

    /// POSTs raw bytes as `application/json` with the administrator's
    /// identity; returns the status and the decoded error body.
    async fn raw_post(&self, path: &str, body: &[u8]) -> (u16, ErrorBody) {
        let identity = signet_tls::Identity::from_pem_files(
            &self.pki.path("tls/admin.pem"),
            &self.pki.path("tls/admin.key"),
        )
        .unwrap();
        let roots = signet_tls::load_roots(&self.pki.path("tls/platform-root.pem")).unwrap();
        let client = signet_tls::https_client(signet_tls::client_config(&identity, roots).unwrap());
        let request = http::Request::post(format!("{}{path}", self.pki.ca_url()))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::copy_from_slice(body)))
            .unwrap();
        let response = client.request(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let error = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "not an error body ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        (status, error)
    }
}

fn issue_request(profile: &str, csr: String) -> IssueRequest {
    IssueRequest {
        request_id: format!("bad-input-{}", random_hex(8)),
        profile: profile.to_owned(),
        csr,
        issuer: None,
        subject: None,
        sans: None,
        validity_days: None,
    }
}

fn assert_api_error(err: &ClientError, status: u16, code: &str) {
    match err {
        ClientError::Api {
            status: got,
            code: got_code,
            message,
        } => {
            assert_eq!(
                (*got, got_code.as_str()),
                (status, code),
                "message: {message}"
            );
            assert_eq!(message.lines().count(), 1, "one clear line: {message}");
        }
        other => panic!("expected an API error {status} {code}, got: {other}"),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

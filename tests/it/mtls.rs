//! The CA's mutual TLS: only the RA and the administrator get in. Everyone
//! else is stopped in the handshake (no request reaches a handler, nothing
//! is stored) and told why in one clear line.
//!
//! With TLS 1.3 the server judges the client's certificate after the client
//! has finished its side of the handshake, so the refusal reaches the
//! client as an alert while its first request is already on the way; the
//! client must still report the alert, on every attempt.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    SanType,
};
use signet_api::ApiClient;
use signet_api::ca::{CaClient, IssueRequest};
use signet_testkit::{Pki, Services, openssl, random_hex};
use signet_tls::rustls;

/// A client that presents no certificate is refused in the handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_without_a_certificate_is_refused() {
    let fx = Fixture::new();
    fx.assert_refused(&fx.client(Knocker::Anonymous)).await;
}

/// A certificate from a CA the platform does not know is refused, even if
/// it claims the RA role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_from_another_ca_is_refused() {
    let fx = Fixture::new();
    fx.assert_refused(&fx.client(Knocker::ForeignRa)).await;
}

/// The OCSP responder's own platform certificate is valid, but its role
/// may not talk to the CA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocsp_role_is_refused() {
    let fx = Fixture::new();
    fx.assert_refused(&fx.client(Knocker::Ocsp)).await;
}

/// Nor may the KMC's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kmc_role_is_refused() {
    let fx = Fixture::new();
    fx.assert_refused(&fx.client(Knocker::Kmc)).await;
}

/// Every refused client is told why in one line, on every attempt: no
/// certificate, an unknown CA, a role the CA does not serve. (A message
/// like "client error (Canceled): connection closed" tells an operator
/// nothing.) Several fresh connections each, since the words must not
/// depend on which of the refusal's packets the client happens to read
/// first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_clients_are_told_why_on_every_attempt() {
    const ATTEMPTS: usize = 5;
    let fx = Fixture::new();
    let mut unclear = Vec::new();
    for knocker in [
        Knocker::Anonymous,
        Knocker::ForeignRa,
        Knocker::Ocsp,
        Knocker::Kmc,
    ] {
        for _ in 0..ATTEMPTS {
            let message = fx
                .client(knocker)
                .issue(&fx.request())
                .await
                .unwrap_err()
                .to_string();
            assert_eq!(message.lines().count(), 1, "one line: {message}");
            if !message.contains(knocker.reason()) {
                unclear.push(format!("{knocker:?}: {message}"));
            }
        }
    }
    assert!(
        unclear.is_empty(),
        "{} of {} refused calls did not say why:\n{}",
        unclear.len(),
        4 * ATTEMPTS,
        unclear.join("\n")
    );
}

/// The RA's platform certificate is accepted and may issue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ra_role_is_accepted() {
    let fx = Fixture::new();
    let ra = fx
        .pki
        .ca_client_as(&fx.pki.path("tls/ra.pem"), &fx.pki.path("tls/ra.key"));
    let before = fx.count().await;
    let issued = ra.issue(&fx.request()).await.expect("the RA may issue");
    assert!(issued.certificate.contains("-----BEGIN CERTIFICATE-----"));
    assert!(!issued.replayed);
    assert_eq!(
        fx.count().await,
        before + 1,
        "the RA's certificate is stored"
    );
    ra.get(&issued.serial)
        .await
        .expect("the RA may read what it issued");
}

/// Clients the CA must turn away.
#[derive(Clone, Copy, Debug)]
enum Knocker {
    /// No client certificate at all.
    Anonymous,
    /// A certificate naming the RA role, from a CA the platform does not know.
    ForeignRa,
    /// The OCSP responder's platform certificate.
    Ocsp,
    /// The KMC's platform certificate.
    Kmc,
}

impl Knocker {
    /// What the client must be told (signet_tls::describe_handshake_error).
    fn reason(self) -> &'static str {
        match self {
            Knocker::Anonymous => "the server requires a client certificate",
            Knocker::ForeignRa => {
                "the server does not trust the CA that issued this client's certificate"
            }
            Knocker::Ocsp | Knocker::Kmc => {
                "the server refused this client's certificate (role not allowed)"
            }
        }
    }
}

/// A running p256 PKI and a CSR to ask for.
struct Fixture {
    pki: Pki,
    csr: String,
    _dir: tempfile::TempDir,
    _services: Services,
}

impl Fixture {
    fn new() -> Fixture {
        let pki = Pki::init("p256");
        let services = pki.up();
        let dir = tempfile::tempdir().unwrap();
        let (_, csr) = openssl::new_csr(
            dir.path(),
            "web",
            "p256",
            "/CN=web.example.com",
            Some("DNS:web.example.com"),
        );
        Fixture {
            pki,
            csr: std::fs::read_to_string(csr).unwrap(),
            _dir: dir,
            _services: services,
        }
    }

    fn platform_roots(&self) -> Arc<rustls::RootCertStore> {
        signet_tls::load_roots(&self.pki.path("tls/platform-root.pem")).unwrap()
    }

    fn request(&self) -> IssueRequest {
        IssueRequest {
            request_id: format!("mtls-{}", random_hex(8)),
            profile: "server".into(),
            csr: self.csr.clone(),
            issuer: None,
            subject: None,
            sans: None,
            validity_days: None,
        }
    }

    /// Certificates the CA has stored, as the administrator sees them.
    async fn count(&self) -> usize {
        self.pki
            .admin_client()
            .list(None, 1000, 0)
            .await
            .unwrap()
            .certificates
            .len()
    }

    /// A fresh client (its own connections) for `knocker`.
    fn client(&self, knocker: Knocker) -> CaClient {
        let url = self.pki.ca_url();
        let tls = match knocker {
            Knocker::Anonymous => {
                let mut config =
                    rustls::ClientConfig::builder_with_provider(signet_tls::crypto_provider())
                        .with_protocol_versions(signet_tls::PROTOCOL_VERSIONS)
                        .unwrap()
                        .with_root_certificates(self.platform_roots())
                        .with_no_client_auth();
                config.alpn_protocols = vec![
                    signet_tls::ALPN_H2.to_vec(),
                    signet_tls::ALPN_HTTP11.to_vec(),
                ];
                Arc::new(config)
            }
            Knocker::ForeignRa => {
                let (cert, key) = foreign_ra_certificate();
                let identity =
                    signet_tls::Identity::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
                signet_tls::client_config(&identity, self.platform_roots()).unwrap()
            }
            Knocker::Ocsp | Knocker::Kmc => {
                let role = if matches!(knocker, Knocker::Ocsp) {
                    "ocsp"
                } else {
                    "kmc"
                };
                let (cert, key) = (
                    self.pki.path(&format!("tls/{role}.pem")),
                    self.pki.path(&format!("tls/{role}.key")),
                );
                let identity = signet_tls::Identity::from_pem_files(&cert, &key).unwrap();
                signet_tls::client_config(&identity, self.platform_roots()).unwrap()
            }
        };
        CaClient(ApiClient::new(&url, tls))
    }

    /// `client` can neither issue nor read: the connection fails (no HTTP
    /// answer, so no handler ran) and nothing new is stored.
    async fn assert_refused(&self, client: &CaClient) {
        let before = self.count().await;
        let err = client
            .issue(&self.request())
            .await
            .expect_err("issuing must be refused");
        assert!(
            matches!(err, signet_api::ClientError::Connect { .. }),
            "the refusal must come from the TLS handshake, not a handler: {err}"
        );
        let err = client
            .list(None, 10, 0)
            .await
            .expect_err("reading must be refused too");
        assert!(
            matches!(err, signet_api::ClientError::Connect { .. }),
            "listing: {err}"
        );
        assert_eq!(
            self.count().await,
            before,
            "a refused client must not get anything stored"
        );
    }
}

/// A throwaway CA and a client certificate from it that names the RA role
/// (`urn:signet:role:ra`), as PEM (certificate, key).
fn foreign_ra_certificate() -> (String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Impostor CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, "ra");
    params.subject_alt_names = vec![SanType::URI("urn:signet:role:ra".try_into().unwrap())];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, &ca).unwrap();
    (cert.pem(), key.serialize_pem())
}

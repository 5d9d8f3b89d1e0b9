//! The test kit: a throwaway platform PKI (rcgen), a fresh SoftHSM2 token,
//! a fresh database, a KMC made by the real key ceremony and started on
//! 127.0.0.1:0, and mTLS clients of every role.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose as Eku, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};
use signet_api::ApiClient;
use signet_api::kmc::{KeyPairRequest, KeyPairResponse, KmcClient};
use signet_core::envelope::PrivateKey;
use signet_core::{Clock, KeyType, SystemClock};
use signet_kmc::ceremony::{self, SharePlan};
use signet_kmc::shares::ShareFile;
use signet_kmc::{DataKeyConfig, KmcConfig, RunningKmc};
use signet_store::Backend;
use signet_store::testing::TestDatabase;
use signet_tls::Identity;
use signet_token::TokenConfig;

/// A platform PKI shared by every test of this binary.
pub struct Pki {
    pub root_pem: String,
    pub kmc_cert_pem: String,
    pub kmc_key_pem: String,
    /// (certificate chain PEM, key PEM) by client name.
    clients: Vec<(&'static str, String, String)>,
}

fn uri(role: &str) -> SanType {
    SanType::URI(format!("urn:signet:role:{role}").try_into().unwrap())
}

pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "KMC Test Platform CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let root_cert = params.self_signed(&root_key).unwrap();
        let issuer = Issuer::new(params, root_key);
        let leaf = |cn: &str, sans: Vec<SanType>, ekus: Vec<Eku>| {
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
            let mut p = CertificateParams::default();
            p.distinguished_name = rcgen::DistinguishedName::new();
            p.distinguished_name.push(DnType::CommonName, cn);
            p.subject_alt_names = sans;
            p.extended_key_usages = ekus;
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.use_authority_key_identifier_extension = true;
            let cert = p.signed_by(&key, &issuer).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let (kmc_cert_pem, kmc_key_pem) = leaf(
            "kmc.signet.test",
            vec![
                SanType::DnsName("localhost".try_into().unwrap()),
                SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                uri("kmc"),
            ],
            vec![Eku::ServerAuth, Eku::ClientAuth],
        );
        let mut clients = Vec::new();
        for (name, role) in [
            ("ca", "ca"),
            ("ra", "ra"),
            ("admin", "admin"),
            ("payroll-app", "app"),
            ("other-app", "app"),
            ("ocsp", "ocsp"),
        ] {
            let (cert, key) = leaf(name, vec![uri(role)], vec![Eku::ClientAuth]);
            clients.push((name, cert, key));
        }
        Pki {
            root_pem: root_cert.pem(),
            kmc_cert_pem,
            kmc_key_pem,
            clients,
        }
    })
}

/// A fresh temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "signet-kmc-it-{name}-{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A KMC made by the key ceremony and running on 127.0.0.1:0.
pub struct Kit {
    pub dir: PathBuf,
    pub db: Option<TestDatabase>,
    pub config: KmcConfig,
    pub token_config: TokenConfig,
    pub shares: Vec<ShareFile>,
    pub running: Option<RunningKmc>,
}

pub fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// The configuration of a KMC in `dir` on `db`, with data key `payroll`
/// (SM4-GCM, for `payroll-app`) and `ledger` (AES-256-GCM, same client).
pub fn config(dir: &Path, db_url: &str, token: TokenConfig) -> KmcConfig {
    let pki = pki();
    std::fs::write(dir.join("kmc.pem"), &pki.kmc_cert_pem).unwrap();
    std::fs::write(dir.join("kmc.key"), &pki.kmc_key_pem).unwrap();
    std::fs::write(dir.join("platform-root.pem"), &pki.root_pem).unwrap();
    let mut config = KmcConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        dir.join("kmc.pem"),
        dir.join("kmc.key"),
        dir.join("platform-root.pem"),
        token,
        db_url.to_owned(),
    );
    config.data_keys = vec![
        DataKeyConfig {
            name: "payroll".into(),
            domain: "default".into(),
            algorithm: "sm4-gcm".into(),
            rotation: "90d".into(),
            clients: vec!["payroll-app".into()],
        },
        DataKeyConfig {
            name: "ledger".into(),
            domain: "default".into(),
            algorithm: "aes-256-gcm".into(),
            rotation: "90d".into(),
            clients: vec!["payroll-app".into()],
        },
    ];
    config
}

impl Kit {
    /// A new KMC on `backend`: ceremony (2 of 3 shares), then start.
    pub async fn new(backend: Backend) -> Kit {
        Self::with_clock(backend, clock()).await
    }

    /// A new KMC whose clock is `clock` (tests of retention and rotation).
    pub async fn with_clock(backend: Backend, clock: Arc<dyn Clock>) -> Kit {
        let dir = temp_dir("kmc");
        let db = TestDatabase::create(backend).await.unwrap();
        let (token, token_config) = signet_token::testing::test_token("kmc-it");
        drop(token);
        let config = config(&dir, &db.url, token_config.clone());
        let outcome = ceremony::initialize(&config, SharePlan::default(), clock.clone())
            .await
            .unwrap();
        assert_eq!(outcome.shares.len(), 3);
        let running = signet_kmc::start(config.clone(), clock).await.unwrap();
        Kit {
            dir,
            db: Some(db),
            config,
            token_config,
            shares: outcome.shares,
            running: Some(running),
        }
    }

    pub fn running(&self) -> &RunningKmc {
        self.running.as_ref().unwrap()
    }

    /// A client with the platform certificate of `name` (`ca`, `ra`,
    /// `admin`, `payroll-app`, `other-app`, `ocsp`).
    pub fn client(&self, name: &str) -> KmcClient {
        let pki = pki();
        let (_, cert, key) = pki.clients.iter().find(|(n, _, _)| *n == name).unwrap();
        let identity = Identity::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
        let roots = signet_tls::load_roots_from_pem(pki.root_pem.as_bytes()).unwrap();
        let tls = signet_tls::client_config(&identity, roots).unwrap();
        KmcClient(ApiClient::new(
            &format!("https://localhost:{}", self.running().addr.port()),
            tls,
        ))
    }

    /// Stops the KMC.
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }

    /// Stops the KMC and drops the database.
    pub async fn finish(mut self) {
        self.stop().await;
        if let Some(db) = self.db.take() {
            db.drop_database().await.unwrap();
        }
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// A subscriber's signing key of `key_type` and its PEM public key.
pub fn signing_key(key_type: KeyType) -> (PrivateKey, String) {
    let key = PrivateKey::generate(key_type, &mut rand::rng()).unwrap();
    let pem = signet_core::pem::encode("PUBLIC KEY", key.public_key_der());
    (key, pem)
}

/// Asks the KMC (as the CA) for a key pair of `key_type` for a new
/// subscriber whose signing key is `signing`.
pub async fn key_pair(client: &KmcClient, key_type: KeyType, signing_pem: &str) -> KeyPairResponse {
    client
        .generate_key_pair(&KeyPairRequest {
            request_id: format!("req-{:016x}", rand::random::<u64>()),
            key_type: key_type.as_str().to_owned(),
            signing_key: signing_pem.to_owned(),
            subject: "CN=Alice,O=Signet Test".into(),
            domain: None,
        })
        .await
        .unwrap()
}

/// DER of a `PUBLIC KEY` PEM.
pub fn pem_der(pem: &str) -> Vec<u8> {
    der::pem::decode_vec(pem.as_bytes()).unwrap().1
}

pub fn b64(text: &str) -> Vec<u8> {
    B64.decode(text).unwrap()
}

pub fn b64e(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

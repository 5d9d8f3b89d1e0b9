//! A real CA signer started in-process, set up the way `signet init` sets
//! one up: token keys for the root, issuing and platform CAs, the issuing
//! CA and the service identities issued through the CA's own issuance
//! path, then `signet_ca::start` on 127.0.0.1:0 with mutual TLS.

use std::path::PathBuf;
use std::sync::Arc;

use signet_ca::{
    CaConfig, CaMetrics, DatabaseConfig, IssuanceConfig, IssueCommand, IssuerConfig, RunningCa,
    ServerConfig,
};
use signet_core::csr::build_csr;
use signet_core::names::parse_name;
use signet_core::pem::certificate_pem;
use signet_core::profile::{BUILTIN_PROFILE_NAMES, builtin_profile_toml};
use signet_core::{
    Clock, KeyType, Profile, Serial, Signer, SubjectKey, SystemClock, prepare_self_signed,
};
use signet_token::TokenConfig;
use tempfile::TempDir;

use crate::kit::CaLink;

pub struct TestCa {
    pub running: Option<RunningCa>,
    /// A KMC the CA issues dual certificates through ([`TestCa::start_with_kmc`]).
    kmc_running: Option<signet_kmc::RunningKmc>,
    /// What the RA needs to reach that KMC (its `ra` identity, the
    /// platform root, the KMC's URL).
    pub kmc: Option<CaLink>,
    /// Holds the CA's files until the test ends.
    _dir: TempDir,
    /// The customer root, PEM file.
    pub root_pem: PathBuf,
    /// What the RA needs to reach this CA.
    pub link: CaLink,
}

fn self_signed(signer: &dyn Signer, subject: &str) -> Vec<u8> {
    let profile = Profile::from_toml(builtin_profile_toml("root-ca").unwrap()).unwrap();
    let key = SubjectKey::from_spki(der::referenced::OwnedToRef::owned_to_ref(
        signer.public_key(),
    ))
    .unwrap();
    prepare_self_signed(
        &profile,
        &parse_name(subject).unwrap(),
        &key,
        signer.algorithm(),
        Serial::random(&mut rand::rng()),
        SystemClock.now(),
    )
    .unwrap()
    .sign(signer, &key)
    .unwrap()
    .der
}

fn issuer(dir: &std::path::Path, name: &str, id: i64, label: &str, urls: bool) -> IssuerConfig {
    let base = "http://127.0.0.1:1";
    IssuerConfig {
        name: name.into(),
        id,
        key_label: label.into(),
        certificate: dir.join(format!("{name}.pem")),
        ocsp_url: urls.then(|| format!("{base}/ocsp")),
        ca_issuers_url: urls.then(|| format!("{base}/ca/{name}.der")),
        crl_url: urls.then(|| format!("{base}/crl/{name}.crl")),
        delta_crl_url: None,
        crl_shards: 1,
    }
}

fn config(
    dir: &std::path::Path,
    token: &TokenConfig,
    issuers: Vec<IssuerConfig>,
    default: &str,
) -> CaConfig {
    CaConfig {
        server: ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            certificate: dir.join("ca-service.pem"),
            key: dir.join("ca-service.key"),
            client_roots: dir.join("platform.pem"),
            allowed_roles: vec!["ra".into(), "admin".into()],
            max_request_bytes: 1024 * 1024,
            max_batch_bytes: 32 * 1024 * 1024,
        },
        token: token.clone(),
        database: DatabaseConfig {
            url: format!("sqlite:{}", dir.join("ca.db").display()),
            max_connections: 4,
        },
        issuance: IssuanceConfig {
            default_issuer: default.into(),
            profiles_dir: dir.join("profiles"),
            max_csr_bytes: 65536,
            max_batch: 1000,
            journal_batch: 64,
        },
        issuers,
        publication: Default::default(),
    }
}

async fn service_identity(
    authority: &signet_ca::CertificateAuthority,
    dir: &std::path::Path,
    role: &str,
) -> (PathBuf, PathBuf) {
    let key = rcgen::KeyPair::generate().unwrap();
    let csr = rcgen::CertificateParams::new(Vec::<String>::new())
        .unwrap()
        .serialize_request(&key)
        .unwrap()
        .pem()
        .unwrap();
    let issued = authority
        .issue(&IssueCommand {
            request_id: format!("it:service:{role}"),
            profile: "service".into(),
            issuer: Some("platform".into()),
            csr: csr.into_bytes(),
            subject: Some(format!("CN=signet-{role},O=Signet Test")),
            sans: Some(vec![
                "DNS:localhost".into(),
                "IP:127.0.0.1".into(),
                format!("URI:urn:signet:role:{role}"),
            ]),
            validity: None,
        })
        .await
        .unwrap();
    let cert = dir.join(format!("{role}-service.pem"));
    let key_path = dir.join(format!("{role}-service.key"));
    std::fs::write(&cert, certificate_pem(&issued.record.der.unwrap())).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert, key_path)
}

impl TestCa {
    pub async fn start() -> TestCa {
        Self::start_inner(false).await
    }

    /// A CA with a real KMC beside it (its own token, SQLite, the key
    /// ceremony run), issuing dual certificates (profile `user-dual`)
    /// through it as role `ca`.
    pub async fn start_with_kmc() -> TestCa {
        Self::start_inner(true).await
    }

    async fn start_inner(with_kmc: bool) -> TestCa {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let (token, token_config) = signet_token::testing::test_token("ra-it-ca");
        for (label, kind) in [
            ("root-ca", KeyType::P256),
            ("issuing-ca", KeyType::P256),
            ("platform-ca", KeyType::P256),
        ] {
            token.generate_key(label, kind).unwrap();
        }
        let root_der = self_signed(
            &*token.signer("root-ca").unwrap(),
            "CN=RA IT Root CA,O=Signet Test",
        );
        std::fs::write(d.join("root.pem"), certificate_pem(&root_der)).unwrap();
        let platform_der = self_signed(
            &*token.signer("platform-ca").unwrap(),
            "CN=RA IT Platform CA,O=Signet Test",
        );
        std::fs::write(d.join("platform.pem"), certificate_pem(&platform_der)).unwrap();
        std::fs::create_dir_all(d.join("profiles")).unwrap();
        for name in BUILTIN_PROFILE_NAMES {
            std::fs::write(
                d.join("profiles").join(format!("{name}.toml")),
                builtin_profile_toml(name).unwrap(),
            )
            .unwrap();
        }
        // user-sign marked dual, as `signet init` writes it.
        let dual = builtin_profile_toml("user-sign")
            .unwrap()
            .replace("name = \"user-sign\"", "name = \"user-dual\"\ndual = true");
        std::fs::write(d.join("profiles").join("user-dual.toml"), dual).unwrap();
        let root = issuer(&d, "root", 1, "root-ca", true);
        let platform = issuer(&d, "platform", 3, "platform-ca", false);
        let stage1 = config(
            &d,
            &token_config,
            vec![root.clone(), platform.clone()],
            "root",
        );
        let authority = signet_ca::service::open_authority(
            &stage1,
            &token,
            Arc::new(SystemClock),
            CaMetrics::detached(),
        )
        .await
        .unwrap();
        let issuing_csr = build_csr(
            &*token.signer("issuing-ca").unwrap(),
            &parse_name("CN=RA IT Issuing CA,O=Signet Test").unwrap(),
        )
        .unwrap();
        let issuing = authority
            .issue(&IssueCommand {
                request_id: "it:issuing-ca".into(),
                profile: "sub-ca".into(),
                issuer: Some("root".into()),
                csr: issuing_csr,
                subject: None,
                sans: None,
                validity: None,
            })
            .await
            .unwrap();
        std::fs::write(
            d.join("issuing.pem"),
            certificate_pem(&issuing.record.der.unwrap()),
        )
        .unwrap();
        let (ca_cert, ca_key) = service_identity(&authority, &d, "ca").await;
        std::fs::rename(ca_cert, d.join("ca-service.pem")).unwrap();
        std::fs::rename(ca_key, d.join("ca-service.key")).unwrap();
        let (ra_cert, ra_key) = service_identity(&authority, &d, "ra").await;
        let kmc_identity = if with_kmc {
            Some(service_identity(&authority, &d, "kmc").await)
        } else {
            None
        };
        drop(authority);
        drop(token);

        let mut kmc_running = None;
        let mut kmc = None;
        let mut dual = None;
        if let Some((kmc_cert, kmc_key)) = kmc_identity {
            let (kmc_token, kmc_token_config) = signet_token::testing::test_token("ra-it-kmc");
            drop(kmc_token);
            let kmc_config = signet_kmc::KmcConfig::new(
                "127.0.0.1:0".parse().unwrap(),
                kmc_cert,
                kmc_key,
                d.join("platform.pem"),
                kmc_token_config,
                format!("sqlite:{}", d.join("kmc.db").display()),
            );
            signet_kmc::ceremony::initialize(
                &kmc_config,
                signet_kmc::ceremony::SharePlan::default(),
                Arc::new(SystemClock),
            )
            .await
            .unwrap();
            let running = signet_kmc::start(kmc_config, Arc::new(SystemClock))
                .await
                .unwrap();
            let url = format!("https://127.0.0.1:{}", running.addr.port());
            // The CA calls the KMC with its own service identity (role ca).
            let identity = signet_tls::Identity::from_pem_files(
                &d.join("ca-service.pem"),
                &d.join("ca-service.key"),
            )
            .unwrap();
            let roots = signet_tls::load_roots(&d.join("platform.pem")).unwrap();
            let tls = signet_tls::client_config_expecting(
                &identity,
                roots,
                signet_tls::AllowedPeers::new([signet_tls::Role::Kmc]),
            )
            .unwrap();
            dual = Some(signet_ca::dual::DualIssuer::new(
                signet_api::kmc::KmcClient(signet_api::ApiClient::new(&url, tls)),
                "user-enc".into(),
                None,
            ));
            kmc = Some(CaLink {
                url,
                certificate: ra_cert.clone(),
                key: ra_key.clone(),
                roots: d.join("platform.pem"),
            });
            kmc_running = Some(running);
        }

        let issuing_issuer = issuer(&d, "issuing", 2, "issuing-ca", true);
        let config = config(
            &d,
            &token_config,
            vec![root, issuing_issuer, platform],
            "issuing",
        );
        let running = signet_ca::start_with_dual(config, Arc::new(SystemClock), dual)
            .await
            .unwrap();
        let link = CaLink {
            url: format!("https://127.0.0.1:{}", running.addr.port()),
            certificate: ra_cert,
            key: ra_key,
            roots: d.join("platform.pem"),
        };
        TestCa {
            running: Some(running),
            kmc_running,
            kmc,
            root_pem: d.join("root.pem"),
            _dir: dir,
            link,
        }
    }

    /// A client of the CA API with the RA's platform identity.
    pub fn client(&self) -> signet_api::ca::CaClient {
        let identity =
            signet_tls::Identity::from_pem_files(&self.link.certificate, &self.link.key).unwrap();
        let roots = signet_tls::load_roots(&self.link.roots).unwrap();
        let tls = signet_tls::client_config_expecting(
            &identity,
            roots,
            signet_tls::AllowedPeers::new([signet_tls::Role::Ca]),
        )
        .unwrap();
        signet_api::ca::CaClient(signet_api::ApiClient::new(&self.link.url, tls))
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        if let Some(k) = self.kmc_running.take() {
            k.stop().await;
        }
    }
}

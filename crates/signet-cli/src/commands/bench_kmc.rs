//! `signet bench kmc`: dual-certificate issuances per second (SM2 and
//! P-256 subscriber keys) against single issuance of the same keys in the
//! same run, through the running CA over mutual TLS (the dual path adds
//! the CA -> KMC call, key generation, escrow and envelope, and a second
//! signature); and data-key encrypt/decrypt operations per second for
//! 1 KiB payloads through the running KMC over mutual TLS.
//!
//! The data-key client needs a certificate of role `app`: the benchmark
//! issues one (CN `signet-bench-app`) from the home's platform CA through
//! the CA's own issuance path, and has the administrator create a data key
//! for it. Results are printed as a table; docs/benchmarks.md records runs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use clap::Args;
use signet_api::ApiClient;
use signet_api::ca::{CaClient, IssueRequest};
use signet_api::kmc::{CreateDataKeyRequest, DecryptRequest, EncryptRequest, KmcClient};
use signet_ca::{CaConfig, IssueCommand};
use signet_core::envelope::{PrivateKey, open_private_key};
use signet_core::{KeyType, SoftwareSigner, SystemClock};
use signet_kmc::KmcConfig;
use signet_token::Token;
use zeroize::Zeroizing;

use crate::error::CliError;
use crate::home::Manifest;

/// `signet bench kmc`.
#[derive(Debug, Args)]
pub struct BenchKmcArgs {
    /// The PKI home (its services must be up, the CA with `[kmc]`).
    #[arg(long)]
    pub home: PathBuf,
    /// Certificates (or certificate pairs) per round and key type.
    #[arg(long, default_value_t = 300)]
    pub count: usize,
    /// Data-key operations per round and direction.
    #[arg(long, default_value_t = 5000)]
    pub ops: usize,
    /// Requests in flight.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Rounds of each measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Dual profile to issue under (a profile with `dual = true`).
    #[arg(long, default_value = "user-dual")]
    pub dual_profile: String,
    /// Profile for the single-issuance comparison.
    #[arg(long, default_value = "user-sign")]
    pub single_profile: String,
    /// Measure the data keys only (no CA needed beyond its database).
    #[arg(long)]
    pub data_keys_only: bool,
}

/// The CA configuration, for `softhsm_env` (the benchmark opens the token
/// to issue its `app` certificate).
pub fn ca_config_path(args: &BenchKmcArgs) -> Result<PathBuf, CliError> {
    Ok(crate::home::Layout::new(&args.home)?.ca_config())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn spread(v: &[f64]) -> String {
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(0.0, f64::max);
    format!("{min:.0}–{max:.0}")
}

/// CSRs of `key_type` subscribers, made before timing starts, with their keys.
fn subscribers(key_type: KeyType, count: usize) -> Result<Vec<(PrivateKey, String)>, CliError> {
    let fail = |e: String| CliError::Service(format!("making CSRs: {e}"));
    (0..count)
        .map(|i| {
            let key = PrivateKey::generate(key_type, &mut rand::rng())
                .map_err(|e| fail(e.to_string()))?;
            let scalar = key.scalar().ok_or_else(|| fail("not an EC key".into()))?;
            let signer = SoftwareSigner::from_scalar_bytes(key_type, scalar)
                .map_err(|e| fail(e.to_string()))?;
            let subject =
                signet_core::names::parse_name(&format!("CN=Bench User {i},O=Signet Bench"))
                    .map_err(|e| fail(e.to_string()))?;
            let der =
                signet_core::csr::build_csr(&signer, &subject).map_err(|e| fail(e.to_string()))?;
            Ok((key, signet_core::pem::encode("CERTIFICATE REQUEST", &der)))
        })
        .collect()
}

/// Issues every CSR (one per call, `concurrency` in flight), single or
/// dual; returns certificates (pairs) per second. The first dual answer's
/// envelope is opened and checked against its encryption certificate.
async fn issue_all(
    ca: &CaClient,
    subs: &[(PrivateKey, String)],
    profile: &str,
    dual: bool,
    concurrency: usize,
) -> Result<f64, CliError> {
    let run = crate::commands::enroll::new_request_id();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (_, csr)) in subs.iter().enumerate() {
        let permit = Arc::clone(&semaphore)
            .acquire_owned()
            .await
            .map_err(|_| CliError::Service("semaphore closed".into()))?;
        let ca = ca.clone();
        let req = IssueRequest {
            request_id: format!("{run}-{i}"),
            profile: profile.to_owned(),
            csr: csr.clone(),
            issuer: None,
            subject: None,
            sans: None,
            validity_days: None,
        };
        tasks.spawn(async move {
            let _permit = permit;
            if dual {
                ca.issue_dual(&req).await.map(|r| (i, Some(r)))
            } else {
                ca.issue(&req).await.map(|_| (i, None))
            }
        });
    }
    let mut done = 0usize;
    let mut checked = false;
    while let Some(joined) = tasks.join_next().await {
        let (i, answer) = joined
            .map_err(|_| CliError::Service("a request task failed".into()))?
            .map_err(CliError::from)?;
        done += 1;
        if let (Some(pair), Some((key, _)), false) = (answer, subs.get(i), checked) {
            check_pair(&pair, key)?;
            checked = true;
        }
    }
    Ok(done as f64 / started.elapsed().as_secs_f64())
}

/// The envelope opens with the subscriber's key and holds the encryption
/// certificate's private key: a benchmark of a broken path measures nothing.
fn check_pair(
    pair: &signet_api::dual::DualIssueResponse,
    key: &PrivateKey,
) -> Result<(), CliError> {
    let bad = |what: &str| CliError::Service(format!("dual answer check failed: {what}"));
    let envelope = B64.decode(&pair.envelope).map_err(|_| bad("envelope"))?;
    let opened = open_private_key(&envelope, key).map_err(|e| bad(&e.to_string()))?;
    let cert = signet_core::pem::certificates_from_pem(pair.encryption.certificate.as_bytes())
        .ok()
        .and_then(|c| c.into_iter().next())
        .ok_or_else(|| bad("encryption certificate"))?;
    let cert = <x509_cert::Certificate as der::Decode>::from_der(&cert)
        .map_err(|_| bad("encryption certificate"))?;
    let spki = der::Encode::to_der(cert.tbs_certificate().subject_public_key_info())
        .map_err(|_| bad("encryption certificate key"))?;
    if spki != opened.public_key_der() {
        return Err(bad(
            "the envelope's key is not the encryption certificate's",
        ));
    }
    Ok(())
}

/// An `app` client of the KMC: a certificate issued now by the home's
/// platform CA (through the CA's issuance path, in process) for CN
/// `signet-bench-app`.
async fn app_client(
    ca_config: &CaConfig,
    kmc_url: &str,
    platform_root: &std::path::Path,
) -> Result<KmcClient, CliError> {
    let token = Token::open(&ca_config.token)?;
    let authority = signet_ca::service::open_authority(
        ca_config,
        &token,
        Arc::new(SystemClock),
        signet_ca::CaMetrics::detached(),
    )
    .await?;
    let key = rcgen::KeyPair::generate().map_err(|e| CliError::Service(e.to_string()))?;
    let csr = rcgen::CertificateParams::new(Vec::<String>::new())
        .and_then(|p| p.serialize_request(&key))
        .and_then(|r| r.pem())
        .map_err(|e| CliError::Service(e.to_string()))?;
    let issued = authority
        .issue(&IssueCommand {
            request_id: format!("bench:app:{}", crate::commands::enroll::new_request_id()),
            profile: "service".into(),
            issuer: Some("platform".into()),
            csr: csr.into_bytes(),
            subject: Some("CN=signet-bench-app".into()),
            sans: Some(vec!["URI:urn:signet:role:app".into()]),
            validity: Some(Duration::from_secs(86_400)),
        })
        .await?;
    let cert = signet_core::pem::certificate_pem(&issued.record.der.unwrap_or_default());
    let key_pem = Zeroizing::new(key.serialize_pem());
    let identity = signet_tls::Identity::from_pem(cert.as_bytes(), key_pem.as_bytes())
        .map_err(|e| CliError::Service(e.to_string()))?;
    kmc_client(identity, kmc_url, platform_root)
}

fn kmc_client(
    identity: signet_tls::Identity,
    url: &str,
    platform_root: &std::path::Path,
) -> Result<KmcClient, CliError> {
    let roots = signet_tls::load_roots(platform_root).map_err(|e| CliError::Home(e.to_string()))?;
    let tls =
        signet_tls::client_config(&identity, roots).map_err(|e| CliError::Home(e.to_string()))?;
    Ok(KmcClient(ApiClient::new(url, tls)))
}

/// Encrypts `ops` 1 KiB payloads, then decrypts them all; ops/s each way.
async fn data_key_round(
    app: &KmcClient,
    key: &str,
    ops: usize,
    concurrency: usize,
) -> Result<(f64, f64), CliError> {
    let payload = B64.encode(vec![0xa5_u8; 1024]);
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..ops {
        let permit = Arc::clone(&semaphore)
            .acquire_owned()
            .await
            .map_err(|_| CliError::Service("semaphore closed".into()))?;
        let app = app.clone();
        let key = key.to_owned();
        let req = EncryptRequest {
            plaintext: payload.clone(),
            aad: None,
        };
        tasks.spawn(async move {
            let _permit = permit;
            app.encrypt(&key, &req).await
        });
    }
    let mut ciphertexts = Vec::with_capacity(ops);
    while let Some(r) = tasks.join_next().await {
        let sealed = r
            .map_err(|_| CliError::Service("a request task failed".into()))?
            .map_err(CliError::from)?;
        ciphertexts.push(sealed.ciphertext);
    }
    let encrypt_rate = ops as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for ciphertext in ciphertexts {
        let permit = Arc::clone(&semaphore)
            .acquire_owned()
            .await
            .map_err(|_| CliError::Service("semaphore closed".into()))?;
        let app = app.clone();
        let key = key.to_owned();
        let expected = payload.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let opened = app
                .decrypt(
                    &key,
                    &DecryptRequest {
                        ciphertext,
                        aad: None,
                    },
                )
                .await?;
            Ok::<bool, signet_api::ClientError>(opened.plaintext == expected)
        });
    }
    while let Some(r) = tasks.join_next().await {
        let same = r
            .map_err(|_| CliError::Service("a request task failed".into()))?
            .map_err(CliError::from)?;
        if !same {
            return Err(CliError::Service("a decryption returned other data".into()));
        }
    }
    let decrypt_rate = ops as f64 / started.elapsed().as_secs_f64();
    Ok((encrypt_rate, decrypt_rate))
}

/// Runs `signet bench kmc`.
pub async fn run(args: BenchKmcArgs) -> Result<(), CliError> {
    let (layout, manifest) = Manifest::load(&args.home)?;
    let ca = manifest.ca_client()?;
    let ca_config = CaConfig::load(&layout.ca_config())?;
    let kmc_config = KmcConfig::load(&layout.config().join("kmc.toml"))
        .map_err(|e| CliError::Home(e.to_string()))?;
    let kmc_url = format!("https://{}", kmc_config.server.listen);
    let rounds = args.rounds.max(1);

    let issuance_types: &[KeyType] = if args.data_keys_only {
        &[]
    } else {
        &[KeyType::Sm2, KeyType::P256]
    };
    if !issuance_types.is_empty() {
        println!(
            "signet bench kmc: {} certificates per round and key type, {} in flight, {rounds} rounds (median)",
            args.count, args.concurrency
        );
        println!("| subscriber key | single (certs/s) | dual (pairs/s) | dual / single |");
        println!("|---|---|---|---|");
    }
    for &key_type in issuance_types {
        let mut single = Vec::new();
        let mut dual = Vec::new();
        for _ in 0..rounds {
            let subs = subscribers(key_type, args.count)?;
            single
                .push(issue_all(&ca, &subs, &args.single_profile, false, args.concurrency).await?);
            let subs = subscribers(key_type, args.count)?;
            dual.push(issue_all(&ca, &subs, &args.dual_profile, true, args.concurrency).await?);
        }
        let (s, d) = (median(single.clone()), median(dual.clone()));
        println!(
            "| {key_type} | {s:.0} ({}) | {d:.0} ({}) | {:.2} |",
            spread(&single),
            spread(&dual),
            if s > 0.0 { d / s } else { 0.0 }
        );
    }

    let admin_identity =
        signet_tls::Identity::from_pem_files(&manifest.admin.certificate, &manifest.admin.key)
            .map_err(|e| CliError::Home(format!("administrator credentials: {e}")))?;
    let admin = kmc_client(admin_identity, &kmc_url, &manifest.admin.platform_root)?;
    let app = app_client(&ca_config, &kmc_url, &manifest.admin.platform_root).await?;
    println!();
    println!(
        "data keys: {} operations of 1 KiB per round and direction, {} in flight",
        args.ops, args.concurrency
    );
    println!("| algorithm | encrypt (ops/s) | decrypt (ops/s) |");
    println!("|---|---|---|");
    for algorithm in ["aes-256-gcm", "sm4-gcm"] {
        let name = format!(
            "bench-{}-{}",
            algorithm.replace("-gcm", ""),
            crate::commands::enroll::new_request_id()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(8)
                .collect::<String>()
                .to_lowercase()
        );
        admin
            .create_data_key(&CreateDataKeyRequest {
                name: name.clone(),
                domain: None,
                algorithm: Some(algorithm.into()),
                clients: vec!["signet-bench-app".into()],
            })
            .await?;
        let mut enc = Vec::new();
        let mut dec = Vec::new();
        for _ in 0..rounds {
            let (e, d) = data_key_round(&app, &name, args.ops, args.concurrency).await?;
            enc.push(e);
            dec.push(d);
        }
        println!(
            "| {algorithm} | {:.0} ({}) | {:.0} ({}) |",
            median(enc.clone()),
            spread(&enc),
            median(dec.clone()),
            spread(&dec)
        );
    }
    Ok(())
}

//! `signet bench issue`: issuance throughput through the running CA over
//! mutual TLS, beside the raw signing rate of the same token key and
//! `openssl ca` issuing the same CSRs in one process. Results are printed
//! as a table; docs/benchmarks.md records runs.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use signet_api::ca::{BatchIssueRequest, BatchItem, CaClient, IssueRequest};
use signet_ca::CaConfig;
use signet_token::Token;

use crate::cli::{BenchArgs, BenchWhat};
use crate::error::CliError;
use crate::home::Manifest;

pub(super) fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_owned());
    pb
}

/// A key and CSR per certificate, made before timing starts.
pub(super) fn make_csrs(count: usize, key_type: &str) -> Result<Vec<String>, CliError> {
    let alg: &'static rcgen::SignatureAlgorithm = match key_type {
        "p256" => &rcgen::PKCS_ECDSA_P256_SHA256,
        "p384" => &rcgen::PKCS_ECDSA_P384_SHA384,
        "rsa2048" => &rcgen::PKCS_RSA_SHA256,
        other => {
            return Err(CliError::Usage(format!(
                "--csr-key-type {other}: the benchmark makes p256, p384 or rsa2048 CSRs"
            )));
        }
    };
    let pb = bar(count as u64, "making CSRs");
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let key = rcgen::KeyPair::generate_for(alg).map_err(|e| CliError::Usage(e.to_string()))?;
        let name = format!("host{i}.bench.example.test");
        let mut params = rcgen::CertificateParams::new(vec![name.clone()])
            .map_err(|e| CliError::Usage(e.to_string()))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let pem = params
            .serialize_request(&key)
            .and_then(|r| r.pem())
            .map_err(|e| CliError::Usage(e.to_string()))?;
        out.push(pem);
        pb.inc(1);
    }
    pb.finish_and_clear();
    Ok(out)
}

/// Issues every CSR through the CA, `batch` per call, `concurrency` calls in flight.
pub(super) async fn through_ca(
    client: &CaClient,
    csrs: &[String],
    concurrency: usize,
    batch: usize,
) -> Result<(usize, Duration), CliError> {
    let run = crate::commands::enroll::new_request_id();
    let requests: Vec<IssueRequest> = csrs
        .iter()
        .enumerate()
        .map(|(i, csr)| IssueRequest {
            request_id: format!("{run}-{i}"),
            profile: "server".into(),
            csr: csr.clone(),
            issuer: None,
            subject: None,
            sans: None,
            validity_days: None,
        })
        .collect();
    let chunks: Vec<Vec<IssueRequest>> = requests
        .chunks(batch.max(1))
        .map(<[IssueRequest]>::to_vec)
        .collect();
    let pb = bar(csrs.len() as u64, "issuing (mTLS)");
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in chunks {
        let permit = Arc::clone(&semaphore)
            .acquire_owned()
            .await
            .map_err(|_| CliError::Service("semaphore closed".into()))?;
        let client = client.clone();
        let pb = pb.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let n = chunk.len();
            let result = if n == 1 {
                match chunk.into_iter().next() {
                    Some(r) => client.issue(&r).await.map(|_| 1),
                    None => Ok(0),
                }
            } else {
                client
                    .issue_batch(&BatchIssueRequest { requests: chunk })
                    .await
                    .map(|resp| {
                        resp.results
                            .iter()
                            .filter(|r| matches!(r, BatchItem::Issued(_)))
                            .count()
                    })
            };
            pb.inc(n as u64);
            result
        });
    }
    let mut issued = 0;
    let mut first_error = None;
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(Ok(n)) => issued += n,
            Ok(Err(e)) => {
                first_error.get_or_insert(e.to_string());
            }
            Err(_) => {}
        }
    }
    let elapsed = started.elapsed();
    pb.finish_and_clear();
    if let Some(e) = first_error {
        return Err(CliError::Service(format!(
            "issuance failed during the benchmark: {e}"
        )));
    }
    Ok((issued, elapsed))
}

/// Raw signatures per second of a token key, from `threads` threads.
fn token_rate(
    config: &CaConfig,
    label: &str,
    threads: usize,
    duration: Duration,
) -> Result<f64, CliError> {
    let token = Token::open(&config.token)?;
    let signer = token.signer(label)?;
    let message = vec![0x5a_u8; 400]; // about the size of a TBSCertificate
    let started = Instant::now();
    let total: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                let signer = Arc::clone(&signer);
                let message = &message;
                s.spawn(move || {
                    let mut n = 0usize;
                    while started.elapsed() < duration {
                        if signer.sign(message).is_ok() {
                            n += 1;
                        }
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

fn run_cmd(cmd: &mut std::process::Command) -> Result<(), CliError> {
    let out = cmd
        .output()
        .map_err(|e| CliError::Usage(format!("cannot run openssl: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(CliError::Service(format!(
            "openssl failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )))
    }
}

/// `openssl ca -batch -infiles ...` over the same CSRs, with a software
/// key of the CA's key type: the classic one-process CA, for comparison.
fn openssl_ca(
    csrs: &[String],
    work: &Path,
    ca_key_type: &str,
) -> Result<(usize, Duration), CliError> {
    std::fs::create_dir_all(work.join("csr"))?;
    std::fs::create_dir_all(work.join("out"))?;
    let mut files = Vec::with_capacity(csrs.len());
    for (i, csr) in csrs.iter().enumerate() {
        let p = work.join("csr").join(format!("{i}.csr"));
        std::fs::write(&p, csr)?;
        files.push(p);
    }
    std::fs::write(work.join("index.txt"), "")?;
    std::fs::write(work.join("serial"), "1000\n")?;
    let cnf = format!(
        "[ca]\ndefault_ca = bench\n[bench]\ndir = {dir}\ndatabase = $dir/index.txt\n\
         new_certs_dir = $dir/out\ncertificate = $dir/ca.pem\nprivate_key = $dir/ca.key\n\
         serial = $dir/serial\ndefault_days = 397\npolicy = any\nunique_subject = no\n\
         copy_extensions = copy\nx509_extensions = leaf\n[any]\ncommonName = supplied\n\
         [leaf]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n\
         extendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n",
        dir = work.display()
    );
    std::fs::write(work.join("openssl.cnf"), cnf)?;
    let (keygen, digest): (String, &str) = match ca_key_type {
        "sm2" => ("ec_paramgen_curve:SM2".into(), "sm3"),
        "p384" => ("ec_paramgen_curve:P-384".into(), "sha384"),
        rsa if rsa.starts_with("rsa") => (
            format!("rsa_keygen_bits:{}", rsa.trim_start_matches("rsa")),
            "sha256",
        ),
        _ => ("ec_paramgen_curve:P-256".into(), "sha256"),
    };
    let algorithm = if ca_key_type.starts_with("rsa") {
        "rsa"
    } else {
        "ec"
    };
    let key = work.join("ca.key");
    run_cmd(
        std::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                algorithm,
                "-pkeyopt",
                &keygen,
                "-out",
            ])
            .arg(&key),
    )?;
    let mut self_sign = std::process::Command::new("openssl");
    self_sign
        .args([
            "req",
            "-x509",
            "-new",
            "-subj",
            "/CN=openssl bench CA",
            "-days",
            "3650",
        ])
        .arg(format!("-{digest}"))
        .arg("-key")
        .arg(&key)
        .arg("-out")
        .arg(work.join("ca.pem"));
    run_cmd(&mut self_sign)?;
    let mut ca = std::process::Command::new("openssl");
    ca.args(["ca", "-batch", "-notext", "-md", digest]);
    if ca_key_type == "sm2" {
        ca.args(["-sigopt", "distid:1234567812345678"]);
    }
    ca.arg("-config")
        .arg(work.join("openssl.cnf"))
        .arg("-out")
        .arg(work.join("all.pem"))
        .arg("-infiles")
        .args(&files);
    let started = Instant::now();
    run_cmd(&mut ca)?;
    let elapsed = started.elapsed();
    let issued = std::fs::read_dir(work.join("out"))?.count();
    Ok((issued, elapsed))
}

/// Runs a benchmark.
pub async fn run(args: BenchArgs) -> Result<(), CliError> {
    match args.what {
        BenchWhat::Issue { .. } => issue(args.what).await,
        BenchWhat::Crl { entries } => super::bench_crl::run(entries).await,
        BenchWhat::Ocsp { .. } => super::bench_ocsp::run(args.what).await,
        BenchWhat::Kmc(kmc) => super::bench_kmc::run(kmc).await,
        BenchWhat::RaBatch(ra) => super::bench_ra::run(ra).await,
    }
}

async fn issue(what: BenchWhat) -> Result<(), CliError> {
    let BenchWhat::Issue {
        home,
        count,
        concurrency,
        batch,
        csr_key_type,
        no_openssl,
        rounds,
    } = what
    else {
        return Ok(());
    };
    let (layout, manifest) = Manifest::load(&home)?;
    let config = CaConfig::load(&layout.ca_config())?;
    let client = manifest.ca_client()?;
    let issuing = config
        .issuers
        .iter()
        .find(|i| i.name == config.issuance.default_issuer)
        .map(|i| i.key_label.clone())
        .unwrap_or_default();

    println!(
        "signet bench issue: {count} certificates x {rounds} rounds, CA key {}, database {}, CSR key {csr_key_type}, concurrency {concurrency}, batch {batch}",
        manifest.key_type,
        if manifest.database == "sqlite" {
            "sqlite"
        } else {
            "postgres"
        },
    );
    let csrs = make_csrs(count, &csr_key_type)?;
    // Warm up connections and the database with a few calls.
    let _ = through_ca(
        &client,
        csrs.get(..csrs.len().min(200)).unwrap_or_default(),
        concurrency,
        batch,
    )
    .await?;
    // Each round issues every CSR again under fresh request ids; the median
    // is reported because a shared 2-core machine is noisy.
    let mut rates = Vec::with_capacity(rounds);
    for round in 1..=rounds.max(1) {
        let (issued, elapsed) = through_ca(&client, &csrs, concurrency, batch).await?;
        let rate = issued as f64 / elapsed.as_secs_f64();
        println!(
            "  CA over mTLS  #{round}   {issued:>7} certificates in {:>6.2} s = {rate:>8.0} /s",
            elapsed.as_secs_f64()
        );
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    let median = rates.get(rates.len() / 2).copied().unwrap_or(0.0);
    println!(
        "  CA over mTLS  median {median:>8.0} /s (min {:.0}, max {:.0}, {} rounds)",
        rates.first().copied().unwrap_or(0.0),
        rates.last().copied().unwrap_or(0.0),
        rates.len()
    );

    let config_for_token = config.clone();
    let label = issuing.clone();
    let sign_rate = tokio::task::spawn_blocking(move || {
        token_rate(&config_for_token, &label, 2, Duration::from_secs(3))
    })
    .await
    .map_err(|_| CliError::Service("token benchmark failed".into()))??;
    println!(
        "  token signing       {:>40.0} signatures/s ({issuing}, 2 threads)",
        sign_rate
    );

    if !no_openssl {
        let n = csrs.len().min(5000);
        let work =
            std::env::temp_dir().join(format!("signet-bench-openssl-{}", std::process::id()));
        let subset = csrs.get(..n).unwrap_or_default().to_vec();
        let ca_key_type = manifest.key_type.clone();
        let result = tokio::task::spawn_blocking({
            let work = work.clone();
            move || openssl_ca(&subset, &work, &ca_key_type)
        })
        .await
        .map_err(|_| CliError::Service("openssl benchmark failed".into()))?;
        let _ = std::fs::remove_dir_all(&work);
        let (issued, elapsed) = result?;
        println!(
            "  openssl ca -batch   {issued:>7} certificates in {:>6.2} s = {:>8.0} /s",
            elapsed.as_secs_f64(),
            issued as f64 / elapsed.as_secs_f64()
        );
    }
    Ok(())
}

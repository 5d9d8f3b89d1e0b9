//! `signet bench crl`: a CRL of N entries built the way the CA publishes
//! them — streamed from the database into one DER buffer, signed once —
//! with its time and peak memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use signet_core::crl::{CrlEntries, CrlScope, CrlSpec, crl_tbs};
use signet_core::issuance::{IssuerUrls, assemble_signed};
use signet_core::names::parse_name;
use signet_core::profile::builtin_profile_toml;
use signet_core::{
    Clock, KeyType, Profile, Serial, Signer, SoftwareSigner, SubjectKey, SystemClock,
    prepare_self_signed,
};
use signet_store::{CaStore, Database, DbOptions, Schema};

use crate::error::CliError;

fn fail(e: impl std::fmt::Display) -> CliError {
    CliError::Service(e.to_string())
}

/// Resident set size of this process, bytes (from /proc).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Samples RSS every few milliseconds until stopped; keeps the peak.
struct PeakRss {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PeakRss {
    fn start() -> Self {
        let peak = Arc::new(AtomicU64::new(rss_bytes()));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (Arc::clone(&peak), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_bytes(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        PeakRss {
            peak,
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

/// Runs the benchmark.
pub async fn run(count: usize) -> Result<(), CliError> {
    let clock = SystemClock;
    let now = clock.now();
    let dir = std::env::temp_dir().join(format!("signet-bench-crl-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite:{}", dir.join("ca.db").display());
    let result = build(count, now, &url).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn build(count: usize, now: signet_core::Timestamp, url: &str) -> Result<(), CliError> {
    let store = CaStore::new(
        Database::open(url, Schema::Ca, &DbOptions::default())
            .await
            .map_err(fail)?,
    );

    // A software CA: the time under test is streaming and encoding.
    let signer = SoftwareSigner::generate(KeyType::P256, &mut rand::rng()).map_err(fail)?;
    let key = SubjectKey::from_spki(der::referenced::OwnedToRef::owned_to_ref(
        signer.public_key(),
    ))
    .map_err(fail)?;
    let profile =
        Profile::from_toml(builtin_profile_toml("root-ca").unwrap_or_default()).map_err(fail)?;
    let subject = parse_name("CN=Signet CRL Benchmark CA").map_err(fail)?;
    let ca = prepare_self_signed(
        &profile,
        &subject,
        &key,
        signer.algorithm(),
        Serial::random(&mut rand::rng()),
        now,
    )
    .and_then(|t| t.sign(&signer, &key))
    .map_err(fail)?;
    let urls = IssuerUrls {
        crl: Some("http://127.0.0.1/crl/bench.crl".into()),
        ..IssuerUrls::default()
    };
    let issuer = signet_core::Issuer::from_der(&ca.der, urls).map_err(fail)?;
    store
        .put_issuer(1, "bench", "software", &ca.der, now)
        .await
        .map_err(fail)?;

    let pb = ProgressBar::new(count as u64);
    pb.set_style(
        ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message("filling");
    let mut filled = 0;
    while filled < count {
        let n = (count - filled).min(50_000);
        signet_store::testing::fill_revoked(&store, 1, n, now)
            .await
            .map_err(fail)?;
        filled += n;
        pb.set_position(filled as u64);
    }
    pb.finish_and_clear();

    let baseline = rss_bytes();
    let sampler = PeakRss::start();
    let started = Instant::now();
    let mut entries = CrlEntries::new();
    let listed = store
        .for_each_revoked(1, 0, now, |e| {
            entries
                .push(&e.serial, e.revoked_at, e.reason, e.invalidity_date)
                .map_err(|_| signet_store::StoreError::Corrupt { what: "CRL entry" })
        })
        .await
        .map_err(fail)?;
    let streamed = started.elapsed();
    let spec = CrlSpec {
        signing: signer.algorithm(),
        this_update: now,
        next_update: now.plus(Duration::from_secs(86_400)),
        number: 1,
        delta_base: None,
        url: Some("http://127.0.0.1/crl/bench.crl".into()),
        delta_url: None,
        scope: CrlScope::UserCerts,
    };
    let tbs = crl_tbs(&issuer, &spec, entries).map_err(fail)?;
    let signature = signer.sign(&tbs).map_err(fail)?;
    let crl = assemble_signed(&tbs, signer.algorithm(), &signature).map_err(fail)?;
    drop(tbs);
    let elapsed = started.elapsed();
    let peak = sampler.finish();

    println!(
        "signet bench crl: {listed} entries, {:.1} MB DER in {:.2} s (streaming and encoding {:.2} s), \
         peak memory {:.0} MB above the process's {:.0} MB",
        crl.len() as f64 / 1e6,
        elapsed.as_secs_f64(),
        streamed.as_secs_f64(),
        peak.saturating_sub(baseline) as f64 / 1e6,
        baseline as f64 / 1e6,
    );
    store.database().close().await;
    Ok(())
}

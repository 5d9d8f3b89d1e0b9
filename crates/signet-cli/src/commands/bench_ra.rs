//! `signet bench ra-batch`: N certificates through the RA's batch API
//! against N through the CA alone, in one run on one fresh home.
//!
//! The benchmark makes its own home (`signet init` in a temporary
//! directory, or `--home`), raises the RA's `batch.max_rows` and
//! `api.max_batch_body_bytes` in that home's `ra.toml` so N rows fit, and
//! starts the CA (`signet ca serve`) and the RA (`signet ra serve`) as
//! processes of their own, so the RA's peak memory is its own `VmHWM`.
//! Then, after making N CSRs (not timed):
//!
//! 1. CA only: the same CSRs issued through the CA over mutual TLS, 100
//!    per batch call, 64 calls in flight (the `signet bench issue` path);
//! 2. RA: `POST /api/v1/batches` with the N rows as the home's
//!    administrator (API client `signet-cli`), polling
//!    `GET /api/v1/batches/{id}` until done, then
//!    `GET /api/v1/batches/{id}/result.zip`; timed from the submission to
//!    the ZIP in hand, split into filing (the 202 answer), issuing and the
//!    download.
//!
//! It prints both rates, their ratio (the goal is RA >= 70% of CA-only),
//! the RA's peak resident memory and the CPU time the RA and the CA
//! processes spent on the RA run. docs/benchmarks.md records runs.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt as _, Full};
use serde::Deserialize;
use signet_core::{Clock as _, SystemClock};
use tokio::io::AsyncBufReadExt as _;

use crate::error::CliError;
use crate::home::Manifest;

/// How late the batch's "done" may be seen: at most 1% of the time
/// since the batch was sent, between 20 ms and 200 ms (a fixed 100 ms
/// was 2–3% of a 10,000-row run). A 100,000-row run polls about 400
/// times, within the API client's 600 calls a minute.
fn poll_interval(elapsed: Duration) -> Duration {
    (elapsed / 100).clamp(Duration::from_millis(20), Duration::from_millis(200))
}

/// `signet bench ra-batch`.
#[derive(Debug, Args)]
pub struct BenchRaArgs {
    /// Rows in the batch (and certificates in the CA-only run).
    #[arg(long, default_value_t = 10_000)]
    pub rows: usize,
    /// Key type of the home's CAs and of the subscriber CSRs.
    #[arg(long, default_value = "p256", value_parser = ["p256", "p384", "rsa2048"])]
    pub key_type: String,
    /// Where to make the home (default: a temporary directory, removed
    /// afterwards). Must not exist yet.
    #[arg(long)]
    pub home: Option<PathBuf>,
    /// First of the four ports the home's services use.
    #[arg(long, default_value_t = 25_500)]
    pub base_port: u16,
    /// CA-only run: requests in flight.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// CA-only run: CSRs per batch call.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// RA batch job: rows per CA call (`batch.chunk_size` in the bench's
    /// `ra.toml`; the RA's default when not given).
    #[arg(long)]
    pub chunk_size: Option<usize>,
}

fn fail(what: &str, e: impl std::fmt::Display) -> CliError {
    CliError::Service(format!("{what}: {e}"))
}

/// A service process of the bench home, killed when dropped.
struct Service {
    child: tokio::process::Child,
    pid: u32,
}

impl Service {
    /// Starts `signet <args>` and waits for the line starting with
    /// `ready` on its standard output.
    async fn start(
        args: &[&str],
        config: &Path,
        ready: &str,
        log: &Path,
    ) -> Result<Self, CliError> {
        let exe = std::env::current_exe()?;
        let mut child = tokio::process::Command::new(exe)
            .args(args)
            .arg("--config")
            .arg(config)
            .args(["--log", "warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log)?)
            .kill_on_drop(true)
            .spawn()?;
        let pid = child.id().ok_or_else(|| fail(ready, "exited at once"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| fail(ready, "no standard output"))?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let wait = async {
            while let Some(line) = lines.next_line().await? {
                if line.starts_with(ready) {
                    return Ok(true);
                }
            }
            Ok::<bool, std::io::Error>(false)
        };
        match tokio::time::timeout(Duration::from_secs(60), wait).await {
            Ok(Ok(true)) => Ok(Service { child, pid }),
            _ => Err(fail(
                ready,
                format!("did not start; its log is {}", log.display()),
            )),
        }
    }

    /// A field of `/proc/<pid>/status`, in kB.
    fn status_kb(&self, field: &str) -> Option<u64> {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
    }

    /// User plus system CPU time so far, seconds (`/proc/<pid>/stat`).
    fn cpu_seconds(&self) -> f64 {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) else {
            return 0.0;
        };
        // Fields after the command name (which may hold spaces): state is
        // field 3, utime 14 and stime 15.
        let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // 100 ticks per second on Linux (USER_HZ).
        (ticks(11) + ticks(12)) as f64 / 100.0
    }

    async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// The RA API over mutual TLS as the home's administrator, raw: the
/// result is a ZIP, not JSON.
struct RaApi {
    base: String,
    http: hyper_util::client::legacy::Client<signet_tls::MtlsConnector, Full<Bytes>>,
}

impl RaApi {
    fn new(manifest: &Manifest) -> Result<Self, CliError> {
        let (Some(base), Some(roots)) = (&manifest.services.ra, &manifest.admin.ra_root) else {
            return Err(CliError::Home("the bench home has no RA".into()));
        };
        let identity =
            signet_tls::Identity::from_pem_files(&manifest.admin.certificate, &manifest.admin.key)
                .map_err(|e| CliError::Home(format!("administrator credentials: {e}")))?;
        let roots = signet_tls::load_roots(roots).map_err(|e| CliError::Home(e.to_string()))?;
        let tls = signet_tls::client_config(&identity, roots)
            .map_err(|e| CliError::Home(e.to_string()))?;
        Ok(RaApi {
            base: base.trim_end_matches('/').to_owned(),
            http: signet_tls::https_client(tls),
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Bytes), CliError> {
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.base));
        if method == Method::POST {
            builder = builder
                .header(header::CONTENT_TYPE, "application/json")
                .header(
                    signet_api::ra::TIMESTAMP_HEADER,
                    SystemClock.now().unix().to_string(),
                )
                .header(
                    signet_api::ra::NONCE_HEADER,
                    format!("{:032x}", rand::random::<u128>()),
                );
        }
        let request = builder
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| fail("RA request", e))?;
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| fail("RA", signet_tls::describe_handshake_error(&e)))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| fail("RA answer", e))?
            .to_bytes();
        Ok((status, bytes))
    }
}

/// What the RA says of a batch (the fields the benchmark reads).
#[derive(Deserialize)]
struct BatchState {
    id: String,
    status: String,
    total: u64,
    issued: u64,
    failed: u64,
}

fn batch_state(status: StatusCode, body: &[u8], what: &str) -> Result<BatchState, CliError> {
    if !status.is_success() {
        let text = String::from_utf8_lossy(body);
        return Err(fail(
            what,
            format!("{status}: {}", text.chars().take(400).collect::<String>()),
        ));
    }
    serde_json::from_slice(body).map_err(|e| fail(what, e))
}

/// Raises the limits of the bench home's `ra.toml` so `rows` rows fit in
/// one batch: `batch.max_rows`, `api.max_batch_body_bytes` (about 1 KiB a
/// row plus room), and the batch job's chunk size if asked.
fn raise_limits(ra_toml: &Path, rows: usize, chunk_size: Option<usize>) -> Result<(), CliError> {
    let text = std::fs::read_to_string(ra_toml)?;
    let mut doc: toml::Table =
        toml::from_str(&text).map_err(|e| CliError::Home(format!("ra.toml: {e}")))?;
    let int = |n: usize| toml::Value::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    let table = |doc: &mut toml::Table, name: &str| -> Result<toml::Table, CliError> {
        match doc.remove(name) {
            Some(toml::Value::Table(t)) => Ok(t),
            None => Ok(toml::Table::new()),
            Some(_) => Err(CliError::Home(format!("ra.toml: [{name}] is not a table"))),
        }
    };
    let mut batch = table(&mut doc, "batch")?;
    batch.insert("max_rows".into(), int(rows.max(10_000)));
    if let Some(c) = chunk_size {
        batch.insert("chunk_size".into(), int(c));
    }
    doc.insert("batch".into(), toml::Value::Table(batch));
    let mut api = table(&mut doc, "api")?;
    let body = rows
        .saturating_mul(1536)
        .saturating_add(1 << 20)
        .max(32 << 20);
    api.insert("max_batch_body_bytes".into(), int(body));
    doc.insert("api".into(), toml::Value::Table(api));
    let text = toml::to_string(&doc).map_err(|e| CliError::Home(format!("ra.toml: {e}")))?;
    std::fs::write(ra_toml, text)?;
    Ok(())
}

/// Runs `signet init` for the bench home (quietly).
async fn init_home(home: &Path, key_type: &str, base_port: u16) -> Result<(), CliError> {
    let exe = std::env::current_exe()?;
    let out = tokio::process::Command::new(exe)
        .args(["init", "--home"])
        .arg(home)
        .args(["--key-type", key_type, "--base-port"])
        .arg(base_port.to_string())
        .args(["--log", "warn"])
        .stdin(Stdio::null())
        .output()
        .await?;
    if !out.status.success() {
        return Err(fail(
            "signet init",
            String::from_utf8_lossy(&out.stderr).trim(),
        ));
    }
    Ok(())
}

fn mib(kb: Option<u64>) -> String {
    kb.map_or_else(
        || "?".to_owned(),
        |k| format!("{:.0} MiB", k as f64 / 1024.0),
    )
}

/// Runs `signet bench ra-batch`.
pub async fn run(args: BenchRaArgs) -> Result<(), CliError> {
    if args.rows == 0 {
        return Err(CliError::Usage("--rows must be at least 1".into()));
    }
    let temp = std::env::temp_dir().join(format!("signet-bench-ra-{}", std::process::id()));
    let (home, owned) = match &args.home {
        Some(h) => (h.clone(), false),
        None => (temp.join("home"), true),
    };
    std::fs::create_dir_all(home.parent().unwrap_or(Path::new("/")))?;
    let result = measure(&args, &home).await;
    if owned {
        let _ = std::fs::remove_dir_all(&temp);
    }
    result
}

async fn measure(args: &BenchRaArgs, home: &Path) -> Result<(), CliError> {
    println!(
        "signet bench ra-batch: {} rows, key type {}, SQLite, CA-only run with {} in flight x {} per call",
        args.rows, args.key_type, args.concurrency, args.batch
    );
    init_home(home, &args.key_type, args.base_port).await?;
    let (layout, manifest) = Manifest::load(home)?;
    let ra_toml = super::ra::config_path(&layout.config());
    raise_limits(&ra_toml, args.rows, args.chunk_size)?;
    let logs = layout.root.join("bench-logs");
    std::fs::create_dir_all(&logs)?;
    let ca_proc = Service::start(
        &["ca", "serve"],
        &layout.ca_config(),
        "ca ",
        &logs.join("ca.log"),
    )
    .await?;
    let ra_proc = Service::start(&["ra", "serve"], &ra_toml, "ra ", &logs.join("ra.log")).await?;

    let csrs = super::bench::make_csrs(args.rows, &args.key_type)?;

    // (a) CA only, warmed up with a few calls first.
    let ca = manifest.ca_client()?;
    let warm = csrs.get(..csrs.len().min(200)).unwrap_or_default();
    super::bench::through_ca(&ca, warm, args.concurrency, args.batch).await?;
    let (ca_issued, ca_elapsed) =
        super::bench::through_ca(&ca, &csrs, args.concurrency, args.batch).await?;
    let ca_rate = ca_issued as f64 / ca_elapsed.as_secs_f64();
    println!(
        "  CA only (mTLS)      {ca_issued:>7} certificates in {:>7.2} s = {ca_rate:>7.0} /s",
        ca_elapsed.as_secs_f64()
    );

    // (b) Through the RA: one batch, from submission to the ZIP in hand.
    let api = RaApi::new(&manifest)?;
    let rows: Vec<serde_json::Value> = csrs
        .iter()
        .map(|c| serde_json::json!({"profile": "server", "csr": c}))
        .collect();
    let body = serde_json::to_vec(&serde_json::json!({ "rows": rows }))
        .map_err(|e| fail("batch body", e))?;
    drop(rows);
    let rss_before = ra_proc.status_kb("VmRSS");
    let (ra_cpu, ca_cpu) = (ra_proc.cpu_seconds(), ca_proc.cpu_seconds());
    let pb = super::bench::bar(args.rows as u64, "RA batch");
    let started = Instant::now();
    let (status, answer) = api
        .call(Method::POST, "/api/v1/batches", Some(body))
        .await?;
    let filed = batch_state(status, &answer, "POST /api/v1/batches")?;
    let filed_at = started.elapsed();
    let path = format!("/api/v1/batches/{}", filed.id);
    let mut state = filed;
    while state.status != "done" {
        tokio::time::sleep(poll_interval(started.elapsed())).await;
        let (status, answer) = api.call(Method::GET, &path, None).await?;
        state = batch_state(status, &answer, "GET /api/v1/batches/{id}")?;
        pb.set_position(state.issued + state.failed);
        if state.status != "running" && state.status != "done" {
            return Err(fail("RA batch", format!("status {}", state.status)));
        }
    }
    let issued_at = started.elapsed();
    let (status, zip) = api
        .call(Method::GET, &format!("{path}/result.zip"), None)
        .await?;
    let elapsed = started.elapsed();
    pb.finish_and_clear();
    if status != StatusCode::OK || !zip.starts_with(b"PK\x03\x04") {
        return Err(fail("result.zip", status));
    }
    if state.issued != state.total || state.total != args.rows as u64 {
        return Err(fail(
            "RA batch",
            format!(
                "{} of {} rows issued, {} failed (see {})",
                state.issued,
                args.rows,
                state.failed,
                logs.display()
            ),
        ));
    }
    let ra_rate = state.issued as f64 / elapsed.as_secs_f64();
    let (ra_cpu, ca_cpu) = (
        ra_proc.cpu_seconds() - ra_cpu,
        ca_proc.cpu_seconds() - ca_cpu,
    );
    let peak = ra_proc.status_kb("VmHWM");
    println!(
        "  RA batch API        {:>7} certificates in {:>7.2} s = {ra_rate:>7.0} /s  (filed {:.2} s, issued {:.2} s, ZIP {:.2} s, {:.1} MB)",
        state.issued,
        elapsed.as_secs_f64(),
        filed_at.as_secs_f64(),
        (issued_at - filed_at).as_secs_f64(),
        (elapsed - issued_at).as_secs_f64(),
        zip.len() as f64 / 1e6
    );
    println!(
        "  RA / CA only        {:>6.0}%  (goal >= 70%)",
        100.0 * ra_rate / ca_rate
    );
    println!(
        "  RA process          peak {} (VmHWM; {} resident before the batch), CPU {ra_cpu:.1} s; CA process CPU {ca_cpu:.1} s",
        mib(peak),
        mib(rss_before)
    );
    ra_proc.stop().await;
    ca_proc.stop().await;
    Ok(())
}

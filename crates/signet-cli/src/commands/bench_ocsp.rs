//! `signet bench ocsp`: the OCSP responder under load from wrk on
//! loopback, beside OpenSSL's responder answering the same requests, and
//! the delay between a revocation and the first OCSP answer saying so.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use der::{Decode, Encode};
use sha1::Digest as _;
use signet_api::ca::{BatchIssueRequest, BatchItem, IssueRequest, RevokeRequest};
use signet_core::ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, Request, TbsRequest,
};
use x509_cert::Certificate;

use crate::cli::BenchWhat;
use crate::error::CliError;
use crate::home::Manifest;

fn fail(e: impl std::fmt::Display) -> CliError {
    CliError::Service(e.to_string())
}

/// One certificate of the test population.
struct Issued {
    serial: String,
    revoked: bool,
    not_after: String,
}

/// An OCSP request for `serial` under `issuer` (SHA-1 CertID, as most
/// clients send), with an optional nonce.
fn ocsp_request(
    issuer: &Certificate,
    serial_hex: &str,
    nonce: Option<&[u8]>,
) -> Result<Vec<u8>, CliError> {
    let tbs = issuer.tbs_certificate();
    let name_hash = sha1::Sha1::digest(tbs.subject().to_der().map_err(fail)?);
    let key_hash = sha1::Sha1::digest(tbs.subject_public_key_info().subject_public_key.raw_bytes());
    let serial: signet_core::Serial = serial_hex.parse().map_err(fail)?;
    let cert_id = CertId {
        hash_algorithm: spki::AlgorithmIdentifierOwned {
            oid: signet_core::algorithm::oid::SHA1,
            parameters: Some(der::Any::from(der::asn1::Null)),
        },
        issuer_name_hash: der::asn1::OctetString::new(name_hash.to_vec()).map_err(fail)?,
        issuer_key_hash: der::asn1::OctetString::new(key_hash.to_vec()).map_err(fail)?,
        serial_number: serial.to_serial_number().map_err(fail)?,
    };
    let extensions = match nonce {
        Some(n) => Some(vec![x509_cert::ext::Extension {
            extn_id: signet_core::ocsp::ID_PKIX_OCSP_NONCE,
            critical: false,
            extn_value: der::asn1::OctetString::new(
                der::asn1::OctetString::new(n.to_vec())
                    .map_err(fail)?
                    .to_der()
                    .map_err(fail)?,
            )
            .map_err(fail)?,
        }]),
        None => None,
    };
    OcspRequest {
        tbs_request: TbsRequest {
            version: 0,
            requestor_name: None,
            request_list: vec![Request {
                req_cert: cert_id,
                single_request_extensions: None,
            }],
            request_extensions: extensions,
        },
        optional_signature: None,
    }
    .to_der()
    .map_err(fail)
}

/// The status in an OCSP response for a single certificate.
fn response_status(der: &[u8]) -> Option<&'static str> {
    let response = OcspResponse::from_der(der).ok()?;
    let bytes = response.response_bytes?;
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).ok()?;
    match basic.tbs_response_data.responses.first()?.cert_status {
        CertStatus::Good(_) => Some("good"),
        CertStatus::Revoked(_) => Some("revoked"),
        CertStatus::Unknown(_) => Some("unknown"),
    }
}

/// What one wrk run measured.
struct WrkResult {
    requests: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

const WRK_LUA: &str = r#"
local bodies = {}
local mode = os.getenv("SIGNET_WRK_MODE")
local f = io.open(os.getenv("SIGNET_WRK_FILE"), "rb")
local data = f:read("*a")
f:close()
local pos = 1
while pos <= #data do
  local len = string.byte(data, pos) * 256 + string.byte(data, pos + 1)
  bodies[#bodies + 1] = data:sub(pos + 2, pos + 1 + len)
  pos = pos + 2 + len
end
local i = 0
local path = os.getenv("SIGNET_WRK_PATH")
function init(args)
  i = math.random(#bodies) - 1
end
function request()
  i = i % #bodies + 1
  if mode == "get" then
    return wrk.format("GET", path .. bodies[i])
  end
  return wrk.format("POST", path, {["Content-Type"] = "application/ocsp-request"}, bodies[i])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("SIGNET %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"#;

/// Runs wrk against `url`, cycling through `items` (GET path suffixes or
/// POST bodies), and reads the line the Lua `done` hook prints.
fn wrk(
    work: &Path,
    url: &str,
    mode: &str,
    items: &[Vec<u8>],
    connections: usize,
    seconds: u64,
    close: bool,
) -> Result<WrkResult, CliError> {
    let script = work.join("signet.lua");
    std::fs::write(&script, WRK_LUA)?;
    let data = work.join(format!("{mode}.bin"));
    let mut buf = Vec::new();
    for item in items {
        let len = u16::try_from(item.len()).map_err(fail)?;
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(item);
    }
    std::fs::write(&data, buf)?;
    let parsed: url_parts::Parts = url_parts::split(url)?;
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t",
        "2",
        "-c",
        &connections.to_string(),
        "-d",
        &format!("{seconds}s"),
        "-s",
    ])
    .arg(&script)
    .arg(&parsed.origin)
    .env("SIGNET_WRK_MODE", mode)
    .env("SIGNET_WRK_FILE", &data)
    .env("SIGNET_WRK_PATH", &parsed.path)
    .stderr(Stdio::null());
    if close {
        cmd.args(["-H", "Connection: close"]);
    }
    let out = cmd
        .output()
        .map_err(|e| CliError::Usage(format!("cannot run wrk (apt-get install wrk): {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("SIGNET "))
        .ok_or_else(|| CliError::Service(format!("wrk printed no result: {text}")))?;
    let n: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let get = |i: usize| n.get(i).copied().unwrap_or(0);
    Ok(WrkResult {
        requests: get(0),
        seconds: get(1) as f64 / 1e6,
        p50_ms: get(2) as f64 / 1e3,
        p99_ms: get(3) as f64 / 1e3,
        errors: get(4),
    })
}

mod url_parts {
    use crate::error::CliError;

    pub struct Parts {
        pub origin: String,
        pub path: String,
    }

    /// `http://host:port/path` -> (`http://host:port`, `/path`).
    pub fn split(url: &str) -> Result<Parts, CliError> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| CliError::Usage(format!("{url} is not an http:// URL")))?;
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        Ok(Parts {
            origin: format!("http://{host}"),
            path: format!("/{path}"),
        })
    }
}

fn report(name: &str, r: &WrkResult) {
    println!(
        "  {name:<32} {:>9.0} responses/s   p50 {:>6.2} ms   p99 {:>6.2} ms   errors {}",
        r.requests as f64 / r.seconds.max(f64::EPSILON),
        r.p50_ms,
        r.p99_ms,
        r.errors
    );
}

/// Issues `count` certificates, revokes a share of them, returns them all.
async fn population(
    manifest: &Manifest,
    count: usize,
    share: f64,
) -> Result<Vec<Issued>, CliError> {
    let client = manifest.ca_client()?;
    let csrs = super::bench::make_csrs(count.min(2000), "p256")?;
    let run = super::enroll::new_request_id();
    let mut issued = Vec::with_capacity(count);
    let mut tasks = tokio::task::JoinSet::new();
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
    for start in (0..count).step_by(100) {
        let requests: Vec<IssueRequest> = (start..(start + 100).min(count))
            .map(|i| IssueRequest {
                request_id: format!("{run}-{i}"),
                profile: "server".into(),
                // The same few thousand keys serve many certificates: the
                // responder only sees serials.
                csr: csrs.get(i % csrs.len().max(1)).cloned().unwrap_or_default(),
                issuer: None,
                subject: None,
                sans: None,
                validity_days: None,
            })
            .collect();
        let client = client.clone();
        let permit = std::sync::Arc::clone(&semaphore)
            .acquire_owned()
            .await
            .map_err(fail)?;
        tasks.spawn(async move {
            let _permit = permit;
            client.issue_batch(&BatchIssueRequest { requests }).await
        });
    }
    while let Some(r) = tasks.join_next().await {
        for item in r.map_err(fail)??.results {
            if let BatchItem::Issued(c) = item {
                issued.push(Issued {
                    serial: c.serial,
                    revoked: false,
                    not_after: c.not_after,
                });
            }
        }
    }
    // Per mille, in integers: the share is a user-given fraction.
    #[allow(clippy::cast_possible_truncation)] // clamped to 0..=1000 first
    let per_mille = (share.clamp(0.0, 1.0) * 1000.0).round() as u64;
    let to_revoke = usize::try_from(issued.len() as u64 * per_mille / 1000).unwrap_or(0);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, cert) in issued.iter_mut().take(to_revoke).enumerate() {
        cert.revoked = true;
        let client = client.clone();
        let serial = cert.serial.clone();
        let permit = std::sync::Arc::clone(&semaphore)
            .acquire_owned()
            .await
            .map_err(fail)?;
        tasks.spawn(async move {
            let _permit = permit;
            let reason = if i % 2 == 0 {
                "keyCompromise"
            } else {
                "superseded"
            };
            client
                .revoke(
                    &serial,
                    &RevokeRequest {
                        reason: reason.into(),
                        invalidity_date: None,
                        issuer: None,
                        crl_now: false,
                    },
                )
                .await
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.map_err(fail)??;
    }
    Ok(issued)
}

/// `openssl ocsp -index` wants the CA database format of `openssl ca`.
/// (`openssl ca` refuses duplicate subjects in it by default: each row
/// gets its own.)
fn openssl_index(certs: &[Issued]) -> String {
    let mut out = String::new();
    for c in certs {
        // notAfter as YYMMDDHHMMSSZ from RFC 3339.
        let d: String = c.not_after.chars().filter(char::is_ascii_digit).collect();
        let expiry = format!("{}Z", d.get(2..14).unwrap_or("991231235959"));
        if c.revoked {
            let _ = writeln!(
                out,
                "R\t{expiry}\t{expiry},keyCompromise\t{serial}\tunknown\t/CN=bench-{serial}",
                serial = c.serial.to_uppercase()
            );
        } else {
            let _ = writeln!(
                out,
                "V\t{expiry}\t\t{serial}\tunknown\t/CN=bench-{serial}",
                serial = c.serial.to_uppercase()
            );
        }
    }
    out
}

/// Runs the benchmark.
pub async fn run(what: BenchWhat) -> Result<(), CliError> {
    let BenchWhat::Ocsp {
        home,
        certs,
        revoked,
        duration,
        connections,
        no_openssl,
    } = what
    else {
        return Ok(());
    };
    let (layout, manifest) = Manifest::load(&home)?;
    let base =
        manifest.services.ocsp.clone().unwrap_or_else(|| {
            format!("http://127.0.0.1:{}", manifest.base_port.saturating_add(1))
        });
    let url = format!("{base}/ocsp");
    let issuing_pem = std::fs::read(layout.root.join("issuing.pem"))?;
    let issuer = Certificate::from_der(
        signet_core::pem::certificates_from_pem(&issuing_pem)
            .map_err(fail)?
            .first()
            .ok_or_else(|| fail("no issuing.pem"))?,
    )
    .map_err(fail)?;

    println!(
        "signet bench ocsp: {certs} certificates, {:.0}% revoked, wrk -t2 -c{connections} -d{duration}s",
        revoked * 100.0
    );
    let started = Instant::now();
    let population = population(&manifest, certs, revoked).await?;
    println!(
        "  population issued and revoked in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let work = std::env::temp_dir().join(format!("signet-bench-ocsp-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    // Requests over the whole population, revoked and good mixed.
    let step = (population.len() / 10_000).max(1);
    let sample: Vec<&Issued> = population.iter().step_by(step).collect();
    let posts: Vec<Vec<u8>> = sample
        .iter()
        .map(|c| ocsp_request(&issuer, &c.serial, None))
        .collect::<Result<_, _>>()?;
    let gets: Vec<Vec<u8>> = posts
        .iter()
        .map(|p| {
            let b64 = base64::engine::general_purpose::STANDARD.encode(p);
            format!(
                "/{}",
                b64.replace('+', "%2B")
                    .replace('/', "%2F")
                    .replace('=', "%3D")
            )
            .into_bytes()
        })
        .collect();
    let nonced: Vec<Vec<u8>> = sample
        .iter()
        .map(|c| ocsp_request(&issuer, &c.serial, Some(&rand::random::<[u8; 16]>())))
        .collect::<Result<_, _>>()?;

    // Warm the cache as relying parties would, then measure.
    let _ = wrk(&work, &url, "post", &posts, connections, 3, false)?;
    report(
        "cached GET",
        &wrk(&work, &url, "get", &gets, connections, duration, false)?,
    );
    report(
        "cached POST",
        &wrk(&work, &url, "post", &posts, connections, duration, false)?,
    );
    report(
        "nonce POST (signed fresh)",
        &wrk(&work, &url, "post", &nonced, connections, duration, false)?,
    );

    // Revocation to OCSP: how long until the first answer says revoked.
    let client = manifest.ca_client()?;
    let http = latency_probe::Client::new();
    let mut delays = Vec::new();
    for c in population.iter().filter(|c| !c.revoked).take(20) {
        let body = ocsp_request(&issuer, &c.serial, None)?;
        let _ = http.post(&url, &body).await?;
        client
            .revoke(
                &c.serial,
                &RevokeRequest {
                    reason: "keyCompromise".into(),
                    invalidity_date: None,
                    issuer: None,
                    crl_now: false,
                },
            )
            .await?;
        let revoked_at = Instant::now();
        loop {
            let answer = http.post(&url, &body).await?;
            if response_status(&answer) == Some("revoked") {
                delays.push(revoked_at.elapsed());
                break;
            }
            if revoked_at.elapsed() > Duration::from_secs(10) {
                return Err(CliError::Service(format!(
                    "serial {} not revoked in OCSP after 10 s",
                    c.serial
                )));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    delays.sort();
    if let (Some(median), Some(max)) = (delays.get(delays.len() / 2), delays.last()) {
        println!(
            "  revocation visible in OCSP       median {:.0} ms, max {:.0} ms after `revoke` returned ({} revocations)",
            median.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            delays.len()
        );
    }

    if !no_openssl {
        // The same requests against `openssl ocsp -index` (throwaway signer:
        // wrk does not check signatures).
        std::fs::write(work.join("index.txt"), openssl_index(&population))?;
        std::fs::write(work.join("issuing.pem"), &issuing_pem)?;
        let ok = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-subj",
                "/CN=openssl responder",
                "-days",
                "2",
            ])
            .arg("-keyout")
            .arg(work.join("rsigner.key"))
            .arg("-out")
            .arg(work.join("rsigner.pem"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(fail)?
            .success();
        if ok {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .map_err(fail)?;
            let mut responder = Command::new("openssl")
                .args(["ocsp", "-port", &port.to_string(), "-nmin", "60", "-index"])
                .arg(work.join("index.txt"))
                .arg("-CA")
                .arg(work.join("issuing.pem"))
                .arg("-rsigner")
                .arg(work.join("rsigner.pem"))
                .arg("-rkey")
                .arg(work.join("rsigner.key"))
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(work.join("openssl-ocsp.log"))?)
                .spawn()
                .map_err(fail)?;
            tokio::time::sleep(Duration::from_secs(2)).await;
            if let Ok(Some(status)) = responder.try_wait() {
                let log =
                    std::fs::read_to_string(work.join("openssl-ocsp.log")).unwrap_or_default();
                return Err(CliError::Service(format!(
                    "openssl ocsp exited ({status}): {}",
                    log.lines().take(3).collect::<Vec<_>>().join(" / ")
                )));
            }
            // OpenSSL's responder serves one connection at a time and
            // reads a request only from a connection that closes after
            // it; wrk stalls it. Both responders get the same client here:
            // one new connection per request, `connections` at a time.
            let openssl_addr = format!("127.0.0.1:{port}");
            let result =
                closed_connections(&openssl_addr, "/", &posts, connections, duration).await;
            let _ = responder.kill();
            let _ = responder.wait();
            report("openssl ocsp -index (POST, close)", &result?);
            let ours = url_parts::split(&url)?;
            let addr = ours.origin.trim_start_matches("http://").to_owned();
            report(
                "signet (POST, close)",
                &closed_connections(&addr, &ours.path, &posts, connections, duration).await?,
            );
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// Load with one TCP connection per request (HTTP/1.0 POST, `Connection:
/// close`), `connections` clients at once for `seconds`: what OpenSSL's
/// responder needs. A response counts when it is a successful OCSP
/// response.
async fn closed_connections(
    addr: &str,
    path: &str,
    bodies: &[Vec<u8>],
    connections: usize,
    seconds: u64,
) -> Result<WrkResult, CliError> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let requests: std::sync::Arc<Vec<Vec<u8>>> = std::sync::Arc::new(
        bodies
            .iter()
            .map(|b| {
                let mut r = format!(
                    "POST {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/ocsp-request\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    b.len()
                )
                .into_bytes();
                r.extend_from_slice(b);
                r
            })
            .collect(),
    );
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for client in 0..connections {
        let requests = std::sync::Arc::clone(&requests);
        let addr = addr.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut i = client;
            while Instant::now() < deadline {
                i = (i + 1) % requests.len().max(1);
                let Some(request) = requests.get(i) else {
                    break;
                };
                let sent = Instant::now();
                let answer = async {
                    let mut stream = tokio::net::TcpStream::connect(&addr).await?;
                    stream.write_all(request).await?;
                    let mut buf = Vec::new();
                    stream.read_to_end(&mut buf).await?;
                    Ok::<_, std::io::Error>(buf)
                };
                match tokio::time::timeout(Duration::from_secs(10), answer).await {
                    Ok(Ok(buf)) if successful(&buf) => latencies.push(sent.elapsed()),
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await.map_err(fail)?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    // The nearest-rank percentile, `per_mille` of 1000.
    let percentile = |per_mille: usize| {
        let at = latencies.len().saturating_sub(1) * per_mille / 1000;
        latencies.get(at).map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    Ok(WrkResult {
        requests: latencies.len() as u64,
        seconds: elapsed,
        p50_ms: percentile(500),
        p99_ms: percentile(990),
        errors,
    })
}

/// Whether a raw HTTP answer carries a successful OCSP response.
fn successful(raw: &[u8]) -> bool {
    let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    raw.get(at + 4..)
        .and_then(|body| OcspResponse::from_der(body).ok())
        .is_some_and(|r| r.response_status == signet_core::ocsp::OcspResponseStatus::Successful)
}

/// A minimal HTTP/1.1 POST client for the latency probe (wrk measures load).
mod latency_probe {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client as HyperClient;
    use hyper_util::rt::TokioExecutor;

    use crate::error::CliError;

    pub struct Client(
        HyperClient<hyper_util::client::legacy::connect::HttpConnector, Full<bytes::Bytes>>,
    );

    impl Client {
        pub fn new() -> Self {
            Client(HyperClient::builder(TokioExecutor::new()).build_http())
        }

        pub async fn post(&self, url: &str, body: &[u8]) -> Result<Vec<u8>, CliError> {
            let request = http::Request::post(url)
                .header("content-type", "application/ocsp-request")
                .body(Full::new(bytes::Bytes::copy_from_slice(body)))
                .map_err(|e| CliError::Service(e.to_string()))?;
            let response = self
                .0
                .request(request)
                .await
                .map_err(|e| CliError::Service(format!("OCSP request failed: {e}")))?;
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| CliError::Service(e.to_string()))?;
            Ok(body.to_bytes().to_vec())
        }
    }
}

//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Signet: a private certificate authority platform.
///
/// Start with `signet init --home ./pki`, then `signet up --home ./pki`.
#[derive(Debug, Parser)]
#[command(name = "signet", version, about, long_about = None)]
pub struct Cli {
    /// Log format for services: `json` (one object per line, for SIEMs) or `text`.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "SIGNET_LOG_FORMAT",
        default_value = "json"
    )]
    pub log_format: LogFormat,
    /// Log filter, e.g. `info` or `signet_ca=debug` (tracing's EnvFilter syntax).
    #[arg(long, global = true, env = "SIGNET_LOG", default_value = "info")]
    pub log: String,
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    /// JSON lines.
    Json,
    /// Human-readable lines.
    Text,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a complete PKI in a new directory: token, CA keys, root and
    /// issuing CA, platform CA and service certificates, configuration,
    /// databases and administrator credentials.
    Init(InitArgs),
    /// Start every service of a PKI home and print one line per service.
    Up(UpArgs),
    /// The CA signer service.
    Ca(ServiceArgs),
    /// The OCSP/CRL responder (plain HTTP, read-only on the CA database).
    Ocsp(ServiceArgs),
    /// The key management centre: serve, custodian backup and restore.
    Kmc(crate::commands::kmc::KmcArgs),
    /// The registration authority: officer console (serve).
    Ra(crate::commands::ra::RaArgs),
    /// The RA audit trail: verify its hash chain and signed checkpoints.
    Audit(crate::commands::audit::AuditArgs),
    /// Open an enveloped private key (dual certificates, key recovery).
    Envelope(crate::commands::envelope::EnvelopeArgs),
    /// Issue a certificate from a CSR; prints the certificate and its chain
    /// (without the root) as PEM on stdout.
    Enroll(EnrollArgs),
    /// Revoke a certificate for good.
    Revoke(RevokeArgs),
    /// Suspend a certificate (certificateHold); `resume` undoes it.
    Suspend(StatusArgs),
    /// Resume a suspended certificate.
    Resume(StatusArgs),
    /// Show what the CA knows of a certificate.
    Show(StatusArgs),
    /// Measure performance (see docs/benchmarks.md).
    Bench(BenchArgs),
}

/// `signet init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The PKI home to create; must not exist or be empty.
    #[arg(long)]
    pub home: PathBuf,
    /// Key type of the root and issuing CA keys.
    #[arg(long, default_value = "p256", value_parser = ["p256", "p384", "rsa2048", "rsa3072", "rsa4096", "sm2"])]
    pub key_type: String,
    /// First port: RA = B, OCSP/CRL = B+1, CA = B+2, KMC = B+3.
    #[arg(long, default_value_t = 8443)]
    pub base_port: u16,
    /// Put every service's database on this PostgreSQL server
    /// (`postgres://...`) instead of SQLite files under the home.
    #[arg(long)]
    pub database: Option<String>,
    /// Organisation name in CA subjects.
    #[arg(long, default_value = "Signet PKI")]
    pub org: String,
    /// Host name or address relying parties use to reach the OCSP/CRL
    /// service; it goes into every certificate's AIA and CDP URLs.
    #[arg(long, default_value = "127.0.0.1")]
    pub public_host: String,
    /// PKCS#11 module.
    #[arg(long, default_value = signet_token::DEFAULT_MODULE)]
    pub module: PathBuf,
}

/// `signet up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// The PKI home.
    #[arg(long)]
    pub home: PathBuf,
}

/// `signet <service> serve`.
#[derive(Debug, Args)]
pub struct ServiceArgs {
    #[command(subcommand)]
    pub action: ServiceAction,
}

/// What to do with a service.
#[derive(Debug, Subcommand)]
pub enum ServiceAction {
    /// Run the service alone from its configuration file.
    Serve {
        /// The service's TOML configuration (e.g. HOME/config/ca.toml).
        #[arg(long)]
        config: PathBuf,
    },
}

/// `signet enroll`.
#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// The PKI home whose administrator enrolls.
    #[arg(long)]
    pub home: PathBuf,
    /// Certificate profile.
    #[arg(long)]
    pub profile: String,
    /// PKCS#10 request, PEM or DER.
    #[arg(long)]
    pub csr: PathBuf,
    /// Idempotency key: repeating a call with the same id returns the same
    /// certificate. Default: a fresh random id.
    #[arg(long)]
    pub request_id: Option<String>,
    /// Issuer name (default: the issuing CA).
    #[arg(long)]
    pub issuer: Option<String>,
    /// Subject DN replacing the CSR's (RFC 4514, e.g. `CN=host,O=Org`).
    #[arg(long)]
    pub subject: Option<String>,
    /// SAN replacing the CSR's (`DNS:x`, `IP:x`, `email:x`, `URI:x`); repeatable.
    #[arg(long = "san")]
    pub sans: Vec<String>,
    /// Validity in days (at most the profile's maximum).
    #[arg(long)]
    pub days: Option<u32>,
    /// Dual profiles: issue the signing and the encryption certificate
    /// (key escrowed by the KMC), print both, and write the encryption
    /// private key's envelope (DER) here; open it with `signet envelope open`.
    #[arg(long)]
    pub envelope_out: Option<std::path::PathBuf>,
}

/// `signet revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The PKI home.
    #[arg(long)]
    pub home: PathBuf,
    /// Serial number, hexadecimal.
    #[arg(long)]
    pub serial: String,
    /// RFC 5280 reason: unspecified, keyCompromise, cACompromise,
    /// affiliationChanged, superseded, cessationOfOperation,
    /// privilegeWithdrawn, aACompromise.
    #[arg(long, default_value = "unspecified")]
    pub reason: String,
    /// When the key was (suspected to be) compromised, RFC 3339.
    #[arg(long)]
    pub invalidity_date: Option<String>,
    /// Issuer name, if the serial is ambiguous.
    #[arg(long)]
    pub issuer: Option<String>,
    /// Publish a new CRL at once (emergency revocation).
    #[arg(long)]
    pub crl_now: bool,
}

/// `signet suspend|resume|show`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The PKI home.
    #[arg(long)]
    pub home: PathBuf,
    /// Serial number, hexadecimal.
    #[arg(long)]
    pub serial: String,
    /// Issuer name, if the serial is ambiguous.
    #[arg(long)]
    pub issuer: Option<String>,
}

/// `signet bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: BenchWhat,
}

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchWhat {
    /// Certificates per second through the running CA over mTLS, the raw
    /// token signing rate of the same key, and `openssl ca` on the same CSRs.
    Issue {
        /// The PKI home (its services must be up).
        #[arg(long)]
        home: PathBuf,
        /// Certificates to issue.
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        /// Requests in flight.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// CSRs per batch call (1 = one call per certificate).
        #[arg(long, default_value_t = 100)]
        batch: usize,
        /// Key type of the subscriber CSRs.
        #[arg(long, default_value = "p256")]
        csr_key_type: String,
        /// Skip the `openssl ca` comparison run.
        #[arg(long)]
        no_openssl: bool,
        /// Rounds of the CA measurement; the median is reported.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// OCSP responses per second and latency with wrk on loopback (cached
    /// GET and POST, freshly signed nonce responses), OpenSSL's responder on
    /// the same requests, and how soon a revocation shows in OCSP.
    Ocsp {
        /// The PKI home (its services must be up).
        #[arg(long)]
        home: PathBuf,
        /// Certificates to issue for the test population.
        #[arg(long, default_value_t = 100_000)]
        certs: usize,
        /// Share of them to revoke.
        #[arg(long, default_value_t = 0.1)]
        revoked: f64,
        /// Seconds per wrk run.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Connections wrk keeps open.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Skip the `openssl ocsp` responder comparison.
        #[arg(long)]
        no_openssl: bool,
    },
    /// Time and peak memory to build a CRL from a database of revoked
    /// certificates (SQLite in a temporary directory, software P-256 key).
    Crl {
        /// Revoked certificates in the CRL.
        #[arg(long, default_value_t = 1_000_000)]
        entries: usize,
    },
    /// Dual-certificate issuances per second (SM2, P-256) against single
    /// issuance, and data-key encrypt/decrypt operations per second for
    /// 1 KiB, through the running CA and KMC over mutual TLS.
    Kmc(crate::commands::bench_kmc::BenchKmcArgs),
    /// N certificates through the RA's batch API (submit, poll, result
    /// ZIP) against N through the CA alone, on a fresh home the benchmark
    /// makes, with the RA's peak memory.
    RaBatch(crate::commands::bench_ra::BenchRaArgs),
}

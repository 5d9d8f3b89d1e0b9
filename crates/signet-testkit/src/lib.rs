//! Test kit: creates PKI homes with the real `signet` binary and runs its
//! services on loopback, so tests exercise what users run.
//!
//! The binary is `target/<profile>/signet` next to the test executable, or
//! `$SIGNET_BIN`. Build it first (`cargo build -p signet-cli`); the README's
//! test command does.

#![forbid(unsafe_code)]
// A test kit fails loudly: a broken fixture should stop the test at once.
#![allow(
    clippy::panic,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing
)]

pub mod openssl;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use signet_api::ApiClient;
use signet_api::ca::CaClient;
use signet_api::ra::RaClient;

/// The `signet` binary under test.
pub fn signet_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("SIGNET_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test>-<hash> -> target/<profile>/signet
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("signet");
    assert!(
        bin.exists(),
        "{} does not exist: build it first with `cargo build -p signet-cli` (or set SIGNET_BIN)",
        bin.display()
    );
    bin
}

/// Four consecutive free loopback ports (RA, OCSP, CA, KMC).
pub fn free_base_port() -> u16 {
    for _ in 0..200 {
        let probe = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = probe.local_addr().expect("addr").port();
        drop(probe);
        if base > u16::MAX - 4 {
            continue;
        }
        let all_free = (0..4).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if all_free {
            return base;
        }
    }
    panic!("no four consecutive free ports");
}

/// How to create a PKI home.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// `--key-type`.
    pub key_type: String,
    /// `--database` (a PostgreSQL URL), or SQLite files when `None`.
    pub database: Option<String>,
}

impl InitOptions {
    /// SQLite home with CA keys of `key_type`.
    pub fn key_type(key_type: &str) -> Self {
        InitOptions {
            key_type: key_type.to_owned(),
            database: None,
        }
    }
}

/// A PKI home in a temporary directory, removed on drop.
#[derive(Debug)]
pub struct Pki {
    /// The home.
    pub home: PathBuf,
    /// `--base-port`.
    pub base_port: u16,
    /// CA key type.
    pub key_type: String,
    _dir: tempfile::TempDir,
}

impl Pki {
    /// `signet init` with CA keys of `key_type`.
    pub fn init(key_type: &str) -> Pki {
        Self::init_with(InitOptions::key_type(key_type))
    }

    /// `signet init` with options.
    pub fn init_with(options: InitOptions) -> Pki {
        let dir = tempfile::Builder::new()
            .prefix("signet-pki-")
            .tempdir()
            .expect("tempdir");
        let home = dir.path().join("pki");
        let base_port = free_base_port();
        let port = base_port.to_string();
        let mut args = vec![
            "init",
            "--home",
            home.to_str().unwrap(),
            "--key-type",
            &options.key_type,
            "--base-port",
            &port,
        ];
        if let Some(db) = &options.database {
            args.extend(["--database", db.as_str()]);
        }
        let out = run_signet(&args);
        assert!(
            out.status.success(),
            "signet init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Pki {
            home,
            base_port,
            key_type: options.key_type,
            _dir: dir,
        }
    }

    /// Runs `signet <args>` with `--home <home>` appended.
    pub fn signet(&self, args: &[&str]) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--home", self.home.to_str().unwrap()]);
        run_signet(&all)
    }

    /// A path inside the home.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.home.join(rel)
    }

    /// Starts `signet up` and waits for its service lines: one per
    /// service whose configuration is in the home.
    pub fn up(&self) -> Services {
        let services = ["ca", "ocsp", "ra", "kmc"]
            .iter()
            .filter(|s| self.path(&format!("config/{s}.toml")).exists())
            .count();
        Services::start(&["up", "--home", self.home.to_str().unwrap()], services)
    }

    /// A CA client presenting the certificate and key at these paths.
    pub fn ca_client_as(&self, cert: &Path, key: &Path) -> CaClient {
        let identity = signet_tls::Identity::from_pem_files(cert, key).expect("identity");
        let roots = signet_tls::load_roots(&self.path("tls/platform-root.pem")).expect("roots");
        let tls = signet_tls::client_config(&identity, roots).expect("client config");
        CaClient(ApiClient::new(&self.ca_url(), Arc::clone(&tls)))
    }

    /// A CA client acting as the administrator.
    pub fn admin_client(&self) -> CaClient {
        self.ca_client_as(&self.path("tls/admin.pem"), &self.path("tls/admin.key"))
    }

    /// A client of the RA's REST API acting as the administrator (API
    /// client `signet-cli`, which `init` registers by `tls/admin.pem`),
    /// trusting the RA's web certificate through `root.pem`.
    pub fn ra_admin_client(&self) -> RaClient {
        let identity = signet_tls::Identity::from_pem_files(
            &self.path("tls/admin.pem"),
            &self.path("tls/admin.key"),
        )
        .expect("identity");
        let roots = signet_tls::load_roots(&self.path("root.pem")).expect("roots");
        let tls = signet_tls::client_config(&identity, roots).expect("client config");
        RaClient(ApiClient::new(&self.ra_url(), tls))
    }

    /// The RA's URL (console, portal and REST API).
    pub fn ra_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.base_port)
    }

    /// The CA's URL.
    pub fn ca_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.base_port + 2)
    }

    /// The OCSP/CRL responder's base URL (plain HTTP).
    pub fn ocsp_base(&self) -> String {
        format!("http://127.0.0.1:{}", self.base_port + 1)
    }

    /// Sets `key = value` (value as TOML, e.g. `"\"2s\""`) in `[table]` of
    /// `config/<service>.toml`, before `up`.
    pub fn set_config(&self, service: &str, table: &str, key: &str, value: &str) {
        let path = self.path(&format!("config/{service}.toml"));
        let text = std::fs::read_to_string(&path).expect("read config");
        let mut out = String::new();
        let mut in_table = false;
        let mut done = false;
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with('[') {
                if in_table && !done {
                    out.push_str(&format!("{key} = {value}\n"));
                    done = true;
                }
                in_table = trimmed == format!("[{table}]");
            }
            if in_table && !done && trimmed.starts_with(&format!("{key} ")) {
                out.push_str(&format!("{key} = {value}\n"));
                done = true;
                continue;
            }
            out.push_str(line);
            out.push('\n');
        }
        if in_table && !done {
            out.push_str(&format!("{key} = {value}\n"));
            done = true;
        }
        assert!(done, "no [{table}] in {}", path.display());
        std::fs::write(&path, out).expect("write config");
    }
}

/// One object as `pkcs11-tool --list-objects` (OpenSC) prints it.
#[derive(Clone, Debug)]
pub struct TokenObject {
    /// The first line, e.g. `Private Key Object; EC` or `Data object 4`.
    pub header: String,
    /// The indented `name: value` lines, trimmed (`label`, `Access`, ...).
    pub fields: Vec<(String, String)>,
}

impl TokenObject {
    /// The value of the first field called `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Pki {
    /// The objects in the home's token as the independent tool
    /// `pkcs11-tool` sees them after logging in as the user. The PIN goes
    /// through the environment (`--pin env:`), never on a command line or
    /// in a message.
    pub fn token_objects(&self) -> Vec<TokenObject> {
        let config = std::fs::read_to_string(self.path("config/ca.toml")).expect("config/ca.toml");
        let module = config
            .lines()
            .find_map(|l| l.trim().strip_prefix("module = "))
            .map(|m| m.trim_matches('"').to_owned())
            .expect("a PKCS#11 module in config/ca.toml");
        let pin = std::fs::read_to_string(self.path("secrets/user.pin")).expect("user PIN file");
        let out = Command::new("pkcs11-tool")
            .args([
                "--module",
                &module,
                "--token-label",
                "signet",
                "--login",
                "--pin",
                "env:SIGNET_TESTKIT_PIN",
                "--list-objects",
            ])
            .env("SOFTHSM2_CONF", self.path("softhsm2.conf"))
            .env("SIGNET_TESTKIT_PIN", pin.trim())
            .output()
            .expect("run pkcs11-tool");
        assert!(
            out.status.success(),
            "pkcs11-tool failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut objects: Vec<TokenObject> = Vec::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if !line.is_empty() && !line.starts_with(char::is_whitespace) {
                objects.push(TokenObject {
                    header: line.to_owned(),
                    fields: Vec::new(),
                });
            } else if let (Some(object), Some((k, v))) = (objects.last_mut(), line.split_once(':'))
            {
                object
                    .fields
                    .push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        objects
    }
}

/// Runs the binary and collects its output.
pub fn run_signet(args: &[&str]) -> Output {
    Command::new(signet_bin())
        .args(args)
        .env_remove("SOFTHSM2_CONF")
        .env("SIGNET_LOG_FORMAT", "text")
        .output()
        .expect("run signet")
}

/// Running services (a `signet` child process), killed on drop.
#[derive(Debug)]
pub struct Services {
    child: Child,
    /// The lines the process printed on start, one per service.
    pub lines: Vec<String>,
}

impl Services {
    /// Spawns `signet <args>` and waits for `expected_lines` lines on stdout.
    pub fn start(args: &[&str], expected_lines: usize) -> Services {
        let mut child = Command::new(signet_bin())
            .args(args)
            .env_remove("SOFTHSM2_CONF")
            .env("SIGNET_LOG_FORMAT", "text")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn signet");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut lines = Vec::new();
        while lines.len() < expected_lines {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(_) => {
                    let _ = child.kill();
                    panic!("signet {args:?} did not start: got {lines:?}");
                }
            }
        }
        Services { child, lines }
    }

    /// Kills the process without warning (SIGKILL), as a crash would.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the process gracefully (SIGTERM) and waits.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A random hex string for request ids and names.
pub fn random_hex(bytes: usize) -> String {
    let v: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    hex::encode(v)
}

//! The PKI home: the directory `signet init` creates, and its manifest
//! `signet.toml`, which tells the other commands where everything is.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use signet_api::ApiClient;
use signet_api::ca::CaClient;
use signet_api::ra::RaClient;

use crate::error::CliError;

/// Paths inside a home.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The home itself (absolute).
    pub root: PathBuf,
}

impl Layout {
    /// The layout of `home`, made absolute.
    pub fn new(home: &Path) -> Result<Self, CliError> {
        let root = if home.is_absolute() {
            home.to_path_buf()
        } else {
            std::env::current_dir()?.join(home)
        };
        Ok(Layout { root })
    }

    /// `signet.toml`.
    pub fn manifest(&self) -> PathBuf {
        self.root.join("signet.toml")
    }
    /// The SoftHSM2 configuration.
    pub fn softhsm_conf(&self) -> PathBuf {
        self.root.join("softhsm2.conf")
    }
    /// SoftHSM2's token directory.
    pub fn token_dir(&self) -> PathBuf {
        self.root.join("token")
    }
    /// PINs and other secrets (mode 0700).
    pub fn secrets(&self) -> PathBuf {
        self.root.join("secrets")
    }
    /// Service configurations.
    pub fn config(&self) -> PathBuf {
        self.root.join("config")
    }
    /// The CA's configuration.
    pub fn ca_config(&self) -> PathBuf {
        self.config().join("ca.toml")
    }
    /// The OCSP/CRL responder's configuration.
    pub fn ocsp_config(&self) -> PathBuf {
        self.config().join("ocsp.toml")
    }
    /// Certificate profiles.
    pub fn profiles(&self) -> PathBuf {
        self.root.join("profiles")
    }
    /// Service certificates and keys of the platform PKI.
    pub fn tls(&self) -> PathBuf {
        self.root.join("tls")
    }
    /// CA certificates.
    pub fn ca_certs(&self) -> PathBuf {
        self.root.join("ca")
    }
    /// SQLite databases.
    pub fn data(&self) -> PathBuf {
        self.root.join("data")
    }
    /// The customer root certificate (the trust anchor relying parties install).
    pub fn root_pem(&self) -> PathBuf {
        self.root.join("root.pem")
    }
}

/// `signet.toml`: what the CLI needs to act as this home's administrator.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version.
    pub version: u32,
    /// Key type of the CA keys.
    pub key_type: String,
    /// First port (RA = B, OCSP = B+1, CA = B+2, KMC = B+3).
    pub base_port: u16,
    /// Database URL base (`sqlite` for files under the home, or a PostgreSQL URL).
    pub database: String,
    /// Service endpoints.
    pub services: Services,
    /// The administrator's credentials (platform PKI).
    pub admin: AdminIdentity,
}

/// Service endpoints.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Services {
    /// CA signer API (mTLS).
    pub ca: String,
    /// OCSP responder and CRL distribution (plain HTTP).
    #[serde(default)]
    pub ocsp: Option<String>,
    /// The RA's REST API (HTTPS; its certificate chains to `root.pem`).
    /// Homes made before the RA existed have none: the administration
    /// commands then speak to the CA directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ra: Option<String>,
}

/// Administrator's mTLS credentials.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdminIdentity {
    /// Certificate, PEM.
    pub certificate: PathBuf,
    /// Private key, PEM (mode 0600).
    pub key: PathBuf,
    /// Platform root, PEM: services' certificates chain to it.
    pub platform_root: PathBuf,
    /// The customer root, PEM, that the RA's web certificate chains to;
    /// the same certificate and key above authenticate the administrator
    /// to the RA API (registered as API client `signet-cli` by `init`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ra_root: Option<PathBuf>,
}

impl Manifest {
    /// Reads the manifest of `home`.
    pub fn load(home: &Path) -> Result<(Layout, Manifest), CliError> {
        let layout = Layout::new(home)?;
        let path = layout.manifest();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            CliError::Home(format!(
                "{} is not a Signet home ({}: {e}); create one with `signet init --home {}`",
                home.display(),
                path.display(),
                home.display()
            ))
        })?;
        let manifest = toml::from_str(&text)
            .map_err(|e| CliError::Home(format!("{}: {}", path.display(), e.message())))?;
        Ok((layout, manifest))
    }

    /// A client of the CA presenting the administrator's certificate.
    pub fn ca_client(&self) -> Result<CaClient, CliError> {
        Ok(CaClient(self.admin_api(
            &self.services.ca,
            &self.admin.platform_root,
            "platform root",
        )?))
    }

    /// A client of the RA's REST API presenting the administrator's
    /// certificate, if this home has an RA (`config/ra.toml`) and `init`
    /// registered the administrator with it; `None` for older homes,
    /// whose administration commands speak to the CA directly.
    pub fn ra_client(&self, layout: &Layout) -> Result<Option<RaClient>, CliError> {
        let (Some(url), Some(root)) = (&self.services.ra, &self.admin.ra_root) else {
            return Ok(None);
        };
        if !crate::commands::ra::config_path(&layout.config()).exists() {
            return Ok(None);
        }
        Ok(Some(RaClient(self.admin_api(
            url,
            root,
            "customer root",
        )?)))
    }

    /// An API client for `base` presenting the administrator's certificate
    /// and trusting `roots` for the server's.
    fn admin_api(&self, base: &str, roots: &Path, what: &str) -> Result<ApiClient, CliError> {
        let identity =
            signet_tls::Identity::from_pem_files(&self.admin.certificate, &self.admin.key)
                .map_err(|e| CliError::Home(format!("administrator credentials: {e}")))?;
        let roots =
            signet_tls::load_roots(roots).map_err(|e| CliError::Home(format!("{what}: {e}")))?;
        let tls = signet_tls::client_config(&identity, roots)
            .map_err(|e| CliError::Home(format!("TLS: {e}")))?;
        Ok(ApiClient::new(base, tls))
    }
}

/// Writes a file readable by its owner only.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), CliError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| CliError::Home(format!("cannot create {}: {e}", path.display())))?;
    f.write_all(contents)?;
    f.sync_all()?;
    Ok(())
}

/// Creates a directory readable by its owner only.
pub fn create_private_dir(path: &Path) -> Result<(), CliError> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|e| CliError::Home(format!("cannot create {}: {e}", path.display())))
}

//! `signet init`: the key ceremony that creates a complete PKI home.

use std::path::Path;
use std::sync::Arc;

use signet_ca::{
    CaConfig, DatabaseConfig, IssuanceConfig, IssueCommand, IssuerConfig, ServerConfig,
};
use signet_core::csr::build_csr;
use signet_core::names::parse_name;
use signet_core::profile::{BUILTIN_PROFILE_NAMES, builtin_profile_toml};
use signet_core::{
    Clock, KeyType, Profile, Serial, Signer, SubjectKey, SystemClock, pem::certificate_pem,
    prepare_self_signed,
};
use signet_token::{Pin, PinSource, Token, TokenConfig};
use x509_cert::name::Name;
use zeroize::Zeroizing;

use crate::cli::InitArgs;
use crate::error::CliError;
use crate::home::{AdminIdentity, Layout, Manifest, Services, create_private_dir, write_private};
use crate::softhsm_env::REEXEC_MARKER;

/// The token every home uses.
const TOKEN_LABEL: &str = "signet";

/// Roles that get a platform certificate.
const SERVICE_ROLES: [&str; 5] = ["ca", "ra", "ocsp", "kmc", "admin"];

/// First stage (before the token is touched): check and create the home
/// and its SoftHSM2 configuration.
pub fn prepare_directory(args: &InitArgs) -> Result<(), CliError> {
    let layout = Layout::new(&args.home)?;
    if std::env::var_os(REEXEC_MARKER).is_some() && layout.softhsm_conf().exists() {
        return Ok(());
    }
    if args.base_port > u16::MAX - 3 || args.base_port == 0 {
        return Err(CliError::Usage(format!(
            "--base-port {} leaves no room for four ports (B to B+3)",
            args.base_port
        )));
    }
    if let Some(db) = &args.database
        && !(db.starts_with("postgres://") || db.starts_with("postgresql://"))
    {
        return Err(CliError::Usage(
            "--database must be a postgres:// URL".into(),
        ));
    }
    if layout.root.exists() {
        let mut entries = std::fs::read_dir(&layout.root)?;
        if entries.next().is_some() {
            return Err(CliError::Usage(format!(
                "{} already exists and is not empty; choose a new directory",
                layout.root.display()
            )));
        }
    }
    create_private_dir(&layout.root)?;
    create_private_dir(&layout.token_dir())?;
    signet_token::write_softhsm_conf(&layout.softhsm_conf(), &layout.token_dir())?;
    Ok(())
}

fn random_pin() -> Zeroizing<String> {
    use rand::RngExt as _;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let pin: String = (0..24)
        .map(|_| {
            let i = rng.random_range(0..ALPHABET.len());
            char::from(ALPHABET.get(i).copied().unwrap_or(b'x'))
        })
        .collect();
    Zeroizing::new(pin)
}

fn name(cn: &str, org: &str) -> Result<Name, CliError> {
    parse_name(&format!(
        "CN={},O={}",
        signet_core::names::escape_value(cn),
        signet_core::names::escape_value(org)
    ))
    .map_err(|e| CliError::Usage(format!("--org: {e}")))
}

fn write_pem(path: &Path, der: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, certificate_pem(der))
        .map_err(|e| CliError::Home(format!("cannot write {}: {e}", path.display())))
}

/// Makes a self-signed CA certificate for a token key.
fn self_signed(
    signer: &dyn Signer,
    subject: &Name,
    now: signet_core::Timestamp,
) -> Result<Vec<u8>, CliError> {
    let profile = Profile::from_toml(builtin_profile_toml("root-ca").unwrap_or_default())
        .map_err(|e| CliError::Home(e.to_string()))?;
    let key = SubjectKey::from_spki(der::referenced::OwnedToRef::owned_to_ref(
        signer.public_key(),
    ))
    .map_err(|e| CliError::Home(e.to_string()))?;
    let token = prepare_self_signed(
        &profile,
        subject,
        &key,
        signer.algorithm(),
        Serial::random(&mut rand::rng()),
        now,
    )
    .map_err(|e| CliError::Home(format!("root certificate: {e}")))?;
    Ok(token
        .sign(signer, &key)
        .map_err(|e| CliError::Home(format!("root certificate: {e}")))?
        .der)
}

struct Ports {
    ra: u16,
    ocsp: u16,
    ca: u16,
    kmc: u16,
}

impl Ports {
    fn from_base(b: u16) -> Self {
        Ports {
            ra: b,
            ocsp: b.saturating_add(1),
            ca: b.saturating_add(2),
            kmc: b.saturating_add(3),
        }
    }
}

fn issuer_config(
    layout: &Layout,
    args: &InitArgs,
    ports: &Ports,
    name: &str,
    id: i64,
    key_label: &str,
    urls: bool,
) -> IssuerConfig {
    let base = format!("http://{}:{}", args.public_host, ports.ocsp);
    IssuerConfig {
        name: name.to_owned(),
        id,
        key_label: key_label.to_owned(),
        certificate: layout.ca_certs().join(format!("{name}.pem")),
        ocsp_url: urls.then(|| format!("{base}/ocsp")),
        ca_issuers_url: urls.then(|| format!("{base}/ca/{name}.der")),
        crl_url: urls.then(|| format!("{base}/crl/{name}.crl")),
        delta_crl_url: urls.then(|| format!("{base}/crl/{name}-delta.crl")),
        crl_shards: 1,
    }
}

fn ca_config(
    layout: &Layout,
    args: &InitArgs,
    ports: &Ports,
    issuers: Vec<IssuerConfig>,
    default_issuer: &str,
) -> CaConfig {
    CaConfig {
        server: ServerConfig {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], ports.ca)),
            certificate: layout.tls().join("ca.pem"),
            key: layout.tls().join("ca.key"),
            client_roots: layout.tls().join("platform-root.pem"),
            allowed_roles: vec!["ra".into(), "admin".into()],
            max_request_bytes: 1024 * 1024,
            max_batch_bytes: 32 * 1024 * 1024,
        },
        token: TokenConfig {
            module: args.module.clone(),
            token_label: TOKEN_LABEL.to_owned(),
            pin: PinSource::File(layout.secrets().join("user.pin")),
            sessions: 4,
            softhsm2_conf: Some(layout.softhsm_conf()),
        },
        database: DatabaseConfig {
            url: match &args.database {
                Some(url) => url.clone(),
                None => format!("sqlite:{}", layout.data().join("ca.db").display()),
            },
            max_connections: 8,
        },
        issuance: IssuanceConfig {
            default_issuer: default_issuer.to_owned(),
            profiles_dir: layout.profiles(),
            max_csr_bytes: signet_core::csr::DEFAULT_MAX_CSR_BYTES,
            max_batch: 1000,
            journal_batch: 1024,
        },
        issuers,
        publication: signet_ca::PublicationConfig::default(),
    }
}

/// The responder reads the CA's database and signs with the delegated
/// signer keys the CA keeps in the same token.
fn ocsp_config(args: &InitArgs, ports: &Ports, ca: &CaConfig) -> signet_ocsp::OcspConfig {
    // Relying parties reach it at `--public-host`; on the loopback default
    // it listens on loopback only.
    let loopback = matches!(args.public_host.as_str(), "127.0.0.1" | "localhost" | "::1");
    let ip: std::net::IpAddr = if loopback {
        std::net::Ipv4Addr::LOCALHOST.into()
    } else {
        std::net::Ipv4Addr::UNSPECIFIED.into()
    };
    signet_ocsp::OcspConfig {
        server: signet_ocsp::ServerConfig::new(std::net::SocketAddr::new(ip, ports.ocsp)),
        database: signet_ocsp::DatabaseConfig::new(ca.database.url.clone()),
        token: ca.token.clone(),
        responses: signet_ocsp::ResponsesConfig::default(),
    }
}

/// Second stage (with SOFTHSM2_CONF set): token, keys, certificates, config.
pub async fn run(args: InitArgs) -> Result<(), CliError> {
    let layout = Layout::new(&args.home)?;
    let key_type: KeyType = args
        .key_type
        .parse()
        .map_err(|e: signet_core::algorithm::UnknownKeyType| CliError::Usage(e.to_string()))?;
    let ports = Ports::from_base(args.base_port);
    let clock = SystemClock;
    for dir in [
        layout.secrets(),
        layout.config(),
        layout.profiles(),
        layout.tls(),
        layout.ca_certs(),
        layout.data(),
    ] {
        create_private_dir(&dir)?;
    }

    // The token, with PINs only the home's owner can read.
    let so_pin = random_pin();
    let user_pin = random_pin();
    write_private(&layout.secrets().join("so.pin"), so_pin.as_bytes())?;
    write_private(&layout.secrets().join("user.pin"), user_pin.as_bytes())?;
    Token::initialize(
        &args.module,
        TOKEN_LABEL,
        &Pin::new(so_pin.to_string()),
        &Pin::new(user_pin.to_string()),
    )?;
    drop((so_pin, user_pin));
    let stage1 = ca_config(&layout, &args, &ports, Vec::new(), "root");
    let token = Token::open(&stage1.token)?;

    // CA keys never leave the token (SM2: wrapped under a token key).
    token.generate_key("root-ca", key_type)?;
    token.generate_key("issuing-ca", key_type)?;
    token.generate_key("platform-ca", KeyType::P256)?;

    let root_signer = token.signer("root-ca")?;
    let root_der = self_signed(
        &*root_signer,
        &name(&format!("{} Root CA", args.org), &args.org)?,
        clock.now(),
    )?;
    write_pem(&layout.ca_certs().join("root.pem"), &root_der)?;
    write_pem(&layout.root_pem(), &root_der)?;
    let platform_signer = token.signer("platform-ca")?;
    let platform_der = self_signed(
        &*platform_signer,
        &name(&format!("{} Platform CA", args.org), &args.org)?,
        clock.now(),
    )?;
    write_pem(&layout.ca_certs().join("platform.pem"), &platform_der)?;
    write_pem(&layout.tls().join("platform-root.pem"), &platform_der)?;

    for profile in BUILTIN_PROFILE_NAMES {
        let text = builtin_profile_toml(profile).unwrap_or_default();
        std::fs::write(layout.profiles().join(format!("{profile}.toml")), text)?;
    }

    // Everything below the roots goes through the CA's own issuance path,
    // so it is linted and recorded like any certificate.
    let root_issuer = issuer_config(&layout, &args, &ports, "root", 1, "root-ca", true);
    let platform_issuer =
        issuer_config(&layout, &args, &ports, "platform", 3, "platform-ca", false);
    let stage1 = ca_config(
        &layout,
        &args,
        &ports,
        vec![root_issuer.clone(), platform_issuer.clone()],
        "root",
    );
    ensure_empty_database(&stage1.database.url).await?;
    let authority = signet_ca::service::open_authority(
        &stage1,
        &token,
        Arc::new(SystemClock),
        signet_ca::CaMetrics::detached(),
    )
    .await?;
    let issuing_signer = token.signer("issuing-ca")?;
    let issuing_csr = build_csr(
        &*issuing_signer,
        &name(&format!("{} Issuing CA", args.org), &args.org)?,
    )
    .map_err(|e| CliError::Home(e.to_string()))?;
    let issuing = authority
        .issue(&IssueCommand {
            request_id: "init:issuing-ca".into(),
            profile: "sub-ca".into(),
            issuer: Some("root".into()),
            csr: issuing_csr,
            subject: None,
            sans: None,
            validity: None,
        })
        .await?;
    let issuing_der = issuing.record.der.clone().unwrap_or_default();
    write_pem(&layout.ca_certs().join("issuing.pem"), &issuing_der)?;
    write_pem(&layout.root.join("issuing.pem"), &issuing_der)?;

    for role in SERVICE_ROLES {
        issue_service_certificate(&authority, &layout, &args, role).await?;
    }
    drop(authority);

    let issuing_issuer = issuer_config(&layout, &args, &ports, "issuing", 2, "issuing-ca", true);
    let config = ca_config(
        &layout,
        &args,
        &ports,
        vec![root_issuer, issuing_issuer, platform_issuer],
        "issuing",
    );
    std::fs::write(
        layout.ca_config(),
        crate::commands::serve::render_ca_config(&config),
    )?;
    std::fs::write(
        layout.ocsp_config(),
        crate::commands::ocsp::render_ocsp_config(&ocsp_config(&args, &ports, &config)),
    )?;
    // The KMC: kmc.toml, ca-dual.toml (how the CA reaches it), the
    // user-dual profile, the root storage key ceremony (custodian shares
    // under secrets/kmc-shares).
    crate::commands::kmc::init_home(&layout, &config, ports.kmc).await?;
    // The RA: web certificate from the issuing CA, ra.toml, its database
    // and token keys, the first administrator (credentials in a 0600 file).
    let ra_admin = {
        let authority = signet_ca::service::open_authority(
            &config,
            &token,
            Arc::new(SystemClock),
            signet_ca::CaMetrics::detached(),
        )
        .await?;
        let home = crate::commands::ra::RaHome {
            layout: &layout,
            token_config: config.token.clone(),
            port: ports.ra,
            ca_port: ports.ca,
            kmc_port: ports.kmc,
            database: args.database.clone(),
            public_host: args.public_host.clone(),
            org: args.org.clone(),
        };
        crate::commands::ra::init_home(&authority, &token, &home).await?
    };

    // The administration commands go through the RA's API, whose web
    // certificate the issuing CA signs. rustls verifies no SM2 signature,
    // so in an SM2 home the CLI cannot check that certificate: it keeps
    // speaking to the CA (platform PKI, always ECDSA) directly.
    let through_ra = key_type != KeyType::Sm2;
    let manifest = Manifest {
        version: 1,
        key_type: key_type.to_string(),
        base_port: args.base_port,
        database: args.database.clone().unwrap_or_else(|| "sqlite".into()),
        services: Services {
            ca: format!("https://127.0.0.1:{}", ports.ca),
            ocsp: Some(format!("http://{}:{}", args.public_host, ports.ocsp)),
            ra: through_ra.then(|| format!("https://127.0.0.1:{}", ports.ra)),
        },
        admin: AdminIdentity {
            certificate: layout.tls().join("admin.pem"),
            key: layout.tls().join("admin.key"),
            platform_root: layout.tls().join("platform-root.pem"),
            ra_root: through_ra.then(|| layout.root_pem()),
        },
    };
    let text = toml::to_string_pretty(&manifest).map_err(|e| CliError::Home(e.to_string()))?;
    std::fs::write(
        layout.manifest(),
        format!("# Written by `signet init`; read by the other `signet` commands.\n{text}"),
    )?;

    println!("Signet PKI created in {}", layout.root.display());
    println!(
        "  root CA        {} ({key_type})",
        layout.root_pem().display()
    );
    println!(
        "  issuing CA     {}",
        layout.root.join("issuing.pem").display()
    );
    println!(
        "  token          `{TOKEN_LABEL}` in {} (PINs in {})",
        layout.token_dir().display(),
        layout.secrets().display()
    );
    println!(
        "  administrator  {} and its key",
        layout.tls().join("admin.pem").display()
    );
    println!(
        "  KMC shares     {} (any 2 of 3 restore the KMC root key: hand them to custodians)",
        layout.secrets().join("kmc-shares").display()
    );
    println!(
        "  RA console     https://{}:{}/ (first administrator: {})",
        args.public_host,
        ports.ra,
        ra_admin.display()
    );
    println!(
        "  ports          RA {} | OCSP/CRL {} | CA {} | KMC {}",
        ports.ra, ports.ocsp, ports.ca, ports.kmc
    );
    println!(
        "Start the services: signet up --home {}",
        layout.root.display()
    );
    Ok(())
}

/// Refuses a database that already holds a CA: its issuers and serials
/// belong to another PKI.
async fn ensure_empty_database(url: &str) -> Result<(), CliError> {
    let db = signet_store::Database::open(url, signet_store::Schema::Ca, &Default::default())
        .await
        .map_err(|e| CliError::Home(format!("database: {e}")))?;
    let store = signet_store::CaStore::new(db);
    let issuers = store
        .issuers()
        .await
        .map_err(|e| CliError::Home(format!("database: {e}")))?;
    store.database().close().await;
    if issuers.is_empty() {
        Ok(())
    } else {
        Err(CliError::Usage(
            "the database already holds a Signet CA; give an empty database".into(),
        ))
    }
}

/// A platform certificate for one service role, with its key written 0600.
async fn issue_service_certificate(
    authority: &signet_ca::CertificateAuthority,
    layout: &Layout,
    args: &InitArgs,
    role: &str,
) -> Result<(), CliError> {
    let key =
        rcgen::KeyPair::generate().map_err(|e| CliError::Home(format!("service key: {e}")))?;
    let params = rcgen::CertificateParams::new(Vec::<String>::new())
        .map_err(|e| CliError::Home(e.to_string()))?;
    let csr = params
        .serialize_request(&key)
        .and_then(|r| r.pem())
        .map_err(|e| CliError::Home(format!("service CSR: {e}")))?;
    let mut sans = vec![
        "DNS:localhost".to_owned(),
        "IP:127.0.0.1".to_owned(),
        format!("URI:urn:signet:role:{role}"),
    ];
    if args.public_host != "127.0.0.1" && args.public_host != "localhost" {
        let kind = if args.public_host.parse::<std::net::IpAddr>().is_ok() {
            "IP"
        } else {
            "DNS"
        };
        sans.push(format!("{kind}:{}", args.public_host));
    }
    let issued = authority
        .issue(&IssueCommand {
            request_id: format!("init:service:{role}"),
            profile: "service".into(),
            issuer: Some("platform".into()),
            csr: csr.into_bytes(),
            subject: Some(format!(
                "CN=signet-{role},O={}",
                signet_core::names::escape_value(&args.org)
            )),
            sans: Some(sans),
            validity: None,
        })
        .await?;
    write_pem(
        &layout.tls().join(format!("{role}.pem")),
        &issued.record.der.unwrap_or_default(),
    )?;
    let key_pem = Zeroizing::new(key.serialize_pem());
    write_private(
        &layout.tls().join(format!("{role}.key")),
        key_pem.as_bytes(),
    )?;
    Ok(())
}

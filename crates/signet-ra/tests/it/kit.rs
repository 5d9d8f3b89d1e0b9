//! The test kit: an RA started in-process on 127.0.0.1:0 with a fresh
//! SoftHSM2 token, a SQLite database in a temporary directory, the
//! ceremony run (root unit, first administrator), and a clock the test
//! moves. Helpers log officers in the way a person would: password, new
//! password, TOTP enrolment from the page's secret, TOTP codes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use signet_core::{Clock, FixedClock, SystemClock, Timestamp};
use signet_ra::auth::totp::{TotpSecret, step_at};
use signet_ra::{CaLinkConfig, DatabaseConfig, RaConfig, RunningRa, ServerConfig};
use signet_store::Backend;
use signet_store::testing::TestDatabase;
use tempfile::TempDir;
use zeroize::Zeroizing;

use crate::browser::Browser;
use crate::pki::{Leaf, pki};

/// The password every test officer ends up with.
pub const PASSWORD: &str = "correct horse battery staple";

/// Where the RA reaches its CA: by default nowhere (tests without
/// issuance), or a real CA started by [`crate::ca::TestCa`].
#[derive(Clone, Debug)]
pub struct CaLink {
    pub url: String,
    pub certificate: PathBuf,
    pub key: PathBuf,
    pub roots: PathBuf,
}

/// A running RA and what tests need around it.
pub struct Ra {
    pub running: Option<RunningRa>,
    pub clock: Arc<FixedClock>,
    pub dir: TempDir,
    pub config: RaConfig,
    pub admin_otp: String,
    pub base: String,
    /// Roots a browser trusts for the RA's web certificate.
    pub web_roots: String,
    /// The PostgreSQL database, dropped at [`Ra::stop`].
    pg: Option<TestDatabase>,
}

/// An officer logged in through the console.
pub struct Officer {
    pub browser: Browser,
    pub totp: TotpSecret,
}

pub fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

impl Ra {
    /// An RA with default settings and no CA.
    pub async fn start() -> Ra {
        Self::start_with(None, |_| {}).await
    }

    /// An RA talking to `ca`, with `tweak` applied to its configuration.
    pub async fn start_with(ca: Option<CaLink>, tweak: impl FnOnce(&mut RaConfig)) -> Ra {
        Self::start_on(Backend::Sqlite, ca, tweak).await
    }

    /// The same on `backend` (PostgreSQL: a fresh database, schema `ra`).
    pub async fn start_on(
        backend: Backend,
        ca: Option<CaLink>,
        tweak: impl FnOnce(&mut RaConfig),
    ) -> Ra {
        let p = pki();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let web_cert = write(&d.join("web.pem"), &p.web.cert_pem);
        let web_key = write(&d.join("web.key"), &p.web.key_pem);
        let client_roots = write(
            &d.join("client-roots.pem"),
            &format!("{}{}", p.customer_root_pem, p.platform_root_pem),
        );
        let ca = ca.unwrap_or_else(|| CaLink {
            // Nothing listens on port 1: issuance fails, the rest works.
            url: "https://127.0.0.1:1".into(),
            certificate: write(&d.join("ra-platform.pem"), &p.ra_identity.cert_pem),
            key: write(&d.join("ra-platform.key"), &p.ra_identity.key_pem),
            roots: write(&d.join("platform-root.pem"), &p.platform_root_pem),
        });
        let (_token, token_config) = signet_token::testing::test_token("ra-it");
        let mut config = RaConfig {
            server: ServerConfig::new(
                "127.0.0.1:0".parse().unwrap(),
                web_cert,
                web_key,
                client_roots,
            ),
            token: token_config,
            database: DatabaseConfig::new(format!("sqlite:{}", d.join("ra.db").display())),
            ca: CaLinkConfig {
                url: ca.url,
                certificate: ca.certificate,
                key: ca.key,
                roots: ca.roots,
            },
            i18n: Default::default(),
            audit: Default::default(),
            profiles: Vec::new(),
            api: Default::default(),
            batch: Default::default(),
            portal: Default::default(),
            kmc: None,
            reminders: Default::default(),
            pkcs12: Default::default(),
        };
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let db = TestDatabase::create(Backend::Postgres).await.unwrap();
                config.database.url = db.url.clone();
                Some(db)
            }
        };
        tweak(&mut config);
        let clock = Arc::new(FixedClock::new(SystemClock.now()));
        let token = signet_token::Token::open(&config.token).unwrap();
        let first = signet_ra::ceremony::initialize(&config, &token, "Test Org", clock.clone())
            .await
            .unwrap();
        drop(token);
        let running = signet_ra::start(config.clone(), clock.clone())
            .await
            .unwrap();
        let base = format!("https://localhost:{}", running.addr.port());
        Ra {
            running: Some(running),
            clock,
            dir,
            config,
            admin_otp: first.one_time_password.to_string(),
            base,
            web_roots: p.customer_root_pem.clone(),
            pg,
        }
    }

    pub fn running(&self) -> &RunningRa {
        self.running.as_ref().unwrap()
    }

    /// The RA's clock.
    pub fn clock_now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The root organisation unit's id.
    pub async fn root_unit(&self) -> i64 {
        self.running()
            .authority
            .store()
            .root_org_unit()
            .await
            .unwrap()
            .unwrap()
            .id
    }

    /// Moves the RA's clock forward.
    pub fn advance(&self, seconds: i64) {
        self.clock
            .set(Timestamp::from_unix(self.clock.now().unix() + seconds));
    }

    /// A browser without a client certificate.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.base, &self.web_roots, None)
    }

    /// A browser presenting `leaf` as its client certificate.
    pub fn browser_with(&self, leaf: &Leaf) -> Browser {
        Browser::new(&self.base, &self.web_roots, Some(&leaf.identity()))
    }

    /// The current TOTP code of `secret` by the RA's clock, after moving
    /// the clock to a fresh time step (each code is accepted once).
    pub fn fresh_code(&self, secret: &TotpSecret) -> String {
        self.advance(30);
        format!("{:06}", secret.code(step_at(self.clock.now())))
    }

    /// First login of an account with a one-time password: password,
    /// new password, TOTP enrolment. Returns the logged-in officer.
    pub async fn first_login(&self, username: &str, one_time: &str) -> Officer {
        let mut b = self.browser();
        let page = b
            .submit(
                "/login",
                "/login",
                &[("username", username), ("password", one_time)],
            )
            .await;
        page.assert_redirect("/login/password");
        let page = b
            .submit(
                "/login/password",
                "/login/password",
                &[("password", PASSWORD), ("confirmation", PASSWORD)],
            )
            .await;
        page.assert_redirect("/login/enroll");
        let page = b.get("/login/enroll").await;
        // The QR code is an inline SVG image (the CSP allows `data:` images).
        assert!(page.body.contains("src=\"data:image&#x2f;svg+xml;base64,"));
        let secret_text = page.element_text("totp-secret").unwrap();
        let bytes = data_encoding::BASE32_NOPAD
            .decode(secret_text.trim().as_bytes())
            .unwrap();
        let totp = TotpSecret::from_bytes(Zeroizing::new(bytes));
        let code = self.fresh_code(&totp);
        let page = b
            .submit("/login/enroll", "/login/enroll", &[("code", &code)])
            .await;
        page.assert_redirect("/");
        Officer { browser: b, totp }
    }

    /// The first administrator, logged in.
    pub async fn admin(&self) -> Officer {
        self.first_login("admin", &self.admin_otp.clone()).await
    }

    /// Logs an enrolled officer in again in a new browser.
    pub async fn login(&self, username: &str, totp: &TotpSecret) -> Browser {
        let mut b = self.browser();
        let page = b
            .submit(
                "/login",
                "/login",
                &[("username", username), ("password", PASSWORD)],
            )
            .await;
        page.assert_redirect("/login/totp");
        let code = self.fresh_code(totp);
        let page = b
            .submit("/login/totp", "/login/totp", &[("code", &code)])
            .await;
        page.assert_redirect("/");
        b
    }

    /// The administrator creates an account; returns its one-time password.
    pub async fn create_officer(
        &self,
        admin: &mut Browser,
        username: &str,
        role: &str,
        unit: i64,
    ) -> String {
        let unit = unit.to_string();
        let page = admin
            .submit(
                "/admin/officers",
                "/admin/officers",
                &[
                    ("username", username),
                    ("display_name", username),
                    ("role", role),
                    ("org_unit_id", &unit),
                ],
            )
            .await;
        assert_eq!(page.status, 201, "{}", page.body);
        page.element_text("one-time-password").unwrap()
    }

    /// Creates an account and logs it in for the first time.
    pub async fn officer(
        &self,
        admin: &mut Browser,
        username: &str,
        role: &str,
        unit: i64,
    ) -> Officer {
        let otp = self.create_officer(admin, username, role, unit).await;
        self.first_login(username, &otp).await
    }

    /// The administrator creates organisation unit `name` under `parent`;
    /// returns its id.
    pub async fn create_unit(&self, admin: &mut Browser, parent: i64, name: &str) -> i64 {
        let parent_text = parent.to_string();
        let page = admin
            .submit(
                "/units",
                "/units",
                &[("parent", &parent_text), ("name", name)],
            )
            .await;
        assert!(
            page.status.is_redirection() || page.status == 200,
            "{}",
            page.body
        );
        let store = self.running().authority.store();
        let units = store
            .org_units(&signet_store::ra::ScopePrefix::all())
            .await
            .unwrap();
        units
            .into_iter()
            .find(|u| u.name == name && u.parent_id == Some(parent))
            .unwrap_or_else(|| panic!("unit {name} not created: {}", page.body))
            .id
    }

    /// Path of the RA's SQLite file.
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("ra.db")
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        if let Some(db) = self.pg.take() {
            db.drop_database().await.unwrap();
        }
    }
}

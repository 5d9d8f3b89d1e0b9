//! Server-side key generation against a real CA started in-process:
//! officer A files a request without a CSR (P-256 and RSA-2048), B
//! approves, A creates the PKCS#12 (B may neither download nor re-create
//! it), creates it again as after a lost password page, and downloads it
//! once; OpenSSL opens it with the last one-time password (not with the
//! first, nor another), finds the key of the certificate, verifies the
//! chain and reports PBES2 / AES-256-CBC; a second download is refused
//! and the database no longer holds the key. A suspended certificate's
//! key is not handed over until it is resumed; a revoked one's is erased;
//! so is the key of a request the CA refuses on a retry. Without a
//! subject nothing is filed; a rejected request's key is erased.

use std::path::Path;
use std::process::Command;

use signet_ra::RaProfileConfig;
use signet_store::Backend;

use crate::browser::{Browser, Page};
use crate::ca::TestCa;
use crate::kit::Ra;

async fn ra_with_ca(backend: Backend, ca: &TestCa) -> Ra {
    Ra::start_on(backend, Some(ca.link.clone()), |c| {
        c.profiles = vec![RaProfileConfig {
            name: "server".into(),
            approvals: 1,
        }];
        // Fewer PBKDF2 rounds than the default keeps debug builds quick;
        // the file's format is the same.
        c.pkcs12.pbkdf2_iterations = 10_000;
    })
    .await
}

async fn file_server_key(b: &mut Browser, unit: i64, form: &[(&str, &str)]) -> Page {
    let unit = unit.to_string();
    let mut fields = vec![
        ("profile", "server"),
        ("org_unit_id", unit.as_str()),
        ("key_source", "server"),
        ("comment", "for a user without tooling"),
    ];
    fields.extend_from_slice(form);
    b.submit("/requests/new", "/requests/new", &fields).await
}

fn uid_of(page: &Page) -> String {
    let location = page
        .location()
        .unwrap_or_else(|| panic!("{}: {}", page.status, page.body));
    location.trim_start_matches("/requests/").to_owned()
}

async fn act(b: &mut Browser, uid: &str, action: &str) -> Page {
    b.submit(
        &format!("/requests/{uid}"),
        &format!("/requests/{uid}/{action}"),
        &[],
    )
    .await
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `(private_key IS NULL, pkcs12 IS NULL, delivered, erased)` of the key row.
async fn key_row(ra: &Ra, uid: &str) -> Option<(bool, bool, bool, bool)> {
    let store = ra.running().authority.store();
    let request = store
        .request(uid, &signet_store::ra::ScopePrefix::all())
        .await
        .unwrap()
        .unwrap();
    store.server_key(request.id).await.unwrap().map(|k| {
        (
            k.private_key.is_none(),
            k.pkcs12.is_none(),
            k.delivered_at.is_some(),
            k.erased_at.is_some(),
        )
    })
}

async fn count(ra: &Ra, table: &str) -> i64 {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", ra.db_path().display()))
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

#[tokio::test]
async fn a_server_generated_key_is_delivered_once_in_a_pkcs12_that_openssl_opens() {
    delivered_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn server_generated_keys_work_on_postgresql_too() {
    delivered_once(Backend::Postgres).await;
}

async fn delivered_once(backend: Backend) {
    let ca = TestCa::start().await;
    let ra = ra_with_ca(backend, &ca).await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let mut b = ra.officer(&mut admin.browser, "bob", "officer", root).await;
    let dir = tempfile::tempdir().unwrap();
    let mut passwords = Vec::new();

    for (key_type, public_key_kind) in [("p256", "id-ecPublicKey"), ("rsa2048", "rsaEncryption")] {
        let host = format!("{key_type}.example.test");
        let page = file_server_key(
            &mut a.browser,
            root,
            &[
                ("key_type", key_type),
                ("subject", &format!("CN={host},O=Signet Test")),
                ("sans", &format!("DNS:{host}\nDNS:www.{host}")),
            ],
        )
        .await;
        assert_eq!(page.status, 303, "{key_type}: {}", page.body);
        let uid = uid_of(&page);
        assert_eq!(key_row(&ra, &uid).await, Some((false, true, false, false)));

        // Nothing to package before the certificate is issued.
        let page = a.browser.get(&format!("/requests/{uid}")).await;
        assert!(
            page.element_text("server-key-state")
                .unwrap()
                .contains("stored encrypted"),
            "{}",
            page.body
        );
        assert!(!page.body.contains("create-pkcs12"));
        let page = act(&mut a.browser, &uid, "pkcs12").await;
        assert_eq!(page.status, 409, "{}", page.body);
        assert!(page.body.contains("once the certificate is issued"));

        // Another officer approves; the CA issues for the generated key.
        act(&mut b.browser, &uid, "approve")
            .await
            .assert_redirect(&format!("/requests/{uid}"));
        let page = a.browser.get(&format!("/requests/{uid}")).await;
        assert_eq!(page.element_text("status").as_deref(), Some("Issued"));
        let serial = page.element_text("serial").unwrap();
        assert!(page.body.contains("create-pkcs12"), "{}", page.body);

        // The PKCS#12 and its one-time password, shown once.
        let page = act(&mut a.browser, &uid, "pkcs12").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let first_otp = page.element_text("pkcs12-password").unwrap();
        assert_eq!(key_row(&ra, &uid).await, Some((false, false, false, false)));

        // Another officer in scope may neither take nor replace it.
        let page = b.browser.get(&format!("/requests/{uid}")).await;
        assert!(!page.body.contains("download-pkcs12"), "{}", page.body);
        assert!(!page.body.contains("create-pkcs12"), "{}", page.body);
        for action in ["pkcs12/download", "pkcs12"] {
            let page = act(&mut b.browser, &uid, action).await;
            assert_eq!(page.status, 409, "{action}: {}", page.body);
            assert!(
                page.body.contains("Another officer created this PKCS#12"),
                "{action}: {}",
                page.body
            );
        }
        assert_eq!(key_row(&ra, &uid).await, Some((false, false, false, false)));

        // A lost the password page: A makes it again, under a new password.
        let page = a.browser.get(&format!("/requests/{uid}")).await;
        assert!(page.body.contains("Create PKCS#12 again"), "{}", page.body);
        let page = act(&mut a.browser, &uid, "pkcs12").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let otp = page.element_text("pkcs12-password").unwrap();
        assert_ne!(otp, first_otp);
        let groups: Vec<&str> = otp.split('-').collect();
        assert_eq!(groups.len(), 4, "{otp}");
        assert!(groups.iter().all(|g| {
            g.len() == 5
                && g.bytes()
                    .all(|c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(&c))
        }));
        assert_eq!(key_row(&ra, &uid).await, Some((false, false, false, false)));

        let p12 = act(&mut a.browser, &uid, "pkcs12/download").await;
        assert_eq!(p12.status, 200, "{}", p12.body);
        assert_eq!(p12.header("content-type"), Some("application/x-pkcs12"));
        assert_eq!(
            p12.header("content-disposition"),
            Some(format!("attachment; filename=\"{serial}.p12\"").as_str())
        );
        let file = dir.path().join(format!("{key_type}.p12"));
        std::fs::write(&file, &p12.bytes).unwrap();

        // The second download is refused, and the RA holds the key no more.
        let again = act(&mut a.browser, &uid, "pkcs12/download").await;
        assert_eq!(again.status, 409, "{}", again.body);
        assert!(
            again.body.contains("already downloaded once"),
            "{}",
            again.body
        );
        let again = act(&mut a.browser, &uid, "pkcs12").await;
        assert_eq!(again.status, 409, "{}", again.body);
        assert_eq!(key_row(&ra, &uid).await, Some((true, true, true, false)));
        let page = a.browser.get(&format!("/requests/{uid}")).await;
        assert!(
            page.element_text("server-key-state")
                .unwrap()
                .contains("no longer holds the key")
        );
        assert!(!page.body.contains("download-pkcs12"));

        // The first password no longer opens anything.
        let (ok, old) = openssl(&[
            "pkcs12",
            "-in",
            path(&file),
            "-passin",
            &format!("pass:{first_otp}"),
            "-nodes",
        ]);
        assert!(!ok, "the replaced password opened it: {old}");
        passwords.push(first_otp);

        // OpenSSL opens it with the password.
        let pass = format!("pass:{otp}");
        let (ok, all) = openssl(&["pkcs12", "-in", path(&file), "-passin", &pass, "-nodes"]);
        assert!(ok, "{key_type}: {all}");
        assert!(all.contains("-----BEGIN PRIVATE KEY-----"), "{all}");
        assert_eq!(
            all.matches("-----BEGIN CERTIFICATE-----").count(),
            2,
            "{all}"
        );
        let (ok, info) = openssl(&[
            "pkcs12",
            "-in",
            path(&file),
            "-passin",
            &pass,
            "-info",
            "-noout",
        ]);
        assert!(ok, "{info}");
        assert!(info.contains("MAC: sha256, Iteration 2048"), "{info}");
        assert_eq!(
            info.matches("PBES2, PBKDF2, AES-256-CBC, Iteration 10000, PRF hmacWithSHA256")
                .count(),
            2,
            "the key and the certificates: {info}"
        );
        let (ok, wrong) = openssl(&[
            "pkcs12",
            "-in",
            path(&file),
            "-passin",
            "pass:AAAAA-AAAAA-AAAAA-AAAAA",
            "-nodes",
        ]);
        assert!(!ok, "a wrong password opened it: {wrong}");
        assert!(wrong.contains("Mac verify error"), "{wrong}");

        // The key is the certificate's, and the chain verifies.
        let leaf = dir.path().join(format!("{key_type}-leaf.pem"));
        let key = dir.path().join(format!("{key_type}-key.pem"));
        let chain = dir.path().join(format!("{key_type}-chain.pem"));
        for (out, what) in [(&leaf, "-clcerts"), (&chain, "-cacerts")] {
            let (ok, text) = openssl(&[
                "pkcs12",
                "-in",
                path(&file),
                "-passin",
                &pass,
                "-nokeys",
                what,
                "-out",
                path(out),
            ]);
            assert!(ok, "{text}");
        }
        let (ok, text) = openssl(&[
            "pkcs12",
            "-in",
            path(&file),
            "-passin",
            &pass,
            "-nocerts",
            "-nodes",
            "-out",
            path(&key),
        ]);
        assert!(ok, "{text}");
        let (ok, cert_public) = openssl(&["x509", "-noout", "-pubkey", "-in", path(&leaf)]);
        assert!(ok, "{cert_public}");
        let (ok, key_public) = openssl(&["pkey", "-pubout", "-in", path(&key)]);
        assert!(ok, "{key_public}");
        assert_eq!(
            cert_public, key_public,
            "{key_type}: key and certificate differ"
        );
        let (ok, key_text) = openssl(&["pkey", "-noout", "-text", "-in", path(&key)]);
        assert!(ok);
        let (ok, cert_text) = openssl(&["x509", "-noout", "-text", "-in", path(&leaf)]);
        assert!(ok);
        assert!(cert_text.contains(public_key_kind), "{cert_text}");
        if key_type == "rsa2048" {
            assert!(key_text.contains("Private-Key: (2048 bit"), "{key_text}");
        } else {
            assert!(key_text.contains("prime256v1") || key_text.contains("P-256"));
        }
        assert!(cert_text.contains(&format!("CN = {host}")), "{cert_text}");
        assert!(
            cert_text.contains(&format!("DNS:{host}, DNS:www.{host}")),
            "{cert_text}"
        );
        let (ok, text) = openssl(&[
            "verify",
            "-purpose",
            "sslserver",
            "-CAfile",
            path(&ca.root_pem),
            "-untrusted",
            path(&chain),
            path(&leaf),
        ]);
        assert!(ok, "openssl verify: {text}");
        // The chain holds the issuing CA, not the root.
        let (_, root_subject) = openssl(&["x509", "-noout", "-subject", "-in", path(&ca.root_pem)]);
        let (_, chain_subject) = openssl(&["x509", "-noout", "-subject", "-in", path(&chain)]);
        assert_ne!(root_subject, chain_subject);
        // It is the certificate the RA offers for download.
        let (_, serial_text) = openssl(&["x509", "-noout", "-serial", "-in", path(&leaf)]);
        assert_eq!(
            serial_text.trim().to_lowercase(),
            format!("serial={serial}").to_lowercase()
        );

        // The key's PKCS#8 is nowhere in the database files (SQLite).
        let (ok, _) = openssl(&[
            "pkey",
            "-in",
            path(&key),
            "-outform",
            "DER",
            "-out",
            path(&dir.path().join("key.der")),
        ]);
        assert!(ok);
        let pkcs8 = std::fs::read(dir.path().join("key.der")).unwrap();
        let files: &[&str] = if backend == Backend::Sqlite {
            &["", "-wal"]
        } else {
            &[]
        };
        for suffix in files {
            let db =
                std::fs::read(format!("{}{suffix}", ra.db_path().display())).unwrap_or_default();
            assert!(
                !db.windows(pkcs8.len()).any(|w| w == pkcs8.as_slice()),
                "the private key is in ra.db{suffix}"
            );
        }
        passwords.push(otp);
    }

    // The trail records generation, packaging, delivery and the refusals;
    // the passwords appear nowhere in it.
    let events = ra
        .running()
        .authority
        .store()
        .audit_events(&Default::default(), 500, 0)
        .await
        .unwrap();
    for (actor, action, outcome, n) in [
        ("alice", "server_key.generate", "success", 2),
        ("alice", "pkcs12.create", "success", 4),
        ("alice", "pkcs12.deliver", "success", 2),
        // Before issuance, and after delivery.
        ("alice", "pkcs12.create", "denied", 4),
        ("alice", "pkcs12.deliver", "denied", 2),
        ("bob", "pkcs12.create", "denied", 2),
        ("bob", "pkcs12.deliver", "denied", 2),
    ] {
        let found = events
            .iter()
            .filter(|e| {
                e.entry.action == action && e.entry.outcome == outcome && e.entry.actor == actor
            })
            .count();
        assert_eq!(found, n, "{actor} {action} {outcome}");
    }
    let recreated = events
        .iter()
        .filter(|e| {
            e.entry.action == "pkcs12.create" && e.entry.details.contains("\"recreated\":true")
        })
        .count();
    assert_eq!(recreated, 2);
    assert!(
        events
            .iter()
            .filter(|e| e.entry.actor == "bob" && e.entry.action.starts_with("pkcs12."))
            .all(|e| e.entry.details.contains("not_creator"))
    );
    assert!(events.iter().any(|e| e.entry.action == "request.file"
        && e.entry.details.contains("\"key_source\":\"server\"")));
    for e in &events {
        for otp in &passwords {
            assert!(!e.entry.details.contains(otp.as_str()));
        }
    }
    ra.stop().await;
    ca.stop().await;
}

#[tokio::test]
async fn a_server_key_request_without_subject_or_with_bad_input_files_nothing() {
    let ra = Ra::start_with(None, |c| {
        c.profiles = vec![RaProfileConfig {
            name: "server".into(),
            approvals: 1,
        }];
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    for (form, message) in [
        (
            vec![
                ("key_type", "p256"),
                ("subject", " "),
                ("sans", "DNS:a.example"),
            ],
            "Enter the subject",
        ),
        (
            vec![("key_type", "p256"), ("sans", "DNS:a.example")],
            "Enter the subject",
        ),
        (
            vec![("key_type", "sm2"), ("subject", "CN=a.example")],
            "Choose one of the offered key types",
        ),
        (
            vec![("key_type", "p256"), ("subject", "no equals sign")],
            "not a valid distinguished name",
        ),
        (
            vec![
                ("key_type", "rsa2048"),
                ("subject", "CN=a.example"),
                ("sans", "IP:not-an-address"),
            ],
            "The SANs must be",
        ),
    ] {
        let page = file_server_key(&mut a.browser, root, &form).await;
        assert_eq!(page.status, 400, "{form:?}: {}", page.body);
        assert!(page.body.contains(message), "{form:?}: {}", page.body);
        // The form keeps what the officer typed, with the server choice.
        assert!(
            page.body.contains("value=\"server\" selected"),
            "{}",
            page.body
        );
    }
    assert_eq!(count(&ra, "cert_requests").await, 0);
    assert_eq!(count(&ra, "server_keys").await, 0);
    let events = ra
        .running()
        .authority
        .store()
        .audit_events(&Default::default(), 500, 0)
        .await
        .unwrap();
    assert!(
        !events
            .iter()
            .any(|e| e.entry.action == "request.file" || e.entry.action == "server_key.generate")
    );
    ra.stop().await;
}

#[tokio::test]
async fn a_rejected_server_key_request_has_its_key_erased() {
    let ra = Ra::start_with(None, |c| {
        c.profiles = vec![RaProfileConfig {
            name: "server".into(),
            approvals: 1,
        }];
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let mut b = ra.officer(&mut admin.browser, "bob", "officer", root).await;
    let page = file_server_key(
        &mut a.browser,
        root,
        &[
            ("key_type", "p384"),
            ("subject", "CN=gone.example.test"),
            ("sans", "DNS:gone.example.test"),
        ],
    )
    .await;
    let uid = uid_of(&page);
    assert_eq!(key_row(&ra, &uid).await, Some((false, true, false, false)));
    act(&mut b.browser, &uid, "reject")
        .await
        .assert_redirect(&format!("/requests/{uid}"));
    assert_eq!(key_row(&ra, &uid).await, Some((true, true, false, true)));
    let page = a.browser.get(&format!("/requests/{uid}")).await;
    assert!(
        page.element_text("server-key-state")
            .unwrap()
            .contains("erased")
    );
    let page = act(&mut a.browser, &uid, "pkcs12").await;
    assert_eq!(page.status, 409, "{}", page.body);
    assert!(page.body.contains("was erased"), "{}", page.body);
    let events = ra
        .running()
        .authority
        .store()
        .audit_events(&Default::default(), 500, 0)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.entry.action == "server_key.erase"
        && e.entry.actor == "bob"
        && e.entry.details.contains("rejected")));
    ra.stop().await;
}

/// Files a server-key request as `a`, has `b` approve it, and returns its
/// uid once issued.
async fn issued_server_key(a: &mut Browser, b: &mut Browser, unit: i64, host: &str) -> String {
    let page = file_server_key(
        a,
        unit,
        &[
            ("key_type", "p256"),
            ("subject", &format!("CN={host}")),
            ("sans", &format!("DNS:{host}")),
        ],
    )
    .await;
    let uid = uid_of(&page);
    act(b, &uid, "approve")
        .await
        .assert_redirect(&format!("/requests/{uid}"));
    let page = a.get(&format!("/requests/{uid}")).await;
    assert_eq!(page.element_text("status").as_deref(), Some("Issued"));
    uid
}

/// The sealed private key stored for request `uid`.
async fn sealed_key(ra: &Ra, uid: &str) -> Vec<u8> {
    let store = ra.running().authority.store();
    let request = store
        .request(uid, &signet_store::ra::ScopePrefix::all())
        .await
        .unwrap()
        .unwrap();
    store
        .server_key(request.id)
        .await
        .unwrap()
        .unwrap()
        .private_key
        .unwrap()
}

#[tokio::test]
async fn a_suspended_certificate_holds_the_key_back_and_a_revoked_one_erases_it() {
    let ca = TestCa::start().await;
    let ra = ra_with_ca(Backend::Sqlite, &ca).await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let mut b = ra.officer(&mut admin.browser, "bob", "officer", root).await;

    // Suspended: neither created nor downloaded; resumed: downloaded.
    let uid = issued_server_key(&mut a.browser, &mut b.browser, root, "held.example.test").await;
    assert_eq!(act(&mut a.browser, &uid, "pkcs12").await.status, 200);
    act(&mut a.browser, &uid, "suspend")
        .await
        .assert_redirect(&format!("/requests/{uid}"));
    let page = a.browser.get(&format!("/requests/{uid}")).await;
    assert!(!page.body.contains("download-pkcs12"), "{}", page.body);
    assert!(!page.body.contains("create-pkcs12"), "{}", page.body);
    for action in ["pkcs12/download", "pkcs12"] {
        let page = act(&mut a.browser, &uid, action).await;
        assert_eq!(page.status, 409, "{action}: {}", page.body);
        assert!(
            page.body.contains("suspended or expired"),
            "{action}: {}",
            page.body
        );
    }
    assert_eq!(key_row(&ra, &uid).await, Some((false, false, false, false)));
    act(&mut a.browser, &uid, "resume")
        .await
        .assert_redirect(&format!("/requests/{uid}"));
    let p12 = act(&mut a.browser, &uid, "pkcs12/download").await;
    assert_eq!(p12.status, 200, "{}", p12.body);
    assert_eq!(key_row(&ra, &uid).await, Some((true, true, true, false)));

    // Revoked: key and file erased at once, nothing handed over.
    let uid = issued_server_key(&mut a.browser, &mut b.browser, root, "gone.example.test").await;
    assert_eq!(act(&mut a.browser, &uid, "pkcs12").await.status, 200);
    let sealed = sealed_key(&ra, &uid).await;
    let page = a
        .browser
        .submit(
            &format!("/requests/{uid}"),
            &format!("/requests/{uid}/revoke"),
            &[("reason", "keyCompromise")],
        )
        .await;
    page.assert_redirect(&format!("/requests/{uid}"));
    assert_eq!(key_row(&ra, &uid).await, Some((true, true, false, true)));
    for action in ["pkcs12/download", "pkcs12"] {
        let page = act(&mut a.browser, &uid, action).await;
        assert_eq!(page.status, 409, "{action}: {}", page.body);
        assert!(page.body.contains("was erased"), "{action}: {}", page.body);
    }
    // secure_delete: once the WAL is checkpointed, the erased ciphertext
    // is nowhere in the database file.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", ra.db_path().display()))
        .await
        .unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let db = std::fs::read(ra.db_path()).unwrap();
    let probe = &sealed[..64];
    assert!(
        !db.windows(probe.len()).any(|w| w == probe),
        "the erased key's ciphertext is still in ra.db"
    );

    let events = ra
        .running()
        .authority
        .store()
        .audit_events(&Default::default(), 500, 0)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.entry.action == "server_key.erase"
        && e.entry.actor == "alice"
        && e.entry.target.contains(&uid)
        && e.entry.details.contains("revoked")));
    let refusals: Vec<&str> = events
        .iter()
        .filter(|e| e.entry.action.starts_with("pkcs12.") && e.entry.outcome == "denied")
        .map(|e| e.entry.details.as_str())
        .collect();
    assert_eq!(
        refusals
            .iter()
            .filter(|d| d.contains("certificate_not_valid"))
            .count(),
        2,
        "{refusals:?}"
    );
    assert_eq!(
        refusals.iter().filter(|d| d.contains("\"erased\"")).count(),
        2,
        "{refusals:?}"
    );
    ra.stop().await;
    ca.stop().await;
}

#[tokio::test]
async fn a_key_whose_retried_issuance_the_ca_refuses_is_erased() {
    let ca = TestCa::start().await;
    // First a dead CA (the request stays approved), then the real one,
    // which does not know the profile `unknown-at-ca` and refuses.
    let mut dead = ca.link.clone();
    dead.url = "https://127.0.0.1:1".into();
    let ra = Ra::start_with(Some(dead), |c| {
        c.profiles = vec![RaProfileConfig {
            name: "unknown-at-ca".into(),
            approvals: 1,
        }];
        c.pkcs12.pbkdf2_iterations = 10_000;
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let mut b = ra.officer(&mut admin.browser, "bob", "officer", root).await;
    let unit = root.to_string();
    let page = a
        .browser
        .submit(
            "/requests/new",
            "/requests/new",
            &[
                ("profile", "unknown-at-ca"),
                ("org_unit_id", unit.as_str()),
                ("key_source", "server"),
                ("key_type", "p256"),
                ("subject", "CN=refused.example.test"),
                ("comment", ""),
            ],
        )
        .await;
    let uid = uid_of(&page);
    act(&mut b.browser, &uid, "approve")
        .await
        .assert_redirect(&format!("/requests/{uid}"));
    let page = b.browser.get(&format!("/requests/{uid}")).await;
    assert_eq!(
        page.element_text("status").as_deref(),
        Some("Approved, issuing")
    );
    assert_eq!(key_row(&ra, &uid).await, Some((false, true, false, false)));

    let mut config = ra.config.clone();
    config.ca.url = ca.link.url.clone();
    let clock = ra.clock.clone();
    let ra = {
        let mut ra = ra;
        ra.running.take().unwrap().stop().await;
        ra.running = Some(signet_ra::start(config, clock).await.unwrap());
        let port = ra.running().addr.port();
        ra.base = format!("https://localhost:{port}");
        ra
    };
    let mut b = ra.login("bob", &b.totp).await;
    act(&mut b, &uid, "issue")
        .await
        .assert_redirect(&format!("/requests/{uid}"));
    let page = b.get(&format!("/requests/{uid}")).await;
    assert_eq!(
        page.element_text("status").as_deref(),
        Some("Refused by the CA")
    );
    assert_eq!(key_row(&ra, &uid).await, Some((true, true, false, true)));
    let events = ra
        .running()
        .authority
        .store()
        .audit_events(&Default::default(), 500, 0)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.entry.action == "server_key.erase"
        && e.entry.actor == "bob"
        && e.entry.details.contains("ca_refused")));
    ra.stop().await;
    ca.stop().await;
}

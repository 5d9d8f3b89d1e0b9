//! The request flow against a real CA started in-process: officer A files
//! a request, A cannot approve it, officer B approves, the RA has the CA
//! issue over mutual TLS, A downloads the certificate with its chain and
//! OpenSSL verifies it against the CA's root; then suspend, resume and
//! revoke through the CA. A profile needing two approvers waits for the
//! second; a rejected request is never issued. The issued certificates'
//! SANs are recorded (console and batch job alike), searched, and read
//! again from older rows at start; a request filed for a subscriber shows
//! on the subscriber's page, and a subscriber out of scope is refused.

use std::process::Command;

use signet_ra::RaProfileConfig;
use signet_store::Backend;

use crate::browser::Browser;
use crate::ca::TestCa;
use crate::kit::Ra;

fn csr_pem(cn: &str, dns: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![dns.to_owned()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.serialize_request(&key).unwrap().pem().unwrap()
}

fn uid_of(page: &crate::browser::Page) -> String {
    let location = page
        .location()
        .unwrap_or_else(|| panic!("{}: {}", page.status, page.body));
    location.trim_start_matches("/requests/").to_owned()
}

async fn file(b: &mut Browser, unit: i64, profile: &str, csr: &str) -> String {
    let unit = unit.to_string();
    let page = b
        .submit(
            "/requests/new",
            "/requests/new",
            &[
                ("profile", profile),
                ("org_unit_id", &unit),
                ("csr", csr),
                ("comment", "web server for the intranet"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    uid_of(&page)
}

async fn act(
    b: &mut Browser,
    uid: &str,
    action: &str,
    form: &[(&str, &str)],
) -> crate::browser::Page {
    b.submit(
        &format!("/requests/{uid}"),
        &format!("/requests/{uid}/{action}"),
        form,
    )
    .await
}

async fn ra_with_ca(ca: &TestCa) -> Ra {
    ra_with_ca_on(Backend::Sqlite, ca).await
}

async fn ra_with_ca_on(backend: Backend, ca: &TestCa) -> Ra {
    Ra::start_on(backend, Some(ca.link.clone()), |c| {
        c.profiles = vec![
            RaProfileConfig {
                name: "server".into(),
                approvals: 1,
            },
            RaProfileConfig {
                name: "client".into(),
                approvals: 2,
            },
        ];
    })
    .await
}

#[tokio::test]
async fn filed_by_one_approved_by_another_issued_by_the_ca_and_verified_by_openssl() {
    request_flow(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_request_flow_works_on_postgresql_too() {
    request_flow(Backend::Postgres).await;
}

async fn request_flow(backend: Backend) {
    let ca = TestCa::start().await;
    let ra = ra_with_ca_on(backend, &ca).await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let mut b = ra.officer(&mut admin.browser, "bob", "officer", root).await;

    let uid = file(
        &mut a.browser,
        root,
        "server",
        &csr_pem("www.example.test", "www.example.test"),
    )
    .await;
    let page = a.browser.get(&format!("/requests/{uid}")).await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains(&format!("/requests/{uid}/approve")),
        "no approve button for the filer"
    );

    // The filer cannot approve, whatever the form says.
    let page = act(&mut a.browser, &uid, "approve", &[("comment", "me")]).await;
    assert_eq!(page.status, 403, "{}", page.body);
    let events = ra
        .running()
        .authority
        .store()
        .audit_events(&Default::default(), 500, 0)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.entry.action == "request.approve"
        && e.entry.actor == "alice"
        && e.entry.outcome == "denied"
        && e.entry.details.contains("own_request")));

    // Another officer approves: one approval is enough for `server`.
    let page = act(&mut b.browser, &uid, "approve", &[("comment", "vetted")]).await;
    page.assert_redirect(&format!("/requests/{uid}"));
    let page = a.browser.get(&format!("/requests/{uid}")).await;
    let serial = page
        .element_text("serial")
        .unwrap_or_else(|| panic!("{}", page.body));
    assert_eq!(page.element_text("status").as_deref(), Some("Issued"));

    // The list's filters find it.
    for (query, found) in [
        (format!("serial={serial}"), true),
        ("subject=www.example".to_owned(), true),
        ("subject=nothing-like-it".to_owned(), false),
        ("status=issued&profile=server".to_owned(), true),
        ("status=pending".to_owned(), false),
        ("expiring_days=400".to_owned(), true),
        ("expiring_days=30".to_owned(), false),
        (format!("unit={root}"), true),
    ] {
        let list = a.browser.get(&format!("/requests?{query}")).await;
        assert_eq!(list.status, 200, "{query}");
        assert_eq!(list.body.contains(&uid), found, "{query}");
    }
    assert_eq!(a.browser.get("/requests?status=bogus").await.status, 400);

    // A approving afterwards: no longer pending.
    let page = act(&mut b.browser, &uid, "approve", &[]).await;
    assert_eq!(page.status, 409);

    let cert = a
        .browser
        .get(&format!("/requests/{uid}/certificate.pem"))
        .await;
    assert_eq!(cert.status, 200);
    assert_eq!(cert.header("content-type"), Some("application/x-pem-file"));
    assert_eq!(cert.body.matches("BEGIN CERTIFICATE").count(), 1);
    let der = a
        .browser
        .get(&format!("/requests/{uid}/certificate.der"))
        .await;
    assert_eq!(der.header("content-type"), Some("application/pkix-cert"));
    assert_eq!(der.body.as_bytes().first(), Some(&0x30), "a DER SEQUENCE");
    let chain = a.browser.get(&format!("/requests/{uid}/chain.pem")).await;
    assert_eq!(
        chain.body.matches("BEGIN CERTIFICATE").count(),
        2,
        "certificate + issuing CA"
    );
    let dir = tempfile::tempdir().unwrap();
    let leaf = dir.path().join("leaf.pem");
    let untrusted = dir.path().join("chain.pem");
    std::fs::write(&leaf, &cert.body).unwrap();
    std::fs::write(&untrusted, &chain.body).unwrap();
    let out = Command::new("openssl")
        .args(["verify", "-purpose", "sslserver", "-CAfile"])
        .arg(&ca.root_pem)
        .arg("-untrusted")
        .arg(&untrusted)
        .arg(&leaf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-serial", "-subject", "-in"])
        .arg(&leaf)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).to_lowercase();
    assert!(text.contains(&format!("serial={serial}")), "{text}");
    assert!(text.contains("www.example.test"), "{text}");

    // Suspend, resume, revoke: the CA's answer is shown.
    let page = act(&mut b.browser, &uid, "suspend", &[]).await;
    page.assert_redirect(&format!("/requests/{uid}"));
    let page = b.browser.get(&format!("/requests/{uid}")).await;
    assert!(
        page.element_text("cert-status")
            .unwrap()
            .starts_with("Suspended"),
        "{}",
        page.body
    );
    act(&mut b.browser, &uid, "resume", &[])
        .await
        .assert_redirect(&format!("/requests/{uid}"));
    let page = act(
        &mut a.browser,
        &uid,
        "revoke",
        &[("reason", "keyCompromise")],
    )
    .await;
    page.assert_redirect(&format!("/requests/{uid}"));
    let page = a.browser.get(&format!("/requests/{uid}")).await;
    assert!(
        page.element_text("cert-status")
            .unwrap()
            .starts_with("Revoked"),
        "{}",
        page.body
    );
    let info = ca.client().get(&serial).await.unwrap();
    assert_eq!(info.status, "revoked");
    assert_eq!(info.revocation_reason.as_deref(), Some("keyCompromise"));
    // Resuming a revoked certificate: the CA refuses, the page says so.
    let page = act(&mut a.browser, &uid, "resume", &[]).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("The CA refused"));

    // Everything is in the trail, and the trail verifies.
    let events = ra
        .running()
        .authority
        .store()
        .audit_events(&Default::default(), 500, 0)
        .await
        .unwrap();
    for action in [
        "request.file",
        "request.approve",
        "certificate.issue",
        "certificate.suspend",
        "certificate.resume",
        "certificate.revoke",
    ] {
        assert!(
            events
                .iter()
                .any(|e| e.entry.action == action && e.entry.outcome == "success"),
            "{action}"
        );
    }
    assert!(
        ra.running()
            .authority
            .audit()
            .verify()
            .await
            .unwrap()
            .is_intact()
    );
    ra.stop().await;
    ca.stop().await;
}

#[tokio::test]
async fn two_approvers_are_needed_when_the_profile_says_so_and_rejection_stops_issuance() {
    let ca = TestCa::start().await;
    let ra = ra_with_ca(&ca).await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let mut b = ra.officer(&mut admin.browser, "bob", "officer", root).await;
    let mut c = ra
        .officer(&mut admin.browser, "carol", "officer", root)
        .await;

    let uid = file(
        &mut a.browser,
        root,
        "client",
        &csr_pem("Zhang San", "zhang.example.test"),
    )
    .await;
    act(&mut b.browser, &uid, "approve", &[])
        .await
        .assert_redirect(&format!("/requests/{uid}"));
    let page = b.browser.get(&format!("/requests/{uid}")).await;
    assert_eq!(
        page.element_text("status").as_deref(),
        Some("Waiting for approval")
    );
    // Bob counts once.
    let page = act(&mut b.browser, &uid, "approve", &[]).await;
    assert_eq!(page.status, 409, "{}", page.body);
    act(&mut c.browser, &uid, "approve", &[])
        .await
        .assert_redirect(&format!("/requests/{uid}"));
    let page = c.browser.get(&format!("/requests/{uid}")).await;
    assert_eq!(
        page.element_text("status").as_deref(),
        Some("Issued"),
        "{}",
        page.body
    );

    // The expiry dashboard: nothing expires soon today; 380 days later the
    // 397-day certificate expires within 30 and 90 days, not 7.
    let home = c.browser.get("/").await;
    for days in ["7", "30", "90"] {
        assert_eq!(
            home.element_text(&format!("expiring-{days}")).as_deref(),
            Some("0")
        );
    }
    let today = ra.clock_now();
    ra.advance(380 * 86_400);
    let mut later = ra.login("carol", &c.totp).await;
    let home = later.get("/").await;
    assert_eq!(home.element_text("expiring-7").as_deref(), Some("0"));
    assert_eq!(home.element_text("expiring-30").as_deref(), Some("1"));
    assert_eq!(home.element_text("expiring-90").as_deref(), Some("1"));
    let soon = later.get("/requests?expiring_days=30").await;
    assert!(soon.body.contains(&uid));
    // Expired certificates are not "expiring".
    ra.advance(30 * 86_400);
    let mut expired = ra.login("carol", &c.totp).await;
    let home = expired.get("/").await;
    assert_eq!(home.element_text("expiring-90").as_deref(), Some("0"));
    // Back to today: the sessions made before the jump are still valid.
    ra.clock.set(today);

    // A rejected request is never issued.
    let rejected = file(
        &mut a.browser,
        root,
        "server",
        &csr_pem("x.example.test", "x.example.test"),
    )
    .await;
    act(
        &mut c.browser,
        &rejected,
        "reject",
        &[("comment", "not ours")],
    )
    .await
    .assert_redirect(&format!("/requests/{rejected}"));
    let page = act(&mut b.browser, &rejected, "approve", &[]).await;
    assert_eq!(page.status, 409);
    assert_eq!(
        a.browser
            .get(&format!("/requests/{rejected}/certificate.pem"))
            .await
            .status,
        404
    );

    // A profile not offered, and a CSR whose signature is broken, are refused.
    let unit = root.to_string();
    let page = a
        .browser
        .submit(
            "/requests/new",
            "/requests/new",
            &[
                ("profile", "sub-ca"),
                ("org_unit_id", &unit),
                ("csr", &csr_pem("a", "a.test")),
                ("comment", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 400);
    let page = a
        .browser
        .submit(
            "/requests/new",
            "/requests/new",
            &[
                ("profile", "server"),
                ("org_unit_id", &unit),
                (
                    "csr",
                    "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----",
                ),
                ("comment", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 400);

    // The auditor sees the requests but cannot decide.
    let mut auditor = ra
        .officer(&mut admin.browser, "audrey", "auditor", root)
        .await;
    let list = auditor.browser.get("/requests").await;
    assert!(list.body.contains(&uid));
    let page = act(&mut auditor.browser, &rejected, "approve", &[]).await;
    assert_eq!(page.status, 403);
    ra.stop().await;
    ca.stop().await;
}

#[tokio::test]
async fn an_unreachable_ca_leaves_the_request_approved_and_a_retry_issues_it_once() {
    let ca = TestCa::start().await;
    // The RA first points at a dead port, then at the real CA.
    let mut dead = ca.link.clone();
    dead.url = "https://127.0.0.1:1".into();
    let ra = Ra::start_with(Some(dead), |c| {
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
    let uid = file(
        &mut a.browser,
        root,
        "server",
        &csr_pem("r.example.test", "r.example.test"),
    )
    .await;
    act(&mut b.browser, &uid, "approve", &[])
        .await
        .assert_redirect(&format!("/requests/{uid}"));
    let page = b.browser.get(&format!("/requests/{uid}")).await;
    assert_eq!(
        page.element_text("status").as_deref(),
        Some("Approved, issuing")
    );
    assert!(page.body.contains("id=\"failure\""));

    // Restart the RA on the same database, now reaching the CA.
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
    let page = act(&mut b, &uid, "issue", &[]).await;
    page.assert_redirect(&format!("/requests/{uid}"));
    let page = b.get(&format!("/requests/{uid}")).await;
    let serial = page.element_text("serial").unwrap();
    // Retrying again is refused (already issued); the CA holds one certificate.
    assert_eq!(act(&mut b, &uid, "issue", &[]).await.status, 409);
    let listed = ca.client().list(None, 1000, 0).await.unwrap();
    let ours: Vec<_> = listed
        .certificates
        .iter()
        .filter(|c| c.subject.contains("r.example.test"))
        .collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!(ours[0].serial, serial);
    ra.stop().await;
    ca.stop().await;
}

/// A `server` CSR for `cn` whose SANs are `sans` (DNS names, or IP
/// addresses when they parse as one).
fn csr_with_sans(cn: &str, sans: &[&str]) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let names: Vec<String> = sans.iter().map(|s| (*s).to_owned()).collect();
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.serialize_request(&key).unwrap().pem().unwrap()
}

/// Forgets every row's SANs in the RA's database, beside the RA, as rows
/// recorded before migration 0011 have none.
async fn forget_sans(ra: &Ra) {
    let url = &ra.config.database.url;
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query("UPDATE cert_requests SET sans = NULL")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query("UPDATE ra.cert_requests SET sans = NULL")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
}

/// The request uids a console list shows for `query`.
async fn listed(b: &mut Browser, query: &str) -> String {
    let page = b.get(&format!("/requests?{query}")).await;
    assert_eq!(page.status, 200, "{query}: {}", page.body);
    page.body
}

#[tokio::test]
async fn sans_are_recorded_searched_and_read_from_older_rows_at_start() {
    san_search(Backend::Sqlite).await;
}

#[tokio::test]
async fn sans_are_recorded_and_searched_on_postgresql_too() {
    san_search(Backend::Postgres).await;
}

async fn san_search(backend: Backend) {
    let ca = TestCa::start().await;
    let ra = Ra::start_on(backend, Some(ca.link.clone()), |c| {
        c.profiles = vec![RaProfileConfig {
            name: "server".into(),
            approvals: 1,
        }];
        c.batch.chunk_size = 2;
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let mut b = ra.officer(&mut admin.browser, "bob", "officer", root).await;

    // A console request whose certificate carries two DNS names and an IP
    // address.
    let uid = file(
        &mut a.browser,
        root,
        "server",
        &csr_with_sans(
            "www.san-test.example",
            &[
                "www.san-test.example",
                "alt-host.example.test",
                "10.20.30.40",
            ],
        ),
    )
    .await;
    act(&mut b.browser, &uid, "approve", &[])
        .await
        .assert_redirect(&format!("/requests/{uid}"));
    let page = a.browser.get(&format!("/requests/{uid}")).await;
    assert_eq!(page.element_text("status").as_deref(), Some("Issued"));
    let shown = page.element_text("sans").unwrap();
    assert_eq!(
        shown,
        "DNS:www.san-test.example, DNS:alt-host.example.test, IP:10.20.30.40"
    );
    // OpenSSL reads the same names from the certificate (it writes
    // `IP Address:` where the RA writes `IP:`).
    let cert = a
        .browser
        .get(&format!("/requests/{uid}/certificate.pem"))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let leaf = dir.path().join("leaf.pem");
    std::fs::write(&leaf, &cert.body).unwrap();
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
        .arg(&leaf)
        .output()
        .unwrap();
    assert!(out.status.success());
    let openssl = String::from_utf8_lossy(&out.stdout);
    let openssl = openssl.lines().nth(1).unwrap().trim();
    assert_eq!(openssl, shown.replace("IP:", "IP Address:"));

    // "SAN contains": a fragment of any name, in any case; the subject
    // filter does not see the other names; LIKE's wildcards are literal.
    for (query, found) in [
        ("san=ALT-HOST.example", true),
        ("san=dns%3Aalt-host", true),
        ("san=10.20.30", true),
        ("san=10.20.30.40&status=issued&profile=server", true),
        ("san=nothing-like-it", false),
        ("san=10.20.30.41", false),
        ("san=%25", false),
        ("san=_", false),
        ("subject=alt-host", false),
    ] {
        assert_eq!(
            listed(&mut a.browser, query).await.contains(&uid),
            found,
            "{query}"
        );
    }

    // A batch: the job's multi-row record keeps each row's SANs too (a
    // row's vetted SANs, not its CSR's).
    let mut vetted: serde_json::Value =
        serde_json::from_str(&crate::batches::line("b1.example.test")).unwrap();
    vetted["sans"] = serde_json::json!([
        "DNS:b1.example.test",
        "DNS:vetted-batch.example.test",
        "IP:10.99.0.1"
    ]);
    let rows = [
        vetted.to_string(),
        crate::batches::line("b2.example.test"),
        crate::batches::line("b3.example.test"),
    ]
    .join("\n");
    let unit = root.to_string();
    let page = a
        .browser
        .submit(
            "/batches",
            "/batches",
            &[("org_unit_id", &unit), ("file", &rows)],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let batch = page.location().unwrap().to_owned();
    b.browser
        .submit(&batch, &format!("{batch}/approve"), &[])
        .await
        .assert_redirect(&batch);
    let mut done = false;
    for _ in 0..100 {
        let page = b.browser.get(&batch).await;
        if page.element_text("batch-status").as_deref() == Some("done") {
            assert_eq!(page.element_text("batch-issued").as_deref(), Some("3"));
            done = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(done, "the batch job did not finish");
    let list = listed(&mut a.browser, "san=VETTED-batch").await;
    assert!(list.contains("CN=b1.example.test"), "{list}");
    assert!(!list.contains("b2.example.test") && !list.contains(&uid));
    let list = listed(&mut a.browser, "san=10.99.0").await;
    assert!(list.contains("CN=b1.example.test"), "{list}");
    let list = listed(&mut a.browser, "san=b3.example").await;
    assert!(list.contains("CN=b3.example.test") && !list.contains("CN=b1.example.test"));
    let list = listed(&mut a.browser, "san=example.test").await;
    for host in ["b1", "b2", "b3", "alt-host"] {
        // alt-host's row shows its subject, www.san-test.example.
        let shown = if host == "alt-host" {
            "www.san-test.example".to_owned()
        } else {
            format!("CN={host}.example.test")
        };
        assert!(list.contains(&shown), "{host}: {list}");
    }

    // Rows recorded before the RA kept SANs: emptied here, read again from
    // their certificates when the RA starts.
    forget_sans(&ra).await;
    assert!(!listed(&mut a.browser, "san=alt-host").await.contains(&uid));
    let config = ra.config.clone();
    let clock = ra.clock.clone();
    let ra = {
        let mut ra = ra;
        ra.running.take().unwrap().stop().await;
        ra.running = Some(signet_ra::start(config, clock).await.unwrap());
        let port = ra.running().addr.port();
        ra.base = format!("https://localhost:{port}");
        ra
    };
    let all = signet_store::ra::ScopePrefix::all();
    let store = ra.running().authority.store().clone();
    let records = store
        .requests(&all, &Default::default(), 100, 0)
        .await
        .unwrap();
    assert_eq!(records.len(), 4);
    for r in &records {
        assert!(
            r.sans.as_deref().is_some_and(|s| s.starts_with("DNS:")),
            "{r:?}"
        );
    }
    let console = records.iter().find(|r| r.uid == uid).unwrap();
    assert_eq!(console.sans.as_deref(), Some(shown.as_str()));
    let mut a = ra.login("alice", &a.totp).await;
    assert!(listed(&mut a, "san=alt-host").await.contains(&uid));
    assert!(
        listed(&mut a, "san=vetted-batch")
            .await
            .contains("CN=b1.example.test")
    );
    ra.stop().await;
    ca.stop().await;
}

/// Registers a subscriber in `unit`; returns its id.
async fn register_subscriber(
    ra: &Ra,
    b: &mut Browser,
    unit: i64,
    name: &str,
    id_number: &str,
) -> i64 {
    let unit_text = unit.to_string();
    let page = b
        .submit(
            "/subscribers/new",
            "/subscribers/new",
            &[
                ("kind", "person"),
                ("display_name", name),
                ("org_unit_id", &unit_text),
                ("email", ""),
                ("id_number", id_number),
                ("phone", ""),
            ],
        )
        .await;
    page.assert_redirect("/subscribers");
    ra.running()
        .authority
        .store()
        .subscribers(&signet_store::ra::ScopePrefix::all(), None, None, 100, 0)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.display_name == name)
        .unwrap()
        .id
}

#[tokio::test]
async fn a_request_filed_for_a_subscriber_shows_on_the_subscribers_page() {
    subscriber_link(Backend::Sqlite).await;
}

#[tokio::test]
async fn requests_are_linked_to_subscribers_on_postgresql_too() {
    subscriber_link(Backend::Postgres).await;
}

async fn subscriber_link(backend: Backend) {
    let ca = TestCa::start().await;
    let ra = ra_with_ca_on(backend, &ca).await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let x = ra.create_unit(&mut admin.browser, root, "Unit X").await;
    let y = ra.create_unit(&mut admin.browser, root, "Unit Y").await;
    let mut a = ra.officer(&mut admin.browser, "alice", "officer", x).await;
    let mut b = ra.officer(&mut admin.browser, "bob", "officer", x).await;
    let mut c = ra.officer(&mut admin.browser, "carol", "officer", y).await;
    let li = register_subscriber(&ra, &mut a.browser, x, "Li Lei", "11010519491231002X").await;
    let han = register_subscriber(&ra, &mut c.browser, y, "Han Meimei", "11010519500101001X").await;
    let store = ra.running().authority.store().clone();
    let all = signet_store::ra::ScopePrefix::all();

    // The form offers the subscribers in scope only.
    let form = a.browser.get("/requests/new").await;
    assert!(
        form.body.contains("Li Lei") && !form.body.contains("Han Meimei"),
        "{}",
        form.body
    );
    // From the subscriber's page, with that subscriber chosen.
    let form = a
        .browser
        .get(&format!("/requests/new?subscriber={li}"))
        .await;
    assert!(
        form.body
            .contains(&format!("<option value=\"{li}\" selected>")),
        "{}",
        form.body
    );

    // Filed for Li Lei: the request page names the subscriber, masked.
    let unit = x.to_string();
    let li_text = li.to_string();
    let page = a
        .browser
        .submit(
            "/requests/new",
            "/requests/new",
            &[
                ("profile", "server"),
                ("org_unit_id", &unit),
                ("subscriber_id", &li_text),
                ("csr", &csr_pem("li.example.test", "li.example.test")),
                ("comment", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let uid = uid_of(&page);
    act(&mut b.browser, &uid, "approve", &[])
        .await
        .assert_redirect(&format!("/requests/{uid}"));
    let page = a.browser.get(&format!("/requests/{uid}")).await;
    assert_eq!(
        page.element_text("subscriber-name").as_deref(),
        Some("Li Lei")
    );
    assert_eq!(
        page.element_text("subscriber-kind").as_deref(),
        Some("Person")
    );
    assert_eq!(
        page.element_text("subscriber-id-number").as_deref(),
        Some("110***********002X")
    );
    assert!(!page.body.contains("11010519491231002X"));
    let serial = page.element_text("serial").unwrap();

    // The same with a key the RA generates.
    let page = a
        .browser
        .submit(
            "/requests/new",
            "/requests/new",
            &[
                ("profile", "server"),
                ("org_unit_id", &unit),
                ("subscriber_id", &li_text),
                ("key_source", "server"),
                ("key_type", "p256"),
                ("subject", "CN=li-device.example.test"),
                ("sans", "DNS:li-device.example.test"),
                ("comment", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let generated = uid_of(&page);

    // Li Lei's page lists both, with their status.
    let page = a.browser.get(&format!("/subscribers/{li}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.element_text("subscriber-name").as_deref(),
        Some("Li Lei")
    );
    assert!(page.body.contains("110***********002X") && !page.body.contains("11010519491231002X"));
    assert!(page.body.contains(&format!("id=\"request-{uid}\"")));
    assert!(page.body.contains(&format!("id=\"request-{generated}\"")));
    assert!(page.body.contains(&serial));
    assert!(page.body.contains("Issued") && page.body.contains("Waiting for approval"));
    let list = a.browser.get(&format!("/requests?subscriber={li}")).await;
    assert!(list.body.contains(&uid) && list.body.contains(&generated));
    // The subscriber list links to the page.
    let list = a.browser.get("/subscribers").await;
    assert!(
        list.body.contains(&format!("href=\"/subscribers/{li}\"")),
        "{}",
        list.body
    );

    // Han Meimei is in unit Y: refused for Alice, nothing filed.
    let before = store
        .requests(&all, &Default::default(), 100, 0)
        .await
        .unwrap()
        .len();
    let han_text = han.to_string();
    let page = a
        .browser
        .submit(
            "/requests/new",
            "/requests/new",
            &[
                ("profile", "server"),
                ("org_unit_id", &unit),
                ("subscriber_id", &han_text),
                ("csr", &csr_pem("han.example.test", "han.example.test")),
                ("comment", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    let page = a
        .browser
        .submit(
            "/requests/new",
            "/requests/new",
            &[
                ("profile", "server"),
                ("org_unit_id", &unit),
                ("subscriber_id", "not-a-number"),
                ("csr", &csr_pem("han.example.test", "han.example.test")),
                ("comment", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 400, "{}", page.body);
    let after = store
        .requests(&all, &Default::default(), 100, 0)
        .await
        .unwrap()
        .len();
    assert_eq!(after, before);
    assert_eq!(
        a.browser.get(&format!("/subscribers/{han}")).await.status,
        404
    );
    let form = a
        .browser
        .get(&format!("/requests/new?subscriber={han}"))
        .await;
    assert!(!form.body.contains("Han Meimei"), "{}", form.body);
    // ...and Li Lei's page is not Carol's.
    assert_eq!(
        c.browser.get(&format!("/subscribers/{li}")).await.status,
        404
    );
    assert_eq!(c.browser.get("/subscribers/bogus").await.status, 404);
    let events = store
        .audit_events(&Default::default(), 500, 0)
        .await
        .unwrap();
    assert!(
        events.iter().any(|e| e.entry.action == "request.file"
            && e.entry.actor == "alice"
            && e.entry.outcome == "denied"
            && e.entry.target == format!("subscriber:{han}")),
        "{events:?}"
    );
    let li_uid = store.subscriber(li, &all).await.unwrap().unwrap().uid;
    assert!(events.iter().any(|e| e.entry.action == "request.file"
        && e.entry.target == format!("request:{uid}")
        && e.entry.details.contains(&li_uid)));

    // An enrolment code made for Li Lei: the request filed with it is
    // linked to Li Lei.
    let page = a
        .browser
        .submit(
            "/enrolment-codes",
            "/enrolment-codes",
            &[
                ("profile", "server"),
                ("org_unit_id", &unit),
                ("subscriber_id", &li_text),
                ("subject", ""),
                ("sans", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 201, "{}", page.body);
    let code = page.element_text("enrolment-code").unwrap();
    let mut subscriber = ra.browser();
    let page = subscriber
        .submit(
            "/portal/enroll",
            "/portal/enroll",
            &[
                ("code", &code),
                (
                    "csr",
                    &csr_pem("li-portal.example.test", "li-portal.example.test"),
                ),
            ],
        )
        .await;
    assert!(page.status.is_success(), "{}", page.body);
    let linked = store
        .requests(
            &all,
            &signet_store::ra::RequestFilter {
                subscriber_id: Some(li),
                ..Default::default()
            },
            100,
            0,
        )
        .await
        .unwrap();
    assert_eq!(linked.len(), 3);
    let portal = linked
        .iter()
        .find(|r| r.subject.contains("li-portal"))
        .unwrap();
    let page = b.browser.get(&format!("/requests/{}", portal.uid)).await;
    assert_eq!(
        page.element_text("subscriber-name").as_deref(),
        Some("Li Lei")
    );
    ra.stop().await;
    ca.stop().await;
}

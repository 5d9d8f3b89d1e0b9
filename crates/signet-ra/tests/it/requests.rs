//! The request flow against a real CA started in-process: officer A files
//! a request, A cannot approve it, officer B approves, the RA has the CA
//! issue over mutual TLS, A downloads the certificate with its chain and
//! OpenSSL verifies it against the CA's root; then suspend, resume and
//! revoke through the CA. A profile needing two approvers waits for the
//! second; a rejected request is never issued.

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

//! The subscribers' portal with a certificate the real CA issued through
//! the RA: login by that certificate, renewal refused outside the window
//! and filed inside it (officers approve it), self-revocation, and then the
//! revoked certificate refused.

use signet_ra::RaProfileConfig;

use crate::ca::TestCa;
use crate::kit::{Ra, write};

#[tokio::test]
async fn holders_renew_inside_the_window_and_revoke_and_revoked_certificates_are_refused() {
    let ca = TestCa::start().await;
    let p = crate::pki::pki();
    let roots_dir = tempfile::tempdir().unwrap();
    let roots = write(
        &roots_dir.path().join("roots.pem"),
        &format!(
            "{}{}{}",
            p.customer_root_pem,
            p.platform_root_pem,
            std::fs::read_to_string(&ca.root_pem).unwrap()
        ),
    );
    let ra = Ra::start_with(Some(ca.link.clone()), |c| {
        c.profiles = vec![RaProfileConfig {
            name: "client".into(),
            approvals: 1,
        }];
        c.server.client_roots = roots.clone();
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let unit = root.to_string();
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let mut b = ra.officer(&mut admin.browser, "bob", "officer", root).await;

    // An officer files the subscriber's first certificate; another approves.
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["li.example.test".to_owned()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "li.example.test");
    let csr = params.serialize_request(&key).unwrap().pem().unwrap();
    let page = a
        .browser
        .submit(
            "/requests/new",
            "/requests/new",
            &[
                ("profile", "client"),
                ("org_unit_id", &unit),
                ("csr", &csr),
                ("comment", ""),
            ],
        )
        .await;
    let location = page.location().unwrap().to_owned();
    b.browser
        .submit(&location, &format!("{location}/approve"), &[])
        .await
        .assert_redirect(&location);
    let chain = a.browser.get(&format!("{location}/chain.pem")).await.body;
    let identity =
        signet_tls::Identity::from_pem(chain.as_bytes(), key.serialize_pem().as_bytes()).unwrap();

    // The holder logs in with it.
    let mut holder = crate::browser::Browser::new(&ra.base, &ra.web_roots, Some(&identity));
    let page = holder.get("/portal").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let serial = page.element_text("portal-serial").unwrap();
    assert!(page.body.contains("id=\"not-renewable\""));

    // Renewal: refused 397 days before expiry, even when forced.
    let new_key = rcgen::KeyPair::generate().unwrap();
    let new_csr = params.serialize_request(&new_key).unwrap().pem().unwrap();
    let page = holder
        .submit("/portal", "/portal/renew", &[("csr", &new_csr)])
        .await;
    assert_eq!(page.status, 409, "{}", page.body);
    // Without the anti-CSRF value: refused.
    let page = holder.post("/portal/renew", &[("csr", &new_csr)]).await;
    assert_eq!(page.status, 403);
    // Inside the window (380 days later by the RA's clock): filed.
    ra.advance(380 * 86_400);
    let page = holder
        .submit("/portal", "/portal/renew", &[("csr", &new_csr)])
        .await;
    page.assert_redirect("/portal");
    let page = holder.get("/portal").await;
    assert!(page.body.contains("class=\"renewal\""), "{}", page.body);
    // A second renewal while the first waits: refused.
    let page = holder
        .submit("/portal", "/portal/renew", &[("csr", &new_csr)])
        .await;
    assert_eq!(page.status, 409);
    let requests = ra
        .running()
        .authority
        .store()
        .requests(
            &signet_store::ra::ScopePrefix::all(),
            &Default::default(),
            100,
            0,
        )
        .await
        .unwrap();
    let renewal = requests
        .iter()
        .find(|r| r.renewal_of.as_deref() == Some(serial.as_str()))
        .unwrap();
    assert_eq!(renewal.status, "pending");
    assert_eq!(renewal.profile, "client");

    // Self-revocation, then the certificate no longer logs in.
    let page = holder
        .submit("/portal", "/portal/revoke", &[("reason", "keyCompromise")])
        .await;
    page.assert_redirect("/portal/revoked");
    assert_eq!(ca.client().get(&serial).await.unwrap().status, "revoked");
    let page = holder.get("/portal").await;
    assert_eq!(page.status, 403, "{}", page.body);
    // Even with a valid anti-CSRF value, a renewal by it is refused.
    let csrf = holder.cookies["signet_prelogin"].clone();
    let page = holder
        .post("/portal/renew", &[("csrf", &csrf), ("csr", &new_csr)])
        .await;
    assert_eq!(page.status, 403);

    // A certificate the RA never issued is refused.
    let mut stranger = ra.browser_with(&p.other_cert);
    assert_eq!(stranger.get("/portal").await.status, 403);
    let mut nobody = ra.browser();
    assert_eq!(nobody.get("/portal").await.status, 403);

    let events = ra
        .running()
        .authority
        .store()
        .audit_events(&Default::default(), 1000, 0)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.entry.actor_kind == "subscriber"
        && e.entry.action == "portal.renew"
        && e.entry.outcome == "success"));
    assert!(
        events
            .iter()
            .any(|e| e.entry.actor_kind == "subscriber" && e.entry.action == "certificate.revoke")
    );
    assert!(
        events
            .iter()
            .any(|e| e.entry.action == "portal.login" && e.entry.outcome == "denied")
    );
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

/// An RA beside `ca` offering `client` (one approver) whose client roots
/// include the CA's root, so its certificates log in to the portal.
async fn portal_ra(
    backend: signet_store::Backend,
    ca: &TestCa,
    tweak: impl FnOnce(&mut signet_ra::RaConfig),
) -> (Ra, tempfile::TempDir) {
    let p = crate::pki::pki();
    let roots_dir = tempfile::tempdir().unwrap();
    let roots = write(
        &roots_dir.path().join("roots.pem"),
        &format!(
            "{}{}{}",
            p.customer_root_pem,
            p.platform_root_pem,
            std::fs::read_to_string(&ca.root_pem).unwrap()
        ),
    );
    let ra = Ra::start_on(backend, Some(ca.link.clone()), |c| {
        c.profiles = vec![RaProfileConfig {
            name: "client".into(),
            approvals: 1,
        }];
        c.server.client_roots = roots.clone();
        tweak(c);
    })
    .await;
    (ra, roots_dir)
}

/// A `client` CSR for `cn` and its key.
fn client_csr(cn: &str) -> (String, rcgen::KeyPair) {
    let key = rcgen::KeyPair::generate().unwrap();
    (csr_with(&key, cn), key)
}

/// A CSR for `cn` (subject and DNS name) signed by `key`.
fn csr_with(key: &rcgen::KeyPair, cn: &str) -> String {
    let mut params = rcgen::CertificateParams::new(vec![cn.to_owned()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.serialize_request(key).unwrap().pem().unwrap()
}

/// `openssl verify` of the first certificate of `chain_pem` (leaf, then
/// intermediates) against the CA's root, for TLS client use; returns the
/// leaf's `openssl x509 -text`.
fn openssl_verify_client(ca: &TestCa, chain_pem: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let chain = dir.path().join("chain.pem");
    std::fs::write(&chain, chain_pem).unwrap();
    let leaf = dir.path().join("leaf.pem");
    let first_end = chain_pem.find("-----END CERTIFICATE-----").unwrap() + 25;
    std::fs::write(&leaf, &chain_pem[..first_end]).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["verify", "-purpose", "sslclient", "-CAfile"])
        .arg(&ca.root_pem)
        .arg("-untrusted")
        .arg(&chain)
        .arg(&leaf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&leaf)
        .output()
        .unwrap();
    String::from_utf8_lossy(&text.stdout).into_owned()
}

/// The officer makes an enrolment code; returns it (shown once).
async fn make_code(
    officer: &mut crate::browser::Browser,
    unit: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut form = vec![("profile", "client"), ("org_unit_id", unit)];
    form.extend_from_slice(extra);
    let page = officer
        .submit("/enrolment-codes", "/enrolment-codes", &form)
        .await;
    assert_eq!(page.status, 201, "{}", page.body);
    let code = page.element_text("enrolment-code").unwrap();
    assert_eq!(code.len(), 23, "{code}");
    code
}

fn details(e: &signet_store::ra::AuditRecord) -> serde_json::Value {
    serde_json::from_str(&e.entry.details).unwrap()
}

/// The uniform refusal of a code: 403 and the same message.
#[track_caller]
fn assert_refused(page: &crate::browser::Page, what: &str) {
    assert_eq!(page.status, 403, "{what}: {}", page.body);
    assert!(
        page.element_text("enrolment-error")
            .unwrap()
            .starts_with("This enrolment code cannot be used."),
        "{what}: {}",
        page.body
    );
}

#[tokio::test]
async fn first_enrolment_with_a_one_time_code() {
    enrolment_flow(signet_store::Backend::Sqlite).await;
}

#[tokio::test]
async fn first_enrolment_works_on_postgresql_too() {
    enrolment_flow(signet_store::Backend::Postgres).await;
}

async fn enrolment_flow(backend: signet_store::Backend) {
    let ca = TestCa::start().await;
    let (ra, _roots) = portal_ra(backend, &ca, |_| {}).await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let unit = root.to_string();
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let mut b = ra.officer(&mut admin.browser, "bob", "officer", root).await;
    let store = ra.running().authority.store().clone();
    let all = signet_store::ra::ScopePrefix::all();

    // Alice makes a code with the vetted subject and SAN; it is shown once.
    let code = make_code(
        &mut a.browser,
        &unit,
        &[
            ("subject", "CN=zhang.example.test,O=Example"),
            ("sans", "DNS:zhang.example.test\r\n"),
        ],
    )
    .await;
    let list = a.browser.get("/enrolment-codes").await;
    assert_eq!(list.status, 200);
    assert!(!list.body.contains(&code), "the list never shows a code");
    assert!(list.body.contains("class=\"enrolment-code\""));

    // The subscriber, without a certificate, opens the portal's form.
    let mut s = ra.browser();
    let page = s.get("/portal/enroll").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let (csr, key) = client_csr("whatever-the-csr-says.example.test");
    // No anti-CSRF value: refused.
    let page = s
        .post("/portal/enroll", &[("code", &code), ("csr", &csr)])
        .await;
    assert_eq!(page.status, 403);
    // A wrong code (right shape) and junk: the same refusal, nothing filed.
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll",
            &[("code", "AAAAA-BBBBB-CCCCC-DDDDD"), ("csr", &csr)],
        )
        .await;
    assert_refused(&page, "unknown code");
    let refusal = page.element_text("enrolment-error").unwrap();
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll",
            &[("code", "x"), ("csr", &csr)],
        )
        .await;
    assert_refused(&page, "malformed code");
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll",
            &[("code", &code), ("csr", "junk")],
        )
        .await;
    assert_eq!(page.status, 400, "a bad CSR: {}", page.body);
    assert!(
        store
            .requests(&all, &Default::default(), 100, 0)
            .await
            .unwrap()
            .is_empty(),
        "nothing filed"
    );

    // The right code (typed in lowercase, with spaces) files the request.
    let typed = code.to_lowercase().replace('-', " ");
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll",
            &[("code", &typed), ("csr", &csr)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("data-status=\"pending\""),
        "{}",
        page.body
    );
    // Single use: a second filing with it is refused like a wrong code.
    let (csr2, _) = client_csr("again.example.test");
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll",
            &[("code", &code), ("csr", &csr2)],
        )
        .await;
    assert_refused(&page, "second filing");
    assert_eq!(page.element_text("enrolment-error").unwrap(), refusal);
    let requests = store
        .requests(&all, &Default::default(), 100, 0)
        .await
        .unwrap();
    assert_eq!(requests.len(), 1, "exactly one request filed");
    let request = &requests[0];
    assert_eq!(request.subject, "CN=zhang.example.test,O=Example");
    assert_eq!(request.status, "pending");
    // Nothing to download yet.
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll/certificate",
            &[("code", &code)],
        )
        .await;
    assert_eq!(page.status, 409, "{}", page.body);

    // The officer who made the code is its filer and cannot approve it.
    let location = format!("/requests/{}", request.uid);
    let page = a
        .browser
        .submit(&location, &format!("{location}/approve"), &[])
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    b.browser
        .submit(&location, &format!("{location}/approve"), &[])
        .await
        .assert_redirect(&location);

    // The subscriber comes back with the code: issued, and downloads it.
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll/status",
            &[("code", &code)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("data-status=\"issued\""),
        "{}",
        page.body
    );
    let serial = page.element_text("enrolment-serial").unwrap();
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll/certificate",
            &[("code", &code)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.header("content-type"), Some("application/x-pem-file"));
    assert_eq!(
        page.body.matches("BEGIN CERTIFICATE").count(),
        2,
        "leaf and issuing CA"
    );
    let text = openssl_verify_client(&ca, &page.body);
    assert!(
        text.contains("CN=zhang.example.test") || text.contains("CN = zhang.example.test"),
        "{text}"
    );
    assert!(text.contains("DNS:zhang.example.test"), "{text}");
    assert!(
        !text.contains("whatever-the-csr-says"),
        "the vetted identity replaced the CSR's: {text}"
    );
    assert_eq!(ca.client().get(&serial).await.unwrap().status, "good");
    // The certificate holds the subscriber's key: it logs in to the portal.
    let identity =
        signet_tls::Identity::from_pem(page.body.as_bytes(), key.serialize_pem().as_bytes())
            .unwrap();
    let mut holder = crate::browser::Browser::new(&ra.base, &ra.web_roots, Some(&identity));
    let portal = holder.get("/portal").await;
    assert_eq!(portal.status, 200, "{}", portal.body);
    assert_eq!(portal.element_text("portal-serial").unwrap(), serial);

    // Spent: neither the download nor the status answers any more.
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll/certificate",
            &[("code", &code)],
        )
        .await;
    assert_refused(&page, "second download");
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll/status",
            &[("code", &code)],
        )
        .await;
    assert_refused(&page, "status after download");

    // A withdrawn code is refused.
    let withdrawn = make_code(&mut a.browser, &unit, &[]).await;
    let codes = store.enrolment_codes(&all, 10).await.unwrap();
    let record = codes.iter().find(|c| c.status == "open").unwrap();
    let page = b
        .browser
        .submit(
            "/enrolment-codes",
            &format!("/enrolment-codes/{}/revoke", record.uid),
            &[],
        )
        .await;
    page.assert_redirect("/enrolment-codes");
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll",
            &[("code", &withdrawn), ("csr", &csr2)],
        )
        .await;
    assert_refused(&page, "withdrawn code");

    // An expired code is refused (7 days by default).
    let expired = make_code(&mut a.browser, &unit, &[]).await;
    ra.advance(7 * 86_400 + 1);
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll",
            &[("code", &expired), ("csr", &csr2)],
        )
        .await;
    assert_refused(&page, "expired code");
    assert_eq!(
        store
            .requests(&all, &Default::default(), 100, 0)
            .await
            .unwrap()
            .len(),
        1,
        "refused codes filed nothing"
    );

    // Throttle: after 10 refusals in a minute even a good code is refused,
    // and answered the same; a minute later it works.
    ra.advance(60);
    // (Moving the clock ended Alice's session.)
    a.browser = ra.login("alice", &a.totp).await;
    let good = make_code(&mut a.browser, &unit, &[]).await;
    ra.advance(60 - ra.clock_now().unix().rem_euclid(60));
    for _ in 0..10 {
        let page = s
            .submit(
                "/portal/enroll",
                "/portal/enroll/status",
                &[("code", "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ")],
            )
            .await;
        assert_refused(&page, "wrong code");
    }
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll/status",
            &[("code", &good)],
        )
        .await;
    assert_refused(&page, "throttled good code");
    ra.advance(60);
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll/status",
            &[("code", &good)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("data-status=\"unused\""),
        "{}",
        page.body
    );

    // Both pages in Simplified Chinese, every string translated.
    s.accept_language = Some("zh-CN".into());
    a.browser.accept_language = Some("zh-CN".into());
    for page in [
        s.get("/portal/enroll").await,
        a.browser.get("/enrolment-codes").await,
    ] {
        assert_eq!(page.status, 200);
        assert!(page.body.contains("注册"), "{}", page.body);
        assert!(!page.body.contains("enrolment."), "{}", page.body);
        assert!(!page.body.contains("enrolment_"), "{}", page.body);
    }

    // The trail: who made, withdrew, redeemed, downloaded, and every
    // refusal with its reason; never a code.
    let events = store
        .audit_events(&Default::default(), 1000, 0)
        .await
        .unwrap();
    let count = |action: &str| events.iter().filter(|e| e.entry.action == action).count();
    assert_eq!(count("enrolment_code.create"), 4);
    assert_eq!(count("enrolment_code.revoke"), 1);
    assert_eq!(count("enrolment_code.redeem"), 1);
    assert_eq!(count("enrolment_code.download"), 1);
    let reasons: Vec<String> = events
        .iter()
        .filter(|e| e.entry.action == "enrolment_code.refused")
        .map(|e| {
            assert_eq!(e.entry.outcome, "denied");
            assert_eq!(e.entry.actor_kind, "subscriber");
            details(e)["reason"].as_str().unwrap().to_owned()
        })
        .collect();
    for reason in [
        "unknown",
        "malformed",
        "already_redeemed",
        "spent",
        "revoked",
        "expired",
        "throttled",
    ] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "{reason} in {reasons:?}"
        );
    }
    let redeem = events
        .iter()
        .find(|e| e.entry.action == "enrolment_code.redeem")
        .unwrap();
    assert_eq!(redeem.entry.target, format!("request:{}", request.uid));
    assert_eq!(details(redeem)["filed_by"], "alice");
    for c in [&code, &withdrawn, &expired, &good] {
        let bare = c.replace('-', "");
        for e in &events {
            let text = format!("{:?}", e.entry);
            assert!(
                !text.contains(c.as_str()) && !text.contains(&bare),
                "a code in the trail: {text}"
            );
        }
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

/// A portal renewal issued through the real CA.
struct Renewed {
    ra: Ra,
    _roots: tempfile::TempDir,
    /// The holder of the renewed (old) certificate, in the portal.
    holder: crate::browser::Browser,
    old_serial: String,
    /// The old certificate and its chain, PEM.
    old_chain: String,
    renewal: signet_store::ra::RequestRecord,
    /// When the renewal was issued, by the RA's clock.
    issued_at: i64,
    /// The officer who approved it.
    alice: crate::kit::Officer,
}

/// An RA (superseded revocations looked for every second) where a
/// holder's certificate was renewed in the portal and the renewal issued.
async fn renewed_certificate(ca: &TestCa) -> Renewed {
    renewal_of(ca, false).await
}

/// [`renewed_certificate`], the renewal's CSR made with the old key when
/// `same_key`, else with a new one.
async fn renewal_of(ca: &TestCa, same_key: bool) -> Renewed {
    let (ra, _roots) = portal_ra(signet_store::Backend::Sqlite, ca, |c| {
        c.portal.supersede_check_interval = "1s".into();
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let unit = root.to_string();
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let mut b = ra.officer(&mut admin.browser, "bob", "officer", root).await;

    // A certificate issued the usual way; its holder logs in.
    let (csr, key) = client_csr("wang.example.test");
    let page = a
        .browser
        .submit(
            "/requests/new",
            "/requests/new",
            &[
                ("profile", "client"),
                ("org_unit_id", &unit),
                ("csr", &csr),
                ("comment", ""),
            ],
        )
        .await;
    let location = page.location().unwrap().to_owned();
    b.browser
        .submit(&location, &format!("{location}/approve"), &[])
        .await
        .assert_redirect(&location);
    let chain = a.browser.get(&format!("{location}/chain.pem")).await.body;
    let identity =
        signet_tls::Identity::from_pem(chain.as_bytes(), key.serialize_pem().as_bytes()).unwrap();
    let mut holder = crate::browser::Browser::new(&ra.base, &ra.web_roots, Some(&identity));
    let page = holder.get("/portal").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let old_serial = page.element_text("portal-serial").unwrap();

    // Inside the renewal window the holder renews; an officer approves.
    ra.advance(380 * 86_400);
    let new_csr = if same_key {
        csr_with(&key, "wang.example.test")
    } else {
        client_csr("wang.example.test").0
    };
    holder
        .submit("/portal", "/portal/renew", &[("csr", &new_csr)])
        .await
        .assert_redirect("/portal");
    let store = ra.running().authority.store().clone();
    let all = signet_store::ra::ScopePrefix::all();
    let renewal = store
        .requests(&all, &Default::default(), 100, 0)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.renewal_of.as_deref() == Some(old_serial.as_str()))
        .unwrap();
    let location = format!("/requests/{}", renewal.uid);
    // (Moving the clock ended Alice's session.)
    a.browser = ra.login("alice", &a.totp).await;
    a.browser
        .submit(&location, &format!("{location}/approve"), &[])
        .await
        .assert_redirect(&location);
    let issued_at = ra.clock_now().unix();
    let renewal = store.request(&renewal.uid, &all).await.unwrap().unwrap();
    assert_eq!(renewal.status, "issued");
    Renewed {
        ra,
        _roots,
        holder,
        old_serial,
        old_chain: chain,
        renewal,
        issued_at,
        alice: a,
    }
}

#[tokio::test]
async fn a_renewed_certificate_is_revoked_as_superseded_after_the_grace_period() {
    let ca = TestCa::start().await;
    let Renewed {
        ra,
        _roots,
        mut holder,
        old_serial,
        renewal,
        issued_at,
        ..
    } = renewed_certificate(&ca).await;
    let store = ra.running().authority.store().clone();
    let all = signet_store::ra::ScopePrefix::all();

    // One renewal per certificate: with one issued, another is refused.
    let (another, _) = client_csr("wang.example.test");
    let page = holder
        .submit("/portal", "/portal/renew", &[("csr", &another)])
        .await;
    assert_eq!(page.status, 409, "{}", page.body);
    assert!(
        page.body.contains("renewed already"),
        "the reason is shown: {}",
        page.body
    );

    // The portal says when the old certificate goes, and hands out the new one.
    let page = holder.get("/portal").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"superseded-on\""), "{}", page.body);
    let new_serial = renewal.serial.clone().unwrap();
    let new_chain = holder
        .get(&format!("/portal/renewals/{}/chain.pem", renewal.uid))
        .await;
    assert_eq!(new_chain.status, 200, "{}", new_chain.body);
    openssl_verify_client(&ca, &new_chain.body);
    let schedule = store
        .superseded_revocation(
            store
                .request_by_serial(&old_serial, &all)
                .await
                .unwrap()
                .unwrap()
                .id,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(schedule.due_at, issued_at + 7 * 86_400);

    // Before the grace period ends the old certificate stays good.
    ra.advance(7 * 86_400 - 3600);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(ca.client().get(&old_serial).await.unwrap().status, "good");
    assert_eq!(holder.get("/portal").await.status, 200);

    // After it, the background task revokes it at the CA: superseded.
    ra.advance(2 * 3600);
    let mut info = ca.client().get(&old_serial).await.unwrap();
    for _ in 0..100 {
        if info.status == "revoked" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        info = ca.client().get(&old_serial).await.unwrap();
    }
    assert_eq!(info.status, "revoked");
    assert_eq!(info.revocation_reason.as_deref(), Some("superseded"));
    assert_eq!(ca.client().get(&new_serial).await.unwrap().status, "good");
    let old = store
        .request_by_serial(&old_serial, &all)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.cert_status.as_deref(), Some("revoked"));
    assert_eq!(old.revocation_reason.as_deref(), Some("superseded"));
    assert_eq!(
        holder.get("/portal").await.status,
        403,
        "the old certificate no longer logs in"
    );

    // Done once: later runs change nothing.
    assert_eq!(
        ra.running()
            .authority
            .revoke_due_superseded()
            .await
            .unwrap(),
        0
    );
    let events = store
        .audit_events(&Default::default(), 1000, 0)
        .await
        .unwrap();
    let revocations: Vec<_> = events
        .iter()
        .filter(|e| e.entry.action == "certificate.revoke")
        .collect();
    assert_eq!(revocations.len(), 1, "{revocations:?}");
    assert_eq!(revocations[0].entry.actor_kind, "system");
    assert_eq!(revocations[0].entry.outcome, "success");
    assert_eq!(details(revocations[0])["reason"], "superseded");
    assert!(
        events
            .iter()
            .any(|e| e.entry.action == "certificate.supersede_scheduled")
    );
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

/// The schedule of the certificate `serial`.
async fn schedule_of(ra: &Ra, serial: &str) -> signet_store::ra::SupersededRevocation {
    let store = ra.running().authority.store();
    let all = signet_store::ra::ScopePrefix::all();
    let old = store
        .request_by_serial(serial, &all)
        .await
        .unwrap()
        .unwrap();
    store.superseded_revocation(old.id).await.unwrap().unwrap()
}

/// Waits (at most 10 s) until the schedule of `serial` is no longer
/// `scheduled`, or has failed attempts.
async fn settled(ra: &Ra, serial: &str) -> signet_store::ra::SupersededRevocation {
    for _ in 0..100 {
        let s = schedule_of(ra, serial).await;
        if s.status != "scheduled" || s.attempts > 0 {
            return s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    schedule_of(ra, serial).await
}

#[tokio::test]
async fn a_certificate_already_revoked_at_the_ca_counts_as_superseded() {
    let ca = TestCa::start().await;
    let Renewed {
        ra,
        _roots,
        old_serial,
        ..
    } = renewed_certificate(&ca).await;
    // Revoked at the CA behind the RA's back (a lost answer, another RA):
    // the RA still thinks it good.
    ca.client()
        .revoke(
            &old_serial,
            &signet_api::ca::RevokeRequest {
                reason: "keyCompromise".into(),
                invalidity_date: None,
                issuer: None,
                crl_now: false,
            },
        )
        .await
        .unwrap();
    ra.advance(7 * 86_400 + 60);
    let schedule = settled(&ra, &old_serial).await;
    assert_eq!(schedule.status, "done", "{schedule:?}");
    let info = ca.client().get(&old_serial).await.unwrap();
    assert_eq!(info.status, "revoked");
    assert_eq!(
        info.revocation_reason.as_deref(),
        Some("keyCompromise"),
        "the first reason stands"
    );
    let old = ra
        .running()
        .authority
        .store()
        .request_by_serial(&old_serial, &signet_store::ra::ScopePrefix::all())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        old.cert_status.as_deref(),
        Some("revoked"),
        "the RA learnt the CA's answer"
    );
    let events = ra
        .running()
        .authority
        .store()
        .audit_events(&Default::default(), 1000, 0)
        .await
        .unwrap();
    let revoke = events
        .iter()
        .find(|e| e.entry.action == "certificate.revoke")
        .unwrap();
    assert_eq!(revoke.entry.actor_kind, "system");
    assert_eq!(revoke.entry.outcome, "success");
    assert_eq!(details(revoke)["already_revoked"], true);
    ra.stop().await;
    ca.stop().await;
}

#[tokio::test]
async fn a_superseded_revocation_is_postponed_while_the_ca_is_down() {
    let mut ca = TestCa::start().await;
    let Renewed {
        ra,
        _roots,
        old_serial,
        ..
    } = renewed_certificate(&ca).await;
    // The CA goes away; the revocation falls due.
    if let Some(running) = ca.running.take() {
        running.stop().await;
    }
    ra.advance(7 * 86_400 + 60);
    let schedule = settled(&ra, &old_serial).await;
    assert_eq!(
        schedule.status, "scheduled",
        "kept for a retry: {schedule:?}"
    );
    assert_eq!(schedule.attempts, 1);
    assert!(schedule.last_error.is_some());
    // The first retry waits twice the check interval (1 s here).
    assert_eq!(schedule.next_attempt_at, ra.clock_now().unix() + 2);
    let events = ra
        .running()
        .authority
        .store()
        .audit_events(&Default::default(), 1000, 0)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.entry.action == "certificate.revoke"
        && e.entry.actor_kind == "system"
        && e.entry.outcome == "error"));
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
async fn a_renewal_revoked_during_the_grace_period_keeps_the_old_certificate() {
    let ca = TestCa::start().await;
    let Renewed {
        ra,
        _roots,
        mut holder,
        old_serial,
        renewal,
        mut alice,
        ..
    } = renewed_certificate(&ca).await;
    // The new certificate turns out bad: an officer revokes it.
    let location = format!("/requests/{}", renewal.uid);
    alice
        .browser
        .submit(
            &location,
            &format!("{location}/revoke"),
            &[("reason", "keyCompromise")],
        )
        .await
        .assert_redirect(&location);
    let new_serial = renewal.serial.clone().unwrap();
    assert_eq!(
        ca.client().get(&new_serial).await.unwrap().status,
        "revoked"
    );
    // The grace period ends: the old certificate is not revoked, the
    // schedule is cancelled, and the holder still logs in with it.
    ra.advance(7 * 86_400 + 60);
    let schedule = settled(&ra, &old_serial).await;
    assert_eq!(schedule.status, "cancelled", "{schedule:?}");
    assert_eq!(
        schedule.last_error.as_deref(),
        Some("renewal revoked"),
        "{schedule:?}"
    );
    assert_eq!(ca.client().get(&old_serial).await.unwrap().status, "good");
    assert_eq!(holder.get("/portal").await.status, 200);
    let events = ra
        .running()
        .authority
        .store()
        .audit_events(&Default::default(), 1000, 0)
        .await
        .unwrap();
    let cancelled: Vec<_> = events
        .iter()
        .filter(|e| e.entry.action == "certificate.supersede_cancelled")
        .collect();
    assert_eq!(cancelled.len(), 1, "audited once");
    assert_eq!(cancelled[0].entry.actor_kind, "system");
    assert_eq!(details(cancelled[0])["renewal_status"], "revoked");
    assert!(
        !events
            .iter()
            .any(|e| e.entry.action == "certificate.revoke" && e.entry.actor_kind == "system"),
        "nothing revoked by the system"
    );
    // Later runs change nothing.
    assert_eq!(
        ra.running()
            .authority
            .revoke_due_superseded()
            .await
            .unwrap(),
        0
    );
    ra.stop().await;
    ca.stop().await;
}

/// Files a request with `code` for a new key; returns the key.
async fn redeem(s: &mut crate::browser::Browser, code: &str, cn: &str) -> rcgen::KeyPair {
    let (csr, key) = client_csr(cn);
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll",
            &[("code", code), ("csr", &csr)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    key
}

/// The request filed with the code whose record is `uid`.
async fn request_of_code(ra: &Ra, uid: &str) -> String {
    let all = signet_store::ra::ScopePrefix::all();
    ra.running()
        .authority
        .store()
        .enrolment_code(uid, &all)
        .await
        .unwrap()
        .unwrap()
        .request_uid
        .unwrap()
}

#[tokio::test]
async fn enrolment_codes_download_after_a_slow_approval_and_never_a_revoked_certificate() {
    let ca = TestCa::start().await;
    let (ra, _roots) = portal_ra(signet_store::Backend::Sqlite, &ca, |_| {}).await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let unit = root.to_string();
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let b = ra.officer(&mut admin.browser, "bob", "officer", root).await;
    let store = ra.running().authority.store().clone();
    let all = signet_store::ra::ScopePrefix::all();
    let mut s = ra.browser();
    s.get("/portal/enroll").await;

    // Filed on day 6 of the code's 7, approved on day 8: the download
    // deadline started afresh at filing, so the certificate still comes.
    let slow = make_code(&mut a.browser, &unit, &[]).await;
    let made_at = ra.clock_now().unix();
    ra.advance(6 * 86_400);
    let key = redeem(&mut s, &slow, "slow.example.test").await;
    let code = store.enrolment_codes(&all, 10).await.unwrap().remove(0);
    assert_eq!(code.expires_at, made_at + 7 * 86_400);
    assert_eq!(
        code.download_expires_at,
        Some(ra.clock_now().unix() + 7 * 86_400)
    );
    ra.advance(2 * 86_400);
    let mut bob = ra.login("bob", &b.totp).await;
    let location = format!("/requests/{}", request_of_code(&ra, &code.uid).await);
    bob.submit(&location, &format!("{location}/approve"), &[])
        .await
        .assert_redirect(&location);
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll/status",
            &[("code", &slow)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("data-status=\"issued\""),
        "{}",
        page.body
    );
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll/certificate",
            &[("code", &slow)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    openssl_verify_client(&ca, &page.body);
    signet_tls::Identity::from_pem(page.body.as_bytes(), key.serialize_pem().as_bytes()).unwrap();

    // Issued, then revoked by an officer before the subscriber came for
    // it: the status page says so (without the officer's words) and the
    // download is refused.
    a.browser = ra.login("alice", &a.totp).await;
    let late = make_code(&mut a.browser, &unit, &[]).await;
    redeem(&mut s, &late, "late.example.test").await;
    let late_uid = store.enrolment_codes(&all, 10).await.unwrap().remove(0).uid;
    let location = format!("/requests/{}", request_of_code(&ra, &late_uid).await);
    bob.submit(&location, &format!("{location}/approve"), &[])
        .await
        .assert_redirect(&location);
    bob.submit(
        &location,
        &format!("{location}/revoke"),
        &[("reason", "cessationOfOperation")],
    )
    .await
    .assert_redirect(&location);
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll/status",
            &[("code", &late)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("id=\"enrolment-not-good\""),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("/portal/enroll/certificate"),
        "{}",
        page.body
    );
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll/certificate",
            &[("code", &late)],
        )
        .await;
    assert_eq!(page.status, 409, "{}", page.body);
    assert!(!page.body.contains("-----BEGIN CERTIFICATE-----"));

    // A rejected request: the page says "refused, ask your officer", not
    // the officer's comment.
    let rejected = make_code(&mut a.browser, &unit, &[]).await;
    redeem(&mut s, &rejected, "rejected.example.test").await;
    let rejected_uid = store.enrolment_codes(&all, 10).await.unwrap().remove(0).uid;
    let location = format!("/requests/{}", request_of_code(&ra, &rejected_uid).await);
    bob.submit(
        &location,
        &format!("{location}/reject"),
        &[("comment", "internal-note-4711")],
    )
    .await
    .assert_redirect(&location);
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll/status",
            &[("code", &rejected)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("id=\"enrolment-refused\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains("internal-note-4711"), "{}", page.body);

    // An expired code can still be withdrawn.
    let expired = make_code(&mut a.browser, &unit, &[]).await;
    let expired_uid = store.enrolment_codes(&all, 10).await.unwrap().remove(0).uid;
    ra.advance(7 * 86_400 + 1);
    a.browser = ra.login("alice", &a.totp).await;
    let list = a.browser.get("/enrolment-codes").await;
    assert!(
        list.body
            .contains(&format!("/enrolment-codes/{expired_uid}/revoke")),
        "{}",
        list.body
    );
    a.browser
        .submit(
            "/enrolment-codes",
            &format!("/enrolment-codes/{expired_uid}/revoke"),
            &[],
        )
        .await
        .assert_redirect("/enrolment-codes");
    let record = store
        .enrolment_code(&expired_uid, &all)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, "revoked");
    let _ = expired;

    // Disabling an officer withdraws the officer's open codes, audited.
    let open = make_code(&mut a.browser, &unit, &[]).await;
    let open_uid = store.enrolment_codes(&all, 10).await.unwrap().remove(0).uid;
    let alice_id = store
        .officer_by_username("alice")
        .await
        .unwrap()
        .unwrap()
        .id;
    admin.browser = ra.login("admin", &admin.totp).await;
    let page = admin
        .browser
        .submit(
            &format!("/admin/officers/{alice_id}"),
            &format!("/admin/officers/{alice_id}"),
            &[
                ("display_name", "Alice"),
                ("role", "officer"),
                ("org_unit_id", &unit),
            ],
        )
        .await;
    assert!(page.status.is_redirection(), "{}", page.body);
    let record = store
        .enrolment_code(&open_uid, &all)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, "revoked");
    let page = s
        .submit(
            "/portal/enroll",
            "/portal/enroll/status",
            &[("code", &open)],
        )
        .await;
    assert_refused(&page, "code of a disabled officer");
    let events = store
        .audit_events(&Default::default(), 1000, 0)
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.entry.action == "enrolment_code.revoke"
                && e.entry.target == format!("enrolment_code:{open_uid}")
                && details(e)["reason"] == "officer_disabled")
    );
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

/// Renewal with the same key: the holder sends a CSR made with the key
/// the certificate already certifies; it is filed and approved like a
/// re-key, the trail says `key: same`, and the new certificate certifies
/// that very key and verifies with OpenSSL.
#[tokio::test]
async fn a_holder_renews_with_the_same_key() {
    let ca = TestCa::start().await;
    let Renewed {
        ra,
        old_serial,
        old_chain: chain,
        renewal,
        ..
    } = renewal_of(&ca, true).await;
    let store = ra.running().authority.store().clone();
    let new_chain = format!(
        "{}{}",
        renewal.certificate_pem.as_deref().unwrap(),
        renewal.chain_pem.as_deref().unwrap()
    );
    openssl_verify_client(&ca, &new_chain);
    let public_key = |pem: &str| {
        let leaf = signet_core::pem::certificates_from_pem(pem.as_bytes()).unwrap()[0].clone();
        let cert = <x509_cert::Certificate as der::Decode>::from_der(&leaf).unwrap();
        der::Encode::to_der(cert.tbs_certificate().subject_public_key_info()).unwrap()
    };
    assert_eq!(public_key(&new_chain), public_key(&chain));
    assert_ne!(renewal.serial.as_deref(), Some(old_serial.as_str()));

    let events = store
        .audit_events(&Default::default(), 1000, 0)
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.entry.action == "portal.renew"
                && e.entry.details.contains("\"key\":\"same\"")),
        "{:?}",
        events
            .iter()
            .filter(|e| e.entry.action == "portal.renew")
            .collect::<Vec<_>>()
    );
    ra.stop().await;
}

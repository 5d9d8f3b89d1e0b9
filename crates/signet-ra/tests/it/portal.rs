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

//! Officer login: password + TOTP (RFC 6238), lockout, idle expiry.

use crate::kit::{PASSWORD, Ra};

#[tokio::test]
async fn first_login_sets_a_password_and_enrols_totp_then_password_and_code_log_in() {
    let ra = Ra::start().await;
    let mut admin = ra.admin().await;
    let home = admin.browser.get("/").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("admin"));

    // Log out, then log in again with the new password and a TOTP code.
    let page = admin.browser.submit("/", "/logout", &[]).await;
    assert!(page.status.is_redirection(), "{}", page.body);
    assert!(admin.browser.get("/").await.location() == Some("/login"));

    let mut b = ra.login("admin", &admin.totp).await;
    assert_eq!(b.get("/").await.status, 200);

    // The one-time password no longer works.
    let mut other = ra.browser();
    let page = other
        .submit(
            "/login",
            "/login",
            &[("username", "admin"), ("password", ra.admin_otp.as_str())],
        )
        .await;
    assert_eq!(page.status, 401);
    ra.stop().await;
}

#[tokio::test]
async fn wrong_and_replayed_totp_codes_are_refused() {
    let ra = Ra::start().await;
    let admin = ra.admin().await;
    let mut b = ra.browser();
    let page = b
        .submit(
            "/login",
            "/login",
            &[("username", "admin"), ("password", PASSWORD)],
        )
        .await;
    page.assert_redirect("/login/totp");
    let code = ra.fresh_code(&admin.totp);
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let page = b
        .submit("/login/totp", "/login/totp", &[("code", &wrong)])
        .await;
    assert_eq!(page.status, 401, "{}", page.body);
    let page = b
        .submit("/login/totp", "/login/totp", &[("code", &code)])
        .await;
    page.assert_redirect("/");

    // The same code, in the same time step, from another browser: refused.
    let mut c = ra.browser();
    c.submit(
        "/login",
        "/login",
        &[("username", "admin"), ("password", PASSWORD)],
    )
    .await
    .assert_redirect("/login/totp");
    let page = c
        .submit("/login/totp", "/login/totp", &[("code", &code)])
        .await;
    assert_eq!(page.status, 401, "{}", page.body);
    ra.stop().await;
}

#[tokio::test]
async fn five_failures_lock_the_account_for_the_configured_time() {
    let ra = Ra::start_with(None, |c| c.server.lockout_duration = "10m".into()).await;
    let admin = ra.admin().await;
    let mut b = ra.browser();
    for _ in 0..5 {
        let page = b
            .submit(
                "/login",
                "/login",
                &[
                    ("username", "admin"),
                    ("password", "not the password at all"),
                ],
            )
            .await;
        assert_eq!(page.status, 401, "{}", page.body);
    }
    // The right password is refused now, with the same answer.
    let page = b
        .submit(
            "/login",
            "/login",
            &[("username", "admin"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 401, "{}", page.body);
    // The existing session of the account ended with the lock.
    let mut old = admin.browser;
    assert_eq!(old.get("/").await.location(), Some("/login"));

    let store = ra.running().authority.store();
    let officer = store.officer_by_username("admin").await.unwrap().unwrap();
    assert!(officer.is_locked(ra.clock_now()));

    // Still locked after nine minutes; free after ten.
    ra.advance(9 * 60);
    let page = b
        .submit(
            "/login",
            "/login",
            &[("username", "admin"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 401);
    ra.advance(61);
    let _ = ra.login("admin", &admin.totp).await;

    let trail = ra.running().authority.audit().verify().await.unwrap();
    assert!(trail.is_intact(), "{trail}");
    let events = store
        .audit_events(&Default::default(), 200, 0)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.entry.action == "officer.locked"));
    ra.stop().await;
}

#[tokio::test]
async fn idle_sessions_expire() {
    let ra = Ra::start_with(None, |c| c.server.session_idle_timeout = "15m".into()).await;
    let mut admin = ra.admin().await;
    ra.advance(14 * 60);
    assert_eq!(admin.browser.get("/").await.status, 200);
    ra.advance(14 * 60);
    assert_eq!(
        admin.browser.get("/").await.status,
        200,
        "activity keeps it alive"
    );
    ra.advance(15 * 60 + 1);
    let page = admin.browser.get("/").await;
    assert_eq!(page.location(), Some("/login"));
    // The stale cookie is cleared.
    assert!(
        page.set_cookies()
            .iter()
            .any(|c| c.starts_with("signet_session=;") && c.contains("Max-Age=0"))
    );
    ra.stop().await;
}

#[tokio::test]
async fn registered_client_certificate_logs_in_and_others_do_not() {
    let ra = Ra::start().await;
    let p = crate::pki::pki();
    let mut admin = ra.admin().await;
    let root = ra
        .running()
        .authority
        .store()
        .root_org_unit()
        .await
        .unwrap()
        .unwrap();
    let _ = ra
        .create_officer(&mut admin.browser, "wang", "officer", root.id)
        .await;
    let id = ra
        .running()
        .authority
        .store()
        .officer_by_username("wang")
        .await
        .unwrap()
        .unwrap()
        .id;
    let page = admin
        .browser
        .submit(
            &format!("/admin/officers/{id}"),
            &format!("/admin/officers/{id}/certificate"),
            &[("certificate", p.officer_cert.cert_pem.as_str())],
        )
        .await;
    assert!(
        page.status.is_redirection() || page.status == 200,
        "{}",
        page.body
    );
    let view = admin.browser.get(&format!("/admin/officers/{id}")).await;
    assert!(
        view.body.contains(&p.officer_cert.sha256_hex()),
        "{}",
        view.body
    );

    let mut good = ra.browser_with(&p.officer_cert);
    let page = good.submit("/login", "/login/certificate", &[]).await;
    page.assert_redirect("/");
    assert_eq!(good.get("/").await.status, 200);

    let mut other = ra.browser_with(&p.other_cert);
    let page = other.submit("/login", "/login/certificate", &[]).await;
    assert_eq!(page.status, 401);
    // A platform (service) certificate is never an officer login.
    let mut platform = ra.browser_with(&p.platform_admin);
    let page = platform.submit("/login", "/login/certificate", &[]).await;
    assert_eq!(page.status, 401);
    ra.stop().await;
}

//! Cookies, anti-CSRF tokens and security headers.

use http::Method;

use crate::kit::Ra;

fn assert_strict_cookie(c: &str) {
    for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(c.contains(flag), "cookie without {flag}: {c}");
    }
}

#[tokio::test]
async fn cookies_are_secure_httponly_and_samesite_strict() {
    let ra = Ra::start().await;
    let mut b = ra.browser();
    let page = b.get("/login").await;
    let cookies = page.set_cookies();
    let prelogin = cookies
        .iter()
        .find(|c| c.starts_with("signet_prelogin="))
        .unwrap();
    assert_strict_cookie(prelogin);
    let page = b
        .post(
            "/login",
            &[
                ("csrf", &b.cookies["signet_prelogin"].clone()),
                ("username", "admin"),
                ("password", ra.admin_otp.as_str()),
            ],
        )
        .await;
    let session = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("signet_session="))
        .unwrap();
    assert_strict_cookie(&session);
    let lang = b.get("/lang/zh-CN?next=/login").await;
    assert_strict_cookie(
        lang.set_cookies()
            .iter()
            .find(|c| c.starts_with("lang="))
            .unwrap(),
    );
    ra.stop().await;
}

#[tokio::test]
async fn every_response_carries_hsts_and_a_strict_csp() {
    let ra = Ra::start().await;
    let mut b = ra.browser();
    for path in [
        "/login",
        "/",
        "/no/such/page",
        "/static/console.css",
        "/health",
    ] {
        let page = b.get(path).await;
        let hsts = page.header("strict-transport-security").unwrap_or_default();
        assert!(hsts.contains("max-age=31536000"), "{path}: {hsts}");
        let csp = page.header("content-security-policy").unwrap_or_default();
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
    }
    ra.stop().await;
}

#[tokio::test]
async fn posts_without_the_right_csrf_token_are_refused_and_audited() {
    let ra = Ra::start().await;
    let mut admin = ra.admin().await;
    let root = ra
        .running()
        .authority
        .store()
        .root_org_unit()
        .await
        .unwrap()
        .unwrap();
    let parent = root.id.to_string();
    // No token at all.
    let page = admin
        .browser
        .post("/units", &[("parent", &parent), ("name", "Sneaky")])
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    // A wrong one.
    let page = admin
        .browser
        .post(
            "/units",
            &[
                ("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                ("parent", &parent),
                ("name", "Sneaky"),
            ],
        )
        .await;
    assert_eq!(page.status, 403);
    // A non-form body without the header.
    let page = admin
        .browser
        .request(
            Method::POST,
            "/units",
            None,
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(page.status, 403);
    // The login form needs its own token too.
    let mut anon = ra.browser();
    let page = anon
        .post(
            "/login",
            &[("username", "admin"), ("password", "whatever it is")],
        )
        .await;
    assert_eq!(page.status, 403);

    let units = ra
        .running()
        .authority
        .store()
        .org_units(&signet_store::ra::ScopePrefix::all())
        .await
        .unwrap();
    assert!(units.iter().all(|u| u.name != "Sneaky"));
    // With the token it works.
    ra.create_unit(&mut admin.browser, root.id, "Honest").await;
    let events = ra
        .running()
        .authority
        .store()
        .audit_events(&Default::default(), 500, 0)
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .filter(|e| e.entry.action == "csrf.refused")
            .count()
            >= 4
    );
    ra.stop().await;
}

//! Languages: Accept-Language chooses, the switch link overrides it with
//! a cookie, and every page of the console renders in both.

use crate::kit::Ra;

#[tokio::test]
async fn accept_language_and_the_switch_choose_the_language() {
    let ra = Ra::start().await;
    let mut b = ra.browser();
    let page = b.get("/login").await;
    assert!(page.title().starts_with("Log in"), "{}", page.title());
    assert!(page.body.contains("<html lang=\"en\">"));

    b.accept_language = Some("zh-CN,zh;q=0.9,en;q=0.5".into());
    let page = b.get("/login").await;
    assert!(page.body.contains("<html lang=\"zh-CN\">"));
    assert!(page.title().contains("登录"), "{}", page.title());

    // The switch wins over the browser's preference, and comes back.
    let page = b.get("/lang/en?next=/login").await;
    page.assert_redirect("/login");
    assert!(b.get("/login").await.body.contains("<html lang=\"en\">"));
    // Only local paths are followed.
    let page = b.get("/lang/zh-CN?next=https://evil.example/").await;
    assert_eq!(page.location(), Some("/"));
    ra.stop().await;
}

#[tokio::test]
async fn every_console_page_renders_in_both_languages() {
    let ra = Ra::start().await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let officer = ra
        .officer(&mut admin.browser, "wang", "officer", root)
        .await;
    let admin_pages = [
        "/",
        "/subscribers",
        "/units",
        "/admin/officers",
        "/audit",
        "/requests",
    ];
    let officer_pages = ["/", "/subscribers/new", "/requests", "/requests/new"];
    let mut browsers = [
        (admin.browser, &admin_pages[..]),
        (officer.browser, &officer_pages[..]),
    ];
    for (browser, pages) in &mut browsers {
        for lang in ["en", "zh-CN"] {
            browser.get(&format!("/lang/{lang}?next=/")).await;
            for path in pages.iter() {
                let page = browser.get(path).await;
                assert_eq!(page.status, 200, "{lang} {path}: {}", page.body);
                assert!(
                    page.body.contains(&format!("<html lang=\"{lang}\">")),
                    "{lang} {path}"
                );
                // A missing key would show as the key itself.
                assert!(
                    !page.body.contains("nav.") && !page.body.contains("error."),
                    "{lang} {path}"
                );
            }
        }
    }
    ra.stop().await;
}

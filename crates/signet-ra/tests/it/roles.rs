//! Roles and scope: an officer sees only its unit and the units below;
//! the auditor changes nothing; only the administrator manages officers.

use crate::kit::Ra;

async fn register(ra: &Ra, b: &mut crate::browser::Browser, unit: i64, name: &str) {
    let unit = unit.to_string();
    let page = b
        .submit(
            "/subscribers/new",
            "/subscribers/new",
            &[
                ("kind", "person"),
                ("display_name", name),
                ("org_unit_id", &unit),
                ("email", ""),
                ("id_number", ""),
                ("phone", ""),
            ],
        )
        .await;
    page.assert_redirect("/subscribers");
    let _ = ra;
}

#[tokio::test]
async fn an_officer_of_unit_x_cannot_see_unit_y() {
    let ra = Ra::start_with(None, |c| {
        c.profiles = vec![signet_ra::RaProfileConfig {
            name: "server".into(),
            approvals: 1,
        }];
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let x = ra.create_unit(&mut admin.browser, root, "Unit X").await;
    let x_child = ra.create_unit(&mut admin.browser, x, "Unit X Child").await;
    let y = ra.create_unit(&mut admin.browser, root, "Unit Y").await;
    let mut ox = ra
        .officer(&mut admin.browser, "officer-x", "officer", x)
        .await;
    let mut oy = ra
        .officer(&mut admin.browser, "officer-y", "officer", y)
        .await;

    register(&ra, &mut ox.browser, x_child, "Xavier in X child").await;
    register(&ra, &mut oy.browser, y, "Yolanda in Y").await;

    let list_x = ox.browser.get("/subscribers").await;
    assert!(list_x.body.contains("Xavier in X child"));
    assert!(!list_x.body.contains("Yolanda in Y"), "{}", list_x.body);
    let list_y = oy.browser.get("/subscribers").await;
    assert!(list_y.body.contains("Yolanda in Y"));
    assert!(!list_y.body.contains("Xavier"));

    let units = ox.browser.get("/units").await;
    assert!(units.body.contains("Unit X Child"));
    assert!(!units.body.contains("Unit Y"), "{}", units.body);

    // Registering into a unit out of scope is refused.
    let y_text = y.to_string();
    let page = ox
        .browser
        .submit(
            "/subscribers/new",
            "/subscribers/new",
            &[
                ("kind", "person"),
                ("display_name", "Intruder"),
                ("org_unit_id", &y_text),
                ("email", ""),
                ("id_number", ""),
                ("phone", ""),
            ],
        )
        .await;
    assert!(
        page.status == 403 || page.status == 404,
        "{} {}",
        page.status,
        page.body
    );
    assert!(
        !oy.browser
            .get("/subscribers")
            .await
            .body
            .contains("Intruder")
    );

    // Requests of unit Y are invisible to X, and X cannot decide on them.
    let key = rcgen::KeyPair::generate().unwrap();
    let csr = rcgen::CertificateParams::new(vec!["y.example.test".to_owned()])
        .unwrap()
        .serialize_request(&key)
        .unwrap()
        .pem()
        .unwrap();
    let y_text = y.to_string();
    let page = oy
        .browser
        .submit(
            "/requests/new",
            "/requests/new",
            &[
                ("profile", "server"),
                ("org_unit_id", &y_text),
                ("csr", &csr),
                ("comment", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location().unwrap().to_owned();
    assert_eq!(ox.browser.get(&location).await.status, 404);
    assert!(!ox.browser.get("/requests").await.body.contains(&location));
    assert!(oy.browser.get("/requests").await.body.contains(&location));
    let page = ox
        .browser
        .submit("/requests", &format!("{location}/approve"), &[])
        .await;
    assert_eq!(page.status, 404);
    // Nor can X file into Y.
    let page = ox
        .browser
        .submit(
            "/requests/new",
            "/requests/new",
            &[
                ("profile", "server"),
                ("org_unit_id", &y_text),
                ("csr", &csr),
                ("comment", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 403);

    // Officers do not manage officers.
    assert_eq!(ox.browser.get("/admin/officers").await.status, 403);
    ra.stop().await;
}

#[tokio::test]
async fn the_auditor_reads_the_trail_and_changes_nothing() {
    let ra = Ra::start().await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let mut auditor = ra
        .officer(&mut admin.browser, "auditor", "auditor", root)
        .await;

    let trail = auditor.browser.get("/audit").await;
    assert_eq!(trail.status, 200);
    assert!(trail.body.contains("officer.create"));
    let csv = auditor.browser.get("/audit/export.csv").await;
    assert_eq!(csv.status, 200);
    assert!(csv.body.lines().count() > 3, "{}", csv.body);

    // Every change is refused, even with a valid anti-CSRF token.
    let root_text = root.to_string();
    let page = auditor
        .browser
        .submit(
            "/units",
            "/units",
            &[("parent", &root_text), ("name", "Audited")],
        )
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    let page = auditor
        .browser
        .submit(
            "/units",
            "/subscribers/new",
            &[
                ("kind", "person"),
                ("display_name", "x"),
                ("org_unit_id", &root_text),
            ],
        )
        .await;
    assert_eq!(page.status, 403);
    assert_eq!(auditor.browser.get("/admin/officers").await.status, 403);
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
            .any(|e| e.entry.action == "request.refused" && e.entry.actor == "auditor")
    );
    // Logging out is allowed.
    let page = auditor.browser.submit("/", "/logout", &[]).await;
    assert!(page.status.is_redirection());
    ra.stop().await;
}

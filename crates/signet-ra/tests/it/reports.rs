//! Reports against a real CA: certificates issued and revoked through the
//! console are counted by status, profile, unit and month; the CSV export
//! parses as RFC 4180 and the XLSX export opens in openpyxl with numbers
//! as numbers; an officer of unit X sees nothing of unit Y, and unit
//! names start at the officer's own unit; exports are audited.

use std::collections::BTreeMap;
use std::process::Command;

use signet_ra::RaProfileConfig;
use signet_store::Backend;

use crate::browser::Browser;
use crate::ca::TestCa;
use crate::kit::Ra;

pub fn csr_pem(cn: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![cn.to_owned()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.serialize_request(&key).unwrap().pem().unwrap()
}

/// `filer` files a request for `profile` in `unit`, `approver` approves it
/// (the CA issues); returns the request uid.
pub async fn issue(
    filer: &mut Browser,
    approver: &mut Browser,
    unit: i64,
    profile: &str,
    cn: &str,
) -> String {
    let unit = unit.to_string();
    let page = filer
        .submit(
            "/requests/new",
            "/requests/new",
            &[
                ("profile", profile),
                ("org_unit_id", &unit),
                ("csr", &csr_pem(cn)),
                ("comment", "report test"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let uid = page
        .location()
        .unwrap()
        .trim_start_matches("/requests/")
        .to_owned();
    let page = approver
        .submit(
            &format!("/requests/{uid}"),
            &format!("/requests/{uid}/approve"),
            &[("comment", "vetted")],
        )
        .await;
    page.assert_redirect(&format!("/requests/{uid}"));
    let page = approver.get(&format!("/requests/{uid}")).await;
    assert!(page.body.contains("certificate.pem"), "{}", page.body);
    uid
}

/// `grouping -> label -> count` from the CSV export.
fn parse_csv(bytes: &[u8]) -> BTreeMap<String, BTreeMap<String, i64>> {
    let text = std::str::from_utf8(bytes).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("a byte order mark");
    assert!(text.contains("\r\n"), "RFC 4180 line ends");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["grouping", "label", "count"]
    );
    let mut out: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for record in reader.records() {
        let r = record.unwrap();
        out.entry(r[0].to_owned())
            .or_default()
            .insert(r[1].to_owned(), r[2].parse().unwrap());
    }
    out
}

fn total(groups: &BTreeMap<String, BTreeMap<String, i64>>, grouping: &str) -> i64 {
    groups.get(grouping).map_or(0, |g| g.values().sum())
}

async fn csv_of(b: &mut Browser, query: &str) -> BTreeMap<String, BTreeMap<String, i64>> {
    let bytes = b.get_bytes(&format!("/reports/export.csv?{query}")).await;
    parse_csv(&bytes)
}

#[tokio::test]
async fn counts_by_status_profile_unit_and_month_in_csv_and_xlsx_scoped_and_audited() {
    reports_on(Backend::Sqlite).await;
}

#[tokio::test]
async fn reports_work_on_postgresql_too() {
    reports_on(Backend::Postgres).await;
}

async fn reports_on(backend: Backend) {
    let ca = TestCa::start().await;
    let ra = Ra::start_on(backend, Some(ca.link.clone()), |c| {
        c.profiles = ["server", "client"]
            .into_iter()
            .map(|name| RaProfileConfig {
                name: name.into(),
                approvals: 1,
            })
            .collect();
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let x = ra.create_unit(&mut admin.browser, root, "研发部").await;
    let y = ra.create_unit(&mut admin.browser, root, "Sales").await;
    let mut fx = ra.officer(&mut admin.browser, "fx", "officer", x).await;
    let mut fy = ra.officer(&mut admin.browser, "fy", "officer", y).await;
    let mut approver = ra
        .officer(&mut admin.browser, "approver", "officer", root)
        .await;
    let mut auditor = ra
        .officer(&mut admin.browser, "auditor", "auditor", root)
        .await;

    // X: two server certificates (one revoked) and one client; Y: one server.
    let a = &mut approver.browser;
    let x1 = issue(&mut fx.browser, a, x, "server", "x1.example.test").await;
    issue(&mut fx.browser, a, x, "server", "x2.example.test").await;
    issue(&mut fx.browser, a, x, "client", "x3.example.test").await;
    issue(&mut fy.browser, a, y, "server", "y1.example.test").await;
    let page = a
        .submit(
            &format!("/requests/{x1}"),
            &format!("/requests/{x1}/revoke"),
            &[("reason", "keyCompromise")],
        )
        .await;
    page.assert_redirect(&format!("/requests/{x1}"));
    // A request still pending is no certificate.
    let page = fx
        .browser
        .submit(
            "/requests/new",
            "/requests/new",
            &[
                ("profile", "server"),
                ("org_unit_id", &x.to_string()),
                ("csr", &csr_pem("pending.example.test")),
                ("comment", "not approved"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);

    // The auditor sees every unit.
    let month = ra.clock_now().to_string()[..7].to_owned();
    let all = csv_of(&mut auditor.browser, "").await;
    let map = |pairs: &[(&str, i64)]| -> BTreeMap<String, i64> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    };
    assert_eq!(all["status"], map(&[("revoked", 1), ("valid", 3)]));
    assert_eq!(all["profile"], map(&[("client", 1), ("server", 3)]));
    assert_eq!(
        all["unit"],
        map(&[("Test Org / 研发部", 3), ("Test Org / Sales", 1)])
    );
    assert_eq!(all["issued_month"], map(&[(month.as_str(), 4)]));
    // The next twelve months are listed; these certificates (397 days)
    // expire after them.
    assert_eq!(all["expiring_month"].len(), 12);
    assert_eq!(total(&all, "expiring_month"), 0);

    // The page shows the same.
    let page = auditor.browser.get("/reports").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.element_text("total-status").unwrap(), "4");
    assert_eq!(page.element_text("total-unit").unwrap(), "4");
    assert!(page.body.contains("研发部"), "{}", page.body);

    // Officers see their unit only: X's officer nothing of Y and back,
    // and units are named from the officer's own unit down, nothing of
    // the names above it.
    let in_x = csv_of(&mut fx.browser, "").await;
    assert_eq!(in_x["unit"], map(&[("研发部", 3)]));
    let raw = fx.browser.get_bytes("/reports/export.csv").await;
    assert!(
        !String::from_utf8_lossy(&raw).contains("Test Org"),
        "the root's name leaked"
    );
    assert_eq!(in_x["status"], map(&[("revoked", 1), ("valid", 2)]));
    assert_eq!(in_x["profile"], map(&[("client", 1), ("server", 2)]));
    let in_y = csv_of(&mut fy.browser, "").await;
    assert_eq!(in_y["unit"], map(&[("Sales", 1)]));
    assert_eq!(in_y["status"], map(&[("valid", 1)]));
    let page = fy.browser.get("/reports").await;
    assert!(!page.body.contains("研发部"), "{}", page.body);

    // The date range counts by day of issuance.
    let today = &ra.clock_now().to_string()[..10];
    let tomorrow =
        &signet_core::Timestamp::from_unix(ra.clock_now().unix() + 86_400).to_string()[..10];
    let same = csv_of(&mut auditor.browser, &format!("from={today}&to={today}")).await;
    assert_eq!(total(&same, "status"), 4);
    let later = csv_of(&mut auditor.browser, &format!("from={tomorrow}")).await;
    assert_eq!(total(&later, "status"), 0);
    let page = auditor.browser.get("/reports?from=2026-13-40").await;
    assert_eq!(page.status, 400);

    // A year on, the valid certificates fall into the expiry forecast and
    // the ones past notAfter count as expired.
    ra.advance(380 * 86_400);
    auditor.browser = ra.login("auditor", &auditor.totp).await;
    let on = csv_of(&mut auditor.browser, "").await;
    assert_eq!(total(&on, "expiring_month"), 3);
    assert_eq!(on["status"], map(&[("revoked", 1), ("valid", 3)]));
    ra.advance(30 * 86_400);
    auditor.browser = ra.login("auditor", &auditor.totp).await;
    let after = csv_of(&mut auditor.browser, "").await;
    assert_eq!(after["status"], map(&[("expired", 3), ("revoked", 1)]));
    assert_eq!(total(&after, "expiring_month"), 0);

    // XLSX: one sheet per grouping, a header row, counts as numbers.
    let xlsx = auditor.browser.get_bytes("/reports/export.xlsx?").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.xlsx");
    std::fs::write(&path, &xlsx).unwrap();
    let script = r#"
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
out = {}
for ws in wb.worksheets:
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    out[ws.title] = {"header": rows[0], "rows": rows[1:],
                     "numbers": all(isinstance(r[1], int) for r in rows[1:])}
print(json.dumps(out))
"#;
    let run = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "openpyxl: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let book: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let titles: Vec<&String> = book.as_object().unwrap().keys().collect();
    assert_eq!(titles.len(), 5, "{book}");
    let status = &book["By status"];
    assert_eq!(
        status["header"],
        serde_json::json!(["status", "certificates"])
    );
    assert_eq!(status["numbers"], true);
    assert_eq!(
        status["rows"],
        serde_json::json!([["expired", 3], ["revoked", 1]])
    );
    let units = &book["By unit"];
    assert_eq!(
        units["rows"],
        serde_json::json!([["Test Org / 研发部", 3], ["Test Org / Sales", 1]])
    );
    assert_eq!(
        book["Expiring per month"]["rows"].as_array().unwrap().len(),
        12
    );
    assert_eq!(book["Issued per month"]["rows"][0][1], 4);

    // Every export is in the audit trail, by the officer who made it.
    let events = ra
        .running()
        .authority
        .store()
        .audit_events(&Default::default(), 1000, 0)
        .await
        .unwrap();
    let exports: Vec<_> = events
        .iter()
        .filter(|e| e.entry.action == "report.export")
        .collect();
    assert!(exports.iter().any(|e| e.entry.actor == "fx"));
    assert!(
        exports
            .iter()
            .any(|e| e.entry.actor == "auditor" && e.entry.details.contains("\"xlsx\""))
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

//! Batch issuance against a real CA: a file with one bad row is refused
//! whole and the row named; with "issue valid rows" the rest is filed;
//! the filer cannot approve; another officer's approval starts the job;
//! the result ZIP holds every certificate (each verified by OpenSSL) and a
//! CSV report; an oversized upload is refused.

use std::process::Command;
use std::time::Duration;

use serde_json::json;
use signet_ra::RaProfileConfig;
use signet_store::Backend;

use crate::ca::TestCa;
use crate::kit::Ra;

pub(crate) fn line(cn: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![cn.to_owned()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let csr = params.serialize_request(&key).unwrap().pem().unwrap();
    json!({"profile": "server", "csr": csr}).to_string()
}

/// Unpacks a batch result ZIP and checks that every certificate in it
/// (each file: certificate and chain) verifies against `root` in one
/// OpenSSL run. Returns the directory (kept alive) and the certificates.
pub(crate) fn verified_certificates(
    zip: &[u8],
    root: &std::path::Path,
) -> (tempfile::TempDir, Vec<std::path::PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("result.zip");
    std::fs::write(&path, zip).unwrap();
    let out = Command::new("unzip")
        .arg("-q")
        .arg(&path)
        .arg("-d")
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let certs: Vec<_> = std::fs::read_dir(dir.path().join("x/certificates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!certs.is_empty(), "no certificates in the ZIP");
    let out = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(root)
        .arg("-untrusted")
        .arg(&certs[0])
        .args(&certs)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text.lines().filter(|l| l.ends_with(": OK")).count(),
        certs.len()
    );
    (dir, certs)
}

#[tokio::test]
async fn a_batch_is_validated_whole_approved_by_another_officer_and_issued_in_the_background() {
    batch_flow(Backend::Sqlite).await;
}

#[tokio::test]
async fn batches_work_on_postgresql_too() {
    batch_flow(Backend::Postgres).await;
}

async fn batch_flow(backend: Backend) {
    let ca = TestCa::start().await;
    let ra = Ra::start_on(backend, Some(ca.link.clone()), |c| {
        c.profiles = vec![RaProfileConfig {
            name: "server".into(),
            approvals: 1,
        }];
        c.batch.chunk_size = 4;
        c.server.max_upload_bytes = 256 * 1024;
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let unit = root.to_string();
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let mut b = ra.officer(&mut admin.browser, "bob", "officer", root).await;

    let mut rows: Vec<String> = (1..=10)
        .map(|i| line(&format!("host{i}.example.test")))
        .collect();
    rows.insert(2, r#"{"profile": "server", "csr": "not a CSR"}"#.to_owned());
    rows.insert(5, r#"{"profile": "sub-ca", "csr": "x"}"#.to_owned());
    // Line 1 replaces the CSR's subject and SANs with vetted ones; line 9
    // asks for a malformed subject.
    let mut first: serde_json::Value = serde_json::from_str(&rows[0]).unwrap();
    first["subject"] = json!("CN=vetted.example.test,O=Vetted Org");
    first["sans"] = json!(["DNS:vetted.example.test"]);
    rows[0] = first.to_string();
    let mut bad: serde_json::Value = serde_json::from_str(&line("bad.example.test")).unwrap();
    bad["subject"] = json!("this is not a DN");
    rows.insert(8, bad.to_string());
    let file = rows.join("\n");

    // One bad row: nothing is filed, and the rows are named.
    let page = a
        .browser
        .submit(
            "/batches",
            "/batches",
            &[("org_unit_id", &unit), ("file", &file)],
        )
        .await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("id=\"row-3\""), "{}", page.body);
    assert!(page.body.contains("id=\"row-6\""));
    assert!(page.body.contains("id=\"row-9\""));
    assert!(!page.body.contains("id=\"row-1\""));
    assert!(
        ra.running()
            .authority
            .store()
            .batches(&signet_store::ra::ScopePrefix::all(), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Issue the valid rows only.
    let page = a
        .browser
        .submit(
            "/batches",
            "/batches",
            &[
                ("org_unit_id", &unit),
                ("file", &file),
                ("issue_valid_rows", "on"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location().unwrap().to_owned();
    let detail = a.browser.get(&location).await;
    assert_eq!(detail.element_text("batch-total").as_deref(), Some("10"));
    assert_eq!(
        detail.element_text("batch-status").as_deref(),
        Some("pending")
    );

    // The filer cannot approve; another officer can.
    let page = a
        .browser
        .submit(&location, &format!("{location}/approve"), &[])
        .await;
    assert_eq!(page.status, 403);
    let page = b
        .browser
        .submit(&location, &format!("{location}/approve"), &[])
        .await;
    page.assert_redirect(&location);

    // The job runs in the background; the page shows its progress.
    let mut done = false;
    for _ in 0..100 {
        let page = b.browser.get(&location).await;
        if page.element_text("batch-status").as_deref() == Some("done") {
            assert_eq!(page.element_text("batch-issued").as_deref(), Some("10"));
            done = true;
            break;
        }
        assert!(page.body.contains("<progress"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(done, "the batch job did not finish");

    // The result ZIP: ten certificates with chains, and the report.
    let zip = a.browser.get(&format!("{location}/result.zip")).await;
    assert_eq!(zip.header("content-type"), Some("application/zip"));
    let dir = tempfile::tempdir().unwrap();
    let raw = a.browser.get_bytes(&format!("{location}/result.zip")).await;
    let path = dir.path().join("result.zip");
    std::fs::write(&path, &raw).unwrap();
    let out = Command::new("unzip")
        .arg("-q")
        .arg(&path)
        .arg("-d")
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let certs: Vec<_> = std::fs::read_dir(dir.path().join("x/certificates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(certs.len(), 10);
    for cert in &certs {
        let out = Command::new("openssl")
            .args(["verify", "-CAfile"])
            .arg(&ca.root_pem)
            .arg("-untrusted")
            .arg(cert)
            .arg(cert)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let vetted = certs
        .iter()
        .find(|c| {
            c.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("00001-")
        })
        .unwrap();
    let out = Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-subject",
            "-ext",
            "subjectAltName",
            "-in",
        ])
        .arg(vetted)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("vetted.example.test") && text.contains("Vetted Org"),
        "{text}"
    );
    assert!(!text.contains("host1.example.test"), "{text}");
    let report = std::fs::read_to_string(dir.path().join("x/report.csv")).unwrap();
    assert_eq!(report.lines().count(), 11, "{report}");
    assert_eq!(
        report.lines().filter(|l| l.contains(",issued,")).count(),
        10
    );
    // Lines keep their numbers in the file (3, 6 and 9 were skipped).
    assert!(
        report.lines().any(|l| l.starts_with("12,issued,")),
        "{report}"
    );

    // The CA holds exactly ten certificates for these hosts.
    let listed = ca.client().list(None, 1000, 0).await.unwrap();
    assert_eq!(
        listed
            .certificates
            .iter()
            .filter(|c| c.subject.contains(".example.test"))
            .count(),
        10
    );

    // An upload over the limit is refused.
    let huge = "x".repeat(300 * 1024);
    let page = a
        .browser
        .submit(
            "/batches",
            "/batches",
            &[("org_unit_id", &unit), ("file", &huge)],
        )
        .await;
    assert_eq!(page.status, 413);
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
async fn a_thousand_row_batch_issues_a_thousand_certificates_that_openssl_verifies() {
    let ca = TestCa::start().await;
    let ra = Ra::start_with(Some(ca.link.clone()), |c| {
        c.profiles = vec![RaProfileConfig {
            name: "server".into(),
            approvals: 1,
        }];
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let unit = root.to_string();
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let mut b = ra.officer(&mut admin.browser, "bob", "officer", root).await;
    let file = (1..=1000)
        .map(|i| line(&format!("d{i}.bulk.test")))
        .collect::<Vec<_>>()
        .join("\n");
    let page = a
        .browser
        .submit(
            "/batches",
            "/batches",
            &[("org_unit_id", &unit), ("file", &file)],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location().unwrap().to_owned();
    b.browser
        .submit(&location, &format!("{location}/approve"), &[])
        .await
        .assert_redirect(&location);
    let mut seen = Vec::new();
    for _ in 0..600 {
        let page = b.browser.get(&location).await;
        let issued: u32 = page.element_text("batch-issued").unwrap().parse().unwrap();
        seen.push(issued);
        if page.element_text("batch-status").as_deref() == Some("done") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen.last(), Some(&1000), "progress: {seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "progress never goes back"
    );

    let raw = a.browser.get_bytes(&format!("{location}/result.zip")).await;
    let (_dir, certs) = verified_certificates(&raw, &ca.root_pem);
    assert_eq!(certs.len(), 1000);
    ra.stop().await;
    ca.stop().await;
}

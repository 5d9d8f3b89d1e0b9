//! Batch issuance against a real CA: a file with one bad row is refused
//! whole and the row named; with "issue valid rows" the rest is filed;
//! the filer cannot approve; another officer's approval starts the job;
//! the result ZIP holds every certificate (each verified by OpenSSL) and a
//! CSV report; an oversized upload is refused. Uploaded files: a ZIP of a
//! CSV manifest and CSR files issues like JSON lines; a ZIP with a bad
//! row, an escaping entry name or too much inside is refused whole.

use std::process::Command;
use std::time::Duration;

use serde_json::json;
use signet_ra::RaProfileConfig;
use signet_store::Backend;

use crate::ca::TestCa;
use crate::kit::Ra;

/// A PEM CSR for `cn` (also its one DNS SAN).
fn csr(cn: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![cn.to_owned()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.serialize_request(&key).unwrap().pem().unwrap()
}

pub(crate) fn line(cn: &str) -> String {
    json!({"profile": "server", "csr": csr(cn)}).to_string()
}

/// A ZIP of `entries` (name, content), deflated unless `stored`.
fn zip_of(entries: &[(&str, &[u8])], stored: bool) -> Vec<u8> {
    use std::io::Write as _;
    let method = if stored {
        zip::CompressionMethod::Stored
    } else {
        zip::CompressionMethod::Deflated
    };
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in entries {
        w.start_file(*name, options).unwrap();
        w.write_all(content).unwrap();
    }
    w.finish().unwrap().into_inner()
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

/// Subject and SANs, as `openssl x509` prints them, of the result file
/// whose name starts with `prefix` (its row number).
fn subject_and_sans(certs: &[std::path::PathBuf], prefix: &str) -> String {
    let file = certs
        .iter()
        .find(|c| c.file_name().unwrap().to_string_lossy().starts_with(prefix))
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
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
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
    let raw = a.browser.get_bytes(&format!("{location}/result.zip")).await;
    // Every certificate verifies (each file: certificate and chain).
    let (dir, certs) = verified_certificates(&raw, &ca.root_pem);
    assert_eq!(certs.len(), 10);
    let text = subject_and_sans(&certs, "00001-");
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

async fn no_batches(ra: &Ra) -> bool {
    ra.running()
        .authority
        .store()
        .batches(&signet_store::ra::ScopePrefix::all(), 10)
        .await
        .unwrap()
        .is_empty()
}

fn server_profile(c: &mut signet_ra::RaConfig) {
    c.profiles = vec![RaProfileConfig {
        name: "server".into(),
        approvals: 1,
    }];
}

#[tokio::test]
async fn a_zip_batch_of_twenty_rows_issues_twenty_certificates_that_openssl_verifies() {
    let ca = TestCa::start().await;
    let ra = Ra::start_with(Some(ca.link.clone()), server_profile).await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let unit = root.to_string();
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let mut b = ra.officer(&mut admin.browser, "bob", "officer", root).await;

    // Row 1 (line 2) has a vetted subject with a comma inside quotes and
    // two SANs; the others keep the CSR's subject and SANs.
    let csrs: Vec<(String, String)> = (1..=20)
        .map(|i| {
            let host = format!("z{i}.zip.test");
            (format!("csrs/{host}.csr"), csr(&host))
        })
        .collect();
    let mut manifest = String::from("profile,subject,sans,csr\n");
    manifest.push_str(&format!(
        "server,\"CN=vetted.zip.test,O=Zip Org\",DNS:vetted.zip.test;DNS:www.vetted.zip.test,{}\n",
        csrs[0].0
    ));
    for (name, _) in &csrs[1..] {
        manifest.push_str(&format!("server,,,{name}\n"));
    }
    let mut entries: Vec<(&str, &[u8])> = vec![("manifest.csv", manifest.as_bytes())];
    entries.extend(csrs.iter().map(|(n, c)| (n.as_str(), c.as_bytes())));
    let zip = zip_of(&entries, false);

    let page = a
        .browser
        .submit_multipart(
            "/batches",
            "/batches",
            &[("org_unit_id", &unit), ("file", "")],
            &[("upload", "batch.zip", &zip)],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location().unwrap().to_owned();
    let detail = a.browser.get(&location).await;
    assert_eq!(detail.element_text("batch-total").as_deref(), Some("20"));
    b.browser
        .submit(&location, &format!("{location}/approve"), &[])
        .await
        .assert_redirect(&location);
    let mut done = false;
    for _ in 0..300 {
        let page = b.browser.get(&location).await;
        if page.element_text("batch-status").as_deref() == Some("done") {
            assert_eq!(page.element_text("batch-issued").as_deref(), Some("20"));
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(done, "the batch job did not finish");

    let raw = a.browser.get_bytes(&format!("{location}/result.zip")).await;
    let (_dir, certs) = verified_certificates(&raw, &ca.root_pem);
    assert_eq!(certs.len(), 20);
    // Manifest line 2 is the vetted row: its subject and SANs replaced
    // the CSR's.
    let text = subject_and_sans(&certs, "00002-");
    assert!(
        text.contains("Zip Org") && text.contains("www.vetted.zip.test"),
        "{text}"
    );
    assert!(!text.contains("z1.zip.test"), "{text}");
    ra.stop().await;
    ca.stop().await;
}

#[tokio::test]
async fn a_zip_batch_with_one_bad_csr_row_names_that_row_and_issues_nothing() {
    let ra = Ra::start_with(None, server_profile).await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let unit = root.to_string();
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let good: Vec<String> = (1..=4).map(|i| csr(&format!("b{i}.zip.test"))).collect();
    // Line 4 names a file that is not a CSR; the rest are fine.
    let manifest = "profile,subject,sans,csr\n\
        server,,DNS:b1.zip.test,1.csr\n\
        server,\"CN=b2.zip.test,O=Quoted Org\",,2.csr\n\
        server,,,bad.csr\n\
        server,,DNS:b3.zip.test;IP:10.0.0.1,3.csr\n\
        server,,,4.csr\n";
    let zip = zip_of(
        &[
            ("manifest.csv", manifest.as_bytes()),
            ("1.csr", good[0].as_bytes()),
            ("2.csr", good[1].as_bytes()),
            (
                "bad.csr",
                b"-----BEGIN CERTIFICATE REQUEST-----\nnot a CSR\n",
            ),
            ("3.csr", good[2].as_bytes()),
            ("4.csr", good[3].as_bytes()),
        ],
        false,
    );
    let page = a
        .browser
        .submit_multipart(
            "/batches",
            "/batches",
            &[("org_unit_id", &unit)],
            &[("upload", "batch.zip", &zip)],
        )
        .await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("id=\"row-4\""), "{}", page.body);
    for line in [2, 3, 5, 6] {
        assert!(
            !page.body.contains(&format!("id=\"row-{line}\"")),
            "line {line}: {}",
            page.body
        );
    }
    assert!(no_batches(&ra).await);

    // The same file as JSON lines names its own line numbers the same way.
    let jsonl = good
        .iter()
        .map(|c| json!({"profile": "server", "csr": c}).to_string())
        .chain([r#"{"profile": "server", "csr": "not a CSR"}"#.to_owned()])
        .collect::<Vec<_>>()
        .join("\n");
    let page = a
        .browser
        .submit_multipart(
            "/batches",
            "/batches",
            &[("org_unit_id", &unit)],
            &[("upload", "batch.jsonl", jsonl.as_bytes())],
        )
        .await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("id=\"row-5\""), "{}", page.body);
    assert!(no_batches(&ra).await);

    // "Issue valid rows" files the four good ones.
    let page = a
        .browser
        .submit_multipart(
            "/batches",
            "/batches",
            &[("org_unit_id", &unit), ("issue_valid_rows", "on")],
            &[("upload", "batch.zip", &zip)],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let detail = a.browser.get(page.location().unwrap()).await;
    assert_eq!(detail.element_text("batch-total").as_deref(), Some("4"));
    ra.stop().await;
}

#[tokio::test]
async fn a_zip_batch_with_an_entry_escaping_the_archive_is_refused() {
    let ra = Ra::start_with(None, server_profile).await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let unit = root.to_string();
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let good = csr("e1.zip.test");
    let manifest = "profile,subject,sans,csr\nserver,,,1.csr\n";
    for evil in ["../evil", "/etc/evil", "csrs/../../evil"] {
        let zip = zip_of(
            &[
                ("manifest.csv", manifest.as_bytes()),
                ("1.csr", good.as_bytes()),
                (evil, b"owned"),
            ],
            false,
        );
        let page = a
            .browser
            .submit_multipart(
                "/batches",
                "/batches",
                &[("org_unit_id", &unit)],
                &[("upload", "batch.zip", &zip)],
            )
            .await;
        assert_eq!(page.status, 400, "{evil}: {}", page.body);
        assert!(page.body.contains("leaves the archive"), "{}", page.body);
    }
    assert!(no_batches(&ra).await);
    ra.stop().await;
}

#[tokio::test]
async fn an_oversized_batch_upload_gets_413_and_a_zip_bomb_is_refused() {
    let ra = Ra::start_with(None, |c| {
        server_profile(c);
        c.server.max_upload_bytes = 64 * 1024;
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let unit = root.to_string();
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let good = csr("o1.zip.test");
    let manifest = "profile,subject,sans,csr\nserver,,,1.csr\n";
    // Stored, so the upload itself is over the limit.
    let padding = vec![b'x'; 100 * 1024];
    let zip = zip_of(
        &[
            ("manifest.csv", manifest.as_bytes()),
            ("1.csr", good.as_bytes()),
            ("padding.bin", &padding),
        ],
        true,
    );
    let page = a
        .browser
        .submit_multipart(
            "/batches",
            "/batches",
            &[("org_unit_id", &unit)],
            &[("upload", "batch.zip", &zip)],
        )
        .await;
    assert_eq!(page.status, 413, "{}", page.body);

    // A small upload that inflates past the limit is refused as a whole.
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let bomb = zip_of(
        &[
            ("manifest.csv", manifest.as_bytes()),
            ("1.csr", good.as_bytes()),
            ("zeros.bin", &zeros),
        ],
        false,
    );
    assert!(bomb.len() < 64 * 1024);
    let page = a
        .browser
        .submit_multipart(
            "/batches",
            "/batches",
            &[("org_unit_id", &unit)],
            &[("upload", "batch.zip", &bomb)],
        )
        .await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("unpacks to more bytes"), "{}", page.body);

    // Without the anti-CSRF field, a multipart upload is refused.
    let page = a
        .browser
        .request_bytes(
            http::Method::POST,
            "/batches",
            Some(b"--b\r\nContent-Disposition: form-data; name=\"org_unit_id\"\r\n\r\n1\r\n--b--\r\n".to_vec()),
            &[("content-type", "multipart/form-data; boundary=b")],
        )
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(no_batches(&ra).await);
    ra.stop().await;
}

/// Sets the job lease of batch `uid` as another RA instance would.
async fn set_lease(ra: &Ra, uid: &str, owner: Option<&str>, until: i64) {
    let url = &ra.config.database.url;
    let (table, sqlite) = if url.starts_with("sqlite:") {
        ("batches", true)
    } else {
        ("ra.batches", false)
    };
    let statement =
        format!("UPDATE {table} SET job_owner = $1, job_lease_until = $2 WHERE uid = $3");
    if sqlite {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .bind(owner)
            .bind(until)
            .bind(uid)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .bind(owner)
            .bind(until)
            .bind(uid)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
}

/// The owner of batch `uid`'s job lease.
async fn lease_owner(ra: &Ra, uid: &str) -> Option<String> {
    let url = &ra.config.database.url;
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let owner = sqlx::query_scalar("SELECT job_owner FROM batches WHERE uid = $1")
            .bind(uid)
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        owner
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let owner = sqlx::query_scalar("SELECT job_owner FROM ra.batches WHERE uid = $1")
            .bind(uid)
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        owner
    }
}

#[tokio::test]
async fn a_batch_leased_by_another_instance_waits_for_its_lease_to_run_out() {
    leased_batch(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_batch_lease_holds_on_postgresql_too() {
    leased_batch(Backend::Postgres).await;
}

async fn leased_batch(backend: Backend) {
    let ca = TestCa::start().await;
    let ra = Ra::start_on(backend, Some(ca.link.clone()), |c| {
        c.profiles = vec![RaProfileConfig {
            name: "server".into(),
            approvals: 1,
        }];
        c.batch.chunk_size = 2;
        c.batch.job_sweep_interval = "1s".into();
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let unit = root.to_string();
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let mut b = ra.officer(&mut admin.browser, "bob", "officer", root).await;
    let file = (1..=3)
        .map(|i| line(&format!("h{i}.lease.test")))
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
    let uid = location.rsplit('/').next().unwrap().to_owned();
    let now = ra.clock_now().unix();
    // Another RA instance on this database holds the batch's job.
    set_lease(&ra, &uid, Some("other-instance"), now + 3600).await;
    let page = b
        .browser
        .submit(&location, &format!("{location}/approve"), &[])
        .await;
    page.assert_redirect(&location);
    let store = ra.running().authority.store();
    let all = signet_store::ra::ScopePrefix::all();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let batch = store.batch(&uid, &all).await.unwrap().unwrap();
    assert_eq!((batch.status.as_str(), batch.issued), ("running", 0));
    assert_eq!(
        lease_owner(&ra, &uid).await.as_deref(),
        Some("other-instance")
    );
    assert_eq!(at_ca(&ca, ".lease.test").await, 0, "this RA left it alone");
    // That instance stopped: its lease runs out, this RA's sweep takes
    // the batch over, issues it and releases the lease.
    set_lease(&ra, &uid, Some("other-instance"), now - 1).await;
    let mut batch = store.batch(&uid, &all).await.unwrap().unwrap();
    for _ in 0..100 {
        if batch.status == "done" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        batch = store.batch(&uid, &all).await.unwrap().unwrap();
    }
    assert_eq!((batch.status.as_str(), batch.issued), ("done", 3));
    assert_eq!(lease_owner(&ra, &uid).await, None);
    assert_eq!(at_ca(&ca, ".lease.test").await, 3);
    ra.stop().await;
    ca.stop().await;
}

async fn at_ca(ca: &TestCa, needle: &str) -> usize {
    ca.client()
        .list(None, 1000, 0)
        .await
        .unwrap()
        .certificates
        .iter()
        .filter(|c| c.subject.contains(needle))
        .count()
}

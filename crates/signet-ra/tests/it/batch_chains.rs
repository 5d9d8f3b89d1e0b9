//! The issuer chain of batch certificates, stored once per batch job
//! window (`issuer_chains`) instead of in every row: each row's
//! `chain.pem` download from its request page is the CA's chain, the same
//! bytes for every row, and together with the row's `certificate.pem` it
//! is exactly that row's file in the result ZIP; OpenSSL verifies each
//! certificate with the downloaded chain. On SQLite and PostgreSQL.

use std::process::Command;
use std::time::Duration;

use signet_ra::RaProfileConfig;
use signet_store::Backend;
use signet_store::ra::ScopePrefix;

use crate::batches::{line, verified_certificates};
use crate::ca::TestCa;
use crate::kit::Ra;

#[tokio::test]
async fn batch_rows_download_the_same_chain_as_their_zip_files() {
    chains(Backend::Sqlite).await;
}

#[tokio::test]
async fn batch_chains_work_on_postgresql_too() {
    chains(Backend::Postgres).await;
}

async fn chains(backend: Backend) {
    let ca = TestCa::start().await;
    let ra = Ra::start_on(backend, Some(ca.link.clone()), |c| {
        c.profiles = vec![RaProfileConfig {
            name: "server".into(),
            approvals: 1,
        }];
        // Seven rows in chunks of two: several chunks, a partial one.
        c.batch.chunk_size = 2;
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let unit = root.to_string();
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let mut b = ra.officer(&mut admin.browser, "bob", "officer", root).await;
    let file = (1..=7)
        .map(|i| line(&format!("chain{i}.example.test")))
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
    let page = b
        .browser
        .submit(&location, &format!("{location}/approve"), &[])
        .await;
    page.assert_redirect(&location);
    let mut done = false;
    for _ in 0..100 {
        let page = b.browser.get(&location).await;
        if page.element_text("batch-status").as_deref() == Some("done") {
            assert_eq!(page.element_text("batch-issued").as_deref(), Some("7"));
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(done, "the batch job did not finish");

    let raw = a.browser.get_bytes(&format!("{location}/result.zip")).await;
    let (dir, certs) = verified_certificates(&raw, &ca.root_pem);
    assert_eq!(certs.len(), 7);

    let store = ra.running().authority.store();
    let batch = store
        .batches(&ScopePrefix::all(), 10)
        .await
        .unwrap()
        .remove(0);
    let rows = store.batch_requests(batch.id).await.unwrap();
    assert_eq!(rows.len(), 7);
    let mut first_chain: Option<String> = None;
    for row in &rows {
        assert_eq!(row.status, "issued");
        let uid = &row.uid;
        let cert = a
            .browser
            .get_bytes(&format!("/requests/{uid}/certificate.pem"))
            .await;
        let cert = String::from_utf8(cert).unwrap();
        // The chain download: the certificate, then the issuer chain.
        let download = a
            .browser
            .get_bytes(&format!("/requests/{uid}/chain.pem"))
            .await;
        let download = String::from_utf8(download).unwrap();
        let chain = download
            .strip_prefix(cert.as_str())
            .expect("chain.pem starts with the certificate");
        assert!(chain.starts_with("-----BEGIN CERTIFICATE-----"), "{chain}");
        match &first_chain {
            Some(first) => assert!(chain == first, "every row has the same chain"),
            None => first_chain = Some(chain.to_owned()),
        }
        // The ZIP file of this row is the same bytes.
        let line = row.batch_row.unwrap();
        let entry = certs
            .iter()
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&format!("{line:05}-"))
            })
            .unwrap();
        let in_zip = std::fs::read_to_string(entry).unwrap();
        assert!(
            in_zip == download,
            "row {line}: ZIP file and chain.pem differ"
        );
        // OpenSSL: the downloaded certificate verifies with the downloaded
        // chain.
        let (c, u) = (dir.path().join("c.pem"), dir.path().join("u.pem"));
        std::fs::write(&c, &cert).unwrap();
        std::fs::write(&u, chain).unwrap();
        let out = Command::new("openssl")
            .args(["verify", "-CAfile"])
            .arg(&ca.root_pem)
            .arg("-untrusted")
            .arg(&u)
            .arg(&c)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

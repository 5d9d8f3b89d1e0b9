//! Batch files signed by the uploading officer: a detached CMS signature
//! made by `openssl cms -sign` with the certificate registered on the
//! officer's account files the batch, which then shows its signer; a file
//! changed after signing, another officer's signature, garbage, and (with
//! `batch.require_signature`) no signature at all are refused by name,
//! file nothing and are audited.

use std::path::Path;
use std::process::Command;

use signet_ra::RaProfileConfig;
use signet_store::Backend;

use crate::browser::{Browser, Page};
use crate::kit::Ra;
use crate::pki::{Leaf, pki};

fn server_profile(c: &mut signet_ra::RaConfig) {
    c.profiles = vec![RaProfileConfig {
        name: "server".into(),
        approvals: 1,
    }];
}

/// A PEM CSR for `cn`.
fn csr(cn: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![cn.to_owned()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.serialize_request(&key).unwrap().pem().unwrap()
}

/// A batch ZIP: `manifest.csv` and `rows` CSR files.
fn batch_zip(prefix: &str, rows: usize) -> Vec<u8> {
    use std::io::Write as _;
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut manifest = String::from("profile,subject,sans,csr\n");
    for i in 1..=rows {
        let name = format!("csrs/{prefix}{i}.csr");
        manifest.push_str(&format!("server,,,{name}\n"));
        w.start_file(name.as_str(), options).unwrap();
        w.write_all(csr(&format!("{prefix}{i}.signed.test")).as_bytes())
            .unwrap();
    }
    w.start_file("manifest.csv", options).unwrap();
    w.write_all(manifest.as_bytes()).unwrap();
    w.finish().unwrap().into_inner()
}

/// `openssl cms -sign -binary -in batch.zip -signer .. -inkey .. -out
/// batch.zip.p7s` with `extra` options (DER unless they say PEM).
fn openssl_sign(dir: &Path, file: &[u8], signer: &Leaf, extra: &[&str]) -> Vec<u8> {
    let input = dir.join("batch.zip");
    let cert = dir.join("signer.pem");
    let key = dir.join("signer.key");
    let out = dir.join("batch.zip.p7s");
    std::fs::write(&input, file).unwrap();
    std::fs::write(&cert, &signer.cert_pem).unwrap();
    std::fs::write(&key, &signer.key_pem).unwrap();
    let outform = if extra.contains(&"PEM") { "PEM" } else { "DER" };
    let result = Command::new("openssl")
        .args(["cms", "-sign", "-binary", "-in"])
        .arg(&input)
        .arg("-signer")
        .arg(&cert)
        .arg("-inkey")
        .arg(&key)
        .args(["-outform", outform])
        .args(extra.iter().filter(|e| **e != "PEM"))
        .arg("-out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    // OpenSSL itself accepts what it made.
    let check = Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-binary",
            "-noverify",
            "-inform",
            outform,
            "-in",
        ])
        .arg(&out)
        .arg("-content")
        .arg(&input)
        .args(["-out", "/dev/null"])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    std::fs::read(out).unwrap()
}

/// Registers `leaf` as the login certificate of `username`.
async fn register(ra: &Ra, admin: &mut Browser, username: &str, leaf: &Leaf) {
    let id = ra
        .running()
        .authority
        .store()
        .officer_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .id;
    let page = admin
        .submit(
            &format!("/admin/officers/{id}"),
            &format!("/admin/officers/{id}/certificate"),
            &[("certificate", leaf.cert_pem.as_str())],
        )
        .await;
    assert!(
        page.status.is_redirection() || page.status == 200,
        "{}",
        page.body
    );
}

async fn upload(b: &mut Browser, unit: &str, zip: &[u8], signature: Option<(&str, &[u8])>) -> Page {
    let mut files: Vec<(&str, &str, &[u8])> = vec![("upload", "batch.zip", zip)];
    if let Some((name, sig)) = signature {
        files.push(("signature", name, sig));
    }
    b.submit_multipart("/batches", "/batches", &[("org_unit_id", unit)], &files)
        .await
}

async fn batch_count(ra: &Ra) -> usize {
    ra.running()
        .authority
        .store()
        .batches(&signet_store::ra::ScopePrefix::all(), 100)
        .await
        .unwrap()
        .len()
}

/// The details of the audit events `batch.file` with `outcome`, oldest
/// first.
async fn filing_events(ra: &Ra, outcome: &str) -> Vec<serde_json::Value> {
    ra.running()
        .authority
        .store()
        .audit_events(&Default::default(), 1000, 0)
        .await
        .unwrap()
        .into_iter()
        .rev()
        .filter(|e| e.entry.action == "batch.file" && e.entry.outcome == outcome)
        .map(|e| serde_json::from_str(&e.entry.details).unwrap())
        .collect()
}

/// Files a signed batch and checks the batch page names the signer.
async fn assert_filed_and_shown_signed(b: &mut Browser, page: Page, leaf: &Leaf) {
    assert_eq!(page.status, 303, "{}", page.body);
    let detail = b.get(page.location().unwrap()).await;
    let signer = detail.element_text("batch-signer").unwrap();
    assert!(signer.contains("CN=Officer Wang"), "{signer}");
    assert_eq!(
        detail.element_text("batch-signer-sha256").as_deref(),
        Some(leaf.sha256_hex().as_str())
    );
}

#[tokio::test]
async fn signed_batch_files_are_filed_with_their_signer_and_bad_signatures_file_nothing() {
    signed_batches(Backend::Sqlite).await;
}

#[tokio::test]
async fn signed_batch_files_work_on_postgresql_too() {
    signed_batches(Backend::Postgres).await;
}

async fn signed_batches(backend: Backend) {
    let p = pki();
    let ra = Ra::start_on(backend, None, server_profile).await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let unit = root.to_string();
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let _b = ra.officer(&mut admin.browser, "bob", "officer", root).await;
    register(&ra, &mut admin.browser, "alice", &p.officer_cert).await;
    register(&ra, &mut admin.browser, "bob", &p.other_cert).await;
    let dir = tempfile::tempdir().unwrap();

    // Signed with the default signed attributes: filed, shown as signed,
    // and the filing event names the signer.
    let zip = batch_zip("a", 3);
    let sig = openssl_sign(dir.path(), &zip, &p.officer_cert, &[]);
    let page = upload(&mut a.browser, &unit, &zip, Some(("batch.zip.p7s", &sig))).await;
    assert_filed_and_shown_signed(&mut a.browser, page, &p.officer_cert).await;
    let filed = filing_events(&ra, "success").await;
    assert_eq!(filed.len(), 1);
    assert_eq!(filed[0]["signer_sha256"], p.officer_cert.sha256_hex());
    assert_eq!(filed[0]["signer_subject"], "CN=Officer Wang");
    assert_eq!(filed[0]["filed_rows"], 3);

    // Without signed attributes (-noattr), and as PEM: the same.
    let zip = batch_zip("b", 2);
    let sig = openssl_sign(dir.path(), &zip, &p.officer_cert, &["-noattr"]);
    let page = upload(&mut a.browser, &unit, &zip, Some(("batch.zip.p7s", &sig))).await;
    assert_filed_and_shown_signed(&mut a.browser, page, &p.officer_cert).await;
    let zip = batch_zip("c", 2);
    let sig = openssl_sign(dir.path(), &zip, &p.officer_cert, &["PEM"]);
    assert!(sig.starts_with(b"-----BEGIN CMS-----"));
    let page = upload(&mut a.browser, &unit, &zip, Some(("batch.zip.pem", &sig))).await;
    assert_filed_and_shown_signed(&mut a.browser, page, &p.officer_cert).await;
    assert_eq!(batch_count(&ra).await, 3);

    // A signed file is filed once: the same upload again, or the same
    // file signed again, is refused and names the batch it was filed as.
    let pem_batch = ra
        .running()
        .authority
        .store()
        .batches(&signet_store::ra::ScopePrefix::all(), 1)
        .await
        .unwrap()
        .remove(0)
        .uid;
    let resigned = openssl_sign(dir.path(), &zip, &p.officer_cert, &["-noattr"]);
    for (name, signature) in [("batch.zip.pem", &sig), ("batch.zip.p7s", &resigned)] {
        let page = upload(&mut a.browser, &unit, &zip, Some((name, signature))).await;
        assert_eq!(page.status, 409, "{}", page.body);
        assert_eq!(
            page.element_text("batch-replayed").as_deref(),
            Some(
                format!(
                    "Nothing was filed: this signed file was already filed as batch {pem_batch} \
                     (the same file with a signature by the same certificate). A signed file is \
                     filed once."
                )
                .as_str()
            ),
            "{}",
            page.body
        );
    }
    assert_eq!(batch_count(&ra).await, 3);

    // An unsigned upload is still allowed (require_signature is off) and
    // its page says so.
    let page = upload(&mut a.browser, &unit, &zip, None).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let detail = a.browser.get(page.location().unwrap()).await;
    assert!(detail.element_text("batch-signer").is_none());
    assert!(detail.element_text("batch-unsigned").is_some());
    assert_eq!(batch_count(&ra).await, 4);

    // The file changed by one byte after signing (with and without
    // signed attributes): refused, the reason named, nothing filed.
    for extra in [&[][..], &["-noattr"]] {
        let sig = openssl_sign(dir.path(), &zip, &p.officer_cert, extra);
        let mut changed = zip.clone();
        let last = changed.len() - 1;
        changed[last] ^= 0x01;
        let page = upload(
            &mut a.browser,
            &unit,
            &changed,
            Some(("batch.zip.p7s", &sig)),
        )
        .await;
        assert_eq!(page.status, 400, "{}", page.body);
        assert!(
            page.body.contains("the signature does not match the file"),
            "{}",
            page.body
        );
    }
    assert_eq!(batch_count(&ra).await, 4);

    // Signed with another officer's registered certificate: refused.
    let sig = openssl_sign(dir.path(), &zip, &p.other_cert, &[]);
    let page = upload(&mut a.browser, &unit, &zip, Some(("batch.zip.p7s", &sig))).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(
        page.body
            .contains("the signer is not a certificate registered to you"),
        "{}",
        page.body
    );

    // Garbage, and a signature with pasted rows: refused.
    let page = upload(&mut a.browser, &unit, &zip, Some(("x.p7s", b"garbage"))).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(
        page.body.contains("the signature is not a CMS SignedData"),
        "{}",
        page.body
    );
    let page = a
        .browser
        .submit_multipart(
            "/batches",
            "/batches",
            &[("org_unit_id", &unit), ("file", "{}")],
            &[("signature", "x.p7s", &sig)],
        )
        .await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("not with pasted rows"), "{}", page.body);
    assert_eq!(batch_count(&ra).await, 4);

    // Every refusal is in the trail with its reason; the trail verifies.
    let refused: Vec<String> = filing_events(&ra, "denied")
        .await
        .iter()
        .map(|d| d["reason"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        refused,
        [
            "signature_replayed",
            "signature_replayed",
            "signature_mismatch",
            "signature_mismatch",
            "signer_not_registered",
            "not_cms_signed_data",
        ],
        "{refused:?}"
    );
    let denied = filing_events(&ra, "denied").await;
    assert_eq!(denied[0]["filed_as"], format!("batch:{pem_batch}"));
    assert_eq!(denied[0]["signer_sha256"], p.officer_cert.sha256_hex());
    assert_eq!(denied[4]["signer_sha256"], p.other_cert.sha256_hex());
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
}

#[tokio::test]
async fn with_require_signature_unsigned_batch_files_are_refused() {
    let p = pki();
    let ra = Ra::start_with(None, |c| {
        server_profile(c);
        c.batch.require_signature = true;
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let unit = root.to_string();
    let mut a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    register(&ra, &mut admin.browser, "alice", &p.officer_cert).await;

    let form = a.browser.get("/batches").await;
    assert!(form.body.contains("(required)"), "{}", form.body);
    let zip = batch_zip("r", 2);
    let page = upload(&mut a.browser, &unit, &zip, None).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(
        page.body.contains("batch files must be signed"),
        "{}",
        page.body
    );
    // Pasted rows cannot be signed, so they are refused too.
    let page = a
        .browser
        .submit(
            "/batches",
            "/batches",
            &[
                ("org_unit_id", &unit),
                ("file", &crate::batches::line("pasted.signed.test")),
            ],
        )
        .await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert_eq!(batch_count(&ra).await, 0);
    let refused = filing_events(&ra, "denied").await;
    assert_eq!(refused.len(), 2);
    assert!(refused.iter().all(|d| d["reason"] == "signature_required"));

    let dir = tempfile::tempdir().unwrap();
    let sig = openssl_sign(dir.path(), &zip, &p.officer_cert, &[]);
    let page = upload(&mut a.browser, &unit, &zip, Some(("batch.zip.p7s", &sig))).await;
    assert_filed_and_shown_signed(&mut a.browser, page, &p.officer_cert).await;
    assert_eq!(batch_count(&ra).await, 1);
    ra.stop().await;
}

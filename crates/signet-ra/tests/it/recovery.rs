//! Key recovery and key health through the console, against a real CA and
//! a real KMC started in-process: the CA issues a dual pair (the KMC
//! generates and escrows the encryption key), officer A files a recovery
//! by the encryption certificate's serial, A cannot approve it, delivery
//! before enough approvals is refused, B and C approve (the KMC's default
//! is two approvers besides the requester), the envelope downloads as DER
//! and `openssl cms -decrypt` opens it with the subscriber's signing key
//! only, holding the encryption certificate's key; every step is in the
//! RA's audit trail; the key health page shows the KMC's counts to an
//! auditor and is refused to officers; without `[kmc]` the pages say so.

use std::path::Path;
use std::process::Command;

use signet_api::ca::IssueRequest;
use signet_ra::{KmcLinkConfig, RaProfileConfig};
use signet_store::Backend;
use signet_store::ra::AuditFilter;

use crate::browser::{Browser, Page};
use crate::ca::TestCa;
use crate::kit::{CaLink, Ra};

fn openssl(args: &[&str]) -> std::process::Output {
    Command::new("openssl").args(args).output().unwrap()
}

/// The public key of a PEM certificate or private key file, as OpenSSL
/// prints it (PEM `PUBLIC KEY`).
fn public_key_of_cert(path: &Path) -> String {
    let out = openssl(&["x509", "-in", path.to_str().unwrap(), "-noout", "-pubkey"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn kmc_link(link: &CaLink, dual_profiles: Vec<String>) -> KmcLinkConfig {
    KmcLinkConfig {
        url: link.url.clone(),
        certificate: link.certificate.clone(),
        key: link.key.clone(),
        roots: link.roots.clone(),
        dual_profiles,
    }
}

/// A P-256 signing key and a CSR for `cn` (user-sign's subject rules).
fn subscriber(cn: &str) -> (rcgen::KeyPair, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Signet Test");
    let csr = params.serialize_request(&key).unwrap().pem().unwrap();
    (key, csr)
}

/// Opens `envelope` with `key_pem` by `openssl cms -decrypt` and returns
/// the recovered key's public half (PEM), or None if it does not open.
fn open_envelope(dir: &Path, envelope: &[u8], key_pem: &str) -> Option<String> {
    let env_path = dir.join("env.der");
    std::fs::write(&env_path, envelope).unwrap();
    let key_path = dir.join("sign.pem");
    std::fs::write(&key_path, key_pem).unwrap();
    let out_path = dir.join("recovered.der");
    let out = openssl(&[
        "cms",
        "-decrypt",
        "-inform",
        "DER",
        "-in",
        env_path.to_str().unwrap(),
        "-inkey",
        key_path.to_str().unwrap(),
        "-out",
        out_path.to_str().unwrap(),
    ]);
    if !out.status.success() {
        return None;
    }
    let out = openssl(&[
        "pkey",
        "-inform",
        "DER",
        "-in",
        out_path.to_str().unwrap(),
        "-pubout",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

async fn act(b: &mut Browser, id: &str, action: &str) -> Page {
    b.submit(
        &format!("/recoveries/{id}"),
        &format!("/recoveries/{id}/{action}"),
        &[],
    )
    .await
}

#[tokio::test]
async fn officers_recover_an_escrowed_key_under_dual_control() {
    recover_on(Backend::Sqlite).await;
}

#[tokio::test]
async fn officers_recover_an_escrowed_key_under_dual_control_postgres() {
    recover_on(Backend::Postgres).await;
}

async fn recover_on(backend: Backend) {
    let ca = TestCa::start_with_kmc().await;
    let link = ca.kmc.clone().unwrap();

    // The subscriber: a P-256 signing key, and a dual pair from the CA.
    let (sign_key, csr) = subscriber("Alice Dual");
    let pair = ca
        .client()
        .issue_dual(&IssueRequest {
            request_id: "it:recovery:alice".into(),
            profile: "user-dual".into(),
            csr,
            issuer: None,
            subject: None,
            sans: None,
            validity_days: None,
        })
        .await
        .unwrap();

    let ra = Ra::start_on(backend, Some(ca.link.clone()), |c| {
        c.kmc = Some(kmc_link(&link, Vec::new()));
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let mut a = ra.officer(&mut admin.browser, "li", "officer", root).await;
    let mut b = ra
        .officer(&mut admin.browser, "zhao", "officer", root)
        .await;
    let mut c = ra.officer(&mut admin.browser, "sun", "officer", root).await;
    let mut auditor = ra
        .officer(&mut admin.browser, "qian", "auditor", root)
        .await;

    // A bad signing key is refused by the RA before the KMC sees it.
    let page = a
        .browser
        .submit(
            "/recoveries",
            "/recoveries",
            &[
                ("serial", &pair.encryption.serial),
                ("reason", "lost laptop"),
                ("signing_key", "not a key"),
            ],
        )
        .await;
    assert_eq!(page.status, 400, "{}", page.body);

    // A files by the encryption certificate's serial, naming the
    // subscriber's current signing certificate.
    let page = a
        .browser
        .submit(
            "/recoveries",
            "/recoveries",
            &[
                ("serial", &pair.encryption.serial),
                ("key_id", ""),
                ("reason", "ticket 4711: laptop lost"),
                ("signing_key", &pair.signing.certificate),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let id = page
        .location()
        .unwrap()
        .trim_start_matches("/recoveries/")
        .to_owned();
    let page = a.browser.get(&format!("/recoveries/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.element_text("state").as_deref(),
        Some("Pending approval")
    );
    assert!(page.body.contains(&pair.key_id), "{}", page.body);
    // The list shows it to the other officers.
    let page = b.browser.get("/recoveries").await;
    assert!(page.body.contains(&id), "{}", page.body);

    // A cannot approve: the console offers no button, and the KMC's
    // refusal is shown when A posts anyway.
    let page = a.browser.get(&format!("/recoveries/{id}")).await;
    assert!(!page.body.contains("/approve"), "{}", page.body);
    let page = act(&mut a.browser, &id, "approve").await;
    assert_eq!(page.status, 422, "{}", page.body);
    let message = page.element_text("kmc-message").unwrap();
    assert!(!message.is_empty(), "{}", page.body);
    assert!(page.body.contains("The KMC refused"), "{}", page.body);

    // B approves; one approval of two: delivery is refused.
    let page = act(&mut b.browser, &id, "approve").await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = act(&mut b.browser, &id, "approve").await;
    assert_eq!(page.status, 422, "B twice: {}", page.body);
    let page = act(&mut b.browser, &id, "deliver").await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.element_text("kmc-message").is_some(), "{}", page.body);

    // C approves: approved; B downloads the envelope.
    let page = act(&mut c.browser, &id, "approve").await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = b.browser.get(&format!("/recoveries/{id}")).await;
    assert_eq!(page.element_text("state").as_deref(), Some("Approved"));
    let csrf = page.csrf();
    let delivered = b
        .browser
        .post(
            &format!("/recoveries/{id}/deliver"),
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(delivered.status, 200, "{}", delivered.body);
    assert_eq!(
        delivered.header("content-disposition"),
        Some(format!("attachment; filename=\"recovery-{id}.der\"").as_str())
    );
    assert_eq!(
        delivered.header("x-signet-envelope-format"),
        Some("cms-auth-enveloped-data")
    );
    // The KMC delivers once.
    let page = act(&mut c.browser, &id, "deliver").await;
    assert_eq!(page.status, 422, "delivered twice: {}", page.body);
    let page = c.browser.get(&format!("/recoveries/{id}")).await;
    assert_eq!(page.element_text("state").as_deref(), Some("Delivered"));

    let dir = tempfile::tempdir().unwrap();
    let enc_cert = dir.path().join("enc.pem");
    std::fs::write(&enc_cert, &pair.encryption.certificate).unwrap();
    assert_eq!(
        open_envelope(dir.path(), &delivered.bytes, &sign_key.serialize_pem()).as_deref(),
        Some(public_key_of_cert(&enc_cert).as_str()),
        "the recovered key is the encryption certificate's"
    );
    // Another key does not open it.
    let other = rcgen::KeyPair::generate().unwrap().serialize_pem();
    assert_eq!(open_envelope(dir.path(), &delivered.bytes, &other), None);

    // Every step is in the RA's trail, refusals included.
    let store = ra.running().authority.store();
    let events = store
        .audit_events(&AuditFilter::default(), 1000, 0)
        .await
        .unwrap();
    let count = |action: &str, outcome: &str, actor: &str| {
        events
            .iter()
            .filter(|e| {
                e.entry.action == action && e.entry.outcome == outcome && e.entry.actor == actor
            })
            .count()
    };
    assert_eq!(count("kmc.escrow.lookup", "success", "li"), 1);
    assert_eq!(count("kmc.recovery.file", "success", "li"), 1);
    assert_eq!(count("kmc.recovery.approve", "denied", "li"), 1);
    assert_eq!(count("kmc.recovery.approve", "success", "zhao"), 1);
    assert_eq!(count("kmc.recovery.approve", "denied", "zhao"), 1);
    assert_eq!(count("kmc.recovery.deliver", "denied", "zhao"), 1);
    assert_eq!(count("kmc.recovery.approve", "success", "sun"), 1);
    assert_eq!(count("kmc.recovery.deliver", "success", "zhao"), 1);
    assert_eq!(count("kmc.recovery.deliver", "denied", "sun"), 1);
    let filed = events
        .iter()
        .find(|e| e.entry.action == "kmc.recovery.file")
        .unwrap();
    assert_eq!(filed.entry.target, format!("recovery:{id}"));
    ra.running().authority.audit().verify().await.unwrap();

    // Key health: the auditor sees the KMC's counts; officers may not.
    let page = auditor.browser.get("/keys/health").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("data-kind=\"escrowed_keys\" data-state=\"archived\">1<"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("data-kind=\"master_keys\" data-state=\"active\">1<"),
        "{}",
        page.body
    );
    assert!(page.element_text("next-rotation").is_some());
    let page = admin.browser.get("/keys/health").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let page = a.browser.get("/keys/health").await;
    assert_eq!(page.status, 403, "{}", page.body);
    // The auditor files nothing.
    let page = auditor.browser.get("/recoveries").await;
    assert_eq!(page.status, 403, "{}", page.body);

    ra.stop().await;
    ca.stop().await;
}

#[tokio::test]
async fn without_a_kmc_the_pages_say_so() {
    let ra = Ra::start().await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let mut officer = ra.officer(&mut admin.browser, "li", "officer", root).await;
    let page = officer.browser.get("/recoveries").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.element_text("kmc-not-configured").is_some(),
        "{}",
        page.body
    );
    let page = admin.browser.get("/keys/health").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.element_text("kmc-not-configured").is_some(),
        "{}",
        page.body
    );
    ra.stop().await;
}

#[tokio::test]
async fn a_dual_request_gives_both_certificates_and_the_envelope() {
    let ca = TestCa::start_with_kmc().await;
    let link = ca.kmc.clone().unwrap();
    let ra = Ra::start_with(Some(ca.link.clone()), |c| {
        c.profiles = vec![RaProfileConfig {
            name: "user-dual".into(),
            approvals: 1,
        }];
        c.kmc = Some(kmc_link(&link, vec!["user-dual".into()]));
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await.to_string();
    let mut a = ra
        .officer(&mut admin.browser, "li", "officer", ra.root_unit().await)
        .await;
    let mut b = ra
        .officer(&mut admin.browser, "zhao", "officer", ra.root_unit().await)
        .await;

    let (sign_key, csr) = subscriber("Bob Dual");
    let page = a
        .browser
        .submit(
            "/requests/new",
            "/requests/new",
            &[
                ("profile", "user-dual"),
                ("org_unit_id", &root),
                ("csr", &csr),
                ("comment", "dual pair for Bob"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let uid = page
        .location()
        .unwrap()
        .trim_start_matches("/requests/")
        .to_owned();
    let page = b
        .browser
        .submit(
            &format!("/requests/{uid}"),
            &format!("/requests/{uid}/approve"),
            &[("comment", "")],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = a.browser.get(&format!("/requests/{uid}")).await;
    assert_eq!(
        page.element_text("status").as_deref(),
        Some("Issued"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"dual-envelope\""), "{}", page.body);

    // The signing certificate holds the subscriber's key; the encryption
    // certificate the KMC's, whose private half the envelope carries.
    let dir = tempfile::tempdir().unwrap();
    let signing = a
        .browser
        .get_bytes(&format!("/requests/{uid}/certificate.pem"))
        .await;
    let sign_cert = dir.path().join("sign-cert.pem");
    std::fs::write(&sign_cert, &signing).unwrap();
    let sign_pub = public_key_of_cert(&sign_cert);
    assert_eq!(
        sign_pub.trim(),
        sign_key.public_key_pem().replace('\r', "").trim(),
        "the signing certificate is the CSR's key"
    );
    let encryption = a
        .browser
        .get_bytes(&format!("/requests/{uid}/encryption.pem"))
        .await;
    let enc_cert = dir.path().join("enc-cert.pem");
    std::fs::write(&enc_cert, &encryption).unwrap();
    let enc_pub = public_key_of_cert(&enc_cert);
    assert_ne!(enc_pub, sign_pub);
    let envelope = a
        .browser
        .get_bytes(&format!("/requests/{uid}/envelope.der"))
        .await;
    assert_eq!(
        open_envelope(dir.path(), &envelope, &sign_key.serialize_pem()).as_deref(),
        Some(enc_pub.as_str())
    );
    // A second download is the same pair (the CA's idempotency), not a
    // new key: still the same encryption certificate.
    let again = a
        .browser
        .get_bytes(&format!("/requests/{uid}/encryption.pem"))
        .await;
    assert_eq!(again, encryption);

    let store = ra.running().authority.store();
    let events = store
        .audit_events(&AuditFilter::default(), 1000, 0)
        .await
        .unwrap();
    let downloads = events
        .iter()
        .filter(|e| e.entry.action == "certificate.dual_download" && e.entry.outcome == "success")
        .count();
    assert_eq!(downloads, 3);
    // A single-profile request has no encryption half.
    let page = a.browser.get("/requests/nonexistent/encryption.pem").await;
    assert_eq!(page.status, 404);

    ra.stop().await;
    ca.stop().await;
}

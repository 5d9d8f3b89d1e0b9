//! The administration commands go through the RA's REST API when the home
//! has an RA: the RA records and audits what `signet enroll` and `signet
//! revoke` did (as API client `signet-cli`), and homes whose manifest
//! names no RA still speak to the CA directly.

use signet_testkit::openssl;
use signet_testkit::{Pki, random_hex};

fn new_csr(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let dns = format!("{name}-{}.example.com", random_hex(4));
    openssl::new_csr(
        dir,
        name,
        "p256",
        &format!("/CN={dns}"),
        Some(&format!("DNS:{dns}")),
    )
    .1
}

fn serial_of(pem: &[u8], dir: &std::path::Path) -> String {
    let path = dir.join(format!("{}.pem", random_hex(4)));
    std::fs::write(&path, pem).unwrap();
    openssl::serial(&path).to_lowercase()
}

/// `signet enroll --request-id` and `signet revoke --crl-now` reach the
/// CA through the RA: the RA's API lists the certificate under the
/// request the CLI filed (idempotency key = request id: a retry files
/// nothing new), shows the revocation; `--subject` and `--san` reach the
/// certificate through the API; and the RA's audit trail, with exactly
/// those events, verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enroll_and_revoke_go_through_the_ra_api() {
    let pki = Pki::init("p256");
    let _services = pki.up();
    let dir = tempfile::tempdir().unwrap();
    let csr = new_csr(dir.path(), "via-ra");
    let request_id = format!("ra-{}", random_hex(8));
    let enroll = || {
        pki.signet(&[
            "enroll",
            "--profile",
            "server",
            "--csr",
            csr.to_str().unwrap(),
            "--request-id",
            &request_id,
        ])
    };
    let out = enroll();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = enroll();
    assert_eq!(
        out.stdout, again.stdout,
        "a retry answers the same certificate"
    );
    let serial = serial_of(&out.stdout, dir.path());

    let ra = pki.ra_admin_client();
    let listed = ra.list(100, 0).await.unwrap().certificates;
    assert_eq!(listed.len(), 1, "one request filed, however often retried");
    let record = ra.get(&serial).await.unwrap();
    assert_eq!(record.status, "good");
    assert_eq!(record.profile, "server");
    let blocks = openssl::split_pem(&String::from_utf8(out.stdout.clone()).unwrap());
    assert_eq!(record.certificate.trim(), blocks[0].trim());

    let revoked = pki.signet(&[
        "revoke",
        "--serial",
        &serial,
        "--reason",
        "keyCompromise",
        "--crl-now",
    ]);
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    let line = String::from_utf8_lossy(&revoked.stdout);
    assert!(
        line.starts_with(&serial) && line.contains(" revoked "),
        "{line}"
    );
    let record = ra.get(&serial).await.unwrap();
    assert_eq!(record.status, "revoked", "the RA recorded the revocation");
    assert_eq!(record.revocation_reason.as_deref(), Some("keyCompromise"));
    assert_eq!(
        pki.admin_client().get(&serial).await.unwrap().status,
        "revoked"
    );

    // --subject and --san travel in the API request and replace the CSR's.
    let name = format!("vetted-{}.example.com", random_hex(4));
    let other = new_csr(dir.path(), "override");
    let out = pki.signet(&[
        "enroll",
        "--profile",
        "server",
        "--csr",
        other.to_str().unwrap(),
        "--subject",
        &format!("CN={name}"),
        "--san",
        &format!("DNS:{name}"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let leaf = dir.path().join("override.pem");
    std::fs::write(
        &leaf,
        &openssl::split_pem(&String::from_utf8(out.stdout).unwrap())[0],
    )
    .unwrap();
    let text = openssl::x509_text(&leaf);
    assert!(
        text.contains(&format!("CN={name}")) || text.contains(&format!("CN = {name}")),
        "{text}"
    );
    assert!(text.contains(&format!("DNS:{name}")), "{text}");
    let filed = ra
        .get(&openssl::serial(&leaf).to_lowercase())
        .await
        .unwrap();
    assert_eq!(
        filed.subject,
        format!("CN={name}"),
        "the RA records the vetted subject"
    );

    let verify = pki.signet(&["audit", "verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let db = signet_store::Database::open(
        &format!("sqlite:{}", pki.path("data/ra.db").display()),
        signet_store::Schema::Ra,
        &signet_store::DbOptions {
            max_connections: 1,
            read_only: true,
            ..signet_store::DbOptions::default()
        },
    )
    .await
    .unwrap();
    let trail: Vec<String> = signet_store::RaStore::new(db)
        .audit_events_after(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            let e = r.entry;
            format!("{} {} {} {}", e.actor_kind, e.actor, e.action, e.outcome)
        })
        .collect();
    // Two enrollments (the retry filed nothing), one revocation.
    for (action, times) in [
        ("request.file", 2),
        ("certificate.issue", 2),
        ("certificate.revoke", 1),
    ] {
        let event = format!("api signet-cli {action} success");
        assert_eq!(
            trail.iter().filter(|e| **e == event).count(),
            times,
            "`{event}` in the trail: {trail:#?}"
        );
    }
}

/// A home whose manifest names no RA (made before the RA existed) keeps
/// working: `signet enroll` asks the CA directly and the RA never hears
/// of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_without_an_ra_speaks_to_the_ca() {
    let pki = Pki::init("p256");
    let manifest = pki.path("signet.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let old: String = text
        .lines()
        .filter(|l| !l.starts_with("ra = ") && !l.starts_with("ra_root = "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(old, text, "init records the RA in the manifest");
    std::fs::write(&manifest, old).unwrap();
    let _services = pki.up();
    let dir = tempfile::tempdir().unwrap();
    let csr = new_csr(dir.path(), "direct");
    let out = pki.signet(&[
        "enroll",
        "--profile",
        "server",
        "--csr",
        csr.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let serial = serial_of(&out.stdout, dir.path());
    assert_eq!(
        pki.admin_client().get(&serial).await.unwrap().status,
        "good"
    );
    assert!(
        pki.ra_admin_client()
            .list(100, 0)
            .await
            .unwrap()
            .certificates
            .is_empty(),
        "the RA filed nothing"
    );
    let revoked = pki.signet(&["revoke", "--serial", &serial, "--reason", "superseded"]);
    assert!(revoked.status.success());
}

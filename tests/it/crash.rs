//! Crash safety: kill -9 the CA in the middle of 1,000 concurrent
//! issuances, restart it, and check that nothing was lost or doubled.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use signet_api::ca::{CaClient, IssueRequest};
use signet_store::{Database, DbOptions, Schema};
use signet_testkit::Pki;

const REQUESTS: usize = 1000;

fn csr_pem() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["crash.example.test".to_owned()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "crash.example.test");
    params.serialize_request(&key).unwrap().pem().unwrap()
}

fn request(i: usize, csr: &str) -> IssueRequest {
    IssueRequest {
        request_id: format!("crash-{i}"),
        profile: "server".into(),
        csr: csr.to_owned(),
        issuer: None,
        subject: None,
        sans: None,
        validity_days: None,
    }
}

/// Counts rows by status straight from the CA's SQLite file, as an
/// operator inspecting a crashed CA would.
async fn pending_rows(pki: &Pki) -> usize {
    let url = format!("sqlite:{}", pki.path("data/ca.db").display());
    let options = DbOptions {
        read_only: true,
        ..DbOptions::default()
    };
    let db = Database::open(&url, Schema::Ca, &options).await.unwrap();
    let store = signet_store::CaStore::new(db);
    let n = store.pending().await.unwrap().len();
    store.database().close().await;
    n
}

/// A user's view of a crash: every certificate the CA returned is in its
/// database, no serial exists twice, nothing stays pending after the
/// restart, and retrying any request id yields exactly one certificate —
/// the one returned before, when there was one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_1000_concurrent_issuances_loses_nothing() {
    let pki = Pki::init("p256");
    let mut services = pki.up();
    let client = pki.admin_client();
    let csrs: Vec<String> = (0..REQUESTS).map(|_| csr_pem()).collect();

    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (i, csr) in csrs.iter().enumerate() {
        let client: CaClient = client.clone();
        let req = request(i, csr);
        let done = Arc::clone(&done);
        tasks.push(tokio::spawn(async move {
            let r = client.issue(&req).await;
            done.fetch_add(1, Ordering::SeqCst);
            (i, r)
        }));
    }
    // Crash once a good part of the work is done and plenty is in flight.
    while done.load(Ordering::SeqCst) < REQUESTS / 4 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    services.kill9();

    let mut returned: HashMap<usize, (String, String)> = HashMap::new();
    for t in tasks {
        let (i, r) = t.await.unwrap();
        if let Ok(cert) = r {
            returned.insert(i, (cert.serial, cert.certificate));
        }
    }
    assert!(
        !returned.is_empty() && returned.len() < REQUESTS,
        "the crash came mid-run ({} returned)",
        returned.len()
    );
    let pending_after_crash = pending_rows(&pki).await;
    eprintln!(
        "returned before the crash: {}, pending rows left by it: {pending_after_crash}",
        returned.len()
    );

    // Restart: pending rows are finished before the CA serves.
    let _services = pki.up();
    assert_eq!(
        pending_rows(&pki).await,
        0,
        "pending rows reconciled at start-up"
    );
    let client = pki.admin_client();

    // Every returned certificate is stored, good, byte for byte.
    for (serial, pem) in returned.values() {
        let info = client.get(serial).await.unwrap();
        assert_eq!(info.status, "good");
        assert_eq!(info.certificate.as_deref(), Some(pem.as_str()));
    }

    // Retrying every request id: returned ones come back unchanged, the
    // rest are issued (or finished) exactly once.
    let mut serials = HashSet::new();
    for (i, csr) in csrs.iter().enumerate() {
        let again = client.issue(&request(i, csr)).await.unwrap();
        if let Some((serial, pem)) = returned.get(&i) {
            assert!(again.replayed);
            assert_eq!((&again.serial, &again.certificate), (serial, pem));
        }
        assert!(
            serials.insert(again.serial),
            "a serial was handed out twice"
        );
    }

    // The database holds one certificate per request id, no more, and no
    // serial twice.
    let mut all = Vec::new();
    for page in 0.. {
        let list = client.list(None, 1000, page * 1000).await.unwrap();
        let n = list.certificates.len();
        all.extend(list.certificates);
        if n < 1000 {
            break;
        }
    }
    // (The issuing CA also signed certificates at `init` and its delegated
    // OCSP signer: only this test's subjects count.)
    let ours: Vec<_> = all
        .iter()
        .filter(|c| c.issuer == "issuing" && c.subject.contains("crash.example.test"))
        .collect();
    assert_eq!(ours.len(), REQUESTS);
    let unique: HashSet<_> = all.iter().map(|c| (&c.issuer, &c.serial)).collect();
    assert_eq!(unique.len(), all.len());
    assert!(all.iter().all(|c| c.status == "good"));
}

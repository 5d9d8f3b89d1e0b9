//! The REST API against a real CA: token and client-certificate clients,
//! enroll / get / search / revoke, Idempotency-Key (a retry never issues
//! twice), replay refusal (timestamp + nonce), body size and rate limits,
//! search by subject and SAN, and the OpenAPI document: every operation
//! it lists is exercised here.

use std::collections::BTreeSet;

use http::Method;
use serde_json::{Value, json};
use signet_ra::RaProfileConfig;
use signet_store::Backend;

use crate::browser::{Browser, Page};
use crate::ca::TestCa;
use crate::kit::Ra;

/// One API call with its freshness headers.
struct Call<'a> {
    method: Method,
    path: &'a str,
    body: Option<Value>,
    token: Option<&'a str>,
    idempotency_key: Option<&'a str>,
    nonce: Option<String>,
    timestamp: Option<i64>,
}

impl<'a> Call<'a> {
    fn new(method: Method, path: &'a str, ra: &Ra) -> Self {
        Call {
            method,
            path,
            body: None,
            token: None,
            idempotency_key: None,
            nonce: Some(format!("{:032x}", rand::random::<u128>())),
            timestamp: Some(ra.clock_now().unix()),
        }
    }

    async fn send(&self, b: &mut Browser) -> (Page, Value) {
        let auth = self.token.map(|t| format!("Bearer {t}"));
        let ts = self.timestamp.map(|t| t.to_string());
        let mut headers: Vec<(&str, &str)> = vec![("content-type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        if let Some(t) = &ts {
            headers.push(("x-signet-timestamp", t));
        }
        if let Some(n) = &self.nonce {
            headers.push(("x-signet-nonce", n));
        }
        if let Some(k) = self.idempotency_key {
            headers.push(("idempotency-key", k));
        }
        let body = self.body.as_ref().map(Value::to_string);
        let page = b
            .request(self.method.clone(), self.path, body, &headers)
            .await;
        let json = serde_json::from_str(&page.body).unwrap_or(Value::Null);
        (page, json)
    }
}

fn csr_pem(cn: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![cn.to_owned()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.serialize_request(&key).unwrap().pem().unwrap()
}

/// The administrator registers an API client; returns its token (or
/// nothing for a certificate client).
async fn register(
    ra: &Ra,
    admin: &mut Browser,
    name: &str,
    profiles: &str,
    rate: u32,
    certificate: &str,
) -> Option<String> {
    let unit = ra.root_unit().await.to_string();
    let rate = rate.to_string();
    let page = admin
        .submit(
            "/admin/api-clients",
            "/admin/api-clients",
            &[
                ("name", name),
                ("org_unit_id", &unit),
                ("profiles", profiles),
                ("ip_allowlist", "127.0.0.1"),
                ("rate_per_minute", &rate),
                ("certificate", certificate),
            ],
        )
        .await;
    assert_eq!(page.status, 201, "{}", page.body);
    page.element_text("api-token")
}

fn profiles(c: &mut signet_ra::RaConfig) {
    c.profiles = vec![
        RaProfileConfig {
            name: "server".into(),
            approvals: 1,
        },
        RaProfileConfig {
            name: "client".into(),
            approvals: 2,
        },
    ];
    c.api.max_body_bytes = 16 * 1024;
}

#[tokio::test]
async fn token_client_enrolls_once_per_key_reads_searches_and_revokes() {
    token_client(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_api_works_on_postgresql_too() {
    token_client(Backend::Postgres).await;
}

async fn token_client(backend: Backend) {
    let ca = TestCa::start().await;
    let ra = Ra::start_on(backend, Some(ca.link.clone()), profiles).await;
    let mut admin = ra.admin().await;
    let token = register(&ra, &mut admin.browser, "hr-system", "server", 1000, "")
        .await
        .unwrap();
    let mut b = ra.browser();
    let mut exercised = BTreeSet::new();

    // The document and its page need no credentials.
    let (page, doc) = Call::new(Method::GET, "/api/openapi.json", &ra)
        .send(&mut b)
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    exercised.insert(("get".to_owned(), "/api/openapi.json".to_owned()));
    let docs = b.get("/api/docs").await;
    assert_eq!(docs.status, 200);
    for op in ["enroll", "search", "get", "revoke", "openapi"] {
        assert!(docs.body.contains(&format!("id=\"{op}\"")), "{op}");
    }

    // Enroll with an Idempotency-Key.
    let body = json!({"profile": "server", "csr": csr_pem("api.example.test")});
    let mut enroll = Call::new(Method::POST, "/api/v1/certificates", &ra);
    enroll.body = Some(body.clone());
    enroll.token = Some(&token);
    enroll.idempotency_key = Some("hr-42");
    let (page, first) = enroll.send(&mut b).await;
    assert_eq!(page.status, 201, "{}", page.body);
    exercised.insert(("post".to_owned(), "/api/v1/certificates".to_owned()));
    let serial = first["serial"].as_str().unwrap().to_owned();
    assert_eq!(first["status"], "good");
    assert_eq!(first["chain"].as_array().unwrap().len(), 1);
    assert!(
        first["certificate"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );

    // The same call again (new nonce): the stored answer, nothing new.
    enroll.nonce = Some(format!("{:032x}", rand::random::<u128>()));
    let (page, again) = enroll.send(&mut b).await;
    assert_eq!(page.status, 201);
    assert_eq!(page.header("idempotency-replayed"), Some("true"));
    assert_eq!(again["serial"], first["serial"]);
    // The same key for another request: refused.
    enroll.nonce = Some(format!("{:032x}", rand::random::<u128>()));
    enroll.body = Some(json!({"profile": "server", "csr": csr_pem("other.example.test")}));
    let (page, err) = enroll.send(&mut b).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert_eq!(err["error"], "idempotency_key_reused");
    let listed = ca.client().list(None, 1000, 0).await.unwrap();
    let issued: Vec<_> = listed
        .certificates
        .iter()
        .filter(|c| c.subject.contains("api.example.test"))
        .collect();
    assert_eq!(issued.len(), 1, "a retried enrollment never issues twice");

    // Replay: the exact same call (same nonce) is refused.
    let mut replay = Call::new(Method::POST, "/api/v1/certificates", &ra);
    replay.body = Some(json!({"profile": "server", "csr": csr_pem("r.example.test")}));
    replay.token = Some(&token);
    let (page, _) = replay.send(&mut b).await;
    assert_eq!(page.status, 201, "{}", page.body);
    let (page, err) = replay.send(&mut b).await;
    assert_eq!(page.status, 409, "{}", page.body);
    assert_eq!(err["error"], "replayed");
    // Stale or missing timestamp, missing nonce.
    replay.nonce = Some(format!("{:032x}", rand::random::<u128>()));
    replay.timestamp = Some(ra.clock_now().unix() - 600);
    assert_eq!(replay.send(&mut b).await.0.status, 400);
    replay.timestamp = None;
    assert_eq!(replay.send(&mut b).await.0.status, 400);
    replay.timestamp = Some(ra.clock_now().unix());
    replay.nonce = None;
    assert_eq!(replay.send(&mut b).await.0.status, 400);

    // Credentials, profile, body.
    let mut anon = Call::new(Method::GET, "/api/v1/certificates", &ra);
    assert_eq!(anon.send(&mut b).await.0.status, 401);
    anon.token = Some("not-a-token");
    assert_eq!(anon.send(&mut b).await.0.status, 401);
    let mut wrong_profile = Call::new(Method::POST, "/api/v1/certificates", &ra);
    wrong_profile.token = Some(&token);
    wrong_profile.body = Some(json!({"profile": "client", "csr": csr_pem("c.example.test")}));
    assert_eq!(wrong_profile.send(&mut b).await.0.status, 403);
    let mut huge = Call::new(Method::POST, "/api/v1/certificates", &ra);
    huge.token = Some(&token);
    huge.body = Some(json!({"profile": "server", "csr": "A".repeat(32 * 1024)}));
    assert_eq!(huge.send(&mut b).await.0.status, 413);
    let mut garbage = Call::new(Method::POST, "/api/v1/certificates", &ra);
    garbage.token = Some(&token);
    garbage.body = Some(json!({"profile": "server"}));
    let (page, err) = garbage.send(&mut b).await;
    assert_eq!(
        (page.status.as_u16(), err["error"].as_str()),
        (400, Some("invalid_body"))
    );

    // Get and search.
    let path = format!("/api/v1/certificates/{serial}");
    let mut get = Call::new(Method::GET, &path, &ra);
    get.token = Some(&token);
    let (page, cert) = get.send(&mut b).await;
    assert_eq!(page.status, 200);
    assert_eq!(cert["serial"], first["serial"]);
    exercised.insert(("get".to_owned(), "/api/v1/certificates/{serial}".to_owned()));
    let mut missing = Call::new(Method::GET, "/api/v1/certificates/0123456789abcdef", &ra);
    missing.token = Some(&token);
    assert_eq!(missing.send(&mut b).await.0.status, 404);
    let mut search = Call::new(
        Method::GET,
        "/api/v1/certificates?status=good&subject=api.example&limit=10",
        &ra,
    );
    search.token = Some(&token);
    let (page, found) = search.send(&mut b).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let found = found["certificates"].as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["serial"], first["serial"]);
    assert_eq!(found[0]["sans"], json!(["DNS:api.example.test"]));
    exercised.insert(("get".to_owned(), "/api/v1/certificates".to_owned()));
    // By SAN: a fragment in any case, as OpenSSL prints the names.
    for (query, expected) in [
        ("san=DNS%3AAPI.example", 1),
        ("san=api.example&status=good", 1),
        ("san=api.example&status=revoked", 0),
        ("san=nothing.example", 0),
    ] {
        let path = format!("/api/v1/certificates?{query}");
        let mut by_san = Call::new(Method::GET, &path, &ra);
        by_san.token = Some(&token);
        let (page, body) = by_san.send(&mut b).await;
        assert_eq!(page.status, 200, "{query}: {}", page.body);
        let certs = body["certificates"].as_array().unwrap();
        assert_eq!(certs.len(), expected, "{query}");
        if expected == 1 {
            assert_eq!(certs[0]["serial"], first["serial"], "{query}");
        }
    }
    let mut bad = Call::new(Method::GET, "/api/v1/certificates?status=bogus", &ra);
    bad.token = Some(&token);
    assert_eq!(bad.send(&mut b).await.0.status, 400);

    // Suspend and resume.
    for (verb, status) in [("suspend", "suspended"), ("resume", "good")] {
        let path = format!("/api/v1/certificates/{serial}/{verb}");
        let mut call = Call::new(Method::POST, &path, &ra);
        call.token = Some(&token);
        let (page, cert) = call.send(&mut b).await;
        assert_eq!(page.status, 200, "{verb}: {}", page.body);
        assert_eq!(cert["status"], status);
        exercised.insert((
            "post".to_owned(),
            format!("/api/v1/certificates/{{serial}}/{verb}"),
        ));
    }
    let resume_path = format!("/api/v1/certificates/{serial}/resume");
    let mut again = Call::new(Method::POST, &resume_path, &ra);
    again.token = Some(&token);
    let (page, err) = again.send(&mut b).await;
    assert_eq!(
        page.status, 422,
        "resuming a valid certificate: {}",
        page.body
    );
    assert_eq!(err["error"], "ca_refused");

    // Revoke, and revoke again.
    let revoke_path = format!("/api/v1/certificates/{serial}/revoke");
    let mut revoke = Call::new(Method::POST, &revoke_path, &ra);
    revoke.token = Some(&token);
    revoke.body = Some(json!({"reason": "keyCompromise"}));
    let (page, revoked) = revoke.send(&mut b).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(revoked["revocation_reason"], "keyCompromise");
    exercised.insert((
        "post".to_owned(),
        "/api/v1/certificates/{serial}/revoke".to_owned(),
    ));
    assert_eq!(ca.client().get(&serial).await.unwrap().status, "revoked");
    revoke.nonce = Some(format!("{:032x}", rand::random::<u128>()));
    let (page, err) = revoke.send(&mut b).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert_eq!(err["error"], "ca_refused");

    exercised.extend(crate::api_batches::exercise(&ra, &mut b, &token).await);
    // Every operation of the document was exercised above.
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    assert_eq!(documented, exercised);

    // The console shows the API's request; the trail holds it and verifies.
    let events = ra
        .running()
        .authority
        .store()
        .audit_events(&Default::default(), 1000, 0)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.entry.actor_kind == "api"
        && e.entry.action == "certificate.revoke"
        && e.entry.actor == "hr-system"));
    assert!(events.iter().any(|e| e.entry.action == "api.replay_check"));
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
async fn certificate_clients_authenticate_and_rate_limits_hold() {
    let ra = Ra::start_with(None, profiles).await;
    let p = crate::pki::pki();
    let mut admin = ra.admin().await;
    assert!(
        register(
            &ra,
            &mut admin.browser,
            "cmdb",
            "server",
            3,
            &p.other_cert.cert_pem
        )
        .await
        .is_none()
    );
    let mut b = ra.browser_with(&p.other_cert);
    for _ in 0..3 {
        let (page, list) = Call::new(Method::GET, "/api/v1/certificates", &ra)
            .send(&mut b)
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(list["certificates"].as_array().unwrap().is_empty());
    }
    // The fourth call in the same minute is over the limit; the next
    // minute is fine again.
    let (page, err) = Call::new(Method::GET, "/api/v1/certificates", &ra)
        .send(&mut b)
        .await;
    assert_eq!(page.status, 429);
    assert_eq!(err["error"], "rate_limited");
    ra.advance(60);
    let (page, _) = Call::new(Method::GET, "/api/v1/certificates", &ra)
        .send(&mut b)
        .await;
    assert_eq!(page.status, 200);

    // A certificate that chains but is not registered is refused.
    let mut other = ra.browser_with(&p.officer_cert);
    let (page, _) = Call::new(Method::GET, "/api/v1/certificates", &ra)
        .send(&mut other)
        .await;
    assert_eq!(page.status, 401);
    // Without a CA, an enrollment is kept for a retry and says so.
    let mut enroll = Call::new(Method::POST, "/api/v1/certificates", &ra);
    enroll.body = Some(json!({"profile": "server", "csr": csr_pem("x.example.test")}));
    ra.advance(60);
    let (page, err) = enroll.send(&mut b).await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert_eq!(err["error"], "ca_unavailable");
    ra.stop().await;
}

/// What `signet enroll|revoke` rely on when they go through the API:
/// refusals in the CA's own words (a bad CSR, a profile violation, an
/// unknown profile), `subject`/`sans` replacing the CSR's, and a
/// revocation's `invalidity_date` and `crl_now` passed on to the CA.
#[tokio::test]
async fn refusals_speak_the_cas_words_and_revocation_options_reach_the_ca() {
    let ca = TestCa::start().await;
    let ra = Ra::start_with(Some(ca.link.clone()), profiles).await;
    let mut admin = ra.admin().await;
    let token = register(&ra, &mut admin.browser, "cmdb", "server", 1000, "")
        .await
        .unwrap();
    let mut b = ra.browser();
    let enroll = |body: Value| {
        let mut c = Call::new(Method::POST, "/api/v1/certificates", &ra);
        c.body = Some(body);
        c.token = Some(&token);
        c
    };
    let ca_message = |csr: String| {
        let client = ca.client();
        async move {
            let req = signet_api::ca::IssueRequest {
                request_id: format!("probe-{:032x}", rand::random::<u128>()),
                profile: "server".into(),
                csr,
                issuer: None,
                subject: None,
                sans: None,
                validity_days: None,
            };
            client.issue(&req).await.unwrap_err().to_string()
        }
    };

    // A profile the RA does not offer, and one not registered for the client.
    let (page, err) = enroll(json!({"profile": "nope", "csr": csr_pem("a.example.test")}))
        .send(&mut b)
        .await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert_eq!(err["error"], "invalid_profile");
    assert_eq!(err["message"], "unknown profile `nope`");
    let (page, err) = enroll(json!({"profile": "client", "csr": csr_pem("a.example.test")}))
        .send(&mut b)
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert_eq!(err["error"], "forbidden");

    // A CSR whose signature does not verify: the CA's explanation.
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["sig.example.test".to_owned()]).unwrap();
    let mut der = params.serialize_request(&key).unwrap().der().to_vec();
    let last = der.len() - 1;
    der[last] ^= 0x01; // the signature's last octet
    let bad = signet_core::pem::encode("CERTIFICATE REQUEST", &der);
    let (page, err) = enroll(json!({"profile": "server", "csr": bad.clone()}))
        .send(&mut b)
        .await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert_eq!(err["error"], "invalid_csr");
    assert_eq!(err["message"].as_str().unwrap(), ca_message(bad).await);

    // A profile violation the CA finds: its message, word for word.
    let (page, err) = enroll(json!({
        "profile": "server",
        "csr": csr_pem("v.example.test"),
        "sans": ["DNS:v.example.test", "email:x@example.test"],
    }))
    .send(&mut b)
    .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert_eq!(err["error"], "ca_refused");
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("email"), "{message}");
    assert!(!message.starts_with("the CA refused"), "{message}");

    // Vetted subject and SANs replace the CSR's.
    let (page, issued) = enroll(json!({
        "profile": "server",
        "csr": csr_pem("csr.example.test"),
        "subject": "CN=vetted.example.test",
        "sans": ["DNS:vetted.example.test"],
    }))
    .send(&mut b)
    .await;
    assert_eq!(page.status, 201, "{}", page.body);
    assert_eq!(issued["subject"], "CN=vetted.example.test");
    let serial = issued["serial"].as_str().unwrap().to_owned();
    let at_ca = ca.client().get(&serial).await.unwrap();
    assert_eq!(at_ca.sans, vec!["DNS:vetted.example.test".to_owned()]);

    // Revocation with an invalidity date and an immediate CRL.
    let path = format!("/api/v1/certificates/{serial}/revoke");
    let mut revoke = Call::new(Method::POST, &path, &ra);
    revoke.token = Some(&token);
    revoke.body = Some(json!({
        "reason": "keyCompromise",
        "invalidity_date": "2026-01-01T00:00:00Z",
        "crl_now": true,
    }));
    let (page, revoked) = revoke.send(&mut b).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(ca.client().get(&serial).await.unwrap().status, "revoked");
    let events = ra
        .running()
        .authority
        .store()
        .audit_events(&Default::default(), 1000, 0)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.entry.action == "certificate.revoke"
        && e.entry.actor == "cmdb"
        && e.entry.details.contains("\"crl_now\":true")));
    // An unknown serial is 404 before the reason is looked at.
    let mut unknown = Call::new(Method::POST, "/api/v1/certificates/0badc0de/revoke", &ra);
    unknown.token = Some(&token);
    unknown.body = Some(json!({"reason": "cACompromise"}));
    let (page, _) = unknown.send(&mut b).await;
    assert_eq!(page.status, 404, "{}", page.body);
    ra.stop().await;
    ca.stop().await;
}

/// Allowlists take single addresses and CIDR blocks: a client whose
/// blocks do not hold the caller's address is refused (401, audited as
/// `address_not_allowed`), one whose block holds it is served, and an
/// entry with host bits below its prefix is refused at registration.
#[tokio::test]
async fn allowlists_take_cidr_blocks() {
    let ra = Ra::start_with(None, profiles).await;
    let mut admin = ra.admin().await;
    let unit = ra.root_unit().await.to_string();
    let mut token_for = async |name: &str, allowlist: &str| {
        let page = admin
            .browser
            .submit(
                "/admin/api-clients",
                "/admin/api-clients",
                &[
                    ("name", name),
                    ("org_unit_id", &unit),
                    ("profiles", "server"),
                    ("ip_allowlist", allowlist),
                    ("rate_per_minute", "100"),
                    ("certificate", ""),
                ],
            )
            .await;
        (page.status, page.element_text("api-token"))
    };
    let (status, outside) = token_for("net-outside", "10.0.0.0/8 2001:db8::/32").await;
    assert_eq!(status, 201);
    let (status, inside) = token_for("net-inside", "192.0.2.0/24, 127.0.0.0/8").await;
    assert_eq!(status, 201);
    let (status, none) = token_for("net-typo", "127.0.0.1/8").await;
    assert_eq!(status, 400);
    assert!(none.is_none());

    let mut b = ra.browser();
    let mut call = Call::new(Method::GET, "/api/v1/certificates", &ra);
    call.token = outside.as_deref();
    let (page, _) = call.send(&mut b).await;
    assert_eq!(page.status, 401, "{}", page.body);
    call.token = inside.as_deref();
    let (page, _) = call.send(&mut b).await;
    assert_eq!(page.status, 200, "{}", page.body);

    let events = ra
        .running()
        .authority
        .store()
        .audit_events(&Default::default(), 1000, 0)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.entry.action == "api.authenticate"
        && e.entry.actor == "net-outside"
        && e.entry.details.contains("address_not_allowed")));
    ra.stop().await;
}

//! Batches through the REST API against a real CA: a 10-row batch is
//! filed without officer approval, polled to done, and every certificate
//! of its result ZIP verified by OpenSSL; a batch with bad rows names each
//! row and files nothing (the CA issued nothing); "issue_valid_rows" files
//! the rest; replayed calls, unregistered profiles, oversized bodies, too
//! many rows and other clients' batches are refused; the trail holds the
//! batch events with actor kind `api`.

use std::time::Duration;

use http::Method;
use serde_json::{Value, json};
use signet_ra::RaProfileConfig;

use crate::batches::verified_certificates;
use crate::browser::{Browser, Page};
use crate::ca::TestCa;
use crate::kit::Ra;

fn csr(cn: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![cn.to_owned()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.serialize_request(&key).unwrap().pem().unwrap()
}

fn row(cn: &str) -> Value {
    json!({"profile": "server", "csr": csr(cn)})
}

fn nonce() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// One API call as client `token`: fresh timestamp, the given nonce and
/// idempotency key.
async fn call(
    ra: &Ra,
    b: &mut Browser,
    method: Method,
    path: &str,
    token: &str,
    body: Option<String>,
    (nonce, idempotency_key): (&str, Option<&str>),
) -> (Page, Value) {
    let auth = format!("Bearer {token}");
    let ts = ra.clock_now().unix().to_string();
    let mut headers = vec![
        ("content-type", "application/json"),
        ("authorization", auth.as_str()),
        ("x-signet-timestamp", ts.as_str()),
        ("x-signet-nonce", nonce),
    ];
    if let Some(k) = idempotency_key {
        headers.push(("idempotency-key", k));
    }
    let page = b.request(method, path, body, &headers).await;
    let json = serde_json::from_str(&page.body).unwrap_or(Value::Null);
    (page, json)
}

async fn submit(ra: &Ra, b: &mut Browser, token: &str, body: &Value) -> (Page, Value) {
    call(
        ra,
        b,
        Method::POST,
        "/api/v1/batches",
        token,
        Some(body.to_string()),
        (&nonce(), None),
    )
    .await
}

/// Polls the batch at `location` until it is done; returns its last state.
async fn until_done(ra: &Ra, b: &mut Browser, token: &str, location: &str) -> Value {
    for _ in 0..600 {
        let (page, batch) = call(ra, b, Method::GET, location, token, None, (&nonce(), None)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        if batch["status"] == "done" {
            return batch;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the batch at {location} never finished");
}

/// The administrator registers token client `name` in unit `unit`.
async fn register(admin: &mut Browser, name: &str, unit: i64) -> String {
    let unit = unit.to_string();
    let page = admin
        .submit(
            "/admin/api-clients",
            "/admin/api-clients",
            &[
                ("name", name),
                ("org_unit_id", &unit),
                ("profiles", "server"),
                ("ip_allowlist", "127.0.0.1"),
                ("rate_per_minute", "1000"),
                ("certificate", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 201, "{}", page.body);
    page.element_text("api-token").unwrap()
}

fn config(c: &mut signet_ra::RaConfig) {
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
    // A 10-row batch (about 6 KB) is over the API's body limit: only the
    // batch route's own limit lets it in.
    c.api.max_body_bytes = 4096;
    c.api.max_batch_body_bytes = 64 * 1024;
    c.batch.max_rows = 20;
}

/// Certificates at the CA whose subject holds `needle`.
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

#[tokio::test]
async fn an_api_batch_starts_at_once_and_its_result_verifies() {
    let ca = TestCa::start().await;
    let ra = Ra::start_with(Some(ca.link.clone()), config).await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let token = register(&mut admin.browser, "hr-system", root).await;
    let other_unit = ra.create_unit(&mut admin.browser, root, "Branch").await;
    let other = register(&mut admin.browser, "branch-cmdb", other_unit).await;
    let mut b = ra.browser();

    let rows: Vec<Value> = (1..=10).map(|i| row(&format!("b{i}.api.test"))).collect();
    let body = json!({"rows": rows});
    assert!(body.to_string().len() > 4096);
    let first_nonce = nonce();
    let (page, batch) = call(
        &ra,
        &mut b,
        Method::POST,
        "/api/v1/batches",
        &token,
        Some(body.to_string()),
        (&first_nonce, Some("hr-batch-1")),
    )
    .await;
    assert_eq!(page.status, 202, "{}", page.body);
    let id = batch["id"].as_str().unwrap().to_owned();
    let location = format!("/api/v1/batches/{id}");
    assert_eq!(page.header("location"), Some(location.as_str()));
    assert_eq!(batch["total"], 10);
    assert!(["running", "done"].contains(&batch["status"].as_str().unwrap()));

    // The same call again (same nonce): a replay, refused, nothing filed.
    let (page, err) = call(
        &ra,
        &mut b,
        Method::POST,
        "/api/v1/batches",
        &token,
        Some(body.to_string()),
        (&first_nonce, Some("hr-batch-1")),
    )
    .await;
    assert_eq!(page.status, 409, "{}", page.body);
    assert_eq!(err["error"], "replayed");
    // A retry with the same Idempotency-Key: the first answer, no new batch.
    let (page, again) = call(
        &ra,
        &mut b,
        Method::POST,
        "/api/v1/batches",
        &token,
        Some(body.to_string()),
        (&nonce(), Some("hr-batch-1")),
    )
    .await;
    assert_eq!(page.status, 202, "{}", page.body);
    assert_eq!(page.header("idempotency-replayed"), Some("true"));
    assert_eq!(page.header("location"), Some(location.as_str()));
    assert_eq!(again["id"], batch["id"]);

    // Another client's batch is not there for the other unit's client.
    for path in [location.clone(), format!("{location}/result.zip")] {
        let (page, err) = call(
            &ra,
            &mut b,
            Method::GET,
            &path,
            &other,
            None,
            (&nonce(), None),
        )
        .await;
        assert_eq!(page.status, 404, "{path}: {}", page.body);
        assert_eq!(err["error"], "not_found");
    }

    let done = until_done(&ra, &mut b, &token, &location).await;
    assert_eq!(
        (done["issued"].as_i64(), done["failed"].as_i64()),
        (Some(10), Some(0))
    );
    assert_eq!(done["result"], format!("{location}/result.zip"));
    let (page, _) = call(
        &ra,
        &mut b,
        Method::GET,
        &format!("{location}/result.zip"),
        &token,
        None,
        (&nonce(), None),
    )
    .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some("application/zip"));
    let (dir, certs) = verified_certificates(&page.bytes, &ca.root_pem);
    assert_eq!(certs.len(), 10);
    let report = std::fs::read_to_string(dir.path().join("x/report.csv")).unwrap();
    assert_eq!(
        report.lines().filter(|l| l.contains(",issued,")).count(),
        10
    );
    assert_eq!(
        at_ca(&ca, ".api.test").await,
        10,
        "exactly one certificate per row"
    );

    // The trail: filed, issued and done, downloaded, by the client; intact.
    let events = ra
        .running()
        .authority
        .store()
        .audit_events(&Default::default(), 1000, 0)
        .await
        .unwrap();
    let by_client = |action: &str| {
        events.iter().any(|e| {
            e.entry.action == action
                && e.entry.actor_kind == "api"
                && e.entry.actor == "hr-system"
                && e.entry.outcome == "success"
        })
    };
    assert!(by_client("batch.file"));
    assert!(by_client("batch.download"));
    assert!(events.iter().any(|e| e.entry.action == "batch.done"));
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
async fn bad_rows_are_named_and_nothing_is_filed_unless_valid_rows_are_asked_for() {
    let ca = TestCa::start().await;
    let ra = Ra::start_with(Some(ca.link.clone()), config).await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let token = register(&mut admin.browser, "hr-system", root).await;
    let mut b = ra.browser();

    let rows = vec![
        row("ok1.bad.test"),
        json!({"profile": "server", "csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"}),
        row("ok2.bad.test"),
        json!({"profile": "client", "csr": csr("c.bad.test")}),
        json!({"profile": "nope", "csr": csr("n.bad.test")}),
        json!({"profile": "server", "csr": csr("s.bad.test"), "subject": "not a name"}),
    ];
    let (page, err) = submit(&ra, &mut b, &token, &json!({ "rows": rows })).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert_eq!(err["error"], "invalid_rows");
    assert_eq!(err["total"], 6);
    let named: Vec<(i64, i64, &str)> = err["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["index"].as_i64().unwrap(),
                r["line"].as_i64().unwrap(),
                r["error"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        named,
        vec![
            (1, 2, "invalid_csr"),
            (3, 4, "profile_not_registered"),
            (4, 5, "invalid_profile"),
            (5, 6, "invalid_subject"),
        ]
    );
    assert!(
        err["rows"][1]["message"]
            .as_str()
            .unwrap()
            .contains("not registered")
    );
    let stored = ra
        .running()
        .authority
        .store()
        .batches(&signet_store::ra::ScopePrefix::all(), 10)
        .await
        .unwrap();
    assert!(stored.is_empty(), "nothing filed");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(at_ca(&ca, ".bad.test").await, 0, "the CA issued nothing");

    // Issue the valid rows: the two good ones are filed, the rest listed.
    let (page, batch) = submit(
        &ra,
        &mut b,
        &token,
        &json!({ "rows": rows, "issue_valid_rows": true }),
    )
    .await;
    assert_eq!(page.status, 202, "{}", page.body);
    assert_eq!(batch["total"], 2);
    assert_eq!(batch["skipped_rows"].as_array().unwrap().len(), 4);
    let location = page.header("location").unwrap().to_owned();
    let done = until_done(&ra, &mut b, &token, &location).await;
    assert_eq!(done["issued"], 2);
    assert_eq!(at_ca(&ca, ".bad.test").await, 2);

    // Limits: no rows, too many rows, a body over api.max_batch_body_bytes,
    // a body that is not the JSON the call expects.
    let (page, err) = submit(&ra, &mut b, &token, &json!({ "rows": [] })).await;
    assert_eq!(
        (page.status.as_u16(), err["error"].as_str()),
        (400, Some("batch_empty"))
    );
    let many: Vec<Value> = (0..21).map(|i| row(&format!("m{i}.many.test"))).collect();
    let (page, err) = submit(&ra, &mut b, &token, &json!({ "rows": many })).await;
    assert_eq!(
        (page.status.as_u16(), err["error"].as_str()),
        (400, Some("batch_too_many_rows"))
    );
    let huge = json!({"rows": [{"profile": "server", "csr": "A".repeat(70 * 1024)}]});
    let (page, _) = submit(&ra, &mut b, &token, &huge).await;
    assert_eq!(page.status, 413);
    let (page, err) = submit(
        &ra,
        &mut b,
        &token,
        &json!({"rows": [{"profile": "server"}]}),
    )
    .await;
    assert_eq!(
        (page.status.as_u16(), err["error"].as_str()),
        (400, Some("invalid_body"))
    );
    // The refusals were audited as the client's.
    let events = ra
        .running()
        .authority
        .store()
        .audit_events(&Default::default(), 1000, 0)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.entry.action == "batch.file"
        && e.entry.actor_kind == "api"
        && e.entry.outcome == "denied"));
    assert_eq!(at_ca(&ca, ".many.test").await, 0);
    ra.stop().await;
    ca.stop().await;
}

#[tokio::test]
async fn a_running_batch_has_no_result_yet() {
    // No CA: the job cannot issue, the batch stays running.
    let ra = Ra::start_with(None, config).await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let token = register(&mut admin.browser, "hr-system", root).await;
    let mut b = ra.browser();
    let (page, batch) = submit(&ra, &mut b, &token, &json!({"rows": [row("r.run.test")]})).await;
    assert_eq!(page.status, 202, "{}", page.body);
    assert_eq!(batch["status"], "running");
    assert!(batch.get("result").is_none());
    let result = format!(
        "/api/v1/batches/{}/result.zip",
        batch["id"].as_str().unwrap()
    );
    let (page, err) = call(
        &ra,
        &mut b,
        Method::GET,
        &result,
        &token,
        None,
        (&nonce(), None),
    )
    .await;
    assert_eq!(page.status, 409, "{}", page.body);
    assert_eq!(err["error"], "batch_not_done");
    ra.stop().await;
}

/// For `api::token_client`'s check that every documented operation is
/// exercised: submits a 2-row batch as `token`, polls it to done and
/// fetches its result; returns the (method, path) pairs it called.
pub(crate) async fn exercise(ra: &Ra, b: &mut Browser, token: &str) -> Vec<(String, String)> {
    let rows: Vec<Value> = (1..=2)
        .map(|i| row(&format!("e{i}.exercise.test")))
        .collect();
    let (page, batch) = submit(ra, b, token, &json!({ "rows": rows })).await;
    assert_eq!(page.status, 202, "{}", page.body);
    let location = format!("/api/v1/batches/{}", batch["id"].as_str().unwrap());
    let done = until_done(ra, b, token, &location).await;
    assert_eq!(done["issued"], 2);
    let (page, _) = call(
        ra,
        b,
        Method::GET,
        &format!("{location}/result.zip"),
        token,
        None,
        (&nonce(), None),
    )
    .await;
    assert_eq!(page.status, 200);
    vec![
        ("post".to_owned(), "/api/v1/batches".to_owned()),
        ("get".to_owned(), "/api/v1/batches/{id}".to_owned()),
        (
            "get".to_owned(),
            "/api/v1/batches/{id}/result.zip".to_owned(),
        ),
    ]
}

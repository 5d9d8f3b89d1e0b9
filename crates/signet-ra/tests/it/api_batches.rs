//! Batches through the REST API against a real CA: a 10-row batch is
//! filed without officer approval, polled to done, and every certificate
//! of its result ZIP verified by OpenSSL; a batch with bad rows names each
//! row and files nothing (the CA issued nothing); "issue_valid_rows" files
//! the rest; replayed calls, unregistered profiles, oversized bodies, too
//! many rows and other clients' batches are refused; the trail holds the
//! batch events with actor kind `api`. An Idempotency-Key whose first
//! answer was lost (or a concurrent retry) finds the batch filed first:
//! one batch, each row issued once, on SQLite and PostgreSQL. Dual
//! profiles are refused row by row; a client sees its own batches only,
//! not an officer's or another client's of the same unit.

use std::time::Duration;

use http::Method;
use serde_json::{Value, json};
use signet_ra::{KmcLinkConfig, RaProfileConfig};
use signet_store::Backend;

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

/// Forgets every stored idempotent answer, as if the RA had stopped
/// between a filing's commit and storing its answer.
async fn forget_answers(ra: &Ra) {
    let url = &ra.config.database.url;
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query("DELETE FROM api_idempotency")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query("DELETE FROM ra.api_idempotency")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
}

#[tokio::test]
async fn an_idempotency_key_files_one_batch_even_when_its_answer_was_lost() {
    idempotent_batch(Backend::Sqlite).await;
}

#[tokio::test]
async fn an_idempotency_key_files_one_batch_on_postgresql_too() {
    idempotent_batch(Backend::Postgres).await;
}

async fn idempotent_batch(backend: Backend) {
    let ca = TestCa::start().await;
    let ra = Ra::start_on(backend, Some(ca.link.clone()), config).await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let token = register(&mut admin.browser, "hr-system", root).await;
    let (mut b, mut c) = (ra.browser(), ra.browser());
    let rows: Vec<Value> = (1..=4).map(|i| row(&format!("i{i}.idem.test"))).collect();
    let body = json!({ "rows": rows }).to_string();
    // Two submissions at once with one key (and two nonces): one batch.
    let (body1, nonce1, nonce2) = (body.clone(), nonce(), nonce());
    let (first, second) = tokio::join!(
        call(
            &ra,
            &mut b,
            Method::POST,
            "/api/v1/batches",
            &token,
            Some(body1),
            (&nonce1, Some("hr-idem-1")),
        ),
        call(
            &ra,
            &mut c,
            Method::POST,
            "/api/v1/batches",
            &token,
            Some(body.clone()),
            (&nonce2, Some("hr-idem-1")),
        ),
    );
    assert_eq!(first.0.status, 202, "{}", first.0.body);
    assert_eq!(second.0.status, 202, "{}", second.0.body);
    assert_eq!(first.1["id"], second.1["id"]);
    // The answer is lost (the RA stopped before storing it): the retry,
    // with a new nonce, answers the same batch and files nothing.
    forget_answers(&ra).await;
    let (page, again) = call(
        &ra,
        &mut b,
        Method::POST,
        "/api/v1/batches",
        &token,
        Some(body.clone()),
        (&nonce(), Some("hr-idem-1")),
    )
    .await;
    assert_eq!(page.status, 202, "{}", page.body);
    assert_eq!(page.header("idempotency-replayed"), None);
    assert_eq!(again["id"], first.1["id"]);
    let location = format!("/api/v1/batches/{}", first.1["id"].as_str().unwrap());
    assert_eq!(page.header("location"), Some(location.as_str()));
    let stored = ra
        .running()
        .authority
        .store()
        .batches(&signet_store::ra::ScopePrefix::all(), 10)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1, "one batch for one key");
    let done = until_done(&ra, &mut b, &token, &location).await;
    assert_eq!(
        (done["issued"].as_i64(), done["total"].as_i64()),
        (Some(4), Some(4))
    );
    assert_eq!(at_ca(&ca, ".idem.test").await, 4, "each row issued once");
    // Another key files another batch.
    let (page, other) = call(
        &ra,
        &mut b,
        Method::POST,
        "/api/v1/batches",
        &token,
        Some(body),
        (&nonce(), Some("hr-idem-2")),
    )
    .await;
    assert_eq!(page.status, 202, "{}", page.body);
    assert_ne!(other["id"], first.1["id"]);
    ra.stop().await;
    ca.stop().await;
}

#[tokio::test]
async fn a_dual_profile_row_is_refused_at_filing() {
    let ca = TestCa::start().await;
    let link = ca.link.clone();
    let ra = Ra::start_with(Some(ca.link.clone()), move |c| {
        config(c);
        // The KMC link is only configured: no row reaches it.
        c.kmc = Some(KmcLinkConfig {
            url: link.url.clone(),
            certificate: link.certificate.clone(),
            key: link.key.clone(),
            roots: link.roots.clone(),
            dual_profiles: vec!["server".into()],
        });
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let token = register(&mut admin.browser, "hr-system", root).await;
    let mut b = ra.browser();
    let (page, err) = submit(&ra, &mut b, &token, &json!({"rows": [row("d.dual.test")]})).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert_eq!(err["rows"][0]["error"], "dual_not_available");
    assert!(
        err["rows"][0]["message"]
            .as_str()
            .unwrap()
            .contains("dual certificates")
    );
    let stored = ra
        .running()
        .authority
        .store()
        .batches(&signet_store::ra::ScopePrefix::all(), 10)
        .await
        .unwrap();
    assert!(stored.is_empty(), "nothing filed");
    assert_eq!(at_ca(&ca, ".dual.test").await, 0);
    ra.stop().await;
    ca.stop().await;
}

#[tokio::test]
async fn a_client_sees_its_own_batches_only() {
    // No CA: the batches stay as filed.
    let ra = Ra::start_with(None, config).await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let token = register(&mut admin.browser, "hr-system", root).await;
    let neighbour = register(&mut admin.browser, "cmdb", root).await;
    let mut officer = ra.officer(&mut admin.browser, "li", "officer", root).await;
    let mut b = ra.browser();
    let (page, batch) = submit(&ra, &mut b, &token, &json!({"rows": [row("o.own.test")]})).await;
    assert_eq!(page.status, 202, "{}", page.body);
    let mine = batch["id"].as_str().unwrap().to_owned();
    // An officer's batch in the same unit.
    let page = officer
        .browser
        .submit(
            "/batches",
            "/batches",
            &[
                ("org_unit_id", &root.to_string()),
                ("file", &row("p.own.test").to_string()),
            ],
        )
        .await;
    assert!(
        page.status.is_redirection() || page.status == 200,
        "{}",
        page.body
    );
    let stored = ra
        .running()
        .authority
        .store()
        .batches(&signet_store::ra::ScopePrefix::all(), 10)
        .await
        .unwrap();
    let officers = stored
        .iter()
        .find(|s| s.filed_by.is_some())
        .unwrap()
        .uid
        .clone();

    for (who, uid) in [
        (&neighbour, mine.as_str()),
        (&token, officers.as_str()),
        (&neighbour, officers.as_str()),
    ] {
        for path in [
            format!("/api/v1/batches/{uid}"),
            format!("/api/v1/batches/{uid}/result.zip"),
        ] {
            let (page, err) =
                call(&ra, &mut b, Method::GET, &path, who, None, (&nonce(), None)).await;
            assert_eq!(page.status, 404, "{path}: {}", page.body);
            assert_eq!(err["error"], "not_found");
        }
    }
    let (page, own) = call(
        &ra,
        &mut b,
        Method::GET,
        &format!("/api/v1/batches/{mine}"),
        &token,
        None,
        (&nonce(), None),
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(own["id"], mine.as_str());
    ra.stop().await;
}

/// Runs `statement` on the RA's SQLite database from outside the RA.
async fn on_sqlite(ra: &Ra, statement: &'static str) {
    let pool = sqlx::SqlitePool::connect(&ra.config.database.url)
        .await
        .unwrap();
    sqlx::query(statement).execute(&pool).await.unwrap();
    pool.close().await;
}

#[tokio::test]
async fn a_job_whose_recording_fails_stops_and_the_sweep_finishes_the_batch() {
    let ca = TestCa::start().await;
    let ra = Ra::start_with(Some(ca.link.clone()), |c| {
        config(c);
        // 40 chunks: more than a window and the recorder's channel hold.
        c.batch.max_rows = 40;
        c.batch.chunk_size = 1;
        c.batch.job_sweep_interval = "1s".into();
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let token = register(&mut admin.browser, "hr-system", root).await;
    let mut b = ra.browser();
    // The database refuses to record any certificate (as a full disk or
    // a long lock would).
    on_sqlite(
        &ra,
        "CREATE TRIGGER test_recording_fails BEFORE UPDATE OF status ON cert_requests \
         WHEN NEW.status = 'issued' BEGIN SELECT RAISE(ABORT, 'recording fails'); END",
    )
    .await;
    let rows: Vec<Value> = (1..=40).map(|i| row(&format!("s{i}.sweep.test"))).collect();
    let (page, batch) = submit(&ra, &mut b, &token, &json!({ "rows": rows })).await;
    assert_eq!(page.status, 202, "{}", page.body);
    let location = page.header("location").unwrap().to_owned();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, now) = call(
        &ra,
        &mut b,
        Method::GET,
        &location,
        &token,
        None,
        (&nonce(), None),
    )
    .await;
    assert_eq!(
        (now["status"].as_str(), now["issued"].as_i64()),
        (Some("running"), Some(0)),
        "nothing recorded: {now}"
    );
    assert!(at_ca(&ca, ".sweep.test").await > 0, "the CA did issue");
    // The database recovers: a job started by the sweep (the failed one
    // ended, it did not hang) records every row, issued once.
    on_sqlite(&ra, "DROP TRIGGER test_recording_fails").await;
    let done = until_done(&ra, &mut b, &token, &location).await;
    assert_eq!(
        (done["issued"].as_i64(), done["failed"].as_i64()),
        (Some(40), Some(0)),
        "{batch}"
    );
    assert_eq!(at_ca(&ca, ".sweep.test").await, 40, "each row issued once");
    ra.stop().await;
    ca.stop().await;
}

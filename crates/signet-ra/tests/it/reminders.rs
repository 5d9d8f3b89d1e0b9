//! Expiry reminders against a real CA, an in-test SMTP sink (plain SMTP,
//! enough of RFC 5321 to accept mail) and an in-test webhook receiver
//! (axum) that checks the HMAC over timestamp and body: certificates 5
//! and 40 days from expiry get the 7-day and the 90-day reminder once
//! each, by mail (the subscriber's address in a message of its own) and
//! webhook (with an idempotency id); a webhook failure is retried once its
//! backoff has passed, not before; a webhook that takes the request and
//! never answers is `unknown` and not sent again; 11 days on the 40-day
//! certificate gets its 30-day one; a revoked certificate gets none; every
//! reminder is audited.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use hmac::{KeyInit as _, Mac as _};
use signet_core::Timestamp;
use signet_ra::{RaProfileConfig, RemindersConfig, SmtpConfig, WebhookConfig};
use signet_store::Backend;
use signet_store::ra::ScopePrefix;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

use crate::browser::Browser;
use crate::ca::TestCa;
use crate::kit::Ra;

const SECRET: &str = "hook-secret-4711";

/// One mail the sink accepted.
#[derive(Clone, Debug)]
struct Mail {
    from: String,
    to: Vec<String>,
    data: String,
}

/// A plain SMTP server that accepts everything and keeps it.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<Mail>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&mails);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let kept = Arc::clone(&kept);
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut mail = Mail {
                    from: String::new(),
                    to: Vec::new(),
                    data: String::new(),
                };
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") {
                        b"250-sink\r\n250 8BITMIME\r\n"
                    } else if let Some(from) = line.strip_prefix("MAIL FROM:") {
                        mail.from = from.to_owned();
                        b"250 ok\r\n"
                    } else if let Some(to) = line.strip_prefix("RCPT TO:") {
                        mail.to.push(to.trim_matches(['<', '>']).to_owned());
                        b"250 ok\r\n"
                    } else if upper == "DATA" {
                        write.write_all(b"354 go on\r\n").await.unwrap();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            mail.data.push_str(&l);
                            mail.data.push('\n');
                        }
                        kept.lock().unwrap().push(mail.clone());
                        b"250 queued\r\n"
                    } else if upper == "QUIT" {
                        write.write_all(b"221 bye\r\n").await.unwrap();
                        return;
                    } else {
                        b"502 not implemented\r\n"
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, mails)
}

/// One call the webhook receiver got: the body and whether its signature
/// was right.
#[derive(Clone, Debug)]
struct Hook {
    body: serde_json::Value,
    signed: bool,
}

#[derive(Clone)]
struct Receiver {
    calls: Arc<Mutex<Vec<Hook>>>,
    /// Calls still to be answered with 500.
    failures: Arc<Mutex<u32>>,
    /// Calls still to be taken and not answered for 3 s.
    hangs: Arc<Mutex<u32>>,
}

async fn receive(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    // The receiver's check: HMAC-SHA256 over "<timestamp>.<body>".
    let timestamp = headers
        .get("x-signet-timestamp")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let signed = !timestamp.is_empty()
        && headers
            .get("x-signet-signature")
            .and_then(|v| v.to_str().ok())
            == Some(expected.as_str());
    r.calls.lock().unwrap().push(Hook {
        body: serde_json::from_slice(&body).unwrap(),
        signed,
    });
    let hang = {
        let mut hangs = r.hangs.lock().unwrap();
        let hang = *hangs > 0;
        *hangs = hangs.saturating_sub(1);
        hang
    };
    if hang {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    }
    let mut failures = r.failures.lock().unwrap();
    if *failures > 0 {
        *failures -= 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    StatusCode::NO_CONTENT
}

async fn webhook_receiver(failures: u32) -> (u16, Receiver) {
    let receiver = Receiver {
        calls: Arc::new(Mutex::new(Vec::new())),
        failures: Arc::new(Mutex::new(failures)),
        hangs: Arc::new(Mutex::new(0)),
    };
    let app = axum::Router::new()
        .route("/hooks/expiry", axum::routing::post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, receiver)
}

fn csr(cn: &str, email: Option<&str>) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![cn.to_owned()]).unwrap();
    if let Some(e) = email {
        params
            .subject_alt_names
            .push(rcgen::SanType::Rfc822Name(e.try_into().unwrap()));
    }
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.serialize_request(&key).unwrap().pem().unwrap()
}

async fn issue(filer: &mut Browser, approver: &mut Browser, unit: i64, csr: &str) -> String {
    let unit = unit.to_string();
    let page = filer
        .submit(
            "/requests/new",
            "/requests/new",
            &[
                ("profile", "client"),
                ("org_unit_id", &unit),
                ("csr", csr),
                ("comment", "reminder test"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let uid = page
        .location()
        .unwrap()
        .trim_start_matches("/requests/")
        .to_owned();
    approver
        .submit(
            &format!("/requests/{uid}"),
            &format!("/requests/{uid}/approve"),
            &[],
        )
        .await
        .assert_redirect(&format!("/requests/{uid}"));
    uid
}

/// The CA gives every certificate of a profile the same validity on the
/// system clock, so two certificates issued a second apart expire
/// together: the test moves the RA's record of one notAfter 35 days later
/// (the reminders read the RA's record).
async fn shift_not_after(ra: &Ra, uid: &str, seconds: i64) {
    let url = &ra.config.database.url;
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query("UPDATE cert_requests SET not_after = not_after + $1 WHERE uid = $2")
            .bind(seconds)
            .bind(uid)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query("UPDATE ra.cert_requests SET not_after = not_after + $1 WHERE uid = $2")
            .bind(seconds)
            .bind(uid)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
}

#[tokio::test]
async fn reminders_fire_once_per_threshold_and_channel_and_failures_are_retried() {
    reminders_on(Backend::Sqlite).await;
}

#[tokio::test]
async fn reminders_work_on_postgresql_too() {
    reminders_on(Backend::Postgres).await;
}

async fn reminders_on(backend: Backend) {
    let (smtp_port, mails) = smtp_sink().await;
    let (hook_port, hooks) = webhook_receiver(1).await;
    let secret_dir = tempfile::tempdir().unwrap();
    let secret_file = secret_dir.path().join("webhook.secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let ca = TestCa::start().await;
    let ra = Ra::start_on(backend, Some(ca.link.clone()), |c| {
        c.profiles = vec![RaProfileConfig {
            name: "client".into(),
            approvals: 1,
        }];
        c.reminders = RemindersConfig {
            enabled: true,
            days: vec![90, 30, 7],
            // The test sweeps by hand; the background sweep waits an hour.
            interval: "1h".into(),
            max_attempts: 3,
            smtp: Some(SmtpConfig {
                host: "127.0.0.1".into(),
                port: smtp_port,
                from: "signet-ra@example.test".into(),
                starttls: false,
                roots: None,
                username: None,
                password_file: None,
                recipients: vec!["pki-team@example.test".into()],
                notify_subscriber: true,
                helo_name: "ra.example.test".into(),
                timeout: "10s".into(),
            }),
            webhook: Some(WebhookConfig {
                url: format!("http://127.0.0.1:{hook_port}/hooks/expiry"),
                secret_file: Some(secret_file.clone()),
                roots: None,
                timeout: "2s".into(),
            }),
        };
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let mut filer = ra
        .officer(&mut admin.browser, "filer", "officer", root)
        .await;
    let mut approver = ra
        .officer(&mut admin.browser, "approver", "officer", root)
        .await;
    let soon = issue(
        &mut filer.browser,
        &mut approver.browser,
        root,
        &csr("soon.example.test", Some("holder@example.test")),
    )
    .await;
    let later = issue(
        &mut filer.browser,
        &mut approver.browser,
        root,
        &csr("later.example.test", None),
    )
    .await;
    let revoked = issue(
        &mut filer.browser,
        &mut approver.browser,
        root,
        &csr("revoked.example.test", None),
    )
    .await;
    approver
        .browser
        .submit(
            &format!("/requests/{revoked}"),
            &format!("/requests/{revoked}/revoke"),
            &[("reason", "keyCompromise")],
        )
        .await
        .assert_redirect(&format!("/requests/{revoked}"));
    shift_not_after(&ra, &later, 35 * 86_400).await;

    let store = ra.running().authority.store().clone();
    let record = |uid: String| {
        let store = store.clone();
        async move {
            store
                .request(&uid, &ScopePrefix::all())
                .await
                .unwrap()
                .unwrap()
        }
    };
    let soon_rec = record(soon.clone()).await;
    let later_rec = record(later.clone()).await;
    let revoked_rec = record(revoked.clone()).await;
    let soon_serial = soon_rec.serial.clone().unwrap();
    let later_serial = later_rec.serial.clone().unwrap();
    let revoked_serial = revoked_rec.serial.clone().unwrap();
    // The RA's clock: 5 days before the first certificate expires (the
    // second then has 40 days left).
    let not_after = soon_rec.not_after.unwrap();
    ra.clock
        .set(Timestamp::from_unix(not_after.unix() - 5 * 86_400));
    let reminders = ra.running().reminders.clone().expect("reminders enabled");

    // First sweep: the 7-day reminder for one, the 90-day for the other,
    // by mail and webhook; the first webhook call fails.
    let first = reminders.sweep().await.unwrap();
    assert_eq!((first.sent, first.failed, first.unknown), (4, 1, 0));
    {
        let mails = mails.lock().unwrap();
        assert_eq!(mails.len(), 3, "{mails:?}");
        let soon_mails: Vec<&Mail> = mails
            .iter()
            .filter(|m| {
                m.data
                    .contains(&format!("Certificate {soon_serial} expires in 5 day(s)"))
            })
            .collect();
        assert_eq!(soon_mails.len(), 2, "the 7-day mails");
        let soon_mail = soon_mails
            .iter()
            .find(|m| m.to == ["pki-team@example.test"])
            .expect("the configured recipients' message");
        // The subscriber's own message: only their address, in RCPT and
        // in the header.
        let own = soon_mails
            .iter()
            .find(|m| m.to == ["holder@example.test"])
            .expect("the certificate's rfc822Name, in a message of its own");
        assert!(
            own.data.contains("To: holder@example.test\n"),
            "{}",
            own.data
        );
        assert!(!own.data.contains("pki-team"), "{}", own.data);
        assert!(!soon_mail.data.contains("holder@"), "{}", soon_mail.data);
        assert!(
            own.data.contains(&format!(
                "Message-ID: <{soon}.7.subscriber.email@signet-ra>"
            )),
            "{}",
            own.data
        );
        assert_eq!(soon_mail.from, "<signet-ra@example.test>");
        let body_b64: String = soon_mail
            .data
            .split("\n\n")
            .nth(1)
            .unwrap()
            .lines()
            .collect();
        let body = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(body_b64)
                .unwrap(),
        )
        .unwrap();
        assert!(body.contains("CN=soon.example.test"), "{body}");
        assert!(body.contains("Reminder:   7 days before expiry"), "{body}");
        let later_mail = mails
            .iter()
            .find(|m| {
                m.data
                    .contains(&format!("Certificate {later_serial} expires in 40 day(s)"))
            })
            .expect("the 90-day mail");
        assert_eq!(later_mail.to, ["pki-team@example.test"]);
        assert!(!mails.iter().any(|m| m.data.contains(&revoked_serial)));
    }
    {
        let calls = hooks.calls.lock().unwrap();
        assert_eq!(calls.len(), 2);
        assert!(
            calls.iter().all(|c| c.signed),
            "every call carries the right HMAC"
        );
        let by_serial = |s: &str| calls.iter().filter(|c| c.body["serial"] == s).count();
        assert_eq!(by_serial(&soon_serial), 1);
        assert_eq!(by_serial(&later_serial), 1);
        let later_call = calls
            .iter()
            .find(|c| c.body["serial"] == later_serial.as_str())
            .unwrap();
        assert_eq!(later_call.body["days_left"], 40);
        assert_eq!(later_call.body["id"], format!("{later}:90:webhook"));
        assert_eq!(later_call.body["threshold_days"], 90);
        assert_eq!(later_call.body["profile"], "client");
        assert_eq!(later_call.body["unit"], "Test Org");
        assert_eq!(later_call.body["subject"], "CN=later.example.test");
        assert!(
            later_call.body["not_after"]
                .as_str()
                .unwrap()
                .ends_with('Z')
        );
    }

    // Second sweep, at once: the failed call is not due again yet.
    let second = reminders.sweep().await.unwrap();
    assert_eq!((second.sent, second.failed), (0, 0));
    // An interval (1 h) later: only the failed webhook call again, with
    // the same id, and it succeeds.
    ra.advance(3600);
    let second = reminders.sweep().await.unwrap();
    assert_eq!((second.sent, second.failed), (1, 0));
    assert_eq!(mails.lock().unwrap().len(), 3, "no mail twice");
    {
        let calls = hooks.calls.lock().unwrap();
        assert_eq!(calls.len(), 3);
        assert_eq!(calls[2].body["serial"], soon_serial.as_str());
        assert_eq!(calls[2].body["days_left"], 4);
        assert_eq!(calls[2].body["threshold_days"], 7);
        assert_eq!(calls[2].body["id"], calls[0].body["id"]);
        assert_eq!(calls[2].body["id"], format!("{soon}:7:webhook"));
        assert!(calls[2].signed);
    }
    let states = store.reminders_of(soon_rec.id).await.unwrap();
    let summary: Vec<(i64, &str, &str, i64)> = states
        .iter()
        .map(|r| {
            (
                r.threshold_days,
                r.channel.as_str(),
                r.state.as_str(),
                r.attempts,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (7, "email", "sent", 1),
            (7, "subscriber_email", "sent", 1),
            (7, "webhook", "sent", 2)
        ]
    );

    // Third sweep: nothing left to send.
    let third = reminders.sweep().await.unwrap();
    assert_eq!((third.sent, third.failed), (0, 0));
    assert_eq!(hooks.calls.lock().unwrap().len(), 3);

    // Eleven days on: the first has expired (nothing), the second has 29
    // days left and gets its 30-day reminder, once. The webhook takes the
    // request and does not answer within the timeout: delivery unknown,
    // and it is not sent again, even much later.
    ra.advance(11 * 86_400 - 3600);
    *hooks.hangs.lock().unwrap() = 1;
    let fourth = reminders.sweep().await.unwrap();
    assert_eq!((fourth.sent, fourth.failed, fourth.unknown), (1, 0, 1));
    ra.advance(86_400);
    let fifth = reminders.sweep().await.unwrap();
    assert_eq!((fifth.sent, fifth.failed, fifth.unknown), (0, 0, 0));
    {
        let mails = mails.lock().unwrap();
        assert_eq!(mails.len(), 4);
        assert!(
            mails[3]
                .data
                .contains(&format!("Certificate {later_serial} expires in 29 day(s)"))
        );
        let calls = hooks.calls.lock().unwrap();
        assert_eq!(calls.len(), 4, "the unconfirmed call was not repeated");
        assert_eq!(calls[3].body["threshold_days"], 30);
    }
    let later_states = store.reminders_of(later_rec.id).await.unwrap();
    let webhook_30 = later_states
        .iter()
        .find(|r| r.threshold_days == 30 && r.channel == "webhook")
        .unwrap();
    assert_eq!(webhook_30.state, "unknown", "{webhook_30:?}");
    assert!(store.reminders_of(revoked_rec.id).await.unwrap().is_empty());

    // Every reminder is audited, the failure too, by the system.
    let events = store
        .audit_events(&Default::default(), 1000, 0)
        .await
        .unwrap();
    let sent: Vec<_> = events
        .iter()
        .filter(|e| e.entry.action == "reminder.send")
        .collect();
    assert_eq!(sent.len(), 8);
    assert!(sent.iter().all(|e| e.entry.actor_kind == "system"));
    let failed: Vec<_> = sent.iter().filter(|e| e.entry.outcome == "error").collect();
    assert_eq!(failed.len(), 2);
    assert!(
        failed.iter().any(|e| e.entry.details.contains("HTTP 500")),
        "{failed:?}"
    );
    assert!(
        failed
            .iter()
            .any(|e| e.entry.details.contains("\"delivery\":\"unknown\"")),
        "{failed:?}"
    );
    assert!(!events.iter().any(|e| e.entry.details.contains(SECRET)));
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

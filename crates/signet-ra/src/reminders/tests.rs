use super::*;

#[test]
fn each_threshold_covers_the_days_down_to_the_next_smaller_one() {
    let t = thresholds(&[90, 30, 7]).unwrap();
    assert_eq!(t, vec![90, 30, 7]);
    // 5 days left: (0, 7], the 7-day reminder only; 40 days: (30, 90].
    assert_eq!(bands(&t), vec![(90, 30), (30, 7), (7, 0)]);
    assert_eq!(bands(&[14]), vec![(14, 0)]);
}

#[test]
fn failed_reminders_back_off_to_a_week() {
    let hour = Duration::from_secs(3600);
    assert_eq!(retry_delay(hour, 1), hour);
    assert_eq!(retry_delay(hour, 2), 2 * hour);
    assert_eq!(retry_delay(hour, 4), 8 * hour);
    assert_eq!(retry_delay(hour, 20), MAX_INTERVAL);
    assert_eq!(retry_delay(hour, i64::MAX), MAX_INTERVAL);
}

#[test]
fn intervals_and_attempts_are_bounded() {
    assert!(sweep_interval("7d").is_ok());
    assert!(sweep_interval("8d").is_err());
    assert!(sweep_interval("0s").is_err());
    let mut c = RemindersConfig {
        max_attempts: 0,
        ..RemindersConfig::default()
    };
    assert!(validate(&c).is_err());
    c.max_attempts = 21;
    assert!(validate(&c).is_err());
    c.max_attempts = 20;
    assert!(validate(&c).is_ok());
}

#[test]
fn thresholds_are_checked() {
    assert!(thresholds(&[]).is_err());
    assert!(thresholds(&[30, 30]).is_err());
    assert!(thresholds(&[0]).is_err());
    assert!(thresholds(&[4000]).is_err());
    assert_eq!(thresholds(&[7, 90]).unwrap(), vec![90, 7]);
}

fn smtp() -> SmtpConfig {
    SmtpConfig {
        host: "mail.example.com".into(),
        port: 587,
        from: "pki@example.com".into(),
        starttls: true,
        roots: Some("roots.pem".into()),
        username: None,
        password_file: None,
        recipients: vec!["pki-team@example.com".into()],
        notify_subscriber: false,
        helo_name: "localhost".into(),
        timeout: "30s".into(),
    }
}

#[test]
fn configurations_that_would_leak_or_do_nothing_are_refused() {
    let on = |smtp: Option<SmtpConfig>, webhook: Option<WebhookConfig>| RemindersConfig {
        enabled: true,
        smtp,
        webhook,
        ..RemindersConfig::default()
    };
    assert!(
        validate(&RemindersConfig::default()).is_ok(),
        "off by default"
    );
    assert!(
        validate(&on(None, None)).is_err(),
        "enabled with no channel"
    );
    assert!(validate(&on(Some(smtp()), None)).is_ok());
    let mut s = smtp();
    s.starttls = false;
    s.roots = None;
    s.username = Some("ra".into());
    s.password_file = Some("pw".into());
    assert!(validate(&on(Some(s), None)).is_err(), "a password in clear");
    let mut s = smtp();
    s.starttls = true;
    s.roots = None;
    assert!(validate(&on(Some(s), None)).is_err(), "TLS without roots");
    let mut s = smtp();
    s.recipients = vec!["a@example.com>\r\nDATA".into()];
    assert!(validate(&on(Some(s), None)).is_err(), "injection");
    let mut s = smtp();
    s.recipients.clear();
    assert!(validate(&on(Some(s), None)).is_err(), "nobody to tell");
    let hook = |url: &str| WebhookConfig {
        url: url.into(),
        secret_file: None,
        roots: None,
        timeout: "10s".into(),
    };
    assert!(validate(&on(None, Some(hook("http://127.0.0.1:9/hook")))).is_ok());
    assert!(validate(&on(None, Some(hook("https://hooks.example.com/x")))).is_err());
    assert!(validate(&on(None, Some(hook("ftp://x/")))).is_err());
}

#[test]
fn the_signature_covers_the_timestamp_and_the_body() {
    // printf '%s' '1700000000.{"id":"x"}' | openssl dgst -sha256 -hmac Jefe
    assert_eq!(
        signature(b"Jefe", 1_700_000_000, br#"{"id":"x"}"#).unwrap(),
        "sha256=83aaec65374de010f05f69354cbddd8bb459ab71908c7579dd27ff250b557358"
    );
    assert_ne!(
        signature(b"Jefe", 1_700_000_001, br#"{"id":"x"}"#),
        signature(b"Jefe", 1_700_000_000, br#"{"id":"x"}"#),
        "another time, another signature"
    );
}

fn reminder() -> Reminder {
    Reminder {
        id: "0123abcd:7:email".into(),
        serial: "01ab".into(),
        subject: "CN=x.example.test".into(),
        profile: "client".into(),
        unit: "Org".into(),
        not_after: "2027-01-01T00:00:00Z".into(),
        days_left: 5,
        threshold_days: 7,
    }
}

/// A plain SMTP server on loopback that answers everything up to the end
/// of DATA, then does `after_dot`: `Some(reply)` or nothing (it hangs).
async fn smtp_server(after_dot: Option<&'static str>) -> u16 {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = tokio::io::BufReader::new(read).lines();
        write.write_all(b"220 test\r\n").await.unwrap();
        let mut in_data = false;
        while let Ok(Some(line)) = lines.next_line().await {
            if in_data {
                if line == "." {
                    match after_dot {
                        Some(reply) => write.write_all(reply.as_bytes()).await.unwrap(),
                        None => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            return;
                        }
                    }
                    in_data = false;
                }
                continue;
            }
            let reply: &[u8] = if line.starts_with("DATA") {
                in_data = true;
                b"354 go on\r\n"
            } else if line.starts_with("QUIT") {
                b"221 bye\r\n"
            } else {
                b"250 ok\r\n"
            };
            write.write_all(reply).await.unwrap();
        }
    });
    port
}

fn smtp_to(port: u16) -> smtp::SmtpSettings {
    let mut c = smtp();
    c.host = "127.0.0.1".into();
    c.port = port;
    c.starttls = false;
    c.roots = None;
    c.timeout = "1s".into();
    smtp::SmtpSettings::load(&c).unwrap()
}

#[tokio::test]
async fn silence_after_the_final_dot_is_unconfirmed_and_a_refusal_is_a_failure() {
    let to = [EmailAddress::parse("pki-team@example.com").unwrap()];
    let now = signet_core::Timestamp::from_unix(1_700_000_000);
    let ok = smtp_to(smtp_server(Some("250 queued\r\n")).await);
    assert!(ok.send(&reminder(), &to, now).await.is_ok());
    let silent = smtp_to(smtp_server(None).await);
    let e = silent.send(&reminder(), &to, now).await.unwrap_err();
    assert!(matches!(e, DeliveryError::Unconfirmed { .. }), "{e}");
    let refused = smtp_to(smtp_server(Some("554 no\r\n")).await);
    let e = refused.send(&reminder(), &to, now).await.unwrap_err();
    assert!(matches!(e, DeliveryError::Refused { code: 554, .. }), "{e}");
}

/// A loopback HTTP server that reads one whole request and answers
/// `answer` (or nothing); the request comes back on the channel.
async fn http_server(
    answer: Option<&'static str>,
) -> (u16, tokio::sync::oneshot::Receiver<String>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            seen.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&seen).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .unwrap()
                    .parse()
                    .unwrap();
                if body.len() >= length || n == 0 {
                    tx.send(text).unwrap();
                    break;
                }
            }
        }
        match answer {
            Some(a) => stream.write_all(a.as_bytes()).await.unwrap(),
            None => tokio::time::sleep(Duration::from_secs(30)).await,
        }
    });
    (port, rx)
}

fn hook_to(port: u16, secret: &std::path::Path) -> webhook::WebhookSettings {
    webhook::WebhookSettings::load(&WebhookConfig {
        url: format!("http://127.0.0.1:{port}/hooks/expiry?x=1"),
        secret_file: Some(secret.to_owned()),
        roots: None,
        timeout: "1s".into(),
    })
    .unwrap()
}

#[tokio::test]
async fn the_webhook_is_signed_with_its_time_and_silence_after_the_request_is_unconfirmed() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "hook-key\n").unwrap();
    let now = signet_core::Timestamp::from_unix(1_700_000_000);
    let (port, request) = http_server(Some("HTTP/1.1 204 No Content\r\n\r\n")).await;
    hook_to(port, &secret).send(&reminder(), now).await.unwrap();
    let request = request.await.unwrap();
    let (head, body) = request.split_once("\r\n\r\n").unwrap();
    let head = format!("{head}\r\n");
    assert!(
        head.starts_with("POST /hooks/expiry?x=1 HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(
        head.contains(&format!("\r\nHost: 127.0.0.1:{port}\r\n")),
        "{head}"
    );
    assert!(
        head.contains("\r\nX-Signet-Timestamp: 1700000000\r\n"),
        "{head}"
    );
    let sig = signature(b"hook-key", 1_700_000_000, body.as_bytes()).unwrap();
    assert!(
        head.contains(&format!("\r\nX-Signet-Signature: {sig}\r\n")),
        "{head}"
    );
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["id"], "0123abcd:7:email");

    let (port, _request) = http_server(None).await;
    let e = hook_to(port, &secret)
        .send(&reminder(), now)
        .await
        .unwrap_err();
    assert!(matches!(e, DeliveryError::Unconfirmed { .. }), "{e}");
    let (port, _request) = http_server(Some("HTTP/1.1 503 Busy\r\n\r\n")).await;
    let e = hook_to(port, &secret)
        .send(&reminder(), now)
        .await
        .unwrap_err();
    assert!(matches!(e, DeliveryError::Status(503)), "{e}");
    // Nobody listening: nothing was handed over, a plain failure.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let e = hook_to(port, &secret)
        .send(&reminder(), now)
        .await
        .unwrap_err();
    assert!(matches!(e, DeliveryError::Connect { .. }), "{e}");
}

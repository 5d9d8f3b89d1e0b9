use super::*;

#[test]
fn every_post_carries_a_timestamp_and_a_fresh_nonce() {
    let a = Freshness::at(1_700_000_000);
    let b = Freshness::at(1_700_000_000);
    assert_ne!(a.nonce, b.nonce, "nonces are random");
    assert_eq!(a.nonce.len(), 32);
    let h = a.headers(Some("cli-1"));
    assert_eq!(h[0], (TIMESTAMP_HEADER, "1700000000".to_owned()));
    assert_eq!(h[1].0, NONCE_HEADER);
    assert_eq!(h[2], (IDEMPOTENCY_HEADER, "cli-1".to_owned()));
    assert_eq!(a.headers(None).len(), 2);
}

#[test]
fn crl_now_is_sent_only_when_asked() {
    let mut r = RevokeRequest {
        reason: "keyCompromise".into(),
        invalidity_date: None,
        crl_now: false,
    };
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"reason":"keyCompromise"}"#
    );
    r.crl_now = true;
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"reason":"keyCompromise","crl_now":true}"#
    );
}

use super::*;

const MINIMAL: &str = r#"
[server]
listen = "127.0.0.1:0"

[database]
url = "sqlite:/var/lib/signet/ca.db"

[token]
token_label = "signet"
pin = { file = "/etc/signet/token.pin" }
"#;

#[test]
fn a_minimal_file_gets_the_documented_defaults() {
    let config = OcspConfig::from_toml(MINIMAL).unwrap();
    assert_eq!(config.server.max_request_bytes, 65_536);
    assert_eq!(config.server.request_timeout, "5s");
    assert_eq!(config.server.header_timeout, "10s");
    assert_eq!(config.database.max_connections, 8);
    let r = &config.responses;
    assert_eq!(r.validity, "1h");
    assert_eq!(r.cache_entries, 1_000_000);
    assert_eq!(r.poll_interval, "200ms");
    assert_eq!(r.max_certs_per_request, 20);
    assert_eq!(r.unissued, Unissued::Unknown);

    let s = Settings::try_from(&config).unwrap();
    assert_eq!(s.validity, Duration::from_secs(3600));
    assert_eq!(s.poll_interval, Duration::from_millis(200));
    assert_eq!(s.request_timeout, Duration::from_secs(5));
    assert_eq!(s.header_timeout, Duration::from_secs(10));
    assert_eq!(s.query_timeout, Duration::from_secs(2));
    assert_eq!(s.signer_refresh, Duration::from_secs(5));
    assert_eq!(s.crl_refresh, Duration::from_secs(1));
    assert_eq!(s.max_certs, 20);
}

#[test]
fn every_key_can_be_set() {
    let text = format!(
        "{MINIMAL}\n[responses]\nvalidity = \"4h\"\ncache_entries = 10\npoll_interval = \"50ms\"\n\
         signer_refresh = \"1m\"\ncrl_refresh = \"3s\"\nmax_certs_per_request = 2\nunissued = \"revoked\"\n"
    );
    let config = OcspConfig::from_toml(&text).unwrap();
    let s = Settings::try_from(&config).unwrap();
    assert_eq!(s.validity, Duration::from_secs(4 * 3600));
    assert_eq!(s.cache_entries, 10);
    assert_eq!(s.poll_interval, Duration::from_millis(50));
    assert_eq!(s.signer_refresh, Duration::from_secs(60));
    assert_eq!(s.crl_refresh, Duration::from_secs(3));
    assert_eq!(s.max_certs, 2);
    assert_eq!(s.unissued, Unissued::Revoked);
}

#[test]
fn unknown_keys_and_values_are_refused() {
    let unknown_key = MINIMAL.replace("[database]", "[database]\ncolour = \"blue\"");
    let err = OcspConfig::from_toml(&unknown_key).unwrap_err().to_string();
    assert!(err.contains("colour"), "{err}");

    let bad_unissued = format!("{MINIMAL}\n[responses]\nunissued = \"good\"\n");
    assert!(OcspConfig::from_toml(&bad_unissued).is_err());
}

#[test]
fn unusable_values_are_refused_with_the_key_named() {
    for (table, line, key) in [
        ("responses", "validity = \"1s\"", "responses.validity"),
        (
            "responses",
            "poll_interval = \"0ms\"",
            "responses.poll_interval",
        ),
        (
            "responses",
            "poll_interval = \"fast\"",
            "responses.poll_interval",
        ),
        (
            "responses",
            "max_certs_per_request = 0",
            "max_certs_per_request",
        ),
        (
            "server",
            "request_timeout = \"0s\"",
            "server.request_timeout",
        ),
        (
            "server",
            "max_request_bytes = 0",
            "server.max_request_bytes",
        ),
    ] {
        let text = if table == "server" {
            MINIMAL.replace("[server]", &format!("[server]\n{line}"))
        } else {
            format!("{MINIMAL}\n[{table}]\n{line}\n")
        };
        let config = OcspConfig::from_toml(&text).unwrap();
        let err = Settings::try_from(&config).unwrap_err().to_string();
        assert!(err.contains(key), "{line}: {err}");
    }
}

#[test]
fn durations_take_milliseconds_and_the_profile_units() {
    assert_eq!(duration("k", "250ms").unwrap(), Duration::from_millis(250));
    assert_eq!(duration("k", " 3s ").unwrap(), Duration::from_secs(3));
    assert_eq!(duration("k", "2h").unwrap(), Duration::from_secs(7200));
    assert!(duration("k", "ms").is_err());
    assert!(duration("k", "5").is_err());
    assert!(duration("k", "5 fortnights").is_err());
}

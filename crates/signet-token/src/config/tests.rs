use std::path::PathBuf;

use super::*;

#[test]
fn minimal_table_takes_defaults() {
    let config: TokenConfig = toml::from_str(
        r#"
        token_label = "signet-ca"
        pin = { file = "/etc/signet/token.pin" }
        "#,
    )
    .unwrap();
    assert_eq!(config.module, PathBuf::from(DEFAULT_MODULE));
    assert_eq!(config.token_label, "signet-ca");
    assert_eq!(config.pin, PinSource::File("/etc/signet/token.pin".into()));
    assert_eq!(config.sessions, 0);
    assert_eq!(config.session_pool_size(), DEFAULT_SESSIONS);
    assert_eq!(config.softhsm2_conf, None);
}

#[test]
fn full_table_round_trips() {
    let text = r#"
        module = "/opt/hsm/lib/pkcs11.so"
        token_label = "signet-ca"
        pin = { env = "SIGNET_TOKEN_PIN" }
        sessions = 8
        softhsm2_conf = "/var/lib/signet/softhsm2.conf"
    "#;
    let config: TokenConfig = toml::from_str(text).unwrap();
    assert_eq!(config.pin, PinSource::Env("SIGNET_TOKEN_PIN".into()));
    assert_eq!(config.session_pool_size(), 8);
    let again: TokenConfig = toml::from_str(&toml::to_string(&config).unwrap()).unwrap();
    assert_eq!(again, config);
}

#[test]
fn unknown_fields_are_refused() {
    let err = toml::from_str::<TokenConfig>(
        r#"
        token_label = "signet-ca"
        pin = { file = "/etc/signet/token.pin" }
        slot = 0
        "#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("slot"), "{err}");
    let err = toml::from_str::<TokenConfig>(
        r#"
        token_label = "signet-ca"
        pin = { value = "1234" }
        "#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("value"), "{err}");
}

#[test]
fn debug_leaves_the_pin_source_out() {
    let config = TokenConfig::new("signet-ca", PinSource::Env("1234-oops-the-pin".into()));
    let debug = format!("{config:?}");
    assert!(!debug.contains("1234-oops-the-pin"), "{debug}");
    assert!(debug.contains("signet-ca"), "{debug}");
}

use std::path::Path;

use signet_core::KeyType;
use signet_token::{Pin, PinSource, Token, TokenConfig, TokenError};

use crate::kit::{read_pin, test_token};

#[test]
fn wrong_pin_is_a_login_error_that_shows_no_pin() {
    let (token, config) = test_token("wrong-pin");
    let PinSource::File(pin_file) = &config.pin else {
        unreachable!()
    };
    let right_pin = read_pin(pin_file);
    // While this process is logged in, C_Login answers
    // CKR_USER_ALREADY_LOGGED_IN without checking the PIN: close every
    // session first so that the wrong PIN is really tried.
    drop(token);
    let wrong_pin = "wrong-pin-7d1e40c2";
    let wrong_file = pin_file.with_extension("wrong");
    std::fs::write(&wrong_file, format!("{wrong_pin}\n")).unwrap();
    let wrong = TokenConfig {
        pin: PinSource::File(wrong_file.clone()),
        ..config.clone()
    };
    let err = Token::open(&wrong).unwrap_err();
    let text = format!("{err} / {err:?}");
    assert!(matches!(err, TokenError::Login { .. }), "{text}");
    assert!(text.contains("CKR_PIN_INCORRECT"), "{text}");
    assert!(!text.contains(wrong_pin), "{text}");
    assert!(!text.contains(&right_pin), "{text}");
    std::fs::remove_file(wrong_file).unwrap();
    // The right PIN still works.
    let token = Token::open(&config).unwrap();
    assert!(format!("{token:?}").contains(&config.token_label));
    assert!(!format!("{token:?}").contains(&right_pin));
}

#[test]
fn unknown_token_label_is_token_not_found() {
    let (_token, config) = test_token("unknown-label");
    let missing = TokenConfig {
        token_label: "no-such-token-3f9a".into(),
        ..config
    };
    let err = Token::open(&missing).unwrap_err();
    assert!(
        matches!(err, TokenError::TokenNotFound { ref label } if label == "no-such-token-3f9a"),
        "{err}"
    );
}

#[test]
fn duplicate_labels_are_refused() {
    let (token, config) = test_token("duplicates");
    token.generate_key("ca", KeyType::P256).unwrap();
    for key_type in [KeyType::P256, KeyType::P384, KeyType::Rsa2048, KeyType::Sm2] {
        let err = token.generate_key("ca", key_type).unwrap_err();
        assert!(
            matches!(err, TokenError::KeyExists { ref label } if label == "ca"),
            "{err}"
        );
    }
    assert!(matches!(
        token.generate_aes_key("ca").unwrap_err(),
        TokenError::KeyExists { .. }
    ));
    // The original key is untouched.
    token.signer("ca").unwrap().sign(b"tbs").unwrap();
    // Token labels are unique too.
    let pin = Pin::new("12345678".into());
    let err = Token::initialize(&config.module, &config.token_label, &pin, &pin).unwrap_err();
    assert!(matches!(err, TokenError::TokenExists { .. }), "{err}");
}

#[test]
fn missing_keys_pins_and_modules_are_named() {
    let (token, config) = test_token("missing");
    let err = token.signer("nothing-here").unwrap_err();
    assert!(matches!(err, TokenError::KeyNotFound { .. }), "{err}");
    assert!(matches!(
        token.key_protection("nothing-here").unwrap_err(),
        TokenError::KeyNotFound { .. }
    ));

    let env = TokenConfig {
        pin: PinSource::Env("SIGNET_TEST_NO_SUCH_PIN_VARIABLE".into()),
        ..config.clone()
    };
    let err = Token::open(&env).unwrap_err();
    assert!(
        err.to_string().contains("SIGNET_TEST_NO_SUCH_PIN_VARIABLE"),
        "{err}"
    );

    let module = TokenConfig {
        module: Path::new("/nonexistent/libpkcs11.so").to_path_buf(),
        ..config
    };
    assert!(matches!(
        Token::open(&module).unwrap_err(),
        TokenError::ModuleLoad { .. }
    ));
}

#[test]
fn labels_are_checked() {
    let (token, config) = test_token("labels");
    let pin = Pin::new("12345678".into());
    let long = "x".repeat(33);
    assert!(matches!(
        Token::initialize(&config.module, &long, &pin, &pin).unwrap_err(),
        TokenError::InvalidLabel { .. }
    ));
    assert!(matches!(
        token.generate_key("", KeyType::P256).unwrap_err(),
        TokenError::InvalidLabel { .. }
    ));
}

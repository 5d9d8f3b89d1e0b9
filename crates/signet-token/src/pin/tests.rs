use std::path::PathBuf;

use super::*;

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "signet-token-pin-{name}-{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn debug_never_shows_the_pin() {
    let pin = Pin::new("s3cret-1234".to_owned());
    assert_eq!(format!("{pin:?}"), "Pin(***)");
}

#[test]
fn file_pin_loses_its_trailing_newline() {
    let dir = scratch_dir("newline");
    let path = dir.join("pin");
    std::fs::write(&path, "123456\r\n").unwrap();
    let pin = PinSource::File(path).read().unwrap();
    assert_eq!(pin.expose(), "123456");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn missing_file_is_named_without_any_pin() {
    let path = PathBuf::from("/nonexistent/signet/token.pin");
    let err = PinSource::File(path).read().unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, TokenError::PinSource { .. }));
    assert!(text.contains("/nonexistent/signet/token.pin"), "{text}");
}

#[test]
fn empty_pin_is_refused() {
    let dir = scratch_dir("empty");
    let path = dir.join("pin");
    std::fs::write(&path, "\n").unwrap();
    let err = PinSource::File(path).read().unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unset_variable_is_named() {
    let err = PinSource::Env("SIGNET_TOKEN_TEST_UNSET_VARIABLE".into())
        .read()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot read the token PIN from environment variable \
         SIGNET_TOKEN_TEST_UNSET_VARIABLE: not set"
    );
}

#[test]
fn variable_pin_is_read() {
    // Cargo sets CARGO_PKG_NAME for tests; any set variable will do, and
    // setting one would need `unsafe`.
    let pin = PinSource::Env("CARGO_PKG_NAME".into()).read().unwrap();
    assert_eq!(pin.expose(), "signet-token");
}

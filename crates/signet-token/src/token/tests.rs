use super::*;

#[test]
fn token_labels_fit_the_32_byte_field() {
    assert!(validate_token_label("signet-ca").is_ok());
    assert!(validate_token_label(&"x".repeat(32)).is_ok());
    for bad in ["", "trailing ", &"x".repeat(33)] {
        let err = validate_token_label(bad).unwrap_err();
        assert!(
            matches!(err, TokenError::InvalidLabel { .. }),
            "{bad:?}: {err}"
        );
    }
    // Multi-byte characters count in bytes.
    assert!(validate_token_label(&"é".repeat(17)).is_err());
}

#[test]
fn key_labels_cannot_be_blank() {
    assert!(validate_key_label("root-2026").is_ok());
    assert!(validate_key_label("").is_err());
    assert!(validate_key_label("   ").is_err());
}

#[test]
fn token_is_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<Token>();
}

use super::*;

#[test]
fn reason_names_parse_in_the_forms_operators_type() {
    for r in RevocationReason::ALL {
        assert_eq!(r.as_str().parse::<RevocationReason>(), Ok(r));
        assert_eq!(r.code().to_string().parse::<RevocationReason>(), Ok(r));
    }
    assert_eq!(
        "key-compromise".parse(),
        Ok(RevocationReason::KeyCompromise)
    );
    assert_eq!(
        "KEY_COMPROMISE".parse(),
        Ok(RevocationReason::KeyCompromise)
    );
    assert!("7".parse::<RevocationReason>().is_err());
    assert!("stolen".parse::<RevocationReason>().is_err());
}

#[test]
fn hold_and_remove_are_not_revocations() {
    assert!(!RevocationReason::CertificateHold.is_revocation());
    assert!(!RevocationReason::RemoveFromCrl.is_revocation());
    assert!(RevocationReason::Superseded.is_revocation());
}

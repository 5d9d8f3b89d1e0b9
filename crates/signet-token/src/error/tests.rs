use cryptoki::context::Function;
use cryptoki::error::{Error as CryptokiError, RvError};

use super::*;

#[test]
fn return_codes_are_spelled_as_in_the_specification() {
    assert_eq!(ckr_name(&RvError::PinIncorrect), "CKR_PIN_INCORRECT");
    assert_eq!(
        ckr_name(&RvError::SessionHandleInvalid),
        "CKR_SESSION_HANDLE_INVALID"
    );
    assert_eq!(
        ckr_name(&RvError::VendorDefined(0x8000_0001)),
        "CKR_VendorDefined(2147483649)"
    );
}

#[test]
fn pkcs11_errors_name_the_operation_and_code() {
    let err = pkcs11_err("C_Sign")(CryptokiError::Pkcs11(RvError::DeviceError, Function::Sign));
    assert_eq!(err.to_string(), "PKCS#11 C_Sign failed: CKR_DEVICE_ERROR");
    assert!(is_rv(
        &CryptokiError::Pkcs11(RvError::UserAlreadyLoggedIn, Function::Login),
        RvError::UserAlreadyLoggedIn
    ));
    assert!(!is_rv(
        &CryptokiError::NotSupported,
        RvError::UserAlreadyLoggedIn
    ));
}

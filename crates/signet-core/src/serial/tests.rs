use super::*;

#[test]
fn random_serials_are_positive_sixteen_octets_and_distinct() {
    let mut rng = rand::rng();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..10_000 {
        let s = Serial::random(&mut rng);
        assert_eq!(s.magnitude().len(), GENERATED_SERIAL_OCTETS);
        assert!(s.magnitude()[0] & 0x80 == 0 && s.magnitude()[0] != 0);
        assert!(seen.insert(s));
    }
}

#[test]
fn parses_the_forms_people_paste() {
    let s: Serial = "0A:1b:2C".parse().unwrap();
    assert_eq!(s.to_hex(), "0a1b2c");
    assert_eq!("0x0a1b2c".parse::<Serial>().unwrap(), s);
    assert_eq!("a1b2c".parse::<Serial>().unwrap(), s);
    assert_eq!("000a1b2c".parse::<Serial>().unwrap(), s);
}

#[test]
fn refuses_zero_overlong_and_non_hex() {
    assert_eq!("00".parse::<Serial>(), Err(SerialError::NotPositive));
    assert_eq!("xyz".parse::<Serial>(), Err(SerialError::NotHex));
    assert_eq!("ff".repeat(20).parse::<Serial>(), Err(SerialError::TooLong));
    assert!("7f".repeat(20).parse::<Serial>().is_ok());
    assert_eq!(
        Serial::from_der_content(&[0x80, 1]),
        Err(SerialError::NotPositive)
    );
}

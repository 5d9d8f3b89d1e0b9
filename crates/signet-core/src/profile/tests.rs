use super::*;

fn config(name: &str) -> ProfileConfig {
    toml::from_str(builtin_profile_toml(name).unwrap()).unwrap()
}

#[test]
fn every_builtin_profile_validates() {
    let profiles = builtin_profiles().unwrap();
    let names: Vec<_> = profiles.iter().map(|p| p.name().to_owned()).collect();
    assert_eq!(names, BUILTIN_PROFILE_NAMES);
}

#[test]
fn key_usage_follows_the_key_algorithm() {
    let p = Profile::try_from(config("server")).unwrap();
    assert!(
        !p.key_usage_for(KeyType::P256)
            .contains(KeyUsages::KeyEncipherment)
    );
    assert!(
        p.key_usage_for(KeyType::Rsa2048)
            .contains(KeyUsages::KeyEncipherment)
    );
    let enc = Profile::try_from(config("user-enc")).unwrap();
    assert!(
        !enc.key_usage_for(KeyType::Rsa3072)
            .contains(KeyUsages::KeyAgreement)
    );
    assert!(
        enc.key_usage_for(KeyType::Sm2)
            .contains(KeyUsages::KeyEncipherment)
    );
}

#[test]
fn refuses_inconsistent_profiles() {
    let mut c = config("sub-ca");
    c.key_usage = vec!["digitalSignature".into()];
    assert!(
        Profile::try_from(c)
            .unwrap_err()
            .reason
            .contains("keyCertSign")
    );

    let mut c = config("server");
    c.path_length = Some(1);
    assert!(Profile::try_from(c).is_err());

    let mut c = config("server");
    c.extended_key_usage.push("2.5.29.37.0".into());
    assert!(
        Profile::try_from(c)
            .unwrap_err()
            .reason
            .contains("anyExtendedKeyUsage")
    );

    let mut c = config("server");
    c.key_usage.push("flyingSaucer".into());
    assert!(Profile::try_from(c).is_err());

    let mut c = config("server");
    c.subject.patterns.insert("CN".into(), "([unclosed".into());
    assert!(Profile::try_from(c).is_err());

    let mut c = config("client");
    c.subject.required.push("STREET".into());
    assert!(
        Profile::try_from(c)
            .unwrap_err()
            .reason
            .contains("not allowed")
    );

    let mut c = config("server");
    c.validity = "0d".into();
    assert!(Profile::try_from(c).is_err());

    assert!(
        Profile::from_toml(
            "name = \"x\"\nvalidity = \"1d\"\nkey_usage = [\"digitalSignature\"]\nbogus = 1\n"
        )
        .is_err()
    );
}

#[test]
fn durations_parse_and_print() {
    assert_eq!(parse_duration("397d").unwrap().as_secs(), 397 * 86_400);
    assert_eq!(format_duration(parse_duration("10y").unwrap()), "10y");
    assert!(parse_duration("10").is_err());
    assert!(parse_duration("5w").is_err());
}

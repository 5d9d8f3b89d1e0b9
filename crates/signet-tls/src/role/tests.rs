use super::*;

#[test]
fn names_round_trip_through_display_and_from_str() {
    for role in Role::ALL {
        assert_eq!(role.to_string().parse::<Role>().unwrap(), role);
    }
    assert_eq!(Role::Kmc.to_string(), "kmc");
    assert_eq!(Role::Admin.uri(), "urn:signet:role:admin");
}

#[test]
fn from_str_accepts_only_the_exact_lowercase_name() {
    for bad in ["RA", "Ra", " ra", "", "urn:signet:role:ra", "root"] {
        match bad.parse::<Role>() {
            Err(TlsError::UnknownRole { value }) => assert_eq!(value, bad),
            other => panic!("{bad:?} parsed as {other:?}"),
        }
    }
}

#[test]
fn serde_uses_lowercase_names() {
    assert_eq!(serde_json::to_string(&Role::Ocsp).unwrap(), "\"ocsp\"");
    assert_eq!(serde_json::from_str::<Role>("\"ca\"").unwrap(), Role::Ca);
    assert!(serde_json::from_str::<Role>("\"CA\"").is_err());
    let roles: Vec<Role> = serde_json::from_str(r#"["ra","admin"]"#).unwrap();
    assert_eq!(roles, [Role::Ra, Role::Admin]);
}

#[test]
fn allowed_peers_holds_exactly_its_roles() {
    let allowed = AllowedPeers::new([Role::Admin, Role::Ra, Role::Ra]);
    assert!(allowed.contains(Role::Ra));
    assert!(allowed.contains(Role::Admin));
    assert!(!allowed.contains(Role::Ocsp));
    assert!(!allowed.is_empty());
    assert_eq!(allowed.to_string(), "ra, admin");
    assert!(AllowedPeers::default().is_empty());
    assert_eq!(allowed, [Role::Ra, Role::Admin].into_iter().collect());
}

#[test]
fn app_is_the_role_of_business_systems() {
    assert_eq!(Role::App.as_str(), "app");
    assert_eq!("app".parse::<Role>().unwrap(), Role::App);
    assert_eq!(Role::App.uri(), "urn:signet:role:app");
    assert_eq!(serde_json::to_string(&Role::App).unwrap(), "\"app\"");
    assert!(Role::ALL.contains(&Role::App));
    let kmc_peers = AllowedPeers::new([Role::Ca, Role::App]);
    assert!(kmc_peers.contains(Role::App));
    assert!(!AllowedPeers::new([Role::Ca]).contains(Role::App));
}

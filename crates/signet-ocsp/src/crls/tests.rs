use super::*;

fn file(issuer_id: i64, shard: i64, kind: CrlKind) -> Option<CrlFile> {
    Some(CrlFile {
        issuer_id,
        shard,
        kind,
    })
}

#[test]
fn crl_file_names_name_issuer_shard_and_kind() {
    let issuers = Issuers::named(&[(1, "root"), (2, "issuing"), (3, "sub-2")]);
    let parse = |name| parse_crl_file(&issuers, name);
    assert_eq!(parse("issuing.crl"), file(2, 0, CrlKind::Full));
    assert_eq!(parse("issuing-5.crl"), file(2, 5, CrlKind::Full));
    assert_eq!(parse("issuing-delta.crl"), file(2, 0, CrlKind::Delta));
    assert_eq!(parse("issuing-5-delta.crl"), file(2, 5, CrlKind::Delta));
    assert_eq!(parse("root.crl"), file(1, 0, CrlKind::Full));
    // An issuer whose name looks like a shard is matched whole first.
    assert_eq!(parse("sub-2.crl"), file(3, 0, CrlKind::Full));
    assert_eq!(parse("sub-2-7.crl"), file(3, 7, CrlKind::Full));
    assert_eq!(parse("sub-2-delta.crl"), file(3, 0, CrlKind::Delta));
    for bad in [
        "issuing",
        "issuing.der",
        "other.crl",
        "issuing-.crl",
        "issuing-x.crl",
        "issuing--1.crl",
        "issuing-70000.crl",
        "issuing-delta-delta.crl",
        ".crl",
        "-delta.crl",
    ] {
        assert_eq!(parse(bad), None, "{bad}");
    }
}

use std::time::Instant;

use super::certificate_sans;

/// A self-signed certificate with `sans`, PEM.
fn certificate(sans: Vec<rcgen::SanType>) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.subject_alt_names = sans;
    params.self_signed(&key).unwrap().pem()
}

#[test]
fn sans_are_read_as_openssl_prints_them() {
    let pem = certificate(vec![
        rcgen::SanType::DnsName("a.example".try_into().unwrap()),
        rcgen::SanType::IpAddress("10.0.0.1".parse().unwrap()),
        rcgen::SanType::IpAddress("2001:db8::1".parse().unwrap()),
        rcgen::SanType::Rfc822Name("li@example.com".try_into().unwrap()),
        rcgen::SanType::URI("https://a.example/x".try_into().unwrap()),
    ]);
    assert_eq!(
        certificate_sans(&pem),
        "DNS:a.example, IP:10.0.0.1, IP:2001:db8::1, email:li@example.com, \
         URI:https://a.example/x"
    );
}

#[test]
fn no_sans_and_unreadable_certificates_give_none() {
    assert_eq!(certificate_sans(&certificate(Vec::new())), "");
    assert_eq!(certificate_sans("not a certificate"), "");
    assert_eq!(
        certificate_sans("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        ""
    );
}

/// The batch job reads every row's SANs while it records: it must stay
/// cheap (well under a millisecond per certificate, even unoptimised).
#[test]
fn reading_sans_is_cheap() {
    let pem = certificate(vec![rcgen::SanType::DnsName(
        "a.example".try_into().unwrap(),
    )]);
    let start = Instant::now();
    for _ in 0..1000 {
        assert_eq!(certificate_sans(&pem), "DNS:a.example");
    }
    let per_certificate = start.elapsed() / 1000;
    eprintln!("{per_certificate:?} per certificate");
    assert!(per_certificate.as_micros() < 1000, "{per_certificate:?}");
}

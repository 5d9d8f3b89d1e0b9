use std::num::NonZeroU32;
use std::process::Command;

use super::*;
use crate::subscriber_key::SubscriberKey;

fn n(v: u32) -> NonZeroU32 {
    NonZeroU32::new(v).unwrap()
}

/// Vectors from OpenSSL 3's own PKCS12KDF (`openssl kdf -kdfopt
/// digest:SHA256 -kdfopt hexpass:<BMP> ... PKCS12KDF`).
#[test]
fn kdf_matches_openssl() {
    let mac_key = pkcs12_kdf_sha256(
        &bmp_password("ABCDE-FGHIJ"),
        &hex::decode("0102030405060708").unwrap(),
        3,
        n(2048),
        32,
    );
    assert_eq!(
        hex::encode(&*mac_key),
        "713d4a43d710546b45e0341b420f17a695b8eeaa6b417ed40edecad1af953d26"
    );
    // Longer than one hash: the I blocks are updated between rounds.
    let long = pkcs12_kdf_sha256(&bmp_password("x"), &[0], 3, n(3), 70);
    assert_eq!(
        hex::encode(&*long),
        "e68194233789007b167999bb7d137451112adeba477a1156113b90795eebf23a\
         a6828b613053073d370c6f997457025252565b337a3c4ff0b7bfdc44b152390397\
         11d5031539"
            .replace(' ', "")
    );
}

#[test]
fn bmp_password_is_utf16be_with_terminator() {
    assert_eq!(&*bmp_password("Ab"), &[0, b'A', 0, b'b', 0, 0]);
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// OpenSSL opens what we write, pairs key and certificate, finds the
/// chain, and reports the schemes; a wrong password fails the MAC.
#[test]
fn openssl_reads_the_file() {
    let dir = std::env::temp_dir().join(format!("signet-core-p12-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = rcgen::generate_simple_self_signed(vec!["ca.test".into()]).unwrap();
    for kt in [crate::KeyType::P256, crate::KeyType::Rsa2048] {
        let key = SubscriberKey::generate(kt, &mut rand::rng()).unwrap();
        let pkcs8 = key.to_pkcs8_der().unwrap();
        let pem = der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, &pkcs8).unwrap();
        let key_pair = rcgen::KeyPair::from_pem(&pem).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["alice.test".into()])
            .unwrap()
            .self_signed(&key_pair)
            .unwrap();
        let p12 = write_pkcs12(
            &Pkcs12Contents {
                private_key_pkcs8: &pkcs8,
                certificate: cert.der(),
                chain: &[ca.cert.der().to_vec()],
                friendly_name: "alice",
            },
            "ABCDE-FGHIJ-KLMNO-PQRST",
            Pkcs12Iterations::new(1000, 2048).unwrap(),
            &mut rand::rng(),
        )
        .unwrap();
        let path = dir.join(format!("{kt}.p12"));
        std::fs::write(&path, &p12).unwrap();
        let path = path.to_str().unwrap();
        let (ok, text) = openssl(&[
            "pkcs12",
            "-in",
            path,
            "-passin",
            "pass:ABCDE-FGHIJ-KLMNO-PQRST",
            "-nodes",
            "-info",
        ]);
        assert!(ok, "{kt}: {text}");
        assert!(text.contains("MAC: sha256, Iteration 2048"), "{kt}: {text}");
        assert!(
            text.contains("PBES2, PBKDF2, AES-256-CBC, Iteration 1000, PRF hmacWithSHA256"),
            "{kt}: {text}"
        );
        assert_eq!(
            text.matches("-----BEGIN CERTIFICATE-----").count(),
            2,
            "{kt}"
        );
        assert!(text.contains("friendlyName: alice"), "{kt}: {text}");
        assert!(text.contains("localKeyID:"), "{kt}: {text}");
        // The key in the file is the key we put in.
        let (ok, text) = openssl(&[
            "pkcs12",
            "-in",
            path,
            "-passin",
            "pass:ABCDE-FGHIJ-KLMNO-PQRST",
            "-nocerts",
            "-nodes",
        ]);
        assert!(ok, "{kt}: {text}");
        let out = dir.join(format!("{kt}.key"));
        std::fs::write(&out, text.as_bytes()).unwrap();
        let (ok, public) = openssl(&["pkey", "-in", out.to_str().unwrap(), "-pubout"]);
        assert!(ok, "{kt}: {public}");
        let expected =
            der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, key.public_key_der())
                .unwrap();
        assert_eq!(public, expected, "{kt}");
        let (ok, text) = openssl(&["pkcs12", "-in", path, "-passin", "pass:wrong", "-nodes"]);
        assert!(!ok, "{kt}: wrong password accepted: {text}");
        assert!(text.contains("Mac verify error"), "{kt}: {text}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn refuses_empty_inputs() {
    let contents = Pkcs12Contents {
        private_key_pkcs8: &[1],
        certificate: &[],
        chain: &[],
        friendly_name: "x",
    };
    assert!(matches!(
        write_pkcs12(
            &contents,
            "pw",
            Pkcs12Iterations::default(),
            &mut rand::rng()
        ),
        Err(Pkcs12Error::Invalid { .. })
    ));
    assert!(matches!(
        write_pkcs12(
            &Pkcs12Contents {
                certificate: &[1],
                ..contents
            },
            "",
            Pkcs12Iterations::default(),
            &mut rand::rng()
        ),
        Err(Pkcs12Error::Invalid { .. })
    ));
}

#[test]
fn iteration_counts_are_bounded() {
    assert!(Pkcs12Iterations::new(1000, 2).is_ok());
    assert!(Pkcs12Iterations::new(1_000_000, 1_000_000).is_ok());
    // A MAC count of 1 would have to be omitted in DER (DEFAULT 1).
    for (pbkdf2, mac) in [
        (999, 2048),
        (1_000_001, 2048),
        (0, 2048),
        (1000, 1),
        (1000, 0),
    ] {
        assert!(
            matches!(
                Pkcs12Iterations::new(pbkdf2, mac),
                Err(Pkcs12Error::Invalid { .. })
            ),
            "{pbkdf2} {mac}"
        );
    }
    let d = Pkcs12Iterations::default();
    assert_eq!((d.pbkdf2().get(), d.mac().get()), (100_000, 2048));
}

/// A common name outside the Basic Multilingual Plane has no BMPString:
/// the file is still written, with U+FFFD in its place, and OpenSSL
/// reads it.
#[test]
fn a_name_beyond_the_bmp_still_makes_a_file() {
    assert_eq!(
        bmp_friendly_name("a\u{1F600}\u{20000}b"),
        "a\u{FFFD}\u{FFFD}b"
    );
    assert_eq!(bmp_friendly_name("王小明"), "王小明");
    let key = SubscriberKey::generate(crate::KeyType::P256, &mut rand::rng()).unwrap();
    let pkcs8 = key.to_pkcs8_der().unwrap();
    let pem = der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, &pkcs8).unwrap();
    let key_pair = rcgen::KeyPair::from_pem(&pem).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["emoji.test".into()])
        .unwrap()
        .self_signed(&key_pair)
        .unwrap();
    let p12 = write_pkcs12(
        &Pkcs12Contents {
            private_key_pkcs8: &pkcs8,
            certificate: cert.der(),
            chain: &[],
            friendly_name: "smile \u{1F600}",
        },
        "pw-pw",
        Pkcs12Iterations::new(1000, 2048).unwrap(),
        &mut rand::rng(),
    )
    .unwrap();
    let path = std::env::temp_dir().join(format!("signet-core-p12-bmp-{}.p12", std::process::id()));
    std::fs::write(&path, &p12).unwrap();
    let (ok, text) = openssl(&[
        "pkcs12",
        "-in",
        path.to_str().unwrap(),
        "-passin",
        "pass:pw-pw",
        "-nodes",
        "-info",
    ]);
    std::fs::remove_file(&path).ok();
    assert!(ok, "{text}");
    assert!(text.contains("friendlyName: smile"), "{text}");
}

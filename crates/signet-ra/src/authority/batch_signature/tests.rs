//! The verifier against signatures OpenSSL makes (`openssl cms -sign`),
//! over certificates from an rcgen test PKI.

use std::process::Command;
use std::sync::{Arc, OnceLock};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SignatureAlgorithm,
};
use sha2::{Digest as _, Sha256};
use signet_core::Timestamp;
use signet_tls::rustls::RootCertStore;

use super::{BatchSignatureError, SignerPolicy, verify};

/// 2027-01-01T00:00:00Z.
const NOW: Timestamp = Timestamp::from_unix(1_798_761_600);
const FILE: &[u8] = b"PK\x03\x04 not really a zip, but bytes are bytes\r\n\x00\xff";

struct Signer {
    cert_pem: String,
    key_pem: String,
    sha256: String,
}

struct Pki {
    root_pem: String,
    root: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Pki {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let cert = params.self_signed(&key).unwrap();
    Pki {
        root_pem: cert.pem(),
        root: Issuer::new(params, key),
    }
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| ca("Batch Signature Test Root"))
}

fn signer_with(
    issuer: &Pki,
    alg: &'static SignatureAlgorithm,
    tweak: impl FnOnce(&mut CertificateParams),
) -> Signer {
    let key = KeyPair::generate_for(alg).unwrap();
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "Officer Li");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    tweak(&mut params);
    let cert = params.signed_by(&key, &issuer.root).unwrap();
    Signer {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        sha256: hex::encode(Sha256::digest(cert.der())),
    }
}

fn signer(alg: &'static SignatureAlgorithm) -> Signer {
    signer_with(pki(), alg, |_| {})
}

fn p256() -> &'static Signer {
    static S: OnceLock<Signer> = OnceLock::new();
    S.get_or_init(|| signer(&rcgen::PKCS_ECDSA_P256_SHA256))
}

/// `openssl cms -sign -binary` over `file` by `signers`, with `extra`
/// options; DER unless `extra` says otherwise.
fn openssl_sign(file: &[u8], signers: &[&Signer], extra: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("batch.zip");
    std::fs::write(&input, file).unwrap();
    let out = dir.path().join("batch.zip.p7s");
    let mut cmd = Command::new("openssl");
    cmd.args(["cms", "-sign", "-binary", "-in"]).arg(&input);
    for (i, s) in signers.iter().enumerate() {
        let cert = dir.path().join(format!("signer{i}.pem"));
        let key = dir.path().join(format!("signer{i}.key"));
        std::fs::write(&cert, &s.cert_pem).unwrap();
        std::fs::write(&key, &s.key_pem).unwrap();
        cmd.arg("-signer").arg(cert).arg("-inkey").arg(key);
    }
    if !extra.contains(&"PEM") {
        cmd.args(["-outform", "DER"]);
    }
    cmd.args(extra).arg("-out").arg(&out);
    let result = cmd.output().unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    std::fs::read(out).unwrap()
}

fn roots(pem: &str) -> Arc<RootCertStore> {
    signet_tls::load_roots_from_pem(pem.as_bytes()).unwrap()
}

fn policy(registered: &Signer) -> SignerPolicy {
    SignerPolicy {
        registered_sha256: Some(registered.sha256.clone()),
        roots: roots(&pki().root_pem),
        now: NOW,
    }
}

#[test]
fn openssl_signatures_with_and_without_signed_attributes_verify() {
    let s = p256();
    for extra in [&[][..], &["-noattr"], &["-md", "sha384"]] {
        let sig = openssl_sign(FILE, &[s], extra);
        let signer = verify(FILE, &sig, &policy(s)).unwrap_or_else(|e| panic!("{extra:?}: {e}"));
        assert_eq!(signer.certificate_sha256, s.sha256);
        assert_eq!(signer.subject, "CN=Officer Li");
        assert_eq!(signer.file_sha256, hex::encode(Sha256::digest(FILE)));
    }
    // The signer named by its subject key identifier (`-keyid`): rcgen
    // writes one into a leaf only with an explicit basic constraints.
    let with_ski = signer_with(pki(), &rcgen::PKCS_ECDSA_P256_SHA256, |p| {
        p.is_ca = IsCa::ExplicitNoCa;
    });
    let sig = openssl_sign(FILE, &[&with_ski], &["-keyid"]);
    verify(FILE, &sig, &policy(&with_ski)).unwrap();
}

#[test]
fn pem_signatures_verify_under_either_label() {
    let s = p256();
    let pem = openssl_sign(FILE, &[s], &["-outform", "PEM"]);
    let text = String::from_utf8(pem).unwrap();
    assert!(text.starts_with("-----BEGIN CMS-----"), "{text}");
    verify(FILE, text.as_bytes(), &policy(s)).unwrap();
    let pkcs7 = text
        .replace("BEGIN CMS", "BEGIN PKCS7")
        .replace("END CMS", "END PKCS7");
    verify(FILE, pkcs7.as_bytes(), &policy(s)).unwrap();
    let other = text.replace("CMS-----", "CERTIFICATE-----");
    assert_eq!(
        verify(FILE, other.as_bytes(), &policy(s)),
        Err(BatchSignatureError::NotCms)
    );
}

#[test]
fn p384_and_rsa_signers_verify() {
    let p384 = signer(&rcgen::PKCS_ECDSA_P384_SHA384);
    let sig = openssl_sign(FILE, &[&p384], &["-md", "sha384"]);
    verify(FILE, &sig, &policy(&p384)).unwrap();
    let rsa = signer(&rcgen::PKCS_RSA_SHA256);
    for md in ["sha256", "sha384", "sha512"] {
        let sig = openssl_sign(FILE, &[&rsa], &["-md", md]);
        verify(FILE, &sig, &policy(&rsa)).unwrap_or_else(|e| panic!("{md}: {e}"));
        let sig = openssl_sign(FILE, &[&rsa], &["-md", md, "-noattr"]);
        verify(FILE, &sig, &policy(&rsa)).unwrap_or_else(|e| panic!("{md} -noattr: {e}"));
    }
}

#[test]
fn a_file_changed_by_one_byte_does_not_match() {
    let s = p256();
    let mut changed = FILE.to_vec();
    changed[10] ^= 1;
    for extra in [&[][..], &["-noattr"]] {
        let sig = openssl_sign(FILE, &[s], extra);
        assert_eq!(
            verify(&changed, &sig, &policy(s)),
            Err(BatchSignatureError::Mismatch),
            "{extra:?}"
        );
    }
}

#[test]
fn only_the_registered_certificate_counts() {
    let s = p256();
    let other = signer(&rcgen::PKCS_ECDSA_P256_SHA256);
    let sig = openssl_sign(FILE, &[&other], &[]);
    assert_eq!(
        verify(FILE, &sig, &policy(s)),
        Err(BatchSignatureError::NotRegistered {
            signer_sha256: other.sha256.clone()
        })
    );
    let none = SignerPolicy {
        registered_sha256: None,
        ..policy(s)
    };
    assert!(matches!(
        verify(FILE, &openssl_sign(FILE, &[s], &[]), &none),
        Err(BatchSignatureError::NotRegistered { .. })
    ));
}

#[test]
fn the_certificate_must_chain_to_the_client_roots_and_be_valid_now() {
    let s = p256();
    let sig = openssl_sign(FILE, &[s], &[]);
    let elsewhere = SignerPolicy {
        roots: roots(&ca("Another Root").root_pem),
        ..policy(s)
    };
    assert_eq!(
        verify(FILE, &sig, &elsewhere),
        Err(BatchSignatureError::Untrusted)
    );

    let short = signer_with(pki(), &rcgen::PKCS_ECDSA_P256_SHA256, |p| {
        p.not_before = rcgen::date_time_ymd(2026, 1, 1);
        p.not_after = rcgen::date_time_ymd(2026, 12, 1);
    });
    let sig = openssl_sign(FILE, &[&short], &[]);
    assert_eq!(
        verify(FILE, &sig, &policy(&short)),
        Err(BatchSignatureError::Expired)
    );
    let early = SignerPolicy {
        now: Timestamp::from_unix(1_735_689_600), // 2025-01-01
        ..policy(&short)
    };
    assert_eq!(
        verify(FILE, &sig, &early),
        Err(BatchSignatureError::NotYetValid)
    );

    let encipher_only = signer_with(pki(), &rcgen::PKCS_ECDSA_P256_SHA256, |p| {
        p.key_usages = vec![KeyUsagePurpose::KeyAgreement];
    });
    let sig = openssl_sign(FILE, &[&encipher_only], &[]);
    assert_eq!(
        verify(FILE, &sig, &policy(&encipher_only)),
        Err(BatchSignatureError::KeyUsage)
    );

    // A key usage extension that does not decode (an OCTET STRING where
    // a BIT STRING belongs) allows nothing: the check does not fail open.
    let unreadable = signer_with(pki(), &rcgen::PKCS_ECDSA_P256_SHA256, |p| {
        p.key_usages = vec![];
        p.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
            &[2, 5, 29, 15],
            vec![0x04, 0x01, 0x80],
        )];
    });
    let sig = openssl_sign(FILE, &[&unreadable], &[]);
    assert_eq!(
        verify(FILE, &sig, &policy(&unreadable)),
        Err(BatchSignatureError::KeyUsage)
    );
}

/// `digestAlgorithms` must list the signer's digest (RFC 5652 §5.1).
/// With `-noattr` the first SHA-256 OID in the file is that list's; it
/// is not signed, so only this check can notice it became SHA-384.
#[test]
fn the_digest_algorithms_must_list_the_signers() {
    let s = p256();
    let mut sig = openssl_sign(FILE, &[s], &["-noattr"]);
    verify(FILE, &sig, &policy(s)).unwrap();
    let sha256 = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
    let at = sig.windows(sha256.len()).position(|w| w == sha256).unwrap();
    sig[at + sha256.len() - 1] = 0x02;
    assert_eq!(
        verify(FILE, &sig, &policy(s)),
        Err(BatchSignatureError::DigestNotListed)
    );
}

/// The signature covers the signed attributes as the signer encoded
/// them. OpenSSL's are in DER order; here two are swapped and the RSA
/// signature (same length, so nothing else moves) made again over the
/// swapped bytes: it verifies, though `der` would sort them if they were
/// decoded and encoded again. Its certificate's fingerprint is that of
/// the bytes carried.
#[test]
fn signed_attributes_are_verified_as_the_signer_wrote_them() {
    let rsa = signer(&rcgen::PKCS_RSA_SHA256);
    let sig = openssl_sign(FILE, &[&rsa], &[]);
    let raw = super::raw::signed_data(&sig).unwrap();
    let attrs = raw.signed_attrs.unwrap();
    // Split the SET's contents into its attributes (short or 0x81 lengths).
    let header = if attrs[1] < 0x80 {
        2
    } else {
        2 + usize::from(attrs[1] & 0x7f)
    };
    let mut rest = &attrs[header..];
    let mut items = Vec::new();
    while !rest.is_empty() {
        let len = if rest[1] < 0x80 {
            2 + usize::from(rest[1])
        } else {
            assert_eq!(rest[1], 0x81);
            3 + usize::from(rest[2])
        };
        items.push(rest[..len].to_vec());
        rest = &rest[len..];
    }
    assert!(items.len() >= 3, "{}", items.len());
    assert!(items[0] < items[1], "OpenSSL writes DER order");
    items.swap(0, 1);
    let mut swapped = attrs[..header].to_vec();
    for item in &items {
        swapped.extend(item);
    }
    // Re-sign the swapped attributes with the signer's key.
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    let data = dir.path().join("attrs.der");
    let out = dir.path().join("sig.bin");
    std::fs::write(&key, &rsa.key_pem).unwrap();
    std::fs::write(&data, &swapped).unwrap();
    let result = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(&key)
        .arg("-out")
        .arg(&out)
        .arg(&data)
        .output()
        .unwrap();
    assert!(result.status.success());
    let new_signature = std::fs::read(out).unwrap();
    // Patch the file: the attributes in place (tag [0] kept), and the
    // signature value (the 256 bytes after the attributes).
    let mut patched = sig.clone();
    let body = &attrs[1..];
    let at = patched.windows(body.len()).position(|w| w == body).unwrap();
    patched[at..at + body.len()].copy_from_slice(&swapped[1..]);
    let sig_start = find_signature_value(&patched, at + body.len());
    patched[sig_start..sig_start + 256].copy_from_slice(&new_signature);
    let signer = verify(FILE, &patched, &policy(&rsa)).unwrap();
    assert_eq!(signer.certificate_sha256, rsa.sha256);
    // And a swap without re-signing no longer matches.
    let mut unsigned = sig.clone();
    unsigned[at..at + body.len()].copy_from_slice(&swapped[1..]);
    assert_eq!(
        verify(FILE, &unsigned, &policy(&rsa)),
        Err(BatchSignatureError::Mismatch)
    );
}

/// Where the 256-byte signature value starts after `from`: the OCTET
/// STRING `04 82 01 00` that follows the signature algorithm.
fn find_signature_value(der: &[u8], from: usize) -> usize {
    let marker = [0x04, 0x82, 0x01, 0x00];
    from + der[from..]
        .windows(marker.len())
        .position(|w| w == marker)
        .unwrap()
        + marker.len()
}

#[test]
fn malformed_and_unusual_signatures_are_refused_by_name() {
    let s = p256();
    let p = policy(s);
    assert_eq!(
        verify(FILE, b"garbage", &p),
        Err(BatchSignatureError::NotCms)
    );
    assert_eq!(
        verify(FILE, &[0u8; super::MAX_SIGNATURE_BYTES + 1], &p),
        Err(BatchSignatureError::TooLarge {
            limit: super::MAX_SIGNATURE_BYTES
        })
    );
    // A certificate is DER, but not a SignedData.
    let cert_der = signet_core::pem::certificates_from_pem(s.cert_pem.as_bytes()).unwrap();
    assert_eq!(
        verify(FILE, &cert_der[0], &p),
        Err(BatchSignatureError::NotCms)
    );
    assert_eq!(
        verify(FILE, &openssl_sign(FILE, &[s], &["-nodetach"]), &p),
        Err(BatchSignatureError::NotDetached)
    );
    assert_eq!(
        verify(FILE, &openssl_sign(FILE, &[s], &["-nocerts"]), &p),
        Err(BatchSignatureError::SignerCertificateMissing)
    );
    let other = signer(&rcgen::PKCS_ECDSA_P256_SHA256);
    assert_eq!(
        verify(FILE, &openssl_sign(FILE, &[s, &other], &[]), &p),
        Err(BatchSignatureError::SignerCount { count: 2 })
    );
    assert!(matches!(
        verify(FILE, &openssl_sign(FILE, &[s], &["-md", "sha1"]), &p),
        Err(BatchSignatureError::UnsupportedAlgorithm { .. })
    ));
    // One flipped bit in the signature value itself (its last byte).
    let mut sig = openssl_sign(FILE, &[s], &["-noattr"]);
    let last = sig.len() - 1;
    sig[last] ^= 1;
    assert!(verify(FILE, &sig, &p).is_err());
}

#[test]
fn every_refusal_has_a_message_and_a_reason() {
    let all = [
        BatchSignatureError::TooLarge { limit: 1 },
        BatchSignatureError::NotCms,
        BatchSignatureError::NotDetached,
        BatchSignatureError::SignerCount { count: 2 },
        BatchSignatureError::SignerCertificateMissing,
        BatchSignatureError::NotRegistered {
            signer_sha256: String::new(),
        },
        BatchSignatureError::Expired,
        BatchSignatureError::NotYetValid,
        BatchSignatureError::Untrusted,
        BatchSignatureError::KeyUsage,
        BatchSignatureError::DigestNotListed,
        BatchSignatureError::UnsupportedAlgorithm {
            what: String::new(),
        },
        BatchSignatureError::BadAttributes,
        BatchSignatureError::Mismatch,
    ];
    let en: toml::Table = toml::from_str(include_str!("../../../../../web/i18n/en.toml")).unwrap();
    let table = en["batch_signature"].as_table().unwrap();
    for e in &all {
        let key = e.key().strip_prefix("batch_signature.").unwrap();
        assert!(table.contains_key(key), "{key}");
        assert!(!e.reason().is_empty());
    }
}

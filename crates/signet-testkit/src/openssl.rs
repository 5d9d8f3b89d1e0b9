//! OpenSSL as the independent checker: CSRs, verification, text dumps.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `openssl <args>`; returns stdout+stderr on failure.
pub fn run(args: &[&str]) -> Result<String, String> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

/// `openssl req` arguments for a new key of `key_type` (p256, p384,
/// rsa2048, rsa3072, rsa4096, sm2).
fn newkey_args(key_type: &str) -> Vec<String> {
    match key_type {
        "p256" => vec![
            "-newkey".into(),
            "ec".into(),
            "-pkeyopt".into(),
            "ec_paramgen_curve:P-256".into(),
        ],
        "p384" => vec![
            "-newkey".into(),
            "ec".into(),
            "-pkeyopt".into(),
            "ec_paramgen_curve:P-384".into(),
        ],
        "sm2" => vec!["-newkey".into(), "sm2".into()],
        rsa if rsa.starts_with("rsa") => vec!["-newkey".into(), format!("rsa:{}", &rsa[3..])],
        other => panic!("unknown key type {other}"),
    }
}

/// A key and CSR made by OpenSSL in `dir`: returns (key path, csr path).
pub fn new_csr(
    dir: &Path,
    name: &str,
    key_type: &str,
    subject: &str,
    san: Option<&str>,
) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    let mut args: Vec<String> = vec!["req".into(), "-new".into(), "-nodes".into()];
    if key_type == "sm2" {
        // OpenSSL 3.0 cannot make an SM2 key inside `req`: make it first.
        run(&[
            "genpkey",
            "-algorithm",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:SM2",
            "-out",
            key.to_str().unwrap(),
        ])
        .expect("sm2 key");
        args.extend([
            "-key".into(),
            key.to_str().unwrap().into(),
            "-sm3".into(),
            "-sigopt".into(),
            "distid:1234567812345678".into(),
        ]);
    } else {
        args.extend(newkey_args(key_type));
        args.extend(["-keyout".into(), key.to_str().unwrap().into()]);
    }
    args.extend([
        "-out".into(),
        csr.to_str().unwrap().into(),
        "-subj".into(),
        subject.into(),
    ]);
    if let Some(san) = san {
        args.extend(["-addext".into(), format!("subjectAltName={san}")]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&refs).expect("openssl req");
    (key, csr)
}

/// `openssl verify -CAfile root -untrusted chain leaf`.
pub fn verify_chain(root: &Path, chain: &Path, leaf: &Path) -> Result<String, String> {
    run(&[
        "verify",
        "-CAfile",
        root.to_str().unwrap(),
        "-untrusted",
        chain.to_str().unwrap(),
        leaf.to_str().unwrap(),
    ])
}

/// SM2 chains: OpenSSL 3.0 applies the distinguishing ID only to the
/// certificate being checked, so verify one link at a time.
pub fn verify_sm2_link(issuer: &Path, cert: &Path) -> Result<String, String> {
    run(&[
        "verify",
        "-vfyopt",
        SM2_DISTID,
        "-partial_chain",
        "-CAfile",
        issuer.to_str().unwrap(),
        cert.to_str().unwrap(),
    ])
}

/// `openssl x509 -noout -text`.
pub fn x509_text(pem: &Path) -> String {
    run(&["x509", "-in", pem.to_str().unwrap(), "-noout", "-text"]).expect("x509 -text")
}

/// Splits a PEM bundle into its certificate blocks.
pub fn split_pem(bundle: &str) -> Vec<String> {
    bundle
        .split_inclusive("-----END CERTIFICATE-----")
        .map(|b| b.trim_start().to_owned())
        .filter(|b| b.contains("-----BEGIN CERTIFICATE-----"))
        .map(|b| format!("{b}\n"))
        .collect()
}

/// The SM2 distinguishing ID Signet signs with (the GM/T 0009 default), as
/// an OpenSSL `-vfyopt`/`-pkeyopt` value.
pub const SM2_DISTID: &str = "distid:1234567812345678";

/// An extension in `openssl x509 -text` output, by its display name (e.g.
/// `X509v3 Key Usage`): whether it is critical, and its body lines, trimmed
/// and joined with newlines.
pub fn extension(text: &str, name: &str) -> Option<(bool, String)> {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line
            .trim_start()
            .strip_prefix(name)
            .and_then(|r| r.strip_prefix(':'))
        else {
            continue;
        };
        let indent = line.len() - line.trim_start().len();
        let body: Vec<&str> = lines
            .take_while(|l| l.len() - l.trim_start().len() > indent)
            .map(str::trim)
            .collect();
        return Some((rest.trim() == "critical", body.join("\n")));
    }
    None
}

/// `openssl x509 -serial`: the serial in upper-case hex.
pub fn serial(pem: &Path) -> String {
    let out =
        run(&["x509", "-in", pem.to_str().unwrap(), "-noout", "-serial"]).expect("x509 -serial");
    out.trim()
        .strip_prefix("serial=")
        .expect("serial=")
        .to_owned()
}

/// Octets in the DER INTEGER content of a certificate's serial (the first
/// INTEGER inside the TBSCertificate), as `openssl asn1parse` reports it.
pub fn serial_octets(pem: &Path) -> usize {
    let out = run(&["asn1parse", "-in", pem.to_str().unwrap()]).expect("asn1parse");
    // "    13:d=2  hl=2 l=  16 prim: INTEGER           :0ECB..."
    let line = out
        .lines()
        .find(|l| l.contains("d=2") && l.contains("prim: INTEGER"))
        .expect("a serial");
    let (_, len) = line.split_once(" l=").expect("a length");
    len.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a number")
}

/// Verifies a self-signed SM2 certificate's signature with its own key and
/// [`SM2_DISTID`]. `openssl verify -check_ss_sig` cannot in OpenSSL 3.0
/// (the ID is not applied to a trust anchor), so the TBSCertificate and the
/// signature are cut out with `asn1parse -strparse` and checked with
/// `pkeyutl -verify -rawin -digest sm3`.
pub fn verify_sm2_self_signature(cert: &Path) -> Result<String, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let c = cert.to_str().unwrap();
    let parsed = run(&["asn1parse", "-in", c])?;
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
    let offsets: Vec<&str> = parsed
        .lines()
        .filter(|l| l.contains("d=1"))
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    let &[tbs_at, _, signature_at] = offsets.as_slice() else {
        return Err(format!("not a certificate: {parsed}"));
    };
    let tbs = dir.path().join("tbs.der");
    let signature = dir.path().join("signature.bin");
    let public = dir.path().join("public.pem");
    let (tbs_s, signature_s, public_s) = (
        tbs.to_str().unwrap(),
        signature.to_str().unwrap(),
        public.to_str().unwrap(),
    );
    run(&[
        "asn1parse",
        "-in",
        c,
        "-noout",
        "-strparse",
        tbs_at,
        "-out",
        tbs_s,
    ])?;
    run(&[
        "asn1parse",
        "-in",
        c,
        "-noout",
        "-strparse",
        signature_at,
        "-out",
        signature_s,
    ])?;
    run(&["x509", "-in", c, "-noout", "-pubkey", "-out", public_s])?;
    run(&[
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        public_s,
        "-rawin",
        "-digest",
        "sm3",
        "-pkeyopt",
        SM2_DISTID,
        "-in",
        tbs_s,
        "-sigfile",
        signature_s,
    ])
}

//! OCSP and CRLs as a relying party sees them: standard clients (OpenSSL,
//! curl) pointed at the URLs inside a certificate issued by `signet up`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use signet_testkit::{Pki, openssl};

use crate::issuance::enroll_server;

/// A P-256 server certificate enrolled through the CLI: (leaf PEM path,
/// serial hex).
fn enroll(pki: &Pki, dir: &Path, name: &str) -> (PathBuf, String) {
    let leaf = enroll_server(pki, dir, name, "p256").leaf;
    let serial = openssl::serial(&leaf);
    (leaf, serial)
}

/// Root and issuing CA in one file, for `openssl crl -CAfile`.
fn ca_chain(pki: &Pki, dir: &Path) -> PathBuf {
    let chain = dir.join("cas.pem");
    let root = std::fs::read_to_string(pki.path("root.pem")).unwrap();
    let issuing = std::fs::read_to_string(pki.path("issuing.pem")).unwrap();
    std::fs::write(&chain, format!("{root}{issuing}")).unwrap();
    chain
}

/// `openssl crl -verify -text` of a DER CRL, after checking that its
/// signature verified against `chain`.
fn crl_text(crl: &Path, chain: &Path) -> String {
    let text = openssl::run(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        crl.to_str().unwrap(),
        "-CAfile",
        chain.to_str().unwrap(),
        "-verify",
        "-noout",
        "-text",
    ])
    .unwrap();
    assert!(text.contains("verify OK"), "{text}");
    text
}

/// `openssl ocsp` as the client (POST). Returns its whole output.
fn ocsp(pki: &Pki, leaf: &Path, nonce: bool) -> String {
    let url = format!("{}/ocsp", pki.ocsp_base());
    let mut cmd = Command::new("openssl");
    cmd.arg("ocsp")
        .arg("-issuer")
        .arg(pki.path("issuing.pem"))
        .arg("-cert")
        .arg(leaf)
        .args(["-url", &url])
        .arg("-CAfile")
        .arg(pki.path("root.pem"))
        .arg("-resp_text");
    if !nonce {
        cmd.arg("-no_nonce");
    }
    let out = cmd.output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The status line `openssl ocsp` prints for the leaf, after checking that
/// the response verified against the root.
fn status(text: &str, leaf: &Path) -> String {
    assert!(
        text.contains("Response verify OK"),
        "response does not verify:\n{text}"
    );
    let prefix = format!("{}: ", leaf.display());
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no status line:\n{text}"))
        .trim()
        .to_owned()
}

/// Polls until OCSP says `want` (a responder follows status changes within
/// a second; the deadline here only stops a broken run). With `nonce` the
/// answer is signed afresh; without, it is the cached one, which the
/// responder replaces when the CA's change feed reports the change.
fn wait_for(pki: &Pki, leaf: &Path, want: &str, nonce: bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = ocsp(pki, leaf, nonce);
        if status(&text, leaf) == want {
            return text;
        }
        assert!(Instant::now() < deadline, "OCSP never said {want}:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// good, then revoked (reason and time), then a suspension shows as
/// certificateHold and a resumption as good again; with and without nonce.
#[test]
fn ocsp_follows_revocation_suspension_and_resumption() {
    let pki = Pki::init("p256");
    let _up = pki.up();
    let dir = tempfile::tempdir().unwrap();
    let (leaf, serial) = enroll(&pki, dir.path(), "alpha");
    let (held, held_serial) = enroll(&pki, dir.path(), "beta");

    for nonce in [true, false] {
        let text = ocsp(&pki, &leaf, nonce);
        assert_eq!(status(&text, &leaf), "good");
        assert!(!text.contains("WARNING: no nonce in response"), "{text}");
    }

    let out = pki.signet(&["revoke", "--serial", &serial, "--reason", "keyCompromise"]);
    assert!(out.status.success());
    let text = wait_for(&pki, &leaf, "revoked", true);
    assert!(text.contains("Reason: keyCompromise"), "{text}");
    assert!(text.contains("Revocation Time:"), "{text}");
    // The cached (no nonce) answer is replaced too.
    let text = wait_for(&pki, &leaf, "revoked", false);
    assert!(text.contains("Reason: keyCompromise"), "{text}");

    assert!(
        pki.signet(&["suspend", "--serial", &held_serial])
            .status
            .success()
    );
    let text = wait_for(&pki, &held, "revoked", true);
    assert!(text.contains("Reason: certificateHold"), "{text}");
    assert!(
        pki.signet(&["resume", "--serial", &held_serial])
            .status
            .success()
    );
    wait_for(&pki, &held, "good", true);
    wait_for(&pki, &held, "good", false);
}

/// GET (RFC 5019 §5: base64 of the DER request in the path), built with
/// curl since OpenSSL 3.0 cannot send GET; answers carry cache headers.
#[test]
fn ocsp_over_get_is_cacheable() {
    let pki = Pki::init("p256");
    let _up = pki.up();
    let dir = tempfile::tempdir().unwrap();
    let (leaf, _) = enroll(&pki, dir.path(), "gamma");
    let req = dir.path().join("req.der");
    openssl::run(&[
        "ocsp",
        "-issuer",
        pki.path("issuing.pem").to_str().unwrap(),
        "-cert",
        leaf.to_str().unwrap(),
        "-no_nonce",
        "-reqout",
        req.to_str().unwrap(),
    ])
    .unwrap();
    let b64 = openssl::run(&["base64", "-A", "-in", req.to_str().unwrap()]).unwrap();
    let encoded = b64
        .trim()
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let resp = dir.path().join("resp.der");
    let headers = Command::new("curl")
        .args([
            "-s",
            "-D",
            "-",
            "-o",
            resp.to_str().unwrap(),
            &format!("{}/ocsp/{encoded}", pki.ocsp_base()),
        ])
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&headers.stdout).to_ascii_lowercase();
    assert!(
        headers.contains("content-type: application/ocsp-response"),
        "{headers}"
    );
    assert!(
        headers.contains("cache-control:") && headers.contains("max-age="),
        "{headers}"
    );
    assert!(
        headers.contains("etag:")
            && headers.contains("last-modified:")
            && headers.contains("expires:"),
        "{headers}"
    );
    let text = openssl::run(&[
        "ocsp",
        "-respin",
        resp.to_str().unwrap(),
        "-issuer",
        pki.path("issuing.pem").to_str().unwrap(),
        "-cert",
        leaf.to_str().unwrap(),
        "-CAfile",
        pki.path("root.pem").to_str().unwrap(),
        "-resp_text",
    ])
    .unwrap();
    assert_eq!(status(&text, &leaf), "good");
}

/// Serials the CA never issued are not good; an issuer the responder does
/// not serve is unauthorized; garbage, empty and oversized bodies are
/// malformedRequest — always a parsable OCSP answer, never a server error.
#[test]
fn ocsp_refuses_what_it_cannot_answer() {
    let pki = Pki::init("p256");
    let _up = pki.up();
    let url = format!("{}/ocsp", pki.ocsp_base());
    let issuing = pki.path("issuing.pem");
    let root = pki.path("root.pem");

    let out = openssl::run(&[
        "ocsp",
        "-issuer",
        issuing.to_str().unwrap(),
        "-serial",
        "0x0102030405",
        "-url",
        &url,
        "-CAfile",
        root.to_str().unwrap(),
    ])
    .unwrap();
    assert!(out.contains("0x0102030405: unknown"), "{out}");

    let platform = pki.path("tls/platform-root.pem");
    let out = openssl::run(&[
        "ocsp",
        "-issuer",
        platform.to_str().unwrap(),
        "-serial",
        "0x01",
        "-url",
        &url,
        "-no_nonce",
    ]);
    let text = out.unwrap_or_else(|e| e);
    assert!(text.contains("unauthorized"), "{text}");

    let post = |body: &[u8]| -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("body");
        std::fs::write(&file, body).unwrap();
        let out = Command::new("curl")
            .args([
                "-s",
                "-H",
                "Content-Type: application/ocsp-request",
                "--data-binary",
                &format!("@{}", file.display()),
                &url,
            ])
            .output()
            .unwrap();
        out.stdout
    };
    // OCSPResponse { responseStatus malformedRequest (1) }.
    let malformed = vec![0x30, 0x03, 0x0a, 0x01, 0x01];
    assert_eq!(post(b"this is not DER"), malformed);
    assert_eq!(post(b""), malformed);
    assert_eq!(post(&vec![0x30; 1024 * 1024]), malformed);
}

/// The CRL at the certificate's CDP URL verifies against the root and lists
/// revoked serials with their reasons; a suspension is listed as
/// certificateHold and its resumption leaves through removeFromCRL in the
/// delta CRL; caIssuers serves the issuing CA certificate.
#[test]
fn crls_and_ca_issuers_at_the_urls_in_certificates() {
    let pki = Pki::init("p256");
    // Deltas every second, so the test sees one after the resumption.
    pki.set_config("ca", "publication", "delta_interval", "\"1s\"");
    let _up = pki.up();
    let dir = tempfile::tempdir().unwrap();
    let (leaf, serial) = enroll(&pki, dir.path(), "delta");
    let (_, held) = enroll(&pki, dir.path(), "epsilon");

    let text = openssl::x509_text(&leaf);
    let cdp = text
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("URI:").filter(|u| u.ends_with(".crl")))
        .unwrap()
        .to_owned();
    let ca_issuers = text
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("CA Issuers - URI:"))
        .unwrap()
        .to_owned();

    assert!(
        pki.signet(&[
            "revoke",
            "--serial",
            &serial,
            "--reason",
            "superseded",
            "--crl-now"
        ])
        .status
        .success()
    );
    assert!(pki.signet(&["suspend", "--serial", &held]).status.success());
    assert!(
        pki.signet(&[
            "revoke",
            "--serial",
            &enroll(&pki, dir.path(), "zeta").1,
            "--reason",
            "keyCompromise",
            "--crl-now"
        ])
        .status
        .success()
    );

    let chain = ca_chain(&pki, dir.path());
    let fetch = |url: &str, file: &str| -> PathBuf {
        let path = dir.path().join(file);
        let out = Command::new("curl")
            .args([
                "-s",
                "-D",
                dir.path().join(format!("{file}.h")).to_str().unwrap(),
                "-o",
                path.to_str().unwrap(),
                url,
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
        path
    };
    let full = fetch(&cdp, "full.crl");
    let headers = std::fs::read_to_string(dir.path().join("full.crl.h"))
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        headers.contains("content-type: application/pkix-crl"),
        "{headers}"
    );
    let text = crl_text(&full, &chain);
    assert!(
        text.contains(&serial.to_uppercase()) && text.contains("Superseded"),
        "{text}"
    );
    assert!(
        text.contains(&held.to_uppercase()) && text.contains("Certificate Hold"),
        "{text}"
    );

    // Resume, then the next delta says removeFromCRL.
    assert!(pki.signet(&["resume", "--serial", &held]).status.success());
    let delta_url = cdp.replace(".crl", "-delta.crl");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let delta = fetch(&delta_url, "delta.crl");
        let text = crl_text(&delta, &chain);
        assert!(text.contains("Delta CRL Indicator"), "{text}");
        if text.contains(&held.to_uppercase()) && text.contains("Remove From CRL") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no removeFromCRL in the delta:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    let der = fetch(&ca_issuers, "issuing.der");
    let pem = openssl::run(&["x509", "-inform", "DER", "-in", der.to_str().unwrap()]).unwrap();
    assert_eq!(
        pem.trim(),
        std::fs::read_to_string(pki.path("issuing.pem"))
            .unwrap()
            .trim()
    );
}

/// With the issuing CA's CRL partitioned in four, each certificate's CDP
/// names its shard, the shard's CRL (Issuing Distribution Point naming the
/// same URL) lists it, and no other shard's CRL does.
#[test]
fn partitioned_crls_list_each_certificate_in_its_own_shard() {
    let pki = Pki::init("p256");
    let config = pki.path("config/ca.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text
        .replace("/crl/issuing.crl\"", "/crl/issuing-{shard}.crl\"")
        .replace(
            "/crl/issuing-delta.crl\"",
            "/crl/issuing-{shard}-delta.crl\"",
        );
    // `crl_shards` of the issuing issuer only: the line after its delta URL.
    let text = text.replacen(
        "issuing-{shard}-delta.crl\"\ncrl_shards = 1",
        "issuing-{shard}-delta.crl\"\ncrl_shards = 4",
        1,
    );
    assert!(text.contains("crl_shards = 4"), "{text}");
    std::fs::write(&config, text).unwrap();
    let _up = pki.up();
    let dir = tempfile::tempdir().unwrap();
    let chain = ca_chain(&pki, dir.path());

    let mut revoked = Vec::new();
    for name in ["s1", "s2", "s3", "s4", "s5", "s6"] {
        let (leaf, serial) = enroll(&pki, dir.path(), name);
        let cdp = openssl::x509_text(&leaf)
            .lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix("URI:").filter(|u| u.ends_with(".crl")))
            .unwrap()
            .to_owned();
        assert!(!cdp.contains("{shard}"), "{cdp}");
        let out = pki.signet(&["revoke", "--serial", &serial, "--reason", "keyCompromise"]);
        assert!(out.status.success());
        revoked.push((serial, cdp));
    }
    assert!(
        pki.signet(&[
            "revoke",
            "--serial",
            &enroll(&pki, dir.path(), "s7").1,
            "--crl-now"
        ])
        .status
        .success()
    );

    let base = format!("{}/crl/issuing", pki.ocsp_base());
    let mut listed = std::collections::HashMap::new();
    for shard in 0..4 {
        let url = format!("{base}-{shard}.crl");
        let file = dir.path().join(format!("{shard}.crl"));
        let out = Command::new("curl")
            .args(["-sf", "-o", file.to_str().unwrap(), &url])
            .output()
            .unwrap();
        assert!(out.status.success(), "no CRL at {url}");
        let text = crl_text(&file, &chain);
        assert!(text.contains("Issuing Distribution Point"), "{text}");
        assert!(text.contains(&url), "the IDP names {url}:\n{text}");
        listed.insert(url, text);
    }
    for (serial, cdp) in &revoked {
        for (url, text) in &listed {
            assert_eq!(
                text.contains(&serial.to_uppercase()),
                url == cdp,
                "{serial} (CDP {cdp}) in {url}"
            );
        }
    }
}

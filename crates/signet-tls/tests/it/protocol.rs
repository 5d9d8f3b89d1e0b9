//! What the server will not speak: TLS below 1.2 and weak cipher suites.
//!
//! rustls cannot offer either, so these tests write a ClientHello by hand
//! (RFC 5246 §7.4.1.2) and read the server's first record. Each refusal has a
//! control: the same hello with one acceptable change gets a ServerHello, so
//! the refusal is the server's choice and not a malformed hello.

use signet_tls::{AllowedPeers, Role, ServeOptions, server_config};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::kit::start_tls;
use crate::pki::pki;

const HANDSHAKE: u8 = 0x16;
const ALERT: u8 = 0x15;
const PROTOCOL_VERSION_ALERT: u8 = 70;
const HANDSHAKE_FAILURE_ALERT: u8 = 40;

const TLS11: [u8; 2] = [0x03, 0x02];
const TLS12: [u8; 2] = [0x03, 0x03];

const TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: u16 = 0xc02b;
const WEAK_SUITES: [u16; 6] = [
    0x002f, // TLS_RSA_WITH_AES_128_CBC_SHA
    0x0035, // TLS_RSA_WITH_AES_256_CBC_SHA
    0x000a, // TLS_RSA_WITH_3DES_EDE_CBC_SHA
    0x0005, // TLS_RSA_WITH_RC4_128_SHA
    0xc009, // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
    0xc023, // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256
];

fn u16_be(n: usize) -> [u8; 2] {
    u16::try_from(n).unwrap().to_be_bytes()
}

fn extension(kind: u16, body: &[u8]) -> Vec<u8> {
    let mut out = kind.to_be_bytes().to_vec();
    out.extend(u16_be(body.len()));
    out.extend(body);
    out
}

/// A TLS 1.2-style ClientHello (no supported_versions extension, so the
/// legacy version is the version offered).
fn client_hello(version: [u8; 2], suites: &[u16]) -> Vec<u8> {
    let mut extensions = Vec::new();
    // supported_groups: x25519, secp256r1
    extensions.extend(extension(0x000a, &[0x00, 0x04, 0x00, 0x1d, 0x00, 0x17]));
    // ec_point_formats: uncompressed
    extensions.extend(extension(0x000b, &[0x01, 0x00]));
    // signature_algorithms: ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256
    extensions.extend(extension(0x000d, &[0x00, 0x04, 0x04, 0x03, 0x08, 0x04]));
    // extended_master_secret
    extensions.extend(extension(0x0017, &[]));
    // renegotiation_info (empty)
    extensions.extend(extension(0xff01, &[0x00]));

    let mut body = version.to_vec();
    body.extend([0x42; 32]); // random
    body.push(0); // no session id
    body.extend(u16_be(suites.len() * 2));
    for suite in suites {
        body.extend(suite.to_be_bytes());
    }
    body.extend([1, 0]); // compression: null only
    body.extend(u16_be(extensions.len()));
    body.extend(extensions);

    let mut handshake = vec![0x01]; // client_hello
    handshake.extend(&u32::try_from(body.len()).unwrap().to_be_bytes()[1..]);
    handshake.extend(body);

    let mut record = vec![HANDSHAKE, 0x03, 0x01];
    record.extend(u16_be(handshake.len()));
    record.extend(handshake);
    record
}

/// Sends `hello` and returns the server's first record header and 2 bytes.
async fn first_record(addr: std::net::SocketAddr, hello: &[u8]) -> [u8; 7] {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(hello).await.unwrap();
    let mut head = [0u8; 7];
    tcp.read_exact(&mut head).await.unwrap();
    head
}

async fn server() -> crate::kit::TestServer {
    let pki = pki();
    let config = server_config(
        &pki.server,
        pki.platform_roots(),
        AllowedPeers::new([Role::Ra]),
    )
    .unwrap();
    start_tls(config, ServeOptions::default()).await
}

#[tokio::test]
async fn tls11_is_refused_with_protocol_version() {
    let server = server().await;
    let strong = [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256];

    let control = first_record(server.addr, &client_hello(TLS12, &strong)).await;
    assert_eq!(
        control[0], HANDSHAKE,
        "a TLS 1.2 hello should get a ServerHello"
    );
    assert_eq!(control[5], 0x02, "server_hello");

    let refused = first_record(server.addr, &client_hello(TLS11, &strong)).await;
    assert_eq!(refused[0], ALERT, "{refused:?}");
    assert_eq!(refused[5], 2, "fatal");
    assert_eq!(refused[6], PROTOCOL_VERSION_ALERT);
    server.stop().await;
}

#[tokio::test]
async fn weak_suites_are_refused_with_handshake_failure() {
    let server = server().await;

    let mut with_one_strong = WEAK_SUITES.to_vec();
    with_one_strong.push(TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
    let control = first_record(server.addr, &client_hello(TLS12, &with_one_strong)).await;
    assert_eq!(control[0], HANDSHAKE, "the strong suite should be chosen");

    let refused = first_record(server.addr, &client_hello(TLS12, &WEAK_SUITES)).await;
    assert_eq!(refused[0], ALERT, "{refused:?}");
    assert_eq!(refused[6], HANDSHAKE_FAILURE_ALERT);
    server.stop().await;
}

//! Clients that send nothing, or half a request, hold one connection for
//! a bounded time and never delay anyone else.

use std::time::{Duration, Instant};

use signet_store::Backend;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::kit::*;

/// Reads until the server closes the connection; returns what it sent and
/// how long that took.
async fn until_closed(mut stream: TcpStream) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes))
        .await
        .expect("the server closes stalled connections")
        .ok();
    (bytes, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_clients_do_not_block_a_concurrent_request() {
    let fx = Fixture::new(Backend::Sqlite).await;
    let leaf = fx.issue("leaf").await;
    // The fixture's config: header_timeout and request_timeout of 1 s.
    let running = fx.start().await;
    let addr = running.addr;
    let body = request(&[fx.cert_id(&leaf.serial)], Some(&[5u8; 16]));

    // Sends nothing at all.
    let silent = TcpStream::connect(addr).await.unwrap();
    // Sends half a request head.
    let mut half_head = TcpStream::connect(addr).await.unwrap();
    half_head
        .write_all(b"POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Le")
        .await
        .unwrap();
    // Sends the head and half the body.
    let mut half_body = TcpStream::connect(addr).await.unwrap();
    half_body
        .write_all(
            format!(
                "POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\n\
                 Content-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    half_body.write_all(&body[..body.len() / 2]).await.unwrap();
    // A GET whose request line never ends.
    let mut half_line = TcpStream::connect(addr).await.unwrap();
    half_line.write_all(b"GET /ocsp/MEIw").await.unwrap();

    // Meanwhile an honest client is answered at once, several times.
    for _ in 0..3 {
        let started = Instant::now();
        let response = post_ocsp(addr, &body).await;
        assert_eq!(decode(&response.body).single(), "good");
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "{:?}",
            started.elapsed()
        );
    }

    // The stalled ones are let go after their deadline.
    let (bytes, took) = until_closed(silent).await;
    assert!(
        bytes.is_empty() && took < Duration::from_secs(3),
        "{took:?}"
    );
    let (_, took) = until_closed(half_head).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    let (_, took) = until_closed(half_line).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    // Half a body: answered malformedRequest when the body deadline passes.
    let (bytes, took) = until_closed(half_body).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    let response = parse_http(&bytes);
    assert_eq!(response.status, 200);
    assert_eq!(response.body, vec![0x30, 0x03, 0x0a, 0x01, 0x01]);

    // Still serving.
    let (_, decoded) = ask(addr, &fx.cert_id(&leaf.serial)).await;
    assert_eq!(decoded.single(), "good");
    running.stop().await;
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let fx = Fixture::new(Backend::Sqlite).await;
    let running = fx.start().await;
    let mut stream = TcpStream::connect(running.addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    // Kept alive, then silent: let go like a client that never asked.
    let (_, took) = until_closed(stream).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    running.stop().await;
    fx.close().await;
}

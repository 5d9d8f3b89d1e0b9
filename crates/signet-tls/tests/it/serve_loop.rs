//! The serving loop's deadlines, connection limit and shutdown.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use signet_tls::{AllowedPeers, Role, ServeOptions, server_config};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::kit::{self, TestServer, fast_options, ok_body, raw_get, start_plain, start_tls};
use crate::pki::pki;

async fn tls_server(options: ServeOptions) -> TestServer {
    let pki = pki();
    let config = server_config(
        &pki.server,
        pki.platform_roots(),
        AllowedPeers::new([Role::Ra]),
    )
    .unwrap();
    start_tls(config, options).await
}

/// Reads until the server closes the connection (EOF or reset), and returns
/// how long that took. Fails the test if it stays open for `limit`.
async fn wait_closed(mut stream: impl tokio::io::AsyncRead + Unpin, limit: Duration) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit, stream.read(&mut buf)).await {
            Err(_) => panic!("connection still open after {limit:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return start.elapsed(),
            // HTTP/2 servers speak first (SETTINGS); keep reading.
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn a_silent_client_is_dropped_after_the_handshake_timeout_while_others_are_served() {
    let server = tls_server(fast_options()).await;
    let silent = TcpStream::connect(server.addr).await.unwrap();
    let start = Instant::now();
    let closed = tokio::spawn(wait_closed(silent, Duration::from_secs(5)));

    let response = raw_get(kit::http11_client(&pki().ra), server.addr, "/whoami")
        .await
        .unwrap();
    assert_eq!(ok_body(&response), "ra");
    let served_after = start.elapsed();

    let closed_after = closed.await.unwrap();
    assert!(
        served_after < closed_after,
        "{served_after:?} vs {closed_after:?}"
    );
    assert!(
        closed_after >= Duration::from_millis(250),
        "{closed_after:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_sends_no_request_after_the_handshake_is_dropped() {
    let server = tls_server(fast_options()).await;
    // HTTP/2 by ALPN: hyper's own header timeout does not apply there.
    for alpn in [&b"h2"[..], &b"http/1.1"[..]] {
        let config = kit::with_alpn(&kit::http11_client(&pki().ra), &[alpn]);
        let tls = kit::tls_connect(config, server.addr).await.unwrap();
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(alpn));
        let closed_after = wait_closed(tls, Duration::from_secs(5)).await;
        assert!(
            closed_after >= Duration::from_millis(200),
            "{closed_after:?}"
        );
    }
    assert_eq!(server.hits(), 0);
    server.stop().await;
}

async fn plain_get(addr: SocketAddr, path: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn plain_http_has_the_same_deadlines() {
    let server = start_plain(fast_options()).await;
    let silent = TcpStream::connect(server.addr).await.unwrap();
    let closed = tokio::spawn(wait_closed(silent, Duration::from_secs(5)));
    // A client that starts the HTTP/2 preface and stalls is cut off too.
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    stalled.write_all(b"PRI * HT").await.unwrap();
    let stalled = tokio::spawn(wait_closed(stalled, Duration::from_secs(5)));

    assert_eq!(
        ok_body(&plain_get(server.addr, "/optional").await),
        "anonymous"
    );
    let closed_after = closed.await.unwrap();
    assert!(
        closed_after >= Duration::from_millis(250),
        "{closed_after:?}"
    );
    stalled.await.unwrap();
    assert_eq!(server.hits(), 1);
    server.stop().await;
}

#[tokio::test]
async fn max_connections_makes_further_clients_wait() {
    let options = ServeOptions {
        max_connections: 1,
        ..fast_options()
    };
    let server = tls_server(options).await;
    let silent = TcpStream::connect(server.addr).await.unwrap();
    // Let the loop accept the silent client before the real one arrives.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let start = Instant::now();
    let response = raw_get(kit::http11_client(&pki().ra), server.addr, "/whoami")
        .await
        .unwrap();
    assert_eq!(ok_body(&response), "ra");
    // Served only once the silent client's handshake timed out.
    assert!(
        start.elapsed() >= Duration::from_millis(200),
        "{:?}",
        start.elapsed()
    );
    drop(silent);
    server.stop().await;
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish_and_stops_accepting() {
    let mut server = tls_server(fast_options()).await;
    let addr = server.addr;
    let in_flight = tokio::spawn(raw_get(kit::http11_client(&pki().ra), addr, "/sleep/400"));
    // Wait until the request is inside the handler.
    while server.hits() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.signal_shutdown();
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(ok_body(&response), "slept");

    let task = server.task();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown"
    );
}

#[tokio::test]
async fn shutdown_is_bounded_by_the_grace_period() {
    let options = ServeOptions {
        shutdown_grace: Duration::from_millis(200),
        ..fast_options()
    };
    let mut server = tls_server(options).await;
    let stuck = tokio::spawn(raw_get(
        kit::http11_client(&pki().ra),
        server.addr,
        "/sleep/30000",
    ));
    while server.hits() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let start = Instant::now();
    server.signal_shutdown();
    let task = server.task();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    // The cut-off client sees its connection end without a response.
    let outcome = tokio::time::timeout(Duration::from_secs(5), stuck)
        .await
        .unwrap()
        .unwrap();
    assert!(
        outcome.as_deref().map_or(true, |r| !r.contains("slept")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn shutdown_does_not_wait_for_connections_that_never_asked_anything() {
    let options = ServeOptions {
        header_read_timeout: Duration::from_secs(30),
        shutdown_grace: Duration::from_secs(30),
        ..fast_options()
    };
    let mut server = tls_server(options).await;
    // An HTTP/2 connection that completed its handshake and then went quiet.
    let config = kit::with_alpn(&kit::http11_client(&pki().ra), &[b"h2"]);
    let idle = kit::tls_connect(config, server.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;

    let start = Instant::now();
    server.signal_shutdown();
    let task = server.task();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    drop(idle);
}

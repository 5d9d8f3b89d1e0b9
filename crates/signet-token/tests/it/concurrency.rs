use std::sync::Arc;
use std::time::Instant;

use signet_core::{KeyType, Signer};
use signet_token::{Token, TokenConfig};

use crate::kit::{raw_session, test_token, verify_p256};

fn sign_in_threads(
    signer: &Arc<dyn Signer>,
    threads: usize,
    each: usize,
) -> Vec<(String, Vec<u8>)> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let signer = Arc::clone(signer);
                scope.spawn(move || {
                    (0..each)
                        .map(|i| {
                            let message = format!("thread {t} certificate {i}");
                            let signature = signer.sign(message.as_bytes()).unwrap();
                            (message, signature)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

#[test]
fn four_threads_sign_through_one_signer() {
    let (token, _config) = test_token("concurrency");
    let spki = token.generate_key("ca", KeyType::P256).unwrap();
    let signer = token.signer("ca").unwrap();
    let start = Instant::now();
    let signed = sign_in_threads(&signer, 4, 250);
    let elapsed = start.elapsed();
    assert_eq!(signed.len(), 1000);
    for (message, signature) in &signed {
        assert!(
            verify_p256(&spki, message.as_bytes(), signature),
            "{message}"
        );
    }
    eprintln!(
        "P-256 through SoftHSM2, 4 threads x 250: {:.0} signatures/s",
        1000.0 / elapsed.as_secs_f64()
    );
}

#[test]
fn threads_wait_for_a_session_when_the_pool_is_small() {
    let (_token, config) = test_token("small-pool");
    let one = TokenConfig {
        sessions: 1,
        ..config
    };
    let token = Token::open(&one).unwrap();
    let spki = token.generate_key("ca", KeyType::P256).unwrap();
    let signer = token.signer("ca").unwrap();
    drop(token);
    let signed = sign_in_threads(&signer, 4, 50);
    assert_eq!(signed.len(), 200);
    for (message, signature) in &signed {
        assert!(
            verify_p256(&spki, message.as_bytes(), signature),
            "{message}"
        );
    }
}

#[test]
fn signing_recovers_after_the_token_is_logged_out() {
    let (token, config) = test_token("logout");
    let spki = token.generate_key("ca", KeyType::P256).unwrap();
    let signer = token.signer("ca").unwrap();
    assert!(verify_p256(
        &spki,
        b"before",
        &signer.sign(b"before").unwrap()
    ));
    // Someone else in the process logs the token out: every session of
    // this process on the token loses its login.
    let session = raw_session(&config);
    session.logout().unwrap();
    let signature = signer.sign(b"after").unwrap();
    assert!(verify_p256(&spki, b"after", &signature));
    assert!(token.has_key("ca").unwrap());
}

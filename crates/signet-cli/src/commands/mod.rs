//! One module per command.

pub mod audit;
pub mod bench;
mod bench_crl;
pub mod bench_kmc;
mod bench_ocsp;
pub mod bench_ra;
pub mod enroll;
pub mod envelope;
pub mod init;
pub mod kmc;
pub mod ocsp;
pub mod ra;
pub mod serve;
pub mod status;
pub mod up;

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}

//! `signet`: the command line of the Signet certificate authority platform.

#![forbid(unsafe_code)]

mod cli;
mod commands;
mod error;
mod home;
mod logging;
mod softhsm_env;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

/// Issuance allocates many small buffers (DER, PEM, JSON) across threads;
/// mimalloc's thread-local heaps cut the allocator's share of a busy CA
/// (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use crate::error::CliError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // SoftHSM2 reads SOFTHSM2_CONF when the module initialises; a command
    // that opens the token re-executes itself with the variable set (Rust
    // 2024 cannot set it safely in a running process).
    if let Err(e) = softhsm_env::ensure(&cli.command) {
        return report(&e);
    }
    logging::init(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return report(&CliError::Io(e)),
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

async fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Init(args) => commands::init::run(args).await,
        Command::Up(args) => commands::up::run(args).await,
        Command::Ca(args) => commands::serve::ca(args).await,
        Command::Ocsp(args) => commands::ocsp::serve(args).await,
        Command::Enroll(args) => commands::enroll::run(args).await,
        Command::Revoke(args) => commands::status::revoke(args).await,
        Command::Suspend(args) => commands::status::suspend(args).await,
        Command::Resume(args) => commands::status::resume(args).await,
        Command::Show(args) => commands::status::show(args).await,
        Command::Bench(args) => commands::bench::run(args).await,
        Command::Kmc(args) => commands::kmc::run(args).await,
        Command::Envelope(args) => commands::envelope::run(args).await,
        Command::Ra(args) => commands::ra::run(args).await,
        Command::Audit(args) => commands::audit::run(args).await,
    }
}

/// One clear line on stderr, and a non-zero exit.
fn report(e: &CliError) -> ExitCode {
    eprintln!("signet: {e}");
    ExitCode::from(e.exit_code())
}

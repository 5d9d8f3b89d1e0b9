//! Logs go to stderr: JSON lines (for SIEMs) or text. Services log at the
//! configured level; one-shot commands only warnings.

use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, LogFormat};

/// Installs the global subscriber.
pub fn init(cli: &Cli) {
    let long_running = matches!(cli.command, Command::Up(_) | Command::Ca(_));
    let filter = if long_running {
        EnvFilter::try_new(&cli.log).unwrap_or_else(|_| EnvFilter::new("info"))
    } else {
        EnvFilter::new("warn")
    };
    use std::io::IsTerminal as _;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match cli.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

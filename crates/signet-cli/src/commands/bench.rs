//! `signet bench`: see docs/benchmarks.md.

use crate::cli::BenchArgs;
use crate::error::CliError;

/// Runs a benchmark.
pub async fn run(_args: BenchArgs) -> Result<(), CliError> {
    Err(CliError::Usage("benchmarks are not built yet".into()))
}

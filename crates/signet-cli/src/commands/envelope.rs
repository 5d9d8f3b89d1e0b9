//! `signet envelope open --key sign-key.pem --in envelope.der`: the
//! subscriber's side of a dual certificate or a key recovery. Opens the
//! envelope the KMC made (GM/T 0009 `SM2EnvelopedKey` or CMS
//! `AuthEnvelopedData`) with the subscriber's signing key and writes the
//! encryption private key as PKCS#8 PEM. Runs offline; no service is asked.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use clap::{Args, Subcommand};
use signet_core::envelope::{PrivateKey, detect, open_private_key};
use zeroize::Zeroizing;

use crate::error::CliError;
use crate::home::write_private;

/// `signet envelope`.
#[derive(Debug, Args)]
pub struct EnvelopeArgs {
    #[command(subcommand)]
    pub action: EnvelopeAction,
}

/// What to do with an envelope.
#[derive(Debug, Subcommand)]
pub enum EnvelopeAction {
    /// Open an enveloped private key with the signing key it was sealed to.
    Open {
        /// The subscriber's signing private key, PEM (PKCS#8, SEC1 or PKCS#1).
        #[arg(long)]
        key: PathBuf,
        /// The envelope: DER, or its base64 as the KMC API returns it.
        #[arg(long = "in")]
        input: PathBuf,
        /// Where to write the private key (PKCS#8 PEM, mode 0600); default stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs `signet envelope ...`.
pub async fn run(args: EnvelopeArgs) -> Result<(), CliError> {
    match args.action {
        EnvelopeAction::Open { key, input, out } => open(&key, &input, out.as_deref()),
    }
}

fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>, CliError> {
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))
}

/// DER as given, or decoded from base64 (whitespace ignored).
fn envelope_der(bytes: &[u8]) -> Result<Vec<u8>, CliError> {
    if bytes.first() == Some(&0x30) {
        return Ok(bytes.to_vec());
    }
    let text: String = String::from_utf8_lossy(bytes)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| CliError::Usage("the envelope is neither DER nor base64".into()))
}

fn open(key: &Path, input: &Path, out: Option<&Path>) -> Result<(), CliError> {
    let key_pem = read(key)?;
    let key_text = std::str::from_utf8(&key_pem)
        .map_err(|_| CliError::Usage(format!("{} is not a PEM file", key.display())))?;
    let signing = PrivateKey::from_pem(key_text)
        .map_err(|e| CliError::Usage(format!("{}: {e}", key.display())))?;
    let envelope = envelope_der(&read(input)?)?;
    let format =
        detect(&envelope).map_err(|e| CliError::Usage(format!("{}: {e}", input.display())))?;
    let opened = open_private_key(&envelope, &signing)
        .map_err(|e| CliError::Refused(format!("{} ({format}): {e}", input.display())))?;
    let pem = opened
        .to_pkcs8_pem()
        .map_err(|e| CliError::Service(e.to_string()))?;
    match out {
        Some(path) => {
            write_private(path, pem.as_bytes())?;
            eprintln!(
                "{} private key written to {} ({format})",
                opened.key_type(),
                path.display()
            );
        }
        None => print!("{}", pem.as_str()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn envelopes_are_read_as_der_or_base64() {
        let der = vec![0x30, 0x03, 0x02, 0x01, 0x05];
        assert_eq!(envelope_der(&der).unwrap(), der);
        let text = format!(
            "{}\n",
            base64::engine::general_purpose::STANDARD.encode(&der)
        );
        assert_eq!(envelope_der(text.as_bytes()).unwrap(), der);
        assert!(envelope_der(b"not base64 !!").is_err());
    }
}

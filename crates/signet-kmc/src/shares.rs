//! Custodian share files: one Shamir share of the root storage key each.
//!
//! A share file is short text:
//!
//! ```text
//! # Signet KMC custodian share 1 of 3 ...
//! signet-kmc-share: 1
//! kmc-id: 6f0c...
//! root-version: 2
//! set-id: <hex>       the split this share belongs to
//! threshold: 2
//! shares: 3
//! index: 1
//! value: <hex>        the share itself (32 bytes for an AES-256 key)
//! check: <hex>        commitment to the secret (signet_core::shamir)
//! ```
//!
//! It may be sealed to a custodian's certificate: the text becomes the
//! content of a CMS `AuthEnvelopedData` (signet_core::envelope::seal_cms),
//! which the custodian opens with `signet kmc restore --key KEY` or with
//! `openssl cms -decrypt -inform DER -in share.p7m -inkey KEY`.

use std::fmt::Write as _;

use der::Decode as _;
use signet_core::SubjectKey;
use signet_core::envelope::{PrivateKey, open_cms, seal_cms};
use signet_core::shamir::Share;
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use zeroize::Zeroizing;

use crate::error::KmcError;

const FORMAT: &str = "1";

/// One custodian's share of a root storage key version.
#[derive(Clone, Debug)]
pub struct ShareFile {
    /// The KMC the key belongs to.
    pub kmc_id: String,
    /// The root version.
    pub root_version: i64,
    /// The share.
    pub share: Share,
}

fn bad(reason: impl Into<String>) -> KmcError {
    KmcError::Shares {
        reason: reason.into(),
    }
}

impl ShareFile {
    /// The file's text (zeroized when dropped).
    pub fn to_text(&self) -> Zeroizing<String> {
        let s = &self.share;
        let mut out = Zeroizing::new(String::new());
        let _ = write!(
            out,
            "# Signet KMC custodian share {index} of {total}: any {threshold} of the {total} \
             shares rebuild\n# root storage key v{root} of KMC {kmc}; fewer reveal nothing. Keep \
             it offline\n# and private; restore with `signet kmc restore --share FILE ...`.\n\
             signet-kmc-share: {FORMAT}\nkmc-id: {kmc}\nroot-version: {root}\nset-id: {set}\n\
             threshold: {threshold}\nshares: {total}\nindex: {index}\nvalue: {value}\n\
             check: {check}\n",
            index = s.index,
            total = s.total,
            threshold = s.threshold,
            root = self.root_version,
            kmc = self.kmc_id,
            set = hex::encode(s.set_id),
            value = Zeroizing::new(hex::encode(&*s.value)).as_str(),
            check = hex::encode(s.check),
        );
        out
    }

    /// Parses a share file's text.
    pub fn from_text(text: &str) -> Result<ShareFile, KmcError> {
        let mut fields = std::collections::HashMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line
                .split_once(':')
                .ok_or_else(|| bad("not a Signet KMC share file"))?;
            fields.insert(key.trim().to_owned(), value.trim().to_owned());
        }
        let get = |k: &str| {
            fields
                .get(k)
                .map(String::as_str)
                .ok_or_else(|| bad(format!("share file without `{k}`")))
        };
        if get("signet-kmc-share")? != FORMAT {
            return Err(bad("unknown share file format"));
        }
        let number = |k: &str| -> Result<u8, KmcError> {
            get(k)?
                .parse()
                .map_err(|_| bad(format!("`{k}` is not a number")))
        };
        let set_id: [u8; 16] = hex::decode(get("set-id")?)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| bad("bad set-id"))?;
        let check: [u8; 32] = hex::decode(get("check")?)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| bad("bad check value"))?;
        let value = Zeroizing::new(hex::decode(get("value")?).map_err(|_| bad("bad share value"))?);
        Ok(ShareFile {
            kmc_id: get("kmc-id")?.to_owned(),
            root_version: get("root-version")?
                .parse()
                .map_err(|_| bad("bad root-version"))?,
            share: Share {
                set_id,
                threshold: number("threshold")?,
                total: number("shares")?,
                index: number("index")?,
                value,
                check,
            },
        })
    }

    /// A file name for this share.
    pub fn file_name(&self, sealed: bool) -> String {
        format!(
            "kmc-root-v{}-share-{}-of-{}.{}",
            self.root_version,
            self.share.index,
            self.share.total,
            if sealed { "p7m" } else { "txt" }
        )
    }

    /// The share sealed to a custodian's certificate (PEM or DER): CMS
    /// `AuthEnvelopedData`, DER, addressed by the certificate's
    /// subjectKeyIdentifier (or the key's SHA-1 when it has none).
    pub fn seal_to(&self, certificate: &[u8]) -> Result<Vec<u8>, KmcError> {
        let der = if certificate.starts_with(b"-----") {
            signet_core::pem::certificates_from_pem(certificate)
                .ok()
                .and_then(|mut c| (!c.is_empty()).then(|| c.remove(0)))
                .ok_or_else(|| bad("the custodian certificate is not PEM"))?
        } else {
            certificate.to_vec()
        };
        let cert =
            Certificate::from_der(&der).map_err(|_| bad("unreadable custodian certificate"))?;
        let spki = der::Encode::to_der(cert.tbs_certificate().subject_public_key_info())
            .map_err(|_| bad("unreadable custodian public key"))?;
        let key =
            SubjectKey::from_spki_der(&spki).map_err(|e| bad(format!("custodian key: {e}")))?;
        let ski = cert
            .tbs_certificate()
            .get_extension::<SubjectKeyIdentifier>()
            .ok()
            .flatten()
            .map(|(_, ski)| ski.0.as_bytes().to_vec());
        Ok(seal_cms(
            &key,
            ski.as_deref(),
            self.to_text().as_bytes(),
            &mut rand::rng(),
        )?)
    }

    /// Reads a share file: plain text, or sealed (CMS DER) and opened with
    /// one of `keys`.
    pub fn open(bytes: &[u8], keys: &[PrivateKey]) -> Result<ShareFile, KmcError> {
        if bytes.first() != Some(&0x30) {
            let text = std::str::from_utf8(bytes).map_err(|_| bad("not a share file"))?;
            return Self::from_text(text);
        }
        if keys.is_empty() {
            return Err(bad(
                "the share is sealed to a custodian: give the custodian's key (--key)",
            ));
        }
        for key in keys {
            if let Ok(text) = open_cms(bytes, key) {
                let text = std::str::from_utf8(&text).map_err(|_| bad("not a share file"))?;
                return Self::from_text(text);
            }
        }
        Err(bad("no given key opens the sealed share"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_core::shamir;

    fn sample() -> Vec<ShareFile> {
        shamir::split(&[0x42; 32], 2, 3, &mut rand::rng())
            .unwrap()
            .into_iter()
            .map(|share| ShareFile {
                kmc_id: "00112233aabbccdd".into(),
                root_version: 3,
                share,
            })
            .collect()
    }

    #[test]
    fn share_files_round_trip_through_text() {
        let files = sample();
        let text = files[1].to_text();
        assert!(text.starts_with("# Signet KMC custodian share 2 of 3"));
        let back = ShareFile::from_text(&text).unwrap();
        assert_eq!(back.kmc_id, "00112233aabbccdd");
        assert_eq!(back.root_version, 3);
        assert_eq!(back.share.index, 2);
        assert_eq!(back.share.threshold, 2);
        assert_eq!(back.share.value, files[1].share.value);
        assert_eq!(back.file_name(false), "kmc-root-v3-share-2-of-3.txt");
        // Text files need no key; a rebuilt pair gives the secret back.
        let a = ShareFile::open(files[0].to_text().as_bytes(), &[]).unwrap();
        let secret = shamir::combine(&[a.share, back.share]).unwrap();
        assert_eq!(&secret[..], &[0x42; 32]);
        // Debug never shows the share value.
        assert!(!format!("{:?}", files[0]).contains(&hex::encode(&*files[0].share.value)));
    }

    #[test]
    fn damaged_share_files_are_refused() {
        let text = sample()[0].to_text();
        for (from, to) in [
            ("signet-kmc-share: 1", "signet-kmc-share: 9"),
            ("threshold: 2", "threshold: two"),
            ("value: ", "value: zz"),
        ] {
            let bad = text.replacen(from, to, 1);
            assert!(ShareFile::from_text(&bad).is_err(), "{to}");
        }
        let without_check: String = text
            .lines()
            .filter(|l| !l.starts_with("check:"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(ShareFile::from_text(&without_check).is_err());
        assert!(ShareFile::from_text("not a share").is_err());
        // A sealed (DER) share without keys says what is missing.
        let err = ShareFile::open(&[0x30, 0x00], &[]).unwrap_err();
        assert!(err.to_string().contains("--key"));
    }
}

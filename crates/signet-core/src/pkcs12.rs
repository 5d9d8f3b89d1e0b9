//! PKCS#12 (RFC 7292) files holding one private key and its certificates,
//! written the way OpenSSL 3 writes them by default (`openssl pkcs12
//! -export`):
//!
//! - the private key in a `pkcs8ShroudedKeyBag`, encrypted with PBES2
//!   (RFC 8018 §6.2): PBKDF2-HMAC-SHA256 and AES-256-CBC;
//! - the certificates in `certBag`s inside an `EncryptedData` safe, with
//!   the same PBES2 scheme (its own salt and IV);
//! - `friendlyName` and `localKeyId` (SHA-1 of the certificate, as OpenSSL
//!   sets it) on the key and on the end-entity certificate, so readers
//!   pair them; chain certificates carry no attributes;
//! - an HMAC-SHA-256 over the `AuthenticatedSafe`, keyed by the RFC 7292
//!   Appendix B key derivation with SHA-256.
//!
//! Who reads them: OpenSSL 1.1.1 and 3, current browsers and NSS,
//! Windows 10 1709 / Server 2019 and later, Java 8u301, 11.0.12, 12 and
//! later (the SHA-256 MAC), current .NET. Older Windows and older macOS
//! keychains know only the legacy PKCS#12 schemes (3DES/RC2 with SHA-1)
//! and refuse these files; this module writes no legacy format. Readers
//! also bound the iteration counts ([`Pkcs12Iterations`]).
//!
//! ```text
//! PFX ::= SEQUENCE {
//!   version    INTEGER {v3(3)}(v3,...),
//!   authSafe   ContentInfo,
//!   macData    MacData OPTIONAL }
//! MacData ::= SEQUENCE {
//!   mac        DigestInfo,
//!   macSalt    OCTET STRING,
//!   iterations INTEGER DEFAULT 1 }
//! AuthenticatedSafe ::= SEQUENCE OF ContentInfo
//! SafeContents ::= SEQUENCE OF SafeBag
//! SafeBag ::= SEQUENCE {
//!   bagId          BAG-TYPE.&id ({PKCS12BagSet}),
//!   bagValue       [0] EXPLICIT BAG-TYPE.&Type({PKCS12BagSet}{@bagId}),
//!   bagAttributes  SET OF PKCS12Attribute OPTIONAL }
//! CertBag ::= SEQUENCE {
//!   certId    BAG-TYPE.&id   ({CertTypes}),
//!   certValue [0] EXPLICIT BAG-TYPE.&Type ({CertTypes}{@certId}) }
//! ```
//!
//! The password is used as its UTF-8 bytes for PBKDF2 (as OpenSSL 3 does)
//! and as a NUL-terminated BMPString for the MAC key (RFC 7292 App. B.1).

use std::num::NonZeroU32;

use const_oid::ObjectIdentifier;
use der::asn1::{BmpString, OctetString, SetOfVec};
use der::{Any, Encode as _, Sequence};
use sha2::Digest as _;
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use zeroize::{Zeroize as _, Zeroizing};

/// OIDs of the structures written here.
mod oid {
    use const_oid::ObjectIdentifier;

    /// `id-data` (RFC 5652 §4).
    pub const DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
    /// `id-encryptedData` (RFC 5652 §8).
    pub const ENCRYPTED_DATA: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
    /// `pkcs8ShroudedKeyBag` (RFC 7292 §4.2.2).
    pub const SHROUDED_KEY_BAG: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
    /// `certBag` (RFC 7292 §4.2.3).
    pub const CERT_BAG: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.3");
    /// `x509Certificate` cert type (RFC 7292 §4.2.3).
    pub const X509_CERTIFICATE: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.22.1");
    /// `friendlyName` (PKCS#9, RFC 2985 §5.5.1).
    pub const FRIENDLY_NAME: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.20");
    /// `localKeyId` (PKCS#9, RFC 2985 §5.5.2).
    pub const LOCAL_KEY_ID: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.21");
    /// `id-PBES2` (RFC 8018 Appendix A.4).
    pub const PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
    /// `id-PBKDF2` (RFC 8018 Appendix A.2).
    pub const PBKDF2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.12");
    /// `id-hmacWithSHA256` (RFC 8018 Appendix B.1.2).
    pub const HMAC_WITH_SHA256: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.2.9");
    /// `aes256-CBC-PAD` (RFC 8018 Appendix B.2.5).
    pub const AES256_CBC: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.42");
    /// `id-sha256` (RFC 5754 §2.2).
    pub const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
}

/// Salt length for PBKDF2 and the MAC, bytes. NIST SP 800-132 §5.1 asks
/// for at least 128 bits (OpenSSL writes 8 bytes; readers take any length).
const SALT_LEN: usize = 16;

/// Why a PKCS#12 file could not be written. Never carries the password or
/// key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Pkcs12Error {
    /// An input was not what the format needs.
    #[error("PKCS#12 input: {reason}")]
    Invalid {
        /// What was wrong.
        reason: &'static str,
    },
    /// DER encoding failed.
    #[error("PKCS#12 encoding: {0}")]
    Encoding(#[from] der::Error),
    /// A cryptographic primitive failed.
    #[error("PKCS#12 {what} failed")]
    Crypto {
        /// Which step.
        what: &'static str,
    },
}

/// Iteration counts of the password-based schemes, validated: the fields
/// are private, so a value out of range cannot be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pkcs12Iterations {
    pbkdf2: NonZeroU32,
    mac: NonZeroU32,
}

impl Pkcs12Iterations {
    /// Fewest PBKDF2 iterations: NIST SP 800-132 §5.2 asks for at least
    /// 1,000.
    pub const MIN_PBKDF2: u32 = 1_000;
    /// Most PBKDF2 iterations. Readers bound what they accept: Java's
    /// PKCS12 KeyStore refuses counts above `keystore.pkcs12.
    /// maxIterationCount` (5,000,000 by default) and .NET's loader above
    /// its own limit (600,000 total work by default, `X509Certificate2`
    /// since .NET 7), and every reader pays the count on each open; a
    /// million is already a long wait on a phone.
    pub const MAX_PBKDF2: u32 = 1_000_000;
    /// Fewest MAC iterations. RFC 7292 §4 makes `iterations` DEFAULT 1,
    /// so DER must omit a count of 1; requiring at least 2 keeps the
    /// field always present (and a single round is no cost to a guesser).
    pub const MIN_MAC: u32 = 2;
    /// Most MAC iterations.
    pub const MAX_MAC: u32 = 1_000_000;

    /// Checks both counts against the bounds above.
    pub fn new(pbkdf2: u32, mac: u32) -> Result<Self, Pkcs12Error> {
        let pbkdf2 = NonZeroU32::new(pbkdf2)
            .filter(|n| (Self::MIN_PBKDF2..=Self::MAX_PBKDF2).contains(&n.get()))
            .ok_or(Pkcs12Error::Invalid {
                reason: "PBKDF2 iterations must be 1,000 to 1,000,000",
            })?;
        let mac = NonZeroU32::new(mac)
            .filter(|n| (Self::MIN_MAC..=Self::MAX_MAC).contains(&n.get()))
            .ok_or(Pkcs12Error::Invalid {
                reason: "MAC iterations must be 2 to 1,000,000",
            })?;
        Ok(Pkcs12Iterations { pbkdf2, mac })
    }

    /// PBKDF2 iterations for the key and certificate encryption.
    pub fn pbkdf2(self) -> NonZeroU32 {
        self.pbkdf2
    }

    /// Iterations of the RFC 7292 App. B derivation of the MAC key.
    pub fn mac(self) -> NonZeroU32 {
        self.mac
    }
}

impl Default for Pkcs12Iterations {
    /// 100,000 PBKDF2 iterations (OpenSSL 3 writes 2048; NIST SP 800-132
    /// asks for at least 1,000 and more where the cost is bearable) and
    /// 2048 MAC iterations (OpenSSL's default: the MAC guards integrity,
    /// the PBKDF2 count already prices each password guess).
    fn default() -> Self {
        Pkcs12Iterations {
            pbkdf2: NonZeroU32::new(100_000).unwrap_or(NonZeroU32::MIN),
            mac: NonZeroU32::new(2048).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// What goes into the file.
#[derive(Clone, Copy)]
pub struct Pkcs12Contents<'a> {
    /// The private key, PKCS#8 `PrivateKeyInfo` DER.
    pub private_key_pkcs8: &'a [u8],
    /// The end-entity certificate, DER.
    pub certificate: &'a [u8],
    /// Further certificates (the chain), DER, in order.
    pub chain: &'a [Vec<u8>],
    /// The `friendlyName` readers show for the key and certificate.
    pub friendly_name: &'a str,
}

impl std::fmt::Debug for Pkcs12Contents<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs12Contents")
            .field("friendly_name", &self.friendly_name)
            .field("chain", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// `ContentInfo` (RFC 5652 §3).
///
/// ```text
/// ContentInfo ::= SEQUENCE {
///   contentType ContentType,
///   content [0] EXPLICIT ANY DEFINED BY contentType }
/// ```
#[derive(Sequence)]
struct ContentInfo {
    content_type: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    content: Any,
}

/// `SafeBag` (RFC 7292 §4.2).
#[derive(Sequence)]
struct SafeBag {
    bag_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    bag_value: Any,
    bag_attributes: Option<SetOfVec<Attribute>>,
}

/// `CertBag` (RFC 7292 §4.2.3).
#[derive(Sequence)]
struct CertBag {
    cert_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    cert_value: OctetString,
}

/// `EncryptedPrivateKeyInfo` (RFC 5958 §3).
///
/// ```text
/// EncryptedPrivateKeyInfo ::= SEQUENCE {
///   encryptionAlgorithm  EncryptionAlgorithmIdentifier,
///   encryptedData        EncryptedData }
/// ```
#[derive(Sequence)]
struct EncryptedPrivateKeyInfo {
    encryption_algorithm: AlgorithmIdentifierOwned,
    encrypted_data: OctetString,
}

/// `EncryptedData` (RFC 5652 §8), without unprotected attributes.
///
/// ```text
/// EncryptedData ::= SEQUENCE {
///   version CMSVersion,
///   encryptedContentInfo EncryptedContentInfo,
///   unprotectedAttrs [1] IMPLICIT UnprotectedAttributes OPTIONAL }
/// EncryptedContentInfo ::= SEQUENCE {
///   contentType ContentType,
///   contentEncryptionAlgorithm ContentEncryptionAlgorithmIdentifier,
///   encryptedContent [0] IMPLICIT EncryptedContent OPTIONAL }
/// ```
#[derive(Sequence)]
struct EncryptedData {
    version: u8,
    encrypted_content_info: EncryptedContentInfo,
}

#[derive(Sequence)]
struct EncryptedContentInfo {
    content_type: ObjectIdentifier,
    content_encryption_algorithm: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    encrypted_content: OctetString,
}

/// `PBES2-params` (RFC 8018 Appendix A.4).
///
/// ```text
/// PBES2-params ::= SEQUENCE {
///   keyDerivationFunc AlgorithmIdentifier {{PBES2-KDFs}},
///   encryptionScheme  AlgorithmIdentifier {{PBES2-Encs}} }
/// ```
#[derive(Sequence)]
struct Pbes2Params {
    key_derivation_func: AlgorithmIdentifierOwned,
    encryption_scheme: AlgorithmIdentifierOwned,
}

/// `PBKDF2-params` (RFC 8018 Appendix A.2), salt `specified`, no key
/// length (AES-256 fixes it), PRF hmacWithSHA256 (so not the DEFAULT and
/// written out).
///
/// ```text
/// PBKDF2-params ::= SEQUENCE {
///   salt CHOICE { specified OCTET STRING, otherSource AlgorithmIdentifier },
///   iterationCount INTEGER (1..MAX),
///   keyLength INTEGER (1..MAX) OPTIONAL,
///   prf AlgorithmIdentifier {{PBKDF2-PRFs}} DEFAULT algid-hmacWithSHA1 }
/// ```
#[derive(Sequence)]
struct Pbkdf2Params {
    salt: OctetString,
    iteration_count: u32,
    prf: AlgorithmIdentifierOwned,
}

/// `PFX` (RFC 7292 §4).
#[derive(Sequence)]
struct Pfx {
    version: u8,
    auth_safe: ContentInfo,
    mac_data: MacData,
}

/// `MacData` (RFC 7292 §4).
#[derive(Sequence)]
struct MacData {
    mac: DigestInfo,
    mac_salt: OctetString,
    iterations: u32,
}

/// `DigestInfo` (RFC 8017 §9.2).
#[derive(Sequence)]
struct DigestInfo {
    digest_algorithm: AlgorithmIdentifierOwned,
    digest: OctetString,
}

fn crypto(what: &'static str) -> Pkcs12Error {
    Pkcs12Error::Crypto { what }
}

fn data_content(bytes: Vec<u8>) -> Result<ContentInfo, Pkcs12Error> {
    Ok(ContentInfo {
        content_type: oid::DATA,
        content: Any::encode_from(&OctetString::new(bytes)?)?,
    })
}

/// Encrypts `plain` with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) under a
/// fresh salt and IV; returns the algorithm identifier and the ciphertext.
fn pbes2_encrypt<R: rand_core::CryptoRng + ?Sized>(
    password: &[u8],
    plain: &[u8],
    iterations: NonZeroU32,
    rng: &mut R,
) -> Result<(AlgorithmIdentifierOwned, Vec<u8>), Pkcs12Error> {
    use cbc::cipher::{BlockModeEncrypt as _, KeyIvInit as _, block_padding::Pkcs7};

    let mut salt = [0u8; SALT_LEN];
    rng.fill_bytes(&mut salt);
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);
    let mut key = Zeroizing::new([0u8; 32]);
    aws_lc_rs::pbkdf2::derive(
        aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        password,
        key.as_mut_slice(),
    );
    let ciphertext = cbc::Encryptor::<aes::Aes256>::new_from_slices(key.as_slice(), &iv)
        .map_err(|_| crypto("AES-256-CBC"))?
        .encrypt_padded_vec::<Pkcs7>(plain);
    let kdf = Pbkdf2Params {
        salt: OctetString::new(salt.to_vec())?,
        iteration_count: iterations.get(),
        prf: AlgorithmIdentifierOwned {
            oid: oid::HMAC_WITH_SHA256,
            parameters: Some(der::asn1::Null.into()),
        },
    };
    let params = Pbes2Params {
        key_derivation_func: AlgorithmIdentifierOwned {
            oid: oid::PBKDF2,
            parameters: Some(Any::encode_from(&kdf)?),
        },
        encryption_scheme: AlgorithmIdentifierOwned {
            oid: oid::AES256_CBC,
            parameters: Some(Any::encode_from(&OctetString::new(iv.to_vec())?)?),
        },
    };
    let algorithm = AlgorithmIdentifierOwned {
        oid: oid::PBES2,
        parameters: Some(Any::encode_from(&params)?),
    };
    Ok((algorithm, ciphertext))
}

/// The key derivation of RFC 7292 Appendix B.2 with SHA-256 (u = 32,
/// v = 64 bytes). `password` is the BMPString with its two-byte NUL
/// terminator (App. B.1); `id` 1 derives keys, 2 IVs, 3 MAC keys.
pub fn pkcs12_kdf_sha256(
    password: &[u8],
    salt: &[u8],
    id: u8,
    iterations: NonZeroU32,
    len: usize,
) -> Zeroizing<Vec<u8>> {
    const U: usize = 32;
    const V: usize = 64;
    // Step 2-3: S and P, each its input repeated to a multiple of v.
    let stretch = |input: &[u8]| -> Zeroizing<Vec<u8>> {
        let n = input.len().div_ceil(V) * V;
        Zeroizing::new(input.iter().copied().cycle().take(n).collect())
    };
    // Step 4: I = S || P.
    let mut i_block = stretch(salt);
    i_block.extend_from_slice(&stretch(password));
    let d = [id; V];
    let mut out = Zeroizing::new(Vec::with_capacity(len.div_ceil(U) * U));
    while out.len() < len {
        // Step 6a: A = H^r(D || I).
        // A and B are key material: zeroized when dropped.
        let mut a: Zeroizing<[u8; U]> = Zeroizing::new(
            sha2::Sha256::new()
                .chain_update(d)
                .chain_update(i_block.as_slice())
                .finalize()
                .into(),
        );
        for _ in 1..iterations.get() {
            let mut next = sha2::Sha256::digest(a.as_slice());
            a.copy_from_slice(&next);
            next.zeroize();
        }
        out.extend_from_slice(a.as_slice());
        if out.len() >= len {
            break;
        }
        // Step 6b-c: B = A repeated to v bytes; each v-byte block I_j of I
        // becomes (I_j + B + 1) mod 2^(8v).
        let b: Zeroizing<Vec<u8>> = Zeroizing::new(a.iter().copied().cycle().take(V).collect());
        for block in i_block.chunks_mut(V) {
            let mut carry = 1u16;
            for (x, y) in block.iter_mut().zip(b.iter()).rev() {
                let sum = u16::from(*x) + u16::from(*y) + carry;
                *x = u8::try_from(sum & 0xff).unwrap_or_default();
                carry = sum >> 8;
            }
        }
    }
    out.truncate(len);
    out
}

/// The password as RFC 7292 App. B.1 feeds it to the MAC key derivation:
/// big-endian UTF-16 followed by two zero bytes.
fn bmp_password(password: &str) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(password.len() * 2 + 2));
    for unit in password.encode_utf16() {
        out.extend_from_slice(&unit.to_be_bytes());
    }
    out.extend_from_slice(&[0, 0]);
    out
}

/// `friendlyName` is a BMPString (RFC 2985 §5.5.1): UCS-2, so characters
/// beyond the Basic Multilingual Plane (emoji, CJK Extension B, ...) have
/// no encoding. Each becomes U+FFFD, so a subject with one still gets a
/// file (the certificate keeps the exact name).
fn bmp_friendly_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.len_utf16() == 1 {
                c
            } else {
                char::REPLACEMENT_CHARACTER
            }
        })
        .collect()
}

fn attributes(
    friendly_name: &str,
    local_key_id: &[u8],
) -> Result<SetOfVec<Attribute>, Pkcs12Error> {
    let name = Attribute {
        oid: oid::FRIENDLY_NAME,
        values: SetOfVec::try_from(vec![Any::encode_from(&BmpString::from_utf8(
            &bmp_friendly_name(friendly_name),
        )?)?])?,
    };
    let key_id = Attribute {
        oid: oid::LOCAL_KEY_ID,
        values: SetOfVec::try_from(vec![Any::encode_from(&OctetString::new(local_key_id)?)?])?,
    };
    Ok(SetOfVec::try_from(vec![name, key_id])?)
}

fn cert_bag(der: &[u8], attrs: Option<SetOfVec<Attribute>>) -> Result<SafeBag, Pkcs12Error> {
    let bag = CertBag {
        cert_id: oid::X509_CERTIFICATE,
        cert_value: OctetString::new(der)?,
    };
    Ok(SafeBag {
        bag_id: oid::CERT_BAG,
        bag_value: Any::encode_from(&bag)?,
        bag_attributes: attrs,
    })
}

/// Writes a PKCS#12 file (DER) holding `contents`, protected by
/// `password`. Salts and IVs come from `rng`.
pub fn write_pkcs12<R: rand_core::CryptoRng + ?Sized>(
    contents: &Pkcs12Contents<'_>,
    password: &str,
    iterations: Pkcs12Iterations,
    rng: &mut R,
) -> Result<Vec<u8>, Pkcs12Error> {
    if password.is_empty() {
        return Err(Pkcs12Error::Invalid {
            reason: "empty password",
        });
    }
    if contents.certificate.is_empty() || contents.private_key_pkcs8.is_empty() {
        return Err(Pkcs12Error::Invalid {
            reason: "no certificate or no key",
        });
    }
    // OpenSSL's localKeyId is the SHA-1 of the certificate.
    let local_key_id = sha1::Sha1::digest(contents.certificate);

    // The certificates, in an encrypted safe.
    let mut cert_bags = vec![cert_bag(
        contents.certificate,
        Some(attributes(contents.friendly_name, &local_key_id)?),
    )?];
    for cert in contents.chain {
        cert_bags.push(cert_bag(cert, None)?);
    }
    let cert_safe = cert_bags.to_der()?;
    let (algorithm, ciphertext) =
        pbes2_encrypt(password.as_bytes(), &cert_safe, iterations.pbkdf2, rng)?;
    let encrypted = EncryptedData {
        version: 0,
        encrypted_content_info: EncryptedContentInfo {
            content_type: oid::DATA,
            content_encryption_algorithm: algorithm,
            encrypted_content: OctetString::new(ciphertext)?,
        },
    };
    let certs = ContentInfo {
        content_type: oid::ENCRYPTED_DATA,
        content: Any::encode_from(&encrypted)?,
    };

    // The key, shrouded, in a plain `data` safe.
    let (algorithm, ciphertext) = pbes2_encrypt(
        password.as_bytes(),
        contents.private_key_pkcs8,
        iterations.pbkdf2,
        rng,
    )?;
    let shrouded = EncryptedPrivateKeyInfo {
        encryption_algorithm: algorithm,
        encrypted_data: OctetString::new(ciphertext)?,
    };
    let key_bag = SafeBag {
        bag_id: oid::SHROUDED_KEY_BAG,
        bag_value: Any::encode_from(&shrouded)?,
        bag_attributes: Some(attributes(contents.friendly_name, &local_key_id)?),
    };
    let key = data_content(vec![key_bag].to_der()?)?;

    // The MAC over the AuthenticatedSafe's encoding.
    let auth_safe = vec![certs, key].to_der()?;
    let mut mac_salt = [0u8; SALT_LEN];
    rng.fill_bytes(&mut mac_salt);
    let mac_key = pkcs12_kdf_sha256(&bmp_password(password), &mac_salt, 3, iterations.mac, 32);
    let tag = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &mac_key),
        &auth_safe,
    );
    let pfx = Pfx {
        version: 3,
        auth_safe: data_content(auth_safe)?,
        mac_data: MacData {
            mac: DigestInfo {
                digest_algorithm: AlgorithmIdentifierOwned {
                    oid: oid::SHA256,
                    parameters: None,
                },
                digest: OctetString::new(tag.as_ref())?,
            },
            mac_salt: OctetString::new(mac_salt.to_vec())?,
            iterations: iterations.mac.get(),
        },
    };
    Ok(pfx.to_der()?)
}

#[cfg(test)]
mod tests;

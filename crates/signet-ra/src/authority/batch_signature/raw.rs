//! The bytes of a `SignedData` exactly as the signer wrote them.
//!
//! Decoding into `cms` types and encoding again is not the identity: `der`
//! sorts a `SET OF` as it decodes, so a signer whose signed attributes are
//! not in DER order would have its signature checked over bytes it never
//! signed, and a certificate re-encoded is not necessarily the one whose
//! SHA-256 was registered. So the two byte strings that are hashed, the
//! signed attributes (RFC 5652 §5.4) and the certificates, are taken from
//! the signature file itself by this small DER walker; the decoded types
//! serve only to read values.
//!
//! ```text
//! ContentInfo ::= SEQUENCE { contentType, content [0] EXPLICIT SignedData }
//! SignedData ::= SEQUENCE {
//!     version CMSVersion,
//!     digestAlgorithms SET OF DigestAlgorithmIdentifier,
//!     encapContentInfo EncapsulatedContentInfo,
//!     certificates [0] IMPLICIT CertificateSet OPTIONAL,
//!     crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
//!     signerInfos SET OF SignerInfo }
//! SignerInfo ::= SEQUENCE {
//!     version, sid, digestAlgorithm,
//!     signedAttrs [0] IMPLICIT SignedAttributes OPTIONAL, ... }
//! ```

/// One DER element: its tag, the whole encoding and the contents.
#[derive(Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    whole: &'a [u8],
    contents: &'a [u8],
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
/// `[0]` constructed, context-specific.
const CONTEXT_0: u8 = 0xa0;

/// Reads the element at the start of `input` and advances past it.
/// Definite lengths only (DER), single-byte tags only: CMS needs no more.
fn next<'a>(input: &mut &'a [u8]) -> Option<Tlv<'a>> {
    let data = *input;
    let (&tag, rest) = data.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        // 0x80 is BER's indefinite length; more than 4 bytes is absurd.
        if n == 0 || n > 4 {
            return None;
        }
        let (bytes, rest) = rest.split_at_checked(n)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest)
    };
    let contents = rest.get(..len)?;
    let header = data.len() - rest.len();
    let whole = data.get(..header + len)?;
    *input = data.get(header + len..)?;
    Some(Tlv {
        tag,
        whole,
        contents,
    })
}

/// The elements inside `contents`, or `None` if they do not parse.
fn children(mut contents: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !contents.is_empty() {
        out.push(next(&mut contents)?);
    }
    Some(out)
}

/// What is hashed, as the signer wrote it.
pub(super) struct RawSignedData<'a> {
    /// Every certificate of the `certificates` field (`Certificate`
    /// choice, a SEQUENCE), DER as carried.
    pub certificates: Vec<&'a [u8]>,
    /// The signed attributes of the first `SignerInfo`, re-tagged as the
    /// signature covers them: `0x31` followed by the original length and
    /// contents of the `[0] IMPLICIT` field. `None` without attributes.
    pub signed_attrs: Option<Vec<u8>>,
}

/// Walks a `ContentInfo` holding a `SignedData` (`None` if it is not
/// one, or not DER).
pub(super) fn signed_data(der: &[u8]) -> Option<RawSignedData<'_>> {
    let mut input = der;
    let content_info = next(&mut input).filter(|t| t.tag == SEQUENCE)?;
    let [_, explicit] = children(content_info.contents)?[..] else {
        return None;
    };
    if explicit.tag != CONTEXT_0 {
        return None;
    }
    let [signed_data] = children(explicit.contents)?[..] else {
        return None;
    };
    if signed_data.tag != SEQUENCE {
        return None;
    }
    let fields = children(signed_data.contents)?;
    // version, digestAlgorithms, encapContentInfo, then the optional
    // [0] certificates and [1] crls, and signerInfos last.
    let certificates = match fields.get(3) {
        Some(t) if t.tag == CONTEXT_0 => children(t.contents)?
            .into_iter()
            .filter(|c| c.tag == SEQUENCE)
            .map(|c| c.whole)
            .collect(),
        _ => Vec::new(),
    };
    let signer_infos = fields.last().filter(|t| t.tag == SET)?;
    let first = children(signer_infos.contents)?
        .into_iter()
        .next()
        .filter(|t| t.tag == SEQUENCE)?;
    // version, sid (a SEQUENCE or a primitive [0]), digestAlgorithm, then
    // signedAttrs if the next element is a constructed [0].
    let signed_attrs = children(first.contents)?
        .get(3)
        .filter(|t| t.tag == CONTEXT_0)
        .map(|t| {
            let mut bytes = t.whole.to_vec();
            if let Some(tag) = bytes.first_mut() {
                *tag = SET;
            }
            bytes
        });
    Some(RawSignedData {
        certificates,
        signed_attrs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lengths_and_refuses_indefinite_or_truncated_ones() {
        let mut input: &[u8] = &[0x04, 0x02, 0xaa, 0xbb, 0x05, 0x00];
        let t = next(&mut input).unwrap();
        assert_eq!(
            (t.tag, t.contents, t.whole.len()),
            (0x04, &[0xaa, 0xbb][..], 4)
        );
        assert_eq!(input, &[0x05, 0x00]);
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([7u8; 0x80]);
        let mut input = long.as_slice();
        assert_eq!(next(&mut input).unwrap().contents.len(), 0x80);
        assert!(input.is_empty());
        for bad in [
            &[0x30, 0x80, 0x00, 0x00][..],
            &[0x04, 0x03, 0x01],
            &[0x1f, 0x01, 0x00],
            &[0x04],
        ] {
            let mut input = bad;
            assert!(next(&mut input).is_none(), "{bad:02x?}");
        }
    }

    /// Signed attributes out of DER order keep their order: the bytes
    /// handed to the verifier are the signer's, tag changed to SET.
    #[test]
    fn signed_attributes_are_taken_as_written() {
        let attr_b = [0x30, 0x03, 0x06, 0x01, 0x02];
        let attr_a = [0x30, 0x03, 0x06, 0x01, 0x01];
        let mut attrs = vec![0xa0, 0x0a];
        attrs.extend(attr_b);
        attrs.extend(attr_a);
        let mut signer = vec![0x02, 0x01, 0x01, 0x30, 0x00, 0x30, 0x00];
        signer.extend(&attrs);
        let signer = [&[0x30, u8::try_from(signer.len()).unwrap()][..], &signer].concat();
        let cert = [0x30, 0x02, 0x05, 0x00];
        let mut sd = vec![0x02, 0x01, 0x01, 0x31, 0x00, 0x30, 0x00, 0xa0, 0x04];
        sd.extend(cert);
        sd.extend([0x31, u8::try_from(signer.len()).unwrap()]);
        sd.extend(&signer);
        let sd = [&[0x30, u8::try_from(sd.len()).unwrap()][..], &sd].concat();
        let explicit = [&[0xa0, u8::try_from(sd.len()).unwrap()][..], &sd].concat();
        let mut ci = vec![0x06, 0x01, 0x00];
        ci.extend(&explicit);
        let ci = [&[0x30, u8::try_from(ci.len()).unwrap()][..], &ci].concat();
        let raw = signed_data(&ci).unwrap();
        assert_eq!(raw.certificates, vec![&cert[..]]);
        let mut expected = attrs.clone();
        expected[0] = 0x31;
        assert_eq!(raw.signed_attrs.unwrap(), expected);
    }
}

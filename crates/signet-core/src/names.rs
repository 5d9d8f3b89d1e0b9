//! Distinguished-name attributes and general names as text.
//!
//! Profiles name subject attributes by their RFC 4514 short names; this
//! module maps them to OIDs and reads attribute values as strings.

use std::net::IpAddr;

use const_oid::ObjectIdentifier;
use der::asn1::{Ia5StringRef, PrintableStringRef, Utf8StringRef};
use der::{Tag, Tagged};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

/// Subject attribute types a profile may name, with their OIDs
/// (RFC 4519 §2, RFC 2985 §5.2.1 for emailAddress, RFC 4524 for DC/UID).
pub const ATTRIBUTES: &[(&str, ObjectIdentifier)] = &[
    ("CN", ObjectIdentifier::new_unwrap("2.5.4.3")),
    ("SN", ObjectIdentifier::new_unwrap("2.5.4.4")),
    ("SERIALNUMBER", ObjectIdentifier::new_unwrap("2.5.4.5")),
    ("C", ObjectIdentifier::new_unwrap("2.5.4.6")),
    ("L", ObjectIdentifier::new_unwrap("2.5.4.7")),
    ("ST", ObjectIdentifier::new_unwrap("2.5.4.8")),
    ("STREET", ObjectIdentifier::new_unwrap("2.5.4.9")),
    ("O", ObjectIdentifier::new_unwrap("2.5.4.10")),
    ("OU", ObjectIdentifier::new_unwrap("2.5.4.11")),
    ("T", ObjectIdentifier::new_unwrap("2.5.4.12")),
    ("POSTALCODE", ObjectIdentifier::new_unwrap("2.5.4.17")),
    ("GN", ObjectIdentifier::new_unwrap("2.5.4.42")),
    (
        "ORGANIZATIONIDENTIFIER",
        ObjectIdentifier::new_unwrap("2.5.4.97"),
    ),
    (
        "UID",
        ObjectIdentifier::new_unwrap("0.9.2342.19200300.100.1.1"),
    ),
    (
        "DC",
        ObjectIdentifier::new_unwrap("0.9.2342.19200300.100.1.25"),
    ),
    (
        "EMAILADDRESS",
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1"),
    ),
];

/// The OID of the commonName attribute.
pub const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// The OID of the countryName attribute.
pub const COUNTRY_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");

/// The OID for an attribute short name (case-insensitive; `E`/`EMAIL` for
/// emailAddress and `GIVENNAME`/`SURNAME` are accepted too).
pub fn attribute_oid(name: &str) -> Option<ObjectIdentifier> {
    let upper = name.trim().to_ascii_uppercase();
    let canonical = match upper.as_str() {
        "E" | "EMAIL" => "EMAILADDRESS",
        "GIVENNAME" => "GN",
        "SURNAME" => "SN",
        "TITLE" => "T",
        other => other,
    };
    ATTRIBUTES
        .iter()
        .find(|(n, _)| *n == canonical)
        .map(|(_, oid)| *oid)
}

/// The short name for an attribute OID, or its dotted form.
pub fn attribute_name(oid: ObjectIdentifier) -> String {
    ATTRIBUTES
        .iter()
        .find(|(_, o)| *o == oid)
        .map(|(n, _)| (*n).to_owned())
        .unwrap_or_else(|| oid.to_string())
}

/// The text of an attribute value, for the string types RFC 5280 allows
/// (PrintableString, UTF8String, IA5String). Other encodings yield `None`.
pub fn attribute_text(atv: &AttributeTypeAndValue) -> Option<String> {
    let value = &atv.value;
    match value.tag() {
        Tag::PrintableString => PrintableStringRef::try_from(value)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::Utf8String => Utf8StringRef::try_from(value)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::Ia5String => Ia5StringRef::try_from(value)
            .ok()
            .map(|s| s.as_str().to_owned()),
        _ => None,
    }
}

/// The first commonName of a name, if any.
pub fn common_name(name: &Name) -> Option<String> {
    name.iter()
        .find(|atv| atv.oid == COMMON_NAME)
        .and_then(attribute_text)
}

/// A general name as `TYPE:value` text, as OpenSSL prints SANs
/// (`DNS:example.test`, `IP:192.0.2.1`, `email:a@b`, `URI:https://..`).
pub fn general_name_text(name: &GeneralName) -> String {
    match name {
        GeneralName::DnsName(s) => format!("DNS:{}", s.as_str()),
        GeneralName::Rfc822Name(s) => format!("email:{}", s.as_str()),
        GeneralName::UniformResourceIdentifier(s) => format!("URI:{}", s.as_str()),
        GeneralName::IpAddress(o) => match ip_from_octets(o.as_bytes()) {
            Some(ip) => format!("IP:{ip}"),
            None => format!("IP:#{}", hex::encode(o.as_bytes())),
        },
        GeneralName::DirectoryName(n) => format!("DirName:{n}"),
        GeneralName::RegisteredId(oid) => format!("RID:{oid}"),
        GeneralName::OtherName(o) => format!("othername:{}", o.type_id),
        GeneralName::EdiPartyName(_) => "EdiPartyName".to_owned(),
    }
}

/// An IP address from the 4 or 16 octets of a SAN iPAddress.
pub fn ip_from_octets(octets: &[u8]) -> Option<IpAddr> {
    match octets.len() {
        4 => <[u8; 4]>::try_from(octets).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(octets).ok().map(IpAddr::from),
        _ => None,
    }
}

/// Parses `DNS:x`, `IP:x`, `email:x`, `URI:x` (as OpenSSL writes them) into
/// a general name. A bare value is taken as a DNS name, or an IP address
/// when it parses as one.
pub fn parse_general_name(text: &str) -> Result<GeneralName, String> {
    let text = text.trim();
    let (kind, value) = match text.split_once(':') {
        Some((k, v))
            if ["dns", "ip", "email", "uri"].contains(&k.to_ascii_lowercase().as_str()) =>
        {
            (k.to_ascii_lowercase(), v.trim())
        }
        _ if text.parse::<IpAddr>().is_ok() => ("ip".to_owned(), text),
        _ => ("dns".to_owned(), text),
    };
    let ia5 = |v: &str| {
        der::asn1::Ia5String::new(v).map_err(|_| format!("`{v}` is not an IA5 (ASCII) string"))
    };
    match kind.as_str() {
        "dns" => Ok(GeneralName::DnsName(ia5(value)?)),
        "email" => Ok(GeneralName::Rfc822Name(ia5(value)?)),
        "uri" => Ok(GeneralName::UniformResourceIdentifier(ia5(value)?)),
        _ => value
            .parse::<IpAddr>()
            .map(GeneralName::from)
            .map_err(|_| format!("`{value}` is not an IP address")),
    }
}

/// Escapes an attribute value for an RFC 4514 string (§2.4).
pub fn escape_value(v: &str) -> String {
    let count = v.chars().count();
    let mut out = String::with_capacity(v.len());
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && (c == '#' || c == ' '))
            || (i + 1 == count && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Parses an RFC 4514 string into a name (`CN=Example Root,O=Example,C=CN`).
/// Country is encoded as PrintableString, other attributes as UTF8String.
pub fn parse_name(text: &str) -> Result<Name, der::Error> {
    text.parse()
}

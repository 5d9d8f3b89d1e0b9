//! Address ranges for API clients' allowlists: one address (`10.0.0.7`,
//! `2001:db8::7`) or a CIDR block (`10.0.0.0/24`, `2001:db8::/48`).
//!
//! A client connecting over IPv6 with an IPv4-mapped address
//! (`::ffff:10.0.0.7`, what a dual-stack listener reports) is matched as
//! the IPv4 address it maps, so an allowlist written in IPv4 works on
//! either kind of listener; an IPv4-mapped range (`::ffff:10.0.0.0/104`)
//! is the IPv4 block it maps. IPv6 ranges match IPv6 clients only: `::/0`
//! allows every IPv6 address, `0.0.0.0/0` every IPv4 one.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// One address or a CIDR block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrRange {
    /// The network address, host bits cleared.
    network: IpAddr,
    /// Leading bits that must match: 32 (or 128) for one address.
    prefix: u8,
}

/// Why an allowlist entry was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddrRangeError {
    /// Neither an address nor `address/prefix`.
    #[error("`{0}` is not an IP address or CIDR block")]
    Syntax(String),
    /// A prefix longer than the address.
    #[error("`{0}`: the prefix is longer than the address")]
    Prefix(String),
    /// Host bits set below the prefix (`10.0.0.1/24`): almost always a typo
    /// for a narrower or wider block, so it is refused rather than guessed.
    #[error("`{0}` has host bits set below its prefix")]
    HostBits(String),
}

impl AddrRange {
    /// Whether `ip` lies in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, unmapped(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                mask_v4(u32::from(ip), self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                mask_v6(u128::from(ip), self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }
}

/// `::ffff:a.b.c.d` as `a.b.c.d`; everything else unchanged.
fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn mask_v4(bits: u32, prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        bits & (u32::MAX << (32 - u32::from(prefix)))
    }
}

fn mask_v6(bits: u128, prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        bits & (u128::MAX << (128 - u32::from(prefix)))
    }
}

impl FromStr for AddrRange {
    type Err = AddrRangeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| AddrRangeError::Syntax(s.to_owned()))?;
        let width: u8 = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse::<u8>()
                .map_err(|_| AddrRangeError::Prefix(s.to_owned()))?,
            Some(_) => return Err(AddrRangeError::Syntax(s.to_owned())),
        };
        if prefix > width {
            return Err(AddrRangeError::Prefix(s.to_owned()));
        }
        // `::ffff:10.0.0.0/104` is the IPv4 block 10.0.0.0/8 written in
        // IPv6: clients are matched unmapped, so the range is too.
        let (addr, prefix) = match addr {
            IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => (IpAddr::V4(v4), prefix - 96),
                None => (addr, prefix),
            },
            _ => (addr, prefix),
        };
        if masked(addr, prefix) != addr {
            return Err(AddrRangeError::HostBits(s.to_owned()));
        }
        Ok(AddrRange {
            network: addr,
            prefix,
        })
    }
}

fn masked(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(mask_v4(u32::from(v4), prefix).into()),
        IpAddr::V6(v6) => IpAddr::V6(mask_v6(u128::from(v6), prefix).into()),
    }
}

impl fmt::Display for AddrRange {
    /// One address as itself, a block as `network/prefix`: what the
    /// administrator typed, normalised.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = if self.network.is_ipv4() { 32 } else { 128 };
        if self.prefix == width {
            write!(f, "{}", self.network)
        } else {
            write!(f, "{}/{}", self.network, self.prefix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    fn range(s: &str) -> AddrRange {
        s.parse().expect("test range")
    }

    #[test]
    fn single_addresses_match_only_themselves() {
        let r = range("10.0.0.7");
        assert!(r.contains(ip("10.0.0.7")));
        assert!(!r.contains(ip("10.0.0.8")));
        assert_eq!(r.to_string(), "10.0.0.7");
        let r6 = range("2001:db8::7");
        assert!(r6.contains(ip("2001:db8::7")));
        assert!(!r6.contains(ip("2001:db8::8")));
    }

    #[test]
    fn cidr_blocks_match_their_hosts() {
        let r = range("10.1.0.0/16");
        assert!(r.contains(ip("10.1.255.3")));
        assert!(!r.contains(ip("10.2.0.1")));
        assert_eq!(r.to_string(), "10.1.0.0/16");
        let r6 = range("2001:db8::/32");
        assert!(r6.contains(ip("2001:db8:ffff::1")));
        assert!(!r6.contains(ip("2001:db9::1")));
        assert!(range("0.0.0.0/0").contains(ip("192.0.2.1")));
        assert!(!range("0.0.0.0/0").contains(ip("::1")));
        assert!(range("::/0").contains(ip("2001:db8::1")));
    }

    #[test]
    fn ipv4_mapped_clients_match_ipv4_ranges() {
        assert!(range("127.0.0.0/8").contains(ip("::ffff:127.0.0.1")));
        assert!(range("::ffff:10.0.0.1").contains(ip("10.0.0.1")));
        let mapped = range("::ffff:10.0.0.0/104");
        assert_eq!(mapped, range("10.0.0.0/8"));
        assert!(mapped.contains(ip("::ffff:10.9.9.9")));
        assert!(!range("::/0").contains(ip("::ffff:10.0.0.1")));
    }

    #[test]
    fn bad_entries_are_refused_by_name() {
        assert!(matches!(
            "10.0.0/8".parse::<AddrRange>(),
            Err(AddrRangeError::Syntax(_))
        ));
        assert!(matches!(
            "10.0.0.0/33".parse::<AddrRange>(),
            Err(AddrRangeError::Prefix(_))
        ));
        assert!(matches!(
            "10.0.0.1/24".parse::<AddrRange>(),
            Err(AddrRangeError::HostBits(_))
        ));
        assert!(matches!(
            "10.0.0.0/".parse::<AddrRange>(),
            Err(AddrRangeError::Syntax(_))
        ));
        assert!(matches!(
            "10.0.0.0/+8".parse::<AddrRange>(),
            Err(AddrRangeError::Syntax(_))
        ));
    }
}

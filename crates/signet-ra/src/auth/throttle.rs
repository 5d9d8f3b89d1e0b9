//! Login attempts per client address: a fixed one-minute window, in
//! memory. Account lockout protects each account; this protects the RA
//! from one address trying many accounts (password spraying).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use signet_core::Timestamp;

/// Addresses remembered before old windows are dropped.
const PRUNE_AT: usize = 10_000;
const WINDOW_SECONDS: i64 = 60;

/// Counts login attempts per address and minute.
#[derive(Debug)]
pub struct LoginThrottle {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl LoginThrottle {
    /// Allows `per_minute` attempts per address and minute.
    pub fn new(per_minute: u32) -> Self {
        LoginThrottle {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `ip` at `now`; false when the address is
    /// over its allowance for this minute.
    pub fn allow(&self, ip: IpAddr, now: Timestamp) -> bool {
        let window = now.unix().div_euclid(WINDOW_SECONDS);
        let mut windows = match self.windows.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        if windows.len() >= PRUNE_AT {
            windows.retain(|_, (w, _)| *w == window);
        }
        let entry = windows.entry(ip).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 <= self.per_minute
    }

    /// Whether `ip` has used up this minute's allowance, without counting
    /// an attempt: for limits on failures only (check this first, count
    /// each failure with [`Self::allow`]).
    pub fn exhausted(&self, ip: IpAddr, now: Timestamp) -> bool {
        let window = now.unix().div_euclid(WINDOW_SECONDS);
        let windows = match self.windows.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        windows
            .get(&ip)
            .is_some_and(|(w, n)| *w == window && *n >= self.per_minute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address_and_minute() {
        let t = LoginThrottle::new(3);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let now = Timestamp::from_unix(1_800_000_000);
        assert!(t.allow(a, now) && t.allow(a, now) && t.allow(a, now));
        assert!(!t.allow(a, now));
        assert!(t.allow(b, now));
        assert!(t.allow(a, Timestamp::from_unix(now.unix() + 60)));
    }

    #[test]
    fn exhausted_looks_without_counting() {
        let t = LoginThrottle::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let now = Timestamp::from_unix(1_800_000_000);
        assert!(!t.exhausted(a, now) && !t.exhausted(a, now) && !t.exhausted(a, now));
        assert!(t.allow(a, now) && t.allow(a, now));
        assert!(t.exhausted(a, now));
        assert!(!t.exhausted(a, Timestamp::from_unix(now.unix() + 60)));
    }
}

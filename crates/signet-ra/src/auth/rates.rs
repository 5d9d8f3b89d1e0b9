//! Per-client call budgets of the REST API: at most N calls in each
//! minute (fixed windows by the RA's clock), in memory. A restart resets
//! the windows, which at worst lets a client make one extra minute's calls.

use std::collections::HashMap;
use std::sync::Mutex;

use signet_core::Timestamp;

/// Counts calls per client and minute.
#[derive(Debug, Default)]
pub struct ClientRates {
    windows: Mutex<HashMap<i64, (i64, u32)>>,
}

impl ClientRates {
    /// Counts a call of `client`; false once it has made `per_minute`
    /// calls in the current minute.
    pub fn allow(&self, client: i64, per_minute: u32, now: Timestamp) -> bool {
        let minute = now.unix().div_euclid(60);
        let Ok(mut windows) = self.windows.lock() else {
            return false;
        };
        if windows.len() > 100_000 {
            windows.retain(|_, (m, _)| *m == minute);
        }
        let entry = windows.entry(client).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        if entry.1 >= per_minute {
            return false;
        }
        entry.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_client_and_minute() {
        let r = ClientRates::default();
        let t = Timestamp::from_unix(6_000);
        assert!(r.allow(1, 2, t) && r.allow(1, 2, t));
        assert!(!r.allow(1, 2, t));
        assert!(r.allow(2, 2, t), "another client has its own budget");
        assert!(r.allow(1, 2, Timestamp::from_unix(6_060)), "a new minute");
    }
}

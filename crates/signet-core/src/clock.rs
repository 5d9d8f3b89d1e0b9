//! Time as a parameter.
//!
//! Nothing in Signet reads the system clock except [`SystemClock`]: every
//! function that needs "now" takes a [`Clock`] (or a [`Timestamp`]) so that
//! tests control time. Certificates, CRLs and OCSP responses carry whole
//! seconds, so a [`Timestamp`] is a count of seconds since the Unix epoch.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::DateTime;
use x509_cert::time::Time;

/// A point in time, in whole seconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// A timestamp from seconds since the Unix epoch.
    pub const fn from_unix(secs: i64) -> Self {
        Timestamp(secs)
    }

    /// Seconds since the Unix epoch.
    pub const fn unix(self) -> i64 {
        self.0
    }

    /// This time plus `d`, saturating.
    pub fn plus(self, d: Duration) -> Self {
        Timestamp(
            self.0
                .saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        )
    }

    /// This time minus `d`, saturating.
    pub fn minus(self, d: Duration) -> Self {
        Timestamp(
            self.0
                .saturating_sub(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        )
    }

    /// Whole seconds from `self` to `later` (negative if `later` is earlier).
    pub fn seconds_until(self, later: Timestamp) -> i64 {
        later.0.saturating_sub(self.0)
    }

    /// The DER `GeneralizedTime`/`UTCTime` value for this instant.
    pub fn to_datetime(self) -> Option<DateTime> {
        let secs = u64::try_from(self.0).ok()?;
        DateTime::from_unix_duration(Duration::from_secs(secs)).ok()
    }

    /// The X.509 `Time` for this instant, encoded as RFC 5280 §4.1.2.5
    /// requires (UTCTime through 2049, GeneralizedTime from 2050).
    pub fn to_x509_time(self) -> Option<Time> {
        // `From<DateTime>` picks UTCTime whenever the year allows it.
        Some(Time::from(self.to_datetime()?))
    }

    /// The instant an X.509 `Time` names.
    pub fn from_x509_time(t: &Time) -> Self {
        let secs = t.to_unix_duration().as_secs();
        Timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
    }

    /// The instant a DER `GeneralizedTime` names.
    pub fn from_generalized(t: &der::asn1::GeneralizedTime) -> Self {
        let secs = t.to_unix_duration().as_secs();
        Timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
    }

    /// This instant as a DER `GeneralizedTime` (OCSP and CRL extensions use it).
    pub fn to_generalized(self) -> Option<der::asn1::GeneralizedTime> {
        Some(der::asn1::GeneralizedTime::from_date_time(
            self.to_datetime()?,
        ))
    }

    /// This instant as a `SystemTime`.
    pub fn to_system_time(self) -> SystemTime {
        match u64::try_from(self.0) {
            Ok(secs) => UNIX_EPOCH + Duration::from_secs(secs),
            Err(_) => UNIX_EPOCH,
        }
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, e.g. `2026-11-23T10:00:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_datetime() {
            Some(dt) => write!(
                f,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                dt.year(),
                dt.month(),
                dt.day(),
                dt.hour(),
                dt.minutes(),
                dt.seconds()
            ),
            None => write!(f, "@{}", self.0),
        }
    }
}

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The operating system's clock. The one place Signet reads it.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // This is the clock module.
    fn now(&self) -> Timestamp {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
    }
}

/// A clock that reads a fixed, settable instant (tests, replays).
#[derive(Debug)]
pub struct FixedClock(std::sync::atomic::AtomicI64);

impl FixedClock {
    /// A clock stopped at `t`.
    pub fn new(t: Timestamp) -> Self {
        FixedClock(std::sync::atomic::AtomicI64::new(t.0))
    }

    /// Moves the clock to `t`.
    pub fn set(&self, t: Timestamp) {
        self.0.store(t.0, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

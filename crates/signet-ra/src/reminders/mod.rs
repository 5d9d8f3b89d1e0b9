//! Expiry reminders by e-mail (SMTP) and webhook (`[reminders]` in
//! `ra.toml`, off by default).
//!
//! Every `interval` a sweep looks at the valid certificates (issued, not
//! revoked or suspended, not superseded by an issued renewal) expiring
//! within the largest threshold. For each, the *due* threshold is the
//! smallest of `days` that the time left has reached (a certificate 5 days
//! from expiry is due for the 7-day reminder, not also for the 30- and
//! 90-day ones), and each configured channel sends it once: `email` (one
//! message to the configured recipients), `subscriber_email` (with
//! `notify_subscriber`, a message of its own to the certificate's
//! addresses) and `webhook`. The database query already leaves out the
//! certificates with nothing left to send at their due threshold.
//!
//! 1. claim `(certificate, threshold, channel)` in `expiry_reminders`
//!    (committed before anything is sent);
//! 2. send;
//! 3. mark it `sent`, `unknown` or `failed`, with an audit event (actor
//!    `system`, action `reminder.send`), in one transaction.
//!
//! Delivery is at most once. A crash between 1 and 3 leaves the claim
//! `sending`, never sent again. `unknown` (the message was handed over
//! but not confirmed: an SMTP error after the final `.`, a webhook that
//! received the whole request and did not answer) is never sent again
//! either. `failed` (nothing was delivered) is claimed again by a sweep
//! after `interval` x 2^(attempts - 1) (at most 7 days), while its
//! threshold is still the due one, until `max_attempts` attempts.

mod smtp;
mod webhook;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use signet_core::Clock;
use signet_core::profile::parse_duration;
use signet_store::RaStore;
use signet_store::ra::{ExpiringCertificate, ReminderBand, ReminderFinish};

pub use smtp::EmailAddress;
pub use webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, signature};

use crate::audit::{AuditEvent, AuditTrail, Outcome};
use crate::error::RaError;

/// Longest failure text kept in the table and the audit trail.
const MAX_ERROR_CHARS: usize = 300;

/// `[reminders]`: expiry reminders, off unless `enabled = true`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RemindersConfig {
    /// Whether the sweep runs. Default false.
    #[serde(default)]
    pub enabled: bool,
    /// Thresholds, days before notAfter. Default `[90, 30, 7]`.
    #[serde(default = "default_days")]
    pub days: Vec<u32>,
    /// How often the sweep runs (at most 7 days). Default `1h`.
    #[serde(default = "default_interval")]
    pub interval: String,
    /// Attempts of a reminder whose delivery failed before it is given
    /// up (1 to 20). Default 5.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// E-mail by SMTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<SmtpConfig>,
    /// A JSON POST to a URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookConfig>,
}

impl Default for RemindersConfig {
    fn default() -> Self {
        RemindersConfig {
            enabled: false,
            days: default_days(),
            interval: default_interval(),
            max_attempts: default_max_attempts(),
            smtp: None,
            webhook: None,
        }
    }
}

/// `[reminders.smtp]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The mail server's host name or address.
    pub host: String,
    /// Its port. Default 587.
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// The sender address (`MAIL FROM` and `From:`).
    pub from: String,
    /// Upgrade the connection with STARTTLS before anything else (the
    /// server must offer it). Default true; `roots` is then required.
    #[serde(default = "default_true")]
    pub starttls: bool,
    /// Roots the server's certificate must chain to, PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roots: Option<PathBuf>,
    /// Log in with AUTH PLAIN as this user (needs `starttls`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// File holding the password (never the password itself here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// Addresses every reminder goes to.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Also send each reminder, as a message of its own, to the
    /// certificate's own e-mail addresses (rfc822Name SANs, emailAddress
    /// in the subject). Default false.
    #[serde(default)]
    pub notify_subscriber: bool,
    /// The name the RA gives in EHLO. Default `localhost`.
    #[serde(default = "default_helo")]
    pub helo_name: String,
    /// Longest wait for the server at each step. Default `30s`.
    #[serde(default = "default_smtp_timeout")]
    pub timeout: String,
}

/// `[reminders.webhook]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// `http://` or `https://` URL the JSON is POSTed to.
    pub url: String,
    /// File holding the HMAC-SHA256 key of the `X-Signet-Signature`
    /// header. Without it no signature is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<PathBuf>,
    /// Roots an `https://` server's certificate must chain to, PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roots: Option<PathBuf>,
    /// Longest wait for the whole call. Default `10s`.
    #[serde(default = "default_webhook_timeout")]
    pub timeout: String,
}

fn default_days() -> Vec<u32> {
    vec![90, 30, 7]
}
fn default_interval() -> String {
    "1h".into()
}
fn default_max_attempts() -> u32 {
    5
}
fn default_smtp_port() -> u16 {
    587
}
fn default_true() -> bool {
    true
}
fn default_helo() -> String {
    "localhost".into()
}
fn default_smtp_timeout() -> String {
    "30s".into()
}
fn default_webhook_timeout() -> String {
    "10s".into()
}

fn config_error(reason: impl Into<String>) -> RaError {
    RaError::Config {
        reason: reason.into(),
    }
}

fn positive_duration(key: &str, text: &str) -> Result<Duration, RaError> {
    let d = parse_duration(text).map_err(|reason| config_error(format!("{key}: {reason}")))?;
    if d.is_zero() {
        return Err(config_error(format!("{key} must be longer than zero")));
    }
    Ok(d)
}

/// The longest sweep interval (also bounds `Instant + interval`).
const MAX_INTERVAL: Duration = Duration::from_secs(7 * 86_400);

/// The sweep interval: longer than zero, at most [`MAX_INTERVAL`].
fn sweep_interval(text: &str) -> Result<Duration, RaError> {
    let d = positive_duration("reminders.interval", text)?;
    if d > MAX_INTERVAL {
        return Err(config_error("reminders.interval must be at most 7d"));
    }
    Ok(d)
}

/// The wait before the next attempt after `attempts` failed ones:
/// `interval` doubled per failure after the first, at most
/// [`MAX_INTERVAL`].
fn retry_delay(interval: Duration, attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    interval
        .saturating_mul(2u32.saturating_pow(doublings))
        .min(MAX_INTERVAL)
}

/// Checks `[reminders]` without reading any file (`RaConfig::load`).
pub(crate) fn validate(c: &RemindersConfig) -> Result<(), RaError> {
    thresholds(&c.days)?;
    sweep_interval(&c.interval)?;
    if !(1..=20).contains(&c.max_attempts) {
        return Err(config_error("reminders.max_attempts must be 1 to 20"));
    }
    if c.enabled && c.smtp.is_none() && c.webhook.is_none() {
        return Err(config_error(
            "reminders.enabled needs [reminders.smtp] or [reminders.webhook]",
        ));
    }
    if let Some(s) = &c.smtp {
        smtp::SmtpSettings::check(s)?;
    }
    if let Some(w) = &c.webhook {
        webhook::WebhookSettings::check(w)?;
    }
    Ok(())
}

/// The thresholds, largest first: 1 to 3650 days, each once.
fn thresholds(days: &[u32]) -> Result<Vec<u32>, RaError> {
    let mut sorted = days.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.dedup();
    if sorted.is_empty()
        || sorted.len() != days.len()
        || sorted.iter().any(|d| !(1..=3650).contains(d))
    {
        return Err(config_error(
            "reminders.days must list 1 to 3650 days, each once",
        ));
    }
    Ok(sorted)
}

/// `(threshold, next smaller threshold or 0)` per threshold, largest
/// first: a certificate whose time left is in `(smaller, threshold]` days
/// is due for `threshold`, the smallest one its time left has reached.
fn bands(thresholds: &[u32]) -> Vec<(u32, u32)> {
    thresholds
        .iter()
        .enumerate()
        .map(|(i, t)| (*t, thresholds.get(i + 1).copied().unwrap_or(0)))
        .collect()
}

/// Why a reminder could not be delivered (one line, no secrets).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// No TCP connection.
    #[error("cannot connect to {target}: {reason}")]
    Connect {
        /// `host:port`.
        target: String,
        /// What went wrong.
        reason: String,
    },
    /// The server did not answer in time.
    #[error("no answer within {0} s")]
    Timeout(u64),
    /// The mail server refused a step.
    #[error("the mail server answered {code} to {step}: {text}")]
    Refused {
        /// Which step (`RCPT`, `DATA`, ...).
        step: &'static str,
        /// The reply code.
        code: u16,
        /// The reply text.
        text: String,
    },
    /// STARTTLS is configured but the server does not offer it.
    #[error("the mail server does not offer STARTTLS")]
    NoStartTls,
    /// The TLS handshake failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// Reading or writing failed.
    #[error("i/o: {0}")]
    Io(String),
    /// The peer does not speak the protocol as expected.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The webhook answered with a status other than 2xx.
    #[error("the webhook answered HTTP {0}")]
    Status(u16),
    /// No address to send to.
    #[error("no recipients")]
    NoRecipients,
    /// The message was handed over whole (SMTP: the final `.` written;
    /// webhook: the whole request) but its receipt was not confirmed: it
    /// may have been delivered, so it is not sent again.
    #[error("handed over but not confirmed ({reason})")]
    Unconfirmed {
        /// What happened after the hand-over.
        reason: String,
    },
}

impl DeliveryError {
    /// `e`, after the message was handed over.
    fn unconfirmed(e: &dyn std::fmt::Display) -> Self {
        DeliveryError::Unconfirmed {
            reason: e.to_string(),
        }
    }
}

/// Where a reminder goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// SMTP, to the configured recipients.
    Email,
    /// SMTP, to the certificate's own addresses (a message of its own).
    SubscriberEmail,
    /// HTTP POST.
    Webhook,
}

impl Channel {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::SubscriberEmail => "subscriber_email",
            Channel::Webhook => "webhook",
        }
    }
}

/// One reminder to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reminder {
    /// Idempotency id, the same for every attempt:
    /// `<request uid>:<threshold>:<channel>`.
    pub id: String,
    /// Serial, lowercase hex.
    pub serial: String,
    /// Subject, RFC 4514.
    pub subject: String,
    /// CA profile.
    pub profile: String,
    /// Organisation unit.
    pub unit: String,
    /// notAfter, RFC 3339.
    pub not_after: String,
    /// Whole days left.
    pub days_left: i64,
    /// The threshold that fired.
    pub threshold_days: u32,
}

/// What one sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Reminders sent.
    pub sent: usize,
    /// Reminders that failed (retried later, up to the maximum).
    pub failed: usize,
    /// Reminders handed over but not confirmed (not sent again).
    pub unknown: usize,
}

/// The reminder service: configuration read and checked, secrets loaded.
pub struct ExpiryReminders {
    store: RaStore,
    audit: Arc<AuditTrail>,
    clock: Arc<dyn Clock>,
    thresholds: Vec<u32>,
    interval: Duration,
    max_attempts: i64,
    smtp: Option<smtp::SmtpSettings>,
    webhook: Option<webhook::WebhookSettings>,
}

impl std::fmt::Debug for ExpiryReminders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpiryReminders")
            .field("thresholds", &self.thresholds)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// One line of at most [`MAX_ERROR_CHARS`], without control characters.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_ERROR_CHARS)
        .collect()
}

impl ExpiryReminders {
    /// The service for `config` (`None` when reminders are off): reads
    /// the SMTP password, the webhook secret and the TLS roots.
    pub(crate) fn open(
        config: &RemindersConfig,
        store: RaStore,
        audit: Arc<AuditTrail>,
        clock: Arc<dyn Clock>,
    ) -> Result<Option<Self>, RaError> {
        validate(config)?;
        if !config.enabled {
            return Ok(None);
        }
        Ok(Some(ExpiryReminders {
            store,
            audit,
            clock,
            thresholds: thresholds(&config.days)?,
            interval: sweep_interval(&config.interval)?,
            max_attempts: i64::from(config.max_attempts),
            smtp: config
                .smtp
                .as_ref()
                .map(smtp::SmtpSettings::load)
                .transpose()?,
            webhook: config
                .webhook
                .as_ref()
                .map(webhook::WebhookSettings::load)
                .transpose()?,
        }))
    }

    /// Sweeps every `interval` (the first one interval after start) until
    /// the task is aborted.
    pub(crate) async fn run(self: Arc<Self>) {
        let start = tokio::time::Instant::now() + self.interval;
        let mut ticker = tokio::time::interval_at(start, self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match self.sweep().await {
                Ok(r) => tracing::debug!(sent = r.sent, failed = r.failed, "reminder sweep"),
                Err(error) => tracing::error!(%error, "reminder sweep failed"),
            }
        }
    }

    /// The configured channels.
    fn channels(&self) -> Vec<Channel> {
        let mut out = Vec::new();
        if let Some(s) = &self.smtp {
            if !s.recipients().is_empty() {
                out.push(Channel::Email);
            }
            if s.notify_subscriber() {
                out.push(Channel::SubscriberEmail);
            }
        }
        if self.webhook.is_some() {
            out.push(Channel::Webhook);
        }
        out
    }

    /// One sweep: sends every due reminder not sent yet, retries failed
    /// ones whose retry is due.
    pub async fn sweep(&self) -> Result<SweepReport, RaError> {
        let now = self.clock.now();
        let channels = self.channels();
        let names: Vec<&str> = channels.iter().map(|c| c.as_str()).collect();
        let mut report = SweepReport::default();
        // One band per threshold: notAfter after the next smaller
        // threshold (or now) and at most this one; the soonest first.
        for (threshold, smaller) in bands(&self.thresholds).into_iter().rev() {
            let band = ReminderBand {
                now,
                after: now.plus(days(smaller)),
                until: now.plus(days(threshold)),
                threshold_days: i64::from(threshold),
                channels: &names,
                max_attempts: self.max_attempts,
            };
            for cert in self.store.certificates_due_for_reminder(&band).await? {
                let left = now.seconds_until(cert.not_after);
                for channel in &channels {
                    let reminder = Reminder {
                        id: format!("{}:{threshold}:{}", cert.request_uid, channel.as_str()),
                        serial: cert.serial.clone(),
                        subject: cert.subject.clone(),
                        profile: cert.profile.clone(),
                        unit: cert.unit.clone(),
                        not_after: cert.not_after.to_string(),
                        days_left: left.div_euclid(86_400),
                        threshold_days: threshold,
                    };
                    match self.send_once(&cert, &reminder, *channel).await? {
                        Some(Sent::Yes) => report.sent += 1,
                        Some(Sent::Failed) => report.failed += 1,
                        Some(Sent::Unknown) => report.unknown += 1,
                        None => {}
                    }
                }
            }
        }
        Ok(report)
    }

    /// Claims, sends and records one reminder. `None`: nothing to do (not
    /// claimed, or nobody to write to).
    async fn send_once(
        &self,
        cert: &ExpiringCertificate,
        reminder: &Reminder,
        channel: Channel,
    ) -> Result<Option<Sent>, RaError> {
        let threshold = i64::from(reminder.threshold_days);
        // The addresses first: a certificate with none is no reminder to
        // send, not a failure.
        let to = match (channel, &self.smtp) {
            (Channel::Email, Some(s)) => s.recipients().to_vec(),
            (Channel::SubscriberEmail, Some(s)) => s.subscriber_addresses(&cert.certificate_pem),
            _ => Vec::new(),
        };
        if channel != Channel::Webhook && to.is_empty() {
            return Ok(None);
        }
        let mut tx = self.store.begin().await?;
        let attempt = tx
            .claim_reminder(
                cert.request_id,
                threshold,
                channel.as_str(),
                self.max_attempts,
                self.clock.now(),
            )
            .await?;
        tx.commit().await?;
        let Some(attempt) = attempt else {
            return Ok(None);
        };
        let (result, recipients) = match (channel, &self.smtp, &self.webhook) {
            (Channel::Email | Channel::SubscriberEmail, Some(s), _) => {
                (s.send(reminder, &to, self.clock.now()).await, to.len())
            }
            (Channel::Webhook, _, Some(w)) => (w.send(reminder, self.clock.now()).await, 1),
            _ => (Err(DeliveryError::NoRecipients), 0),
        };
        let now = self.clock.now();
        let mut event = AuditEvent::system("reminder.send")
            .target(format!("certificate:{}", reminder.serial))
            .detail("channel", channel.as_str())
            .detail("threshold_days", reminder.threshold_days)
            .detail("days_left", reminder.days_left)
            .detail("recipients", recipients)
            .detail("attempt", attempt)
            .detail("id", reminder.id.as_str());
        let error = result.as_ref().err().map(|e| one_line(&e.to_string()));
        let (sent, finish) = match (&result, &error) {
            (Err(DeliveryError::Unconfirmed { .. }), Some(e)) => {
                tracing::warn!(channel = channel.as_str(), serial = %reminder.serial, error = %e,
                    "expiry reminder handed over but not confirmed; not sent again");
                event = event
                    .outcome(Outcome::Error)
                    .detail("delivery", "unknown")
                    .detail("error", e.as_str());
                (Sent::Unknown, ReminderFinish::Unknown { error: e })
            }
            (Err(_), Some(e)) => {
                let retry_at = now.plus(retry_delay(self.interval, attempt));
                let given_up = attempt >= self.max_attempts;
                tracing::warn!(channel = channel.as_str(), serial = %reminder.serial, error = %e,
                    given_up, "expiry reminder failed");
                event = event
                    .outcome(Outcome::Error)
                    .detail("delivery", "failed")
                    .detail("error", e.as_str());
                event = if given_up {
                    event.detail("given_up", true)
                } else {
                    event.detail("retry_at", retry_at.unix())
                };
                (Sent::Failed, ReminderFinish::Failed { error: e, retry_at })
            }
            _ => (Sent::Yes, ReminderFinish::Sent),
        };
        let mut tx = self.store.begin().await?;
        if tx
            .finish_reminder(cert.request_id, threshold, channel.as_str(), finish, now)
            .await?
        {
            self.audit.append(&mut tx, &event).await?;
        }
        tx.commit().await?;
        Ok(Some(sent))
    }
}

/// How one reminder went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sent {
    /// Delivered.
    Yes,
    /// Not delivered (retried).
    Failed,
    /// Handed over, not confirmed.
    Unknown,
}

/// `n` days.
fn days(n: u32) -> Duration {
    Duration::from_secs(u64::from(n) * 86_400)
}

#[cfg(test)]
mod tests;

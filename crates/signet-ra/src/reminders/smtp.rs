//! A small SMTP client (RFC 5321) for expiry reminders: EHLO, STARTTLS
//! (RFC 3207) through rustls, AUTH PLAIN (RFC 4954, only inside TLS),
//! MAIL / RCPT / DATA with dot-stuffing, QUIT. One connection per
//! message; nothing is queued here (a failure is retried by a later
//! sweep). Once the final `.` has been written the server may have
//! accepted the message: a missing or broken answer from then on is
//! [`DeliveryError::Unconfirmed`], not a failure, so it is not sent
//! twice. The `Message-ID` is derived from the reminder's id, the same for
//! every attempt.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use der::DecodePem as _;
use signet_tls::rustls::ClientConfig;
use signet_tls::rustls::pki_types::ServerName;
use tokio::io::BufReader;
use tokio::io::{
    AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _,
};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use zeroize::Zeroizing;

use super::{DeliveryError, Reminder, SmtpConfig, config_error, positive_duration};
use crate::error::RaError;

/// Longest reply line read (RFC 5321 §4.5.3.1.5: 512 octets).
const MAX_REPLY_LINE: u64 = 2048;
/// Most lines in one multi-line reply.
const MAX_REPLY_LINES: usize = 100;
/// OID of emailAddress (PKCS #9, RFC 2985 §5.2.1).
const EMAIL_ADDRESS: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1");

/// A mailbox address, checked: ASCII, one `@`, no spaces, brackets,
/// quotes or line breaks, so it is safe inside `<...>` on a command line
/// and in a header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// `text` as an address, if it is a plain `local@domain`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (local, domain) = text.split_once('@')?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let domain_ok = !domain.is_empty()
            && domain.len() <= 253
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        (local_ok && domain_ok).then(|| EmailAddress(text.to_owned()))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `[reminders.smtp]`, checked and with its files read.
pub(super) struct SmtpSettings {
    host: String,
    port: u16,
    from: EmailAddress,
    tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
    auth: Option<(String, Zeroizing<String>)>,
    recipients: Vec<EmailAddress>,
    notify_subscriber: bool,
    helo: String,
    timeout: Duration,
}

fn address(key: &str, text: &str) -> Result<EmailAddress, RaError> {
    EmailAddress::parse(text)
        .ok_or_else(|| config_error(format!("{key}: `{text}` is not a plain e-mail address")))
}

/// A secret kept in a file: its first line, without the line break.
pub(super) fn read_secret(key: &str, path: &Path) -> Result<Zeroizing<String>, RaError> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| config_error(format!("{key}: cannot read {}: {e}", path.display())))?,
    );
    let line = Zeroizing::new(text.lines().next().unwrap_or_default().to_owned());
    if line.is_empty() {
        return Err(config_error(format!("{key}: {} is empty", path.display())));
    }
    Ok(line)
}

impl SmtpSettings {
    /// Checks the table without reading files.
    pub(super) fn check(c: &SmtpConfig) -> Result<(), RaError> {
        if c.host.trim().is_empty() || c.port == 0 {
            return Err(config_error("reminders.smtp: host and port are required"));
        }
        address("reminders.smtp.from", &c.from)?;
        for r in &c.recipients {
            address("reminders.smtp.recipients", r)?;
        }
        if c.recipients.is_empty() && !c.notify_subscriber {
            return Err(config_error(
                "reminders.smtp: list recipients or set notify_subscriber = true",
            ));
        }
        if c.starttls && c.roots.is_none() {
            return Err(config_error(
                "reminders.smtp.roots: the roots the mail server's certificate chains to are \
                 required with starttls",
            ));
        }
        if c.username.is_some() != c.password_file.is_some() {
            return Err(config_error(
                "reminders.smtp: username and password_file go together",
            ));
        }
        if c.username.is_some() && !c.starttls {
            return Err(config_error(
                "reminders.smtp: a password is only ever sent inside TLS: set starttls = true",
            ));
        }
        if c.helo_name.is_empty()
            || !c
                .helo_name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ".-[]:".contains(ch))
        {
            return Err(config_error("reminders.smtp.helo_name: a host name"));
        }
        positive_duration("reminders.smtp.timeout", &c.timeout)?;
        Ok(())
    }

    /// Checks the table and reads the password and the roots.
    pub(super) fn load(c: &SmtpConfig) -> Result<Self, RaError> {
        Self::check(c)?;
        let tls = match (&c.roots, c.starttls) {
            (Some(roots), true) => {
                let roots = signet_tls::load_roots(roots)?;
                let config = ClientConfig::builder_with_provider(signet_tls::crypto_provider())
                    .with_protocol_versions(signet_tls::PROTOCOL_VERSIONS)
                    .map_err(|e| config_error(format!("reminders.smtp: {e}")))?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                let name = ServerName::try_from(c.host.clone())
                    .map_err(|_| config_error("reminders.smtp.host: not a host name"))?;
                Some((Arc::new(config), name))
            }
            _ => None,
        };
        let auth = match (&c.username, &c.password_file) {
            (Some(user), Some(file)) => Some((
                user.clone(),
                read_secret("reminders.smtp.password_file", file)?,
            )),
            _ => None,
        };
        Ok(SmtpSettings {
            host: c.host.clone(),
            port: c.port,
            from: address("reminders.smtp.from", &c.from)?,
            tls,
            auth,
            recipients: c
                .recipients
                .iter()
                .map(|r| address("reminders.smtp.recipients", r))
                .collect::<Result<_, _>>()?,
            notify_subscriber: c.notify_subscriber,
            helo: c.helo_name.clone(),
            timeout: positive_duration("reminders.smtp.timeout", &c.timeout)?,
        })
    }

    /// The configured recipients (one message to them all).
    pub(super) fn recipients(&self) -> &[EmailAddress] {
        &self.recipients
    }

    /// Whether the certificate's own addresses get a message of their own.
    pub(super) fn notify_subscriber(&self) -> bool {
        self.notify_subscriber
    }

    /// The certificate's own addresses, each once.
    pub(super) fn subscriber_addresses(&self, certificate_pem: &str) -> Vec<EmailAddress> {
        let mut out = certificate_addresses(certificate_pem);
        let mut seen = std::collections::HashSet::new();
        out.retain(|a| seen.insert(a.as_str().to_ascii_lowercase()));
        out
    }

    /// Sends `reminder` to `to` in one SMTP transaction.
    pub(super) async fn send(
        &self,
        reminder: &Reminder,
        to: &[EmailAddress],
        now: signet_core::Timestamp,
    ) -> Result<(), DeliveryError> {
        if to.is_empty() {
            return Err(DeliveryError::NoRecipients);
        }
        let message = message(&self.from, to, reminder, now);
        let target = format!("{}:{}", self.host, self.port);
        let tcp = tokio::time::timeout(
            self.timeout,
            tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| DeliveryError::Timeout(self.timeout.as_secs()))?
        .map_err(|e| DeliveryError::Connect {
            target: target.clone(),
            reason: e.to_string(),
        })?;
        let mut plain = Session::new(tcp, self.timeout);
        plain.expect("greeting", &[220]).await?;
        let ehlo = format!("EHLO {}", self.helo);
        let (_, extensions) = plain.command("EHLO", &ehlo, &[250]).await?;
        let Some((config, name)) = &self.tls else {
            return self.transaction(&mut plain, to, &message).await;
        };
        if !extensions
            .lines()
            .any(|l| l.trim().eq_ignore_ascii_case("STARTTLS"))
        {
            return Err(DeliveryError::NoStartTls);
        }
        plain.command("STARTTLS", "STARTTLS", &[220]).await?;
        // RFC 3207 §6: anything the server sent before the handshake is
        // discarded; here it is refused (a command injection attempt).
        if !plain.io.buffer().is_empty() {
            return Err(DeliveryError::Protocol(
                "data after the STARTTLS reply".into(),
            ));
        }
        let tcp = plain.io.into_inner();
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
        let tls = tokio::time::timeout(self.timeout, connector.connect(name.clone(), tcp))
            .await
            .map_err(|_| DeliveryError::Timeout(self.timeout.as_secs()))?
            .map_err(|e| DeliveryError::Tls(e.to_string()))?;
        let mut secure = Session::new(tls, self.timeout);
        secure.command("EHLO", &ehlo, &[250]).await?;
        self.transaction(&mut secure, to, &message).await
    }

    async fn transaction<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        s: &mut Session<S>,
        to: &[EmailAddress],
        message: &str,
    ) -> Result<(), DeliveryError> {
        if let Some((user, password)) = &self.auth {
            let mut token = Zeroizing::new(Vec::with_capacity(user.len() + password.len() + 2));
            token.push(0);
            token.extend_from_slice(user.as_bytes());
            token.push(0);
            token.extend_from_slice(password.as_bytes());
            let line = Zeroizing::new(format!(
                "AUTH PLAIN {}",
                base64::engine::general_purpose::STANDARD.encode(&*token)
            ));
            s.command("AUTH", &line, &[235]).await?;
        }
        s.command(
            "MAIL",
            &format!("MAIL FROM:<{}>", self.from.as_str()),
            &[250],
        )
        .await?;
        for r in to {
            // Any refusal aborts before DATA: nothing is delivered, and
            // the next sweep tries the whole reminder again.
            s.command("RCPT", &format!("RCPT TO:<{}>", r.as_str()), &[250, 251])
                .await?;
        }
        s.command("DATA", "DATA", &[354]).await?;
        s.write(&dot_stuffed(message)).await?;
        // From the final "." on, the server may have taken the message:
        // only an explicit refusal is a failure; silence, a closed
        // connection or a garbled answer leave delivery unknown.
        s.write(".\r\n")
            .await
            .map_err(|e| DeliveryError::unconfirmed(&e))?;
        match s.expect("end of data", &[250]).await {
            Ok(_) => {}
            Err(refused @ DeliveryError::Refused { .. }) => return Err(refused),
            Err(e) => return Err(DeliveryError::unconfirmed(&e)),
        }
        // The message is accepted; a failed QUIT changes nothing.
        let _ = s.command("QUIT", "QUIT", &[221]).await;
        Ok(())
    }
}

/// The certificate's rfc822Name SANs and subject emailAddress values.
fn certificate_addresses(pem: &str) -> Vec<EmailAddress> {
    let Ok(cert) = x509_cert::Certificate::from_pem(pem.as_bytes()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Ok(Some((_, san))) = cert.tbs_certificate().get_extension::<SubjectAltName>() {
        for name in san.0 {
            if let GeneralName::Rfc822Name(e) = name
                && let Some(a) = EmailAddress::parse(e.as_str())
            {
                out.push(a);
            }
        }
    }
    for atv in cert
        .tbs_certificate()
        .subject()
        .iter()
        .filter(|a| a.oid == EMAIL_ADDRESS)
    {
        if let Ok(value) = atv.value.decode_as::<der::asn1::Ia5String>()
            && let Some(a) = EmailAddress::parse(value.as_str())
        {
            out.push(a);
        }
    }
    out
}

/// Replaces control characters (a header or line injection) with spaces.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The message (RFC 5322): plain text, UTF-8, base64 body.
fn message(
    from: &EmailAddress,
    to: &[EmailAddress],
    r: &Reminder,
    now: signet_core::Timestamp,
) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(now.unix())
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc2822)
                .ok()
        })
        .unwrap_or_default();
    let body = format!(
        "The certificate below expires in {days} day(s), on {not_after}.\r\n\
         \r\n\
         Serial:     {serial}\r\n\
         Subject:    {subject}\r\n\
         Profile:    {profile}\r\n\
         Unit:       {unit}\r\n\
         Not after:  {not_after}\r\n\
         Reminder:   {threshold} days before expiry\r\n\
         \r\n\
         Renew it before it expires.\r\n\
         -- \r\n\
         Signet Registration Authority\r\n",
        days = r.days_left,
        not_after = clean(&r.not_after),
        serial = clean(&r.serial),
        subject = clean(&r.subject),
        profile = clean(&r.profile),
        unit = clean(&r.unit),
        threshold = r.threshold_days,
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(body.as_bytes());
    let mut wrapped = String::with_capacity(encoded.len() + encoded.len() / 76 * 2 + 2);
    for chunk in encoded.as_bytes().chunks(76) {
        wrapped.push_str(&String::from_utf8_lossy(chunk));
        wrapped.push_str("\r\n");
    }
    let to_line: Vec<&str> = to.iter().map(EmailAddress::as_str).collect();
    // The same for every attempt (`uid.threshold.channel`), so a mail
    // system can spot a duplicate.
    let id: String =
        r.id.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '.' })
            .collect();
    format!(
        "From: {from}\r\n\
         To: {to}\r\n\
         Subject: Certificate {serial} expires in {days} day(s)\r\n\
         Date: {date}\r\n\
         Message-ID: <{id}@signet-ra>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n\
         {wrapped}",
        from = from.as_str(),
        to = to_line.join(", "),
        serial = clean(&r.serial),
        days = r.days_left,
    )
}

/// RFC 5321 §4.5.2: a line starting with `.` gets another `.`. Ends with
/// CRLF.
fn dot_stuffed(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 16);
    for line in message.split("\r\n") {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    // `split` yields an empty last piece after a final CRLF.
    if message.ends_with("\r\n") {
        out.truncate(out.len() - 2);
    }
    out
}

/// One SMTP connection.
struct Session<S> {
    io: BufReader<S>,
    timeout: Duration,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    fn new(stream: S, timeout: Duration) -> Self {
        Session {
            io: BufReader::new(stream),
            timeout,
        }
    }

    async fn write(&mut self, text: &str) -> Result<(), DeliveryError> {
        let io = self.io.get_mut();
        tokio::time::timeout(self.timeout, async {
            io.write_all(text.as_bytes()).await?;
            io.flush().await
        })
        .await
        .map_err(|_| DeliveryError::Timeout(self.timeout.as_secs()))?
        .map_err(|e| DeliveryError::Io(e.to_string()))
    }

    /// Reads one reply: its code and its text lines.
    async fn reply(&mut self) -> Result<(u16, String), DeliveryError> {
        let mut text = String::new();
        for _ in 0..MAX_REPLY_LINES {
            let mut line = Vec::new();
            let read = tokio::time::timeout(
                self.timeout,
                (&mut self.io)
                    .take(MAX_REPLY_LINE)
                    .read_until(b'\n', &mut line),
            )
            .await
            .map_err(|_| DeliveryError::Timeout(self.timeout.as_secs()))?
            .map_err(|e| DeliveryError::Io(e.to_string()))?;
            if read == 0 {
                return Err(DeliveryError::Protocol("connection closed".into()));
            }
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\r', '\n']);
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| DeliveryError::Protocol(format!("bad reply `{}`", clean(line))))?;
            text.push_str(line.get(4..).unwrap_or(""));
            text.push('\n');
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok((code, text));
            }
        }
        Err(DeliveryError::Protocol("reply too long".into()))
    }

    async fn expect(
        &mut self,
        step: &'static str,
        codes: &[u16],
    ) -> Result<(u16, String), DeliveryError> {
        let (code, text) = self.reply().await?;
        if !codes.contains(&code) {
            return Err(DeliveryError::Refused {
                step,
                code,
                text: clean(text.trim()),
            });
        }
        Ok((code, text))
    }

    async fn command(
        &mut self,
        step: &'static str,
        line: &str,
        codes: &[u16],
    ) -> Result<(u16, String), DeliveryError> {
        let mut wire = Zeroizing::new(String::with_capacity(line.len() + 2));
        wire.push_str(line);
        wire.push_str("\r\n");
        self.write(&wire).await?;
        self.expect(step, codes).await
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    #[test]
    fn addresses_are_plain() {
        assert!(EmailAddress::parse("pki-team@example.com").is_some());
        assert!(EmailAddress::parse("a.b+c@sub.example.co").is_some());
        for bad in [
            "no-at",
            "a@b@c",
            "a b@example.com",
            "a@exa mple.com",
            "a@example.com>\r\nRCPT TO:<evil@x",
            "<a@example.com>",
            "a@",
            "@example.com",
            "a@ex..com",
        ] {
            assert!(EmailAddress::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn dot_stuffing_doubles_leading_dots() {
        assert_eq!(dot_stuffed("a\r\n.b\r\n..c\r\n"), "a\r\n..b\r\n...c\r\n");
        assert_eq!(dot_stuffed(".\r\n"), "..\r\n");
        assert_eq!(dot_stuffed("x"), "x\r\n");
    }
}

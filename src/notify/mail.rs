//! Mail over SMTP (lettre): `DD_EMAIL_URL`-style configuration, multipart text + HTML messages with the
//! subject "<team> notification: <title>".

use std::fmt::Write;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Outgoing, SendError};
use crate::domain::recipients::Target;

/// An SMTP connection pool and the sender address from the URL.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    url_from: Option<String>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("url_from", &self.url_from).finish_non_exhaustive()
    }
}

/// A file sent with the message (a report).
#[derive(Debug, Clone)]
pub struct MailAttachment {
    pub file_name: String,
    pub content_type: &'static str,
    pub content: Vec<u8>,
}

/// What a message needs from the system settings.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub team_name: String,
    pub email_from: Option<String>,
    pub disclaimer: String,
}

impl Mailer {
    /// Parses a DefectDojo `DD_EMAIL_URL`: `smtp://[user:pass@]host:port/?from=addr` (plain), with
    /// `tls=required` or `tls=opportunistic` for STARTTLS, or `smtps://` for TLS. The error never repeats
    /// the URL, which may hold a password.
    pub fn from_url(text: &str) -> Result<Self, String> {
        let parsed = url::Url::parse(text.trim()).map_err(|_| "the SMTP URL is not a URL".to_owned())?;
        if !matches!(parsed.scheme(), "smtp" | "smtps") || parsed.host_str().is_none() {
            return Err("the SMTP URL must be smtp://host:port/?from=address or smtps://…".to_owned());
        }
        let mut url_from = None;
        let mut tls = None;
        for (key, value) in parsed.query_pairs() {
            match key.as_ref() {
                "from" => url_from = Some(value.into_owned()),
                "tls" => tls = Some(value.into_owned()),
                _ => {}
            }
        }
        if let Some(from) = &url_from {
            from.parse::<Mailbox>().map_err(|_| "the from address of the SMTP URL is invalid".to_owned())?;
        }
        let mut for_lettre = parsed.clone();
        for_lettre.set_path("");
        for_lettre.set_query(tls.map(|t| format!("tls={t}")).as_deref());
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(for_lettre.as_str())
            .map_err(|_| "the SMTP URL could not be used as an SMTP connection".to_owned())?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        Ok(Self { transport, url_from })
    }

    /// Sends one message to the delivery's address; returns the server's answer ("250 2.0.0 Ok: queued").
    pub async fn send(
        &self,
        outgoing: &Outgoing<'_>,
        settings: &MailSettings,
        attachment: Option<&MailAttachment>,
    ) -> Result<String, SendError> {
        let Target::Email(address) = outgoing.target else {
            return Err(SendError::Permanent(format!("a mail goes to an address, not {}", outgoing.target)));
        };
        let to: Mailbox = address.parse().map_err(|_| SendError::Permanent(format!("invalid address {address:?}")))?;
        let from_text = settings
            .email_from
            .clone()
            .or_else(|| self.url_from.clone())
            .unwrap_or_else(|| "slawatch@localhost".to_owned());
        let from: Mailbox =
            from_text.parse().map_err(|_| SendError::Permanent(format!("invalid sender address {from_text:?}")))?;
        let (text, html) = render(outgoing, settings);
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(subject(&settings.team_name, outgoing))
            .header(DeliveryId(outgoing.delivery_key.to_owned()))
            .multipart(with_attachment(MultiPart::alternative_plain_html(text, html), attachment))
            .map_err(|err| SendError::Permanent(format!("the message could not be built: {err}")))?;
        match self.transport.send(message).await {
            Ok(answer) => Ok(format!("{} {}", answer.code(), answer.message().collect::<Vec<_>>().join(" "))),
            Err(err) if err.is_permanent() => {
                Err(SendError::Permanent(format!("the mail server refused the message: {err}")))
            }
            Err(err) => Err(SendError::Retry { reason: format!("mail not sent: {err}"), retry_after_seconds: None }),
        }
    }
}

/// "<team> notification: <title>", the title carrying what an inbox rule or a glance needs: the finding's
/// severity first and the product last (`Golem Trust notification: [Critical] SLA breached: RCE in payment
/// gateway — Royal-Bank-Integration`); the title itself says the state.
#[must_use]
pub fn subject(team_name: &str, outgoing: &Outgoing<'_>) -> String {
    let mut title = outgoing.notification.title.clone();
    if let Some(finding) = &outgoing.payload.finding {
        title = format!("[{}] {title}", finding.severity);
    }
    if let Some(product) = &outgoing.payload.product
        && !title.contains(&product.name)
    {
        title = format!("{title} — {}", product.name);
    }
    format!("{team_name} notification: {title}")
}

/// The text and HTML parts, with the file after them when there is one.
fn with_attachment(body: MultiPart, attachment: Option<&MailAttachment>) -> MultiPart {
    let Some(file) = attachment else { return body };
    let kind = ContentType::parse(file.content_type).unwrap_or(ContentType::TEXT_PLAIN);
    MultiPart::mixed()
        .multipart(body)
        .singlepart(Attachment::new(file.file_name.clone()).body(file.content.clone(), kind))
}

/// `X-Slawatch-Delivery`, so mail receivers can deduplicate too.
#[derive(Clone, Debug)]
struct DeliveryId(String);

impl lettre::message::header::Header for DeliveryId {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("X-Slawatch-Delivery")
    }

    fn parse(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(text.to_owned()))
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// The plain-text and HTML bodies.
#[must_use]
pub fn render(outgoing: &Outgoing<'_>, settings: &MailSettings) -> (String, String) {
    let notification = outgoing.notification;
    let details = outgoing.payload.details();
    let mut text = format!("{}\n\n{}\n", notification.title, notification.description);
    let mut html = format!("<h2>{}</h2>\n<p>{}</p>\n", escape(&notification.title), escape(&notification.description));
    if !details.is_empty() {
        text.push('\n');
        html.push_str("<table>\n");
        for (label, value) in &details {
            let _ = writeln!(text, "{label}: {value}");
            let _ = writeln!(html, "<tr><th align=\"left\">{}</th><td>{}</td></tr>", escape(label), escape(value));
        }
        html.push_str("</table>\n");
    }
    if let Some(url) = &notification.url {
        let _ = write!(text, "\n{url}\n");
        let _ = writeln!(html, "<p><a href=\"{0}\">{0}</a></p>", escape(url));
    }
    if let Some(report) = &outgoing.payload.report
        && let Some(share) = &report.share_url
    {
        let until = report.share_expires.as_deref().unwrap_or("its expiry");
        let _ = write!(text, "\nWithout an account, until {until}: {share}\n");
        let _ = writeln!(
            html,
            "<p>Without an account, until {}: <a href=\"{1}\">{1}</a></p>",
            escape(until),
            escape(share)
        );
    }
    if !settings.disclaimer.is_empty() {
        let _ = write!(text, "\n{}\n", settings.disclaimer);
        let _ = writeln!(html, "<p><small>{}</small></p>", escape(&settings.disclaimer));
    }
    (text, html)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    // The connection pool spawns its reaper on the Tokio runtime, so building a mailer needs one.
    #[tokio::test]
    async fn the_defectdojo_url_form_is_accepted_and_bad_urls_are_refused_without_echoing_them() {
        let mailer = Mailer::from_url("smtp://mail.golems.internal:25/?from=defectdojo@golemtrust.am").expect("valid");
        assert_eq!(mailer.url_from.as_deref(), Some("defectdojo@golemtrust.am"));
        assert!(Mailer::from_url("smtps://user:pa%24s@mail.golems.internal:465").is_ok());
        assert!(Mailer::from_url("smtp://mail.golems.internal:587/?tls=required&from=a@b.am").is_ok());
        let err = Mailer::from_url("http://user:hunter2@mail.golems.internal/").expect_err("wrong scheme");
        assert!(!err.contains("hunter2"));
        assert!(Mailer::from_url("smtp://h.test/?from=not-an-address").is_err());
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape("<script>\"&\""), "&lt;script&gt;&quot;&amp;&quot;");
    }
}

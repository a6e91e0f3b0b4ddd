//! Sending one delivery: a robot message over HTTPS or an e-mail over SMTP. Errors come back as
//! text, kept with the delivery for the administrator.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{ReminderConfig, SmtpSecurity};
use crate::domain::reminder::{self, RetryPolicy, RobotKind, Words, clipped};
use crate::store::reminders::Outgoing;

/// A robot or SMTP server that has not answered by then is a failed attempt, retried later.
const TIMEOUT: Duration = Duration::from_secs(15);

/// What deliveries are sent with: one HTTP client, the SMTP transport (if configured), the From
/// address and the retry policy.
#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    pub policy: RetryPolicy,
}

impl Sender {
    pub fn new(config: &ReminderConfig) -> Result<Sender, String> {
        let from: Mailbox =
            config.smtp_from.parse().map_err(|e| format!("GREENLEDGER_SMTP_FROM '{}': {e}", config.smtp_from))?;
        let smtp =
            config.smtp_host.as_deref().filter(|h| !h.trim().is_empty()).map(|host| smtp(config, host)).transpose()?;
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("greenledger/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot make the HTTP client: {e}"))?;
        Ok(Sender { http, smtp, from, policy: config.retry_policy() })
    }

    pub async fn send(&self, out: &Outgoing) -> Result<(), String> {
        let words = words(out);
        match out.channel.as_str() {
            "robot" => self.robot(out, &words).await,
            _ => self.email(&out.target, &words).await,
        }
    }

    async fn robot(&self, out: &Outgoing, words: &Words) -> Result<(), String> {
        let (Some(kind), Some(url)) = (out.robot_kind.as_deref().and_then(RobotKind::parse), out.robot_url.as_deref())
        else {
            return Err("the unit has no robot configured any more".into());
        };
        let url = match (kind, out.robot_secret.as_deref()) {
            (RobotKind::Dingtalk, Some(secret)) => {
                reminder::dingtalk_signed_url(url, secret, chrono::Utc::now().timestamp_millis())
            }
            _ => url.to_owned(),
        };
        let res = self.http.post(&url).json(&reminder::robot_body(kind, words)).send().await.map_err(|e| {
            // reqwest's error names the URL, which holds the robot's key: keep it out of the record.
            clipped(&with_causes(&e.without_url()), 300)
        })?;
        let status = res.status().as_u16();
        let body = res.text().await.unwrap_or_default();
        reminder::robot_accepted(status, &body)
    }

    async fn email(&self, to: &str, words: &Words) -> Result<(), String> {
        let Some(smtp) = &self.smtp else {
            return Err("no SMTP server is configured (GREENLEDGER_SMTP_HOST)".into());
        };
        let to: Mailbox = to.parse().map_err(|e| format!("'{to}' is not an address: {e}"))?;
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&words.title)
            .header(ContentType::TEXT_PLAIN)
            .body(words.plain.clone())
            .map_err(|e| format!("cannot write the message: {e}"))?;
        smtp.send(message).await.map(|_| ()).map_err(|e| clipped(&format!("SMTP: {}", with_causes(&e)), 300))
    }
}

/// An error and what caused it, down the chain ("error sending request: ... Connection refused"):
/// the top line alone does not tell an administrator what to fix.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

fn smtp(config: &ReminderConfig, host: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let bad = |e: lettre::transport::smtp::Error| format!("GREENLEDGER_SMTP_HOST '{host}': {e}");
    let builder = match config.smtp_security {
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(bad)?,
        SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(bad)?,
        SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
    };
    let mut builder = builder.timeout(Some(TIMEOUT));
    if let Some(port) = config.smtp_port {
        builder = builder.port(port);
    }
    if let (Some(user), Some(password)) = (&config.smtp_user, &config.smtp_password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

/// The words of a delivery's reminder.
fn words(out: &Outgoing) -> Words {
    match (out.kind.as_str(), out.items.first()) {
        ("chase", Some(task)) => reminder::chase_words(
            &out.unit_name,
            &task.code,
            &task.title,
            task.due_date,
            out.message.as_deref().unwrap_or(""),
        ),
        _ => reminder::digest_words(&out.unit_name, out.day, &out.counts, &out.items),
    }
}

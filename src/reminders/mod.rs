//! Reminders (催办) at work: the daily run in the background of every instance, and the
//! deliveries to group robots (WeCom, DingTalk) and e-mail, retried with backoff. What is made and
//! when is decided in the database (store/reminders.rs), so any number of instances cooperate.

mod send;

use std::time::Duration;

use chrono::NaiveDate;

use crate::domain::reminder::RetryPolicy;
use crate::store::{self, Db};

pub use send::Sender;

/// How the service reaches the outside world for reminders (environment, like the rest).
#[derive(Debug, Clone, clap::Args)]
pub struct ReminderConfig {
    /// SMTP server for reminder e-mail (host name); without it, e-mail deliveries wait, marked
    /// as not configured.
    #[arg(long, env = "GREENLEDGER_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port (default: 465 for tls, 587 for starttls, 25 for none).
    #[arg(long, env = "GREENLEDGER_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// How the SMTP connection is protected: starttls, tls, or none (a relay on this machine or a test).
    #[arg(long, env = "GREENLEDGER_SMTP_SECURITY", value_enum, default_value = "starttls")]
    pub smtp_security: SmtpSecurity,
    /// SMTP user name, when the server requires a login.
    #[arg(long, env = "GREENLEDGER_SMTP_USER")]
    pub smtp_user: Option<String>,
    /// SMTP password.
    #[arg(long, env = "GREENLEDGER_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// The From address of reminder e-mail, e.g. "县生态环境局 <ledger@example.gov.cn>".
    #[arg(long, env = "GREENLEDGER_SMTP_FROM", default_value = "greenledger <greenledger@localhost>")]
    pub smtp_from: String,
    /// Seconds before the first retry of a failed delivery; each next retry waits twice as long.
    #[arg(long, env = "GREENLEDGER_REMINDER_RETRY_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub retry_secs: u64,
    /// Attempts before a delivery is given up (marked failed).
    #[arg(long, env = "GREENLEDGER_REMINDER_ATTEMPTS", default_value_t = 8, value_parser = clap::value_parser!(i32).range(1..=50))]
    pub max_attempts: i32,
    /// `false` leaves the daily run and the deliveries to other instances (or `greenledger reminders run`).
    #[arg(long, env = "GREENLEDGER_REMINDERS", default_value_t = true, action = clap::ArgAction::Set)]
    pub background: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SmtpSecurity {
    Starttls,
    Tls,
    None,
}

impl ReminderConfig {
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy { base: Duration::from_secs(self.retry_secs), max_attempts: self.max_attempts }
    }

    /// No SMTP, default retries: what tests and `ServerConfig::new` start with.
    pub fn none() -> Self {
        Self {
            smtp_host: None,
            smtp_port: None,
            smtp_security: SmtpSecurity::Starttls,
            smtp_user: None,
            smtp_password: None,
            smtp_from: "greenledger <greenledger@localhost>".into(),
            retry_secs: 60,
            max_attempts: 8,
            background: true,
        }
    }
}

/// What one pass of the deliveries did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub sent: u32,
    pub failed: u32,
}

/// Sends every delivery that is due now, one at a time, each in its own transaction holding its
/// row: another instance working the queue takes the next one instead.
pub async fn deliver_due(db: &Db, sender: &Sender) -> Result<Delivered, sqlx::Error> {
    let mut done = Delivered::default();
    loop {
        let mut tx = db.begin().await?;
        let Some(out) = store::reminders::claim(&mut tx).await? else { break };
        let result = sender.send(&out).await;
        match &result {
            Ok(()) => done.sent += 1,
            Err(e) => {
                tracing::warn!(delivery = out.id, channel = %out.channel, error = %e, "reminder delivery failed");
                done.failed += 1;
            }
        }
        store::reminders::finish(&mut tx, &out, result, &sender.policy).await?;
        tx.commit().await?;
    }
    Ok(done)
}

/// Makes `day`'s digests (once) and sends what is due: what `greenledger reminders run` does.
pub async fn run(
    db: &Db,
    day: NaiveDate,
    sender: &Sender,
) -> Result<(store::reminders::RunOutcome, Delivered), sqlx::Error> {
    let outcome = store::reminders::run_day(db, day).await?;
    let delivered = deliver_due(db, sender).await?;
    Ok((outcome, delivered))
}

/// The background job of the service: every 30 seconds, the day's run once its hour has come,
/// then the deliveries that are due. Errors are logged and tried again on the next round.
pub fn spawn(db: Db, sender: std::sync::Arc<Sender>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(30));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = round(&db, &sender).await {
                tracing::warn!(error = %e, "reminders: this round failed; trying again in 30 s");
            }
        }
    })
}

async fn round(db: &Db, sender: &Sender) -> Result<(), sqlx::Error> {
    if let Some(day) = store::reminders::day_due(db).await? {
        let made = store::reminders::run_day(db, day).await?;
        if made.ran {
            tracing::info!(%day, digests = made.digests, deliveries = made.deliveries, "reminders: the day's digests are made");
        }
    }
    deliver_due(db, sender).await?;
    Ok(())
}

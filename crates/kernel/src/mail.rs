//! Outgoing email, durable: a message is written to the `mail_queue` table inside the
//! transaction of the change that causes it, and a worker delivers it after commit, over
//! SMTP when `SMTP_URL` is set or as an `.eml` file in the data dir's `mail/` folder
//! otherwise. Failed deliveries are retried with exponential backoff and jitter.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rand::Rng;
use serde::Serialize;
use tokio::sync::Notify;

use crate::args;
use crate::config::Config;
use crate::db::{Db, DbKind, Tx};
use crate::error::Result;

pub const MAX_ATTEMPTS: i64 = 8;

#[derive(Debug, Clone, Serialize)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Queue an email in the caller's transaction. It is sent only if that transaction commits.
pub async fn enqueue(tx: &mut Tx, email: &OutgoingEmail) -> Result<()> {
    let now = crate::time::now();
    tx.execute(
        "INSERT INTO mail_queue (id, to_addr, subject, html, text, status, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)",
        args![crate::ids::new_id(), &email.to, &email.subject, &email.html, &email.text, now],
    )
    .await?;
    Ok(())
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(PathBuf),
}

/// Delivers queued mail. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<MailerInner>,
}

struct MailerInner {
    transport: Transport,
    from: Mailbox,
    wake: Notify,
}

impl Mailer {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|e| anyhow::anyhow!("mail_from {:?} is not a mailbox: {e}", config.mail_from))?;
        let transport = match config.smtp_url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| anyhow::anyhow!("SMTP_URL is not valid: {e}"))?
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
            ),
            None => {
                std::fs::create_dir_all(config.mail_dir())?;
                Transport::Folder(config.mail_dir())
            }
        };
        Ok(Self { inner: Arc::new(MailerInner { transport, from, wake: Notify::new() }) })
    }

    /// Tell the worker new mail was committed.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    pub fn describe(&self) -> &'static str {
        match self.inner.transport {
            Transport::Smtp(_) => "smtp",
            Transport::Folder(_) => "folder",
        }
    }

    fn build(&self, email: &OutgoingEmail) -> std::result::Result<Message, String> {
        let to: Mailbox = email.to.parse().map_err(|e| format!("bad recipient {:?}: {e}", email.to))?;
        Message::builder()
            .from(self.inner.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()))
            .map_err(|e| format!("building the message: {e}"))
    }

    /// Deliver one message now.
    pub async fn send(&self, email: &OutgoingEmail) -> std::result::Result<(), String> {
        let message = self.build(email)?;
        match &self.inner.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
            Transport::Folder(dir) => {
                let name = format!("{}-{}.eml", crate::time::now().unix_timestamp_nanos(), crate::ids::random_token(6));
                let tmp = dir.join(format!(".{name}.tmp"));
                tokio::fs::write(&tmp, message.formatted()).await.map_err(|e| e.to_string())?;
                tokio::fs::rename(&tmp, dir.join(name)).await.map_err(|e| e.to_string())
            }
        }
    }

    /// Deliver due messages until `shutdown` resolves.
    pub async fn run_worker(self, db: Db, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            match self.deliver_due(&db).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "mail worker could not read the queue"),
            }
            tokio::select! {
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Claim and deliver up to 10 due messages; returns how many were attempted.
    pub async fn deliver_due(&self, db: &Db) -> Result<usize> {
        let now = crate::time::now();
        let lease = now + time::Duration::seconds(120);
        let claim = match db.kind() {
            DbKind::Postgres => {
                "UPDATE mail_queue SET locked_until = $2 WHERE id IN (
                   SELECT id FROM mail_queue WHERE status = 'pending' AND next_attempt_at <= $1
                   AND (locked_until IS NULL OR locked_until < $1)
                   ORDER BY next_attempt_at LIMIT 10 FOR UPDATE SKIP LOCKED)
                 RETURNING id, to_addr, subject, html, text, attempts"
            }
            DbKind::Sqlite => {
                "UPDATE mail_queue SET locked_until = $2 WHERE id IN (
                   SELECT id FROM mail_queue WHERE status = 'pending' AND next_attempt_at <= $1
                   AND (locked_until IS NULL OR locked_until < $1)
                   ORDER BY next_attempt_at LIMIT 10)
                 RETURNING id, to_addr, subject, html, text, attempts"
            }
        };
        let mut tx = db.begin().await?;
        let batch: Vec<QueuedMail> = tx.fetch_all(claim, args![now, lease]).await?;
        tx.commit().await?;
        for mail in &batch {
            let email = OutgoingEmail {
                to: mail.to_addr.clone(),
                subject: mail.subject.clone(),
                html: mail.html.clone(),
                text: mail.text.clone(),
            };
            let outcome = self.send(&email).await;
            let attempts = mail.attempts + 1;
            let done = crate::time::now();
            match outcome {
                Ok(()) => {
                    db.execute(
                        "UPDATE mail_queue SET status = 'sent', attempts = $2, sent_at = $3, locked_until = NULL, last_error = NULL WHERE id = $1",
                        args![&mail.id, attempts, done],
                    )
                    .await?;
                    metrics::counter!("socle_emails_total", "outcome" => "sent").increment(1);
                }
                Err(error) => {
                    let status = if attempts >= MAX_ATTEMPTS { "failed" } else { "pending" };
                    let next = done + backoff(attempts);
                    tracing::warn!(mail_id = %mail.id, attempts, %error, "email delivery failed");
                    db.execute(
                        "UPDATE mail_queue SET status = $2, attempts = $3, next_attempt_at = $4, last_error = $5, locked_until = NULL WHERE id = $1",
                        args![&mail.id, status, attempts, next, error],
                    )
                    .await?;
                    metrics::counter!("socle_emails_total", "outcome" => "failed_attempt").increment(1);
                }
            }
        }
        Ok(batch.len())
    }
}

#[derive(sqlx::FromRow)]
struct QueuedMail {
    id: String,
    to_addr: String,
    subject: String,
    html: String,
    text: String,
    attempts: i64,
}

/// 10 s, 20 s, 40 s ... capped at one hour, with up to 20 % jitter.
pub fn backoff(attempts: i64) -> time::Duration {
    let exp = attempts.clamp(1, 20) - 1;
    let base = (10i64 << exp).min(3600);
    let jitter = rand::rng().random_range(0..=base / 5);
    time::Duration::seconds(base + jitter)
}

/// Escape text for inclusion in HTML email bodies.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A minimal, readable HTML layout shared by the platform's transactional emails.
pub fn html_layout(title: &str, paragraphs: &[String], action: Option<(&str, &str)>) -> String {
    let mut body = String::new();
    for p in paragraphs {
        body.push_str(&format!("<p style=\"margin:0 0 16px\">{}</p>", html_escape(p)));
    }
    if let Some((label, url)) = action {
        body.push_str(&format!(
            "<p><a href=\"{}\" style=\"display:inline-block;background:#2563eb;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none\">{}</a></p><p style=\"color:#555;font-size:13px\">{}</p>",
            html_escape(url),
            html_escape(label),
            html_escape(url)
        ));
    }
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head><body style=\"font-family:system-ui,sans-serif;color:#111;max-width:560px;margin:auto;padding:24px\"><h1 style=\"font-size:20px\">{t}</h1>{body}</body></html>",
        t = html_escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let first = backoff(1).whole_seconds();
        assert!((10..=12).contains(&first));
        let third = backoff(3).whole_seconds();
        assert!((40..=48).contains(&third));
        assert!(backoff(30).whole_seconds() <= 3600 + 720);
        assert_eq!(html_escape("<a href=\"x\">&</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
    }
}

//! Outgoing email, durable: every message is an `email.send` job (queue `email`) enqueued in
//! the transaction of the change that causes it, and the job worker delivers it after
//! commit, over SMTP when `SMTP_URL` is set or as an `.eml` file in the data dir's `mail/`
//! folder otherwise. Failed deliveries are retried with the queue's backoff.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::db::Tx;
use crate::error::Result;
use crate::jobs::{Job, JobContext, JobError, JobFuture, JobHandler, NewJob};

pub const MAX_ATTEMPTS: i64 = 8;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
}

pub const JOB_KIND: &str = "email.send";

/// Queue an email in the caller's transaction. It is sent only if that transaction commits.
pub async fn enqueue(tx: &mut Tx, email: &OutgoingEmail) -> Result<()> {
    let payload = serde_json::to_value(email).map_err(crate::Error::internal)?;
    crate::jobs::enqueue(tx, NewJob::new(JOB_KIND, payload).queue("email").max_attempts(MAX_ATTEMPTS)).await?;
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
        Ok(Self { inner: Arc::new(MailerInner { transport, from }) })
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
}

impl JobHandler for Mailer {
    fn run<'a>(&'a self, job: &'a Job, _ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            let email: OutgoingEmail = serde_json::from_value(job.payload.clone())
                .map_err(|e| JobError::Permanent(format!("not an email: {e}")))?;
            match self.send(&email).await {
                Ok(()) => {
                    metrics::counter!("socle_emails_total", "outcome" => "sent").increment(1);
                    Ok(None)
                }
                Err(error) => {
                    metrics::counter!("socle_emails_total", "outcome" => "failed_attempt").increment(1);
                    Err(JobError::Retry(error))
                }
            }
        })
    }
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
    fn html_is_escaped() {
        assert_eq!(html_escape("<a href=\"x\">&</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
    }
}

//! What administrators sent: one row per notification sent to a user, a role or everyone,
//! with its recipient count once delivered (at once for a user, when the fan-out job ends
//! for a role or everyone). The back-office lists them.

use kernel::db::Conditions;
use kernel::pagination::{Page, PageRequest};
use kernel::principal::UserPrincipal;
use kernel::{Db, Result, Tx, args};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::NewNotification;

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct SentNotification {
    pub id: String,
    /// The administrator who sent it.
    pub sent_by: String,
    /// Their address when they sent it.
    pub sent_by_email: Option<String>,
    /// `user`, `role` or `everyone`.
    pub audience: String,
    /// The user's address (`user`) or the role (`role`).
    pub audience_value: Option<String>,
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub kind: String,
    pub title: String,
    pub body: String,
    pub url: Option<String>,
    /// The fan-out job (a role or everyone).
    pub job_id: Option<String>,
    /// How many were notified; null while the fan-out runs.
    pub recipients: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<OffsetDateTime>,
}

/// To whom a notification went, as recorded.
pub struct SentTo<'a> {
    pub audience: &'static str,
    pub value: Option<&'a str>,
    pub job_id: Option<&'a str>,
    /// Known at once for a single user.
    pub recipients: Option<i64>,
}

/// Record a sent notification in the transaction that sends it (or queues its fan-out).
pub async fn record(tx: &mut Tx, sender: &UserPrincipal, to: SentTo<'_>, n: &NewNotification) -> Result<String> {
    let id = kernel::ids::new_id();
    record_as(tx, &id, sender, to, n).await?;
    Ok(id)
}

/// [`record`] under a known id (the fan-out job carries it).
pub async fn record_as(
    tx: &mut Tx,
    id: &str,
    sender: &UserPrincipal,
    to: SentTo<'_>,
    n: &NewNotification,
) -> Result<()> {
    let now = kernel::time::now();
    let delivered_at = to.recipients.map(|_| now);
    tx.execute(
        "INSERT INTO sent_notifications (id, sent_by, sent_by_email, audience, audience_value, type, title, body, url,
             job_id, recipients, created_at, delivered_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        args![
            id,
            &sender.user_id,
            &sender.email,
            to.audience,
            to.value,
            &n.kind,
            &n.title,
            &n.body,
            n.url.clone(),
            to.job_id,
            to.recipients,
            now,
            delivered_at
        ],
    )
    .await?;
    Ok(())
}

/// The fan-out of `id` notified `recipients` people (in the job's own transaction).
pub async fn delivered(tx: &mut Tx, id: &str, recipients: usize) -> Result<()> {
    tx.execute(
        "UPDATE sent_notifications SET recipients = $2, delivered_at = $3 WHERE id = $1",
        args![id, recipients as i64, kernel::time::now()],
    )
    .await?;
    Ok(())
}

/// Sent notifications, newest first.
pub async fn list(db: &Db, page: PageRequest) -> Result<Page<SentNotification>> {
    Conditions::new()
        .fetch_page(
            db,
            "id, sent_by, sent_by_email, audience, audience_value, type, title, body, url, job_id, recipients,
             created_at, delivered_at",
            "sent_notifications",
            "created_at DESC, id DESC",
            page,
        )
        .await
}

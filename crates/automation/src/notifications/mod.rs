//! In-app notifications for platform users: stored per user, delivered live to the user's
//! open WebSocket connections (across processes through PostgreSQL NOTIFY), and by email
//! when the user's preference for that notification type asks for it. Serious audit
//! entries (HIGH, CRITICAL) notify every administrator.

pub mod live;
pub mod routes;
pub mod sent;

use kernel::db::Conditions;
use kernel::jobs::{Job, JobContext, JobError, JobFuture, JobHandler, NewJob, Registry};
use kernel::outbox::{Event, Listener, ListenerFuture};
use kernel::pagination::{Page, PageRequest};
use kernel::{Db, Error, PlatformRole, Result, Tx, args};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::AutomationState;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Notification {
    pub id: String,
    pub user_id: String,
    /// Dotted type (`audit.alert`, `workflow`, `admin.message`...): preferences are per type.
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub kind: String,
    pub title: String,
    pub body: String,
    pub url: Option<String>,
    #[schema(value_type = Option<Object>)]
    #[sqlx(json(nullable))]
    pub data: Option<Value>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub read_at: Option<OffsetDateTime>,
    /// A later notification with the same tag replaces this one (same id, unread again).
    pub tag: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// What to notify.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct NewNotification {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    #[serde(default)]
    pub body: String,
    pub url: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
    /// Replace the user's notification with this tag, if any (`export:ID`: its progress,
    /// then its end), rather than add one.
    #[serde(default)]
    pub tag: Option<String>,
}

impl NewNotification {
    pub fn validate(&self) -> Result<()> {
        let mut v = kernel::validate::Validator::new();
        v.text("type", &self.kind, 64);
        if !self.kind.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
            v.add("type", "invalid_format", "type is letters, digits, '.', '_' and '-'");
        }
        v.text("title", &self.title, 200);
        v.max_len("body", &self.body, 5000);
        if let Some(u) = &self.url {
            v.max_len("url", u, 2000);
        }
        if let Some(t) = &self.tag {
            v.text("tag", t, 200);
        }
        v.finish()
    }
}

pub(crate) const COLUMNS: &str = "id, user_id, type, title, body, url, data, read_at, tag, created_at";

/// Notify one user in the caller's transaction: the row, the live push after commit, and
/// an email job when the user wants this type by email. A tagged notification replaces the
/// user's one with the same tag (unread again, the same id); it is emailed only when it is
/// new or its type changed (a progress is not, its end is).
pub async fn notify_user(
    tx: &mut Tx,
    live: &live::Hub,
    user_id: &str,
    email: Option<&str>,
    n: &NewNotification,
) -> Result<Notification> {
    let replaced: Option<(String, String)> = match &n.tag {
        Some(tag) => {
            tx.fetch_optional(
                "SELECT id, type FROM notifications WHERE user_id = $1 AND tag = $2 ORDER BY created_at DESC LIMIT 1",
                args![user_id, tag],
            )
            .await?
        }
        None => None,
    };
    let notification = Notification {
        id: replaced.as_ref().map(|(id, _)| id.clone()).unwrap_or_else(kernel::ids::new_id),
        user_id: user_id.to_string(),
        kind: n.kind.clone(),
        title: n.title.clone(),
        body: n.body.clone(),
        url: n.url.clone(),
        data: n.data.clone(),
        read_at: None,
        tag: n.tag.clone(),
        created_at: kernel::time::now(),
    };
    let new_type = replaced.as_ref().is_none_or(|(_, kind)| *kind != n.kind);
    if replaced.is_some() {
        tx.execute(
            "UPDATE notifications SET type = $2, title = $3, body = $4, url = $5, data = $6, read_at = NULL, created_at = $7
             WHERE id = $1",
            args![&notification.id, &n.kind, &n.title, &n.body, n.url.clone(), n.data.clone(), notification.created_at],
        )
        .await?;
    } else {
        tx.execute(
            "INSERT INTO notifications (id, user_id, type, title, body, url, data, read_at, tag, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9)",
            args![
                &notification.id,
                user_id,
                &n.kind,
                &n.title,
                &n.body,
                n.url.clone(),
                n.data.clone(),
                n.tag.clone(),
                notification.created_at
            ],
        )
        .await?;
    }
    let wants_email: Option<(bool,)> = tx
        .fetch_optional(
            "SELECT email FROM notification_preferences WHERE user_id = $1 AND type = $2",
            args![user_id, &n.kind],
        )
        .await?;
    if let (true, Some((true,)), Some(to)) = (new_type, wants_email, email) {
        let vars = json!({"title": n.title, "body": n.body, "url": n.url});
        let mail = kernel::templates::render_email(tx, "notification", to, &vars).await?;
        kernel::mail::enqueue(tx, &mail).await?;
    }
    live.publish_after_commit(tx, &notification).await?;
    metrics::counter!("socle_notifications_total", "type" => n.kind.clone()).increment(1);
    Ok(notification)
}

/// Who an administrator notifies.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct Audience {
    /// One user.
    pub user_id: Option<String>,
    /// Everyone with this platform role (`user`, `premium`, `admin`).
    pub role: Option<String>,
    /// Every active account.
    #[serde(default)]
    pub everyone: bool,
}

/// Notify an audience on an administrator's behalf. A single user is notified at once; a
/// role or everyone is fanned out by a job, so that a large audience does not hold the
/// request. Either way what was sent is recorded (see [`sent`]).
pub async fn notify_audience(
    s: &AutomationState,
    sender: &kernel::principal::UserPrincipal,
    audience: &Audience,
    n: &NewNotification,
) -> Result<Value> {
    n.validate()?;
    let chosen =
        [audience.user_id.is_some(), audience.role.is_some(), audience.everyone].iter().filter(|b| **b).count();
    if chosen != 1 {
        return Err(Error::field("user_id", "audience", "give exactly one of user_id, role or everyone"));
    }
    let role = match &audience.role {
        Some(r) => Some(
            PlatformRole::parse(r).ok_or_else(|| Error::field("role", "invalid", "role is user, premium or admin"))?,
        ),
        None => None,
    };
    let mut tx = s.db.begin().await?;
    if let Some(user_id) = &audience.user_id {
        let user = foundation::accounts::find_by_id(&mut tx, user_id).await?.ok_or_else(|| Error::not_found("user"))?;
        let created = notify_user(&mut tx, &s.live, &user.id, Some(&user.email), n).await?;
        let to = sent::SentTo { audience: "user", value: Some(&user.email), job_id: None, recipients: Some(1) };
        let sent_id = sent::record(&mut tx, sender, to, n).await?;
        tx.commit().await?;
        return Ok(json!({"notified": 1, "notification_id": created.id, "sent_id": sent_id}));
    }
    let sent_id = kernel::ids::new_id();
    let job = kernel::jobs::enqueue(
        &mut tx,
        NewJob::new(FANOUT_JOB, json!({"role": role.map(|r| r.as_str()), "notification": n, "sent_id": sent_id}))
            .queue("notifications"),
    )
    .await?;
    let to = match role {
        Some(r) => sent::SentTo { audience: "role", value: Some(r.as_str()), job_id: job.as_deref(), recipients: None },
        None => sent::SentTo { audience: "everyone", value: None, job_id: job.as_deref(), recipients: None },
    };
    sent::record_as(&mut tx, &sent_id, sender, to, n).await?;
    tx.commit().await?;
    Ok(json!({"job_id": job, "sent_id": sent_id}))
}

pub const FANOUT_JOB: &str = "notifications.fanout";

struct Fanout(AutomationState);

impl JobHandler for Fanout {
    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            let n: NewNotification = serde_json::from_value(job.payload["notification"].clone())
                .map_err(|e| JobError::Permanent(format!("bad notification: {e}")))?;
            let role = job.payload["role"].as_str().and_then(PlatformRole::parse);
            // One transaction with the completion: a retry never notifies anyone twice.
            let mut tx = ctx.db.begin().await?;
            let recipients = foundation::accounts::active_recipients(&mut tx, role).await?;
            for (id, email) in &recipients {
                notify_user(&mut tx, &self.0.live, id, Some(email), &n).await?;
            }
            if let Some(sent_id) = job.payload["sent_id"].as_str() {
                sent::delivered(&mut tx, sent_id, recipients.len()).await?;
            }
            ctx.complete_in(tx, Some(json!({"notified": recipients.len()}))).await?;
            Ok(None)
        })
    }
}

pub fn register_jobs(registry: &mut Registry, state: &AutomationState) {
    registry.register(FANOUT_JOB, Fanout(state.clone()));
}

/// The event any module appends to tell one user something (`payload`: `user_id`, `type`,
/// `title`, `body`, `url`, `data`, optionally `tag`): a notification, live and by email per
/// their preferences; with a tag it replaces the earlier one of that tag.
pub const NOTIFY_USER_EVENT: &str = "notify.user";

/// Turns `notify.user` events into notifications, in the dispatch transaction.
pub struct UserNotices(pub AutomationState);

impl Listener for UserNotices {
    fn name(&self) -> &'static str {
        "notifications.user_notices"
    }

    fn on_event<'a>(&'a self, event: &'a Event, tx: &'a mut Tx) -> ListenerFuture<'a> {
        Box::pin(async move {
            if event.kind != NOTIFY_USER_EVENT {
                return Ok(());
            }
            let p = &event.payload;
            let Some(user_id) = p["user_id"].as_str() else { return Ok(()) };
            let n = NewNotification {
                kind: p["type"].as_str().unwrap_or("notice").to_string(),
                title: p["title"].as_str().unwrap_or_default().chars().take(200).collect(),
                body: p["body"].as_str().unwrap_or_default().chars().take(5000).collect(),
                url: p["url"].as_str().map(str::to_string),
                data: p.get("data").cloned().filter(|d| !d.is_null()),
                tag: p["tag"].as_str().map(str::to_string),
            };
            if n.validate().is_err() {
                tracing::warn!(kind = %n.kind, "a notify.user event was not a valid notification");
                return Ok(());
            }
            let Some(user) = foundation::accounts::find_by_id(&mut *tx, user_id).await? else { return Ok(()) };
            notify_user(tx, &self.0.live, user_id, Some(&user.email), &n).await?;
            Ok(())
        })
    }
}

/// HIGH and CRITICAL audit entries notify every administrator, in the dispatch transaction.
pub struct AuditAlerts(pub AutomationState);

impl Listener for AuditAlerts {
    fn name(&self) -> &'static str {
        "notifications.audit_alerts"
    }

    fn on_event<'a>(&'a self, event: &'a Event, tx: &'a mut Tx) -> ListenerFuture<'a> {
        Box::pin(async move {
            if event.kind != foundation::audit::AUDIT_ALERT_EVENT {
                return Ok(());
            }
            let p = &event.payload;
            let n = NewNotification {
                kind: "audit.alert".into(),
                title: format!(
                    "{} audit event: {}",
                    p["severity"].as_str().unwrap_or("HIGH"),
                    p["action"].as_str().unwrap_or("unknown")
                ),
                body: p["description"].as_str().unwrap_or_default().to_string(),
                url: None,
                data: Some(p.clone()),
                tag: None,
            };
            for (id, email) in foundation::accounts::active_recipients(tx, Some(PlatformRole::Admin)).await? {
                notify_user(tx, &self.0.live, &id, Some(&email), &n).await?;
            }
            Ok(())
        })
    }
}

pub async fn list(db: &Db, user_id: &str, unread_only: bool, page: PageRequest) -> Result<Page<Notification>> {
    let mut c = Conditions::new();
    c.add("user_id = {}", user_id);
    if unread_only {
        c.add_fixed("read_at IS NULL");
    }
    let w = c.where_sql();
    let total: i64 =
        db.scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM notifications {w}")), c.args.clone()).await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM notifications {w} ORDER BY created_at DESC, id DESC LIMIT {} OFFSET {}",
        c.next_placeholder(1),
        c.next_placeholder(2)
    );
    let mut a = c.args;
    a.push(page.limit().into());
    a.push(page.offset().into());
    Ok(Page::new(db.fetch_all(sqlx::AssertSqlSafe(sql), a).await?, page, total))
}

pub async fn unread_count(db: &Db, user_id: &str) -> Result<i64> {
    db.scalar("SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL", args![user_id]).await
}

pub async fn mark_read(db: &Db, user_id: &str, id: &str) -> Result<Notification> {
    let now = kernel::time::now();
    let n = db
        .execute(
            "UPDATE notifications SET read_at = COALESCE(read_at, $3) WHERE id = $1 AND user_id = $2",
            args![id, user_id, now],
        )
        .await?;
    if n == 0 {
        return Err(Error::not_found("notification"));
    }
    db.fetch_one(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM notifications WHERE id = $1")), args![id]).await
}

pub async fn mark_all_read(db: &Db, user_id: &str) -> Result<u64> {
    db.execute(
        "UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL",
        args![user_id, kernel::time::now()],
    )
    .await
}

pub async fn delete(db: &Db, user_id: &str, id: &str) -> Result<()> {
    let n = db.execute("DELETE FROM notifications WHERE id = $1 AND user_id = $2", args![id, user_id]).await?;
    if n == 0 { Err(Error::not_found("notification")) } else { Ok(()) }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Preference {
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub kind: String,
    /// Also send notifications of this type by email.
    pub email: bool,
}

pub async fn preferences(db: &Db, user_id: &str) -> Result<Vec<Preference>> {
    db.fetch_all("SELECT type, email FROM notification_preferences WHERE user_id = $1 ORDER BY type", args![user_id])
        .await
}

pub async fn set_preferences(db: &Db, user_id: &str, prefs: &[Preference]) -> Result<Vec<Preference>> {
    if prefs.len() > 100 {
        return Err(Error::field("preferences", "too_many", "at most 100 preferences"));
    }
    for (i, p) in prefs.iter().enumerate() {
        if p.kind.is_empty() || p.kind.len() > 64 {
            return Err(Error::field(&format!("preferences[{i}].type"), "invalid", "type is 1 to 64 characters"));
        }
    }
    let mut tx = db.begin().await?;
    for p in prefs {
        tx.execute(
            "INSERT INTO notification_preferences (user_id, type, email) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, type) DO UPDATE SET email = $3",
            args![user_id, &p.kind, p.email],
        )
        .await?;
    }
    tx.commit().await?;
    preferences(db, user_id).await
}

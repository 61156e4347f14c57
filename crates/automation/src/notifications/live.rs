//! Live delivery of notifications to open WebSocket connections. On PostgreSQL a
//! notification is sent with `pg_notify` inside the transaction that stores it, so every
//! process (this one included) hears it exactly when it commits; on SQLite (one process) it
//! is published in-process after commit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kernel::{Db, Result, Tx, args};
use tokio::sync::mpsc;

use super::Notification;

const CHANNEL: &str = "socle_notifications";
/// Notifications waiting for a slow connection; one more and it is let go.
const BUFFER: usize = 64;

/// Open connections by user: (connection number, its queue).
type Connections = HashMap<String, Vec<(u64, mpsc::Sender<String>)>>;

#[derive(Clone, Default)]
pub struct Hub {
    inner: Arc<Mutex<Connections>>,
    next: Arc<std::sync::atomic::AtomicU64>,
    /// Whether this process hears every process's notifications (on PostgreSQL: its LISTEN
    /// is in place). A connection is greeted only then, so that a notification stored after
    /// the greeting cannot miss it.
    pub(crate) listening: kernel::listen::Readiness,
}

/// A connection's registration; dropping it unregisters.
pub struct Subscription {
    hub: Hub,
    user_id: String,
    id: u64,
    pub receiver: mpsc::Receiver<String>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Ok(mut map) = self.hub.inner.lock()
            && let Some(list) = map.get_mut(&self.user_id)
        {
            list.retain(|(id, _)| *id != self.id);
            if list.is_empty() {
                map.remove(&self.user_id);
            }
        }
        metrics::gauge!("socle_notification_connections").decrement(1.0);
    }
}

impl Hub {
    pub fn subscribe(&self, user_id: &str) -> Subscription {
        let (tx, rx) = mpsc::channel(BUFFER);
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut map) = self.inner.lock() {
            map.entry(user_id.to_string()).or_default().push((id, tx));
        }
        metrics::gauge!("socle_notification_connections").increment(1.0);
        Subscription { hub: self.clone(), user_id: user_id.to_string(), id, receiver: rx }
    }

    pub fn connections(&self) -> usize {
        self.inner.lock().map(|m| m.values().map(Vec::len).sum()).unwrap_or(0)
    }

    /// Hand a message to this process's connections of `user_id`.
    ///
    /// A connection whose queue is full is let go rather than left to miss pushes without
    /// knowing: its queue is dropped here, so it ends once drained, and the connection is
    /// closed with 1013 (its client reconnects and lists what it missed).
    fn deliver_local(&self, user_id: &str, message: &str) {
        let Ok(mut map) = self.inner.lock() else { return };
        if let Some(list) = map.get_mut(user_id) {
            list.retain(|(_, sender)| {
                !matches!(sender.try_send(message.to_string()), Err(mpsc::error::TrySendError::Full(_)))
            });
        }
    }

    /// Arrange for `n` to reach its user's connections once `tx` commits.
    pub async fn publish_after_commit(&self, tx: &mut Tx, n: &Notification) -> Result<()> {
        let message = serde_json::json!({"type": "notification", "notification": n}).to_string();
        match tx.kind() {
            kernel::DbKind::Postgres => {
                // NOTIFY payloads are limited to 8000 bytes: large ones travel by id.
                let payload = if message.len() < 7000 {
                    serde_json::json!({"user_id": n.user_id, "message": message})
                } else {
                    serde_json::json!({"user_id": n.user_id, "id": n.id})
                };
                tx.execute("SELECT pg_notify($1, $2)", args![CHANNEL, payload.to_string()]).await?;
            }
            kernel::DbKind::Sqlite => {
                let hub = self.clone();
                let user = n.user_id.clone();
                tx.after_commit(move || hub.deliver_local(&user, &message));
            }
        }
        Ok(())
    }

    /// On PostgreSQL, relay every process's notifications to this process's connections.
    pub async fn listen(self, db: Db, stop: tokio::sync::watch::Receiver<bool>) {
        let ready = self.listening.clone();
        kernel::listen::listen(&db, CHANNEL, "notification", &ready, stop, |payload| {
            let (hub, db) = (self.clone(), db.clone());
            async move { hub.relay(&db, &payload).await }
        })
        .await;
    }

    async fn relay(&self, db: &Db, payload: &str) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(payload) else { return };
        let Some(user_id) = v["user_id"].as_str() else { return };
        if !self.inner.lock().map(|m| m.contains_key(user_id)).unwrap_or(false) {
            return;
        }
        if let Some(message) = v["message"].as_str() {
            self.deliver_local(user_id, message);
        } else if let Some(id) = v["id"].as_str() {
            let row: Option<Notification> = db
                .fetch_optional(
                    sqlx::AssertSqlSafe(format!("SELECT {} FROM notifications WHERE id = $1", super::COLUMNS)),
                    args![id],
                )
                .await
                .ok()
                .flatten();
            if let Some(n) = row {
                let message = serde_json::json!({"type": "notification", "notification": n}).to_string();
                self.deliver_local(user_id, &message);
            }
        }
    }
}

//! The event outbox: a domain event is a row appended in the transaction of the change it
//! describes, so it exists exactly when the change does (a rolled-back change emits
//! nothing). After commit the dispatcher hands each event, in sequence order, to the
//! registered listeners inside a transaction of its own, and marks it dispatched in that
//! same transaction: listeners react durably (they enqueue jobs, write rows), so a crash
//! between commit and delivery loses nothing and nothing is delivered twice. Several
//! processes may dispatch at once on PostgreSQL (`FOR UPDATE SKIP LOCKED`).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::args;
use crate::db::{Db, DbKind, Tx};
use crate::error::Result;

static WAKE: LazyLock<crate::Wake> = LazyLock::new(crate::Wake::new);

/// After this many failed deliveries an event is set aside (`last_error` says why).
pub const MAX_DISPATCH_ATTEMPTS: i64 = 10;
/// Events delivered in one transaction.
pub const DISPATCH_BATCH: i64 = 100;
/// Events still to dispatch, as a condition (`$1`: [`MAX_DISPATCH_ATTEMPTS`]): what the
/// dispatcher's probe looks for and its claim takes.
const PENDING: &str = "dispatched_at IS NULL AND attempts < $1";
/// While events keep arriving, how long the dispatcher lets them gather between batches.
/// An event after a quiet period is dispatched at once.
const COALESCE: Duration = Duration::from_millis(2);

enum Batch {
    Delivered(usize),
    /// A listener failed on one of this many claimed events; nothing was committed.
    ListenerFailed(usize),
}

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Dotted name: `project.created`, `record.created`, `audit.high`...
    pub kind: String,
    /// The tenant it belongs to, when it has one (webhooks subscribe per organization).
    pub organization_id: Option<String>,
    pub payload: Value,
}

impl NewEvent {
    pub fn new(kind: &str, organization_id: Option<&str>, payload: Value) -> Self {
        NewEvent { kind: kind.to_string(), organization_id: organization_id.map(str::to_string), payload }
    }
}

/// A stored event, as listeners see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Event {
    pub seq: i64,
    pub id: String,
    pub kind: String,
    pub organization_id: Option<String>,
    #[sqlx(json)]
    pub payload: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Append `event` in the caller's transaction; returns its id.
pub async fn append(tx: &mut Tx, mut event: NewEvent) -> Result<String> {
    let id = crate::ids::new_id();
    if let (Some(cause), Value::Object(map)) = (tx.cause(), &mut event.payload) {
        map.entry("cause").or_insert_with(|| cause.clone());
    }
    tx.execute(
        "INSERT INTO outbox (id, kind, organization_id, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
        args![&id, event.kind, event.organization_id, event.payload, crate::time::now()],
    )
    .await?;
    tx.after_commit(|| WAKE.wake());
    Ok(id)
}

/// Declare or withdraw `listener`'s interest in the events of `scope`, in the transaction
/// that changes what the listener wants (a workflow enabled, a webhook deleted).
///
/// Some events are only worth appending while a listener wants them: every record write of
/// a busy app appending an event and its dispatch cost as much as the write itself. Their
/// writers ask [`wanted`] in their own transaction; since interest is declared in the
/// transaction that creates it, an event is missed only if it committed before the
/// listener existed.
pub async fn set_interest(tx: &mut Tx, listener: &str, scope: &str, wanted: bool) -> Result<()> {
    if wanted {
        tx.execute(
            "INSERT INTO outbox_interest (scope, listener) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            args![scope, listener],
        )
        .await?;
    } else {
        tx.execute("DELETE FROM outbox_interest WHERE scope = $1 AND listener = $2", args![scope, listener]).await?;
    }
    Ok(())
}

/// Serialize the transactions that recompute `scope`'s interest, before they read what it
/// depends on: on PostgreSQL two of them (one webhook switched off while another is added)
/// could each decide from a state without the other's change, and the last to write would
/// win. SQLite already runs one write transaction at a time.
pub async fn lock_interest(tx: &mut Tx, scope: &str) -> Result<()> {
    if tx.kind() == DbKind::Postgres {
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", args![scope]).await?;
    }
    Ok(())
}

/// Whether any listener wants the events of one of `scopes` (see [`set_interest`]).
pub async fn wanted(tx: &mut Tx, scopes: [&str; 2]) -> Result<bool> {
    // Two key probes: `scope = $1 OR scope = $2` under a LIMIT made SQLite build a temporary
    // table for every record write.
    let n = tx
        .count(
            "SELECT CAST(CASE WHEN EXISTS (SELECT 1 FROM outbox_interest WHERE scope = $1)
                OR EXISTS (SELECT 1 FROM outbox_interest WHERE scope = $2) THEN 1 ELSE 0 END AS BIGINT)",
            args![scopes[0], scopes[1]],
        )
        .await?;
    Ok(n > 0)
}

pub type ListenerFuture<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// Reacts to events inside the dispatch transaction. It must only write through `tx`
/// (typically enqueueing jobs), so that its reaction commits with the dispatch.
pub trait Listener: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn on_event<'a>(&'a self, event: &'a Event, tx: &'a mut Tx) -> ListenerFuture<'a>;
}

#[derive(Clone)]
pub struct Dispatcher {
    db: Db,
    listeners: Arc<Vec<Arc<dyn Listener>>>,
    poll: Duration,
}

impl Dispatcher {
    pub fn new(db: Db, listeners: Vec<Arc<dyn Listener>>) -> Self {
        Dispatcher { db, listeners: Arc::new(listeners), poll: Duration::from_millis(500) }
    }

    pub fn poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// Dispatch until `shutdown` turns true.
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut wake = WAKE.subscribe();
        loop {
            match self.dispatch_pending(DISPATCH_BATCH).await {
                Ok(n) if n as i64 >= DISPATCH_BATCH => continue,
                Ok(n) if n > 0 => {
                    // Events are arriving: let the next ones gather for a moment so that one
                    // transaction delivers them. Each dispatch takes the single writer; one
                    // per event took it as often as the writes themselves (measured: creates
                    // at 128 connections spent a fifth of the writer's time dispatching).
                    tokio::select! {
                        _ = tokio::time::sleep(COALESCE) => {}
                        _ = shutdown.changed() => return,
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the outbox dispatcher could not read the outbox"),
            }
            tokio::select! {
                _ = wake.changed() => {}
                _ = tokio::time::sleep(self.poll) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Deliver up to `limit` pending events; returns how many were handled (delivered or
    /// failed). Events go in batches of [`DISPATCH_BATCH`], one transaction per batch: on a
    /// busy app every record write appends an event, and a transaction per event doubled the
    /// work of the (single, on SQLite) writer. If a listener fails, the batch is rolled back
    /// and delivered again one event per transaction, so one failing event holds back no other.
    pub async fn dispatch_pending(&self, limit: i64) -> Result<usize> {
        let mut handled = 0;
        while (handled as i64) < limit {
            let size = DISPATCH_BATCH.min(limit - handled as i64);
            let n = match self.dispatch_batch(size).await? {
                Batch::Delivered(n) => n,
                Batch::ListenerFailed(n) => self.dispatch_one_by_one(n).await?,
            };
            if n == 0 {
                break;
            }
            handled += n;
        }
        Ok(handled)
    }

    async fn claim(&self, tx: &mut Tx, limit: i64) -> Result<Vec<Event>> {
        let lock = match tx.kind() {
            DbKind::Postgres => "FOR UPDATE SKIP LOCKED",
            DbKind::Sqlite => "",
        };
        tx.fetch_all(
            sqlx::AssertSqlSafe(format!(
                "SELECT seq, id, kind, organization_id, payload, created_at FROM outbox
                 WHERE {PENDING} ORDER BY seq LIMIT $2 {lock}"
            )),
            args![MAX_DISPATCH_ATTEMPTS, limit],
        )
        .await
    }

    async fn dispatch_batch(&self, size: i64) -> Result<Batch> {
        // Nothing pending (the usual case between writes) is answered by a read: the claim's
        // write transaction took the single writer twice a second for nothing.
        let pending: Option<(i64,)> = self
            .db
            .fetch_optional(
                sqlx::AssertSqlSafe(format!("SELECT seq FROM outbox WHERE {PENDING} LIMIT 1")),
                args![MAX_DISPATCH_ATTEMPTS],
            )
            .await?;
        if pending.is_none() {
            return Ok(Batch::Delivered(0));
        }
        let mut tx = self.db.begin().await?;
        let events = self.claim(&mut tx, size).await?;
        if events.is_empty() {
            return Ok(Batch::Delivered(0));
        }
        for event in &events {
            if self.deliver(event, &mut tx).await.is_err() {
                return Ok(Batch::ListenerFailed(events.len()));
            }
        }
        let placeholders: Vec<String> = (0..events.len()).map(|i| format!("${}", i + 2)).collect();
        let mut params = args![crate::time::now()];
        params.extend(events.iter().map(|e| crate::db::Arg::from(e.seq)));
        tx.execute(
            sqlx::AssertSqlSafe(format!(
                "UPDATE outbox SET dispatched_at = $1, attempts = attempts + 1 WHERE seq IN ({})",
                placeholders.join(", ")
            )),
            params,
        )
        .await?;
        tx.commit().await?;
        for event in &events {
            metrics::counter!("socle_events_dispatched_total", "kind" => event.kind.clone()).increment(1);
        }
        Ok(Batch::Delivered(events.len()))
    }

    /// Deliver up to `limit` events one transaction each, recording a listener's failure on
    /// its event.
    async fn dispatch_one_by_one(&self, limit: usize) -> Result<usize> {
        let mut handled = 0;
        while handled < limit {
            let mut tx = self.db.begin().await?;
            let Some(event) = self.claim(&mut tx, 1).await?.into_iter().next() else { return Ok(handled) };
            handled += 1;
            match self.deliver(&event, &mut tx).await {
                Ok(()) => {
                    tx.execute(
                        "UPDATE outbox SET dispatched_at = $2, attempts = attempts + 1 WHERE seq = $1",
                        args![event.seq, crate::time::now()],
                    )
                    .await?;
                    tx.commit().await?;
                    metrics::counter!("socle_events_dispatched_total", "kind" => event.kind.clone()).increment(1);
                }
                Err((listener, e)) => {
                    drop(tx);
                    tracing::warn!(event = %event.id, kind = %event.kind, listener, error = %e, "an event listener failed; the event will be dispatched again");
                    self.db
                        .execute(
                            "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE seq = $1",
                            args![event.seq, format!("{listener}: {e}")],
                        )
                        .await?;
                }
            }
        }
        Ok(handled)
    }

    async fn deliver(&self, event: &Event, tx: &mut Tx) -> std::result::Result<(), (&'static str, crate::Error)> {
        for listener in self.listeners.iter() {
            listener.on_event(event, tx).await.map_err(|e| (listener.name(), e))?;
        }
        Ok(())
    }
}

/// Delete dispatched events older than `keep`; returns how many.
pub async fn purge_dispatched(db: &Db, keep: time::Duration) -> Result<u64> {
    db.execute(
        "DELETE FROM outbox WHERE dispatched_at IS NOT NULL AND dispatched_at < $1",
        args![crate::time::now() - keep],
    )
    .await
}

/// Read events (for tests and the admin console), newest last.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<Event>> {
    let mut events: Vec<Event> = db
        .fetch_all(
            "SELECT seq, id, kind, organization_id, payload, created_at FROM outbox ORDER BY seq DESC LIMIT $1",
            args![limit],
        )
        .await?;
    events.reverse();
    Ok(events)
}

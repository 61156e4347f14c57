//! "Someone's access may have shrunk": a member removed, demoted or gone, a session or an
//! API key revoked, a project's share link revoked or the project deleted. Connections that
//! outlive their request (collab's editors, the notification stream) check their access
//! again at once, instead of at their next periodic check, when a change concerns them.
//! Within a process a broadcast channel says it; on PostgreSQL a `pg_notify` on
//! [`CHANNEL`], sent with the change's commit, says it to every process, whose listener
//! passes it on with [`heard_from`].

use std::sync::OnceLock;

use tokio::sync::broadcast;

use crate::args;
use crate::db::{DbKind, Tx};
use crate::error::Result;

/// The PostgreSQL channel access changes are announced on.
pub const CHANNEL: &str = "socle_access";

/// Whose access changed: only the connections it concerns check theirs again (a sign-out
/// somewhere does not make every open connection of the process query the database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A person: their sessions, or their membership of an organization.
    User(String),
    /// An API key.
    ApiKey(String),
    /// A project: its share links, or the project itself.
    Project(String),
}

impl Scope {
    fn encode(&self) -> String {
        match self {
            Scope::User(id) => format!("user:{id}"),
            Scope::ApiKey(id) => format!("key:{id}"),
            Scope::Project(id) => format!("project:{id}"),
        }
    }

    fn decode(payload: &str) -> Option<Scope> {
        let (kind, id) = payload.split_once(':')?;
        let id = id.to_string();
        match kind {
            "user" => Some(Scope::User(id)),
            "key" => Some(Scope::ApiKey(id)),
            "project" => Some(Scope::Project(id)),
            _ => None,
        }
    }
}

fn changes() -> &'static broadcast::Sender<Scope> {
    static CHANGES: OnceLock<broadcast::Sender<Scope>> = OnceLock::new();
    // A subscriber that falls this far behind checks its access anyway (see `subscribe`).
    CHANGES.get_or_init(|| broadcast::channel(1024).0)
}

/// Announce, once `tx` commits (never if it rolls back), that `scope`'s access may have
/// shrunk.
pub async fn announce(tx: &mut Tx, scope: Scope) -> Result<()> {
    if tx.kind() == DbKind::Postgres {
        tx.execute("SELECT pg_notify($1, $2)", args![CHANNEL, scope.encode()]).await?;
    }
    tx.after_commit(move || heard(scope));
    Ok(())
}

/// An access change was announced in this process.
pub fn heard(scope: Scope) {
    let _ = changes().send(scope);
}

/// A payload heard on [`CHANNEL`] (another process's change, or this one's); anything
/// else is ignored.
pub fn heard_from(payload: &str) {
    if let Some(scope) = Scope::decode(payload) {
        heard(scope);
    }
}

/// Pass other processes' changes on (PostgreSQL; on SQLite there are none) until `stop`.
/// The server runs it once for every module whose connections subscribe.
pub async fn listen(db: crate::Db, stop: tokio::sync::watch::Receiver<bool>) {
    let ready = crate::listen::Readiness::default();
    crate::listen::listen(&db, CHANNEL, "access changes", &ready, stop, |payload| async move { heard_from(&payload) })
        .await;
}

/// Changes from now on.
pub fn subscribe() -> Changes {
    Changes(Some(changes().subscribe()))
}

/// A subscriber's view of the changes (see [`subscribe`]).
pub struct Changes(Option<broadcast::Receiver<Scope>>);

impl Changes {
    /// Resolves at the next change that `concerns` the subscriber, or that it may have
    /// missed (it fell behind: it does not know what it missed, so it checks anyway); never,
    /// once no change can come. Cancel-safe: a change not yet read stays for the next call.
    pub async fn next_concerning(&mut self, concerns: impl Fn(&Scope) -> bool) {
        loop {
            let Some(receiver) = self.0.as_mut() else { return std::future::pending().await };
            match receiver.recv().await {
                Ok(scope) if concerns(&scope) => return,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => self.0 = None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Scope;

    #[tokio::test]
    async fn a_change_reaches_every_subscriber_it_concerns() {
        let mut first = super::subscribe();
        let mut second = super::subscribe();
        super::heard(Scope::User("u1".into()));
        super::heard_from("project:p1");
        super::heard_from("nonsense");
        let waited = std::time::Duration::from_secs(1);
        let briefly = std::time::Duration::from_millis(50);
        // The first reads both changes in order.
        let user = |s: &Scope| *s == Scope::User("u1".into());
        let project = |s: &Scope| *s == Scope::Project("p1".into());
        assert!(tokio::time::timeout(waited, first.next_concerning(user)).await.is_ok());
        assert!(tokio::time::timeout(waited, first.next_concerning(project)).await.is_ok());
        // The second is concerned by the project only: the person's change passes it by.
        assert!(tokio::time::timeout(waited, second.next_concerning(project)).await.is_ok());
        // The payload that is no scope was not passed on.
        for rx in [&mut first, &mut second] {
            assert!(tokio::time::timeout(briefly, rx.next_concerning(|_| true)).await.is_err());
        }
    }

    #[test]
    fn scopes_travel_as_text_and_back() {
        for scope in [Scope::User("a".into()), Scope::ApiKey("k:1".into()), Scope::Project("p".into())] {
            assert_eq!(Scope::decode(&scope.encode()), Some(scope));
        }
        assert_eq!(Scope::decode("org:1"), None);
    }
}

//! "Someone's access may have shrunk": a member removed, demoted or gone, a share link, a
//! session or an API key revoked, a project deleted. Connections that outlive their request
//! (collab's editors) check their access again at once, instead of at their next periodic
//! check. Within a process a watch channel says it; on PostgreSQL a `pg_notify` on
//! [`CHANNEL`], sent with the change's commit, says it to every process, whose listener
//! passes it on with [`heard`].

use std::sync::OnceLock;

use tokio::sync::watch;

use crate::args;
use crate::db::{DbKind, Tx};
use crate::error::Result;

/// The PostgreSQL channel access changes are announced on.
pub const CHANNEL: &str = "socle_access";

fn changes() -> &'static watch::Sender<u64> {
    static CHANGES: OnceLock<watch::Sender<u64>> = OnceLock::new();
    CHANGES.get_or_init(|| watch::Sender::new(0))
}

/// Announce, once `tx` commits (never if it rolls back), that someone's access may have
/// shrunk.
pub async fn announce(tx: &mut Tx) -> Result<()> {
    if tx.kind() == DbKind::Postgres {
        tx.execute("SELECT pg_notify($1, '')", args![CHANNEL]).await?;
    }
    tx.after_commit(heard);
    Ok(())
}

/// An access change was announced (by this process, or by another one on [`CHANNEL`]).
pub fn heard() {
    changes().send_modify(|n| *n = n.wrapping_add(1));
}

/// Changes from now on: `changed()` resolves at the next one.
pub fn subscribe() -> watch::Receiver<u64> {
    changes().subscribe()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_change_heard_wakes_every_subscriber() {
        let mut first = super::subscribe();
        let mut second = super::subscribe();
        super::heard();
        let waited = std::time::Duration::from_secs(1);
        assert!(tokio::time::timeout(waited, first.changed()).await.is_ok_and(|r| r.is_ok()));
        assert!(tokio::time::timeout(waited, second.changed()).await.is_ok_and(|r| r.is_ok()));
        // Nothing more until the next one.
        assert!(tokio::time::timeout(std::time::Duration::from_millis(50), first.changed()).await.is_err());
    }
}

//! Several processes on one PostgreSQL: each logged change and each awareness change is
//! announced with `pg_notify`, and every process applies what others announce to the rooms
//! it has open. Changes travel inline when small; larger ones are read from the log.

use base64::Engine;
use kernel::{Result, Tx, args};
use serde::Deserialize;
use yrs::sync::AwarenessUpdate;
use yrs::updates::decoder::Decode;

use crate::CollabState;
use crate::room::Command;

pub const CHANNEL: &str = "socle_collab";
/// NOTIFY payloads are limited to 8000 bytes.
const INLINE_LIMIT: usize = 5000;

#[derive(Deserialize)]
struct Announcement {
    /// The process that sent it (it ignores its own).
    o: String,
    p: String,
    /// `u`: an update logged up to row `id`; `a`: an awareness update by actor `by`.
    t: String,
    /// `u`: the first row of the batch (0 from a process that did not say: then every row
    /// after the room's last).
    #[serde(default)]
    f: i64,
    #[serde(default)]
    id: i64,
    #[serde(default)]
    d: Option<String>,
    #[serde(default)]
    by: String,
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Announce, when `tx` commits, that `page_id`'s log grew by rows `first` to `last` holding
/// `data`.
pub async fn announce_update(
    tx: &mut Tx,
    process: &str,
    page_id: &str,
    (first, last): (i64, i64),
    data: &[u8],
) -> Result<()> {
    let d = (data.len() * 4 / 3 < INLINE_LIMIT).then(|| b64(data));
    let payload = serde_json::json!({"o": process, "p": page_id, "t": "u", "f": first, "id": last, "d": d});
    tx.execute("SELECT pg_notify($1, $2)", args![CHANNEL, payload.to_string()]).await?;
    Ok(())
}

/// Announce an awareness change (not logged: presence is not history).
pub async fn announce_awareness(state: &CollabState, page_id: &str, actor: &str, frame_update: &[u8]) {
    if state.db.kind() != kernel::DbKind::Postgres || frame_update.len() * 4 / 3 >= INLINE_LIMIT {
        return;
    }
    let payload =
        serde_json::json!({"o": state.process_id, "p": page_id, "t": "a", "by": actor, "d": b64(frame_update)});
    if let Err(e) = state.db.execute("SELECT pg_notify($1, $2)", args![CHANNEL, payload.to_string()]).await {
        tracing::debug!(error = %e, "could not announce an awareness change");
    }
}

/// Apply another process's announcement to this process's room of that page, if open.
pub async fn receive(state: &CollabState, payload: &str) {
    let Ok(a) = serde_json::from_str::<Announcement>(payload) else { return };
    if a.o == state.process_id {
        return;
    }
    let Some(room) = state.rooms.lock().await.get(&a.p).cloned() else { return };
    let data = a.d.and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok());
    match a.t.as_str() {
        "u" => {
            let _ = room.inbox.send(Box::new(Command::Remote { data, first: a.f, id: a.id })).await;
        }
        "a" => {
            if let Some(update) = data.and_then(|d| AwarenessUpdate::decode_v1(&d).ok()) {
                room.awareness_update(None, &a.by, update);
            }
        }
        _ => {}
    }
}

//! The `[collab]` section of `socle.toml` (`SOCLE_COLLAB__*` in the environment).

use serde::{Deserialize, Serialize};

pub const SECTION: &str = "collab";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CollabConfig {
    /// A room nobody is connected to leaves memory after this long (s); its state is in
    /// the database.
    pub unload_after_secs: u64,
    /// How often an open connection's access is checked again (s): a removed member or a
    /// revoked share link is disconnected within this delay.
    pub recheck_secs: u64,
    /// Logged updates after which the room's whole state is saved as a checkpoint, so that
    /// loading reads the checkpoint instead of replaying the log.
    pub checkpoint_every: usize,
    /// Days of editing history kept for replay and time travel (`0`: forever); older
    /// changes are folded into the page's base.
    pub history_days: i64,
    /// Largest WebSocket message accepted (bytes).
    pub max_message_bytes: usize,
    /// An awareness state (presence) not renewed for this long is removed (s).
    pub awareness_timeout_secs: u64,
    /// Every open connection is pinged this often (s); one that did not answer the last
    /// ping (it vanished, or stopped reading), or whose write has waited this long, is
    /// dropped. `0`: never (a vanished client then holds its room until the operating
    /// system gives up on the socket).
    pub ping_secs: u64,
}

impl Default for CollabConfig {
    fn default() -> Self {
        Self {
            unload_after_secs: 60,
            recheck_secs: 5,
            checkpoint_every: 500,
            history_days: 30,
            max_message_bytes: 2 << 20,
            awareness_timeout_secs: 30,
            ping_secs: 30,
        }
    }
}

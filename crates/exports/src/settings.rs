//! `[exports]`.

use serde::{Deserialize, Serialize};

pub const SECTION: &str = "exports";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ExportsSettings {
    /// Days an export (its ZIP and its row) is kept after it finished; 0 keeps them forever.
    pub retention_days: i64,
    /// How often the scheduler looks for exports past their retention.
    pub purge_every_secs: u64,
}

impl Default for ExportsSettings {
    fn default() -> Self {
        ExportsSettings { retention_days: 30, purge_every_secs: 3600 }
    }
}

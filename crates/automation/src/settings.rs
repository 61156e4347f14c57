//! Automation's own settings: the `[automation]` section of `socle.toml`
//! (`SOCLE_AUTOMATION__*` in the environment).

use serde::{Deserialize, Serialize};

pub const SECTION: &str = "automation";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AutomationConfig {
    /// Let webhooks call private, loopback and link-local addresses. Off by
    /// default: a webhook author must not reach the server's own network (SSRF).
    pub allow_private_network: bool,
    /// Longest an outgoing webhook request may take (s).
    pub http_timeout_secs: u64,
    /// Days kept of the audit log (`0`: forever); the scheduler enforces it nightly.
    pub audit_retention_days: i64,
    /// Longest one workflow step may run (s); a step's own `timeout_secs` can only lower it.
    pub step_timeout_secs: u64,
    /// Steps one workflow execution may run in all (loops and jumps included).
    pub max_steps: i64,
    /// Items one `loop` step may iterate over.
    pub max_loop_items: usize,
    /// How deep workflows may trigger each other through the records they write.
    pub max_chain_depth: i64,
    /// How often a live notification stream is pinged, and how long a write to it may wait
    /// (s): a peer that has not answered the last ping, or leaves a write waiting longer, is
    /// dropped. `0`: never pinged.
    pub notification_ping_secs: u64,
}

impl Default for AutomationConfig {
    fn default() -> Self {
        Self {
            allow_private_network: false,
            http_timeout_secs: 15,
            audit_retention_days: 365,
            step_timeout_secs: 60,
            max_steps: 1000,
            max_loop_items: 1000,
            max_chain_depth: 3,
            notification_ping_secs: 25,
        }
    }
}

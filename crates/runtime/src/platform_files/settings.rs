//! `[files]`: limits of platform files.

use serde::{Deserialize, Serialize};

pub const SECTION: &str = "files";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct FilesSettings {
    /// Largest file accepted (bytes); `upload_limit_bytes` bounds every request anyway.
    pub max_size_bytes: u64,
    /// Types accepted, as sniffed from the bytes (the declared type and the name's extension
    /// are not trusted for binary formats).
    pub allowed_types: Vec<String>,
    /// How long a download link works.
    pub link_ttl_secs: i64,
}

impl Default for FilesSettings {
    fn default() -> Self {
        FilesSettings {
            max_size_bytes: 10 * 1024 * 1024,
            allowed_types: [
                "image/png",
                "image/jpeg",
                "image/gif",
                "image/webp",
                "image/svg+xml",
                "application/pdf",
                "text/plain",
                "text/csv",
                "application/json",
                "video/mp4",
                "audio/mpeg",
            ]
            .map(String::from)
            .to_vec(),
            link_ttl_secs: 3600,
        }
    }
}

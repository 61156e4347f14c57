//! `[assistant]` in `socle.toml` (`SOCLE_ASSISTANT__*`): any server speaking the OpenAI HTTP
//! API — OpenAI, DeepSeek, Azure-style gateways, Ollama, vLLM, llama.cpp's server.

use serde::{Deserialize, Serialize};

pub const ASSISTANT: &str = "assistant";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AssistantConfig {
    /// `https://api.openai.com/v1`, `https://api.deepseek.com/v1`, `http://localhost:11434/v1`…
    /// Empty: no provider, every assistant endpoint answers 503.
    pub base_url: String,
    pub api_key: String,
    /// The header the key goes in: `authorization` (`Bearer KEY`, the default) or, for
    /// Azure-style gateways, `api-key`.
    pub api_key_header: String,
    /// Sent as `?api-version=` when set (Azure OpenAI wants it).
    pub api_version: String,
    pub chat_model: String,
    pub embedding_model: String,
    /// Empty: prompts and published content are not moderated.
    pub moderation_model: String,
    /// Send `response_format: json_schema` (strict structured output); off for servers that
    /// only know `json_object`.
    pub json_schema: bool,
    /// Attempts after the first on 429, 5xx or a network failure (backing off, honouring
    /// `Retry-After` up to 10 s).
    pub max_retries: u32,
    /// Tries the generators get to produce a valid answer (the validation errors go back).
    pub repair_attempts: u32,
    pub timeout_secs: u64,
    /// The most tokens an answer may use.
    pub max_tokens: u32,
}

impl Default for AssistantConfig {
    fn default() -> Self {
        AssistantConfig {
            base_url: String::new(),
            api_key: String::new(),
            api_key_header: "authorization".into(),
            api_version: String::new(),
            chat_model: "gpt-4o-mini".into(),
            embedding_model: "text-embedding-3-small".into(),
            moderation_model: "omni-moderation-latest".into(),
            json_schema: true,
            max_retries: 3,
            repair_attempts: 3,
            timeout_secs: 60,
            max_tokens: 4000,
        }
    }
}

impl AssistantConfig {
    pub fn enabled(&self) -> bool {
        !self.base_url.trim().is_empty()
    }

    pub fn url(&self, path: &str) -> String {
        let base = format!("{}{path}", self.base_url.trim_end_matches('/'));
        if self.api_version.is_empty() {
            base
        } else {
            let version: String =
                self.api_version.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.').collect();
            format!("{base}?api-version={version}")
        }
    }
}

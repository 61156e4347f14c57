//! The platform's language model, for modules that need one without depending on the
//! Assistant (a workflow's `ai` step, the marketplace's moderation): the Assistant installs
//! its provider here at start; without one, completions are a 503 and moderation lets
//! everything through (there is nothing to ask).

use std::sync::{Arc, OnceLock};

use serde_json::Value;

use crate::module::BoxFuture;
use crate::{Error, FieldError, Result};

/// A completion to make for an organization (whose AI token quota pays for it).
#[derive(Debug, Clone, Default)]
pub struct CompletionRequest {
    pub organization_id: String,
    pub system: Option<String>,
    pub prompt: String,
    /// The configured chat model when absent.
    pub model: Option<String>,
    /// A JSON Schema the answer must follow (then `json` holds it).
    pub schema: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    /// The answer parsed, when a schema was asked for.
    pub json: Option<Value>,
    pub model: String,
    pub tokens: i64,
}

pub trait LanguageModel: Send + Sync + 'static {
    fn complete(&self, request: CompletionRequest) -> BoxFuture<'_, Result<Completion>>;
    /// The categories `text` is flagged for (empty: allowed).
    fn moderate<'a>(&'a self, organization_id: &'a str, text: &'a str) -> BoxFuture<'a, Result<Vec<String>>>;
}

/// The late-bound handle every module gets from the kernel; cheap to clone.
#[derive(Clone, Default)]
pub struct Ai(Arc<OnceLock<Arc<dyn LanguageModel>>>);

impl Ai {
    /// Install the provider (once; later calls are ignored).
    pub fn install(&self, model: Arc<dyn LanguageModel>) {
        let _ = self.0.set(model);
    }

    pub fn configured(&self) -> bool {
        self.0.get().is_some()
    }

    pub async fn complete(&self, request: CompletionRequest) -> Result<Completion> {
        match self.0.get() {
            Some(model) => model.complete(request).await,
            None => Err(not_configured()),
        }
    }

    /// Refuse `text` (a 422 on `field` listing the categories) when the provider flags it.
    pub async fn check(&self, organization_id: &str, field: &str, text: &str) -> Result<()> {
        let Some(model) = self.0.get() else { return Ok(()) };
        if text.trim().is_empty() {
            return Ok(());
        }
        let categories = model.moderate(organization_id, text).await?;
        if categories.is_empty() {
            return Ok(());
        }
        Err(Error::Validation(vec![FieldError::new(
            field,
            "flagged",
            format!("the content was flagged by moderation: {}", categories.join(", ")),
        )]))
    }
}

pub fn not_configured() -> Error {
    Error::Unavailable("no AI provider is configured (assistant.base_url and assistant.api_key)".into())
}

//! The Assistant (`/api/v1/assistant`): pages, components and collections generated from a
//! description and checked like any Studio write (invalid answers are repaired by sending
//! the errors back), suggestions as JSON Patches, chat about a project streamed over SSE,
//! an onboarding coach answering from Socle's documentation, and semantic search over the
//! marketplace and components by embeddings. Any server speaking the
//! OpenAI HTTP API serves it (`[assistant]`); prompts are moderated, and every call is
//! metered in tokens against the organization's `ai_tokens_per_month`. It also installs the
//! kernel's [`kernel::ai::Ai`] for workflows' `ai` steps and the marketplace's moderation.

pub mod chat;
pub mod client;
pub mod generate;
pub mod patch;
pub mod routes;
pub mod search;
pub mod settings;

use std::sync::Arc;

use kernel::ai::{Completion, CompletionRequest, LanguageModel};
use kernel::module::BoxFuture;
use kernel::{Db, Deps, Error, FieldError, Metric, Module, Result};

use client::{Answer, Client, Message};

#[derive(Clone)]
pub struct AssistantState(Arc<AssistantInner>);

pub struct AssistantInner {
    pub db: Db,
    pub config: settings::AssistantConfig,
    /// None without a provider: every endpoint answers 503.
    pub client: Option<Client>,
    pub usage: kernel::Usage,
}

impl std::ops::Deref for AssistantState {
    type Target = AssistantInner;

    fn deref(&self) -> &AssistantInner {
        &self.0
    }
}

/// A rough count of the tokens of a conversation (4 characters a token), charged before
/// the call and corrected by what the provider reports.
pub fn estimate_tokens(messages: &[Message]) -> i64 {
    messages.iter().map(|m| m.content.chars().count() as i64 / 4 + 4).sum()
}

impl AssistantState {
    pub fn client(&self) -> Result<&Client> {
        self.client.as_ref().ok_or_else(kernel::ai::not_configured)
    }

    pub fn ai_configured(&self) -> Result<()> {
        self.client().map(|_| ())
    }

    /// A whole answer, paid from `organization_id`'s AI tokens: refused before the call when
    /// the quota has no room for the prompt.
    pub async fn metered_chat(
        &self,
        organization_id: &str,
        model: Option<&str>,
        messages: &[Message],
        schema: Option<&serde_json::Value>,
    ) -> Result<Answer> {
        let client = self.client()?;
        let call = async { client.chat(model, messages, schema).await.map(|a| (a.tokens, a)) };
        self.metered(organization_id, estimate_tokens(messages), call).await
    }

    /// Charge `estimate` tokens before `call` (refused when the quota has no room), then
    /// correct by the tokens it reports — or give them back when it fails.
    pub async fn metered<T>(
        &self,
        organization_id: &str,
        estimate: i64,
        call: impl std::future::Future<Output = Result<(i64, T)>>,
    ) -> Result<T> {
        self.usage.charge(organization_id, Metric::AiTokensPerMonth, estimate).await?;
        match call.await {
            Ok((tokens, value)) => {
                self.usage.note(organization_id, Metric::AiTokensPerMonth, tokens - estimate);
                Ok(value)
            }
            Err(e) => {
                self.usage.note(organization_id, Metric::AiTokensPerMonth, -estimate);
                Err(e)
            }
        }
    }

    /// Refuse flagged text with a 422 on `field` naming the categories.
    pub async fn moderate(&self, organization_id: &str, field: &str, text: &str) -> Result<()> {
        let categories = self.client()?.moderate(text).await?;
        if categories.is_empty() {
            return Ok(());
        }
        tracing::info!(organization = %organization_id, ?categories, "moderation refused a prompt");
        Err(Error::Validation(vec![FieldError::new(
            field,
            "flagged",
            format!("the content was flagged by moderation: {}", categories.join(", ")),
        )]))
    }
}

/// The model for other modules (workflow steps, marketplace moderation).
impl LanguageModel for AssistantState {
    fn complete(&self, request: CompletionRequest) -> BoxFuture<'_, Result<Completion>> {
        Box::pin(async move {
            let mut messages = Vec::new();
            if let Some(system) = request.system.filter(|s| !s.trim().is_empty()) {
                messages.push(Message::system(system));
            }
            messages.push(Message::user(request.prompt));
            let answer = self
                .metered_chat(&request.organization_id, request.model.as_deref(), &messages, request.schema.as_ref())
                .await?;
            let json = match &request.schema {
                Some(_) => Some(generate::json_of(&answer.content).map_err(Error::Unavailable)?),
                None => None,
            };
            Ok(Completion { text: answer.content, json, model: answer.model, tokens: answer.tokens })
        })
    }

    fn moderate<'a>(&'a self, _organization_id: &'a str, text: &'a str) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(async move { self.client()?.moderate(text).await })
    }
}

pub const MODULE: kernel::module::ModuleDef =
    kernel::module::ModuleDef { name: "assistant", migrations, build: module };

pub fn migrations() -> Vec<kernel::migrate::Migration> {
    vec![kernel::migrate::Migration {
        module: "assistant",
        version: 1,
        name: "embeddings",
        script: include_str!("../migrations/0001_embeddings.sql"),
    }]
}

fn module(deps: &mut Deps) -> anyhow::Result<Module> {
    let config: settings::AssistantConfig = deps.section(settings::ASSISTANT)?;
    let client = if config.enabled() { Some(Client::new(config.clone())?) } else { None };
    let state = AssistantState(Arc::new(AssistantInner {
        db: deps.db.clone(),
        config,
        client,
        usage: deps.get::<kernel::Usage>()?,
    }));
    if state.client.is_some() {
        deps.get::<kernel::ai::Ai>()?.install(Arc::new(state.clone()));
    }
    deps.provide(state.clone());
    Ok(Module::new("assistant").api(routes::router(state)))
}

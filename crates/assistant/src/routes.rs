//! `/api/v1/assistant/...`. Without a provider every route answers 503.

use axum::extract::State;
use axum::response::Response;
use kernel::Result;
use kernel::json::Json;
use kernel::principal::Principal;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AssistantState;
use crate::chat::{self, ChatRequest, CoachAnswer, CoachRequest};
use crate::generate::{
    self, ComponentRequest, GeneratedCollection, GeneratedComponent, GeneratedPage, PageRequest, SuggestRequest,
    Suggestions,
};
use crate::search::{Hit, SearchRequest};

pub fn router(state: AssistantState) -> OpenApiRouter {
    let routes = OpenApiRouter::new()
        .routes(routes!(generate_page))
        .routes(routes!(generate_component))
        .routes(routes!(generate_collection))
        .routes(routes!(suggest))
        .routes(routes!(chat_stream))
        .routes(routes!(coach))
        .routes(routes!(semantic_search));
    OpenApiRouter::new().nest("/assistant", routes).with_state(state)
}

/// A page document for a project, from a description; always valid for Studio.
#[utoipa::path(post, path = "/generate/page", tag = "assistant", request_body = PageRequest,
    responses((status = 200, body = GeneratedPage), (status = 400), (status = 401), (status = 402), (status = 404),
      (status = 415), (status = 422, description = "invalid input, or a prompt flagged by moderation"), (status = 429),
      (status = 503, description = "no provider is configured, or it failed")),
    security(("bearer" = []), ("api_key" = [])))]
async fn generate_page(
    State(state): State<AssistantState>,
    principal: Principal,
    Json(req): Json<PageRequest>,
) -> Result<Json<GeneratedPage>> {
    Ok(Json(generate::page(&state, &principal, req).await?))
}

/// A reusable component, from a description.
#[utoipa::path(post, path = "/generate/component", tag = "assistant", request_body = ComponentRequest,
    responses((status = 200, body = GeneratedComponent), (status = 400), (status = 401), (status = 402), (status = 404),
      (status = 415), (status = 422), (status = 429), (status = 503)),
    security(("bearer" = []), ("api_key" = [])))]
async fn generate_component(
    State(state): State<AssistantState>,
    principal: Principal,
    Json(req): Json<ComponentRequest>,
) -> Result<Json<GeneratedComponent>> {
    Ok(Json(generate::component(&state, &principal, req).await?))
}

/// A collection with fields and rules that pass the rule checker, from a description.
#[utoipa::path(post, path = "/generate/collection", tag = "assistant", request_body = PageRequest,
    responses((status = 200, body = GeneratedCollection), (status = 400), (status = 401), (status = 402), (status = 404),
      (status = 415), (status = 422), (status = 429), (status = 503)),
    security(("bearer" = []), ("api_key" = [])))]
async fn generate_collection(
    State(state): State<AssistantState>,
    principal: Principal,
    Json(req): Json<PageRequest>,
) -> Result<Json<GeneratedCollection>> {
    Ok(Json(generate::collection(&state, &principal, req).await?))
}

/// Improvements to a page (accessibility, copy, layout), each a JSON Patch that leaves a
/// valid page.
#[utoipa::path(post, path = "/suggest", tag = "assistant", request_body = SuggestRequest,
    responses((status = 200, body = Suggestions), (status = 400), (status = 401), (status = 402), (status = 404),
      (status = 415), (status = 422), (status = 429), (status = 503)),
    security(("bearer" = []), ("api_key" = [])))]
async fn suggest(
    State(state): State<AssistantState>,
    principal: Principal,
    Json(req): Json<SuggestRequest>,
) -> Result<Json<Suggestions>> {
    Ok(Json(generate::suggest(&state, &principal, req).await?))
}

/// Chat about a project, streamed as server-sent events (`delta`, then `done` or `error`).
#[utoipa::path(post, path = "/chat", tag = "assistant", request_body = ChatRequest,
    responses((status = 200, description = "the answer as it comes", content_type = "text/event-stream", body = String),
      (status = 400), (status = 401), (status = 402), (status = 404), (status = 415), (status = 422), (status = 429),
      (status = 503)),
    security(("bearer" = []), ("api_key" = [])))]
async fn chat_stream(
    State(state): State<AssistantState>,
    principal: Principal,
    Json(req): Json<ChatRequest>,
) -> Result<Response> {
    chat::chat(&state, &principal, req).await
}

/// Marketplace items or the organization's components ranked by how close their meaning is
/// to the query (embeddings, cosine similarity).
#[utoipa::path(post, path = "/search", tag = "assistant", request_body = SearchRequest,
    responses((status = 200, body = Vec<Hit>), (status = 400), (status = 401), (status = 402), (status = 404),
      (status = 415), (status = 422), (status = 429), (status = 503)),
    security(("bearer" = []), ("api_key" = [])))]
async fn semantic_search(
    State(state): State<AssistantState>,
    principal: Principal,
    Json(req): Json<SearchRequest>,
) -> Result<Json<Vec<Hit>>> {
    Ok(Json(crate::search::search(&state, &principal, req).await?))
}

/// Questions about Socle, answered from its documentation, with the sections used.
#[utoipa::path(post, path = "/coach", tag = "assistant", request_body = CoachRequest,
    responses((status = 200, body = CoachAnswer), (status = 400), (status = 401), (status = 402), (status = 404),
      (status = 415), (status = 422), (status = 429), (status = 503)),
    security(("bearer" = []), ("api_key" = [])))]
async fn coach(
    State(state): State<AssistantState>,
    principal: Principal,
    Json(req): Json<CoachRequest>,
) -> Result<Json<CoachAnswer>> {
    Ok(Json(chat::coach(&state, &principal, req).await?))
}

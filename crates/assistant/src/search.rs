//! Semantic search over the marketplace's approved items and an organization's components:
//! each candidate's text is embedded once (again only when it changes, or the model does),
//! the vectors kept in `assistant_embeddings`, and the query's vector compared with them by
//! cosine similarity in process. Embedding calls are metered like chat calls.

use kernel::principal::Principal;
use kernel::{Error, OrgRole, Result, args};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AssistantState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct SearchRequest {
    /// Whose quota pays (MEMBER or more); for `components`, whose library.
    pub organization_id: String,
    pub query: String,
    /// `marketplace` (approved items) or `components` (the organization's library).
    pub scope: String,
    /// 1 to 50 (10 by default).
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct Hit {
    /// `marketplace_item` or `component`.
    pub kind: String,
    pub id: String,
    pub title: String,
    /// Cosine similarity, -1 to 1.
    pub score: f32,
}

/// How close two vectors point (0 when either is empty or they differ in length).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let (na, nb) = (norm(a), norm(b));
    if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na * nb) }
}

/// `(kind, id, title, text to embed)` of every candidate.
async fn candidates(
    state: &AssistantState,
    principal: &Principal,
    req: &SearchRequest,
) -> Result<Vec<(&'static str, String, String, String)>> {
    match req.scope.as_str() {
        "marketplace" => {
            let mut out = Vec::new();
            let search = commerce::marketplace::service::ItemSearch::default();
            for page in 1..=5 {
                let request = kernel::pagination::PageQuery { page: Some(page), per_page: Some(100) }.validate()?;
                let found = commerce::marketplace::service::search(&state.db, &search, request).await?;
                let last = found.items.len() < 100;
                out.extend(found.items.into_iter().map(|i| {
                    let text = format!("{}\n{}\n{}", i.title, i.category, i.description);
                    ("marketplace_item", i.id, i.title, text)
                }));
                if last {
                    break;
                }
            }
            Ok(out)
        }
        "components" => Ok(studio::components::list(&state.db, principal, &req.organization_id)
            .await?
            .into_iter()
            .map(|c| {
                let text = format!("{}\n{}", c.name, c.description);
                ("component", c.id, c.name, text)
            })
            .collect()),
        _ => Err(Error::field("scope", "invalid_value", "scope is marketplace or components")),
    }
}

/// Candidates ranked by how close their meaning is to the query.
pub async fn search(state: &AssistantState, principal: &Principal, req: SearchRequest) -> Result<Vec<Hit>> {
    let mut v = kernel::validate::Validator::new();
    v.text("query", &req.query, 1000);
    let limit = req.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        v.add("limit", "out_of_range", "limit is from 1 to 50");
    }
    v.finish()?;
    foundation::orgs::require_org_role(&state.db, principal, &req.organization_id, OrgRole::Member).await?;
    let client = state.client()?;
    let all = candidates(state, principal, &req).await?;
    let model = client.config.embedding_model.clone();
    // What is embedded already, for this model and this text.
    let mut vectors: Vec<Option<Vec<f32>>> = Vec::with_capacity(all.len());
    let mut missing = Vec::new();
    for (i, (kind, id, _, text)) in all.iter().enumerate() {
        let hash = kernel::ids::sha256_hex(text);
        let stored: Option<(String,)> = state
            .db
            .fetch_optional(
                "SELECT vector FROM assistant_embeddings WHERE kind = $1 AND id = $2 AND model = $3 AND content_hash = $4",
                args![*kind, id, &model, &hash],
            )
            .await?;
        let vector = stored.and_then(|(v,)| serde_json::from_str::<Vec<f32>>(&v).ok());
        if vector.is_none() {
            missing.push(i);
        }
        vectors.push(vector);
    }
    for batch in missing.chunks(64) {
        let texts: Vec<String> = batch.iter().filter_map(|i| all.get(*i).map(|c| c.3.clone())).collect();
        let (embedded, tokens) = metered_embed(state, &req.organization_id, &texts).await?;
        let now = kernel::time::now();
        for (i, vector) in batch.iter().zip(embedded) {
            let Some((kind, id, _, text)) = all.get(*i) else { continue };
            let hash = kernel::ids::sha256_hex(text);
            let encoded = serde_json::to_string(&vector).map_err(Error::internal)?;
            state
                .db
                .execute(
                    "INSERT INTO assistant_embeddings (kind, id, model, content_hash, vector, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (kind, id, model) DO UPDATE SET content_hash = $4, vector = $5, updated_at = $6",
                    args![*kind, id, &model, &hash, encoded, now],
                )
                .await?;
            if let Some(slot) = vectors.get_mut(*i) {
                *slot = Some(vector);
            }
        }
        tracing::debug!(tokens, count = texts.len(), "embedded search candidates");
    }
    let (query, _) = metered_embed(state, &req.organization_id, std::slice::from_ref(&req.query)).await?;
    let query = query.into_iter().next().unwrap_or_default();
    let mut hits: Vec<Hit> = all
        .into_iter()
        .zip(vectors)
        .filter_map(|((kind, id, title, _), vector)| {
            vector.map(|v| Hit { kind: kind.to_string(), id, title, score: cosine(&query, &v) })
        })
        .collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score));
    hits.truncate(limit);
    Ok(hits)
}

async fn metered_embed(state: &AssistantState, org: &str, texts: &[String]) -> Result<(Vec<Vec<f32>>, i64)> {
    let estimate: i64 = texts.iter().map(|t| t.chars().count() as i64 / 4 + 1).sum();
    let client = state.client()?;
    let call = async { client.embed(texts).await.map(|(vectors, tokens)| (tokens, (vectors, tokens))) };
    state.metered(org, estimate, call).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_similarity_ranks_by_direction() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 1.0]).abs() < 1e-6);
        assert!((cosine(&[1.0, 0.0], &[-1.0, 0.0]) + 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[1.0], &[1.0, 2.0]), 0.0);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 2.0]), 0.0);
    }
}

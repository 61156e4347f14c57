//! Chat about a project, streamed as server-sent events, and the onboarding coach, which
//! answers from Socle's own documentation (embedded in the binary at build time).

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use kernel::principal::Principal;
use kernel::{Error, Metric, OrgRole, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::mpsc;
use utoipa::ToSchema;

use crate::AssistantState;
use crate::client::{Message, Piece};

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChatRequest {
    pub project_id: String,
    /// The conversation so far, ending with the user's question (`user` and `assistant`
    /// messages; at most 40).
    pub messages: Vec<Message>,
}

fn frame(event: &str, data: &serde_json::Value) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

/// A streamed answer with the project (its pages and collections) as context. Events:
/// `delta` `{text}` as it comes, then `done` `{tokens}`, or `error` `{detail}`.
pub async fn chat(state: &AssistantState, principal: &Principal, req: ChatRequest) -> Result<Response> {
    let mut v = kernel::validate::Validator::new();
    if req.messages.is_empty() || req.messages.len() > 40 {
        v.add("messages", "invalid_length", "from 1 to 40 messages");
    }
    for (i, m) in req.messages.iter().enumerate() {
        if !["user", "assistant"].contains(&m.role.as_str()) {
            v.add(&format!("messages.{i}.role"), "invalid_value", "role is user or assistant");
        }
        v.text(&format!("messages.{i}.content"), &m.content, 8000);
    }
    v.finish()?;
    let project = studio::projects::access(&state.db, principal, &req.project_id, OrgRole::Member).await?;
    let client = state.client()?.clone();
    if let Some(last) = req.messages.iter().rev().find(|m| m.role == "user") {
        state.moderate(&project.organization_id, "messages", &last.content).await?;
    }
    let collections = studio::collections::service::list(&state.db, principal, &req.project_id).await?;
    let pages = studio::pages::service::all_current(&state.db, &req.project_id).await?;
    let context = json!({
        "project": project.name,
        "pages": pages.iter().map(|p| json!({"name": p.name, "slug": p.slug})).collect::<Vec<_>>(),
        "collections": collections.iter().map(|c| json!({"name": c.name, "fields": c.fields.iter().map(|f| &f.name).collect::<Vec<_>>()})).collect::<Vec<_>>(),
    });
    let mut messages = vec![Message::system(format!(
        "You help a builder with their Socle project (a no-code platform: pages built from components, collections \
         with PocketBase-style rules, apps, workflows). Be concise and concrete. The project: {context}"
    ))];
    messages.extend(req.messages);
    let estimate = crate::estimate_tokens(&messages);
    let org = project.organization_id.clone();
    state.usage.charge(&org, Metric::AiTokensPerMonth, estimate).await?;
    let (pieces_tx, mut pieces) = mpsc::channel::<Piece>(64);
    let (frames_tx, frames) = mpsc::channel::<Bytes>(64);
    let usage = state.usage.clone();
    tokio::spawn(async move {
        let streaming = client.chat_stream(&messages, pieces_tx);
        let forward = async {
            let mut used = None;
            while let Some(piece) = pieces.recv().await {
                match piece {
                    Piece::Text(text) => {
                        if frames_tx.send(frame("delta", &json!({"text": text}))).await.is_err() {
                            return used;
                        }
                    }
                    Piece::Done { tokens } => used = tokens,
                }
            }
            used
        };
        let (streamed, used) = tokio::join!(streaming, forward);
        let tokens = used.unwrap_or(estimate);
        usage.note(&org, Metric::AiTokensPerMonth, tokens - estimate);
        let last = match streamed {
            Ok(()) => frame("done", &json!({"tokens": tokens})),
            Err(e) => frame("error", &json!({"detail": e.to_string()})),
        };
        let _ = frames_tx.send(last).await;
    });
    let stream = futures_util::stream::unfold(frames, |mut rx| async move {
        rx.recv().await.map(|frame| (Ok::<_, Infallible>(frame), rx))
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// Socle's documentation, split in sections by heading.
const DOCS: &[(&str, &str)] =
    &[("README.md", include_str!("../../../README.md")), ("SECURITY.md", include_str!("../../../SECURITY.md"))];

/// `(source, heading, text)` of every section.
fn sections() -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    for (source, text) in DOCS {
        let mut heading = String::from("Introduction");
        let mut body = String::new();
        for line in text.lines() {
            let bold = line.strip_prefix("**").and_then(|l| l.split_once("**")).map(|(h, _)| h.to_string());
            if let Some(h) = line.strip_prefix('#').map(|h| h.trim_start_matches('#').trim().to_string()).or(bold) {
                if !body.trim().is_empty() {
                    out.push((*source, heading.clone(), std::mem::take(&mut body)));
                }
                heading = h;
            }
            body.push_str(line);
            body.push('\n');
        }
        if !body.trim().is_empty() {
            out.push((*source, heading, body));
        }
    }
    out
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '_').filter(|w| w.len() > 2).map(str::to_lowercase).collect()
}

/// The sections sharing the most (rarer) words with the question.
pub fn relevant(question: &str, n: usize) -> Vec<(&'static str, String, String)> {
    let all = sections();
    let asked: std::collections::HashSet<String> = words(question).into_iter().collect();
    let mut scored: Vec<(f64, usize)> = all
        .iter()
        .enumerate()
        .map(|(i, (_, heading, body))| {
            let text = words(&format!("{heading} {heading} {body}"));
            let hits = text.iter().filter(|w| asked.contains(*w)).count() as f64;
            (hits / (text.len() as f64).sqrt().max(1.0), i)
        })
        .filter(|(score, _)| *score > 0.0)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(n).filter_map(|(_, i)| all.get(i).cloned()).collect()
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CoachRequest {
    /// Whose quota pays (MEMBER or more).
    pub organization_id: String,
    pub question: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CoachAnswer {
    pub answer: String,
    /// The documentation sections the answer was given from (`README.md#Payments`).
    pub sources: Vec<String>,
    pub tokens: i64,
}

/// Answer a question about Socle from its documentation.
pub async fn coach(state: &AssistantState, principal: &Principal, req: CoachRequest) -> Result<CoachAnswer> {
    let mut v = kernel::validate::Validator::new();
    v.text("question", &req.question, 2000);
    v.finish()?;
    foundation::orgs::require_org_role(&state.db, principal, &req.organization_id, OrgRole::Member).await?;
    state.ai_configured()?;
    state.moderate(&req.organization_id, "question", &req.question).await?;
    let found = relevant(&req.question, 4);
    if found.is_empty() {
        return Err(Error::field("question", "no_match", "the documentation says nothing about this"));
    }
    let excerpts: String = found
        .iter()
        .map(|(source, heading, body)| {
            format!("## {source} — {heading}\n{}\n", body.chars().take(4000).collect::<String>())
        })
        .collect();
    let messages = [
        Message::system(format!(
            "You are Socle's onboarding coach. Answer from these documentation excerpts only; when they do not say, \
             say so. Be brief, give the endpoint or setting to use.\n\n{excerpts}"
        )),
        Message::user(req.question),
    ];
    let answer = state.metered_chat(&req.organization_id, None, &messages, None).await?;
    Ok(CoachAnswer {
        answer: answer.content,
        sources: found.iter().map(|(source, heading, _)| format!("{source}#{heading}")).collect(),
        tokens: answer.tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coach_finds_the_sections_a_question_is_about() {
        let found = relevant("How do I refund a PayPal payment?", 4);
        assert!(
            found.iter().any(|(_, _, body)| body.contains("PayPal")),
            "{:?}",
            found.iter().map(|f| &f.1).collect::<Vec<_>>()
        );
        assert!(relevant("zzzz qqqq", 4).is_empty());
    }
}

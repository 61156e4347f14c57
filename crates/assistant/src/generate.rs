//! Generation with a repair loop: the model answers JSON following a schema; the answer is
//! checked with the same validation a write through Studio would meet (the page document
//! schema and the project's collections, the collection rules' expression checker, patches
//! applied to the page); when it fails, the errors go back to the model, up to
//! `assistant.repair_attempts` tries. Nothing invalid is ever returned.

use kernel::principal::Principal;
use kernel::{Error, FieldError, OrgRole, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::AssistantState;
use crate::client::Message;

/// The JSON in a model's answer (a fenced block is unwrapped).
pub fn json_of(text: &str) -> std::result::Result<Value, String> {
    let trimmed = text.trim();
    let inner = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|rest| rest.trim_end().strip_suffix("```"))
        .unwrap_or(trimmed);
    serde_json::from_str(inner.trim()).map_err(|e| format!("the answer is not JSON: {e}"))
}

fn describe(errors: &[FieldError]) -> String {
    errors.iter().take(20).map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
}

/// Ask until the answer passes `check`; returns it with the attempts and tokens spent.
async fn generate(
    state: &AssistantState,
    organization_id: &str,
    system: String,
    prompt: &str,
    schema: &Value,
    check: impl Fn(&Value) -> std::result::Result<(), String>,
) -> Result<Generated> {
    let mut messages = vec![Message::system(system), Message::user(prompt)];
    let mut tokens = 0;
    let attempts = state.config.repair_attempts.max(1);
    let mut last_error = String::new();
    for attempt in 1..=attempts {
        let answer = state.metered_chat(organization_id, None, &messages, Some(schema)).await?;
        tokens += answer.tokens;
        match json_of(&answer.content).and_then(|v| check(&v).map(|()| v)) {
            Ok(value) => return Ok(Generated { value, attempts: attempt, tokens }),
            Err(problem) => {
                tracing::info!(attempt, %problem, "a generated answer was invalid; asking for a repair");
                last_error = problem.clone();
                messages.push(Message::assistant(answer.content));
                messages.push(Message::user(format!(
                    "That answer is invalid: {problem}. Answer again with the whole corrected JSON and nothing else."
                )));
            }
        }
    }
    Err(Error::Unavailable(format!(
        "the model gave no valid answer in {attempts} attempts (last problem: {last_error})"
    )))
}

struct Generated {
    value: Value,
    attempts: u32,
    tokens: i64,
}

fn check_prompt(prompt: &str) -> Result<()> {
    let mut v = kernel::validate::Validator::new();
    v.text("prompt", prompt, 4000);
    v.finish()
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PageRequest {
    pub project_id: String,
    /// What the page should be.
    pub prompt: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GeneratedPage {
    /// A page document valid for Studio (`PUT …/pages/{id}/document` takes it as it is).
    #[schema(value_type = Object)]
    pub document: Value,
    /// Tries the model needed (1 when its first answer was valid).
    pub attempts: u32,
    pub tokens: i64,
}

/// The names of the project's collections.
async fn collection_names(state: &AssistantState, principal: &Principal, project_id: &str) -> Result<Vec<String>> {
    Ok(studio::collections::service::list(&state.db, principal, project_id)
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect())
}

/// A page document from a description.
pub async fn page(state: &AssistantState, principal: &Principal, req: PageRequest) -> Result<GeneratedPage> {
    check_prompt(&req.prompt)?;
    let project = studio::projects::access(&state.db, principal, &req.project_id, OrgRole::Member).await?;
    state.ai_configured()?;
    state.moderate(&project.organization_id, "prompt", &req.prompt).await?;
    let names = collection_names(state, principal, &req.project_id).await?;
    let schema = studio::pages::document::json_schema();
    let system = format!(
        "You design pages for Socle, a no-code platform. Answer with one page document as JSON: a tree of \
         components {{\"type\", \"props\", \"children\"}} whose root has type \"page\", following this JSON Schema \
         exactly (no other types, no other props):\n{schema}\nThe project's collections, which forms, lists and tables \
         may name: {}. Write real, concise copy in the language of the request.",
        if names.is_empty() { "none".to_string() } else { names.join(", ") }
    );
    let check = |doc: &Value| {
        let refs = studio::pages::document::validate(doc, "").map_err(|e| describe(&e))?;
        if doc["type"] != "page" {
            return Err("the root must have type \"page\"".to_string());
        }
        let unknown: Vec<&String> =
            refs.collections.iter().map(|(name, _, _)| name).filter(|n| !names.contains(n)).collect();
        if !unknown.is_empty() {
            return Err(format!("the project has no collection named {unknown:?}; use only {names:?}"));
        }
        Ok(())
    };
    let g = generate(state, &project.organization_id, system, &req.prompt, &schema, check).await?;
    Ok(GeneratedPage { document: g.value, attempts: g.attempts, tokens: g.tokens })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ComponentRequest {
    /// Whose quota pays (MEMBER or more).
    pub organization_id: String,
    pub prompt: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GeneratedComponent {
    /// `{name, description, props_schema, document}`, ready for `POST /studio/components`.
    #[schema(value_type = Object)]
    pub component: Value,
    pub attempts: u32,
    pub tokens: i64,
}

/// A reusable component from a description.
pub async fn component(
    state: &AssistantState,
    principal: &Principal,
    req: ComponentRequest,
) -> Result<GeneratedComponent> {
    check_prompt(&req.prompt)?;
    foundation::orgs::require_org_role(&state.db, principal, &req.organization_id, OrgRole::Member).await?;
    state.ai_configured()?;
    state.moderate(&req.organization_id, "prompt", &req.prompt).await?;
    let page_schema = studio::pages::document::json_schema();
    let schema = json!({
        "type": "object",
        "required": ["name", "description", "props_schema", "document"],
        "properties": {
            "name": {"type": "string", "description": "lowercase words joined by -"},
            "description": {"type": "string"},
            "props_schema": {"type": "object", "description": "a JSON Schema of type object for the component's props"},
            "document": {"type": "object", "description": "one component tree (not a page) following the page schema's nodes"}
        }
    });
    let system = format!(
        "You design reusable UI components for Socle. Answer with JSON {{name, description, props_schema, document}}: \
         props_schema is a JSON Schema with \"type\": \"object\"; document is one node tree built from these node types \
         (not of type \"page\", and containing no \"component\" node):\n{page_schema}"
    );
    let check = |c: &Value| {
        let name = c["name"].as_str().unwrap_or_default();
        if name.is_empty() || name.len() > 80 {
            return Err("name is 1 to 80 characters".to_string());
        }
        if c["props_schema"]["type"] != "object" {
            return Err("props_schema must be a JSON Schema whose type is \"object\"".to_string());
        }
        if c["document"]["type"] == "page" {
            return Err("a component's document is not a page".to_string());
        }
        let refs = studio::pages::document::validate(&c["document"], "/document").map_err(|e| describe(&e))?;
        if !refs.components.is_empty() {
            return Err("a component cannot contain other components".to_string());
        }
        Ok(())
    };
    let g = generate(state, &req.organization_id, system, &req.prompt, &schema, check).await?;
    Ok(GeneratedComponent { component: g.value, attempts: g.attempts, tokens: g.tokens })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GeneratedCollection {
    /// A collection definition, ready for `POST /studio/projects/{id}/collections`.
    #[schema(value_type = Object)]
    pub collection: Value,
    pub attempts: u32,
    pub tokens: i64,
}

/// A collection (fields and rules that pass the rule checker) from a description.
pub async fn collection(
    state: &AssistantState,
    principal: &Principal,
    req: PageRequest,
) -> Result<GeneratedCollection> {
    check_prompt(&req.prompt)?;
    let project = studio::projects::access(&state.db, principal, &req.project_id, OrgRole::Member).await?;
    state.ai_configured()?;
    state.moderate(&project.organization_id, "prompt", &req.prompt).await?;
    let existing = studio::collections::service::list(&state.db, principal, &req.project_id).await?;
    let schema = json!({
        "type": "object",
        "required": ["name", "fields"],
        "properties": {
            "name": {"type": "string"},
            "type": {"enum": ["base", "auth"]},
            "fields": {"type": "array", "items": {"type": "object", "required": ["name", "type"]}},
            "listRule": {"type": ["string", "null"]}, "viewRule": {"type": ["string", "null"]},
            "createRule": {"type": ["string", "null"]}, "updateRule": {"type": ["string", "null"]},
            "deleteRule": {"type": ["string", "null"]}
        }
    });
    let names: Vec<&str> = existing.iter().map(|c| c.name.as_str()).collect();
    let system = format!(
        "You design data collections for Socle, whose collections follow PocketBase's: a name (letters, digits, _), \
         fields of type text, number, bool, email, url, date, select (with \"values\"), relation (with \"collectionId\" \
         naming an existing collection), file, json; and API rules in PocketBase's filter language (null: superusers \
         only; \"\": anyone; for example \"@request.auth.id != ''\" or \"author = @request.auth.id\"). Answer with one \
         collection as JSON. Existing collections: {}. Choose sensible rules: not everything public.",
        if names.is_empty() { "none".to_string() } else { names.join(", ") }
    );
    let check = |raw: &Value| {
        let c = collections::input::read(raw, "generated").map_err(|e| describe(&e))?;
        let mut all = existing.clone();
        let name = c.name.clone();
        all.push(c);
        collections::schema::validate_all(&mut all, Some(&name)).map_err(|e| describe(&e))
    };
    let g = generate(state, &project.organization_id, system, &req.prompt, &schema, check).await?;
    Ok(GeneratedCollection { collection: g.value, attempts: g.attempts, tokens: g.tokens })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SuggestRequest {
    pub project_id: String,
    /// The page document to improve.
    #[schema(value_type = Object)]
    pub document: Value,
    /// `accessibility`, `copy` or `layout`; all three by default.
    pub focus: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Suggestion {
    pub title: String,
    pub reason: String,
    /// A JSON Patch (RFC 6902) of the document; applied alone, it leaves a valid page.
    #[schema(value_type = Vec<Object>)]
    pub patch: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Suggestions {
    pub suggestions: Vec<Suggestion>,
    pub attempts: u32,
    pub tokens: i64,
}

/// Improvements to a page, each a JSON Patch checked against the page schema.
pub async fn suggest(state: &AssistantState, principal: &Principal, req: SuggestRequest) -> Result<Suggestions> {
    let focus = req.focus.as_deref().unwrap_or("accessibility, copy and layout");
    if req.focus.as_deref().is_some_and(|f| !["accessibility", "copy", "layout"].contains(&f)) {
        return Err(Error::field("focus", "invalid_value", "focus is accessibility, copy or layout"));
    }
    studio::pages::document::validate(&req.document, "/document").map_err(Error::Validation)?;
    let project = studio::projects::access(&state.db, principal, &req.project_id, OrgRole::Member).await?;
    state.ai_configured()?;
    let schema = json!({
        "type": "object",
        "required": ["suggestions"],
        "properties": {"suggestions": {"type": "array", "maxItems": 8, "items": {
            "type": "object", "required": ["title", "reason", "patch"],
            "properties": {"title": {"type": "string"}, "reason": {"type": "string"},
                "patch": {"type": "array", "items": {"type": "object", "required": ["op", "path"]}}}}}}
    });
    let page_schema = studio::pages::document::json_schema();
    let system = format!(
        "You review pages built with Socle for {focus}. Answer JSON {{\"suggestions\": [{{title, reason, patch}}]}}, \
         each patch a JSON Patch (RFC 6902) of the page document below; applied alone, each must leave a document \
         valid for this schema:\n{page_schema}"
    );
    let prompt = format!("The page document:\n{}", req.document);
    let document = req.document.clone();
    let check = |answer: &Value| {
        let list = answer["suggestions"].as_array().ok_or("suggestions must be an array")?;
        for (i, s) in list.iter().enumerate() {
            let patched = crate::patch::apply(&document, &s["patch"]).map_err(|e| format!("suggestion {i}: {e}"))?;
            studio::pages::document::validate(&patched, "").map_err(|e| format!("suggestion {i}: {}", describe(&e)))?;
            if s["title"].as_str().is_none_or(str::is_empty) {
                return Err(format!("suggestion {i} has no title"));
            }
        }
        Ok(())
    };
    let g = generate(state, &project.organization_id, system, &prompt, &schema, check).await?;
    let suggestions = serde_json::from_value(g.value["suggestions"].clone()).map_err(Error::internal)?;
    Ok(Suggestions { suggestions, attempts: g.attempts, tokens: g.tokens })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenced_answers_are_unwrapped() {
        assert_eq!(json_of("```json\n{\"a\": 1}\n```"), Ok(json!({"a": 1})));
        assert_eq!(json_of(" {\"a\": 1} "), Ok(json!({"a": 1})));
        assert!(json_of("Sure! Here it is: {").is_err());
    }
}

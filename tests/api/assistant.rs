//! The Assistant against a local server speaking OpenAI's wire format (JSON answers, streamed
//! chunks, 429 and 5xx), every request asserted: 503 without a provider; a page generated,
//! its invalid first answer repaired by sending the errors back; a collection that passes the
//! rule checker; suggestions as JSON Patches; moderation refusing a prompt and a marketplace
//! listing; the AI token quota refusing before the call; chat streamed over SSE and metered;
//! the onboarding coach answering from the documentation; a workflow's `ai` step.

use serde_json::{Value, json};

use crate::http_stub::{Hit, Hits, Reply};
use crate::on_both_databases;
use crate::studio_projects::project;
use crate::support::{Session, TestApp};
use crate::workflows::{create_workflow, execute, finished};

on_both_databases!(
    without_a_provider_the_assistant_answers_503,
    pages_are_generated_valid_and_repaired_when_not,
    moderation_and_quotas_refuse_before_the_model_is_asked,
    chat_streams_and_the_coach_and_workflows_use_the_model,
    semantic_search_ranks_by_meaning_and_embeds_once,
);

fn answer(content: &Value, tokens: i64) -> Reply {
    let content = match content {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Reply::json(
        200,
        json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1_765_000_000, "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": tokens - 10, "completion_tokens": 10, "total_tokens": tokens}})
        .to_string(),
    )
}

fn allowed() -> Reply {
    Reply::json(
        200,
        json!({"id": "modr-1", "model": "omni-moderation-latest",
            "results": [{"flagged": false, "categories": {"violence": false, "harassment": false}}]})
        .to_string(),
    )
}

fn hits_to(hits: &Hits, path: &str) -> Vec<Hit> {
    hits.lock().expect("hits").iter().filter(|h| h.target == path).cloned().collect()
}

fn body_of(hit: &Hit) -> Value {
    serde_json::from_str(&hit.body).expect("a JSON request")
}

async fn with_provider(app: &mut TestApp, script: Vec<Reply>) -> Hits {
    let (openai, hits) = crate::http_stub::start_replies(script, Reply::json(500, "{}")).await;
    app.reconfigure(|c| {
        c.update_section("assistant", |s: &mut assistant::settings::AssistantConfig| {
            s.base_url = format!("{openai}/v1");
            s.api_key = "sk-test-1".into();
            s.max_retries = 2;
        })
        .expect("assistant settings")
    })
    .await;
    hits
}

async fn builder(app: &TestApp, email: &str) -> (Session, String, String) {
    let owner = app.signup(email).await;
    let org = app.organization(&owner, "AI Org").await;
    let project = project(app, &owner, &org, "AI project").await;
    (owner, org, project)
}

async fn without_a_provider_the_assistant_answers_503(app: TestApp) {
    let (owner, org, project) = builder(&app, "none@assistant.example").await;
    let r = app
        .post(
            "/api/v1/assistant/generate/page",
            Some(&owner.access),
            json!({"project_id": project, "prompt": "A pricing page"}),
        )
        .await
        .expect(503);
    assert!(r.body["detail"].as_str().is_some_and(|d| d.contains("assistant.base_url")), "{}", r.body);
    app.post("/api/v1/assistant/coach", Some(&owner.access), json!({"organization_id": org, "question": "How?"}))
        .await
        .expect(503);
    app.post("/api/v1/assistant/generate/page", None, json!({"project_id": project, "prompt": "x"})).await.expect(401);
    let stranger = app.signup("stranger@assistant.example").await;
    app.post("/api/v1/assistant/generate/page", Some(&stranger.access), json!({"project_id": project, "prompt": "x"}))
        .await
        .expect(404);
    app.post("/api/v1/assistant/generate/page", Some(&owner.access), json!({"project_id": project, "prompt": ""}))
        .await
        .expect_field_error(422, "prompt");
    // A workflow's ai step fails with the reason.
    let workflow = create_workflow(
        &app,
        &owner,
        &project,
        "Ask",
        json!({
            "trigger": {"type": "manual"},
            "steps": [{"id": "ask", "type": "ai", "prompt": "Say hi"}]
        }),
    )
    .await;
    let done = finished(&app, &owner, &execute(&app, &owner, &workflow, json!({})).await).await;
    assert_eq!(done["status"], "failed");
}

async fn pages_are_generated_valid_and_repaired_when_not(mut app: TestApp) {
    let invalid = json!({"type": "page", "children": [{"type": "heading", "props": {"level": 9}}]});
    let valid = json!({"type": "page", "props": {"title": "Pricing"}, "children": [
        {"type": "heading", "props": {"text": "Simple pricing", "level": 1}},
        {"type": "text", "props": {"text": "Pay for what you use."}}]});
    let collection = json!({"name": "subscribers", "fields": [{"name": "email", "type": "email", "required": true}],
        "listRule": "@request.auth.id != ''", "viewRule": "@request.auth.id != ''", "createRule": "", "updateRule": null,
        "deleteRule": null});
    let suggestion = json!({"suggestions": [{"title": "Say what the page is", "reason": "Screen readers announce the title",
        "patch": [{"op": "replace", "path": "/props/title", "value": "Pricing plans"}]}]});
    let hits = with_provider(
        &mut app,
        vec![
            allowed(),
            Reply::json(429, json!({"error": {"message": "Rate limit reached", "type": "requests"}}).to_string())
                .header("retry-after", "0"),
            Reply::json(500, json!({"error": {"message": "The server had an error"}}).to_string()),
            answer(&invalid, 900),
            answer(&Value::String(format!("```json\n{valid}\n```")), 700),
            allowed(),
            answer(&collection, 300),
            answer(&suggestion, 200),
        ],
    )
    .await;
    let (owner, _org, project) = builder(&app, "pages@assistant.example").await;

    let page = app
        .post(
            "/api/v1/assistant/generate/page",
            Some(&owner.access),
            json!({"project_id": project, "prompt": "A pricing page"}),
        )
        .await
        .expect(200);
    assert_eq!(page.body["document"], valid);
    assert_eq!((page.body["attempts"].as_i64(), page.body["tokens"].as_i64()), (Some(2), Some(1600)));
    // The moderation call, field by field.
    let moderation = hits_to(&hits, "/v1/moderations");
    assert_eq!(moderation[0].header("authorization"), Some("Bearer sk-test-1"));
    assert_eq!(body_of(&moderation[0]), json!({"model": "omni-moderation-latest", "input": "A pricing page"}));
    // Four chat calls: the 429 and the 500 retried, the invalid answer, its repair.
    let chats = hits_to(&hits, "/v1/chat/completions");
    assert_eq!(chats.len(), 4);
    let first = body_of(&chats[0]);
    assert_eq!(first["model"], "gpt-4o-mini");
    assert_eq!(first["max_tokens"], 4000);
    assert_eq!(first["messages"][0]["role"], "system");
    assert_eq!(first["messages"][1], json!({"role": "user", "content": "A pricing page"}));
    assert_eq!(first["response_format"]["type"], "json_schema");
    assert!(
        first["response_format"]["json_schema"]["schema"]["$defs"]["heading"].is_object(),
        "the page schema is sent"
    );
    assert_eq!(body_of(&chats[1]), first, "a retry sends the same request");
    let repair = body_of(&chats[3]);
    let messages = repair["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[2]["role"], "assistant");
    assert_eq!(serde_json::from_str::<Value>(messages[2]["content"].as_str().expect("content")).ok(), Some(invalid));
    let complaint = messages[3]["content"].as_str().expect("the errors sent back");
    assert!(complaint.contains("invalid") && complaint.contains("/children/0/props"), "{complaint}");

    // A collection whose rules pass the checker.
    let c = app
        .post(
            "/api/v1/assistant/generate/collection",
            Some(&owner.access),
            json!({"project_id": project, "prompt": "Newsletter subscribers"}),
        )
        .await
        .expect(200);
    assert_eq!(c.body["collection"]["name"], "subscribers");
    app.post(
        &format!("/api/v1/studio/projects/{project}/collections"),
        Some(&owner.access),
        c.body["collection"].clone(),
    )
    .await
    .expect(201);

    // Suggestions, each a patch leaving a valid page.
    let s = app
        .post(
            "/api/v1/assistant/suggest",
            Some(&owner.access),
            json!({"project_id": project, "document": valid, "focus": "accessibility"}),
        )
        .await
        .expect(200);
    assert_eq!(s.body["suggestions"][0]["patch"][0]["value"], "Pricing plans");
    app.post(
        "/api/v1/assistant/suggest",
        Some(&owner.access),
        json!({"project_id": project, "document": {"type": "nope"}}),
    )
    .await
    .expect(422);
    app.post(
        "/api/v1/assistant/suggest",
        Some(&owner.access),
        json!({"project_id": project, "document": valid, "focus": "colour"}),
    )
    .await
    .expect_field_error(422, "focus");
}

async fn moderation_and_quotas_refuse_before_the_model_is_asked(mut app: TestApp) {
    let flagged = Reply::json(
        200,
        json!({"id": "modr-2", "model": "omni-moderation-latest", "results": [{"flagged": true,
            "categories": {"violence": true, "harassment": false, "hate": true}}]})
        .to_string(),
    );
    let hits = with_provider(&mut app, vec![flagged.clone(), flagged.clone(), flagged, allowed()]).await;
    let (owner, org, project) = builder(&app, "moderated@assistant.example").await;
    let refused = app
        .post(
            "/api/v1/assistant/generate/page",
            Some(&owner.access),
            json!({"project_id": project, "prompt": "Something nasty"}),
        )
        .await
        .expect_field_error(422, "prompt");
    assert!(
        refused.body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("hate, violence")),
        "{}",
        refused.body
    );
    assert_eq!(refused.body["errors"][0]["code"], "flagged");
    // A marketplace listing is moderated too.
    app.post(
        "/api/v1/marketplace/items",
        Some(&owner.access),
        json!({"organization_id": org, "kind": "template", "project_id": project, "title": "Nasty", "category": "blog",
            "license": "MIT"}),
    )
    .await
    .expect_field_error(422, "title");
    // So is the text of pages a share link publishes.
    app.post(
        &format!("/api/v1/studio/projects/{project}/pages"),
        Some(&owner.access),
        json!({"name": "Home", "document": {"type": "page", "children": [{"type": "heading", "props": {"text": "Nasty words"}}]}}),
    )
    .await
    .expect(201);
    app.post(&format!("/api/v1/studio/projects/{project}/share-links"), Some(&owner.access), json!({}))
        .await
        .expect_field_error(422, "pages");
    let moderated = hits_to(&hits, "/v1/moderations");
    assert_eq!(body_of(&moderated[2])["input"], "Nasty words\n");
    assert!(hits_to(&hits, "/v1/chat/completions").is_empty(), "the model was never asked");

    // The AI token quota refuses before the call.
    app.reconfigure(|c| {
        c.update_section("usage", |u: &mut kernel::usage::UsageConfig| u.enforce = true).expect("usage settings")
    })
    .await;
    let admin = app.admin("root@assistant.example").await;
    app.put("/api/v1/admin/billing/plans/FREE", Some(&admin.access), json!({"limits": {"ai_tokens_per_month": 10}}))
        .await
        .expect(200);
    let over = app
        .post(
            "/api/v1/assistant/generate/page",
            Some(&owner.access),
            json!({"project_id": project, "prompt": "A long description of a landing page with many sections and words"}),
        )
        .await
        .expect(402);
    assert_eq!((over.body["limit"].as_str(), over.body["max"].as_i64()), (Some("ai_tokens_per_month"), Some(10)));
    assert!(hits_to(&hits, "/v1/chat/completions").is_empty(), "the model was never asked");
}

fn delta(text: &str) -> String {
    format!(
        "data: {}",
        json!({"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": text}}]})
    )
}

async fn chat_streams_and_the_coach_and_workflows_use_the_model(mut app: TestApp) {
    let stream = Reply::events(&[
        format!(
            "data: {}",
            json!({"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"role": "assistant"}}]})
        ),
        delta("Add a "),
        delta("form bound to "),
        delta("subscribers."),
        format!(
            "data: {}",
            json!({"id": "c1", "object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42}})
        ),
        "data: [DONE]".to_string(),
    ]);
    let hits = with_provider(
        &mut app,
        vec![
            allowed(),
            stream,
            allowed(),
            answer(&Value::String("Refund it with POST /payments/{id}/refund.".into()), 120),
            answer(&json!({"summary": "A happy customer", "score": 5}), 50),
        ],
    )
    .await;
    let (owner, org, project) = builder(&app, "chat@assistant.example").await;

    // Chat, streamed.
    let response = app
        .client
        .post(app.url("/api/v1/assistant/chat"))
        .bearer_auth(&owner.access)
        .json(&json!({"project_id": project, "messages": [{"role": "user", "content": "How do I collect emails?"}]}))
        .send()
        .await
        .expect("chat");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = response.text().await.expect("the stream");
    let mut said = String::new();
    let mut done = Value::Null;
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let event = block.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or_default();
        let data: Value = block
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or_default();
        match event {
            "delta" => said.push_str(data["text"].as_str().unwrap_or_default()),
            "done" => done = data,
            other => panic!("unexpected event {other}: {block}"),
        }
    }
    assert_eq!(said, "Add a form bound to subscribers.");
    assert_eq!(done["tokens"], 42);
    let asked = body_of(&hits_to(&hits, "/v1/chat/completions")[0]);
    assert_eq!(
        (asked["stream"].as_bool(), asked["stream_options"]["include_usage"].as_bool()),
        (Some(true), Some(true))
    );
    assert!(
        asked["messages"][0]["content"].as_str().is_some_and(|c| c.contains("AI project")),
        "the project is the context"
    );
    app.post("/api/v1/assistant/chat", Some(&owner.access), json!({"project_id": project, "messages": []}))
        .await
        .expect_field_error(422, "messages");

    // The coach answers from the documentation it was given.
    let coach = app
        .post(
            "/api/v1/assistant/coach",
            Some(&owner.access),
            json!({"organization_id": org, "question": "How do I refund a PayPal payment?"}),
        )
        .await
        .expect(200);
    assert!(coach.body["answer"].as_str().is_some_and(|a| a.contains("refund")));
    assert!(coach.body["sources"].as_array().is_some_and(|s| !s.is_empty()));
    let asked = body_of(&hits_to(&hits, "/v1/chat/completions")[1]);
    assert!(asked["messages"][0]["content"].as_str().is_some_and(|c| c.contains("PayPal")), "README excerpts are sent");

    // A workflow's ai step, with a JSON answer.
    let workflow = create_workflow(&app, &owner, &project, "Summarize", json!({
        "trigger": {"type": "manual"},
        "steps": [{"id": "ask", "type": "ai", "system": "You summarize reviews.", "prompt": "Summarize: {{ input.review }}",
            "output_schema": {"type": "object", "properties": {"summary": {"type": "string"}, "score": {"type": "integer"}}}}]
    }))
    .await;
    let run = finished(&app, &owner, &execute(&app, &owner, &workflow, json!({"review": "Loved it"})).await).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["context"]["steps"]["ask"]["json"], json!({"summary": "A happy customer", "score": 5}));
    let asked = body_of(&hits_to(&hits, "/v1/chat/completions")[2]);
    assert_eq!(asked["messages"][1]["content"], "Summarize: Loved it");
    assert_eq!(asked["messages"][0]["content"], "You summarize reviews.");

    // Every call is metered on the organization: 42 + 120 + 50 tokens.
    let me = app.get(&format!("/api/v1/billing/me?organization_id={org}"), Some(&owner.access)).await.expect(200).body;
    let ai = me["usage"].as_array().and_then(|u| u.iter().find(|m| m["metric"] == "ai_tokens_per_month")).cloned();
    assert_eq!(ai.map(|m| m["used"].clone()), Some(json!(212)));
}

fn embeddings(vectors: &[[f32; 2]], tokens: i64) -> Reply {
    let data: Vec<Value> =
        vectors.iter().enumerate().map(|(i, v)| json!({"object": "embedding", "index": i, "embedding": v})).collect();
    Reply::json(
        200,
        json!({"object": "list", "data": data, "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
        .to_string(),
    )
}

async fn semantic_search_ranks_by_meaning_and_embeds_once(mut app: TestApp) {
    let (openai, hits) = crate::http_stub::start_replies(
        vec![
            // footer, hero (the library's order), then each query.
            embeddings(&[[1.0, 0.0], [0.0, 1.0]], 8),
            embeddings(&[[0.1, 0.9]], 2),
            embeddings(&[[0.9, 0.1]], 2),
        ],
        Reply::json(500, "{}"),
    )
    .await;
    // An Azure-style gateway: the key in `api-key`, an `api-version` on every call.
    app.reconfigure(|c| {
        c.update_section("assistant", |s: &mut assistant::settings::AssistantConfig| {
            s.base_url = format!("{openai}/openai/deployments/socle");
            s.api_key = "azure-key-1".into();
            s.api_key_header = "api-key".into();
            s.api_version = "2024-10-21".into();
        })
        .expect("assistant settings")
    })
    .await;
    let (owner, org, _) = builder(&app, "search@assistant.example").await;
    for (name, description) in
        [("hero", "A big banner with a title and a call to action"), ("footer", "Links and legal notes at the bottom")]
    {
        app.post(
            "/api/v1/studio/components",
            Some(&owner.access),
            json!({"organization_id": org, "name": name, "description": description,
                "props_schema": {"type": "object"}, "document": {"type": "section"}}),
        )
        .await
        .expect(201);
    }
    let search = |query: &str| json!({"organization_id": org, "query": query, "scope": "components"});
    let first = app.post("/api/v1/assistant/search", Some(&owner.access), search("a banner")).await.expect(200).body;
    assert_eq!(first[0]["title"], "hero");
    assert!(first[0]["score"].as_f64().is_some_and(|s| s > 0.9), "{first}");
    let path = "/openai/deployments/socle/embeddings?api-version=2024-10-21";
    let calls = hits_to(&hits, path);
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].header("api-key"), Some("azure-key-1"));
    assert_eq!(calls[0].header("authorization"), None);
    let batch = body_of(&calls[0]);
    assert_eq!(batch["model"], "text-embedding-3-small");
    assert_eq!(
        batch["input"],
        json!(["footer\nLinks and legal notes at the bottom", "hero\nA big banner with a title and a call to action"])
    );
    assert_eq!(body_of(&calls[1])["input"], json!(["a banner"]));
    // The candidates are embedded once: the next search embeds only its query.
    let second = app.post("/api/v1/assistant/search", Some(&owner.access), search("the bottom")).await.expect(200).body;
    assert_eq!(second[0]["title"], "footer");
    assert_eq!(hits_to(&hits, path).len(), 3);
    app.post(
        "/api/v1/assistant/search",
        Some(&owner.access),
        json!({"organization_id": org, "query": "x", "scope": "files"}),
    )
    .await
    .expect_field_error(422, "scope");
    app.post(
        "/api/v1/assistant/search",
        Some(&owner.access),
        json!({"organization_id": org, "query": "x", "scope": "marketplace", "limit": 0}),
    )
    .await
    .expect_field_error(422, "limit");
    let stranger = app.signup("stranger-search@assistant.example").await;
    app.post("/api/v1/assistant/search", Some(&stranger.access), search("x")).await.expect(404);
}

//! What starts executions: outbox events (records of an app, a new project, which also
//! gets its default workflows), schedules (a `workflow.start` job per occurrence), incoming
//! webhooks and manual calls ([`super::engine::execute`]).

use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use kernel::jobs::{Job, JobContext, JobFuture, JobHandler};
use kernel::outbox::{Event, Listener, ListenerFuture};
use kernel::{Db, Error, Result, Tx, args};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use super::definition::{self, Trigger};
use super::engine::{self, Start};
use super::{COLUMNS, NewWorkflow, Workflow, secrets};
use crate::AutomationState;

/// The workflows every new project gets.
pub fn default_workflows() -> Vec<(&'static str, &'static str, Value)> {
    vec![(
        "Welcome notification",
        "Created with the project: tells its creator that the project is ready. Edit or disable it freely.",
        json!({
            "trigger": {"type": "project", "events": ["project.created"]},
            "steps": [{
                "id": "welcome",
                "type": "notification",
                "user_id": "{{ trigger.created_by }}",
                "title": "Your project {{ trigger.name }} is ready",
                "body": "Define its collections, pages and workflows in the Studio, then deploy it as an app.",
                "url": "/studio/projects/{{ trigger.project_id }}",
                "notification_type": "project.ready"
            }]
        }),
    )]
}

async fn workflows_where(tx: &mut Tx, clause: &'static str, arg: &str) -> Result<Vec<Workflow>> {
    tx.fetch_all(
        sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM workflows WHERE enabled = $1 AND {clause}")),
        args![true, arg],
    )
    .await
}

/// Starts workflows from outbox events, in the dispatch transaction. `db` answers "has this
/// app any record workflow?" on the fast read path first: most record events start nothing,
/// and then cost the dispatch transaction nothing.
pub struct WorkflowTriggers {
    pub db: kernel::Db,
    pub max_depth: i64,
}

impl Listener for WorkflowTriggers {
    fn name(&self) -> &'static str {
        "workflows.triggers"
    }

    fn on_event<'a>(&'a self, event: &'a Event, tx: &'a mut Tx) -> ListenerFuture<'a> {
        Box::pin(async move {
            match event.kind.as_str() {
                "record.created" | "record.updated" | "record.deleted" => self.on_record(event, tx).await,
                "project.created" => on_project_created(event, tx).await,
                _ => Ok(()),
            }
        })
    }
}

impl WorkflowTriggers {
    async fn on_record(&self, event: &Event, tx: &mut Tx) -> Result<()> {
        let p = &event.payload;
        let app_id = p["app_id"].as_str().unwrap_or_default();
        let collection = p["collection"].as_str().unwrap_or_default();
        let action = event.kind.trim_start_matches("record.");
        let any = tx.count_committed(&self.db, super::ENABLED_RECORD_WORKFLOWS, args![true, app_id]).await?;
        if any == 0 {
            return Ok(());
        }
        let candidates = workflows_where(tx, "trigger_type = 'record' AND trigger_app_id = $2", app_id).await?;
        if candidates.is_empty() {
            return Ok(());
        }
        // A record written by a workflow step carries that execution as its cause.
        let depth = p["cause"]["depth"].as_i64().map(|d| d + 1).unwrap_or(0);
        for wf in candidates {
            let Ok(def) = definition::parse(&wf.definition.0) else { continue };
            let Trigger::Record { collection: c, events, filter, .. } = &def.trigger else { continue };
            if c != collection || !events.iter().any(|e| e == action) {
                continue;
            }
            if let Some(f) = filter
                && !matches_filter(f, &p["record"])
            {
                continue;
            }
            if depth > self.max_depth {
                tracing::warn!(workflow = %wf.id, depth, "a workflow chain went too deep; not starting it again");
                metrics::counter!("socle_workflow_chains_stopped_total").increment(1);
                continue;
            }
            let trigger = json!({
                "type": "record",
                "event": action,
                "app_id": app_id,
                "collection": collection,
                "record": p["record"],
                "before": p.get("before").cloned().unwrap_or(Value::Null),
                "event_id": event.id,
            });
            engine::start(
                tx,
                Start { workflow: &wf, trigger, input: json!({}), depth, started_by: None, rerun_of: None },
            )
            .await?;
        }
        Ok(())
    }
}

/// Whether a record passes a trigger's filter (evaluated in memory; a filter that needs a
/// query, such as one through a relation, does not match).
fn matches_filter(filter: &str, record: &Value) -> bool {
    let Ok(parsed) = expr::parse(filter) else { return false };
    let ctx =
        expr::eval::Context { record, auth: None, body: &Value::Null, query: &Value::Null, now: kernel::time::now() };
    expr::eval::evaluate(&parsed, &ctx).unwrap_or(false)
}

/// A new project: create its default workflows, then start the project's workflows that
/// listen for `project.created` (the defaults among them).
async fn on_project_created(event: &Event, tx: &mut Tx) -> Result<()> {
    let p = &event.payload;
    let (Some(project_id), Some(org)) = (p["project_id"].as_str(), p["organization_id"].as_str()) else {
        return Ok(());
    };
    let existing: i64 = tx
        .scalar("SELECT COUNT(*) FROM workflows WHERE project_id = $1 AND is_default = $2", args![project_id, true])
        .await?;
    if existing == 0 {
        let by = p["created_by"].as_str().unwrap_or("system");
        for (name, description, definition) in default_workflows() {
            super::insert(
                tx,
                NewWorkflow {
                    organization_id: org,
                    project_id,
                    name,
                    description,
                    enabled: true,
                    is_default: true,
                    definition: &definition,
                    created_by: by,
                },
            )
            .await?;
        }
    }
    for wf in workflows_where(tx, "trigger_type = 'project' AND project_id = $2", project_id).await? {
        let Ok(def) = definition::parse(&wf.definition.0) else { continue };
        let Trigger::Project { events } = &def.trigger else { continue };
        if !events.iter().any(|e| e == &event.kind) {
            continue;
        }
        let mut trigger = p.clone();
        trigger["type"] = json!("project");
        trigger["event"] = json!(event.kind);
        engine::start(
            tx,
            Start { workflow: &wf, trigger, input: json!({}), depth: 0, started_by: None, rerun_of: None },
        )
        .await?;
    }
    Ok(())
}

/// Runs one occurrence of a workflow's schedule.
pub(crate) struct ScheduledStart(pub AutomationState);

impl JobHandler for ScheduledStart {
    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            let db = &self.0.db;
            let id = job.payload["workflow_id"].as_str().unwrap_or_default();
            let Ok(wf) = super::load(db, id).await else {
                return Ok(Some(json!({"skipped": "the workflow no longer exists"})));
            };
            if !wf.enabled || wf.trigger_type != "schedule" {
                return Ok(Some(json!({"skipped": "the workflow is not scheduled any more"})));
            }
            let trigger = json!({"type": "schedule", "scheduled_for": job.payload["scheduled_for"]});
            let mut tx = db.begin().await?;
            let execution = engine::start(
                &mut tx,
                Start { workflow: &wf, trigger, input: json!({}), depth: 0, started_by: None, rerun_of: None },
            )
            .await?;
            // The execution exists exactly once per occurrence: it commits with the job.
            ctx.complete_in(tx, Some(json!({"execution_id": execution}))).await?;
            Ok(None)
        })
    }
}

/// The largest webhook body accepted.
pub const MAX_HOOK_BODY: usize = 1024 * 1024;
/// How old a signed call may be.
const SIGNATURE_TOLERANCE_SECS: i64 = 300;

fn hmac_hex(secret: &str, parts: &[&[u8]]) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return Vec::new() };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Check a signed call: `Socle-Signature: t=<unix>,v1=<hex HMAC(secret, "t.body")>` (the
/// scheme Socle's own webhooks use) or GitHub's `X-Hub-Signature-256: sha256=<hex>`. Returns
/// the Socle signature that was checked (its bytes, however the header spelled them), which
/// names the call: a replay carries the same one.
pub fn verify_signature(
    secret: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> std::result::Result<Option<Vec<u8>>, String> {
    if let Some(sig) = headers.get("socle-signature").and_then(|v| v.to_str().ok()) {
        let parts: Map<String, Value> = sig
            .split(',')
            .filter_map(|p| p.trim().split_once('='))
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        let t = parts.get("t").and_then(Value::as_str).and_then(|t| t.parse::<i64>().ok());
        let v1 = parts.get("v1").and_then(Value::as_str).and_then(|v| hex::decode(v).ok());
        let (Some(t), Some(v1)) = (t, v1) else { return Err("Socle-Signature is malformed (t=...,v1=...)".into()) };
        if (now - t).abs() > SIGNATURE_TOLERANCE_SECS {
            return Err("the signature's timestamp is too old or in the future".into());
        }
        let expected = hmac_hex(secret, &[t.to_string().as_bytes(), b".", body]);
        return if constant_eq(&expected, &v1) { Ok(Some(v1)) } else { Err("the signature does not match".into()) };
    }
    if let Some(sig) = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok()) {
        let given = sig.strip_prefix("sha256=").and_then(|h| hex::decode(h).ok()).unwrap_or_default();
        let expected = hmac_hex(secret, &[body]);
        return if constant_eq(&expected, &given) { Ok(None) } else { Err("the signature does not match".into()) };
    }
    Err("this webhook requires a signature (Socle-Signature or X-Hub-Signature-256)".into())
}

/// What makes a signed call one call, so that it starts its workflow once: the Socle
/// signature that was verified (it covers a timestamp and the body, so a replay within the
/// tolerance carries the same one; taken as verified, not as spelled, so that a replay
/// cannot look new by writing it differently), and the sender's event or delivery id (a
/// sender that lost the answer sends again, signed anew). Ids that are not signed cannot
/// make a replay new: a call is a duplicate when any of its keys was seen.
fn delivery_keys(verified: Option<&[u8]>, headers: &HeaderMap) -> Vec<String> {
    let header = |name: &str| {
        headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty() && v.len() <= 200)
    };
    let mut keys = Vec::new();
    if let Some(signature) = verified {
        keys.push(format!("signature:{}", hex::encode(signature)));
    }
    for (name, kind) in
        [("socle-event-id", "socle-event"), ("x-github-delivery", "github"), ("webhook-id", "webhook-id")]
    {
        if let Some(id) = header(name) {
            keys.push(format!("{kind}:{id}"));
        }
    }
    keys
}

/// Record `keys` as received for `execution` in the caller's transaction; the execution an
/// earlier call with one of them started, if there was one (PostgreSQL makes a racing
/// insert of the same key wait for the first transaction's end).
async fn claim_delivery(tx: &mut Tx, workflow_id: &str, keys: &[String], execution: &str) -> Result<Option<String>> {
    let now = kernel::time::now();
    for key in keys {
        let inserted = tx
            .execute(
                "INSERT INTO workflow_hook_deliveries (workflow_id, delivery, execution_id, received_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (workflow_id, delivery) DO NOTHING",
                args![workflow_id, key, execution, now],
            )
            .await?;
        if inserted == 0 {
            let earlier: Option<(String,)> = tx
                .fetch_optional(
                    "SELECT execution_id FROM workflow_hook_deliveries WHERE workflow_id = $1 AND delivery = $2",
                    args![workflow_id, key],
                )
                .await?;
            return Ok(Some(earlier.map_or_else(String::new, |(id,)| id)));
        }
    }
    Ok(None)
}

/// Forget the calls received more than a day ago (the maintenance job, hourly).
pub async fn purge_hook_deliveries(db: &Db) -> Result<u64> {
    let before = kernel::time::now() - time::Duration::days(1);
    db.execute("DELETE FROM workflow_hook_deliveries WHERE received_at < $1", args![before]).await
}

/// What an incoming call started: a new execution, or the one the same call started before.
pub struct HookReceived {
    pub execution: engine::Execution,
    pub duplicate: bool,
}

/// An incoming webhook call: start the workflow with the request as its trigger, once per
/// signed call.
pub async fn receive_hook(
    s: &AutomationState,
    token: &str,
    headers: &HeaderMap,
    query: Map<String, Value>,
    body: &[u8],
) -> Result<HookReceived> {
    let db: &Db = &s.db;
    let wf: Option<Workflow> = db
        .fetch_optional(
            sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM workflows WHERE hook_token = $1 AND enabled = $2")),
            args![token, true],
        )
        .await?;
    let wf = wf.ok_or_else(|| Error::not_found("webhook"))?;
    let def = definition::parse(&wf.definition.0)?;
    // Unsigned calls are not deduplicated: anyone may call, so anyone could claim an id.
    let mut keys = Vec::new();
    if let Trigger::Webhook { secret: Some(name) } = &def.trigger {
        let all = secrets::load(&s.secrets, db, &wf.project_id).await?;
        let Some(secret) = all.get(name).and_then(Value::as_str) else {
            return Err(Error::Unauthorized(format!("the webhook's secret {name} is not set in the project")));
        };
        let verified = verify_signature(secret, headers, body, kernel::time::now().unix_timestamp())
            .map_err(Error::Unauthorized)?;
        keys = delivery_keys(verified.as_deref(), headers);
    }
    let is_json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json") || c.contains("+json"));
    let parsed = if body.is_empty() {
        Value::Null
    } else if is_json {
        serde_json::from_slice(body)
            .map_err(|e| Error::field("body", "invalid_json", format!("the body is not JSON: {e}")))?
    } else {
        Value::String(String::from_utf8_lossy(body).into_owned())
    };
    let kept: Map<String, Value> = headers
        .iter()
        .filter(|(k, _)| {
            let k = k.as_str();
            k == "content-type" || k == "user-agent" || (k.starts_with("x-") && !k.contains("signature"))
        })
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), Value::String(v.to_string()))))
        .collect();
    let trigger = json!({"type": "webhook", "body": parsed, "headers": kept, "query": query});
    let mut tx = db.begin().await?;
    let id = engine::start(
        &mut tx,
        Start { workflow: &wf, trigger, input: parsed_input(&parsed), depth: 0, started_by: None, rerun_of: None },
    )
    .await?;
    if let Some(earlier) = claim_delivery(&mut tx, &wf.id, &keys, &id).await? {
        drop(tx); // the new execution is not kept
        let execution =
            engine::fetch(db, &earlier).await.map_err(|_| Error::Conflict("this call was received already".into()))?;
        return Ok(HookReceived { execution, duplicate: true });
    }
    tx.commit().await?;
    Ok(HookReceived { execution: engine::fetch(db, &id).await?, duplicate: false })
}

/// A JSON object body is also the execution's input.
fn parsed_input(body: &Value) -> Value {
    if body.is_object() { body.clone() } else { json!({}) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_signature_schemes_verify() {
        let body = br#"{"a":1}"#;
        let mut h = HeaderMap::new();
        let sig = crate::webhooks::sign("k3y", 1_700_000_000, body);
        h.insert("socle-signature", sig.parse().unwrap_or_else(|_| panic!("header")));
        let checked = verify_signature("k3y", &h, body, 1_700_000_100).expect("verified");
        // The key is the signature as verified: a replay spelling it in capitals, or with a
        // decoy v1 before it, is the same call.
        let keys = delivery_keys(checked.as_deref(), &h);
        let mut shouted = HeaderMap::new();
        let hex_part = sig.split_once("v1=").map(|(_, h)| h.to_uppercase()).unwrap_or_default();
        let replay = format!("t=1700000000,v1=00,v1={hex_part}");
        shouted.insert("socle-signature", replay.parse().unwrap_or_else(|_| panic!("header")));
        let again = verify_signature("k3y", &shouted, body, 1_700_000_100).expect("verified");
        assert_eq!(delivery_keys(again.as_deref(), &shouted), keys);
        assert!(verify_signature("k3y", &h, body, 1_700_001_000).is_err(), "too old");
        assert!(verify_signature("other", &h, body, 1_700_000_100).is_err());
        let mut gh = HeaderMap::new();
        let hex = hex::encode(hmac_hex("k3y", &[body]));
        gh.insert("x-hub-signature-256", format!("sha256={hex}").parse().unwrap_or_else(|_| panic!("header")));
        assert_eq!(verify_signature("k3y", &gh, body, 0), Ok(None));
        assert!(verify_signature("k3y", &HeaderMap::new(), body, 0).is_err());
    }

    #[test]
    fn filters_match_records_in_memory() {
        assert!(matches_filter("total > 100 && status = 'paid'", &json!({"total": 150, "status": "paid"})));
        assert!(!matches_filter("total > 100", &json!({"total": 50})));
        assert!(!matches_filter("not a filter ((", &json!({})));
    }
}

//! A workflow's definition: a trigger and a list of steps, stored as JSON and checked here
//! (every problem reported with its path, `definition.steps[2].url`) against the rules the
//! published JSON Schema ([`SCHEMA`]) states.
//!
//! Steps run in list order; `next` jumps to another step of the same list (or `end`); a
//! `condition` picks `then` or `else`; a `loop` runs its own `steps` once per item. Values
//! in steps are Jinja templates over the execution context: `trigger`, `input`, `vars`,
//! `steps.<id>` (each earlier step's output), `loop.item` / `loop.index`, and `secrets.NAME`.
//! A string that is a single `{{ expression }}` keeps the expression's type.

use std::collections::{HashMap, HashSet};

use kernel::validate::Validator;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The published JSON Schema of a definition.
pub const SCHEMA: &str = include_str!("workflow.schema.json");

pub const MAX_STEPS_DEFINED: usize = 200;
pub const MAX_DELAY_SECS: u64 = 30 * 24 * 3600;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// `POST /api/v1/automation/workflows/{id}/execute` with `input`.
    Manual,
    /// A record of an app created, updated or deleted.
    Record {
        app_id: String,
        collection: String,
        #[serde(default = "all_record_events")]
        events: Vec<String>,
        /// An expression over the record (`status = "paid" && total > 100`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filter: Option<String>,
    },
    /// A project event (`project.created`).
    Project {
        #[serde(default = "project_created")]
        events: Vec<String>,
    },
    /// A cron schedule (5 fields, or 6 with seconds first) in a time zone.
    Schedule {
        cron: String,
        #[serde(default = "utc")]
        timezone: String,
    },
    /// `POST /api/v1/automation/hooks/{token}`; with `secret` (the name of a project
    /// secret) the caller must sign the body.
    Webhook {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<String>,
    },
}

fn all_record_events() -> Vec<String> {
    vec!["created".into(), "updated".into(), "deleted".into()]
}

fn project_created() -> Vec<String> {
    vec!["project.created".into()]
}

fn utc() -> String {
    "UTC".into()
}

impl Trigger {
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Record { .. } => "record",
            Trigger::Project { .. } => "project",
            Trigger::Schedule { .. } => "schedule",
            Trigger::Webhook { .. } => "webhook",
        }
    }
}

/// What a step does.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    Condition {
        /// An expression over the context (`steps.check.body.ok = true`).
        #[serde(rename = "if")]
        condition: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        then: Option<String>,
        #[serde(default, rename = "else", skip_serializing_if = "Option::is_none")]
        otherwise: Option<String>,
    },
    Http {
        #[serde(default = "get")]
        method: String,
        url: String,
        #[serde(default)]
        headers: HashMap<String, String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<Value>,
        /// Attempts after the first when the request fails or answers 5xx / 429.
        #[serde(default = "two")]
        retries: u32,
        /// A 4xx / 5xx answer fails the step (otherwise the status is output for a condition).
        #[serde(default = "yes")]
        fail_on_error: bool,
    },
    Email {
        to: String,
        /// An email template key (default `workflow_email`, with `subject` and `body`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        #[serde(default)]
        variables: Map<String, Value>,
    },
    Record {
        action: RecordAction,
        app_id: String,
        collection: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        record_id: Option<String>,
        #[serde(default)]
        data: Map<String, Value>,
    },
    Notification {
        user_id: String,
        title: String,
        #[serde(default)]
        body: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        #[serde(default = "workflow_type", rename = "notification_type")]
        notification_type: String,
    },
    Delay {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seconds: Option<u64>,
        /// An RFC 3339 time (a template).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<String>,
    },
    Set {
        values: Map<String, Value>,
    },
    /// Ask the platform's language model (`[assistant]`), paid from the workflow's
    /// organization's AI tokens; with `output_schema` the answer is JSON following it.
    Ai {
        /// A template (`Summarize: {{ input.text }}`).
        prompt: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        system: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output_schema: Option<Value>,
    },
    Loop {
        /// A list, or a template giving one (`{{ steps.fetch.body.items }}`).
        over: Value,
        steps: Vec<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_items: Option<usize>,
    },
}

fn get() -> String {
    "GET".into()
}
fn two() -> u32 {
    2
}
fn yes() -> bool {
    true
}
fn workflow_type() -> String {
    "workflow".into()
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RecordAction {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Condition { .. } => "condition",
            Action::Http { .. } => "http",
            Action::Email { .. } => "email",
            Action::Record { .. } => "record",
            Action::Notification { .. } => "notification",
            Action::Delay { .. } => "delay",
            Action::Set { .. } => "set",
            Action::Ai { .. } => "ai",
            Action::Loop { .. } => "loop",
        }
    }
}

/// A checked step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: String,
    pub name: Option<String>,
    pub next: Option<String>,
    pub timeout_secs: Option<u64>,
    pub action: Action,
    /// The body of a loop, checked.
    pub body: Vec<Step>,
}

/// A checked definition.
#[derive(Debug, Clone)]
pub struct Definition {
    pub trigger: Trigger,
    pub steps: Vec<Step>,
}

/// Where a step sits: its list (the top level or a loop's body) and its index there.
#[derive(Debug, Clone)]
pub struct Located<'a> {
    pub step: &'a Step,
    /// The list the step belongs to.
    pub siblings: &'a [Step],
    pub index: usize,
    /// The loop whose body holds it (`None` at the top level).
    pub parent: Option<&'a str>,
}

impl Definition {
    /// Find a step anywhere in the tree.
    pub fn find(&self, id: &str) -> Option<Located<'_>> {
        fn walk<'a>(list: &'a [Step], parent: Option<&'a str>, id: &str) -> Option<Located<'a>> {
            for (index, step) in list.iter().enumerate() {
                if step.id == id {
                    return Some(Located { step, siblings: list, index, parent });
                }
                if let Some(found) = walk(&step.body, Some(&step.id), id) {
                    return Some(found);
                }
            }
            None
        }
        walk(&self.steps, None, id)
    }

    /// Whether any value mentions secrets (so that the executor loads them only then).
    pub fn mentions_secrets(raw: &Value) -> bool {
        raw.to_string().contains("secrets")
    }
}

const COMMON: [&str; 5] = ["id", "type", "name", "next", "timeout_secs"];

fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s != "end"
}

/// Check a definition; every problem is a field error under `definition`.
pub fn parse(raw: &Value) -> Result<Definition, kernel::Error> {
    let mut v = Validator::new();
    let Some(obj) = raw.as_object() else {
        v.add("definition", "invalid", "definition is an object with a trigger and steps");
        return Err(v.finish().err().unwrap_or_else(|| kernel::Error::BadRequest("invalid definition".into())));
    };
    for key in obj.keys() {
        if key != "trigger" && key != "steps" {
            v.add(&format!("definition.{key}"), "unknown", format!("unknown property {key:?}"));
        }
    }
    let trigger = match obj.get("trigger") {
        None => {
            v.add("definition.trigger", "required", "a trigger is required");
            None
        }
        Some(t) => match serde_json::from_value::<Trigger>(t.clone()) {
            Ok(t) => {
                check_trigger(&mut v, &t);
                Some(t)
            }
            Err(e) => {
                v.add("definition.trigger", "invalid", e.to_string());
                None
            }
        },
    };
    let steps = match obj.get("steps") {
        Some(Value::Array(items)) => {
            let mut ids = HashSet::new();
            let mut count = 0;
            parse_list(&mut v, items, "definition.steps", &mut ids, &mut count, 0)
        }
        Some(_) => {
            v.add("definition.steps", "invalid", "steps is a list");
            Vec::new()
        }
        None => {
            v.add("definition.steps", "required", "steps is required (it may be empty)");
            Vec::new()
        }
    };
    v.finish()?;
    match trigger {
        Some(trigger) => Ok(Definition { trigger, steps }),
        None => Err(kernel::Error::field("definition.trigger", "invalid", "invalid trigger")),
    }
}

fn check_trigger(v: &mut Validator, t: &Trigger) {
    match t {
        Trigger::Record { app_id, collection, events, filter } => {
            if app_id.is_empty() {
                v.add("definition.trigger.app_id", "required", "app_id is required");
            }
            if collection.is_empty() || collection.len() > 100 {
                v.add("definition.trigger.collection", "invalid", "collection names the app's collection");
            }
            if events.is_empty() || events.iter().any(|e| !matches!(e.as_str(), "created" | "updated" | "deleted")) {
                v.add("definition.trigger.events", "invalid", "events lists created, updated and/or deleted");
            }
            if let Some(f) = filter
                && let Err(e) = expr::parse(f)
            {
                v.add("definition.trigger.filter", "invalid_filter", e.to_string());
            }
        }
        Trigger::Project { events } => {
            if events.is_empty() || events.iter().any(|e| e != "project.created") {
                v.add("definition.trigger.events", "invalid", "events lists project events: project.created");
            }
        }
        Trigger::Schedule { cron, timezone } => {
            if let Err(e) = crate::scheduler::CronSpec::parse(cron, timezone) {
                v.add("definition.trigger.cron", "invalid", e);
            }
        }
        Trigger::Webhook { secret } => {
            if let Some(s) = secret
                && !super::secrets::valid_name(s)
            {
                v.add("definition.trigger.secret", "invalid", "secret names a project secret (A-Z, 0-9, _)");
            }
        }
        Trigger::Manual => {}
    }
}

fn parse_list(
    v: &mut Validator,
    items: &[Value],
    path: &str,
    ids: &mut HashSet<String>,
    count: &mut usize,
    depth: usize,
) -> Vec<Step> {
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        *count += 1;
        if *count > MAX_STEPS_DEFINED {
            v.add(&at, "too_many", format!("a workflow has at most {MAX_STEPS_DEFINED} steps"));
            return out;
        }
        if let Some(step) = parse_step(v, item, &at, ids, count, depth) {
            out.push(step);
        }
    }
    // Jumps stay inside their list.
    let local: HashSet<&str> = out.iter().map(|s| s.id.as_str()).collect();
    for (i, s) in out.iter().enumerate() {
        let mut targets = vec![("next", s.next.as_deref())];
        if let Action::Condition { then, otherwise, .. } = &s.action {
            targets.push(("then", then.as_deref()));
            targets.push(("else", otherwise.as_deref()));
        }
        for (field, target) in targets {
            if let Some(t) = target
                && t != "end"
                && !local.contains(t)
            {
                v.add(
                    &format!("{path}[{i}].{field}"),
                    "unknown_step",
                    format!("{t:?} is not a step of the same list (or \"end\")"),
                );
            }
        }
    }
    out
}

fn parse_step(
    v: &mut Validator,
    item: &Value,
    at: &str,
    ids: &mut HashSet<String>,
    count: &mut usize,
    depth: usize,
) -> Option<Step> {
    let Some(obj) = item.as_object() else {
        v.add(at, "invalid", "a step is an object with an id and a type");
        return None;
    };
    let id = obj.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    if !valid_id(&id) {
        v.add(&format!("{at}.id"), "invalid", "id is lowercase letters, digits and _ (not \"end\"), up to 64");
    } else if !ids.insert(id.clone()) {
        v.add(&format!("{at}.id"), "duplicate", format!("another step is already named {id:?}"));
    }
    let name = match obj.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() <= 200 => Some(s.clone()),
        Some(_) => {
            v.add(&format!("{at}.name"), "invalid", "name is text up to 200 characters");
            None
        }
    };
    let next = match obj.get("next") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            v.add(&format!("{at}.next"), "invalid", "next names a step (or \"end\")");
            None
        }
    };
    let timeout_secs = match obj.get("timeout_secs") {
        None | Some(Value::Null) => None,
        Some(t) => match t.as_u64() {
            Some(n) if (1..=3600).contains(&n) => Some(n),
            _ => {
                v.add(&format!("{at}.timeout_secs"), "invalid", "timeout_secs is 1 to 3600");
                None
            }
        },
    };
    // The action is the object without the common keys (but with its type).
    let mut rest = Map::new();
    for (k, val) in obj {
        if k == "type" || !COMMON.contains(&k.as_str()) {
            rest.insert(k.clone(), val.clone());
        }
    }
    let action = match serde_json::from_value::<Action>(Value::Object(rest)) {
        Ok(a) => a,
        Err(e) => {
            v.add(at, "invalid", format!("step {id:?}: {e}"));
            return None;
        }
    };
    let mut body = Vec::new();
    check_action(v, &action, at);
    if let Action::Loop { steps, .. } = &action {
        if depth >= 3 {
            v.add(&format!("{at}.steps"), "too_deep", "loops nest at most 3 deep");
        } else if steps.is_empty() {
            v.add(&format!("{at}.steps"), "required", "a loop has at least one step");
        } else {
            body = parse_list(v, steps, &format!("{at}.steps"), ids, count, depth + 1);
        }
    }
    Some(Step { id, name, next, timeout_secs, action, body })
}

fn check_action(v: &mut Validator, a: &Action, at: &str) {
    let field = |f: &str| format!("{at}.{f}");
    match a {
        Action::Condition { condition, .. } => {
            if let Err(e) = expr::parse(condition) {
                v.add(&field("if"), "invalid_expression", e.to_string());
            }
        }
        Action::Http { method, url, headers, retries, .. } => {
            if !matches!(method.to_ascii_uppercase().as_str(), "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD") {
                v.add(&field("method"), "invalid", "method is GET, POST, PUT, PATCH, DELETE or HEAD");
            }
            if url.is_empty() || url.len() > 2000 {
                v.add(&field("url"), "invalid", "url is required (up to 2000 characters)");
            } else if !url.contains("{{") && !url.starts_with("http://") && !url.starts_with("https://") {
                v.add(&field("url"), "invalid", "url is an http or https URL (a template)");
            }
            if headers.len() > 50 {
                v.add(&field("headers"), "too_many", "at most 50 headers");
            }
            if *retries > 10 {
                v.add(&field("retries"), "invalid", "retries is 0 to 10");
            }
        }
        Action::Email { to, template, subject, body, .. } => {
            if to.trim().is_empty() {
                v.add(&field("to"), "required", "to is required");
            }
            match template {
                Some(t) if kernel::templates::default_template(t).is_none() => {
                    v.add(&field("template"), "unknown", format!("no email template {t:?}"))
                }
                None if subject.as_deref().is_none_or(str::is_empty) || body.is_none() => v.add(
                    &field("subject"),
                    "required",
                    "without a template, subject and body are required (the workflow_email layout)",
                ),
                _ => {}
            }
        }
        Action::Record { action, app_id, collection, record_id, data } => {
            if app_id.is_empty() {
                v.add(&field("app_id"), "required", "app_id is required");
            }
            if collection.is_empty() {
                v.add(&field("collection"), "required", "collection is required");
            }
            if *action != RecordAction::Create && record_id.as_deref().is_none_or(str::is_empty) {
                v.add(&field("record_id"), "required", "record_id is required to update or delete");
            }
            if *action == RecordAction::Delete && !data.is_empty() {
                v.add(&field("data"), "invalid", "a delete takes no data");
            }
        }
        Action::Notification { user_id, title, notification_type, .. } => {
            if user_id.is_empty() {
                v.add(&field("user_id"), "required", "user_id is required");
            }
            if title.is_empty() || title.len() > 200 {
                v.add(&field("title"), "invalid", "title is 1 to 200 characters");
            }
            if notification_type.is_empty()
                || !notification_type.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            {
                v.add(&field("notification_type"), "invalid", "notification_type is letters, digits, '.', '_', '-'");
            }
        }
        Action::Delay { seconds, until } => match (seconds, until) {
            (Some(s), None) if *s <= MAX_DELAY_SECS => {}
            (Some(_), None) => v.add(&field("seconds"), "invalid", "a delay is at most 30 days"),
            (None, Some(_)) => {}
            _ => v.add(&field("seconds"), "invalid", "a delay has either seconds or until"),
        },
        Action::Ai { prompt, system, model, output_schema } => {
            if prompt.trim().is_empty() || prompt.len() > 20_000 {
                v.add(&field("prompt"), "required", "prompt is 1 to 20000 characters (a template)");
            }
            if system.as_ref().is_some_and(|s| s.len() > 20_000) {
                v.add(&field("system"), "too_long", "system is at most 20000 characters");
            }
            if model.as_ref().is_some_and(|m| m.is_empty() || m.len() > 100) {
                v.add(&field("model"), "invalid", "model is 1 to 100 characters");
            }
            if output_schema.as_ref().is_some_and(|s| !s.is_object()) {
                v.add(&field("output_schema"), "invalid", "output_schema is a JSON Schema object");
            }
        }
        Action::Set { values } => {
            if values.is_empty() {
                v.add(&field("values"), "required", "values names at least one variable");
            }
            for k in values.keys() {
                if !valid_id(k) {
                    v.add(&field(&format!("values.{k}")), "invalid", "a variable name is lowercase letters, digits, _");
                }
            }
        }
        Action::Loop { over, max_items, .. } => {
            if !matches!(over, Value::Array(_) | Value::String(_)) {
                v.add(&field("over"), "invalid", "over is a list or a template giving one");
            }
            if max_items.is_some_and(|m| m == 0) {
                v.add(&field("max_items"), "invalid", "max_items is at least 1");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(raw: Value) -> Vec<String> {
        match parse(&raw) {
            Err(kernel::Error::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected validation errors, got {other:?}"),
        }
    }

    #[test]
    fn a_full_definition_parses() {
        let d = parse(&json!({
            "trigger": {"type": "manual"},
            "steps": [
                {"id": "call", "type": "http", "url": "https://example.com/{{ input.id }}"},
                {"id": "check", "type": "condition", "if": "steps.call.body.ok = true", "else": "end"},
                {"id": "each", "type": "loop", "over": "{{ steps.call.body.items }}", "steps": [
                    {"id": "remember", "type": "set", "values": {"last": "{{ loop.item }}"}}
                ]},
                {"id": "mail", "type": "email", "to": "a@example.com", "subject": "Hi", "body": "Done"}
            ]
        }))
        .map_err(|e| e.to_string());
        let d = d.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.steps.len(), 4);
        let found = d.find("remember").map(|l| (l.parent.map(str::to_string), l.index));
        assert_eq!(found, Some((Some("each".to_string()), 0)));
    }

    #[test]
    fn problems_are_reported_with_their_path() {
        let f = fields(json!({
            "trigger": {"type": "schedule", "cron": "not a cron"},
            "steps": [
                {"id": "a", "type": "http", "url": "ftp://x", "retries": 50},
                {"id": "a", "type": "condition", "if": "x = ", "then": "nowhere"},
                {"id": "b", "type": "teleport"}
            ]
        }));
        for expected in [
            "definition.trigger.cron",
            "definition.steps[0].url",
            "definition.steps[0].retries",
            "definition.steps[1].id",
            "definition.steps[1].if",
            "definition.steps[1].then",
            "definition.steps[2]",
        ] {
            assert!(f.iter().any(|x| x == expected), "{expected} in {f:?}");
        }
    }

    #[test]
    fn jumps_stay_in_their_list() {
        let f = fields(json!({
            "trigger": {"type": "manual"},
            "steps": [
                {"id": "outer", "type": "set", "values": {"x": 1}},
                {"id": "each", "type": "loop", "over": [1, 2], "steps": [
                    {"id": "inner", "type": "set", "values": {"y": 1}, "next": "outer"}
                ]}
            ]
        }));
        assert_eq!(f, vec!["definition.steps[1].steps[0].next".to_string()]);
    }
}

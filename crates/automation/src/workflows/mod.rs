//! Workflows: a project's automations. A workflow is a trigger and a graph of steps
//! ([`definition`]), versioned on every change of its definition; each run is an
//! execution ([`engine`]) whose steps run one job each, so that a crash or a restart
//! resumes it where it stopped. Triggers ([`triggers`]) start executions from record and
//! project events, schedules, incoming webhooks and manual calls.

pub mod definition;
pub mod engine;
pub mod routes;
pub mod secrets;
pub mod triggers;

use kernel::pagination::{Page, PageRequest};
use kernel::principal::Principal;
use kernel::{Db, Error, OrgRole, Result, Tx, args};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::AutomationState;
use definition::{Action, Definition, Trigger};

pub const START_JOB: &str = "workflow.start";
pub const STEP_JOB: &str = "workflow.step";
pub const QUEUE: &str = "workflows";

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Workflow {
    pub id: String,
    pub organization_id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    /// manual, record, project, schedule or webhook.
    pub trigger_type: String,
    /// The current version (each change of the definition adds one).
    pub version: i64,
    /// The trigger and steps (see `/api/v1/automation/schema/workflow.json`).
    #[schema(value_type = Object)]
    pub definition: sqlx::types::Json<Value>,
    /// Created by the system with the project.
    pub is_default: bool,
    #[serde(skip)]
    pub hook_token: Option<String>,
    /// Where a webhook-triggered workflow is called (`POST`).
    #[sqlx(skip)]
    pub hook_url: Option<String>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl Workflow {
    fn with_hook_url(mut self) -> Self {
        self.hook_url = self.hook_token.as_ref().map(|t| format!("/api/v1/automation/hooks/{t}"));
        self
    }
}

/// One saved definition of a workflow. Published as `WorkflowVersion`: the platform's
/// `Version` schema is the server's build (GET /version), and the two must not share a name.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
#[schema(as = WorkflowVersion)]
pub struct Version {
    pub version: i64,
    #[schema(value_type = Object)]
    pub definition: sqlx::types::Json<Value>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct WorkflowInput {
    /// Required when creating.
    pub project_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    /// `{trigger, steps}`; changing it adds a version.
    #[schema(value_type = Option<Object>)]
    pub definition: Option<Value>,
}

pub(crate) const COLUMNS: &str = "id, organization_id, project_id, name, description, enabled, trigger_type, version, definition, is_default, hook_token, created_by, created_at, updated_at";

/// The project of a workflow, checked for `principal` with at least `min`.
async fn project_access(
    db: &Db,
    principal: &Principal,
    project_id: &str,
    min: OrgRole,
) -> Result<studio::projects::ProjectAccess> {
    studio::projects::access(db, principal, project_id, min).await
}

pub(crate) async fn load(db: &Db, id: &str) -> Result<Workflow> {
    db.fetch_optional(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM workflows WHERE id = $1")), args![id])
        .await?
        .map(Workflow::with_hook_url)
        .ok_or_else(|| Error::not_found("workflow"))
}

/// A workflow `principal` may see (any member of its organization) or act on (`min`).
pub async fn get(db: &Db, principal: &Principal, id: &str, min: OrgRole) -> Result<Workflow> {
    let wf = load(db, id).await?;
    project_access(db, principal, &wf.project_id, min).await.map_err(|e| match e {
        Error::NotFound(_) => Error::not_found("workflow"),
        other => other,
    })?;
    Ok(wf)
}

pub async fn list(db: &Db, principal: &Principal, project_id: &str, page: PageRequest) -> Result<Page<Workflow>> {
    project_access(db, principal, project_id, OrgRole::Member).await?;
    let total: i64 = db.scalar("SELECT COUNT(*) FROM workflows WHERE project_id = $1", args![project_id]).await?;
    let items: Vec<Workflow> = db
        .fetch_all(
            sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM workflows WHERE project_id = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3"
            )),
            args![project_id, page.limit(), page.offset()],
        )
        .await?;
    Ok(Page::new(items.into_iter().map(Workflow::with_hook_url).collect(), page, total))
}

fn check_text(input: &WorkflowInput, creating: bool) -> Result<()> {
    let mut v = kernel::validate::Validator::new();
    match &input.name {
        Some(n) => v.text("name", n, 200),
        None if creating => v.add("name", "required", "name is required"),
        None => {}
    }
    if let Some(d) = &input.description {
        v.max_len("description", d, 2000);
    }
    if creating && input.definition.is_none() {
        v.add("definition", "required", "definition is required");
    }
    v.finish()
}

/// What a definition refers to must belong to the workflow's project: the app of a record
/// trigger or step, the secret of a webhook trigger.
async fn check_references(db: &Db, project_id: &str, def: &Definition) -> Result<()> {
    let mut apps: Vec<(String, String)> = Vec::new();
    if let Trigger::Record { app_id, .. } = &def.trigger {
        apps.push(("definition.trigger.app_id".into(), app_id.clone()));
    }
    fn walk(steps: &[definition::Step], path: &str, apps: &mut Vec<(String, String)>) {
        for (i, s) in steps.iter().enumerate() {
            if let Action::Record { app_id, .. } = &s.action {
                apps.push((format!("{path}[{i}].app_id"), app_id.clone()));
            }
            walk(&s.body, &format!("{path}[{i}].steps"), apps);
        }
    }
    walk(&def.steps, "definition.steps", &mut apps);
    let mut v = kernel::validate::Validator::new();
    for (field, app_id) in apps {
        if runtime::apps::project_of(db, &app_id).await?.as_deref() != Some(project_id) {
            v.add(&field, "unknown_app", format!("{app_id:?} is not an app of this project"));
        }
    }
    v.finish()
}

/// Keep the workflow's schedule, webhook token and trigger columns in line with its
/// definition.
async fn sync_trigger(tx: &mut Tx, id: &str, enabled: bool, def: &Definition) -> Result<()> {
    let schedule = format!("workflow:{id}");
    match (&def.trigger, enabled) {
        (Trigger::Schedule { cron, timezone }, true) => {
            crate::scheduler::upsert(tx, &schedule, cron, timezone, START_JOB, QUEUE, json!({"workflow_id": id}))
                .await?;
        }
        _ => crate::scheduler::remove(tx, &schedule).await?,
    }
    let app = match &def.trigger {
        Trigger::Record { app_id, .. } => Some(app_id.clone()),
        _ => None,
    };
    let before = trigger_app(tx, id).await?;
    let webhook = matches!(def.trigger, Trigger::Webhook { .. });
    tx.execute(
        "UPDATE workflows SET trigger_type = $2, trigger_app_id = $3,
                hook_token = CASE WHEN $4 THEN COALESCE(hook_token, $5) ELSE NULL END WHERE id = $1",
        args![id, def.trigger.kind(), app.clone(), webhook, format!("wh_{}", kernel::ids::random_token(24))],
    )
    .await?;
    // In a fixed order: each refresh locks its app's interest until commit.
    let mut apps: Vec<&String> = before.iter().chain(app.iter()).collect();
    apps.sort();
    apps.dedup();
    for app_id in apps {
        refresh_record_interest(tx, app_id).await?;
    }
    Ok(())
}

/// The app whose record events start workflow `id`, if any.
async fn trigger_app(tx: &mut Tx, id: &str) -> Result<Option<String>> {
    let apps = tx
        .fetch_texts(
            "SELECT trigger_app_id FROM workflows WHERE id = $1 AND trigger_type = 'record' AND trigger_app_id IS NOT NULL",
            args![id],
        )
        .await?;
    Ok(apps.into_iter().next())
}

/// How many enabled workflows an app's record events start (`$1` true, `$2` the app).
pub(crate) const ENABLED_RECORD_WORKFLOWS: &str =
    "SELECT COUNT(*) FROM workflows WHERE enabled = $1 AND trigger_type = 'record' AND trigger_app_id = $2";

/// Record events of an app are appended to the outbox only while an enabled workflow is
/// started by them: declare or withdraw the interest after any change to its workflows.
async fn refresh_record_interest(tx: &mut Tx, app_id: &str) -> Result<()> {
    let scope = runtime::records::app_events_scope(app_id);
    kernel::outbox::lock_interest(tx, &scope).await?;
    let n = tx.count(ENABLED_RECORD_WORKFLOWS, args![true, app_id]).await?;
    kernel::outbox::set_interest(tx, "workflows", &scope, n > 0).await
}

/// A workflow to insert.
pub(crate) struct NewWorkflow<'a> {
    pub organization_id: &'a str,
    pub project_id: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub enabled: bool,
    pub is_default: bool,
    pub definition: &'a Value,
    pub created_by: &'a str,
}

/// Insert a workflow and its first version (also used for the defaults of a new project).
pub(crate) async fn insert(tx: &mut Tx, w: NewWorkflow<'_>) -> Result<String> {
    let raw = w.definition;
    let def = definition::parse(raw)?;
    let id = kernel::ids::new_id();
    let now = kernel::time::now();
    tx.execute(
        "INSERT INTO workflows (id, organization_id, project_id, name, description, enabled, trigger_type, is_default,
                                version, definition, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $11, $11)",
        args![
            &id,
            w.organization_id,
            w.project_id,
            w.name,
            w.description,
            w.enabled,
            def.trigger.kind(),
            w.is_default,
            raw,
            w.created_by,
            now
        ],
    )
    .await?;
    tx.execute(
        "INSERT INTO workflow_versions (workflow_id, version, definition, created_by, created_at) VALUES ($1, 1, $2, $3, $4)",
        args![&id, raw, w.created_by, now],
    )
    .await?;
    sync_trigger(tx, &id, w.enabled, &def).await?;
    Ok(id)
}

pub async fn create(db: &Db, principal: &Principal, input: WorkflowInput) -> Result<Workflow> {
    let Some(project_id) = input.project_id.clone() else {
        return Err(Error::field("project_id", "required", "project_id is required"));
    };
    check_text(&input, true)?;
    let project = project_access(db, principal, &project_id, OrgRole::Member).await?;
    let raw = input.definition.clone().unwrap_or(Value::Null);
    let def = definition::parse(&raw)?;
    check_references(db, &project_id, &def).await?;
    let mut tx = db.begin().await?;
    let id = insert(
        &mut tx,
        NewWorkflow {
            organization_id: &project.organization_id,
            project_id: &project_id,
            name: input.name.as_deref().unwrap_or_default().trim(),
            description: input.description.as_deref().unwrap_or_default(),
            enabled: input.enabled.unwrap_or(true),
            is_default: false,
            definition: &raw,
            created_by: principal.actor_id(),
        },
    )
    .await?;
    tx.commit().await?;
    load(db, &id).await
}

pub async fn update(db: &Db, principal: &Principal, id: &str, input: WorkflowInput) -> Result<Workflow> {
    check_text(&input, false)?;
    let wf = get(db, principal, id, OrgRole::Member).await?;
    let def = match &input.definition {
        Some(raw) => {
            let def = definition::parse(raw)?;
            check_references(db, &wf.project_id, &def).await?;
            def
        }
        None => definition::parse(&wf.definition.0)?,
    };
    let now = kernel::time::now();
    let mut tx = db.begin().await?;
    let enabled = input.enabled.unwrap_or(wf.enabled);
    let changed = input.definition.as_ref().is_some_and(|d| *d != wf.definition.0);
    let version = if changed { wf.version + 1 } else { wf.version };
    // The version check makes two concurrent saves produce two versions, not one lost.
    let n = tx
        .execute(
            "UPDATE workflows SET name = COALESCE($3, name), description = COALESCE($4, description), enabled = $5,
                    definition = COALESCE($6, definition), version = $7, updated_at = $8 WHERE id = $1 AND version = $2",
            args![
                id,
                wf.version,
                input.name.as_deref().map(str::trim),
                input.description,
                enabled,
                input.definition.clone().filter(|_| changed),
                version,
                now
            ],
        )
        .await?;
    if n == 0 {
        return Err(Error::Conflict("the workflow was changed meanwhile; load it again".into()));
    }
    if changed {
        tx.execute(
            "INSERT INTO workflow_versions (workflow_id, version, definition, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
            args![id, version, input.definition.clone(), principal.actor_id(), now],
        )
        .await?;
    }
    sync_trigger(&mut tx, id, enabled, &def).await?;
    tx.commit().await?;
    load(db, id).await
}

pub async fn delete(db: &Db, principal: &Principal, id: &str) -> Result<()> {
    get(db, principal, id, OrgRole::Member).await?;
    let mut tx = db.begin().await?;
    crate::scheduler::remove(&mut tx, &format!("workflow:{id}")).await?;
    let app = trigger_app(&mut tx, id).await?;
    for sql in [
        "DELETE FROM workflow_step_runs WHERE execution_id IN (SELECT id FROM workflow_executions WHERE workflow_id = $1)",
        "DELETE FROM workflow_executions WHERE workflow_id = $1",
        "DELETE FROM workflow_versions WHERE workflow_id = $1",
        "DELETE FROM workflows WHERE id = $1",
    ] {
        tx.execute(sql, args![id]).await?;
    }
    if let Some(app_id) = app {
        refresh_record_interest(&mut tx, &app_id).await?;
    }
    tx.commit().await
}

pub async fn versions(db: &Db, principal: &Principal, id: &str) -> Result<Vec<Version>> {
    get(db, principal, id, OrgRole::Member).await?;
    db.fetch_all(
        "SELECT version, definition, created_by, created_at FROM workflow_versions WHERE workflow_id = $1 ORDER BY version DESC",
        args![id],
    )
    .await
}

/// The definition of one version (what an execution runs).
pub(crate) async fn version_definition(db: &Db, id: &str, version: i64) -> Result<Value> {
    let row: Option<(sqlx::types::Json<Value>,)> = db
        .fetch_optional(
            "SELECT definition FROM workflow_versions WHERE workflow_id = $1 AND version = $2",
            args![id, version],
        )
        .await?;
    row.map(|(d,)| d.0).ok_or_else(|| Error::not_found("workflow version"))
}

/// The secrets of a project (names only); organization admins manage them.
pub async fn list_secrets(db: &Db, principal: &Principal, project_id: &str) -> Result<Vec<secrets::SecretInfo>> {
    project_access(db, principal, project_id, OrgRole::Admin).await?;
    secrets::list(db, project_id).await
}

pub async fn put_secret(
    s: &AutomationState,
    principal: &Principal,
    project_id: &str,
    name: &str,
    value: &str,
) -> Result<secrets::SecretInfo> {
    project_access(&s.db, principal, project_id, OrgRole::Admin).await?;
    secrets::put(&s.secrets, &s.db, project_id, name, value, principal.actor_id()).await
}

pub async fn delete_secret(db: &Db, principal: &Principal, project_id: &str, name: &str) -> Result<()> {
    project_access(db, principal, project_id, OrgRole::Admin).await?;
    secrets::delete(db, project_id, name).await
}

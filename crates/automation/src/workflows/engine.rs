//! Executions: one run of a workflow version. The execution row holds the context
//! (`trigger`, `input`, `vars`, `steps.<id>` outputs), the position of the next step (with
//! the state of the loops it is inside) and `seq`, the number of steps run. Each step is a
//! `workflow.step` job naming the execution and its `seq`: a job whose `seq` is not the
//! execution's any more (a duplicate, or the execution was cancelled or retried) does
//! nothing. A step's database effects (records, emails, notifications), its log entry, the
//! new context and the next step's job commit together with the job's completion, fenced by
//! the job's lease, so a crash or restart resumes the execution at the step it stopped at
//! and these effects happen once. HTTP calls leave the process and so may repeat when a
//! worker dies mid-call: receivers should use `Socle-Execution-Id` and the step id to
//! deduplicate.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kernel::jobs::{Job, JobContext, JobError, JobFuture, JobHandler, NewJob};
use kernel::pagination::{Page, PageRequest};
use kernel::principal::Principal;
use kernel::{Db, Error, OrgRole, Result, Tx, args};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::definition::{self, Action, Definition, RecordAction, Step};
use super::{QUEUE, STEP_JOB, Workflow, secrets};
use crate::AutomationState;
use crate::http::HttpError;

/// The configured cap on one step's run time (`automation.step_timeout_secs`), set once
/// when Automation starts: it also sizes each step job's timeout and lease.
static STEP_TIMEOUT_CAP: AtomicU64 = AtomicU64::new(60);
/// Time a step job has beyond its step's limit to record the outcome.
const BOOKKEEPING_SECS: i64 = 15;

pub fn set_step_timeout_cap(secs: u64) {
    STEP_TIMEOUT_CAP.store(secs.clamp(1, 3600), Ordering::Relaxed);
}

/// How long `step` may run: its own `timeout_secs`, at most the configured cap.
fn step_limit(step: &Step) -> Duration {
    let cap = STEP_TIMEOUT_CAP.load(Ordering::Relaxed);
    Duration::from_secs(step.timeout_secs.unwrap_or(cap).min(cap).max(1))
}

/// Statuses in which an execution still has work to do.
const ACTIVE: [&str; 3] = ["queued", "running", "waiting"];

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Execution {
    pub id: String,
    pub workflow_id: String,
    pub project_id: String,
    /// The workflow version this execution runs.
    pub version: i64,
    /// queued, running, waiting (a delay), succeeded, failed or cancelled.
    pub status: String,
    pub trigger_type: String,
    /// `trigger`, `input`, `vars` and `steps.<id>` (each step's output).
    #[schema(value_type = Object)]
    pub context: sqlx::types::Json<Value>,
    /// The next step to run (or the failed one), with the loops it is inside.
    #[schema(value_type = Option<Object>)]
    pub position: Option<sqlx::types::Json<Value>>,
    /// Steps run so far.
    pub seq: i64,
    /// How many workflows led to this one through the records they wrote.
    pub depth: i64,
    pub error: Option<String>,
    pub rerun_of: Option<String>,
    pub started_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<OffsetDateTime>,
}

/// One attempt at one step.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct StepRun {
    pub id: String,
    pub seq: i64,
    pub step_id: String,
    pub step_type: String,
    pub attempt: i64,
    /// running, succeeded, retrying (failed, will be tried again) or failed.
    pub status: String,
    /// The step's values after templating (secrets masked).
    #[schema(value_type = Option<Object>)]
    #[sqlx(json(nullable))]
    pub input: Option<Value>,
    #[schema(value_type = Option<Object>)]
    #[sqlx(json(nullable))]
    pub output: Option<Value>,
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<OffsetDateTime>,
    pub duration_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExecutionDetail {
    #[serde(flatten)]
    pub execution: Execution,
    /// Every step attempt, in order.
    pub steps: Vec<StepRun>,
}

const COLUMNS: &str = "id, workflow_id, project_id, version, status, trigger_type, context, position, seq, depth, error, rerun_of, started_by, created_at, updated_at, finished_at";
const RUN_COLUMNS: &str =
    "id, seq, step_id, step_type, attempt, status, input, output, error, started_at, finished_at, duration_ms";

/// Where an execution is: the next step, inside these loops (outermost first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub step: String,
    #[serde(default)]
    pub frames: Vec<Frame>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    pub loop_id: String,
    pub index: usize,
    pub items: Vec<Value>,
}

/// The position after `pos`'s step: `branch` is a condition's result, `entering` the items
/// of a loop being entered.
pub fn advance(
    def: &Definition,
    pos: &Position,
    branch: Option<bool>,
    entering: Option<Vec<Value>>,
) -> std::result::Result<Option<Position>, String> {
    let here = def.find(&pos.step).ok_or_else(|| format!("the step {:?} does not exist", pos.step))?;
    let step = here.step;
    let mut frames = pos.frames.clone();
    if let Action::Loop { .. } = step.action {
        let items = entering.unwrap_or_default();
        if let (false, Some(first)) = (items.is_empty(), step.body.first()) {
            frames.push(Frame { loop_id: step.id.clone(), index: 0, items });
            return Ok(Some(Position { step: first.id.clone(), frames }));
        }
        return after(def, &here, step.next.as_deref(), frames);
    }
    let target = match (&step.action, branch) {
        (Action::Condition { then, .. }, Some(true)) => then.as_deref(),
        (Action::Condition { otherwise, .. }, Some(false)) => otherwise.as_deref(),
        _ => step.next.as_deref(),
    };
    after(def, &here, target, frames)
}

fn after(
    def: &Definition,
    here: &definition::Located<'_>,
    target: Option<&str>,
    frames: Vec<Frame>,
) -> std::result::Result<Option<Position>, String> {
    match target {
        Some("end") => end_of_list(def, here.parent, frames),
        Some(id) => Ok(Some(Position { step: id.to_string(), frames })),
        None => match here.siblings.get(here.index + 1) {
            Some(next) => Ok(Some(Position { step: next.id.clone(), frames })),
            None => end_of_list(def, here.parent, frames),
        },
    }
}

/// The end of a list: the workflow ends, or the loop holding the list takes its next item
/// or, after the last, continues after itself.
fn end_of_list(
    def: &Definition,
    parent: Option<&str>,
    mut frames: Vec<Frame>,
) -> std::result::Result<Option<Position>, String> {
    let Some(loop_id) = parent else { return Ok(None) };
    let the_loop = def.find(loop_id).ok_or_else(|| format!("the loop {loop_id:?} does not exist"))?;
    let Some(frame) = frames.last_mut().filter(|f| f.loop_id == loop_id) else {
        return Err(format!("the state of loop {loop_id:?} was lost"));
    };
    if frame.index + 1 < frame.items.len() {
        frame.index += 1;
        let first = the_loop.step.body.first().map(|s| s.id.clone()).unwrap_or_default();
        return Ok(Some(Position { step: first, frames }));
    }
    frames.pop();
    after(def, &the_loop, the_loop.step.next.as_deref(), frames)
}

/// What starts an execution.
pub struct Start<'a> {
    pub workflow: &'a Workflow,
    pub trigger: Value,
    pub input: Value,
    pub depth: i64,
    pub started_by: Option<&'a str>,
    pub rerun_of: Option<&'a str>,
}

/// Create an execution and enqueue its first step, in the caller's transaction.
pub async fn start(tx: &mut Tx, s: Start<'_>) -> Result<String> {
    let wf = s.workflow;
    let def = definition::parse(&wf.definition.0)?;
    let id = kernel::ids::new_id();
    let now = kernel::time::now();
    let context = json!({
        "trigger": s.trigger,
        "input": s.input,
        "vars": {},
        "steps": {},
        "execution": {"id": id, "workflow_id": wf.id, "version": wf.version, "project_id": wf.project_id},
    });
    let first = def.steps.first();
    let position = first.map(|f| json!(Position { step: f.id.clone(), frames: Vec::new() }));
    let status = if first.is_some() { "queued" } else { "succeeded" };
    tx.execute(
        "INSERT INTO workflow_executions (id, workflow_id, project_id, version, status, trigger_type, context, position,
                                          seq, depth, rerun_of, started_by, created_at, updated_at, finished_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11, $12, $12, $13)",
        args![
            &id,
            &wf.id,
            &wf.project_id,
            wf.version,
            status,
            &wf.trigger_type,
            context,
            position,
            s.depth,
            s.rerun_of,
            s.started_by,
            now,
            first.is_none().then_some(now)
        ],
    )
    .await?;
    if let Some(step) = first {
        enqueue_step(tx, &id, 0, step, None, 0).await?;
    }
    metrics::counter!("socle_workflow_executions_total", "trigger" => wf.trigger_type.clone()).increment(1);
    Ok(id)
}

async fn enqueue_step(
    tx: &mut Tx,
    execution_id: &str,
    seq: i64,
    step: &Step,
    run_at: Option<OffsetDateTime>,
    round: i64,
) -> Result<()> {
    let attempts = match &step.action {
        Action::Http { retries, .. } => i64::from(*retries) + 1,
        _ => 3,
    };
    // The job's own timeout (and so its lease) follows the step's: a worker that dies
    // mid-step hands the execution over within a minute or so, not an hour.
    let timeout = step_limit(step).as_secs() as i64 + BOOKKEEPING_SECS;
    let mut job = NewJob::new(STEP_JOB, json!({"execution_id": execution_id, "seq": seq}))
        .queue(QUEUE)
        .max_attempts(attempts)
        .timeout_secs(timeout)
        .idempotency_key(format!("workflow:{execution_id}:{seq}:{round}"));
    if let Some(at) = run_at {
        job = job.run_at(at);
    }
    kernel::jobs::enqueue(tx, job).await?;
    Ok(())
}

async fn find(db: &Db, id: &str) -> Result<Option<Execution>> {
    db.fetch_optional(
        sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM workflow_executions WHERE id = $1")),
        args![id],
    )
    .await
}

/// An execution by id, without access checks (after the caller made one).
pub(crate) async fn fetch(db: &Db, id: &str) -> Result<Execution> {
    find(db, id).await?.ok_or_else(|| Error::not_found("execution"))
}

/// An execution `principal` may see (a member of its project's organization).
async fn visible(db: &Db, principal: &Principal, id: &str, min: OrgRole) -> Result<Execution> {
    let e = fetch(db, id).await?;
    studio::projects::access(db, principal, &e.project_id, min).await.map_err(|err| match err {
        Error::NotFound(_) => Error::not_found("execution"),
        other => other,
    })?;
    Ok(e)
}

pub async fn detail(db: &Db, principal: &Principal, id: &str) -> Result<ExecutionDetail> {
    let execution = visible(db, principal, id, OrgRole::Member).await?;
    let steps = db
        .fetch_all(
            sqlx::AssertSqlSafe(format!(
                "SELECT {RUN_COLUMNS} FROM workflow_step_runs WHERE execution_id = $1 ORDER BY seq, started_at, attempt"
            )),
            args![id],
        )
        .await?;
    Ok(ExecutionDetail { execution, steps })
}

pub async fn list(
    db: &Db,
    principal: &Principal,
    workflow_id: &str,
    status: Option<&str>,
    page: PageRequest,
) -> Result<Page<Execution>> {
    super::get(db, principal, workflow_id, OrgRole::Member).await?;
    if let Some(s) = status
        && !["queued", "running", "waiting", "succeeded", "failed", "cancelled"].contains(&s)
    {
        return Err(Error::field(
            "status",
            "invalid",
            "status is queued, running, waiting, succeeded, failed or cancelled",
        ));
    }
    let mut c = kernel::db::Conditions::new();
    c.add("workflow_id = {}", workflow_id);
    if let Some(s) = status {
        c.add("status = {}", s);
    }
    let where_sql = c.where_sql();
    let total: i64 = db
        .scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM workflow_executions {where_sql}")), c.args.clone())
        .await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM workflow_executions {where_sql} ORDER BY created_at DESC, id DESC LIMIT {} OFFSET {}",
        c.next_placeholder(1),
        c.next_placeholder(2)
    );
    let mut a = c.args;
    a.push(page.limit().into());
    a.push(page.offset().into());
    let items = db.fetch_all(sqlx::AssertSqlSafe(sql), a).await?;
    Ok(Page::new(items, page, total))
}

/// Run a workflow by hand with `input` (an object).
pub async fn execute(db: &Db, principal: &Principal, workflow_id: &str, input: Value) -> Result<Execution> {
    let wf = super::get(db, principal, workflow_id, OrgRole::Member).await?;
    if !matches!(input, Value::Object(_) | Value::Null) {
        return Err(Error::field("input", "invalid", "input is an object"));
    }
    let input = if input.is_null() { json!({}) } else { input };
    let mut tx = db.begin().await?;
    let id = start(
        &mut tx,
        Start {
            workflow: &wf,
            trigger: json!({"type": "manual", "by": principal.actor_id()}),
            input,
            depth: 0,
            started_by: Some(principal.actor_id()),
            rerun_of: None,
        },
    )
    .await?;
    tx.commit().await?;
    fetch(db, &id).await
}

/// Stop an execution: its pending step does nothing when it comes, and a step running now
/// has its effects rolled back.
pub async fn cancel(db: &Db, principal: &Principal, id: &str) -> Result<Execution> {
    visible(db, principal, id, OrgRole::Member).await?;
    let now = kernel::time::now();
    let n = db
        .execute(
            "UPDATE workflow_executions SET status = 'cancelled', error = $2, finished_at = $3, updated_at = $3
             WHERE id = $1 AND status IN ('queued', 'running', 'waiting')",
            args![id, format!("cancelled by {}", principal.actor_id()), now],
        )
        .await?;
    if n == 0 {
        return Err(Error::Conflict("the execution has already finished".into()));
    }
    fetch(db, id).await
}

/// Resume a failed execution at the step that failed, with the context it had then.
pub async fn retry(db: &Db, principal: &Principal, id: &str) -> Result<Execution> {
    let e = visible(db, principal, id, OrgRole::Member).await?;
    let position: Option<Position> = e.position.as_ref().and_then(|p| serde_json::from_value(p.0.clone()).ok());
    let (Some(position), "failed") = (position, e.status.as_str()) else {
        return Err(Error::Conflict("only a failed execution can be retried from its failed step".into()));
    };
    let raw = super::version_definition(db, &e.workflow_id, e.version).await?;
    let def = definition::parse(&raw)?;
    let step = def.find(&position.step).ok_or_else(|| Error::Conflict("the failed step no longer exists".into()))?;
    let rounds: i64 = db
        .scalar("SELECT COUNT(*) FROM workflow_step_runs WHERE execution_id = $1 AND seq = $2", args![id, e.seq])
        .await?;
    let mut tx = db.begin().await?;
    let n = tx
        .execute(
            "UPDATE workflow_executions SET status = 'queued', error = NULL, finished_at = NULL, updated_at = $2
             WHERE id = $1 AND status = 'failed'",
            args![id, kernel::time::now()],
        )
        .await?;
    if n == 0 {
        return Err(Error::Conflict("only a failed execution can be retried from its failed step".into()));
    }
    enqueue_step(&mut tx, id, e.seq, step.step, None, rounds).await?;
    tx.commit().await?;
    fetch(db, id).await
}

/// Run the workflow again from the start with the same trigger and input (its current
/// version), as a new execution.
pub async fn rerun(db: &Db, principal: &Principal, id: &str) -> Result<Execution> {
    let e = visible(db, principal, id, OrgRole::Member).await?;
    let wf = super::load(db, &e.workflow_id).await?;
    let mut tx = db.begin().await?;
    let new_id = start(
        &mut tx,
        Start {
            workflow: &wf,
            trigger: e.context.0.get("trigger").cloned().unwrap_or(Value::Null),
            input: e.context.0.get("input").cloned().unwrap_or(json!({})),
            depth: e.depth,
            started_by: Some(principal.actor_id()),
            rerun_of: Some(id),
        },
    )
    .await?;
    tx.commit().await?;
    fetch(db, &new_id).await
}

/// Why a step failed, and whether trying again may help.
#[derive(Debug)]
struct StepError {
    message: String,
    retryable: bool,
    output: Option<Value>,
}

impl StepError {
    fn permanent(message: impl Into<String>) -> Self {
        StepError { message: message.into(), retryable: false, output: None }
    }
    fn retry(message: impl Into<String>) -> Self {
        StepError { message: message.into(), retryable: true, output: None }
    }
}

impl From<Error> for StepError {
    fn from(e: Error) -> Self {
        match e {
            Error::Internal(_) | Error::Unavailable(_) => StepError::retry(e.to_string()),
            other => StepError::permanent(other.to_string()),
        }
    }
}

/// What a step does inside the completion transaction.
enum Effect {
    None,
    Email {
        to: String,
        template: String,
        vars: Value,
    },
    Notify {
        user_id: String,
        notification: crate::notifications::NewNotification,
    },
    Record {
        action: RecordAction,
        app_id: String,
        collection: String,
        record_id: Option<String>,
        data: Map<String, Value>,
    },
}

/// A step's result before its effect is applied.
struct Prepared {
    input: Value,
    output: Value,
    effect: Effect,
    branch: Option<bool>,
    items: Option<Vec<Value>>,
    vars: Option<Map<String, Value>>,
    run_at: Option<OffsetDateTime>,
}

impl Prepared {
    fn new(input: Value, output: Value) -> Self {
        Prepared { input, output, effect: Effect::None, branch: None, items: None, vars: None, run_at: None }
    }
}

/// Render a value: strings are templates; a string that is one `{{ expression }}` keeps
/// the expression's type.
pub fn render_value(v: &Value, scope: &Value) -> std::result::Result<Value, String> {
    match v {
        Value::String(s) => {
            let t = s.trim();
            if let Some(inner) = t.strip_prefix("{{").and_then(|r| r.strip_suffix("}}"))
                && !inner.contains("{{")
                && !inner.contains("}}")
            {
                return kernel::templates::evaluate(inner.trim(), scope);
            }
            if s.contains("{{") || s.contains("{%") {
                return kernel::templates::render_one(s, false, scope).map(Value::String);
            }
            Ok(v.clone())
        }
        Value::Array(items) => {
            items.iter().map(|i| render_value(i, scope)).collect::<std::result::Result<_, _>>().map(Value::Array)
        }
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, val) in map {
                out.insert(k.clone(), render_value(val, scope)?);
            }
            Ok(Value::Object(out))
        }
        other => Ok(other.clone()),
    }
}

/// Render a template to text.
fn render_text(s: &str, scope: &Value, field: &str) -> std::result::Result<String, StepError> {
    match render_value(&Value::String(s.to_string()), scope) {
        Ok(Value::String(s)) => Ok(s),
        Ok(Value::Null) => Ok(String::new()),
        Ok(other) => Ok(other.to_string()),
        Err(e) => Err(StepError::permanent(format!("{field}: {e}"))),
    }
}

fn render(v: &Value, scope: &Value, field: &str) -> std::result::Result<Value, StepError> {
    render_value(v, scope).map_err(|e| StepError::permanent(format!("{field}: {e}")))
}

/// The values templates see: the context, the current loop items, and the secrets.
fn scope(context: &Value, pos: &Position, secrets: &Map<String, Value>) -> Value {
    let mut scope = context.clone();
    let mut loops = Map::new();
    for f in &pos.frames {
        let item = f.items.get(f.index).cloned().unwrap_or(Value::Null);
        let current = json!({"item": item, "index": f.index, "count": f.items.len()});
        loops.insert(f.loop_id.clone(), current.clone());
        scope["loop"] = current;
    }
    scope["loops"] = Value::Object(loops);
    scope["secrets"] = Value::Object(secrets.clone());
    scope
}

pub(crate) struct StepRunner(pub AutomationState);

impl JobHandler for StepRunner {
    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(self.run_step(job, ctx))
    }
}

impl StepRunner {
    async fn run_step(&self, job: &Job, ctx: &JobContext) -> kernel::jobs::JobResult {
        let db = &self.0.db;
        let limits = &self.0.settings;
        let exec_id = job.payload["execution_id"].as_str().unwrap_or_default();
        let seq = job.payload["seq"].as_i64().unwrap_or(-1);
        let Some(exec) = find(db, exec_id).await? else {
            return Ok(Some(json!({"skipped": "the execution no longer exists"})));
        };
        if exec.seq != seq || !ACTIVE.contains(&exec.status.as_str()) {
            return Ok(Some(json!({"skipped": format!("the execution is {} at step {}", exec.status, exec.seq)})));
        }
        let position: Option<Position> = exec.position.as_ref().and_then(|p| serde_json::from_value(p.0.clone()).ok());
        let Some(position) = position else {
            return self.fail_execution(ctx, &exec, "the execution has no next step").await;
        };
        let raw = super::version_definition(db, &exec.workflow_id, exec.version).await?;
        let def = definition::parse(&raw).map_err(|e| JobError::Permanent(e.to_string()))?;
        if seq >= limits.max_steps {
            let msg = format!("the execution reached its limit of {} steps", limits.max_steps);
            return self.fail_execution(ctx, &exec, &msg).await;
        }
        let Some(here) = def.find(&position.step) else {
            return self.fail_execution(ctx, &exec, &format!("the step {:?} does not exist", position.step)).await;
        };
        let step = here.step;
        let now = kernel::time::now();
        db.execute(
            "UPDATE workflow_executions SET status = 'running', updated_at = $3
             WHERE id = $1 AND seq = $2 AND status IN ('queued', 'waiting')",
            args![&exec.id, seq, now],
        )
        .await?;
        let run_id = kernel::ids::new_id();
        db.execute(
            "INSERT INTO workflow_step_runs (id, execution_id, seq, step_id, step_type, attempt, status, started_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'running', $7)",
            args![&run_id, &exec.id, seq, &step.id, step.action.kind(), job.attempts, now],
        )
        .await?;
        let started = Instant::now();
        let secrets = if definition::Definition::mentions_secrets(&raw) {
            match secrets::load(&self.0.secrets, db, &exec.project_id).await {
                Ok(s) => s,
                // No retry opens it: the step fails with the reason.
                Err(e) if secrets::is_undecryptable(&e) => {
                    let error = StepError::permanent(e.to_string());
                    return self.step_failed(job, ctx, &exec, &run_id, error, None, started, &Map::new()).await;
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            Map::new()
        };
        let scope = scope(&exec.context.0, &position, &secrets);
        let limit = step_limit(step);
        let prepared = match tokio::time::timeout(limit, self.prepare(step, &scope, limit)).await {
            Ok(p) => p,
            Err(_) => Err(StepError::retry(format!("the step took longer than {} s", limit.as_secs()))),
        };
        let mut prepared = match prepared {
            Ok(p) => p,
            Err(e) => return self.step_failed(job, ctx, &exec, &run_id, e, None, started, &secrets).await,
        };
        secrets::mask(&mut prepared.input, &secrets);
        let mut tx = db.begin().await?;
        // Records written here carry the execution as their cause (so that record triggers
        // can stop loops between workflows).
        tx.set_cause(json!({"workflow_id": exec.workflow_id, "execution_id": exec.id, "depth": exec.depth}));
        let effect = std::mem::replace(&mut prepared.effect, Effect::None);
        match self.apply(&mut tx, &exec, effect).await {
            Ok(Some(out)) => prepared.output = out,
            Ok(None) => {}
            Err(e) => {
                drop(tx);
                let input = Some(prepared.input.clone());
                return self.step_failed(job, ctx, &exec, &run_id, e, input, started, &secrets).await;
            }
        }
        secrets::mask(&mut prepared.output, &secrets);
        let next = match advance(&def, &position, prepared.branch, prepared.items.take()) {
            Ok(n) => n,
            Err(e) => {
                drop(tx);
                return self
                    .step_failed(job, ctx, &exec, &run_id, StepError::permanent(e), None, started, &secrets)
                    .await;
            }
        };
        let mut context = exec.context.0.clone();
        context["steps"][&step.id] = prepared.output.clone();
        if let (Some(vars), Some(Value::Object(current))) = (prepared.vars.take(), context.get_mut("vars")) {
            current.extend(vars);
        }
        let finished = kernel::time::now();
        tx.execute(
            "UPDATE workflow_step_runs SET status = 'succeeded', input = $2, output = $3, finished_at = $4, duration_ms = $5
             WHERE id = $1",
            args![&run_id, &prepared.input, &prepared.output, finished, started.elapsed().as_millis() as i64],
        )
        .await?;
        let updated = match &next {
            None => {
                tx.execute(
                    "UPDATE workflow_executions SET status = 'succeeded', context = $3, position = NULL, seq = $2 + 1,
                            finished_at = $4, updated_at = $4 WHERE id = $1 AND seq = $2 AND status = 'running'",
                    args![&exec.id, seq, &context, finished],
                )
                .await?
            }
            Some(pos) => {
                let status = if prepared.run_at.is_some() { "waiting" } else { "running" };
                let n = tx
                    .execute(
                        "UPDATE workflow_executions SET status = $3, context = $4, position = $5, seq = $2 + 1, updated_at = $6
                         WHERE id = $1 AND seq = $2 AND status = 'running'",
                        args![&exec.id, seq, status, &context, json!(pos), finished],
                    )
                    .await?;
                let next_step = def
                    .find(&pos.step)
                    .map(|l| l.step)
                    .ok_or_else(|| JobError::Permanent(format!("the step {:?} does not exist", pos.step)))?;
                enqueue_step(&mut tx, &exec.id, seq + 1, next_step, prepared.run_at, 0).await?;
                n
            }
        };
        if updated == 0 {
            // Cancelled (or moved on) while the step ran: its effects are rolled back.
            return Ok(Some(json!({"skipped": "the execution was cancelled while the step ran"})));
        }
        metrics::histogram!("socle_workflow_step_duration_seconds", "type" => step.action.kind())
            .record(started.elapsed().as_secs_f64());
        ctx.complete_in(tx, Some(json!({"step": step.id, "status": "succeeded"}))).await?;
        Ok(None)
    }

    /// Record a failed attempt; the last one fails the execution (resumable with retry).
    #[allow(clippy::too_many_arguments)]
    async fn step_failed(
        &self,
        job: &Job,
        ctx: &JobContext,
        exec: &Execution,
        run_id: &str,
        error: StepError,
        input: Option<Value>,
        started: Instant,
        secrets: &Map<String, Value>,
    ) -> kernel::jobs::JobResult {
        let db = &self.0.db;
        let last = !error.retryable || job.attempts >= job.max_attempts;
        let mut message = Value::String(error.message.clone());
        secrets::mask(&mut message, secrets);
        let message = message.as_str().unwrap_or_default().to_string();
        let mut output = error.output.clone();
        if let Some(o) = output.as_mut() {
            secrets::mask(o, secrets);
        }
        let mut tx = db.begin().await?;
        tx.execute(
            "UPDATE workflow_step_runs SET status = $2, input = COALESCE($3, input), output = $4, error = $5,
                    finished_at = $6, duration_ms = $7 WHERE id = $1",
            args![
                run_id,
                if last { "failed" } else { "retrying" },
                input,
                output,
                &message,
                kernel::time::now(),
                started.elapsed().as_millis() as i64
            ],
        )
        .await?;
        metrics::counter!("socle_workflow_step_failures_total", "final" => last.to_string()).increment(1);
        if !last {
            tx.commit().await?;
            return Err(JobError::Retry(message));
        }
        let step = exec
            .position
            .as_ref()
            .and_then(|p| p.0.get("step"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        self.mark_failed(&mut tx, exec, &format!("step {step}: {message}")).await?;
        ctx.complete_in(tx, Some(json!({"step": step, "status": "failed", "error": message}))).await?;
        Ok(None)
    }

    async fn fail_execution(&self, ctx: &JobContext, exec: &Execution, message: &str) -> kernel::jobs::JobResult {
        let mut tx = self.0.db.begin().await?;
        self.mark_failed(&mut tx, exec, message).await?;
        ctx.complete_in(tx, Some(json!({"status": "failed", "error": message}))).await?;
        Ok(None)
    }

    async fn mark_failed(&self, tx: &mut Tx, exec: &Execution, message: &str) -> Result<()> {
        let now = kernel::time::now();
        tx.execute(
            "UPDATE workflow_executions SET status = 'failed', error = $3, finished_at = $4, updated_at = $4
             WHERE id = $1 AND seq = $2 AND status IN ('queued', 'running', 'waiting')",
            args![&exec.id, exec.seq, message, now],
        )
        .await?;
        metrics::counter!("socle_workflow_executions_failed_total").increment(1);
        Ok(())
    }

    /// Evaluate a step: everything but its database effect.
    async fn prepare(&self, step: &Step, scope: &Value, limit: Duration) -> std::result::Result<Prepared, StepError> {
        match &step.action {
            Action::Condition { condition, .. } => {
                let parsed = expr::parse(condition).map_err(|e| StepError::permanent(format!("if: {e}")))?;
                let mut data = scope.clone();
                if let Value::Object(m) = &mut data {
                    m.remove("secrets");
                }
                let ctx = expr::eval::Context {
                    record: &data,
                    auth: None,
                    body: &Value::Null,
                    query: &Value::Null,
                    now: kernel::time::now(),
                };
                let result = expr::eval::evaluate(&parsed, &ctx).map_err(|e| StepError::permanent(e.to_string()))?;
                let mut p = Prepared::new(json!({"if": condition}), json!({"result": result}));
                p.branch = Some(result);
                Ok(p)
            }
            Action::Http { method, url, headers, body, fail_on_error, .. } => {
                let url = render_text(url, scope, "url")?;
                let mut sent_headers: Vec<(String, String)> = Vec::new();
                for (k, v) in headers {
                    let value = render_text(v, scope, &format!("headers.{k}"))?;
                    if value.contains(['\r', '\n']) {
                        return Err(StepError::permanent(format!("headers.{k}: a header value cannot span lines")));
                    }
                    sent_headers.push((k.to_ascii_lowercase(), value));
                }
                let execution_id = scope["execution"]["id"].as_str().unwrap_or_default().to_string();
                sent_headers.push(("socle-execution-id".into(), execution_id));
                sent_headers.push(("socle-step-id".into(), step.id.clone()));
                let body = match body {
                    None => None,
                    Some(b) => Some(render(b, scope, "body")?),
                };
                let bytes = match &body {
                    None => None,
                    Some(Value::String(s)) => Some(s.clone().into_bytes()),
                    Some(other) => {
                        if !sent_headers.iter().any(|(k, _)| k == "content-type") {
                            sent_headers.push(("content-type".into(), "application/json".into()));
                        }
                        Some(other.to_string().into_bytes())
                    }
                };
                let logged_headers: Map<String, Value> =
                    sent_headers.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
                let input =
                    json!({"method": method.to_ascii_uppercase(), "url": url, "headers": logged_headers, "body": body});
                match self.0.http.send(method, &url, &sent_headers, bytes, Some(limit)).await {
                    Ok(r) => {
                        let parsed = serde_json::from_str::<Value>(&r.body).unwrap_or(Value::String(r.body));
                        let headers: Map<String, Value> =
                            r.headers.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
                        let output = json!({"status": r.status, "headers": headers, "body": parsed, "duration_ms": r.duration_ms});
                        if *fail_on_error && r.status >= 400 {
                            return Err(StepError {
                                message: format!("{url} answered {}", r.status),
                                retryable: r.status >= 500 || r.status == 429,
                                output: Some(output),
                            });
                        }
                        Ok(Prepared::new(input, output))
                    }
                    Err(HttpError::Refused(m)) => Err(StepError::permanent(m)),
                    Err(HttpError::Failed(m)) => Err(StepError::retry(m)),
                }
            }
            Action::Email { to, template, subject, body, variables } => {
                let to = render_text(to, scope, "to")?.trim().to_string();
                if !kernel::validate::is_valid_email(&to) {
                    return Err(StepError::permanent(format!("to: {to:?} is not an email address")));
                }
                let mut vars = match render(&Value::Object(variables.clone()), scope, "variables")? {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                if let Some(s) = subject {
                    vars.insert("subject".into(), Value::String(render_text(s, scope, "subject")?));
                }
                if let Some(b) = body {
                    vars.insert("body".into(), Value::String(render_text(b, scope, "body")?));
                }
                let template = template.clone().unwrap_or_else(|| "workflow_email".into());
                let vars = Value::Object(vars);
                let mut p = Prepared::new(json!({"to": to, "template": template, "variables": vars}), Value::Null);
                p.effect = Effect::Email { to, template, vars };
                Ok(p)
            }
            Action::Record { action, app_id, collection, record_id, data } => {
                let record_id = match record_id {
                    Some(r) => Some(render_text(r, scope, "record_id")?),
                    None => None,
                };
                let data = match render(&Value::Object(data.clone()), scope, "data")? {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                let input = json!({"action": action, "app_id": app_id, "collection": collection, "record_id": record_id, "data": data});
                let mut p = Prepared::new(input, Value::Null);
                p.effect = Effect::Record {
                    action: *action,
                    app_id: app_id.clone(),
                    collection: collection.clone(),
                    record_id,
                    data,
                };
                Ok(p)
            }
            Action::Notification { user_id, title, body, url, notification_type } => {
                let notification = crate::notifications::NewNotification {
                    kind: notification_type.clone(),
                    title: render_text(title, scope, "title")?,
                    body: render_text(body, scope, "body")?,
                    url: match url {
                        Some(u) => Some(render_text(u, scope, "url")?),
                        None => None,
                    },
                    data: Some(
                        json!({"workflow_id": scope["execution"]["workflow_id"], "execution_id": scope["execution"]["id"]}),
                    ),
                    tag: None,
                };
                notification.validate().map_err(StepError::from)?;
                let user_id = render_text(user_id, scope, "user_id")?;
                let input = json!({"user_id": user_id, "title": notification.title, "body": notification.body, "url": notification.url});
                let mut p = Prepared::new(input, Value::Null);
                p.effect = Effect::Notify { user_id, notification };
                Ok(p)
            }
            Action::Delay { seconds, until } => {
                let now = kernel::time::now();
                let at = match (seconds, until) {
                    (Some(s), _) => now + time::Duration::seconds(*s as i64),
                    (None, Some(u)) => {
                        let text = render_text(u, scope, "until")?;
                        let at = kernel::time::parse_rfc3339(&text)
                            .ok_or_else(|| StepError::permanent(format!("until: {text:?} is not an RFC 3339 time")))?;
                        if at > now + time::Duration::seconds(definition::MAX_DELAY_SECS as i64) {
                            return Err(StepError::permanent("until: a delay is at most 30 days"));
                        }
                        at.max(now)
                    }
                    (None, None) => now,
                };
                let mut p = Prepared::new(
                    json!({"seconds": seconds, "until": until}),
                    json!({"until": kernel::time::rfc3339(at)}),
                );
                p.run_at = Some(at);
                Ok(p)
            }
            Action::Ai { prompt, system, model, output_schema } => {
                let prompt = render_text(prompt, scope, "prompt")?;
                let system = match system {
                    Some(s) => Some(render_text(s, scope, "system")?),
                    None => None,
                };
                let execution = scope["execution"]["id"].as_str().unwrap_or_default();
                let org: Option<(String,)> = self
                    .0
                    .db
                    .fetch_optional(
                        "SELECT w.organization_id FROM workflow_executions e JOIN workflows w ON w.id = e.workflow_id
                         WHERE e.id = $1",
                        args![execution],
                    )
                    .await
                    .map_err(|e| StepError::retry(e.to_string()))?;
                let organization_id = org.map(|(o,)| o).unwrap_or_default();
                let input = json!({"prompt": prompt, "system": system, "model": model, "output_schema": output_schema});
                let request = kernel::ai::CompletionRequest {
                    organization_id,
                    system,
                    prompt,
                    model: model.clone(),
                    schema: output_schema.clone(),
                };
                let answer = self.0.ai.complete(request).await.map_err(|e| match e {
                    // The provider may come back; a quota or a bad answer will not.
                    kernel::Error::Unavailable(m) if self.0.ai.configured() => StepError::retry(m),
                    kernel::Error::TooManyRequests { detail, .. } => StepError::retry(detail),
                    other => StepError::permanent(other.to_string()),
                })?;
                let output =
                    json!({"text": answer.text, "json": answer.json, "model": answer.model, "tokens": answer.tokens});
                Ok(Prepared::new(input, output))
            }
            Action::Set { values } => {
                let rendered = match render(&Value::Object(values.clone()), scope, "values")? {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                let mut p = Prepared::new(Value::Object(values.clone()), Value::Object(rendered.clone()));
                p.vars = Some(rendered);
                Ok(p)
            }
            Action::Loop { over, max_items, .. } => {
                let items = match render(over, scope, "over")? {
                    Value::Array(items) => items,
                    Value::Null => Vec::new(),
                    other => {
                        return Err(StepError::permanent(format!(
                            "over: expected a list, got {}",
                            other.to_string().chars().take(80).collect::<String>()
                        )));
                    }
                };
                let limit = max_items.unwrap_or(usize::MAX).min(self.0.settings.max_loop_items);
                if items.len() > limit {
                    return Err(StepError::permanent(format!(
                        "over: {} items, more than this loop's limit of {limit}",
                        items.len()
                    )));
                }
                let mut p = Prepared::new(json!({"count": items.len()}), json!({"count": items.len()}));
                p.items = Some(items);
                Ok(p)
            }
        }
    }

    /// Apply a step's database effect in the completion transaction; returns its output.
    async fn apply(
        &self,
        tx: &mut Tx,
        exec: &Execution,
        effect: Effect,
    ) -> std::result::Result<Option<Value>, StepError> {
        match effect {
            Effect::None => Ok(None),
            Effect::Email { to, template, vars } => {
                let mail = kernel::templates::render_email(tx, &template, &to, &vars).await?;
                kernel::mail::enqueue(tx, &mail).await?;
                Ok(Some(json!({"to": to, "subject": mail.subject})))
            }
            Effect::Notify { user_id, notification } => {
                let organization: Option<(String,)> = tx
                    .fetch_optional("SELECT organization_id FROM workflows WHERE id = $1", args![&exec.workflow_id])
                    .await?;
                let org = organization.map(|(o,)| o).unwrap_or_default();
                if foundation::orgs::member_role(tx, &org, &user_id).await?.is_none() {
                    return Err(StepError::permanent(format!(
                        "user_id: {user_id:?} is not a member of the workflow's organization"
                    )));
                }
                let email = foundation::accounts::find_by_id(&mut *tx, &user_id).await?.map(|u| u.email);
                let n = crate::notifications::notify_user(tx, &self.0.live, &user_id, email.as_deref(), &notification)
                    .await?;
                Ok(Some(json!({"notification_id": n.id, "user_id": user_id})))
            }
            Effect::Record { action, app_id, collection, record_id, data } => {
                let (ctx, project) = runtime::context::as_owner(&self.0.runtime, &app_id).await?;
                if project != exec.project_id {
                    return Err(StepError::permanent(format!("app_id: {app_id:?} is not an app of this project")));
                }
                let c = ctx.collection(&collection).map_err(|_| {
                    StepError::permanent(format!("collection: the app has no collection {collection:?}"))
                })?;
                let id = record_id.unwrap_or_default();
                let result = match action {
                    RecordAction::Create => {
                        runtime::records::create_in(tx, &ctx, &self.0.runtime, c, &data, &Value::Null, &[]).await
                    }
                    RecordAction::Update => {
                        runtime::records::update_in(tx, &ctx, &self.0.runtime, c, &id, &data, &Value::Null, &[])
                            .await
                            .map(|()| {
                                let mut m = data.clone();
                                m.insert("id".into(), Value::String(id.clone()));
                                m
                            })
                    }
                    RecordAction::Delete => {
                        runtime::records::delete_in(tx, &ctx, &self.0.runtime, c, &id, &Value::Null).await
                    }
                };
                match result {
                    Ok(mut row) => {
                        row.remove("password");
                        row.remove("tokenKey");
                        Ok(Some(Value::Object(row)))
                    }
                    Err(e) if e.status.is_server_error() => Err(StepError::retry(e.message)),
                    Err(e) => Err(StepError {
                        message: if e.data.is_empty() {
                            format!("{} ({})", e.message, e.status.as_u16())
                        } else {
                            format!("{} {}", e.message, Value::Object(e.data.clone()))
                        },
                        retryable: false,
                        output: Some(json!({"status": e.status.as_u16(), "data": e.data})),
                    }),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(raw: Value) -> Definition {
        definition::parse(&raw).unwrap_or_else(|e| panic!("{e}"))
    }

    fn walk(d: &Definition, branches: &[bool], items: &[Value]) -> Vec<String> {
        let mut pos = Some(Position { step: d.steps[0].id.clone(), frames: Vec::new() });
        let mut seen = Vec::new();
        let mut branches = branches.iter();
        while let Some(p) = pos {
            seen.push(p.step.clone());
            let step = d.find(&p.step).map(|l| l.step.action.kind()).unwrap_or_default();
            let branch = (step == "condition").then(|| branches.next().copied().unwrap_or(true));
            let entering = (step == "loop").then(|| items.to_vec());
            pos = advance(d, &p, branch, entering).unwrap_or_else(|e| panic!("{e}"));
            assert!(seen.len() < 100, "runaway: {seen:?}");
        }
        seen
    }

    #[test]
    fn conditions_branch_and_lists_end() {
        let d = def(json!({"trigger": {"type": "manual"}, "steps": [
            {"id": "check", "type": "condition", "if": "x = 1", "then": "yes", "else": "no"},
            {"id": "yes", "type": "set", "values": {"a": 1}, "next": "end"},
            {"id": "no", "type": "set", "values": {"a": 2}},
            {"id": "after", "type": "set", "values": {"b": 1}}
        ]}));
        assert_eq!(walk(&d, &[true], &[]), ["check", "yes"]);
        assert_eq!(walk(&d, &[false], &[]), ["check", "no", "after"]);
    }

    #[test]
    fn loops_run_their_body_per_item_then_continue() {
        let d = def(json!({"trigger": {"type": "manual"}, "steps": [
            {"id": "each", "type": "loop", "over": [], "steps": [
                {"id": "one", "type": "set", "values": {"a": 1}},
                {"id": "two", "type": "set", "values": {"a": 2}}
            ]},
            {"id": "done", "type": "set", "values": {"b": 1}}
        ]}));
        assert_eq!(walk(&d, &[], &[json!(1), json!(2)]), ["each", "one", "two", "one", "two", "done"]);
        assert_eq!(walk(&d, &[], &[]), ["each", "done"]);
    }

    #[test]
    fn single_expressions_keep_their_type() {
        let scope = json!({"steps": {"fetch": {"body": {"items": [1, 2], "n": 3}}}, "input": {"name": "Ada"}});
        assert_eq!(render_value(&json!("{{ steps.fetch.body.items }}"), &scope), Ok(json!([1, 2])));
        assert_eq!(render_value(&json!("{{ steps.fetch.body.n * 2 }}"), &scope), Ok(json!(6)));
        assert_eq!(render_value(&json!("Hello {{ input.name }}"), &scope), Ok(json!("Hello Ada")));
        assert_eq!(render_value(&json!({"k": ["{{ input.name | upper }}"]}), &scope), Ok(json!({"k": ["ADA"]})));
        assert_eq!(render_value(&json!("{{ missing.value }}"), &scope), Ok(Value::Null));
    }
}

//! Automation: what happens after a change commits. Workflows, the scheduler, outgoing webhooks, in-app notifications (live over WebSocket),
//! editable email templates, and the admin view of the job queue (the seed's BullBoard).
//!
//! It reacts to other modules only through the kernel's outbox ([`listeners`]) and runs its
//! work as kernel jobs ([`register_jobs`]).

pub mod admin;
pub mod http;
pub mod maintenance;
pub mod notifications;
pub mod scheduler;
pub mod settings;
pub mod webhooks;
pub mod workflows;

use std::sync::Arc;

use axum::extract::FromRef;
use foundation::FoundationState;
use kernel::jobs::Registry;
use kernel::module::Task;
use kernel::outbox::Listener;
use kernel::{Config, Db, Deps, Module};
use utoipa_axum::router::OpenApiRouter;

#[derive(Clone)]
pub struct AutomationState(Arc<AutomationInner>);

pub struct AutomationInner {
    pub db: Db,
    pub config: Arc<Config>,
    /// The `[automation]` section.
    pub settings: settings::AutomationConfig,
    pub foundation: FoundationState,
    pub runtime: runtime::RuntimeState,
    pub live: notifications::live::Hub,
    pub http: http::Guard,
    pub secrets: workflows::secrets::SecretBox,
    /// The platform's language model (the Assistant's provider), for `ai` steps.
    pub ai: kernel::ai::Ai,
}

impl std::ops::Deref for AutomationState {
    type Target = AutomationInner;

    fn deref(&self) -> &AutomationInner {
        &self.0
    }
}

impl FromRef<AutomationState> for FoundationState {
    fn from_ref(s: &AutomationState) -> FoundationState {
        s.foundation.clone()
    }
}

impl AutomationState {
    /// Use the platform's language model handle (its provider is installed later, by the
    /// Assistant).
    pub fn with_ai(self, ai: kernel::ai::Ai) -> Self {
        match Arc::try_unwrap(self.0) {
            Ok(mut inner) => {
                inner.ai = ai;
                AutomationState(Arc::new(inner))
            }
            Err(shared) => AutomationState(shared),
        }
    }

    /// `keys` encrypt workflow secrets (`keys.secrets`; the JWT secrets open older values).
    pub fn new(
        db: Db,
        config: Arc<Config>,
        settings: settings::AutomationConfig,
        foundation: FoundationState,
        runtime: runtime::RuntimeState,
        keys: &kernel::Keys,
    ) -> Self {
        let http = http::Guard::new(settings.allow_private_network, settings.http_timeout_secs);
        workflows::engine::set_step_timeout_cap(settings.step_timeout_secs);
        AutomationState(Arc::new(AutomationInner {
            db,
            config,
            settings,
            foundation,
            runtime,
            live: notifications::live::Hub::default(),
            http,
            secrets: workflows::secrets::SecretBox::new(keys),
            ai: kernel::ai::Ai::default(),
        }))
    }
}

/// Automation's front door: workflows, webhooks, notifications and the job admin under
/// `/api/v1`, their jobs and outbox listeners, the scheduler (in `scheduler` processes) and
/// the live notification listener.
pub const MODULE: kernel::module::ModuleDef =
    kernel::module::ModuleDef { name: "automation", migrations, build: module };

fn module(deps: &mut Deps) -> anyhow::Result<Module> {
    let state = AutomationState::new(
        deps.db.clone(),
        deps.config.clone(),
        deps.section(settings::SECTION)?,
        deps.get::<FoundationState>()?,
        deps.get::<runtime::RuntimeState>()?,
        &deps.keys,
    )
    .with_ai(deps.get::<kernel::ai::Ai>()?);
    deps.provide(state.clone());
    describe_metrics();
    let scheduler_db = state.db.clone();
    let live = state.live.clone();
    let live_db = state.db.clone();
    let mut module = Module::new("automation")
        .api(router(state.clone()))
        .jobs(|registry| register_jobs(registry, &state))
        .task(Task::in_role("scheduler", "scheduler", move |stop| async move {
            if let Err(e) = maintenance::ensure_schedules(&scheduler_db).await {
                tracing::warn!(error = %e, "could not create the maintenance schedules");
            }
            scheduler::run(scheduler_db, stop).await
        }))
        .task(Task::always("live notifications", move |stop| live.listen(live_db, stop)));
    module.listeners = listeners(&state);
    Ok(module)
}

pub fn router(state: AutomationState) -> OpenApiRouter {
    OpenApiRouter::new()
        .nest("/automation/webhooks", webhooks::routes())
        .nest("/automation/workflows", workflows::routes::routes())
        .nest("/automation/executions", workflows::routes::execution_routes())
        .nest("/automation/projects", workflows::routes::secret_routes())
        .nest("/automation/hooks", workflows::routes::hook_routes())
        .nest("/automation/schema", workflows::routes::schema_routes())
        .nest("/notifications", notifications::routes::routes())
        .nest("/admin", admin::routes())
        .with_state(state)
}

/// The job kinds Automation runs.
pub fn register_jobs(registry: &mut Registry, state: &AutomationState) {
    webhooks::register_jobs(registry, state);
    maintenance::register_jobs(registry, state);
    notifications::register_jobs(registry, state);
    registry.register(workflows::STEP_JOB, workflows::engine::StepRunner(state.clone()));
    registry.register(workflows::START_JOB, workflows::triggers::ScheduledStart(state.clone()));
}

/// Automation's reactions to outbox events.
pub fn listeners(state: &AutomationState) -> Vec<Arc<dyn Listener>> {
    vec![
        Arc::new(webhooks::WebhookFanout(state.db.clone())),
        Arc::new(notifications::AuditAlerts(state.clone())),
        Arc::new(notifications::UserNotices(state.clone())),
        Arc::new(workflows::triggers::WorkflowTriggers {
            db: state.db.clone(),
            max_depth: state.settings.max_chain_depth,
        }),
    ]
}

pub fn migrations() -> Vec<kernel::migrate::Migration> {
    vec![
        kernel::migrate::Migration {
            module: "automation",
            version: 1,
            name: "automation",
            script: include_str!("../migrations/0001_automation.sql"),
        },
        kernel::migrate::Migration {
            module: "automation",
            version: 2,
            name: "workflows",
            script: include_str!("../migrations/0002_workflows.sql"),
        },
        kernel::migrate::Migration {
            module: "automation",
            version: 3,
            name: "record_interest",
            script: include_str!("../migrations/0003_record_interest.sql"),
        },
        kernel::migrate::Migration {
            module: "automation",
            version: 4,
            name: "notification_tags",
            script: include_str!("../migrations/0004_notification_tags.sql"),
        },
        kernel::migrate::Migration {
            module: "automation",
            version: 5,
            name: "sent_notifications",
            script: include_str!("../migrations/0005_sent_notifications.sql"),
        },
        kernel::migrate::Migration {
            module: "automation",
            version: 6,
            name: "hook_deliveries",
            script: include_str!("../migrations/0006_hook_deliveries.sql"),
        },
    ]
}

/// The `# HELP` of the metrics Automation records. Call once the metrics recorder is
/// installed; describing again is harmless.
pub fn describe_metrics() {
    metrics::describe_counter!("socle_webhook_attempts_total", "Outgoing webhook delivery attempts, by outcome.");
    metrics::describe_counter!("socle_workflow_executions_total", "Workflow executions started, by trigger type.");
    metrics::describe_counter!("socle_workflow_executions_failed_total", "Workflow executions that failed.");
    metrics::describe_histogram!(
        "socle_workflow_step_duration_seconds",
        metrics::Unit::Seconds,
        "Time one workflow step took, by step type."
    );
    metrics::describe_counter!(
        "socle_workflow_step_failures_total",
        "Workflow step attempts that failed, by whether it was the final attempt."
    );
    metrics::describe_counter!(
        "socle_workflow_chains_stopped_total",
        "Workflow triggers not run because the chain of workflows was too deep."
    );
    metrics::describe_counter!("socle_notifications_total", "In-app notifications created, by type.");
    metrics::describe_gauge!("socle_notification_connections", "Open live notification connections.");
}

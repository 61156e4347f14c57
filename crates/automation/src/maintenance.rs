//! Built-in maintenance, run as scheduled jobs: audit retention, expired sessions and
//! tokens, dispatched outbox events, finished jobs, and projects deleted more than 30 days
//! ago. Each is a cron schedule, so with several processes each runs once per occurrence.

use kernel::jobs::{Job, JobContext, JobError, JobFuture, JobHandler, Registry};
use kernel::{Db, Result, args};
use serde_json::json;

use crate::AutomationState;

/// (schedule name, cron with seconds, job kind)
const SCHEDULES: [(&str, &str, &str); 5] = [
    ("maintenance.audit_retention", "0 30 3 * * *", "maintenance.audit_retention"),
    ("maintenance.expired_tokens", "0 0 * * * *", "maintenance.expired_tokens"),
    ("maintenance.outbox_cleanup", "0 15 * * * *", "maintenance.outbox_cleanup"),
    ("maintenance.job_cleanup", "0 45 4 * * *", "maintenance.job_cleanup"),
    ("maintenance.purge_projects", "0 0 4 * * *", "maintenance.purge_projects"),
];

/// Create the built-in schedules that do not exist yet (an administrator's changes to
/// them are kept).
pub async fn ensure_schedules(db: &Db) -> Result<()> {
    for (name, cron, kind) in SCHEDULES {
        let exists: i64 = db.scalar("SELECT COUNT(*) FROM schedules WHERE name = $1", args![name]).await?;
        if exists == 0 {
            let mut tx = db.begin().await?;
            crate::scheduler::upsert(&mut tx, name, cron, "UTC", kind, "maintenance", json!({})).await?;
            tx.commit().await?;
        }
    }
    Ok(())
}

struct Maintenance {
    state: AutomationState,
    task: &'static str,
}

impl JobHandler for Maintenance {
    fn run<'a>(&'a self, _job: &'a Job, _ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            let db = &self.state.db;
            let removed = match self.task {
                "maintenance.audit_retention" => {
                    let days = self.state.settings.audit_retention_days;
                    if days <= 0 {
                        0
                    } else {
                        let before = kernel::time::now() - time::Duration::days(days);
                        foundation::audit::service::apply_retention(db, before).await?
                    }
                }
                "maintenance.expired_tokens" => {
                    foundation::sessions::purge_expired(db).await?
                        + crate::workflows::triggers::purge_hook_deliveries(db).await?
                }
                "maintenance.outbox_cleanup" => kernel::outbox::purge_dispatched(db, time::Duration::days(7)).await?,
                "maintenance.job_cleanup" => kernel::jobs::admin::purge_finished(db, time::Duration::days(30)).await?,
                "maintenance.purge_projects" => studio::projects::service::purge_deleted(db).await? as u64,
                other => return Err(JobError::Permanent(format!("unknown maintenance task {other}"))),
            };
            Ok(Some(json!({"removed": removed})))
        })
    }
}

pub fn register_jobs(registry: &mut Registry, state: &AutomationState) {
    for (_, _, kind) in SCHEDULES {
        registry.register(kind, Maintenance { state: state.clone(), task: kind });
    }
}

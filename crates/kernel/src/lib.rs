//! Socle's kernel: the plumbing every module shares.
//!
//! Nothing here knows about accounts, projects or apps. Modules build on these pieces:
//! configuration, the database handle for SQLite and PostgreSQL, migrations, the error type
//! rendered as RFC 9457 problems, ids and tokens, the authenticated principal, pagination,
//! the event outbox, the job queue, mail, rate limiting and the request context.

pub mod access_changes;
pub mod activity;
pub mod ai;
pub mod config;
pub mod context;
pub mod db;
pub mod error;
pub mod exec;
pub mod ids;
pub mod inline_reader;
pub mod inline_writer;
pub mod jobs;
pub mod json;
pub mod keys;
pub mod links;
pub mod listen;
pub mod live_socket;
pub mod mail;
pub mod migrate;
pub mod module;
pub mod money;
pub mod multipart;
pub mod outbox;
pub mod pagination;
pub mod principal;
pub mod ranked;
pub mod ratelimit;
pub mod recent;
pub mod storage;
pub mod templates;
pub mod time;
pub mod usage;
pub mod validate;
pub mod wal_checkpointer;

pub use config::Config;
pub use context::RequestContext;
pub use db::{Arg, Db, DbKind, Tx};
pub use error::{Error, FieldError, Result};
pub use exec::Exec;
pub use keys::Keys;
pub use module::{Deps, Module};
pub use principal::{OrgRole, PlatformRole, Principal};
pub use usage::{Metric, Usage};

/// The kernel's own tables: the job queue, the outbox (and who listens to it) and schedules
/// (the first migration's mail queue is folded into the job queue by the second).
pub fn migrations() -> Vec<migrate::Migration> {
    vec![
        migrate::Migration {
            module: "kernel",
            version: 1,
            name: "mail_queue",
            script: include_str!("../migrations/0001_kernel.sql"),
        },
        migrate::Migration {
            module: "kernel",
            version: 2,
            name: "jobs_outbox_schedules",
            script: include_str!("../migrations/0002_jobs_outbox.sql"),
        },
        migrate::Migration {
            module: "kernel",
            version: 3,
            name: "outbox_interest",
            script: include_str!("../migrations/0003_outbox_interest.sql"),
        },
        migrate::Migration {
            module: "kernel",
            version: 4,
            name: "job_attempts_finished",
            script: include_str!("../migrations/0004_job_attempts_finished.sql"),
        },
    ]
}

/// A wake-up signal for background loops that never loses a wake-up: a loop that was busy
/// when `wake` was called finds it pending at its next wait (a `Notify::notify_waiters`
/// would have been lost, leaving the work to the next poll).
pub(crate) struct Wake(tokio::sync::watch::Sender<u64>);

impl Wake {
    pub(crate) fn new() -> Self {
        Wake(tokio::sync::watch::channel(0).0)
    }

    pub(crate) fn wake(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver whose `changed()` completes once per batch of wake-ups since it last
    /// returned.
    pub(crate) fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// The `# HELP` of the metrics the kernel records (jobs, group commits, mail, outbox).
/// Call once the metrics recorder is installed; describing again is harmless.
pub fn describe_metrics() {
    metrics::describe_histogram!(
        "socle_job_duration_seconds",
        metrics::Unit::Seconds,
        "Time one job run took, by job kind and outcome."
    );
    metrics::describe_histogram!(
        "socle_db_group_commit_size",
        "Write transactions committed together by one SQLite group commit."
    );
    metrics::describe_histogram!(
        "socle_db_wal_checkpoint_seconds",
        metrics::Unit::Seconds,
        "Time one checkpoint of the SQLite write-ahead log took (on its own thread, off the writers' path)."
    );
    metrics::describe_counter!(
        "socle_db_wal_pages_checkpointed_total",
        "Pages of the SQLite write-ahead log copied into the database file."
    );
    metrics::describe_counter!("socle_emails_total", "Email delivery attempts, by outcome (sent, failed_attempt).");
    metrics::describe_counter!(
        "socle_events_dispatched_total",
        "Outbox events delivered to their listeners, by event kind."
    );
}

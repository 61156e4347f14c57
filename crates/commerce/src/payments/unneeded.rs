//! A payment that arrives for something already paid for is given back.
//!
//! A buyer who starts a checkout twice (two tabs, a second click a minute later) holds two
//! payable checkouts; a provider settles both. The module that sells the thing notices, in
//! its listener, that the purpose was fulfilled by another payment, and queues
//! [`REFUND_JOB`]: outside the listener's transaction, because a refund calls the provider.

use kernel::context::RequestContext;
use kernel::jobs::{Job, JobContext, JobError, JobFuture, JobHandler, NewJob};
use kernel::{Result, Tx};
use serde_json::json;

use super::service::{RefundRequest, find, refund_found, refunds_through_api};
use crate::CommerceState;
use foundation::audit::{self, AuditEntry, Severity};

pub const REFUND_JOB: &str = "commerce.refund_unneeded";

/// Queue the refund of `payment_id` in the caller's transaction, once per payment.
pub async fn queue_refund(tx: &mut Tx, payment_id: &str, reason: &str) -> Result<()> {
    let job = NewJob::new(REFUND_JOB, json!({"payment_id": payment_id, "reason": reason}))
        .idempotency_key(format!("{REFUND_JOB}:{payment_id}"))
        .max_attempts(8);
    kernel::jobs::enqueue(tx, job).await?;
    Ok(())
}

/// Refund what is left of a payment that bought nothing. A payment already refunded (a
/// retried job, an admin who was quicker) is left alone; one whose provider takes no refunds
/// through its API is reported to the admins in the audit log.
pub async fn refund_unneeded(state: &CommerceState, payment_id: &str, reason: &str) -> Result<&'static str> {
    let Some(payment) = find(&state.db, payment_id).await? else { return Ok("no such payment") };
    if !matches!(payment.status.as_str(), "succeeded" | "partially_refunded") {
        return Ok("nothing to refund");
    }
    let ctx = RequestContext::internal("socle-refunds");
    if !refunds_through_api(&payment.provider) {
        let mut tx = state.db.begin().await?;
        audit::record(
            &mut tx,
            &ctx,
            AuditEntry::new("PAYMENT_REFUND_NEEDED", Severity::High, "payment")
                .org(&payment.organization_id)
                .target(&payment.id)
                .describe(format!(
                    "refund {} {} by hand in {}: {reason}",
                    payment.amount, payment.currency, payment.provider
                )),
        )
        .await?;
        tx.commit().await?;
        return Ok("reported");
    }
    refund_found(state, &ctx, None, payment, RefundRequest { amount: None, reason: reason.into() }).await?;
    Ok("refunded")
}

/// Runs [`REFUND_JOB`].
pub struct RefundUnneeded(pub CommerceState);

impl JobHandler for RefundUnneeded {
    fn run<'a>(&'a self, job: &'a Job, _ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            let Some(id) = job.payload["payment_id"].as_str() else {
                return Err(JobError::Permanent("the job names no payment".into()));
            };
            let reason = job.payload["reason"].as_str().unwrap_or("paid twice");
            let outcome = refund_unneeded(&self.0, id, reason).await?;
            Ok(Some(json!({"outcome": outcome})))
        })
    }
}

//! Payments: created by a checkout, settled by the provider (the sandbox's hosted page, or a
//! provider's webhook), refunded in full or in part. Each settlement appends an outbox event
//! (`payment.succeeded`, `payment.failed`, `payment.refunded`) for the modules that sell
//! things (billing, marketplace) to react to.

pub mod methods;
pub mod routes;
pub mod service;
pub mod unneeded;

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

pub const COLUMNS: &str = "id, organization_id, provider, provider_ref, status, amount, amount_refunded, currency, \
    description, purpose_kind, purpose_id, success_url, cancel_url, failure_reason, created_by, created_at, updated_at, paid_at";

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Payment {
    pub id: String,
    pub organization_id: String,
    /// `sandbox` or `stripe`.
    pub provider: String,
    /// The provider's id for it (Stripe's checkout session).
    pub provider_ref: Option<String>,
    /// `pending`, `succeeded`, `failed`, `canceled`, `needs_review`, `refunded`, `partially_refunded`.
    pub status: String,
    /// In minor units (cents).
    pub amount: i64,
    pub amount_refunded: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    pub description: String,
    /// What is bought: a kind (`plan`, `marketplace_item`, …) and its id.
    pub purpose_kind: Option<String>,
    pub purpose_id: Option<String>,
    pub success_url: String,
    pub cancel_url: String,
    pub failure_reason: Option<String>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub paid_at: Option<OffsetDateTime>,
}

/// How a provider says a payment ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed(String),
    Canceled,
    /// The provider took money, but not what was asked: a person must look (no goods are
    /// granted, nothing is announced as failed).
    NeedsReview(String),
}

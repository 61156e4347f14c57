//! The marketplace (`/api/v1/marketplace`): builders publish templates (a snapshot of a
//! project's export bundle) and components, with a title, description, screenshots,
//! category, price (free or paid) and license; platform administrators approve or reject
//! them with a reason; approved items are listed and searched (text, category, kind, free or
//! paid, rating); a paid item is bought through the payment flow (`marketplace` purpose), a
//! free one at once; a bought template installs as a new project of the buyer's
//! organization, a component into its library; sellers see their sales and balance (less
//! `commerce.marketplace_commission_bp`); buyers rate and review once.

pub mod routes;
pub mod service;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// What the marketplace shows of an item (never its payload).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct ItemRow {
    pub id: String,
    pub organization_id: String,
    pub created_by: String,
    pub kind: String,
    pub title: String,
    pub description: String,
    pub category: String,
    pub screenshots: String,
    pub price: i64,
    pub currency: String,
    pub license: String,
    pub status: String,
    pub rejection_reason: Option<String>,
    pub rating_count: i64,
    pub rating_sum: i64,
    pub sales: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

pub const ITEM_COLUMNS: &str = "id, organization_id, created_by, kind, title, description, category, screenshots, \
    price, currency, license, status, rejection_reason, rating_count, rating_sum, sales, created_at, updated_at";

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Item {
    pub id: String,
    /// The seller.
    pub organization_id: String,
    /// `template` or `component`.
    pub kind: String,
    pub title: String,
    pub description: String,
    pub category: String,
    pub screenshots: Vec<String>,
    /// Minor units; 0 is free.
    pub price: i64,
    pub currency: String,
    pub license: String,
    /// `pending` (waiting for review), `approved` or `rejected`.
    pub status: String,
    /// Why it was rejected (seen by its seller and administrators).
    pub rejection_reason: Option<String>,
    /// The mean rating from 1 to 5, none before the first review.
    pub rating: Option<f64>,
    pub rating_count: i64,
    pub sales: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<ItemRow> for Item {
    fn from(r: ItemRow) -> Self {
        Item {
            screenshots: serde_json::from_str(&r.screenshots).unwrap_or_default(),
            rating: (r.rating_count > 0).then(|| (r.rating_sum as f64 / r.rating_count as f64 * 100.0).round() / 100.0),
            id: r.id,
            organization_id: r.organization_id,
            kind: r.kind,
            title: r.title,
            description: r.description,
            category: r.category,
            price: r.price,
            currency: r.currency,
            license: r.license,
            status: r.status,
            rejection_reason: r.rejection_reason,
            rating_count: r.rating_count,
            sales: r.sales,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A purchase: pending until its payment succeeds (free items complete at once).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Purchase {
    pub id: String,
    pub item_id: String,
    /// The buyer.
    pub organization_id: String,
    pub price: i64,
    pub currency: String,
    pub payment_id: Option<String>,
    /// `pending` or `completed`.
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Review {
    pub user_id: String,
    pub organization_id: String,
    pub rating: i64,
    pub comment: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

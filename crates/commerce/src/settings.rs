//! `[commerce]` and `[stripe]` in `socle.toml` (`SOCLE_COMMERCE__*`, `SOCLE_STRIPE__*`).

use serde::{Deserialize, Serialize};

pub const COMMERCE: &str = "commerce";
pub const STRIPE: &str = "stripe";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CommerceConfig {
    /// Whether the sandbox provider takes payments: by default only while Stripe is not
    /// configured (a server that sells for real does not hand out free "paid" payments).
    pub sandbox: Option<bool>,
    /// How long a sandbox payment made with the "pending" test card waits before it settles.
    pub sandbox_settle_secs: i64,
    /// The VAT rate invoices apply, in basis points (2000 = 20 %); prices include it.
    pub vat_rate_bp: i64,
    /// The seller on invoices.
    pub seller_name: String,
    pub seller_address: String,
    pub seller_vat_id: String,
    /// How often metered usage is written (seconds).
    pub usage_flush_secs: u64,
    /// Days a paid plan keeps its limits after its period ended while the renewal is unpaid.
    pub grace_days: i64,
    /// How often the scheduler looks for subscriptions to renew or end (seconds).
    pub renewal_check_secs: u64,
}

impl Default for CommerceConfig {
    fn default() -> Self {
        CommerceConfig {
            sandbox: None,
            sandbox_settle_secs: 30,
            vat_rate_bp: 2000,
            seller_name: "Socle".into(),
            seller_address: String::new(),
            seller_vat_id: String::new(),
            usage_flush_secs: 10,
            grace_days: 7,
            renewal_check_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StripeConfig {
    /// `sk_live_…` / `sk_test_…`: Stripe is offered as a provider once set.
    pub secret_key: String,
    /// `whsec_…`: signs the webhooks Stripe sends to `/api/v1/payments/webhooks/stripe`.
    pub webhook_secret: String,
    /// Where Stripe's API is (tests point it at a local server).
    pub api_base: String,
}

impl StripeConfig {
    pub fn api_base(&self) -> &str {
        if self.api_base.is_empty() { "https://api.stripe.com" } else { self.api_base.trim_end_matches('/') }
    }

    pub fn enabled(&self) -> bool {
        !self.secret_key.is_empty()
    }
}

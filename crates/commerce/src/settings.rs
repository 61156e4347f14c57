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
    /// Rates by the buyer's country (ISO 3166 alpha-2 → basis points), from its billing
    /// profile; a business of another listed country with a VAT number is reverse charged.
    pub vat_rates: std::collections::BTreeMap<String, i64>,
    /// The seller's country (for the reverse charge).
    pub seller_country: String,
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
    /// The platform's share of marketplace sales, in basis points (2000 = 20 %).
    pub marketplace_commission_bp: i64,
    /// Selling (a paid marketplace item) needs a verified organization (KYC/KYB approved).
    pub marketplace_requires_verification: bool,
    /// Days webhook deliveries and processed events are kept.
    pub webhook_retention_days: i64,
}

impl Default for CommerceConfig {
    fn default() -> Self {
        CommerceConfig {
            sandbox: None,
            sandbox_settle_secs: 30,
            vat_rate_bp: 2000,
            vat_rates: std::collections::BTreeMap::new(),
            seller_country: String::new(),
            seller_name: "Socle".into(),
            seller_address: String::new(),
            seller_vat_id: String::new(),
            usage_flush_secs: 10,
            grace_days: 7,
            renewal_check_secs: 60,
            marketplace_commission_bp: 2000,
            marketplace_requires_verification: true,
            webhook_retention_days: 90,
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

pub const PAYPAL: &str = "paypal";
pub const CINETPAY: &str = "cinetpay";

/// `[paypal]`: Orders v2 with the REST app's client credentials.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PayPalConfig {
    pub client_id: String,
    pub client_secret: String,
    /// The id PayPal gave the webhook pointing at `/api/v1/payments/webhooks/paypal`: its
    /// verification call needs it.
    pub webhook_id: String,
    /// `https://api-m.paypal.com` by default; `https://api-m.sandbox.paypal.com` for PayPal's
    /// own sandbox (tests point it at a local server).
    pub api_base: String,
}

impl PayPalConfig {
    pub fn api_base(&self) -> &str {
        if self.api_base.is_empty() { "https://api-m.paypal.com" } else { self.api_base.trim_end_matches('/') }
    }

    pub fn enabled(&self) -> bool {
        !self.client_id.is_empty() && !self.client_secret.is_empty()
    }
}

/// `[cinetpay]`: CinetPay's checkout (payment init, then status check).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CinetPayConfig {
    pub apikey: String,
    pub site_id: String,
    /// `https://api-checkout.cinetpay.com` by default.
    pub api_base: String,
}

impl CinetPayConfig {
    pub fn api_base(&self) -> &str {
        if self.api_base.is_empty() { "https://api-checkout.cinetpay.com" } else { self.api_base.trim_end_matches('/') }
    }

    pub fn enabled(&self) -> bool {
        !self.apikey.is_empty() && !self.site_id.is_empty()
    }
}

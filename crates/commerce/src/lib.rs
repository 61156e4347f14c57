//! Commerce: payments through one provider interface (a built-in sandbox that runs every
//! flow locally, Stripe Checkout, PayPal Orders v2, CinetPay), provider webhooks verified and applied exactly once,
//! refunds, invoices and credit notes with their PDF, plans and subscriptions, and the
//! plans' limits for the kernel's usage meter (whose counts are stored here per day).
//! Renewals with a grace period (dunning) run in the scheduler; the marketplace sells templates
//! and components.

pub mod billing;
pub mod cinetpay;
pub mod invoices;
pub mod marketplace;
pub mod payments;
pub mod paypal;
pub mod returns;
pub mod sandbox;
pub mod settings;
pub mod stripe;
pub mod webhooks;

use std::sync::Arc;

use kernel::{Db, Deps, Module};
use utoipa_axum::{router::OpenApiRouter, routes};

/// What Commerce's handlers and jobs need; cheap to clone.
#[derive(Clone)]
pub struct CommerceState(Arc<CommerceInner>);

pub struct CommerceInner {
    pub db: Db,
    pub settings: settings::CommerceConfig,
    pub stripe: settings::StripeConfig,
    pub paypal: settings::PayPalConfig,
    pub cinetpay: settings::CinetPayConfig,
    /// PayPal's access token, reused until shortly before it expires.
    pub paypal_token: paypal::TokenCache,
    pub public_url: String,
    /// Calls to providers: no redirects, short timeouts.
    pub http: reqwest::Client,
    /// Signs the download links of invoices sent by email (derived from the JWT secret).
    pub invoice_links: kernel::links::LinkSigner,
    /// For the admin extractor.
    pub foundation: foundation::FoundationState,
    /// The meter whose limits come from the plans and whose counts are written here.
    pub usage: kernel::Usage,
    /// Moderates marketplace listings when the Assistant's provider is configured.
    pub ai: kernel::ai::Ai,
}

impl axum::extract::FromRef<CommerceState> for foundation::FoundationState {
    fn from_ref(state: &CommerceState) -> Self {
        state.foundation.clone()
    }
}

/// A payment provider that could not be reached: logged, and a 503 the client may retry.
pub(crate) fn unreachable(provider: &'static str) -> impl Fn(reqwest::Error) -> kernel::Error {
    move |e| {
        tracing::warn!(error = %e, provider, "the payment provider could not be reached");
        kernel::Error::Unavailable("the payment provider could not be reached; try again".into())
    }
}

impl CommerceState {
    pub fn sandbox_enabled(&self) -> bool {
        self.settings.sandbox.unwrap_or(!self.real_provider_enabled())
    }

    /// Whether any provider that takes real money is configured.
    pub fn real_provider_enabled(&self) -> bool {
        self.stripe.enabled() || self.paypal.enabled() || self.cinetpay.enabled()
    }
}

impl std::ops::Deref for CommerceState {
    type Target = CommerceInner;

    fn deref(&self) -> &CommerceInner {
        &self.0
    }
}

pub const MODULE: kernel::module::ModuleDef = kernel::module::ModuleDef { name: "commerce", migrations, build: module };

fn module(deps: &mut Deps) -> anyhow::Result<Module> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(15))
        .build()?;
    let commerce: settings::CommerceConfig = deps.section(settings::COMMERCE)?;
    if !(0..=10_000).contains(&commerce.vat_rate_bp) {
        anyhow::bail!("commerce.vat_rate_bp is in basis points, from 0 to 10000 (2000 = 20 %)");
    }
    let state = CommerceState(Arc::new(CommerceInner {
        db: deps.db.clone(),
        settings: commerce,
        stripe: deps.section(settings::STRIPE)?,
        paypal: deps.section(settings::PAYPAL)?,
        cinetpay: deps.section(settings::CINETPAY)?,
        paypal_token: tokio::sync::Mutex::new(None),
        public_url: deps.config.public_url.clone(),
        http,
        invoice_links: kernel::links::LinkSigner::new(&deps.keys.jwt, "socle invoice links v1", "invoice-pdf")?,
        foundation: deps.get::<foundation::FoundationState>()?,
        usage: deps.get::<kernel::Usage>()?,
        ai: deps.get::<kernel::ai::Ai>()?,
    }));
    state.usage.set_source(Arc::new(billing::usage::PlanQuotas(state.db.clone())));
    let (flush_db, flush_usage) = (state.db.clone(), state.usage.clone());
    let flush_every = std::time::Duration::from_secs(state.settings.usage_flush_secs.max(1));
    let purging = state.clone();
    let (renewing, renew_every) =
        (state.clone(), std::time::Duration::from_secs(state.settings.renewal_check_secs.max(1)));
    deps.provide(state.clone());
    let (webhooks, sandbox, pdfs, refunds) = (state.clone(), state.clone(), state.clone(), state.clone());
    Ok(Module::new("commerce")
        .api(router(state.clone()))
        .listener(Arc::new(billing::service::Activation(state.usage.clone())))
        .listener(Arc::new(marketplace::service::Sales))
        .listener(Arc::new(invoices::service::Invoicing(state)))
        .task(kernel::module::Task::always("usage flush", move |stop| {
            billing::usage::flush_loop(flush_db, flush_usage, flush_every, stop)
        }))
        .task(kernel::module::Task::in_role("billing renewals", "scheduler", move |stop| {
            billing::renewals::renewal_loop(renewing, renew_every, stop)
        }))
        .task(kernel::module::Task::in_role("payment webhook retention", "scheduler", move |stop| {
            webhooks::purge_loop(purging, stop)
        }))
        .jobs(move |registry| {
            registry.register(webhooks::PROCESS_JOB, webhooks::ProcessEvent(webhooks));
            registry.register(sandbox::SETTLE_JOB, sandbox::SettleLater(sandbox));
            registry.register(invoices::service::PDF_JOB, invoices::service::MakePdf(pdfs));
            registry.register(payments::unneeded::REFUND_JOB, payments::unneeded::RefundUnneeded(refunds));
        }))
}

/// `/api/v1/payments`.
pub fn router(state: CommerceState) -> OpenApiRouter {
    let payments = OpenApiRouter::new()
        .routes(routes!(payments::routes::create_checkout))
        .routes(routes!(payments::routes::setup_card))
        .routes(routes!(payments::routes::list_cards))
        .routes(routes!(payments::routes::default_card))
        .routes(routes!(payments::routes::remove_card))
        .routes(routes!(payments::routes::list_payments))
        .routes(routes!(payments::routes::get_payment))
        .routes(routes!(payments::routes::refund_payment))
        .routes(routes!(webhooks::receive_webhook))
        .routes(routes!(sandbox::checkout_page, sandbox::submit_card))
        .routes(routes!(returns::paypal_return))
        .routes(routes!(returns::paypal_cancel))
        .routes(routes!(returns::cinetpay_return, returns::cinetpay_return_post));
    let invoices = OpenApiRouter::new()
        .routes(routes!(invoices::routes::list_invoices))
        .routes(routes!(invoices::routes::get_invoice))
        .routes(routes!(invoices::routes::invoice_pdf));
    let billing = OpenApiRouter::new()
        .routes(routes!(billing::routes::list_plans))
        .routes(routes!(billing::routes::billing_me))
        .routes(routes!(billing::routes::usage_history))
        .routes(routes!(billing::routes::get_profile, billing::routes::put_profile))
        .routes(routes!(billing::routes::subscribe))
        .routes(routes!(billing::routes::cancel_plan));
    let plans_admin = OpenApiRouter::new().routes(routes!(billing::routes::update_plan));
    let invoices_admin = OpenApiRouter::new()
        .routes(routes!(invoices::routes::admin_list_invoices))
        .routes(routes!(invoices::routes::admin_change_invoice_status))
        .routes(routes!(invoices::routes::admin_resend_invoice));
    let revenue_admin = OpenApiRouter::new().routes(routes!(invoices::routes::admin_revenue));
    let marketplace = OpenApiRouter::new()
        .routes(routes!(marketplace::routes::search_items, marketplace::routes::publish_item))
        .routes(routes!(marketplace::routes::get_item))
        .routes(routes!(marketplace::routes::purchase_item))
        .routes(routes!(marketplace::routes::install_item))
        .routes(routes!(marketplace::routes::list_reviews, marketplace::routes::add_review))
        .routes(routes!(marketplace::routes::seller_overview));
    let marketplace_admin = OpenApiRouter::new()
        .routes(routes!(marketplace::routes::review_queue))
        .routes(routes!(marketplace::routes::approve_item))
        .routes(routes!(marketplace::routes::reject_item));
    OpenApiRouter::new()
        .nest("/payments", payments)
        .nest("/billing/invoices", invoices)
        .nest("/billing", billing)
        .nest("/admin/billing/plans", plans_admin)
        .nest("/admin/billing/invoices", invoices_admin)
        .nest("/admin/billing", revenue_admin)
        .nest("/marketplace", marketplace)
        .nest("/admin/marketplace", marketplace_admin)
        .with_state(state)
}

pub fn migrations() -> Vec<kernel::migrate::Migration> {
    vec![
        kernel::migrate::Migration {
            module: "commerce",
            version: 1,
            name: "payments",
            script: include_str!("../migrations/0001_payments.sql"),
        },
        kernel::migrate::Migration {
            module: "commerce",
            version: 2,
            name: "invoices",
            script: include_str!("../migrations/0002_invoices.sql"),
        },
        kernel::migrate::Migration {
            module: "commerce",
            version: 3,
            name: "plans",
            script: include_str!("../migrations/0003_plans.sql"),
        },
        kernel::migrate::Migration {
            module: "commerce",
            version: 4,
            name: "usage",
            script: include_str!("../migrations/0004_usage.sql"),
        },
        kernel::migrate::Migration {
            module: "commerce",
            version: 5,
            name: "renewals",
            script: include_str!("../migrations/0005_renewals.sql"),
        },
        kernel::migrate::Migration {
            module: "commerce",
            version: 6,
            name: "provider_captures",
            script: include_str!("../migrations/0006_provider_captures.sql"),
        },
        kernel::migrate::Migration {
            module: "commerce",
            version: 7,
            name: "marketplace",
            script: include_str!("../migrations/0007_marketplace.sql"),
        },
        kernel::migrate::Migration {
            module: "commerce",
            version: 8,
            name: "billing_profiles",
            script: include_str!("../migrations/0008_billing_profiles.sql"),
        },
        kernel::migrate::Migration {
            module: "commerce",
            version: 9,
            name: "billing_customers",
            script: include_str!("../migrations/0009_billing_customers.sql"),
        },
    ]
}

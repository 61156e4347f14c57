//! Publishing, reviewing, listing, buying, installing and rating marketplace items.

use kernel::context::RequestContext;
use kernel::db::Conditions;
use kernel::outbox::{Event, Listener, ListenerFuture};
use kernel::pagination::{Page, PageRequest};
use kernel::principal::Principal;
use kernel::validate::Validator;
use kernel::{Error, OrgRole, PlatformRole, Result, Tx, args};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ITEM_COLUMNS, Item, ItemRow, Purchase, Review};
use crate::CommerceState;
use crate::payments::service::{CheckoutRequest, Purpose, create_checkout};
use foundation::audit::{self, AuditEntry, Severity};
use foundation::orgs::require_org_role;

/// What a payment for a marketplace purchase names as its purpose.
pub const PURPOSE: &str = "marketplace";
const KINDS: [&str; 2] = ["template", "component"];
const MAX_PRICE: i64 = 100_000_000;

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewItem {
    /// The seller organization (you must be a member).
    pub organization_id: String,
    /// `template` (a project of the organization) or `component` (one of its components).
    pub kind: String,
    /// For a template: the project published as it is now.
    pub project_id: Option<String>,
    /// For a component.
    pub component_id: Option<String>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Lowercase letters, digits and `-` (`landing-page`, `e-commerce`, `forms`…).
    pub category: String,
    /// Up to 8 https image URLs.
    #[serde(default)]
    pub screenshots: Vec<String>,
    /// Minor units; 0 (the default) is free.
    #[serde(default)]
    pub price: i64,
    #[serde(default = "default_currency")]
    pub currency: String,
    /// `MIT`, `CC-BY-4.0`, `commercial`…
    pub license: String,
}

fn default_currency() -> String {
    "EUR".into()
}

fn validate_item(input: &NewItem) -> Result<()> {
    let mut v = Validator::new();
    if !KINDS.contains(&input.kind.as_str()) {
        v.add("kind", "invalid_value", "kind is template or component");
    }
    match input.kind.as_str() {
        "template" if input.project_id.as_deref().is_none_or(str::is_empty) => {
            v.add("project_id", "required", "a template publishes a project: project_id is required")
        }
        "component" if input.component_id.as_deref().is_none_or(str::is_empty) => {
            v.add("component_id", "required", "component_id is required")
        }
        _ => {}
    }
    v.text("title", &input.title, 120);
    v.max_len("description", &input.description, 5000);
    let category_ok = (2..=40).contains(&input.category.len())
        && input.category.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !category_ok {
        v.add("category", "invalid_format", "category is 2 to 40 lowercase letters, digits and -");
    }
    if input.screenshots.len() > 8 {
        v.add("screenshots", "too_many", "at most 8 screenshots");
    }
    for (i, url) in input.screenshots.iter().enumerate() {
        let ok = url.starts_with("https://") && kernel::validate::is_http_url(url, 2000);
        if !ok {
            v.add(&format!("screenshots.{i}"), "invalid_format", "a screenshot is an https URL");
        }
    }
    if !(0..=MAX_PRICE).contains(&input.price) {
        v.add("price", "out_of_range", format!("price is in minor units, from 0 (free) to {MAX_PRICE}"));
    }
    if !(input.currency.len() == 3 && input.currency.bytes().all(|b| b.is_ascii_uppercase())) {
        v.add("currency", "invalid_format", "currency is an ISO 4217 code in capitals, like EUR");
    }
    v.text("license", &input.license, 80);
    v.finish()
}

async fn load(db: &kernel::Db, id: &str) -> Result<Option<ItemRow>> {
    db.fetch_optional(
        sqlx::AssertSqlSafe(format!("SELECT {ITEM_COLUMNS} FROM marketplace_items WHERE id = $1")),
        args![id],
    )
    .await
}

/// Publish an item: a snapshot of the project or component now, waiting for review.
pub async fn publish(
    state: &CommerceState,
    ctx: &RequestContext,
    principal: &Principal,
    input: NewItem,
) -> Result<Item> {
    validate_item(&input)?;
    require_org_role(&state.db, principal, &input.organization_id, OrgRole::Member).await?;
    if input.price > 0 && state.settings.marketplace_requires_verification {
        foundation::verification::service::require_verified(
            &state.db,
            &input.organization_id,
            "selling on the marketplace",
        )
        .await?;
    }
    // What is published is moderated (when a provider is configured).
    state.ai.check(&input.organization_id, "title", &input.title).await?;
    state.ai.check(&input.organization_id, "description", &input.description).await?;
    let db = &state.db;
    let payload = if input.kind == "template" {
        let project_id = input.project_id.as_deref().unwrap_or_default();
        let project = studio::projects::access(db, principal, project_id, OrgRole::Member).await?;
        if project.organization_id != input.organization_id {
            return Err(Error::field(
                "project_id",
                "other_organization",
                "the project belongs to another organization",
            ));
        }
        let bundle =
            studio::bundle::build(db, ctx, principal, project_id, studio::bundle::ExportOptions::default()).await?;
        serde_json::to_string(&bundle).map_err(Error::internal)?
    } else {
        let component_id = input.component_id.as_deref().unwrap_or_default();
        let component = studio::components::list(db, principal, &input.organization_id)
            .await?
            .into_iter()
            .find(|c| c.id == component_id)
            .ok_or_else(|| Error::field("component_id", "not_found", "no such component in this organization"))?;
        serde_json::to_string(&component).map_err(Error::internal)?
    };
    let id = kernel::ids::new_id();
    let now = kernel::time::now();
    let mut tx = db.begin().await?;
    tx.execute(
        "INSERT INTO marketplace_items (id, organization_id, created_by, kind, title, description, category, screenshots,
           price, currency, license, payload, status, rating_count, rating_sum, sales, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', 0, 0, 0, $13, $13)",
        args![
            &id,
            &input.organization_id,
            principal.actor_id(),
            &input.kind,
            input.title.trim(),
            input.description.trim(),
            &input.category,
            serde_json::to_string(&input.screenshots).map_err(Error::internal)?,
            input.price,
            &input.currency,
            input.license.trim(),
            payload,
            now
        ],
    )
    .await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new("MARKETPLACE_ITEM_SUBMITTED", Severity::Low, "marketplace_item")
            .by(principal)
            .org(&input.organization_id)
            .target(&id)
            .describe(format!("{} \"{}\" submitted for review", input.kind, input.title.trim())),
    )
    .await?;
    tx.commit().await?;
    let row = load(db, &id).await?.ok_or_else(|| Error::internal("the new item vanished"))?;
    Ok(Item::from(row))
}

/// Whether `principal` may see an item that is not approved: its seller, or an admin.
async fn is_seller_or_admin(db: &kernel::Db, principal: Option<&Principal>, item: &ItemRow) -> bool {
    let Some(p) = principal else { return false };
    p.authorize(PlatformRole::Admin).is_ok()
        || require_org_role(db, p, &item.organization_id, OrgRole::Member).await.is_ok()
}

/// One item: approved ones for anyone; others for their seller and administrators.
pub async fn get(db: &kernel::Db, principal: Option<&Principal>, id: &str) -> Result<Item> {
    let item = load(db, id).await?.ok_or_else(|| Error::not_found("item"))?;
    if item.status != "approved" && !is_seller_or_admin(db, principal, &item).await {
        return Err(Error::not_found("item"));
    }
    Ok(Item::from(item))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemSearch {
    /// Words in the title or description.
    pub q: Option<String>,
    pub category: Option<String>,
    /// `template` or `component`.
    pub kind: Option<String>,
    /// `true`: free items only; `false`: paid ones only.
    pub free: Option<bool>,
    /// At least this mean rating (1 to 5).
    pub min_rating: Option<i64>,
    /// `newest` (default), `rating`, `popular`, `price_asc`, `price_desc`.
    pub sort: Option<String>,
}

/// Approved items matching the search.
pub async fn search(db: &kernel::Db, s: &ItemSearch, page: PageRequest) -> Result<Page<Item>> {
    let mut c = Conditions::new();
    c.add_fixed("status = 'approved'");
    if let Some(q) = s.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        if q.chars().count() > 100 {
            return Err(Error::field("q", "too_long", "q is at most 100 characters"));
        }
        c.add(
            "(LOWER(title) LIKE LOWER({}) ESCAPE '\\' OR LOWER(description) LIKE LOWER({}) ESCAPE '\\')",
            kernel::db::like_contains(q),
        );
    }
    if let Some(category) = &s.category {
        c.add("category = {}", category.as_str());
    }
    if let Some(kind) = &s.kind {
        if !KINDS.contains(&kind.as_str()) {
            return Err(Error::field("kind", "invalid_value", "kind is template or component"));
        }
        c.add("kind = {}", kind.as_str());
    }
    match s.free {
        Some(true) => {
            c.add_fixed("price = 0");
        }
        Some(false) => {
            c.add_fixed("price > 0");
        }
        None => {}
    }
    if let Some(min) = s.min_rating {
        if !(1..=5).contains(&min) {
            return Err(Error::field("min_rating", "out_of_range", "min_rating is from 1 to 5"));
        }
        c.add("rating_count > 0 AND rating_sum >= {} * rating_count", min);
    }
    let order = match s.sort.as_deref() {
        None | Some("newest") => "created_at DESC, id",
        Some("rating") => {
            "CASE WHEN rating_count = 0 THEN 0 ELSE rating_sum * 1000 / rating_count END DESC, rating_count DESC, id"
        }
        Some("popular") => "sales DESC, created_at DESC, id",
        Some("price_asc") => "price ASC, created_at DESC, id",
        Some("price_desc") => "price DESC, created_at DESC, id",
        Some(_) => {
            return Err(Error::field(
                "sort",
                "invalid_value",
                "sort is newest, rating, popular, price_asc or price_desc",
            ));
        }
    };
    let where_sql = c.where_sql();
    let total: i64 = db
        .scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM marketplace_items {where_sql}")), c.args.clone())
        .await?;
    let (limit, offset) = (c.next_placeholder(1), c.next_placeholder(2));
    let mut all = c.args;
    all.push(page.limit().into());
    all.push(page.offset().into());
    let rows: Vec<ItemRow> = db
        .fetch_all(
            sqlx::AssertSqlSafe(format!(
                "SELECT {ITEM_COLUMNS} FROM marketplace_items {where_sql} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
            )),
            all,
        )
        .await?;
    Ok(Page::new(rows.into_iter().map(Item::from).collect(), page, total))
}

/// Items waiting for review (or any status), oldest first, for administrators.
pub async fn for_review(db: &kernel::Db, status: &str) -> Result<Vec<Item>> {
    if !["pending", "approved", "rejected"].contains(&status) {
        return Err(Error::field("status", "invalid_value", "status is pending, approved or rejected"));
    }
    let rows: Vec<ItemRow> = db
        .fetch_all(
            sqlx::AssertSqlSafe(format!(
                "SELECT {ITEM_COLUMNS} FROM marketplace_items WHERE status = $1 ORDER BY created_at LIMIT 500"
            )),
            args![status],
        )
        .await?;
    Ok(rows.into_iter().map(Item::from).collect())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct Decision {
    /// Required to reject: told to the seller.
    #[serde(default)]
    pub reason: String,
}

/// Approve or reject a pending item (platform administrators); audited.
pub async fn decide(
    state: &CommerceState,
    ctx: &RequestContext,
    admin: &Principal,
    id: &str,
    approve: bool,
    decision: Decision,
) -> Result<Item> {
    let reason = decision.reason.trim();
    if !approve {
        let mut v = Validator::new();
        v.text("reason", reason, 1000);
        v.finish()?;
    }
    let item = load(&state.db, id).await?.ok_or_else(|| Error::not_found("item"))?;
    let status = if approve { "approved" } else { "rejected" };
    let mut tx = state.db.begin().await?;
    let changed = tx
        .execute(
            "UPDATE marketplace_items SET status = $2, rejection_reason = $3, reviewed_by = $4, reviewed_at = $5, updated_at = $5
             WHERE id = $1 AND status = 'pending'",
            args![id, status, (!approve).then(|| reason.to_string()), admin.actor_id(), kernel::time::now()],
        )
        .await?;
    if changed == 0 {
        return Err(Error::Conflict(format!("the item is {}, not waiting for review", item.status)));
    }
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(
            if approve { "MARKETPLACE_ITEM_APPROVED" } else { "MARKETPLACE_ITEM_REJECTED" },
            Severity::Medium,
            "marketplace_item",
        )
        .by(admin)
        .org(&item.organization_id)
        .target(id)
        .describe(if approve {
            format!("\"{}\" approved", item.title)
        } else {
            format!("\"{}\" rejected: {reason}", item.title)
        }),
    )
    .await?;
    tx.commit().await?;
    get(&state.db, Some(admin), id).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PurchaseRequest {
    /// The buying organization (OWNER or ADMIN).
    pub organization_id: String,
    /// For a paid item: where the buyer goes after paying, or giving up.
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub provider: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseStarted {
    pub purchase: Purchase,
    /// Where to send the buyer (paid items); none when the item is free.
    pub checkout_url: Option<String>,
}

const PURCHASE_COLUMNS: &str =
    "id, item_id, organization_id, price, currency, payment_id, status, created_at, completed_at";

async fn purchase_of(ex: impl Into<kernel::Exec<'_>>, item: &str, org: &str) -> Result<Option<Purchase>> {
    ex.into()
        .fetch_optional(
            sqlx::AssertSqlSafe(format!(
                "SELECT {PURCHASE_COLUMNS} FROM marketplace_purchases WHERE item_id = $1 AND organization_id = $2"
            )),
            args![item, org],
        )
        .await
}

/// Buy an approved item: free ones at once, paid ones through a checkout whose success
/// completes the purchase.
pub async fn purchase(
    state: &CommerceState,
    ctx: &RequestContext,
    principal: &Principal,
    id: &str,
    req: PurchaseRequest,
) -> Result<PurchaseStarted> {
    require_org_role(&state.db, principal, &req.organization_id, OrgRole::Admin).await?;
    let item = get(&state.db, Some(principal), id).await?;
    if item.status != "approved" {
        return Err(Error::Conflict("the item is not on sale".into()));
    }
    if item.organization_id == req.organization_id {
        return Err(Error::Conflict("this is your own organization's item".into()));
    }
    let existing = purchase_of(&state.db, id, &req.organization_id).await?;
    if existing.as_ref().is_some_and(|p| p.status == "completed") {
        return Err(Error::Conflict("the organization already has this item".into()));
    }
    let purchase_id = existing.as_ref().map_or_else(kernel::ids::new_id, |p| p.id.clone());
    let now = kernel::time::now();
    if item.price == 0 {
        let mut tx = state.db.begin().await?;
        if existing.is_none() {
            tx.execute(
                "INSERT INTO marketplace_purchases (id, item_id, organization_id, bought_by, price, currency, status, created_at)
                 VALUES ($1, $2, $3, $4, 0, $5, 'pending', $6)",
                args![&purchase_id, id, &req.organization_id, principal.actor_id(), &item.currency, now],
            )
            .await?;
        }
        complete(&mut tx, &purchase_id, None).await?;
        let purchase = purchase_of(&mut tx, id, &req.organization_id).await?.ok_or_else(|| Error::internal("lost"))?;
        tx.commit().await?;
        return Ok(PurchaseStarted { purchase, checkout_url: None });
    }
    let (Some(success_url), Some(cancel_url)) = (req.success_url, req.cancel_url) else {
        return Err(Error::field("success_url", "required", "a paid item needs success_url and cancel_url"));
    };
    let checkout = CheckoutRequest {
        organization_id: req.organization_id.clone(),
        amount: item.price,
        currency: item.currency.clone(),
        description: format!("Marketplace: {}", item.title).chars().take(500).collect(),
        purpose: Some(Purpose { kind: PURPOSE.into(), id: purchase_id.clone() }),
        success_url,
        cancel_url,
        provider: req.provider,
    };
    let (payment, url) = create_checkout(state, ctx, principal, checkout).await?;
    let mut tx = state.db.begin().await?;
    if existing.is_some() {
        tx.execute(
            "UPDATE marketplace_purchases SET payment_id = $2, price = $3, currency = $4 WHERE id = $1 AND status = 'pending'",
            args![&purchase_id, &payment.id, item.price, &item.currency],
        )
        .await?;
    } else {
        tx.execute(
            "INSERT INTO marketplace_purchases (id, item_id, organization_id, bought_by, price, currency, payment_id, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8)",
            args![&purchase_id, id, &req.organization_id, principal.actor_id(), item.price, &item.currency, &payment.id, now],
        )
        .await?;
    }
    let purchase = purchase_of(&mut tx, id, &req.organization_id).await?.ok_or_else(|| Error::internal("lost"))?;
    tx.commit().await?;
    Ok(PurchaseStarted { purchase, checkout_url: Some(url) })
}

/// Mark a pending purchase completed by `payment_id` (none for a free item) and count the
/// sale, once; `false` when it was completed already.
async fn complete(tx: &mut Tx, purchase_id: &str, payment_id: Option<&str>) -> Result<bool> {
    let changed = tx
        .execute(
            "UPDATE marketplace_purchases SET status = 'completed', completed_at = $2, payment_id = COALESCE($3, payment_id)
             WHERE id = $1 AND status = 'pending'",
            args![purchase_id, kernel::time::now(), payment_id],
        )
        .await?;
    if changed == 1 {
        tx.execute(
            "UPDATE marketplace_items SET sales = sales + 1
             WHERE id = (SELECT item_id FROM marketplace_purchases WHERE id = $1)",
            args![purchase_id],
        )
        .await?;
    }
    Ok(changed == 1)
}

/// A paid `marketplace` payment completes its purchase. A second payment for a purchase
/// another one completed (a checkout started twice, both paid) is refunded.
pub struct Sales;

impl Listener for Sales {
    fn name(&self) -> &'static str {
        "commerce.marketplace_sales"
    }

    fn on_event<'a>(&'a self, event: &'a Event, tx: &'a mut Tx) -> ListenerFuture<'a> {
        Box::pin(async move {
            if event.kind != "payment.succeeded" || event.payload["purpose"]["kind"] != PURPOSE {
                return Ok(());
            }
            let Some(purchase_id) = event.payload["purpose"]["id"].as_str() else { return Ok(()) };
            let payment_id = event.payload["payment_id"].as_str();
            if complete(tx, purchase_id, payment_id).await? {
                return Ok(());
            }
            let paid_by: Option<(Option<String>,)> = tx
                .fetch_optional(
                    "SELECT payment_id FROM marketplace_purchases WHERE id = $1 AND status = 'completed'",
                    args![purchase_id],
                )
                .await?;
            if let (Some(payment_id), Some((paid_by,))) = (payment_id, paid_by)
                && paid_by.as_deref() != Some(payment_id)
            {
                crate::payments::unneeded::queue_refund(tx, payment_id, "the organization already had this item")
                    .await?;
            }
            Ok(())
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InstallRequest {
    /// The organization that bought it (MEMBER or more).
    pub organization_id: String,
    /// A template's new project name (the item's title by default).
    pub project_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Installed {
    pub kind: String,
    /// The new project (templates).
    pub project_id: Option<String>,
    /// The new component of the organization's library (components).
    pub component_id: Option<String>,
}

/// Install an item the organization has: a template as a new project, a component into
/// the library. A free item is acquired on the way.
pub async fn install(
    state: &CommerceState,
    ctx: &RequestContext,
    principal: &Principal,
    id: &str,
    req: InstallRequest,
) -> Result<Installed> {
    require_org_role(&state.db, principal, &req.organization_id, OrgRole::Member).await?;
    let item = get(&state.db, Some(principal), id).await?;
    let owned = purchase_of(&state.db, id, &req.organization_id).await?.is_some_and(|p| p.status == "completed");
    let own_item = item.organization_id == req.organization_id;
    if !owned && !own_item {
        if item.price > 0 || item.status != "approved" {
            return Err(Error::Forbidden("buy the item first".into()));
        }
        let mut tx = state.db.begin().await?;
        let purchase_id = kernel::ids::new_id();
        tx.execute(
            "INSERT INTO marketplace_purchases (id, item_id, organization_id, bought_by, price, currency, status, created_at)
             VALUES ($1, $2, $3, $4, 0, $5, 'pending', $6) ON CONFLICT (item_id, organization_id) DO NOTHING",
            args![&purchase_id, id, &req.organization_id, principal.actor_id(), &item.currency, kernel::time::now()],
        )
        .await?;
        complete(&mut tx, &purchase_id, None).await?;
        tx.commit().await?;
    }
    let (payload,): (String,) =
        state.db.fetch_one("SELECT payload FROM marketplace_items WHERE id = $1", args![id]).await?;
    let installed = if item.kind == "template" {
        let mut bundle: studio::bundle::Bundle = serde_json::from_str(&payload).map_err(Error::internal)?;
        bundle.project.name =
            req.project_name.as_deref().map(str::trim).filter(|n| !n.is_empty()).unwrap_or(&item.title).to_string();
        let project =
            studio::bundle::import(&state.db, &state.usage, ctx, principal, &req.organization_id, bundle).await?;
        Installed { kind: item.kind.clone(), project_id: Some(project.id), component_id: None }
    } else {
        let component: studio::components::Component = serde_json::from_str(&payload).map_err(Error::internal)?;
        let existing = studio::components::list(&state.db, principal, &req.organization_id).await?;
        // Names are unique in a library: a second install gets a suffix.
        let mut name = component.name.clone();
        let mut n = 2;
        while existing.iter().any(|c| c.name == name) {
            name = format!("{} {n}", component.name);
            n += 1;
        }
        let input = studio::components::ComponentInput {
            organization_id: Some(req.organization_id.clone()),
            name: Some(name),
            description: Some(component.description.clone()),
            props_schema: Some(component.props_schema.0.clone()),
            document: Some(component.document.0.clone()),
        };
        let created = studio::components::create(&state.db, ctx, principal, input).await?;
        Installed { kind: item.kind.clone(), project_id: None, component_id: Some(created.id) }
    };
    let mut tx = state.db.begin().await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new("MARKETPLACE_ITEM_INSTALLED", Severity::Low, "marketplace_item")
            .by(principal)
            .org(&req.organization_id)
            .target(id)
            .describe(format!("\"{}\" installed", item.title)),
    )
    .await?;
    tx.commit().await?;
    Ok(installed)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewReview {
    /// The organization that bought the item (you must be a member).
    pub organization_id: String,
    /// 1 to 5.
    pub rating: i64,
    #[serde(default)]
    pub comment: String,
}

/// Rate and review an item the organization has, once per person.
pub async fn add_review(state: &CommerceState, principal: &Principal, id: &str, input: NewReview) -> Result<Review> {
    let mut v = Validator::new();
    if !(1..=5).contains(&input.rating) {
        v.add("rating", "out_of_range", "rating is from 1 to 5");
    }
    v.max_len("comment", &input.comment, 2000);
    v.finish()?;
    require_org_role(&state.db, principal, &input.organization_id, OrgRole::Member).await?;
    get(&state.db, Some(principal), id).await?;
    let owned = purchase_of(&state.db, id, &input.organization_id).await?.is_some_and(|p| p.status == "completed");
    if !owned {
        return Err(Error::Forbidden("only organizations that have the item review it".into()));
    }
    let mut tx = state.db.begin().await?;
    let now = kernel::time::now();
    let inserted = tx
        .execute(
            "INSERT INTO marketplace_reviews (item_id, user_id, organization_id, rating, comment, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (item_id, user_id) DO NOTHING",
            args![id, principal.actor_id(), &input.organization_id, input.rating, input.comment.trim(), now],
        )
        .await?;
    if inserted == 0 {
        return Err(Error::Conflict("you have already reviewed this item".into()));
    }
    tx.execute(
        "UPDATE marketplace_items SET rating_count = rating_count + 1, rating_sum = rating_sum + $2 WHERE id = $1",
        args![id, input.rating],
    )
    .await?;
    tx.commit().await?;
    Ok(Review {
        user_id: principal.actor_id().to_string(),
        organization_id: input.organization_id,
        rating: input.rating,
        comment: input.comment.trim().to_string(),
        created_at: now,
    })
}

/// An item's reviews, newest first.
pub async fn reviews(
    db: &kernel::Db,
    principal: Option<&Principal>,
    id: &str,
    page: PageRequest,
) -> Result<Page<Review>> {
    get(db, principal, id).await?;
    let total = db.count("SELECT COUNT(*) FROM marketplace_reviews WHERE item_id = $1", args![id]).await?;
    let rows: Vec<Review> = db
        .fetch_all(
            "SELECT user_id, organization_id, rating, comment, created_at FROM marketplace_reviews
             WHERE item_id = $1 ORDER BY created_at DESC, user_id LIMIT $2 OFFSET $3",
            args![id, page.limit(), page.offset()],
        )
        .await?;
    Ok(Page::new(rows, page, total))
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Sale {
    pub purchase_id: String,
    pub item_id: String,
    pub item_title: String,
    pub buyer_organization_id: String,
    pub price: i64,
    pub currency: String,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<time::OffsetDateTime>,
}

#[derive(Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct Balance {
    pub currency: String,
    /// What buyers paid.
    pub gross: i64,
    /// The platform's commission (`commerce.marketplace_commission_bp`).
    pub commission: i64,
    /// What the seller is owed.
    pub net: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SellerOverview {
    /// The organization's items, any status.
    pub items: Vec<Item>,
    /// Completed sales, newest first (the last 500).
    pub sales: Vec<Sale>,
    pub balance: Vec<Balance>,
}

/// What a seller has published, sold and is owed (OWNER or ADMIN).
pub async fn seller(state: &CommerceState, principal: &Principal, organization_id: &str) -> Result<SellerOverview> {
    require_org_role(&state.db, principal, organization_id, OrgRole::Admin).await?;
    let rows: Vec<ItemRow> = state
        .db
        .fetch_all(
            sqlx::AssertSqlSafe(format!(
                "SELECT {ITEM_COLUMNS} FROM marketplace_items WHERE organization_id = $1 ORDER BY created_at DESC"
            )),
            args![organization_id],
        )
        .await?;
    let sales: Vec<Sale> = state
        .db
        .fetch_all(
            "SELECT p.id AS purchase_id, i.id AS item_id, i.title AS item_title, p.organization_id AS buyer_organization_id,
               p.price, p.currency, p.completed_at
             FROM marketplace_purchases p JOIN marketplace_items i ON i.id = p.item_id
             WHERE i.organization_id = $1 AND p.status = 'completed' ORDER BY p.completed_at DESC LIMIT 500",
            args![organization_id],
        )
        .await?;
    Ok(SellerOverview {
        items: rows.into_iter().map(Item::from).collect(),
        balance: balance(&sales, state.settings.marketplace_commission_bp),
        sales,
    })
}

/// Sums per currency, the commission rounded in the seller's favour.
pub fn balance(sales: &[Sale], commission_bp: i64) -> Vec<Balance> {
    let mut out: Vec<Balance> = Vec::new();
    for sale in sales.iter().filter(|s| s.price > 0) {
        let commission = sale.price * commission_bp / 10_000;
        match out.iter_mut().find(|b| b.currency == sale.currency) {
            Some(b) => {
                b.gross += sale.price;
                b.commission += commission;
                b.net += sale.price - commission;
            }
            None => out.push(Balance {
                currency: sale.currency.clone(),
                gross: sale.price,
                commission,
                net: sale.price - commission,
            }),
        }
    }
    out.sort_by(|a, b| a.currency.cmp(&b.currency));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sale(price: i64, currency: &str) -> Sale {
        Sale {
            purchase_id: "p".into(),
            item_id: "i".into(),
            item_title: "t".into(),
            buyer_organization_id: "o".into(),
            price,
            currency: currency.into(),
            completed_at: None,
        }
    }

    #[test]
    fn balances_are_per_currency_less_the_commission() {
        let sales = [sale(1999, "EUR"), sale(1, "EUR"), sale(0, "EUR"), sale(5000, "XOF")];
        assert_eq!(
            balance(&sales, 2000),
            vec![
                Balance { currency: "EUR".into(), gross: 2000, commission: 399, net: 1601 },
                Balance { currency: "XOF".into(), gross: 5000, commission: 1000, net: 4000 },
            ]
        );
    }
}

//! The platform administrators' side of invoicing: every invoice with filters, a status
//! change, sending the email again, and revenue per month (by plan), as JSON or CSV.

use std::collections::BTreeMap;

use kernel::context::RequestContext;
use kernel::db::Conditions;
use kernel::pagination::{Page, PageRequest};
use kernel::principal::Principal;
use kernel::{Error, Result, args};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use super::{COLUMNS, Invoice, InvoiceRow};
use crate::CommerceState;
use foundation::audit::{self, AuditEntry, Severity};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminInvoiceFilter {
    pub organization_id: Option<String>,
    /// `issued`, `paid` or `void`.
    pub status: Option<String>,
    /// `invoice` or `credit_note`.
    pub kind: Option<String>,
    /// Issued on or after this day (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Issued before the end of this day (`YYYY-MM-DD`).
    pub to: Option<String>,
    /// Part of the number (`2026-0004`).
    pub number: Option<String>,
}

fn day(field: &str, value: &str) -> Result<OffsetDateTime> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(value, &format)
        .map(|d| d.midnight().assume_utc())
        .map_err(|_| Error::field(field, "invalid_format", format!("{field} is a day as YYYY-MM-DD")))
}

/// Every invoice and credit note matching the filter, newest first.
pub async fn list(state: &CommerceState, filter: &AdminInvoiceFilter, page: PageRequest) -> Result<Page<Invoice>> {
    let mut c = Conditions::new();
    if let Some(org) = &filter.organization_id {
        c.add("organization_id = {}", org.as_str());
    }
    if let Some(status) = &filter.status {
        if !["issued", "paid", "void"].contains(&status.as_str()) {
            return Err(Error::field("status", "invalid_value", "status is issued, paid or void"));
        }
        c.add("status = {}", status.as_str());
    }
    if let Some(kind) = &filter.kind {
        if !["invoice", "credit_note"].contains(&kind.as_str()) {
            return Err(Error::field("kind", "invalid_value", "kind is invoice or credit_note"));
        }
        c.add("kind = {}", kind.as_str());
    }
    if let Some(from) = &filter.from {
        c.add("issued_at >= {}", day("from", from)?);
    }
    if let Some(to) = &filter.to {
        c.add("issued_at < {}", day("to", to)? + time::Duration::days(1));
    }
    if let Some(number) = &filter.number {
        c.add("number LIKE {} ESCAPE '\\'", kernel::db::like_contains(number));
    }
    let where_sql = c.where_sql();
    let total: i64 = state
        .db
        .scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM invoices {where_sql}")), c.args.clone())
        .await?;
    let (limit, offset) = (c.next_placeholder(1), c.next_placeholder(2));
    let mut args = c.args;
    args.push(page.limit().into());
    args.push(page.offset().into());
    let rows: Vec<InvoiceRow> = state
        .db
        .fetch_all(
            sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM invoices {where_sql} ORDER BY issued_at DESC, number DESC LIMIT {limit} OFFSET {offset}"
            )),
            args,
        )
        .await?;
    Ok(Page::new(rows.into_iter().map(Invoice::from).collect(), page, total))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StatusChange {
    /// `paid` (an issued invoice settled outside the platform) or `void` (an issued
    /// invoice cancelled; a paid one is corrected by a refund's credit note instead).
    pub status: String,
}

/// Move an invoice along `issued → paid` or `issued → void`; audited.
pub async fn change_status(
    state: &CommerceState,
    ctx: &RequestContext,
    admin: &Principal,
    id: &str,
    change: StatusChange,
) -> Result<Invoice> {
    if !["paid", "void"].contains(&change.status.as_str()) {
        return Err(Error::field("status", "invalid_value", "status is paid or void"));
    }
    let mut tx = state.db.begin().await?;
    let row: Option<(String, String, String)> =
        tx.fetch_optional("SELECT status, number, organization_id FROM invoices WHERE id = $1", args![id]).await?;
    let (current, number, org) = row.ok_or_else(|| Error::not_found("invoice"))?;
    if current == change.status {
        return Err(Error::Conflict(format!("the invoice is already {current}")));
    }
    if current != "issued" {
        return Err(Error::Conflict(format!(
            "a {current} invoice cannot become {}; a paid invoice is corrected by refunding its payment",
            change.status
        )));
    }
    let paid_at = (change.status == "paid").then(kernel::time::now);
    tx.execute(
        "UPDATE invoices SET status = $2, paid_at = COALESCE($3, paid_at) WHERE id = $1",
        args![id, &change.status, paid_at],
    )
    .await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new("INVOICE_STATUS_CHANGED", Severity::High, "invoice")
            .by(admin)
            .org(&org)
            .target(id)
            .describe(format!("{number}: {current} → {}", change.status)),
    )
    .await?;
    tx.commit().await?;
    super::service::get(state, admin, id).await
}

/// Send the invoice email to the buyer again, with a fresh download link; audited.
pub async fn resend(state: &CommerceState, ctx: &RequestContext, admin: &Principal, id: &str) -> Result<()> {
    let invoice = super::service::get(state, admin, id).await?;
    let to = invoice
        .buyer
        .get("email")
        .and_then(|e| e.as_str())
        .filter(|e| !e.is_empty())
        .ok_or_else(|| Error::Conflict("the invoice names no buyer email".into()))?;
    let mut tx = state.db.begin().await?;
    super::service::queue_email(state, &mut tx, &invoice, to).await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new("INVOICE_RESENT", Severity::Low, "invoice")
            .by(admin)
            .org(&invoice.organization_id)
            .target(id)
            .describe(format!("{} sent again", invoice.number)),
    )
    .await?;
    tx.commit().await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevenueQuery {
    /// Months back, this one included (1 to 36; 12 by default).
    pub months: Option<i64>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
    /// The sandbox's test documents instead of real sales.
    pub test: Option<bool>,
}

/// One month of revenue in one currency; amounts in minor units, VAT included.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct RevenueMonth {
    /// `YYYY-MM`.
    pub month: String,
    pub currency: String,
    pub invoices: i64,
    pub invoiced: i64,
    /// Credit notes (refunds), as a negative amount.
    pub credited: i64,
    pub net: i64,
    pub vat: i64,
    /// Net revenue by plan code (`other` for what is not a plan).
    #[schema(value_type = Object)]
    pub by_plan: BTreeMap<String, i64>,
}

#[derive(sqlx::FromRow)]
struct RevenueRow {
    number: String,
    kind: String,
    currency: String,
    total: i64,
    vat_amount: i64,
    issued_at: OffsetDateTime,
    purpose_kind: Option<String>,
    purpose_id: Option<String>,
}

/// Revenue per month for the last `months` months, oldest first (void documents left out).
pub async fn revenue(state: &CommerceState, months: i64, test: bool) -> Result<Vec<RevenueMonth>> {
    let today = kernel::time::now().date();
    let mut first = time::Date::from_calendar_date(today.year(), today.month(), 1).map_err(Error::internal)?;
    for _ in 1..months {
        first = first
            .previous_day()
            .and_then(|d| time::Date::from_calendar_date(d.year(), d.month(), 1).ok())
            .unwrap_or(first);
    }
    let rows: Vec<RevenueRow> = state
        .db
        .fetch_all(
            "SELECT i.number, i.kind, i.currency, i.total, i.vat_amount, i.issued_at, p.purpose_kind, p.purpose_id
             FROM invoices i JOIN payments p ON p.id = i.payment_id
             WHERE i.issued_at >= $1 AND i.status <> 'void'",
            args![first.midnight().assume_utc()],
        )
        .await?;
    let mut out: BTreeMap<(String, String), RevenueMonth> = BTreeMap::new();
    for RevenueRow { number, kind, currency, total, vat_amount: vat, issued_at, purpose_kind, purpose_id } in rows {
        if number.starts_with("TEST-") != test {
            continue;
        }
        let month = format!("{:04}-{:02}", issued_at.year(), u8::from(issued_at.month()));
        let entry = out.entry((month.clone(), currency.clone())).or_insert_with(|| RevenueMonth {
            month,
            currency,
            invoices: 0,
            invoiced: 0,
            credited: 0,
            net: 0,
            vat: 0,
            by_plan: BTreeMap::new(),
        });
        if kind == "invoice" {
            entry.invoices += 1;
            entry.invoiced += total;
        } else {
            entry.credited += total;
        }
        entry.net += total;
        entry.vat += vat;
        let plan = match (purpose_kind.as_deref(), purpose_id.as_deref()) {
            (Some("plan"), Some(id)) => id.split(':').next().unwrap_or(id).to_string(),
            _ => "other".to_string(),
        };
        *entry.by_plan.entry(plan).or_default() += total;
    }
    Ok(out.into_values().collect())
}

/// The same as CSV (one line per month and currency, a column per plan).
pub fn revenue_csv(months: &[RevenueMonth]) -> String {
    let mut plans: Vec<&String> = months.iter().flat_map(|m| m.by_plan.keys()).collect();
    plans.sort();
    plans.dedup();
    let mut out = String::from("month,currency,invoices,invoiced,credited,net,vat");
    for plan in &plans {
        out.push(',');
        out.push_str(&format!("net_{}", plan.to_lowercase()));
    }
    out.push_str("\r\n");
    for m in months {
        out.push_str(&format!(
            "{},{},{},{},{},{},{}",
            m.month, m.currency, m.invoices, m.invoiced, m.credited, m.net, m.vat
        ));
        for plan in &plans {
            out.push_str(&format!(",{}", m.by_plan.get(*plan).copied().unwrap_or(0)));
        }
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revenue_csv_has_a_column_per_plan() {
        let month = |m: &str, plan: &str, net: i64| RevenueMonth {
            month: m.into(),
            currency: "EUR".into(),
            invoices: 1,
            invoiced: net,
            credited: 0,
            net,
            vat: net / 6,
            by_plan: BTreeMap::from([(plan.to_string(), net)]),
        };
        let csv = revenue_csv(&[month("2026-11", "PRO", 1900), month("2026-12", "BUSINESS", 7900)]);
        assert_eq!(
            csv,
            "month,currency,invoices,invoiced,credited,net,vat,net_business,net_pro\r\n\
             2026-11,EUR,1,1900,0,1900,316,0,1900\r\n\
             2026-12,EUR,1,7900,0,7900,1316,7900,0\r\n"
        );
    }
}

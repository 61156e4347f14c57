//! Issuing invoices and credit notes, their PDF, and reading them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kernel::jobs::{Job, JobContext, JobFuture, JobHandler, NewJob};
use kernel::outbox::{Event, Listener, ListenerFuture};
use kernel::pagination::{Page, PageRequest};
use kernel::principal::Principal;
use kernel::{Error, OrgRole, Result, Tx, args};
use serde_json::{Value, json};

use super::pdf::{Line, page};
use super::{COLUMNS, Invoice, InvoiceRow, split_vat};
use crate::CommerceState;
use crate::payments::Payment;
use crate::payments::service::find;
use foundation::orgs::require_org_role;

pub const PDF_JOB: &str = "commerce.invoice.pdf";

/// The next number of `prefix` in `year`, in the caller's transaction: the counter row is
/// locked until it commits, so numbers follow each other without gaps or repeats.
async fn next_number(tx: &mut Tx, prefix: &str, year: i32) -> Result<String> {
    let key = format!("{prefix}-{year}");
    let (n,): (i64,) = tx
        .fetch_one(
            "INSERT INTO invoice_counters (counter, last) VALUES ($1, 1)
             ON CONFLICT (counter) DO UPDATE SET last = invoice_counters.last + 1 RETURNING last",
            args![&key],
        )
        .await?;
    Ok(format!("{key}-{n:06}"))
}

async fn issue(
    state: &CommerceState,
    tx: &mut Tx,
    event_id: &str,
    payment: &Payment,
    kind: &str,
    total: i64,
    refers_to: Option<String>,
) -> Result<()> {
    let done: i64 = tx.scalar("SELECT COUNT(*) FROM invoices WHERE event_id = $1", args![event_id]).await?;
    if done > 0 {
        return Ok(());
    }
    let now = kernel::time::now();
    // Sandbox payments are tests: their documents have a sequence of their own, so the legal
    // one holds real sales only.
    let prefix = match (kind == "invoice", payment.provider == "sandbox") {
        (true, false) => "INV",
        (false, false) => "CN",
        (true, true) => "TEST-INV",
        (false, true) => "TEST-CN",
    };
    let number = next_number(tx, prefix, now.year()).await?;
    // A credit note reverses its invoice's VAT: the invoice's rate (not today's), and the
    // note that completes the refund takes whatever VAT is left, so rounding cannot drift.
    let invoiced: Option<(i64, i64, i64)> = if kind == "invoice" {
        None
    } else {
        tx.fetch_optional(
            "SELECT vat_rate_bp, vat_amount, total FROM invoices WHERE payment_id = $1 AND kind = 'invoice'",
            args![&payment.id],
        )
        .await?
    };
    let profile = crate::billing::profile::find(&mut *tx, &payment.organization_id).await?;
    let rule = crate::billing::profile::vat_for(
        profile.as_ref(),
        &state.settings.vat_rates,
        state.settings.vat_rate_bp,
        &state.settings.seller_country,
    );
    let rate = invoiced.map_or(rule.rate_bp, |(rate, _, _)| rate);
    let (mut subtotal, mut vat) = split_vat(total, rate);
    if let Some((_, invoice_vat, invoice_total)) = invoiced {
        let (credited_total, credited_vat): (i64, i64) = tx
            .fetch_one(
                "SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT), CAST(COALESCE(SUM(vat_amount), 0) AS BIGINT) FROM invoices
                 WHERE payment_id = $1 AND kind = 'credit_note'",
                args![&payment.id],
            )
            .await?;
        if invoice_total + credited_total + total == 0 {
            vat = -(invoice_vat + credited_vat);
            subtotal = total - vat;
        }
    }
    let buyer_user = foundation::accounts::find_by_id(&mut *tx, &payment.created_by).await?;
    let person = buyer_user.as_ref().map(|u| format!("{} {}", u.first_name, u.last_name).trim().to_string());
    let mut buyer = json!({
        "organization_id": payment.organization_id,
        "name": person,
        "email": buyer_user.as_ref().map(|u| u.email.clone()),
    });
    if let Some(p) = &profile {
        let or_keep = |value: &str, key: &str, buyer: &mut serde_json::Value| {
            if !value.is_empty() {
                buyer[key] = json!(value);
            }
        };
        or_keep(&p.name, "name", &mut buyer);
        or_keep(&p.email, "email", &mut buyer);
        or_keep(&p.address, "address", &mut buyer);
        or_keep(&p.country, "country", &mut buyer);
        or_keep(&p.vat_id, "vat_id", &mut buyer);
    }
    // A credit note carries its invoice's mention.
    let mention = if invoiced.is_some() {
        tx.fetch_optional::<(Option<String>,)>(
            "SELECT vat_mention FROM invoices WHERE payment_id = $1 AND kind = 'invoice'",
            args![&payment.id],
        )
        .await?
        .and_then(|(m,)| m)
    } else {
        rule.mention.clone()
    };
    let seller = json!({"name": state.settings.seller_name, "address": state.settings.seller_address,
        "vat_id": state.settings.seller_vat_id});
    let lines =
        json!([{"description": payment.description, "quantity": 1, "unit_amount": subtotal, "amount": subtotal}]);
    let id = kernel::ids::new_id();
    tx.execute(
        "INSERT INTO invoices (id, organization_id, payment_id, event_id, number, kind, status, currency, subtotal,
           vat_rate_bp, vat_amount, total, seller, buyer, lines, refers_to, issued_at, paid_at, vat_mention)
         VALUES ($1, $2, $3, $4, $5, $6, 'paid', $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        args![
            &id,
            &payment.organization_id,
            &payment.id,
            event_id,
            &number,
            kind,
            &payment.currency,
            subtotal,
            rate,
            vat,
            total,
            seller.to_string(),
            buyer.to_string(),
            lines.to_string(),
            refers_to,
            now,
            payment.paid_at.unwrap_or(now),
            mention
        ],
    )
    .await?;
    kernel::jobs::enqueue(
        tx,
        NewJob::new(PDF_JOB, json!({"invoice_id": id})).idempotency_key(format!("invoice-pdf:{id}")),
    )
    .await?;
    Ok(())
}

/// Issues the invoice of every paid payment and the credit note of every refund, in the
/// event's dispatch transaction.
pub struct Invoicing(pub CommerceState);

impl Listener for Invoicing {
    fn name(&self) -> &'static str {
        "commerce.invoicing"
    }

    fn on_event<'a>(&'a self, event: &'a Event, tx: &'a mut Tx) -> ListenerFuture<'a> {
        Box::pin(async move {
            let kind = match event.kind.as_str() {
                "payment.succeeded" => "invoice",
                "payment.refunded" => "credit_note",
                _ => return Ok(()),
            };
            let Some(payment_id) = event.payload["payment_id"].as_str() else { return Ok(()) };
            let Some(payment) = find(&mut *tx, payment_id).await? else { return Ok(()) };
            if kind == "invoice" {
                return issue(&self.0, tx, &event.id, &payment, kind, payment.amount, None).await;
            }
            let amount = event.payload["amount"].as_i64().unwrap_or(0);
            let invoice: Option<(String,)> = tx
                .fetch_optional(
                    "SELECT number FROM invoices WHERE payment_id = $1 AND kind = 'invoice'",
                    args![payment_id],
                )
                .await?;
            issue(&self.0, tx, &event.id, &payment, kind, -amount, invoice.map(|(n,)| n)).await
        })
    }
}

async fn load(db: &kernel::Db, id: &str) -> Result<Option<InvoiceRow>> {
    db.fetch_optional(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM invoices WHERE id = $1")), args![id]).await
}

/// The PDF of an invoice, as the job makes it.
pub fn render(invoice: &Invoice) -> Vec<u8> {
    let title = if invoice.kind == "invoice" { "Invoice" } else { "Credit note" };
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let mut lines = vec![
        Line::new(50.0, 780.0, 22.0, format!("{title} {}", invoice.number)).bold(),
        Line::new(50.0, 755.0, 10.0, format!("Issued {}", invoice.issued_at.date())),
        Line::new(50.0, 720.0, 10.0, "From").bold(),
        Line::new(50.0, 705.0, 10.0, text(&invoice.seller, "name")),
        Line::new(50.0, 692.0, 10.0, text(&invoice.seller, "address")),
        Line::new(50.0, 679.0, 10.0, format!("VAT {}", text(&invoice.seller, "vat_id"))),
        Line::new(320.0, 720.0, 10.0, "To").bold(),
        Line::new(320.0, 705.0, 10.0, text(&invoice.buyer, "name")),
        Line::new(320.0, 692.0, 10.0, text(&invoice.buyer, "address")),
        Line::new(320.0, 679.0, 10.0, text(&invoice.buyer, "email")),
        Line::new(
            320.0,
            666.0,
            10.0,
            match text(&invoice.buyer, "vat_id") {
                id if id.is_empty() => format!("Organization {}", text(&invoice.buyer, "organization_id")),
                id => format!("VAT {id} ({})", text(&invoice.buyer, "country")),
            },
        ),
        Line::new(50.0, 630.0, 10.0, "Description").bold(),
        Line::new(450.0, 630.0, 10.0, "Amount").bold(),
    ];
    if let Some(refers) = &invoice.refers_to {
        lines.push(Line::new(50.0, 742.0, 10.0, format!("Corrects invoice {refers}")));
    }
    let mut y = 610.0;
    for item in invoice.lines.as_array().into_iter().flatten() {
        let amount = if invoice.kind == "invoice" { item["amount"].as_i64().unwrap_or(0) } else { invoice.subtotal };
        lines.push(Line::new(
            50.0,
            y,
            10.0,
            item["description"].as_str().unwrap_or_default().chars().take(70).collect::<String>(),
        ));
        lines.push(Line::new(450.0, y, 10.0, kernel::templates::format_price(amount, &invoice.currency)));
        y -= 16.0;
    }
    let rate = format!("{}.{:02} %", invoice.vat_rate_bp / 100, invoice.vat_rate_bp % 100);
    for (label, amount, bold) in [
        ("Subtotal".to_string(), invoice.subtotal, false),
        (format!("VAT {rate}"), invoice.vat_amount, false),
        ("Total".to_string(), invoice.total, true),
    ] {
        y -= 8.0;
        let mut l = Line::new(320.0, y, 11.0, label);
        let mut a = Line::new(450.0, y, 11.0, kernel::templates::format_price(amount, &invoice.currency));
        if bold {
            l = l.bold();
            a = a.bold();
        }
        lines.push(l);
        lines.push(a);
    }
    let paid = invoice.paid_at.map(|p| format!("Paid on {}.", p.date())).unwrap_or_default();
    lines.push(Line::new(50.0, 80.0, 9.0, paid));
    if let Some(mention) = &invoice.vat_mention {
        lines.push(Line::new(50.0, 95.0, 9.0, mention.clone()));
    }
    page(&lines, &[(50.0, 645.0, 545.0, 645.0), (320.0, y - 6.0, 545.0, y - 6.0)])
}

/// Makes the PDF, stores it with the invoice, and emails the buyer.
pub struct MakePdf(pub CommerceState);

impl JobHandler for MakePdf {
    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            let id = job.payload["invoice_id"].as_str().unwrap_or_default().to_string();
            let Some(row) = load(&self.0.db, &id).await? else {
                return Err(kernel::jobs::JobError::Permanent("the invoice does not exist".into()));
            };
            let invoice = Invoice::from(row);
            let pdf = render(&invoice);
            let mut tx = self.0.db.begin().await?;
            tx.execute("UPDATE invoices SET pdf = $2 WHERE id = $1", args![&id, STANDARD.encode(&pdf)]).await?;
            if let Some(to) = invoice.buyer["email"].as_str() {
                queue_email(&self.0, &mut tx, &invoice, to).await?;
            }
            ctx.complete_in(tx, Some(json!({"bytes": pdf.len()}))).await?;
            Ok(None)
        })
    }
}

/// An organization's invoices and credit notes, newest first (OWNER or ADMIN).
pub async fn list(
    state: &CommerceState,
    principal: &Principal,
    organization_id: &str,
    page: PageRequest,
) -> Result<Page<Invoice>> {
    require_org_role(&state.db, principal, organization_id, OrgRole::Admin).await?;
    let total: i64 =
        state.db.scalar("SELECT COUNT(*) FROM invoices WHERE organization_id = $1", args![organization_id]).await?;
    let rows: Vec<InvoiceRow> = state
        .db
        .fetch_all(
            sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM invoices WHERE organization_id = $1 ORDER BY issued_at DESC, number DESC LIMIT $2 OFFSET $3"
            )),
            args![organization_id, page.limit(), page.offset()],
        )
        .await?;
    Ok(Page::new(rows.into_iter().map(Invoice::from).collect(), page, total))
}

/// One invoice: an OWNER or ADMIN of its organization, or a platform administrator.
pub async fn get(state: &CommerceState, principal: &Principal, id: &str) -> Result<Invoice> {
    let row = load(&state.db, id).await?.ok_or_else(|| Error::not_found("invoice"))?;
    if principal.authorize(kernel::PlatformRole::Admin).is_err() {
        require_org_role(&state.db, principal, &row.organization_id, OrgRole::Admin)
            .await
            .map_err(|e| if matches!(e, Error::NotFound(_)) { Error::not_found("invoice") } else { e })?;
    }
    Ok(Invoice::from(row))
}

/// How long an emailed download link works.
const LINK_TTL_SECS: i64 = 30 * 24 * 3600;

/// Queue the invoice email (the editable `invoice` template) to `to`, with a fresh link.
pub(crate) async fn queue_email(state: &CommerceState, tx: &mut Tx, invoice: &Invoice, to: &str) -> Result<()> {
    let vars = json!({"number": invoice.number, "amount": invoice.total, "currency": invoice.currency,
        "issued_at": kernel::time::rfc3339(invoice.issued_at), "url": signed_pdf_url(state, &invoice.id)});
    let mail = kernel::templates::render_email(tx, "invoice", to, &vars).await?;
    kernel::mail::enqueue(tx, &mail).await
}

/// A link to the PDF that works without signing in, for 30 days (sent by email).
pub fn signed_pdf_url(state: &CommerceState, id: &str) -> String {
    format!(
        "{}/api/v1/billing/invoices/{id}/pdf?{}",
        state.public_url.trim_end_matches('/'),
        state.invoice_links.query(id, LINK_TTL_SECS)
    )
}

/// The PDF's bytes, once the queue has made it: for who may read the invoice, or with a
/// valid signed link.
pub async fn pdf(
    state: &CommerceState,
    principal: Option<&Principal>,
    id: &str,
    link: Option<(i64, &str)>,
) -> Result<(String, Vec<u8>)> {
    let invoice = match (link, principal) {
        (Some((expires, signature)), _) if state.invoice_links.valid(id, expires, signature) => {
            Invoice::from(load(&state.db, id).await?.ok_or_else(|| Error::not_found("invoice"))?)
        }
        (Some(_), None) => return Err(Error::Unauthorized("the download link is invalid or expired".into())),
        (_, Some(principal)) => get(state, principal, id).await?,
        (None, None) => return Err(Error::Unauthorized("sign in, or use the link of the invoice email".into())),
    };
    let (encoded,): (Option<String>,) = state.db.fetch_one("SELECT pdf FROM invoices WHERE id = $1", args![id]).await?;
    let encoded = encoded.ok_or_else(|| Error::Conflict("the PDF is being made; try again in a moment".into()))?;
    let bytes = STANDARD.decode(encoded).map_err(Error::internal)?;
    Ok((invoice.number, bytes))
}

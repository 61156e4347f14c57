//! Invoices: one for every paid payment and a credit note for every refund, numbered
//! without gaps per year (`INV-2026-000001`, `CN-2026-000001`: the counter moves in the
//! transaction that writes the document), with seller and buyer details, lines and VAT
//! (20 % by default: `commerce.vat_rate_bp`, in basis points). The PDF (A4) is made by the
//! job queue, stored with the invoice, and sent to the buyer with the editable `invoice`
//! email template.

pub mod admin;
pub mod pdf;
pub mod routes;
pub mod service;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

pub const COLUMNS: &str = "id, organization_id, payment_id, number, kind, status, currency, subtotal, vat_rate_bp, \
    vat_amount, total, seller, buyer, lines, refers_to, issued_at, paid_at, pdf IS NOT NULL AS pdf_ready, vat_mention";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvoiceRow {
    pub id: String,
    pub organization_id: String,
    pub payment_id: String,
    pub number: String,
    pub kind: String,
    pub status: String,
    pub currency: String,
    pub subtotal: i64,
    pub vat_rate_bp: i64,
    pub vat_amount: i64,
    pub total: i64,
    pub seller: String,
    pub buyer: String,
    pub lines: String,
    pub refers_to: Option<String>,
    pub issued_at: OffsetDateTime,
    pub paid_at: Option<OffsetDateTime>,
    pub pdf_ready: bool,
    pub vat_mention: Option<String>,
}

/// An invoice or credit note as the API shows it; amounts in minor units (a credit note's
/// are negative).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Invoice {
    pub id: String,
    pub organization_id: String,
    pub payment_id: String,
    pub number: String,
    /// `invoice` or `credit_note`.
    pub kind: String,
    /// `issued`, `paid` or `void`.
    pub status: String,
    pub currency: String,
    pub subtotal: i64,
    /// VAT rate in basis points (2000 = 20 %).
    pub vat_rate_bp: i64,
    pub vat_amount: i64,
    pub total: i64,
    #[schema(value_type = Object)]
    pub seller: Value,
    #[schema(value_type = Object)]
    pub buyer: Value,
    #[schema(value_type = Vec<Object>)]
    pub lines: Value,
    /// The invoice a credit note corrects.
    pub refers_to: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub issued_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub paid_at: Option<OffsetDateTime>,
    /// Whether the PDF is ready to download.
    pub pdf_ready: bool,
    /// Why the VAT is what it is (`VAT reverse charged…`), printed on the document.
    pub vat_mention: Option<String>,
}

impl From<InvoiceRow> for Invoice {
    fn from(r: InvoiceRow) -> Self {
        let json = |s: &str| serde_json::from_str(s).unwrap_or(Value::Null);
        Invoice {
            seller: json(&r.seller),
            buyer: json(&r.buyer),
            lines: json(&r.lines),
            id: r.id,
            organization_id: r.organization_id,
            payment_id: r.payment_id,
            number: r.number,
            kind: r.kind,
            status: r.status,
            currency: r.currency,
            subtotal: r.subtotal,
            vat_rate_bp: r.vat_rate_bp,
            vat_amount: r.vat_amount,
            total: r.total,
            refers_to: r.refers_to,
            vat_mention: r.vat_mention,
            issued_at: r.issued_at,
            paid_at: r.paid_at,
            pdf_ready: r.pdf_ready,
        }
    }
}

/// The tax-exclusive part of a tax-inclusive `total` at `rate_bp`, rounded to the nearest
/// minor unit: `total = subtotal + vat` exactly.
pub fn split_vat(total: i64, rate_bp: i64) -> (i64, i64) {
    let denominator = 10_000 + rate_bp;
    let subtotal = (total * 10_000 + denominator / 2 * total.signum()) / denominator;
    (subtotal, total - subtotal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vat_is_split_out_of_the_total_to_the_cent() {
        assert_eq!(split_vat(1200, 2000), (1000, 200));
        assert_eq!(split_vat(1999, 2000), (1666, 333));
        assert_eq!(split_vat(1, 2000), (1, 0));
        assert_eq!(split_vat(-1200, 2000), (-1000, -200));
        assert_eq!(split_vat(1000, 0), (1000, 0));
        for total in [1, 7, 99, 1999, 123_457] {
            let (sub, vat) = split_vat(total, 550);
            assert_eq!(sub + vat, total);
        }
    }
}

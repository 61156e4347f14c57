//! An organization's billing profile — the buyer on its invoices (name, address, country, VAT
//! number, invoice email) — and the VAT rate that follows from it: the rate of the buyer's
//! country (`commerce.vat_rates`), the default rate otherwise, and none for a business in
//! another country of the rate table that gives its VAT number (reverse charge).

use std::collections::BTreeMap;

use kernel::principal::Principal;
use kernel::validate::Validator;
use kernel::{OrgRole, Result, args};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::CommerceState;
use foundation::orgs::require_org_role;

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, sqlx::FromRow, PartialEq, Eq)]
pub struct BillingProfile {
    #[serde(default)]
    pub organization_id: String,
    /// The legal name on invoices.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub address: String,
    /// ISO 3166-1 alpha-2 (`FR`, `DE`, `SN`), or empty.
    #[serde(default)]
    pub country: String,
    /// The buyer's VAT number, or empty (a consumer).
    #[serde(default)]
    pub vat_id: String,
    /// Where invoices go (the buyer's own address when empty).
    #[serde(default)]
    pub email: String,
}

/// The VAT an invoice applies, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VatRule {
    pub rate_bp: i64,
    /// A mention for the invoice (`VAT reverse charged…`), when one is due.
    pub mention: Option<String>,
}

/// The rate for a buyer: reverse charge for a business (VAT number) in another country of
/// the rate table, the country's rate, or the default.
pub fn vat_for(
    profile: Option<&BillingProfile>,
    rates: &BTreeMap<String, i64>,
    default_bp: i64,
    seller_country: &str,
) -> VatRule {
    let Some(p) = profile.filter(|p| !p.country.is_empty()) else {
        return VatRule { rate_bp: default_bp, mention: None };
    };
    let in_area = rates.contains_key(&p.country);
    if in_area && !p.vat_id.is_empty() && !seller_country.is_empty() && p.country != seller_country {
        return VatRule {
            rate_bp: 0,
            mention: Some(format!("VAT reverse charged: the buyer ({}) accounts for it", p.vat_id)),
        };
    }
    VatRule { rate_bp: rates.get(&p.country).copied().unwrap_or(default_bp), mention: None }
}

pub async fn find(ex: impl Into<kernel::Exec<'_>>, organization_id: &str) -> Result<Option<BillingProfile>> {
    ex.into()
        .fetch_optional(
            "SELECT organization_id, name, address, country, vat_id, email FROM billing_profiles WHERE organization_id = $1",
            args![organization_id],
        )
        .await
}

/// The profile (empty fields when none was set), for an OWNER or ADMIN.
pub async fn get(state: &CommerceState, principal: &Principal, organization_id: &str) -> Result<BillingProfile> {
    require_org_role(&state.db, principal, organization_id, OrgRole::Admin).await?;
    Ok(find(&state.db, organization_id)
        .await?
        .unwrap_or(BillingProfile { organization_id: organization_id.to_string(), ..Default::default() }))
}

/// Set the profile (OWNER or ADMIN); later invoices use it.
pub async fn put(state: &CommerceState, principal: &Principal, input: BillingProfile) -> Result<BillingProfile> {
    let mut v = Validator::new();
    v.max_len("name", &input.name, 200);
    v.max_len("address", &input.address, 500);
    if !(input.country.is_empty()
        || (input.country.len() == 2 && input.country.bytes().all(|b| b.is_ascii_uppercase())))
    {
        v.add("country", "invalid_format", "country is an ISO 3166 code in two capitals, like FR");
    }
    if !(input.vat_id.len() <= 32 && input.vat_id.bytes().all(|b| b.is_ascii_alphanumeric())) {
        v.add("vat_id", "invalid_format", "vat_id is up to 32 letters and digits, like FR40303265045");
    }
    if !input.email.is_empty() {
        v.email("email", &input.email);
    }
    v.finish()?;
    require_org_role(&state.db, principal, &input.organization_id, OrgRole::Admin).await?;
    let now: OffsetDateTime = kernel::time::now();
    state
        .db
        .execute(
            "INSERT INTO billing_profiles (organization_id, name, address, country, vat_id, email, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (organization_id) DO UPDATE SET name = $2, address = $3, country = $4, vat_id = $5, email = $6,
               updated_at = $7",
            args![
                &input.organization_id,
                input.name.trim(),
                input.address.trim(),
                &input.country,
                &input.vat_id,
                input.email.trim(),
                now
            ],
        )
        .await?;
    get(state, principal, &input.organization_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vat_follows_the_buyer() {
        let rates = BTreeMap::from([("FR".to_string(), 2000), ("DE".to_string(), 1900)]);
        let buyer = |country: &str, vat_id: &str| BillingProfile {
            country: country.into(),
            vat_id: vat_id.into(),
            ..Default::default()
        };
        let rule = |p: Option<&BillingProfile>| vat_for(p, &rates, 2000, "FR");
        assert_eq!(rule(None).rate_bp, 2000, "no profile: the default");
        assert_eq!(rule(Some(&buyer("DE", ""))).rate_bp, 1900, "a German consumer: Germany's rate");
        let business = rule(Some(&buyer("DE", "DE123456789")));
        assert_eq!(business.rate_bp, 0, "a German business: reverse charge");
        assert!(business.mention.is_some_and(|m| m.contains("DE123456789")));
        assert_eq!(rule(Some(&buyer("FR", "FR40303265045"))).rate_bp, 2000, "a French business pays French VAT");
        assert_eq!(rule(Some(&buyer("SN", "SN123"))).rate_bp, 2000, "outside the table: the default");
    }
}

//! Who may join a page's room, and how: members of the page's organization (a platform
//! access token or an API key) edit; a Studio share link of the page's project views.

use axum::http::{HeaderMap, HeaderValue, header};
use foundation::FoundationState;
use kernel::principal::Principal;
use kernel::{Error, OrgRole, Result};

/// A page and where it belongs.
#[derive(Debug, Clone)]
pub struct PageRef {
    pub page_id: String,
    pub project_id: String,
    pub organization_id: String,
}

/// What a connection was granted.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The account (or API key) acting; `share:<link prefix>` for a share link.
    pub actor_id: String,
    pub read_only: bool,
}

/// How a connection proved who it is, kept to check again while it stays open.
#[derive(Debug, Clone)]
pub enum Credential {
    Token(String),
    Share(String),
}

/// The page, if it exists and its project is not in the trash.
pub async fn page(foundation: &FoundationState, page_id: &str) -> Result<PageRef> {
    let found = studio::pages::service::locate(&foundation.db, page_id).await?;
    let page = found.ok_or_else(|| Error::not_found("page"))?;
    Ok(PageRef { page_id: page.page_id, project_id: page.project_id, organization_id: page.organization_id })
}

/// The principal behind a bearer token or API key.
pub async fn principal_of(foundation: &FoundationState, token: &str) -> Result<Principal> {
    let mut headers = HeaderMap::new();
    let value = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| Error::Unauthorized("the token is not valid".into()))?;
    headers.insert(header::AUTHORIZATION, value);
    match foundation::authn::authenticate(foundation, &headers).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(Error::Unauthorized("a token is required".into())),
        Err(failure) => Err(Error::Unauthorized(failure.0)),
    }
}

/// Check `credential` against the page: what it grants, or why not (401: no valid
/// credential; 404: the page is not visible to it).
pub async fn authorize(foundation: &FoundationState, page: &PageRef, credential: &Credential) -> Result<Grant> {
    match credential {
        Credential::Token(token) => {
            let principal = principal_of(foundation, token).await?;
            editor(foundation, page, &principal).await
        }
        Credential::Share(token) => {
            let project = studio::projects::share::project_of_token(&foundation.db, token).await?;
            if project.as_deref() != Some(page.project_id.as_str()) {
                return Err(Error::not_found("page"));
            }
            Ok(Grant { actor_id: format!("share:{}", token.get(..10).unwrap_or(token)), read_only: true })
        }
    }
}

/// A principal's right on the page: members of its organization edit.
pub async fn editor(foundation: &FoundationState, page: &PageRef, principal: &Principal) -> Result<Grant> {
    foundation::orgs::require_org_role(&foundation.db, principal, &page.organization_id, OrgRole::Member)
        .await
        .map_err(|e| match e {
            Error::NotFound(_) | Error::Forbidden(_) => Error::not_found("page"),
            other => other,
        })?;
    Ok(Grant { actor_id: principal.actor_id().to_string(), read_only: false })
}

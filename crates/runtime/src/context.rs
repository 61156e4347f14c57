//! Who is calling an app and against which schema: the app (by slug), its current
//! deployment's collections (cached: deployments are immutable), and the requester: a
//! superuser (a member or API key of the owning organization), an end user of this app
//! (an app token from one of its auth collections), or a guest.

use std::sync::Arc;

use axum::http::HeaderMap;
use collections::ddl::Namespace;
use collections::model::{Collection, CollectionType};
use collections::schema::ProjectSchema;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, encode};
use kernel::principal::Principal;
use kernel::{OrgRole, args};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::RuntimeState;
use crate::pb::{PbError, PbResult};

pub const APP_AUDIENCE: &str = "socle-app";

#[derive(Debug, Clone)]
pub struct AppRef {
    pub id: String,
    pub organization_id: String,
    pub deployment: i64,
}

#[derive(Debug, Clone)]
pub enum Requester {
    Superuser,
    User { collection: Box<Collection>, record: Map<String, Value> },
    Guest,
}

pub struct AppCtx {
    pub db: kernel::Db,
    pub app: AppRef,
    pub schema: Arc<ProjectSchema>,
    pub requester: Requester,
}

impl AppCtx {
    pub fn ns(&self) -> &Namespace {
        &self.schema.ns
    }

    pub fn is_superuser(&self) -> bool {
        matches!(self.requester, Requester::Superuser)
    }

    pub fn collection(&self, key: &str) -> PbResult<&Collection> {
        self.schema
            .collections
            .iter()
            .find(|c| c.name == key)
            .or_else(|| self.schema.collections.iter().find(|c| c.id == key))
            .ok_or_else(PbError::not_found)
    }

    /// `@request.auth` as rules see it.
    pub fn auth_value(&self) -> Option<Value> {
        match &self.requester {
            Requester::User { collection, record } => {
                let mut r = record.clone();
                r.insert("collectionId".into(), Value::String(collection.id.clone()));
                r.insert("collectionName".into(), Value::String(collection.name.clone()));
                Some(Value::Object(r))
            }
            _ => None,
        }
    }
}

/// The claims of an end user's token. `id`, `collectionId`, `type` and `refreshable` are
/// PocketBase's (its SDK reads them); `app` and `tk` bind the token to one app and to the
/// record's token key, so that a password change signs every session out.
#[derive(Debug, Serialize, Deserialize)]
pub struct AppClaims {
    pub id: String,
    #[serde(rename = "collectionId")]
    pub collection_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub refreshable: bool,
    pub app: String,
    pub tk: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

pub struct AppTokens {
    encoding: EncodingKey,
    /// The signing secret's key first, then those of the previous secrets.
    decoding: Vec<DecodingKey>,
    validation: Validation,
    pub ttl_secs: i64,
}

impl AppTokens {
    pub fn new(secret: &[u8], ttl_secs: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[APP_AUDIENCE]);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "aud"]);
        AppTokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: vec![DecodingKey::from_secret(secret)],
            validation,
            ttl_secs,
        }
    }

    /// Also accept tokens signed with these earlier secrets (never used to sign).
    pub fn with_previous<'a>(mut self, previous: impl IntoIterator<Item = &'a [u8]>) -> Self {
        self.decoding.extend(previous.into_iter().map(DecodingKey::from_secret));
        self
    }

    pub fn fingerprint(token_key: &str) -> String {
        kernel::ids::sha256_hex(token_key)[..16].to_string()
    }

    pub fn issue(&self, app_id: &str, collection_id: &str, record_id: &str, token_key: &str) -> PbResult<String> {
        let now = kernel::time::now().unix_timestamp();
        let claims = AppClaims {
            id: record_id.into(),
            collection_id: collection_id.into(),
            kind: "auth".into(),
            refreshable: true,
            app: app_id.into(),
            tk: Self::fingerprint(token_key),
            aud: APP_AUDIENCE.into(),
            iat: now,
            exp: now + self.ttl_secs,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| kernel::Error::internal(e).into())
    }

    pub fn verify(&self, token: &str) -> Option<AppClaims> {
        foundation::tokens::decode_with_any::<AppClaims>(token, &self.decoding, &self.validation).ok()
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?.trim();
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).unwrap_or(value).trim();
    (!token.is_empty()).then_some(token)
}

/// Resolve the app, its schema and the requester. An unknown or undeployed app is a 404;
/// an invalid end-user token makes a guest, as in PocketBase.
pub async fn resolve(
    state: &RuntimeState,
    slug: &str,
    principal: Option<&Principal>,
    headers: &HeaderMap,
) -> PbResult<AppCtx> {
    let db = &state.db;
    let (id, organization_id, deployment) = state.app_by_slug(slug).await?.ok_or_else(PbError::not_found)?;
    let deployment = deployment.ok_or_else(PbError::not_found)?;
    // Every call to a deployed app counts against its organization's daily allowance.
    state.usage.charge(&organization_id, kernel::Metric::ApiCallsPerDay, 1).await?;
    let schema = state.schema(&id, deployment).await?;
    let app = AppRef { id, organization_id, deployment };
    let mut requester = Requester::Guest;
    if let Some(p) = principal
        && foundation::orgs::require_org_role(db, p, &app.organization_id, OrgRole::Member).await.is_ok()
    {
        requester = Requester::Superuser;
    } else if let Some(token) = bearer(headers)
        && let Some(claims) = state.tokens.verify(token)
        && claims.app == app.id
        && claims.kind == "auth"
        && let Some(collection) =
            schema.collections.iter().find(|c| c.id == claims.collection_id && c.kind == CollectionType::Auth)
    {
        let rows =
            collections::rows::read_rows(db, &schema.ns, collection, Some(("r.\"id\" = $1".into(), args![&claims.id])))
                .await?;
        if let Some(record) = rows.into_iter().next()
            && record.get("tokenKey").and_then(Value::as_str).map(AppTokens::fingerprint).as_deref()
                == Some(claims.tk.as_str())
        {
            requester = Requester::User { collection: Box::new(collection.clone()), record };
        }
    }
    Ok(AppCtx { db: db.clone(), app, schema, requester })
}

/// An app acting as its own owner (a workflow step writing records): a superuser of its
/// current deployment. Returns the context and the app's project. An app never deployed is
/// a 404.
pub async fn as_owner(state: &RuntimeState, app_id: &str) -> kernel::Result<(AppCtx, String)> {
    let row: Option<(String, String, Option<i64>)> = state
        .db
        .fetch_optional(
            "SELECT organization_id, project_id, current_deployment FROM runtime_apps WHERE id = $1",
            args![app_id],
        )
        .await?;
    let (organization_id, project_id, deployment) = row.ok_or_else(|| kernel::Error::not_found("app"))?;
    let deployment =
        deployment.ok_or_else(|| kernel::Error::BadRequest(format!("the app {app_id} is not deployed")))?;
    let schema = state.schema(app_id, deployment).await?;
    let app = AppRef { id: app_id.to_string(), organization_id, deployment };
    Ok((AppCtx { db: state.db.clone(), app, schema, requester: Requester::Superuser }, project_id))
}

//! Verification of organizations: KYC (an individual) or KYB (a business). An OWNER or ADMIN
//! submits documents with typed metadata; the state goes pending → approved, or rejected
//! with a reason → resubmitted (pending again) → ...; platform administrators review them
//! with the documents inline. Every step is audited, decisions are emailed to whoever
//! submitted, and other modules ask [`require_verified`] before features that need it.

use std::collections::BTreeMap;

use kernel::context::RequestContext;
use kernel::pagination::{Page, PageRequest};
use kernel::principal::Principal;
use kernel::{Error, OrgRole, Result, args};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::FoundationState;
use crate::audit::{self, AuditEntry, Severity};
use crate::orgs::require_org_role;

/// Documents accepted, sniffed from their bytes.
const DOCUMENT_TYPES: [&str; 4] = ["application/pdf", "image/png", "image/jpeg", "image/webp"];
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// What each kind of document says about itself: (key, required).
fn metadata_keys(kind: &str) -> &'static [(&'static str, bool)] {
    match kind {
        "identity" => {
            &[("document_type", true), ("full_name", true), ("number", true), ("country", true), ("expires_on", true)]
        }
        "company_registration" => &[("company_name", true), ("registration_number", true), ("country", true)],
        "proof_of_address" => &[("address", true), ("issued_on", true)],
        _ => &[],
    }
}

/// The documents a verification of `kind` needs.
fn required_documents(kind: &str) -> &'static [&'static str] {
    match kind {
        "business" => &["identity", "company_registration"],
        _ => &["identity", "proof_of_address"],
    }
}

const DOCUMENT_KINDS: [&str; 3] = ["identity", "company_registration", "proof_of_address"];

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Document {
    pub id: String,
    /// `identity`, `company_registration` or `proof_of_address`.
    pub kind: String,
    pub name: String,
    pub mime: String,
    pub size: i64,
    /// What the submitter said of it (`document_type`, `number`, `country`, ...).
    #[sqlx(try_from = "String")]
    #[schema(value_type = Object)]
    pub metadata: Metadata,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// A document's metadata, kept as JSON text (the same column type on both databases).
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Metadata(pub Value);

impl TryFrom<String> for Metadata {
    type Error = serde_json::Error;

    fn try_from(text: String) -> std::result::Result<Self, Self::Error> {
        serde_json::from_str(&text).map(Metadata)
    }
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Verification {
    pub organization_id: String,
    /// `individual` (KYC) or `business` (KYB).
    pub kind: String,
    /// `unverified`, `pending`, `approved`, `rejected` or `resubmitted` (pending again after
    /// a rejection).
    pub status: String,
    /// How many times documents were sent.
    pub submissions: i64,
    pub submitted_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub submitted_at: Option<OffsetDateTime>,
    pub reviewed_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reviewed_at: Option<OffsetDateTime>,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// The latest submission's documents.
    #[sqlx(skip)]
    pub documents: Vec<Document>,
}

impl Verification {
    fn unverified(org: &str) -> Self {
        Verification {
            organization_id: org.to_string(),
            kind: String::new(),
            status: "unverified".into(),
            submissions: 0,
            submitted_by: None,
            submitted_at: None,
            reviewed_by: None,
            reviewed_at: None,
            reason: None,
            documents: Vec::new(),
        }
    }
}

/// One uploaded document, as the handler read it.
pub struct UploadedDocument {
    pub kind: String,
    pub name: String,
    pub bytes: axum::body::Bytes,
}

/// A submission: its kind, the metadata of each document (by document kind), the files.
pub struct Submission {
    pub kind: String,
    pub metadata: Map<String, Value>,
    pub documents: Vec<UploadedDocument>,
}

const COLUMNS: &str =
    "organization_id, kind, status, submissions, submitted_by, submitted_at, reviewed_by, reviewed_at, reason";

async fn load(db: &kernel::Db, org: &str) -> Result<Option<Verification>> {
    let row: Option<Verification> = db
        .fetch_optional(
            sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM org_verifications WHERE organization_id = $1")),
            args![org],
        )
        .await?;
    let Some(mut v) = row else { return Ok(None) };
    v.documents = db
        .fetch_all(
            "SELECT id, kind, name, mime, size, metadata, created_at FROM org_verification_documents
             WHERE organization_id = $1 AND submission = $2 ORDER BY kind",
            args![org, v.submissions],
        )
        .await?;
    Ok(Some(v))
}

/// Whether `org` is verified (approved).
pub async fn is_verified(db: &kernel::Db, org: &str) -> Result<bool> {
    let status: Option<(String,)> =
        db.fetch_optional("SELECT status FROM org_verifications WHERE organization_id = $1", args![org]).await?;
    Ok(status.is_some_and(|(s,)| s == "approved"))
}

/// For features that need a verified organization: 403 naming what is missing.
pub async fn require_verified(db: &kernel::Db, org: &str, feature: &str) -> Result<()> {
    if is_verified(db, org).await? {
        return Ok(());
    }
    Err(Error::Forbidden(format!(
        "{feature} needs a verified organization: send its documents (POST /api/v1/foundation/verification/{org}) and wait for approval"
    )))
}

/// The organization's verification (OWNER or ADMIN: the documents are personal data).
pub async fn get(db: &kernel::Db, principal: &Principal, org: &str) -> Result<Verification> {
    require_org_role(db, principal, org, OrgRole::Admin).await?;
    Ok(load(db, org).await?.unwrap_or_else(|| Verification::unverified(org)))
}

fn is_date(s: &str) -> Option<time::Date> {
    time::Date::parse(s, &time::format_description::well_known::Iso8601::DATE).ok()
}

/// Each document's metadata: the keys its kind needs, as text; dates as `YYYY-MM-DD`;
/// countries as ISO 3166 alpha-2; an identity document not expired, a proof of address not
/// from the future.
fn check_metadata(v: &mut kernel::validate::Validator, kind: &str, meta: Option<&Value>) -> Map<String, Value> {
    let field = |key: &str| format!("metadata.{kind}.{key}");
    let Some(meta) = meta else {
        v.add(&format!("metadata.{kind}"), "required", format!("metadata.{kind} is required"));
        return Map::new();
    };
    let Some(meta) = meta.as_object() else {
        v.add(&format!("metadata.{kind}"), "invalid_type", format!("metadata.{kind} is an object"));
        return Map::new();
    };
    let mut clean = Map::new();
    let today = kernel::time::now().date();
    for &(key, required) in metadata_keys(kind) {
        match meta.get(key) {
            None | Some(Value::Null) if required => v.add(&field(key), "required", format!("{key} is required")),
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.trim().is_empty() || s.chars().count() > 300 => {
                v.add(&field(key), "invalid_format", format!("{key} is 1 to 300 characters"))
            }
            Some(Value::String(s)) => {
                let s = s.trim();
                match key {
                    "country" if !(s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())) => {
                        v.add(&field(key), "invalid_format", "country is an ISO 3166 alpha-2 code (FR, CI, US)")
                    }
                    "document_type" if !["passport", "id_card", "driving_licence", "residence_permit"].contains(&s) => {
                        v.add(
                            &field(key),
                            "invalid_value",
                            "document_type is passport, id_card, driving_licence or residence_permit",
                        )
                    }
                    "expires_on" => match is_date(s) {
                        None => v.add(&field(key), "invalid_format", "expires_on is a date (YYYY-MM-DD)"),
                        Some(d) if d <= today => v.add(&field(key), "expired", "the identity document has expired"),
                        _ => {}
                    },
                    "issued_on" => match is_date(s) {
                        None => v.add(&field(key), "invalid_format", "issued_on is a date (YYYY-MM-DD)"),
                        Some(d) if d > today => v.add(&field(key), "invalid_value", "issued_on is not in the future"),
                        _ => {}
                    },
                    _ => {}
                }
                clean.insert(key.to_string(), Value::String(s.to_string()));
            }
            Some(_) => v.add(&field(key), "invalid_type", format!("{key} is text")),
        }
    }
    clean
}

/// Send documents (OWNER or ADMIN of the organization). A first submission or one after a
/// rejection; while one waits for review or once approved, 409. Audited.
pub async fn submit(
    state: &FoundationState,
    ctx: &RequestContext,
    principal: &Principal,
    org: &str,
    input: Submission,
) -> Result<Verification> {
    let db = &state.db;
    let mut v = kernel::validate::Validator::new();
    if !["individual", "business"].contains(&input.kind.as_str()) {
        v.add("kind", "invalid_value", "kind is individual (KYC) or business (KYB)");
    }
    let mut documents: BTreeMap<&str, (&UploadedDocument, &'static str, Map<String, Value>)> = BTreeMap::new();
    for doc in &input.documents {
        let Some(kind) = DOCUMENT_KINDS.iter().find(|k| **k == doc.kind) else { continue };
        if documents.contains_key(kind) {
            v.add(kind, "duplicate", format!("one {kind} document per submission"));
            continue;
        }
        let mime = kernel::storage::sniff(&doc.bytes, &doc.name);
        if doc.bytes.is_empty() {
            v.add(kind, "empty", "the file is empty");
        } else if doc.bytes.len() > MAX_DOCUMENT_BYTES {
            v.add(kind, "too_large", format!("a document is at most {MAX_DOCUMENT_BYTES} bytes"));
        } else if !DOCUMENT_TYPES.contains(&mime) {
            v.add(kind, "invalid_type", format!("documents are PDF, PNG, JPEG or WebP ({mime} given)"));
        }
        let meta = check_metadata(&mut v, kind, input.metadata.get(*kind));
        documents.insert(kind, (doc, mime, meta));
    }
    for required in required_documents(&input.kind) {
        if !documents.contains_key(required) {
            v.add(required, "required", format!("a {} verification needs a {required} document", input.kind));
        }
    }
    v.finish()?;
    require_org_role(db, principal, org, OrgRole::Admin).await?;
    let user = principal.as_user()?;
    let current = load(db, org).await?;
    if let Some(c) = &current
        && matches!(c.status.as_str(), "pending" | "resubmitted" | "approved")
    {
        return Err(Error::Conflict(format!(
            "the organization's verification is {}; it can be sent again once rejected",
            c.status
        )));
    }
    let submission = current.as_ref().map_or(0, |c| c.submissions) + 1;
    let status = if submission > 1 { "resubmitted" } else { "pending" };
    let now = kernel::time::now();
    let mut stored = Vec::new();
    let outcome = async {
        let mut tx = db.begin().await?;
        for (kind, (doc, mime, meta)) in &documents {
            let id = kernel::ids::new_id();
            let key = format!("verification/{org}/{submission}/{id}");
            state.store.put(&key, &doc.bytes).await.map_err(Error::from)?;
            stored.push(key.clone());
            let name: String = doc.name.chars().filter(|c| !c.is_control()).take(200).collect();
            tx.execute(
                "INSERT INTO org_verification_documents (id, organization_id, submission, kind, name, mime, size, metadata, storage_key, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                args![&id, org, submission, *kind, name, *mime, doc.bytes.len() as i64, Value::Object(meta.clone()).to_string(), &key, now],
            )
            .await?;
        }
        tx.execute(
            "INSERT INTO org_verifications (organization_id, kind, status, submissions, submitted_by, submitted_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (organization_id) DO UPDATE SET kind = $2, status = $3, submissions = $4, submitted_by = $5,
               submitted_at = $6, reviewed_by = NULL, reviewed_at = NULL, reason = NULL",
            args![org, &input.kind, status, submission, &user.user_id, now],
        )
        .await?;
        audit::record(
            &mut tx,
            ctx,
            AuditEntry::new(if submission > 1 { "VERIFICATION_RESUBMITTED" } else { "VERIFICATION_SUBMITTED" }, Severity::Medium, "organization")
                .by(principal)
                .org(org)
                .target(org)
                .describe(format!("{} verification, submission {submission}", input.kind))
                .meta(json!({"kind": input.kind, "documents": documents.keys().collect::<Vec<_>>()})),
        )
        .await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = outcome {
        for key in stored {
            let _ = state.store.delete(&key).await;
        }
        return Err(e);
    }
    Ok(load(db, org).await?.unwrap_or_else(|| Verification::unverified(org)))
}

/// A document's bytes: for the organization's OWNER or ADMIN, or a platform administrator
/// (whose reading is audited).
pub async fn document(
    state: &FoundationState,
    ctx: &RequestContext,
    principal: &Principal,
    org: &str,
    doc_id: &str,
) -> Result<(Document, Vec<u8>)> {
    let db = &state.db;
    let platform_admin = principal.as_user().is_ok_and(|u| u.role == kernel::principal::PlatformRole::Admin);
    if !platform_admin {
        require_org_role(db, principal, org, OrgRole::Admin).await?;
    }
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        doc: Document,
        storage_key: String,
    }
    let row: Option<Row> = db
        .fetch_optional(
            "SELECT id, kind, name, mime, size, metadata, created_at, storage_key FROM org_verification_documents
             WHERE id = $1 AND organization_id = $2",
            args![doc_id, org],
        )
        .await?;
    let row = row.ok_or_else(|| Error::not_found("document"))?;
    let bytes =
        state.store.get(&row.storage_key).await.map_err(Error::from)?.ok_or_else(|| Error::not_found("document"))?;
    if platform_admin {
        audit::record_now(
            db,
            ctx,
            AuditEntry::new("VERIFICATION_DOCUMENT_VIEWED", Severity::Medium, "organization")
                .by(principal)
                .org(org)
                .target(org)
                .describe(format!("{} document {}", row.doc.kind, row.doc.id)),
        )
        .await?;
    }
    Ok((row.doc, bytes))
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct QueuedVerification {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub verification: Verification,
    pub organization_name: String,
}

/// Verifications for administrators, oldest submission first; by status (`pending` gives
/// first submissions and resubmissions alike).
pub async fn admin_list(db: &kernel::Db, status: Option<&str>, page: PageRequest) -> Result<Page<QueuedVerification>> {
    let mut c = kernel::db::Conditions::new();
    match status {
        // Every verification has one of the four statuses.
        None | Some("") => {}
        Some("pending") => {
            c.add_fixed("v.status IN ('pending', 'resubmitted')");
        }
        Some(s @ ("resubmitted" | "approved" | "rejected")) => {
            c.add("v.status = {}", s.to_string());
        }
        Some(_) => {
            return Err(Error::field(
                "status",
                "invalid_value",
                "status is pending, resubmitted, approved or rejected",
            ));
        }
    }
    let select = format!(
        "{}, o.name AS organization_name",
        COLUMNS.split(", ").map(|c| format!("v.{c}")).collect::<Vec<_>>().join(", ")
    );
    let from = "org_verifications v JOIN organizations o ON o.id = v.organization_id";
    let mut rows: Page<QueuedVerification> =
        c.fetch_page(db, &select, from, "v.submitted_at, v.organization_id", page).await?;
    for row in &mut rows.items {
        if let Some(full) = load(db, &row.verification.organization_id).await? {
            row.verification.documents = full.documents;
        }
    }
    Ok(rows)
}

/// One organization's verification, for administrators.
pub async fn admin_get(db: &kernel::Db, org: &str) -> Result<Verification> {
    load(db, org).await?.ok_or_else(|| Error::not_found("verification"))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Decision {
    /// `approve` or `reject`.
    pub decision: String,
    /// Why it is rejected (required then); shown to the organization.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Approve or reject a verification waiting for review (platform administrator): audited,
/// and emailed to whoever sent the documents.
pub async fn decide(
    state: &FoundationState,
    ctx: &RequestContext,
    admin: &Principal,
    org: &str,
    input: Decision,
) -> Result<Verification> {
    let mut v = kernel::validate::Validator::new();
    let approve = match input.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            v.add("decision", "invalid_value", "decision is approve or reject");
            false
        }
    };
    let reason = input.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if input.decision == "reject" && reason.is_none() {
        v.add("reason", "required", "a rejection says why");
    }
    if reason.is_some_and(|r| r.chars().count() > 1000) {
        v.add("reason", "too_long", "reason is at most 1000 characters");
    }
    v.finish()?;
    let db = &state.db;
    let current = load(db, org).await?.ok_or_else(|| Error::not_found("verification"))?;
    if !matches!(current.status.as_str(), "pending" | "resubmitted") {
        return Err(Error::Conflict(format!("the verification is {}, not waiting for review", current.status)));
    }
    let status = if approve { "approved" } else { "rejected" };
    let mut tx = db.begin().await?;
    let changed = tx
        .execute(
            "UPDATE org_verifications SET status = $2, reviewed_by = $3, reviewed_at = $4, reason = $5
             WHERE organization_id = $1 AND status IN ('pending', 'resubmitted')",
            args![org, status, admin.actor_id(), kernel::time::now(), if approve { None } else { reason }],
        )
        .await?;
    if changed == 0 {
        return Err(Error::Conflict("the verification was decided meanwhile".into()));
    }
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(
            if approve { "VERIFICATION_APPROVED" } else { "VERIFICATION_REJECTED" },
            Severity::High,
            "organization",
        )
        .by(admin)
        .org(org)
        .target(org)
        .describe(reason.map_or_else(|| "approved".to_string(), |r| format!("rejected: {r}")))
        .meta(json!({"submission": current.submissions, "reason": reason})),
    )
    .await?;
    let recipient: Option<(String, String)> = tx
        .fetch_optional(
            "SELECT u.email, o.name FROM users u, organizations o WHERE u.id = $1 AND o.id = $2",
            args![current.submitted_by.as_deref().unwrap_or_default(), org],
        )
        .await?;
    if let Some((to, org_name)) = recipient {
        let url = format!("{}/console/organizations/{org}/verification", state.config.public_url.trim_end_matches('/'));
        let vars = json!({"organization": org_name, "reason": reason.unwrap_or_default(), "url": url});
        let key = if approve { "verification_approved" } else { "verification_rejected" };
        let email = kernel::templates::render_email(&mut tx, key, &to, &vars).await?;
        kernel::mail::enqueue(&mut tx, &email).await?;
    }
    tx.commit().await?;
    admin_get(db, org).await
}

/// Forget the verification documents of `organizations` (those that disappear with a person
/// erased under the GDPR, who was alone in them: their identity papers go with them). The
/// rows go in the caller's transaction; returns the stored files' keys, to delete once it
/// commits ([`delete_files`]). The verification's state and its audit trail stay.
pub async fn forget_documents(tx: &mut kernel::Tx, organizations: &[String]) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    for org in organizations {
        let rows: Vec<(String,)> = tx
            .fetch_all("SELECT storage_key FROM org_verification_documents WHERE organization_id = $1", args![org])
            .await?;
        tx.execute("DELETE FROM org_verification_documents WHERE organization_id = $1", args![org]).await?;
        keys.extend(rows.into_iter().map(|(k,)| k));
    }
    Ok(keys)
}

/// Delete stored document files (their rows are already gone). A file that cannot be
/// deleted is logged: no row points at it any more, so nothing serves it.
pub async fn delete_files(store: &kernel::storage::Store, keys: &[String]) {
    for key in keys {
        if let Err(e) = store.delete(key).await {
            tracing::warn!(error = %e, key, "could not delete a verification document's file");
        }
    }
}

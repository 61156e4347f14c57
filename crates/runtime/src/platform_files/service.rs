//! Platform files: upload, list, read, change, delete; each checked against the caller's
//! role in the file's organization, each change audited.

use foundation::audit::{AuditEntry, Severity};
use kernel::context::RequestContext;
use kernel::pagination::{Page, PageRequest};
use kernel::principal::Principal;
use kernel::{Error, Metric, OrgRole, Result, args};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::FilesState;
use crate::thumbs;

/// The thumbnail size the listing links to.
pub const LIST_THUMB: &str = "200x200";

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct PlatformFile {
    pub id: String,
    pub organization_id: String,
    /// The uploaded file's name (`logo.png`).
    pub name: String,
    /// Sniffed from the bytes.
    pub mime: String,
    pub size: i64,
    /// Pixels, for images.
    pub width: Option<i64>,
    pub height: Option<i64>,
    /// Served without a signed link (page images): `url` never expires then.
    pub public: bool,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Where to read it: a signed link that expires (`files.link_ttl_secs`), or a permanent
    /// one for public files.
    #[sqlx(skip)]
    pub url: String,
    /// A 200×200 thumbnail, for images (other sizes: `thumb=WxH` on `url`).
    #[sqlx(skip)]
    pub thumb_url: Option<String>,
}

const COLUMNS: &str = "id, organization_id, name, mime, size, width, height, public, created_by, created_at";

/// An uploaded file, as the handler read it.
pub struct NewFile {
    pub organization_id: String,
    pub name: String,
    pub bytes: axum::body::Bytes,
    pub public: bool,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct FileChange {
    /// A new name (the extension is kept as given).
    pub name: Option<String>,
    pub public: Option<bool>,
}

/// A signed link's parts: who it was given to, until when, its signature.
pub struct LinkParts {
    pub by: String,
    pub expires: i64,
    pub signature: String,
}

fn is_image(mime: &str) -> bool {
    matches!(mime, "image/png" | "image/jpeg" | "image/gif" | "image/webp")
}

fn check_name(v: &mut kernel::validate::Validator, field: &str, name: &str) {
    if name.trim().is_empty() || name.chars().count() > 200 || name.chars().any(|c| c.is_control() || c == '/') {
        v.add(field, "invalid_format", "the name is 1 to 200 characters, without / or control characters");
    }
}

/// Width and height from the image's header (nothing is decoded).
fn dimensions(bytes: &[u8]) -> Option<(i64, i64)> {
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().ok()?;
    let (w, h) = reader.into_dimensions().ok()?;
    Some((i64::from(w), i64::from(h)))
}

impl FilesState {
    fn signed_url(&self, id: &str, by: &str) -> String {
        let signed = format!("{id}:{by}");
        format!(
            "{}/api/v1/files/{id}/content?by={by}&{}",
            self.public_url,
            self.links.query(&signed, self.settings.link_ttl_secs)
        )
    }

    /// The file with its links for `viewer`.
    fn with_links(&self, mut file: PlatformFile, viewer: &str) -> PlatformFile {
        file.url = if file.public {
            format!("{}/api/v1/files/{}/content", self.public_url, file.id)
        } else {
            self.signed_url(&file.id, viewer)
        };
        file.thumb_url = is_image(&file.mime).then(|| {
            let sep = if file.url.contains('?') { '&' } else { '?' };
            format!("{}{sep}thumb={LIST_THUMB}", file.url)
        });
        file
    }
}

async fn load(state: &FilesState, id: &str) -> Result<Option<(PlatformFile, String)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        file: PlatformFile,
        storage_key: String,
    }
    let row: Option<Row> = state
        .runtime
        .db
        .fetch_optional(
            sqlx::AssertSqlSafe(format!("SELECT {COLUMNS}, storage_key FROM platform_files WHERE id = $1")),
            args![id],
        )
        .await?;
    Ok(row.map(|r| (r.file, r.storage_key)))
}

/// The file, if `principal` holds at least `min` in its organization (else 404: another
/// organization's files are not revealed).
async fn access(state: &FilesState, principal: &Principal, id: &str, min: OrgRole) -> Result<(PlatformFile, String)> {
    let (file, key) = load(state, id).await?.ok_or_else(|| Error::not_found("file"))?;
    foundation::orgs::require_org_role(&state.runtime.db, principal, &file.organization_id, min)
        .await
        .map_err(|e| if matches!(e, Error::NotFound(_)) { Error::not_found("file") } else { e })?;
    Ok((file, key))
}

/// Store a file for an organization (MEMBER): its type is sniffed and must be allowed, its
/// size is within `files.max_size_bytes` and the plan's storage.
pub async fn upload(
    state: &FilesState,
    ctx: &RequestContext,
    principal: &Principal,
    input: NewFile,
) -> Result<PlatformFile> {
    let mut v = kernel::validate::Validator::new();
    check_name(&mut v, "file", &input.name);
    let size = input.bytes.len() as u64;
    if size == 0 {
        v.add("file", "empty", "the file is empty");
    } else if size > state.settings.max_size_bytes {
        v.add("file", "too_large", format!("the file is larger than {} bytes", state.settings.max_size_bytes));
    }
    let mime = kernel::storage::sniff(&input.bytes, &input.name);
    if size > 0 && !state.settings.allowed_types.iter().any(|t| t == mime) {
        v.add("file", "invalid_type", format!("{mime} files are not accepted here"));
    }
    v.finish()?;
    foundation::orgs::require_org_role(&state.runtime.db, principal, &input.organization_id, OrgRole::Member).await?;
    let org = input.organization_id.as_str();
    state.runtime.usage.charge(org, Metric::StorageBytes, size as i64).await?;
    let id = kernel::ids::new_id();
    let key = format!("platform/{org}/{id}");
    let (width, height) = if is_image(mime) { dimensions(&input.bytes).unzip() } else { (None, None) };
    let stored = async {
        state.runtime.store.put(&key, &input.bytes).await.map_err(Error::from)?;
        let mut tx = state.runtime.db.begin().await?;
        tx.execute(
            "INSERT INTO platform_files (id, organization_id, name, mime, size, width, height, public, storage_key, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            args![&id, org, input.name.trim(), mime, size as i64, width, height, input.public, &key, principal.actor_id(), kernel::time::now()],
        )
        .await?;
        foundation::audit::record(
            &mut tx,
            ctx,
            AuditEntry::new("FILE_UPLOADED", Severity::Low, "file")
                .by(principal)
                .org(org)
                .target(&id)
                .describe(format!("{} ({mime}, {size} bytes)", input.name.trim()))
                .meta(serde_json::json!({"name": input.name.trim(), "mime": mime, "size": size, "public": input.public})),
        )
        .await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = stored {
        state.runtime.usage.note(org, Metric::StorageBytes, -(size as i64));
        let _ = state.runtime.store.delete(&key).await;
        return Err(e);
    }
    get(state, principal, &id).await
}

/// One file with fresh links (MEMBER).
pub async fn get(state: &FilesState, principal: &Principal, id: &str) -> Result<PlatformFile> {
    let (file, _) = access(state, principal, id, OrgRole::Member).await?;
    Ok(state.with_links(file, principal.actor_id()))
}

#[derive(Debug, Default)]
pub struct FileFilter {
    /// Part of the name.
    pub q: Option<String>,
    /// A type (`image/png`) or a family (`image/`).
    pub mime: Option<String>,
}

/// An organization's files, newest first (MEMBER).
pub async fn list(
    state: &FilesState,
    principal: &Principal,
    org: &str,
    filter: FileFilter,
    page: PageRequest,
) -> Result<Page<PlatformFile>> {
    foundation::orgs::require_org_role(&state.runtime.db, principal, org, OrgRole::Member).await?;
    let mut c = kernel::db::Conditions::new();
    c.add("organization_id = {}", org.to_string());
    if let Some(q) = filter.q.as_deref().filter(|q| !q.is_empty()) {
        c.add("LOWER(name) LIKE LOWER({}) ESCAPE '\\'", kernel::db::like_contains(q));
    }
    if let Some(m) = filter.mime.as_deref().filter(|m| !m.is_empty()) {
        let pattern = if m.ends_with('/') { format!("{}%", m.replace('%', "")) } else { m.to_string() };
        c.add("mime LIKE {}", pattern);
    }
    let rows: Page<PlatformFile> =
        c.fetch_page(&state.runtime.db, COLUMNS, "platform_files", "created_at DESC, id DESC", page).await?;
    let viewer = principal.actor_id();
    Ok(rows.map(|f| state.with_links(f, viewer)))
}

/// Rename a file or make it public or private (MEMBER; audited).
pub async fn update(
    state: &FilesState,
    ctx: &RequestContext,
    principal: &Principal,
    id: &str,
    change: FileChange,
) -> Result<PlatformFile> {
    let mut v = kernel::validate::Validator::new();
    if let Some(name) = &change.name {
        check_name(&mut v, "name", name);
    }
    v.finish()?;
    let (file, _) = access(state, principal, id, OrgRole::Member).await?;
    let name = change.name.as_deref().map(str::trim).unwrap_or(&file.name).to_string();
    let public = change.public.unwrap_or(file.public);
    let mut tx = state.runtime.db.begin().await?;
    tx.execute("UPDATE platform_files SET name = $2, public = $3 WHERE id = $1", args![id, &name, public]).await?;
    foundation::audit::record(
        &mut tx,
        ctx,
        AuditEntry::new("FILE_UPDATED", Severity::Low, "file")
            .by(principal)
            .org(&file.organization_id)
            .target(id)
            .meta(serde_json::json!({"name": name, "public": public, "was_public": file.public})),
    )
    .await?;
    tx.commit().await?;
    get(state, principal, id).await
}

/// Delete a file (its uploader, or an ADMIN of its organization; audited). The bytes and
/// thumbnails leave the storage after the row.
pub async fn delete(state: &FilesState, ctx: &RequestContext, principal: &Principal, id: &str) -> Result<()> {
    let (file, key) = access(state, principal, id, OrgRole::Member).await?;
    if file.created_by != principal.actor_id() {
        foundation::orgs::require_org_role(&state.runtime.db, principal, &file.organization_id, OrgRole::Admin).await?;
    }
    let mut tx = state.runtime.db.begin().await?;
    tx.execute("DELETE FROM platform_files WHERE id = $1", args![id]).await?;
    foundation::audit::record(
        &mut tx,
        ctx,
        AuditEntry::new("FILE_DELETED", Severity::Medium, "file")
            .by(principal)
            .org(&file.organization_id)
            .target(id)
            .describe(file.name.clone()),
    )
    .await?;
    tx.commit().await?;
    state.runtime.usage.note(&file.organization_id, Metric::StorageBytes, -file.size);
    for k in state.runtime.store.list(&format!("{key}.thumbs/")).await.unwrap_or_default() {
        let _ = state.runtime.store.delete(&k).await;
    }
    if let Err(e) = state.runtime.store.delete(&key).await {
        tracing::warn!(error = %e, file = id, "a deleted platform file's bytes could not be removed");
    }
    Ok(())
}

/// What a download serves.
pub struct Content {
    pub name: String,
    pub mime: String,
    pub bytes: Vec<u8>,
    pub public: bool,
}

/// A file's bytes (or a thumbnail's): public files for anyone, private ones through a valid
/// signed link. Downloads of private originals are audited.
pub async fn content(
    state: &FilesState,
    ctx: &RequestContext,
    id: &str,
    link: Option<LinkParts>,
    thumb: Option<&str>,
) -> Result<Content> {
    let size = match thumb {
        Some(spec) => Some(
            thumbs::parse(spec)
                .ok_or_else(|| Error::field("thumb", "invalid_format", "thumb is WxH (100x100, 0x200, 100x50f)"))?,
        ),
        None => None,
    };
    let (file, key) = load(state, id).await?.ok_or_else(|| Error::not_found("file"))?;
    if !file.public {
        let Some(link) = &link else {
            return Err(Error::Unauthorized("this file needs a signed link (GET /api/v1/files/{id} gives one)".into()));
        };
        if !state.links.valid(&format!("{id}:{}", link.by), link.expires, &link.signature) {
            return Err(Error::Unauthorized("the download link is invalid or expired".into()));
        }
    }
    let store = &state.runtime.store;
    if let Some(size) = size.filter(|_| is_image(&file.mime)) {
        let thumb_key = format!("{key}.thumbs/{}", thumb.unwrap_or_default());
        if let Some(bytes) = store.get(&thumb_key).await.map_err(Error::from)? {
            let mime = kernel::storage::sniff(&bytes, "").to_string();
            return Ok(Content { name: file.name, mime, bytes, public: file.public });
        }
        let original = store.get(&key).await.map_err(Error::from)?.ok_or_else(|| Error::not_found("file"))?;
        if let Some((bytes, _)) =
            tokio::task::spawn_blocking(move || thumbs::make(&original, size)).await.map_err(Error::internal)?
        {
            let _ = store.put(&thumb_key, &bytes).await;
            let mime = kernel::storage::sniff(&bytes, "").to_string();
            return Ok(Content { name: file.name, mime, bytes, public: file.public });
        }
    }
    let bytes = store.get(&key).await.map_err(Error::from)?.ok_or_else(|| Error::not_found("file"))?;
    if !file.public
        && thumb.is_none()
        && let Some(link) = &link
    {
        foundation::audit::record_now(
            &state.runtime.db,
            ctx,
            AuditEntry::new("FILE_DOWNLOADED", Severity::Low, "file")
                .org(&file.organization_id)
                .target(id)
                .describe(format!("{} through a link given to {}", file.name, link.by))
                .meta(serde_json::json!({"link_given_to": link.by})),
        )
        .await?;
    }
    Ok(Content { name: file.name, mime: file.mime, bytes, public: file.public })
}

/// The name and bytes of one of an organization's image files (public or not), for exports
/// that copy page images.
pub async fn org_image(state: &FilesState, org: &str, id: &str) -> Result<Option<(String, Vec<u8>)>> {
    let Some((file, key)) = load(state, id).await? else { return Ok(None) };
    if file.organization_id != org || !is_image(&file.mime) {
        return Ok(None);
    }
    Ok(state.runtime.store.get(&key).await.map_err(Error::from)?.map(|b| (file.name, b)))
}

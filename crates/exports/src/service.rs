//! Exports: asked for, made by the job queue with their progress, stored in the file
//! storage, downloaded through a signed link that expires.

use std::io::Write;

use kernel::context::RequestContext;
use kernel::jobs::{Job, JobContext, JobError, JobFuture, JobHandler, NewJob};
use kernel::principal::Principal;
use kernel::{Error, Metric, OrgRole, Result, args};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::ToSchema;

use std::collections::HashMap;

use crate::ExportsState;
use crate::html;
use crate::site::{Site, SitePage};

pub const BUILD_JOB: &str = "exports.build";
const FORMATS: [&str; 4] = ["html", "pwa", "react", "flutter"];
/// How long a download link works.
const LINK_TTL_SECS: i64 = 3600;

#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExportOptions {
    /// The site's address, for absolute URLs in `sitemap.xml` and `robots.txt`
    /// (`https://www.example.com`).
    #[serde(default)]
    pub base_url: Option<String>,
    /// A deployed app whose runtime API the site's forms and lists talk to.
    #[serde(default)]
    pub app_slug: Option<String>,
}

/// What is kept with an export: its options and the project's name then.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    options: ExportOptions,
    #[serde(default)]
    project_name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewExport {
    pub project_id: String,
    /// `html` (a static site), `pwa` (the same, installable and working offline), `react`
    /// (a Vite + React + TypeScript project) or `flutter` (a Flutter project).
    pub format: String,
    #[serde(default)]
    pub options: ExportOptions,
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Export {
    pub id: String,
    pub organization_id: String,
    pub project_id: String,
    pub format: String,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub status: String,
    /// 0 to 100.
    pub progress: i64,
    /// What it is doing now (`page about`).
    pub step: String,
    pub error: Option<String>,
    /// The ZIP's size in bytes, once made.
    pub size: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<OffsetDateTime>,
    /// A link to the ZIP that works for an hour without signing in (succeeded exports).
    #[sqlx(skip)]
    pub download_url: Option<String>,
}

const COLUMNS: &str =
    "id, organization_id, project_id, format, status, progress, step, error, size, created_at, finished_at";

/// Ask for an export (MEMBER of the project's organization); counted against the plan's
/// exports per month.
pub async fn create(
    state: &ExportsState,
    ctx: &RequestContext,
    principal: &Principal,
    input: NewExport,
) -> Result<Export> {
    let mut v = kernel::validate::Validator::new();
    if !FORMATS.contains(&input.format.as_str()) {
        v.add("format", "invalid_value", "format is html, pwa, react or flutter");
    }
    if input.options.base_url.as_deref().is_some_and(|u| !kernel::validate::is_http_url(u, 500)) {
        v.add("options.base_url", "invalid_format", "base_url is an absolute http(s) URL");
    }
    if input.options.app_slug.as_deref().is_some_and(|s| {
        s.is_empty() || s.len() > 40 || !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    }) {
        v.add("options.app_slug", "invalid_format", "app_slug is an app's slug (lowercase letters, digits, -)");
    }
    v.finish()?;
    let project = studio::projects::access(&state.db, principal, &input.project_id, OrgRole::Member).await?;
    state.usage.charge(&project.organization_id, Metric::ExportsPerMonth, 1).await?;
    let id = kernel::ids::new_id();
    let now = kernel::time::now();
    let options = serde_json::to_string(&Stored { options: input.options.clone(), project_name: project.name.clone() })
        .map_err(Error::internal)?;
    let mut tx = state.db.begin().await?;
    tx.execute(
        "INSERT INTO exports (id, organization_id, project_id, format, options, status, progress, step, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, 'queued', 0, 'queued', $6, $7)",
        args![&id, &project.organization_id, &input.project_id, &input.format, options, principal.actor_id(), now],
    )
    .await?;
    kernel::jobs::enqueue(
        &mut tx,
        NewJob::new(BUILD_JOB, json!({"export_id": id})).idempotency_key(format!("export:{id}")),
    )
    .await?;
    foundation::audit::record(
        &mut tx,
        ctx,
        foundation::audit::AuditEntry::new("EXPORT_REQUESTED", foundation::audit::Severity::Low, "export")
            .by(principal)
            .org(&project.organization_id)
            .target(&id)
            .describe(format!("{} export of {}", input.format, project.name)),
    )
    .await?;
    tx.commit().await?;
    get(state, principal, &id).await
}

async fn load(db: &kernel::Db, id: &str) -> Result<Option<Export>> {
    db.fetch_optional(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM exports WHERE id = $1")), args![id]).await
}

fn with_link(state: &ExportsState, mut export: Export) -> Export {
    export.download_url = (export.status == "succeeded").then(|| {
        format!(
            "{}/api/v1/exports/{}/download?{}",
            state.public_url.trim_end_matches('/'),
            export.id,
            state.links.query(&export.id, LINK_TTL_SECS)
        )
    });
    export
}

/// One export, with its progress (MEMBER of its organization).
pub async fn get(state: &ExportsState, principal: &Principal, id: &str) -> Result<Export> {
    let export = load(&state.db, id).await?.ok_or_else(|| Error::not_found("export"))?;
    foundation::orgs::require_org_role(&state.db, principal, &export.organization_id, OrgRole::Member)
        .await
        .map_err(|e| if matches!(e, Error::NotFound(_)) { Error::not_found("export") } else { e })?;
    Ok(with_link(state, export))
}

/// A project's exports, newest first (MEMBER).
pub async fn list(state: &ExportsState, principal: &Principal, project_id: &str) -> Result<Vec<Export>> {
    studio::projects::access(&state.db, principal, project_id, OrgRole::Member).await?;
    let rows: Vec<Export> = state
        .db
        .fetch_all(
            sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM exports WHERE project_id = $1 ORDER BY created_at DESC LIMIT 100"
            )),
            args![project_id],
        )
        .await?;
    Ok(rows.into_iter().map(|r| with_link(state, r)).collect())
}

/// The ZIP behind a valid signed link.
pub async fn download(state: &ExportsState, id: &str, expires: i64, signature: &str) -> Result<(String, Vec<u8>)> {
    if !state.links.valid(id, expires, signature) {
        return Err(Error::Unauthorized("the download link is invalid or expired".into()));
    }
    let row: Option<(Option<String>, String)> =
        state.db.fetch_optional("SELECT storage_key, project_id FROM exports WHERE id = $1", args![id]).await?;
    let (Some(key), project) = row.ok_or_else(|| Error::not_found("export"))? else {
        return Err(Error::Conflict("the export is not ready".into()));
    };
    let bytes = state.runtime.store.get(&key).await.map_err(Error::from)?.ok_or_else(|| Error::not_found("export"))?;
    Ok((format!("export-{project}-{id}.zip"), bytes))
}

/// Makes the site: one HTML file per page (the home page as `index.html`), the stylesheet,
/// the script, `robots.txt` and `sitemap.xml`, zipped and stored; progress as it goes.
pub struct BuildExport(pub ExportsState);

impl JobHandler for BuildExport {
    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            let state = &self.0;
            let id = job.payload["export_id"].as_str().unwrap_or_default().to_string();
            let row: Option<(String, String)> =
                state.db.fetch_optional("SELECT project_id, options FROM exports WHERE id = $1", args![&id]).await?;
            let Some((project_id, options)) = row else {
                return Err(JobError::Permanent("the export does not exist".into()));
            };
            let options: ExportOptions = serde_json::from_str(&options).unwrap_or_default();
            match build(state, &id, &project_id, &options).await {
                Ok(size) => {
                    let mut tx = state.db.begin().await?;
                    tx.execute(
                        "UPDATE exports SET status = 'succeeded', progress = 100, step = 'done', size = $2, finished_at = $3 WHERE id = $1",
                        args![&id, size as i64, kernel::time::now()],
                    )
                    .await?;
                    notify(
                        &mut tx,
                        &id,
                        "export.finished",
                        "Your export is ready",
                        "Open the export to download it.",
                        100,
                    )
                    .await?;
                    ctx.complete_in(tx, Some(json!({"bytes": size}))).await?;
                    Ok(None)
                }
                Err(e) => {
                    let mut tx = state.db.begin().await?;
                    tx.execute(
                        "UPDATE exports SET status = 'failed', error = $2, finished_at = $3 WHERE id = $1",
                        args![&id, e.to_string(), kernel::time::now()],
                    )
                    .await?;
                    notify(&mut tx, &id, "export.finished", "Your export failed", &e.to_string(), -1).await?;
                    tx.commit().await?;
                    Err(JobError::Permanent(e.to_string()))
                }
            }
        })
    }
}

/// Tell whoever asked for the export (a `notify.user` event: Automation makes it a
/// notification, live and by email per their preferences). Every notice of one export has
/// the tag `export:ID`, so its progress and its end update one notification.
async fn notify(tx: &mut kernel::Tx, id: &str, kind: &str, title: &str, body: &str, progress: i64) -> Result<()> {
    let row: Option<(String, String, String)> = tx
        .fetch_optional("SELECT created_by, organization_id, project_id FROM exports WHERE id = $1", args![id])
        .await?;
    let Some((user, org, project)) = row else { return Ok(()) };
    kernel::outbox::append(
        tx,
        kernel::outbox::NewEvent::new(
            "notify.user",
            Some(&org),
            json!({"user_id": user, "type": kind, "title": title, "body": body, "tag": format!("export:{id}"),
                "data": {"export_id": id, "project_id": project, "progress": progress}}),
        ),
    )
    .await?;
    Ok(())
}

/// The progress pushed as the export's notification (its row is updated more often).
async fn milestone(state: &ExportsState, id: &str, percent: i64, step: &str) -> Result<()> {
    let mut tx = state.db.begin().await?;
    tx.execute(
        "UPDATE exports SET status = 'running', progress = $2, step = $3 WHERE id = $1",
        args![id, percent, step],
    )
    .await?;
    notify(&mut tx, id, "export.progress", &format!("Exporting: {percent} %"), step, percent).await?;
    tx.commit().await
}

async fn progress(state: &ExportsState, id: &str, percent: i64, step: &str) -> Result<()> {
    state
        .db
        .execute(
            "UPDATE exports SET status = 'running', progress = $2, step = $3 WHERE id = $1",
            args![id, percent, step],
        )
        .await?;
    Ok(())
}

/// The site every format is made from: the pages with their names, and the page images
/// copied from the organization's files, resized and recompressed.
async fn site(
    state: &ExportsState,
    id: &str,
    project_id: &str,
    org: &str,
    options: &ExportOptions,
    name: String,
) -> Result<Site> {
    let pages = studio::pages::service::all_current(&state.db, project_id).await?;
    let home_index = pages.iter().position(|p| p.slug.is_empty() || p.slug == "home" || p.slug == "index").unwrap_or(0);
    let mut sources = Vec::new();
    for page in &pages {
        crate::site::image_sources(&page.document.0, &mut sources);
    }
    sources.sort();
    sources.dedup();
    let mut copies = HashMap::new();
    let mut assets = Vec::new();
    for (i, src) in sources.iter().enumerate() {
        let Some(file_id) = crate::site::platform_file_id(src) else { continue };
        progress(state, id, 5 + i as i64 * 20 / sources.len().max(1) as i64, &format!("image {file_id}")).await?;
        let Some((_, bytes)) = runtime::platform_files::service::org_image(&state.files, org, file_id).await? else {
            continue;
        };
        let optimized =
            tokio::task::spawn_blocking(move || crate::site::optimize_image(&bytes)).await.map_err(Error::internal)?;
        if let Some((bytes, ext)) = optimized {
            let path = format!("images/{file_id}.{ext}");
            copies.insert(src.clone(), path.clone());
            assets.push((path, bytes));
        }
    }
    let mut site_pages = Vec::new();
    for (i, page) in pages.into_iter().enumerate() {
        let home = i == home_index;
        let mut document = page.document.0;
        crate::site::rewrite_images(&mut document, &copies);
        let title = if page.seo_title.is_empty() { page.name.clone() } else { page.seo_title.clone() };
        site_pages.push(SitePage {
            file: if home { "index.html".into() } else { format!("{}.html", page.slug) },
            route: if home { "/".into() } else { format!("/{}", page.slug) },
            component: crate::react::component_name(&page.slug, home),
            name: page.name,
            slug: page.slug,
            home,
            title,
            description: page.seo_description,
            document,
        });
    }
    Ok(Site {
        name,
        pages: site_pages,
        api: options.app_slug.as_deref().map(|slug| format!("{}/apps/{slug}", state.public_url.trim_end_matches('/'))),
        base_url: options.base_url.clone().unwrap_or_default(),
        assets,
    })
}

/// The static site's files (and the PWA's).
fn static_files(id: &str, site: &Site, pwa: bool) -> Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for page in &site.pages {
        let html = html::page_document(&page.title, &page.description, &page.document, site.api.as_deref(), pwa);
        files.push((page.file.clone(), html.into_bytes()));
    }
    files.push(("styles.css".into(), html::stylesheet().into_bytes()));
    files.push(("socle.js".into(), html::SCRIPT.as_bytes().to_vec()));
    if pwa {
        files.push(("manifest.webmanifest".into(), crate::pwa::manifest(&site.name).to_string().into_bytes()));
        let mut shell = vec!["./".to_string(), "styles.css".into(), "socle.js".into(), "manifest.webmanifest".into()];
        shell.extend(site.pages.iter().filter(|p| !p.home).map(|p| p.file.clone()));
        shell.push("index.html".into());
        shell.extend(site.assets.iter().map(|(path, _)| path.clone()));
        files.push(("sw.js".into(), crate::pwa::service_worker(id, &shell).into_bytes()));
        for size in crate::pwa::ICON_SIZES {
            files.push((format!("icons/icon-{size}.png"), crate::pwa::icon(size)?));
        }
    }
    files.push(("robots.txt".into(), site.robots().into_bytes()));
    files.push(("sitemap.xml".into(), site.sitemap(true).into_bytes()));
    files.extend(site.assets.iter().cloned());
    Ok(files)
}

async fn build(state: &ExportsState, id: &str, project_id: &str, options: &ExportOptions) -> Result<usize> {
    let (format, stored, org): (String, String, String) =
        state.db.fetch_one("SELECT format, options, organization_id FROM exports WHERE id = $1", args![id]).await?;
    let project_name = serde_json::from_str::<Stored>(&stored).map(|s| s.project_name).unwrap_or_default();
    milestone(state, id, 2, "pages").await?;
    let site = site(state, id, project_id, &org, options, project_name).await?;
    milestone(state, id, 30, &format!("{format} files")).await?;
    let files = match format.as_str() {
        "react" => crate::react::project_files(&site),
        "flutter" => crate::flutter::project_files(&site),
        other => static_files(id, &site, other == "pwa")?,
    };
    let total = files.len().max(1);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let file_options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (i, (name, content)) in files.iter().enumerate() {
        // Progress every tenth of the files: the row is not written per file.
        if i % (total / 10).max(1) == 0 {
            progress(state, id, 30 + (i * 65 / total) as i64, &format!("zip {name}")).await?;
        }
        zip.start_file(name.as_str(), file_options).map_err(Error::internal)?;
        zip.write_all(content).map_err(Error::internal)?;
    }
    let bytes = zip.finish().map_err(Error::internal)?.into_inner();
    milestone(state, id, 97, "storing").await?;
    let key = format!("exports/{project_id}/{id}.zip");
    state.runtime.store.put(&key, &bytes).await.map_err(Error::from)?;
    state.db.execute("UPDATE exports SET storage_key = $2 WHERE id = $1", args![id, &key]).await?;
    Ok(bytes.len())
}

/// Delete exports finished more than `retention_days` ago: their ZIP, then their row.
pub async fn purge(state: &ExportsState, retention_days: i64) -> Result<u64> {
    if retention_days <= 0 {
        return Ok(0);
    }
    let before = kernel::time::now() - time::Duration::days(retention_days);
    let old: Vec<(String, Option<String>)> = state
        .db
        .fetch_all(
            "SELECT id, storage_key FROM exports WHERE finished_at < $1 ORDER BY finished_at LIMIT 500",
            args![before],
        )
        .await?;
    let mut purged = 0;
    for (id, key) in old {
        if let Some(key) = key
            && let Err(e) = state.runtime.store.delete(&key).await
        {
            tracing::warn!(error = %e, export = %id, "could not delete an old export's ZIP");
            continue;
        }
        purged += state.db.execute("DELETE FROM exports WHERE id = $1", args![&id]).await?;
    }
    Ok(purged)
}

/// Purge now and then, in the scheduler.
pub async fn purge_loop(state: ExportsState, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        match purge(&state, state.settings.retention_days).await {
            Ok(n) if n > 0 => tracing::info!(exports = n, "old exports deleted"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not purge old exports"),
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(state.settings.purge_every_secs.max(1))) => {}
            _ = stop.changed() => return,
        }
    }
}

//! Project export and import: a gzip-compressed JSON bundle with a format version, holding
//! the project, its pages (optionally with every version), the components its pages use,
//! its collections, its migration history and optionally its records. Import validates
//! everything first and creates everything in one transaction, or nothing.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use kernel::context::RequestContext;
use kernel::error::FieldError;
use kernel::principal::Principal;
use kernel::{Db, Error, OrgRole, Result, args};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::audit::{self, entry};
use crate::collections::service as collections;
use crate::components::Component;
use crate::pages::document;
use crate::pages::service::{self as pages, Page, PageVersionDetail};
use crate::projects::access;
use crate::projects::service::{self as projects, Project, ProjectStatus};
use ::collections::model::Collection;
use ::collections::rows;
use ::collections::schema::validate_all;

pub const FORMAT: &str = "socle.project";
pub const FORMAT_VERSION: u32 = 1;
/// Most a bundle may inflate to, so a small gzip body cannot exhaust memory.
pub const MAX_INFLATED: u64 = 64 << 20;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Bundle {
    pub format: String,
    pub format_version: u32,
    pub project: BundleProject,
    pub pages: Vec<BundlePage>,
    #[serde(default)]
    pub components: Vec<Component>,
    #[schema(value_type = Vec<Object>)]
    pub collections: Vec<Collection>,
    #[serde(default)]
    pub migrations: Vec<collections::Migration>,
    /// Records by collection name, when exported with `records=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub records: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BundleProject {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub status: ProjectStatus,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BundlePage {
    #[serde(flatten)]
    pub page: Page,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<Vec<PageVersionDetail>>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ExportOptions {
    pub versions: bool,
    pub records: bool,
}

pub async fn build(
    db: &Db,
    ctx: &RequestContext,
    principal: &Principal,
    project_id: &str,
    options: ExportOptions,
) -> Result<Bundle> {
    let p = access(db, principal, project_id, OrgRole::Member).await?;
    let project = projects::get(db, principal, project_id).await?;
    let mut page_list = Vec::new();
    let mut used = Vec::new();
    for page in pages::all_current(db, project_id).await? {
        if let Ok(refs) = document::validate(&page.document.0, "") {
            used.extend(refs.components.into_iter().map(|(r, _)| r));
        }
        let versions = if options.versions { Some(pages::history(db, &page.id).await?) } else { None };
        page_list.push(BundlePage { page, versions });
    }
    let mut components = Vec::new();
    for reference in used {
        let found: Option<Component> = db
            .fetch_optional(
                "SELECT id, organization_id, name, description, props_schema, document, created_by, created_at, updated_at
                   FROM studio_components WHERE organization_id = $1 AND (id = $2 OR name = $2)",
                args![&p.organization_id, &reference],
            )
            .await?;
        if let Some(c) = found
            && !components.iter().any(|o: &Component| o.id == c.id)
        {
            components.push(c);
        }
    }
    let collection_list = collections::load(db, project_id).await?;
    let records = if options.records {
        let mut map = Map::new();
        for c in collection_list.iter().filter(|c| c.kind != ::collections::model::CollectionType::View) {
            let rows = rows::read_rows(db, &p.namespace, c, None).await?;
            map.insert(c.name.clone(), Value::Array(rows.into_iter().map(Value::Object).collect()));
        }
        Some(map)
    } else {
        None
    };
    let mut tx = db.begin().await?;
    foundation::audit::record(
        &mut tx,
        ctx,
        entry(audit::PROJECT_EXPORTED, "project", principal, &p.organization_id, project_id, "project exported"),
    )
    .await?;
    tx.commit().await?;
    Ok(Bundle {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        project: BundleProject {
            name: project.name,
            description: project.description,
            status: status_of(&project.status),
        },
        pages: page_list,
        components,
        collections: collection_list,
        migrations: collections::history_of(db, project_id).await?,
        records,
    })
}

fn status_of(s: &str) -> ProjectStatus {
    match s {
        "in_progress" => ProjectStatus::InProgress,
        "completed" => ProjectStatus::Completed,
        _ => ProjectStatus::Planned,
    }
}

pub fn compress(bundle: &Bundle) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(bundle).map_err(Error::internal)?;
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(&json).map_err(Error::internal)?;
    encoder.finish().map_err(Error::internal)
}

/// Read a bundle from a gzip or plain JSON body.
pub fn decode(body: &[u8]) -> Result<Bundle> {
    let json = if body.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(body)
            .take(MAX_INFLATED + 1)
            .read_to_end(&mut out)
            .map_err(|e| Error::BadRequest(format!("the bundle is not valid gzip: {e}")))?;
        if out.len() as u64 > MAX_INFLATED {
            return Err(Error::PayloadTooLarge(format!("a bundle inflates to at most {MAX_INFLATED} bytes")));
        }
        out
    } else {
        body.to_vec()
    };
    let value: Value =
        serde_json::from_slice(&json).map_err(|e| Error::BadRequest(format!("the bundle is not JSON: {e}")))?;
    if value.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(Error::field("format", "invalid_value", format!("not a {FORMAT} bundle")));
    }
    match value.get("format_version").and_then(Value::as_u64) {
        Some(v) if v as u32 == FORMAT_VERSION => {}
        other => {
            return Err(Error::field(
                "format_version",
                "unsupported",
                format!("bundle format {other:?} is not supported (expected {FORMAT_VERSION})"),
            ));
        }
    }
    serde_json::from_value(value).map_err(|e| Error::field("bundle", "invalid_shape", e.to_string()))
}

/// Replace component references (old id → new id) through a document.
fn remap_refs(doc: &mut Value, map: &[(String, String)]) {
    if let Some(obj) = doc.as_object_mut() {
        if obj.get("type").and_then(Value::as_str) == Some("component")
            && let Some(r) = obj.get_mut("props").and_then(|p| p.get_mut("ref"))
            && let Some((_, new)) = map.iter().find(|(old, _)| Some(old.as_str()) == r.as_str())
        {
            *r = Value::String(new.clone());
        }
        if let Some(Value::Array(children)) = obj.get_mut("children") {
            for c in children {
                remap_refs(c, map);
            }
        }
    }
}

pub async fn import(
    db: &Db,
    usage: &kernel::Usage,
    ctx: &RequestContext,
    principal: &Principal,
    organization_id: &str,
    bundle: Bundle,
) -> Result<Project> {
    foundation::orgs::require_org_role(db, principal, organization_id, OrgRole::Member).await?;
    // Validate everything before creating anything.
    let mut errors = Vec::new();
    if bundle.project.name.trim().is_empty() || bundle.project.name.chars().count() > 120 {
        errors.push(FieldError::new("project.name", "invalid_value", "the project name is 1 to 120 characters"));
    }
    let mut slugs = std::collections::HashSet::new();
    for (i, p) in bundle.pages.iter().enumerate() {
        if let Err(e) = document::validate(&p.page.document.0, &format!("/pages/{i}/document")) {
            errors.extend(e);
        }
        if !slugs.insert(p.page.slug.clone()) {
            errors.push(FieldError::new(
                format!("pages.{i}.slug"),
                "duplicate",
                format!("two pages use the slug {:?}", p.page.slug),
            ));
        }
    }
    for (i, c) in bundle.components.iter().enumerate() {
        if let Err(e) = document::validate(&c.document.0, &format!("/components/{i}/document")) {
            errors.extend(e);
        }
    }
    let mut collection_list = bundle.collections.clone();
    if let Err(e) = validate_all(&mut collection_list, None) {
        errors.extend(e.into_iter().map(|f| FieldError { field: format!("collections.{}", f.field), ..f }));
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let id = kernel::ids::new_id();
    let actor = principal.actor_id();
    let allowance = projects::project_allowance(usage, organization_id).await?;
    let mut tx = db.begin().await?;
    projects::check_project_quota(&mut tx, allowance, organization_id).await?;
    let ns = projects::insert_project(
        &mut tx,
        &id,
        organization_id,
        bundle.project.name.trim(),
        &bundle.project.description,
        bundle.project.status.as_str(),
        actor,
    )
    .await?;
    // Components: reuse the organization's component of the same name, else create it.
    let mut remap = Vec::new();
    for c in &bundle.components {
        let existing: Option<(String,)> = tx
            .fetch_optional(
                "SELECT id FROM studio_components WHERE organization_id = $1 AND name = $2",
                args![organization_id, &c.name],
            )
            .await?;
        let new_id = match existing {
            Some((existing_id,)) => existing_id,
            None => {
                let new_id = kernel::ids::new_id();
                let now = kernel::time::now();
                tx.execute(
                    "INSERT INTO studio_components (id, organization_id, name, description, props_schema, document, created_by, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
                    args![&new_id, organization_id, &c.name, &c.description, c.props_schema.0.clone(), c.document.0.clone(), actor, now],
                )
                .await?;
                new_id
            }
        };
        remap.push((c.id.clone(), new_id));
    }
    let created = collections::create_many(&mut tx, &ns, &id, actor, collection_list, &[]).await?;
    collections::append_history(&mut tx, &id, &bundle.migrations).await?;
    if let Some(records) = &bundle.records {
        for (name, items) in records {
            let Some(c) = created.iter().find(|c| &c.name == name) else {
                return Err(Error::field(
                    &format!("records.{name}"),
                    "unknown_collection",
                    "records for a collection the bundle does not define",
                ));
            };
            for (i, item) in items.as_array().into_iter().flatten().enumerate() {
                let Some(values) = item.as_object() else {
                    return Err(Error::field(&format!("records.{name}.{i}"), "invalid_type", "a record is an object"));
                };
                rows::insert_row(&mut tx, &ns, c, values).await.map_err(|e| match e {
                    Error::Validation(fs) => Error::Validation(
                        fs.into_iter()
                            .map(|f| FieldError { field: format!("records.{name}.{i}.{}", f.field), ..f })
                            .collect(),
                    ),
                    other => other,
                })?;
            }
        }
    }
    for p in &bundle.pages {
        let mut page = p.page.clone();
        remap_refs(&mut page.document.0, &remap);
        match &p.versions {
            Some(history) => {
                let history: Vec<PageVersionDetail> = history
                    .iter()
                    .cloned()
                    .map(|mut v| {
                        remap_refs(&mut v.document.0, &remap);
                        v
                    })
                    .collect();
                pages::insert_with_history(&mut tx, &id, &page, &history, actor).await?;
            }
            None => {
                pages::insert_copy(&mut tx, &id, &page, actor).await?;
            }
        }
    }
    foundation::audit::record(
        &mut tx,
        ctx,
        entry(
            audit::PROJECT_IMPORTED,
            "project",
            principal,
            organization_id,
            &id,
            format!("project \"{}\" imported", bundle.project.name.trim()),
        ),
    )
    .await?;
    tx.commit().await?;
    projects::get(db, principal, &id).await
}

//! `GET /apps/{slug}/api/openapi.json`: the app's own OpenAPI 3.1 document, built at request
//! time from its current deployment's collections. Each collection gets its records CRUD
//! (with PocketBase's list parameters and envelope), its record as a JSON Schema built from
//! its fields, and, for auth collections, the authentication endpoints; then batch and
//! health. Errors are PocketBase's `{status, message, data}`, except those the platform's
//! edge answers before the app is reached (timeout, body too large, rate limit), which are
//! RFC 9457 problems.
//!
//! A superuser of the app (a member of its organization) sees every collection and
//! operation; anyone else sees the collections and operations whose rule lets someone other
//! than a superuser in (a `null` rule is for superusers only). Hidden fields are left out of
//! records for them, password fields and `tokenKey` for everyone, as the API does.

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use collections::model::{Collection, CollectionType, Field, FieldKind};
use serde_json::{Map, Value, json};

use crate::RuntimeState;
use crate::extract::App;
use crate::pb::PbResult;
use crate::records::{DEFAULT_PER_PAGE, MAX_PER_PAGE};

pub fn routes() -> Router<RuntimeState> {
    Router::new().route("/apps/{slug}/api/openapi.json", get(document))
}

async fn document(App(ctx): App, Path(slug): Path<String>) -> PbResult<Json<Value>> {
    Ok(Json(build(&slug, &ctx.schema.collections, ctx.is_superuser())))
}

const PB_ERROR: &str = "#/components/schemas/Error";
const PROBLEM: &str = "#/components/schemas/Problem";

/// Which of a collection's operations a requester may reach.
struct Visible {
    list: bool,
    view: bool,
    create: bool,
    update: bool,
    delete: bool,
}

impl Visible {
    fn of(c: &Collection, superuser: bool) -> Self {
        let open = |rule: &Option<String>| superuser || rule.is_some();
        let writable = c.kind != CollectionType::View;
        Visible {
            list: open(&c.rules.list_rule),
            view: open(&c.rules.view_rule),
            create: writable && open(&c.rules.create_rule),
            update: writable && open(&c.rules.update_rule),
            delete: writable && open(&c.rules.delete_rule),
        }
    }

    fn any(&self) -> bool {
        self.list || self.view || self.create || self.update || self.delete
    }
}

/// The whole document for the app at `/apps/{slug}`.
pub fn build(slug: &str, collections: &[Collection], superuser: bool) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    schemas.insert("Error".into(), pb_error_schema());
    schemas.insert("Problem".into(), problem_schema());
    let mut tags = Vec::new();
    for c in collections {
        let visible = Visible::of(c, superuser);
        // Auth collections keep their sign-in endpoints even when their records are closed.
        if !visible.any() && c.kind != CollectionType::Auth {
            continue;
        }
        tags.push(
            json!({"name": c.name, "description": format!("The `{}` collection ({}).", c.name, c.kind.as_str())}),
        );
        let record_ref = format!("#/components/schemas/{}.record", c.name);
        schemas.insert(format!("{}.record", c.name), record_schema(c, superuser));
        schemas.insert(format!("{}.list", c.name), list_schema(&record_ref));
        if c.kind != CollectionType::View {
            schemas.insert(format!("{}.create", c.name), body_schema(c, true));
            schemas.insert(format!("{}.update", c.name), body_schema(c, false));
        }
        let base = format!("/api/collections/{}/records", c.name);
        let mut collection_ops = Map::new();
        if visible.list {
            collection_ops.insert("get".into(), list_operation(c));
        }
        if visible.create {
            collection_ops.insert("post".into(), create_operation(c, &record_ref));
        }
        if !collection_ops.is_empty() {
            paths.insert(base.clone(), Value::Object(collection_ops));
        }
        let mut record_ops = Map::new();
        if visible.view {
            record_ops.insert("get".into(), view_operation(c, &record_ref));
        }
        if visible.update {
            record_ops.insert("patch".into(), update_operation(c, &record_ref));
        }
        if visible.delete {
            record_ops.insert("delete".into(), delete_operation(c));
        }
        if !record_ops.is_empty() {
            record_ops.insert("parameters".into(), json!([id_parameter()]));
            paths.insert(format!("{base}/{{id}}"), Value::Object(record_ops));
        }
        if c.kind == CollectionType::Auth {
            auth_paths(c, &record_ref, &mut paths);
        }
    }
    paths.insert("/api/batch".into(), batch_path());
    paths.insert("/api/health".into(), health_path());
    tags.push(json!({"name": "system", "description": "Batch and health."}));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": format!("{slug} API"),
            "version": "1",
            "description": "The app's PocketBase-compatible API, generated from its current deployment. \
                Point a PocketBase SDK at the server URL below. Errors are `{status, message, data}`, \
                with per-field problems in `data`.",
        },
        "servers": [{"url": format!("/apps/{slug}")}],
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "recordAuth": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "A record token from an auth collection's auth-with-password (sent as is or \
                        after `Bearer `), or a platform token of a member of the app's organization (acts as \
                        superuser)."
                }
            }
        },
        // Authentication is optional everywhere: rules decide what a guest may do.
        "security": [{}, {"recordAuth": []}],
    })
}

/// PocketBase's error body.
fn pb_error_schema() -> Value {
    json!({
        "type": "object",
        "description": "PocketBase's error shape.",
        "required": ["status", "message", "data"],
        "properties": {
            "status": {"type": "integer"},
            "code": {"type": "integer", "description": "The status again (older SDKs read it)."},
            "message": {"type": "string"},
            "data": {
                "type": "object",
                "description": "Per-field problems: field name → {code, message}.",
                "additionalProperties": {
                    "type": "object",
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}
                }
            }
        }
    })
}

/// The RFC 9457 body of errors the platform's edge answers before the app is reached.
fn problem_schema() -> Value {
    json!({
        "type": "object",
        "description": "An RFC 9457 problem, answered by the platform before the app is reached.",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "request_id": {"type": "string"}
        }
    })
}

/// The JSON Schema of one field's value as records carry it.
fn field_schema(f: &Field) -> Value {
    let many = |item: Value| if f.multiple() { json!({"type": "array", "items": item}) } else { item };
    let mut schema = match f.kind {
        FieldKind::Text | FieldKind::Editor | FieldKind::Password => json!({"type": "string"}),
        FieldKind::Number => json!({"type": "number"}),
        FieldKind::Bool => json!({"type": "boolean"}),
        FieldKind::Email => json!({"type": "string", "format": "email"}),
        FieldKind::Url => json!({"type": "string", "format": "uri"}),
        // Empty ("") when unset, so no date-time format.
        FieldKind::Date | FieldKind::Autodate => {
            json!({"type": "string", "description": "`YYYY-MM-DD HH:MM:SS.sssZ` (UTC), or empty."})
        }
        FieldKind::Select => {
            let mut values: Vec<Value> = f.values.iter().flatten().map(|v| json!(v)).collect();
            if !f.multiple() && !f.required {
                // An unset single select is "".
                values.push(json!(""));
            }
            many(json!({"type": "string", "enum": values}))
        }
        FieldKind::Relation => many(json!({"type": "string", "description": "A record id."})),
        FieldKind::File => many(json!({"type": "string", "description": "A file name."})),
        FieldKind::Json => json!({}),
        FieldKind::GeoPoint => json!({
            "type": "object",
            "properties": {"lon": {"type": "number"}, "lat": {"type": "number"}}
        }),
    };
    if let Value::Object(map) = &mut schema
        && f.kind == FieldKind::Relation
        && let Some(target) = &f.collection_id
    {
        let note = format!("Record id(s) of `{target}` (expand with `expand={}`).", f.name);
        map.insert("description".into(), json!(note));
    }
    schema
}

/// A record as the API answers it (no property is required: `fields` can leave any out).
fn record_schema(c: &Collection, superuser: bool) -> Value {
    let mut properties = Map::new();
    properties.insert("id".into(), json!({"type": "string"}));
    properties.insert("collectionId".into(), json!({"type": "string", "const": c.id}));
    properties.insert("collectionName".into(), json!({"type": "string", "const": c.name}));
    for f in &c.fields {
        let never_sent = f.kind == FieldKind::Password || f.name == "tokenKey";
        if never_sent || f.name == "id" || (f.hidden && !superuser) {
            continue;
        }
        properties.insert(f.name.clone(), field_schema(f));
    }
    properties.insert(
        "expand".into(),
        json!({"type": "object", "description": "Related records asked for with `expand`.", "additionalProperties": true}),
    );
    json!({
        "type": "object",
        "description": format!("A record of `{}`.", c.name),
        "properties": properties,
        "additionalProperties": true,
    })
}

/// What create (`required`) and update bodies may carry.
fn body_schema(c: &Collection, create: bool) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    if create {
        properties.insert("id".into(), json!({"type": "string", "description": "Optional; generated when absent."}));
    }
    for f in &c.fields {
        if f.name == "id" || f.name == "tokenKey" || f.kind == FieldKind::Autodate {
            continue;
        }
        properties.insert(f.name.clone(), field_schema(f));
        if create && f.required && f.default.is_none() {
            required.push(json!(f.name));
        }
    }
    if c.kind == CollectionType::Auth {
        properties.insert("passwordConfirm".into(), json!({"type": "string"}));
        if create {
            for name in ["password", "passwordConfirm"] {
                if !required.contains(&json!(name)) {
                    required.push(json!(name));
                }
            }
        } else {
            properties.insert(
                "oldPassword".into(),
                json!({"type": "string", "description": "Required to change one's own password."}),
            );
        }
    }
    let mut schema = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        schema["required"] = Value::Array(required);
    }
    schema
}

fn list_schema(record_ref: &str) -> Value {
    json!({
        "type": "object",
        "required": ["page", "perPage", "totalItems", "totalPages", "items"],
        "properties": {
            "page": {"type": "integer"},
            "perPage": {"type": "integer"},
            "totalItems": {"type": "integer", "description": "-1 with `skipTotal`."},
            "totalPages": {"type": "integer", "description": "-1 with `skipTotal`."},
            "items": {"type": "array", "items": {"$ref": record_ref}}
        }
    })
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn id_parameter() -> Value {
    json!({"name": "id", "in": "path", "required": true, "description": "The record id.", "schema": {"type": "string"}})
}

fn expand_fields() -> [Value; 2] {
    [
        query(
            "expand",
            "Relations to expand, comma-separated, dotted for depth (`author,comments.author`).",
            json!({"type": "string"}),
        ),
        query(
            "fields",
            "Fields to return, comma-separated (`id,title,expand.author.name`).",
            json!({"type": "string"}),
        ),
    ]
}

fn json_content(schema_ref: &str) -> Value {
    json!({"application/json": {"schema": {"$ref": schema_ref}}})
}

/// The error answers every app operation may give, plus `extra` PocketBase errors.
fn errors(extra: &[(u16, &str)]) -> Map<String, Value> {
    let mut out = Map::new();
    let pb = |description: &str| json!({"description": description, "content": json_content(PB_ERROR)});
    let problem = |description: &str| json!({"description": description, "content": {"application/problem+json": {"schema": {"$ref": PROBLEM}}}});
    out.insert("400".into(), pb("Invalid request: malformed body or parameters, or field problems in `data`."));
    for (status, description) in extra {
        out.insert(status.to_string(), pb(description));
    }
    out.insert("404".into(), pb("The app, the collection or the record does not exist (or is not visible)."));
    out.insert("408".into(), problem("The request took too long."));
    out.insert("413".into(), problem("The request body is too large."));
    out.insert("429".into(), problem("Too many requests from this address."));
    out.insert(
        "500".into(),
        json!({"description": "Internal error.", "content": {
            "application/json": {"schema": {"$ref": PB_ERROR}},
            "application/problem+json": {"schema": {"$ref": PROBLEM}}
        }}),
    );
    out.insert("503".into(), pb("The database is busy; try again."));
    out
}

fn operation(tag: &str, id: String, summary: String, ok: (&str, Value), extra_errors: &[(u16, &str)]) -> Value {
    let mut responses = errors(extra_errors);
    responses.insert(ok.0.into(), ok.1);
    json!({"tags": [tag], "operationId": id, "summary": summary, "responses": responses})
}

const FORBIDDEN: (u16, &str) = (403, "The collection's rule does not let this requester in.");

fn list_operation(c: &Collection) -> Value {
    let mut op = operation(
        &c.name,
        format!("{}.list", c.name),
        format!("List and search `{}` records", c.name),
        (
            "200",
            json!({"description": "A page of records.", "content": json_content(&format!("#/components/schemas/{}.list", c.name))}),
        ),
        &[FORBIDDEN],
    );
    let mut params = vec![
        query("page", "The page, from 1.", json!({"type": "integer", "minimum": 1, "default": 1})),
        query(
            "perPage",
            "Records per page.",
            json!({"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE}),
        ),
        query(
            "sort",
            "Comma-separated fields, `-` for descending, `@random` (`-created,title`).",
            json!({"type": "string"}),
        ),
        query(
            "filter",
            "A filter expression (`status = 'published' && created > '2024-01-01'`).",
            json!({"type": "string"}),
        ),
    ];
    params.extend(expand_fields());
    params.push(query(
        "skipTotal",
        "Skip counting: `totalItems` and `totalPages` are -1 (faster).",
        json!({"type": "boolean", "default": false}),
    ));
    op["parameters"] = Value::Array(params);
    op
}

fn create_operation(c: &Collection, record_ref: &str) -> Value {
    let mut op = operation(
        &c.name,
        format!("{}.create", c.name),
        format!("Create a `{}` record", c.name),
        ("200", json!({"description": "The created record.", "content": json_content(record_ref)})),
        &[FORBIDDEN],
    );
    op["parameters"] = Value::Array(expand_fields().to_vec());
    op["requestBody"] =
        json!({"required": true, "content": json_content(&format!("#/components/schemas/{}.create", c.name))});
    op
}

fn view_operation(c: &Collection, record_ref: &str) -> Value {
    let mut op = operation(
        &c.name,
        format!("{}.view", c.name),
        format!("View a `{}` record", c.name),
        ("200", json!({"description": "The record.", "content": json_content(record_ref)})),
        &[FORBIDDEN],
    );
    op["parameters"] = Value::Array(expand_fields().to_vec());
    op
}

fn update_operation(c: &Collection, record_ref: &str) -> Value {
    let mut op = operation(
        &c.name,
        format!("{}.update", c.name),
        format!("Update a `{}` record", c.name),
        ("200", json!({"description": "The updated record.", "content": json_content(record_ref)})),
        &[FORBIDDEN],
    );
    op["parameters"] = Value::Array(expand_fields().to_vec());
    op["requestBody"] =
        json!({"required": true, "content": json_content(&format!("#/components/schemas/{}.update", c.name))});
    op
}

fn delete_operation(c: &Collection) -> Value {
    operation(
        &c.name,
        format!("{}.delete", c.name),
        format!("Delete a `{}` record", c.name),
        ("204", json!({"description": "Deleted."})),
        &[FORBIDDEN],
    )
}

fn body_of(properties: Value, required: &[&str]) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": {
        "type": "object", "properties": properties, "required": required
    }}}})
}

/// The endpoints of an auth collection.
fn auth_paths(c: &Collection, record_ref: &str, paths: &mut Map<String, Value>) {
    let base = format!("/api/collections/{}", c.name);
    let token_response = json!({"description": "A record token and the record.", "content": {"application/json": {"schema": {
        "type": "object",
        "required": ["token", "record"],
        "properties": {"token": {"type": "string"}, "record": {"$ref": record_ref}}
    }}}});
    let no_content = || ("204", json!({"description": "Done (also when no account matches: nothing is revealed)."}));
    let unauthorized = (401, "The request requires a valid record token of this collection.");
    let name = &c.name;
    let op = |id: &str, summary: &str, ok: (&str, Value), extra: &[(u16, &str)], body: Option<Value>| {
        let mut op = operation(name, format!("{name}.{id}"), summary.to_string(), ok, extra);
        if let Some(body) = body {
            op["requestBody"] = body;
        }
        op
    };
    let string = json!({"type": "string"});
    let email = json!({"type": "string", "format": "email"});
    let entries = [
        (
            "auth-with-password",
            "post",
            op(
                "authWithPassword",
                "Sign in with email and password",
                ("200", token_response.clone()),
                &[],
                Some(body_of(json!({"identity": string, "password": string}), &["identity", "password"])),
            ),
        ),
        (
            "auth-refresh",
            "post",
            op(
                "authRefresh",
                "A fresh token for the signed-in record",
                ("200", token_response),
                &[unauthorized, FORBIDDEN],
                None,
            ),
        ),
        (
            "auth-methods",
            "get",
            op(
                "authMethods",
                "The sign-in methods this collection offers",
                (
                    "200",
                    json!({"description": "The methods.", "content": {"application/json": {"schema": {"type": "object"}}}}),
                ),
                &[],
                None,
            ),
        ),
        (
            "request-verification",
            "post",
            op(
                "requestVerification",
                "Email a verification link",
                no_content(),
                &[],
                Some(body_of(json!({"email": email}), &["email"])),
            ),
        ),
        (
            "confirm-verification",
            "post",
            op(
                "confirmVerification",
                "Verify with the emailed token",
                no_content(),
                &[],
                Some(body_of(json!({"token": string}), &["token"])),
            ),
        ),
        (
            "request-password-reset",
            "post",
            op(
                "requestPasswordReset",
                "Email a password reset link",
                no_content(),
                &[],
                Some(body_of(json!({"email": email}), &["email"])),
            ),
        ),
        (
            "confirm-password-reset",
            "post",
            op(
                "confirmPasswordReset",
                "Set a new password with the emailed token",
                no_content(),
                &[],
                Some(body_of(
                    json!({"token": string, "password": string, "passwordConfirm": string}),
                    &["token", "password", "passwordConfirm"],
                )),
            ),
        ),
        (
            "request-email-change",
            "post",
            op(
                "requestEmailChange",
                "Email a confirmation link to a new address",
                no_content(),
                &[unauthorized, FORBIDDEN],
                Some(body_of(json!({"newEmail": email}), &["newEmail"])),
            ),
        ),
        (
            "confirm-email-change",
            "post",
            op(
                "confirmEmailChange",
                "Change the email with the emailed token and the password",
                no_content(),
                &[],
                Some(body_of(json!({"token": string, "password": string}), &["token", "password"])),
            ),
        ),
    ];
    for (path, method, op) in entries {
        let mut item = Map::new();
        item.insert(method.into(), op);
        paths.insert(format!("{base}/{path}"), Value::Object(item));
    }
}

fn batch_path() -> Value {
    let request = json!({
        "type": "object",
        "required": ["method", "url"],
        "properties": {
            "method": {"type": "string", "enum": ["POST", "PUT", "PATCH", "DELETE"]},
            "url": {"type": "string", "description": "`/api/collections/{name}/records[/{id}]`, with an optional query."},
            "body": {"type": "object"}
        }
    });
    let mut op = operation(
        "system",
        "batch".into(),
        "Several creates, updates, upserts and deletes in one transaction".into(),
        (
            "200",
            json!({"description": "One answer per request, in order.", "content": {"application/json": {"schema": {
                "type": "array",
                "items": {"type": "object", "properties": {"status": {"type": "integer"}, "body": {}}}
            }}}}),
        ),
        &[FORBIDDEN],
    );
    op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {
        "type": "object",
        "required": ["requests"],
        "properties": {"requests": {"type": "array", "minItems": 1, "maxItems": crate::batch::MAX_REQUESTS, "items": request}}
    }}}});
    json!({"post": op})
}

fn health_path() -> Value {
    let op = operation(
        "system",
        "health".into(),
        "The app's API answers".into(),
        (
            "200",
            json!({"description": "Healthy.", "content": {"application/json": {"schema": {
                "type": "object",
                "properties": {"code": {"type": "integer"}, "message": {"type": "string"}, "data": {"type": "object"}}
            }}}}),
        ),
        &[],
    );
    json!({"get": op})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collection(json: Value) -> Collection {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("collection: {e}"))
    }

    #[test]
    fn record_schemas_follow_the_fields() {
        let posts = collection(json!({
            "id": "c1", "name": "posts", "type": "base", "system": false, "indexes": [],
            "listRule": "", "viewRule": "", "createRule": null, "updateRule": null, "deleteRule": null,
            "fields": [
                {"name": "title", "type": "text", "required": true},
                {"name": "tags", "type": "select", "values": ["a", "b"], "maxSelect": 2},
                {"name": "state", "type": "select", "values": ["draft", "live"]},
                {"name": "where", "type": "geoPoint"},
                {"name": "readers", "type": "relation", "collectionId": "users", "maxSelect": 5},
                {"name": "secret", "type": "text", "hidden": true}
            ]
        }));
        let guest = build("shop", std::slice::from_ref(&posts), false);
        let record = &guest["components"]["schemas"]["posts.record"]["properties"];
        assert_eq!(record["title"]["type"], "string");
        assert_eq!(record["tags"]["type"], "array");
        assert_eq!(record["tags"]["items"]["enum"], json!(["a", "b"]));
        assert_eq!(record["state"]["enum"], json!(["draft", "live", ""]));
        assert_eq!(record["where"]["properties"]["lat"]["type"], "number");
        assert_eq!(record["readers"]["type"], "array");
        assert!(record.get("secret").is_none(), "hidden from guests");
        let paths = &guest["paths"];
        assert!(paths["/api/collections/posts/records"]["get"].is_object());
        assert!(paths["/api/collections/posts/records"].get("post").is_none(), "superusers only");
        let superuser = build("shop", &[posts], true);
        assert!(superuser["paths"]["/api/collections/posts/records"]["post"].is_object());
        assert!(superuser["components"]["schemas"]["posts.record"]["properties"]["secret"].is_object());
        assert_eq!(superuser["components"]["schemas"]["posts.create"]["required"], json!(["title"]));
    }
}

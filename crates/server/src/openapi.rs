//! The OpenAPI 3.1 document: module routes contribute their paths; this adds the metadata,
//! the two authentication schemes, and (once every module's paths are merged, [`complete`])
//! the error responses every operation can give.

use axum::http::StatusCode;
use kernel::error::Problem;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Socle platform API",
        description = "Accounts, organizations, API keys, audit, the Studio (projects, pages, collections), apps, automation (webhooks, notifications, jobs, email templates) and administration of a Socle platform. Errors are RFC 9457 problems (`application/problem+json`) with per-field `errors` and the `request_id`.",
        license(name = "AGPL-3.0-only")
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Registration, sign-in, tokens, password reset"),
        (name = "users", description = "The signed-in person: profile, sessions, GDPR"),
        (name = "organizations", description = "Organizations, members, invitations"),
        (name = "api-keys", description = "Organization API keys"),
        (name = "studio", description = "Projects, pages, components, collections, share links, export/import"),
        (name = "runtime", description = "Apps and deployments (the apps' own PocketBase-compatible API lives under /apps/{slug})"),
        (name = "automation", description = "Outgoing webhooks"),
        (name = "notifications", description = "The signed-in person's notifications, preferences and live stream"),
        (name = "admin", description = "Platform administration (admin role)"),
        (name = "insights", description = "Health, version, metrics"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from /api/v1/foundation/auth/login, or an API key (sk_...)."))
                    .build(),
            ),
        );
        components
            .add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
    }
}

/// The schema every platform error body follows (registered under this name).
pub const PROBLEM_SCHEMA: &str = "Problem";
/// The media type of every platform error body.
pub const PROBLEM_MEDIA_TYPE: &str = "application/problem+json";

/// Complete the assembled document (every module's paths merged): responses get the
/// description the OpenAPI specification requires, and every operation declares the errors
/// the middleware and extractors can answer on any route, as RFC 9457 problems.
pub fn complete(mut spec: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    ErrorResponses.modify(&mut spec);
    spec
}

/// Declares, on every operation, the error statuses the server may answer for it without
/// the handler saying so (and completes what the handlers declare):
///
/// - every operation: 400 (malformed query or body), 408 (timeout), 413 (body too large),
///   429 (per-IP rate limit), 500, 503 (database busy);
/// - writes (POST, PUT, PATCH, DELETE): 409 (a unique constraint refused the change);
/// - with a JSON request body: 415 (wrong content type) and 422 (invalid fields);
/// - with query parameters: 422 (a missing, mistyped or out-of-range parameter, named in
///   the problem's `errors`, as the `Query` extractor and the handlers' checks answer);
/// - with a security requirement: 401 (missing or bad credentials) and 403;
/// - with path parameters: 404.
///
/// A status an operation already declares is kept; an error it declares without a body gets
/// the problem body. Every response without a description gets its status's reason phrase.
pub struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut schemas = vec![(PROBLEM_SCHEMA.to_string(), <Problem as PartialSchema>::schema())];
        <Problem as ToSchema>::schemas(&mut schemas);
        for (name, schema) in schemas {
            components.schemas.entry(name).or_insert(schema);
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let has_path_params = path.contains('{');
            for (writes, op) in operations(item) {
                complete_operation(op, writes, has_path_params);
            }
        }
    }
}

/// Every operation of a path, with whether its method writes.
fn operations(item: &mut PathItem) -> impl Iterator<Item = (bool, &mut Operation)> {
    [
        (false, item.get.as_mut()),
        (true, item.put.as_mut()),
        (true, item.post.as_mut()),
        (true, item.delete.as_mut()),
        (false, item.options.as_mut()),
        (false, item.head.as_mut()),
        (true, item.patch.as_mut()),
        (false, item.trace.as_mut()),
        (false, item.query.as_mut()),
    ]
    .into_iter()
    .filter_map(|(writes, op)| Some((writes, op?)))
    .chain(item.additional_operations.values_mut().map(|op| (true, op)))
}

/// Whether the operation takes a JSON body (and so can be answered 415 and 422).
fn takes_json(op: &Operation) -> bool {
    match &op.request_body {
        Some(RefOr::T(body)) => body.content.keys().any(|media| media.contains("json")),
        Some(RefOr::Ref(_)) => true,
        None => false,
    }
}

/// Whether the operation takes query parameters (and so can be answered 422 naming one).
fn takes_query(op: &Operation) -> bool {
    op.parameters.iter().flatten().any(|p| match p {
        RefOr::T(p) => matches!(p.parameter_in, ParameterIn::Query),
        RefOr::Ref(_) => true,
    })
}

fn secured(op: &Operation) -> bool {
    op.security.as_ref().is_some_and(|requirements| !requirements.is_empty())
}

fn complete_operation(op: &mut Operation, writes: bool, has_path_params: bool) {
    let mut statuses: Vec<u16> = vec![400, 408, 413, 429, 500, 503];
    if writes {
        statuses.push(409);
    }
    if takes_json(op) {
        statuses.extend([415, 422]);
    }
    if takes_query(op) {
        statuses.push(422);
    }
    if secured(op) {
        statuses.extend([401, 403]);
    }
    if has_path_params {
        statuses.push(404);
    }
    for status in statuses {
        op.responses.responses.entry(status.to_string()).or_insert_with(|| RefOr::T(Response::new(String::new())));
    }
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(response) = response else { continue };
        if response.description.trim().is_empty() {
            response.description = reason_phrase(status);
        }
        let is_error = status.starts_with('4') || status.starts_with('5');
        if is_error && response.content.is_empty() {
            response.content.insert(
                PROBLEM_MEDIA_TYPE.to_string(),
                RefOr::T(Content::new(Some(Ref::from_schema_name(PROBLEM_SCHEMA)))),
            );
        }
    }
}

/// `404` → `Not Found`; ranges (`4XX`) and `default` get a generic phrase.
fn reason_phrase(status: &str) -> String {
    let reason = status.parse::<u16>().ok().and_then(|code| StatusCode::from_u16(code).ok()?.canonical_reason());
    match (reason, status) {
        (Some(reason), _) => reason.to_string(),
        (None, "default") => "Any other answer".to_string(),
        (None, s) if s.starts_with('1') => "Informational".to_string(),
        (None, s) if s.starts_with('2') => "Success".to_string(),
        (None, s) if s.starts_with('3') => "Redirection".to_string(),
        (None, s) if s.starts_with('4') => "Client error".to_string(),
        (None, s) if s.starts_with('5') => "Server error".to_string(),
        (None, _) => "Response".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_phrases() {
        assert_eq!(reason_phrase("404"), "Not Found");
        assert_eq!(reason_phrase("429"), "Too Many Requests");
        assert_eq!(reason_phrase("4XX"), "Client error");
        assert_eq!(reason_phrase("default"), "Any other answer");
    }

    #[test]
    fn errors_are_declared_without_overwriting() {
        let mut spec = ApiDoc::openapi();
        let op = utoipa::openapi::path::OperationBuilder::new()
            .response("200", Response::new(""))
            .response("404", Response::new("No such thing"))
            .security(utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        let item = PathItem::new(utoipa::openapi::path::HttpMethod::Delete, op);
        spec.paths.paths.insert("/things/{id}".into(), item);
        let spec = complete(spec);
        let value = serde_json::to_value(&spec).unwrap_or_default();
        let responses = &value["paths"]["/things/{id}"]["delete"]["responses"];
        assert_eq!(responses["200"]["description"], "OK");
        assert_eq!(responses["404"]["description"], "No such thing", "kept");
        for status in ["400", "401", "403", "404", "408", "409", "413", "429", "500", "503"] {
            assert!(responses[status]["description"].is_string(), "{status} declared");
        }
        assert!(responses.get("415").is_none(), "no body, no 415");
        assert!(responses.get("422").is_none(), "no body and no query, no 422");
        assert_eq!(responses["401"]["content"][PROBLEM_MEDIA_TYPE]["schema"]["$ref"], "#/components/schemas/Problem");
        assert!(value["components"]["schemas"]["Problem"].is_object());
        assert!(value["components"]["schemas"]["FieldError"].is_object());
    }

    #[test]
    fn query_parameters_can_be_refused_with_422() {
        use utoipa::openapi::path::{OperationBuilder, ParameterBuilder};
        let mut spec = ApiDoc::openapi();
        let op = OperationBuilder::new()
            .response("200", Response::new(""))
            .parameter(ParameterBuilder::new().name("page").parameter_in(ParameterIn::Query))
            .build();
        spec.paths.paths.insert("/things".into(), PathItem::new(utoipa::openapi::path::HttpMethod::Get, op));
        let value = serde_json::to_value(complete(spec)).unwrap_or_default();
        let refused = &value["paths"]["/things"]["get"]["responses"]["422"];
        assert_eq!(refused["content"][PROBLEM_MEDIA_TYPE]["schema"]["$ref"], "#/components/schemas/Problem");
    }
}

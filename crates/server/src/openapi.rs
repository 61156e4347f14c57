//! The OpenAPI 3.1 document: module routes contribute their paths; this adds the metadata
//! and the two authentication schemes.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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

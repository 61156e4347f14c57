//! Studio's audit actions. Entries are written by Foundation's audit log inside the
//! transaction of the change.

use foundation::audit::{AuditEntry, Severity};
use kernel::principal::Principal;

pub const PROJECT_CREATED: &str = "PROJECT_CREATED";
pub const PROJECT_UPDATED: &str = "PROJECT_UPDATED";
pub const PROJECT_DELETED: &str = "PROJECT_DELETED";
pub const PROJECT_RESTORED: &str = "PROJECT_RESTORED";
pub const PROJECT_DUPLICATED: &str = "PROJECT_DUPLICATED";
pub const PROJECT_IMPORTED: &str = "PROJECT_IMPORTED";
pub const PROJECT_EXPORTED: &str = "PROJECT_EXPORTED";
pub const SHARE_LINK_CREATED: &str = "SHARE_LINK_CREATED";
pub const SHARE_LINK_REVOKED: &str = "SHARE_LINK_REVOKED";
pub const PAGE_CREATED: &str = "PAGE_CREATED";
pub const PAGE_UPDATED: &str = "PAGE_UPDATED";
pub const PAGE_DELETED: &str = "PAGE_DELETED";
pub const PAGE_RESTORED: &str = "PAGE_VERSION_RESTORED";
pub const COMPONENT_CREATED: &str = "COMPONENT_CREATED";
pub const COMPONENT_UPDATED: &str = "COMPONENT_UPDATED";
pub const COMPONENT_DELETED: &str = "COMPONENT_DELETED";
pub const COLLECTION_CREATED: &str = "COLLECTION_CREATED";
pub const COLLECTION_UPDATED: &str = "COLLECTION_UPDATED";
pub const COLLECTION_DELETED: &str = "COLLECTION_DELETED";
pub const COLLECTIONS_IMPORTED: &str = "COLLECTIONS_IMPORTED";

/// An entry by `principal` on a resource of organization `org`.
pub fn entry(
    action: &'static str,
    target_type: &'static str,
    principal: &Principal,
    org: &str,
    target: &str,
    description: impl Into<String>,
) -> AuditEntry {
    let severity = if action.ends_with("_DELETED") { Severity::Medium } else { Severity::Low };
    AuditEntry::new(action, severity, target_type).by(principal).org(org).target(target).describe(description)
}

//! Verification of organizations (KYC / KYB): documents with typed metadata, reviewed by
//! platform administrators; other modules gate features on [`service::require_verified`].

pub mod routes;
pub mod service;

use std::sync::Arc;

use crate::FoundationState;

/// Foundation's state and the file storage, where the documents are kept.
#[derive(Clone)]
pub struct VerificationState {
    pub foundation: FoundationState,
    pub store: Arc<kernel::storage::Store>,
}

impl axum::extract::FromRef<VerificationState> for FoundationState {
    fn from_ref(state: &VerificationState) -> FoundationState {
        state.foundation.clone()
    }
}

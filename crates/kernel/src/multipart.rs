//! Multipart uploads to the platform API, read whole into named parts with the platform's
//! errors: 415 when the body is not `multipart/form-data`, 413 past the route's body limit,
//! 400 when it is malformed.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};

use crate::{Error, Result};

/// One part: its field name, its file name (files only) and its bytes.
pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub bytes: axum::body::Bytes,
}

impl Part {
    /// A text field's value, trimmed.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).trim().to_string()
    }
}

fn read_error(e: axum::extract::multipart::MultipartError) -> Error {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::PayloadTooLarge("the upload is larger than upload_limit_bytes".into())
    } else {
        Error::BadRequest(format!("invalid multipart body: {e}"))
    }
}

pub async fn read_form(request: Request) -> Result<Vec<Part>> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(Error::UnsupportedMediaType("this upload is multipart/form-data".into()));
    }
    let mut form = Multipart::from_request(request, &())
        .await
        .map_err(|e| Error::BadRequest(format!("invalid multipart body: {e}")))?;
    let mut parts = Vec::new();
    while let Some(field) = form.next_field().await.map_err(read_error)? {
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let bytes = field.bytes().await.map_err(read_error)?;
        parts.push(Part { name, file_name, bytes });
    }
    Ok(parts)
}

//! Input validation that collects every problem before answering, so a client can fix a
//! form in one round trip.

use crate::error::{Error, FieldError, Result};

#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, code, message));
    }

    /// A non-blank string of at most `max` characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.add(field, "required", format!("{field} must not be empty"));
        } else {
            self.max_len(field, value, max);
        }
    }

    pub fn max_len(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.add(field, "too_long", format!("{field} must be at most {max} characters"));
        }
        if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            self.add(field, "invalid_characters", format!("{field} must not contain control characters"));
        }
    }

    pub fn email(&mut self, field: &str, value: &str) {
        if !is_valid_email(value) {
            self.add(field, "invalid_format", format!("{field} must be a valid email address"));
        }
    }

    /// The platform password policy: 12 to 256 characters with a lowercase letter, an
    /// uppercase letter and a digit.
    pub fn password(&mut self, field: &str, value: &str) {
        for problem in password_problems(value) {
            self.add(field, "weak_password", problem);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn finish(self) -> Result<()> {
        if self.errors.is_empty() { Ok(()) } else { Err(Error::Validation(self.errors)) }
    }
}

pub fn password_problems(value: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let len = value.chars().count();
    if len < 12 {
        problems.push("password must be at least 12 characters long".to_string());
    }
    if len > 256 {
        problems.push("password must be at most 256 characters long".to_string());
    }
    if !value.chars().any(|c| c.is_lowercase()) {
        problems.push("password must contain a lowercase letter".to_string());
    }
    if !value.chars().any(|c| c.is_uppercase()) {
        problems.push("password must contain an uppercase letter".to_string());
    }
    if !value.chars().any(|c| c.is_ascii_digit()) {
        problems.push("password must contain a digit".to_string());
    }
    problems
}

/// A pragmatic address check (RFC 5321 sizes, one `@`, a dotted domain, no spaces).
/// An absolute `http(s)` URL with a host, at most `max` bytes, without whitespace or
/// control characters.
pub fn is_http_url(value: &str, max: usize) -> bool {
    value.len() <= max
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && url::Url::parse(value)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty()))
}

pub fn is_valid_email(value: &str) -> bool {
    if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = value.rsplit_once('@') else { return false };
    if local.is_empty() || local.len() > 64 || local.contains('@') || local.contains(['<', '>', ',', ';', '"']) {
        return false;
    }
    if domain.len() < 3 || !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
        return false;
    }
    domain.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
    })
}

/// Canonical form of an email for lookups and uniqueness.
pub fn normalize_email(value: &str) -> String {
    value.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(is_valid_email("ada@example.com"));
        assert!(is_valid_email("a.b+c@sub.example.co"));
        for bad in ["", "a", "a@b", "a@.com", "a @b.com", "@b.com", "a@b.com.", "a@-b.com", "a<b@c.com"] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn password_policy() {
        assert!(password_problems("Correct-Horse-9").is_empty());
        assert_eq!(password_problems("short1A").len(), 1);
        assert_eq!(password_problems("alllowercaseletters").len(), 2);
    }
}

//! Time helpers. Every stored time is UTC with microsecond precision, so that values read
//! back from SQLite (text) and PostgreSQL (timestamptz) compare equal.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Now, in UTC, truncated to microseconds (PostgreSQL's precision).
pub fn now() -> OffsetDateTime {
    truncate(OffsetDateTime::now_utc())
}

pub fn truncate(t: OffsetDateTime) -> OffsetDateTime {
    let micros = t.microsecond();
    t.to_offset(time::UtcOffset::UTC).replace_nanosecond(micros * 1_000).unwrap_or(t)
}

/// The fixed-width text form used in SQLite so that text comparison is time comparison.
pub fn to_sqlite_text(t: OffsetDateTime) -> String {
    let t = truncate(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// RFC 3339 text for API output and exports.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| to_sqlite_text(t))
}

pub fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok().map(truncate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_text_sorts_like_time() {
        let a = time::macros::datetime!(2026-01-01 00:00:00 UTC);
        let b = a + time::Duration::microseconds(1);
        let c = a + time::Duration::seconds(1);
        assert!(to_sqlite_text(a) < to_sqlite_text(b));
        assert!(to_sqlite_text(b) < to_sqlite_text(c));
        assert_eq!(to_sqlite_text(a), "2026-01-01T00:00:00.000000Z");
        assert_eq!(parse_rfc3339(&to_sqlite_text(b)), Some(b));
    }
}

//! In-memory evaluation against a record, for realtime rule checks without a query per
//! subscriber. Semantics follow PocketBase's SQL: `null`, missing and `""` are all empty;
//! plain operators on a multi-valued field must hold for every value, `?` forms for at least
//! one; `~` is a case-insensitive "contains", or a LIKE pattern when the value has `%`.
//! What needs other rows (`@collection.*`, relation paths that are not expanded) reports
//! [`EvalError::NeedsQuery`] so that the caller falls back to SQL.

use serde_json::Value;
use time::OffsetDateTime;

use crate::ast::{CmpOp, DateMacro, Expr, Literal, Modifier, Operand, Path, Root};

/// The values an expression can refer to.
pub struct Context<'a> {
    /// The record; expanded relations appear as nested objects (or arrays of objects).
    pub record: &'a Value,
    /// The authenticated record, `None` for guests.
    pub auth: Option<&'a Value>,
    pub body: &'a Value,
    pub query: &'a Value,
    pub now: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("{0} can only be evaluated by a database query")]
    NeedsQuery(String),
}

pub fn evaluate(expr: &Expr, ctx: &Context<'_>) -> Result<bool, EvalError> {
    match expr {
        Expr::And(a, b) => Ok(evaluate(a, ctx)? && evaluate(b, ctx)?),
        Expr::Or(a, b) => Ok(evaluate(a, ctx)? || evaluate(b, ctx)?),
        Expr::Compare { left, op, any, right, .. } => {
            let (l, r) = (resolve(left, ctx)?, resolve(right, ctx)?);
            Ok(compare_sets(&l, *op, *any, &r))
        }
    }
}

/// One value, or the values of a multi-valued field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved {
    One(Value),
    Many(Vec<Value>),
}

pub(crate) fn resolve(operand: &Operand, ctx: &Context<'_>) -> Result<Resolved, EvalError> {
    match operand {
        Operand::Literal(l, _) => Ok(Resolved::One(match l {
            Literal::Str(s) => Value::String(s.clone()),
            Literal::Num(n) => serde_json::Number::from_f64(*n).map(Value::Number).unwrap_or(Value::Null),
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Null => Value::Null,
        })),
        Operand::Macro(m, _) => Ok(Resolved::One(Value::String(date_macro(*m, ctx.now)))),
        Operand::Field(path, _) => resolve_path(path, ctx),
    }
}

fn resolve_path(path: &Path, ctx: &Context<'_>) -> Result<Resolved, EvalError> {
    let null = Value::Null;
    let base = match &path.root {
        Root::Record => ctx.record,
        Root::RequestAuth => ctx.auth.unwrap_or(&null),
        Root::RequestBody => ctx.body,
        Root::RequestQuery => ctx.query,
        Root::Collection(name) => return Err(EvalError::NeedsQuery(format!("@collection.{name}"))),
    };
    if path.modifier == Some(Modifier::IsSet) {
        let present = path.segments.iter().try_fold(base, |current, segment| current.get(segment)).is_some();
        return Ok(Resolved::One(Value::Bool(present)));
    }
    // Walk the path; arrays of expanded records fan out.
    let mut values: Vec<&Value> = vec![base];
    let mut fanned = false;
    for (i, segment) in path.segments.iter().enumerate() {
        let last = i + 1 == path.segments.len();
        let mut next = Vec::new();
        for v in values {
            match v {
                Value::Object(map) => next.push(map.get(segment).unwrap_or(&Value::Null)),
                Value::Array(items) => {
                    fanned = true;
                    for item in items {
                        match item {
                            Value::Object(map) => next.push(map.get(segment).unwrap_or(&Value::Null)),
                            Value::String(_) => return Err(EvalError::NeedsQuery(format!("the relation path {path}"))),
                            _ => next.push(&Value::Null),
                        }
                    }
                }
                // A relation id with more path to follow: the related record is not here.
                Value::String(_) if !last || i > 0 => {
                    return Err(EvalError::NeedsQuery(format!("the relation path {path}")));
                }
                _ => next.push(&Value::Null),
            }
        }
        values = next;
    }
    let collected: Vec<Value> = if fanned {
        values.into_iter().flat_map(flatten).map(record_id).collect()
    } else {
        match values.first() {
            Some(Value::Array(items)) => items.iter().cloned().map(record_id).collect(),
            Some(v) => return Ok(apply_modifier(path.modifier, Resolved::One(record_id((*v).clone())))),
            None => return Ok(Resolved::One(Value::Null)),
        }
    };
    Ok(apply_modifier(path.modifier, Resolved::Many(collected)))
}

/// A relation's value is its id, whether or not the related record is expanded in place.
fn record_id(v: Value) -> Value {
    match v {
        Value::Object(mut map) if map.contains_key("id") => map.remove("id").unwrap_or(Value::Null),
        other => other,
    }
}

fn flatten(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

fn apply_modifier(modifier: Option<Modifier>, value: Resolved) -> Resolved {
    match modifier {
        None | Some(Modifier::IsSet) => value,
        Some(Modifier::Each) => match value {
            Resolved::One(Value::Null) => Resolved::Many(Vec::new()),
            Resolved::One(v) => Resolved::Many(vec![v]),
            many => many,
        },
        Some(Modifier::Length) => {
            let n = match &value {
                Resolved::Many(items) => items.len(),
                Resolved::One(Value::Null) => 0,
                Resolved::One(Value::String(s)) if s.is_empty() => 0,
                Resolved::One(_) => 1,
            };
            Resolved::One(Value::from(n))
        }
        Some(Modifier::Lower) => {
            let lower = |v: Value| match v {
                Value::String(s) => Value::String(s.to_lowercase()),
                other => other,
            };
            match value {
                Resolved::One(v) => Resolved::One(lower(v)),
                Resolved::Many(items) => Resolved::Many(items.into_iter().map(lower).collect()),
            }
        }
    }
}

pub(crate) fn is_empty(v: &Value) -> bool {
    matches!(v, Value::Null) || matches!(v, Value::String(s) if s.is_empty())
}

fn compare_sets(left: &Resolved, op: CmpOp, any: bool, right: &Resolved) -> bool {
    let as_slice = |r: &Resolved| -> Vec<Value> {
        match r {
            Resolved::One(v) => vec![v.clone()],
            Resolved::Many(items) => items.clone(),
        }
    };
    // A multi-valued field compared with emptiness: is the list empty?
    if let (Resolved::Many(items), Resolved::One(v)) = (left, right)
        && is_empty(v)
        && matches!(op, CmpOp::Eq | CmpOp::Neq)
        && !any
    {
        let empty = items.iter().all(is_empty);
        return if op == CmpOp::Eq { empty } else { !empty };
    }
    let (ls, rs) = (as_slice(left), as_slice(right));
    if ls.is_empty() || rs.is_empty() {
        return false;
    }
    let pairs = ls.iter().flat_map(|l| rs.iter().map(move |r| (l, r)));
    if any {
        pairs.into_iter().any(|(l, r)| compare(l, op, r))
    } else {
        pairs.into_iter().all(|(l, r)| compare(l, op, r))
    }
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Compare two single values.
pub fn compare(l: &Value, op: CmpOp, r: &Value) -> bool {
    match op {
        CmpOp::Eq => equal(l, r),
        CmpOp::Neq => !equal(l, r),
        CmpOp::Like => like(l, r),
        CmpOp::NotLike => !like(l, r),
        CmpOp::Gt | CmpOp::Gte | CmpOp::Lt | CmpOp::Lte => {
            if is_empty(l) || is_empty(r) {
                return false;
            }
            let ordering = match (l, r) {
                // Text against text compares as text (byte order), as the database does.
                (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                _ => match (as_number(l), as_number(r)) {
                    (Some(x), Some(y)) => x.partial_cmp(&y),
                    _ => None,
                },
            };
            match ordering {
                Some(o) => match op {
                    CmpOp::Gt => o.is_gt(),
                    CmpOp::Gte => o.is_ge(),
                    CmpOp::Lt => o.is_lt(),
                    _ => o.is_le(),
                },
                None => false,
            }
        }
    }
}

fn equal(l: &Value, r: &Value) -> bool {
    if is_empty(l) || is_empty(r) {
        return is_empty(l) && is_empty(r);
    }
    match (l, r) {
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        _ => match (as_number(l), as_number(r)) {
            (Some(x), Some(y)) => x == y,
            _ => l == r,
        },
    }
}

fn like(l: &Value, r: &Value) -> bool {
    if matches!(l, Value::Null) {
        return false;
    }
    let text = as_text(l).to_lowercase();
    let pattern = as_text(r).to_lowercase();
    if pattern.contains('%') { like_pattern(&text, &pattern) } else { text.contains(&pattern) }
}

/// SQL LIKE with `%` (any run) and `_` (one character).
fn like_pattern(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    let (mut ti, mut pi) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

/// PocketBase's datetime text: `2006-01-02 15:04:05.000Z`, in UTC. Written digit by digit:
/// every record write stamps two of them, and `format!` cost twice as much.
pub fn format_datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let mut out = String::with_capacity(24);
    if t.year() < 0 {
        out.push('-');
    }
    let mut push = |value: u32, width: u32, then: Option<char>| {
        let mut unit = 10u32.pow(width - 1);
        while unit > 0 {
            out.push(char::from(b'0' + ((value / unit) % 10) as u8));
            unit /= 10;
        }
        if let Some(c) = then {
            out.push(c);
        }
    };
    push(t.year().unsigned_abs(), 4, Some('-'));
    push(u32::from(u8::from(t.month())), 2, Some('-'));
    push(u32::from(t.day()), 2, Some(' '));
    push(u32::from(t.hour()), 2, Some(':'));
    push(u32::from(t.minute()), 2, Some(':'));
    push(u32::from(t.second()), 2, Some('.'));
    push(u32::from(t.millisecond()), 3, Some('Z'));
    out
}

fn date_macro(m: DateMacro, now: OffsetDateTime) -> String {
    let now = now.to_offset(time::UtcOffset::UTC);
    let midnight = now.replace_time(time::Time::MIDNIGHT);
    let end_of = |t: OffsetDateTime| t - time::Duration::milliseconds(1);
    let month_start = midnight.replace_day(1).unwrap_or(midnight);
    let next_month = if month_start.month() == time::Month::December {
        month_start.replace_year(month_start.year() + 1).ok().and_then(|t| t.replace_month(time::Month::January).ok())
    } else {
        month_start.replace_month(month_start.month().next()).ok()
    };
    let year_start = month_start.replace_month(time::Month::January).unwrap_or(month_start);
    let next_year = year_start.replace_year(year_start.year() + 1).unwrap_or(year_start);
    format_datetime(match m {
        DateMacro::Now => now,
        DateMacro::Yesterday => now - time::Duration::days(1),
        DateMacro::Tomorrow => now + time::Duration::days(1),
        DateMacro::TodayStart => midnight,
        DateMacro::TodayEnd => end_of(midnight + time::Duration::days(1)),
        DateMacro::MonthStart => month_start,
        DateMacro::MonthEnd => end_of(next_month.unwrap_or(month_start)),
        DateMacro::YearStart => year_start,
        DateMacro::YearEnd => end_of(next_year),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::parse;

    fn eval_with(src: &str, record: &Value, auth: Option<&Value>, body: &Value) -> Result<bool, EvalError> {
        let expr = parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        let ctx = Context {
            record,
            auth,
            body,
            query: &Value::Null,
            now: time::macros::datetime!(2026-02-10 13:45:30.250 UTC),
        };
        evaluate(&expr, &ctx)
    }

    #[test]
    fn datetimes_are_written_as_pocketbase_writes_them() {
        use time::macros::datetime;
        assert_eq!(format_datetime(datetime!(2026-02-03 04:05:06.007 UTC)), "2026-02-03 04:05:06.007Z");
        assert_eq!(format_datetime(datetime!(1999-12-31 23:59:59.999 +02:00)), "1999-12-31 21:59:59.999Z");
        assert_eq!(format_datetime(datetime!(0042-01-01 00:00:00 UTC)), "0042-01-01 00:00:00.000Z");
        assert_eq!(format_datetime(datetime!(-0001-01-01 00:00:00 UTC)), "-0001-01-01 00:00:00.000Z");
    }

    #[test]
    fn a_table_of_expressions() {
        let record = json!({
            "id": "r1", "title": "Hello World", "views": 42, "price": 9.5, "published": true,
            "tags": ["rust", "web"], "empty_tags": [], "note": "", "owner": "u1",
            "created": "2026-02-10 08:00:00.000Z",
            "author": {"id": "u1", "name": "Ada", "roles": ["admin", "dev"]},
            "comments": [{"body": "nice", "likes": 3}, {"body": "meh", "likes": 0}]
        });
        let auth = json!({"id": "u1", "role": "editor"});
        let body = json!({"status": "draft"});
        let cases: &[(&str, bool)] = &[
            ("title = 'Hello World'", true),
            ("title = 'hello world'", false),
            ("title ~ 'WORLD'", true),
            ("title !~ 'planet'", true),
            ("title ~ 'Hel%d'", true),
            ("title ~ 'H_llo%'", true),
            ("title:lower = 'hello world'", true),
            ("views > 40 && views <= 42", true),
            ("views = '42'", true),
            ("price < 10 && price >= 9.5", true),
            ("published = true && published != false", true),
            ("missing = null && note = null && note = ''", true),
            ("title != null", true),
            ("tags ?= 'rust'", true),
            ("tags = 'rust'", false),
            ("tags ?= 'go'", false),
            ("tags:length = 2", true),
            ("empty_tags = null && empty_tags:length = 0", true),
            ("tags:each ~ 'r'", false),
            ("tags:each ?~ 'w'", true),
            ("author.name = 'Ada'", true),
            ("author.roles ?= 'admin'", true),
            ("comments.likes ?> 2", true),
            ("comments.likes > 2", false),
            ("comments.body:length = 2", true),
            ("owner = @request.auth.id", true),
            ("@request.auth.role = 'editor' || views > 100", true),
            ("@request.body.status = 'draft'", true),
            ("@request.body.status:isset = true && @request.body.owner:isset = false", true),
            ("created >= @todayStart && created <= @todayEnd", true),
            ("created < @yesterday", false),
            ("@now > created && @monthStart < @now && @yearEnd > @now", true),
            ("(views > 100 || published = true) && title ~ 'hello'", true),
            ("views > 100 || published = true && title ~ 'nope'", false),
        ];
        for (src, expected) in cases {
            assert_eq!(eval_with(src, &record, Some(&auth), &body), Ok(*expected), "{src}");
        }
    }

    #[test]
    fn guests_and_queries() {
        let record = json!({"owner": "u1", "author": "u1"});
        assert_eq!(eval_with("@request.auth.id = ''", &record, None, &Value::Null), Ok(true));
        assert_eq!(eval_with("owner = @request.auth.id", &record, None, &Value::Null), Ok(false));
        assert!(matches!(eval_with("author.name = 'x'", &record, None, &Value::Null), Err(EvalError::NeedsQuery(_))));
        assert!(matches!(
            eval_with("@collection.members.user = 'u1'", &record, None, &Value::Null),
            Err(EvalError::NeedsQuery(_))
        ));
    }

    #[test]
    fn date_macros() {
        let now = time::macros::datetime!(2026-12-31 23:59:59.500 UTC);
        assert_eq!(date_macro(DateMacro::TodayStart, now), "2026-12-31 00:00:00.000Z");
        assert_eq!(date_macro(DateMacro::TodayEnd, now), "2026-12-31 23:59:59.999Z");
        assert_eq!(date_macro(DateMacro::MonthEnd, now), "2026-12-31 23:59:59.999Z");
        assert_eq!(date_macro(DateMacro::MonthStart, now), "2026-12-01 00:00:00.000Z");
        assert_eq!(date_macro(DateMacro::YearStart, now), "2026-01-01 00:00:00.000Z");
        assert_eq!(date_macro(DateMacro::YearEnd, now), "2026-12-31 23:59:59.999Z");
        assert_eq!(date_macro(DateMacro::Tomorrow, now), "2027-01-01 23:59:59.500Z");
    }

    #[test]
    fn like_patterns() {
        assert!(like_pattern("hello", "h%o"));
        assert!(like_pattern("hello", "%"));
        assert!(like_pattern("hello", "_ello"));
        assert!(!like_pattern("hello", "h_o"));
        assert!(like_pattern("", "%"));
        assert!(!like_pattern("abc", "abcd"));
    }
}

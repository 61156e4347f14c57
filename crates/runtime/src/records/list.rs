//! PocketBase's record listing: one page of the records the list rule and the filter let
//! through, sorted, with the total unless `skipTotal`.

use collections::ddl::quote;
use collections::model::Collection;
use kernel::db::Arg;
use kernel::ranked::PageSpec;
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use sqlx::AssertSqlSafe;

use super::{RequestData, compile_for_request, present, rule_condition, source};
use crate::context::AppCtx;
use crate::pb::{PbError, PbResult};

#[derive(Debug, Default)]
pub struct ListQuery {
    pub page: i64,
    pub per_page: i64,
    pub sort: Option<String>,
    pub filter: Option<String>,
    pub skip_total: bool,
    /// The caller sends the items as they are (no `expand`, no `fields`), so that rows SQL
    /// builds whole (see `Namespace::presented_row_json`) need not be parsed.
    pub items_as_read: bool,
}

/// A page's records: parsed, for callers that expand or project them, or as SQL built them.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Items {
    Records(Vec<Value>),
    AsRead(Vec<Box<RawValue>>),
}

#[derive(Debug, Serialize)]
pub struct ListResult {
    pub page: i64,
    #[serde(rename = "perPage")]
    pub per_page: i64,
    #[serde(rename = "totalItems")]
    pub total_items: i64,
    #[serde(rename = "totalPages")]
    pub total_pages: i64,
    pub items: Items,
}

/// One `ORDER BY` term.
enum SortTerm {
    Column { sql: String, descending: bool },
    Random,
}

/// PocketBase's `sort` (`-` for descending, `@random`), always ending with the id so that
/// every page is deterministic.
fn sort_terms(c: &Collection, sort: &str, kind: kernel::DbKind) -> PbResult<Vec<SortTerm>> {
    let mut terms = Vec::new();
    for item in sort.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if item == "@random" {
            terms.push(SortTerm::Random);
            continue;
        }
        let (name, descending) = match item.strip_prefix('-') {
            Some(n) => (n, true),
            None => (item.strip_prefix('+').unwrap_or(item), false),
        };
        if name != "id" && c.field(name).is_none() {
            return Err(PbError::field(
                "Something went wrong while processing your request.",
                "sort",
                "validation_invalid_sort",
                format!("Unknown sort field {name:?}."),
            ));
        }
        let collate = if kind == kernel::DbKind::Postgres
            && c.field(name).is_none_or(|f| f.storage() == collections::model::Storage::Text)
        {
            " COLLATE \"C\""
        } else {
            ""
        };
        terms.push(SortTerm::Column { sql: format!("r.{}{collate}", quote(name)), descending });
    }
    terms.push(SortTerm::Column { sql: "r.\"id\"".into(), descending: false });
    Ok(terms)
}

fn order_by(terms: &[SortTerm], kind: kernel::DbKind) -> String {
    let parts: Vec<String> = terms
        .iter()
        .map(|t| match (t, kind) {
            (SortTerm::Column { sql, descending }, _) => format!("{sql} {}", if *descending { "DESC" } else { "ASC" }),
            (SortTerm::Random, kernel::DbKind::Sqlite) => "RANDOM()".into(),
            (SortTerm::Random, kernel::DbKind::Postgres) => "random()".into(),
        })
        .collect();
    parts.join(", ")
}

pub async fn list(ctx: &AppCtx, c: &Collection, q: &ListQuery, data: &RequestData<'_>) -> PbResult<ListResult> {
    let mut conds = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    if let Some((sql, a)) = rule_condition(ctx, c, &c.rules.list_rule, data, 1)? {
        conds.push(sql);
        args.extend(a);
    }
    if let Some(filter) = q.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        let (sql, a) = compile_filter(ctx, c, filter, data, args.len() + 1)?;
        conds.push(sql);
        args.extend(a);
    }
    let cond = if conds.is_empty() { "1=1".to_string() } else { conds.join(" AND ") };
    let terms = sort_terms(c, q.sort.as_deref().unwrap_or(""), ctx.db.kind())?;
    let src = source(ctx, c, &mut args)?;
    let presented = if q.items_as_read { ctx.schema.presented_row_json(c) } else { None };
    let listing = Listing {
        row_json: presented.map_or_else(|| ctx.schema.row_json(c), std::borrow::Cow::Borrowed),
        terms,
        src,
        cond,
        args,
        offset: (q.page - 1).saturating_mul(q.per_page),
        limit: q.per_page,
    };
    let (total, rows) = match ranked_page(ctx, c, &listing).await? {
        Some(page) => page,
        None => sql_page(ctx, listing, q.skip_total).await?,
    };
    let (total_items, total_pages) = match total {
        _ if q.skip_total => (-1, -1),
        Some(0) | None => (0, 0),
        Some(n) => (n, (n + q.per_page - 1) / q.per_page),
    };
    let items = if presented.is_some() {
        let raw: Result<Vec<_>, _> = rows.into_iter().map(RawValue::from_string).collect();
        Items::AsRead(raw.map_err(kernel::Error::internal)?)
    } else {
        let records = collections::rows::parse_rows(rows)?;
        Items::Records(records.into_iter().map(|r| present(ctx, c, r)).collect())
    };
    Ok(ListResult { page: q.page, per_page: q.per_page, total_items, total_pages, items })
}

/// The user's filter as SQL, with PocketBase's error for one that does not compile.
fn compile_filter(
    ctx: &AppCtx,
    c: &Collection,
    filter: &str,
    data: &RequestData<'_>,
    first_param: usize,
) -> PbResult<(String, Vec<Arg>)> {
    compile_for_request(ctx, c, filter, data, first_param).map_err(|e| {
        let detail = match e {
            kernel::Error::Validation(f) => f.into_iter().map(|f| f.message).collect::<Vec<_>>().join("; "),
            other => other.to_string(),
        };
        PbError::field(
            "Something went wrong while processing your request. Invalid filter.",
            "filter",
            "validation_invalid_filter",
            detail,
        )
    })
}

/// The total, if counted, and the page's rows as JSON text.
type Page = (Option<i64>, Vec<String>);

/// What one listing selects: `row_json` of the rows of `src` (see [`source`]) matching
/// `cond` (with `args`), sorted by `terms`, `limit` of them after `offset`.
struct Listing<'a> {
    row_json: std::borrow::Cow<'a, str>,
    terms: Vec<SortTerm>,
    src: String,
    cond: String,
    args: Vec<Arg>,
    offset: i64,
    limit: i64,
}

/// The page counted and ranked in one pass where the database can (see
/// [`kernel::ranked`]), then its rows read by id; `None` to count and page in SQL.
async fn ranked_page(ctx: &AppCtx, c: &Collection, listing: &Listing<'_>) -> PbResult<Option<Page>> {
    let Listing { row_json, terms, src, cond, args, offset, limit } = listing;
    // The id comes first; the ranking breaks ties by it, as the last term does in SQL.
    let mut keys = vec!["r.\"id\"".to_string()];
    let mut descending = Vec::new();
    for term in terms.iter().take(terms.len().saturating_sub(1)) {
        match term {
            SortTerm::Column { sql, descending: d } => {
                keys.push(sql.clone());
                descending.push(*d);
            }
            SortTerm::Random => return Ok(None),
        }
    }
    let (Ok(offset), Ok(limit)) = (usize::try_from(*offset), usize::try_from(*limit)) else { return Ok(None) };
    let spec = PageSpec { descending, offset, limit };
    let sql = format!("SELECT {} FROM {src} AS r WHERE {cond}", keys.join(", "));
    let Some(page) = ctx.db.ranked_page(AssertSqlSafe(sql), args.to_vec(), spec).await? else { return Ok(None) };
    if page.ids.is_empty() {
        return Ok(Some((Some(page.total), Vec::new())));
    }
    // The page's rows by id (a view's source takes its own parameters first).
    let mut by_id_args = Vec::new();
    let src = source(ctx, c, &mut by_id_args)?;
    let ids = Value::from(page.ids.iter().map(|id| Value::from(id.as_str())).collect::<Vec<_>>()).to_string();
    by_id_args.push(Arg::Text(Some(ids)));
    // Sorted again, by SQL, which orders them as the ranking did.
    let sql = format!(
        "SELECT {row_json} FROM {src} AS r WHERE r.\"id\" IN (SELECT value FROM json_each(${})) ORDER BY {}",
        by_id_args.len(),
        order_by(terms, ctx.db.kind())
    );
    // A row deleted since the ranking is left out, as if listed a moment later.
    let rows = ctx.db.fetch_texts(AssertSqlSafe(sql), by_id_args).await?;
    Ok(Some((Some(page.total), rows)))
}

/// The page in SQL: `COUNT(*)` unless `skipTotal`, then `ORDER BY ... LIMIT ... OFFSET`.
async fn sql_page(ctx: &AppCtx, listing: Listing<'_>, skip_total: bool) -> PbResult<Page> {
    let Listing { row_json, terms, src, cond, args, offset, limit } = listing;
    let total = if skip_total {
        None
    } else {
        let sql = format!("SELECT COUNT(*) FROM {src} AS r WHERE {cond}");
        Some(ctx.db.count(AssertSqlSafe(sql), args.clone()).await?)
    };
    let sql = format!(
        "SELECT {row_json} FROM {src} AS r WHERE {cond} ORDER BY {} LIMIT ${} OFFSET ${}",
        order_by(&terms, ctx.db.kind()),
        args.len() + 1,
        args.len() + 2
    );
    let mut page_args = args;
    page_args.push(limit.into());
    page_args.push(offset.into());
    Ok((total, ctx.db.fetch_texts(AssertSqlSafe(sql), page_args).await?))
}

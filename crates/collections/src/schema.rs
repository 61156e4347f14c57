//! A project's collections taken together: relations resolved, view fields derived, rules
//! parsed and type-checked, and the tables the expression compiler joins.

use kernel::error::FieldError;

use crate::ddl::Namespace;
use crate::input::{parse_view_query, validate_collection};
use crate::model::{Collection, CollectionType, Field};

pub struct ProjectSchema {
    pub ns: Namespace,
    pub collections: Vec<Collection>,
    checked: Vec<expr::check::Collection>,
    /// Each collection's `row_json` select list, built once (index-aligned with
    /// `collections`): it is the longest piece of text of every read.
    row_json: Vec<String>,
    /// Each collection's [`Namespace::presented_row_json`], where it has one (index-aligned).
    presented_row_json: Vec<Option<String>>,
    /// Each collection's `INSERT ... RETURNING` text, built once (index-aligned).
    insert_returning: Vec<std::sync::Arc<str>>,
}

impl ProjectSchema {
    pub fn new(ns: Namespace, collections: Vec<Collection>) -> Self {
        let checked = collections.iter().map(|c| to_checked(c, &collections)).collect();
        let row_json = collections.iter().map(|c| ns.row_json(c)).collect();
        let presented_row_json = collections.iter().map(|c| ns.presented_row_json(c)).collect();
        let insert_returning =
            collections.iter().map(|c| crate::rows::insert_returning_statement(&ns, c).into()).collect();
        ProjectSchema { ns, collections, checked, row_json, presented_row_json, insert_returning }
    }

    fn position(&self, c: &Collection) -> Option<usize> {
        self.collections.iter().position(|known| known.id == c.id && known.name == c.name && known.fields == c.fields)
    }

    /// [`Namespace::row_json`] of `c`, prepared when `c` belongs to this schema.
    pub fn row_json(&self, c: &Collection) -> std::borrow::Cow<'_, str> {
        match self.position(c) {
            Some(i) => std::borrow::Cow::Borrowed(&self.row_json[i]),
            None => std::borrow::Cow::Owned(self.ns.row_json(c)),
        }
    }

    /// [`Namespace::presented_row_json`] of `c`, when `c` belongs to this schema and has one.
    pub fn presented_row_json(&self, c: &Collection) -> Option<&str> {
        self.position(c).and_then(|i| self.presented_row_json[i].as_deref())
    }

    /// [`crate::rows::insert_returning_statement`] of `c`, prepared when `c` belongs to
    /// this schema.
    /// Shared, so that running it copies no text.
    pub fn insert_returning(&self, c: &Collection) -> std::sync::Arc<str> {
        match self.position(c) {
            Some(i) => self.insert_returning[i].clone(),
            None => crate::rows::insert_returning_statement(&self.ns, c).into(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Collection> {
        self.collections.iter().find(|c| c.name == name)
    }

    pub fn checked(&self, name: &str) -> Option<&expr::check::Collection> {
        self.checked.iter().find(|c| c.name == name)
    }
}

impl expr::check::Schema for ProjectSchema {
    fn collection(&self, name: &str) -> Option<&expr::check::Collection> {
        self.checked(name)
    }
}

impl expr::sql::Storage for ProjectSchema {
    fn table(&self, name: &str) -> Option<String> {
        // A view has no table of its own to join.
        self.get(name).filter(|c| c.kind != CollectionType::View).map(|c| self.ns.table(&c.name))
    }

    /// Scalar fields are `NOT NULL` with a default (see `Namespace::column_type`), in the
    /// tables and so in the views that select from them.
    fn scalar_columns_not_null(&self) -> bool {
        true
    }
}

fn to_checked(c: &Collection, all: &[Collection]) -> expr::check::Collection {
    let target = |f: &Field| {
        f.collection_id
            .as_deref()
            .and_then(|id| all.iter().find(|o| o.id == id || o.name == id))
            .map(|o| o.name.as_str())
    };
    expr::check::Collection {
        name: c.name.clone(),
        fields: c
            .fields
            .iter()
            .filter(|f| f.name != "id")
            .map(|f| expr::check::Field { name: f.name.clone(), ty: f.expr_type(target(f)) })
            .collect(),
    }
}

/// Validate a whole set of collections, after normalizing relation targets to ids and
/// deriving view fields. Errors on `focus` are reported by their own path, errors on
/// other collections under `collections.NAME.`.
pub fn validate_all(collections: &mut [Collection], focus: Option<&str>) -> Result<(), Vec<FieldError>> {
    let mut errors: Vec<FieldError> = Vec::new();
    let prefix = |c: &Collection, e: FieldError| {
        if Some(c.name.as_str()) == focus {
            e
        } else {
            FieldError { field: format!("collections.{}.{}", c.name, e.field), ..e }
        }
    };
    let snapshot: Vec<(String, String)> = collections.iter().map(|c| (c.id.clone(), c.name.clone())).collect();
    let mut names = std::collections::HashSet::new();
    for c in collections.iter_mut() {
        let mut own = Vec::new();
        if !names.insert(c.name.to_lowercase()) {
            own.push(FieldError::new("name", "duplicate", format!("there is already a collection named {:?}", c.name)));
        }
        validate_collection(c, &mut own);
        for (i, f) in c.fields.iter_mut().enumerate() {
            if let Some(target) = f.collection_id.clone().filter(|t| !t.is_empty()) {
                match snapshot.iter().find(|(id, name)| *id == target || *name == target) {
                    Some((id, _)) => f.collection_id = Some(id.clone()),
                    None => own.push(FieldError::new(
                        format!("fields.{i}.collectionId"),
                        "unknown_collection",
                        format!("there is no collection {target:?} in this project"),
                    )),
                }
            }
        }
        errors.extend(own.into_iter().map(|e| prefix(c, e)));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    derive_view_fields(collections, &mut errors, &prefix);
    let schema = ProjectSchema::new(Namespace::new(kernel::DbKind::Sqlite, "check"), collections.to_vec());
    for c in collections.iter() {
        let Some(me) = schema.checked(&c.name) else { continue };
        for (key, rule) in c.rules.each() {
            let Some(src) = rule.as_deref().filter(|s| !s.trim().is_empty()) else { continue };
            for e in check_rule(src, me, &schema) {
                errors.push(prefix(c, FieldError { field: key.into(), ..e }));
            }
        }
        // The MFA rule of an auth collection narrows who needs a second factor.
        if let Some(rule) = c.options.get("mfa").and_then(|m| m.get("rule")).and_then(|r| r.as_str())
            && !rule.trim().is_empty()
        {
            for e in check_rule(rule, me, &schema) {
                errors.push(prefix(c, FieldError { field: "mfa.rule".into(), ..e }));
            }
        }
        if let Some(view) = c.view_query.as_deref().and_then(|q| parse_view_query(q).ok())
            && let (Some(filter), Some(source)) = (view.filter.as_deref(), schema.checked(&view.source))
        {
            for e in check_rule(filter, source, &schema) {
                errors.push(prefix(c, FieldError { field: "viewQuery".into(), ..e }));
            }
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// Parse and type-check one rule or filter; errors carry the position in their message.
pub fn check_rule(src: &str, collection: &expr::check::Collection, schema: &ProjectSchema) -> Vec<FieldError> {
    match expr::parse(src) {
        Err(e) => vec![FieldError::new("", "invalid_expression", e.to_string())],
        Ok(parsed) => match expr::check::check(&parsed, collection, schema) {
            Ok(()) => Vec::new(),
            Err(errors) => {
                errors.into_iter().map(|e| FieldError::new("", "invalid_expression", e.to_string())).collect()
            }
        },
    }
}

/// A view's fields are copies of its source's selected fields.
fn derive_view_fields(
    collections: &mut [Collection],
    errors: &mut Vec<FieldError>,
    prefix: &dyn Fn(&Collection, FieldError) -> FieldError,
) {
    let sources: Vec<Collection> = collections.to_vec();
    for c in collections.iter_mut().filter(|c| c.kind == CollectionType::View) {
        let Some(Ok(view)) = c.view_query.as_deref().map(parse_view_query) else { continue };
        let Some(source) = sources.iter().find(|s| s.name == view.source && s.kind != CollectionType::View) else {
            errors.push(prefix(
                c,
                FieldError::new("viewQuery", "unknown_collection", format!("there is no collection {:?}", view.source)),
            ));
            continue;
        };
        let mut fields: Vec<Field> = Vec::new();
        match &view.columns {
            None => {
                fields = source.fields.iter().filter(|f| f.kind != crate::model::FieldKind::Password).cloned().collect()
            }
            Some(columns) => {
                if let Some(id) = source.field("id") {
                    fields.push(id.clone());
                }
                for (name, alias) in columns.iter().filter(|(n, _)| n != "id") {
                    match source.field(name) {
                        Some(f) => {
                            let mut f = f.clone();
                            f.name = alias.clone();
                            f.unique = false;
                            fields.push(f);
                        }
                        None => errors.push(prefix(
                            c,
                            FieldError::new(
                                "viewQuery",
                                "unknown_field",
                                format!("{:?} has no field {name:?}", source.name),
                            ),
                        )),
                    }
                }
            }
        }
        c.fields = fields;
        c.indexes.clear();
    }
}

/// Parse, type-check and compile a filter or rule on `collection` into a SQL condition on
/// the row alias `r`, with its bound arguments. Errors are 400s naming the position.
pub fn compile_filter(
    schema: &ProjectSchema,
    collection: &str,
    src: &str,
    ctx: &expr::eval::Context<'_>,
    dialect_of: kernel::DbKind,
) -> kernel::Result<(String, Vec<kernel::db::Arg>)> {
    compile_filter_from(schema, collection, src, ctx, dialect_of, 1)
}

/// [`compile_filter`] with placeholders numbered from `first_param`, to combine conditions.
pub fn compile_filter_from(
    schema: &ProjectSchema,
    collection: &str,
    src: &str,
    ctx: &expr::eval::Context<'_>,
    dialect_of: kernel::DbKind,
    first_param: usize,
) -> kernel::Result<(String, Vec<kernel::db::Arg>)> {
    let bad = |m: String| kernel::Error::field("filter", "invalid_filter", m);
    let me = schema.checked(collection).ok_or_else(|| kernel::Error::not_found("collection"))?;
    let parsed = expr::parse(src).map_err(|e| bad(e.to_string()))?;
    expr::check::check(&parsed, me, schema)
        .map_err(|errors| bad(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")))?;
    let dialect = match dialect_of {
        kernel::DbKind::Sqlite => expr::sql::Dialect::Sqlite,
        kernel::DbKind::Postgres => expr::sql::Dialect::Postgres,
    };
    let compiled =
        expr::sql::compile(&parsed, me, schema, dialect, "r", ctx, first_param).map_err(|e| bad(e.to_string()))?;
    let mut args = sql_args(compiled.params);
    if dialect_of == kernel::DbKind::Sqlite {
        // A whole number compares faster with SQLite's integer-stored numbers as an integer.
        for arg in &mut args {
            if let kernel::db::Arg::F64(Some(n)) = *arg
                && n.fract() == 0.0
                && n.abs() < 9_007_199_254_740_992.0
            {
                *arg = kernel::db::Arg::I64(Some(n as i64));
            }
        }
    }
    Ok((compiled.sql, args))
}

pub fn sql_args(params: Vec<expr::sql::Param>) -> Vec<kernel::db::Arg> {
    params
        .into_iter()
        .map(|p| match p {
            expr::sql::Param::Text(s) => kernel::db::Arg::Text(Some(s)),
            expr::sql::Param::Number(n) => kernel::db::Arg::F64(Some(n)),
            expr::sql::Param::Bool(b) => kernel::db::Arg::Bool(Some(b)),
        })
        .collect()
}

//! Compilation to a parameterized SQL condition for SQLite or PostgreSQL.
//!
//! The condition has the same meaning as [`crate::eval::evaluate`] on the same record (the
//! agreement is a property test run on both databases): empty values (`null`, `""`) are
//! equal to each other, plain operators on multi-valued fields must hold for every value and
//! the `?` forms for at least one, `~` is a case-insensitive "contains" or a LIKE pattern.
//!
//! Values never enter the SQL text: literals, date macros and `@request.*` values (known when
//! the query is built) become bound parameters, and comparisons between two known values are
//! decided here. Identifiers come only from the schema, quoted. The storage layout it assumes:
//! one table per collection with an `id` column and one column per field; multi-valued
//! fields (select, relation, file) hold a JSON array of text; `json` fields hold JSON; dates
//! are PocketBase's `YYYY-MM-DD HH:MM:SS.sssZ` text; text columns hold `''` when empty.

use serde_json::Value;

use crate::ast::{CmpOp, Expr, Modifier, Operand, Root};
use crate::check::{Collection, FieldType, Schema};
use crate::eval::{self, Context, Resolved};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A bound value.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Text(String),
    Number(f64),
    Bool(bool),
}

/// Where collections are stored.
pub trait Storage: Schema {
    /// The qualified, quoted table name of a collection.
    fn table(&self, collection: &str) -> Option<String>;

    /// Whether every column of a scalar field (text, number, bool, single select, relation
    /// or file) is `NOT NULL`: comparisons on them then need no NULL guard, which spares
    /// the database work on every row a filter scans.
    fn scalar_columns_not_null(&self) -> bool {
        false
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    /// A boolean SQL condition; never NULL.
    pub sql: String,
    pub params: Vec<Param>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message} (at position {position})")]
pub struct CompileError {
    pub position: usize,
    pub field: String,
    pub message: String,
}

/// Compile `expr`, a filter or rule of `collection`, into a condition on the row aliased
/// `alias`. Placeholders start at `$first_param`. `ctx` supplies `@request.*` and `@now`
/// (its `record` is not used).
pub fn compile(
    expr: &Expr,
    collection: &Collection,
    storage: &(impl Storage + ?Sized),
    dialect: Dialect,
    alias: &str,
    ctx: &Context<'_>,
    first_param: usize,
) -> Result<Compiled, CompileError> {
    let mut c = Compiler { dialect, storage, ctx, params: Vec::new(), first_param, aliases: 0, not_null: Vec::new() };
    let sql = c.expr(expr, collection, alias)?;
    Ok(Compiled { sql, params: c.params })
}

/// The SQL type a value has, for choosing how to compare it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Bool,
}

/// One side of a comparison.
#[derive(Debug, Clone)]
enum Side {
    Sql {
        expr: String,
        kind: Kind,
    },
    /// A value inside a JSON column, with its three readings.
    Json {
        text: String,
        number: String,
        boolean: String,
    },
    Known(Value),
}

/// What an operand stands for.
#[derive(Debug, Clone)]
enum Elems {
    One(Side),
    /// The rows of `FROM {from} WHERE {cond}`, each giving `value`.
    Set {
        from: String,
        cond: String,
        value: Side,
    },
    List(Vec<Value>),
}

struct Compiler<'a, S: ?Sized> {
    dialect: Dialect,
    storage: &'a S,
    ctx: &'a Context<'a>,
    params: Vec<Param>,
    first_param: usize,
    aliases: usize,
    /// Column expressions of the filtered row known never to be NULL.
    not_null: Vec<String>,
}

const TRUE: &str = "(1=1)";
const FALSE: &str = "(1=0)";

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Gte => CmpOp::Lte,
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Lte => CmpOp::Gte,
        other => other,
    }
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { n.to_string() }
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
        Value::Number(n) => n.as_f64().map(number_text).unwrap_or_else(|| n.to_string()),
        other => other.to_string(),
    }
}

impl<S: Storage + ?Sized> Compiler<'_, S> {
    fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("${}", self.first_param + self.params.len() - 1)
    }

    fn alias(&mut self, prefix: &str) -> String {
        self.aliases += 1;
        format!("{prefix}{}", self.aliases)
    }

    fn expr(&mut self, expr: &Expr, collection: &Collection, alias: &str) -> Result<String, CompileError> {
        match expr {
            Expr::And(a, b) => {
                Ok(format!("({} AND {})", self.expr(a, collection, alias)?, self.expr(b, collection, alias)?))
            }
            Expr::Or(a, b) => {
                Ok(format!("({} OR {})", self.expr(a, collection, alias)?, self.expr(b, collection, alias)?))
            }
            Expr::Compare { left, op, any, right, .. } => {
                let l = self.operand(left, collection, alias)?;
                let r = self.operand(right, collection, alias)?;
                Ok(self.compare(&l, *op, *any, &r))
            }
        }
    }

    fn operand(&mut self, operand: &Operand, collection: &Collection, alias: &str) -> Result<Elems, CompileError> {
        let fail =
            |message: String| CompileError { position: operand.span().start, field: operand.to_string(), message };
        let path = match operand {
            Operand::Field(path, _) => path,
            _ => return Ok(known(eval::resolve(operand, self.ctx).map_err(|e| fail(e.to_string()))?)),
        };
        let elems = match &path.root {
            Root::RequestAuth | Root::RequestBody | Root::RequestQuery => {
                return Ok(known(eval::resolve(operand, self.ctx).map_err(|e| fail(e.to_string()))?));
            }
            Root::Record => {
                if path.modifier == Some(Modifier::IsSet) {
                    return Ok(Elems::One(Side::Known(Value::Bool(true))));
                }
                self.field_path(collection, alias, Vec::new(), Vec::new(), false, &path.segments).map_err(fail)?
            }
            Root::Collection(name) => {
                let other =
                    self.storage.collection(name).ok_or_else(|| fail(format!("there is no collection {name:?}")))?;
                let table = self.storage.table(name).ok_or_else(|| fail(format!("there is no collection {name:?}")))?;
                let c = self.alias("c");
                self.field_path(other, &c, vec![format!("{table} AS {c}")], Vec::new(), true, &path.segments)
                    .map_err(fail)?
            }
        };
        Ok(self.modify(elems, path.modifier))
    }

    /// Follow `segments` from the row `alias` of `collection`, joining relations.
    fn field_path(
        &mut self,
        start: &Collection,
        start_alias: &str,
        mut froms: Vec<String>,
        mut conds: Vec<String>,
        mut multi: bool,
        segments: &[String],
    ) -> Result<Elems, String> {
        let mut collection = start;
        let mut alias = start_alias.to_string();
        let mut leaf: Option<Side> = None;
        for (i, segment) in segments.iter().enumerate() {
            let ty = field_type(collection, segment)
                .ok_or_else(|| format!("{:?} has no field {segment:?}", collection.name))?;
            let column = format!("{alias}.{}", ident(segment));
            let last = i + 1 == segments.len();
            match ty {
                FieldType::Json => {
                    leaf = Some(self.json_side(&column, &segments[i + 1..]));
                    break;
                }
                FieldType::Relation { collection: target, multiple } if !last => {
                    let next =
                        self.storage.collection(&target).ok_or_else(|| format!("missing collection {target:?}"))?;
                    let table = self.storage.table(&target).ok_or_else(|| format!("missing collection {target:?}"))?;
                    let t = self.alias("t");
                    if multiple {
                        let j = self.alias("j");
                        froms.push(self.json_elements(&column, &j));
                        conds.push(format!("{t}.\"id\" = {j}.value"));
                        multi = true;
                    } else {
                        conds.push(format!("{t}.\"id\" = {column}"));
                    }
                    froms.push(format!("{table} AS {t}"));
                    collection = next;
                    alias = t;
                }
                _ if !last => {
                    return Err(format!("{segment:?} is not a relation, so it has no field {:?}", segments[i + 1]));
                }
                FieldType::Select { multiple: true }
                | FieldType::File { multiple: true }
                | FieldType::Relation { multiple: true, .. } => {
                    let j = self.alias("j");
                    froms.push(self.json_elements(&column, &j));
                    multi = true;
                    leaf = Some(Side::Sql { expr: format!("{j}.value"), kind: Kind::Text });
                }
                FieldType::Number => leaf = Some(Side::Sql { expr: column, kind: Kind::Number }),
                FieldType::Bool => leaf = Some(Side::Sql { expr: column, kind: Kind::Bool }),
                _ => leaf = Some(Side::Sql { expr: column, kind: Kind::Text }),
            }
        }
        let value = leaf.ok_or("empty field path")?;
        let cond = if conds.is_empty() { TRUE.to_string() } else { conds.join(" AND ") };
        if multi {
            return Ok(Elems::Set { from: froms.join(", "), cond, value });
        }
        if froms.is_empty() {
            if let Side::Sql { expr, .. } = &value
                && self.storage.scalar_columns_not_null()
            {
                self.not_null.push(expr.clone());
            }
            return Ok(Elems::One(value));
        }
        // A chain of single relations: one value (or NULL when a link is missing).
        let from = froms.join(", ");
        let sub = |e: &str| format!("(SELECT {e} FROM {from} WHERE {cond} LIMIT 1)");
        Ok(Elems::One(match value {
            Side::Sql { expr, kind } => Side::Sql { expr: sub(&expr), kind },
            Side::Json { text, number, boolean } => {
                Side::Json { text: sub(&text), number: sub(&number), boolean: sub(&boolean) }
            }
            known @ Side::Known(_) => known,
        }))
    }

    fn json_elements(&self, column: &str, alias: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("json_each({column}) AS {alias}"),
            Dialect::Postgres => format!("jsonb_array_elements_text({column}) AS {alias}(value)"),
        }
    }

    /// A value inside a JSON column, read as text, as a number and as true/false.
    fn json_side(&mut self, column: &str, keys: &[String]) -> Side {
        match self.dialect {
            Dialect::Sqlite => {
                let mut path = String::from("$");
                for k in keys {
                    path.push_str(&format!(".\"{}\"", k.replace('"', "")));
                }
                let p = self.bind(Param::Text(path));
                let typ = format!("json_type({column}, {p})");
                Side::Json {
                    text: format!(
                        "CASE WHEN {typ} IN ('text', 'integer', 'real') THEN CAST(json_extract({column}, {p}) AS TEXT) END"
                    ),
                    number: format!("CASE WHEN {typ} IN ('integer', 'real') THEN json_extract({column}, {p}) END"),
                    boolean: format!("CASE WHEN {typ} IN ('true', 'false') THEN json_extract({column}, {p}) END"),
                }
            }
            Dialect::Postgres => {
                let mut node = column.to_string();
                for k in keys {
                    let p = self.bind(Param::Text(k.clone()));
                    node = format!("({node} -> {p})");
                }
                Side::Json {
                    text: format!("CASE WHEN jsonb_typeof({node}) IN ('string', 'number') THEN {node} #>> '{{}}' END"),
                    number: format!("CASE WHEN jsonb_typeof({node}) = 'number' THEN ({node})::double precision END"),
                    boolean: format!("CASE WHEN jsonb_typeof({node}) = 'boolean' THEN ({node})::boolean END"),
                }
            }
        }
    }

    fn modify(&mut self, elems: Elems, modifier: Option<Modifier>) -> Elems {
        match (modifier, elems) {
            (None | Some(Modifier::IsSet) | Some(Modifier::Each), e) => e,
            (Some(Modifier::Length), Elems::Set { from, cond, .. }) => Elems::One(Side::Sql {
                expr: format!("(SELECT COUNT(*) FROM {from} WHERE {cond})"),
                kind: Kind::Number,
            }),
            (Some(Modifier::Length), Elems::List(items)) => Elems::One(Side::Known(Value::from(items.len()))),
            (Some(Modifier::Length), Elems::One(Side::Known(v))) => {
                Elems::One(Side::Known(Value::from(usize::from(!eval::is_empty(&v)))))
            }
            (Some(Modifier::Length), Elems::One(side)) => {
                let empty = self.empty(&side);
                Elems::One(Side::Sql { expr: format!("(CASE WHEN {empty} THEN 0 ELSE 1 END)"), kind: Kind::Number })
            }
            (Some(Modifier::Lower), Elems::Set { from, cond, value }) => Elems::Set { from, cond, value: lower(value) },
            (Some(Modifier::Lower), Elems::One(side)) => Elems::One(lower(side)),
            (Some(Modifier::Lower), Elems::List(items)) => {
                Elems::List(items.into_iter().map(|v| lower(Side::Known(v))).filter_map(known_value).collect())
            }
        }
    }

    fn compare(&mut self, l: &Elems, op: CmpOp, any: bool, r: &Elems) -> String {
        // A multi-valued field against emptiness asks whether it has no (non-empty) value.
        if !any
            && matches!(op, CmpOp::Eq | CmpOp::Neq)
            && matches!(l, Elems::Set { .. } | Elems::List(_))
            && let Elems::One(right) = r
        {
            let all_empty = match l {
                Elems::List(items) => {
                    if items.iter().all(eval::is_empty) {
                        TRUE.into()
                    } else {
                        FALSE.into()
                    }
                }
                Elems::Set { from, cond, value } => {
                    let empty = self.empty(value);
                    format!("NOT EXISTS (SELECT 1 FROM {from} WHERE {cond} AND NOT {empty})")
                }
                Elems::One(_) => FALSE.into(),
            };
            let when_empty = if op == CmpOp::Eq { all_empty } else { format!("NOT {all_empty}") };
            let right_empty = self.empty(right);
            if right_empty == TRUE {
                return when_empty;
            }
            let normal = self.quantify(l, op, any, r);
            if right_empty == FALSE {
                return normal;
            }
            return format!("(({right_empty} AND {when_empty}) OR (NOT {right_empty} AND {normal}))");
        }
        self.quantify(l, op, any, r)
    }

    /// Every pair (all) or some pair (any) of values of `l` and `r` satisfies `op`; an
    /// operand without values satisfies nothing.
    fn quantify(&mut self, l: &Elems, op: CmpOp, any: bool, r: &Elems) -> String {
        let join = |parts: Vec<String>, any: bool| {
            if parts.is_empty() {
                FALSE.to_string()
            } else {
                format!("({})", parts.join(if any { " OR " } else { " AND " }))
            }
        };
        if let Elems::List(items) = l {
            let parts = items.iter().map(|v| self.quantify(&Elems::One(Side::Known(v.clone())), op, any, r)).collect();
            return join(parts, any);
        }
        if let Elems::List(items) = r {
            let parts = items.iter().map(|v| self.quantify(l, op, any, &Elems::One(Side::Known(v.clone())))).collect();
            return join(parts, any);
        }
        let (mut froms, mut conds) = (Vec::new(), Vec::new());
        let mut side = |e: &Elems| match e {
            Elems::One(s) => s.clone(),
            Elems::Set { from, cond, value } => {
                froms.push(from.clone());
                conds.push(cond.clone());
                value.clone()
            }
            Elems::List(_) => Side::Known(Value::Null),
        };
        let (ls, rs) = (side(l), side(r));
        let test = self.cmp(&ls, op, &rs);
        if froms.is_empty() {
            return test;
        }
        let from = froms.join(", ");
        let cond = conds.join(" AND ");
        if any {
            format!("EXISTS (SELECT 1 FROM {from} WHERE {cond} AND {test})")
        } else {
            let nonempty: Vec<String> = [l, r]
                .iter()
                .filter_map(|e| match e {
                    Elems::Set { from, cond, .. } => Some(format!("EXISTS (SELECT 1 FROM {from} WHERE {cond})")),
                    _ => None,
                })
                .collect();
            format!("({} AND NOT EXISTS (SELECT 1 FROM {from} WHERE {cond} AND NOT {test}))", nonempty.join(" AND "))
        }
    }

    /// One value against one value; the result is never NULL.
    fn cmp(&mut self, l: &Side, op: CmpOp, r: &Side) -> String {
        if let (Side::Known(a), Side::Known(b)) = (l, r) {
            return if eval::compare(a, op, b) { TRUE.into() } else { FALSE.into() };
        }
        let (l, r) = (self.read_json(l, r), self.read_json(r, l));
        match op {
            CmpOp::Neq => format!("NOT {}", self.cmp(&l, CmpOp::Eq, &r)),
            CmpOp::NotLike => format!("NOT {}", self.cmp(&l, CmpOp::Like, &r)),
            CmpOp::Eq => self.equal(&l, &r),
            CmpOp::Like => self.like(&l, &r),
            ordered => match (&l, &r) {
                (Side::Known(_), _) => self.ordered(&r, flip(ordered), &l),
                _ => self.ordered(&l, ordered, &r),
            },
        }
    }

    /// A JSON value read the way the other side needs it.
    fn read_json(&self, side: &Side, other: &Side) -> Side {
        let Side::Json { text, number, boolean } = side else { return side.clone() };
        match other {
            Side::Known(Value::Number(_)) | Side::Sql { kind: Kind::Number, .. } => {
                Side::Sql { expr: number.clone(), kind: Kind::Number }
            }
            Side::Known(Value::Bool(_)) | Side::Sql { kind: Kind::Bool, .. } => {
                Side::Sql { expr: boolean.clone(), kind: Kind::Bool }
            }
            _ => Side::Sql { expr: text.clone(), kind: Kind::Text },
        }
    }

    fn empty(&self, side: &Side) -> String {
        match side {
            Side::Known(v) => {
                if eval::is_empty(v) {
                    TRUE.into()
                } else {
                    FALSE.into()
                }
            }
            Side::Sql { expr, kind: Kind::Text } => format!("(COALESCE({expr}, '') = '')"),
            Side::Sql { expr, .. } => format!("({expr} IS NULL)"),
            Side::Json { text, number, boolean } => {
                format!("(COALESCE({text}, '') = '' AND {number} IS NULL AND {boolean} IS NULL)")
            }
        }
    }

    fn text_of(&self, side: &Side) -> String {
        match side {
            Side::Sql { expr, kind: Kind::Text } => expr.clone(),
            Side::Sql { expr, .. } => match self.dialect {
                Dialect::Sqlite => format!("CAST({expr} AS TEXT)"),
                Dialect::Postgres => format!("({expr})::text"),
            },
            Side::Json { text, .. } => text.clone(),
            Side::Known(_) => FALSE.into(),
        }
    }

    fn equal(&mut self, l: &Side, r: &Side) -> String {
        let (sql, known) = match (l, r) {
            (Side::Known(v), s) | (s, Side::Known(v)) => (s, v),
            (Side::Sql { expr: a, kind: ka }, Side::Sql { expr: b, kind: kb }) if ka == kb => {
                let (ea, eb) = (self.empty(l), self.empty(r));
                return format!("(({ea} AND {eb}) OR COALESCE({a} = {b}, FALSE))");
            }
            _ => {
                let (a, b) = (self.text_of(l), self.text_of(r));
                let (ea, eb) = (self.empty(l), self.empty(r));
                return format!("(({ea} AND {eb}) OR COALESCE({a} = {b}, FALSE))");
            }
        };
        if eval::is_empty(known) {
            return self.empty(sql);
        }
        let Side::Sql { expr, kind } = sql else { return FALSE.into() };
        let param = match (kind, known) {
            (Kind::Text, Value::String(s)) => Param::Text(s.clone()),
            (Kind::Text, Value::Number(_)) => Param::Text(as_text(known)),
            (Kind::Number, v) => match as_number(v) {
                Some(n) => Param::Number(n),
                None => return FALSE.into(),
            },
            (Kind::Bool, Value::Bool(b)) => Param::Bool(*b),
            (Kind::Bool, Value::Number(n)) if n.as_f64() == Some(1.0) => Param::Bool(true),
            (Kind::Bool, Value::Number(n)) if n.as_f64() == Some(0.0) => Param::Bool(false),
            _ => return FALSE.into(),
        };
        let p = self.bind(param);
        self.never_null(&[expr], format!("{expr} = {p}"))
    }

    /// `condition` as a value that is never NULL: as it is when every operand in `operands`
    /// is a column known not to be NULL (and parameters never are), else guarded.
    fn never_null(&self, operands: &[&String], condition: String) -> String {
        if operands.iter().all(|o| self.not_null.contains(o)) {
            format!("({condition})")
        } else {
            format!("COALESCE({condition}, FALSE)")
        }
    }

    fn collate(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => " COLLATE \"C\"",
        }
    }

    fn ordered(&mut self, l: &Side, op: CmpOp, r: &Side) -> String {
        let sym = op.symbol();
        let collate = self.collate();
        match (l, r) {
            (Side::Sql { expr, kind }, Side::Known(v)) => {
                if eval::is_empty(v) {
                    return FALSE.into();
                }
                match (kind, v) {
                    (Kind::Number, v) => match as_number(v) {
                        Some(n) => {
                            let p = self.bind(Param::Number(n));
                            self.never_null(&[expr], format!("{expr} {sym} {p}"))
                        }
                        None => FALSE.into(),
                    },
                    (Kind::Text, Value::String(_) | Value::Number(_)) => {
                        let p = self.bind(Param::Text(as_text(v)));
                        self.never_null(&[expr], format!("{expr} <> '' AND {expr}{collate} {sym} {p}"))
                    }
                    _ => FALSE.into(),
                }
            }
            (Side::Sql { expr: a, kind: Kind::Number }, Side::Sql { expr: b, kind: Kind::Number }) => {
                self.never_null(&[a, b], format!("{a} {sym} {b}"))
            }
            (Side::Sql { kind: Kind::Bool, .. }, _) | (_, Side::Sql { kind: Kind::Bool, .. }) => FALSE.into(),
            _ => {
                let (a, b) = (self.text_of(l), self.text_of(r));
                format!("COALESCE({a} <> '' AND {b} <> '' AND {a}{collate} {sym} {b}, FALSE)")
            }
        }
    }

    fn like(&mut self, l: &Side, r: &Side) -> String {
        let contains = |d: Dialect, hay: &str, needle: &str| match d {
            Dialect::Sqlite => format!("instr({hay}, {needle}) > 0"),
            Dialect::Postgres => format!("strpos({hay}, {needle}) > 0"),
        };
        let like_op = match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => " ESCAPE ''",
        };
        match (l, r) {
            (Side::Known(Value::Null), _) => FALSE.into(),
            (_, Side::Known(pattern)) => {
                let pattern = as_text(pattern).to_lowercase();
                let text = format!("lower({})", self.text_of(l));
                let wildcard = pattern.contains('%');
                let p = self.bind(Param::Text(pattern));
                if wildcard {
                    format!("COALESCE({text} LIKE {p}{like_op}, FALSE)")
                } else {
                    format!("COALESCE({}, FALSE)", contains(self.dialect, &text, &p))
                }
            }
            _ => {
                let text = match l {
                    Side::Known(v) => self.bind(Param::Text(as_text(v).to_lowercase())),
                    side => format!("lower({})", self.text_of(side)),
                };
                let pattern = format!("lower(COALESCE({}, ''))", self.text_of(r));
                let has_wildcard = contains(self.dialect, &pattern, "'%'");
                let matches_contains = contains(self.dialect, &text, &pattern);
                format!(
                    "COALESCE(CASE WHEN {has_wildcard} THEN {text} LIKE {pattern}{like_op} ELSE {matches_contains} END, FALSE)"
                )
            }
        }
    }
}

fn known(resolved: Resolved) -> Elems {
    match resolved {
        Resolved::One(v) => Elems::One(Side::Known(v)),
        Resolved::Many(items) => Elems::List(items),
    }
}

fn known_value(side: Side) -> Option<Value> {
    match side {
        Side::Known(v) => Some(v),
        _ => None,
    }
}

fn lower(side: Side) -> Side {
    match side {
        Side::Known(Value::String(s)) => Side::Known(Value::String(s.to_lowercase())),
        Side::Known(v) => Side::Known(v),
        Side::Sql { expr, kind: Kind::Text } => Side::Sql { expr: format!("lower({expr})"), kind: Kind::Text },
        Side::Json { text, .. } => Side::Sql { expr: format!("lower({text})"), kind: Kind::Text },
        other => other,
    }
}

fn field_type(collection: &Collection, name: &str) -> Option<FieldType> {
    match name {
        "id" => Some(FieldType::Text),
        _ => collection.fields.iter().find(|f| f.name == name).map(|f| f.ty.clone()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::check::Field;
    use crate::parse;

    /// The collections, and whether their scalar columns are `NOT NULL`.
    struct Tables(Vec<Collection>, bool);

    impl Schema for Tables {
        fn collection(&self, name: &str) -> Option<&Collection> {
            self.0.iter().find(|c| c.name == name)
        }
    }

    impl Storage for Tables {
        fn table(&self, name: &str) -> Option<String> {
            self.collection(name).map(|c| format!("\"{}\"", c.name))
        }

        fn scalar_columns_not_null(&self) -> bool {
            self.1
        }
    }

    fn tables() -> Tables {
        let f = |name: &str, ty: FieldType| Field { name: name.into(), ty };
        Tables(
            vec![
                Collection {
                    name: "posts".into(),
                    fields: vec![
                        f("title", FieldType::Text),
                        f("views", FieldType::Number),
                        f("tags", FieldType::Select { multiple: true }),
                        f("author", FieldType::Relation { collection: "users".into(), multiple: false }),
                        f("meta", FieldType::Json),
                    ],
                },
                Collection { name: "users".into(), fields: vec![f("name", FieldType::Text)] },
            ],
            false,
        )
    }

    fn sql(src: &str, dialect: Dialect) -> Compiled {
        compile_on(&tables(), src, dialect)
    }

    fn compile_on(t: &Tables, src: &str, dialect: Dialect) -> Compiled {
        let auth = json!({"id": "u1"});
        let ctx = Context {
            record: &Value::Null,
            auth: Some(&auth),
            body: &Value::Null,
            query: &Value::Null,
            now: time::macros::datetime!(2026-02-10 13:45:30.250 UTC),
        };
        let expr = parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        compile(&expr, &t.0[0], t, dialect, "r", &ctx, 1).unwrap_or_else(|e| panic!("{src}: {e}"))
    }

    /// On a storage whose scalar columns are never NULL, comparisons of the row's own
    /// columns go unguarded; values reached through a relation (NULL when the link is
    /// missing) keep their guard, and so negations stay right.
    #[test]
    fn not_null_columns_are_compared_without_a_guard() {
        let mut t = tables();
        t.1 = true;
        let cases = [
            ("views > 3", "(r.\"views\" > $1)"),
            ("title = 'a' && views != 2", "((r.\"title\" = $1) AND NOT (r.\"views\" = $2))"),
            ("title < 'm'", "(r.\"title\" <> '' AND r.\"title\" < $1)"),
            (
                "author.name = 'Ada'",
                "COALESCE((SELECT t1.\"name\" FROM \"users\" AS t1 WHERE t1.\"id\" = r.\"author\" LIMIT 1) = $1, FALSE)",
            ),
        ];
        for (src, expected) in cases {
            assert_eq!(compile_on(&t, src, Dialect::Sqlite).sql, expected, "{src}");
        }
    }

    /// The SQL each form compiles to, so that a change in the generated SQL is a visible diff.
    #[test]
    fn a_table_of_expected_sql() {
        use Dialect::*;
        let t = |s: &str| Param::Text(s.into());
        let cases: Vec<(&str, Dialect, &str, Vec<Param>)> = vec![
            ("title = 'a'", Sqlite, "COALESCE(r.\"title\" = $1, FALSE)", vec![t("a")]),
            ("title = ''", Sqlite, "(COALESCE(r.\"title\", '') = '')", vec![]),
            ("views > 3", Postgres, "COALESCE(r.\"views\" > $1, FALSE)", vec![Param::Number(3.0)]),
            ("views = 'abc'", Sqlite, "(1=0)", vec![]),
            (
                "title < 'm'",
                Postgres,
                "COALESCE(r.\"title\" <> '' AND r.\"title\" COLLATE \"C\" < $1, FALSE)",
                vec![t("m")],
            ),
            ("title ~ 'Ab'", Sqlite, "COALESCE(instr(lower(r.\"title\"), $1) > 0, FALSE)", vec![t("ab")]),
            ("title ~ 'a%'", Postgres, "COALESCE(lower(r.\"title\") LIKE $1 ESCAPE '', FALSE)", vec![t("a%")]),
            (
                "tags ?= 'x'",
                Sqlite,
                "EXISTS (SELECT 1 FROM json_each(r.\"tags\") AS j1 WHERE (1=1) AND COALESCE(j1.value = $1, FALSE))",
                vec![t("x")],
            ),
            (
                "tags = 'x'",
                Postgres,
                "(EXISTS (SELECT 1 FROM jsonb_array_elements_text(r.\"tags\") AS j1(value) WHERE (1=1)) AND NOT EXISTS \
                 (SELECT 1 FROM jsonb_array_elements_text(r.\"tags\") AS j1(value) WHERE (1=1) AND NOT COALESCE(j1.value = $1, FALSE)))",
                vec![t("x")],
            ),
            (
                "tags:length > 1",
                Sqlite,
                "COALESCE((SELECT COUNT(*) FROM json_each(r.\"tags\") AS j1 WHERE (1=1)) > $1, FALSE)",
                vec![Param::Number(1.0)],
            ),
            (
                "author.name = 'Ada'",
                Sqlite,
                "COALESCE((SELECT t1.\"name\" FROM \"users\" AS t1 WHERE t1.\"id\" = r.\"author\" LIMIT 1) = $1, FALSE)",
                vec![t("Ada")],
            ),
            ("author = @request.auth.id", Postgres, "COALESCE(r.\"author\" = $1, FALSE)", vec![t("u1")]),
            ("@request.auth.id != ''", Sqlite, "(1=1)", vec![]),
            (
                "title = 'a' || views != 2",
                Sqlite,
                "(COALESCE(r.\"title\" = $1, FALSE) OR NOT COALESCE(r.\"views\" = $2, FALSE))",
                vec![t("a"), Param::Number(2.0)],
            ),
        ];
        for (src, dialect, expected, params) in cases {
            let got = sql(src, dialect);
            assert_eq!(got.sql, expected, "{src} ({dialect:?})");
            assert_eq!(got.params, params, "{src} ({dialect:?})");
        }
    }

    #[test]
    fn values_never_enter_the_sql_text() {
        let evil = "x' OR 1=1 --";
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let got = sql(&format!("title = \"{evil}\" && meta.a = \"{evil}\" && tags ?~ \"{evil}\""), dialect);
            assert!(!got.sql.contains("OR 1=1"), "{}", got.sql);
        }
    }
}

//! Type-checking an expression against collection schemas, before it is saved as a rule or
//! run as a filter: unknown fields, paths through fields that are not relations, modifiers
//! on fields that cannot take them, and operands of types that cannot be compared are
//! reported with the field and the byte position.

use crate::ast::{CmpOp, Expr, Literal, Modifier, Operand, Root};

/// A field's type, as the checker needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Number,
    Bool,
    Date,
    /// Any JSON: paths into it are not checked.
    Json,
    Select {
        multiple: bool,
    },
    File {
        multiple: bool,
    },
    Relation {
        collection: String,
        multiple: bool,
    },
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
}

#[derive(Debug, Clone)]
pub struct Collection {
    pub name: String,
    pub fields: Vec<Field>,
}

impl Collection {
    /// `id`, `created` and `updated` exist on every collection.
    fn field(&self, name: &str) -> Option<FieldType> {
        match name {
            "id" => Some(FieldType::Text),
            "created" | "updated" => Some(FieldType::Date),
            _ => self.fields.iter().find(|f| f.name == name).map(|f| f.ty.clone()),
        }
    }
}

/// Finds the other collections that relation paths and `@collection` refer to.
pub trait Schema {
    fn collection(&self, name: &str) -> Option<&Collection>;
}

impl Schema for [Collection] {
    fn collection(&self, name: &str) -> Option<&Collection> {
        self.iter().find(|c| c.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message} (at position {position})")]
pub struct CheckError {
    pub position: usize,
    /// The operand as written, e.g. `author.name`.
    pub field: String,
    pub message: String,
}

/// What an operand yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Bool,
    Date,
    Null,
    /// Not known until run time (auth record, JSON, query parameters).
    Any,
}

#[derive(Debug, Clone, Copy)]
struct Typed {
    kind: Kind,
    multiple: bool,
}

/// Check `expr` as a filter or rule of `collection`. Every problem is reported.
pub fn check(expr: &Expr, collection: &Collection, schema: &(impl Schema + ?Sized)) -> Result<(), Vec<CheckError>> {
    let mut errors = Vec::new();
    walk(expr, collection, schema, &mut errors);
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

fn walk(expr: &Expr, collection: &Collection, schema: &(impl Schema + ?Sized), errors: &mut Vec<CheckError>) {
    match expr {
        Expr::And(a, b) | Expr::Or(a, b) => {
            walk(a, collection, schema, errors);
            walk(b, collection, schema, errors);
        }
        Expr::Compare { left, op, right, .. } => {
            let l = operand_type(left, collection, schema, errors);
            let r = operand_type(right, collection, schema, errors);
            if let (Some(l), Some(r)) = (l, r) {
                compatible(left, l, *op, right, r, errors);
            }
        }
    }
}

fn kind_of(ty: &FieldType) -> Typed {
    match ty {
        FieldType::Text => Typed { kind: Kind::Text, multiple: false },
        FieldType::Number => Typed { kind: Kind::Number, multiple: false },
        FieldType::Bool => Typed { kind: Kind::Bool, multiple: false },
        FieldType::Date => Typed { kind: Kind::Date, multiple: false },
        FieldType::Json => Typed { kind: Kind::Any, multiple: false },
        FieldType::Select { multiple } | FieldType::File { multiple } | FieldType::Relation { multiple, .. } => {
            Typed { kind: Kind::Text, multiple: *multiple }
        }
    }
}

fn operand_type(
    operand: &Operand,
    collection: &Collection,
    schema: &(impl Schema + ?Sized),
    errors: &mut Vec<CheckError>,
) -> Option<Typed> {
    match operand {
        Operand::Literal(Literal::Str(_), _) => Some(Typed { kind: Kind::Text, multiple: false }),
        Operand::Literal(Literal::Num(_), _) => Some(Typed { kind: Kind::Number, multiple: false }),
        Operand::Literal(Literal::Bool(_), _) => Some(Typed { kind: Kind::Bool, multiple: false }),
        Operand::Literal(Literal::Null, _) => Some(Typed { kind: Kind::Null, multiple: false }),
        Operand::Macro(..) => Some(Typed { kind: Kind::Date, multiple: false }),
        Operand::Field(path, span) => {
            let mut fail = |message: String| {
                errors.push(CheckError { position: span.start, field: path.to_string(), message });
                None
            };
            let typed = match &path.root {
                Root::RequestBody | Root::RequestQuery if path.modifier == Some(Modifier::IsSet) => {
                    return Some(Typed { kind: Kind::Bool, multiple: false });
                }
                Root::RequestAuth | Root::RequestQuery => Typed { kind: Kind::Any, multiple: false },
                Root::RequestBody => match resolve(collection, &path.segments, schema) {
                    Ok(t) => t,
                    Err(message) => return fail(message),
                },
                Root::Record => match resolve(collection, &path.segments, schema) {
                    Ok(t) => t,
                    Err(message) => return fail(message),
                },
                Root::Collection(name) => match schema.collection(name) {
                    Some(other) => match resolve(other, &path.segments, schema) {
                        Ok(t) => Typed { multiple: true, ..t },
                        Err(message) => return fail(message),
                    },
                    None => return fail(format!("there is no collection named {name:?}")),
                },
            };
            match path.modifier {
                None | Some(Modifier::IsSet) => Some(typed),
                Some(Modifier::Length) if typed.multiple || typed.kind == Kind::Any => {
                    Some(Typed { kind: Kind::Number, multiple: false })
                }
                Some(Modifier::Length) => fail(":length applies to fields with several values".into()),
                Some(Modifier::Each) if typed.multiple || typed.kind == Kind::Any => Some(typed),
                Some(Modifier::Each) => fail(":each applies to fields with several values".into()),
                Some(Modifier::Lower) if matches!(typed.kind, Kind::Text | Kind::Any) => Some(typed),
                Some(Modifier::Lower) => fail(":lower applies to text fields".into()),
            }
        }
    }
}

/// Follow a dotted path from `collection`; relation fields lead into their collection and make
/// the result multiple if any step is.
fn resolve(collection: &Collection, segments: &[String], schema: &(impl Schema + ?Sized)) -> Result<Typed, String> {
    let mut current = collection;
    let mut multiple = false;
    for (i, segment) in segments.iter().enumerate() {
        let Some(ty) = current.field(segment) else {
            return Err(format!("{:?} has no field {segment:?}", current.name));
        };
        let last = i + 1 == segments.len();
        if last {
            let t = kind_of(&ty);
            return Ok(Typed { kind: t.kind, multiple: multiple || t.multiple });
        }
        match ty {
            FieldType::Json => return Ok(Typed { kind: Kind::Any, multiple }),
            FieldType::Relation { collection: target, multiple: many } => {
                multiple |= many;
                current = schema
                    .collection(&target)
                    .ok_or_else(|| format!("the relation {segment:?} points to a missing collection {target:?}"))?;
            }
            _ => return Err(format!("{segment:?} is not a relation, so it has no field {:?}", segments[i + 1])),
        }
    }
    Err("empty field path".into())
}

fn compatible(left: &Operand, l: Typed, op: CmpOp, right: &Operand, r: Typed, errors: &mut Vec<CheckError>) {
    let mut fail = |operand: &Operand, message: String| {
        errors.push(CheckError { position: operand.span().start, field: operand.to_string(), message });
    };
    let ordered = matches!(op, CmpOp::Gt | CmpOp::Gte | CmpOp::Lt | CmpOp::Lte);
    let like = matches!(op, CmpOp::Like | CmpOp::NotLike);
    for (operand, t) in [(left, l), (right, r)] {
        if t.kind == Kind::Bool && (ordered || like) {
            fail(operand, format!("{} cannot be used with a true/false value", op.symbol()));
        }
        if t.kind == Kind::Null && (ordered || like) {
            fail(operand, format!("{} cannot be used with null", op.symbol()));
        }
    }
    // A number field against text that is not a number, or a true/false field against
    // anything but true, false or null, can never match: it is a mistake.
    let literal_text = |o: &Operand| match o {
        Operand::Literal(Literal::Str(s), _) => Some(s.clone()),
        _ => None,
    };
    for ((field_op, field_t), (other_op, other_t)) in [((left, l), (right, r)), ((right, r), (left, l))] {
        if !matches!(field_op, Operand::Field(..)) {
            continue;
        }
        match (field_t.kind, other_t.kind) {
            (Kind::Number, Kind::Text) if !like => {
                if let Some(text) = literal_text(other_op)
                    && text.trim().parse::<f64>().is_err()
                {
                    fail(other_op, format!("{field_op} is a number; {:?} is not", text));
                }
            }
            (Kind::Bool, Kind::Text | Kind::Number | Kind::Date) => {
                fail(other_op, format!("{field_op} is true or false; compare it with true, false or null"));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn schema() -> Vec<Collection> {
        let f = |name: &str, ty: FieldType| Field { name: name.into(), ty };
        vec![
            Collection {
                name: "posts".into(),
                fields: vec![
                    f("title", FieldType::Text),
                    f("views", FieldType::Number),
                    f("published", FieldType::Bool),
                    f("tags", FieldType::Select { multiple: true }),
                    f("meta", FieldType::Json),
                    f("author", FieldType::Relation { collection: "users".into(), multiple: false }),
                    f("editors", FieldType::Relation { collection: "users".into(), multiple: true }),
                ],
            },
            Collection { name: "users".into(), fields: vec![f("name", FieldType::Text), f("age", FieldType::Number)] },
        ]
    }

    fn run(src: &str) -> Result<(), Vec<CheckError>> {
        let schema = schema();
        let expr = parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        check(&expr, &schema[0], schema.as_slice())
    }

    #[test]
    fn accepts_well_typed_rules() {
        for src in [
            "title ~ 'x' && views > 10 && published = true",
            "tags ?= 'rust' && tags:length > 1 && tags:each ~ 'r'",
            "author.name = 'Ada' && editors.age ?> 30 && author = @request.auth.id",
            "meta.anything.deep = 3 && title:lower = 'x' && views = '42'",
            "@request.body.title:isset = false && @request.body.views > 3",
            "@collection.users.name ?= title && created >= @todayStart && id != ''",
            "published = null && views != null",
        ] {
            assert_eq!(run(src), Ok(()), "{src}");
        }
    }

    #[test]
    fn names_the_field_and_position() {
        let cases: &[(&str, &str, usize)] = &[
            ("titel = 'x'", "titel", 0),
            ("views > 1 && author.nam = 'x'", "author.nam", 13),
            ("title.length = 1", "title.length", 0),
            ("views:length > 1", "views:length", 0),
            ("title:each = 'x'", "title:each", 0),
            ("views:lower = 1", "views:lower", 0),
            ("views = 'abc'", "\"abc\"", 8),
            ("published > true", "published", 0),
            ("published = 'yes'", "\"yes\"", 12),
            ("@collection.nope.x = 1", "@collection.nope.x", 0),
            ("views < null", "null", 8),
        ];
        for (src, field, position) in cases {
            let errors = run(src).expect_err(src);
            assert!(
                errors.iter().any(|e| e.field == *field && e.position == *position),
                "{src}: expected an error on {field} at {position}, got {errors:?}"
            );
        }
        // Every problem is reported, not only the first.
        assert_eq!(run("a = 1 && b = 2").map_err(|e| e.len()), Err(2));
    }
}

//! The typed syntax tree, and its canonical printing (which [`crate::parse`] reads back to
//! the same tree).

use std::fmt;

/// A byte range in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare { left: Operand, op: CmpOp, any: bool, right: Operand, span: Span },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    /// `~`: contains (or a LIKE pattern when the value has `%`), case-insensitive.
    Like,
    NotLike,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Neq => "!=",
            CmpOp::Gt => ">",
            CmpOp::Gte => ">=",
            CmpOp::Lt => "<",
            CmpOp::Lte => "<=",
            CmpOp::Like => "~",
            CmpOp::NotLike => "!~",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateMacro {
    Now,
    Yesterday,
    Tomorrow,
    TodayStart,
    TodayEnd,
    MonthStart,
    MonthEnd,
    YearStart,
    YearEnd,
}

impl DateMacro {
    pub const ALL: [(&'static str, DateMacro); 9] = [
        ("now", DateMacro::Now),
        ("yesterday", DateMacro::Yesterday),
        ("tomorrow", DateMacro::Tomorrow),
        ("todayStart", DateMacro::TodayStart),
        ("todayEnd", DateMacro::TodayEnd),
        ("monthStart", DateMacro::MonthStart),
        ("monthEnd", DateMacro::MonthEnd),
        ("yearStart", DateMacro::YearStart),
        ("yearEnd", DateMacro::YearEnd),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, m)| *m == self).map(|(n, _)| *n).unwrap_or("now")
    }
}

/// Where a field path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// A field of the record being filtered.
    Record,
    RequestAuth,
    RequestBody,
    RequestQuery,
    /// `@collection.NAME.…`: another collection, joined by the SQL compiler.
    Collection(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    IsSet,
    Length,
    Each,
    Lower,
}

impl Modifier {
    pub fn name(self) -> &'static str {
        match self {
            Modifier::IsSet => "isset",
            Modifier::Length => "length",
            Modifier::Each => "each",
            Modifier::Lower => "lower",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub root: Root,
    /// Field names after the root; relation paths have several.
    pub segments: Vec<String>,
    pub modifier: Option<Modifier>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Literal(Literal, Span),
    Field(Path, Span),
    Macro(DateMacro, Span),
}

impl Operand {
    pub fn span(&self) -> Span {
        match self {
            Operand::Literal(_, s) | Operand::Field(_, s) | Operand::Macro(_, s) => *s,
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("\"")
            }
            Literal::Num(n) => write!(f, "{n}"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Null => f.write_str("null"),
        }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match &self.root {
            Root::Record => String::new(),
            Root::RequestAuth => "@request.auth.".into(),
            Root::RequestBody => "@request.body.".into(),
            Root::RequestQuery => "@request.query.".into(),
            Root::Collection(name) => format!("@collection.{name}."),
        };
        write!(f, "{prefix}{}", self.segments.join("."))?;
        if let Some(m) = self.modifier {
            write!(f, ":{}", m.name())?;
        }
        Ok(())
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Literal(l, _) => write!(f, "{l}"),
            Operand::Field(p, _) => write!(f, "{p}"),
            Operand::Macro(m, _) => write!(f, "@{}", m.name()),
        }
    }
}

impl fmt::Display for Expr {
    /// Canonical text: every `||` inside an `&&` is parenthesized, so the text parses back
    /// to the same tree.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Compare { left, op, any, right, .. } => {
                write!(f, "{left} {}{} {right}", if *any { "?" } else { "" }, op.symbol())
            }
            // Both operators associate to the left: a right operand of the same kind, or any
            // `||` under `&&`, needs parentheses to read back as the same tree.
            Expr::Or(a, b) => match **b {
                Expr::Or(..) => write!(f, "{a} || ({b})"),
                _ => write!(f, "{a} || {b}"),
            },
            Expr::And(a, b) => {
                match **a {
                    Expr::Or(..) => write!(f, "({a})")?,
                    _ => write!(f, "{a}")?,
                }
                f.write_str(" && ")?;
                match **b {
                    Expr::Or(..) | Expr::And(..) => write!(f, "({b})"),
                    _ => write!(f, "{b}"),
                }
            }
        }
    }
}

impl Expr {
    /// The same tree with every span zeroed, for comparing trees parsed from different text.
    pub fn without_spans(&self) -> Expr {
        let strip = |o: &Operand| match o {
            Operand::Literal(l, _) => Operand::Literal(l.clone(), Span::default()),
            Operand::Field(p, _) => Operand::Field(p.clone(), Span::default()),
            Operand::Macro(m, _) => Operand::Macro(*m, Span::default()),
        };
        match self {
            Expr::And(a, b) => Expr::And(Box::new(a.without_spans()), Box::new(b.without_spans())),
            Expr::Or(a, b) => Expr::Or(Box::new(a.without_spans()), Box::new(b.without_spans())),
            Expr::Compare { left, op, any, right, .. } => {
                Expr::Compare { left: strip(left), op: *op, any: *any, right: strip(right), span: Span::default() }
            }
        }
    }
}

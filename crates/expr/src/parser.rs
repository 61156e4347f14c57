//! Recursive-descent parser: `or := and ("||" and)*`, `and := primary ("&&" primary)*`,
//! `primary := "(" or ")" | operand OP operand`.

use crate::ast::{CmpOp, DateMacro, Expr, Literal, Modifier, Operand, Path, Root, Span};
use crate::lexer::{Tok, tokenize};

/// Longest accepted expression, in bytes.
pub const MAX_LENGTH: usize = 16 * 1024;
/// Deepest accepted nesting of parentheses.
pub const MAX_DEPTH: usize = 64;

/// A syntax error and the byte offset where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at position {position})")]
pub struct ParseError {
    pub position: usize,
    pub message: String,
}

impl ParseError {
    pub fn at(position: usize, message: impl Into<String>) -> Self {
        Self { position, message: message.into() }
    }
}

/// Parse a filter or rule. An empty (or comment-only) text is an error: callers decide what
/// an empty rule means.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    if src.len() > MAX_LENGTH {
        return Err(ParseError::at(MAX_LENGTH, format!("expression longer than {MAX_LENGTH} bytes")));
    }
    let tokens = tokenize(src)?;
    let mut p = Parser { tokens, pos: 0 };
    if p.peek() == &Tok::End {
        return Err(ParseError::at(0, "empty expression"));
    }
    let expr = p.or(0)?;
    match p.peek() {
        Tok::End => Ok(expr),
        Tok::RParen => Err(ParseError::at(p.span().start, "unbalanced ')'")),
        _ => Err(ParseError::at(p.span().start, "expected && or || between conditions")),
    }
}

struct Parser {
    tokens: Vec<(Tok, Span)>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        self.tokens.get(self.pos).map(|(t, _)| t).unwrap_or(&Tok::End)
    }

    fn span(&self) -> Span {
        self.tokens.get(self.pos).map(|(_, s)| *s).unwrap_or_default()
    }

    fn bump(&mut self) -> (Tok, Span) {
        let item = self.tokens.get(self.pos).cloned().unwrap_or((Tok::End, Span::default()));
        self.pos += 1;
        item
    }

    fn or(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let mut left = self.and(depth)?;
        while self.peek() == &Tok::Or {
            self.bump();
            let right = self.and(depth)?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let mut left = self.primary(depth)?;
        while self.peek() == &Tok::And {
            self.bump();
            let right = self.primary(depth)?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, ParseError> {
        if self.peek() == &Tok::LParen {
            let open = self.span();
            if depth >= MAX_DEPTH {
                return Err(ParseError::at(open.start, format!("parentheses nested deeper than {MAX_DEPTH}")));
            }
            self.bump();
            let inner = self.or(depth + 1)?;
            if self.peek() != &Tok::RParen {
                return Err(ParseError::at(
                    self.span().start,
                    format!("expected ')' to close the '(' at position {}", open.start),
                ));
            }
            self.bump();
            return Ok(inner);
        }
        let left = self.operand()?;
        let (tok, op_span) = self.bump();
        let Tok::Op(symbol) = tok else {
            return Err(ParseError::at(
                op_span.start,
                "expected a comparison operator (=, !=, >, >=, <, <=, ~, !~ or their ?-forms)",
            ));
        };
        let any = symbol.starts_with('?');
        let op = match symbol.trim_start_matches('?') {
            "=" => CmpOp::Eq,
            "!=" => CmpOp::Neq,
            ">" => CmpOp::Gt,
            ">=" => CmpOp::Gte,
            "<" => CmpOp::Lt,
            "<=" => CmpOp::Lte,
            "~" => CmpOp::Like,
            _ => CmpOp::NotLike,
        };
        let right = self.operand()?;
        let span = Span { start: left.span().start, end: right.span().end };
        Ok(Expr::Compare { left, op, any, right, span })
    }

    fn operand(&mut self) -> Result<Operand, ParseError> {
        let (tok, span) = self.bump();
        match tok {
            Tok::Str(s) => Ok(Operand::Literal(Literal::Str(s), span)),
            Tok::Num(n) => Ok(Operand::Literal(Literal::Num(n), span)),
            Tok::Name { text, modifier } => name_operand(&text, modifier.as_deref(), span),
            Tok::End => Err(ParseError::at(span.start, "unexpected end of expression")),
            _ => Err(ParseError::at(span.start, "expected a field, a value or an @ name")),
        }
    }
}

fn name_operand(text: &str, modifier: Option<&str>, span: Span) -> Result<Operand, ParseError> {
    let at = |msg: String| ParseError::at(span.start, msg);
    let modifier = match modifier {
        None => None,
        Some("isset") => Some(Modifier::IsSet),
        Some("length") => Some(Modifier::Length),
        Some("each") => Some(Modifier::Each),
        Some("lower") => Some(Modifier::Lower),
        Some(other) => return Err(at(format!("unknown modifier :{other} (use :isset, :length, :each or :lower)"))),
    };
    if modifier.is_none() {
        match text {
            "true" => return Ok(Operand::Literal(Literal::Bool(true), span)),
            "false" => return Ok(Operand::Literal(Literal::Bool(false), span)),
            "null" => return Ok(Operand::Literal(Literal::Null, span)),
            _ => {}
        }
    }
    let segments_of = |rest: &str| -> Result<Vec<String>, ParseError> {
        let parts: Vec<String> = rest.split('.').map(str::to_string).collect();
        if parts.iter().any(|p| p.is_empty() || p.as_bytes()[0].is_ascii_digit()) {
            return Err(at(format!("invalid field path {text:?}")));
        }
        Ok(parts)
    };
    if let Some(name) = text.strip_prefix('@') {
        if let Some((_, m)) = DateMacro::ALL.iter().find(|(n, _)| *n == name) {
            if modifier.is_some() {
                return Err(at(format!("@{name} takes no modifier")));
            }
            return Ok(Operand::Macro(*m, span));
        }
        let (root, rest) = if let Some(rest) = name.strip_prefix("request.auth.") {
            (Root::RequestAuth, rest)
        } else if let Some(rest) = name.strip_prefix("request.body.") {
            (Root::RequestBody, rest)
        } else if let Some(rest) = name.strip_prefix("request.query.") {
            (Root::RequestQuery, rest)
        } else if let Some(rest) = name.strip_prefix("collection.") {
            let Some((collection, field)) = rest.split_once('.') else {
                return Err(at(format!("@collection needs a collection and a field: {text:?}")));
            };
            (Root::Collection(collection.to_string()), field)
        } else {
            return Err(at(format!("unknown name {text:?}")));
        };
        if modifier == Some(Modifier::IsSet) && root != Root::RequestBody && root != Root::RequestQuery {
            return Err(at(":isset applies to @request.body and @request.query fields".to_string()));
        }
        return Ok(Operand::Field(Path { root, segments: segments_of(rest)?, modifier }, span));
    }
    if modifier == Some(Modifier::IsSet) {
        return Err(at(":isset applies to @request.body and @request.query fields".to_string()));
    }
    Ok(Operand::Field(Path { root: Root::Record, segments: segments_of(text)?, modifier }, span))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(src: &str) -> Expr {
        parse(src).unwrap_or_else(|e| panic!("{src:?}: {e}"))
    }

    fn err(src: &str) -> ParseError {
        match parse(src) {
            Err(e) => e,
            Ok(e) => panic!("{src:?} parsed as {e}"),
        }
    }

    #[test]
    fn reads_pocketbase_filters() {
        let cases = [
            ("title = 'hello'", "title = \"hello\""),
            ("a=1&&b!=2", "a = 1 && b != 2"),
            ("a = 1 || b = 2 && c = 3", "a = 1 || b = 2 && c = 3"),
            ("(a = 1 || b = 2) && c = 3", "(a = 1 || b = 2) && c = 3"),
            ("tags ?~ \"rust\" // trailing comment", "tags ?~ \"rust\""),
            ("author.name:lower = \"ada\"", "author.name:lower = \"ada\""),
            (
                "@request.auth.id != '' && owner = @request.auth.id",
                "@request.auth.id != \"\" && owner = @request.auth.id",
            ),
            ("@request.body.role:isset = false", "@request.body.role:isset = false"),
            ("@collection.members.user ?= @request.auth.id", "@collection.members.user ?= @request.auth.id"),
            ("created >= @todayStart && created < @tomorrow", "created >= @todayStart && created < @tomorrow"),
            ("items:length > 2", "items:length > 2"),
            ("price <= -10.5", "price <= -10.5"),
            ("deleted = null && ok = true", "deleted = null && ok = true"),
            ("s = 'it\\'s'", "s = \"it's\""),
        ];
        for (src, canonical) in cases {
            assert_eq!(ok(src).to_string(), canonical, "{src}");
        }
        // && binds tighter than ||.
        assert!(matches!(ok("a = 1 || b = 2 && c = 3"), Expr::Or(_, _)));
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(err("title = ").position, 8);
        assert_eq!(err("title 'x'").position, 6);
        assert_eq!(err("(a = 1").position, 6);
        assert_eq!(err("a = 1)").position, 5);
        assert_eq!(err("a = 1 b = 2").position, 6);
        assert_eq!(err("a = 'open").position, 4);
        assert_eq!(err("a # 1").position, 2);
        assert_eq!(err("a:upper = 1").position, 0);
        assert_eq!(err("@request.nope = 1").position, 0);
        assert_eq!(err("name:isset = true").position, 0);
        assert_eq!(err("   // only a comment").position, 0);
        assert!(err("a..b = 1").message.contains("field path"));
        let deep = format!("{}a = 1{}", "(".repeat(100), ")".repeat(100));
        assert!(err(&deep).message.contains("nested"));
        assert!(err(&"a = 1 && ".repeat(3000)).message.contains("longer"));
    }
}

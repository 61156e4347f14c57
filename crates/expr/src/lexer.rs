//! Tokens with their byte positions.

use crate::ast::Span;
use crate::parser::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A field path or `@…` name, with an optional `:modifier`.
    Name {
        text: String,
        modifier: Option<String>,
    },
    Str(String),
    Num(f64),
    /// A comparison operator, `?` included when present.
    Op(&'static str),
    And,
    Or,
    LParen,
    RParen,
    End,
}

const OPERATORS: [&str; 16] =
    ["?!=", "?>=", "?<=", "?!~", "?=", "?>", "?<", "?~", "!=", ">=", "<=", "!~", "=", ">", "<", "~"];

pub fn tokenize(src: &str) -> Result<Vec<(Tok, Span)>, ParseError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if src[i..].starts_with("//") {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        let span = |end: usize| Span { start, end };
        if src[i..].starts_with("&&") {
            out.push((Tok::And, span(i + 2)));
            i += 2;
            continue;
        }
        if src[i..].starts_with("||") {
            out.push((Tok::Or, span(i + 2)));
            i += 2;
            continue;
        }
        if c == b'(' || c == b')' {
            out.push((if c == b'(' { Tok::LParen } else { Tok::RParen }, span(i + 1)));
            i += 1;
            continue;
        }
        if let Some(op) = OPERATORS.iter().find(|op| src[i..].starts_with(**op)) {
            out.push((Tok::Op(op), span(i + op.len())));
            i += op.len();
            continue;
        }
        if c == b'"' || c == b'\'' {
            let quote = c as char;
            let mut value = String::new();
            let mut chars = src[i + 1..].char_indices();
            let mut closed = None;
            while let Some((offset, ch)) = chars.next() {
                match ch {
                    '\\' => match chars.next() {
                        Some((_, escaped)) => value.push(escaped),
                        None => break,
                    },
                    ch if ch == quote => {
                        closed = Some(i + 1 + offset + 1);
                        break;
                    }
                    ch => value.push(ch),
                }
            }
            let end = closed.ok_or_else(|| ParseError::at(start, "unterminated string"))?;
            out.push((Tok::Str(value), span(end)));
            i = end;
            continue;
        }
        if c.is_ascii_digit() || (c == b'-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let mut end = i + 1;
            while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b'.') {
                end += 1;
            }
            let text = &src[i..end];
            let value: f64 = text.parse().map_err(|_| ParseError::at(start, format!("invalid number {text:?}")))?;
            out.push((Tok::Num(value), span(end)));
            i = end;
            continue;
        }
        if c == b'@' || c == b'_' || c.is_ascii_alphabetic() {
            let mut end = i + 1;
            while end < bytes.len() && (bytes[end] == b'_' || bytes[end] == b'.' || bytes[end].is_ascii_alphanumeric())
            {
                end += 1;
            }
            let text = src[i..end].to_string();
            let mut modifier = None;
            if bytes.get(end) == Some(&b':') {
                let mut m_end = end + 1;
                while m_end < bytes.len() && bytes[m_end].is_ascii_alphabetic() {
                    m_end += 1;
                }
                if m_end == end + 1 {
                    return Err(ParseError::at(end, "expected a modifier name after ':'"));
                }
                modifier = Some(src[end + 1..m_end].to_string());
                end = m_end;
            }
            out.push((Tok::Name { text, modifier }, span(end)));
            i = end;
            continue;
        }
        let ch = src[i..].chars().next().unwrap_or('?');
        return Err(ParseError::at(start, format!("unexpected character {ch:?}")));
    }
    out.push((Tok::End, Span { start: src.len(), end: src.len() }));
    Ok(out)
}

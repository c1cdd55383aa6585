//! Messages as `dispatchio explain` reads them: the `key=value` form the
//! human output prints witnesses in (`type=Card card=7 source="bob"`), or a
//! JSON object as `--format json` prints them; both read by the program's
//! schema ([`witness::from_json`]).
//!
//! The `key=value` form, written by hand (serde_json reads the JSON form and
//! each quoted string; nothing reads this one): `key=value` pairs separated
//! by spaces, where a value is a quoted string (JSON escapes), a number,
//! `true` or `false`, `NaN`, `inf` or `-inf`, a list `[v, …]`, a nested
//! message `{key: v, …}`, or a bare word (`Card`, `bob`, `enemy-1`), which
//! is a string.

use serde_json::{Map, Value as Json};

use super::witness::{self, WitnessError};
use crate::concrete::Sample;
use crate::program::Program;

/// Reads one message, in either form, for `program`; `Err` says what is
/// wrong and where (a column of `text`, or a field).
pub(super) fn read(program: &Program, text: &str) -> Result<Sample, String> {
    let trimmed = text.trim();
    // JSON starts with `{` (or, wrongly, `[`: an array is no message).
    let doc = if trimmed.starts_with(['{', '[']) {
        serde_json::from_str(trimmed).map_err(|e| format!("not JSON: {e}"))?
    } else {
        parse(trimmed)?
    };
    witness::from_json(program, &doc).map_err(|e: WitnessError| e.to_string())
}

/// The `key=value` form as a JSON object.
fn parse(text: &str) -> Result<Json, String> {
    let mut p = Parser { text, at: 0 };
    let mut fields = Map::new();
    p.skip_space();
    if p.at == text.len() {
        return Err("an empty message (write `type=Name key=value …`, or a JSON object)".into());
    }
    while p.at < text.len() {
        let start = p.at;
        let key = p.key();
        if key.is_empty() {
            return Err(p.error("expected a field name"));
        }
        if !p.eat('=') {
            return Err(p.error(&format!("expected `=` after `{key}`")));
        }
        let value = p.value()?;
        if fields.insert(key.to_owned(), value).is_some() {
            return Err(format!("column {}: field `{key}` is given twice", start + 1));
        }
        let before = p.at;
        p.skip_space();
        if p.at == before && p.at < text.len() {
            return Err(p.error("expected a space before the next field"));
        }
    }
    Ok(Json::Object(fields))
}

struct Parser<'a> {
    text: &'a str,
    /// A byte offset of `text`, always on a character boundary.
    at: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn error(&self, what: &str) -> String {
        let column = self.text[..self.at].chars().count() + 1;
        match self.rest().chars().next() {
            Some(c) => format!("column {column}: {what}, found `{c}`"),
            None => format!("column {column}: {what}, found the end"),
        }
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, c: char) -> bool {
        let found = self.rest().starts_with(c);
        if found {
            self.at += c.len_utf8();
        }
        found
    }

    /// A run of the characters of a bare word (possibly empty).
    fn word(&mut self) -> &'a str {
        self.run(|c| c.is_alphanumeric() || "_-.+:/@*".contains(c))
    }

    /// A field name (possibly empty).
    fn key(&mut self) -> &'a str {
        self.run(|c| c.is_alphanumeric() || c == '_')
    }

    fn run(&mut self, part: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let len = rest.find(|c: char| !part(c)).unwrap_or(rest.len());
        self.at += len;
        &rest[..len]
    }

    fn value(&mut self) -> Result<Json, String> {
        match self.rest().chars().next() {
            Some('"') => self.string(),
            Some('[') => {
                self.at += 1;
                let items = self.sequence(']', Parser::value)?;
                Ok(Json::Array(items))
            }
            Some('{') => {
                self.at += 1;
                let pairs = self.sequence('}', Parser::pair)?;
                let mut fields = Map::new();
                for (k, v) in pairs {
                    if fields.insert(k.clone(), v).is_some() {
                        return Err(format!("field `{k}` is given twice in a nested message"));
                    }
                }
                Ok(Json::Object(fields))
            }
            _ => {
                let word = self.word();
                if word.is_empty() {
                    return Err(self.error("expected a value"));
                }
                Ok(bare(word))
            }
        }
    }

    /// `key: value` inside `{…}`.
    fn pair(&mut self) -> Result<(String, Json), String> {
        let key = self.key().to_owned();
        if key.is_empty() {
            return Err(self.error("expected a field name"));
        }
        self.skip_space();
        if !self.eat(':') && !self.eat('=') {
            return Err(self.error(&format!("expected `:` after `{key}`")));
        }
        self.skip_space();
        Ok((key, self.value()?))
    }

    /// Items separated by commas up to `close` (the opening bracket eaten).
    fn sequence<T>(
        &mut self,
        close: char,
        mut item: impl FnMut(&mut Self) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        let mut out = Vec::new();
        self.skip_space();
        if self.eat(close) {
            return Ok(out);
        }
        loop {
            self.skip_space();
            out.push(item(self)?);
            self.skip_space();
            if self.eat(close) {
                return Ok(out);
            }
            if !self.eat(',') {
                return Err(self.error(&format!("expected `,` or `{close}`")));
            }
        }
    }

    /// A quoted string, JSON escapes and all (serde_json reads it).
    fn string(&mut self) -> Result<Json, String> {
        let rest = self.rest();
        let mut escaped = false;
        for (i, c) in rest.char_indices().skip(1) {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    let quoted = &rest[..=i];
                    let s: String = serde_json::from_str(quoted)
                        .map_err(|e| self.error(&format!("a string that does not read: {e}")))?;
                    self.at += i + 1;
                    return Ok(Json::String(s));
                }
                _ => escaped = false,
            }
        }
        let column = self.text[..self.at].chars().count() + 1;
        Err(format!("column {column}: a string without its closing `\"`"))
    }
}

/// A bare word: a number, a bool, a non-finite float (as the witness JSON
/// spells it), or else a string.
fn bare(word: &str) -> Json {
    match word {
        "true" => return Json::Bool(true),
        "false" => return Json::Bool(false),
        "NaN" | "inf" | "-inf" => return Json::String(word.to_owned()),
        _ => {}
    }
    if word.starts_with(|c: char| c.is_ascii_digit() || c == '-')
        && let Ok(n @ Json::Number(_)) = serde_json::from_str::<Json>(word)
    {
        return n;
    }
    Json::String(word.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::concrete::Value;

    fn program() -> Program {
        crate::load_str(
            "p.route",
            "message Pos { x: float }\n\
             message Card { card: int, suit: string?, pos: Pos?, tags: [string], w: float? }\n\
             listener l { rule r when type == Card and card < 52 => drop }",
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .program
    }

    #[test]
    fn the_key_value_form_reads_as_the_json_form_does() {
        let p = program();
        let text = r#"type=Card card=7 source="bob" group=All suit="h\"x" pos={x: 1.5} tags=[a, "b c"] w=NaN sync=true"#;
        let s = read(&p, text).unwrap();
        assert_eq!(s.ty, "Card");
        assert_eq!(s.content["card"], Value::Int(7));
        assert_eq!(s.source, Some(Value::Str("bob".into())));
        assert_eq!(s.group, Some(Value::Str("All".into())));
        assert_eq!(s.content["suit"], Value::Str("h\"x".into()));
        assert_eq!(s.content_at(&["pos", "x"]), Some(&Value::Float(1.5)));
        assert_eq!(
            s.content["tags"],
            Value::List(vec![Value::Str("a".into()), Value::Str("b c".into())])
        );
        assert!(matches!(s.content["w"], Value::Float(x) if x.is_nan()));
        assert!(s.sync);
        let json = read(&p, r#"{"type": "Card", "card": 7, "source": "bob"}"#).unwrap();
        assert_eq!(json, read(&p, r#"type=Card card=7 source="bob""#).unwrap());
    }

    #[test]
    fn a_message_that_does_not_read_says_what_and_where() {
        let p = program();
        let err = |text: &str| read(&p, text).unwrap_err();
        assert_eq!(err("card=7"), "no `type`: a message names its type (`type=Name`)");
        assert_eq!(
            err("type=Card card=seven"),
            "field `card`: expected an int (it is declared `int`), found \"seven\""
        );
        assert_eq!(err("type=Card cards=7"), "field `cards`: `Card` declares no such field");
        assert_eq!(err("type=Card card"), "column 15: expected `=` after `card`, found the end");
        assert_eq!(err(r#"type=Card suit="x"#), r#"column 16: a string without its closing `"`"#);
        assert_eq!(err("type=Card tags=[a b]"), "column 19: expected `,` or `]`, found `b`");
        assert_eq!(err("type=Card type=Card"), "column 11: field `type` is given twice");
        assert_eq!(
            err("type=Card card=7=8"),
            "column 17: expected a space before the next field, found `=`"
        );
        assert_eq!(err("  "), "an empty message (write `type=Name key=value …`, or a JSON object)");
        assert!(err("{\"type\": ").starts_with("not JSON: "));
        assert_eq!(err("[1]"), "a witness is a JSON object");
    }
}

//! Witnesses as JSON: written by `dispatchio check --format json`, read
//! back by [`read_witness`].
//!
//! A witness is one object: `type`, the envelope fields that are set or
//! true (`id`, `source`, `dest`, `group`, the flags), then the content
//! fields; absent optional fields are left out. JSON has no NaN or
//! infinity, and a float field can hold them (see the language guide), so
//! a non-finite float is written as the string `"NaN"`, `"inf"` or
//! `"-inf"`, as the human output prints it. The reader knows which fields
//! are floats from the program's schema, so such a string in a `float`
//! field reads as that float; in content of a type the program does not
//! declare there is no schema, and a string stays a string.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use crate::concrete::{Sample, Value};
use crate::program::{Program, Type};

/// Why a JSON document is not a witness of a program: what is wrong, and
/// at which field.
///
/// ```
/// use dispatchio_dsl::cli::read_witness;
///
/// let program = dispatchio_dsl::load_str(
///     "p.route",
///     "message P { x: float }\nlistener l { rule r when type == P and x < 0 => drop }",
/// )?
/// .program;
/// let err = read_witness(&program, r#"{"type": "P", "x": true}"#).unwrap_err();
/// assert!(err.to_string().starts_with("field `x`: "), "{err}");
/// let err = read_witness(&program, "[1, 2]").unwrap_err();
/// assert_eq!(err.field(), "");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{}", match .field.is_empty() {
    true => .reason.clone(),
    false => format!("field `{}`: {}", .field, .reason),
})]
pub struct WitnessError {
    /// The field's path (`pos.x`, `tags[2]`), empty for the whole document.
    field: String,
    reason: String,
}

impl WitnessError {
    fn at(field: &str, reason: impl Into<String>) -> WitnessError {
        WitnessError { field: field.to_owned(), reason: reason.into() }
    }

    /// The path of the field at fault (`pos.x`, `tags[2]`), empty when the
    /// document as a whole is.
    ///
    /// ```
    /// use dispatchio_dsl::cli::read_witness;
    ///
    /// let program = dispatchio_dsl::load_str(
    ///     "p.route",
    ///     "message Pos { x: float }\nmessage Move { pos: Pos }\nlistener l { rule r when type == Move and pos.x < 0 => drop }",
    /// )?
    /// .program;
    /// let err = read_witness(&program, r#"{"type": "Move", "pos": {"x": "far"}}"#).unwrap_err();
    /// assert_eq!(err.field(), "pos.x");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn field(&self) -> &str {
        &self.field
    }
}

/// The witness as the JSON object `--format json` prints.
pub(crate) fn to_json(w: &Sample) -> Json {
    Json::Object(w.fields().into_iter().map(|(k, v)| (k, value_json(&v))).collect())
}

pub(crate) fn value_json(v: &Value) -> Json {
    match v {
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(x) => match serde_json::Number::from_f64(*x) {
            Some(n) => Json::Number(n),
            // Not a JSON number: spelt as the human output spells it (`{:?}`).
            None => Json::String(format!("{x:?}")),
        },
        Value::Str(s) => Json::String(s.clone()),
        Value::List(items) => Json::Array(items.iter().map(value_json).collect()),
        Value::Record(fields) => {
            Json::Object(fields.iter().map(|(k, v)| (k.clone(), value_json(v))).collect())
        }
    }
}

/// Reads a witness, one JSON object as `dispatchio check --format json`
/// prints it, back into a message of `program`: the content of a declared
/// type is read by its schema (so `"NaN"`, `"inf"` and `"-inf"` in a
/// `float` field are those floats), the content of any other type as plain
/// JSON values (integers as ints, other numbers as floats).
///
/// ```
/// # let program = dispatchio_dsl::load_str("p.route",
/// #     "message P { x: float }\nlistener l { rule r when type == P and x < 0 => drop }")
/// #     .unwrap().program;
/// let w = dispatchio_dsl::cli::read_witness(&program, r#"{"type": "P", "x": "NaN"}"#)?;
/// assert!(matches!(w.content["x"], dispatchio_dsl::Value::Float(x) if x.is_nan()));
/// # Ok::<(), dispatchio_dsl::cli::WitnessError>(())
/// ```
///
/// # Errors
///
/// When the text is not a JSON object with a string `type`, or a field is
/// not one of the message's: an envelope field of the wrong kind, a content
/// field its type does not declare, or a value that does not fit the
/// field's declared type (`null` included: an absent field is left out).
pub fn read_witness(program: &Program, json: &str) -> Result<Sample, WitnessError> {
    let doc: Json =
        serde_json::from_str(json).map_err(|e| WitnessError::at("", format!("not JSON: {e}")))?;
    from_json(program, &doc)
}

/// [`read_witness`] of a parsed document.
pub(crate) fn from_json(program: &Program, doc: &Json) -> Result<Sample, WitnessError> {
    let Json::Object(fields) = doc else {
        return Err(WitnessError::at("", "a witness is a JSON object"));
    };
    let ty = match fields.get("type") {
        Some(Json::String(t)) => t.clone(),
        Some(_) => return Err(WitnessError::at("type", "expected a string")),
        None => {
            return Err(WitnessError::at("", "no `type`: a message names its type (`type=Name`)"));
        }
    };
    let schema = program.message(&ty);
    let mut msg = Sample::new(ty);
    for (name, v) in fields {
        match name.as_str() {
            "type" => {}
            "id" => msg.id = v.as_i64().ok_or_else(|| WitnessError::at(name, "expected an int"))?,
            "source" => msg.source = Some(typed(program, &Type::Id, v, name)?),
            "dest" => msg.dest = Some(typed(program, &Type::Id, v, name)?),
            "group" => msg.group = Some(typed(program, &Type::Id, v, name)?),
            "response_required" => msg.response_required = flag(v, name)?,
            "is_response" => msg.is_response = flag(v, name)?,
            "sync" => msg.sync = flag(v, name)?,
            "blocking" => msg.blocking = flag(v, name)?,
            _ => {
                let value = match schema {
                    Some(m) => {
                        let f = m.field(name).ok_or_else(|| {
                            WitnessError::at(name, format!("`{}` declares no such field", m.name))
                        })?;
                        typed(program, &f.ty, v, name)?
                    }
                    None => untyped(v, name)?,
                };
                msg.content.insert(name.clone(), value);
            }
        }
    }
    Ok(msg)
}

fn flag(v: &Json, at: &str) -> Result<bool, WitnessError> {
    v.as_bool().ok_or_else(|| WitnessError::at(at, "expected `true` or `false`"))
}

/// A value of the declared type `ty`.
fn typed(program: &Program, ty: &Type, v: &Json, at: &str) -> Result<Value, WitnessError> {
    let expected = |what: &str| {
        WitnessError::at(at, format!("expected {what} (it is declared `{ty}`), found {v}"))
    };
    Ok(match (ty, v) {
        (_, Json::Null) => {
            return Err(WitnessError::at(at, "`null` is no value: an absent field is left out"));
        }
        (Type::Optional(inner), v) => return typed(program, inner, v, at),
        (Type::Any, v) => return untyped(v, at),
        (Type::Bool, Json::Bool(b)) => Value::Bool(*b),
        (Type::Int, Json::Number(n)) => Value::Int(n.as_i64().ok_or_else(|| expected("an int"))?),
        (Type::Id, Json::Number(n)) => Value::Int(n.as_i64().ok_or_else(|| expected("an int"))?),
        (Type::Id | Type::Str, Json::String(s)) => Value::Str(s.clone()),
        (Type::Float, Json::Number(n)) => {
            Value::Float(n.as_f64().ok_or_else(|| expected("a float"))?)
        }
        (Type::Float, Json::String(s)) => Value::Float(
            non_finite(s).ok_or_else(|| expected("a number, or \"NaN\", \"inf\" or \"-inf\""))?,
        ),
        (Type::List(elem), Json::Array(items)) => Value::List(
            items
                .iter()
                .enumerate()
                .map(|(k, x)| typed(program, elem, x, &format!("{at}[{k}]")))
                .collect::<Result<_, _>>()?,
        ),
        (Type::Message(name), Json::Object(fields)) => {
            let m = program
                .message(name)
                .ok_or_else(|| WitnessError::at(at, format!("`{name}` is not declared")))?;
            let mut out = BTreeMap::new();
            for (k, x) in fields {
                let path = format!("{at}.{k}");
                let f = m.field(k).ok_or_else(|| {
                    WitnessError::at(&path, format!("`{name}` declares no such field"))
                })?;
                out.insert(k.clone(), typed(program, &f.ty, x, &path)?);
            }
            Value::Record(out)
        }
        (Type::Bool, _) => return Err(expected("`true` or `false`")),
        (Type::Int, _) => return Err(expected("an int")),
        (Type::Id, _) => return Err(expected("an int or a string")),
        (Type::Str, _) => return Err(expected("a string")),
        (Type::Float, _) => return Err(expected("a number")),
        (Type::List(_), _) => return Err(expected("an array")),
        (Type::Message(_), _) => return Err(expected("an object")),
    })
}

/// The non-finite float a string spells, as `{:?}` prints it.
fn non_finite(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// Content no schema describes, as plain JSON values.
fn untyped(v: &Json, at: &str) -> Result<Value, WitnessError> {
    Ok(match v {
        Json::Null => {
            return Err(WitnessError::at(at, "`null` is no value: an absent field is left out"));
        }
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) if n.is_f64() => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        Json::Number(n) => {
            Value::Int(n.as_i64().ok_or_else(|| WitnessError::at(at, "an integer beyond 64 bits"))?)
        }
        Json::String(s) => Value::Str(s.clone()),
        Json::Array(items) => Value::List(
            items
                .iter()
                .enumerate()
                .map(|(k, x)| untyped(x, &format!("{at}[{k}]")))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(fields) => Value::Record(record(fields, at)?),
    })
}

fn record(fields: &Map<String, Json>, at: &str) -> Result<BTreeMap<String, Value>, WitnessError> {
    fields.iter().map(|(k, x)| Ok((k.clone(), untyped(x, &format!("{at}.{k}"))?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program() -> Program {
        crate::load_str(
            "p.route",
            "message Pos { x: float, y: float? }\n\
             message P { x: float, xs: [float], pos: Pos?, who: id, n: int }\n\
             listener l { rule r when type == P and x < 0 => drop }",
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .program
    }

    fn sample() -> Sample {
        let mut s = Sample::new("P");
        s.source = Some(Value::Str("enemy-1".into()));
        s.sync = true;
        s.id = 7;
        let pos = BTreeMap::from([("x".to_owned(), Value::Float(f64::NEG_INFINITY))]);
        s.content = BTreeMap::from([
            ("x".to_owned(), Value::Float(f64::NAN)),
            ("xs".to_owned(), Value::List(vec![Value::Float(f64::INFINITY), Value::Float(-0.0)])),
            ("pos".to_owned(), Value::Record(pos)),
            ("who".to_owned(), Value::Int(12)),
            ("n".to_owned(), Value::Int(-3)),
        ]);
        s
    }

    #[test]
    fn non_finite_floats_are_written_as_the_human_output_spells_them() {
        let json = to_json(&sample()).to_string();
        assert!(json.contains(r#""x":"NaN""#), "{json}");
        assert!(json.contains(r#""xs":["inf",-0.0]"#), "{json}");
        assert!(json.contains(r#""pos":{"x":"-inf"}"#), "{json}");
        assert_eq!(sample().to_string().matches("NaN").count(), 1);
        assert!(sample().to_string().contains("xs=[inf, -0.0]"));
    }

    #[test]
    fn a_witness_reads_back_as_the_message_it_was() {
        let s = sample();
        let back = read_witness(&program(), &to_json(&s).to_string()).unwrap();
        // `Display` shows every value, NaN included (which `==` would not).
        assert_eq!(back.to_string(), s.to_string());
        assert!(matches!(back.content["xs"], Value::List(ref v) if v[1] == Value::Float(0.0)));
    }

    #[test]
    fn content_of_an_undeclared_type_reads_as_plain_values() {
        let back =
            read_witness(&program(), r#"{"type": "Z", "a": 1, "b": 1.0, "c": "NaN"}"#).unwrap();
        assert_eq!(back.content["a"], Value::Int(1));
        assert_eq!(back.content["b"], Value::Float(1.0));
        assert_eq!(back.content["c"], Value::Str("NaN".into()));
    }

    #[test]
    fn a_field_that_does_not_fit_is_named_in_the_error() {
        let p = program();
        let err = |json: &str| read_witness(&p, json).unwrap_err().to_string();
        assert_eq!(err("[1]"), "a witness is a JSON object");
        assert_eq!(err(r#"{"x": 1}"#), "no `type`: a message names its type (`type=Name`)");
        assert_eq!(
            err(r#"{"type": "P", "x": null}"#),
            "field `x`: `null` is no value: an absent field is left out"
        );
        assert_eq!(
            err(r#"{"type": "P", "x": "nan"}"#),
            "field `x`: expected a number, or \"NaN\", \"inf\" or \"-inf\" (it is declared `float`), found \"nan\""
        );
        assert_eq!(
            err(r#"{"type": "P", "pos": {"z": 1}}"#),
            "field `pos.z`: `Pos` declares no such field"
        );
        assert_eq!(
            err(r#"{"type": "P", "xs": [1, true]}"#),
            "field `xs[1]`: expected a number (it is declared `float`), found true"
        );
        assert_eq!(err(r#"{"type": "P", "sync": 1}"#), "field `sync`: expected `true` or `false`");
        assert_eq!(err(r#"{"type": "P", "q": 1}"#), "field `q`: `P` declares no such field");
        assert!(err("{").starts_with("not JSON: "));
    }
}

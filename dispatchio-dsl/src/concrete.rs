//! Concrete messages as the language sees them: the witnesses of analysis
//! findings, and the input of the reference evaluator.

use std::collections::BTreeMap;
use std::fmt;

use dispatchio_model::DynValue;

/// A concrete value of a content or envelope field.
///
/// ```
/// use std::collections::BTreeMap;
/// use dispatchio_dsl::Value;
///
/// let pos = Value::Record(BTreeMap::from([("x".to_owned(), Value::Float(0.5))]));
/// assert_eq!(pos.to_string(), "{x: 0.5}");
/// let tags = Value::List(vec![Value::Str("hot".into()), Value::Int(3)]);
/// assert_eq!(tags.to_string(), r#"["hot", 3]"#);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A `bool`.
    Bool(bool),
    /// An `int` (or an integer `id`).
    Int(i64),
    /// A `float`.
    Float(f64),
    /// A `string` (or a string `id`).
    Str(String),
    /// A list `[T]`.
    List(Vec<Value>),
    /// A nested message: field name to value (absent optional fields are left out).
    Record(BTreeMap<String, Value>),
}

impl Value {
    /// The owned value of one the model reads (a runtime message's content
    /// field, say); `None` for what the model sees as absent (a serialised
    /// `None`). A list leaves out its absent elements, which no test sees.
    ///
    /// ```
    /// use dispatchio_dsl::Value;
    /// use dispatchio_model::Value as Model;
    ///
    /// assert_eq!(Value::of_model(Model::Int(7)), Some(Value::Int(7)));
    /// assert_eq!(Value::of_model(Model::Str("hearts")), Some(Value::Str("hearts".into())));
    /// ```
    pub fn of_model(v: dispatchio_model::Value<'_>) -> Option<Value> {
        Value::of_dyn(&v.to_owned_value())
    }

    /// [`of_model`](Self::of_model) for an owned dynamic value.
    ///
    /// ```
    /// use dispatchio_dsl::Value;
    /// use dispatchio_model::DynValue;
    ///
    /// let tags = DynValue::List(vec![DynValue::Str("hot".into()), DynValue::Null]);
    /// // A serialised `None` is absent: it leaves the list.
    /// assert_eq!(Value::of_dyn(&tags), Some(Value::List(vec![Value::Str("hot".into())])));
    /// assert_eq!(Value::of_dyn(&DynValue::Null), None);
    /// ```
    pub fn of_dyn(v: &DynValue) -> Option<Value> {
        Some(match v {
            DynValue::Null => return None,
            DynValue::Bool(b) => Value::Bool(*b),
            DynValue::Int(i) => Value::Int(*i),
            DynValue::Float(x) => Value::Float(*x),
            DynValue::Str(s) => Value::Str(s.clone()),
            DynValue::List(items) => Value::List(items.iter().filter_map(Value::of_dyn).collect()),
            DynValue::Record(fields) => Value::Record(
                fields.iter().filter_map(|(k, v)| Some((k.clone(), Value::of_dyn(v)?))).collect(),
            ),
        })
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Record(fields) => {
                f.write_str("{")?;
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// One message: its envelope and its content, as plain values.
///
/// Absent optional fields (envelope `source`, `dest`, `group`, and optional
/// content fields) are `None` / missing from `content`.
///
/// ```
/// use dispatchio_dsl::{Sample, Value};
///
/// let mut shot = Sample::new("Gunshot");
/// shot.source = Some(Value::Str("enemy-1".into()));
/// shot.content.insert("loudness".into(), Value::Int(80));
/// assert_eq!(shot.to_string(), r#"type=Gunshot source="enemy-1" loudness=80"#);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The message type name.
    pub ty: String,
    /// The message ID.
    pub id: i64,
    /// Source ID (`Value::Int` or `Value::Str`), if set.
    pub source: Option<Value>,
    /// Destination ID, if set.
    pub dest: Option<Value>,
    /// Group ID, if set.
    pub group: Option<Value>,
    /// The response-required flag.
    pub response_required: bool,
    /// The is-response flag.
    pub is_response: bool,
    /// The synchronous flag.
    pub sync: bool,
    /// The blocking flag.
    pub blocking: bool,
    /// Content fields by name (top level); nested messages are `Value::Record`.
    pub content: BTreeMap<String, Value>,
}

impl Sample {
    /// A message of type `ty` with ID 0, no IDs set, all flags false and no content.
    ///
    /// ```
    /// let card = dispatchio_dsl::Sample::new("Card");
    /// assert_eq!((card.ty.as_str(), card.id, card.sync), ("Card", 0, false));
    /// assert!(card.source.is_none() && card.content.is_empty());
    /// ```
    pub fn new(ty: impl Into<String>) -> Sample {
        Sample {
            ty: ty.into(),
            id: 0,
            source: None,
            dest: None,
            group: None,
            response_required: false,
            is_response: false,
            sync: false,
            blocking: false,
            content: BTreeMap::new(),
        }
    }

    /// The content value at a path of field names, if present.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use dispatchio_dsl::{Sample, Value};
    ///
    /// let mut mv = Sample::new("Move");
    /// let pos = BTreeMap::from([("x".to_owned(), Value::Float(0.5))]);
    /// mv.content.insert("pos".into(), Value::Record(pos));
    /// assert_eq!(mv.content_at(&["pos", "x"]), Some(&Value::Float(0.5)));
    /// assert_eq!(mv.content_at(&["pos", "y"]), None);
    /// ```
    pub fn content_at(&self, path: &[impl AsRef<str>]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        let mut v = self.content.get(first.as_ref())?;
        for key in rest {
            match v {
                Value::Record(fields) => v = fields.get(key.as_ref())?,
                _ => return None,
            }
        }
        Some(v)
    }

    /// The message as `(field name, value)` pairs, in a stable order: `type`,
    /// then the envelope fields that are set or true, then content fields.
    /// This is the shape of a witness in JSON output.
    ///
    /// ```
    /// use dispatchio_dsl::{Sample, Value};
    ///
    /// let mut card = Sample::new("Card");
    /// card.blocking = true;
    /// card.content.insert("card".into(), Value::Int(7));
    /// let names: Vec<String> = card.fields().into_iter().map(|(name, _)| name).collect();
    /// // Unset IDs and false flags are left out.
    /// assert_eq!(names, ["type", "blocking", "card"]);
    /// ```
    pub fn fields(&self) -> Vec<(String, Value)> {
        let mut out = vec![("type".to_owned(), Value::Str(self.ty.clone()))];
        if self.id != 0 {
            out.push(("id".to_owned(), Value::Int(self.id)));
        }
        for (name, v) in [("source", &self.source), ("dest", &self.dest), ("group", &self.group)] {
            if let Some(v) = v {
                out.push((name.to_owned(), v.clone()));
            }
        }
        for (name, b) in [
            ("response_required", self.response_required),
            ("is_response", self.is_response),
            ("sync", self.sync),
            ("blocking", self.blocking),
        ] {
            if b {
                out.push((name.to_owned(), Value::Bool(true)));
            }
        }
        out.extend(self.content.iter().map(|(k, v)| (k.clone(), v.clone())));
        out
    }
}

impl fmt::Display for Sample {
    /// `type=Gunshot loudness=80 silenced=false source="enemy-1"`; the type
    /// name is printed bare, every other string quoted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (k, v)) in self.fields().into_iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match (i, &v) {
                (0, Value::Str(s)) => write!(f, "{k}={s}")?,
                _ => write!(f, "{k}={v}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_lists_type_set_envelope_fields_and_content() {
        let mut s = Sample::new("Gunshot");
        s.source = Some(Value::Str("enemy-1".into()));
        s.content.insert("loudness".into(), Value::Int(80));
        s.content.insert("silenced".into(), Value::Bool(false));
        assert_eq!(s.to_string(), r#"type=Gunshot source="enemy-1" loudness=80 silenced=false"#);
    }

    #[test]
    fn content_at_walks_nested_records() {
        let mut s = Sample::new("A");
        let inner = BTreeMap::from([("x".to_owned(), Value::Int(1))]);
        s.content.insert("pos".into(), Value::Record(inner));
        assert_eq!(s.content_at(&["pos", "x"]), Some(&Value::Int(1)));
        assert_eq!(s.content_at(&["pos", "y"]), None);
        assert_eq!(s.content_at(&["pos", "x", "z"]), None);
    }
}

//! Dynamic views of content: [`Value`] is a borrowed view of one field that
//! routing conditions and the interpreter read without knowing the concrete
//! Rust type; [`DynValue`] is the owned form for content whose type this
//! process does not know (decoded from another process, or built by hand).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::id::Id;

/// A borrowed view of one content or envelope field.
///
/// Absence is not a value: field access returns `Option<Value>` and `None`
/// means "absent" (a missing optional field, an unknown path).
///
/// ```
/// use dispatchio_model::{DynValue, Fields, Value};
/// let card = DynValue::Record([("card".to_owned(), DynValue::from(7))].into());
/// assert_eq!(card.field("card"), Some(Value::Int(7)));
/// assert_eq!(card.field("suit"), None); // absent, not a value
/// assert_ne!(Value::Int(7), Value::Float(7.0)); // kinds never mix
/// ```
#[derive(Clone, Copy)]
pub enum Value<'a> {
    /// A `bool`.
    Bool(bool),
    /// An `int` (or an integer `id`).
    Int(i64),
    /// A `float`.
    Float(f64),
    /// A `string` (or a string `id`).
    Str(&'a str),
    /// A list `[T]`.
    List(&'a dyn Items),
    /// A nested record (a nested message type, or a map in dynamic content).
    Record(&'a dyn Fields),
}

impl<'a> Value<'a> {
    /// The field `name` of a record; `None` for any other value.
    ///
    /// ```
    /// use dispatchio_model::{DynValue, Fields, Value};
    /// let pos = DynValue::Record([("x".to_owned(), DynValue::from(3))].into());
    /// let msg = DynValue::Record([("pos".to_owned(), pos)].into());
    /// let x = msg.field("pos").and_then(|pos| pos.field("x"));
    /// assert_eq!(x, Some(Value::Int(3)));
    /// assert_eq!(Value::Int(3).field("x"), None); // not a record
    /// ```
    pub fn field(self, name: &str) -> Option<Value<'a>> {
        match self {
            Value::Record(r) => r.field(name),
            _ => None,
        }
    }

    /// An owned copy of this value.
    ///
    /// ```
    /// use dispatchio_model::{AsValue, DynValue, Value};
    /// let cards = vec![7i64, 12];
    /// let view: Value<'_> = cards.as_value().unwrap();
    /// assert_eq!(view.to_owned_value(), DynValue::from(vec![7i64, 12]));
    /// assert_eq!(Value::Str("ace").to_owned_value(), DynValue::from("ace"));
    /// ```
    pub fn to_owned_value(self) -> DynValue {
        match self {
            Value::Bool(b) => DynValue::Bool(b),
            Value::Int(i) => DynValue::Int(i),
            Value::Float(x) => DynValue::Float(x),
            Value::Str(s) => DynValue::Str(s.to_owned()),
            Value::List(items) => DynValue::List(
                (0..items.len()).filter_map(|i| items.item(i)).map(Value::to_owned_value).collect(),
            ),
            Value::Record(r) => DynValue::Record(
                r.field_names()
                    .into_iter()
                    .filter_map(|name| r.field(&name).map(|v| (name, v.to_owned_value())))
                    .collect(),
            ),
        }
    }
}

impl PartialEq for Value<'_> {
    /// Scalars compare by value and kind (an `Int` never equals a `Float`);
    /// lists and records compare element by element.
    fn eq(&self, other: &Value<'_>) -> bool {
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::List(_), Value::List(_)) | (Value::Record(_), Value::Record(_)) => {
                self.to_owned_value() == other.to_owned_value()
            }
            _ => false,
        }
    }
}

impl fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Str(s) => write!(f, "{s:?}"),
            other => write!(f, "{:?}", other.to_owned_value()),
        }
    }
}

/// Field access by name: implemented by content types and nested records.
///
/// Generated code implements it with a `match` on the name; a hand-written
/// type that is only ever routed on its envelope can leave the default, which
/// reports every field absent.
///
/// ```
/// use dispatchio_model::{AsValue, Fields, Value};
/// struct Pos { x: i64, y: Option<i64> }
/// impl Fields for Pos {
///     fn field(&self, name: &str) -> Option<Value<'_>> {
///         match name {
///             "x" => self.x.as_value(),
///             "y" => self.y.as_value(),
///             _ => None,
///         }
///     }
///     fn field_names(&self) -> Vec<String> {
///         let mut names = vec!["x".to_owned()];
///         names.extend(self.y.map(|_| "y".to_owned()));
///         names
///     }
/// }
/// let pos = Pos { x: 3, y: None };
/// assert_eq!(pos.field("x"), Some(Value::Int(3)));
/// assert_eq!(pos.field("y"), None); // `None` is absent
/// assert_eq!(pos.field_names(), ["x"]);
/// ```
pub trait Fields: Send + Sync {
    /// The field `name`, or `None` when absent.
    ///
    /// ```
    /// use dispatchio_model::{DynValue, Fields, Value};
    /// let card = DynValue::Record([("card".to_owned(), DynValue::from(7))].into());
    /// assert_eq!(card.field("card"), Some(Value::Int(7)));
    /// assert_eq!(card.field("suit"), None);
    /// struct Opaque; // routed on its envelope only: the default
    /// impl Fields for Opaque {}
    /// assert_eq!(Opaque.field("card"), None);
    /// ```
    fn field(&self, name: &str) -> Option<Value<'_>> {
        let _ = name;
        None
    }

    /// The names of the fields present, for display and conversion to
    /// [`DynValue`]. Defaults to none.
    ///
    /// ```
    /// use dispatchio_model::{DynValue, Fields};
    /// let card = DynValue::Record(
    ///     [("card".to_owned(), DynValue::from(7)), ("suit".to_owned(), DynValue::Null)].into(),
    /// );
    /// assert_eq!(card.field_names(), ["card"]); // a `Null` is absent
    /// ```
    fn field_names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Indexed access to the elements of a list.
///
/// `Vec<T>` implements it for every [`AsValue`] `T`; a list field is read
/// through it as [`Value::List`]:
///
/// ```
/// use dispatchio_model::{AsValue, Items, Value};
/// let hand = vec![7i64, 12];
/// let Some(Value::List(cards)) = hand.as_value() else { panic!("a Vec is a list") };
/// let read: Vec<_> = (0..cards.len()).filter_map(|i| cards.item(i)).collect();
/// assert_eq!(read, [Value::Int(7), Value::Int(12)]);
/// ```
pub trait Items: Send + Sync {
    /// The number of elements.
    ///
    /// ```
    /// use dispatchio_model::Items;
    /// assert_eq!(Items::len(&vec![7i64, 12]), 2);
    /// ```
    fn len(&self) -> usize;

    /// Whether the list is empty.
    ///
    /// ```
    /// use dispatchio_model::Items;
    /// assert!(Items::is_empty(&Vec::<i64>::new()));
    /// assert!(!Items::is_empty(&vec![7i64]));
    /// ```
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element at `index`, or `None` when out of range or absent.
    ///
    /// ```
    /// use dispatchio_model::{Items, Value};
    /// let suits = vec![Some("hearts".to_owned()), None];
    /// assert_eq!(suits.item(0), Some(Value::Str("hearts")));
    /// assert_eq!(suits.item(1), None); // absent
    /// assert_eq!(suits.item(2), None); // out of range
    /// ```
    fn item(&self, index: usize) -> Option<Value<'_>>;
}

/// A Rust value that can be viewed as a [`Value`]; used by [`Fields`]
/// implementations. `Option<T>` views as `None` when it holds nothing.
///
/// ```
/// use dispatchio_model::{AsValue, Id, Value};
/// assert_eq!(7u8.as_value(), Some(Value::Int(7)));
/// assert_eq!(Id::from("bob").as_value(), Some(Value::Str("bob")));
/// assert_eq!(None::<i64>.as_value(), None);
/// // Too wide for `i64`: the float a dynamic decoder reads for it.
/// assert_eq!(u64::MAX.as_value(), Some(Value::Float(u64::MAX as f64)));
/// ```
pub trait AsValue {
    /// The view, or `None` for an absent value.
    ///
    /// ```
    /// use dispatchio_model::{AsValue, Value};
    /// assert_eq!(Some(true).as_value(), Some(Value::Bool(true)));
    /// assert_eq!("ace".as_value(), Some(Value::Str("ace")));
    /// ```
    fn as_value(&self) -> Option<Value<'_>>;
}

macro_rules! as_value_int {
    ($($t:ty),*) => {$(
        impl AsValue for $t {
            fn as_value(&self) -> Option<Value<'_>> {
                Some(Value::Int(i64::from(*self)))
            }
        }
    )*};
}
as_value_int!(i64, i32, i16, i8, u32, u16, u8);

macro_rules! as_value_wide_uint {
    ($($t:ty),*) => {$(
        /// An `int` when it fits in `i64`; a larger value is the `Float` a
        /// process decoding the content dynamically reads for it, so typed and
        /// dynamic content route alike.
        impl AsValue for $t {
            fn as_value(&self) -> Option<Value<'_>> {
                Some(match i64::try_from(*self) {
                    Ok(i) => Value::Int(i),
                    Err(_) => Value::Float(*self as f64),
                })
            }
        }
    )*};
}
as_value_wide_uint!(u64, usize);

impl AsValue for bool {
    fn as_value(&self) -> Option<Value<'_>> {
        Some(Value::Bool(*self))
    }
}

impl AsValue for f64 {
    fn as_value(&self) -> Option<Value<'_>> {
        Some(Value::Float(*self))
    }
}

impl AsValue for f32 {
    fn as_value(&self) -> Option<Value<'_>> {
        Some(Value::Float(f64::from(*self)))
    }
}

impl AsValue for str {
    fn as_value(&self) -> Option<Value<'_>> {
        Some(Value::Str(self))
    }
}

impl AsValue for String {
    fn as_value(&self) -> Option<Value<'_>> {
        Some(Value::Str(self))
    }
}

impl AsValue for Id {
    fn as_value(&self) -> Option<Value<'_>> {
        Some(match self {
            Id::Int(i) => Value::Int(*i),
            Id::Str(s) => Value::Str(s),
        })
    }
}

impl<T: AsValue> AsValue for Option<T> {
    fn as_value(&self) -> Option<Value<'_>> {
        self.as_ref().and_then(T::as_value)
    }
}

impl<T: AsValue + Send + Sync> AsValue for Vec<T> {
    fn as_value(&self) -> Option<Value<'_>> {
        Some(Value::List(self))
    }
}

impl<T: AsValue + Send + Sync> Items for Vec<T> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }

    fn item(&self, index: usize) -> Option<Value<'_>> {
        self.get(index).and_then(T::as_value)
    }
}

impl AsValue for DynValue {
    fn as_value(&self) -> Option<Value<'_>> {
        self.view()
    }
}

/// The value at a path of field names (`["pos", "x"]`) from `root`, or
/// `None` when any step is absent or not a record: how every reader of a
/// content path walks it.
///
/// ```
/// use dispatchio_model::{DynValue, Value, at};
/// let pos = DynValue::Record([("x".to_owned(), DynValue::from(3))].into());
/// let msg = DynValue::Record([("pos".to_owned(), pos), ("n".to_owned(), 1.into())].into());
/// assert_eq!(at(&msg, &["pos", "x"]), Some(Value::Int(3)));
/// assert_eq!(at(&msg, &["pos", "y"]), None); // absent
/// assert_eq!(at(&msg, &["n", "x"]), None); // `n` is not a record
/// ```
pub fn at<'a, F: Fields + ?Sized, S: AsRef<str>>(root: &'a F, path: &[S]) -> Option<Value<'a>> {
    let (first, rest) = path.split_first()?;
    let mut v = root.field(first.as_ref())?;
    for name in rest {
        v = v.field(name.as_ref())?;
    }
    Some(v)
}

/// A Rust type usable as message content.
///
/// ```
/// use dispatchio_model::{ContentType, Fields, Value, AsValue};
///
/// #[derive(Debug, serde::Serialize, serde::Deserialize)]
/// struct Card { card: i64, suit: Option<String> }
///
/// impl ContentType for Card {
///     const TYPE_NAME: &'static str = "Card";
/// }
///
/// // Lets routing conditions read `card` and `suit`.
/// impl Fields for Card {
///     fn field(&self, name: &str) -> Option<Value<'_>> {
///         match name {
///             "card" => self.card.as_value(),
///             "suit" => self.suit.as_value(),
///             _ => None,
///         }
///     }
/// }
/// ```
pub trait ContentType: Fields + serde::Serialize + fmt::Debug + Send + Sync + 'static {
    /// The message type name (`"Card"`): the envelope's `type` when a message
    /// is built from this content, and the key of its decoder.
    const TYPE_NAME: &'static str;
}

/// A nested message type is viewed as a record of its fields.
impl<T: ContentType> AsValue for T {
    fn as_value(&self) -> Option<Value<'_>> {
        Some(Value::Record(self))
    }
}

/// An owned dynamic value: content of a type this process does not know.
///
/// Serialises as the plain data it holds (a map for a record), so any
/// self-describing format reads it back.
///
/// ```
/// use dispatchio_model::{DynValue, Fields, Value};
/// let card: DynValue = serde_json::from_str(r#"{"card": 7, "suit": null, "tags": [1]}"#)?;
/// assert_eq!(card.field("card"), Some(Value::Int(7)));
/// assert_eq!(card.field("suit"), None); // null is absent
/// assert_eq!(serde_json::to_string(&card)?, r#"{"card":7,"suit":null,"tags":[1]}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DynValue {
    /// No value (a serialised `None`); viewed as absent.
    Null,
    /// A `bool`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A list.
    List(Vec<DynValue>),
    /// A record: field name to value.
    Record(BTreeMap<String, DynValue>),
}

impl DynValue {
    /// The borrowed view; `None` for [`DynValue::Null`].
    ///
    /// ```
    /// use dispatchio_model::{DynValue, Value};
    /// assert_eq!(DynValue::from("ace").view(), Some(Value::Str("ace")));
    /// assert_eq!(DynValue::Null.view(), None);
    /// ```
    pub fn view(&self) -> Option<Value<'_>> {
        Some(match self {
            DynValue::Null => return None,
            DynValue::Bool(b) => Value::Bool(*b),
            DynValue::Int(i) => Value::Int(*i),
            DynValue::Float(x) => Value::Float(*x),
            DynValue::Str(s) => Value::Str(s),
            DynValue::List(items) => Value::List(items),
            DynValue::Record(fields) => Value::Record(fields),
        })
    }
}

impl Fields for BTreeMap<String, DynValue> {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        self.get(name).and_then(DynValue::view)
    }

    /// The names of the fields present: a `Null` (a serialised `None`) is
    /// absent, as [`field`](Fields::field) reports it.
    fn field_names(&self) -> Vec<String> {
        self.iter().filter(|(_, v)| **v != DynValue::Null).map(|(k, _)| k.clone()).collect()
    }
}

impl Fields for DynValue {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        match self {
            DynValue::Record(fields) => fields.field(name),
            _ => None,
        }
    }

    fn field_names(&self) -> Vec<String> {
        match self {
            DynValue::Record(fields) => fields.field_names(),
            _ => Vec::new(),
        }
    }
}

impl From<bool> for DynValue {
    fn from(b: bool) -> DynValue {
        DynValue::Bool(b)
    }
}

impl From<i64> for DynValue {
    fn from(i: i64) -> DynValue {
        DynValue::Int(i)
    }
}

impl From<f64> for DynValue {
    fn from(x: f64) -> DynValue {
        DynValue::Float(x)
    }
}

impl From<&str> for DynValue {
    fn from(s: &str) -> DynValue {
        DynValue::Str(s.to_owned())
    }
}

impl From<String> for DynValue {
    fn from(s: String) -> DynValue {
        DynValue::Str(s)
    }
}

impl From<Id> for DynValue {
    fn from(id: Id) -> DynValue {
        match id {
            Id::Int(i) => DynValue::Int(i),
            Id::Str(s) => DynValue::Str(s.to_string()),
        }
    }
}

impl<T: Into<DynValue>> From<Vec<T>> for DynValue {
    fn from(items: Vec<T>) -> DynValue {
        DynValue::List(items.into_iter().map(Into::into).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pairs: &[(&str, DynValue)]) -> DynValue {
        DynValue::Record(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
    }

    #[test]
    fn unsigned_ints_too_wide_for_i64_view_as_the_float_a_dynamic_decoder_reads() {
        assert_eq!(7u64.as_value(), Some(Value::Int(7)));
        assert_eq!((i64::MAX as u64).as_value(), Some(Value::Int(i64::MAX)));
        let wide: DynValue = serde_json::from_str(&u64::MAX.to_string()).unwrap();
        assert_eq!(u64::MAX.as_value().map(Value::to_owned_value), Some(wide));
    }

    #[test]
    fn a_null_field_is_absent_from_field_names_as_from_field() {
        let v = record(&[("suit", DynValue::Null), ("card", 7.into())]);
        assert_eq!(v.field("suit"), None);
        assert_eq!(v.field_names(), ["card"]);
    }

    #[test]
    fn nested_records_are_reached_field_by_field() {
        let v = record(&[("pos", record(&[("x", 1.into())]))]);
        let x = v.field("pos").and_then(|p| p.field("x"));
        assert_eq!(x, Some(Value::Int(1)));
        assert_eq!(v.field("pos").and_then(|p| p.field("y")), None);
    }

    #[test]
    fn a_path_is_walked_record_by_record() {
        let v = record(&[("pos", record(&[("x", 1.into())])), ("n", 2.into())]);
        assert_eq!(at(&v, &["pos", "x"]), Some(Value::Int(1)));
        assert_eq!(at(&v, &["n", "x"]), None, "not a record");
        assert_eq!(at(&v, &["pos", "y"]), None);
        assert_eq!(at::<_, &str>(&v, &[]), None);
    }

    #[test]
    fn null_is_absent() {
        assert!(DynValue::Null.view().is_none());
        assert!(record(&[("a", DynValue::Null)]).field("a").is_none());
    }

    #[test]
    fn int_and_float_values_are_never_equal() {
        assert_ne!(Value::Int(1), Value::Float(1.0));
    }

    #[test]
    fn dyn_value_round_trips_through_a_self_describing_format() {
        let v = record(&[
            ("card", 7.into()),
            ("suit", "hearts".into()),
            ("tags", vec![1i64, 2].into()),
        ]);
        let bytes = rmp_serde::to_vec_named(&v).unwrap();
        let back: DynValue = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(back, v);
    }
}

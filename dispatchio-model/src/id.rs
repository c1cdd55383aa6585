//! Identifiers: [`Id`] names sources, destinations and groups; [`MessageId`]
//! names one message (and the reply to it); [`SharedStr`] is the cheap string
//! both use.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An immutable string that is cheap to clone: a `&'static str` (no allocation
/// at all, the common case for type names and literal IDs) or a shared
/// `Arc<str>`.
///
/// Equality, ordering and hashing are those of the text, whichever form holds it.
///
/// ```
/// use dispatchio_model::SharedStr;
/// let literal = SharedStr::from("dealer"); // no allocation
/// let built = SharedStr::from(format!("deal{}", "er")); // shared, cheap to clone
/// assert_eq!(literal, built);
/// let map = std::collections::HashMap::from([(built.clone(), 1)]);
/// assert_eq!(map.get("dealer"), Some(&1)); // looked up by `&str`
/// ```
#[derive(Clone)]
pub struct SharedStr(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Shared(Arc<str>),
}

impl SharedStr {
    /// A string borrowed for the whole program: no allocation.
    ///
    /// ```
    /// use dispatchio_model::SharedStr;
    /// const CARD: SharedStr = SharedStr::from_static("Card"); // usable in a `const`
    /// assert_eq!(CARD.as_str(), "Card");
    /// ```
    pub const fn from_static(s: &'static str) -> SharedStr {
        SharedStr(Repr::Static(s))
    }

    /// The text.
    ///
    /// ```
    /// use dispatchio_model::SharedStr;
    /// let name = SharedStr::from(String::from("dealer"));
    /// assert_eq!(name.as_str(), "dealer");
    /// assert_eq!(name.len(), 6); // and every `str` method, through `Deref`
    /// ```
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Shared(s) => s,
        }
    }
}

impl Deref for SharedStr {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SharedStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for SharedStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for SharedStr {
    fn eq(&self, other: &SharedStr) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for SharedStr {}

impl PartialOrd for SharedStr {
    fn partial_cmp(&self, other: &SharedStr) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SharedStr {
    fn cmp(&self, other: &SharedStr) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for SharedStr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Must agree with `str`'s hash because of `Borrow<str>`.
        self.as_str().hash(state)
    }
}

impl fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&'static str> for SharedStr {
    fn from(s: &'static str) -> SharedStr {
        SharedStr::from_static(s)
    }
}

impl From<String> for SharedStr {
    fn from(s: String) -> SharedStr {
        SharedStr(Repr::Shared(s.into()))
    }
}

impl From<Arc<str>> for SharedStr {
    fn from(s: Arc<str>) -> SharedStr {
        SharedStr(Repr::Shared(s))
    }
}

impl From<&String> for SharedStr {
    fn from(s: &String) -> SharedStr {
        SharedStr::from(s.clone())
    }
}

impl Serialize for SharedStr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SharedStr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SharedStr, D::Error> {
        String::deserialize(deserializer).map(SharedStr::from)
    }
}

/// A source, destination or group ID: an integer or a string.
///
/// `Id::from(7)` and `Id::from("dealer")` build one; a `&'static str` ID costs
/// no allocation. An integer and a string are never equal, even `7` and `"7"`.
///
/// ```
/// use dispatchio_model::Id;
/// assert_ne!(Id::from(7), Id::from("7"));
/// assert_eq!(Id::from("dealer").to_string(), r#""dealer""#); // quoted, so `"7"` and `7` differ
/// assert_eq!(Id::from(7).to_string(), "7");
/// assert_eq!(serde_json::to_string(&[Id::from(7), Id::from("bob")])?, r#"[7,"bob"]"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Id {
    /// An integer ID.
    Int(i64),
    /// A string ID.
    Str(SharedStr),
}

impl Id {
    /// The integer, if this is an integer ID.
    ///
    /// ```
    /// use dispatchio_model::Id;
    /// assert_eq!(Id::from(7).as_int(), Some(7));
    /// assert_eq!(Id::from("7").as_int(), None);
    /// ```
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Id::Int(i) => Some(*i),
            Id::Str(_) => None,
        }
    }

    /// The text, if this is a string ID.
    ///
    /// ```
    /// use dispatchio_model::Id;
    /// assert_eq!(Id::from("bob").as_str(), Some("bob"));
    /// assert_eq!(Id::from(7).as_str(), None);
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Id::Int(_) => None,
            Id::Str(s) => Some(s),
        }
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Int(i) => write!(f, "{i}"),
            Id::Str(s) => write!(f, "{:?}", s.as_str()),
        }
    }
}

impl fmt::Display for Id {
    /// Integers print as digits, strings as their quoted text (`"dealer"`), so
    /// `7` and `"7"` stay distinguishable in messages and traces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

macro_rules! id_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Id {
            fn from(i: $t) -> Id {
                Id::Int(i64::from(i))
            }
        }
    )*};
}
id_from_int!(i64, i32, i16, i8, u32, u16, u8);

impl From<&'static str> for Id {
    fn from(s: &'static str) -> Id {
        Id::Str(SharedStr::from_static(s))
    }
}

impl From<String> for Id {
    fn from(s: String) -> Id {
        Id::Str(s.into())
    }
}

impl From<&String> for Id {
    fn from(s: &String) -> Id {
        Id::Str(s.into())
    }
}

impl From<SharedStr> for Id {
    fn from(s: SharedStr) -> Id {
        Id::Str(s)
    }
}

impl From<&Id> for Id {
    fn from(id: &Id) -> Id {
        id.clone()
    }
}

/// The ID of one message, chosen by its sender or assigned by the dispatcher.
///
/// A reply carries the ID of the request it answers, and a deferred reply is
/// given by this ID (`Dispatcher::reply` in `dispatchio-core`).
/// Assigned IDs start at 1 and grow; 0 means "not assigned yet".
///
/// ```
/// use dispatchio_model::MessageId;
/// let id = MessageId::from(5);
/// assert_eq!(id.to_string(), "#5");
/// assert!(MessageId::default().is_unset());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(pub i64);

impl MessageId {
    /// "Not assigned yet": the dispatcher replaces it with a fresh ID on send.
    pub const UNSET: MessageId = MessageId(0);

    /// The ID as the routing language's `id` field sees it.
    ///
    /// ```
    /// use dispatchio_model::MessageId;
    /// assert_eq!(MessageId(5).get(), 5);
    /// ```
    pub fn get(self) -> i64 {
        self.0
    }

    /// Whether the dispatcher still has to assign an ID.
    ///
    /// ```
    /// use dispatchio_model::MessageId;
    /// assert!(MessageId::UNSET.is_unset());
    /// assert!(!MessageId(1).is_unset()); // assigned IDs start at 1
    /// ```
    pub fn is_unset(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl From<i64> for MessageId {
    fn from(i: i64) -> MessageId {
        MessageId(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn static_and_shared_strings_are_equal_and_hash_alike() {
        let mut m = HashMap::new();
        m.insert(Id::from("dealer"), 1);
        assert_eq!(m.get(&Id::from(String::from("dealer"))), Some(&1));
    }

    #[test]
    fn integer_and_string_ids_differ_even_with_same_text() {
        assert_ne!(Id::from(7), Id::from("7"));
        assert_eq!(Id::from(7).to_string(), "7");
        assert_eq!(Id::from("7").to_string(), "\"7\"");
    }

    #[test]
    fn ids_round_trip_through_serde() {
        let ids = vec![Id::from(3), Id::from("p-1")];
        let json = serde_json::to_string(&ids).unwrap();
        assert_eq!(json, r#"[3,"p-1"]"#);
        let back: Vec<Id> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ids);
    }
}

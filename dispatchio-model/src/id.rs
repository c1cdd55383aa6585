//! Identifiers: [`Id`] names sources, destinations and groups; [`MessageId`]
//! names one message (and the reply to it); [`SharedStr`] is the cheap string
//! both use.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smol_str::SmolStr;

/// An immutable string that is cheap to clone and cheap to make from any
/// `&str`: up to 23 bytes it is held inline (no allocation, a copy of the
/// bytes), a `&'static str` given to [`SharedStr::from_static`] is borrowed
/// (no copy at all, whatever its length), anything else is one shared
/// `Arc<str>` (a clone is a count).
///
/// Equality, ordering and hashing are those of the text, whichever form holds it.
///
/// ```
/// use dispatchio_model::SharedStr;
///
/// let name = String::from("dealer");
/// let borrowed = SharedStr::from(name.as_str()); // any &str, here a borrowed one
/// assert_eq!(borrowed, SharedStr::from_static("dealer"));
/// assert_eq!(&*borrowed, "dealer");
/// ```
// smol_str's `SmolStr` is exactly this representation (rust-analyzer's,
// well kept), so it is not written again here; the newtype keeps it out of
// the public API, with its serde impls ours.
#[derive(Clone)]
pub struct SharedStr(SmolStr);

impl SharedStr {
    /// A string borrowed for the whole program: no allocation and no copy.
    ///
    /// ```
    /// use dispatchio_model::SharedStr;
    ///
    /// const DEALER: SharedStr = SharedStr::from_static("the-dealer-of-the-evening-game");
    /// assert_eq!(DEALER.as_str(), "the-dealer-of-the-evening-game");
    /// ```
    pub const fn from_static(s: &'static str) -> SharedStr {
        SharedStr(SmolStr::new_static(s))
    }

    /// The text.
    ///
    /// ```
    /// use dispatchio_model::SharedStr;
    ///
    /// assert_eq!(SharedStr::from(String::from("bob")).as_str(), "bob");
    /// ```
    pub fn as_str(&self) -> &str {
        self.0.as_str()
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

impl From<&str> for SharedStr {
    /// Inline when it fits (23 bytes), else one allocation.
    fn from(s: &str) -> SharedStr {
        SharedStr(SmolStr::new(s))
    }
}

impl From<String> for SharedStr {
    /// Inline when it fits (the `String`'s buffer is freed), else its
    /// text moved into one `Arc<str>`.
    fn from(s: String) -> SharedStr {
        SharedStr(SmolStr::from(s))
    }
}

impl From<Arc<str>> for SharedStr {
    fn from(s: Arc<str>) -> SharedStr {
        SharedStr(SmolStr::from(s))
    }
}

impl From<&String> for SharedStr {
    fn from(s: &String) -> SharedStr {
        SharedStr::from(s.as_str())
    }
}

impl Serialize for SharedStr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SharedStr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SharedStr, D::Error> {
        // Through a visitor rather than `String`, so that a short string read
        // from a frame is copied inline, never allocated on the way.
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = SharedStr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<SharedStr, E> {
                Ok(SharedStr::from(s))
            }
            fn visit_string<E: serde::de::Error>(self, s: String) -> Result<SharedStr, E> {
                Ok(SharedStr::from(s))
            }
        }
        deserializer.deserialize_str(Text)
    }
}

/// A source, destination or group ID: an integer or a string.
///
/// `Id::from(7)` and `Id::from("dealer")` build one, from any `&str` (a
/// literal or a borrowed one) or a `String`; a string of up to 23 bytes is
/// held inline, with no allocation ([`SharedStr`]; [`Id::from_static`] for a
/// longer literal). An integer and a string are never equal, even `7` and `"7"`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Id {
    /// An integer ID.
    Int(i64),
    /// A string ID.
    Str(SharedStr),
}

impl Id {
    /// A string ID borrowed for the whole program: no allocation and no
    /// copy, whatever its length (`Id::from` copies up to 23 bytes and
    /// allocates past that).
    ///
    /// ```
    /// use dispatchio_model::Id;
    ///
    /// const REFEREE: Id = Id::from_static("the-referee-of-the-evening-game");
    /// assert_eq!(REFEREE, Id::from("the-referee-of-the-evening-game"));
    /// ```
    pub const fn from_static(s: &'static str) -> Id {
        Id::Str(SharedStr::from_static(s))
    }

    /// The integer, if this is an integer ID.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Id::Int(i) => Some(*i),
            Id::Str(_) => None,
        }
    }

    /// The text, if this is a string ID.
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

/// A string ID equals its text: `source == "dealer"`; an integer ID equals
/// no text (`Id::from(7) != "7"`, as `Id`s compare).
///
/// ```
/// use dispatchio_model::Id;
///
/// let dealer = Id::from("dealer");
/// assert!(dealer == "dealer" && dealer != "bob");
/// assert!(Id::from(7) != "7");
/// ```
impl PartialEq<str> for Id {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

/// As `PartialEq<str>`, for a `&str` on the right (`id == "dealer"`).
impl PartialEq<&str> for Id {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
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

impl From<&str> for Id {
    fn from(s: &str) -> Id {
        Id::Str(SharedStr::from(s))
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
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(pub i64);

impl MessageId {
    /// "Not assigned yet": the dispatcher replaces it with a fresh ID on send.
    pub const UNSET: MessageId = MessageId(0);

    /// The ID as the routing language's `id` field sees it.
    pub fn get(self) -> i64 {
        self.0
    }

    /// Whether the dispatcher still has to assign an ID.
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
    fn an_id_is_made_from_a_borrowed_str_of_any_length() {
        let short = String::from("player-3");
        let long = "a-player-whose-name-is-longer-than-inline".repeat(2);
        assert_eq!(Id::from(short.as_str()), Id::from("player-3"));
        assert_eq!(Id::from(long.as_str()).as_str(), Some(long.as_str()));
        assert_eq!(Id::from(long.as_str()), Id::from(long.clone()));
    }

    #[test]
    fn an_id_is_no_bigger_than_a_string() {
        // Every envelope holds three IDs: inline text must not grow them.
        assert_eq!(std::mem::size_of::<Id>(), std::mem::size_of::<String>());
        assert_eq!(std::mem::size_of::<Option<Id>>(), std::mem::size_of::<String>());
    }

    #[test]
    fn string_ids_read_from_a_frame_keep_their_text() {
        for text in ["", "bob", "exactly-twenty-three-by", "twenty-four-bytes-long-x", "é✓"] {
            let id = Id::from(text);
            let bytes = rmp_serde::to_vec(&id).unwrap();
            assert_eq!(rmp_serde::from_slice::<Id>(&bytes).unwrap(), id);
        }
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

//! Message content: typed inside a process, serialised only at its edge.
//!
//! A message holds its content as a [`ContentRef`] (`Arc<dyn Content>`): every
//! listener of a group message shares the one value, nothing is copied or
//! serialised within a process, and a handler gets its concrete Rust type back
//! with a cheap [`downcast_ref`](trait.Content.html#method.downcast_ref).
//!
//! * A Rust type becomes content by implementing [`ContentType`] (a type name)
//!   and [`Fields`] (field access for routing conditions; the default reports
//!   no fields). It must be `Serialize`; the blanket `impl Content for T`
//!   then encodes it with MessagePack (named fields, self-describing).
//! * [`DynContent`] is content of a type this process does not know: a type
//!   name and a [`DynValue`].
//! * [`ContentRegistry`] maps type names to decoders on the receiving side of
//!   a process boundary; unknown names decode to [`DynContent`].

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::hash::IdHasher;
use crate::id::SharedStr;
use crate::value::{DynValue, Fields, Value};

/// Content shared between every holder of a message.
///
/// ```
/// use std::sync::Arc;
/// use dispatchio_core::{ContentRef, Message, Text};
/// let content: ContentRef = Arc::new(Text::from("hi"));
/// let (a, b) = (Message::from_shared(content.clone()), Message::from_shared(content.clone()));
/// assert!(Arc::ptr_eq(a.content(), b.content())); // one value, shared
/// ```
pub type ContentRef = Arc<dyn Content>;

/// The content of a message, as the runtime sees it.
///
/// Implemented for every [`ContentType`] by a blanket impl, and by
/// [`DynContent`]; implement it by hand only for content that is not
/// `Serialize` (it then cannot cross a process boundary).
///
/// A type becomes content through [`ContentType`] and [`Fields`]:
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::{Content, ContentType, Fields, Message, Value};
/// #[derive(Debug, serde::Serialize)]
/// struct Card { rank: i64 }
/// impl ContentType for Card {
///     const TYPE_NAME: &'static str = "Card";
/// }
/// impl Fields for Card {
///     fn field(&self, name: &str) -> Option<Value<'_>> {
///         (name == "rank").then_some(Value::Int(self.rank))
///     }
/// }
/// let card = Card { rank: 7 };
/// assert_eq!(card.type_name(), "Card"); // through the blanket `impl Content`
/// assert!(!card.encode()?.is_empty()); // MessagePack, for another process
/// let m = Message::new(Card { rank: 7 });
/// assert!(m.content().at(&["rank"]) == Some(Value::Int(7))); // what conditions read
/// # Ok(()) }
/// ```
pub trait Content: Fields + Any + fmt::Debug + Send + Sync {
    /// The message type name this content belongs to (`"Card"`).
    ///
    /// ```
    /// use dispatchio_core::{Content, DynContent, DynValue, Empty};
    /// assert_eq!(Empty.type_name(), "Empty");
    /// assert_eq!(DynContent::new("Card".to_owned(), DynValue::Int(7)).type_name(), "Card");
    /// ```
    fn type_name(&self) -> &str;

    /// The content serialised for another process (MessagePack with named
    /// fields for [`ContentType`]s).
    ///
    /// # Errors
    ///
    /// [`EncodeError`] when the value cannot be serialised, or the type does
    /// not support crossing a process boundary at all.
    ///
    /// # Examples
    ///
    /// ```
    /// use dispatchio_core::{Content, ContentRegistry, Text};
    /// let bytes = Text::from("hi").encode().unwrap();
    /// let mut registry = ContentRegistry::new();
    /// registry.register::<Text>();
    /// assert_eq!(registry.decode("Text", &bytes).unwrap().downcast_ref(), Some(&Text::from("hi")));
    /// ```
    fn encode(&self) -> Result<Vec<u8>, EncodeError>;

    /// [`encode`](Self::encode), appending to `out` instead of allocating a
    /// new buffer (what a link does for every message it sends). On error,
    /// `out` may hold a partial encoding.
    ///
    /// # Errors
    ///
    /// As [`encode`](Self::encode).
    ///
    /// # Examples
    ///
    /// ```
    /// use dispatchio_core::{Content, Text};
    /// let mut out = b"header".to_vec();
    /// Text::from("hi").encode_into(&mut out).unwrap();
    /// assert_eq!(&out[6..], Text::from("hi").encode().unwrap()); // appended
    /// ```
    fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.encode()?);
        Ok(())
    }

    /// `self` as `Any`, for downcasting (trait upcasting needs Rust 1.86).
    ///
    /// ```
    /// use dispatchio_core::{Content, Text};
    /// let text = Text::from("hi");
    /// assert!(text.as_any().downcast_ref::<Text>().is_some());
    /// ```
    fn as_any(&self) -> &dyn Any;

    /// The type name when it lives for the whole program (every
    /// [`ContentType`]): lets a message take its type from its content
    /// without allocating.
    ///
    /// ```
    /// use dispatchio_core::{Content, DynContent, DynValue, Text};
    /// assert_eq!(Text::from("hi").static_type_name(), Some("Text"));
    /// assert_eq!(DynContent::new("Card".to_owned(), DynValue::Int(7)).static_type_name(), None);
    /// ```
    fn static_type_name(&self) -> Option<&'static str> {
        None
    }
}

impl dyn Content {
    /// The type name as a [`SharedStr`], without allocating when it is static.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use dispatchio_core::{ContentRef, DynContent, Text};
    /// let text: ContentRef = Arc::new(Text::from("hi"));
    /// assert_eq!(text.shared_type_name().as_str(), "Text");
    /// let unknown: ContentRef = Arc::new(DynContent::new("Card".to_owned(), 7i64.into()));
    /// assert_eq!(unknown.shared_type_name().as_str(), "Card");
    /// ```
    pub fn shared_type_name(&self) -> SharedStr {
        match self.static_type_name() {
            Some(name) => SharedStr::from_static(name),
            None => SharedStr::from(self.type_name().to_owned()),
        }
    }
}

impl dyn Content {
    /// The content as its concrete type `T`, if it is one.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use dispatchio_core::{ContentRef, Empty, Text};
    /// let content: ContentRef = Arc::new(Text::from("hi"));
    /// assert_eq!(content.downcast_ref::<Text>(), Some(&Text::from("hi")));
    /// assert_eq!(content.downcast_ref::<Empty>(), None);
    /// ```
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.as_any().downcast_ref()
    }

    /// Whether the content is of concrete type `T`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use dispatchio_core::{ContentRef, Empty, Text};
    /// let content: ContentRef = Arc::new(Empty);
    /// assert!(content.is::<Empty>() && !content.is::<Text>());
    /// ```
    pub fn is<T: Any>(&self) -> bool {
        self.as_any().is::<T>()
    }

    /// The value at a path of field names (`["pos", "x"]`), or `None` when any
    /// step is absent or not a record.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use dispatchio_core::{ContentRef, Text, Value};
    /// let content: ContentRef = Arc::new(Text::from("hi"));
    /// assert!(content.at(&["text"]) == Some(Value::Str("hi")));
    /// assert!(content.at(&["nope"]).is_none());
    /// assert!(content.at(&["text", "deeper"]).is_none()); // a string is not a record
    /// ```
    pub fn at<S: AsRef<str>>(&self, path: &[S]) -> Option<Value<'_>> {
        dispatchio_model::at(self, path)
    }
}

pub use dispatchio_model::ContentType;

impl<T: ContentType> Content for T {
    fn type_name(&self) -> &str {
        T::TYPE_NAME
    }

    fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        rmp_serde::to_vec_named(self)
            .map_err(|e| EncodeError { type_name: T::TYPE_NAME.into(), reason: e.to_string() })
    }

    fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        rmp_serde::encode::write_named(out, self)
            .map_err(|e| EncodeError { type_name: T::TYPE_NAME.into(), reason: e.to_string() })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn static_type_name(&self) -> Option<&'static str> {
        Some(T::TYPE_NAME)
    }
}

/// Content of a type this process does not know: its name and its data.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::collections::BTreeMap;
/// use dispatchio_core::{ContentRegistry, DynContent, DynValue, Message, Value};
/// let card = DynValue::Record(BTreeMap::from([("rank".to_owned(), DynValue::Int(7))]));
/// let content = DynContent::new("Card", card);
/// let m = Message::from_shared(std::sync::Arc::new(content.clone()));
/// assert_eq!(m.ty(), "Card");
/// assert!(m.content().at(&["rank"]) == Some(Value::Int(7))); // routable without a Rust type
/// // What a process that does not know "Card" decodes it to:
/// let decoded = ContentRegistry::new().decode("Card", &m.content().encode()?)?;
/// assert_eq!(decoded.downcast_ref::<DynContent>(), Some(&content));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct DynContent {
    /// The message type name.
    pub type_name: SharedStr,
    /// The data, usually a [`DynValue::Record`].
    pub value: DynValue,
}

impl DynContent {
    /// Content of type `type_name` holding `value`.
    ///
    /// ```
    /// use dispatchio_core::{Content, DynContent, DynValue};
    /// let c = DynContent::new("Score", DynValue::Int(3));
    /// assert_eq!(c.type_name(), "Score");
    /// assert_eq!(c.value, DynValue::Int(3));
    /// ```
    pub fn new(type_name: impl Into<SharedStr>, value: DynValue) -> DynContent {
        DynContent { type_name: type_name.into(), value }
    }
}

impl Fields for DynContent {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        self.value.field(name)
    }

    fn field_names(&self) -> Vec<String> {
        self.value.field_names()
    }
}

impl Content for DynContent {
    fn type_name(&self) -> &str {
        &self.type_name
    }

    fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        rmp_serde::to_vec_named(&self.value).map_err(|e| EncodeError {
            type_name: self.type_name.to_string(),
            reason: e.to_string(),
        })
    }

    fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        rmp_serde::encode::write_named(out, &self.value).map_err(|e| EncodeError {
            type_name: self.type_name.to_string(),
            reason: e.to_string(),
        })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// No content: the payload of acknowledgements and of signals that carry
/// nothing but their type.
///
/// ```
/// # type Inbox = dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>;
/// # fn inbox() -> std::sync::Arc<Inbox> {
/// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
/// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::{Dispatcher, Empty, Message};
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("player", inbox())?; // it queues what it gets
/// let ack = dispatcher.request(Message::new(Empty).with_type("Ping").to("player"), None).await?;
/// assert_eq!(ack.ty(), "Empty"); // a queued request is acknowledged with `Empty`
/// assert!(ack.content_as::<Empty>().is_some());
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Empty;

impl ContentType for Empty {
    const TYPE_NAME: &'static str = "Empty";
}

impl Fields for Empty {}

/// A plain string as content, type name `"Text"`; its only field is `text`.
///
/// ```
/// use dispatchio_core::{Fields, Message, Text, Value};
/// let text = Text::from("hi");
/// assert!(text.field("text") == Some(Value::Str("hi")));
/// assert_eq!(text.field_names(), ["text"]);
/// assert_eq!(Message::new(text).ty(), "Text");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Text(pub String);

impl ContentType for Text {
    const TYPE_NAME: &'static str = "Text";
}

impl Fields for Text {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        (name == "text").then_some(Value::Str(&self.0))
    }

    fn field_names(&self) -> Vec<String> {
        vec!["text".to_owned()]
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(s.to_owned())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(s)
    }
}

/// Content that could not be serialised.
///
/// ```
/// use std::any::Any;
/// use dispatchio_core::{Content, EncodeError, Fields};
/// #[derive(Debug)]
/// struct Local; // not `Serialize`: content that stays in this process
/// impl Fields for Local {}
/// impl Content for Local {
///     fn type_name(&self) -> &str { "Local" }
///     fn encode(&self) -> Result<Vec<u8>, EncodeError> {
///         Err(EncodeError { type_name: "Local".into(), reason: "in-process only".into() })
///     }
///     fn as_any(&self) -> &dyn Any { self }
/// }
/// let err = Local.encode().unwrap_err();
/// assert_eq!(err.to_string(), "cannot encode content of type Local: in-process only");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode content of type {type_name}: {reason}")]
pub struct EncodeError {
    /// The content's type name.
    pub type_name: String,
    /// What went wrong.
    pub reason: String,
}

/// Bytes that could not be decoded into content.
///
/// ```
/// use dispatchio_core::{ContentRegistry, Text};
/// let mut registry = ContentRegistry::new();
/// registry.register::<Text>();
/// let err = registry.decode("Text", &[0xc1]).unwrap_err(); // 0xc1: never valid MessagePack
/// assert_eq!(err.type_name, "Text");
/// assert!(err.to_string().starts_with("cannot decode content of type Text: "));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode content of type {type_name}: {reason}")]
pub struct DecodeError {
    /// The type name the bytes claimed.
    pub type_name: String,
    /// What went wrong.
    pub reason: String,
}

type Decoder = fn(&[u8]) -> Result<ContentRef, DecodeError>;

/// Type name → decoder, for the receiving side of a process boundary.
///
/// Types not registered decode to [`DynContent`], so a process can route and
/// forward content it has no Rust type for.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::{ContentRegistry, DynContent, Message, Text};
/// let sent = Message::new(Text::from("hi"));
/// let bytes = sent.content().encode()?;
/// let mut registry = ContentRegistry::new();
/// assert!(registry.decode("Text", &bytes)?.is::<DynContent>()); // not registered yet
/// registry.register::<Text>();
/// assert_eq!(registry.decode("Text", &bytes)?.downcast_ref::<Text>(), Some(&Text::from("hi")));
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct ContentRegistry {
    // Looked up once per message received; a fast hash for short names.
    decoders: HashMap<SharedStr, Decoder, BuildHasherDefault<IdHasher>>,
}

impl ContentRegistry {
    /// An empty registry (every type decodes to [`DynContent`]).
    ///
    /// ```
    /// use dispatchio_core::ContentRegistry;
    /// let registry = ContentRegistry::new();
    /// assert!(!registry.knows("Text"));
    /// ```
    pub fn new() -> ContentRegistry {
        ContentRegistry::default()
    }

    /// Decode `T::TYPE_NAME` content into `T`. Registering a name again
    /// replaces its decoder.
    ///
    /// ```
    /// use dispatchio_core::{ContentRegistry, Empty, Text};
    /// let mut registry = ContentRegistry::new();
    /// registry.register::<Text>().register::<Empty>(); // chains
    /// assert!(registry.knows("Text") && registry.knows("Empty"));
    /// ```
    pub fn register<T: ContentType + DeserializeOwned>(&mut self) -> &mut ContentRegistry {
        fn decode<T: ContentType + DeserializeOwned>(
            bytes: &[u8],
        ) -> Result<ContentRef, DecodeError> {
            rmp_serde::from_slice::<T>(bytes)
                .map(|v| Arc::new(v) as ContentRef)
                .map_err(|e| DecodeError { type_name: T::TYPE_NAME.into(), reason: e.to_string() })
        }
        self.decoders.insert(SharedStr::from_static(T::TYPE_NAME), decode::<T>);
        self
    }

    /// Whether `type_name` has a registered decoder.
    ///
    /// ```
    /// use dispatchio_core::{ContentRegistry, Text};
    /// let mut registry = ContentRegistry::new();
    /// registry.register::<Text>();
    /// assert!(registry.knows("Text"));
    /// assert!(!registry.knows("Card"));
    /// ```
    pub fn knows(&self, type_name: &str) -> bool {
        self.decoders.contains_key(type_name)
    }

    /// Decodes content of type `type_name` from `bytes` produced by
    /// [`Content::encode`].
    ///
    /// # Errors
    ///
    /// [`DecodeError`] when the bytes do not hold a value of that type.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{ContentRegistry, Message, Text};
    /// let mut registry = ContentRegistry::new();
    /// registry.register::<Text>();
    /// let bytes = Message::new(Text::from("hi")).content().encode()?;
    /// let content = registry.decode("Text", &bytes)?;
    /// assert_eq!(content.downcast_ref::<Text>(), Some(&Text::from("hi")));
    /// assert!(registry.decode("Text", b"\xc1").is_err()); // not a `Text`
    /// # Ok(()) }
    /// ```
    pub fn decode(&self, type_name: &str, bytes: &[u8]) -> Result<ContentRef, DecodeError> {
        match self.decoders.get(type_name) {
            Some(decode) => decode(bytes),
            None => rmp_serde::from_slice::<DynValue>(bytes)
                .map(|value| Arc::new(DynContent::new(type_name.to_owned(), value)) as ContentRef)
                .map_err(|e| DecodeError {
                    type_name: type_name.to_owned(),
                    reason: e.to_string(),
                }),
        }
    }
}

impl fmt::Debug for ContentRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.decoders.keys().map(|k| k.as_str()).collect();
        names.sort_unstable();
        f.debug_struct("ContentRegistry").field("types", &names).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::AsValue;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Card {
        card: i64,
        suit: Option<String>,
    }

    impl ContentType for Card {
        const TYPE_NAME: &'static str = "Card";
    }

    impl Fields for Card {
        fn field(&self, name: &str) -> Option<Value<'_>> {
            match name {
                "card" => self.card.as_value(),
                "suit" => self.suit.as_value(),
                _ => None,
            }
        }
    }

    #[derive(Debug, Serialize)]
    struct Hand {
        top: Card,
        cards: Vec<Card>,
    }

    impl ContentType for Hand {
        const TYPE_NAME: &'static str = "Hand";
    }

    impl Fields for Hand {
        fn field(&self, name: &str) -> Option<Value<'_>> {
            match name {
                "top" => self.top.as_value(),
                "cards" => self.cards.as_value(),
                _ => None,
            }
        }
    }

    #[test]
    fn nested_message_types_are_reached_by_path() {
        let hand: ContentRef = Arc::new(Hand {
            top: Card { card: 1, suit: Some("clubs".into()) },
            cards: vec![Card { card: 2, suit: None }],
        });
        assert_eq!(hand.at(&["top", "suit"]), Some(Value::Str("clubs")));
        assert_eq!(hand.at(&["top", "card"]), Some(Value::Int(1)));
        let Some(Value::List(cards)) = hand.at(&["cards"]) else { panic!("a list") };
        assert_eq!(cards.len(), 1);
        assert_eq!(cards.item(0).and_then(|c| c.field("card")), Some(Value::Int(2)));
    }

    #[test]
    fn typed_content_downcasts_without_copying() {
        let c: ContentRef = Arc::new(Card { card: 3, suit: None });
        let shared = c.clone();
        let a = c.downcast_ref::<Card>().unwrap();
        let b = shared.downcast_ref::<Card>().unwrap();
        assert!(std::ptr::eq(a, b));
        assert!(c.downcast_ref::<Empty>().is_none());
        assert_eq!(c.type_name(), "Card");
    }

    #[test]
    fn registered_types_decode_to_their_rust_type() {
        let mut reg = ContentRegistry::new();
        reg.register::<Card>();
        let bytes = Card { card: 9, suit: Some("spades".into()) }.encode().unwrap();
        let c = reg.decode("Card", &bytes).unwrap();
        assert_eq!(c.downcast_ref::<Card>(), Some(&Card { card: 9, suit: Some("spades".into()) }));
    }

    #[test]
    fn unknown_types_decode_to_dynamic_content_with_readable_fields() {
        let bytes = Card { card: 9, suit: Some("spades".into()) }.encode().unwrap();
        let c = ContentRegistry::new().decode("Card", &bytes).unwrap();
        assert!(c.is::<DynContent>());
        assert_eq!(c.type_name(), "Card");
        assert_eq!(c.at(&["card"]), Some(Value::Int(9)));
        assert_eq!(c.at(&["suit"]), Some(Value::Str("spades")));
        assert_eq!(c.at(&["card", "x"]), None);
    }

    #[test]
    fn malformed_bytes_are_a_decode_error_naming_the_type() {
        let mut reg = ContentRegistry::new();
        reg.register::<Card>();
        let err = reg.decode("Card", &[0xc1]).unwrap_err();
        assert_eq!(err.type_name, "Card");
    }
}

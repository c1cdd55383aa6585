//! The frames after the handshake: what dispatchers say ([`Payload`]:
//! messages, replies, announcements) and the link's own (keep-alive,
//! goodbye).

#[cfg(test)]
use super::MAX_FRAME_DEPTH;
use super::{MAX_CONTENT_DEPTH, WireError, WireId, decode_exact};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// What a dispatcher hands to, and receives from, a link.
///
/// ```
/// use dispatchio_net::{Announcement, Payload, ReplyResult, WireId, WireMessage, WireReply};
/// let describe = |p: &Payload| match p {
///     Payload::Message(m) => format!("message #{}", m.id),
///     Payload::Reply(r) => format!("reply to #{}", r.to),
///     Payload::Announce(a) => format!("{} announcements", a.len()),
/// };
/// assert_eq!(describe(&Payload::Message(WireMessage::new(3, "Tick", None))), "message #3");
/// assert_eq!(describe(&Payload::Reply(WireReply { to: 3, result: ReplyResult::Ok(None) })), "reply to #3");
/// assert_eq!(describe(&Payload::Announce(vec![Announcement::Serve(WireId::from(1))])), "1 announcements");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// A message for a destination or group served by the receiving side.
    Message(WireMessage),
    /// The answer to a request received earlier on the same link.
    Reply(WireReply),
    /// Changes to the destination IDs and groups the sending side serves.
    Announce(Vec<Announcement>),
}

/// A change to what a dispatcher serves, announced to its peers.
///
/// ```
/// use dispatchio_net::{Announcement, WireId};
/// // What a dispatcher tells its peers after registering "bob" and subscribing it to "All".
/// let changes = [Announcement::Serve(WireId::from("bob")), Announcement::Subscribe(WireId::from("All"))];
/// assert!(matches!(&changes[0], Announcement::Serve(WireId::Str(id)) if id == "bob"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Announcement {
    /// The sender now serves this destination ID.
    Serve(WireId),
    /// The sender no longer serves this destination ID.
    Withdraw(WireId),
    /// The sender now has a subscriber to this group ID.
    Subscribe(WireId),
    /// The sender no longer has any subscriber to this group ID.
    Unsubscribe(WireId),
}

/// A message envelope with every field of the core message, plus content.
///
/// ```
/// use dispatchio_net::{WireContent, WireId, WireMessage};
/// let request = WireMessage {
///     source: Some(WireId::from("ann")),
///     dest: Some(WireId::from("echo")),
///     response_required: true,
///     ..WireMessage::new(7, "Text", Some(WireContent::encode("Text", "hi")?))
/// };
/// assert_eq!(request.content.as_ref().map(|c| c.decode::<String>()).transpose()?, Some("hi".to_owned()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireMessage {
    /// The human-readable message type name.
    pub type_name: String,
    /// The message ID; a [`WireReply`] refers to it.
    pub id: u64,
    /// The source ID.
    pub source: Option<WireId>,
    /// The destination ID.
    pub dest: Option<WireId>,
    /// The group ID.
    pub group: Option<WireId>,
    /// Whether the sender waits for a [`WireReply`].
    pub response_required: bool,
    /// Whether this message is itself a response.
    pub is_response: bool,
    /// Whether the sender asked for synchronous handling.
    pub sync: bool,
    /// Whether later messages to the destination wait behind this one.
    pub blocking: bool,
    /// The sender's sequence number, increasing per sender, so that the
    /// receiver can check per-sender order.
    pub seq: u64,
    /// The content, if any.
    pub content: Option<WireContent>,
}

impl WireMessage {
    /// A one-way message of type `type_name` with message ID `id` (also its
    /// sequence number), addressed to nobody yet and with no flag set: the
    /// other fields are public, for struct update syntax.
    ///
    /// ```
    /// use dispatchio_net::{WireId, WireMessage};
    /// let request = WireMessage {
    ///     dest: Some(WireId::from("echo")),
    ///     response_required: true,
    ///     ..WireMessage::new(1, "Tick", None)
    /// };
    /// assert_eq!((request.id, request.seq), (1, 1));
    /// ```
    pub fn new(id: u64, type_name: impl Into<String>, content: Option<WireContent>) -> WireMessage {
        WireMessage {
            type_name: type_name.into(),
            id,
            source: None,
            dest: None,
            group: None,
            response_required: false,
            is_response: false,
            sync: false,
            blocking: false,
            seq: id,
            content,
        }
    }
}

/// Message content: the MessagePack encoding of a value, and its type name.
///
/// ```
/// use std::collections::BTreeMap;
/// use dispatchio_net::WireContent;
/// #[derive(serde::Serialize)]
/// struct Card {
///     card: i64,
/// }
/// let content = WireContent::encode("Card", &Card { card: 7 })?;
/// // Written with its field names: a process without a `Card` type still reads it.
/// let fields: BTreeMap<String, i64> = content.decode()?;
/// assert_eq!(fields["card"], 7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireContent {
    /// The content's type name, by which the receiver picks the Rust type to
    /// decode into.
    pub type_name: String,
    /// The value's own MessagePack encoding (with field names).
    pub bytes: Bytes,
}

impl WireContent {
    /// Encodes `value` as content of type `type_name`. Structs are written
    /// with their field names so that a receiver that does not know the type
    /// can still read fields dynamically.
    ///
    /// # Errors
    /// [`WireError::Encode`] if `value`'s `Serialize` implementation fails.
    ///
    /// ```
    /// use dispatchio_net::WireContent;
    /// let content = WireContent::encode("Hand", &vec![7, 12])?;
    /// assert_eq!(content.type_name, "Hand");
    /// assert_eq!(content.decode::<Vec<i64>>()?, [7, 12]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn encode<T: Serialize + ?Sized>(
        type_name: impl Into<String>,
        value: &T,
    ) -> Result<Self, WireError> {
        let bytes = rmp_serde::to_vec_named(value)
            .map_err(|e| WireError::Encode { what: "content", source: Box::new(e) })?;
        Ok(WireContent { type_name: type_name.into(), bytes: Bytes::from(bytes) })
    }

    /// Decodes the content into `T`: the Rust type named by
    /// [`type_name`](Self::type_name), or any dynamic value type that
    /// implements `Deserialize` (such as `serde_json::Value`).
    ///
    /// # Errors
    /// [`WireError::Decode`] if the bytes are not a valid `T`.
    ///
    /// ```
    /// use dispatchio_net::WireContent;
    /// let content = WireContent::encode("Text", "hi")?;
    /// assert_eq!(content.decode::<String>()?, "hi");
    /// assert!(content.decode::<i64>().is_err()); // not what the bytes hold
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, WireError> {
        decode_exact(&self.bytes, "content", MAX_CONTENT_DEPTH)
    }
}

/// The answer to a request.
///
/// Replies are matched by [`to`](Self::to) alone, so request IDs must be
/// unique per link while they are outstanding (the dispatcher assigns them).
///
/// ```
/// use dispatchio_net::{RemoteError, RemoteErrorKind, ReplyResult, WireContent, WireReply};
/// let ok = WireReply { to: 7, result: ReplyResult::Ok(Some(WireContent::encode("Text", "pong")?)) };
/// let failed = WireReply {
///     to: 8,
///     result: ReplyResult::Err(RemoteError { kind: RemoteErrorKind::Timeout, text: "timeout\nno answer".into() }),
/// };
/// assert!(matches!((&ok.result, &failed.result), (ReplyResult::Ok(Some(_)), ReplyResult::Err(_))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireReply {
    /// The [`WireMessage::id`] of the request answered.
    pub to: u64,
    /// The handler's result.
    pub result: ReplyResult,
}

/// A handler's result as carried by a [`WireReply`].
///
/// ```
/// use dispatchio_core::{Error, Id};
/// use dispatchio_net::{RemoteErrorKind, ReplyResult};
/// use dispatchio_net::envelope::reply_result;
/// let refused = reply_result(&Err(Error::UnknownDestination(Id::from("bob"))));
/// assert!(matches!(refused, ReplyResult::Err(e) if e.kind == RemoteErrorKind::NoRoute));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ReplyResult {
    /// Success, with optional content.
    Ok(Option<WireContent>),
    /// Failure on the answering side.
    Err(RemoteError),
}

/// An error that happened on the remote side and travels back to the sender.
///
/// ```
/// use dispatchio_core::Error;
/// use dispatchio_net::RemoteErrorKind;
/// use dispatchio_net::envelope::error_to_remote;
/// let remote = error_to_remote(&Error::Shutdown);
/// assert_eq!(remote.kind, RemoteErrorKind::Shutdown);
/// assert!(remote.text.starts_with("shutdown\n")); // a tag, then the error as the answering side said it
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteError {
    /// What kind of failure.
    pub kind: RemoteErrorKind,
    /// The error's message, as the remote side rendered it.
    pub text: String,
}

/// Kinds of [`RemoteError`]. The core maps its own error kinds to these.
///
/// ```
/// use std::time::Duration;
/// use dispatchio_core::{Error, MessageId};
/// use dispatchio_net::RemoteErrorKind;
/// use dispatchio_net::envelope::error_to_remote;
/// let timed_out = Error::Timeout { id: MessageId(7), after: Duration::from_secs(1) };
/// assert_eq!(error_to_remote(&timed_out).kind, RemoteErrorKind::Timeout);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RemoteErrorKind {
    /// No listener serves the destination or group.
    NoRoute,
    /// The handler returned an error.
    Handler,
    /// The handler did not answer in time.
    Timeout,
    /// The request cannot be served that way (for example a synchronous send
    /// to a remote listener).
    Unsupported,
    /// A peer further along was lost.
    PeerLost,
    /// The remote dispatcher is shutting down.
    Shutdown,
    /// Anything else.
    Other,
}

/// A frame after the handshake. `Payload` frames are the dispatcher's; the
/// rest are the link's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Frame {
    Message(WireMessage),
    Reply(WireReply),
    Announce(Vec<Announcement>),
    /// Keep-alive probe; answered with `Pong` carrying the same number.
    Ping(u64),
    Pong(u64),
    /// The sender closes the connection on purpose; the text says why.
    Goodbye(String),
}

impl From<Payload> for Frame {
    fn from(p: Payload) -> Self {
        match p {
            Payload::Message(m) => Frame::Message(m),
            Payload::Reply(r) => Frame::Reply(r),
            Payload::Announce(a) => Frame::Announce(a),
        }
    }
}

pub(crate) fn encode_frame(f: &Frame) -> Result<Bytes, WireError> {
    rmp_serde::to_vec(f)
        .map(Bytes::from)
        .map_err(|e| WireError::Encode { what: "frame", source: Box::new(e) })
}

#[cfg(test)]
pub(crate) fn decode_frame(bytes: &[u8]) -> Result<Frame, WireError> {
    decode_exact(bytes, "frame", MAX_FRAME_DEPTH)
}

//! The wire format: what one dispatcher says to another, frame by frame.
//!
//! # Format
//!
//! Every frame is a 4-byte big-endian length followed by that many bytes of
//! MessagePack (tokio-util's [`LengthDelimitedCodec`], see [`codec`]). The
//! length is checked against a configurable maximum
//! ([`DEFAULT_MAX_FRAME_LEN`], 8 MiB) before any byte of the body is buffered,
//! so a hostile length prefix cannot make us allocate.
//!
//! # Why MessagePack
//!
//! * **Compact**: a binary encoding with no field names in the envelope
//!   (structs after the handshake are written as arrays), small integers in
//!   one byte; an envelope is a few dozen bytes.
//! * **Self-describing**: every value carries its type tag, so content of a
//!   type the receiver does not know can still be decoded into a dynamic
//!   value (maps with field names, strings, numbers) for the interpreter and
//!   `content.…` conditions. Content is therefore written with field names
//!   ([`WireContent::encode`]). Bincode and postcard are more compact but not
//!   self-describing; JSON is self-describing but larger and slower, and has
//!   no byte strings; CBOR would serve as well, with a less mature serde crate.
//! * **Serde-native**: `rmp-serde` works with every `#[derive(Serialize)]`
//!   type, which is what users already write for their content.
//!
//! # Two phases
//!
//! A connection starts with the [`Handshake`] phase: the dialler sends
//! [`Hello`], the listener answers [`Welcome`] or [`Refused`] (and then
//! closes). Handshake frames are written *with field names* and their shape is
//! frozen across protocol versions, so that two different versions can always
//! read each other's `version` and say clearly that they disagree. After the
//! handshake every frame is a [`Frame`], written compactly.
//!
//! Content is carried as the bytes of its own MessagePack encoding (a nested
//! document) plus its type name, so the receiving side decodes it only when
//! and into what it needs: the typed Rust value when it knows the type name,
//! a dynamic value otherwise.

use std::fmt;
use std::io::Cursor;

use bytes::Bytes;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use tokio_util::codec::LengthDelimitedCodec;

/// The version of this wire protocol. Peers with different versions refuse
/// each other during the handshake.
pub const PROTOCOL_VERSION: u32 = 1;

/// The default largest frame accepted or sent: 8 MiB.
///
/// Large enough for any reasonable message, small enough that a peer cannot
/// make us buffer unbounded memory. Change it with
/// [`NetConfig::max_frame_len`](crate::NetConfig::max_frame_len).
pub const DEFAULT_MAX_FRAME_LEN: usize = 8 * 1024 * 1024;

/// Nesting depth allowed when decoding content. Far above any real message,
/// far below what would exhaust a task's stack.
const MAX_CONTENT_DEPTH: usize = 128;

/// The length-delimited codec used for every frame, with the given maximum.
pub fn codec(max_frame_len: usize) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(4)
        .max_frame_length(max_frame_len)
        .new_codec()
}

/// An ID on the wire: an integer or a string, as the core's IDs are.
///
/// Written as a bare MessagePack integer or string (no tag), which is both the
/// most compact form and what a dynamic reader expects.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WireId {
    /// An integer ID.
    Int(i64),
    /// A string ID.
    Str(String),
}

impl WireId {
    /// The borrowed form.
    pub(crate) fn borrowed(&self) -> WireIdRef<'_> {
        match self {
            WireId::Int(i) => WireIdRef::Int(*i),
            WireId::Str(s) => WireIdRef::Str(s),
        }
    }
}

impl fmt::Display for WireId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireId::Int(i) => write!(f, "{i}"),
            WireId::Str(s) => write!(f, "{s:?}"),
        }
    }
}

impl From<i64> for WireId {
    fn from(i: i64) -> Self {
        WireId::Int(i)
    }
}

impl From<&str> for WireId {
    fn from(s: &str) -> Self {
        WireId::Str(s.to_owned())
    }
}

impl From<String> for WireId {
    fn from(s: String) -> Self {
        WireId::Str(s)
    }
}

impl Serialize for WireId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            WireId::Int(i) => serializer.serialize_i64(*i),
            WireId::Str(s) => serializer.serialize_str(s),
        }
    }
}

impl<'de> Deserialize<'de> for WireId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = WireId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or string ID")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<WireId, E> {
                Ok(WireId::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WireId, E> {
                i64::try_from(v)
                    .map(WireId::Int)
                    .map_err(|_| E::custom(format!("integer ID {v} does not fit in i64")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WireId, E> {
                Ok(WireId::Str(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<WireId, E> {
                Ok(WireId::Str(v))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

/// A shared secret presented in [`Hello`]. Its `Debug` form never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret text.
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }

    /// Compares with `other` in time that does not depend on where the two
    /// first differ, so that a remote peer cannot guess the secret byte by
    /// byte from response times. (Only the length can leak, through the early
    /// length check in `subtle`; secrets should be long random strings.)
    pub fn matches(&self, other: &Secret) -> bool {
        use subtle::ConstantTimeEq;
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The handshake phase of a connection (written with field names; see the
/// module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Handshake {
    /// Dialler → listener: who I am and what I speak.
    Hello(Hello),
    /// Listener → dialler: accepted.
    Welcome(Welcome),
    /// Listener → dialler: refused; the listener closes after sending it.
    Refused(Refused),
}

/// The first frame of a connection, sent by the dialling side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// The dialler's [`PROTOCOL_VERSION`].
    pub version: u32,
    /// A human-readable name of the dialling dispatcher (for logs and events).
    pub peer_name: String,
    /// The shared secret, when the dialler was configured with one.
    #[serde(default)]
    pub secret: Option<Secret>,
}

/// The listener's acceptance of a [`Hello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The listener's [`PROTOCOL_VERSION`].
    pub version: u32,
    /// The listening dispatcher's name.
    pub peer_name: String,
}

/// The listener's refusal of a [`Hello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    /// Why, as a machine-readable reason.
    pub reason: RefusalReason,
    /// Why, in words, for the dialler's error message.
    pub text: String,
}

/// Machine-readable reasons for a [`Refused`] handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefusalReason {
    /// The protocol versions differ; carries the listener's version.
    VersionMismatch {
        /// The refusing listener's [`PROTOCOL_VERSION`].
        listener_version: u32,
    },
    /// The listener requires a shared secret and none was presented.
    MissingSecret,
    /// The presented secret is wrong.
    BadSecret,
    /// The first frame was not a well-formed [`Hello`].
    Protocol,
}

/// What a dispatcher hands to, and receives from, a link.
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

/// Message content: the MessagePack encoding of a value, and its type name.
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
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, WireError> {
        decode_exact(&self.bytes, "content", MAX_CONTENT_DEPTH)
    }
}

/// The answer to a request.
///
/// Replies are matched by [`to`](Self::to) alone, so request IDs must be
/// unique per link while they are outstanding (the dispatcher assigns them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireReply {
    /// The [`WireMessage::id`] of the request answered.
    pub to: u64,
    /// The handler's result.
    pub result: ReplyResult,
}

/// A handler's result as carried by a [`WireReply`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ReplyResult {
    /// Success, with optional content.
    Ok(Option<WireContent>),
    /// Failure on the answering side.
    Err(RemoteError),
}

/// An error that happened on the remote side and travels back to the sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteError {
    /// What kind of failure.
    pub kind: RemoteErrorKind,
    /// The error's message, as the remote side rendered it.
    pub text: String,
}

/// Kinds of [`RemoteError`]. The core maps its own error kinds to these.
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

/// A received [`WireMessage`], borrowing its strings and content bytes from
/// the frame: what a link hands to
/// [`LinkEvents::received_message`](crate::LinkEvents::received_message), so
/// that a receiver that keeps nothing of it allocates nothing for it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WireMessageRef<'a> {
    /// The human-readable message type name.
    pub type_name: &'a str,
    /// The message ID; a [`WireReply`] refers to it.
    pub id: u64,
    /// The source ID.
    #[serde(borrow)]
    pub source: Option<WireIdRef<'a>>,
    /// The destination ID.
    #[serde(borrow)]
    pub dest: Option<WireIdRef<'a>>,
    /// The group ID.
    #[serde(borrow)]
    pub group: Option<WireIdRef<'a>>,
    /// Whether the sender waits for a [`WireReply`].
    pub response_required: bool,
    /// Whether this message is itself a response.
    pub is_response: bool,
    /// Whether the sender asked for synchronous handling.
    pub sync: bool,
    /// Whether later messages to the destination wait behind this one.
    pub blocking: bool,
    /// The sender's sequence number.
    pub seq: u64,
    /// The content, if any.
    #[serde(borrow)]
    pub content: Option<WireContentRef<'a>>,
}

impl WireMessageRef<'_> {
    /// The owned [`WireMessage`] with the same fields.
    pub fn to_owned_message(&self) -> WireMessage {
        WireMessage {
            type_name: self.type_name.to_owned(),
            id: self.id,
            source: self.source.as_ref().map(WireIdRef::to_owned_id),
            dest: self.dest.as_ref().map(WireIdRef::to_owned_id),
            group: self.group.as_ref().map(WireIdRef::to_owned_id),
            response_required: self.response_required,
            is_response: self.is_response,
            sync: self.sync,
            blocking: self.blocking,
            seq: self.seq,
            content: self.content.as_ref().map(|c| WireContent {
                type_name: c.type_name.to_owned(),
                bytes: Bytes::copy_from_slice(c.bytes),
            }),
        }
    }
}

/// A received [`WireId`], borrowing a string ID from the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireIdRef<'a> {
    /// An integer ID.
    Int(i64),
    /// A string ID.
    Str(&'a str),
}

impl WireIdRef<'_> {
    /// The owned [`WireId`].
    pub fn to_owned_id(&self) -> WireId {
        match self {
            WireIdRef::Int(i) => WireId::Int(*i),
            WireIdRef::Str(s) => WireId::Str((*s).to_owned()),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for WireIdRef<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl<'de> Visitor<'de> for IdVisitor {
            type Value = WireIdRef<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or string ID")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<WireIdRef<'de>, E> {
                Ok(WireIdRef::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WireIdRef<'de>, E> {
                i64::try_from(v)
                    .map(WireIdRef::Int)
                    .map_err(|_| E::custom(format!("integer ID {v} does not fit in i64")))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<WireIdRef<'de>, E> {
                Ok(WireIdRef::Str(v))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

/// Received [`WireContent`], borrowing its type name and bytes from the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct WireContentRef<'a> {
    /// The content's type name.
    pub type_name: &'a str,
    /// The value's own MessagePack encoding.
    pub bytes: &'a [u8],
}

/// A frame as received: [`Frame`] with the message borrowed.
#[derive(Debug, Deserialize)]
pub(crate) enum FrameIn<'a> {
    #[serde(borrow)]
    Message(WireMessageRef<'a>),
    Reply(WireReply),
    Announce(Vec<Announcement>),
    Ping(u64),
    // A pong only proves liveness, but its number must still be one.
    Pong(#[allow(dead_code)] u64),
    Goodbye(String),
}

/// How many announcements an `Announce` frame lists, read from its header
/// alone (the frame as this crate writes it: a one-entry map from the
/// variant's name to an array), so that a frame listing too many can be
/// refused before any of it is decoded. `None` for any other frame.
pub(crate) fn announce_len(bytes: &[u8]) -> Option<usize> {
    const HEAD: &[u8] = b"\x81\xa8Announce";
    let rest = bytes.strip_prefix(HEAD)?;
    let (&marker, rest) = rest.split_first()?;
    let be = |n: usize| -> Option<usize> {
        let digits = rest.get(..n)?;
        usize::try_from(digits.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))).ok()
    };
    match marker {
        0x90..=0x9f => Some(usize::from(marker & 0x0f)),
        0xdc => be(2),
        0xdd => be(4),
        _ => None,
    }
}

/// Decodes a received frame's body, borrowing a message's strings.
pub(crate) fn decode_frame_in(bytes: &[u8]) -> Result<FrameIn<'_>, WireError> {
    if let Some(m) = fast::message(bytes) {
        return Ok(FrameIn::Message(m));
    }
    decode_exact_in::<FrameIn<'_>, Frame>(bytes, "frame", MAX_FRAME_DEPTH)
}

/// A direct reader for the frame a stream is made of: a message exactly as
/// this crate writes it. It accepts only that canonical shape, consumed to
/// the last byte; anything else (another frame kind, another integer width,
/// a malformed frame) returns `None` and goes through serde, which decodes
/// it or says precisely what is wrong. Serde's visitors cost more than the
/// rest of receiving a message.
mod fast {
    use super::{WireContentRef, WireIdRef, WireMessageRef};

    struct Reader<'a> {
        bytes: &'a [u8],
    }

    impl<'a> Reader<'a> {
        fn byte(&mut self) -> Option<u8> {
            let (&b, rest) = self.bytes.split_first()?;
            self.bytes = rest;
            Some(b)
        }

        fn peek(&self) -> Option<u8> {
            self.bytes.first().copied()
        }

        fn take(&mut self, n: usize) -> Option<&'a [u8]> {
            if n > self.bytes.len() {
                return None;
            }
            let (head, rest) = self.bytes.split_at(n);
            self.bytes = rest;
            Some(head)
        }

        fn uint(&mut self, width: usize) -> Option<u64> {
            Some(self.take(width)?.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
        }

        fn u64(&mut self) -> Option<u64> {
            match self.byte()? {
                b @ 0x00..=0x7f => Some(u64::from(b)),
                0xcc => self.uint(1),
                0xcd => self.uint(2),
                0xce => self.uint(4),
                0xcf => self.uint(8),
                _ => None,
            }
        }

        /// The length after `marker`: its 8-, 16- and 32-bit forms start
        /// at `first`.
        fn len(&mut self, marker: u8, first: u8) -> Option<usize> {
            let width = match marker.checked_sub(first)? {
                0 => 1,
                1 => 2,
                2 => 4,
                _ => return None,
            };
            usize::try_from(self.uint(width)?).ok()
        }

        fn str(&mut self) -> Option<&'a str> {
            let marker = self.byte()?;
            // fixstr 0xa0..=0xbf; str8/16/32 0xd9..=0xdb.
            let len = match marker {
                0xa0..=0xbf => usize::from(marker & 0x1f),
                _ => self.len(marker, 0xd9)?,
            };
            std::str::from_utf8(self.take(len)?).ok()
        }

        fn bin(&mut self) -> Option<&'a [u8]> {
            let marker = self.byte()?;
            // bin8/16/32 0xc4..=0xc6 (no fix form).
            let len = self.len(marker, 0xc4)?;
            self.take(len)
        }

        fn bool(&mut self) -> Option<bool> {
            match self.byte()? {
                0xc2 => Some(false),
                0xc3 => Some(true),
                _ => None,
            }
        }

        fn nil(&mut self) -> bool {
            if self.peek() == Some(0xc0) {
                self.bytes = &self.bytes[1..];
                true
            } else {
                false
            }
        }

        fn id(&mut self) -> Option<Option<WireIdRef<'a>>> {
            if self.nil() {
                return Some(None);
            }
            let int = match self.peek()? {
                0xa0..=0xbf | 0xd9..=0xdb => return Some(Some(WireIdRef::Str(self.str()?))),
                b @ 0xe0..=0xff => {
                    self.byte()?;
                    i64::from(b as i8)
                }
                0xd0 => {
                    self.byte()?;
                    i64::from(self.uint(1)? as u8 as i8)
                }
                0xd1 => {
                    self.byte()?;
                    i64::from(self.uint(2)? as u16 as i16)
                }
                0xd2 => {
                    self.byte()?;
                    i64::from(self.uint(4)? as u32 as i32)
                }
                0xd3 => {
                    self.byte()?;
                    self.uint(8)? as i64
                }
                _ => i64::try_from(self.u64()?).ok()?,
            };
            Some(Some(WireIdRef::Int(int)))
        }
    }

    pub(super) fn message(bytes: &[u8]) -> Option<WireMessageRef<'_>> {
        // {"Message": [11 fields]}
        let mut r = Reader { bytes: bytes.strip_prefix(b"\x81\xa7Message\x9b")? };
        let m = WireMessageRef {
            type_name: r.str()?,
            id: r.u64()?,
            source: r.id()?,
            dest: r.id()?,
            group: r.id()?,
            response_required: r.bool()?,
            is_response: r.bool()?,
            sync: r.bool()?,
            blocking: r.bool()?,
            seq: r.u64()?,
            content: if r.nil() {
                None
            } else {
                if r.byte()? != 0x92 {
                    return None;
                }
                Some(WireContentRef { type_name: r.str()?, bytes: r.bin()? })
            },
        };
        r.bytes.is_empty().then_some(m)
    }
}

/// A message frame to encode, borrowing everything from the sender's
/// envelope: the same bytes as [`Frame::Message`] of the equivalent
/// [`WireMessage`], without building one (its strings and content buffer
/// would be allocated, copied and freed for every message sent).
#[derive(Serialize)]
pub(crate) struct MessageOut<'a> {
    pub(crate) type_name: &'a str,
    pub(crate) id: u64,
    pub(crate) source: Option<IdOut<'a>>,
    pub(crate) dest: Option<IdOut<'a>>,
    pub(crate) group: Option<IdOut<'a>>,
    pub(crate) response_required: bool,
    pub(crate) is_response: bool,
    pub(crate) sync: bool,
    pub(crate) blocking: bool,
    pub(crate) seq: u64,
    pub(crate) content: Option<ContentOut<'a>>,
}

/// A borrowed [`WireId`], written exactly as one.
pub(crate) enum IdOut<'a> {
    Int(i64),
    Str(&'a str),
}

impl Serialize for IdOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            IdOut::Int(i) => serializer.serialize_i64(*i),
            IdOut::Str(s) => serializer.serialize_str(s),
        }
    }
}

/// Borrowed [`WireContent`], written exactly as one.
#[derive(Serialize)]
pub(crate) struct ContentOut<'a> {
    pub(crate) type_name: &'a str,
    pub(crate) bytes: BinOut<'a>,
}

/// A byte string, written as MessagePack `bin` (as `Bytes` is).
pub(crate) struct BinOut<'a>(pub(crate) &'a [u8]);

impl Serialize for BinOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

/// The [`Frame`] shape for [`MessageOut`]: `Message` is `Frame`'s first
/// variant, so name and index both match. What the hand-written encoder is
/// checked against.
#[cfg(test)]
#[derive(Serialize)]
enum FrameOut<'a> {
    Message(&'a MessageOut<'a>),
}

/// Encodes a message frame's body into `out` (cleared first; the sender
/// reuses it between messages). Written by hand, byte for byte what serde
/// writes for [`FrameOut`] (checked by tests), the mirror of the reader in
/// `fast`: serde's generic path cost more than the rest of sending.
pub(crate) fn encode_message_frame(m: &MessageOut<'_>, out: &mut Vec<u8>) -> Result<(), WireError> {
    out.clear();
    let too_long = |what: &'static str| WireError::Encode {
        what,
        source: "longer than a MessagePack length can say".into(),
    };
    // {"Message": [11 fields]}
    out.extend_from_slice(b"\x81\xa7Message\x9b");
    write::str(out, m.type_name).ok_or_else(|| too_long("type name"))?;
    write::uint(out, m.id);
    for id in [&m.source, &m.dest, &m.group] {
        match id {
            None => out.push(0xc0),
            Some(IdOut::Int(i)) => write::sint(out, *i),
            Some(IdOut::Str(s)) => write::str(out, s).ok_or_else(|| too_long("ID"))?,
        }
    }
    for flag in [m.response_required, m.is_response, m.sync, m.blocking] {
        out.push(if flag { 0xc3 } else { 0xc2 });
    }
    write::uint(out, m.seq);
    match &m.content {
        None => out.push(0xc0),
        Some(c) => {
            out.push(0x92);
            write::str(out, c.type_name).ok_or_else(|| too_long("content type name"))?;
            write::bin(out, c.bytes.0).ok_or_else(|| too_long("content"))?;
        }
    }
    Ok(())
}

/// MessagePack writers in the smallest form, as `rmp` writes them.
mod write {
    pub(super) fn uint(out: &mut Vec<u8>, v: u64) {
        match v {
            0..=0x7f => out.push(v as u8),
            0x80..=0xff => out.extend_from_slice(&[0xcc, v as u8]),
            0x100..=0xffff => {
                out.push(0xcd);
                out.extend_from_slice(&(v as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(0xce);
                out.extend_from_slice(&(v as u32).to_be_bytes());
            }
            _ => {
                out.push(0xcf);
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
    }

    /// Non-negative values in the unsigned forms, as `rmp::encode::write_sint`.
    pub(super) fn sint(out: &mut Vec<u8>, v: i64) {
        match v {
            0.. => uint(out, v as u64),
            -32..=-1 => out.push(v as i8 as u8),
            -128..=-33 => out.extend_from_slice(&[0xd0, v as i8 as u8]),
            -32768..=-129 => {
                out.push(0xd1);
                out.extend_from_slice(&(v as i16).to_be_bytes());
            }
            -2_147_483_648..=-32769 => {
                out.push(0xd2);
                out.extend_from_slice(&(v as i32).to_be_bytes());
            }
            _ => {
                out.push(0xd3);
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
    }

    /// `None` when the length does not fit 32 bits.
    fn len(out: &mut Vec<u8>, len: usize, fix: Option<(u8, usize)>, first: u8) -> Option<()> {
        match (fix, len) {
            (Some((marker, max)), _) if len <= max => out.push(marker | len as u8),
            (_, 0..=0xff) => out.extend_from_slice(&[first, len as u8]),
            (_, 0x100..=0xffff) => {
                out.push(first + 1);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                out.push(first + 2);
                out.extend_from_slice(&u32::try_from(len).ok()?.to_be_bytes());
            }
        }
        Some(())
    }

    pub(super) fn str(out: &mut Vec<u8>, s: &str) -> Option<()> {
        // fixstr up to 31 bytes, then str8/16/32.
        len(out, s.len(), Some((0xa0, 31)), 0xd9)?;
        out.extend_from_slice(s.as_bytes());
        Some(())
    }

    pub(super) fn bin(out: &mut Vec<u8>, b: &[u8]) -> Option<()> {
        // bin8/16/32 (no fix form).
        len(out, b.len(), None, 0xc4)?;
        out.extend_from_slice(b);
        Some(())
    }
}

/// Encoding or decoding a frame failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// A value could not be serialised.
    #[error("cannot encode {what}: {source}")]
    Encode {
        /// What was being encoded (`"frame"`, `"content"`, …).
        what: &'static str,
        /// The serialiser's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Bytes could not be deserialised.
    #[error("cannot decode {what}: {source}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// The deserialiser's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A value decoded but bytes were left over after it.
    #[error("cannot decode {what}: {extra} unexpected bytes after the value")]
    TrailingBytes {
        /// What was being decoded.
        what: &'static str,
        /// How many bytes were left.
        extra: usize,
    },
}

/// Decodes exactly one `T` from `bytes`, refusing leftovers (a sign of a
/// framing bug or tampering) and limiting nesting depth.
///
/// Reads the slice in place (strings and byte strings are borrowed while
/// decoding, not first copied into a scratch buffer): this runs once per
/// frame received, so its allocations are the receiving side's hot path.
fn decode_exact<T: DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
    max_depth: usize,
) -> Result<T, WireError> {
    decode_exact_in::<T, T>(bytes, what, max_depth)
}

/// [`decode_exact`] for a `T` that may borrow from `bytes`; `Owned` is the
/// same shape owned (to count trailing bytes for the error).
fn decode_exact_in<'a, T: Deserialize<'a>, Owned: DeserializeOwned>(
    bytes: &'a [u8],
    what: &'static str,
    max_depth: usize,
) -> Result<T, WireError> {
    let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
    de.set_max_depth(max_depth);
    let value =
        T::deserialize(&mut de).map_err(|e| WireError::Decode { what, source: Box::new(e) })?;
    // The slice reader does not tell how much it consumed; a second value
    // only decodes if bytes are left over, which is the rare error path.
    match serde::de::IgnoredAny::deserialize(&mut de) {
        Err(rmp_serde::decode::Error::InvalidMarkerRead(e))
            if e.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            Ok(value)
        }
        _ => Err(WireError::TrailingBytes { what, extra: trailing_len::<Owned>(bytes, max_depth) }),
    }
}

/// How many bytes follow the first value of `bytes` (for the error message).
fn trailing_len<T: DeserializeOwned>(bytes: &[u8], max_depth: usize) -> usize {
    let mut cursor = Cursor::new(bytes);
    let mut de = rmp_serde::Deserializer::new(&mut cursor);
    de.set_max_depth(max_depth);
    if T::deserialize(&mut de).is_err() {
        return 0;
    }
    let used = usize::try_from(cursor.position()).unwrap_or(usize::MAX);
    bytes.len().saturating_sub(used)
}

/// Frames are flat structures; a small depth limit is plenty and keeps
/// decoding hostile input cheap.
const MAX_FRAME_DEPTH: usize = 32;

impl Handshake {
    /// Encodes this handshake frame's body (without the length prefix).
    ///
    /// # Errors
    /// [`WireError::Encode`] (not expected for these plain types).
    pub fn encode(&self) -> Result<Bytes, WireError> {
        rmp_serde::to_vec_named(self)
            .map(Bytes::from)
            .map_err(|e| WireError::Encode { what: "handshake", source: Box::new(e) })
    }

    /// Decodes a handshake frame's body.
    ///
    /// # Errors
    /// [`WireError::Decode`] or [`WireError::TrailingBytes`] for bytes that
    /// are not exactly one handshake frame.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        decode_exact(bytes, "handshake", MAX_FRAME_DEPTH)
    }
}

pub(crate) fn encode_handshake(h: &Handshake) -> Result<Bytes, WireError> {
    h.encode()
}

pub(crate) fn decode_handshake(bytes: &[u8]) -> Result<Handshake, WireError> {
    Handshake::decode(bytes)
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

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use proptest::prelude::*;
    use tokio_util::codec::{Decoder, Encoder};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Order {
        item: String,
        qty: u32,
    }

    fn sample_message() -> WireMessage {
        WireMessage {
            type_name: "order".into(),
            id: 42,
            source: Some(WireId::Str("shop".into())),
            dest: Some(WireId::Int(-7)),
            group: None,
            response_required: true,
            is_response: false,
            sync: false,
            blocking: true,
            seq: 9,
            content: Some(
                WireContent::encode("Order", &Order { item: "tea".into(), qty: 3 }).unwrap(),
            ),
        }
    }

    #[test]
    fn the_length_of_an_announcement_is_read_from_its_header() {
        for n in [0usize, 1, 15, 16, 65_535, 65_536, 70_000] {
            let frame = Frame::Announce(vec![Announcement::Serve(WireId::Int(1)); n]);
            let bytes = encode_frame(&frame).unwrap();
            assert_eq!(announce_len(&bytes), Some(n), "{n} announcements");
        }
        for frame in sample_frames().into_iter().filter(|f| !matches!(f, Frame::Announce(_))) {
            assert_eq!(announce_len(&encode_frame(&frame).unwrap()), None, "{frame:?}");
        }
        // A header claiming more than the frame holds is still read as a
        // count: it is refused for its count, never decoded.
        assert_eq!(announce_len(b"\x81\xa8Announce\xdd\x00\x0f\x42\x40\x81"), Some(1_000_000));
        assert_eq!(announce_len(b"\x81\xa8Announce\xdd\x00"), None);
    }

    fn sample_frames() -> Vec<Frame> {
        vec![
            Frame::Message(sample_message()),
            Frame::Reply(WireReply {
                to: 42,
                result: ReplyResult::Err(RemoteError {
                    kind: RemoteErrorKind::Handler,
                    text: "out of tea".into(),
                }),
            }),
            Frame::Reply(WireReply { to: 1, result: ReplyResult::Ok(None) }),
            Frame::Announce(vec![
                Announcement::Serve(WireId::Int(1)),
                Announcement::Subscribe("news".into()),
                Announcement::Withdraw(WireId::Int(2)),
                Announcement::Unsubscribe(WireId::Int(3)),
            ]),
            Frame::Ping(5),
            Frame::Pong(5),
            Frame::Goodbye("bye".into()),
        ]
    }

    #[test]
    fn a_borrowed_message_frame_is_byte_for_byte_the_owned_one() {
        let owned = sample_message();
        let content = owned.content.clone().unwrap();
        let borrowed = MessageOut {
            type_name: &owned.type_name,
            id: owned.id,
            source: Some(IdOut::Str("shop")),
            dest: Some(IdOut::Int(-7)),
            group: None,
            response_required: owned.response_required,
            is_response: owned.is_response,
            sync: owned.sync,
            blocking: owned.blocking,
            seq: owned.seq,
            content: Some(ContentOut {
                type_name: &content.type_name,
                bytes: BinOut(&content.bytes),
            }),
        };
        let expected = encode_frame(&Frame::Message(owned.clone())).unwrap();
        let mut out = Vec::new();
        encode_message_frame(&borrowed, &mut out).unwrap();
        assert_eq!(out, expected);
        let empty = MessageOut { content: None, group: Some(IdOut::Str("g")), ..borrowed };
        let mut owned_empty = owned.clone();
        owned_empty.content = None;
        owned_empty.group = Some(WireId::Str("g".into()));
        // Whatever the buffer held before is replaced.
        let mut out = vec![1, 2, 3];
        encode_message_frame(&empty, &mut out).unwrap();
        assert_eq!(out, encode_frame(&Frame::Message(owned_empty)).unwrap());
    }

    #[test]
    fn a_received_message_borrows_the_same_fields_the_owned_decode_gives() {
        let owned = sample_message();
        let bytes = encode_frame(&Frame::Message(owned.clone())).unwrap();
        match decode_frame_in(&bytes).unwrap() {
            FrameIn::Message(m) => assert_eq!(m.to_owned_message(), owned),
            other => panic!("expected a message, got {other:?}"),
        }
        let mut trailing = bytes.to_vec();
        trailing.push(0xc0);
        assert!(matches!(
            decode_frame_in(&trailing),
            Err(WireError::TrailingBytes { extra: 1, .. })
        ));
    }

    fn serde_message(bytes: &[u8]) -> Option<WireMessageRef<'_>> {
        match decode_exact_in::<FrameIn<'_>, Frame>(bytes, "frame", MAX_FRAME_DEPTH) {
            Ok(FrameIn::Message(m)) => Some(m),
            _ => None,
        }
    }

    fn any_id() -> impl Strategy<Value = Option<WireId>> {
        prop_oneof![
            Just(None),
            any::<i64>().prop_map(|i| Some(WireId::Int(i))),
            ".{0,40}".prop_map(|s| Some(WireId::Str(s))),
        ]
    }

    proptest! {
        #[test]
        fn the_direct_message_reader_agrees_with_serde(
            type_name in ".{0,40}",
            id in any::<u64>(),
            seq in any::<u64>(),
            (source, dest, group) in (any_id(), any_id(), any_id()),
            flags in any::<[bool; 4]>(),
            content in proptest::option::of((".{0,20}", proptest::collection::vec(any::<u8>(), 0..300))),
        ) {
            let m = WireMessage {
                type_name, id, source, dest, group,
                response_required: flags[0], is_response: flags[1], sync: flags[2], blocking: flags[3],
                seq,
                content: content.map(|(t, b)| WireContent { type_name: t, bytes: Bytes::from(b) }),
            };
            let bytes = encode_frame(&Frame::Message(m.clone())).unwrap();
            let fast = fast::message(&bytes);
            prop_assert_eq!(fast.as_ref().map(WireMessageRef::to_owned_message), Some(m));
            prop_assert_eq!(fast, serde_message(&bytes));
        }

        #[test]
        fn the_hand_written_message_encoder_writes_what_serde_writes(
            type_name in ".{0,40}",
            id in any::<u64>(),
            seq in any::<u64>(),
            (source, dest, group) in (any_id(), any_id(), any_id()),
            flags in any::<[bool; 4]>(),
            content in proptest::option::of((".{0,40}", proptest::collection::vec(any::<u8>(), 0..70_000))),
            small in (0u64..300, -300i64..300),
        ) {
            fn id_out(w: &Option<WireId>) -> Option<IdOut<'_>> {
                w.as_ref().map(|w| match w {
                    WireId::Int(i) => IdOut::Int(*i),
                    WireId::Str(s) => IdOut::Str(s),
                })
            }
            // Small numbers too: most IDs are, and each size class has its own form.
            let (id, source) = if flags[0] { (small.0, Some(WireId::Int(small.1))) } else { (id, source) };
            let m = MessageOut {
                type_name: &type_name, id,
                source: id_out(&source), dest: id_out(&dest), group: id_out(&group),
                response_required: flags[0], is_response: flags[1], sync: flags[2], blocking: flags[3],
                seq,
                content: content.as_ref().map(|(t, b)| ContentOut { type_name: t, bytes: BinOut(b) }),
            };
            let mut by_hand = Vec::new();
            encode_message_frame(&m, &mut by_hand).unwrap();
            let by_serde = rmp_serde::encode::to_vec(&FrameOut::Message(&m)).unwrap();
            prop_assert_eq!(by_hand, by_serde);
        }

        #[test]
        fn the_direct_reader_takes_nothing_serde_refuses(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let mut framed = b"\x81\xa7Message\x9b".to_vec();
            framed.extend_from_slice(&bytes);
            if let Some(m) = fast::message(&framed) {
                prop_assert_eq!(Some(m), serde_message(&framed));
            }
        }
    }

    #[test]
    fn content_bytes_must_be_a_byte_string() {
        // [type name, -1] where the bytes belong: serde refuses it, so must the reader.
        let mut m = sample_message();
        m.content = None;
        let mut bytes = encode_frame(&Frame::Message(m)).unwrap().to_vec();
        assert_eq!(bytes.pop(), Some(0xc0));
        bytes.extend_from_slice(&[0x92, 0xa1, b'T', 0xff]);
        assert!(fast::message(&bytes).is_none());
        assert!(serde_message(&bytes).is_none());
    }

    #[test]
    fn a_cut_or_padded_message_is_left_to_serde() {
        let bytes = encode_frame(&Frame::Message(sample_message())).unwrap();
        for len in 0..bytes.len() {
            assert!(fast::message(&bytes[..len]).is_none());
        }
        let mut padded = bytes.to_vec();
        padded.push(0xc0);
        assert!(fast::message(&padded).is_none());
        assert!(fast::message(&bytes).is_some());
    }

    #[test]
    fn every_frame_kind_round_trips() {
        for frame in sample_frames() {
            let bytes = encode_frame(&frame).unwrap();
            assert_eq!(decode_frame(&bytes).unwrap(), frame);
        }
    }

    #[test]
    fn typed_content_decodes_by_type_and_dynamically() {
        let msg = sample_message();
        let content = msg.content.unwrap();
        assert_eq!(content.type_name, "Order");
        let typed: Order = content.decode().unwrap();
        assert_eq!(typed.qty, 3);
        // A receiver that does not know `Order` still sees its fields by name.
        let dynamic: serde_json::Value = content.decode().unwrap();
        assert_eq!(dynamic["item"], "tea");
        assert_eq!(dynamic["qty"], 3);
    }

    #[test]
    fn content_of_the_wrong_type_is_a_decode_error() {
        let content = WireContent::encode("n", &5u8).unwrap();
        let err = content.decode::<Order>().unwrap_err();
        assert!(matches!(err, WireError::Decode { what: "content", .. }), "{err}");
    }

    #[test]
    fn ids_are_bare_integers_and_strings() {
        assert_eq!(rmp_serde::to_vec(&WireId::Int(5)).unwrap(), vec![5u8]);
        assert_eq!(rmp_serde::to_vec(&WireId::Str("a".into())).unwrap(), vec![0xa1, b'a']);
        let too_big = rmp_serde::to_vec(&u64::MAX).unwrap();
        assert!(rmp_serde::from_slice::<WireId>(&too_big).is_err());
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = encode_frame(&Frame::Ping(1)).unwrap().to_vec();
        bytes.push(0);
        assert!(matches!(decode_frame(&bytes), Err(WireError::TrailingBytes { extra: 1, .. })));
    }

    #[test]
    fn hello_tolerates_fields_added_by_a_later_version() {
        // A future Hello with an extra field must still reveal its version,
        // so the mismatch can be reported instead of a decode error.
        #[derive(Serialize)]
        enum FutureHandshake {
            Hello {
                version: u32,
                peer_name: String,
                secret: Option<String>,
                compression: &'static str,
            },
        }
        let bytes = rmp_serde::to_vec_named(&FutureHandshake::Hello {
            version: 99,
            peer_name: "next".into(),
            secret: None,
            compression: "zstd",
        })
        .unwrap();
        match decode_handshake(&bytes).unwrap() {
            Handshake::Hello(h) => assert_eq!(h.version, 99),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn secret_debug_is_redacted_and_compare_is_exact() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(s.matches(&Secret::new("hunter2")));
        assert!(!s.matches(&Secret::new("hunter3")));
        assert!(!s.matches(&Secret::new("hunter")));
        assert!(!s.matches(&Secret::new("")));
    }

    /// Runs bytes through the same pipeline as a connection's reader: the
    /// length-delimited codec, then the frame decoder. Returns how many frames
    /// decoded; errors are fine, panics are not.
    fn feed_decoder(input: &[u8], max: usize) -> usize {
        let mut codec = codec(max);
        let mut buf = BytesMut::from(input);
        let mut frames = 0;
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(body)) => {
                    if decode_frame(&body).is_ok() {
                        frames += 1;
                    }
                    let _ = decode_handshake(&body);
                }
                Ok(None) | Err(_) => return frames,
            }
        }
    }

    fn framed(frames: &[Frame]) -> Vec<u8> {
        let mut codec = codec(DEFAULT_MAX_FRAME_LEN);
        let mut out = BytesMut::new();
        for f in frames {
            codec.encode(encode_frame(f).unwrap(), &mut out).unwrap();
        }
        out.to_vec()
    }

    #[test]
    fn valid_stream_decodes_every_frame() {
        let frames = sample_frames();
        assert_eq!(feed_decoder(&framed(&frames), DEFAULT_MAX_FRAME_LEN), frames.len());
    }

    #[test]
    fn oversized_length_prefix_is_an_error_before_buffering() {
        let mut codec = codec(1024);
        let mut buf = BytesMut::from(&[0u8, 0, 4, 1][..]);
        let err = codec.decode(&mut buf).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..512)) {
            feed_decoder(&input, 4096);
            let _ = decode_frame(&input);
            let _ = decode_handshake(&input);
        }

        #[test]
        fn mutated_valid_frames_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = framed(&sample_frames());
            for (at, byte, op) in edits {
                let i = at.index(bytes.len());
                match op {
                    0 => bytes[i] = byte,
                    1 => bytes.insert(i, byte),
                    _ => { bytes.remove(i); }
                }
            }
            bytes.truncate(cut.index(bytes.len() + 1));
            feed_decoder(&bytes, DEFAULT_MAX_FRAME_LEN);
        }

        #[test]
        fn mutated_frame_bodies_never_panic(
            which in 0usize..7,
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let mut body = encode_frame(&sample_frames()[which]).unwrap().to_vec();
            for (at, byte) in edits {
                let i = at.index(body.len());
                body[i] = byte;
            }
            if let Ok(Frame::Message(WireMessage { content: Some(c), .. })) = decode_frame(&body) {
                let _ = c.decode::<serde_json::Value>();
            }
        }
    }
}

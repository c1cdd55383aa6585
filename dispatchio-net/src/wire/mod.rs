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
//! closes), or, when it requires the shared secret, a [`Challenge`] that
//! the dialler answers with a [`Proof`] before the `Welcome`. Handshake frames are written *with field names* and their shape is
//! frozen across protocol versions, so that two different versions can always
//! read each other's `version` and say clearly that they disagree. After the
//! handshake every frame is a [`Frame`], written compactly.
//!
//! Content is carried as the bytes of its own MessagePack encoding (a nested
//! document) plus its type name, so the receiving side decodes it only when
//! and into what it needs: the typed Rust value when it knows the type name,
//! a dynamic value otherwise.

mod decode;
mod encode;
mod fast;
mod frame;
mod handshake;
mod received;
#[cfg(test)]
mod tests;

pub use decode::WireError;
pub(crate) use encode::{BinOut, ContentOut, IdOut, MessageOut, encode_message_frame};
pub use frame::{
    Announcement, Payload, RemoteError, RemoteErrorKind, ReplyResult, WireContent, WireMessage,
    WireReply,
};
pub(crate) use frame::{Frame, encode_frame};
pub use handshake::{
    Challenge, Handshake, Hello, NONCE_LEN, Nonce, Proof, RefusalReason, Refused, Welcome,
};
pub(crate) use handshake::{decode_handshake, encode_handshake};
pub(crate) use received::{FrameIn, announce_len, decode_frame_in};
pub use received::{WireContentRef, WireIdRef, WireMessageRef};

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use tokio_util::codec::LengthDelimitedCodec;

use decode::{MAX_FRAME_DEPTH, decode_exact, decode_exact_in};
#[cfg(test)]
use encode::FrameOut;
#[cfg(test)]
use frame::decode_frame;

/// The version of this wire protocol. Peers with different versions refuse
/// each other during the handshake.
///
/// Version 2 proves the shared secret by challenge-response instead of
/// sending it (version 1 sent it in its `Hello`).
pub const PROTOCOL_VERSION: u32 = 2;

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
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use tokio_util::codec::{Decoder, Encoder};
/// let mut codec = dispatchio_net::codec(1024);
/// let mut wire = BytesMut::new();
/// codec.encode(Bytes::from_static(b"frame"), &mut wire)?;
/// assert_eq!(&wire[..], b"\0\0\0\x05frame"); // a 4-byte big-endian length, then the body
/// assert_eq!(codec.decode(&mut wire)?.as_deref(), Some(&b"frame"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
///
/// ```
/// use dispatchio_net::WireId;
/// assert_eq!(WireId::from(7), WireId::Int(7));
/// assert_eq!(WireId::from("bob"), WireId::Str("bob".into()));
/// assert_ne!(WireId::from(7), WireId::from("7")); // as the core's `Id`
/// ```
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

/// A shared secret, proven in the handshake and never sent (see
/// [`Proof`]). It is neither `Serialize` nor `Debug`-printed, so no frame
/// or log can carry it.
///
/// ```
/// use dispatchio_net::{NetConfig, Secret};
/// let secret = Secret::new("a long random string");
/// assert!(secret.matches(&Secret::new("a long random string")));
/// // The configuration prints without it.
/// let config = NetConfig::new("billing").secret("a long random string");
/// assert!(!format!("{config:?}").contains("a long random string"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret text.
    ///
    /// ```
    /// let secret = dispatchio_net::Secret::new(String::from("a long random string"));
    /// assert!(secret.matches(&dispatchio_net::Secret::new("a long random string")));
    /// ```
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }

    /// Compares with `other` in time that does not depend on where the two
    /// first differ, so that a remote peer cannot guess the secret byte by
    /// byte from response times. (Only the length can leak, through the early
    /// length check in `subtle`; secrets should be long random strings.)
    ///
    /// ```
    /// use dispatchio_net::Secret;
    /// let secret = Secret::new("a long random string");
    /// assert!(!secret.matches(&Secret::new("a long random strinG"))); // in constant time
    /// ```
    pub fn matches(&self, other: &Secret) -> bool {
        use subtle::ConstantTimeEq;
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Secret {
    /// The key of the handshake's HMAC.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

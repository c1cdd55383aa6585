//! Frames as received: a message borrowed from the frame's bytes, and the
//! header read of an announcement.

use std::fmt;

use super::{
    Announcement, Frame, MAX_FRAME_DEPTH, WireContent, WireError, WireId, WireMessage, WireReply,
    decode_exact_in, fast,
};
use bytes::Bytes;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// A received [`WireMessage`], borrowing its strings and content bytes from
/// the frame: what a link hands to
/// [`LinkEvents::received_message`](crate::LinkEvents::received_message), so
/// that a receiver that keeps nothing of it allocates nothing for it.
///
/// ```
/// use dispatchio_core::{Message, Text};
/// use dispatchio_net::{WireIdRef, envelope::{decode_message, encode_message}};
/// let (mut content, mut frame) = (Vec::new(), Vec::new());
/// encode_message(&Message::new(Text::from("hi")).to("bob").with_id(3), 1, &mut content, &mut frame)?;
/// let m = decode_message(&frame)?; // borrows `frame`'s bytes
/// assert_eq!((m.id, m.type_name, m.dest), (3, "Text", Some(WireIdRef::Str("bob"))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    ///
    /// ```
    /// use dispatchio_core::{Message, Text};
    /// use dispatchio_net::{WireId, envelope::{decode_message, encode_message}};
    /// let (mut content, mut frame) = (Vec::new(), Vec::new());
    /// encode_message(&Message::new(Text::from("hi")).to("bob").with_id(3), 1, &mut content, &mut frame)?;
    /// let owned = decode_message(&frame)?.to_owned_message();
    /// drop(frame); // the owned message keeps nothing of it
    /// assert_eq!(owned.dest, Some(WireId::from("bob")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
///
/// ```
/// use dispatchio_net::{WireId, WireIdRef};
/// let id = WireIdRef::Str("bob"); // borrowed from a frame
/// assert_eq!(id.to_owned_id(), WireId::from("bob"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireIdRef<'a> {
    /// An integer ID.
    Int(i64),
    /// A string ID.
    Str(&'a str),
}

impl WireIdRef<'_> {
    /// The owned [`WireId`].
    ///
    /// ```
    /// use dispatchio_net::{WireId, WireIdRef};
    /// assert_eq!(WireIdRef::Int(-3).to_owned_id(), WireId::Int(-3));
    /// ```
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
///
/// ```
/// use dispatchio_core::{ContentRegistry, Message, Text};
/// use dispatchio_net::envelope::{decode_content, decode_message, encode_message};
/// let (mut content, mut frame) = (Vec::new(), Vec::new());
/// encode_message(&Message::new(Text::from("hi")).to("bob"), 1, &mut content, &mut frame)?;
/// let m = decode_message(&frame)?;
/// let c = m.content.ok_or("no content")?;
/// assert_eq!(c.type_name, "Text");
/// let mut registry = ContentRegistry::new();
/// registry.register::<Text>();
/// assert!(decode_content(&registry, Some(c))?.downcast_ref::<Text>().is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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

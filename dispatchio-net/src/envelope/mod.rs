//! Messages and replies as frames: the one codec of every dispatchio
//! transport.
//!
//! The Unix/TCP links of this crate and the NATS transport
//! (`dispatchio-nats`) carry the same frames: a message is the whole
//! envelope and its content in MessagePack ([`encode_message`],
//! [`decode_message`], [`MessageRebuilder`]), a reply is a [`WireReply`]
//! ([`encode_reply`], [`decode_reply`]) whose error, if any, is rebuilt into
//! the [`Error`] variant the answering side had ([`error_to_remote`],
//! [`error_from_remote`]). What differs between transports is only how the
//! frames travel (a link's length-delimited stream, a NATS message's
//! payload).

mod depth;
mod rebuild;
mod remote_error;

pub use rebuild::{MessageRebuilder, next_incoming_request_id};
pub use remote_error::{error_from_remote, error_to_remote};

use std::sync::Arc;

use bytes::Bytes;

use crate::wire::{
    self, BinOut, ContentOut, Frame, FrameIn, IdOut, MessageOut, ReplyResult, WireContent,
    WireContentRef, WireError, WireId, WireMessageRef, WireReply,
};
use depth::check_depth;
use dispatchio_core::{
    ContentRef, ContentRegistry, Empty, Envelope, Error, Id, Message, TransportError,
    TransportErrorKind,
};

/// Encodes `message` as a message frame into `out` (cleared first), its
/// content through `content_scratch`; `seq` is the sender's sequence
/// number. Both buffers are the caller's to reuse between messages, so a
/// message costs no allocation once they have grown.
///
/// # Errors
///
/// [`WireError::Encode`] when the content does not encode, or a string is
/// longer than MessagePack can say.
///
/// ```
/// use dispatchio_core::{Message, Text};
/// use dispatchio_net::WireIdRef;
/// use dispatchio_net::envelope::{decode_message, encode_message};
/// let request = Message::new(Text::from("hi")).to("bob").with_id(7).requiring_response();
/// let (mut content, mut frame) = (Vec::new(), Vec::new()); // reused for every message
/// encode_message(&request, 1, &mut content, &mut frame)?;
/// // `frame` is what the transport carries (a link's frame, a NATS payload).
/// let m = decode_message(&frame)?;
/// assert_eq!((m.type_name, m.id, m.dest, m.seq), ("Text", 7, Some(WireIdRef::Str("bob")), 1));
/// assert!(m.response_required);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_message(
    message: &Message,
    seq: u64,
    content_scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<(), WireError> {
    let env = message.envelope();
    content_scratch.clear();
    let content = message.content();
    let content = if content.is::<Empty>() {
        None
    } else {
        content
            .encode_into(content_scratch)
            .map_err(|e| WireError::Encode { what: "content", source: Box::new(e) })?;
        Some(ContentOut { type_name: content.type_name(), bytes: BinOut(content_scratch) })
    };
    let frame = MessageOut {
        type_name: env.ty.as_str(),
        id: env.id.get() as u64,
        source: env.source.as_ref().map(id_out),
        dest: env.dest.as_ref().map(id_out),
        group: env.group.as_ref().map(id_out),
        response_required: env.response_required,
        is_response: env.is_response,
        sync: env.sync,
        blocking: env.blocking,
        seq,
        content,
    };
    wire::encode_message_frame(&frame, out)
}

/// Decodes a message frame, borrowing its strings and content from `bytes`.
///
/// # Errors
///
/// [`WireError::Decode`] when `bytes` is not one frame, or is a frame of
/// another kind.
///
/// ```
/// use dispatchio_core::{Message, Text};
/// use dispatchio_net::{ReplyResult, WireError, WireReply};
/// use dispatchio_net::envelope::{decode_message, encode_message, encode_reply};
/// let (mut content, mut frame) = (Vec::new(), Vec::new());
/// encode_message(&Message::new(Text::from("hi")).to(7), 1, &mut content, &mut frame)?;
/// let m = decode_message(&frame)?; // borrows from `frame`: no allocation
/// assert_eq!(m.content.map(|c| c.type_name), Some("Text"));
/// let reply = encode_reply(WireReply { to: 7, result: ReplyResult::Ok(None) })?;
/// assert!(matches!(decode_message(&reply), Err(WireError::Decode { .. }))); // not a message
/// assert!(decode_message(b"not MessagePack").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_message(bytes: &[u8]) -> Result<WireMessageRef<'_>, WireError> {
    match wire::decode_frame_in(bytes)? {
        FrameIn::Message(m) => Ok(m),
        _ => Err(not_a("message")),
    }
}

/// Encodes a reply frame.
///
/// # Errors
///
/// [`WireError::Encode`] when a string is longer than MessagePack can say.
///
/// ```
/// use dispatchio_core::Text;
/// use dispatchio_net::{ReplyResult, WireContent, WireReply};
/// use dispatchio_net::envelope::{decode_reply, encode_reply};
/// let content = WireContent::encode("Text", &Text::from("pong"))?;
/// let reply = WireReply { to: 7, result: ReplyResult::Ok(Some(content)) };
/// let frame = encode_reply(reply.clone())?; // what goes back to the requester
/// assert_eq!(decode_reply(&frame)?, reply);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_reply(reply: WireReply) -> Result<Bytes, WireError> {
    wire::encode_frame(&Frame::Reply(reply))
}

/// Decodes a reply frame.
///
/// # Errors
///
/// [`WireError::Decode`] when `bytes` is not one frame, or is a frame of
/// another kind.
///
/// ```
/// use dispatchio_core::{Message, Text};
/// use dispatchio_net::{ReplyResult, WireReply};
/// use dispatchio_net::envelope::{decode_reply, encode_message, encode_reply};
/// let frame = encode_reply(WireReply { to: 7, result: ReplyResult::Ok(None) })?;
/// let reply = decode_reply(&frame)?;
/// assert_eq!((reply.to, reply.result), (7, ReplyResult::Ok(None)));
/// let (mut content, mut message) = (Vec::new(), Vec::new());
/// encode_message(&Message::new(Text::from("hi")).to(7), 1, &mut content, &mut message)?;
/// assert!(decode_reply(&message).is_err()); // a message frame is no reply
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_reply(bytes: &[u8]) -> Result<WireReply, WireError> {
    match wire::decode_frame_in(bytes)? {
        FrameIn::Reply(r) => Ok(r),
        _ => Err(not_a("reply")),
    }
}

fn not_a(what: &'static str) -> WireError {
    WireError::Decode { what: "frame", source: format!("not a {what} frame").into() }
}

/// What a listener's answer becomes on the wire: its content (none for
/// [`Empty`]), or the error as [`error_to_remote`] carries it.
///
/// ```
/// use std::sync::Arc;
/// use dispatchio_core::{Error, Id, Message, Text};
/// use dispatchio_net::{RemoteErrorKind, ReplyResult};
/// use dispatchio_net::envelope::reply_result;
/// let request = Message::new(Text::from("hi")).to("echo").with_id(7).requiring_response();
/// let answer = Message::reply_to(request.envelope(), Arc::new(Text::from("hello")), None);
/// let ReplyResult::Ok(Some(content)) = reply_result(&Ok(answer)) else { panic!("content") };
/// assert_eq!(content.decode::<Text>()?, Text::from("hello"));
/// let refused = reply_result(&Err(Error::UnknownDestination(Id::from("echo"))));
/// assert!(matches!(refused, ReplyResult::Err(e) if e.kind == RemoteErrorKind::NoRoute));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn reply_result(answer: &Result<Message, Error>) -> ReplyResult {
    match answer {
        Ok(msg) => match encode_content(msg.content()) {
            Ok(c) => ReplyResult::Ok(c),
            Err(reason) => ReplyResult::Err(crate::wire::RemoteError {
                kind: crate::wire::RemoteErrorKind::Other,
                text: format!("other\n{reason}"),
            }),
        },
        Err(e) => ReplyResult::Err(error_to_remote(e)),
    }
}

/// The answer a [`ReplyResult`] to `request` stands for, as a local
/// listener would have given it: the reply message (content decoded
/// through `registry`) or the same [`Error`] variant; errors of the
/// transport itself name `outlet`.
///
/// ```
/// use dispatchio_core::{ContentRegistry, Error, HandlerError, Message, Text};
/// use dispatchio_net::envelope::{answer_from_reply, reply_result};
/// let mut registry = ContentRegistry::new();
/// registry.register::<Text>();
/// let request = Message::new(Text::from("deal")).to("dealer").with_id(7).requiring_response();
/// // The answering side failed in its handler; the result travelled back.
/// let failed = Error::Handler { handler: "deal".into(), error: HandlerError::new("no cards left") };
/// let result = reply_result(&Err(failed));
/// let answer = answer_from_reply(result, request.envelope(), &registry, "tcp:table-2");
/// // The requester sees the error a local listener would have given.
/// let Err(Error::Handler { handler, error }) = answer else { panic!("a handler error") };
/// assert_eq!((handler.as_str(), error.message()), ("deal", "no cards left"));
/// ```
pub fn answer_from_reply(
    result: ReplyResult,
    request: &Envelope,
    registry: &ContentRegistry,
    outlet: &str,
) -> Result<Message, Error> {
    match result {
        ReplyResult::Ok(content) => match decode_content(
            registry,
            content.as_ref().map(|c| WireContentRef { type_name: &c.type_name, bytes: &c.bytes }),
        ) {
            Ok(content) => Ok(Message::reply_to(request, content, None)),
            Err(reason) => {
                Err(TransportError::new(outlet.to_owned(), TransportErrorKind::Decode, reason)
                    .into())
            }
        },
        ReplyResult::Err(e) => Err(error_from_remote(e, request, outlet)),
    }
}

/// Content as it arrived, decoded into the Rust type `registry` has for its
/// type name (or [`DynContent`](dispatchio_core::DynContent)); no content
/// is [`Empty`]. Content nested deeper than any real message is refused
/// before it is decoded (the decoders recurse once per level).
///
/// # Errors
///
/// Why the content does not decode, for logs and for the sender.
///
/// ```
/// use dispatchio_core::{ContentRegistry, DynContent, Empty, Message, Text};
/// use dispatchio_net::envelope::{decode_content, decode_message, encode_message};
/// let (mut content, mut frame) = (Vec::new(), Vec::new());
/// encode_message(&Message::new(Text::from("hi")).to("bob"), 1, &mut content, &mut frame)?;
/// let m = decode_message(&frame)?;
/// let mut registry = ContentRegistry::new();
/// registry.register::<Text>();
/// let text = decode_content(&registry, m.content)?;
/// assert_eq!(text.downcast_ref::<Text>(), Some(&Text::from("hi")));
/// // A type this process has no Rust type for still arrives, dynamically.
/// let unknown = decode_content(&ContentRegistry::new(), m.content)?;
/// assert!(unknown.downcast_ref::<DynContent>().is_some());
/// assert!(decode_content(&registry, None)?.downcast_ref::<Empty>().is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_content(
    registry: &ContentRegistry,
    content: Option<WireContentRef<'_>>,
) -> Result<ContentRef, String> {
    match content {
        None => Ok(Arc::new(Empty)),
        Some(c) => {
            check_depth(c.bytes).map_err(|reason| {
                format!("cannot decode content of type {}: {reason}", c.type_name)
            })?;
            registry.decode(c.type_name, c.bytes).map_err(|e| e.to_string())
        }
    }
}

/// Content as it travels in a reply (none for [`Empty`]).
fn encode_content(content: &ContentRef) -> Result<Option<WireContent>, String> {
    if content.is::<Empty>() {
        return Ok(None);
    }
    let bytes = content.encode().map_err(|e| e.to_string())?;
    Ok(Some(WireContent { type_name: content.type_name().to_owned(), bytes: Bytes::from(bytes) }))
}

fn id_out(id: &Id) -> IdOut<'_> {
    match id {
        Id::Int(i) => IdOut::Int(*i),
        Id::Str(s) => IdOut::Str(s.as_str()),
    }
}

/// The wire's form of an ID.
pub(crate) fn wire_id(id: &Id) -> WireId {
    match id {
        Id::Int(i) => WireId::Int(*i),
        Id::Str(s) => WireId::Str(s.as_str().to_owned()),
    }
}

/// The core's form of a wire ID.
pub(crate) fn core_id(id: WireId) -> Id {
    match id {
        WireId::Int(i) => Id::Int(i),
        WireId::Str(s) => Id::from(s),
    }
}

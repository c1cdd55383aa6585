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
pub fn encode_reply(reply: WireReply) -> Result<Bytes, WireError> {
    wire::encode_frame(&Frame::Reply(reply))
}

/// Decodes a reply frame.
///
/// # Errors
///
/// [`WireError::Decode`] when `bytes` is not one frame, or is a frame of
/// another kind.
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

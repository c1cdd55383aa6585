//! Encoding a message frame straight from the sender's envelope, byte for
//! byte what serde writes.

use super::WireError;
use serde::{Serialize, Serializer};

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
pub(super) enum FrameOut<'a> {
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

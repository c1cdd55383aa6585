//! A direct reader for the frame a stream is made of: a message exactly as
//! this crate writes it. It accepts only that canonical shape, consumed to
//! the last byte; anything else (another frame kind, another integer width,
//! a malformed frame) returns `None` and goes through serde, which decodes
//! it or says precisely what is wrong. Serde's visitors cost more than the
//! rest of receiving a message.

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

//! The link's queue ([`Outbox`]): frames waiting for the writer, already
//! length-prefixed in one buffer, bounded per class and per destination.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use bytes::BytesMut;

use crate::wire::WireIdRef;
use rustc_hash::FxHasher;

/// A link's queue: frames waiting for the writer, already length-prefixed
/// in one buffer. A sender appends its frame (no allocation, no queue
/// operation per frame); the writer takes the whole buffer at once and
/// hands it to the socket's codec as one batch.
///
/// Bounded in frames: messages (and the link's announcements) up to
/// `capacity`, replies apart up to `reply_capacity` (so that neither
/// starves the other: a peer that floods us with requests cannot lock our
/// own messages out, nor our messages its replies). Past `capacity`, a
/// [`Reserve`] is kept for destinations with little queued: one
/// destination that fills the queue (a flood to a slow listener) does not
/// lock the link's other destinations out. While the writer writes one
/// batch, senders fill the next, so at most two such buffers exist per
/// link (the bounded channel it replaces had the same reach: its queue plus
/// the codec's buffer).
#[derive(Default)]
pub(super) struct Outbox {
    /// Length-prefixed frames, in the order they were queued.
    pub(super) buf: BytesMut,
    /// Frames in `buf`.
    pub(super) frames: usize,
    /// Of those, messages and announcements (bounded by `capacity`, then
    /// the reserve), and replies (bounded by `reply_capacity`).
    messages: usize,
    replies: usize,
    /// Messages queued per destination ([`Class::Message`]'s lane).
    lanes: Lanes,
    /// IDs of the requests among them: recorded as in flight when the
    /// writer takes them (just before they are written).
    pub(super) requests: Vec<u64>,
    /// The last frame is a goodbye: after writing it, the connection ends.
    pub(super) goodbye: bool,
    /// The link is closed: nothing more is taken.
    pub(super) closed: bool,
}

/// What a queued frame is, for the queue's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// A message to the destination (or group) this lane stands for (see
    /// [`lane`]).
    Message(u64),
    /// A reply to the peer's request: bounded apart.
    Reply,
    /// An announcement.
    Control,
}

/// The lane of a message: a hash of its destination, or of its group.
/// Two destinations that share a lane share its part of the reserve, which
/// is all a collision costs.
pub(crate) fn lane(dest: Option<WireIdRef<'_>>, group: Option<WireIdRef<'_>>) -> u64 {
    use std::hash::Hasher;
    let mut h = FxHasher::default();
    let id = match (dest, group) {
        (Some(d), _) => Some((0, d)),
        (None, Some(g)) => Some((2, g)),
        (None, None) => None,
    };
    match id {
        Some((tag, WireIdRef::Int(i))) => {
            h.write_u8(tag);
            h.write_i64(i);
        }
        Some((tag, WireIdRef::Str(s))) => {
            h.write_u8(tag + 1);
            h.write(s.as_bytes());
        }
        None => {}
    }
    h.finish()
}

/// Frames queued per lane. The last lane pushed to is counted apart: a
/// stream to one destination touches no map.
#[derive(Default)]
struct Lanes {
    last: Option<(u64, usize)>,
    others: HashMap<u64, usize, BuildHasherDefault<FxHasher>>,
}

impl Lanes {
    fn get(&self, lane: u64) -> usize {
        match self.last {
            Some((l, n)) if l == lane => n,
            _ => self.others.get(&lane).copied().unwrap_or(0),
        }
    }

    fn add(&mut self, lane: u64) {
        match &mut self.last {
            Some((l, n)) if *l == lane => *n += 1,
            last => {
                if let Some((l, n)) = last.take() {
                    self.others.insert(l, n);
                }
                let n = self.others.remove(&lane).unwrap_or(0);
                *last = Some((lane, n + 1));
            }
        }
    }

    fn clear(&mut self) {
        self.last = None;
        self.others.clear();
    }
}

/// The room past a link's `capacity` kept for destinations with little
/// queued: a quarter of the capacity in all (at least one frame), and of
/// it, at most an eighth (at least one frame) to any one destination.
struct Reserve {
    frames: usize,
    per_lane: usize,
}

impl Reserve {
    fn of(capacity: usize) -> Reserve {
        let frames = (capacity / 4).max(1);
        Reserve { frames, per_lane: (frames / 8).max(1) }
    }
}

/// Why a frame was not queued.
pub(super) enum Refusal {
    Full,
    Closed,
}

impl Outbox {
    /// Appends one frame body with its length prefix, if its class has room.
    pub(super) fn push(
        &mut self,
        body: &[u8],
        request: Option<u64>,
        class: Class,
        capacity: usize,
        reply_capacity: usize,
    ) -> Result<(), Refusal> {
        // After a goodbye nothing more is sent: the link is closing.
        if self.closed || self.goodbye {
            return Err(Refusal::Closed);
        }
        let room = match class {
            Class::Reply => self.replies < reply_capacity,
            Class::Control => self.messages < capacity,
            Class::Message(lane) => {
                self.messages < capacity || {
                    let reserve = Reserve::of(capacity);
                    self.messages < capacity + reserve.frames
                        && self.lanes.get(lane) < reserve.per_lane
                }
            }
        };
        if !room {
            return Err(Refusal::Full);
        }
        match class {
            Class::Reply => self.replies += 1,
            Class::Control => self.messages += 1,
            Class::Message(lane) => {
                self.messages += 1;
                self.lanes.add(lane);
            }
        }
        self.append(body, request);
        Ok(())
    }

    /// Appends a frame past every bound (the goodbye, which is the last).
    pub(super) fn push_unbounded(&mut self, body: &[u8]) {
        self.messages += 1;
        self.append(body, None);
    }

    fn append(&mut self, body: &[u8], request: Option<u64>) {
        // The length fits: frames are checked against `max_frame_len`
        // (at most `u32::MAX`, see `NetConfig::max_frame_len`) first.
        self.buf.reserve(4 + body.len());
        self.buf.extend_from_slice(&(body.len() as u32).to_be_bytes());
        self.buf.extend_from_slice(body);
        self.frames += 1;
        self.requests.extend(request);
    }

    /// Forgets the counts of the frames taken (by the writer, or because
    /// the link closed); returns how many frames there were.
    pub(super) fn uncount(&mut self) -> usize {
        self.messages = 0;
        self.replies = 0;
        self.lanes.clear();
        std::mem::take(&mut self.frames)
    }
}

/// A batch the writer took from the outbox.
pub(super) struct Batch {
    pub(super) buf: BytesMut,
    pub(super) frames: usize,
    pub(super) requests: Vec<u64>,
    pub(super) goodbye: bool,
}

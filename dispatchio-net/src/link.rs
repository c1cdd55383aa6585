//! Links: a [`Link`] is the dispatcher's handle on one peer; behind it a task
//! runs the connection (a reader and a writer over one socket) and, for a
//! dialled link, reconnects with backoff when the connection drops.
//!
//! Order: frames queued on a link are written in queue order (a request
//! sent while nothing is queued is written by the sending thread itself,
//! after everything sent before it), and the peer's
//! [`LinkEvents::received`] (or, for a message,
//! [`LinkEvents::received_message`]) is called for each in the order the
//! frames arrived, awaiting each call before reading the next frame. Per-sender
//! order across processes therefore holds as long as one sender's messages to
//! one peer go through one link.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::{Future, poll_fn};
use std::hash::BuildHasherDefault;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::task::{Poll, Waker, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{FutureExt, SinkExt, StreamExt};
use parking_lot::Mutex;
use tokio::io::{ReadHalf, WriteHalf};
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::codec::{Decoder, Encoder, Framed, FramedWrite, LengthDelimitedCodec};
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};
use tracing::{debug, info, warn};

use crate::NetConfig;
use crate::address::Address;
use crate::error::{DownReason, HandshakeError, NetError, PeerLost, SendError};
use crate::frames::{FrameReader, ReadError};
use crate::socket::{self, BoundSocket, BoxIo, SocketFile};
use crate::wire::{
    self, Announcement, Frame, FrameIn, Handshake, Hello, PROTOCOL_VERSION, Payload, RefusalReason,
    Refused, Welcome, WireId, WireIdRef, WireMessageRef,
};
use rustc_hash::FxHasher as IdHasher;

type Conn = Framed<BoxIo, LinkCodec>;

/// A connection's halves after the handshake. Split at the socket, not
/// at the framing (as `StreamExt::split` would): the reader takes the
/// frames already buffered without a lock per frame, and the writers
/// share the write half under `Shared::direct`.
type ReadSide = FrameReader<ReadHalf<BoxIo>>;
type WriteSide = FramedWrite<WriteHalf<BoxIo>, LinkCodec>;

/// Splits a connection into its halves, keeping what either had buffered.
fn split_conn(conn: Conn) -> (ReadSide, WriteSide) {
    let parts = conn.into_parts();
    let (read, write) = tokio::io::split(parts.io);
    // Frames the handshake read ahead (the peer's announcements) come first.
    let reader = FrameReader::new(read, parts.read_buf, parts.codec.0.max_frame_length());
    let mut writer = FramedWrite::new(write, parts.codec);
    writer.write_buffer_mut().extend_from_slice(&parts.write_buf);
    (reader, writer)
}

/// The link's framing: [`wire::codec`] (a 4-byte big-endian length before
/// every frame), plus whole batches of frames already length-prefixed by the
/// link's queue ([`Outbox`]), written as they are.
struct LinkCodec(LengthDelimitedCodec);

/// What the link's writers hand to the codec.
enum Out {
    /// One frame body, to be length-prefixed.
    Frame(Bytes),
    /// Frames already length-prefixed, in order.
    Batch(BytesMut),
}

impl Decoder for LinkCodec {
    type Item = BytesMut;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, std::io::Error> {
        self.0.decode(src)
    }
}

impl Encoder<Bytes> for LinkCodec {
    type Error = std::io::Error;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        self.0.encode(item, dst)
    }
}

impl Encoder<Out> for LinkCodec {
    type Error = std::io::Error;

    fn encode(&mut self, item: Out, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        match item {
            Out::Frame(bytes) => self.0.encode(bytes, dst),
            Out::Batch(mut batch) => {
                if dst.is_empty() {
                    // Nothing buffered: take the batch's buffer as is and
                    // hand back the empty one, so neither is copied.
                    std::mem::swap(dst, &mut batch);
                } else {
                    dst.extend_from_slice(&batch);
                }
                Ok(())
            }
        }
    }
}

/// What the dispatcher implements to hear from its links.
///
/// The link layer calls these from its own tasks. [`received`](Self::received)
/// (and [`received_message`](Self::received_message)) is awaited before the
/// next frame of that link is read, which gives in-order
/// delivery and lets the dispatcher push back on a fast peer by awaiting (its
/// own bounded queues, for instance). It must not wait on anything that needs
/// this same link's peer to read: awaiting [`Link::send`] on the same link
/// inside `received` can deadlock two peers that flood each other (each
/// reader waits for its writer, each writer for the other's reader). Answer
/// with [`Link::try_send`], or hand the work to another task.
///
/// For each connection the calls come in this order: `link_up`, then
/// `announcements` (whose result is sent to the peer before any queued
/// frame), then `received` or `received_message` for each incoming frame,
/// then `link_down`. A frame
/// queued between `link_up` and the snapshot is sent after the snapshot, so
/// announcements must be idempotent (serving an ID twice is not a conflict
/// when it is the same peer).
pub trait LinkEvents: Send + Sync + 'static {
    /// What this side serves, sent to the peer as the first frame of every
    /// connection. After a reconnect the peer has forgotten the old state
    /// (it got `link_down`), so this must be the complete current state.
    fn announcements(&self) -> Vec<Announcement> {
        Vec::new()
    }

    /// A connection of `link` completed its handshake; from now on frames
    /// flow. Called again after each reconnect of a dialled link.
    fn link_up(&self, link: &Link) {
        let _ = link;
    }

    /// A message, reply or announcement arrived on `link`.
    fn received(&self, link: &Link, payload: Payload) -> impl Future<Output = ()> + Send;

    /// A message arrived on `link`, still borrowing the frame's bytes.
    ///
    /// Called instead of [`received`](Self::received) for message frames,
    /// with the same ordering promise. The default makes the owned
    /// [`WireMessage`](crate::WireMessage) and calls `received`; a receiver
    /// that only reads the fields overrides this to skip those allocations.
    fn received_message(
        &self,
        link: &Link,
        message: WireMessageRef<'_>,
    ) -> impl Future<Output = ()> + Send {
        self.received(link, Payload::Message(message.to_owned_message()))
    }

    /// An `Announce` frame listing `entries` announcements, more than
    /// [`NetConfig::max_announcements`], arrived on `link` and was refused
    /// whole: none of it is given to [`received`](Self::received). The link
    /// has logged it and carries on.
    fn announcement_refused(&self, link: &Link, entries: usize) {
        let _ = (link, entries);
    }

    /// A connection of `link` ended. The dispatcher forgets what the peer
    /// announced on it and fails every request in
    /// [`PeerLost::pending_requests`] with a peer-lost error.
    fn link_down(&self, link: &Link, lost: &PeerLost) {
        let _ = (link, lost);
    }

    /// A handshake failed: on a listener, with a peer that then was
    /// disconnected; on a dialled link, while reconnecting. (The first dial of
    /// [`connect`] returns its error instead.)
    fn handshake_failed(&self, remote: &str, error: &HandshakeError) {
        let _ = (remote, error);
    }
}

/// Identifies a link within this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(u64);

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "link#{}", self.0)
    }
}

/// Whether a link's connection is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Connected: frames are being written.
    Up,
    /// Reconnecting: frames queue up to the queue's capacity.
    Down,
    /// Closed for good: sends fail.
    Closed,
}

/// Which side opened the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// This side dialled; it reconnects when the connection drops.
    Dialled,
    /// A peer connected to our listener; when the connection drops, the link
    /// is closed (the peer redials, which makes a new link).
    Accepted,
}

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
struct Outbox {
    /// Length-prefixed frames, in the order they were queued.
    buf: BytesMut,
    /// Frames in `buf`.
    frames: usize,
    /// Of those, messages and announcements (bounded by `capacity`, then
    /// the reserve), and replies (bounded by `reply_capacity`).
    messages: usize,
    replies: usize,
    /// Messages queued per destination ([`Class::Message`]'s lane).
    lanes: Lanes,
    /// IDs of the requests among them: recorded as in flight when the
    /// writer takes them (just before they are written).
    requests: Vec<u64>,
    /// The last frame is a goodbye: after writing it, the connection ends.
    goodbye: bool,
    /// The link is closed: nothing more is taken.
    closed: bool,
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
    let mut h = IdHasher::default();
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
    others: HashMap<u64, usize, BuildHasherDefault<IdHasher>>,
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
enum Refusal {
    Full,
    Closed,
}

impl Outbox {
    /// Appends one frame body with its length prefix, if its class has room.
    fn push(
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
    fn push_unbounded(&mut self, body: &[u8]) {
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
    fn uncount(&mut self) -> usize {
        self.messages = 0;
        self.replies = 0;
        self.lanes.clear();
        std::mem::take(&mut self.frames)
    }
}

/// A batch the writer took from the outbox.
struct Batch {
    buf: BytesMut,
    frames: usize,
    requests: Vec<u64>,
    goodbye: bool,
}

/// The write half of the current connection, shared by the link's writer
/// and by senders that write a frame themselves when nothing is queued (a
/// request then reaches the socket without waking the writer's task).
#[derive(Default)]
struct Direct {
    sink: Option<WriteSide>,
    /// The writer's task: a sender polls with it, so whatever its write
    /// leaves pending (a partial flush) wakes the writer to finish it.
    writer: Option<Waker>,
}

struct Shared {
    id: LinkId,
    direction: Direction,
    remote: String,
    peer_name: Mutex<String>,
    outbox: Mutex<Outbox>,
    /// Wakes the writer: frames were queued into an empty outbox.
    queued_frames: Notify,
    /// Wakes senders waiting for room: the writer took a batch, or the
    /// link was closed.
    room: Notify,
    state: watch::Sender<LinkState>,
    /// Requests written to the current connection and not yet answered.
    in_flight: Mutex<HashSet<u64>>,
    max_frame_len: usize,
    capacity: usize,
    reply_capacity: usize,
    max_announcements: usize,
    close_grace: Duration,
    /// Set by [`Link::close`]: do not reconnect.
    closing: AtomicBool,
    /// Cancelled to stop the link's tasks at once.
    stop: CancellationToken,
    /// The connection's write half, while one is up.
    direct: Mutex<Direct>,
    /// Frames in the queue, counted before they enter it and uncounted when
    /// the writer hands them to the codec (under `direct`'s lock).
    queued: AtomicUsize,
    /// Tells the writer to finish a flush a sender started.
    flush: Notify,
    /// What the events side keeps for this link (the dispatcher's peer state), found
    /// without a map lookup for every frame read.
    owner: OnceLock<Weak<dyn Any + Send + Sync>>,
}

/// The dispatcher's handle on one peer. Cheap to clone.
///
/// A link lives until [`close`](Self::close)d (or, for an accepted link, until
/// its connection ends): dropping every handle does not stop a dialled link
/// from reconnecting.
#[derive(Clone)]
pub struct Link {
    shared: Arc<Shared>,
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("id", &self.shared.id)
            .field("direction", &self.shared.direction)
            .field("remote", &self.shared.remote)
            .field("peer_name", &*self.shared.peer_name.lock())
            .field("state", &self.state())
            .finish()
    }
}

static NEXT_LINK_ID: AtomicU64 = AtomicU64::new(1);

impl Link {
    fn new(direction: Direction, remote: String, peer_name: String, config: &NetConfig) -> Link {
        let (state, _) = watch::channel(LinkState::Up);
        Link {
            shared: Arc::new(Shared {
                id: LinkId(NEXT_LINK_ID.fetch_add(1, Ordering::Relaxed)),
                direction,
                remote,
                peer_name: Mutex::new(peer_name),
                outbox: Mutex::new(Outbox::default()),
                queued_frames: Notify::new(),
                room: Notify::new(),
                state,
                in_flight: Mutex::new(HashSet::new()),
                max_frame_len: config.max_frame_len,
                capacity: config.queue_capacity,
                reply_capacity: config.reply_capacity.unwrap_or(config.queue_capacity),
                max_announcements: config.max_announcements,
                close_grace: config.handshake_timeout,
                closing: AtomicBool::new(false),
                stop: CancellationToken::new(),
                direct: Mutex::new(Direct::default()),
                queued: AtomicUsize::new(0),
                flush: Notify::new(),
                owner: OnceLock::new(),
            }),
        }
    }

    /// This link's ID.
    pub fn id(&self) -> LinkId {
        self.shared.id
    }

    /// Whether we dialled or accepted it.
    pub fn direction(&self) -> Direction {
        self.shared.direction
    }

    /// The peer's address as dialled, or a description of an accepted peer.
    pub fn remote(&self) -> &str {
        &self.shared.remote
    }

    /// The name the peer gave in its handshake (updated on reconnect).
    pub fn peer_name(&self) -> String {
        self.shared.peer_name.lock().clone()
    }

    /// The current state.
    pub fn state(&self) -> LinkState {
        *self.shared.state.borrow()
    }

    /// A receiver that sees every state change (for waiting until the link
    /// is up again, or closed).
    pub fn watch_state(&self) -> watch::Receiver<LinkState> {
        self.shared.state.subscribe()
    }

    /// Queues `payload` for sending, waiting while the queue is full and the
    /// link is up (backpressure).
    ///
    /// # Errors
    /// [`SendError::DownAndFull`] if the link is down (or goes down while
    /// waiting) with a full queue, [`SendError::Closed`] once the link is
    /// closed, [`SendError::TooLarge`] / [`SendError::Encode`] if the frame
    /// cannot be sent at all.
    pub async fn send(&self, payload: Payload) -> Result<(), SendError> {
        let (bytes, request, class) = self.encode(payload)?;
        let mut state = self.shared.state.subscribe();
        loop {
            // Registered before looking, so room made after the look wakes us.
            let room = self.shared.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            match *state.borrow_and_update() {
                LinkState::Closed => return Err(SendError::Closed),
                // While down, nothing drains the queue, so waiting for room
                // could wait for ever: fail instead, as promised.
                LinkState::Down => return self.enqueue_now(&bytes, request, class),
                LinkState::Up => {}
            }
            match self.enqueue_now(&bytes, request, class) {
                Err(SendError::Full { .. } | SendError::DownAndFull { .. }) => {}
                done => return done,
            }
            tokio::select! {
                () = room => {}
                changed = state.changed() => {
                    if changed.is_err() {
                        return Err(SendError::Closed);
                    }
                }
            }
        }
    }

    /// Queues `payload` for sending without waiting.
    ///
    /// # Errors
    /// [`SendError::Full`] if the queue is full (or
    /// [`SendError::DownAndFull`] while the link is down), otherwise as
    /// [`send`](Self::send).
    pub fn try_send(&self, payload: Payload) -> Result<(), SendError> {
        let (bytes, request, class) = self.encode(payload)?;
        if self.state() == LinkState::Closed {
            return Err(SendError::Closed);
        }
        self.enqueue_now(&bytes, request, class)
    }

    /// Queues an already encoded message frame without waiting: the
    /// dispatcher's hot path, which encodes straight from its envelope.
    /// `request` is the message ID when the frame is a request awaiting a
    /// reply; `lane` stands for its destination ([`lane`]).
    ///
    /// # Errors
    /// As [`try_send`](Self::try_send).
    pub(crate) fn try_send_frame(
        &self,
        body: &[u8],
        request: Option<u64>,
        lane: u64,
    ) -> Result<(), SendError> {
        let max = self.frame_limit();
        if body.len() > max {
            return Err(SendError::TooLarge { len: body.len(), max });
        }
        // A closed link refuses in `enqueue_now` (its outbox is closed);
        // `write_now` finds no connection to write to.
        // A request is written at once from this thread when it can be: its
        // sender waits for the answer, so waking the writer's task first
        // would add a thread hand-off to every round trip. One-way frames
        // are queued, so that a stream is written in batches.
        if request.is_some() {
            if let Some(result) = self.write_now(body, request) {
                return result;
            }
        }
        self.enqueue_now(body, request, Class::Message(lane))
    }

    /// Stops tracking request `id` (the dispatcher gave up on it, for
    /// example after a timeout), so a later [`PeerLost`] does not list it.
    pub fn forget_request(&self, id: u64) {
        self.shared.in_flight.lock().remove(&id);
    }

    /// Closes the link for good: frames already queued are written, then a
    /// goodbye, then the connection is closed (waiting at most the handshake
    /// timeout for a slow peer). A dialled link stops reconnecting. Returns
    /// once the link is [`LinkState::Closed`] and `link_down` was reported.
    pub async fn close(&self, reason: &str) {
        self.shared.closing.store(true, Ordering::SeqCst);
        let mut state = self.shared.state.subscribe();
        if *state.borrow_and_update() == LinkState::Up {
            if let Ok(bytes) = wire::encode_frame(&Frame::Goodbye(reason.to_owned())) {
                // After everything queued, even a full queue: it is the last
                // frame, and nothing is queued after it.
                let queued = {
                    let mut outbox = self.shared.outbox.lock();
                    if outbox.closed || outbox.goodbye {
                        false
                    } else {
                        self.shared.queued.fetch_add(1, Ordering::SeqCst);
                        if outbox.frames == 0 {
                            self.shared.queued_frames.notify_one();
                        }
                        outbox.push_unbounded(&bytes);
                        outbox.goodbye = true;
                        true
                    }
                };
                if queued {
                    let graceful = state.wait_for(|s| *s == LinkState::Closed);
                    let _ = tokio::time::timeout(self.shared.close_grace, graceful).await;
                }
            }
        }
        self.shared.stop.cancel();
        let _ = self.shared.state.subscribe().wait_for(|s| *s == LinkState::Closed).await;
    }

    /// The largest frame body this link sends: the configured limit, and
    /// what a 4-byte length prefix can say.
    fn frame_limit(&self) -> usize {
        self.shared.max_frame_len.min(u32::MAX as usize)
    }

    fn encode(&self, payload: Payload) -> Result<(Bytes, Option<u64>, Class), SendError> {
        let request = match &payload {
            Payload::Message(m) if m.response_required && !m.is_response => Some(m.id),
            _ => None,
        };
        let class = match &payload {
            Payload::Message(m) => Class::Message(lane(
                m.dest.as_ref().map(WireId::borrowed),
                m.group.as_ref().map(WireId::borrowed),
            )),
            Payload::Reply(_) => Class::Reply,
            Payload::Announce(_) => Class::Control,
        };
        let bytes = wire::encode_frame(&Frame::from(payload))?;
        let max = self.frame_limit();
        if bytes.len() > max {
            return Err(SendError::TooLarge { len: bytes.len(), max });
        }
        Ok((bytes, request, class))
    }

    fn enqueue_now(
        &self,
        body: &[u8],
        request: Option<u64>,
        class: Class,
    ) -> Result<(), SendError> {
        let pushed = {
            let mut outbox = self.shared.outbox.lock();
            let was_empty = outbox.frames == 0;
            // Counted before the writer can see it; the writer uncounts it.
            self.shared.queued.fetch_add(1, Ordering::SeqCst);
            let shared = &*self.shared;
            let pushed = outbox.push(body, request, class, shared.capacity, shared.reply_capacity);
            match pushed {
                Ok(()) if was_empty => {
                    // One wake-up per batch, not per frame: the writer takes
                    // everything queued when it wakes.
                    self.shared.queued_frames.notify_one();
                }
                Ok(()) => {}
                Err(_) => {
                    self.shared.queued.fetch_sub(1, Ordering::SeqCst);
                }
            }
            pushed
        };
        let capacity = match class {
            Class::Reply => self.shared.reply_capacity,
            _ => self.shared.capacity,
        };
        match pushed {
            Ok(()) => Ok(()),
            Err(Refusal::Full) => Err(if self.state() == LinkState::Up {
                SendError::Full { capacity }
            } else {
                SendError::DownAndFull { capacity }
            }),
            Err(Refusal::Closed) => Err(SendError::Closed),
        }
    }

    /// Writes a frame from the sender's own thread when nothing is queued
    /// and the socket takes it at once; `None` when it must be queued
    /// instead. Order holds: with nothing queued, every frame sent before
    /// is already in the codec's buffer, ahead of this one.
    fn write_now(&self, body: &[u8], request: Option<u64>) -> Option<Result<(), SendError>> {
        if self.shared.queued.load(Ordering::SeqCst) != 0 {
            return None;
        }
        // Never wait for the writer: it may be in the middle of a batch.
        let mut direct = self.shared.direct.try_lock()?;
        let Direct { sink: Some(sink), writer: Some(waker) } = &mut *direct else {
            return None;
        };
        // Checked again under the lock the writer uncounts frames under.
        if self.shared.queued.load(Ordering::SeqCst) != 0 {
            return None;
        }
        let waker = waker.clone();
        let mut cx = std::task::Context::from_waker(&waker);
        match SinkExt::<Out>::poll_ready_unpin(sink, &mut cx) {
            Poll::Ready(Ok(())) => {}
            _ => return None,
        }
        if let Some(id) = request {
            // Recorded before writing, so a reply cannot overtake it.
            self.shared.in_flight.lock().insert(id);
        }
        if let Err(e) =
            SinkExt::<Out>::start_send_unpin(sink, Out::Frame(Bytes::copy_from_slice(body)))
        {
            // Only a frame over the codec's limit fails here, and that was
            // checked; should it happen, the sender is told.
            if let Some(id) = request {
                self.shared.in_flight.lock().remove(&id);
            }
            warn!(link = %self.id(), error = %e, "cannot buffer a frame");
            return Some(Err(SendError::Closed));
        }
        if !matches!(SinkExt::<Out>::poll_flush_unpin(sink, &mut cx), Poll::Ready(Ok(()))) {
            // Written in part (the socket is full) or failed: the writer
            // finishes the flush, or meets the error and ends the connection.
            self.shared.flush.notify_one();
        }
        Some(Ok(()))
    }

    /// Attaches what the events side keeps for this link (first one wins).
    pub(crate) fn set_owner(&self, owner: Weak<dyn Any + Send + Sync>) {
        let _ = self.shared.owner.set(owner);
    }

    /// What [`set_owner`](Self::set_owner) attached, while it lives.
    pub(crate) fn owner(&self) -> Option<Arc<dyn Any + Send + Sync>> {
        self.shared.owner.get().and_then(Weak::upgrade)
    }

    /// The writer takes everything queued (`None` when nothing is).
    fn take_batch(&self) -> Option<Batch> {
        let mut outbox = self.shared.outbox.lock();
        if outbox.frames == 0 {
            return None;
        }
        // The next batch is likely as large as this one.
        let capacity = outbox.buf.len();
        let batch = Batch {
            buf: std::mem::replace(&mut outbox.buf, BytesMut::with_capacity(capacity)),
            frames: outbox.uncount(),
            requests: std::mem::take(&mut outbox.requests),
            // Stays set: nothing is queued after a goodbye.
            goodbye: outbox.goodbye,
        };
        drop(outbox);
        self.shared.room.notify_waiters();
        Some(batch)
    }

    fn set_state(&self, state: LinkState) {
        self.shared.state.send_replace(state);
    }

    fn take_in_flight(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.shared.in_flight.lock().drain().collect();
        ids.sort_unstable();
        ids
    }
}

/// A listening socket that accepts peers, each becoming an accepted [`Link`].
///
/// Dropping it stops accepting (and removes its Unix socket file); links
/// already accepted carry on. [`close`](Self::close) also closes them.
pub struct Acceptor {
    local: Address,
    stop: CancellationToken,
    links: Arc<Mutex<Vec<Link>>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _socket_file: Option<SocketFile>,
}

impl fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acceptor").field("local", &self.local).finish()
    }
}

impl Acceptor {
    /// The address it listens on; for `tcp:…:0`, with the port the system chose.
    pub fn local_addr(&self) -> &Address {
        &self.local
    }

    /// The accepted links that are still open.
    pub fn links(&self) -> Vec<Link> {
        self.links.lock().clone()
    }

    /// Stops accepting, removes the socket file, and closes every accepted
    /// link (each peer gets a goodbye).
    pub async fn close(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let links = self.links();
        futures::future::join_all(links.iter().map(|l| l.close("listener closed"))).await;
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Listens on `address`, accepting peers that pass the handshake.
///
/// Each accepted peer becomes a [`Link`] announced through
/// [`LinkEvents::link_up`]; a peer that fails the handshake is refused with a
/// [`Refused`] frame, disconnected, and reported through
/// [`LinkEvents::handshake_failed`] and a `tracing` warning. A Unix socket is
/// created owner-only (see the [module docs](super)).
///
/// # Errors
/// [`NetError::ListenerNeedsSecret`] for TCP without a secret (unless
/// [`NetConfig::allow_unauthenticated`]); [`NetError::SocketPathInUse`] or
/// [`NetError::NotASocket`] if the Unix path is taken; [`NetError::Io`] if
/// binding fails.
pub async fn listen<E: LinkEvents>(
    address: &Address,
    config: &NetConfig,
    events: Arc<E>,
) -> Result<Acceptor, NetError> {
    if address.is_tcp() && config.secret.is_none() && !config.allow_unauthenticated {
        return Err(NetError::ListenerNeedsSecret { address: address.to_string() });
    }
    let (acceptor, local, socket_file) = socket::bind(address).await?;
    info!(address = %local, "listening");
    let stop = CancellationToken::new();
    let links = Arc::new(Mutex::new(Vec::new()));
    let task = tokio::spawn(accept_loop(
        acceptor,
        local.clone(),
        config.clone(),
        events,
        stop.clone(),
        links.clone(),
    ));
    Ok(Acceptor { local, stop, links, task: Some(task), _socket_file: socket_file })
}

async fn accept_loop<E: LinkEvents>(
    acceptor: BoundSocket,
    local: Address,
    config: NetConfig,
    events: Arc<E>,
    stop: CancellationToken,
    links: Arc<Mutex<Vec<Link>>>,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = acceptor.accept() => accepted,
        };
        match accepted {
            Ok((io, remote)) => {
                tokio::spawn(serve_accepted(
                    io,
                    remote,
                    config.clone(),
                    events.clone(),
                    links.clone(),
                    stop.clone(),
                ));
            }
            Err(e) => {
                // Typically out of file descriptors: pause rather than spin,
                // and keep the listener (and every other link) alive.
                warn!(address = %local, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn serve_accepted<E: LinkEvents>(
    io: BoxIo,
    remote: String,
    config: NetConfig,
    events: Arc<E>,
    links: Arc<Mutex<Vec<Link>>>,
    listening: CancellationToken,
) {
    let mut conn = Framed::new(io, LinkCodec(wire::codec(config.max_frame_len)));
    let handshake =
        tokio::time::timeout(config.handshake_timeout, accept_handshake(&mut conn, &config));
    let peer_name = match handshake.await {
        Ok(Ok(name)) => name,
        Ok(Err(e)) => return refuse_log(&*events, &remote, e),
        Err(_) => {
            let e = HandshakeError::Timeout { after: config.handshake_timeout };
            return refuse_log(&*events, &remote, e);
        }
    };
    let link = Link::new(Direction::Accepted, remote, peer_name, &config);
    {
        // Checked under the lock that `Acceptor::close` takes after
        // cancelling: either close sees this link, or this sees the cancel.
        let mut registry = links.lock();
        if listening.is_cancelled() {
            debug!(remote = %link.remote(), "listener closed during the handshake; dropping the connection");
            return;
        }
        registry.push(link.clone());
    }
    info!(link = %link.id(), peer = %link.peer_name(), remote = %link.remote(), "peer connected");
    events.link_up(&link);
    supervise(link.clone(), conn, events, None, config.keepalive).await;
    links.lock().retain(|l| l.id() != link.id());
}

fn refuse_log<E: LinkEvents>(events: &E, remote: &str, e: HandshakeError) {
    warn!(remote, error = %e, "handshake failed; connection closed");
    events.handshake_failed(remote, &e);
}

/// Dials `address` and performs the handshake; the returned link reconnects
/// with exponential backoff whenever the connection drops, until closed.
///
/// [`LinkEvents::link_up`] is called for the first connection before this
/// returns.
///
/// # Errors
/// [`NetError::Io`] if the first connection cannot be made,
/// [`NetError::Handshake`] if the peer refuses it (wrong version or secret)
/// or does not answer in time.
pub async fn connect<E: LinkEvents>(
    address: &Address,
    config: &NetConfig,
    events: Arc<E>,
) -> Result<Link, NetError> {
    let (conn, peer_name) = dial(address, config).await?;
    let link = Link::new(Direction::Dialled, address.to_string(), peer_name, config);
    info!(link = %link.id(), peer = %link.peer_name(), address = %address, "connected");
    events.link_up(&link);
    tokio::spawn(supervise(
        link.clone(),
        conn,
        events,
        Some((address.clone(), config.clone())),
        config.keepalive,
    ));
    Ok(link)
}

async fn dial(address: &Address, config: &NetConfig) -> Result<(Conn, String), NetError> {
    let io = socket::dial(address).await?;
    let mut conn = Framed::new(io, LinkCodec(wire::codec(config.max_frame_len)));
    let handshake =
        tokio::time::timeout(config.handshake_timeout, dial_handshake(&mut conn, config));
    let result = match handshake.await {
        Ok(result) => result,
        Err(_) => Err(HandshakeError::Timeout { after: config.handshake_timeout }),
    };
    match result {
        Ok(name) => Ok((conn, name)),
        Err(source) => Err(NetError::Handshake { address: address.to_string(), source }),
    }
}

async fn read_handshake(conn: &mut Conn) -> Result<Handshake, HandshakeError> {
    match conn.next().await {
        None => Err(HandshakeError::Closed),
        Some(Err(e)) => Err(HandshakeError::Io(e)),
        Some(Ok(bytes)) => wire::decode_handshake(&bytes).map_err(HandshakeError::Malformed),
    }
}

async fn write_handshake(conn: &mut Conn, h: &Handshake) -> Result<(), HandshakeError> {
    let bytes = wire::encode_handshake(h).map_err(HandshakeError::Malformed)?;
    conn.send(bytes).await.map_err(HandshakeError::Io)
}

/// Dialler side: Hello out, Welcome or Refused back.
async fn dial_handshake(conn: &mut Conn, config: &NetConfig) -> Result<String, HandshakeError> {
    let hello = Handshake::Hello(Hello {
        version: PROTOCOL_VERSION,
        peer_name: config.peer_name.clone(),
        secret: config.secret.clone(),
    });
    write_handshake(conn, &hello).await?;
    match read_handshake(conn).await? {
        Handshake::Welcome(w) if w.version == PROTOCOL_VERSION => Ok(w.peer_name),
        Handshake::Welcome(w) => {
            Err(HandshakeError::VersionMismatch { ours: PROTOCOL_VERSION, theirs: w.version })
        }
        Handshake::Refused(Refused {
            reason: RefusalReason::VersionMismatch { listener_version },
            ..
        }) => Err(HandshakeError::VersionMismatch {
            ours: PROTOCOL_VERSION,
            theirs: listener_version,
        }),
        Handshake::Refused(r) => Err(HandshakeError::Refused { reason: r.reason, text: r.text }),
        Handshake::Hello(_) => {
            Err(HandshakeError::Unexpected { expected: "Welcome or Refused", got: "Hello".into() })
        }
    }
}

/// Listener side: Hello in; checks version then secret; Welcome or Refused out.
async fn accept_handshake(conn: &mut Conn, config: &NetConfig) -> Result<String, HandshakeError> {
    let hello = match read_handshake(conn).await {
        Ok(Handshake::Hello(h)) => h,
        Ok(other) => {
            let got = match other {
                Handshake::Welcome(_) => "Welcome",
                _ => "Refused",
            };
            refuse(conn, RefusalReason::Protocol, "the first frame must be Hello").await;
            return Err(HandshakeError::Unexpected { expected: "Hello", got: got.into() });
        }
        Err(e @ HandshakeError::Malformed(_)) => {
            refuse(conn, RefusalReason::Protocol, "the first frame is not a valid Hello").await;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    if hello.version != PROTOCOL_VERSION {
        let text = format!(
            "this listener speaks protocol version {PROTOCOL_VERSION}, you speak {}",
            hello.version
        );
        let reason = RefusalReason::VersionMismatch { listener_version: PROTOCOL_VERSION };
        refuse(conn, reason, &text).await;
        return Err(HandshakeError::VersionMismatch {
            ours: PROTOCOL_VERSION,
            theirs: hello.version,
        });
    }
    if let Some(expected) = &config.secret {
        match &hello.secret {
            None => {
                refuse(conn, RefusalReason::MissingSecret, "a shared secret is required").await;
                return Err(HandshakeError::MissingSecret { peer_name: hello.peer_name });
            }
            Some(given) if !expected.matches(given) => {
                refuse(conn, RefusalReason::BadSecret, "wrong shared secret").await;
                return Err(HandshakeError::BadSecret { peer_name: hello.peer_name });
            }
            Some(_) => {}
        }
    }
    let welcome = Handshake::Welcome(Welcome {
        version: PROTOCOL_VERSION,
        peer_name: config.peer_name.clone(),
    });
    write_handshake(conn, &welcome).await?;
    Ok(hello.peer_name)
}

/// Tells the peer why it is refused. Best effort: the connection is closed
/// right after, whether or not the peer reads this.
async fn refuse(conn: &mut Conn, reason: RefusalReason, text: &str) {
    let refused = Handshake::Refused(Refused { reason, text: text.to_owned() });
    let _ = write_handshake(conn, &refused).await;
}

/// Runs a link's connections until it is closed: the current one, then, for
/// a dialled link, reconnecting with backoff after each loss.
async fn supervise<E: LinkEvents>(
    link: Link,
    conn: Conn,
    events: Arc<E>,
    redial_to: Option<(Address, NetConfig)>,
    keepalive: Option<Duration>,
) {
    let mut conn = Some(conn);
    loop {
        if let Some(c) = conn.take() {
            let reason = run_connection(&link, c, &*events, keepalive).await;
            let reconnecting = redial_to.is_some()
                && !link.shared.closing.load(Ordering::SeqCst)
                && !link.shared.stop.is_cancelled();
            let mut pending = link.take_in_flight();
            if reconnecting {
                link.set_state(LinkState::Down);
            } else {
                close_queue(&link, &mut pending);
            }
            log_down(&link, &reason, reconnecting);
            let lost = PeerLost {
                link: link.id(),
                peer_name: link.peer_name(),
                reason,
                pending_requests: pending,
                reconnecting,
            };
            events.link_down(&link, &lost);
            if !reconnecting {
                return;
            }
        }
        let Some((address, config)) = &redial_to else {
            return;
        };
        match redial(&link, address, config, &*events).await {
            Some((c, peer_name)) => {
                *link.shared.peer_name.lock() = peer_name;
                link.set_state(LinkState::Up);
                info!(link = %link.id(), peer = %link.peer_name(), "reconnected");
                events.link_up(&link);
                conn = Some(c);
            }
            None => {
                // Closed while down: the queued requests will never be sent.
                let mut pending = Vec::new();
                close_queue(&link, &mut pending);
                let lost = PeerLost {
                    link: link.id(),
                    peer_name: link.peer_name(),
                    reason: DownReason::LocalClose,
                    pending_requests: pending,
                    reconnecting: false,
                };
                events.link_down(&link, &lost);
                return;
            }
        }
    }
}

/// Marks the link closed and collects the requests still queued on it.
fn close_queue(link: &Link, pending: &mut Vec<u64>) {
    link.set_state(LinkState::Closed);
    let mut outbox = link.shared.outbox.lock();
    outbox.closed = true;
    pending.append(&mut outbox.requests);
    let frames = outbox.uncount();
    link.shared.queued.fetch_sub(frames, Ordering::SeqCst);
    outbox.buf = BytesMut::new();
    drop(outbox);
    link.shared.room.notify_waiters();
}

fn log_down(link: &Link, reason: &DownReason, reconnecting: bool) {
    let (id, peer) = (link.id(), link.peer_name());
    match reason {
        DownReason::FrameTooLarge { .. } | DownReason::Malformed(_) => {
            warn!(link = %id, peer = %peer, reason = %reason, "closed the connection after bad input");
        }
        DownReason::LocalClose | DownReason::Goodbye(_) => {
            info!(link = %id, peer = %peer, reason = %reason, reconnecting, "connection closed");
        }
        _ => warn!(link = %id, peer = %peer, reason = %reason, reconnecting, "peer lost"),
    }
}

/// Dials again with exponential backoff until it succeeds or the link is
/// closed (`None`).
async fn redial<E: LinkEvents>(
    link: &Link,
    address: &Address,
    config: &NetConfig,
    events: &E,
) -> Option<(Conn, String)> {
    let mut delay = config.backoff_initial;
    loop {
        tokio::select! {
            _ = link.shared.stop.cancelled() => return None,
            _ = tokio::time::sleep(delay) => {}
        }
        if link.shared.closing.load(Ordering::SeqCst) {
            return None;
        }
        let attempt = tokio::select! {
            _ = link.shared.stop.cancelled() => return None,
            attempt = dial(address, config) => attempt,
        };
        match attempt {
            Ok(c) => return Some(c),
            Err(NetError::Handshake { source, .. }) => {
                warn!(link = %link.id(), address = %address, error = %source, "reconnect refused");
                events.handshake_failed(&address.to_string(), &source);
            }
            Err(e) => debug!(link = %link.id(), error = %e, retry_in = ?delay, "reconnect failed"),
        }
        delay = (delay * 2).min(config.backoff_max);
    }
}

/// How one half of a connection ended.
enum End {
    /// Told to stop by the other half or by a local close.
    Stopped,
    Reason(DownReason),
}

/// Runs one connection: sends the announcement snapshot, then reads and
/// writes until either side ends it. Returns why it ended.
async fn run_connection<E: LinkEvents>(
    link: &Link,
    conn: Conn,
    events: &E,
    keepalive: Option<Duration>,
) -> DownReason {
    let (mut stream, mut sink) = split_conn(conn);
    let stop = link.shared.stop.child_token();
    let snapshot = events.announcements();
    if snapshot.len() > link.shared.max_announcements {
        warn!(
            link = %link.id(),
            entries = snapshot.len(),
            limit = link.shared.max_announcements,
            "this process serves more than one announcement frame may list: a peer with the same limit refuses its snapshot"
        );
    }
    if !snapshot.is_empty() {
        match wire::encode_frame(&Frame::Announce(snapshot)) {
            Ok(bytes) => {
                match guarded(std::pin::pin!(stop.cancelled()), sink.send(Out::Frame(bytes))).await
                {
                    None => return DownReason::LocalClose,
                    Some(Err(e)) => return DownReason::io(&e),
                    Some(Ok(())) => {}
                }
            }
            Err(e) => warn!(link = %link.id(), error = %e, "cannot encode the announcements"),
        }
    }
    // From here on, senders may write to the socket directly too.
    *link.shared.direct.lock() = Direct { sink: Some(sink), writer: None };
    let _clear = ClearDirect(&link.shared);
    let (pong_tx, mut pong_rx) = mpsc::channel(8);
    let reader = async {
        let end = read_loop(link, &mut stream, events, pong_tx, &stop, keepalive).await;
        stop.cancel();
        end
    };
    let writer = async {
        let end = write_loop(link, &mut pong_rx, &stop, keepalive).await;
        stop.cancel();
        end
    };
    let (read_end, write_end) = tokio::join!(reader, writer);
    match (read_end, write_end) {
        // A goodbye we wrote ends the connection on purpose, whatever the
        // reader saw afterwards.
        (_, End::Reason(DownReason::LocalClose)) => DownReason::LocalClose,
        (End::Reason(r), _) | (End::Stopped, End::Reason(r)) => r,
        (End::Stopped, End::Stopped) => DownReason::LocalClose,
    }
}

async fn read_loop<E: LinkEvents>(
    link: &Link,
    stream: &mut ReadSide,
    events: &E,
    pong_tx: mpsc::Sender<u64>,
    stop: &CancellationToken,
    keepalive: Option<Duration>,
) -> End {
    // Three missed pings: long enough to ride out a busy peer, short enough
    // to notice a vanished machine.
    let dead_after = keepalive.map(|k| k * 3);
    let mut unchecked = 0;
    loop {
        // A frame already buffered is taken without a keep-alive timer or a
        // look at the stop token, which cost more than the frame itself when
        // a peer streams; the token is still checked every few frames, so a
        // flood cannot keep a closed link reading.
        let range = match stream.buffered() {
            Ok(Some(range)) => range,
            Ok(None) => {
                // The socket is tried once as it is (most often it has more),
                // then waited on with the timer and the token.
                let filled = match stream.fill().now_or_never() {
                    Some(filled) => filled,
                    None => {
                        tokio::select! {
                            biased;
                            () = stop.cancelled() => return End::Stopped,
                            filled = fill_within(stream, dead_after) => match filled {
                                Ok(filled) => filled,
                                Err(after) => {
                                    return End::Reason(DownReason::KeepaliveTimeout { after });
                                }
                            },
                        }
                    }
                };
                match filled {
                    Ok(true) => continue,
                    Ok(false) => return End::Reason(DownReason::PeerClosed),
                    Err(e) => return End::Reason(read_error(e, link)),
                }
            }
            Err(e) => return End::Reason(read_error(e, link)),
        };
        unchecked += 1;
        if unchecked == STOP_CHECK_EVERY {
            unchecked = 0;
            if stop.is_cancelled() {
                return End::Stopped;
            }
        }
        let body = stream.frame(range);
        // Too many announcements are refused from the frame's header,
        // before decoding them costs anything.
        if let Some(n) = wire::announce_len(body).filter(|&n| n > link.shared.max_announcements) {
            refuse_announcement(link, events, n);
            continue;
        }
        let frame = match wire::decode_frame_in(body) {
            Ok(frame) => frame,
            Err(e) => return End::Reason(DownReason::Malformed(e.to_string())),
        };
        let payload = match frame {
            FrameIn::Message(m) => {
                events.received_message(link, m).await;
                continue;
            }
            FrameIn::Reply(r) => {
                link.shared.in_flight.lock().remove(&r.to);
                Payload::Reply(r)
            }
            // The same limit for a frame whose header was not read above
            // (another valid encoding of it).
            FrameIn::Announce(a) if a.len() > link.shared.max_announcements => {
                refuse_announcement(link, events, a.len());
                continue;
            }
            FrameIn::Announce(a) => Payload::Announce(a),
            FrameIn::Ping(n) => {
                // If pongs back up, the writer is stuck anyway; dropping one
                // is harmless since any frame proves liveness.
                let _ = pong_tx.try_send(n);
                continue;
            }
            FrameIn::Pong(_) => continue,
            FrameIn::Goodbye(text) => return End::Reason(DownReason::Goodbye(text)),
        };
        events.received(link, payload).await;
    }
}

/// Logs and reports an `Announce` frame refused for listing `entries`
/// announcements, more than the link takes in one frame.
fn refuse_announcement<E: LinkEvents>(link: &Link, events: &E, entries: usize) {
    warn!(
        link = %link.id(),
        peer = %link.peer_name(),
        entries,
        limit = link.shared.max_announcements,
        "announcement refused: it lists more than one frame may (NetConfig::max_announcements)"
    );
    events.announcement_refused(link, entries);
}

/// How many frames the reader takes in a row before it looks at the stop
/// token again.
const STOP_CHECK_EVERY: u32 = 64;

/// Reads more of the socket, giving up after `limit` (the keep-alive's
/// patience) when there is one.
async fn fill_within(
    stream: &mut ReadSide,
    limit: Option<Duration>,
) -> Result<Result<bool, ReadError>, Duration> {
    match limit {
        None => Ok(stream.fill().await),
        Some(limit) => tokio::time::timeout(limit, stream.fill()).await.map_err(|_| limit),
    }
}

fn read_error(e: ReadError, link: &Link) -> DownReason {
    match e {
        ReadError::TooLarge => DownReason::FrameTooLarge { max: link.shared.max_frame_len },
        ReadError::Truncated => DownReason::io(&std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the peer closed the connection in the middle of a frame",
        )),
        ReadError::Io(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof
            ) =>
        {
            DownReason::PeerClosed
        }
        ReadError::Io(e) => DownReason::io(&e),
    }
}

async fn write_loop(
    link: &Link,
    pongs: &mut mpsc::Receiver<u64>,
    stop: &CancellationToken,
    keepalive: Option<Duration>,
) -> End {
    let shared = &*link.shared;
    let mut ping = keepalive.map(|k| tokio::time::interval_at(tokio::time::Instant::now() + k, k));
    let mut ping_counter = 0u64;
    // Made once: a cancellation future per frame would register and
    // unregister a waiter on the token for every frame written.
    let cancelled = stop.cancelled();
    tokio::pin!(cancelled);
    // Senders that write directly poll with this task's waker.
    poll_fn(|cx| {
        shared.direct.lock().writer = Some(cx.waker().clone());
        Poll::Ready(())
    })
    .await;
    loop {
        // Everything queued, a batch at a time (what was queued while one
        // was written is the next), before waiting again: frames queued
        // while no connection was up are sent first thing.
        while let Some(batch) = link.take_batch() {
            if !batch.requests.is_empty() {
                // Recorded before writing, so a reply cannot overtake it.
                shared.in_flight.lock().extend(batch.requests.iter().copied());
            }
            let goodbye = batch.goodbye;
            match guarded(cancelled.as_mut(), feed(shared, batch)).await {
                None => return End::Stopped,
                Some(Err(e)) => return End::Reason(DownReason::io(&e)),
                Some(Ok(())) => {}
            }
            let flushed = guarded(cancelled.as_mut(), flush(shared)).await;
            if goodbye {
                return End::Reason(DownReason::LocalClose);
            }
            match flushed {
                None => return End::Stopped,
                Some(Err(e)) => return End::Reason(DownReason::io(&e)),
                Some(Ok(())) => {}
            }
        }
        let control = tokio::select! {
            biased;
            _ = &mut cancelled => return End::Stopped,
            Some(n) = pongs.recv() => Some(Frame::Pong(n)),
            () = shared.queued_frames.notified() => None,
            // A sender's direct write left part of a flush to do.
            () = shared.flush.notified() => None,
            _ = tick(&mut ping) => {
                ping_counter += 1;
                Some(Frame::Ping(ping_counter))
            }
        };
        if let Some(frame) = control {
            // Control frames are tiny and of fixed shape; encoding cannot fail.
            let bytes = wire::encode_frame(&frame).unwrap_or_default();
            match guarded(cancelled.as_mut(), feed_control(shared, bytes)).await {
                None => return End::Stopped,
                Some(Err(e)) => return End::Reason(DownReason::io(&e)),
                Some(Ok(())) => {}
            }
        }
        match guarded(cancelled.as_mut(), flush(shared)).await {
            None => return End::Stopped,
            Some(Err(e)) => return End::Reason(DownReason::io(&e)),
            Some(Ok(())) => {}
        }
    }
}

/// A batch on its way from the outbox to the codec; its frames are
/// uncounted from `Shared::queued` when handed over, or when dropped on the
/// way (the connection failed: they are lost with it, and its requests are
/// reported as in flight).
struct InHand<'a> {
    batch: Option<Batch>,
    queued: &'a AtomicUsize,
}

impl Drop for InHand<'_> {
    fn drop(&mut self) {
        if let Some(b) = self.batch.take() {
            self.queued.fetch_sub(b.frames, Ordering::SeqCst);
        }
    }
}

/// Hands a batch of queued frames to the codec of the shared write half.
fn feed(shared: &Shared, batch: Batch) -> impl Future<Output = std::io::Result<()>> + '_ {
    let mut in_hand = InHand { batch: Some(batch), queued: &shared.queued };
    poll_fn(move |cx| {
        let mut direct = shared.direct.lock();
        let Some(sink) = direct.sink.as_mut() else {
            return Poll::Ready(Err(std::io::ErrorKind::NotConnected.into()));
        };
        ready!(SinkExt::<Out>::poll_ready_unpin(sink, cx))?;
        let Some(batch) = in_hand.batch.take() else { return Poll::Ready(Ok(())) };
        // Under the lock senders check the count under: once it is zero,
        // every queued frame is in the codec, ahead of theirs.
        shared.queued.fetch_sub(batch.frames, Ordering::SeqCst);
        Poll::Ready(SinkExt::<Out>::start_send_unpin(sink, Out::Batch(batch.buf)))
    })
}

/// Hands a control frame (ping, pong) to the codec; it is not queued.
fn feed_control(shared: &Shared, bytes: Bytes) -> impl Future<Output = std::io::Result<()>> + '_ {
    let mut bytes = Some(bytes);
    poll_fn(move |cx| {
        let mut direct = shared.direct.lock();
        let Some(sink) = direct.sink.as_mut() else {
            return Poll::Ready(Err(std::io::ErrorKind::NotConnected.into()));
        };
        ready!(SinkExt::<Out>::poll_ready_unpin(sink, cx))?;
        match bytes.take() {
            Some(b) => Poll::Ready(SinkExt::<Out>::start_send_unpin(sink, Out::Frame(b))),
            None => Poll::Ready(Ok(())),
        }
    })
}

/// Flushes the shared write half.
fn flush(shared: &Shared) -> impl Future<Output = std::io::Result<()>> + '_ {
    poll_fn(move |cx| match shared.direct.lock().sink.as_mut() {
        Some(sink) => SinkExt::<Out>::poll_flush_unpin(sink, cx),
        None => Poll::Ready(Err(std::io::ErrorKind::NotConnected.into())),
    })
}

/// Takes the write half back from senders when a connection ends.
struct ClearDirect<'a>(&'a Shared);

impl Drop for ClearDirect<'_> {
    fn drop(&mut self) {
        *self.0.direct.lock() = Direct::default();
    }
}

async fn tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Runs `fut` unless the stop token fires while it waits (a write to a peer that stopped
/// reading must not keep a closing link alive).
async fn guarded<F: Future>(
    cancelled: Pin<&mut WaitForCancellationFuture<'_>>,
    fut: F,
) -> Option<F::Output> {
    // The work first: a write that completes at once (the usual case: the
    // codec's buffer has room) does not even look at the token.
    tokio::select! {
        biased;
        out = fut => Some(out),
        _ = cancelled => None,
    }
}

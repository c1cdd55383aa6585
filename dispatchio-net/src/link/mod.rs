//! Links: a [`Link`] is the dispatcher's handle on one peer; behind it a task
//! runs the connection (a reader and a writer over one socket) and, for a
//! dialled link, reconnects with backoff when the connection drops.
//!
//! (Over 600 lines: about 330 of them are the doc examples of [`Link`] and
//! its types, each on a live link over a Unix socket, the set-up hidden.)
//!
//! Order: frames queued on a link are written in queue order (a request
//! sent while nothing is queued is written by the sending thread itself,
//! after everything sent before it), and the peer's
//! [`LinkEvents::received`] (or, for a message,
//! [`LinkEvents::received_message`]) is called for each in the order the
//! frames arrived, awaiting each call before reading the next frame. Per-sender
//! order across processes therefore holds as long as one sender's messages to
//! one peer go through one link.

mod accept;
mod codec;
mod dial;
mod events;
mod handshake;
mod outbox;
mod reader;
mod supervise;
mod writer;

pub use accept::{Acceptor, listen};
pub use dial::connect;
pub use events::{LinkEvents, PeerLost};
pub(crate) use outbox::lane;

use std::any::Any;
use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::task::{Poll, Waker};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::SinkExt;
use parking_lot::Mutex;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::NetConfig;
use crate::error::SendError;
use crate::wire::{self, Frame, Payload, WireId};
use codec::{Conn, Out, ReadSide, WriteSide, handshake_framing, message_framing, split_conn};
use dial::redial;
use handshake::{accept_handshake, dial_handshake};
use outbox::{Batch, Class, Outbox, Refusal};
use reader::read_loop;
use supervise::{End, supervise};
use writer::{ClearDirect, guarded, write_loop};

/// Identifies a link within this process.
///
/// ```
/// # use std::sync::Arc;
/// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
/// # struct Quiet; // hears nothing
/// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
/// # fn socket(name: &str) -> Address {
/// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
/// #     format!("unix:{}", path.display()).parse().unwrap()
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let addr = socket("link-id");
/// let listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
/// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
/// # let _ = &listening;
/// let accepted = &listening.links()[0];
/// assert_ne!(link.id(), accepted.id()); // two links, one at each end
/// assert!(link.id().to_string().starts_with("link#"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(u64);

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "link#{}", self.0)
    }
}

/// Whether a link's connection is up.
///
/// ```
/// # use std::sync::Arc;
/// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
/// # struct Quiet; // hears nothing
/// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
/// # fn socket(name: &str) -> Address {
/// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
/// #     format!("unix:{}", path.display()).parse().unwrap()
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let addr = socket("link-state");
/// let listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
/// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
/// use dispatchio_net::LinkState;
/// assert_eq!(link.state(), LinkState::Up);
/// let mut state = link.watch_state();
/// listening.close().await;
/// state.wait_for(|s| *s == LinkState::Down).await?; // a dialled link redials
/// link.close("done").await;
/// assert_eq!(link.state(), LinkState::Closed);
/// # Ok(()) }
/// ```
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
///
/// ```
/// # use std::sync::Arc;
/// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
/// # struct Quiet; // hears nothing
/// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
/// # fn socket(name: &str) -> Address {
/// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
/// #     format!("unix:{}", path.display()).parse().unwrap()
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let addr = socket("link-direction");
/// let listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
/// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
/// use dispatchio_net::Direction;
/// assert_eq!(link.direction(), Direction::Dialled);
/// assert_eq!(listening.links()[0].direction(), Direction::Accepted);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// This side dialled; it reconnects when the connection drops.
    Dialled,
    /// A peer connected to our listener; when the connection drops, the link
    /// is closed (the peer redials, which makes a new link).
    Accepted,
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
///
/// ```
/// # use std::sync::Arc;
/// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
/// # struct Quiet; // hears nothing
/// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
/// # fn socket(name: &str) -> Address {
/// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
/// #     format!("unix:{}", path.display()).parse().unwrap()
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # /// Hands what arrives to a channel.
/// # struct Got(tokio::sync::mpsc::UnboundedSender<Payload>);
/// # impl LinkEvents for Got {
/// #     async fn received(&self, _: &Link, payload: Payload) { let _ = self.0.send(payload); }
/// # }
/// # fn got() -> (Arc<Got>, tokio::sync::mpsc::UnboundedReceiver<Payload>) {
/// #     let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
/// #     (Arc::new(Got(tx)), rx)
/// # }
/// use dispatchio_net::WireMessage;
/// let addr = socket("link-link");
/// let (events, mut received) = got();
/// let _listening = net::listen(&addr, &NetConfig::new("billing"), events).await?;
/// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
/// link.send(Payload::Message(WireMessage::new(1, "Tick", None))).await?;
/// let Some(Payload::Message(m)) = received.recv().await else { panic!("a message") };
/// assert_eq!((m.id, m.type_name.as_str()), (1, "Tick"));
/// # Ok(()) }
/// ```
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
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let addr = socket("link-id");
    /// let listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
    /// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
    /// # let _ = &listening;
    /// let copy = link.clone(); // a handle: the same link
    /// assert_eq!(copy.id(), link.id());
    /// # Ok(()) }
    /// ```
    pub fn id(&self) -> LinkId {
        self.shared.id
    }

    /// Whether we dialled or accepted it.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let addr = socket("link-direction");
    /// let listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
    /// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
    /// # let _ = &listening;
    /// assert_eq!(link.direction(), dispatchio_net::Direction::Dialled);
    /// # Ok(()) }
    /// ```
    pub fn direction(&self) -> Direction {
        self.shared.direction
    }

    /// The peer's address as dialled, or a description of an accepted peer.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let addr = socket("link-remote");
    /// let listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
    /// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
    /// # let _ = &listening;
    /// assert_eq!(link.remote(), addr.to_string()); // as dialled
    /// # Ok(()) }
    /// ```
    pub fn remote(&self) -> &str {
        &self.shared.remote
    }

    /// The name the peer gave in its handshake (updated on reconnect).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let addr = socket("link-peer-name");
    /// let listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
    /// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
    /// assert_eq!(link.peer_name(), "billing");
    /// assert_eq!(listening.links()[0].peer_name(), "web");
    /// # Ok(()) }
    /// ```
    pub fn peer_name(&self) -> String {
        self.shared.peer_name.lock().clone()
    }

    /// The current state.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let addr = socket("link-state");
    /// let listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
    /// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
    /// # let _ = &listening;
    /// assert_eq!(link.state(), dispatchio_net::LinkState::Up);
    /// # Ok(()) }
    /// ```
    pub fn state(&self) -> LinkState {
        *self.shared.state.borrow()
    }

    /// A receiver that sees every state change (for waiting until the link
    /// is up again, or closed).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let addr = socket("link-watch-state");
    /// let listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
    /// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
    /// use dispatchio_net::LinkState;
    /// let mut state = link.watch_state();
    /// listening.close().await; // the listener restarts, say
    /// state.wait_for(|s| *s == LinkState::Down).await?;
    /// let _back = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
    /// tokio::time::timeout(std::time::Duration::from_secs(10), state.wait_for(|s| *s == LinkState::Up)).await??;
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # /// Hands what arrives to a channel.
    /// # struct Got(tokio::sync::mpsc::UnboundedSender<Payload>);
    /// # impl LinkEvents for Got {
    /// #     async fn received(&self, _: &Link, payload: Payload) { let _ = self.0.send(payload); }
    /// # }
    /// # fn got() -> (Arc<Got>, tokio::sync::mpsc::UnboundedReceiver<Payload>) {
    /// #     let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    /// #     (Arc::new(Got(tx)), rx)
    /// # }
    /// use dispatchio_net::{ReplyResult, WireReply};
    /// let addr = socket("link-send");
    /// let (events, mut received) = got();
    /// let _listening = net::listen(&addr, &NetConfig::new("billing"), events).await?;
    /// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
    /// let reply = WireReply { to: 7, result: ReplyResult::Ok(None) };
    /// link.send(Payload::Reply(reply.clone())).await?; // waits while the queue is full
    /// assert_eq!(received.recv().await, Some(Payload::Reply(reply)));
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # /// Hands what arrives to a channel.
    /// # struct Got(tokio::sync::mpsc::UnboundedSender<Payload>);
    /// # impl LinkEvents for Got {
    /// #     async fn received(&self, _: &Link, payload: Payload) { let _ = self.0.send(payload); }
    /// # }
    /// # fn got() -> (Arc<Got>, tokio::sync::mpsc::UnboundedReceiver<Payload>) {
    /// #     let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    /// #     (Arc::new(Got(tx)), rx)
    /// # }
    /// use dispatchio_net::{Announcement, WireId};
    /// let addr = socket("link-try-send");
    /// let (events, mut received) = got();
    /// let _listening = net::listen(&addr, &NetConfig::new("billing"), events).await?;
    /// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
    /// let serve = Payload::Announce(vec![Announcement::Serve(WireId::from("bob"))]);
    /// link.try_send(serve.clone())?; // never waits: fails at once when full
    /// assert_eq!(received.recv().await, Some(serve));
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # /// Hands what arrives to a channel.
    /// # struct Got(tokio::sync::mpsc::UnboundedSender<Payload>);
    /// # impl LinkEvents for Got {
    /// #     async fn received(&self, _: &Link, payload: Payload) { let _ = self.0.send(payload); }
    /// # }
    /// # fn got() -> (Arc<Got>, tokio::sync::mpsc::UnboundedReceiver<Payload>) {
    /// #     let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    /// #     (Arc::new(Got(tx)), rx)
    /// # }
    /// use dispatchio_net::{PeerLost, WireId, WireMessage};
    /// /// Tells which requests each lost connection took with it.
    /// struct Lost(tokio::sync::mpsc::UnboundedSender<Vec<u64>>);
    /// impl LinkEvents for Lost {
    ///     async fn received(&self, _: &Link, _: Payload) {}
    ///     fn link_down(&self, _: &Link, lost: &PeerLost) {
    ///         let _ = self.0.send(lost.pending_requests.clone());
    ///     }
    /// }
    /// let addr = socket("link-forget");
    /// let (events, mut received) = got();
    /// let listening = net::listen(&addr, &NetConfig::new("billing"), events).await?;
    /// let (tx, mut lost) = tokio::sync::mpsc::unbounded_channel();
    /// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Lost(tx))).await?;
    /// for id in [1, 2] {
    ///     let request = WireMessage { dest: Some(WireId::from("echo")), response_required: true, ..WireMessage::new(id, "Ask", None) };
    ///     link.send(Payload::Message(request)).await?;
    ///     received.recv().await; // written, and unanswered
    /// }
    /// link.forget_request(1); // its sender gave up (a timeout)
    /// listening.close().await;
    /// assert_eq!(lost.recv().await, Some(vec![2]));
    /// # Ok(()) }
    /// ```
    pub fn forget_request(&self, id: u64) {
        self.shared.in_flight.lock().remove(&id);
    }

    /// Closes the link for good: frames already queued are written, then a
    /// goodbye, then the connection is closed (waiting at most the handshake
    /// timeout for a slow peer). A dialled link stops reconnecting. Returns
    /// once the link is [`LinkState::Closed`] and `link_down` was reported.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_net::{DownReason, LinkState, PeerLost, SendError, WireMessage};
    /// let addr = socket("link-close");
    /// let _listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
    /// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
    /// link.close("shutting down").await;
    /// assert_eq!(link.state(), LinkState::Closed); // for good: no redial
    /// let refused = link.try_send(Payload::Message(WireMessage::new(1, "Tick", None)));
    /// assert!(matches!(refused, Err(SendError::Closed)));
    /// # Ok(()) }
    /// ```
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

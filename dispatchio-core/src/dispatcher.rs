//! The dispatcher: source IDs, listener registration, groups, sending,
//! requests and replies, introspection and shutdown.
//!
//! # How a message flows
//!
//! 1. [`Dispatcher::send`] (or `request`, `request_group`, `send_sync`)
//!    validates the envelope and assigns a message ID when the sender did not.
//! 2. The destination is looked up in a read-mostly map (a `RwLock` read,
//!    never held across an `.await`): a route is either a local mailbox or
//!    a remote [`Link`]. A group is looked up the same way and
//!    gives its members.
//! 3. A local delivery is one send on the listener's channel; the
//!    listener's task routes it with its table and runs the steps. The sender
//!    does not wait for any of that.
//! 4. A request carries a [`ReplySender`]; the executor answers through it,
//!    right away, when an async handler finishes, or later by message ID
//!    ([`Dispatcher::reply`]) when a handler deferred.
//!
//! Per-sender order holds because every message to one destination goes
//! through the one channel of that destination, and a sender's sends are
//! sequential. A synchronous send is the exception by design: it runs in the
//! sender's thread at once (see [`Dispatcher::send_sync`]).
//!
//! # Bounded mailboxes
//!
//! A listener registered with [`Dispatcher::register`] has an unbounded
//! mailbox: a send never waits and is never refused for room, and a
//! listener slower than its senders holds everything they sent (the
//! default, because no one bound fits every listener, and because it costs
//! the sender nothing). A listener whose senders may outrun it is
//! registered with [`Dispatcher::register_bounded`]: its mailbox holds at
//! most `capacity` messages waiting, and at most `capacity` asynchronous
//! handlers run at once (past that it takes no new message, so the queue
//! fills). A full mailbox **refuses** rather than grows:
//!
//! * [`send`](Dispatcher::send), [`request`](Dispatcher::request) and a
//!   message arriving from another process fail at once with
//!   [`Error::MailboxFull`] naming the destination (a request is refused,
//!   not queued, so a requester learns at once that its message was not
//!   delivered; from another process, the requester gets the same error,
//!   and a one-way message is counted and logged there);
//! * a group message reaches every member with room, and the sender gets
//!   [`Error::Group`] listing each member that refused it (a group request
//!   lists it among its failures likewise);
//! * [`send_wait`](Dispatcher::send_wait) is the one call that **waits**
//!   for room instead (the caller's task waits, nothing else does).
//!
//! Refusals are counted ([`Counters::mailbox_full`]). A refused message
//! was not delivered, so sending it again keeps the sender's order.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::future::{Future, poll_fn};
use std::hash::{BuildHasherDefault, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::task::AtomicWaker;
use parking_lot::{Mutex, MutexGuard, RwLock};
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::content::{ContentRef, ContentType, Empty};
use crate::error::{Error, GroupError, HandlerError, SyncError};
use crate::id::{Id, MessageId, SharedStr};
use crate::link::Link;
use crate::listener::{Context, Delivery, Hold, Listener, ReplySender, SyncContext};
use crate::message::{Envelope, InvalidMessage, Message};
use crate::routing::Fired;

/// The process's message dispatcher, or an independent one.
///
/// A cheap handle (`Clone` shares it). [`Dispatcher::global`] is the
/// process-wide one; [`Dispatcher::new`] makes an independent dispatcher, for
/// tests and embedders. Registering listeners needs a tokio runtime: each
/// listener runs as a task of the runtime it was registered from.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use dispatchio_core::{Dispatcher, Message, Reply, RoutedListener, Text};
/// use dispatchio_core::routing::{Action, Cond, RoutingTable};
///
/// let dispatcher = Dispatcher::new();
/// let table = RoutingTable::builder().rule("echo", Cond::Always, [Action::call("echo")]).build()?;
/// let echo = RoutedListener::builder(table)
///     .handler("echo", |m: &Message| Ok(Reply::Content(m.content().clone())))
///     .build()?;
/// dispatcher.register("echo", Arc::new(echo))?;
///
/// let client = dispatcher.new_source();
/// let reply = client.request(Message::new(Text::from("ping")).to("echo"), None).await?;
/// assert_eq!(reply.content_as::<Text>().unwrap().0, "ping");
/// dispatcher.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

/// IDs are chosen by the program, not by an adversary, so a fast
/// non-cryptographic hash is safe here and keeps lookups off the profile.
type IdMap<V> = HashMap<Id, V, BuildHasherDefault<IdHasher>>;

struct Inner {
    routes: RwLock<IdMap<Route>>,
    groups: RwLock<IdMap<Arc<[Member]>>>,
    sources: Mutex<HashSet<Id>>,
    next_source: AtomicI64,
    next_message: AtomicI64,
    deferred: Mutex<HashMap<MessageId, Deferred>>,
    pending: AtomicUsize,
    counters: CounterCells,
    closed: AtomicBool,
    /// Tasks of deregistered listeners still draining, for shutdown to stop.
    retired: Mutex<Vec<JoinHandle<()>>>,
    /// Bumped whenever destinations or group memberships change.
    changes: watch::Sender<u64>,
    /// The same count, readable without a lock (see [`RouteCache`]).
    generation: AtomicU64,
}

/// Where a destination is served: the seam between local delivery and
/// transports (see [`crate::link`]).
#[derive(Clone)]
pub(crate) enum Route {
    Local(Arc<Mailbox>),
    Remote(Arc<dyn Link>),
}

/// The last local route a link looked up, and the dispatcher's
/// generation (count of route changes) when it did.
#[derive(Default)]
pub(crate) struct RouteCache {
    generation: u64,
    last: Option<(Id, Route)>,
}

/// One member of a group: a local subscriber (by its destination ID) or a
/// link serving the group in another process (by the link's name).
#[derive(Clone)]
pub(crate) struct Member {
    pub(crate) id: Id,
    pub(crate) route: Route,
}

pub(crate) struct Mailbox {
    dest: Id,
    tx: mpsc::UnboundedSender<Delivery>,
    /// The bound, as senders see it: here rather than only in the shared
    /// state, whose lock the listener's thread keeps writing (reading it
    /// from there would move that cache line for every send).
    bound: Option<Arc<Bound>>,
    listener: Arc<dyn Listener>,
    state: Arc<MailboxState>,
    task: Mutex<Option<JoinHandle<()>>>,
}

struct MailboxState {
    /// Held by an unanswered blocking message; cleared by its answer
    /// ([`Hold`]).
    blocked: Arc<AtomicBool>,
    /// What consumes the mailbox: its queue's receiving end and the
    /// listener's in-flight work. The listener's task holds it while it
    /// delivers; a message from another process may be delivered by the
    /// link's reader itself while it holds it (see
    /// [`Dispatcher::deliver_now`]), so that one listener never handles two
    /// messages at once, whoever delivers them.
    consumer: Mutex<Consumer>,
    /// The listener's task, to wake when a direct delivery left work for it
    /// (async steps to poll, a blocking message to watch) or kept it from
    /// the consumer.
    task: AtomicWaker,
    /// Set by the task when it found the consumer taken by a direct delivery.
    missed: AtomicBool,
    /// The mailbox's bound, for a listener registered bounded.
    bound: Option<Arc<Bound>>,
}

/// The bound of a bounded mailbox, counted beside its channel.
///
/// Counted by hand rather than with tokio's bounded channel: an unbounded
/// mailbox (the default) then pays nothing for bounds it does not have,
/// and a sender that must not wait is refused with one compare-and-swap
/// instead of a semaphore's lock.
struct Bound {
    capacity: usize,
    /// Deliveries queued and not yet taken by the listener's task.
    queued: AtomicUsize,
    /// Wakes senders waiting for room ([`Dispatcher::send_wait`]): one per
    /// delivery taken, every one when the mailbox closes.
    room: Notify,
}

impl Bound {
    /// Takes a place in the queue, if one is free.
    fn reserve(&self) -> bool {
        self.queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.capacity).then_some(n + 1)
            })
            .is_ok()
    }

    /// Gives a place back: a delivery left the queue (or never entered it).
    fn release(&self) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
        self.room.notify_one();
    }
}

/// Why a mailbox did not take a delivery.
enum Refusal {
    Full(usize),
    Closed,
}

struct Consumer {
    /// `None` once the task ended: sends then fail instead of queueing for
    /// nobody.
    rx: Option<mpsc::UnboundedReceiver<Delivery>>,
    inflight: FuturesUnordered<BoxFuture<'static, ()>>,
    pool: Vec<Fired>,
    /// Released when the blocking message being held is answered.
    held: Option<oneshot::Receiver<()>>,
    /// Direct deliveries left before the next one is timed.
    until_timed: u32,
    /// Messages still to queue (not deliver directly) since a handler was
    /// found slow.
    queue_only: u32,
}

impl MailboxState {
    fn new(rx: mpsc::UnboundedReceiver<Delivery>, bound: Option<Arc<Bound>>) -> MailboxState {
        MailboxState {
            blocked: Arc::new(AtomicBool::new(false)),
            consumer: Mutex::new(Consumer {
                rx: Some(rx),
                inflight: FuturesUnordered::new(),
                pool: Vec::new(),
                held: None,
                until_timed: 0,
                queue_only: 0,
            }),
            task: AtomicWaker::new(),
            missed: AtomicBool::new(false),
            bound,
        }
    }

    /// Whether the listener may take another delivery: a bounded mailbox
    /// takes none while `capacity` asynchronous handlers are running.
    fn may_take(&self, inflight: &FuturesUnordered<BoxFuture<'static, ()>>) -> bool {
        // Only a bounded mailbox counts its work in flight.
        self.bound.as_ref().is_none_or(|b| inflight.len() < b.capacity)
    }

    /// A delivery left the queue.
    fn took(&self) {
        if let Some(b) = &self.bound {
            b.release();
        }
    }
}

impl Mailbox {
    /// Queues a delivery, or gives it back: the mailbox is full, or its
    /// task is gone.
    #[allow(
        clippy::result_large_err,
        reason = "the refused delivery goes back unboxed; refusal is the rare path"
    )]
    fn offer(&self, delivery: Delivery) -> Result<(), (Refusal, Delivery)> {
        let bound = self.bound.as_deref();
        if let Some(b) = bound {
            if !b.reserve() {
                return Err((Refusal::Full(b.capacity), delivery));
            }
        }
        self.tx.send(delivery).map_err(|e| {
            if let Some(b) = bound {
                b.release();
            }
            (Refusal::Closed, e.0)
        })
    }

    /// [`offer`](Self::offer), waiting while the mailbox is full; gives the
    /// delivery back only when the mailbox closed or the dispatcher shut
    /// down.
    async fn offer_waiting(
        &self,
        closed: &AtomicBool,
        mut delivery: Delivery,
    ) -> Result<(), Delivery> {
        let Some(bound) = self.bound.as_deref() else {
            return self.offer(delivery).map_err(|(_, d)| d);
        };
        loop {
            // Registered before the look, so room made after it wakes us.
            let room = bound.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            match self.offer(delivery) {
                Ok(()) => return Ok(()),
                Err((Refusal::Closed, d)) => return Err(d),
                Err((Refusal::Full(_), d)) => delivery = d,
            }
            if closed.load(Ordering::Acquire) || self.tx.is_closed() {
                return Err(delivery);
            }
            room.await;
        }
    }

    /// Wakes every sender waiting for room: the mailbox is closing.
    fn wake_waiting(&self) {
        if let Some(b) = &self.bound {
            b.room.notify_waiters();
        }
    }
}

struct Deferred {
    reply: ReplySender,
    request: Envelope,
    me: Option<Id>,
    handler: SharedStr,
}

#[derive(Default)]
struct CounterCells {
    unrouted: AtomicU64,
    dropped: AtomicU64,
    undeliverable: AtomicU64,
    handler_errors: AtomicU64,
    timeouts: AtomicU64,
    mailbox_full: AtomicU64,
}

/// Counts of messages that did not end in a handler's reply, since the
/// dispatcher was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// Messages no rule stopped and no `otherwise` caught.
    pub unrouted: u64,
    /// Messages dropped on purpose (`drop`, or a pre-filter).
    pub dropped: u64,
    /// Messages that could not be delivered (unknown destination, empty
    /// group, closed queue, unbound forward).
    pub undeliverable: u64,
    /// Handler errors with nobody waiting to be told.
    pub handler_errors: u64,
    /// Requests that timed out.
    pub timeouts: u64,
    /// Messages refused because their destination's bounded mailbox was
    /// full (the sender was told: [`Error::MailboxFull`]).
    pub mailbox_full: u64,
}

/// A queue of a registered listener, as introspection reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueInfo {
    /// The listener's destination ID.
    pub listener: Id,
    /// The queue's name.
    pub name: String,
    /// Messages waiting in it.
    pub depth: usize,
}

/// The state of a dispatcher at one moment, for checks and diagnostics:
/// registered listeners, awaited responses, deferred replies, blocked
/// destinations and counters.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Snapshot {
    /// Destination IDs of local listeners, sorted.
    pub listeners: Vec<Id>,
    /// Destination IDs served by remote links, with the link's name.
    pub remote: Vec<(Id, String)>,
    /// Groups and their members (local destination IDs, link names), sorted.
    pub groups: Vec<(Id, Vec<Id>)>,
    /// Registered source IDs, sorted.
    pub sources: Vec<Id>,
    /// Requests whose sender is still waiting for the reply.
    pub pending_requests: usize,
    /// Message IDs whose reply a handler deferred and nobody gave yet.
    pub deferred: Vec<MessageId>,
    /// Destinations held by an unanswered blocking message.
    pub blocked: Vec<Id>,
    /// Every queue of every local listener, with its depth.
    pub queues: Vec<QueueInfo>,
    /// Messages that did not end in a handler's reply.
    pub counters: Counters,
    /// Whether [`Dispatcher::shutdown`] was called.
    pub shut_down: bool,
}

/// The results of a group request, one per member that answered.
pub type GroupReplies = Vec<(Id, Message)>;

thread_local! {
    /// Listeners handling a synchronous send on this thread, innermost last.
    static SYNC_STACK: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// The address of a listener object, for the re-entrancy check.
fn addr(l: &Arc<dyn Listener>) -> usize {
    Arc::as_ptr(l) as *const () as usize
}

impl Default for Dispatcher {
    fn default() -> Dispatcher {
        Dispatcher::new()
    }
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("listeners", &self.inner.routes.read().len())
            .field("closed", &self.is_shut_down())
            .finish()
    }
}

impl Dispatcher {
    /// An independent dispatcher, sharing nothing with any other.
    pub fn new() -> Dispatcher {
        Dispatcher {
            inner: Arc::new(Inner {
                routes: RwLock::new(IdMap::default()),
                groups: RwLock::new(IdMap::default()),
                sources: Mutex::new(HashSet::new()),
                next_source: AtomicI64::new(1),
                next_message: AtomicI64::new(1),
                deferred: Mutex::new(HashMap::new()),
                pending: AtomicUsize::new(0),
                counters: CounterCells::default(),
                closed: AtomicBool::new(false),
                retired: Mutex::new(Vec::new()),
                changes: watch::Sender::new(0),
                generation: AtomicU64::new(0),
            }),
        }
    }

    /// The process-wide dispatcher, created on first use.
    pub fn global() -> &'static Dispatcher {
        static GLOBAL: OnceLock<Dispatcher> = OnceLock::new();
        GLOBAL.get_or_init(Dispatcher::new)
    }

    /// Whether two handles are the same dispatcher.
    pub fn same(&self, other: &Dispatcher) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// A receiver that sees a new value whenever a destination is registered
    /// or removed, a group membership changes, or the dispatcher shuts down:
    /// a transport's cue to tell its peers what this process serves now
    /// (read it from [`snapshot`](Self::snapshot)).
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    fn changed(&self) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        self.inner.changes.send_modify(|generation| *generation += 1);
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shut_down(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    fn check_open(&self) -> Result<(), Error> {
        if self.is_shut_down() { Err(Error::Shutdown) } else { Ok(()) }
    }

    // ---- sources ---------------------------------------------------------

    /// A fresh, unique integer source ID (never one already registered).
    pub fn new_source(&self) -> Source {
        let mut sources = self.inner.sources.lock();
        loop {
            let id = Id::Int(self.inner.next_source.fetch_add(1, Ordering::Relaxed));
            if sources.insert(id.clone()) {
                return Source { id, dispatcher: self.clone() };
            }
        }
    }

    /// Registers a source ID chosen by the caller. Released when the returned
    /// [`Source`] is dropped.
    ///
    /// # Errors
    ///
    /// [`Error::SourceTaken`] when the ID is registered already.
    pub fn register_source(&self, id: impl Into<Id>) -> Result<Source, Error> {
        let id = id.into();
        if self.inner.sources.lock().insert(id.clone()) {
            Ok(Source { id, dispatcher: self.clone() })
        } else {
            Err(Error::SourceTaken(id))
        }
    }

    // ---- listeners and groups -------------------------------------------

    /// Registers `listener` as destination `dest` and starts its task on the
    /// current tokio runtime. Its mailbox is unbounded: sends to it are
    /// never refused for room (see [`register_bounded`](Self::register_bounded)).
    ///
    /// # Errors
    ///
    /// [`Error::DestinationTaken`], [`Error::NoRuntime`] outside a tokio
    /// runtime, [`Error::Shutdown`].
    pub fn register(&self, dest: impl Into<Id>, listener: Arc<dyn Listener>) -> Result<(), Error> {
        self.register_mailbox(dest.into(), listener, None)
    }

    /// [`register`](Self::register) with a bounded mailbox: at most
    /// `capacity` messages (at least 1) wait for the listener, and at most
    /// `capacity` of its asynchronous handlers run at once. A send that
    /// finds it full is refused with [`Error::MailboxFull`];
    /// [`send_wait`](Self::send_wait) waits for room instead (see the
    /// [module documentation](self#bounded-mailboxes)).
    ///
    /// # Errors
    ///
    /// As [`register`](Self::register).
    pub fn register_bounded(
        &self,
        dest: impl Into<Id>,
        listener: Arc<dyn Listener>,
        capacity: usize,
    ) -> Result<(), Error> {
        self.register_mailbox(dest.into(), listener, Some(capacity.max(1)))
    }

    fn register_mailbox(
        &self,
        dest: Id,
        listener: Arc<dyn Listener>,
        capacity: Option<usize>,
    ) -> Result<(), Error> {
        self.check_open()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let mut routes = self.inner.routes.write();
        // Checked again under the lock: a shutdown that already emptied the
        // map must not get a new listener behind its back.
        self.check_open()?;
        if routes.contains_key(&dest) {
            return Err(Error::DestinationTaken(dest));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let bound = capacity.map(|capacity| {
            Arc::new(Bound { capacity, queued: AtomicUsize::new(0), room: Notify::new() })
        });
        let state = Arc::new(MailboxState::new(rx, bound.clone()));
        let task = runtime.spawn(run_mailbox(
            Arc::downgrade(&self.inner),
            dest.clone(),
            listener.clone(),
            state.clone(),
        ));
        let mailbox = Mailbox {
            dest: dest.clone(),
            tx,
            bound,
            listener,
            state,
            task: Mutex::new(Some(task)),
        };
        tracing::debug!(dest = %dest, "listener registered");
        routes.insert(dest, Route::Local(Arc::new(mailbox)));
        drop(routes);
        self.changed();
        Ok(())
    }

    /// Removes destination `dest` (a local listener or a remote route) and
    /// its group memberships. A local listener first handles the messages it
    /// already accepted, then its queues close.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownDestination`] when nothing is registered as `dest`.
    pub fn deregister(&self, dest: &Id) -> Result<(), Error> {
        let route = self
            .inner
            .routes
            .write()
            .remove(dest)
            .ok_or_else(|| Error::UnknownDestination(dest.clone()))?;
        self.remove_member(|m| &m.id == dest && matches!(m.route, Route::Local(_)));
        if let Route::Local(mailbox) = route {
            if let Some(task) = mailbox.task.lock().take() {
                let mut retired = self.inner.retired.lock();
                retired.retain(|t| !t.is_finished());
                retired.push(task);
            }
        }
        tracing::debug!(dest = %dest, "listener deregistered");
        self.changed();
        Ok(())
    }

    pub(crate) fn remove_member(&self, mut gone: impl FnMut(&Member) -> bool) {
        let mut groups = self.inner.groups.write();
        for members in groups.values_mut() {
            if members.iter().any(&mut gone) {
                *members = members.iter().filter(|m| !gone(m)).cloned().collect();
            }
        }
        groups.retain(|_, m| !m.is_empty());
        drop(groups);
        self.changed();
    }

    /// Subscribes the local listener `dest` to `group`. Subscribing twice
    /// changes nothing: a group message reaches each subscriber once.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownDestination`] when `dest` is not a local listener.
    pub fn subscribe(&self, dest: &Id, group: impl Into<Id>) -> Result<(), Error> {
        let route = match self.inner.routes.read().get(dest) {
            Some(r @ Route::Local(_)) => r.clone(),
            _ => return Err(Error::UnknownDestination(dest.clone())),
        };
        self.add_member(group.into(), Member { id: dest.clone(), route });
        Ok(())
    }

    pub(crate) fn add_member(&self, group: Id, member: Member) {
        let mut groups = self.inner.groups.write();
        let members = groups.entry(group).or_insert_with(|| Arc::from(Vec::new()));
        if !members.iter().any(|m| m.id == member.id) {
            *members = members.iter().cloned().chain(std::iter::once(member)).collect();
            drop(groups);
            self.changed();
        }
    }

    /// Unsubscribes `dest` from `group`; returns whether it was subscribed.
    pub fn unsubscribe(&self, dest: &Id, group: &Id) -> bool {
        let mut groups = self.inner.groups.write();
        let Some(members) = groups.get_mut(group) else { return false };
        let before = members.len();
        *members = members.iter().filter(|m| &m.id != dest).cloned().collect();
        let removed = members.len() != before;
        if members.is_empty() {
            groups.remove(group);
        }
        drop(groups);
        if removed {
            self.changed();
        }
        removed
    }

    pub(crate) fn insert_route(&self, dest: Id, route: Route) -> Result<(), Error> {
        let mut routes = self.inner.routes.write();
        if routes.contains_key(&dest) {
            return Err(Error::DestinationTaken(dest));
        }
        routes.insert(dest, route);
        drop(routes);
        self.changed();
        Ok(())
    }

    pub(crate) fn remove_routes(&self, mut gone: impl FnMut(&Route) -> bool) {
        self.inner.routes.write().retain(|_, r| !gone(r));
        self.changed();
    }

    /// The name of the link that serves `dest`, if a link does.
    pub(crate) fn remote_link_name(&self, dest: &Id) -> Option<String> {
        match self.inner.routes.read().get(dest) {
            Some(Route::Remote(link)) => Some(link.name().to_owned()),
            _ => None,
        }
    }

    /// The local route of `dest`, if a local listener serves it.
    pub(crate) fn local_route(&self, dest: &Id) -> Option<Route> {
        match self.inner.routes.read().get(dest) {
            Some(r @ Route::Local(_)) => Some(r.clone()),
            _ => None,
        }
    }

    /// The local route of `dest`, from `cache` when nothing changed since
    /// it was filled: a link's messages mostly go to one destination, and
    /// the route map's lock and hash cost more than the rest of the lookup.
    pub(crate) fn local_route_cached<'c>(
        &self,
        dest: &Id,
        cache: &'c mut RouteCache,
    ) -> Option<&'c Route> {
        // Read before the lookup: a change in between makes the cache stale
        // at once, never the other way round.
        let generation = self.inner.generation.load(Ordering::SeqCst);
        let hit =
            cache.generation == generation && cache.last.as_ref().is_some_and(|(id, _)| id == dest);
        if !hit {
            let route = self.local_route(dest)?;
            cache.generation = generation;
            cache.last = Some((dest.clone(), route));
        }
        cache.last.as_ref().map(|(_, route)| route)
    }

    /// The local members of `group`.
    pub(crate) fn local_members(&self, group: &Id) -> Vec<Route> {
        let groups = self.inner.groups.read();
        let Some(members) = groups.get(group) else { return Vec::new() };
        members
            .iter()
            .filter(|m| matches!(m.route, Route::Local(_)))
            .map(|m| m.route.clone())
            .collect()
    }

    /// Delivers to a route, reporting a failure through the reply slot.
    pub(crate) fn deliver_local(&self, route: &Route, msg: Message, reply: ReplySender) {
        if let Err((e, reply)) = self.deliver_route(route, msg, reply) {
            reply.send(Err(e));
        }
    }

    // ---- sending ---------------------------------------------------------

    fn prepare(&self, msg: &mut Message) -> Result<MessageId, Error> {
        msg.envelope().validate()?;
        self.check_open()?;
        let env = msg.envelope_mut();
        if env.id.is_unset() {
            env.id = MessageId(self.inner.next_message.fetch_add(1, Ordering::Relaxed));
        }
        Ok(env.id)
    }

    /// Sends a message and returns its ID without waiting for the recipient
    /// to do anything. A reply the listener gives is discarded (use
    /// [`request`](Self::request) to get it). A `sync` message is handled at
    /// once as by [`send_sync`](Self::send_sync) (its reply discarded).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a malformed envelope; [`Error::UnknownDestination`]
    /// or [`Error::NoSubscribers`] when nobody can take it (also counted);
    /// [`Error::MailboxFull`] when the destination's bounded mailbox is full
    /// (the message was not delivered); a link's error when a remote
    /// destination's link cannot take it; [`Error::Shutdown`]. A group
    /// message reaches every member that takes it; when some member
    /// refuses it (a full mailbox, a link that cannot take it), the result
    /// is [`Error::Group`] listing each, with the number of members reached.
    pub fn send(&self, mut msg: Message) -> Result<MessageId, Error> {
        if msg.envelope().sync {
            let id = self.prepare(&mut msg)?;
            return self.send_sync(msg).map(|_| id);
        }
        let id = self.prepare(&mut msg)?;
        tracing::trace!(id = %id, ty = %msg.ty(), "send");
        if let Some(group) = msg.envelope().group.clone() {
            return self.send_group(group, &msg).map(|()| id);
        }
        let dest = msg.envelope().dest.as_ref().ok_or(InvalidMessage::NoDestination)?;
        let route = self.route_to(dest, &msg)?;
        match self.deliver_route(&route, msg, ReplySender::unwanted()) {
            Ok(()) => Ok(id),
            Err((e, _)) => Err(e),
        }
    }

    /// A one-way message to every member of `group`. Out of line, so that
    /// a send to one destination stays small.
    #[inline(never)]
    fn send_group(&self, group: Id, msg: &Message) -> Result<(), Error> {
        let members = self.members(&group)?;
        let mut refusals = GroupRefusals::default();
        for m in members.iter() {
            let sent = self.deliver_route(&m.route, msg.clone(), ReplySender::unwanted());
            refusals.note(self, msg, m, sent.map_err(|(e, _)| e));
        }
        refusals.result(group)
    }

    /// [`send`](Self::send), waiting for room in a full bounded mailbox
    /// instead of being refused: the caller's task waits, until the
    /// listener takes a message (or the dispatcher shuts down). For a group,
    /// it waits for each local member in turn. A destination in another
    /// process is sent to as by `send` (its link's queue refuses when full;
    /// see [`Error::Link`]). Per-sender order holds as for `send`.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send), except [`Error::MailboxFull`]: the message
    /// waits for room instead.
    pub async fn send_wait(&self, mut msg: Message) -> Result<MessageId, Error> {
        if msg.envelope().sync {
            return self.send(msg);
        }
        let id = self.prepare(&mut msg)?;
        tracing::trace!(id = %id, ty = %msg.ty(), "send, waiting for room");
        if let Some(group) = msg.envelope().group.clone() {
            let members = self.members(&group)?;
            let mut refusals = GroupRefusals::default();
            for m in members.iter() {
                let sent = self.deliver_waiting(&m.route, msg.clone()).await;
                refusals.note(self, &msg, m, sent);
            }
            return refusals.result(group).map(|()| id);
        }
        let dest = msg.envelope().dest.as_ref().ok_or(InvalidMessage::NoDestination)?;
        let route = self.route_to(dest, &msg)?;
        self.deliver_waiting(&route, msg).await.map(|()| id)
    }

    /// Delivers a one-way message to a route, waiting for room in a local
    /// bounded mailbox.
    async fn deliver_waiting(&self, route: &Route, msg: Message) -> Result<(), Error> {
        match route {
            Route::Local(mb) => {
                let delivery = Delivery { message: msg, reply: ReplySender::unwanted() };
                match mb.offer_waiting(&self.inner.closed, delivery).await {
                    Ok(()) => Ok(()),
                    Err(_) => Err(self.refused(mb, Refusal::Closed)),
                }
            }
            Route::Remote(_) => {
                self.deliver_route(route, msg, ReplySender::unwanted()).map_err(|(e, _)| e)
            }
        }
    }

    fn members(&self, group: &Id) -> Result<Arc<[Member]>, Error> {
        match self.inner.groups.read().get(group) {
            Some(m) if !m.is_empty() => Ok(m.clone()),
            _ => {
                self.inner.counters.undeliverable.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(group = %group, "group message with no subscribers");
                Err(Error::NoSubscribers(group.clone()))
            }
        }
    }

    /// Delivers to whatever serves `dest`; gives the reply slot back on failure.
    pub(crate) fn deliver_to(
        &self,
        dest: &Id,
        msg: Message,
        reply: ReplySender,
    ) -> Result<(), (Error, ReplySender)> {
        match self.route_to(dest, &msg) {
            Ok(route) => self.deliver_route(&route, msg, reply),
            Err(e) => Err((e, reply)),
        }
    }

    /// What serves `dest`; an unknown destination is counted against `msg`.
    fn route_to(&self, dest: &Id, msg: &Message) -> Result<Route, Error> {
        if let Some(route) = self.inner.routes.read().get(dest) {
            return Ok(route.clone());
        }
        if self.is_shut_down() {
            return Err(Error::Shutdown);
        }
        self.note_undeliverable(msg, "unknown destination");
        Err(Error::UnknownDestination(dest.clone()))
    }

    pub(crate) fn deliver_route(
        &self,
        route: &Route,
        msg: Message,
        reply: ReplySender,
    ) -> Result<(), (Error, ReplySender)> {
        match route {
            Route::Local(mb) => mb
                .offer(Delivery { message: msg, reply })
                .map_err(|(why, d)| (self.refused(mb, why), d.reply)),
            Route::Remote(link) => {
                link.send(Delivery { message: msg, reply }).map_err(|(e, d)| (e, d.reply))
            }
        }
    }

    /// The error for a delivery `mb` did not take (counted when it was full).
    /// Kept out of line: the path of every send must stay small.
    #[cold]
    #[inline(never)]
    fn refused(&self, mb: &Mailbox, why: Refusal) -> Error {
        match why {
            Refusal::Full(capacity) => {
                self.inner.counters.mailbox_full.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(dest = %mb.dest, capacity, "mailbox full: message refused");
                Error::MailboxFull { dest: mb.dest.clone(), capacity }
            }
            // The listener's task is gone: deregistered, or shut down.
            Refusal::Closed if self.is_shut_down() => Error::Shutdown,
            Refusal::Closed => Error::UnknownDestination(mb.dest.clone()),
        }
    }

    /// Sends a request and waits for its reply, at most `timeout` when given.
    /// Sets `response_required`. A `sync` message is handled at once as by
    /// [`send_sync`](Self::send_sync).
    ///
    /// # Errors
    ///
    /// Everything [`send`](Self::send) reports, and: [`Error::Timeout`];
    /// [`Error::Handler`] when the handler failed; [`Error::Unrouted`] or
    /// [`Error::Dropped`] when the listener's table sent it nowhere;
    /// [`Error::NoReply`] when the listener went away; [`Error::Shutdown`];
    /// [`Error::Invalid`] for a group message (use
    /// [`request_group`](Self::request_group)).
    pub async fn request(
        &self,
        mut msg: Message,
        timeout: Option<Duration>,
    ) -> Result<Message, Error> {
        msg.envelope_mut().response_required = true;
        if msg.envelope().group.is_some() {
            msg.envelope().validate()?;
            return Err(InvalidMessage::GroupNeedsGroupRequest.into());
        }
        if msg.envelope().sync {
            return self.send_sync(msg);
        }
        let id = self.prepare(&mut msg)?;
        let dest = msg.envelope().dest.clone().ok_or(InvalidMessage::NoDestination)?;
        let (reply, rx) = ReplySender::oneshot(id);
        let _pending = PendingGuard::new(&self.inner.pending);
        tracing::trace!(id = %id, dest = %dest, "request");
        self.deliver_to(&dest, msg, reply).map_err(|(e, _)| e)?;
        let answer = match timeout {
            None => rx.await,
            Some(after) => match tokio::time::timeout(after, rx).await {
                Ok(a) => a,
                Err(_) => {
                    self.inner.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                    // The deferred reply (if any) now has nobody to go to.
                    self.inner.deferred.lock().retain(|k, d| *k != id || d.reply.is_wanted());
                    return Err(Error::Timeout { id, after });
                }
            },
        };
        match answer {
            Ok(Ok(m)) => Ok(m),
            Ok(Err(e)) => Err(self.gone(e)),
            Err(_) => Err(self.gone(Error::NoReply { id })),
        }
    }

    /// A listener that went away because of shutdown reports `Shutdown`.
    fn gone(&self, e: Error) -> Error {
        match e {
            Error::NoReply { .. } if self.is_shut_down() => Error::Shutdown,
            e => e,
        }
    }

    /// Sends a request to every member of the message's group and waits for
    /// every reply (at most `timeout` in all).
    ///
    /// # Errors
    ///
    /// [`Error::Group`] listing every member that failed (members that did
    /// not answer in time fail with [`Error::Timeout`]), and what
    /// [`send`](Self::send) reports.
    pub async fn request_group(
        &self,
        mut msg: Message,
        timeout: Option<Duration>,
    ) -> Result<GroupReplies, Error> {
        msg.envelope_mut().response_required = true;
        msg.envelope().validate()?;
        let Some(group) = msg.envelope().group.clone() else {
            return Err(InvalidMessage::NotAGroupMessage.into());
        };
        if msg.envelope().sync {
            return self.sync_group(&group, msg);
        }
        let id = self.prepare(&mut msg)?;
        let members = self.members(&group)?;
        let (collector, done) = GroupCollector::new(members.len());
        let _pending = PendingGuard::new(&self.inner.pending);
        for m in members.iter() {
            let reply = ReplySender::group(id, collector.clone(), m.id.clone());
            if let Err((e, reply)) = self.deliver_route(&m.route, msg.clone(), reply) {
                reply.send(Err(e));
            }
        }
        // Only the members' IDs are needed from here on: holding their
        // routes while waiting would keep deregistered or shut-down
        // mailboxes alive.
        let members: Vec<Id> = members.iter().map(|m| m.id.clone()).collect();
        let finished = match timeout {
            None => done.await.is_ok(),
            Some(after) => tokio::time::timeout(after, done).await.is_ok(),
        };
        let answers = std::mem::take(&mut collector.state.lock().answers);
        let mut replies: Vec<(usize, Id, Message)> = Vec::with_capacity(answers.len());
        let mut failures: Vec<(usize, Id, Error)> = Vec::new();
        let position = |member: &Id| members.iter().position(|m| m == member).unwrap_or(usize::MAX);
        for (member, answer) in answers {
            let at = position(&member);
            match answer {
                Ok(m) => replies.push((at, member, m)),
                Err(e) => failures.push((at, member, self.gone(e))),
            }
        }
        if !finished {
            let after = timeout.unwrap_or_default();
            for (at, m) in members.iter().enumerate() {
                let answered =
                    replies.iter().any(|r| r.0 == at) || failures.iter().any(|f| f.0 == at);
                if !answered {
                    self.inner.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                    failures.push((at, m.clone(), Error::Timeout { id, after }));
                }
            }
        }
        replies.sort_by_key(|r| r.0);
        failures.sort_by_key(|f| f.0);
        if failures.is_empty() {
            Ok(replies.into_iter().map(|(_, id, m)| (id, m)).collect())
        } else {
            Err(Error::Group(GroupError {
                group,
                succeeded: replies.len(),
                failures: failures.into_iter().map(|(_, id, e)| (id, e)).collect(),
            }))
        }
    }

    /// Handles the message in the caller's thread, through the listener's
    /// synchronous path, and returns the reply at once: the handler's content,
    /// or an empty acknowledgement ([`Empty`]). A group message goes to each
    /// member in turn; the result is then an acknowledgement or
    /// [`Error::Group`].
    ///
    /// It does not wait behind messages already queued for the listener (that
    /// would not be "at once"): only order among asynchronous sends is kept.
    ///
    /// # Errors
    ///
    /// [`Error::Sync`] when it cannot be done synchronously: an `async`
    /// handler ([`SyncError::AsyncHandler`]), a deferred reply, a remote
    /// destination, a destination held by a blocking message, or a call from
    /// inside the same listener's synchronous handling (which would
    /// deadlock). Also the handler's error, unrouted and dropped messages,
    /// and what [`send`](Self::send) reports.
    pub fn send_sync(&self, mut msg: Message) -> Result<Message, Error> {
        msg.envelope_mut().sync = true;
        self.prepare(&mut msg)?;
        if let Some(group) = msg.envelope().group.clone() {
            let env = msg.envelope().clone();
            self.sync_group(&group, msg)?;
            return Ok(self.ack(&env, None));
        }
        let dest = msg.envelope().dest.clone().ok_or(InvalidMessage::NoDestination)?;
        let env = msg.envelope().clone();
        match self.sync_to(&dest, msg)? {
            Some(reply) => Ok(reply),
            None => Ok(self.ack(&env, Some(&dest))),
        }
    }

    fn sync_group(&self, group: &Id, msg: Message) -> Result<GroupReplies, Error> {
        let members = self.members(group)?;
        let (mut ok, mut failures) = (Vec::new(), Vec::new());
        for m in members.iter() {
            let result = match &m.route {
                Route::Local(mb) => self.sync_mailbox(mb, &m.id, msg.clone()),
                Route::Remote(_) => Err(Error::Sync(SyncError::Remote)),
            };
            match result {
                Ok(Some(r)) => ok.push((m.id.clone(), r)),
                Ok(None) => ok.push((m.id.clone(), self.ack(msg.envelope(), Some(&m.id)))),
                Err(e) => failures.push((m.id.clone(), e)),
            }
        }
        if failures.is_empty() {
            Ok(ok)
        } else {
            Err(Error::Group(GroupError { group: group.clone(), failures, succeeded: ok.len() }))
        }
    }

    pub(crate) fn sync_to(&self, dest: &Id, msg: Message) -> Result<Option<Message>, Error> {
        let route = self.inner.routes.read().get(dest).cloned();
        match route {
            None => {
                self.note_undeliverable(&msg, "unknown destination");
                Err(Error::UnknownDestination(dest.clone()))
            }
            Some(Route::Remote(_)) => Err(Error::Sync(SyncError::Remote)),
            Some(Route::Local(mb)) => self.sync_mailbox(&mb, dest, msg),
        }
    }

    fn sync_mailbox(
        &self,
        mb: &Mailbox,
        dest: &Id,
        msg: Message,
    ) -> Result<Option<Message>, Error> {
        if mb.state.blocked.load(Ordering::Acquire) {
            return Err(Error::Sync(SyncError::Blocked));
        }
        let me = addr(&mb.listener);
        let reentrant = SYNC_STACK.with(|s| {
            let mut s = s.borrow_mut();
            if s.contains(&me) {
                true
            } else {
                s.push(me);
                false
            }
        });
        if reentrant {
            return Err(Error::Sync(SyncError::Reentrant));
        }
        // Pops even if the handler panics, so the thread stays usable.
        struct Pop;
        impl Drop for Pop {
            fn drop(&mut self) {
                SYNC_STACK.with(|s| s.borrow_mut().pop());
            }
        }
        let _pop = Pop;
        mb.listener.deliver_sync(msg, &SyncContext { dispatcher: self, me: Some(dest) })
    }

    // ---- replies -----------------------------------------------------------

    /// Gives the reply a handler deferred ([`Reply::Defer`](crate::Reply::Defer))
    /// for message `id`: content, or the handler's error.
    ///
    /// # Errors
    ///
    /// [`Error::NotDeferred`] when no deferred reply for `id` is outstanding.
    pub fn reply(
        &self,
        id: MessageId,
        answer: Result<ContentRef, HandlerError>,
    ) -> Result<(), Error> {
        let d = self.inner.deferred.lock().remove(&id).ok_or(Error::NotDeferred(id))?;
        let answer = match answer {
            Ok(content) => Ok(Message::reply_to(&d.request, content, d.me)),
            Err(error) => Err(Error::Handler { handler: d.handler.to_string(), error }),
        };
        d.reply.send(answer);
        Ok(())
    }

    /// [`reply`](Self::reply) with typed content.
    ///
    /// # Errors
    ///
    /// As [`reply`](Self::reply).
    pub fn reply_with<T: ContentType>(&self, id: MessageId, content: T) -> Result<(), Error> {
        self.reply(id, Ok(Arc::new(content)))
    }

    pub(crate) fn defer(
        &self,
        request: Envelope,
        me: Option<Id>,
        handler: SharedStr,
        reply: ReplySender,
    ) {
        let id = request.id;
        let mut deferred = self.inner.deferred.lock();
        // A stale entry whose requester gave up does not block a new one.
        if deferred.get(&id).is_some_and(|d| d.reply.is_wanted() || d.reply.holds()) {
            drop(deferred);
            reply.send(Err(Error::DuplicateDeferred(id)));
            return;
        }
        tracing::debug!(id = %id, "reply deferred");
        deferred.insert(id, Deferred { reply, request, me, handler });
    }

    /// The empty acknowledgement of `request`.
    pub(crate) fn ack(&self, request: &Envelope, me: Option<&Id>) -> Message {
        static EMPTY: OnceLock<ContentRef> = OnceLock::new();
        let empty = EMPTY.get_or_init(|| Arc::new(Empty)).clone();
        Message::reply_to(request, empty, me.cloned())
    }

    // ---- reporting -----------------------------------------------------------

    pub(crate) fn note_unrouted(&self, msg: &Message, me: Option<&Id>) {
        self.inner.counters.unrouted.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(id = %msg.id(), ty = %msg.ty(), listener = ?me, "message unrouted");
    }

    pub(crate) fn note_dropped(&self, id: MessageId, me: Option<&Id>, why: &'static str) {
        self.inner.counters.dropped.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(id = %id, listener = ?me, why, "message dropped");
    }

    pub(crate) fn note_undeliverable(&self, msg: &Message, why: &'static str) {
        self.inner.counters.undeliverable.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(id = %msg.id(), ty = %msg.ty(), dest = ?msg.envelope().dest, why, "message undeliverable");
    }

    pub(crate) fn note_handler_error(
        &self,
        msg: &Message,
        handler: &SharedStr,
        error: &HandlerError,
    ) {
        self.inner.counters.handler_errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(id = %msg.id(), handler = %handler, error = %error, "handler failed with nobody to tell");
    }

    // ---- introspection and shutdown -----------------------------------------

    /// The dispatcher's state now.
    pub fn snapshot(&self) -> Snapshot {
        let mut s = Snapshot::default();
        for (id, route) in self.inner.routes.read().iter() {
            match route {
                Route::Local(mb) => {
                    s.listeners.push(id.clone());
                    if mb.state.blocked.load(Ordering::Acquire) {
                        s.blocked.push(id.clone());
                    }
                    for q in mb.listener.queues() {
                        s.queues.push(QueueInfo {
                            listener: id.clone(),
                            name: q.name().to_owned(),
                            depth: q.len(),
                        });
                    }
                }
                Route::Remote(link) => s.remote.push((id.clone(), link.name().to_owned())),
            }
        }
        s.groups = self
            .inner
            .groups
            .read()
            .iter()
            .map(|(g, ms)| (g.clone(), ms.iter().map(|m| m.id.clone()).collect()))
            .collect();
        s.sources = self.inner.sources.lock().iter().cloned().collect();
        s.pending_requests = self.inner.pending.load(Ordering::Acquire);
        s.deferred = self.inner.deferred.lock().keys().copied().collect();
        let c = &self.inner.counters;
        s.counters = Counters {
            unrouted: c.unrouted.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            undeliverable: c.undeliverable.load(Ordering::Relaxed),
            handler_errors: c.handler_errors.load(Ordering::Relaxed),
            timeouts: c.timeouts.load(Ordering::Relaxed),
            mailbox_full: c.mailbox_full.load(Ordering::Relaxed),
        };
        s.shut_down = self.is_shut_down();
        s.listeners.sort();
        s.remote.sort();
        s.groups.sort_by(|a, b| a.0.cmp(&b.0));
        s.sources.sort();
        s.deferred.sort();
        s.blocked.sort();
        s
    }

    /// Stops everything: no more sends or registrations; every listener task
    /// is stopped (work in progress is abandoned); every outstanding request
    /// and deferred reply ends with [`Error::Shutdown`]; queues close. Returns
    /// once the tasks are gone.
    pub async fn shutdown(&self) {
        self.inner.closed.store(true, Ordering::Release);
        let routes = std::mem::take(&mut *self.inner.routes.write());
        self.inner.groups.write().clear();
        self.changed();
        let mut tasks = std::mem::take(&mut *self.inner.retired.lock());
        for route in routes.values() {
            if let Route::Local(mb) = route {
                mb.wake_waiting();
                mb.listener.close();
                if let Some(t) = mb.task.lock().take() {
                    tasks.push(t);
                }
            }
        }
        for t in &tasks {
            t.abort();
        }
        drop(routes);
        let deferred = std::mem::take(&mut *self.inner.deferred.lock());
        for (_, d) in deferred {
            d.reply.send(Err(Error::Shutdown));
        }
        for t in tasks {
            // An aborted task ends at its next poll; a task that panicked has
            // nothing left to clean up.
            let _ = t.await;
        }
        tracing::debug!("dispatcher shut down");
    }
}

/// The FxHash mixing step (as in rustc): multiply-rotate over 8-byte words.
///
/// Used for maps whose keys this process chooses (IDs, type names): a peer
/// can look keys up but not insert them, so flooding is no concern.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher {
    hash: u64,
}

impl IdHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_i64(&mut self, i: i64) {
        self.add(i as u64);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn write_isize(&mut self, i: isize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Counts a request as pending for as long as its sender waits.
struct PendingGuard<'a>(&'a AtomicUsize);

impl<'a> PendingGuard<'a> {
    fn new(n: &'a AtomicUsize) -> PendingGuard<'a> {
        n.fetch_add(1, Ordering::AcqRel);
        PendingGuard(n)
    }
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The members that refused a one-way group message, and how many took it.
#[derive(Default)]
struct GroupRefusals {
    failures: Vec<(Id, Error)>,
    succeeded: usize,
}

impl GroupRefusals {
    fn note(&mut self, d: &Dispatcher, msg: &Message, member: &Member, sent: Result<(), Error>) {
        match sent {
            Ok(()) => self.succeeded += 1,
            // Deregistered since the members were read: no longer a member.
            Err(Error::UnknownDestination(_)) => {
                d.note_undeliverable(msg, "group member gone");
                tracing::debug!(member = %member.id, "group member gone");
            }
            // Refused (a full mailbox, a link that cannot take it): the
            // sender is told which member, and why.
            Err(e) => self.failures.push((member.id.clone(), e)),
        }
    }

    fn result(self, group: Id) -> Result<(), Error> {
        if self.failures.is_empty() {
            return Ok(());
        }
        Err(Error::Group(GroupError { group, failures: self.failures, succeeded: self.succeeded }))
    }
}

/// Collects the replies of a group request.
pub(crate) struct GroupCollector {
    state: Mutex<GroupState>,
}

struct GroupState {
    answers: Vec<(Id, Result<Message, Error>)>,
    remaining: usize,
    done: Option<oneshot::Sender<()>>,
}

impl GroupCollector {
    fn new(members: usize) -> (Arc<GroupCollector>, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let c = GroupCollector {
            state: Mutex::new(GroupState {
                answers: Vec::with_capacity(members),
                remaining: members,
                done: Some(tx),
            }),
        };
        (Arc::new(c), rx)
    }

    pub(crate) fn report(&self, member: Id, answer: Result<Message, Error>) {
        let mut s = self.state.lock();
        s.answers.push((member, answer));
        s.remaining = s.remaining.saturating_sub(1);
        if s.remaining == 0 {
            if let Some(done) = s.done.take() {
                let _ = done.send(());
            }
        }
    }
}

/// Deliveries a listener's task takes in one go before it looks at its
/// in-flight work again.
const BATCH: usize = 64;

/// A listener's task: takes deliveries in order, runs async work alongside,
/// and holds later deliveries while a blocking message is unanswered.
///
/// Everything it consumes lives in `state.consumer`, which it locks only
/// while it polls (never across an await), so a link's reader can deliver
/// to an idle listener in its place ([`Dispatcher::deliver_now`]).
async fn run_mailbox(
    dispatcher: Weak<Inner>,
    me: Id,
    listener: Arc<dyn Listener>,
    state: Arc<MailboxState>,
) {
    // However the task ends (its queue closed, or aborted by shutdown), the
    // queue's receiving end goes with it, so later sends fail instead of
    // queueing for nobody; and so does the work in flight. That work lives
    // in the shared `MailboxState`, not in this task's future, and anything
    // that still holds the mailbox (a group request waiting on its members,
    // a link's route cache) would otherwise keep it, and the reply slots
    // it holds, alive forever: its requesters would never hear back.
    struct Ended<'a>(&'a MailboxState);
    impl Drop for Ended<'_> {
        fn drop(&mut self) {
            let mut c = self.0.consumer.lock();
            let rx = c.rx.take();
            let abandoned = (std::mem::take(&mut c.inflight), c.held.take(), rx);
            // Dropped outside the lock: a dropped reply slot answers its
            // requester (`NoReply`, seen as `Shutdown` after a shutdown),
            // which may run a transport's callback.
            drop(c);
            drop(abandoned);
            // Senders waiting for room find the mailbox closed.
            if let Some(b) = &self.0.bound {
                b.room.notify_waiters();
            }
        }
    }
    let _ended = Ended(&state);
    poll_fn(|cx| poll_mailbox(cx, &dispatcher, &me, &*listener, &state)).await;
    // The queue is closed: no more deliveries, by the task or directly.
    let mut inflight = std::mem::take(&mut state.consumer.lock().inflight);
    while inflight.next().await.is_some() {}
    listener.close();
}

/// One poll of a listener's task; `Ready` once its queue is closed.
fn poll_mailbox(
    cx: &mut std::task::Context<'_>,
    dispatcher: &Weak<Inner>,
    me: &Id,
    listener: &dyn Listener,
    state: &MailboxState,
) -> Poll<()> {
    state.task.register(cx.waker());
    let mut budget = PollBudget::default();
    let mut consumer = match state.consumer.try_lock() {
        Some(c) => c,
        None => {
            // A direct delivery is under way: it wakes this task when it
            // is done (`missed`). Tried once more in case it ended between
            // the first try and the flag.
            state.missed.store(true, Ordering::SeqCst);
            match state.consumer.try_lock() {
                Some(c) => c,
                None => return Poll::Pending,
            }
        }
    };
    let c = &mut *consumer;
    loop {
        // In-flight async work first, then the hold, then new deliveries
        // (the order the task always had).
        while let Poll::Ready(Some(())) = c.inflight.poll_next_unpin(cx) {}
        if let Some(held) = c.held.as_mut() {
            // The sender half is never sent on, only dropped: either result
            // means "answered".
            if Pin::new(held).poll(cx).is_pending() {
                return Poll::Pending;
            }
            c.held = None;
            state.blocked.store(false, Ordering::Release);
        }
        if !state.may_take(&c.inflight) {
            // A bounded mailbox at its limit of work in flight: the work
            // wakes this task as it finishes.
            return Poll::Pending;
        }
        let Some(rx) = c.rx.as_mut() else { return Poll::Ready(()) };
        let mut delivery = match rx.poll_recv(cx) {
            Poll::Ready(Some(d)) => d,
            Poll::Ready(None) => return Poll::Ready(()),
            Poll::Pending => return Poll::Pending,
        };
        state.took();
        let Some(inner) = dispatcher.upgrade() else { return Poll::Ready(()) };
        let dispatcher = Dispatcher { inner };
        let mut taken = 0;
        loop {
            if delivery.message.envelope().blocking {
                hold(c, state, &mut delivery);
            }
            let mut lcx = Context {
                dispatcher: &dispatcher,
                me: Some(me),
                inflight: &mut c.inflight,
                pool: &mut c.pool,
            };
            listener.deliver(delivery, &mut lcx);
            taken += 1;
            if budget.spent() {
                // The thread goes back to the scheduler first: taking
                // deliveries does not count against tokio's cooperative
                // budget, so without this a slow listener with a long queue
                // keeps its worker thread for thousands of them, and
                // whatever else was scheduled there (a link's reader, other
                // listeners) waits: seconds, behind a 1 ms handler.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            // Take what is already waiting without another round; the
            // batch is bounded so in-flight async work still gets its turn,
            // and a blocking message ends it.
            if c.held.is_some() || taken == BATCH || !state.may_take(&c.inflight) {
                break;
            }
            match c.rx.as_mut().map(mpsc::UnboundedReceiver::try_recv) {
                Some(Ok(next)) => {
                    state.took();
                    delivery = next;
                }
                _ => break,
            }
        }
    }
}

/// How long one poll of a listener's task may deliver before it gives its
/// thread back to the scheduler.
const POLL_BUDGET: Duration = Duration::from_millis(1);

/// The time a poll of a listener's task has spent delivering, looked at
/// after the 2nd, 4th, 8th, … delivery: a poll that delivers one message
/// (a request's round trip) reads no clock, a long one a few times, and a
/// slow handler is found after four deliveries. Yielding after a count
/// instead would cost a fast listener dearly: a task that yields wakes
/// another worker thread, which takes it over.
#[derive(Default)]
struct PollBudget {
    delivered: u32,
    since: Option<Instant>,
}

impl PollBudget {
    /// Counts one delivery; whether the poll has run for its budget.
    fn spent(&mut self) -> bool {
        self.delivered = self.delivered.saturating_add(1);
        if self.delivered < 2 || !self.delivered.is_power_of_two() {
            return false;
        }
        match self.since {
            None => {
                self.since = Some(Instant::now());
                false
            }
            Some(t) => t.elapsed() > POLL_BUDGET,
        }
    }
}

/// Makes `delivery` hold its destination until it is answered.
fn hold(c: &mut Consumer, state: &MailboxState, delivery: &mut Delivery) {
    let (release, rx) = oneshot::channel();
    state.blocked.store(true, Ordering::Release);
    delivery.reply.hold(Hold { blocked: state.blocked.clone(), release });
    c.held = Some(rx);
}

/// Direct deliveries between two timed ones: reading the clock for every
/// message would cost more than the hop it saves.
const TIME_EVERY: u32 = 16;

/// A direct delivery slower than this means a slow handler: the link's
/// reader must not wait for it, since the link also carries other
/// destinations' messages.
const SLOW_HANDLER: Duration = Duration::from_micros(200);

/// Messages queued (not delivered directly) after a slow handler was seen.
const QUEUE_AFTER_SLOW: u32 = 4096;

impl Dispatcher {
    /// Delivers a message from another process in the caller's task when
    /// the listener is idle: nothing queued for it, nothing held by a
    /// blocking message, its task not delivering. That saves the hand-off
    /// to the listener's task (a queue operation, a wake-up, often another
    /// thread) for every message a link reads. Gives the delivery back when
    /// it must be queued instead.
    ///
    /// Order holds: everything queued before was delivered (the queue is
    /// empty, checked under the consumer's lock, which the task holds while
    /// it delivers), and a delivery given back is queued behind them.
    /// Async steps the listener starts are polled by its task (woken here).
    /// A handler found slow turns direct delivery off for a while, so that
    /// the link's reader keeps reading for other destinations.
    #[allow(
        clippy::result_large_err,
        reason = "the refused delivery goes back unboxed, to be queued"
    )]
    pub(crate) fn deliver_now(&self, mb: &Mailbox, delivery: Delivery) -> Result<(), Delivery> {
        let state = &*mb.state;
        let Some(consumer) = state.consumer.try_lock() else { return Err(delivery) };
        let (result, task_has_work) = self.deliver_holding(mb, consumer, delivery);
        // The consumer is free again, on every path (a delivery given back
        // too): a task that found it taken meanwhile gave up its turn
        // (`missed`), and may have nothing else to wake it: its queue's
        // wake-up was spent on the turn it gave up. A plain load first:
        // the flag is rarely set, and a swap on every message costs a
        // locked instruction.
        let missed =
            state.missed.load(Ordering::SeqCst) && state.missed.swap(false, Ordering::SeqCst);
        if task_has_work || missed {
            state.task.wake();
        }
        result
    }

    /// [`deliver_now`](Self::deliver_now) once the consumer is held:
    /// delivers unless the listener is busy, and releases the consumer.
    /// Also says whether the delivery left work for the listener's task.
    fn deliver_holding(
        &self,
        mb: &Mailbox,
        mut consumer: MutexGuard<'_, Consumer>,
        mut delivery: Delivery,
    ) -> (Result<(), Delivery>, bool) {
        let state = &*mb.state;
        let c = &mut *consumer;
        if c.queue_only > 0 {
            c.queue_only -= 1;
            return (Err(delivery), false);
        }
        let idle = c.held.is_none()
            && c.rx.as_ref().is_some_and(|rx| rx.is_empty())
            && state.may_take(&c.inflight);
        if !idle || self.is_shut_down() {
            return (Err(delivery), false);
        }
        if delivery.message.envelope().blocking {
            hold(c, state, &mut delivery);
        }
        let inflight = c.inflight.len();
        let started = (c.until_timed == 0).then(Instant::now);
        let mut lcx = Context {
            dispatcher: self,
            me: Some(&mb.dest),
            inflight: &mut c.inflight,
            pool: &mut c.pool,
        };
        // A listener that panics must not take the link's reader with it
        // (in its own task it would only have ended that task); the
        // delivery's reply slot is dropped, so a requester hears `NoReply`.
        let delivered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            mb.listener.deliver(delivery, &mut lcx);
        }));
        if delivered.is_err() {
            self.inner.counters.handler_errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(dest = %mb.dest, "a listener panicked while delivering a message");
        }
        match started {
            Some(t) => {
                c.until_timed = TIME_EVERY;
                if t.elapsed() > SLOW_HANDLER {
                    c.queue_only = QUEUE_AFTER_SLOW;
                }
            }
            None => c.until_timed -= 1,
        }
        // New async work must be polled once to start; a hold must be
        // watched to be released: both are the task's job.
        (Ok(()), c.inflight.len() != inflight || c.held.is_some())
    }
}

/// A client of the dispatcher with a registered source ID, which it puts on
/// every message it sends (unless the message names another source).
/// Dropping it releases the ID.
#[derive(Debug)]
pub struct Source {
    id: Id,
    dispatcher: Dispatcher,
}

impl Source {
    /// The source ID.
    pub fn id(&self) -> &Id {
        &self.id
    }

    /// The dispatcher.
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    fn stamp(&self, mut msg: Message) -> Message {
        let env = msg.envelope_mut();
        if env.source.is_none() {
            env.source = Some(self.id.clone());
        }
        msg
    }

    /// [`Dispatcher::send`] from this source.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::send`].
    pub fn send(&self, msg: Message) -> Result<MessageId, Error> {
        self.dispatcher.send(self.stamp(msg))
    }

    /// [`Dispatcher::send_wait`] from this source.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::send_wait`].
    pub async fn send_wait(&self, msg: Message) -> Result<MessageId, Error> {
        self.dispatcher.send_wait(self.stamp(msg)).await
    }

    /// [`Dispatcher::request`] from this source.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::request`].
    pub async fn request(&self, msg: Message, timeout: Option<Duration>) -> Result<Message, Error> {
        self.dispatcher.request(self.stamp(msg), timeout).await
    }

    /// [`Dispatcher::request_group`] from this source.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::request_group`].
    pub async fn request_group(
        &self,
        msg: Message,
        timeout: Option<Duration>,
    ) -> Result<GroupReplies, Error> {
        self.dispatcher.request_group(self.stamp(msg), timeout).await
    }

    /// [`Dispatcher::send_sync`] from this source.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::send_sync`].
    pub fn send_sync(&self, msg: Message) -> Result<Message, Error> {
        self.dispatcher.send_sync(self.stamp(msg))
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        self.dispatcher.inner.sources.lock().remove(&self.id);
    }
}

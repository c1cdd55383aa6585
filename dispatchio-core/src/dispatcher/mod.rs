//! The dispatcher: source IDs, listener registration, groups, sending,
//! requests and replies, introspection and shutdown.
//!
//! # How a message flows
//!
//! 1. [`Dispatcher::send`] (or `request`, `request_group`, `send_sync`)
//!    validates the envelope and assigns a message ID when the sender did not.
//! 2. The destination is looked up in a read-mostly map (a `RwLock` read,
//!    never held across an `.await`): a route is either a local mailbox or
//!    a transport's [`Outlet`]. A group is looked up the same way and
//!    gives its members. A [`Destination`] handle did this once, when it
//!    was made, for all its sends.
//! 3. A local delivery is one push onto the listener's mailbox; the
//!    listener's task routes it with its table and runs the steps. The sender
//!    does not wait for any of that.
//! 4. A request carries a [`ReplySender`](crate::ReplySender); the executor answers through it,
//!    right away, when an async handler finishes, or later by message ID
//!    ([`Dispatcher::reply`]) when a handler deferred.
//!
//! Per-sender order holds because every message to one destination goes
//! through the one mailbox of that destination, and a sender's sends are
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

mod deferred;
mod destination;
mod directory;
mod flush;
mod listener;
mod mailbox;
mod report;
mod request;
pub(crate) mod route;
mod send;
mod shutdown;
mod source;
mod sync;

pub use destination::Destination;
pub use listener::{Context, Listener, SyncContext};
pub(crate) use mailbox::Mailbox;
pub use report::{Counters, QueueInfo, RuleHit, RuleHits, Snapshot};
pub use request::GroupReplies;
pub(crate) use route::{Member, Outlet, Route, RouteCache};
pub use source::Source;

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::Error;
use crate::hash::IdHasher;
use crate::id::{Id, MessageId};
use deferred::Deferred;
use report::CounterCells;

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
    /// Where messages nobody here serves go, when a link is the fallback.
    fallback: RwLock<Option<Arc<dyn Outlet>>>,
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
    ///
    /// ```
    /// # type Inbox = dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>;
    /// # fn inbox() -> std::sync::Arc<Inbox> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// let (a, b) = (Dispatcher::new(), Dispatcher::new());
    /// assert!(!a.same(&b)); // independent
    /// a.register("player", inbox())?;
    /// b.register("player", inbox())?; // the same ID, in another dispatcher
    /// # Ok(()) }
    /// ```
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
                fallback: RwLock::new(None),
            }),
        }
    }

    /// The process-wide dispatcher, created on first use.
    ///
    /// ```
    /// use dispatchio_core::Dispatcher;
    /// assert!(Dispatcher::global().same(Dispatcher::global()));
    /// assert!(!Dispatcher::global().same(&Dispatcher::new()));
    /// ```
    pub fn global() -> &'static Dispatcher {
        static GLOBAL: OnceLock<Dispatcher> = OnceLock::new();
        GLOBAL.get_or_init(Dispatcher::new)
    }

    /// Whether two handles are the same dispatcher.
    ///
    /// ```
    /// use dispatchio_core::Dispatcher;
    /// let dispatcher = Dispatcher::new();
    /// assert!(dispatcher.same(&dispatcher.clone())); // a clone is another handle
    /// assert!(!dispatcher.same(&Dispatcher::new()));
    /// ```
    pub fn same(&self, other: &Dispatcher) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// A receiver that sees a new value whenever a destination is registered
    /// or removed, a group membership changes, or the dispatcher shuts down
    /// (see [`DirectoryWatch`](crate::transport::DirectoryWatch)).
    pub(crate) fn route_changes(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    fn changed(&self) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        self.inner.changes.send_modify(|generation| *generation += 1);
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// let dispatcher = Dispatcher::new();
    /// assert!(!dispatcher.is_shut_down());
    /// dispatcher.clone().shutdown().await; // through any handle
    /// assert!(dispatcher.is_shut_down());
    /// # Ok(()) }
    /// ```
    pub fn is_shut_down(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    fn check_open(&self) -> Result<(), Error> {
        if self.is_shut_down() { Err(Error::Shutdown) } else { Ok(()) }
    }
}

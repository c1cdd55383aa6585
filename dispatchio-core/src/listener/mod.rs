//! Listeners: what the dispatcher delivers messages to.
//!
//! [`Listener`] is the object-safe trait the dispatcher talks to. The usual
//! implementation is [`RoutedListener`], the one executor shared by every
//! producer of routing tables: it asks its [`Matcher`](crate::routing::Matcher)
//! which [`Step`](crate::routing::Step)s to run, then calls [`Handlers`],
//! pushes onto [`Queue`]s, forwards to chained listeners, and sends the reply.
//! [`Hooks`] let a listener type customise handling before and after routing.
//!
//! Each registered listener runs in its own tokio task that takes deliveries
//! one at a time from its mailbox, a channel (so a sender never waits on the
//! listener's work, and messages from one sender arrive in order), unbounded
//! unless registered bounded (see the
//! [dispatcher's documentation](crate::dispatcher#bounded-mailboxes)).
//! Synchronous handlers run in that task; asynchronous handlers run
//! concurrently with later messages, inside the same task.

mod queue;
mod routed;

pub use queue::Queue;
pub use routed::{FnHandlers, ForwardTarget, ListenerBuilder, RoutedListener};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use tokio::sync::oneshot;

use crate::content::{ContentRef, ContentType};
use crate::dispatcher::{Dispatcher, GroupCollector};
use crate::error::{Error, HandlerError, SyncError};
use crate::id::{Id, MessageId};
use crate::message::Message;
use crate::routing::{Fired, Layout};

/// What a handler returns.
pub type HandlerResult = Result<Reply, HandlerError>;

/// A handler's answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Reply with this content.
    Content(ContentRef),
    /// Handled; the reply (when one is required) carries no content
    /// ([`Empty`](crate::Empty)).
    Empty,
    /// Answer later by message ID with
    /// [`Dispatcher::reply`](crate::Dispatcher::reply); the sender keeps
    /// waiting (until its timeout, if any). Deferrals are keyed by message
    /// ID alone: one may be outstanding per ID, so of a group request's
    /// subscribers only one can defer (a second deferral is answered
    /// [`Error::DuplicateDeferred`]).
    Defer,
}

impl Reply {
    /// Reply with `content`.
    pub fn with<T: ContentType>(content: T) -> Reply {
        Reply::Content(Arc::new(content))
    }
}

/// One message handed to a listener, with the way to answer it.
#[derive(Debug)]
pub struct Delivery {
    /// The message.
    pub message: Message,
    /// Where its reply goes (nowhere, when none is wanted).
    pub reply: ReplySender,
}

/// Where the reply to one message goes: a waiting request, one subscriber's
/// slot in a group request, a transport's callback, or nowhere.
///
/// Send exactly once. Dropped unsent while a reply is wanted, it answers with
/// [`Error::NoReply`], so a requester never waits on a reply that cannot come.
pub struct ReplySender {
    id: MessageId,
    kind: Option<ReplyKind>,
    /// Held while the message is unanswered; its drop releases a destination
    /// held by a blocking message.
    hold: Option<Hold>,
}

/// The hold a blocking message has on its destination.
///
/// Dropped when the message is answered (before the answer is handed over),
/// it marks the destination free at once, so a sender that got the answer
/// never finds the destination still held, and wakes the listener's task to
/// take the messages queued behind it.
pub(crate) struct Hold {
    /// The destination's "held by a blocking message" flag.
    pub(crate) blocked: Arc<AtomicBool>,
    /// Dropped (never sent on) to wake the listener's task.
    #[expect(dead_code, reason = "held for its drop, which wakes the listener's task")]
    pub(crate) release: oneshot::Sender<()>,
}

impl Drop for Hold {
    fn drop(&mut self) {
        // Before `release` is dropped (fields drop after this): the task that
        // wakes finds the flag already cleared.
        self.blocked.store(false, Ordering::Release);
    }
}

type Answer = Result<Message, Error>;

enum ReplyKind {
    Unwanted,
    Oneshot(oneshot::Sender<Answer>),
    Group(Arc<GroupCollector>, Id),
    Callback(Box<dyn FnOnce(Answer) + Send>),
}

impl ReplySender {
    /// No reply is wanted.
    pub fn unwanted() -> ReplySender {
        ReplySender { id: MessageId::UNSET, kind: Some(ReplyKind::Unwanted), hold: None }
    }

    /// The reply to message `id` is handed to `f` (transports use this to send
    /// replies back over their link).
    pub fn callback(
        id: MessageId,
        f: impl FnOnce(Result<Message, Error>) + Send + 'static,
    ) -> ReplySender {
        ReplySender { id, kind: Some(ReplyKind::Callback(Box::new(f))), hold: None }
    }

    pub(crate) fn oneshot(id: MessageId) -> (ReplySender, oneshot::Receiver<Answer>) {
        let (tx, rx) = oneshot::channel();
        (ReplySender { id, kind: Some(ReplyKind::Oneshot(tx)), hold: None }, rx)
    }

    pub(crate) fn group(id: MessageId, collector: Arc<GroupCollector>, member: Id) -> ReplySender {
        ReplySender { id, kind: Some(ReplyKind::Group(collector, member)), hold: None }
    }

    /// The ID of the message this answers.
    pub fn id(&self) -> MessageId {
        self.id
    }

    /// Whether somebody waits for the reply.
    pub fn is_wanted(&self) -> bool {
        match &self.kind {
            Some(ReplyKind::Unwanted) | None => false,
            Some(ReplyKind::Oneshot(tx)) => !tx.is_closed(),
            Some(_) => true,
        }
    }

    /// Whether this is [`unwanted`](Self::unwanted): sending to it does
    /// nothing, so a reply need not even be built.
    pub(crate) fn is_unwanted(&self) -> bool {
        matches!(self.kind, Some(ReplyKind::Unwanted))
    }

    /// Whether the message holds its destination until answered (blocking).
    pub fn holds(&self) -> bool {
        self.hold.is_some()
    }

    pub(crate) fn hold(&mut self, guard: Hold) {
        self.hold = Some(guard);
    }

    /// Sends the reply (a no-op when none is wanted).
    pub fn send(mut self, answer: Result<Message, Error>) {
        // The destination is free before the sender learns the answer.
        self.hold = None;
        if let Some(kind) = self.kind.take() {
            deliver(kind, answer);
        }
    }
}

fn deliver(kind: ReplyKind, answer: Answer) {
    match kind {
        ReplyKind::Unwanted => {}
        ReplyKind::Oneshot(tx) => {
            // The requester may have given up (timeout); nothing to do then.
            let _ = tx.send(answer);
        }
        ReplyKind::Group(collector, member) => collector.report(member, answer),
        ReplyKind::Callback(f) => f(answer),
    }
}

impl Drop for ReplySender {
    fn drop(&mut self) {
        self.hold = None;
        match self.kind.take() {
            // Nobody to tell (every one-way message ends here).
            None | Some(ReplyKind::Unwanted) => {}
            Some(kind) => deliver(kind, Err(Error::NoReply { id: self.id })),
        }
    }
}

impl std::fmt::Debug for ReplySender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            None => "sent",
            Some(ReplyKind::Unwanted) => "unwanted",
            Some(ReplyKind::Oneshot(_)) => "request",
            Some(ReplyKind::Group(..)) => "group",
            Some(ReplyKind::Callback(_)) => "callback",
        };
        f.debug_struct("ReplySender")
            .field("id", &self.id)
            .field("kind", &kind)
            .field("holds", &self.holds())
            .finish()
    }
}

/// What a listener may use while handling a delivery in its task.
pub struct Context<'a> {
    pub(crate) dispatcher: &'a Dispatcher,
    pub(crate) me: Option<&'a Id>,
    pub(crate) inflight: &'a mut FuturesUnordered<BoxFuture<'static, ()>>,
    pub(crate) pool: &'a mut Vec<Fired>,
}

impl Context<'_> {
    /// The dispatcher delivering the message.
    pub fn dispatcher(&self) -> &Dispatcher {
        self.dispatcher
    }

    /// The destination ID the listener is registered under.
    pub fn me(&self) -> Option<&Id> {
        self.me
    }

    /// Runs `work` concurrently with the listener's later messages, inside the
    /// listener's task (no `tokio::spawn`, and it stops with the listener).
    pub fn spawn(&mut self, work: impl Future<Output = ()> + Send + 'static) {
        self.inflight.push(Box::pin(work));
    }

    /// A cleared [`Fired`] buffer from the task's pool (no allocation once warm).
    pub fn take_fired(&mut self) -> Fired {
        let mut f = self.pool.pop().unwrap_or_default();
        f.clear();
        f
    }

    /// Returns a buffer taken with [`take_fired`](Self::take_fired).
    pub fn give_back(&mut self, fired: Fired) {
        self.pool.push(fired);
    }
}

/// What a listener may use while handling a synchronous send, in the
/// sender's thread.
pub struct SyncContext<'a> {
    pub(crate) dispatcher: &'a Dispatcher,
    pub(crate) me: Option<&'a Id>,
}

impl SyncContext<'_> {
    /// The dispatcher delivering the message.
    pub fn dispatcher(&self) -> &Dispatcher {
        self.dispatcher
    }

    /// The destination ID the listener is registered under.
    pub fn me(&self) -> Option<&Id> {
        self.me
    }
}

/// Something that takes messages: registered with a dispatcher under a
/// destination ID, or chained to by other listeners.
pub trait Listener: Send + Sync + 'static {
    /// Handles one delivery, in the listener's task (or, for a message read
    /// from another process while the listener is idle, in the link's
    /// reader: still one delivery at a time, in order). Must not block:
    /// work that waits goes into [`Context::spawn`]. The delivery's reply
    /// must be sent (or the [`ReplySender`] dropped) when the message is
    /// answered.
    fn deliver(&self, delivery: Delivery, cx: &mut Context<'_>);

    /// Handles a synchronous send in the sender's thread: `Ok(Some(reply))`,
    /// `Ok(None)` when handled with nothing to say, or an error.
    ///
    /// # Errors
    ///
    /// [`Error::Sync`] when the message cannot be handled synchronously (the
    /// default: [`SyncError::NotSupported`]), or the handling's own error.
    fn deliver_sync(
        &self,
        message: Message,
        cx: &SyncContext<'_>,
    ) -> Result<Option<Message>, Error> {
        let _ = (message, cx);
        Err(Error::Sync(SyncError::NotSupported))
    }

    /// The listener's named queues, for introspection.
    fn queues(&self) -> Vec<Queue> {
        Vec::new()
    }

    /// Called once the listener will get no more messages (deregistered and
    /// drained, or shut down). Closes its queues by default.
    fn close(&self) {
        for q in self.queues() {
            q.close();
        }
    }
}

/// The handlers of a routed listener, called by index into the matcher's
/// [`Layout::handlers`]. Generated code implements this over a user's typed
/// handler trait; [`FnHandlers`] holds closures.
pub trait Handlers: Send + Sync + 'static {
    /// Runs synchronous handler `handler` (declared `call`).
    fn call(&self, handler: usize, message: &Message) -> HandlerResult {
        let _ = message;
        Err(HandlerError::new(format!("handler #{handler} is not a synchronous handler")))
    }

    /// Starts asynchronous handler `handler` (declared `call async`).
    fn call_async(&self, handler: usize, message: Message) -> BoxFuture<'static, HandlerResult> {
        let _ = message;
        Box::pin(std::future::ready(Err(HandlerError::new(format!(
            "handler #{handler} is not an asynchronous handler"
        )))))
    }
}

/// No handlers: for routing tables without `call` actions.
impl Handlers for () {}

/// Customises a routed listener's handling with pre- and post-filters.
/// Every method has a default that changes nothing.
pub trait Hooks: Send + Sync + 'static {
    /// Before routing: return the message (possibly changed) to route it, or
    /// `None` to drop it (counted and reported like a `drop` action).
    fn pre_filter(&self, message: Message) -> Option<Message> {
        Some(message)
    }

    /// After the steps ran (asynchronous handlers may still be running).
    fn post_filter(&self, message: &Message, outcome: &Outcome<'_>) {
        let _ = (message, outcome);
    }
}

/// No hooks.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {}

/// What happened to one message, for [`Hooks::post_filter`].
#[derive(Debug)]
pub struct Outcome<'a> {
    /// The names behind the indices.
    pub layout: &'a Layout,
    /// The rules that fired, the steps run and how the search ended.
    pub fired: &'a Fired,
    /// Whether the pre-filter dropped the message (then nothing fired).
    pub filtered: bool,
}

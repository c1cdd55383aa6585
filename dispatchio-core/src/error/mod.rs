//! The runtime's errors. Every failure a sender can see is an [`Error`];
//! handlers fail with a [`HandlerError`], which reaches the sender inside
//! [`Error::Handler`].
//!
//! # Asking what went wrong
//!
//! An [`Error`] says what happened, with the details (the destination, the
//! handler, the timeout): match its variants to report it. To decide what to
//! do (retry, give up, shut down), ask its [`kind`](Error::kind) instead, as
//! with [`std::io::Error::kind`] or the `code()` of a gRPC status: one small
//! `Copy` enum, [`ErrorKind`], the same for a request to one destination and
//! for a request to a group, whose [`Error::Group`] has the kind its members'
//! failures share:
//!
//! ```
//! # use dispatchio_core::{Error, ErrorKind, GroupError, Id, MessageId};
//! # use std::time::Duration;
//! let timeout = || Error::Timeout { id: MessageId(1), after: Duration::from_secs(1) };
//! let group = Error::Group(GroupError {
//!     group: Id::from("players"),
//!     failures: vec![(Id::from("bob"), timeout()), (Id::from("amy"), timeout())],
//!     succeeded: 1,
//! });
//! assert_eq!(timeout().kind(), ErrorKind::Timeout);
//! assert_eq!(group.kind(), ErrorKind::Timeout);
//! ```
//!
//! A transport's failure is typed too: [`Error::Transport`] holds a
//! [`TransportError`] with its own [`TransportErrorKind`] (a full queue, a
//! lost peer, …) and the transport's error underneath as its
//! [`source`](std::error::Error::source). Every error here is a
//! [`std::error::Error`] with its cause chained, except [`HandlerError`]
//! (it converts from any error, which an `Error` impl would clash with);
//! its cause is [`Error::Handler`]'s source.

mod group;
mod handler;
mod transport;

pub use group::GroupError;
pub use handler::HandlerError;
pub use transport::{TransportError, TransportErrorKind};

use std::fmt;
use std::time::Duration;

use crate::id::{Id, MessageId, SharedStr};
use crate::message::InvalidMessage;

/// What went wrong with a send, a request, a registration or a reply.
///
/// Cheap to clone (a group request reports one per failed subscriber).
/// [`kind`](Self::kind) classifies it (see the [module documentation](self)).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::{Dispatcher, Error, ErrorKind, Id, Message, Text};
/// let dispatcher = Dispatcher::new();
/// let err = dispatcher.send(Message::new(Text::from("hi")).to("nobody")).unwrap_err();
/// assert!(matches!(&err, Error::UnknownDestination(id) if *id == Id::from("nobody")));
/// assert_eq!(err.kind(), ErrorKind::UnknownDestination);
/// assert_eq!(err.to_string(), r#"no listener is registered for destination "nobody""#);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Error {
    /// The message was refused before sending.
    Invalid(InvalidMessage),
    /// A source ID asked for is already registered.
    SourceTaken(Id),
    /// A destination ID asked for is already served by a listener (or an
    /// outlet).
    DestinationTaken(Id),
    /// No listener (local or remote) serves this destination.
    UnknownDestination(Id),
    /// The destination's bounded mailbox is full (see
    /// [`Dispatcher::register_bounded`](crate::Dispatcher::register_bounded)):
    /// the message was not delivered. Send it again later, or wait for
    /// room with [`Dispatcher::send_wait`](crate::Dispatcher::send_wait).
    MailboxFull {
        /// The destination whose mailbox is full.
        dest: Id,
        /// The mailbox's capacity.
        capacity: usize,
    },
    /// A group message found no subscriber.
    NoSubscribers(Id),
    /// The listener's routing table sent the message nowhere (no rule stopped
    /// it and there is no `otherwise`).
    Unrouted {
        /// The message ID.
        id: MessageId,
        /// The message type.
        ty: String,
        /// The listener's destination ID; `None` for a listener without one
        /// (reached by `forward`).
        listener: Option<Id>,
    },
    /// The listener's routing table dropped the message on purpose (`drop`).
    Dropped {
        /// The message ID.
        id: MessageId,
        /// The listener's destination ID; `None` for a listener without one.
        listener: Option<Id>,
    },
    /// A handler failed; its error, as the handler gave it.
    Handler {
        /// The handler's name in the routing table.
        handler: String,
        /// The handler's error.
        error: HandlerError,
    },
    /// No reply within the request's timeout.
    Timeout {
        /// The request's message ID.
        id: MessageId,
        /// The timeout that ran out.
        after: Duration,
    },
    /// The listener went away (deregistered, or its task ended) without answering.
    NoReply {
        /// The request's message ID.
        id: MessageId,
    },
    /// The reply to a request made with
    /// [`request_as`](crate::Dispatcher::request_as) is not of the type asked
    /// for (an acknowledgement, say, where a `Count` was expected).
    UnexpectedReply {
        /// The request's message ID.
        id: MessageId,
        /// The message type asked for.
        expected: &'static str,
        /// The message type of the reply that came.
        got: SharedStr,
    },
    /// One or more members of a group failed.
    Group(GroupError),
    /// A synchronous send that cannot be done synchronously.
    Sync(SyncError),
    /// A deferred reply was given for a message ID nobody is waiting on.
    NotDeferred(MessageId),
    /// A handler deferred its reply under an ID that already has a deferred
    /// reply outstanding (sender-chosen IDs must be unique for that).
    DuplicateDeferred(MessageId),
    /// The message reached an outlet to another process that failed to
    /// carry it (or its answer).
    Transport(TransportError),
    /// A forward action whose target was never bound.
    UnboundForward(String),
    /// Registration outside a tokio runtime: listeners run as tokio tasks.
    NoRuntime,
    /// The dispatcher was shut down.
    Shutdown,
}

/// What kind of failure an [`Error`] is: for deciding what to do about it
/// (see the [module documentation](self)).
///
/// ```
/// # type Inbox = dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>;
/// # fn inbox() -> std::sync::Arc<Inbox> {
/// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
/// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use dispatchio_core::{Dispatcher, ErrorKind, Message, Text};
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("player", inbox())?;
/// dispatcher.shutdown().await;
/// let err = dispatcher.request(Message::new(Text::from("hi")).to("player"), Some(Duration::from_secs(1))).await.unwrap_err();
/// let retry = match err.kind() {
///     ErrorKind::Timeout | ErrorKind::MailboxFull => true,
///     _ => false, // a shut-down dispatcher will not answer later
/// };
/// assert_eq!((err.kind(), retry), (ErrorKind::Shutdown, false));
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The message itself is malformed ([`Error::Invalid`]).
    Invalid,
    /// A source or destination ID is taken already
    /// ([`Error::SourceTaken`], [`Error::DestinationTaken`]).
    Taken,
    /// Nobody serves the destination ([`Error::UnknownDestination`]).
    UnknownDestination,
    /// Nobody subscribes to the group ([`Error::NoSubscribers`]).
    NoSubscribers,
    /// A bounded mailbox is full; the message was not delivered
    /// ([`Error::MailboxFull`]).
    MailboxFull,
    /// No rule routed the message ([`Error::Unrouted`]).
    Unrouted,
    /// A rule dropped the message on purpose ([`Error::Dropped`]).
    Dropped,
    /// A handler failed ([`Error::Handler`]).
    Handler,
    /// No answer in time ([`Error::Timeout`]).
    Timeout,
    /// The listener went away without answering ([`Error::NoReply`]).
    NoReply,
    /// The reply is not of the type asked for ([`Error::UnexpectedReply`]).
    UnexpectedReply,
    /// It cannot be done synchronously ([`Error::Sync`]).
    Sync,
    /// A deferred reply went wrong ([`Error::NotDeferred`],
    /// [`Error::DuplicateDeferred`]).
    Deferral,
    /// A transport failed ([`Error::Transport`]; its
    /// [`TransportErrorKind`] says how).
    Transport,
    /// A forward target is not bound ([`Error::UnboundForward`]).
    UnboundForward,
    /// No tokio runtime to run a listener on ([`Error::NoRuntime`]).
    NoRuntime,
    /// The dispatcher is shut down ([`Error::Shutdown`]).
    Shutdown,
    /// The members of a group failed in different ways
    /// ([`Error::Group`]; each failure has its own kind).
    Group,
}

impl Error {
    /// What kind of failure this is. For [`Error::Group`], the kind every
    /// failed member shares ([`ErrorKind::Group`] when they differ), so that
    /// a caller asks a group request what it asks a single one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use dispatchio_core::{Error, ErrorKind, Id, MessageId};
    /// let err = Error::Timeout { id: MessageId(3), after: Duration::from_millis(50) };
    /// assert_eq!(err.kind(), ErrorKind::Timeout);
    /// assert_eq!(Error::SourceTaken(Id::from("dealer")).kind(), ErrorKind::Taken);
    /// assert_eq!(Error::DestinationTaken(Id::from("dealer")).kind(), ErrorKind::Taken);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Invalid(_) => ErrorKind::Invalid,
            Error::SourceTaken(_) | Error::DestinationTaken(_) => ErrorKind::Taken,
            Error::UnknownDestination(_) => ErrorKind::UnknownDestination,
            Error::MailboxFull { .. } => ErrorKind::MailboxFull,
            Error::NoSubscribers(_) => ErrorKind::NoSubscribers,
            Error::Unrouted { .. } => ErrorKind::Unrouted,
            Error::Dropped { .. } => ErrorKind::Dropped,
            Error::Handler { .. } => ErrorKind::Handler,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::NoReply { .. } => ErrorKind::NoReply,
            Error::UnexpectedReply { .. } => ErrorKind::UnexpectedReply,
            Error::Group(g) => g.kind(),
            Error::Sync(_) => ErrorKind::Sync,
            Error::NotDeferred(_) | Error::DuplicateDeferred(_) => ErrorKind::Deferral,
            Error::Transport(_) => ErrorKind::Transport,
            Error::UnboundForward(_) => ErrorKind::UnboundForward,
            Error::NoRuntime => ErrorKind::NoRuntime,
            Error::Shutdown => ErrorKind::Shutdown,
        }
    }
}

impl From<InvalidMessage> for Error {
    fn from(e: InvalidMessage) -> Error {
        Error::Invalid(e)
    }
}

impl From<SyncError> for Error {
    fn from(e: SyncError) -> Error {
        Error::Sync(e)
    }
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Error {
        Error::Transport(e)
    }
}

impl From<GroupError> for Error {
    fn from(e: GroupError) -> Error {
        Error::Group(e)
    }
}

// Written by hand rather than derived: a handler's error is not itself a
// `std::error::Error` (see `HandlerError`), but what it was built from is,
// and is this error's source.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(e) => write!(f, "invalid message: {e}"),
            Error::SourceTaken(id) => write!(f, "source ID {id} is already taken"),
            Error::DestinationTaken(id) => write!(f, "destination ID {id} is already taken"),
            Error::UnknownDestination(id) => {
                write!(f, "no listener is registered for destination {id}")
            }
            Error::MailboxFull { dest, capacity } => write!(
                f,
                "the mailbox of destination {dest} is full ({capacity} messages waiting); the message was not delivered"
            ),
            Error::NoSubscribers(group) => write!(f, "group {group} has no subscribers"),
            Error::Unrouted { id, ty, listener } => write!(
                f,
                "message {id} of type {ty} was not routed by any rule of listener {}",
                listener_label(listener.as_ref())
            ),
            Error::Dropped { id, listener } => {
                write!(
                    f,
                    "message {id} was dropped by listener {}",
                    listener_label(listener.as_ref())
                )
            }
            Error::Handler { handler, error } => write!(f, "handler {handler} failed: {error}"),
            Error::Timeout { id, after } => write!(f, "no reply to message {id} within {after:?}"),
            Error::NoReply { id } => {
                write!(f, "listener for message {id} went away without answering")
            }
            Error::UnexpectedReply { id, expected, got } => {
                write!(
                    f,
                    "the reply to message {id} is of type {got}, not the {expected} asked for"
                )
            }
            Error::Group(e) => e.fmt(f),
            Error::Sync(e) => write!(f, "synchronous send impossible: {e}"),
            Error::NotDeferred(id) => {
                write!(f, "no deferred request with message ID {id} is waiting for a reply")
            }
            Error::DuplicateDeferred(id) => {
                write!(f, "a deferred reply for message ID {id} is already outstanding")
            }
            Error::Transport(e) => e.fmt(f),
            Error::UnboundForward(target) => {
                write!(f, "forward target {target} of the routing table is not bound to a listener")
            }
            Error::NoRuntime => {
                f.write_str("registering a listener needs a tokio runtime (call from inside one)")
            }
            Error::Shutdown => f.write_str("the dispatcher is shut down"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Invalid(e) => Some(e),
            Error::Sync(e) => Some(e),
            Error::Handler { error, .. } => {
                error.source().map(|e| e as &(dyn std::error::Error + 'static))
            }
            // Shown as their own text, so the cause is theirs too.
            Error::Group(e) => std::error::Error::source(e),
            Error::Transport(e) => std::error::Error::source(e),
            _ => None,
        }
    }
}

/// Why a synchronous send could not be done synchronously.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use dispatchio_core::{Dispatcher, Error, Message, Reply, RoutedListener, SyncError, Text};
/// use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call_async("fetch")]).build()?;
/// let fetcher = RoutedListener::builder(table)
///     .async_handler("fetch", |_: Message| async { Ok(Reply::Empty) })
///     .build()?;
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("fetcher", Arc::new(fetcher))?;
/// let err = dispatcher.send_sync(Message::new(Text::from("hi")).to("fetcher")).unwrap_err();
/// assert!(matches!(err, Error::Sync(SyncError::AsyncHandler(ref h)) if h == "fetch"));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// A rule sends the message to an `async` handler.
    #[error("the routing table calls the asynchronous handler {0:?}")]
    AsyncHandler(String),
    /// The handler deferred its reply, so there is nothing to answer at once.
    #[error("the handler deferred its reply")]
    Deferred,
    /// The destination is served by another process, with no synchronous path.
    #[error("the destination is in another process, which has no synchronous path")]
    Remote,
    /// The destination's listener has no synchronous path at all.
    #[error("the listener has no synchronous path")]
    NotSupported,
    /// The destination is held by an unanswered blocking message; answering
    /// at once would overtake it.
    #[error("the destination is held by an unanswered blocking message")]
    Blocked,
    /// Called from inside the same listener's synchronous handling: re-entering
    /// it would deadlock on any lock its handler holds.
    #[error("the call re-enters the listener that is handling it (would deadlock)")]
    Reentrant,
}

/// A listener as error messages name it: its destination ID, or `(chained)`.
fn listener_label(listener: Option<&Id>) -> String {
    listener.map_or_else(|| "(chained)".to_owned(), Id::to_string)
}

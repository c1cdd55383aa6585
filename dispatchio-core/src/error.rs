//! The runtime's errors. Every failure a sender can see is an [`Error`];
//! handlers fail with a [`HandlerError`], which reaches the sender inside
//! [`Error::Handler`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::id::{Id, MessageId};
use crate::message::InvalidMessage;

/// What went wrong with a send, a request, a registration or a reply.
///
/// Cheap to clone (a group request reports one per failed subscriber).
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The message was refused before sending.
    #[error("invalid message: {0}")]
    Invalid(#[from] InvalidMessage),
    /// A source ID asked for is already registered.
    #[error("source ID {0} is already taken")]
    SourceTaken(Id),
    /// A destination ID asked for is already served by a listener (or a link).
    #[error("destination ID {0} is already taken")]
    DestinationTaken(Id),
    /// No listener (local or remote) serves this destination.
    #[error("no listener is registered for destination {0}")]
    UnknownDestination(Id),
    /// The destination's bounded mailbox is full (see
    /// [`Dispatcher::register_bounded`](crate::Dispatcher::register_bounded)):
    /// the message was not delivered. Send it again later, or wait for
    /// room with [`Dispatcher::send_wait`](crate::Dispatcher::send_wait).
    #[error(
        "the mailbox of destination {dest} is full ({capacity} messages waiting); the message was not delivered"
    )]
    MailboxFull {
        /// The destination whose mailbox is full.
        dest: Id,
        /// The mailbox's capacity.
        capacity: usize,
    },
    /// A group message found no subscriber.
    #[error("group {0} has no subscribers")]
    NoSubscribers(Id),
    /// The listener's routing table sent the message nowhere (no rule stopped
    /// it and there is no `otherwise`).
    #[error(
        "message {id} of type {ty} was not routed by any rule of listener {}",
        listener_label(listener.as_ref())
    )]
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
    #[error("message {id} was dropped by listener {}", listener_label(listener.as_ref()))]
    Dropped {
        /// The message ID.
        id: MessageId,
        /// The listener's destination ID; `None` for a listener without one.
        listener: Option<Id>,
    },
    /// A handler failed; its error, as the handler gave it.
    #[error("handler {handler} failed: {error}")]
    Handler {
        /// The handler's name in the routing table.
        handler: String,
        /// The handler's error.
        error: HandlerError,
    },
    /// No reply within the request's timeout.
    #[error("no reply to message {id} within {after:?}")]
    Timeout {
        /// The request's message ID.
        id: MessageId,
        /// The timeout that ran out.
        after: Duration,
    },
    /// The listener went away (deregistered, or its task ended) without answering.
    #[error("listener for message {id} went away without answering")]
    NoReply {
        /// The request's message ID.
        id: MessageId,
    },
    /// One or more subscribers of a group request failed.
    #[error("{0}")]
    Group(GroupError),
    /// A synchronous send that cannot be done synchronously.
    #[error("synchronous send impossible: {0}")]
    Sync(#[from] SyncError),
    /// A deferred reply was given for a message ID nobody is waiting on.
    #[error("no deferred request with message ID {0} is waiting for a reply")]
    NotDeferred(MessageId),
    /// A handler deferred its reply under an ID that already has a deferred
    /// reply outstanding (sender-chosen IDs must be unique for that).
    #[error("a deferred reply for message ID {0} is already outstanding")]
    DuplicateDeferred(MessageId),
    /// The message reached a remote link that failed to carry it.
    #[error("link {link} failed: {reason}")]
    Link {
        /// The link's name.
        link: String,
        /// What went wrong.
        reason: String,
    },
    /// A forward action whose target was never bound.
    #[error("forward target {0} of the routing table is not bound to a listener")]
    UnboundForward(String),
    /// Registration outside a tokio runtime: listeners run as tokio tasks.
    #[error("registering a listener needs a tokio runtime (call from inside one)")]
    NoRuntime,
    /// The dispatcher was shut down.
    #[error("the dispatcher is shut down")]
    Shutdown,
}

/// The failures of a group request: one entry per subscriber that failed.
#[derive(Clone, Debug)]
pub struct GroupError {
    /// The group.
    pub group: Id,
    /// Each failed subscriber's destination ID and error.
    pub failures: Vec<(Id, Error)>,
    /// The number of subscribers that answered successfully.
    pub succeeded: usize,
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} subscribers of group {} failed:",
            self.failures.len(),
            self.failures.len() + self.succeeded,
            self.group
        )?;
        for (id, e) in &self.failures {
            write!(f, " [{id}: {e}]")?;
        }
        Ok(())
    }
}

/// Why a synchronous send could not be done synchronously.
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

/// A handler's failure, carried back to the sender as [`Error::Handler`].
///
/// Build one from a message (`HandlerError::new("no such card")`) or from any
/// error type (`?` converts). Cloning shares the underlying error.
#[derive(Clone)]
pub struct HandlerError {
    message: Arc<str>,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl HandlerError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> HandlerError {
        HandlerError { message: message.into().into(), source: None }
    }

    /// The error of a typed handler given content of another type than it
    /// takes (generated code reports this instead of panicking).
    pub fn unexpected_content(expected: &str, got: &str) -> HandlerError {
        HandlerError::new(format!("expected content of type {expected}, got {got}"))
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The underlying error, when built from one.
    pub fn source(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.source.as_deref()
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for HandlerError {
    fn from(e: E) -> HandlerError {
        HandlerError { message: e.to_string().into(), source: Some(Arc::new(e)) }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HandlerError({:?})", &*self.message)
    }
}

/// A listener as error messages name it: its destination ID, or `(chained)`.
fn listener_label(listener: Option<&Id>) -> String {
    listener.map_or_else(|| "(chained)".to_owned(), Id::to_string)
}

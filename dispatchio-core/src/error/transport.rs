//! [`TransportError`]: an outlet failed to carry a message, or its answer.

use std::fmt;
use std::sync::Arc;

/// An [`Outlet`](crate::transport::Outlet) could not carry a message to
/// where its destination is served, or the answer back: what kind of
/// failure ([`kind`](Self::kind)), which outlet, what happened in words,
/// and the transport's own error underneath
/// ([`source`](std::error::Error::source)), when it has one.
///
/// Transports build it; senders get it inside
/// [`Error::Transport`](super::Error::Transport).
///
/// Its getters ([`kind`](Self::kind), [`outlet`](Self::outlet),
/// [`message`](Self::message)) together:
///
/// ```
/// use std::error::Error as _;
/// use dispatchio_core::{Error, ErrorKind, TransportError, TransportErrorKind};
/// let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
/// let err = TransportError::new("tcp:table-2", TransportErrorKind::PeerLost, "the connection was lost")
///     .with_source(io);
/// assert_eq!(err.kind(), TransportErrorKind::PeerLost);
/// assert_eq!(err.outlet(), "tcp:table-2");
/// assert_eq!(err.message(), "the connection was lost");
/// assert_eq!(err.to_string(), "link tcp:table-2 failed: the connection was lost");
/// assert_eq!(err.source().unwrap().to_string(), "reset by peer");
/// assert_eq!(Error::from(err).kind(), ErrorKind::Transport); // what a sender sees
/// ```
#[derive(Clone)]
pub struct TransportError {
    outlet: Arc<str>,
    kind: TransportErrorKind,
    message: Arc<str>,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

/// What kind of failure a [`TransportError`] is.
///
/// ```
/// use dispatchio_core::{Error, TransportError, TransportErrorKind};
/// let err = Error::from(TransportError::new("tcp:table-2", TransportErrorKind::Full, "queue full"));
/// let retry_later = matches!(&err, Error::Transport(t) if t.kind() == TransportErrorKind::Full);
/// assert!(retry_later);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The outlet's queue is full; the message was not sent. Sending again
    /// later may succeed.
    Full,
    /// The outlet is down (reconnecting) and can queue no more.
    Unavailable,
    /// The outlet was closed for good.
    Closed,
    /// The connection that carried a request was lost before its answer
    /// came; the request may or may not have been handled.
    PeerLost,
    /// The dispatcher on the other side shut down before answering.
    PeerShutdown,
    /// The message could not be put into the transport's form (its content
    /// does not serialise, or is larger than the transport carries).
    Encode,
    /// The answer could not be read back (its content does not decode).
    Decode,
    /// A request with the same message ID already awaits its answer on this
    /// outlet; request IDs must be unique while they are outstanding.
    DuplicateRequest,
    /// The other side reported a failure this side has no kind for (the
    /// message says what).
    Remote,
}

impl TransportError {
    /// A failure of `kind` on the outlet named `outlet`, told in `message`.
    ///
    /// ```
    /// use std::error::Error as _;
    /// use dispatchio_core::{TransportError, TransportErrorKind};
    /// let err = TransportError::new("unix:/tmp/d.sock", TransportErrorKind::Closed, "closed");
    /// assert_eq!((err.kind(), err.outlet()), (TransportErrorKind::Closed, "unix:/tmp/d.sock"));
    /// assert!(err.source().is_none());
    /// ```
    pub fn new(
        outlet: impl Into<String>,
        kind: TransportErrorKind,
        message: impl Into<String>,
    ) -> TransportError {
        TransportError {
            outlet: outlet.into().into(),
            kind,
            message: message.into().into(),
            source: None,
        }
    }

    /// The same, caused by `source` (the transport's own error).
    ///
    /// ```
    /// use std::error::Error as _;
    /// use dispatchio_core::{TransportError, TransportErrorKind};
    /// let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "broken pipe");
    /// let err = TransportError::new("tcp:peer", TransportErrorKind::PeerLost, "lost").with_source(io);
    /// let io = err.source().unwrap().downcast_ref::<std::io::Error>().unwrap();
    /// assert_eq!(io.kind(), std::io::ErrorKind::BrokenPipe);
    /// ```
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// What kind of failure.
    ///
    /// ```
    /// use dispatchio_core::{TransportError, TransportErrorKind};
    /// let err = TransportError::new("tcp:table-2", TransportErrorKind::Full, "queue full");
    /// let retry_later = err.kind() == TransportErrorKind::Full;
    /// assert!(retry_later);
    /// ```
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// The name of the outlet that failed.
    ///
    /// ```
    /// use dispatchio_core::{TransportError, TransportErrorKind};
    /// let err = TransportError::new("tcp:table-2", TransportErrorKind::PeerLost, "lost");
    /// assert_eq!(err.outlet(), "tcp:table-2");
    /// ```
    pub fn outlet(&self) -> &str {
        &self.outlet
    }

    /// What happened, in words.
    ///
    /// ```
    /// use dispatchio_core::{TransportError, TransportErrorKind};
    /// let err = TransportError::new("tcp:table-2", TransportErrorKind::Closed, "closed by the peer");
    /// assert_eq!(err.message(), "closed by the peer");
    /// assert_eq!(err.to_string(), "link tcp:table-2 failed: closed by the peer");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "link {} failed: {}", self.outlet, self.message)
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportError")
            .field("outlet", &&*self.outlet)
            .field("kind", &self.kind)
            .field("message", &&*self.message)
            .field("source", &self.source)
            .finish()
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

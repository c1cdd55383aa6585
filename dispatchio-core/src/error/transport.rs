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
#[derive(Clone)]
pub struct TransportError {
    outlet: Arc<str>,
    kind: TransportErrorKind,
    message: Arc<str>,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

/// What kind of failure a [`TransportError`] is.
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
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// What kind of failure.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// The name of the outlet that failed.
    pub fn outlet(&self) -> &str {
        &self.outlet
    }

    /// What happened, in words.
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

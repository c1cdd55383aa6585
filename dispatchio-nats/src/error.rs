//! [`NatsError`]: why a dispatcher could not join a cluster.

use std::fmt;

/// Why [`NatsExt::join_nats`](crate::NatsExt::join_nats) failed: what,
/// where (the servers tried), and the client's own error as the source.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::error::Error as _;
/// use dispatchio_core::Dispatcher;
/// use dispatchio_nats::{NatsConfig, NatsErrorKind, NatsExt};
/// let config = NatsConfig::new("nats://127.0.0.1:4222").namespace("game.*");
/// let err = Dispatcher::new().join_nats(config).await.unwrap_err();
/// assert_eq!(err.kind(), NatsErrorKind::Namespace);
/// assert_eq!(
///     err.source().map(|s| s.to_string()).as_deref(),
///     Some("invalid NATS namespace \"game.*\": character '*' at byte 5 (a namespace is \
///           dot-separated tokens of ASCII letters, digits, '_' and '-')")
/// );
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct NatsError {
    kind: NatsErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// What kind of failure a [`NatsError`] is.
///
/// ```
/// use dispatchio_core::Dispatcher;
/// use dispatchio_nats::{NatsConfig, NatsErrorKind, NatsExt};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// match Dispatcher::new().join_nats(NatsConfig::new("nats://127.0.0.1:4222")).await {
///     Ok(_nats) => {}
///     Err(e) if matches!(e.kind(), NatsErrorKind::Unreachable | NatsErrorKind::Timeout) => {
///         eprintln!("no NATS server: running on this machine alone ({e})");
///     }
///     Err(e) => return Err(e.into()), // bad settings: say so
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NatsErrorKind {
    /// The namespace is not one (see [`Namespace::new`](crate::Namespace::new)).
    Namespace,
    /// The credentials could not be read (a credentials file missing or
    /// malformed, an NKey seed that is not one).
    Credentials,
    /// The server refused the credentials.
    Refused,
    /// No server answered at the URLs given (refused, unreachable, or a
    /// bad URL).
    Unreachable,
    /// No server was connected within the connect timeout.
    Timeout,
    /// TLS could not be set up (certificates, or the server's TLS).
    Tls,
    /// The dispatcher already has a fallback transport (it joined already).
    AlreadyJoined,
    /// The server refused a subscription of the dispatcher's.
    Subscribe,
    /// In JetStream mode: the namespace's stream or this dispatcher's
    /// consumer could not be set up (a server without JetStream, say).
    JetStream,
}

impl NatsError {
    pub(crate) fn new(kind: NatsErrorKind, message: impl Into<String>) -> NatsError {
        NatsError { kind, message: message.into(), source: None }
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> NatsError {
        self.source = Some(Box::new(source));
        self
    }

    /// What kind of failure this is.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// use dispatchio_nats::{NatsConfig, NatsErrorKind, NatsExt};
    /// let config = NatsConfig::new("not a url");
    /// let err = Dispatcher::new().join_nats(config).await.unwrap_err();
    /// assert_eq!(err.kind(), NatsErrorKind::Unreachable, "{err}");
    /// # Ok(()) }
    /// ```
    pub fn kind(&self) -> NatsErrorKind {
        self.kind
    }
}

impl fmt::Display for NatsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for NatsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

//! [`HandlerError`]: how a handler fails.

use std::fmt;
use std::sync::Arc;

/// A handler's failure, carried back to the sender as
/// [`Error::Handler`](super::Error::Handler).
///
/// Build one from a message (`HandlerError::new("no such card")`) or from any
/// error type (`?` converts). Cloning shares the underlying error.
///
/// Not itself a [`std::error::Error`]: that would clash with converting
/// from every one. [`Error::Handler`](super::Error::Handler)'s
/// [`source`](std::error::Error::source) is the error it was built from.
///
/// ```
/// use dispatchio_core::HandlerError;
/// fn parse_rank(s: &str) -> Result<i64, HandlerError> {
///     Ok(s.parse::<i64>()?) // any error converts
/// }
/// assert_eq!(parse_rank("7").unwrap(), 7);
/// let err = parse_rank("seven").unwrap_err();
/// assert_eq!(err.message(), "invalid digit found in string");
/// assert!(err.source().is_some()); // the `ParseIntError` it was built from
/// ```
#[derive(Clone)]
pub struct HandlerError {
    message: Arc<str>,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl HandlerError {
    /// An error with this message.
    ///
    /// ```
    /// use dispatchio_core::HandlerError;
    /// let err = HandlerError::new("no such card");
    /// assert_eq!(err.to_string(), "no such card");
    /// assert!(err.source().is_none());
    /// ```
    pub fn new(message: impl Into<String>) -> HandlerError {
        HandlerError { message: message.into().into(), source: None }
    }

    /// The error of a typed handler given content of another type than it
    /// takes (generated code reports this instead of panicking).
    ///
    /// ```
    /// use dispatchio_core::HandlerError;
    /// let err = HandlerError::unexpected_content("Card", "Text");
    /// assert_eq!(err.message(), "expected content of type Card, got Text");
    /// ```
    pub fn unexpected_content(expected: &str, got: &str) -> HandlerError {
        HandlerError::new(format!("expected content of type {expected}, got {got}"))
    }

    /// The message.
    ///
    /// ```
    /// use dispatchio_core::HandlerError;
    /// assert_eq!(HandlerError::new("no such card").message(), "no such card");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The underlying error, when built from one.
    ///
    /// ```
    /// use dispatchio_core::HandlerError;
    /// let io = std::io::Error::new(std::io::ErrorKind::NotFound, "deck.json");
    /// let err = HandlerError::from(io);
    /// let source = err.source().unwrap().downcast_ref::<std::io::Error>().unwrap();
    /// assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    /// assert!(HandlerError::new("plain").source().is_none());
    /// ```
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

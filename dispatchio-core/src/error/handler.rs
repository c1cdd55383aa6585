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

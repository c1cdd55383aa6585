//! Why loading, building or reloading routes failed.

use std::fmt;
use std::path::PathBuf;

use crate::report::{ReadError, Report};

/// Why [`load`](super::load), [`RoutesBuilder::build`](super::RoutesBuilder::build)
/// or [`Routes::reload`](super::Routes::reload) failed.
///
/// Every variant says what and where; the `Display` text of
/// [`Error::Invalid`] contains every diagnostic rendered with its snippet,
/// as `dispatchio check` prints it.
///
/// ```
/// use dispatchio_dsl::interp;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("bad.route");
/// std::fs::write(&path, "listener l { rule r when type == Card => drop }")?;
/// let err = interp::load(&path).unwrap_err();
/// assert!(matches!(err, interp::Error::Invalid(_)));
/// // Every finding, rendered as `dispatchio check` prints it.
/// let text = err.to_string();
/// assert!(text.contains("has 1 error(s):\nerror[unknown-name]:"), "{text}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The root file could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The file (or an import) has errors. Holds every finding, warnings too.
    #[error("{} has {} error(s):\n{}", .0.root.display(), .0.report.errors().count(), .0.rendered)]
    Invalid(Box<Invalid>),
    /// The file names handlers, listeners or queues the program does not
    /// provide; every one of them is listed.
    #[error("{0}")]
    Missing(Unprovided),
    /// A reload would add or remove listeners. Listeners are created, and
    /// registered with a dispatcher, when the program is built; a reload can
    /// only change what the existing ones do.
    #[error(
        "{}: a reload cannot change the set of listeners (added: {}; removed: {}); restart to apply it",
        path.display(), list(added), list(removed)
    )]
    ListenersChanged {
        /// The root file.
        path: PathBuf,
        /// Listeners in the new file that were not built.
        added: Vec<String>,
        /// Built listeners the new file no longer declares.
        removed: Vec<String>,
    },
    /// Typed handlers ([`RoutesBuilder::typed_handler`](super::RoutesBuilder::typed_handler))
    /// whose type does not fit the file; every one of them is listed.
    #[error("{0}")]
    Content(super::Mismatched),
    /// [`Routes::listener`](super::Routes::listener) or
    /// [`Routes::instance`](super::Routes::instance) was asked for a
    /// listener the file does not declare.
    #[error("{}: no listener `{name}` (the file declares {})", path.display(), list(listeners))]
    UnknownListener {
        /// The root file.
        path: PathBuf,
        /// The name asked for.
        name: String,
        /// The listeners the file declares, in file order.
        listeners: Vec<String>,
    },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
    }
}

/// A program with error-level findings.
///
/// ```
/// use dispatchio_dsl::interp;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("bad.route");
/// std::fs::write(&path, "listener l { rule r when => drop }")?;
/// let Err(interp::Error::Invalid(invalid)) = interp::load(&path) else { panic!("refused") };
/// assert_eq!(invalid.root, path);
/// assert_eq!(invalid.report.errors().next().unwrap().code.as_str(), "syntax");
/// assert!(invalid.rendered.starts_with("error[syntax]"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Invalid {
    /// The root file.
    pub root: PathBuf,
    /// Every finding, with the sources to render them.
    pub report: Report,
    /// Every finding rendered as plain text with its snippet.
    pub rendered: String,
}

impl Error {
    pub(crate) fn invalid(root: PathBuf, report: Report) -> Error {
        let rendered = report.render_plain();
        Error::Invalid(Box::new(Invalid { root, report, rendered }))
    }
}

/// Everything a file names that the program does not provide.
///
/// ```
/// use dispatchio_dsl::interp;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("bank.route");
/// std::fs::write(&path, "listener bank {\n rule pay when sync => call pay\n otherwise => call log\n}")?;
/// let Err(interp::Error::Missing(unprovided)) = interp::load(&path)?.build() else { panic!("refused") };
/// assert_eq!(unprovided.path, path);
/// let text = unprovided.to_string();
/// assert!(text.ends_with("names 2 thing(s) the program does not provide:\n\
///     \x20 - handler `pay` is not registered: `call pay` (listener `bank`, rule `pay`); register it with `handler(\"pay\", …)`\n\
///     \x20 - handler `log` is not registered: `call log` (listener `bank`, rule `otherwise`); register it with `handler(\"log\", …)`"), "{text}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unprovided {
    /// The root file.
    pub path: PathBuf,
    /// Each missing name, where it is used, in file order.
    pub missing: Vec<Missing>,
}

impl fmt::Display for Unprovided {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} names {} thing(s) the program does not provide:",
            self.path.display(),
            self.missing.len()
        )?;
        for (i, m) in self.missing.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  - {m}")?;
        }
        Ok(())
    }
}

/// One name a file uses that the program does not provide.
///
/// ```
/// use dispatchio_dsl::interp::{self, MissingKind};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("table.route");
/// std::fs::write(&path, "listener table { rule all when sync => queue hand }")?;
/// let routes = interp::load(&path)?.build()?;
/// // The listener was built without a queue `urgent`.
/// std::fs::write(&path, "listener table { rule all when sync => queue urgent }")?;
/// let Err(interp::Error::Missing(unprovided)) = routes.reload() else { panic!("refused") };
/// let missing = &unprovided.missing[0];
/// assert_eq!((missing.kind, missing.name.as_str()), (MissingKind::Queue, "urgent"));
/// assert_eq!((missing.listener.as_str(), missing.rule.as_str()), ("table", "all"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// What kind of thing is missing.
    pub kind: MissingKind,
    /// Its name.
    pub name: String,
    /// The listener using it.
    pub listener: String,
    /// The rule using it (`otherwise` for the otherwise clause).
    pub rule: String,
}

/// What kind of name is missing.
///
/// ```
/// use dispatchio_core::{Message, Reply};
/// use dispatchio_dsl::interp::{self, MissingKind};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("desk.route");
/// std::fs::write(&path, "listener desk { rule all when not sync => call async review }")?;
/// // Registered as a synchronous handler; the file calls it `async`.
/// let built = interp::load(&path)?.handler("review", |_m: &Message| Ok(Reply::Empty)).build();
/// let Err(interp::Error::Missing(unprovided)) = built else { panic!("refused") };
/// assert_eq!(unprovided.missing[0].kind, MissingKind::HandlerKind { is_async: true });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MissingKind {
    /// A handler: register it with
    /// [`handler`](super::RoutesBuilder::handler) (or
    /// [`async_handler`](super::RoutesBuilder::async_handler) when `is_async`).
    Handler {
        /// Called with `call async`.
        is_async: bool,
    },
    /// A handler registered with the other kind than the file calls it with.
    HandlerKind {
        /// Called with `call async`.
        is_async: bool,
    },
    /// A `forward` target the listener was not built with (only on reload:
    /// a listener is bound to the targets it forwards to when it is built,
    /// and to those given to
    /// [`RoutesBuilder::forward`](super::RoutesBuilder::forward)).
    Listener,
    /// A listener named by
    /// [`RoutesBuilder::forward`](super::RoutesBuilder::forward) that the
    /// file does not declare (`name` is that listener; `listener` and `rule`
    /// the two listeners given).
    UnknownForward,
    /// A listener named by [`RoutesBuilder::queue`](super::RoutesBuilder::queue)
    /// that the file does not declare (`name` is the listener, `rule` the queue).
    UnknownListener,
    /// A queue the listener was not built with (only on reload: queues are
    /// created when a listener is built; see
    /// [`RoutesBuilder::queue`](super::RoutesBuilder::queue)).
    Queue,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = format!("(listener `{}`, rule `{}`)", self.listener, self.rule);
        let call = |a: bool| if a { "call async" } else { "call" };
        match self.kind {
            MissingKind::Handler { is_async } => write!(
                f,
                "handler `{}` is not registered: `{} {}` {at}; register it with `{}(\"{}\", …)`",
                self.name,
                call(is_async),
                self.name,
                if is_async { "async_handler" } else { "handler" },
                self.name
            ),
            MissingKind::HandlerKind { is_async } => write!(
                f,
                "handler `{}` is registered as {} but the file says `{} {}` {at}",
                self.name,
                if is_async { "synchronous" } else { "asynchronous" },
                call(is_async),
                self.name
            ),
            MissingKind::Listener => write!(
                f,
                "`forward {}` {at}: the listener was built without forward target `{}` (declare it up front with `RoutesBuilder::forward`)",
                self.name, self.name
            ),
            MissingKind::UnknownForward => write!(
                f,
                "`RoutesBuilder::forward(\"{}\", \"{}\")`: the file declares no listener `{}`",
                self.listener, self.rule, self.name
            ),
            MissingKind::UnknownListener => write!(
                f,
                "`RoutesBuilder::queue(\"{}\", \"{}\")`: the file declares no listener `{}`",
                self.name, self.rule, self.name
            ),
            MissingKind::Queue => write!(
                f,
                "`queue {}` {at}: the listener was built without queue `{}` (declare it up front with `RoutesBuilder::queue`)",
                self.name, self.name
            ),
        }
    }
}

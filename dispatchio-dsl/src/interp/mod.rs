//! The interpreter: `.route` programs loaded at run time, with hot reload.
//!
//! [`load`] checks a file (and its imports) exactly as `dispatchio check`
//! does and returns a [`RoutesBuilder`]; you register the handlers the file
//! calls, by name, then [`build`](RoutesBuilder::build) one
//! [`RouteListener`] per `listener` of the file. They are ordinary
//! [`RoutedListener`]s of the runtime: register them with a dispatcher,
//! drain their queues, chain them. `forward` targets resolve to the other
//! listeners of the same program. [`Routes::explain`] says why a message
//! goes where it goes.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use dispatchio_core::{Dispatcher, DynContent, DynValue, Message, Reply};
//! use dispatchio_dsl::interp;
//! # let dir = std::env::temp_dir().join(format!("interp-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let path = dir.join("game.route");
//! # std::fs::write(&path, r#"
//! #     message Card { card: int }
//! #     listener player {
//! #         rule deal when type == Card and card < 52 => queue hand
//! #         otherwise => call complain
//! #     }
//! # "#)?;
//! let routes = interp::load(&path)?
//!     .handler("complain", |_m: &Message| Ok(Reply::Empty))
//!     .build()?;
//! let dispatcher = Dispatcher::new();
//! routes.register(&dispatcher)?; // each listener under its name
//!
//! let card = DynValue::Record([("card".to_owned(), DynValue::Int(7))].into());
//! dispatcher.send(Message::from_shared(std::sync::Arc::new(DynContent::new("Card", card))).to("player"))?;
//! let hand = routes.listener("player").unwrap().queue("hand").unwrap();
//! assert!(hand.recv().await.is_some());
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(()) }
//! ```
//!
//! Content fields are read through the runtime's content abstraction
//! ([`Fields`](dispatchio_core::Fields)): typed Rust content and
//! [`DynContent`](dispatchio_core::DynContent) alike.
//!
//! # Hot reload
//!
//! [`Routes::reload`] re-reads the file and swaps every listener's table
//! atomically, between two messages. It is all or nothing: a file with
//! errors, a file that names a handler (or queue, or listener) the program
//! was not built with, or a file that adds or removes listeners is refused
//! with an [`Error`] (also reported as a `tracing` event), and the old
//! tables keep running. [`Routes::watch`] reloads whenever the file or one
//! of its imports changes.
//!
//! Handlers are registered program-wide: `call duck` means the same closure
//! in every listener. Handlers the file does not call are allowed (a later
//! reload may call them); queues are created when a listener is built, from
//! the file and from [`RoutesBuilder::queue`], and so are the bindings to
//! forward targets, from the file and from [`RoutesBuilder::forward`].

mod builder;
mod chain;
mod cond;
mod error;
mod explain;
mod instance;
mod table;
mod typed;
mod watch;

pub use builder::RoutesBuilder;
pub use cond::lower_cond;
pub use error::{Error, Invalid, Missing, MissingKind, Unprovided};
pub use explain::sample_of;
pub use table::RouteMatcher;
pub use typed::{ContentMismatch, Mismatched};
pub use watch::Watcher;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dispatchio_core::routing::Layout;
use dispatchio_core::{
    Dispatcher, HandlerError, HandlerResult, Handlers, Listener, Message, RoutedListener,
};
use futures::future::BoxFuture;
use parking_lot::Mutex;

use crate::diagnostic::Diagnostic;
use crate::program::Program;
use crate::report::Report;
use builder::HandlerFn;
use table::Table;
use typed::Takes;

/// A listener built from a `.route` file: the runtime's executor over an
/// interpreted, reloadable table.
pub type RouteListener = RoutedListener<RouteMatcher, RouteHandlers>;

/// Checks the `.route` file at `path` (and its imports) for building.
///
/// # Errors
///
/// [`Error::Read`] when the file cannot be read; [`Error::Invalid`] with
/// every finding, rendered with snippets, when it has errors.
///
/// ```
/// use dispatchio_dsl::interp;
///
/// let routes = interp::load("../examples/routes/card_dealer.route")?.build()?;
/// assert!(routes.listener("player").is_ok());
/// // A file that cannot be read is refused with the reason.
/// let missing = interp::load("no/such.route").unwrap_err();
/// assert!(matches!(missing, interp::Error::Read(_)), "{missing}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load(path: impl AsRef<Path>) -> Result<RoutesBuilder, Error> {
    let path = path.as_ref().to_path_buf();
    let report = crate::report::check(&path)?;
    let watched = watch::files_of(&path, &report);
    let fingerprint = watch::fingerprint(&watched);
    let (program, warnings) = accept(&path, report)?;
    Ok(RoutesBuilder {
        path,
        program,
        warnings,
        watched,
        fingerprint,
        handlers: Vec::new(),
        typed: Vec::new(),
        queues: Vec::new(),
        forwards: Vec::new(),
    })
}

fn accept(path: &Path, report: Report) -> Result<(Program, Vec<Diagnostic>), Error> {
    match report.program {
        Some(program) if !report.has_errors() => Ok((program, report.diagnostics)),
        _ => Err(Error::invalid(path.to_path_buf(), report)),
    }
}

/// The handlers of a program, shared by all its listeners, called by index
/// into every listener's layout (the same for all of them).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use dispatchio_core::{Dispatcher, Message, Reply, RoutedListener, Text};
/// use dispatchio_dsl::interp::{self, RouteHandlers, RouteMatcher};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("echo.route");
/// std::fs::write(&path, "listener echo { rule ask when type == \"Text\" => call answer }")?;
/// let routes = interp::load(&path)?
///     .handler("answer", |_m: &Message| Ok(Reply::with(Text::from("pong"))))
///     .build()?;
/// // The runtime's executor, over the interpreted table and these handlers.
/// let echo: Arc<RoutedListener<RouteMatcher, RouteHandlers>> = routes.listener("echo")?;
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("echo", echo)?;
/// let reply = dispatcher.request_as::<Text>(Message::new(Text::from("ping")).to("echo"), None).await?;
/// assert_eq!(reply.0, "pong");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RouteHandlers {
    slots: Arc<[HandlerFn]>,
}

impl std::fmt::Debug for RouteHandlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteHandlers").field("count", &self.slots.len()).finish()
    }
}

impl Handlers for RouteHandlers {
    fn call(&self, handler: usize, message: &Message) -> HandlerResult {
        match self.slots.get(handler) {
            Some(HandlerFn::Sync(f)) => f(message),
            _ => Err(HandlerError::new(format!("handler #{handler} is not a synchronous handler"))),
        }
    }

    fn call_async(&self, handler: usize, message: Message) -> BoxFuture<'static, HandlerResult> {
        match self.slots.get(handler) {
            Some(HandlerFn::Async(f)) => f(message),
            _ => Box::pin(std::future::ready(Err(HandlerError::new(format!(
                "handler #{handler} is not an asynchronous handler"
            ))))),
        }
    }
}

/// A built program: its listeners, and the way to reload them.
///
/// Cheap to clone (a shared handle).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::{Dispatcher, DynContent, DynValue, Message};
///
/// let routes = dispatchio_dsl::interp::load("../examples/routes/card_dealer.route")?.build()?;
/// let dispatcher = Dispatcher::new();
/// routes.register(&dispatcher)?;
/// let card = DynValue::Record([("card".to_owned(), DynValue::Int(7))].into());
/// dispatcher.send(Message::from_shared(std::sync::Arc::new(DynContent::new("Card", card))).to("player"))?;
/// assert!(routes.listener("player")?.queue("hand")?.recv().await.is_some());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Routes {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    listeners: Vec<(String, Arc<RouteListener>)>,
    /// Where each listener is in `listeners`, by name.
    index: HashMap<String, usize>,
    /// The typed handlers, checked again against each reloaded program.
    typed: Vec<(String, Takes)>,
    /// Serialises reloads, and what the last one saw.
    state: Mutex<State>,
}

struct State {
    program: Program,
    warnings: Vec<Diagnostic>,
    /// The files of the last load attempt (root and imports).
    watched: Vec<PathBuf>,
    /// Their contents' fingerprint when last read.
    fingerprint: u64,
    generation: u64,
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routes")
            .field("path", &self.inner.path)
            .field("listeners", &self.inner.listeners.iter().map(|(n, _)| n).collect::<Vec<_>>())
            .field("generation", &self.generation())
            .finish()
    }
}

/// A reload that took effect.
///
/// ```
/// use dispatchio_dsl::interp;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("table.route");
/// std::fs::write(&path, "listener table { rule deal when sync => queue hand }")?;
/// let routes = interp::load(&path)?.build()?;
/// // The same listener and queue, one more rule: the reload takes effect.
/// std::fs::write(&path, "listener table {\n rule urgent when blocking => queue hand\n rule deal when sync => queue hand\n}")?;
/// let reloaded = routes.reload()?;
/// assert_eq!(reloaded.generation, 1);
/// assert!(reloaded.warnings.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Reloaded {
    /// How many reloads took effect so far, this one included.
    pub generation: u64,
    /// The new file's warnings.
    pub warnings: Vec<Diagnostic>,
}

impl Routes {
    /// The root file.
    ///
    /// ```
    /// let routes = dispatchio_dsl::interp::load("../examples/routes/card_dealer.route")?.build()?;
    /// assert!(routes.path().ends_with("card_dealer.route"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The listener `name`: the one instance [`register`](Self::register)
    /// registers under that name (for more, see [`instance`](Self::instance)).
    ///
    /// `forward`s between listeners hold their targets weakly (two listeners
    /// forwarding to each other must not keep each other alive): keep the
    /// `Routes`, or register every listener with a dispatcher, for as long
    /// as messages are forwarded.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownListener`] when the file declares no listener `name`.
    ///
    /// ```
    /// use dispatchio_dsl::interp;
    ///
    /// let routes = interp::load("../examples/routes/card_dealer.route")?.build()?;
    /// let player = routes.listener("player")?;
    /// assert!(player.queue("hand").is_ok());
    /// let Err(err) = routes.listener("dealer") else { panic!("no dealer") };
    /// assert!(matches!(err, interp::Error::UnknownListener { .. }));
    /// assert!(err.to_string().ends_with("no listener `dealer` (the file declares `player`)"), "{err}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn listener(&self, name: &str) -> Result<Arc<RouteListener>, Error> {
        self.primary(name).cloned()
    }

    fn primary(&self, name: &str) -> Result<&Arc<RouteListener>, Error> {
        match self.inner.index.get(name) {
            Some(&i) => Ok(&self.inner.listeners[i].1),
            None => Err(Error::UnknownListener {
                path: self.inner.path.clone(),
                name: name.to_owned(),
                listeners: self.inner.listeners.iter().map(|(n, _)| n.clone()).collect(),
            }),
        }
    }

    /// Every listener with its name, in file order.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("two.route");
    /// std::fs::write(&path, "listener front { rule all when sync => forward back }\nlistener back { rule all when sync => queue done }")?;
    /// let routes = dispatchio_dsl::interp::load(&path)?.build()?;
    /// let names: Vec<&str> = routes.listeners().map(|(name, _)| name).collect();
    /// assert_eq!(names, ["front", "back"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn listeners(&self) -> impl Iterator<Item = (&str, &Arc<RouteListener>)> {
        self.inner.listeners.iter().map(|(n, l)| (n.as_str(), l))
    }

    /// Registers every listener with `dispatcher`, each under its name as
    /// destination ID.
    ///
    /// # Errors
    ///
    /// The dispatcher's error for the first listener it refuses (a name
    /// already taken, no tokio runtime).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let routes = dispatchio_dsl::interp::load("../examples/routes/card_dealer.route")?.build()?;
    /// let dispatcher = dispatchio_core::Dispatcher::new();
    /// routes.register(&dispatcher)?;
    /// // `player` is taken now: registering again is refused.
    /// assert!(routes.register(&dispatcher).is_err());
    /// # Ok(()) }
    /// ```
    pub fn register(&self, dispatcher: &Dispatcher) -> Result<(), dispatchio_core::Error> {
        for (name, l) in &self.inner.listeners {
            dispatcher.register(name.clone(), l.clone() as Arc<dyn Listener>)?;
        }
        Ok(())
    }

    /// The program the listeners currently run.
    ///
    /// ```
    /// let routes = dispatchio_dsl::interp::load("../examples/routes/card_dealer.route")?.build()?;
    /// let program = routes.program();
    /// let rules: Vec<&str> = program.listeners()[0].rules.iter().map(|r| r.name.as_str()).collect();
    /// assert_eq!(rules, ["greet", "deal"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn program(&self) -> Program {
        self.inner.state.lock().program.clone()
    }

    /// The current program's warnings.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("table.route");
    /// std::fs::write(&path, "message Card { card: int }\nlistener table { rule deal when sync => queue hand }")?;
    /// let routes = dispatchio_dsl::interp::load(&path)?.build()?;
    /// // Nothing uses or catches `Card`: warnings, which do not stop the load.
    /// let codes: Vec<&str> = routes.warnings().iter().map(|d| d.code.as_str()).collect();
    /// assert_eq!(codes, ["unused", "unrouted"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn warnings(&self) -> Vec<Diagnostic> {
        self.inner.state.lock().warnings.clone()
    }

    /// How many reloads took effect.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("table.route");
    /// std::fs::write(&path, "listener table { rule deal when sync => queue hand }")?;
    /// let routes = dispatchio_dsl::interp::load(&path)?.build()?;
    /// assert_eq!(routes.generation(), 0);
    /// routes.reload()?;
    /// assert_eq!(routes.generation(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn generation(&self) -> u64 {
        self.inner.state.lock().generation
    }

    /// Re-reads the file and its imports and, when the new program is
    /// acceptable, swaps every listener's table. Each listener switches
    /// between two messages: a message being routed finishes under the table
    /// it started with. (Listeners switch one after another, so a message
    /// forwarded during a reload may meet the new table of one listener and
    /// the old of another.)
    ///
    /// Every outcome is also reported as a `tracing` event.
    ///
    /// Rules may be added, removed, renamed and reordered. The runtime's
    /// per-rule hit counters ([`RoutedListener::rule_hits`]) keep counting
    /// the rules the listener was built with, by name; rules new since then
    /// are routed but not counted there.
    ///
    /// # Errors
    ///
    /// The old tables keep running, and the error says why: [`Error::Read`],
    /// [`Error::Invalid`] (with every finding rendered), [`Error::Missing`]
    /// (every handler, queue or forward target the new file names that the
    /// listeners were not built with), [`Error::ListenersChanged`].
    ///
    /// ```
    /// use dispatchio_dsl::interp;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("table.route");
    /// std::fs::write(&path, "listener table { rule deal when sync => queue hand }")?;
    /// let routes = interp::load(&path)?.build()?;
    /// // A file with an error is refused, and the old table keeps running.
    /// std::fs::write(&path, "listener table { rule deal when sync => }")?;
    /// assert!(matches!(routes.reload(), Err(interp::Error::Invalid(_))));
    /// assert_eq!(routes.generation(), 0);
    /// // So is a file that calls a handler the program was not built with.
    /// std::fs::write(&path, "listener table { rule deal when sync => call deal }")?;
    /// let Err(interp::Error::Missing(missing)) = routes.reload() else { panic!("refused") };
    /// assert_eq!(missing.missing[0].name, "deal");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reload(&self) -> Result<Reloaded, Error> {
        let mut state = self.inner.state.lock();
        let result = self.try_reload(&mut state);
        match &result {
            Ok(r) => tracing::info!(
                path = %self.inner.path.display(),
                generation = r.generation,
                warnings = r.warnings.len(),
                "routes reloaded"
            ),
            Err(e) => tracing::error!(
                path = %self.inner.path.display(),
                error = %e,
                "route reload refused; the previous tables keep running"
            ),
        }
        result
    }

    fn try_reload(&self, state: &mut State) -> Result<Reloaded, Error> {
        let path = &self.inner.path;
        // The fingerprint is taken *before* reading, so an edit racing with
        // this reload shows as a change on the watcher's next look.
        let before = watch::fingerprint(&state.watched);
        let report = match crate::report::check(path) {
            Ok(r) => r,
            Err(e) => {
                state.fingerprint = before;
                return Err(e.into());
            }
        };
        let files = watch::files_of(path, &report);
        // Same files as before: `before` describes what was just read (or
        // something older, which only causes one more reload). New imports:
        // fingerprint them now.
        state.fingerprint =
            if files == state.watched { before } else { watch::fingerprint(&files) };
        state.watched = files;
        let (program, warnings) = accept(path, report)?;
        let built: BTreeSet<&str> = self.inner.listeners.iter().map(|(n, _)| n.as_str()).collect();
        let now: BTreeSet<&str> = program.listeners().iter().map(|l| l.name.as_str()).collect();
        if built != now {
            return Err(Error::ListenersChanged {
                path: path.clone(),
                added: now.difference(&built).map(|s| (*s).to_owned()).collect(),
                removed: built.difference(&now).map(|s| (*s).to_owned()).collect(),
            });
        }
        let defs: HashMap<&str, &crate::program::ListenerDef> =
            program.listeners().iter().map(|l| (l.name.as_str(), l)).collect();
        let mut tables = Vec::new();
        let mut missing = Vec::new();
        for (name, l) in &self.inner.listeners {
            let Some(def) = defs.get(name.as_str()) else { continue };
            match Table::lower(def, layout_of(l)) {
                Ok(t) => tables.push((l, t)),
                Err(m) => missing.extend(m),
            }
        }
        if !missing.is_empty() {
            return Err(Error::Missing(Unprovided { path: path.clone(), missing }));
        }
        let mismatches = typed::check(&program, &self.inner.typed);
        if !mismatches.is_empty() {
            return Err(Error::Content(Mismatched { path: path.clone(), mismatches }));
        }
        for (l, t) in tables {
            l.matcher().swap(t);
        }
        state.generation += 1;
        state.program = program;
        state.warnings = warnings.clone();
        Ok(Reloaded { generation: state.generation, warnings })
    }

    /// Whether the file or one of its imports changed since it was last read.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("table.route");
    /// std::fs::write(&path, "listener table { rule deal when sync => queue hand }")?;
    /// let routes = dispatchio_dsl::interp::load(&path)?.build()?;
    /// assert!(!routes.changed());
    /// std::fs::write(&path, "listener table { rule deal when blocking => queue hand }")?;
    /// assert!(routes.changed());
    /// routes.reload()?;
    /// assert!(!routes.changed());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn changed(&self) -> bool {
        let (now, last) = self.fingerprints();
        now != last
    }

    /// The fingerprint of the watched files now, and when last read.
    fn fingerprints(&self) -> (u64, u64) {
        let (files, last) = {
            let state = self.inner.state.lock();
            (state.watched.clone(), state.fingerprint)
        };
        // Read the files without holding the lock a reload needs.
        (watch::fingerprint(&files), last)
    }
}

fn layout_of(l: &RouteListener) -> &Layout {
    dispatchio_core::routing::Matcher::layout(l.matcher())
}

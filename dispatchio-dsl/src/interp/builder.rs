//! [`RoutesBuilder`]: a loaded program waiting for its handlers (plain,
//! async and typed), extra queues and forward targets, and the build that
//! makes its listeners.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use dispatchio_core::routing::HandlerSlot;
use dispatchio_core::{ContentType, Envelope, HandlerResult, Message, RoutedListener, SharedStr};
use futures::future::BoxFuture;
use parking_lot::Mutex;
use serde::de::DeserializeOwned;

use super::table::{self, Table};
use super::typed::{self, Mismatched, Takes};
use super::{
    Error, Inner, Missing, MissingKind, RouteHandlers, RouteListener, RouteMatcher, Routes, State,
    Unprovided, chain,
};
use crate::diagnostic::Diagnostic;
use crate::program::Program;

pub(super) type SyncFn = Arc<dyn Fn(&Message) -> HandlerResult + Send + Sync>;
pub(super) type AsyncFn = Arc<dyn Fn(Message) -> BoxFuture<'static, HandlerResult> + Send + Sync>;

#[derive(Clone)]
pub(super) enum HandlerFn {
    Sync(SyncFn),
    Async(AsyncFn),
}

/// A loaded program waiting for its handlers; [`build`](Self::build) makes
/// the listeners.
pub struct RoutesBuilder {
    pub(super) path: PathBuf,
    pub(super) program: Program,
    pub(super) warnings: Vec<Diagnostic>,
    pub(super) watched: Vec<PathBuf>,
    pub(super) fingerprint: u64,
    pub(super) handlers: Vec<(String, HandlerFn)>,
    /// The handlers registered with a content type, and that type.
    pub(super) typed: Vec<(String, Takes)>,
    pub(super) queues: Vec<(String, String)>,
    pub(super) forwards: Vec<(String, String)>,
}

impl std::fmt::Debug for RoutesBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoutesBuilder")
            .field("path", &self.path)
            .field("handlers", &self.handlers.iter().map(|(n, _)| n).collect::<Vec<_>>())
            .field("queues", &self.queues)
            .field("forwards", &self.forwards)
            .finish_non_exhaustive()
    }
}

impl RoutesBuilder {
    /// The checked program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The warnings `dispatchio check` would print for the file.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// Registers the synchronous handler `name` (`call name`), for every
    /// listener of the program. Registering a name again replaces it.
    pub fn handler(
        mut self,
        name: impl Into<String>,
        f: impl Fn(&Message) -> HandlerResult + Send + Sync + 'static,
    ) -> RoutesBuilder {
        self.set_handler(name.into(), HandlerFn::Sync(Arc::new(f)));
        self
    }

    /// Registers the asynchronous handler `name` (`call async name`).
    pub fn async_handler<F, Fut>(mut self, name: impl Into<String>, f: F) -> RoutesBuilder
    where
        F: Fn(Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        let f: AsyncFn = Arc::new(move |m| Box::pin(f(m)));
        self.set_handler(name.into(), HandlerFn::Async(f));
        self
    }

    /// Registers the synchronous handler `name` taking the content as a
    /// `T` of yours, as a compiled listener's handler method does: `T` is
    /// checked against the file when the program is built (every rule that
    /// calls the handler must admit only `T::TYPE_NAME`, and the file's
    /// declaration of that type must decode into `T`), and again on every
    /// reload. Content that is a `T` already is borrowed; other content of
    /// the type (from another process, or [`DynContent`](dispatchio_core::DynContent))
    /// is decoded.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Envelope, HandlerError, Reply};
    /// # let dir = std::env::temp_dir().join(format!("interp-typed-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("game.route");
    /// # std::fs::write(&path, "message Card { card: int }\nlistener player {\n    rule deal when type == Card => call deal\n}\n")?;
    /// // In a program: `#[derive(Debug, Serialize, Deserialize, dispatchio::ContentType)]`.
    /// #[derive(Debug, serde::Serialize, serde::Deserialize)]
    /// struct Card { card: i64 }
    /// # impl dispatchio_core::ContentType for Card { const TYPE_NAME: &'static str = "Card"; }
    /// # impl dispatchio_core::Fields for Card {
    /// #     fn field(&self, name: &str) -> Option<dispatchio_core::Value<'_>> {
    /// #         (name == "card").then_some(dispatchio_core::Value::Int(self.card))
    /// #     }
    /// # }
    ///
    /// let routes = dispatchio_dsl::interp::load(&path)?
    ///     .typed_handler("deal", |_envelope: &Envelope, card: &Card| {
    ///         if card.card < 52 { Ok(Reply::Empty) } else { Err(HandlerError::new("no such card")) }
    ///     })
    ///     .build()?;
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok(()) }
    /// ```
    pub fn typed_handler<T, F>(mut self, name: impl Into<String>, f: F) -> RoutesBuilder
    where
        T: ContentType + DeserializeOwned,
        F: Fn(&Envelope, &T) -> HandlerResult + Send + Sync + 'static,
    {
        let name = name.into();
        let takes = Takes::of::<T>();
        let (decoder, handler) = (takes.clone(), name.clone());
        let f: SyncFn =
            Arc::new(move |m: &Message| decoder.with(&handler, m, |t: &T| f(m.envelope(), t)));
        self.set_handler(name.clone(), HandlerFn::Sync(f));
        self.typed.push((name, takes));
        self
    }

    /// Registers the asynchronous handler `name` (`call async name`) taking
    /// the content as a `T`, checked as [`typed_handler`](Self::typed_handler)'s.
    /// The future must own what it uses (clone from the envelope and the
    /// content first): it runs concurrently with the listener's later
    /// messages.
    pub fn typed_async_handler<T, F, Fut>(mut self, name: impl Into<String>, f: F) -> RoutesBuilder
    where
        T: ContentType + DeserializeOwned,
        F: Fn(&Envelope, &T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        let name = name.into();
        let takes = Takes::of::<T>();
        let (decoder, handler) = (takes.clone(), name.clone());
        let f: AsyncFn = Arc::new(move |m: Message| {
            match decoder.with(&handler, &m, |t: &T| Ok(f(m.envelope(), t))) {
                Ok(fut) => Box::pin(fut),
                Err(e) => Box::pin(std::future::ready(Err(e))),
            }
        });
        self.set_handler(name.clone(), HandlerFn::Async(f));
        self.typed.push((name, takes));
        self
    }

    fn set_handler(&mut self, name: String, f: HandlerFn) {
        self.handlers.retain(|(n, _)| *n != name);
        self.typed.retain(|(n, _)| *n != name);
        self.handlers.push((name, f));
    }

    /// Creates queue `queue` on `listener` even though the file does not
    /// (yet) push to it, so that a reloaded file may. Queues the file names
    /// are created anyway.
    pub fn queue(mut self, listener: impl Into<String>, queue: impl Into<String>) -> RoutesBuilder {
        self.queues.push((listener.into(), queue.into()));
        self
    }

    /// Lets `listener` forward to the listener `target` even though the file
    /// does not (yet), so that a reloaded file may. The targets the file
    /// forwards to are bound anyway.
    pub fn forward(
        mut self,
        listener: impl Into<String>,
        target: impl Into<String>,
    ) -> RoutesBuilder {
        self.forwards.push((listener.into(), target.into()));
        self
    }

    /// Builds one listener per `listener` of the file. Each is bound to the
    /// listeners it forwards to (and those given to
    /// [`forward`](Self::forward)), and to no other: building costs the
    /// size of the program, however many listeners it has.
    ///
    /// # Errors
    ///
    /// [`Error::Missing`] listing **every** handler the file calls that was
    /// not registered (or was registered sync where the file says `call
    /// async`, or the reverse), every queue given to [`queue`](Self::queue)
    /// for a listener the file does not declare, and every listener given
    /// to [`forward`](Self::forward) that the file does not declare.
    pub fn build(self) -> Result<Routes, Error> {
        let RoutesBuilder {
            path,
            program,
            warnings,
            watched,
            fingerprint,
            mut handlers,
            typed,
            queues,
            forwards,
        } = self;
        // A stable order: the layout's handler indices do not depend on
        // registration order.
        handlers.sort_by(|a, b| a.0.cmp(&b.0));
        let slots: Vec<HandlerSlot> = handlers
            .iter()
            .map(|(name, f)| HandlerSlot {
                name: SharedStr::from(name.clone()),
                is_async: matches!(f, HandlerFn::Async(_)),
            })
            .collect();
        let declared: HashSet<&str> = program.listeners().iter().map(|l| l.name.as_str()).collect();
        let mut missing = Vec::new();
        for (listener, queue) in &queues {
            if !declared.contains(listener.as_str()) {
                missing.push(Missing {
                    kind: MissingKind::UnknownListener,
                    name: listener.clone(),
                    listener: listener.clone(),
                    rule: queue.clone(),
                });
            }
        }
        for (from, to) in &forwards {
            for end in [from, to].into_iter().filter(|n| !declared.contains(n.as_str())) {
                missing.push(Missing {
                    kind: MissingKind::UnknownForward,
                    name: end.clone(),
                    listener: from.clone(),
                    rule: to.clone(),
                });
            }
        }
        let extra_queues = by_listener(&queues);
        let extra_forwards = by_listener(&forwards);
        let mut tables = Vec::new();
        for def in program.listeners() {
            let name = def.name.as_str();
            let layout = table::stable_layout(
                def,
                &slots,
                extra_queues.get(name).map_or(&[][..], Vec::as_slice),
                extra_forwards.get(name).map_or(&[][..], Vec::as_slice),
            );
            match Table::lower(def, &layout) {
                Ok(t) => tables.push((layout, t)),
                Err(m) => missing.extend(m),
            }
        }
        if !missing.is_empty() {
            return Err(Error::Missing(Unprovided { path, missing }));
        }
        let mismatches = typed::check(&program, &typed);
        if !mismatches.is_empty() {
            return Err(Error::Content(Mismatched { path, mismatches }));
        }
        let shared = RouteHandlers { slots: handlers.into_iter().map(|(_, f)| f).collect() };
        let listeners: Vec<(String, Arc<RouteListener>)> = program
            .listeners()
            .iter()
            .map(|l| l.name.clone())
            .zip(tables)
            .map(|(name, (layout, table))| {
                let matcher = RouteMatcher::new(layout, table);
                (name, Arc::new(RoutedListener::new(matcher, shared.clone())))
            })
            .collect();
        let index: HashMap<String, usize> =
            listeners.iter().enumerate().map(|(i, (n, _))| (n.clone(), i)).collect();
        for (_, l) in &listeners {
            chain::bind_forwards(l, &listeners, &index);
        }
        Ok(Routes {
            inner: Arc::new(Inner {
                path,
                listeners,
                index,
                typed,
                state: Mutex::new(State { program, warnings, watched, fingerprint, generation: 0 }),
            }),
        })
    }
}

/// The second names of `pairs`, by the first.
fn by_listener(pairs: &[(String, String)]) -> HashMap<&str, Vec<String>> {
    let mut out: HashMap<&str, Vec<String>> = HashMap::new();
    for (l, x) in pairs {
        out.entry(l.as_str()).or_default().push(x.clone());
    }
    out
}

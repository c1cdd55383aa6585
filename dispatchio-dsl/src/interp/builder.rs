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
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::{Dispatcher, Message, Reply, Text};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("desk.route");
/// std::fs::write(&path, "listener desk {\n rule ask when type == \"Text\" => call answer\n otherwise => queue later\n}")?;
/// let routes = dispatchio_dsl::interp::load(&path)?
///     .handler("answer", |_m: &Message| Ok(Reply::with(Text::from("done"))))
///     .queue("desk", "urgent") // not in the file yet; a reload may push to it
///     .build()?;
/// let desk = routes.listener("desk")?;
/// assert!(desk.queue("later").is_ok() && desk.queue("urgent").is_ok());
/// let dispatcher = Dispatcher::new();
/// routes.register(&dispatcher)?;
/// let reply = dispatcher.request_as::<Text>(Message::new(Text::from("?")).to("desk"), None).await?;
/// assert_eq!(reply.0, "done");
/// # Ok(()) }
/// ```
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
    ///
    /// ```
    /// let builder = dispatchio_dsl::interp::load("../examples/routes/croupier.route")?;
    /// // The handlers the file calls, to register before building.
    /// let croupier = builder.program().listener("croupier").unwrap();
    /// let mut calls: Vec<&str> = croupier.rules.iter().flat_map(|r| &r.actions).filter_map(|a| match &a.kind {
    ///     dispatchio_dsl::program::ActionKind::Call { handler, .. } => Some(handler.as_str()),
    ///     _ => None,
    /// }).collect();
    /// calls.dedup();
    /// assert_eq!(calls, ["welcome", "review", "take_bet"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The warnings `dispatchio check` would print for the file.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("table.route");
    /// std::fs::write(&path, "const LIMIT = 10\nlistener table { rule all when sync => queue hand }")?;
    /// let builder = dispatchio_dsl::interp::load(&path)?;
    /// assert_eq!(builder.warnings()[0].code.as_str(), "unused");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// Registers the synchronous handler `name` (`call name`), for every
    /// listener of the program. Registering a name again replaces it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, HandlerError, Message, Reply, Text};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("shout.route");
    /// std::fs::write(&path, "listener shout { rule text when type == \"Text\" => call upper }")?;
    /// let routes = dispatchio_dsl::interp::load(&path)?
    ///     .handler("upper", |m: &Message| {
    ///         let text = m.content_as::<Text>().ok_or_else(|| HandlerError::new("not text"))?;
    ///         Ok(Reply::with(Text::from(text.0.to_uppercase())))
    ///     })
    ///     .build()?;
    /// let dispatcher = Dispatcher::new();
    /// routes.register(&dispatcher)?;
    /// let reply = dispatcher.request_as::<Text>(Message::new(Text::from("hi")).to("shout"), None).await?;
    /// assert_eq!(reply.0, "HI");
    /// # Ok(()) }
    /// ```
    pub fn handler(
        mut self,
        name: impl Into<String>,
        f: impl Fn(&Message) -> HandlerResult + Send + Sync + 'static,
    ) -> RoutesBuilder {
        self.set_handler(name.into(), HandlerFn::Sync(Arc::new(f)));
        self
    }

    /// Registers the asynchronous handler `name` (`call async name`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Message, Reply, Text};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("review.route");
    /// std::fs::write(&path, "listener desk { rule text when type == \"Text\" and not sync => call async review }")?;
    /// let routes = dispatchio_dsl::interp::load(&path)?
    ///     .async_handler("review", |m: Message| async move {
    ///         // The future owns the message: it runs beside the listener's next ones.
    ///         let words = m.content_as::<Text>().map_or(0, |t| t.0.split_whitespace().count());
    ///         Ok(Reply::with(Text::from(format!("{words} words"))))
    ///     })
    ///     .build()?;
    /// let dispatcher = Dispatcher::new();
    /// routes.register(&dispatcher)?;
    /// let reply = dispatcher.request_as::<Text>(Message::new(Text::from("two words")).to("desk"), None).await?;
    /// assert_eq!(reply.0, "2 words");
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Envelope, Message, Reply, Text};
    ///
    /// // In a program: `#[derive(Debug, Serialize, Deserialize, dispatchio::ContentType)]`.
    /// #[derive(Debug, serde::Serialize, serde::Deserialize)]
    /// struct Bet { amount: i64 }
    /// # impl dispatchio_core::ContentType for Bet { const TYPE_NAME: &'static str = "Bet"; }
    /// # impl dispatchio_core::Fields for Bet {
    /// #     fn field(&self, name: &str) -> Option<dispatchio_core::Value<'_>> {
    /// #         (name == "amount").then_some(dispatchio_core::Value::Int(self.amount))
    /// #     }
    /// # }
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("bets.route");
    /// std::fs::write(&path, "message Bet { amount: int }\nlistener croupier { rule bet when type == Bet and not sync => call async take }")?;
    /// let routes = dispatchio_dsl::interp::load(&path)?
    ///     .typed_async_handler("take", |_envelope: &Envelope, bet: &Bet| {
    ///         let doubled = bet.amount * 2; // what the future needs, taken before it
    ///         async move { Ok(Reply::with(Text::from(format!("pays {doubled}")))) }
    ///     })
    ///     .build()?;
    /// let dispatcher = Dispatcher::new();
    /// routes.register(&dispatcher)?;
    /// let reply = dispatcher.request_as::<Text>(Message::new(Bet { amount: 5 }).to("croupier"), None).await?;
    /// assert_eq!(reply.0, "pays 10");
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("table.route");
    /// std::fs::write(&path, "listener table { rule all when sync => queue hand }")?;
    /// let routes = dispatchio_dsl::interp::load(&path)?.queue("table", "urgent").build()?;
    /// // The file may now be edited to push to `urgent`, and reloaded.
    /// std::fs::write(&path, "listener table {\n rule now when blocking => queue urgent\n rule all when sync => queue hand\n}")?;
    /// assert_eq!(routes.reload()?.generation, 1);
    /// assert!(routes.listener("table")?.queue("urgent").is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn queue(mut self, listener: impl Into<String>, queue: impl Into<String>) -> RoutesBuilder {
        self.queues.push((listener.into(), queue.into()));
        self
    }

    /// Lets `listener` forward to the listener `target` even though the file
    /// does not (yet), so that a reloaded file may. The targets the file
    /// forwards to are bound anyway.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("two.route");
    /// std::fs::write(&path, "listener front { rule all when sync => queue q }\nlistener audit { rule all when sync => queue seen }")?;
    /// let routes = dispatchio_dsl::interp::load(&path)?.forward("front", "audit").build()?;
    /// // `front` was built bound to `audit`, so a reload may forward there.
    /// std::fs::write(&path, "listener front { rule all when sync => forward audit }\nlistener audit { rule all when sync => queue seen }")?;
    /// assert_eq!(routes.reload()?.generation, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
    ///
    /// ```
    /// use dispatchio_dsl::interp::{self, MissingKind};
    ///
    /// let builder = interp::load("../examples/routes/croupier.route")?;
    /// // The file calls `welcome`, `review` (async) and `take_bet`; none is registered.
    /// let Err(interp::Error::Missing(unprovided)) = builder.build() else { panic!("refused") };
    /// let names: Vec<&str> = unprovided.missing.iter().map(|m| m.name.as_str()).collect();
    /// assert_eq!(names, ["welcome", "review", "take_bet"]);
    /// assert_eq!(unprovided.missing[1].kind, MissingKind::Handler { is_async: true });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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

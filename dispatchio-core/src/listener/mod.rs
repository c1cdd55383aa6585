//! Routed listeners: what most listeners are.
//!
//! [`Listener`](crate::Listener) is the object-safe trait the dispatcher
//! talks to. The usual implementation is [`RoutedListener`], the one executor shared by every
//! producer of routing tables: it asks its [`Matcher`](crate::routing::Matcher)
//! which [`Step`](crate::routing::Step)s to run, then calls [`Handlers`],
//! pushes onto [`Queue`]s, forwards to chained listeners, and sends the reply.
//! [`Hooks`] let a listener type customise handling before and after routing.
//!
//! Each registered listener runs in its own tokio task that takes deliveries
//! one at a time from its mailbox, a queue (so a sender never waits on the
//! listener's work, and messages from one sender arrive in order), unbounded
//! unless registered bounded (see the
//! [dispatcher's documentation](crate::dispatcher#bounded-mailboxes)).
//! Synchronous handlers run in that task; asynchronous handlers run
//! concurrently with later messages, inside the same task.

mod builder;
mod later;
mod routed;

pub use builder::{FnHandlers, ListenerBuilder};
pub(crate) use later::Binding;
pub use later::{Deferred, Promise};
pub use routed::{ForwardTarget, RoutedListener};

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::content::{ContentRef, ContentType};
use crate::error::HandlerError;
use crate::message::Message;
use crate::routing::{Fired, Layout};
#[cfg(doc)]
use crate::{error::Error, queue::Queue};

/// What a handler returns.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use dispatchio_core::{Dispatcher, Error, HandlerError, HandlerResult, Message, RoutedListener, Text};
/// use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// fn refuse(_: &Message) -> HandlerResult {
///     Err(HandlerError::new("no cards left"))
/// }
/// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("deal")]).build()?;
/// let dealer = RoutedListener::builder(table).handler("deal", refuse).build()?;
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("dealer", Arc::new(dealer))?;
/// let err = dispatcher.request(Message::new(Text::from("deal")).to("dealer"), None).await.unwrap_err();
/// assert!(matches!(err, Error::Handler { handler, error } if handler == "deal" && error.message() == "no cards left"));
/// # Ok(()) }
/// ```
pub type HandlerResult = Result<Reply, HandlerError>;

/// A handler's answer.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use dispatchio_core::{Dispatcher, Empty, Message, Reply, RoutedListener, Text};
/// use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("ack")]).build()?;
/// let acker = RoutedListener::builder(table).handler("ack", |_: &Message| Ok(Reply::Empty)).build()?;
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("acker", Arc::new(acker))?;
/// let reply = dispatcher.request(Message::new(Text::from("hi")).to("acker"), None).await?;
/// assert!(reply.content_as::<Empty>().is_some()); // handled, nothing to say
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub enum Reply {
    /// Reply with this content.
    Content(ContentRef),
    /// Handled; the reply (when one is required) carries no content
    /// ([`Empty`](crate::Empty)).
    Empty,
    /// Answer later by message ID with
    /// [`Dispatcher::reply`](crate::Dispatcher::reply); the sender keeps
    /// waiting (until its timeout, if any). Deferrals are keyed by message
    /// ID alone: one may be outstanding per ID, so of a group request's
    /// subscribers only one can defer (a second deferral is answered
    /// [`Error::DuplicateDeferred`]). [`Reply::later`] has neither limit:
    /// its token answers from anywhere and reports being dropped.
    Defer,
    /// Answer later through the [`Deferred`] token made with it by
    /// [`Reply::later`], exactly once, from anywhere.
    Later(Promise),
}

impl Reply {
    /// Reply with `content`.
    ///
    /// ```
    /// use dispatchio_core::{Reply, Text};
    /// let reply = Reply::with(Text::from("dealt"));
    /// assert!(matches!(&reply, Reply::Content(c) if c.downcast_ref::<Text>() == Some(&Text::from("dealt"))));
    /// ```
    pub fn with<T: ContentType>(content: T) -> Reply {
        Reply::Content(Arc::new(content))
    }
}

/// The handlers of a routed listener, called by index into the matcher's
/// [`Layout::handlers`]. Generated code implements this over a user's typed
/// handler trait; [`FnHandlers`] holds closures.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use dispatchio_core::{Dispatcher, HandlerResult, Handlers, Message, Reply, RoutedListener, Text};
/// use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// struct Greeter;
/// impl Handlers for Greeter {
///     fn call(&self, _handler: usize, m: &Message) -> HandlerResult {
///         let name = m.content_as::<Text>().map_or("", |t| &t.0);
///         Ok(Reply::with(Text(format!("hello, {name}"))))
///     }
/// }
/// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("greet")]).build()?;
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("greeter", Arc::new(RoutedListener::new(table, Greeter)))?;
/// let reply = dispatcher.request_as::<Text>(Message::new(Text::from("Ann")).to("greeter"), None).await?;
/// assert_eq!(reply.0, "hello, Ann");
/// # Ok(()) }
/// ```
pub trait Handlers: Send + Sync + 'static {
    /// Runs synchronous handler `handler` (declared `call`).
    ///
    /// ```
    /// use dispatchio_core::{Empty, Handlers, Message};
    /// // The default: no synchronous handler at that index.
    /// let err = ().call(0, &Message::new(Empty)).unwrap_err();
    /// assert_eq!(err.message(), "handler #0 is not a synchronous handler");
    /// ```
    fn call(&self, handler: usize, message: &Message) -> HandlerResult {
        let _ = message;
        Err(HandlerError::new(format!("handler #{handler} is not a synchronous handler")))
    }

    /// Starts asynchronous handler `handler` (declared `call async`).
    ///
    /// ```
    /// use dispatchio_core::{Empty, Handlers, Message};
    /// // The default: no asynchronous handler at that index.
    /// let err = futures::executor::block_on(().call_async(1, Message::new(Empty))).unwrap_err();
    /// assert_eq!(err.message(), "handler #1 is not an asynchronous handler");
    /// ```
    fn call_async(&self, handler: usize, message: Message) -> BoxFuture<'static, HandlerResult> {
        let _ = message;
        Box::pin(std::future::ready(Err(HandlerError::new(format!(
            "handler #{handler} is not an asynchronous handler"
        )))))
    }
}

/// No handlers: for routing tables without `call` actions.
impl Handlers for () {}

/// Customises a routed listener's handling with pre- and post-filters.
/// Every method has a default that changes nothing.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::{Arc, Mutex};
/// use dispatchio_core::{Dispatcher, Hooks, Message, Outcome, RoutedListener, Text};
/// use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// #[derive(Default)]
/// struct NoSpam(Arc<Mutex<Vec<String>>>); // the rules that fired
/// impl Hooks for NoSpam {
///     fn pre_filter(&self, m: Message) -> Option<Message> {
///         (m.ty() != "Spam").then_some(m)
///     }
///     fn post_filter(&self, _: &Message, outcome: &Outcome<'_>) {
///         let names = outcome.fired.rules().iter().map(|&r| outcome.layout.rules[r].to_string());
///         self.0.lock().unwrap().extend(names);
///     }
/// }
/// let hooks = NoSpam::default();
/// let seen = hooks.0.clone();
/// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build()?;
/// let player = Arc::new(RoutedListener::builder(table).hooks(hooks).build()?);
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("player", player.clone())?;
/// dispatcher.send(Message::new(Text::from("hi")).to("player"))?;
/// dispatcher.send(Message::new(Text::from("buy!")).with_type("Spam").to("player"))?;
/// dispatcher.flush("player").await?;
/// assert_eq!(player.queue("inbox")?.len(), 1);
/// assert_eq!(dispatcher.snapshot().counters.dropped, 1);
/// assert_eq!(*seen.lock().unwrap(), ["all"]); // the spam was never routed
/// # Ok(()) }
/// ```
pub trait Hooks: Send + Sync + 'static {
    /// Before routing: return the message (possibly changed) to route it, or
    /// `None` to drop it (counted and reported like a `drop` action).
    ///
    /// ```
    /// use dispatchio_core::{Hooks, Message, NoHooks, Text};
    /// // The default routes every message unchanged; the example of `Hooks` drops some.
    /// let m = NoHooks.pre_filter(Message::new(Text::from("hi"))).unwrap();
    /// assert_eq!(m.content_as::<Text>().unwrap().0, "hi");
    /// ```
    fn pre_filter(&self, message: Message) -> Option<Message> {
        Some(message)
    }

    /// After the steps ran (asynchronous handlers may still be running). The
    /// example of [`Hooks`] records the rules that fired here. Not called
    /// for a message the pre-filter dropped: that one is counted and
    /// reported as dropped, and routed by no rule.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::{Arc, Mutex};
    /// use dispatchio_core::{Dispatcher, Empty, Hooks, Message, Outcome, RoutedListener, Text};
    /// use dispatchio_core::routing::{Action, Cond, End, RoutingTable};
    /// /// Counts the messages no rule took.
    /// #[derive(Default)]
    /// struct CountUnrouted(Arc<Mutex<usize>>);
    /// impl Hooks for CountUnrouted {
    ///     fn post_filter(&self, _: &Message, outcome: &Outcome<'_>) {
    ///         if outcome.fired.end() == End::Unrouted {
    ///             *self.0.lock().unwrap() += 1;
    ///         }
    ///     }
    /// }
    /// let hooks = CountUnrouted::default();
    /// let unrouted = hooks.0.clone();
    /// let table = RoutingTable::builder().rule("text", Cond::type_is("Text"), [Action::queue("inbox")]).build()?;
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("player", Arc::new(RoutedListener::builder(table).hooks(hooks).build()?))?;
    /// dispatcher.send(Message::new(Text::from("hi")).to("player"))?;
    /// dispatcher.send(Message::new(Empty).to("player"))?;
    /// dispatcher.flush("player").await?;
    /// assert_eq!(*unrouted.lock().unwrap(), 1);
    /// # Ok(()) }
    /// ```
    fn post_filter(&self, message: &Message, outcome: &Outcome<'_>) {
        let _ = (message, outcome);
    }
}

/// No hooks.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::{NoHooks, RoutedListener};
/// use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build()?;
/// // `RoutedListener::new` and the builder use `NoHooks` unless given others.
/// let listener: RoutedListener<RoutingTable, (), NoHooks> = RoutedListener::new(table, ());
/// assert!(listener.queue("inbox").is_ok());
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {}

/// What happened to one message, for [`Hooks::post_filter`]: the
/// [`Fired`] indices and the [`Layout`] names they stand for.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::{Arc, Mutex};
/// use dispatchio_core::{Dispatcher, Hooks, Message, Outcome, RoutedListener, Text};
/// use dispatchio_core::routing::{Action, Cond, RoutingTable, Step};
/// /// Records the queues each message was pushed onto, by name.
/// #[derive(Default)]
/// struct QueuesOf(Arc<Mutex<Vec<String>>>);
/// impl Hooks for QueuesOf {
///     fn post_filter(&self, _: &Message, outcome: &Outcome<'_>) {
///         for step in outcome.fired.steps() {
///             if let Step::Queue(q) = step {
///                 self.0.lock().unwrap().push(outcome.layout.queues[*q].to_string());
///             }
///         }
///     }
/// }
/// let hooks = QueuesOf::default();
/// let queued = hooks.0.clone();
/// let table = RoutingTable::builder()
///     .rule("log", Cond::Always, [Action::queue("log"), Action::Continue])
///     .rule("text", Cond::type_is("Text"), [Action::queue("inbox")])
///     .build()?;
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("player", Arc::new(RoutedListener::builder(table).hooks(hooks).build()?))?;
/// dispatcher.send(Message::new(Text::from("hi")).to("player"))?;
/// dispatcher.flush("player").await?;
/// assert_eq!(*queued.lock().unwrap(), ["log", "inbox"]);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Outcome<'a> {
    /// The names behind the indices.
    pub layout: &'a Layout,
    /// The rules that fired, the steps run and how the search ended.
    pub fired: &'a Fired,
}

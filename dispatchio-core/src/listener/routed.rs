//! [`RoutedListener`]: the one executor of routing steps, shared by the
//! builder's tables, the interpreter and generated code.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use futures::FutureExt;
use futures::future::BoxFuture;

use crate::dispatcher::{Context, Dispatcher, Listener, SyncContext};
use crate::error::{Error, SyncError};
use crate::id::{Id, SharedStr};
use crate::listener::{
    FnHandlers, HandlerResult, Handlers, Hooks, ListenerBuilder, NoHooks, Outcome, Reply,
};
use crate::message::Message;
use crate::queue::{Queue, UnknownQueue};
use crate::reply::{Delivery, ReplySender};
use crate::routing::{BuildError, End, Fired, Matcher, Step};

/// Where a `forward` action hands a message.
///
/// ```
/// # fn echo() -> std::sync::Arc<dyn dispatchio_core::Listener> {
/// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// #     let table = RoutingTable::builder().rule("echo", Cond::Always, [Action::call("echo")]).build().unwrap();
/// #     let echo = dispatchio_core::RoutedListener::builder(table)
/// #         .handler("echo", |m: &dispatchio_core::Message| Ok(dispatchio_core::Reply::Content(m.content().clone())))
/// #         .build().unwrap();
/// #     std::sync::Arc::new(echo)
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use dispatchio_core::{Dispatcher, ForwardTarget, Id, Message, RoutedListener, Text};
/// use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// let by_id: ForwardTarget = Id::from("echo").into(); // whatever serves "echo" then
/// assert!(matches!(by_id, ForwardTarget::Destination(_)));
/// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::forward("next")]).build()?;
/// let front = Arc::new(RoutedListener::builder(table).forward("next", by_id).build()?);
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("echo", echo())?;
/// dispatcher.register("front", front)?;
/// let reply = dispatcher.request(Message::new(Text::from("ping")).to("front"), None).await?;
/// assert_eq!(reply.content_as::<Text>().unwrap().0, "ping"); // echo's reply
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub enum ForwardTarget {
    /// A listener object, registered or not (chaining).
    Listener(Arc<dyn Listener>),
    /// Whatever serves this destination ID at the dispatcher when the
    /// message is forwarded (a local listener or a remote link).
    Destination(Id),
}

impl std::fmt::Debug for ForwardTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForwardTarget::Listener(_) => f.write_str("Listener(..)"),
            ForwardTarget::Destination(id) => write!(f, "Destination({id})"),
        }
    }
}

impl<L: Listener> From<Arc<L>> for ForwardTarget {
    fn from(l: Arc<L>) -> ForwardTarget {
        ForwardTarget::Listener(l)
    }
}

impl From<Id> for ForwardTarget {
    fn from(id: Id) -> ForwardTarget {
        ForwardTarget::Destination(id)
    }
}

/// A listener that routes with a [`Matcher`] and runs the fired steps.
///
/// The executor's rules, on top of the matcher's:
///
/// * Steps run in order. `call` runs a synchronous handler right away;
///   `call async` starts an asynchronous one that runs concurrently with the
///   listener's later messages; `queue` pushes a copy (a cheap clone) onto a
///   named [`Queue`]; `forward` hands the message to a chained listener or a
///   destination; `drop` counts and traces it.
/// * The reply is the result of the first step that can produce one: a
///   `call`, `call async` or `forward` (the target's reply). A handler error
///   reaches the sender as [`Error::Handler`]; [`Reply::Defer`] parks the
///   reply until [`Dispatcher::reply`].
/// * When no step produced the reply: a queued message is acknowledged with
///   an empty reply; a dropped one is answered [`Error::Dropped`]; an
///   unrouted one [`Error::Unrouted`].
/// * An unrouted message (nothing stopped the search, no `otherwise`) is
///   always counted and traced, even when a `continue` rule's call answered it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use dispatchio_core::{Dispatcher, Error, Message, Reply, RoutedListener, Text};
/// use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// let table = RoutingTable::builder()
///     .rule("shout", Cond::type_is("Text"), [Action::call("shout")])
///     .build()?;
/// let shouter = RoutedListener::builder(table)
///     .handler("shout", |m: &Message| Ok(Reply::with(Text(m.content_as::<Text>().unwrap().0.to_uppercase()))))
///     .build()?;
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("shouter", Arc::new(shouter))?;
/// let reply = dispatcher.request_as::<Text>(Message::new(Text::from("hi")).to("shouter"), None).await?;
/// assert_eq!(reply.0, "HI"); // the call's reply
/// let other = Message::new(dispatchio_core::Empty).to("shouter");
/// assert!(matches!(dispatcher.request(other, None).await, Err(Error::Unrouted { .. })));
/// # Ok(()) }
/// ```
pub struct RoutedListener<M, H, K = NoHooks> {
    matcher: M,
    handlers: H,
    hooks: K,
    queues: Box<[Queue]>,
    forwards: Box<[OnceLock<ForwardTarget>]>,
    hits: Box<[AtomicU64]>,
}

impl<M: Matcher, H: Handlers> RoutedListener<M, H, NoHooks> {
    /// A listener routing with `matcher` to `handlers`. Its queues are created
    /// from the matcher's layout; forward targets are bound with
    /// [`bind_forward`](Self::bind_forward).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Dispatcher, Message, RoutedListener, Text};
    /// use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build()?;
    /// let player = Arc::new(RoutedListener::new(table, ())); // `()`: no handlers
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("player", player.clone())?;
    /// dispatcher.send(Message::new(Text::from("hi")).to("player"))?;
    /// assert!(player.queue("inbox")?.recv().await.is_some());
    /// # Ok(()) }
    /// ```
    pub fn new(matcher: M, handlers: H) -> RoutedListener<M, H, NoHooks> {
        RoutedListener::with_hooks(matcher, handlers, NoHooks)
    }
}

impl<M: Matcher> RoutedListener<M, FnHandlers, NoHooks> {
    /// Starts a listener over `matcher` whose handlers are closures.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Message, Reply, RoutedListener};
    /// use dispatchio_core::routing::{Action, BuildError, Cond, RoutingTable};
    /// let table = || RoutingTable::builder().rule("all", Cond::Always, [Action::call("ack")]).build();
    /// let missing = RoutedListener::builder(table()?).build().err();
    /// assert_eq!(missing, Some(BuildError::MissingHandler("ack".into())));
    /// let built = RoutedListener::builder(table()?).handler("ack", |_: &Message| Ok(Reply::Empty)).build();
    /// assert!(built.is_ok());
    /// # Ok(()) }
    /// ```
    pub fn builder(matcher: M) -> ListenerBuilder<M, NoHooks> {
        ListenerBuilder::new(matcher, NoHooks)
    }
}

impl<M: Matcher, H: Handlers, K: Hooks> RoutedListener<M, H, K> {
    /// A listener with custom [`Hooks`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Dispatcher, Hooks, Message, RoutedListener, Text};
    /// use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// struct Closed; // drops every message before routing
    /// impl Hooks for Closed {
    ///     fn pre_filter(&self, _: Message) -> Option<Message> { None }
    /// }
    /// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build()?;
    /// let player = Arc::new(RoutedListener::with_hooks(table, (), Closed));
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("player", player.clone())?;
    /// dispatcher.send(Message::new(Text::from("hi")).to("player"))?;
    /// dispatcher.flush("player").await?;
    /// assert!(player.queue("inbox")?.is_empty());
    /// assert_eq!(dispatcher.snapshot().counters.dropped, 1);
    /// # Ok(()) }
    /// ```
    pub fn with_hooks(matcher: M, handlers: H, hooks: K) -> RoutedListener<M, H, K> {
        let layout = matcher.layout();
        let queues = layout.queues.iter().map(|n| Queue::new(n.clone())).collect();
        let forwards = layout.forwards.iter().map(|_| OnceLock::new()).collect();
        let hits = layout.rules.iter().map(|_| AtomicU64::new(0)).collect();
        RoutedListener { matcher, handlers, hooks, queues, forwards, hits }
    }

    /// Binds the forward target `name` of the routing table.
    ///
    /// # Errors
    ///
    /// [`BuildError::UnknownForward`] when the table never forwards to `name`,
    /// [`BuildError::ForwardAlreadyBound`] when it is bound already.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn echo_listener() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     let table = RoutingTable::builder().rule("echo", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = dispatchio_core::RoutedListener::builder(table)
    /// #         .handler("echo", |m: &dispatchio_core::Message| Ok(dispatchio_core::Reply::Content(m.content().clone())))
    /// #         .build().unwrap();
    /// #     std::sync::Arc::new(echo)
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Dispatcher, Message, RoutedListener, Text};
    /// use dispatchio_core::routing::{Action, BuildError, Cond, RoutingTable};
    /// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::forward("next")]).build()?;
    /// let front = Arc::new(RoutedListener::new(table, ()));
    /// front.bind_forward("next", echo_listener())?; // a listener object, not registered
    /// assert_eq!(front.bind_forward("next", echo_listener()), Err(BuildError::ForwardAlreadyBound("next".into())));
    /// assert_eq!(front.bind_forward("elsewhere", echo_listener()), Err(BuildError::UnknownForward("elsewhere".into())));
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("front", front)?;
    /// let reply = dispatcher.request(Message::new(Text::from("ping")).to("front"), None).await?;
    /// assert_eq!(reply.content_as::<Text>().unwrap().0, "ping");
    /// # Ok(()) }
    /// ```
    pub fn bind_forward(
        &self,
        name: &str,
        target: impl Into<ForwardTarget>,
    ) -> Result<(), BuildError> {
        let i = self
            .matcher
            .layout()
            .forward(name)
            .ok_or_else(|| BuildError::UnknownForward(name.into()))?;
        self.forwards[i]
            .set(target.into())
            .map_err(|_| BuildError::ForwardAlreadyBound(name.into()))
    }

    /// The queue `name`, to take messages from.
    ///
    /// # Errors
    ///
    /// [`UnknownQueue`] when the table has no queue of that name; the error
    /// lists the queues it has.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Dispatcher, Message, RoutedListener, Text};
    /// use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build()?;
    /// let player = Arc::new(RoutedListener::new(table, ()));
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("player", player.clone())?;
    /// dispatcher.send(Message::new(Text::from("hi")).to("player"))?;
    /// let inbox = player.queue("inbox")?;
    /// assert_eq!(inbox.recv().await.unwrap().content_as::<Text>().unwrap().0, "hi");
    /// assert!(player.queue("outbox").is_err()); // see `UnknownQueue`
    /// # Ok(()) }
    /// ```
    pub fn queue(&self, name: &str) -> Result<Queue, UnknownQueue> {
        let layout = self.matcher.layout();
        match layout.queue(name) {
            Some(i) => Ok(self.queues[i].clone()),
            None => {
                Err(UnknownQueue { name: name.to_owned().into(), queues: layout.queues.clone() })
            }
        }
    }

    /// The matcher.
    ///
    /// With [`handlers`](Self::handlers), the other getter:
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{FnHandlers, RoutedListener};
    /// use dispatchio_core::routing::{Action, Cond, Matcher, RoutingTable};
    /// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build()?;
    /// let player = RoutedListener::new(table, ());
    /// assert_eq!(player.matcher().layout().queues, ["inbox".into()]);
    /// let _no_handlers: &() = player.handlers();
    /// # Ok(()) }
    /// ```
    pub fn matcher(&self) -> &M {
        &self.matcher
    }

    /// The handlers.
    ///
    /// ```
    /// use dispatchio_core::{Handlers, HandlerResult, Message, Reply, RoutedListener, Text};
    /// use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// struct Greeter {
    ///     greeting: String,
    /// }
    /// impl Handlers for Greeter {
    ///     fn call(&self, _: usize, _: &Message) -> HandlerResult {
    ///         Ok(Reply::with(Text(self.greeting.clone())))
    ///     }
    /// }
    /// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("greet")]).build()?;
    /// let greeter = RoutedListener::new(table, Greeter { greeting: "hello".into() });
    /// assert_eq!(greeter.handlers().greeting, "hello"); // the handlers' own state
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handlers(&self) -> &H {
        &self.handlers
    }

    /// How many messages each rule matched, by rule name, in rule order.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Dispatcher, Empty, Message, RoutedListener, Text};
    /// use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// let table = RoutingTable::builder()
    ///     .rule("text", Cond::type_is("Text"), [Action::queue("inbox")])
    ///     .otherwise([Action::queue("inbox")])
    ///     .build()?;
    /// let player = Arc::new(RoutedListener::new(table, ()));
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("player", player.clone())?;
    /// dispatcher.send(Message::new(Text::from("hi")).to("player"))?;
    /// dispatcher.send(Message::new(Empty).to("player"))?; // caught by `otherwise`
    /// dispatcher.flush("player").await?;
    /// assert_eq!(player.rule_hits(), [("text".into(), 1)]);
    /// # Ok(()) }
    /// ```
    pub fn rule_hits(&self) -> Vec<(SharedStr, u64)> {
        let names = &self.matcher.layout().rules;
        names
            .iter()
            .zip(self.hits.iter())
            .map(|(n, h)| (n.clone(), h.load(Ordering::Relaxed)))
            .collect()
    }

    /// Runs a synchronous handler; a panic becomes the handler's error, so
    /// one bad message cannot take the listener's task down.
    fn call(&self, h: usize, msg: &Message) -> HandlerResult {
        std::panic::catch_unwind(AssertUnwindSafe(|| self.handlers.call(h, msg)))
            .unwrap_or_else(|p| Err(panicked(&*p)))
    }

    /// Starts an asynchronous handler, with panics caught as in [`Self::call`].
    fn call_async(&self, h: usize, msg: Message) -> BoxFuture<'static, HandlerResult> {
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.handlers.call_async(h, msg))) {
            Ok(work) => Box::pin(async move {
                AssertUnwindSafe(work).catch_unwind().await.unwrap_or_else(|p| Err(panicked(&*p)))
            }),
            Err(p) => Box::pin(std::future::ready(Err(panicked(&*p)))),
        }
    }

    /// Borrowed: every `call` of every message passes it on, and only an
    /// error or a deferral needs a copy.
    fn handler_name(&self, h: usize) -> &SharedStr {
        static UNKNOWN: SharedStr = SharedStr::from_static("?");
        self.matcher.layout().handlers.get(h).map_or(&UNKNOWN, |s| &s.name)
    }

    /// Traces which rules fired, by name (only when tracing at trace level).
    /// The level's check is inlined into every delivery; what it guards is
    /// out of line.
    #[inline]
    fn trace(&self, msg: &Message, fired: &Fired) {
        if tracing::enabled!(tracing::Level::TRACE) {
            self.trace_fired(msg, fired);
        }
    }

    #[cold]
    #[inline(never)]
    fn trace_fired(&self, msg: &Message, fired: &Fired) {
        let names = &self.matcher.layout().rules;
        let rules: Vec<&str> =
            fired.rules().iter().filter_map(|&r| names.get(r)).map(|n| n.as_str()).collect();
        tracing::trace!(id = %msg.id(), ty = %msg.ty(), ?rules, end = ?fired.end(), "routed");
    }

    /// Counts one hit for every rule that fired. Most messages fire one
    /// rule, which is counted without the loop (the compiler unrolls it
    /// four times, about 35 instructions of set-up for one count).
    fn count_hits(&self, fired: &Fired) {
        let hit = |r: usize| {
            if let Some(h) = self.hits.get(r) {
                h.fetch_add(1, Ordering::Relaxed);
            }
        };
        match fired.rules() {
            [r] => hit(*r),
            rules => rules.iter().copied().for_each(hit),
        }
    }

    fn forward_target(&self, f: usize) -> Result<&ForwardTarget, Error> {
        self.forwards.get(f).and_then(OnceLock::get).ok_or_else(|| {
            let name =
                self.matcher.layout().forwards.get(f).map(|n| n.to_string()).unwrap_or_default();
            Error::UnboundForward(name)
        })
    }

    fn post(&self, msg: &Message, fired: &Fired) {
        self.hooks.post_filter(msg, &Outcome { layout: self.matcher.layout(), fired });
    }
}

/// The error a panicking handler is reported with.
fn panicked(payload: &(dyn Any + Send)) -> crate::error::HandlerError {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned());
    crate::error::HandlerError::new(format!("the handler panicked: {what}"))
}

/// Whether a handler's result is an answer to send now (content or an
/// empty acknowledgement), as opposed to an error or a deferral.
fn is_answer(result: &HandlerResult) -> bool {
    matches!(result, Ok(Reply::Empty | Reply::Content(_)))
}

/// Turns a handler's result into the reply (or a deferral).
fn finish(
    reply: Option<ReplySender>,
    result: HandlerResult,
    handler: &SharedStr,
    msg: &Message,
    d: &Dispatcher,
    me: Option<&Id>,
) {
    match (result, reply) {
        // A one-way message: the reply would go nowhere, so it is not built
        // (dropping the slot releases a blocking hold as sending would).
        (result, Some(rs)) if rs.is_unwanted() && is_answer(&result) => drop(rs),
        (Ok(Reply::Defer), Some(rs)) if rs.is_wanted() || rs.holds() => {
            d.defer(msg.envelope().clone(), me.cloned(), handler.clone(), rs);
        }
        (Ok(Reply::Content(c)), Some(rs)) => {
            rs.send(Ok(Message::reply_to(msg.envelope(), c, me.cloned())))
        }
        (Ok(Reply::Empty), Some(rs)) => rs.send(Ok(d.ack(msg.envelope(), me))),
        (Ok(Reply::Later(promise)), Some(reply)) => promise.bind(super::Binding {
            reply,
            request: msg.envelope().clone(),
            me: me.cloned(),
            handler: handler.clone(),
            dispatcher: d.clone(),
        }),
        (Ok(_), _) => {}
        (Err(error), Some(rs)) if rs.is_wanted() => {
            rs.send(Err(Error::Handler { handler: handler.to_string(), error }));
        }
        (Err(error), _) => d.note_handler_error(msg.id(), handler, &error),
    }
}

impl<M: Matcher, H: Handlers, K: Hooks> Listener for RoutedListener<M, H, K> {
    fn deliver(&self, delivery: Delivery, cx: &mut Context<'_>) {
        let Delivery { message, reply } = delivery;
        let id = message.id();
        let Some(msg) = self.hooks.pre_filter(message) else {
            cx.dispatcher.note_dropped(id, cx.me, "pre-filter");
            reply.send(Err(Error::Dropped { id, listener: cx.me.cloned() }));
            return;
        };
        let mut fired = cx.take_fired();
        self.matcher.route(&msg, &mut fired);
        self.count_hits(&fired);
        self.trace(&msg, &fired);
        let mut reply = Some(reply);
        let (mut queued, mut dropped) = (false, false);
        for &step in fired.steps() {
            match step {
                Step::Call(h) => {
                    let result = self.call(h, &msg);
                    match reply.take() {
                        // The common one-way case, before `finish` and the
                        // handler's name are even looked at: the answer
                        // would go nowhere, so it is not built (dropping
                        // the slot releases a blocking hold and tells an
                        // `unwanted_then` transport, as sending would).
                        Some(rs) if rs.is_unwanted() && is_answer(&result) => drop(rs),
                        rs => finish(rs, result, self.handler_name(h), &msg, cx.dispatcher, cx.me),
                    }
                }
                Step::CallAsync(h) => {
                    let work = self.call_async(h, msg.clone());
                    let (rs, name, m) = (reply.take(), self.handler_name(h).clone(), msg.clone());
                    let (d, me) = (cx.dispatcher.clone(), cx.me.cloned());
                    cx.spawn(async move {
                        let result = work.await;
                        finish(rs, result, &name, &m, &d, me.as_ref());
                    });
                }
                Step::Queue(q) => {
                    queued = true;
                    if let Some(queue) = self.queues.get(q) {
                        if queue.push(msg.clone()).is_err() {
                            cx.dispatcher.note_undeliverable(&msg, "queue closed");
                        }
                    }
                }
                Step::Forward(f) => {
                    let rs = reply.take().unwrap_or_else(ReplySender::unwanted);
                    match self.forward_target(f) {
                        Ok(ForwardTarget::Listener(l)) => {
                            l.deliver(Delivery { message: msg.clone(), reply: rs }, cx);
                        }
                        Ok(ForwardTarget::Destination(id)) => {
                            if let Err((e, rs)) = cx.dispatcher.deliver_to(id, msg.clone(), rs) {
                                cx.dispatcher.note_undeliverable(&msg, "forward destination");
                                rs.send(Err(e));
                            }
                        }
                        Err(e) => {
                            cx.dispatcher.note_undeliverable(&msg, "unbound forward");
                            rs.send(Err(e));
                        }
                    }
                }
                Step::Drop => {
                    dropped = true;
                    cx.dispatcher.note_dropped(msg.id(), cx.me, "drop action");
                }
            }
        }
        let unrouted = fired.end() == End::Unrouted;
        if unrouted {
            cx.dispatcher.note_unrouted(&msg, cx.me);
        }
        // Nothing answered yet; an unwanted reply slot just drops (releasing
        // a blocking hold) without building an answer nobody reads.
        if let Some(rs) = reply.filter(ReplySender::is_wanted) {
            let (id, listener) = (msg.id(), cx.me.cloned());
            if queued {
                rs.send(Ok(cx.dispatcher.ack(msg.envelope(), cx.me)));
            } else if dropped {
                rs.send(Err(Error::Dropped { id, listener }));
            } else {
                rs.send(Err(Error::Unrouted { id, ty: msg.ty().to_owned(), listener }));
            }
        }
        self.post(&msg, &fired);
        cx.give_back(fired);
    }

    fn deliver_sync(
        &self,
        message: Message,
        cx: &SyncContext<'_>,
    ) -> Result<Option<Message>, Error> {
        let id = message.id();
        let Some(msg) = self.hooks.pre_filter(message) else {
            cx.dispatcher.note_dropped(id, cx.me, "pre-filter");
            return Err(Error::Dropped { id, listener: cx.me.cloned() });
        };
        let mut fired = SYNC_FIRED.with(|pool| pool.borrow_mut().pop()).unwrap_or_default();
        fired.clear();
        self.matcher.route(&msg, &mut fired);
        let answer = self.run_sync(&msg, &fired, cx);
        SYNC_FIRED.with(|pool| pool.borrow_mut().push(fired));
        answer
    }

    fn queues(&self) -> Vec<Queue> {
        self.queues.to_vec()
    }

    fn rule_hits(&self) -> Vec<(SharedStr, u64)> {
        RoutedListener::rule_hits(self)
    }
}

thread_local! {
    /// Reusable buffers for synchronous sends, which run in the sender's
    /// thread (a stack, for forwards that nest).
    static SYNC_FIRED: std::cell::RefCell<Vec<Fired>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl<M: Matcher, H: Handlers, K: Hooks> RoutedListener<M, H, K> {
    /// The synchronous path's steps, once routed.
    fn run_sync(
        &self,
        msg: &Message,
        fired: &Fired,
        cx: &SyncContext<'_>,
    ) -> Result<Option<Message>, Error> {
        // Refuse before running anything: half-handling a message and then
        // failing would be worse than not handling it.
        if let Some(&Step::CallAsync(h)) =
            fired.steps().iter().find(|s| matches!(s, Step::CallAsync(_)))
        {
            return Err(Error::Sync(SyncError::AsyncHandler(self.handler_name(h).to_string())));
        }
        self.count_hits(fired);
        self.trace(msg, fired);
        let mut answer: Option<Result<Option<Message>, Error>> = None;
        let (mut queued, mut dropped) = (false, false);
        for &step in fired.steps() {
            match step {
                Step::Call(h) => {
                    let result = self.call(h, msg);
                    let name = self.handler_name(h);
                    let this = match result {
                        Ok(Reply::Content(c)) => {
                            Ok(Some(Message::reply_to(msg.envelope(), c, cx.me.cloned())))
                        }
                        Ok(Reply::Empty) => Ok(None),
                        Ok(Reply::Defer | Reply::Later(_)) => Err(Error::Sync(SyncError::Deferred)),
                        Err(error) => Err(Error::Handler { handler: name.to_string(), error }),
                    };
                    if answer.is_none() {
                        answer = Some(this);
                    } else if let Err(Error::Handler { error, .. }) = this {
                        cx.dispatcher.note_handler_error(msg.id(), name, &error);
                    }
                }
                Step::CallAsync(_) => {}
                Step::Queue(q) => {
                    queued = true;
                    if let Some(queue) = self.queues.get(q) {
                        if queue.push(msg.clone()).is_err() {
                            cx.dispatcher.note_undeliverable(msg, "queue closed");
                        }
                    }
                }
                Step::Forward(f) => {
                    let this = match self.forward_target(f) {
                        Ok(ForwardTarget::Listener(l)) => l.deliver_sync(msg.clone(), cx),
                        Ok(ForwardTarget::Destination(id)) => {
                            cx.dispatcher.sync_to(id, msg.clone())
                        }
                        Err(e) => Err(e),
                    };
                    if answer.is_none() {
                        answer = Some(this);
                    }
                }
                Step::Drop => {
                    dropped = true;
                    cx.dispatcher.note_dropped(msg.id(), cx.me, "drop action");
                }
            }
        }
        if fired.end() == End::Unrouted {
            cx.dispatcher.note_unrouted(msg, cx.me);
        }
        self.post(msg, fired);
        let (id, listener) = (msg.id(), cx.me.cloned());
        match answer {
            Some(a) => a,
            None if queued => Ok(None),
            None if dropped => Err(Error::Dropped { id, listener }),
            None => Err(Error::Unrouted { id, ty: msg.ty().to_owned(), listener }),
        }
    }
}

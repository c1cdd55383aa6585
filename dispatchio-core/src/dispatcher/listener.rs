//! What the dispatcher delivers to: the [`Listener`] trait, and what a
//! listener may use while it handles a delivery.

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;

use super::Dispatcher;
use crate::error::{Error, SyncError};
use crate::id::{Id, SharedStr};
use crate::message::Message;
use crate::queue::Queue;
use crate::reply::Delivery;
use crate::routing::Fired;

/// What a listener may use while handling a delivery in its task.
///
/// Its [`me`](Self::me), [`dispatcher`](Self::dispatcher) and
/// [`spawn`](Self::spawn) at work:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use dispatchio_core::{Context, Delivery, Dispatcher, Listener, Message, Text};
/// struct Slow;
/// impl Listener for Slow {
///     fn deliver(&self, d: Delivery, cx: &mut Context<'_>) {
///         assert!(!cx.dispatcher().is_shut_down());
///         let me = cx.me().cloned(); // Some("slow"): where it is registered
///         cx.spawn(async move {
///             tokio::task::yield_now().await; // the listener takes later messages meanwhile
///             let content = Arc::new(Text::from(me.as_ref().and_then(|id| id.as_str()).unwrap_or("?")));
///             d.reply.send(Ok(Message::reply_to(d.message.envelope(), content, me)));
///         });
///     }
/// }
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("slow", Arc::new(Slow))?;
/// let reply = dispatcher.request_as::<Text>(Message::new(Text::from("who?")).to("slow"), None).await?;
/// assert_eq!(reply.0, "slow");
/// # Ok(()) }
/// ```
pub struct Context<'a> {
    pub(crate) dispatcher: &'a Dispatcher,
    pub(crate) me: Option<&'a Id>,
    pub(crate) inflight: &'a mut FuturesUnordered<BoxFuture<'static, ()>>,
    pub(crate) pool: &'a mut Vec<Fired>,
}

impl Context<'_> {
    /// The dispatcher delivering the message.
    ///
    /// ```
    /// # fn inbox() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Context, Delivery, Dispatcher, Listener, Message, Text};
    /// /// Sends a copy of every message to "log" through the dispatcher, then answers.
    /// struct Tee;
    /// impl Listener for Tee {
    ///     fn deliver(&self, d: Delivery, cx: &mut Context<'_>) {
    ///         let copy = Message::from_shared(d.message.content().clone()).to("log");
    ///         let teed = cx.dispatcher().send(copy).is_ok();
    ///         let content = Arc::new(Text::from(if teed { "teed" } else { "not teed" }));
    ///         d.reply.send(Ok(Message::reply_to(d.message.envelope(), content, None)));
    ///     }
    /// }
    /// let dispatcher = Dispatcher::new();
    /// let log = inbox();
    /// dispatcher.register("log", log.clone())?;
    /// dispatcher.register("tee", Arc::new(Tee))?;
    /// let reply = dispatcher.request_as::<Text>(Message::new(Text::from("hi")).to("tee"), None).await?;
    /// assert_eq!(reply.0, "teed");
    /// assert_eq!(log.queue("inbox")?.recv().await.unwrap().content_as::<Text>().unwrap().0, "hi");
    /// # Ok(()) }
    /// ```
    pub fn dispatcher(&self) -> &Dispatcher {
        self.dispatcher
    }

    /// The destination ID the listener is registered under.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Context, Delivery, Dispatcher, Listener, Message, Text};
    /// /// Answers with the ID it is registered under.
    /// struct WhoAmI;
    /// impl Listener for WhoAmI {
    ///     fn deliver(&self, d: Delivery, cx: &mut Context<'_>) {
    ///         let me = cx.me().and_then(|id| id.as_str()).unwrap_or("?").to_owned();
    ///         d.reply.send(Ok(Message::reply_to(d.message.envelope(), Arc::new(Text(me)), None)));
    ///     }
    /// }
    /// let dispatcher = Dispatcher::new();
    /// let listener = Arc::new(WhoAmI);
    /// dispatcher.register("ann", listener.clone())?;
    /// dispatcher.register("bob", listener)?; // one listener, two IDs
    /// let ask = |who| dispatcher.request_as::<Text>(Message::new(Text::from("?")).to(who), None);
    /// assert_eq!(ask("ann").await?.0, "ann");
    /// assert_eq!(ask("bob").await?.0, "bob");
    /// # Ok(()) }
    /// ```
    pub fn me(&self) -> Option<&Id> {
        self.me
    }

    /// Runs `work` concurrently with the listener's later messages, inside the
    /// listener's task (no `tokio::spawn`, and it stops with the listener).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Context, Delivery, Dispatcher, Listener, Message, Text};
    /// use std::time::Duration;
    /// /// Answers after a while, without holding up the messages behind.
    /// struct Later;
    /// impl Listener for Later {
    ///     fn deliver(&self, d: Delivery, cx: &mut Context<'_>) {
    ///         let slow = d.message.content_as::<Text>().is_some_and(|t| t.0 == "slow");
    ///         cx.spawn(async move {
    ///             tokio::time::sleep(Duration::from_millis(if slow { 50 } else { 0 })).await;
    ///             let content = d.message.content().clone();
    ///             d.reply.send(Ok(Message::reply_to(d.message.envelope(), content, None)));
    ///         });
    ///     }
    /// }
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("later", Arc::new(Later))?;
    /// let slow = dispatcher.request_as::<Text>(Message::new(Text::from("slow")).to("later"), None);
    /// let fast = dispatcher.request_as::<Text>(Message::new(Text::from("fast")).to("later"), None);
    /// let first = tokio::select! { r = slow => r?.0.clone(), r = fast => r?.0.clone() };
    /// assert_eq!(first, "fast"); // sent second, answered first
    /// # Ok(()) }
    /// ```
    pub fn spawn(&mut self, work: impl Future<Output = ()> + Send + 'static) {
        self.inflight.push(Box::pin(work));
    }

    /// A cleared [`Fired`] buffer from the task's pool (no allocation once warm).
    ///
    /// With [`give_back`](Self::give_back), for a listener by hand that routes
    /// with a [`Matcher`](crate::routing::Matcher):
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Context, Delivery, Dispatcher, Empty, Listener, Message};
    /// use dispatchio_core::routing::{Action, Cond, End, Matcher, RoutingTable};
    /// struct Route(RoutingTable);
    /// impl Listener for Route {
    ///     fn deliver(&self, d: Delivery, cx: &mut Context<'_>) {
    ///         let mut fired = cx.take_fired(); // cleared, from the task's pool
    ///         self.0.route(&d.message, &mut fired);
    ///         let stopped = fired.end() == End::Stopped(0);
    ///         cx.give_back(fired);
    ///         let content = if stopped { Arc::new(dispatchio_core::Text::from("routed")) as _ } else { Arc::new(Empty) as _ };
    ///         d.reply.send(Ok(Message::reply_to(d.message.envelope(), content, None)));
    ///     }
    /// }
    /// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::Drop]).build()?;
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("route", Arc::new(Route(table)))?;
    /// let reply = dispatcher.request_as::<dispatchio_core::Text>(Message::new(Empty).to("route"), None).await?;
    /// assert_eq!(reply.0, "routed");
    /// # Ok(()) }
    /// ```
    pub fn take_fired(&mut self) -> Fired {
        let mut f = self.pool.pop().unwrap_or_default();
        f.clear();
        f
    }

    /// Returns a buffer taken with [`take_fired`](Self::take_fired), for a
    /// later delivery to take again, cleared.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Context, Delivery, Dispatcher, Listener, Message, Text};
    /// use dispatchio_core::routing::Step;
    /// /// Grows a buffer once; finds it already grown at every later message.
    /// struct Reuse(std::sync::Mutex<Vec<usize>>);
    /// impl Listener for Reuse {
    ///     fn deliver(&self, d: Delivery, cx: &mut Context<'_>) {
    ///         let mut fired = cx.take_fired();
    ///         self.0.lock().unwrap().push(fired.steps().len()); // 0: cleared
    ///         fired.stop(0, &[Step::Drop]);
    ///         cx.give_back(fired);
    ///         d.reply.send(Ok(Message::reply_to(d.message.envelope(), d.message.content().clone(), None)));
    ///     }
    /// }
    /// let dispatcher = Dispatcher::new();
    /// let reuse = Arc::new(Reuse(Default::default()));
    /// dispatcher.register("reuse", reuse.clone())?;
    /// for _ in 0..3 {
    ///     dispatcher.request(Message::new(Text::from("hi")).to("reuse"), None).await?;
    /// }
    /// assert_eq!(*reuse.0.lock().unwrap(), [0, 0, 0]);
    /// # Ok(()) }
    /// ```
    pub fn give_back(&mut self, fired: Fired) {
        self.pool.push(fired);
    }
}

/// What a listener may use while handling a synchronous send, in the
/// sender's thread. The example uses both its getters,
/// [`dispatcher`](Self::dispatcher) and [`me`](Self::me).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use dispatchio_core::{Context, Delivery, Dispatcher, Error, Listener, Message, SyncContext, Text};
/// struct Now;
/// impl Listener for Now {
///     fn deliver(&self, d: Delivery, _: &mut Context<'_>) {
///         d.reply.send(Err(Error::Sync(dispatchio_core::SyncError::NotSupported)));
///     }
///     fn deliver_sync(&self, m: Message, cx: &SyncContext<'_>) -> Result<Option<Message>, Error> {
///         assert!(!cx.dispatcher().is_shut_down());
///         let me = cx.me().cloned();
///         Ok(Some(Message::reply_to(m.envelope(), Arc::new(Text::from("now")), me)))
///     }
/// }
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("now", Arc::new(Now))?;
/// let reply = dispatcher.send_sync(Message::new(Text::from("when?")).to("now"))?;
/// assert_eq!(reply.content_as::<Text>().unwrap().0, "now");
/// assert_eq!(reply.envelope().source, Some("now".into()));
/// # Ok(()) }
/// ```
pub struct SyncContext<'a> {
    pub(crate) dispatcher: &'a Dispatcher,
    pub(crate) me: Option<&'a Id>,
}

impl SyncContext<'_> {
    /// The dispatcher delivering the message.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Context, Delivery, Dispatcher, Error, Listener, Message, SyncContext, Text};
    /// /// Answers synchronously with how many listeners the dispatcher has.
    /// struct Count;
    /// impl Listener for Count {
    ///     fn deliver(&self, d: Delivery, _: &mut Context<'_>) {
    ///         drop(d); // answered `NoReply`: this one is for `send_sync`
    ///     }
    ///     fn deliver_sync(&self, m: Message, cx: &SyncContext<'_>) -> Result<Option<Message>, Error> {
    ///         let n = cx.dispatcher().snapshot().listeners.len();
    ///         Ok(Some(Message::reply_to(m.envelope(), Arc::new(Text(n.to_string())), None)))
    ///     }
    /// }
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("count", Arc::new(Count))?;
    /// let reply = dispatcher.send_sync(Message::new(Text::from("?")).to("count"))?;
    /// assert_eq!(reply.content_as::<Text>().unwrap().0, "1");
    /// # Ok(()) }
    /// ```
    pub fn dispatcher(&self) -> &Dispatcher {
        self.dispatcher
    }

    /// The destination ID the listener is registered under.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Context, Delivery, Dispatcher, Error, Listener, Message, SyncContext, Text};
    /// /// Answers synchronously with the ID it is registered under.
    /// struct WhoAmI;
    /// impl Listener for WhoAmI {
    ///     fn deliver(&self, d: Delivery, _: &mut Context<'_>) {
    ///         drop(d);
    ///     }
    ///     fn deliver_sync(&self, m: Message, cx: &SyncContext<'_>) -> Result<Option<Message>, Error> {
    ///         Ok(Some(Message::reply_to(m.envelope(), Arc::new(Text::from("hi")), cx.me().cloned())))
    ///     }
    /// }
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("ann", Arc::new(WhoAmI))?;
    /// let reply = dispatcher.send_sync(Message::new(Text::from("?")).to("ann"))?;
    /// assert_eq!(reply.envelope().source, Some("ann".into()));
    /// # Ok(()) }
    /// ```
    pub fn me(&self) -> Option<&Id> {
        self.me
    }
}

/// Something that takes messages: registered with a dispatcher under a
/// destination ID, or chained to by other listeners.
///
/// Most listeners are [`RoutedListener`](crate::RoutedListener)s; one by
/// hand needs only [`deliver`](Self::deliver):
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use dispatchio_core::{Context, Delivery, Dispatcher, Error, Listener, Message, Text};
/// struct Upper;
/// impl Listener for Upper {
///     fn deliver(&self, d: Delivery, cx: &mut Context<'_>) {
///         let text = d.message.content_as::<Text>().map_or(String::new(), |t| t.0.to_uppercase());
///         let reply = Message::reply_to(d.message.envelope(), Arc::new(Text(text)), cx.me().cloned());
///         d.reply.send(Ok(reply));
///     }
/// }
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("upper", Arc::new(Upper))?;
/// let reply = dispatcher.request_as::<Text>(Message::new(Text::from("hi")).to("upper"), None).await?;
/// assert_eq!(reply.0, "HI");
/// // No synchronous path unless `deliver_sync` is written:
/// let err = dispatcher.send_sync(Message::new(Text::from("hi")).to("upper")).unwrap_err();
/// assert!(matches!(err, Error::Sync(dispatchio_core::SyncError::NotSupported)));
/// assert!(dispatcher.snapshot().queues.is_empty()); // and no queues
/// # Ok(()) }
/// ```
pub trait Listener: Send + Sync + 'static {
    /// Handles one delivery, in the listener's task (or, for a message read
    /// from another process while the listener is idle, in the link's
    /// reader: still one delivery at a time, in order). Must not block:
    /// work that waits goes into [`Context::spawn`]. The delivery's reply
    /// must be sent (or the [`ReplySender`](crate::ReplySender) dropped) when the message is
    /// answered.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Context, Delivery, Dispatcher, Listener, Message, Text};
    /// /// Answers every message with its own content.
    /// struct Echo;
    /// impl Listener for Echo {
    ///     fn deliver(&self, d: Delivery, _: &mut Context<'_>) {
    ///         let content = d.message.content().clone();
    ///         d.reply.send(Ok(Message::reply_to(d.message.envelope(), content, None)));
    ///     }
    /// }
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("echo", Arc::new(Echo))?;
    /// let reply = dispatcher.request_as::<Text>(Message::new(Text::from("hi")).to("echo"), None).await?;
    /// assert_eq!(reply.0, "hi");
    /// # Ok(()) }
    /// ```
    fn deliver(&self, delivery: Delivery, cx: &mut Context<'_>);

    /// Handles a synchronous send in the sender's thread: `Ok(Some(reply))`,
    /// `Ok(None)` when handled with nothing to say, or an error.
    ///
    /// # Errors
    ///
    /// [`Error::Sync`] when the message cannot be handled synchronously (the
    /// default: [`SyncError::NotSupported`]), or the handling's own error.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Context, Delivery, Dispatcher, Error, Listener, Message, SyncContext, SyncError, Text};
    /// /// Answers in the sender's thread when it can; refuses what it cannot.
    /// struct Now;
    /// impl Listener for Now {
    ///     fn deliver(&self, d: Delivery, _: &mut Context<'_>) {
    ///         drop(d);
    ///     }
    ///     fn deliver_sync(&self, m: Message, _: &SyncContext<'_>) -> Result<Option<Message>, Error> {
    ///         match m.content_as::<Text>() {
    ///             Some(t) if t.0 == "time?" => Ok(Some(Message::reply_to(m.envelope(), Arc::new(Text::from("now")), None))),
    ///             Some(_) => Ok(None), // handled, nothing to say
    ///             None => Err(Error::Sync(SyncError::NotSupported)),
    ///         }
    ///     }
    /// }
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("now", Arc::new(Now))?;
    /// let reply = dispatcher.send_sync(Message::new(Text::from("time?")).to("now"))?;
    /// assert_eq!(reply.content_as::<Text>().unwrap().0, "now");
    /// # Ok(()) }
    /// ```
    fn deliver_sync(
        &self,
        message: Message,
        cx: &SyncContext<'_>,
    ) -> Result<Option<Message>, Error> {
        let _ = (message, cx);
        Err(Error::Sync(SyncError::NotSupported))
    }

    /// The listener's named queues, for introspection.
    ///
    /// ```
    /// use dispatchio_core::{Listener, RoutedListener};
    /// use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
    /// let player = RoutedListener::new(table, ());
    /// let names: Vec<String> = player.queues().iter().map(|q| q.name().to_owned()).collect();
    /// assert_eq!(names, ["inbox"]);
    /// ```
    fn queues(&self) -> Vec<Queue> {
        Vec::new()
    }

    /// How many messages each of its rules matched, by rule name in rule
    /// order, for introspection ([`Snapshot::rule_hits`](crate::Snapshot::rule_hits));
    /// empty for a listener that does not route by rules (the default).
    ///
    /// ```
    /// use dispatchio_core::{Listener, RoutedListener};
    /// use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
    /// let player = RoutedListener::new(table, ());
    /// assert_eq!(Listener::rule_hits(&player), [("all".into(), 0)]); // nothing routed yet
    /// ```
    fn rule_hits(&self) -> Vec<(SharedStr, u64)> {
        Vec::new()
    }

    /// Called once the listener will get no more messages (deregistered and
    /// drained, or shut down). Closes its queues by default.
    ///
    /// ```
    /// use dispatchio_core::{Listener, RoutedListener};
    /// use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
    /// let player = RoutedListener::new(table, ());
    /// player.close();
    /// assert!(player.queue("inbox").unwrap().is_closed());
    /// ```
    fn close(&self) {
        for q in self.queues() {
            q.close();
        }
    }
}

//! [`ListenerBuilder`]: a [`RoutedListener`] whose handlers are closures,
//! bound by name to the handler slots of its matcher's layout
//! ([`FnHandlers`]), checked when it is built.

use std::collections::HashMap;

use futures::future::BoxFuture;

use super::routed::{ForwardTarget, RoutedListener};
use crate::content::ContentType;
use crate::error::HandlerError;
use crate::id::SharedStr;
use crate::listener::{HandlerResult, Handlers, Hooks};
use crate::message::{Envelope, Message};
use crate::routing::{BuildError, Matcher};

type SyncFn = Box<dyn Fn(&Message) -> HandlerResult + Send + Sync>;
type AsyncFn = Box<dyn Fn(Message) -> BoxFuture<'static, HandlerResult> + Send + Sync>;

enum HandlerFn {
    Sync(SyncFn),
    Async(AsyncFn),
}

/// Handlers given as closures, by the names the routing table calls.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::{FnHandlers, Message, Reply, RoutedListener};
/// use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("ack")]).build()?;
/// let listener: RoutedListener<RoutingTable, FnHandlers> =
///     RoutedListener::builder(table).handler("ack", |_: &Message| Ok(Reply::Empty)).build()?;
/// let _handlers: &FnHandlers = listener.handlers();
/// # Ok(()) }
/// ```
pub struct FnHandlers {
    slots: Box<[HandlerFn]>,
}

impl Handlers for FnHandlers {
    fn call(&self, handler: usize, message: &Message) -> HandlerResult {
        match self.slots.get(handler) {
            Some(HandlerFn::Sync(f)) => f(message),
            _ => Err(crate::error::HandlerError::new(format!(
                "handler #{handler} is not a synchronous handler"
            ))),
        }
    }

    fn call_async(&self, handler: usize, message: Message) -> BoxFuture<'static, HandlerResult> {
        match self.slots.get(handler) {
            Some(HandlerFn::Async(f)) => f(message),
            _ => Box::pin(std::future::ready(Err(crate::error::HandlerError::new(format!(
                "handler #{handler} is not an asynchronous handler"
            ))))),
        }
    }
}

/// Builds a [`RoutedListener`] whose handlers are closures.
///
/// ```
/// use dispatchio_core::{Message, Reply, RoutedListener, Text};
/// use dispatchio_core::routing::{Action, Cond, RoutingTable};
///
/// let table = RoutingTable::builder()
///     .rule("hello", Cond::type_is("Text"), [Action::call("greet")])
///     .otherwise([Action::queue("inbox")])
///     .build()?;
/// let listener = RoutedListener::builder(table)
///     .handler("greet", |m: &Message| Ok(Reply::with(Text(format!("hello, {}", m.content_as::<Text>().unwrap().0)))))
///     .build()?;
/// assert!(listener.queue("inbox").is_ok()); // `otherwise` queues what `hello` does not take
/// # Ok::<(), dispatchio_core::routing::BuildError>(())
/// ```
pub struct ListenerBuilder<M, K> {
    matcher: M,
    handlers: HashMap<SharedStr, HandlerFn>,
    forwards: Vec<(SharedStr, ForwardTarget)>,
    hooks: K,
}

impl<M: Matcher, K: Hooks> ListenerBuilder<M, K> {
    /// A builder over `matcher` with no handlers or forwards yet
    /// ([`RoutedListener::builder`] starts one).
    pub(super) fn new(matcher: M, hooks: K) -> ListenerBuilder<M, K> {
        ListenerBuilder { matcher, handlers: HashMap::new(), forwards: Vec::new(), hooks }
    }

    /// Provides synchronous handler `name`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Dispatcher, Message, Reply, RoutedListener, Text};
    /// use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("count")]).build()?;
    /// let counter = RoutedListener::builder(table)
    ///     .handler("count", |m: &Message| Ok(Reply::with(Text(m.content_as::<Text>().unwrap().0.len().to_string()))))
    ///     .build()?;
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("counter", Arc::new(counter))?;
    /// let reply = dispatcher.request_as::<Text>(Message::new(Text::from("four")).to("counter"), None).await?;
    /// assert_eq!(reply.0, "4");
    /// # Ok(()) }
    /// ```
    pub fn handler(
        mut self,
        name: impl Into<SharedStr>,
        f: impl Fn(&Message) -> HandlerResult + Send + Sync + 'static,
    ) -> ListenerBuilder<M, K> {
        self.handlers.insert(name.into(), HandlerFn::Sync(Box::new(f)));
        self
    }

    /// Provides asynchronous handler `name`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Dispatcher, Message, Reply, RoutedListener, Text};
    /// use dispatchio_core::routing::{Action, BuildError, Cond, RoutingTable};
    /// let table = || RoutingTable::builder().rule("all", Cond::Always, [Action::call_async("fetch")]).build();
    /// let fetcher = RoutedListener::builder(table()?)
    ///     .async_handler("fetch", |m: Message| async move {
    ///         tokio::task::yield_now().await; // any async work
    ///         Ok(Reply::Content(m.content().clone()))
    ///     })
    ///     .build()?;
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("fetcher", Arc::new(fetcher))?;
    /// let reply = dispatcher.request_as::<Text>(Message::new(Text::from("page")).to("fetcher"), None).await?;
    /// assert_eq!(reply.0, "page");
    /// // Declared `call async`: a synchronous handler does not fit.
    /// let wrong = RoutedListener::builder(table()?).handler("fetch", |_: &Message| Ok(Reply::Empty)).build();
    /// assert!(matches!(wrong, Err(BuildError::HandlerKindMismatch { .. })));
    /// # Ok(()) }
    /// ```
    pub fn async_handler<F, Fut>(
        mut self,
        name: impl Into<SharedStr>,
        f: F,
    ) -> ListenerBuilder<M, K>
    where
        F: Fn(Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        self.handlers.insert(name.into(), HandlerFn::Async(Box::new(move |m| Box::pin(f(m)))));
        self
    }

    /// Provides synchronous handler `name` taking typed content: `f` gets
    /// the envelope and the content as a `T`, as a compiled listener's
    /// handler does (and the interpreter's `typed_handler`). A message
    /// whose content is another type fails with a [`HandlerError`] naming
    /// the handler and both types (the table routed it wrongly), and `f`
    /// is not called.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Dispatcher, Envelope, ErrorKind, Message, Reply, RoutedListener, Text};
    /// use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("count")]).build()?;
    /// let counter = RoutedListener::builder(table)
    ///     .typed_handler("count", |_: &Envelope, t: &Text| Ok(Reply::with(Text(t.0.len().to_string()))))
    ///     .build()?;
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("counter", Arc::new(counter))?;
    /// let reply = dispatcher.request_as::<Text>(Message::new(Text::from("four")).to("counter"), None).await?;
    /// assert_eq!(reply.0, "4");
    /// let wrong = dispatcher.request(Message::new(dispatchio_core::Empty).to("counter"), None).await;
    /// assert_eq!(wrong.unwrap_err().kind(), ErrorKind::Handler); // not a `Text`: `f` not called
    /// # Ok(()) }
    /// ```
    pub fn typed_handler<T, F>(self, name: impl Into<SharedStr>, f: F) -> ListenerBuilder<M, K>
    where
        T: ContentType,
        F: Fn(&Envelope, &T) -> HandlerResult + Send + Sync + 'static,
    {
        let name = name.into();
        let handler = name.clone();
        self.handler(name, move |m: &Message| f(m.envelope(), typed::<T>(&handler, m)?))
    }

    /// Provides asynchronous handler `name` taking typed content: `f` gets
    /// the envelope and the content as a `T` and returns the future that
    /// handles it; another type fails as for
    /// [`typed_handler`](ListenerBuilder::typed_handler).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Dispatcher, Envelope, Message, Reply, RoutedListener, Text};
    /// use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call_async("shout")]).build()?;
    /// let shouter = RoutedListener::builder(table)
    ///     .typed_async_handler("shout", |_: &Envelope, t: &Text| {
    ///         let loud = t.0.to_uppercase(); // what the future needs, taken from the borrow
    ///         async move { Ok(Reply::with(Text(loud))) }
    ///     })
    ///     .build()?;
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("shouter", Arc::new(shouter))?;
    /// let reply = dispatcher.request_as::<Text>(Message::new(Text::from("hi")).to("shouter"), None).await?;
    /// assert_eq!(reply.0, "HI");
    /// # Ok(()) }
    /// ```
    pub fn typed_async_handler<T, F, Fut>(
        mut self,
        name: impl Into<SharedStr>,
        f: F,
    ) -> ListenerBuilder<M, K>
    where
        T: ContentType,
        F: Fn(&Envelope, &T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        let name = name.into();
        let handler = name.clone();
        self.handlers.insert(
            name,
            HandlerFn::Async(Box::new(move |m: Message| match typed::<T>(&handler, &m) {
                Ok(t) => Box::pin(f(m.envelope(), t)),
                Err(e) => Box::pin(std::future::ready(Err(e))),
            })),
        );
        self
    }

    /// Binds forward target `name`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Dispatcher, Message, RoutedListener, Text};
    /// use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// let inner = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build()?;
    /// let back = Arc::new(RoutedListener::new(inner, ()));
    /// let outer = RoutingTable::builder().rule("all", Cond::Always, [Action::forward("back")]).build()?;
    /// let front = RoutedListener::builder(outer).forward("back", back.clone()).build()?;
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("front", Arc::new(front))?; // only the front is registered
    /// dispatcher.send(Message::new(Text::from("hi")).to("front"))?;
    /// assert!(back.queue("inbox")?.recv().await.is_some()); // chained
    /// # Ok(()) }
    /// ```
    pub fn forward(
        mut self,
        name: impl Into<SharedStr>,
        target: impl Into<ForwardTarget>,
    ) -> ListenerBuilder<M, K> {
        self.forwards.push((name.into(), target.into()));
        self
    }

    /// Uses `hooks` as pre- and post-filters.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Hooks, Message, RoutedListener};
    /// use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// struct TextOnly;
    /// impl Hooks for TextOnly {
    ///     fn pre_filter(&self, m: Message) -> Option<Message> { (m.ty() == "Text").then_some(m) }
    /// }
    /// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build()?;
    /// let listener: RoutedListener<_, _, TextOnly> = RoutedListener::builder(table).hooks(TextOnly).build()?;
    /// assert!(listener.queue("inbox").is_ok());
    /// # Ok(()) }
    /// ```
    ///
    /// The example of [`Hooks`] shows the hooks at work.
    pub fn hooks<K2: Hooks>(self, hooks: K2) -> ListenerBuilder<M, K2> {
        ListenerBuilder {
            matcher: self.matcher,
            handlers: self.handlers,
            forwards: self.forwards,
            hooks,
        }
    }

    /// Checks that every handler the table calls is provided, with the kind
    /// it is called with, and that nothing else is.
    ///
    /// # Errors
    ///
    /// [`BuildError::MissingHandler`], [`BuildError::UnknownHandler`],
    /// [`BuildError::HandlerKindMismatch`], [`BuildError::UnknownForward`]
    /// or [`BuildError::ForwardAlreadyBound`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Message, Reply, RoutedListener};
    /// use dispatchio_core::routing::{Action, BuildError, Cond, RoutingTable};
    /// let table = || RoutingTable::builder().rule("all", Cond::Always, [Action::call("ack")]).build();
    /// let ack = |_: &Message| Ok(Reply::Empty);
    /// assert!(RoutedListener::builder(table()?).handler("ack", ack).build().is_ok());
    /// let extra = RoutedListener::builder(table()?).handler("ack", ack).handler("nack", ack).build();
    /// assert_eq!(extra.err(), Some(BuildError::UnknownHandler("nack".into())));
    /// # Ok(()) }
    /// ```
    pub fn build(mut self) -> Result<RoutedListener<M, FnHandlers, K>, BuildError> {
        let layout = self.matcher.layout();
        let mut slots = Vec::with_capacity(layout.handlers.len());
        for slot in &layout.handlers {
            let f = self
                .handlers
                .remove(&slot.name)
                .ok_or_else(|| BuildError::MissingHandler(slot.name.to_string()))?;
            let provided_async = matches!(f, HandlerFn::Async(_));
            if provided_async != slot.is_async {
                let kind = |a: bool| if a { "async" } else { "sync" };
                return Err(BuildError::HandlerKindMismatch {
                    name: slot.name.to_string(),
                    declared: kind(slot.is_async),
                    provided: kind(provided_async),
                });
            }
            slots.push(f);
        }
        if let Some(name) = self.handlers.keys().next() {
            return Err(BuildError::UnknownHandler(name.to_string()));
        }
        let listener = RoutedListener::with_hooks(
            self.matcher,
            FnHandlers { slots: slots.into() },
            self.hooks,
        );
        for (name, target) in self.forwards {
            listener.bind_forward(&name, target)?;
        }
        Ok(listener)
    }
}

/// `m`'s content as the `T` that handler `handler` takes, or the error that
/// says it is not one.
fn typed<'m, T: ContentType>(handler: &str, m: &'m Message) -> Result<&'m T, HandlerError> {
    m.content_as::<T>().ok_or_else(|| {
        HandlerError::new(format!(
            "handler `{handler}` takes `{}` content; the message holds `{}`",
            T::TYPE_NAME,
            m.ty()
        ))
    })
}

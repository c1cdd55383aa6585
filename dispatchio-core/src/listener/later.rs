//! A reply a handler promises now and gives later, through a token it can
//! move anywhere: [`Reply::later`].
//!
//! The token and the promise share one slot. Whichever comes first waits
//! there for the other: the answer (a token answered before its handler
//! even returned) or the request's reply slot (the listener's executor
//! binds it when the handler returns the promise). So an answer is never
//! lost to that race, and a token dropped unanswered is reported to the
//! sender, who would otherwise wait until its timeout, or forever.

use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;

use super::Reply;
use crate::content::{ContentRef, ContentType};
use crate::dispatcher::Dispatcher;
use crate::error::{Error, HandlerError};
use crate::id::{Id, SharedStr};
use crate::message::{Envelope, Message};
use crate::reply::ReplySender;

/// The answer a handler promised with [`Reply::later`]: a token that
/// answers its request exactly once, from wherever it was moved to (another
/// task, a thread, a later message's handler).
///
/// Dropped unanswered, it answers the request with [`Error::Handler`]
/// ("dropped its deferred reply unanswered"), so its sender never waits for
/// an answer that cannot come; where nobody waits for one (a one-way
/// message), that is logged and counted as a handler error.
///
/// ```
/// # use std::sync::Arc;
/// # use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// # use dispatchio_core::{Dispatcher, Message, Reply, RoutedListener, Text};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (tokens, mut waiting) = tokio::sync::mpsc::unbounded_channel();
/// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("ask")]).build()?;
/// let listener = RoutedListener::builder(table)
///     .handler("ask", move |_: &Message| {
///         let (reply, later) = Reply::later();
///         let _ = tokens.send(later); // answered by someone else, later
///         Ok(reply)
///     })
///     .build()?;
/// let d = Dispatcher::new();
/// d.register("oracle", Arc::new(listener))?;
/// let asking = tokio::spawn({
///     let d = d.clone();
///     async move { d.request_as::<Text>(Message::new(Text::from("?")).to("oracle"), None).await }
/// });
/// let later = waiting.recv().await.expect("the handler ran");
/// later.reply_with(Text::from("42"));
/// assert_eq!(asking.await??.0, "42");
/// # Ok(())
/// # }
/// ```
pub struct Deferred {
    slot: Arc<Mutex<State>>,
}

/// The promise a [`Reply::Later`] carries back to the listener's executor,
/// which binds the request's reply slot to it. Made only by
/// [`Reply::later`], with its [`Deferred`] token.
///
/// ```
/// # fn oracle() -> (std::sync::Arc<dyn dispatchio_core::Listener>, tokio::sync::mpsc::UnboundedReceiver<dispatchio_core::Deferred>) {
/// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// #     let (tokens, waiting) = tokio::sync::mpsc::unbounded_channel();
/// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("ask")]).build().unwrap();
/// #     let l = dispatchio_core::RoutedListener::builder(table)
/// #         .handler("ask", move |_: &dispatchio_core::Message| {
/// #             let (reply, later) = dispatchio_core::Reply::later();
/// #             let _ = tokens.send(later);
/// #             Ok(reply)
/// #         })
/// #         .build().unwrap();
/// #     (std::sync::Arc::new(l), waiting)
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::{Dispatcher, Error, Message, Text};
/// let dispatcher = Dispatcher::new();
/// let (oracle, mut tokens) = oracle(); // its handler sends each `Deferred` here
/// dispatcher.register("oracle", oracle)?;
/// let d = dispatcher.clone();
/// let asking = tokio::spawn(async move { d.request(Message::new(Text::from("?")).to("oracle"), None).await });
/// let later = tokens.recv().await.unwrap();
/// drop(later); // the promise can never be kept: the sender is told
/// let err = asking.await?.unwrap_err();
/// assert!(matches!(err, Error::Handler { error, .. } if error.message().contains("unanswered")));
/// # Ok(()) }
/// ```
pub struct Promise {
    slot: Arc<Mutex<State>>,
}

/// Where the reply goes, once the executor has bound it.
pub(crate) struct Binding {
    pub(crate) reply: ReplySender,
    pub(crate) request: Envelope,
    pub(crate) me: Option<Id>,
    pub(crate) handler: SharedStr,
    pub(crate) dispatcher: Dispatcher,
}

enum State {
    /// Neither the answer nor the reply slot has come.
    Open,
    /// The token answered before the executor bound the reply slot.
    Answered(Result<ContentRef, HandlerError>),
    /// The reply slot waits for the token's answer.
    Bound(Binding),
    /// The token was dropped unanswered before the slot was bound.
    Dropped,
    /// Answered and handed over, or the promise was never returned: nothing
    /// more to do.
    Done,
}

impl Reply {
    /// A reply given later: return the [`Reply`] from the handler and keep
    /// (or move anywhere) the [`Deferred`] token, which answers the request
    /// exactly once. Unlike [`Reply::Defer`], nothing is keyed by message
    /// ID: every subscriber of a group request can defer its own answer.
    ///
    /// ```
    /// use dispatchio_core::Reply;
    /// let (reply, later) = Reply::later();
    /// assert!(matches!(reply, Reply::Later(_))); // what the handler returns
    /// later.reply_with(dispatchio_core::Empty); // nobody waits for this one: ignored
    /// ```
    pub fn later() -> (Reply, Deferred) {
        let slot = Arc::new(Mutex::new(State::Open));
        (Reply::Later(Promise { slot: slot.clone() }), Deferred { slot })
    }
}

impl Deferred {
    /// Answers the request with `answer`: content, or the handler's error.
    ///
    /// ```
    /// # fn oracle() -> (std::sync::Arc<dyn dispatchio_core::Listener>, tokio::sync::mpsc::UnboundedReceiver<dispatchio_core::Deferred>) {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     let (tokens, waiting) = tokio::sync::mpsc::unbounded_channel();
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("ask")]).build().unwrap();
    /// #     let l = dispatchio_core::RoutedListener::builder(table)
    /// #         .handler("ask", move |_: &dispatchio_core::Message| {
    /// #             let (reply, later) = dispatchio_core::Reply::later();
    /// #             let _ = tokens.send(later);
    /// #             Ok(reply)
    /// #         })
    /// #         .build().unwrap();
    /// #     (std::sync::Arc::new(l), waiting)
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// let (oracle, mut tokens) = oracle(); // its handler sends each `Deferred` here
    /// dispatcher.register("oracle", oracle)?;
    /// let d = dispatcher.clone();
    /// let asking = tokio::spawn(async move { d.request(Message::new(Text::from("?")).to("oracle"), None).await });
    /// let later = tokens.recv().await.unwrap();
    /// later.reply(Ok(Arc::new(Text::from("42"))));
    /// assert_eq!(asking.await??.content_as::<Text>().unwrap().0, "42");
    /// # Ok(()) }
    /// ```
    pub fn reply(self, answer: Result<ContentRef, HandlerError>) {
        let mut state = self.slot.lock();
        match std::mem::replace(&mut *state, State::Done) {
            State::Open => *state = State::Answered(answer),
            State::Bound(binding) => {
                drop(state);
                binding.answer(answer);
            }
            // The promise was dropped (or the handler failed the request
            // another way): nobody waits for this answer.
            State::Done => {}
            State::Answered(_) | State::Dropped => unreachable!("a token answers once"),
        }
    }

    /// [`reply`](Self::reply) with typed content.
    ///
    /// ```
    /// # fn oracle() -> (std::sync::Arc<dyn dispatchio_core::Listener>, tokio::sync::mpsc::UnboundedReceiver<dispatchio_core::Deferred>) {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     let (tokens, waiting) = tokio::sync::mpsc::unbounded_channel();
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("ask")]).build().unwrap();
    /// #     let l = dispatchio_core::RoutedListener::builder(table)
    /// #         .handler("ask", move |_: &dispatchio_core::Message| {
    /// #             let (reply, later) = dispatchio_core::Reply::later();
    /// #             let _ = tokens.send(later);
    /// #             Ok(reply)
    /// #         })
    /// #         .build().unwrap();
    /// #     (std::sync::Arc::new(l), waiting)
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// let (oracle, mut tokens) = oracle(); // its handler sends each `Deferred` here
    /// dispatcher.register("oracle", oracle)?;
    /// let d = dispatcher.clone();
    /// let asking = tokio::spawn(async move { d.request(Message::new(Text::from("?")).to("oracle"), None).await });
    /// let later = tokens.recv().await.unwrap();
    /// later.reply_with(Text::from("42"));
    /// assert_eq!(asking.await??.content_as::<Text>().unwrap().0, "42");
    /// # Ok(()) }
    /// ```
    pub fn reply_with<T: ContentType>(self, content: T) {
        self.reply(Ok(Arc::new(content)));
    }

    /// [`reply`](Self::reply) with the handler's error.
    ///
    /// ```
    /// # fn oracle() -> (std::sync::Arc<dyn dispatchio_core::Listener>, tokio::sync::mpsc::UnboundedReceiver<dispatchio_core::Deferred>) {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     let (tokens, waiting) = tokio::sync::mpsc::unbounded_channel();
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("ask")]).build().unwrap();
    /// #     let l = dispatchio_core::RoutedListener::builder(table)
    /// #         .handler("ask", move |_: &dispatchio_core::Message| {
    /// #             let (reply, later) = dispatchio_core::Reply::later();
    /// #             let _ = tokens.send(later);
    /// #             Ok(reply)
    /// #         })
    /// #         .build().unwrap();
    /// #     (std::sync::Arc::new(l), waiting)
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Error, HandlerError, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// let (oracle, mut tokens) = oracle(); // its handler sends each `Deferred` here
    /// dispatcher.register("oracle", oracle)?;
    /// let d = dispatcher.clone();
    /// let asking = tokio::spawn(async move { d.request(Message::new(Text::from("?")).to("oracle"), None).await });
    /// let later = tokens.recv().await.unwrap();
    /// later.fail(HandlerError::new("the oracle is silent"));
    /// let err = asking.await?.unwrap_err();
    /// assert!(matches!(err, Error::Handler { error, .. } if error.message() == "the oracle is silent"));
    /// # Ok(()) }
    /// ```
    pub fn fail(self, error: HandlerError) {
        self.reply(Err(error));
    }
}

impl Drop for Deferred {
    fn drop(&mut self) {
        let mut state = self.slot.lock();
        match std::mem::replace(&mut *state, State::Done) {
            State::Open => *state = State::Dropped,
            State::Bound(binding) => {
                drop(state);
                binding.answer(Err(unanswered()));
            }
            // Answered (through `reply`, which consumed the token) or the
            // promise is gone: nothing waits.
            other => *state = other,
        }
    }
}

impl Promise {
    /// Binds the request's reply slot: the answer is given now if the token
    /// already gave it (or was dropped), or when it does.
    pub(crate) fn bind(self, binding: Binding) {
        let mut state = self.slot.lock();
        match std::mem::replace(&mut *state, State::Done) {
            State::Open => *state = State::Bound(binding),
            State::Answered(answer) => {
                drop(state);
                binding.answer(answer);
            }
            State::Dropped => {
                drop(state);
                binding.answer(Err(unanswered()));
            }
            State::Bound(_) | State::Done => unreachable!("a promise is bound once"),
        }
    }
}

impl Drop for Promise {
    fn drop(&mut self) {
        // Not bound (a bound promise left `Bound`, `Done` or the answer's
        // delivery behind): the handler's reply went elsewhere, and the
        // token's answer goes nowhere.
        let mut state = self.slot.lock();
        if matches!(*state, State::Open | State::Answered(_) | State::Dropped) {
            *state = State::Done;
        }
    }
}

impl Binding {
    /// Hands `answer` to the request's reply slot.
    fn answer(self, answer: Result<ContentRef, HandlerError>) {
        let Binding { reply, request, me, handler, dispatcher } = self;
        match answer {
            Ok(_) if reply.is_unwanted() => drop(reply),
            Ok(content) => reply.send(Ok(Message::reply_to(&request, content, me))),
            Err(error) if reply.is_wanted() => {
                reply.send(Err(Error::Handler { handler: handler.to_string(), error }));
            }
            Err(error) => dispatcher.note_handler_error(request.id, &handler, &error),
        }
    }
}

fn unanswered() -> HandlerError {
    HandlerError::new("dropped its deferred reply unanswered")
}

impl fmt::Debug for Deferred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deferred").finish_non_exhaustive()
    }
}

impl fmt::Debug for Promise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Promise").finish_non_exhaustive()
    }
}

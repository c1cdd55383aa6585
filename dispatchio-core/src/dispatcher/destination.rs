//! [`Destination`]: a destination resolved once, for a sender that sends
//! to it again and again.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::mailbox::Mailbox;
use super::{Dispatcher, Route};
use crate::content::ContentType;
use crate::error::Error;
use crate::id::{Id, MessageId};
use crate::message::{InvalidMessage, Message, Typed};
use crate::reply::{Delivery, ReplySender};

/// A handle that sends to one destination, resolved when it was made
/// ([`Dispatcher::destination`]): a send through it takes the listener's
/// mailbox from the handle instead of looking the destination up in the
/// directory (its lock and hash), which is most of what a one-way send
/// costs the sender besides the hand-off itself.
///
/// The guarantees are those of [`Dispatcher::send`] and
/// [`Dispatcher::request`], which the handle's methods are:
///
/// * per-sender order holds (the handle hands messages to the one mailbox
///   of the destination, as `send` does);
/// * once the destination is deregistered, a send through the handle fails
///   as `send` would: [`Error::UnknownDestination`] (or reaches whatever
///   serves the ID by then: another listener registered under it, a
///   remote link). The handle holds the mailbox weakly, so it keeps no
///   deregistered listener alive;
/// * a full bounded mailbox refuses with [`Error::MailboxFull`]; after
///   [`shutdown`](Dispatcher::shutdown), every send fails with
///   [`Error::Shutdown`].
///
/// A destination served in another process, or re-registered since the
/// handle was made, is looked up on every send, exactly as by
/// `Dispatcher::send` (make a new handle to resolve it again).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use dispatchio_core::{Dispatcher, Message, RoutedListener, Text};
/// use dispatchio_core::routing::{Action, Cond, RoutingTable};
///
/// let dispatcher = Dispatcher::new();
/// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build()?;
/// let player = Arc::new(RoutedListener::builder(table).build()?);
/// dispatcher.register("player", player.clone())?;
///
/// let to_player = dispatcher.destination("player")?;
/// for word in ["one", "two", "three"] {
///     to_player.send(Message::new(Text::from(word)))?; // addressed by the handle
/// }
/// let inbox = player.queue("inbox").unwrap();
/// assert_eq!(inbox.recv().await.unwrap().content_as::<Text>().unwrap().0, "one");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Destination {
    dispatcher: Dispatcher,
    dest: Id,
    /// The source stamped on messages that name none (a handle made by
    /// [`Source::destination`](super::Source::destination)).
    source: Option<Id>,
    /// The local mailbox that served `dest` when the handle was made;
    /// empty when a transport serves it.
    mailbox: Weak<Mailbox>,
}

impl Dispatcher {
    /// A handle for sending to `dest` again and again, resolved once (see
    /// [`Destination`]).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownDestination`] when nothing serves `dest` now (no
    /// local listener, no remote route, no fallback link);
    /// [`Error::Shutdown`].
    ///
    /// # Examples
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
    /// use dispatchio_core::{Dispatcher, Error, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// assert!(matches!(dispatcher.destination("echo"), Err(Error::UnknownDestination(_))));
    /// dispatcher.register("echo", echo())?;
    /// let to_echo = dispatcher.destination("echo")?;
    /// let reply = to_echo.request(Message::new(Text::from("ping")), None).await?;
    /// assert_eq!(reply.content_as::<Text>().unwrap().0, "ping");
    /// # Ok(()) }
    /// ```
    pub fn destination(&self, dest: impl Into<Id>) -> Result<Destination, Error> {
        self.destination_from(dest.into(), None)
    }

    pub(super) fn destination_from(
        &self,
        dest: Id,
        source: Option<Id>,
    ) -> Result<Destination, Error> {
        self.check_open()?;
        let mailbox = match self.route_of(&dest).or_else(|| self.fallback()) {
            Some(Route::Local(mb)) => Arc::downgrade(&mb),
            Some(Route::Remote(_)) => Weak::new(),
            None => return Err(Error::UnknownDestination(dest)),
        };
        Ok(Destination { dispatcher: self.clone(), dest, source, mailbox })
    }
}

impl Destination {
    /// The destination ID.
    ///
    /// The getters [`id`](Self::id) and [`dispatcher`](Self::dispatcher) together:
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
    /// use dispatchio_core::{Dispatcher, Id};
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("echo", echo())?;
    /// let to_echo = dispatcher.destination("echo")?;
    /// assert_eq!(to_echo.id(), &Id::from("echo"));
    /// assert!(to_echo.dispatcher().same(&dispatcher));
    /// # Ok(()) }
    /// ```
    pub fn id(&self) -> &Id {
        &self.dest
    }

    /// The dispatcher it sends through.
    ///
    /// ```
    /// # fn inbox() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("player", inbox())?;
    /// let to_player = dispatcher.destination("player")?;
    /// assert!(to_player.dispatcher().same(&dispatcher));
    /// to_player.dispatcher().shutdown().await; // the handle's dispatcher is `dispatcher`
    /// assert!(to_player.send(Message::new(Text::from("hi"))).is_err());
    /// # Ok(()) }
    /// ```
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// [`Dispatcher::send`] to this destination: the message is addressed
    /// to it (it may name no destination, or this one).
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::send`], and [`InvalidMessage::OtherDestination`]
    /// for a message that names another destination (or a group).
    ///
    /// # Examples
    ///
    /// ```
    /// # type Inbox = dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>;
    /// # fn inbox() -> std::sync::Arc<Inbox> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Error, InvalidMessage, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// let player = inbox();
    /// dispatcher.register("player", player.clone())?;
    /// let to_player = dispatcher.destination("player")?;
    /// to_player.send(Message::new(Text::from("one")))?; // addressed by the handle
    /// to_player.send(Message::new(Text::from("two")).to("player"))?; // or to the same
    /// let err = to_player.send(Message::new(Text::from("three")).to("dealer")).unwrap_err();
    /// assert!(matches!(err, Error::Invalid(InvalidMessage::OtherDestination)));
    /// dispatcher.flush("player").await?;
    /// assert_eq!(player.queue("inbox")?.len(), 2);
    /// # Ok(()) }
    /// ```
    pub fn send(&self, mut msg: Message) -> Result<MessageId, Error> {
        self.address(&mut msg)?;
        let Some(mb) = self.live_mailbox().filter(|_| !msg.envelope().sync) else {
            return self.dispatcher.send(msg);
        };
        let d = &self.dispatcher;
        let id = d.prepare(&mut msg)?;
        tracing::trace!(id = %id, ty = %msg.ty(), "send");
        match mb.offer(Delivery { message: msg, reply: ReplySender::unwanted() }) {
            Ok(()) => Ok(id),
            Err((why, _)) => Err(d.refused(&mb, why)),
        }
    }

    /// [`Dispatcher::request`] to this destination, addressed as by
    /// [`send`](Self::send).
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::request`], and [`InvalidMessage::OtherDestination`].
    ///
    /// # Examples
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
    /// use std::time::Duration;
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("echo", echo())?;
    /// let to_echo = dispatcher.destination("echo")?;
    /// let reply = to_echo.request(Message::new(Text::from("ping")), Some(Duration::from_secs(1))).await?;
    /// assert_eq!(reply.content_as::<Text>().unwrap().0, "ping");
    /// # Ok(()) }
    /// ```
    pub async fn request(
        &self,
        mut msg: Message,
        timeout: Option<Duration>,
    ) -> Result<Message, Error> {
        self.address(&mut msg)?;
        let route = self.live_mailbox().map(Route::Local);
        self.dispatcher.request_on(msg, timeout, route).await
    }

    /// [`Dispatcher::request_as`] to this destination: the reply typed.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::request_as`], and [`InvalidMessage::OtherDestination`].
    ///
    /// # Examples
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
    /// use dispatchio_core::{Dispatcher, Empty, Error, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("echo", echo())?;
    /// let to_echo = dispatcher.destination("echo")?;
    /// assert_eq!(to_echo.request_as::<Text>(Message::new(Text::from("ping")), None).await?.0, "ping");
    /// let err = to_echo.request_as::<Empty>(Message::new(Text::from("ping")), None).await.unwrap_err();
    /// assert!(matches!(err, Error::UnexpectedReply { .. })); // the reply is a `Text`
    /// # Ok(()) }
    /// ```
    pub async fn request_as<T: ContentType>(
        &self,
        mut msg: Message,
        timeout: Option<Duration>,
    ) -> Result<Typed<T>, Error> {
        self.address(&mut msg)?;
        let route = self.live_mailbox().map(Route::Local);
        let reply = self.dispatcher.request_on(msg, timeout, route).await?;
        Dispatcher::typed(reply)
    }

    /// Addresses `msg` to this destination (and stamps the handle's source
    /// on it when it names none).
    fn address(&self, msg: &mut Message) -> Result<(), Error> {
        let env = msg.envelope_mut();
        match &env.dest {
            None if env.group.is_none() => env.dest = Some(self.dest.clone()),
            Some(d) if *d == self.dest => {}
            _ => return Err(InvalidMessage::OtherDestination.into()),
        }
        if env.source.is_none() {
            env.source.clone_from(&self.source);
        }
        Ok(())
    }

    /// The mailbox the handle resolved, while it still serves the
    /// destination.
    fn live_mailbox(&self) -> Option<Arc<Mailbox>> {
        self.mailbox.upgrade().filter(|mb| !mb.retired.load(Ordering::Acquire))
    }
}

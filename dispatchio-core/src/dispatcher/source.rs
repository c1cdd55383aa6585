//! Sources: the IDs senders put on their messages.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Destination, Dispatcher, GroupReplies};
use crate::content::ContentType;
use crate::error::Error;
use crate::id::{Id, MessageId};
use crate::message::{Message, Typed};

impl Dispatcher {
    /// A fresh, unique integer source ID (never one already registered).
    ///
    /// ```
    /// use dispatchio_core::Dispatcher;
    /// let dispatcher = Dispatcher::new();
    /// let (a, b) = (dispatcher.new_source(), dispatcher.new_source());
    /// assert_ne!(a.id(), b.id());
    /// assert!(a.id().as_int().is_some()); // an integer ID
    /// ```
    pub fn new_source(&self) -> Source {
        let mut sources = self.inner.sources.lock();
        loop {
            let id = Id::Int(self.inner.next_source.fetch_add(1, Ordering::Relaxed));
            if sources.insert(id.clone()) {
                return Source { id, dispatcher: self.clone() };
            }
        }
    }

    /// Registers a source ID chosen by the caller. Released when the returned
    /// [`Source`] is dropped.
    ///
    /// # Errors
    ///
    /// [`Error::SourceTaken`] when the ID is registered already.
    ///
    /// # Examples
    ///
    /// ```
    /// use dispatchio_core::{Dispatcher, Error};
    /// let dispatcher = Dispatcher::new();
    /// let dealer = dispatcher.register_source("dealer").unwrap();
    /// assert!(matches!(dispatcher.register_source("dealer"), Err(Error::SourceTaken(_))));
    /// drop(dealer); // releases the ID
    /// assert!(dispatcher.register_source("dealer").is_ok());
    /// ```
    pub fn register_source(&self, id: impl Into<Id>) -> Result<Source, Error> {
        let id = id.into();
        if self.inner.sources.lock().insert(id.clone()) {
            Ok(Source { id, dispatcher: self.clone() })
        } else {
            Err(Error::SourceTaken(id))
        }
    }
}

/// A client of the dispatcher with a registered source ID, which it puts on
/// every message it sends (unless the message names another source).
/// Dropping it releases the ID.
///
/// Its getters, [`id`](Self::id) and [`dispatcher`](Self::dispatcher), are
/// shown here; each sending method has its own example.
///
/// ```
/// # type Inbox = dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>;
/// # fn inbox() -> std::sync::Arc<Inbox> {
/// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
/// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::{Dispatcher, Id, Message, Text};
/// let dispatcher = Dispatcher::new();
/// let player = inbox();
/// dispatcher.register("player", player.clone())?;
/// let dealer = dispatcher.register_source("dealer")?;
/// assert_eq!(dealer.id(), &Id::from("dealer"));
/// assert!(dealer.dispatcher().same(&dispatcher));
/// dealer.send(Message::new(Text::from("deal")).to("player"))?;
/// let got = player.queue("inbox")?.recv().await.unwrap();
/// assert_eq!(got.envelope().source, Some(Id::from("dealer"))); // stamped
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Source {
    id: Id,
    dispatcher: Dispatcher,
}

impl Source {
    /// The source ID.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Id};
    /// let dispatcher = Dispatcher::new();
    /// let dealer = dispatcher.register_source("dealer")?;
    /// assert_eq!(dealer.id(), &Id::from("dealer"));
    /// let fresh = dispatcher.new_source(); // an ID the dispatcher chose
    /// assert_ne!(fresh.id(), dealer.id());
    /// # Ok(()) }
    /// ```
    pub fn id(&self) -> &Id {
        &self.id
    }

    /// The dispatcher.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// let dispatcher = Dispatcher::new();
    /// let dealer = dispatcher.register_source("dealer")?;
    /// assert!(dealer.dispatcher().same(&dispatcher));
    /// assert!(dealer.dispatcher().snapshot().sources.contains(dealer.id()));
    /// # Ok(()) }
    /// ```
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// [`Dispatcher::destination`] from this source: a handle to `dest`,
    /// resolved once, that puts this source on every message naming none.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::destination`].
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
    /// use dispatchio_core::{Dispatcher, Id, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// let player = inbox();
    /// dispatcher.register("player", player.clone())?;
    /// let dealer = dispatcher.register_source("dealer")?;
    /// let to_player = dealer.destination("player")?;
    /// to_player.send(Message::new(Text::from("deal")))?;
    /// let got = player.queue("inbox")?.recv().await.unwrap();
    /// assert_eq!(got.envelope().source, Some(Id::from("dealer")));
    /// # Ok(()) }
    /// ```
    pub fn destination(&self, dest: impl Into<Id>) -> Result<Destination, Error> {
        self.dispatcher.destination_from(dest.into(), Some(self.id.clone()))
    }

    fn stamp(&self, mut msg: Message) -> Message {
        let env = msg.envelope_mut();
        if env.source.is_none() {
            env.source = Some(self.id.clone());
        }
        msg
    }

    /// [`Dispatcher::send`] from this source.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::send`].
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
    /// use dispatchio_core::{Dispatcher, Id, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// let player = inbox();
    /// dispatcher.register("player", player.clone())?;
    /// let dealer = dispatcher.register_source("dealer")?;
    /// dealer.send(Message::new(Text::from("deal")).to("player"))?;
    /// dealer.send(Message::new(Text::from("pass")).to("player").from_source("judge"))?;
    /// let inbox = player.queue("inbox")?;
    /// assert_eq!(inbox.recv().await.unwrap().envelope().source, Some(Id::from("dealer")));
    /// assert_eq!(inbox.recv().await.unwrap().envelope().source, Some(Id::from("judge"))); // kept
    /// # Ok(()) }
    /// ```
    pub fn send(&self, msg: Message) -> Result<MessageId, Error> {
        self.dispatcher.send(self.stamp(msg))
    }

    /// [`Dispatcher::send_wait`] from this source.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::send_wait`].
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
    /// use dispatchio_core::{Dispatcher, Id, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// let player = inbox();
    /// dispatcher.register_bounded("player", player.clone(), 1)?;
    /// let dealer = dispatcher.register_source("dealer")?;
    /// dealer.send_wait(Message::new(Text::from("one")).to("player")).await?;
    /// dealer.send_wait(Message::new(Text::from("two")).to("player")).await?; // waits for room
    /// let inbox = player.queue("inbox")?;
    /// assert_eq!(inbox.recv().await.unwrap().envelope().source, Some(Id::from("dealer")));
    /// # Ok(()) }
    /// ```
    pub async fn send_wait(&self, msg: Message) -> Result<MessageId, Error> {
        self.dispatcher.send_wait(self.stamp(msg)).await
    }

    /// [`Dispatcher::request`] from this source.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::request`].
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
    /// use dispatchio_core::{Dispatcher, Id, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("echo", echo())?;
    /// let client = dispatcher.register_source("client")?;
    /// let reply = client.request(Message::new(Text::from("ping")).to("echo"), None).await?;
    /// assert_eq!(reply.envelope().dest, Some(Id::from("client"))); // the reply came back to it
    /// assert_eq!(reply.envelope().source, Some(Id::from("echo")));
    /// # Ok(()) }
    /// ```
    pub async fn request(&self, msg: Message, timeout: Option<Duration>) -> Result<Message, Error> {
        self.dispatcher.request(self.stamp(msg), timeout).await
    }

    /// [`Dispatcher::request_as`] from this source.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::request_as`].
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
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("echo", echo())?;
    /// let client = dispatcher.new_source();
    /// let reply = client.request_as::<Text>(Message::new(Text::from("ping")).to("echo"), None).await?;
    /// assert_eq!(reply.0, "ping");
    /// assert_eq!(reply.message().envelope().dest.as_ref(), Some(client.id()));
    /// # Ok(()) }
    /// ```
    pub async fn request_as<T: ContentType>(
        &self,
        msg: Message,
        timeout: Option<Duration>,
    ) -> Result<Typed<T>, Error> {
        self.dispatcher.request_as(self.stamp(msg), timeout).await
    }

    /// [`Dispatcher::request_group`] from this source.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::request_group`].
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
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// for player in ["a", "b"] {
    ///     dispatcher.register(player, echo())?;
    ///     dispatcher.subscribe(player, "Players")?;
    /// }
    /// let client = dispatcher.new_source();
    /// let replies = client.request_group(Message::new(Text::from("ready?")).to_group("Players"), None).await?;
    /// assert_eq!(replies.len(), 2);
    /// assert!(replies.iter().all(|(_, m)| m.envelope().dest.as_ref() == Some(client.id())));
    /// # Ok(()) }
    /// ```
    pub async fn request_group(
        &self,
        msg: Message,
        timeout: Option<Duration>,
    ) -> Result<GroupReplies, Error> {
        self.dispatcher.request_group(self.stamp(msg), timeout).await
    }

    /// [`Dispatcher::send_sync`] from this source.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::send_sync`].
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
    /// use dispatchio_core::{Dispatcher, Id, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("echo", echo())?;
    /// let client = dispatcher.register_source("client")?;
    /// let reply = client.send_sync(Message::new(Text::from("ping")).to("echo"))?;
    /// assert_eq!(reply.content_as::<Text>().unwrap().0, "ping");
    /// assert_eq!(reply.envelope().dest, Some(Id::from("client")));
    /// # Ok(()) }
    /// ```
    pub fn send_sync(&self, msg: Message) -> Result<Message, Error> {
        self.dispatcher.send_sync(self.stamp(msg))
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        self.dispatcher.inner.sources.lock().remove(&self.id);
    }
}

//! The seam for transports: how messages reach destinations in other
//! processes, and how messages from there reach this one.
//!
//! The dispatcher never knows about sockets or brokers. It looks every
//! destination up in one map whose entries are either a local listener's
//! mailbox or an [`Outlet`]: a transport's way out of this process (an outlet
//! to one peer process for the Unix/TCP transport of `dispatchio-net`, a
//! client of a whole cluster for a broker). A transport plugs in through
//! this module alone, and uses nothing of the dispatcher that another crate
//! could not:
//!
//! * **Attach.** [`Dispatcher::attach`] hands the transport's [`Outlet`] to
//!   the dispatcher and returns an [`Attachment`], the transport's handle on
//!   what that outlet serves. Dropping it (or [`Attachment::detach`])
//!   removes everything the outlet was given.
//! * **Outgoing.** [`Attachment::claim`] says "destination X is served
//!   through this outlet", [`Attachment::join_group`] "group G has members
//!   behind it", [`Attachment::set_fallback`] "send here whatever nobody in
//!   this process serves" (a destination ID unknown here, a group with no
//!   member here: a broker-backed transport forwards it to the cluster and
//!   reports [`Error::UnknownDestination`] back when nobody answers). A
//!   message for X (or G) is handed to [`Outlet::send`] as a [`Delivery`]:
//!   the message and its [`ReplySender`](crate::ReplySender). When a reply is
//!   wanted, the outlet completes the `ReplySender` with the peer's answer
//!   (or an [`Error::Transport`] when it fails); if it drops it
//!   instead, the requester gets [`Error::NoReply`]. The outlet keeps
//!   per-sender order by sending one destination's messages over one
//!   ordered connection.
//! * **Incoming.** A message read from a peer is given to an [`Inlet`]
//!   ([`Dispatcher::inlet`]) with a
//!   [`ReplySender::callback`](crate::ReplySender::callback) that carries the
//!   reply back. Incoming messages go to local listeners only (never back
//!   out through an outlet), so two peers cannot bounce a message between
//!   them. An inlet remembers the last destination it delivered to, and
//!   delivers into an idle listener in the caller's task, so that a stream
//!   of messages read from one connection costs no lock and no hand-off per
//!   message.
//! * **Announcing.** A [`DirectoryWatch`] ([`Dispatcher::watch_directory`])
//!   tells what this process serves (its [`LocalDirectory`]: local
//!   listeners, groups with a local member) and, as it changes, each
//!   [`DirectoryChange`], for the transport to tell its peers.
//!   [`Dispatcher::served_by`] says who serves an ID now (for reporting a
//!   claim that was refused).
//! * **Content** crosses the boundary with [`Content::encode`](crate::Content::encode)
//!   and [`ContentRegistry::decode`](crate::ContentRegistry::decode).
//!
//! Synchronous sends to a remote destination fail with
//! [`SyncError::Remote`](crate::SyncError::Remote).

mod attachment;
mod directory;
mod inlet;

pub use attachment::Attachment;
pub use directory::{DirectoryChange, DirectoryWatch, LocalDirectory};
pub use inlet::Inlet;

pub use crate::dispatcher::route::Outlet;

use crate::dispatcher::{Dispatcher, Route};
use crate::id::Id;
#[cfg(doc)]
use crate::{Delivery, Error};

/// Who serves a destination ID (see [`Dispatcher::served_by`]).
///
/// ```
/// # fn inbox() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
/// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
/// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
/// # }
/// # use std::sync::Arc;
/// # use dispatchio_core::{Delivery, Dispatcher, Error, TransportError, TransportErrorKind};
/// # use dispatchio_core::transport::{Attachment, Outlet};
/// # /// A tiny in-memory transport (see `Dispatcher::attach`).
/// # struct Loopback(tokio::sync::mpsc::UnboundedSender<Delivery>);
/// # impl Outlet for Loopback {
/// #     fn name(&self) -> &str { "loopback" }
/// #     fn send(&self, delivery: Delivery) -> Result<(), (Error, Delivery)> {
/// #         let closed = |d| (TransportError::new("loopback", TransportErrorKind::Closed, "closed").into(), d);
/// #         self.0.send(delivery).map_err(|refused| closed(refused.0))
/// #     }
/// # }
/// # fn connect(near: &Dispatcher, far: &Dispatcher) -> Attachment {
/// #     let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Delivery>();
/// #     let mut inlet = far.inlet();
/// #     tokio::spawn(async move {
/// #         while let Some(d) = rx.recv().await {
/// #             let _ = inlet.deliver(d.message, d.reply); // an error also goes back through d.reply
/// #         }
/// #     });
/// #     near.attach(Arc::new(Loopback(tx)))
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::Id;
/// use dispatchio_core::transport::ServedBy;
/// let (near, far) = (Dispatcher::new(), Dispatcher::new());
/// near.register("bob", inbox())?;
/// let link = connect(&near, &far);
/// link.claim("ann")?;
/// assert_eq!(near.served_by(&Id::from("bob")), Some(ServedBy::Local));
/// assert_eq!(near.served_by(&Id::from("ann")), Some(ServedBy::Outlet("loopback".into())));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServedBy {
    /// A listener registered in this process.
    Local,
    /// An outlet, by its [`name`](Outlet::name).
    Outlet(String),
}

impl Dispatcher {
    /// Attaches a transport's outlet: the returned [`Attachment`] claims
    /// destinations and groups for it, and removes them all when dropped.
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Delivery, Dispatcher, Error, Message, Text, TransportError, TransportErrorKind};
    /// use dispatchio_core::transport::Outlet;
    ///
    /// /// A tiny in-memory transport: queues what it is given (an outlet must not
    /// /// block) for a task that delivers it into another dispatcher's inlet.
    /// struct Loopback(tokio::sync::mpsc::UnboundedSender<Delivery>);
    /// impl Outlet for Loopback {
    ///     fn name(&self) -> &str {
    ///         "loopback"
    ///     }
    ///     fn send(&self, delivery: Delivery) -> Result<(), (Error, Delivery)> {
    ///         let closed = |d| (TransportError::new("loopback", TransportErrorKind::Closed, "closed").into(), d);
    ///         self.0.send(delivery).map_err(|refused| closed(refused.0))
    ///     }
    /// }
    ///
    /// let (near, far) = (Dispatcher::new(), Dispatcher::new());
    /// far.register("echo", echo())?;
    /// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Delivery>();
    /// let mut inlet = far.inlet();
    /// tokio::spawn(async move {
    ///     while let Some(d) = rx.recv().await {
    ///         let _ = inlet.deliver(d.message, d.reply); // an error also goes back through d.reply
    ///     }
    /// });
    /// let link = near.attach(Arc::new(Loopback(tx)));
    /// link.claim("echo")?; // `far` serves it: `near` sends it over the loopback
    /// let reply = near.request_as::<Text>(Message::new(Text::from("hi")).to("echo"), None).await?;
    /// assert_eq!(reply.0, "hi");
    /// drop(link); // detached: `near` knows "echo" no more
    /// assert!(matches!(near.send(Message::new(Text::from("hi")).to("echo")), Err(Error::UnknownDestination(_))));
    /// # Ok(()) }
    /// ```
    pub fn attach(&self, outlet: std::sync::Arc<dyn Outlet>) -> Attachment {
        Attachment::new(self.clone(), outlet)
    }

    /// An [`Inlet`] for messages that arrived from another process: it
    /// delivers them to local listeners.
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Error, Message, ReplySender, Text};
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("echo", echo())?;
    /// let mut inlet = dispatcher.inlet(); // one per connection reader
    /// // A request read from a connection; its reply goes back the way it came.
    /// let (tx, rx) = tokio::sync::oneshot::channel();
    /// let request = Message::new(Text::from("hi")).to("echo").with_id(7).requiring_response();
    /// inlet.deliver(request, ReplySender::callback(7.into(), move |answer| drop(tx.send(answer))))?;
    /// let answer = rx.await?; // what the transport writes back to the peer
    /// assert_eq!(answer?.content_as::<Text>().unwrap().0, "hi");
    /// let unknown = inlet.deliver(Message::new(Text::from("hi")).to("nobody"), ReplySender::unwanted());
    /// assert!(matches!(unknown, Err(Error::UnknownDestination(_))));
    /// # Ok(()) }
    /// ```
    pub fn inlet(&self) -> Inlet {
        Inlet::new(self.clone())
    }

    /// Watches what this process serves, for a transport to announce.
    ///
    /// ```
    /// # fn inbox() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Id};
    /// use dispatchio_core::transport::DirectoryChange;
    /// let dispatcher = Dispatcher::new();
    /// let mut watch = dispatcher.watch_directory();
    /// dispatcher.register("bob", inbox())?;
    /// dispatcher.subscribe("bob", "All")?;
    /// // What a transport announces to its peers:
    /// assert_eq!(
    ///     watch.changes(),
    ///     [DirectoryChange::Registered(Id::from("bob")), DirectoryChange::GroupJoined(Id::from("All"))]
    /// );
    /// assert!(watch.changes().is_empty()); // nothing new since
    /// # Ok(()) }
    /// ```
    pub fn watch_directory(&self) -> DirectoryWatch {
        DirectoryWatch::new(self.clone())
    }

    /// Waits until destination `dest` is served (locally or over an outlet), at
    /// most `timeout`; returns whether it is.
    ///
    /// ```
    /// # fn inbox() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use dispatchio_core::Dispatcher;
    /// let dispatcher = Dispatcher::new();
    /// let later = dispatcher.clone();
    /// tokio::spawn(async move { later.register("bob", inbox()) });
    /// assert!(dispatcher.wait_for_destination("bob", Duration::from_secs(5)).await);
    /// assert!(!dispatcher.wait_for_destination("nobody", Duration::from_millis(10)).await);
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_destination(
        &self,
        dest: impl Into<Id>,
        timeout: std::time::Duration,
    ) -> bool {
        let dest = &dest.into();
        let deadline = tokio::time::Instant::now() + timeout;
        // Subscribed before the first look, so a claim made after it wakes us.
        let mut changes = self.route_changes();
        loop {
            if self.served_by(dest).is_some() {
                return true;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return self.served_by(dest).is_some(),
            }
        }
    }

    /// Who serves `dest` now: a local listener, an outlet's claim, or nobody
    /// (an outlet that is the fallback serves no ID by name).
    ///
    /// ```
    /// # fn inbox() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
    /// # }
    /// # use std::sync::Arc;
    /// # use dispatchio_core::{Delivery, Dispatcher, Error, TransportError, TransportErrorKind};
    /// # use dispatchio_core::transport::{Attachment, Outlet};
    /// # /// A tiny in-memory transport (see `Dispatcher::attach`).
    /// # struct Loopback(tokio::sync::mpsc::UnboundedSender<Delivery>);
    /// # impl Outlet for Loopback {
    /// #     fn name(&self) -> &str { "loopback" }
    /// #     fn send(&self, delivery: Delivery) -> Result<(), (Error, Delivery)> {
    /// #         let closed = |d| (TransportError::new("loopback", TransportErrorKind::Closed, "closed").into(), d);
    /// #         self.0.send(delivery).map_err(|refused| closed(refused.0))
    /// #     }
    /// # }
    /// # fn connect(near: &Dispatcher, far: &Dispatcher) -> Attachment {
    /// #     let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Delivery>();
    /// #     let mut inlet = far.inlet();
    /// #     tokio::spawn(async move {
    /// #         while let Some(d) = rx.recv().await {
    /// #             let _ = inlet.deliver(d.message, d.reply); // an error also goes back through d.reply
    /// #         }
    /// #     });
    /// #     near.attach(Arc::new(Loopback(tx)))
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Id;
    /// use dispatchio_core::transport::ServedBy;
    /// let (near, far) = (Dispatcher::new(), Dispatcher::new());
    /// near.register("bob", inbox())?;
    /// let link = connect(&near, &far);
    /// link.claim("ann")?;
    /// assert!(link.set_fallback());
    /// assert_eq!(near.served_by(&Id::from("bob")), Some(ServedBy::Local));
    /// assert_eq!(near.served_by(&Id::from("ann")), Some(ServedBy::Outlet("loopback".into())));
    /// assert_eq!(near.served_by(&Id::from("cy")), None); // sent to the fallback, served by no one by name
    /// # Ok(()) }
    /// ```
    pub fn served_by(&self, dest: &Id) -> Option<ServedBy> {
        match self.route_of(dest)? {
            Route::Local(_) => Some(ServedBy::Local),
            Route::Remote(link) => Some(ServedBy::Outlet(link.name().to_owned())),
        }
    }
}

//! [`Attachment`]: a transport's handle on what one of its outlets serves.

use std::sync::Arc;

use super::Outlet;
use crate::dispatcher::{Dispatcher, Member, Route};
use crate::error::Error;
use crate::id::Id;

/// What one [`Outlet`] serves in a dispatcher: the destinations it claims,
/// the groups it is a member of, and whether it is the fallback. Made by
/// [`Dispatcher::attach`]; dropping it (or [`detach`](Self::detach))
/// removes all of it.
///
/// The attachment holds the outlet and the dispatcher; the dispatcher holds
/// the outlet while the outlet serves something. A transport keeps the
/// attachment beside its outlet, not inside it.
///
/// ```
/// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
/// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// #     use dispatchio_core::{Message, Reply};
/// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
/// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
/// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
/// # }
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
/// use dispatchio_core::{Message, Text};
/// let (near, far) = (Dispatcher::new(), Dispatcher::new());
/// far.register("echo", echo())?;
/// let link = connect(&near, &far); // `Dispatcher::attach` underneath
/// link.claim("echo")?; // what the peer announced it serves
/// let reply = near.request_as::<Text>(Message::new(Text::from("hi")).to("echo"), None).await?;
/// assert_eq!(reply.0, "hi");
/// drop(link); // the peer is gone: so is everything it served
/// assert!(near.send(Message::new(Text::from("hi")).to("echo")).is_err());
/// # Ok(()) }
/// ```
pub struct Attachment {
    dispatcher: Dispatcher,
    outlet: Arc<dyn Outlet>,
    /// The outlet's member ID in groups: its name.
    member: Id,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment").field("outlet", &self.outlet.name()).finish()
    }
}

impl Attachment {
    pub(super) fn new(dispatcher: Dispatcher, outlet: Arc<dyn Outlet>) -> Attachment {
        let member = Id::from(outlet.name());
        Attachment { dispatcher, outlet, member }
    }

    /// The outlet.
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
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
    /// let (near, far) = (Dispatcher::new(), Dispatcher::new());
    /// let link = connect(&near, &far);
    /// assert_eq!(link.outlet().name(), "loopback");
    /// # Ok(()) }
    /// ```
    pub fn outlet(&self) -> &Arc<dyn Outlet> {
        &self.outlet
    }

    /// The dispatcher it is attached to.
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
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
    /// let (near, far) = (Dispatcher::new(), Dispatcher::new());
    /// let link = connect(&near, &far);
    /// link.claim("ann")?;
    /// assert!(link.dispatcher().served_by(&Id::from("ann")).is_some()); // `near`'s
    /// assert!(far.served_by(&Id::from("ann")).is_none());
    /// # Ok(()) }
    /// ```
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// Whether `route` goes over this attachment's outlet.
    fn is_mine(&self, route: &Route) -> bool {
        matches!(route, Route::Remote(l) if std::ptr::addr_eq(Arc::as_ptr(l), Arc::as_ptr(&self.outlet)))
    }

    /// Routes destination `dest` to the outlet.
    ///
    /// # Errors
    ///
    /// [`Error::DestinationTaken`] when a local listener or another outlet
    /// serves `dest` already ([`Dispatcher::served_by`] says which).
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
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
    /// use dispatchio_core::{Message, Text};
    /// let (near, far) = (Dispatcher::new(), Dispatcher::new());
    /// far.register("echo", echo())?;
    /// near.register("bob", inbox())?;
    /// let link = connect(&near, &far);
    /// link.claim("echo")?;
    /// let reply = near.request_as::<Text>(Message::new(Text::from("hi")).to("echo"), None).await?;
    /// assert_eq!(reply.0, "hi"); // answered in `far`
    /// // A local listener comes first: the claim is refused.
    /// assert!(matches!(link.claim("bob"), Err(Error::DestinationTaken(_))));
    /// # Ok(()) }
    /// ```
    pub fn claim(&self, dest: impl Into<Id>) -> Result<(), Error> {
        self.dispatcher.insert_route(dest.into(), Route::Remote(self.outlet.clone()))
    }

    /// Stops routing `dest` to the outlet; returns whether the outlet served it
    /// (a destination served by someone else is left alone).
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
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
    /// use dispatchio_core::{Id, Message, Text};
    /// let (near, far) = (Dispatcher::new(), Dispatcher::new());
    /// near.register("bob", inbox())?;
    /// let link = connect(&near, &far);
    /// link.claim("ann")?;
    /// assert!(link.withdraw(&Id::from("ann"))); // the peer stopped serving it
    /// assert!(matches!(near.send(Message::new(Text::from("hi")).to("ann")), Err(Error::UnknownDestination(_))));
    /// assert!(!link.withdraw(&Id::from("bob"))); // not the outlet's to withdraw
    /// assert!(near.served_by(&Id::from("bob")).is_some());
    /// # Ok(()) }
    /// ```
    pub fn withdraw(&self, dest: &Id) -> bool {
        self.dispatcher.remove_route_if(dest, |r| self.is_mine(r))
    }

    /// Makes the outlet a member of `group`, under the outlet's name: a group
    /// message is sent over it once (the peer fans out to its own
    /// subscribers). Joining twice changes nothing.
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
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
    /// use dispatchio_core::{Message, Text};
    /// let (near, far) = (Dispatcher::new(), Dispatcher::new());
    /// let bob = inbox();
    /// far.register("bob", bob.clone())?;
    /// far.subscribe("bob", "All")?;
    /// let link = connect(&near, &far);
    /// link.join_group("All"); // the peer has members of "All"
    /// near.send(Message::new(Text::from("hi all")).to_group("All"))?;
    /// let got = bob.queue("inbox")?.recv().await.ok_or("nothing came")?;
    /// assert_eq!(got.content_as::<Text>().map(|t| t.0.as_str()), Some("hi all"));
    /// # Ok(()) }
    /// ```
    pub fn join_group(&self, group: impl Into<Id>) {
        let member = Member { id: self.member.clone(), route: Route::Remote(self.outlet.clone()) };
        self.dispatcher.add_member(group.into(), member);
    }

    /// Removes the outlet from `group`; returns whether it was a member.
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
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
    /// use dispatchio_core::{Id, Message, Text};
    /// let (near, far) = (Dispatcher::new(), Dispatcher::new());
    /// let link = connect(&near, &far);
    /// link.join_group("All");
    /// assert!(link.leave_group(&Id::from("All"))); // the peer's last member left
    /// assert!(!link.leave_group(&Id::from("All")));
    /// let nobody = near.send(Message::new(Text::from("hi all")).to_group("All"));
    /// assert!(matches!(nobody, Err(Error::NoSubscribers(_))));
    /// # Ok(()) }
    /// ```
    pub fn leave_group(&self, group: &Id) -> bool {
        self.dispatcher.remove_group_member(group, |m| self.is_mine(&m.route))
    }

    /// Makes the outlet the fallback: a message to a destination nobody in
    /// this process serves, or to a group with no member here, is sent over
    /// it instead of failing with [`Error::UnknownDestination`] or
    /// [`Error::NoSubscribers`] (the outlet answers those itself when nobody
    /// behind it serves the message either). Messages that arrived from
    /// another process never take it. Returns `false`, changing nothing,
    /// when another outlet is the fallback already.
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
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
    /// use dispatchio_core::{Message, Text};
    /// let (near, far) = (Dispatcher::new(), Dispatcher::new());
    /// far.register("echo", echo())?;
    /// let link = connect(&near, &far);
    /// assert!(link.set_fallback()); // a broker: whatever is not served here goes there
    /// let reply = near.request_as::<Text>(Message::new(Text::from("hi")).to("echo"), None).await?;
    /// assert_eq!(reply.0, "hi"); // claimed by nobody, served behind the fallback
    /// assert!(!connect(&near, &far).set_fallback()); // one fallback at a time
    /// # Ok(()) }
    /// ```
    pub fn set_fallback(&self) -> bool {
        self.dispatcher.set_fallback(&self.outlet)
    }

    /// Stops the outlet being the fallback; returns whether it was.
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
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
    /// use dispatchio_core::{Message, Text};
    /// let (near, far) = (Dispatcher::new(), Dispatcher::new());
    /// let link = connect(&near, &far);
    /// link.set_fallback();
    /// assert!(link.clear_fallback());
    /// assert!(!link.clear_fallback());
    /// let unknown = near.send(Message::new(Text::from("hi")).to("echo"));
    /// assert!(matches!(unknown, Err(Error::UnknownDestination(_))));
    /// # Ok(()) }
    /// ```
    pub fn clear_fallback(&self) -> bool {
        self.dispatcher
            .clear_fallback(|l| std::ptr::addr_eq(Arc::as_ptr(l), Arc::as_ptr(&self.outlet)))
    }

    /// Removes every destination and group membership the outlet serves, and
    /// the fallback if it is; the same as dropping the attachment.
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
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
    /// let (near, far) = (Dispatcher::new(), Dispatcher::new());
    /// let link = connect(&near, &far);
    /// link.claim("ann")?;
    /// link.join_group("All");
    /// link.set_fallback();
    /// link.detach(); // the connection is gone for good
    /// let snapshot = near.snapshot();
    /// assert!(snapshot.remote.is_empty() && snapshot.groups.is_empty() && snapshot.fallback.is_none());
    /// assert_eq!(near.served_by(&Id::from("ann")), None);
    /// # Ok(()) }
    /// ```
    pub fn detach(self) {}
}

impl Drop for Attachment {
    fn drop(&mut self) {
        self.dispatcher.remove_routes(|r| self.is_mine(r));
        self.dispatcher.remove_member(|m| self.is_mine(&m.route));
        self.clear_fallback();
    }
}

//! Where a destination is served: a local mailbox or an [`Outlet`] of a
//! transport; a group's members; the route cache of a connection's reader.

use std::sync::Arc;

use super::mailbox::Mailbox;
use crate::error::Error;
use crate::id::Id;
use crate::reply::Delivery;

/// Where a destination is served: the seam between local delivery and
/// transports (see [`crate::transport`]).
#[derive(Clone)]
pub(crate) enum Route {
    Local(Arc<Mailbox>),
    Remote(Arc<dyn Outlet>),
}

/// The last local route a link looked up, and the dispatcher's
/// generation (count of route changes) when it did.
#[derive(Default)]
pub(crate) struct RouteCache {
    pub(super) generation: u64,
    pub(super) last: Option<(Id, Route)>,
}

/// One member of a group: a local subscriber (by its destination ID) or a
/// link serving the group in another process (by the link's name).
#[derive(Clone)]
pub(crate) struct Member {
    pub(crate) id: Id,
    pub(crate) route: Route,
}

/// A transport's way out of this process: it carries messages to where
/// their destination is served.
///
/// Implemented by transports; the dispatcher calls [`send`](Self::send) for
/// every message routed to the outlet (see [`Attachment`](crate::transport::Attachment)).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::{Arc, Mutex};
/// use dispatchio_core::{Delivery, Dispatcher, Error, Message, Text};
/// use dispatchio_core::transport::Outlet;
///
/// /// Keeps what it is given; answers requests "sent" (a real transport
/// /// writes the message to its peer and answers with the peer's reply).
/// #[derive(Default)]
/// struct Recorder(Mutex<Vec<Message>>);
/// impl Outlet for Recorder {
///     fn name(&self) -> &str {
///         "recorder"
///     }
///     fn send(&self, Delivery { message, reply }: Delivery) -> Result<(), (Error, Delivery)> {
///         if reply.is_wanted() {
///             reply.send(Ok(Message::reply_to(message.envelope(), Arc::new(Text::from("sent")), None)));
///         }
///         self.0.lock().unwrap().push(message);
///         Ok(())
///     }
/// }
/// let dispatcher = Dispatcher::new();
/// let recorder = Arc::new(Recorder::default());
/// let attached = dispatcher.attach(recorder.clone());
/// attached.claim("far")?;
/// let reply = dispatcher.request_as::<Text>(Message::new(Text::from("hi")).to("far"), None).await?;
/// assert_eq!(reply.0, "sent");
/// assert_eq!(recorder.0.lock().unwrap().len(), 1);
/// # Ok(()) }
/// ```
pub trait Outlet: Send + Sync + 'static {
    /// A name for traces and introspection (`"billing/link#3"`); also
    /// the member ID of the outlet in groups it serves.
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
    /// use dispatchio_core::transport::ServedBy;
    /// let (near, far) = (Dispatcher::new(), Dispatcher::new());
    /// let link = connect(&near, &far);
    /// link.claim("ann")?;
    /// assert_eq!(link.outlet().name(), "loopback");
    /// assert_eq!(near.served_by(&Id::from("ann")), Some(ServedBy::Outlet("loopback".into())));
    /// # Ok(()) }
    /// ```
    fn name(&self) -> &str;

    /// Carries one message out; completes `delivery.reply` with the answer
    /// when one is wanted. Must not block: queue the work.
    ///
    /// # Errors
    ///
    /// The reason and the delivery untouched, when the outlet cannot take
    /// it right now (a closed connection, a full queue); the dispatcher
    /// reports it to the sender.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use dispatchio_core::{Delivery, Dispatcher, Error, Message, Text, TransportError, TransportErrorKind};
    /// use dispatchio_core::transport::Outlet;
    /// /// A link whose connection is gone: it refuses, handing the delivery back.
    /// struct Down;
    /// impl Outlet for Down {
    ///     fn name(&self) -> &str {
    ///         "tcp:table-2"
    ///     }
    ///     fn send(&self, delivery: Delivery) -> Result<(), (Error, Delivery)> {
    ///         let down = TransportError::new(self.name(), TransportErrorKind::Unavailable, "reconnecting");
    ///         Err((down.into(), delivery))
    ///     }
    /// }
    /// let dispatcher = Dispatcher::new();
    /// let attached = dispatcher.attach(Arc::new(Down));
    /// attached.claim("far")?;
    /// let err = dispatcher.send(Message::new(Text::from("hi")).to("far")).unwrap_err();
    /// assert!(matches!(&err, Error::Transport(t) if t.kind() == TransportErrorKind::Unavailable), "{err}");
    /// # Ok(()) }
    /// ```
    #[allow(
        clippy::result_large_err,
        reason = "the refused delivery goes back unboxed; refusal is the rare path"
    )]
    fn send(&self, delivery: Delivery) -> Result<(), (Error, Delivery)>;
}

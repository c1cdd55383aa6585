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
pub trait Outlet: Send + Sync + 'static {
    /// A name for traces and introspection (`"billing/link#3"`); also
    /// the member ID of the outlet in groups it serves.
    fn name(&self) -> &str;

    /// Carries one message out; completes `delivery.reply` with the answer
    /// when one is wanted. Must not block: queue the work.
    ///
    /// # Errors
    ///
    /// The reason and the delivery untouched, when the outlet cannot take
    /// it right now (a closed connection, a full queue); the dispatcher
    /// reports it to the sender.
    #[allow(
        clippy::result_large_err,
        reason = "the refused delivery goes back unboxed; refusal is the rare path"
    )]
    fn send(&self, delivery: Delivery) -> Result<(), (Error, Delivery)>;
}

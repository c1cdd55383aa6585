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
    pub fn outlet(&self) -> &Arc<dyn Outlet> {
        &self.outlet
    }

    /// The dispatcher it is attached to.
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
    pub fn claim(&self, dest: impl Into<Id>) -> Result<(), Error> {
        self.dispatcher.insert_route(dest.into(), Route::Remote(self.outlet.clone()))
    }

    /// Stops routing `dest` to the outlet; returns whether the outlet served it
    /// (a destination served by someone else is left alone).
    pub fn withdraw(&self, dest: &Id) -> bool {
        self.dispatcher.remove_route_if(dest, |r| self.is_mine(r))
    }

    /// Makes the outlet a member of `group`, under the outlet's name: a group
    /// message is sent over it once (the peer fans out to its own
    /// subscribers). Joining twice changes nothing.
    pub fn join_group(&self, group: impl Into<Id>) {
        let member = Member { id: self.member.clone(), route: Route::Remote(self.outlet.clone()) };
        self.dispatcher.add_member(group.into(), member);
    }

    /// Removes the outlet from `group`; returns whether it was a member.
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
    pub fn set_fallback(&self) -> bool {
        self.dispatcher.set_fallback(&self.outlet)
    }

    /// Stops the outlet being the fallback; returns whether it was.
    pub fn clear_fallback(&self) -> bool {
        self.dispatcher
            .clear_fallback(|l| std::ptr::addr_eq(Arc::as_ptr(l), Arc::as_ptr(&self.outlet)))
    }

    /// Removes every destination and group membership the outlet serves, and
    /// the fallback if it is; the same as dropping the attachment.
    pub fn detach(self) {}
}

impl Drop for Attachment {
    fn drop(&mut self) {
        self.dispatcher.remove_routes(|r| self.is_mine(r));
        self.dispatcher.remove_member(|m| self.is_mine(&m.route));
        self.clear_fallback();
    }
}

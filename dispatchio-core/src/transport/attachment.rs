//! [`Attachment`]: a transport's handle on what one of its links serves.

use std::sync::Arc;

use super::Link;
use crate::dispatcher::{Dispatcher, Member, Route};
use crate::error::Error;
use crate::id::Id;

/// What one [`Link`] serves in a dispatcher: the destinations it claims,
/// the groups it is a member of, and whether it is the fallback. Made by
/// [`Dispatcher::attach`]; dropping it (or [`detach`](Self::detach))
/// removes all of it.
///
/// The attachment holds the link and the dispatcher; the dispatcher holds
/// the link while the link serves something. A transport keeps the
/// attachment beside its link, not inside it.
pub struct Attachment {
    dispatcher: Dispatcher,
    link: Arc<dyn Link>,
    /// The link's member ID in groups: its name.
    member: Id,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment").field("link", &self.link.name()).finish()
    }
}

impl Attachment {
    pub(super) fn new(dispatcher: Dispatcher, link: Arc<dyn Link>) -> Attachment {
        let member = Id::from(link.name().to_owned());
        Attachment { dispatcher, link, member }
    }

    /// The link.
    pub fn link(&self) -> &Arc<dyn Link> {
        &self.link
    }

    /// The dispatcher it is attached to.
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// Whether `route` goes over this attachment's link.
    fn is_mine(&self, route: &Route) -> bool {
        matches!(route, Route::Remote(l) if std::ptr::addr_eq(Arc::as_ptr(l), Arc::as_ptr(&self.link)))
    }

    /// Routes destination `dest` to the link.
    ///
    /// # Errors
    ///
    /// [`Error::DestinationTaken`] when a local listener or another link
    /// serves `dest` already ([`Dispatcher::served_by`] says which).
    pub fn claim(&self, dest: impl Into<Id>) -> Result<(), Error> {
        self.dispatcher.insert_route(dest.into(), Route::Remote(self.link.clone()))
    }

    /// Stops routing `dest` to the link; returns whether the link served it
    /// (a destination served by someone else is left alone).
    pub fn withdraw(&self, dest: &Id) -> bool {
        self.dispatcher.remove_route_if(dest, |r| self.is_mine(r))
    }

    /// Makes the link a member of `group`, under the link's name: a group
    /// message is sent over it once (the peer fans out to its own
    /// subscribers). Joining twice changes nothing.
    pub fn join_group(&self, group: impl Into<Id>) {
        let member = Member { id: self.member.clone(), route: Route::Remote(self.link.clone()) };
        self.dispatcher.add_member(group.into(), member);
    }

    /// Removes the link from `group`; returns whether it was a member.
    pub fn leave_group(&self, group: &Id) -> bool {
        self.dispatcher.remove_group_member(group, |m| self.is_mine(&m.route))
    }

    /// Makes the link the fallback: a message to a destination nobody in
    /// this process serves, or to a group with no member here, is sent over
    /// it instead of failing with [`Error::UnknownDestination`] or
    /// [`Error::NoSubscribers`] (the link answers those itself when nobody
    /// behind it serves the message either). Messages that arrived from
    /// another process never take it. Returns `false`, changing nothing,
    /// when another link is the fallback already.
    pub fn set_fallback(&self) -> bool {
        self.dispatcher.set_fallback(&self.link)
    }

    /// Stops the link being the fallback; returns whether it was.
    pub fn clear_fallback(&self) -> bool {
        self.dispatcher
            .clear_fallback(|l| std::ptr::addr_eq(Arc::as_ptr(l), Arc::as_ptr(&self.link)))
    }

    /// Removes every destination and group membership the link serves, and
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

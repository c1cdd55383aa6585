//! The seam for transports: how messages reach destinations in other
//! processes.
//!
//! The dispatcher never knows about sockets or brokers. It looks every
//! destination up in one map whose entries are either a local listener's
//! mailbox or a [`Link`]; a transport (Unix/TCP peers, a NATS bridge) plugs
//! in by implementing [`Link`] and telling the dispatcher what the link
//! serves:
//!
//! * **Outgoing.** [`Dispatcher::attach_destination`] says "destination X is
//!   served by link L", [`Dispatcher::attach_group`] "group G has members
//!   behind link L". A message for X (or G) is then handed to
//!   [`Link::send`] as a [`Delivery`]: the message and its [`ReplySender`].
//!   When a reply is wanted, the link completes the `ReplySender` with the
//!   peer's answer (or an [`Error::Link`] when the connection fails); if it
//!   drops it instead, the requester gets [`Error::NoReply`]. The link keeps
//!   per-sender order by sending one destination's messages over one ordered
//!   connection.
//! * **Incoming.** A message read from a peer is given to
//!   [`Dispatcher::deliver_incoming`] with a [`ReplySender::callback`] that
//!   writes the reply back to the peer. Incoming messages go to local
//!   listeners only (never back out over a link), so two peers cannot bounce
//!   a message between them.
//! * **Advertising.** [`Dispatcher::snapshot`] lists the local listeners and
//!   groups a transport tells its peers about.
//! * **Content** crosses the boundary with [`Content::encode`](crate::Content::encode)
//!   and [`ContentRegistry::decode`](crate::ContentRegistry::decode).
//!
//! Synchronous sends to a remote destination fail with
//! [`SyncError::Remote`](crate::SyncError::Remote).

use std::sync::Arc;

use crate::dispatcher::{Dispatcher, Member, Route, RouteCache};
use crate::error::Error;
use crate::id::Id;
use crate::listener::{Delivery, ReplySender};
use crate::message::InvalidMessage;

/// A connection to another process that carries messages there.
pub trait Link: Send + Sync + 'static {
    /// A name for traces and introspection (`"tcp://10.0.0.2:7000"`); also
    /// the member ID of the link in groups it serves.
    fn name(&self) -> &str;

    /// Carries one message to the peer; completes `delivery.reply` with the
    /// peer's answer when one is wanted. Must not block: queue the work.
    ///
    /// # Errors
    ///
    /// The reason and the delivery untouched, when the link cannot take it
    /// right now (closed connection); the dispatcher reports it to the sender.
    #[allow(
        clippy::result_large_err,
        reason = "the refused delivery goes back unboxed; refusal is the rare path"
    )]
    fn send(&self, delivery: Delivery) -> Result<(), (Error, Delivery)>;
}

impl Dispatcher {
    /// Routes destination `dest` to `link`.
    ///
    /// # Errors
    ///
    /// [`Error::DestinationTaken`] when a local listener or another link
    /// serves `dest` already.
    pub fn attach_destination(
        &self,
        dest: impl Into<Id>,
        link: Arc<dyn Link>,
    ) -> Result<(), Error> {
        self.insert_route(dest.into(), Route::Remote(link))
    }

    /// Adds `link` as a member of `group`: group messages are sent over it
    /// once (the peer fans out to its own subscribers).
    pub fn attach_group(&self, group: impl Into<Id>, link: Arc<dyn Link>) {
        let id = Id::from(link.name().to_owned());
        self.add_member(group.into(), Member { id, route: Route::Remote(link) });
    }

    /// Removes every destination and group membership served by the link
    /// named `name` (when its connection is gone).
    pub fn detach_link(&self, name: &str) {
        let is_it = |r: &Route| matches!(r, Route::Remote(l) if l.name() == name);
        self.remove_routes(is_it);
        self.remove_member(|m| is_it(&m.route));
    }

    /// Delivers a message that arrived from another process to the local
    /// listener it names, or to every local subscriber of its group.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`], [`Error::UnknownDestination`],
    /// [`Error::NoSubscribers`], [`Error::Shutdown`]; the error is also sent
    /// through `reply`.
    pub fn deliver_incoming(
        &self,
        message: crate::Message,
        reply: ReplySender,
    ) -> Result<(), Error> {
        self.deliver_incoming_cached(message, reply, &mut RouteCache::default())
    }

    /// [`deliver_incoming`](Self::deliver_incoming) with the link's route
    /// cache.
    pub(crate) fn deliver_incoming_cached(
        &self,
        message: crate::Message,
        reply: ReplySender,
        cache: &mut RouteCache,
    ) -> Result<(), Error> {
        let result = self.incoming(message, reply, cache);
        if let Err((e, reply)) = result {
            reply.send(Err(e.clone()));
            return Err(e);
        }
        Ok(())
    }
}

impl Dispatcher {
    fn incoming(
        &self,
        message: crate::Message,
        reply: ReplySender,
        cache: &mut RouteCache,
    ) -> Result<(), (Error, ReplySender)> {
        if let Err(e) = message.envelope().validate() {
            return Err((e.into(), reply));
        }
        if self.is_shut_down() {
            return Err((Error::Shutdown, reply));
        }
        let env = message.envelope();
        if let Some(group) = env.group.clone() {
            let members = self.local_members(&group);
            if members.is_empty() {
                return Err((Error::NoSubscribers(group), reply));
            }
            // One reply slot, several local members: the first member's
            // answer is the reply, the others' are not wanted.
            let mut reply = Some(reply);
            for route in members {
                let rs = reply.take().unwrap_or_else(ReplySender::unwanted);
                self.deliver_local(&route, message.clone(), rs);
            }
            return Ok(());
        }
        let Some(dest) = &env.dest else {
            return Err((InvalidMessage::NoDestination.into(), reply));
        };
        match self.local_route_cached(dest, cache) {
            Some(route) => {
                // Straight into an idle listener when it can be (no hop
                // through its task); queued otherwise.
                let queued = match route {
                    Route::Local(mb) => match self.deliver_now(mb, Delivery { message, reply }) {
                        Ok(()) => return Ok(()),
                        Err(d) => d,
                    },
                    Route::Remote(_) => Delivery { message, reply },
                };
                // A refusal (a full mailbox) is the caller's to report.
                self.deliver_route(route, queued.message, queued.reply)
            }
            None => Err((Error::UnknownDestination(dest.clone()), reply)),
        }
    }
}

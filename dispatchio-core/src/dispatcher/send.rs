//! Sending: one-way messages to a destination or a group, refused or
//! waiting for room when a bounded mailbox is full.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::mailbox::{Mailbox, Refusal};
use super::{Dispatcher, Member, Route};
use crate::error::{Error, GroupError};
use crate::id::{Id, MessageId};
use crate::message::{InvalidMessage, Message};
use crate::reply::{Delivery, ReplySender};

impl Dispatcher {
    pub(super) fn prepare(&self, msg: &mut Message) -> Result<MessageId, Error> {
        msg.envelope().validate()?;
        self.check_open()?;
        let env = msg.envelope_mut();
        if env.id.is_unset() {
            env.id = MessageId(self.inner.next_message.fetch_add(1, Ordering::Relaxed));
        }
        Ok(env.id)
    }

    /// Sends a message and returns its ID without waiting for the recipient
    /// to do anything. A reply the listener gives is discarded (use
    /// [`request`](Self::request) to get it). A `sync` message is handled at
    /// once as by [`send_sync`](Self::send_sync) (its reply discarded).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a malformed envelope; [`Error::UnknownDestination`]
    /// or [`Error::NoSubscribers`] when nobody can take it (also counted);
    /// [`Error::MailboxFull`] when the destination's bounded mailbox is full
    /// (the message was not delivered); a link's error when a remote
    /// destination's link cannot take it; [`Error::Shutdown`]. A group
    /// message reaches every member that takes it; when some member
    /// refuses it (a full mailbox, a link that cannot take it), the result
    /// is [`Error::Group`] listing each, with the number of members reached.
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
    /// use dispatchio_core::{Dispatcher, Error, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// let player = inbox();
    /// dispatcher.register("player", player.clone())?;
    /// let id = dispatcher.send(Message::new(Text::from("hi")).to("player"))?;
    /// let got = player.queue("inbox")?.recv().await.unwrap();
    /// assert_eq!(got.id(), id); // the dispatcher assigned the ID
    /// let err = dispatcher.send(Message::new(Text::from("hi")).to("nobody")).unwrap_err();
    /// assert!(matches!(err, Error::UnknownDestination(_)));
    /// # Ok(()) }
    /// ```
    pub fn send(&self, mut msg: Message) -> Result<MessageId, Error> {
        if msg.envelope().sync {
            let id = self.prepare(&mut msg)?;
            return self.send_sync(msg).map(|_| id);
        }
        let id = self.prepare(&mut msg)?;
        tracing::trace!(id = %id, ty = %msg.ty(), "send");
        if let Some(group) = msg.envelope().group.clone() {
            return self.send_group(group, &msg).map(|()| id);
        }
        let dest = msg.envelope().dest.as_ref().ok_or(InvalidMessage::NoDestination)?;
        let route = self.route_to(dest, &msg)?;
        match self.deliver_route(&route, msg, ReplySender::unwanted()) {
            Ok(()) => Ok(id),
            Err((e, _)) => Err(e),
        }
    }

    /// A one-way message to every member of `group`. Out of line, so that
    /// a send to one destination stays small.
    #[inline(never)]
    fn send_group(&self, group: Id, msg: &Message) -> Result<(), Error> {
        let members = self.members(&group)?;
        let mut refusals = GroupRefusals::default();
        for m in members.iter() {
            let sent = self.deliver_route(&m.route, msg.clone(), ReplySender::unwanted());
            refusals.note(self, msg, m, sent.map_err(|(e, _)| e));
        }
        refusals.result(group)
    }

    /// [`send`](Self::send), waiting for room in a full bounded mailbox
    /// instead of being refused: the caller's task waits, until the
    /// listener takes a message (or the dispatcher shuts down). For a group,
    /// it waits for each local member in turn. A destination in another
    /// process is sent to as by `send` (its link's queue refuses when full;
    /// see [`Error::Transport`]). Per-sender order holds as for `send`.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send), except [`Error::MailboxFull`]: the message
    /// waits for room instead.
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
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// let player = inbox();
    /// dispatcher.register_bounded("player", player.clone(), 1)?;
    /// dispatcher.send(Message::new(Text::from("one")).to("player"))?; // the mailbox is full
    /// // `send` would be refused; `send_wait` waits until the listener takes "one".
    /// dispatcher.send_wait(Message::new(Text::from("two")).to("player")).await?;
    /// let inbox = player.queue("inbox")?;
    /// for card in ["one", "two"] {
    ///     assert_eq!(inbox.recv().await.unwrap().content_as::<Text>().unwrap().0, card);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn send_wait(&self, mut msg: Message) -> Result<MessageId, Error> {
        if msg.envelope().sync {
            return self.send(msg);
        }
        let id = self.prepare(&mut msg)?;
        tracing::trace!(id = %id, ty = %msg.ty(), "send, waiting for room");
        if let Some(group) = msg.envelope().group.clone() {
            let members = self.members(&group)?;
            let mut refusals = GroupRefusals::default();
            for m in members.iter() {
                let sent = self.deliver_waiting(&m.route, msg.clone()).await;
                refusals.note(self, &msg, m, sent);
            }
            return refusals.result(group).map(|()| id);
        }
        let dest = msg.envelope().dest.as_ref().ok_or(InvalidMessage::NoDestination)?;
        let route = self.route_to(dest, &msg)?;
        self.deliver_waiting(&route, msg).await.map(|()| id)
    }

    /// Delivers a one-way message to a route, waiting for room in a local
    /// bounded mailbox.
    async fn deliver_waiting(&self, route: &Route, msg: Message) -> Result<(), Error> {
        match route {
            Route::Local(mb) => {
                let delivery = Delivery { message: msg, reply: ReplySender::unwanted() };
                match mb.offer_waiting(&self.inner.closed, delivery).await {
                    Ok(()) => Ok(()),
                    Err(_) => Err(self.refused(mb, Refusal::Closed)),
                }
            }
            Route::Remote(_) => {
                self.deliver_route(route, msg, ReplySender::unwanted()).map_err(|(e, _)| e)
            }
        }
    }

    pub(super) fn members(&self, group: &Id) -> Result<Arc<[Member]>, Error> {
        if let Some(m) = self.inner.groups.read().get(group).filter(|m| !m.is_empty()) {
            return Ok(m.clone());
        }
        match self.fallback() {
            Some(Route::Remote(link)) => {
                let id = Id::from(link.name());
                Ok(Arc::from([Member { id, route: Route::Remote(link) }]))
            }
            _ => {
                self.inner.counters.undeliverable.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(group = %group, "group message with no subscribers");
                Err(Error::NoSubscribers(group.clone()))
            }
        }
    }

    /// Delivers to whatever serves `dest`; gives the reply slot back on failure.
    pub(crate) fn deliver_to(
        &self,
        dest: &Id,
        msg: Message,
        reply: ReplySender,
    ) -> Result<(), (Error, ReplySender)> {
        match self.route_to(dest, &msg) {
            Ok(route) => self.deliver_route(&route, msg, reply),
            Err(e) => Err((e, reply)),
        }
    }

    /// What serves `dest`; an unknown destination is counted against `msg`.
    fn route_to(&self, dest: &Id, msg: &Message) -> Result<Route, Error> {
        if let Some(route) = self.inner.routes.read().get(dest) {
            return Ok(route.clone());
        }
        if self.is_shut_down() {
            return Err(Error::Shutdown);
        }
        if let Some(route) = self.fallback() {
            return Ok(route);
        }
        self.note_undeliverable(msg, "unknown destination");
        Err(Error::UnknownDestination(dest.clone()))
    }

    pub(crate) fn deliver_route(
        &self,
        route: &Route,
        msg: Message,
        reply: ReplySender,
    ) -> Result<(), (Error, ReplySender)> {
        match route {
            Route::Local(mb) => mb
                .offer(Delivery { message: msg, reply })
                .map_err(|(why, d)| (self.refused(mb, why), d.reply)),
            Route::Remote(link) => {
                link.send(Delivery { message: msg, reply }).map_err(|(e, d)| (e, d.reply))
            }
        }
    }

    /// The error for a delivery `mb` did not take (counted when it was full).
    /// Kept out of line: the path of every send must stay small.
    #[cold]
    #[inline(never)]
    pub(super) fn refused(&self, mb: &Mailbox, why: Refusal) -> Error {
        match why {
            Refusal::Full(capacity) => {
                self.inner.counters.mailbox_full.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(dest = %mb.dest, capacity, "mailbox full: message refused");
                Error::MailboxFull { dest: mb.dest.clone(), capacity }
            }
            // The listener's task is gone: deregistered, or shut down.
            Refusal::Closed if self.is_shut_down() => Error::Shutdown,
            Refusal::Closed => Error::UnknownDestination(mb.dest.clone()),
        }
    }
}

/// The members that refused a one-way group message, and how many took it.
#[derive(Default)]
struct GroupRefusals {
    failures: Vec<(Id, Error)>,
    succeeded: usize,
}

impl GroupRefusals {
    fn note(&mut self, d: &Dispatcher, msg: &Message, member: &Member, sent: Result<(), Error>) {
        match sent {
            Ok(()) => self.succeeded += 1,
            // Deregistered since the members were read: no longer a member.
            Err(Error::UnknownDestination(_)) => {
                d.note_undeliverable(msg, "group member gone");
                tracing::debug!(member = %member.id, "group member gone");
            }
            // Refused (a full mailbox, a link that cannot take it): the
            // sender is told which member, and why.
            Err(e) => self.failures.push((member.id.clone(), e)),
        }
    }

    fn result(self, group: Id) -> Result<(), Error> {
        if self.failures.is_empty() {
            return Ok(());
        }
        Err(Error::Group(GroupError { group, failures: self.failures, succeeded: self.succeeded }))
    }
}

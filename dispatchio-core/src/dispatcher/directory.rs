//! The directory: which listener or outlet serves each destination ID, and
//! the members of each group. Registration, subscription and the lookups
//! that every send starts with.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::Listener;
use super::mailbox::{Bound, MailboxState, run_mailbox};
use super::{Dispatcher, Mailbox, Member, Outlet, Route, RouteCache};
use crate::error::Error;
use crate::id::Id;
use crate::message::Message;
use crate::reply::ReplySender;

impl Dispatcher {
    /// Registers `listener` as destination `dest` and starts its task on the
    /// current tokio runtime. Its mailbox is unbounded: sends to it are
    /// never refused for room (see [`register_bounded`](Self::register_bounded)).
    ///
    /// # Errors
    ///
    /// [`Error::DestinationTaken`], [`Error::NoRuntime`] outside a tokio
    /// runtime, [`Error::Shutdown`].
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
    /// dispatcher.register("echo", echo())?;
    /// let err = dispatcher.register("echo", echo()).unwrap_err();
    /// assert!(matches!(err, Error::DestinationTaken(_)));
    /// let reply = dispatcher.request(Message::new(Text::from("ping")).to("echo"), None).await?;
    /// assert_eq!(reply.content_as::<Text>().unwrap().0, "ping");
    /// # Ok(()) }
    /// ```
    pub fn register(&self, dest: impl Into<Id>, listener: Arc<dyn Listener>) -> Result<(), Error> {
        self.register_mailbox(dest.into(), listener, None)
    }

    /// [`register`](Self::register) with a bounded mailbox: at most
    /// `capacity` messages (at least 1) wait for the listener, and at most
    /// `capacity` of its asynchronous handlers run at once. A send that
    /// finds it full is refused with [`Error::MailboxFull`];
    /// [`send_wait`](Self::send_wait) waits for room instead (see the
    /// [module documentation](crate::dispatcher#bounded-mailboxes)).
    ///
    /// # Errors
    ///
    /// As [`register`](Self::register).
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
    /// use dispatchio_core::{Dispatcher, Empty, Error, Message};
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register_bounded("player", inbox(), 1)?;
    /// // Nothing has run yet (one thread): the first message fills the mailbox.
    /// dispatcher.send(Message::new(Empty).to("player"))?;
    /// let err = dispatcher.send(Message::new(Empty).to("player")).unwrap_err();
    /// assert!(matches!(err, Error::MailboxFull { .. }));
    /// # Ok(()) }
    /// ```
    pub fn register_bounded(
        &self,
        dest: impl Into<Id>,
        listener: Arc<dyn Listener>,
        capacity: usize,
    ) -> Result<(), Error> {
        self.register_mailbox(dest.into(), listener, Some(capacity.max(1)))
    }

    fn register_mailbox(
        &self,
        dest: Id,
        listener: Arc<dyn Listener>,
        capacity: Option<usize>,
    ) -> Result<(), Error> {
        self.check_open()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let mut routes = self.inner.routes.write();
        // Checked again under the lock: a shutdown that already emptied the
        // map must not get a new listener behind its back.
        self.check_open()?;
        if routes.contains_key(&dest) {
            return Err(Error::DestinationTaken(dest));
        }
        let bound = capacity.map(|capacity| {
            Arc::new(Bound { capacity, queued: AtomicUsize::new(0), room: Notify::new() })
        });
        let state = Arc::new(MailboxState::new(bound.clone()));
        let task = runtime.spawn(run_mailbox(
            Arc::downgrade(&self.inner),
            dest.clone(),
            listener.clone(),
            state.clone(),
        ));
        let mailbox = Mailbox {
            dest: dest.clone(),
            bound,
            listener,
            state,
            task: Mutex::new(Some(task)),
            retired: AtomicBool::new(false),
        };
        tracing::debug!(dest = %dest, "listener registered");
        routes.insert(dest, Route::Local(Arc::new(mailbox)));
        drop(routes);
        self.changed();
        Ok(())
    }

    /// Removes destination `dest` (a local listener or a remote route) and
    /// its group memberships. A local listener first handles the messages it
    /// already accepted, then its queues close.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownDestination`] when nothing is registered as `dest`.
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
    /// dispatcher.send(Message::new(Text::from("last")).to("player"))?;
    /// dispatcher.deregister("player")?;
    /// let err = dispatcher.send(Message::new(Text::from("late")).to("player")).unwrap_err();
    /// assert!(matches!(err, Error::UnknownDestination(_)));
    /// // What it had accepted is still handled, then its queue closes.
    /// let queue = player.queue("inbox")?;
    /// assert_eq!(queue.recv().await.unwrap().content_as::<Text>().unwrap().0, "last");
    /// assert!(queue.recv().await.is_none());
    /// # Ok(()) }
    /// ```
    pub fn deregister(&self, dest: impl Into<Id>) -> Result<(), Error> {
        let dest = dest.into();
        let Some(route) = self.inner.routes.write().remove(&dest) else {
            return Err(Error::UnknownDestination(dest));
        };
        self.remove_member(|m| m.id == dest && matches!(m.route, Route::Local(_)));
        if let Route::Local(mailbox) = route {
            mailbox.retired.store(true, Ordering::Release);
            if let Some(task) = mailbox.task.lock().take() {
                let mut retired = self.inner.retired.lock();
                retired.retain(|t| !t.is_finished());
                retired.push(task);
            }
        }
        tracing::debug!(dest = %dest, "listener deregistered");
        self.changed();
        Ok(())
    }

    pub(crate) fn remove_member(&self, mut gone: impl FnMut(&Member) -> bool) {
        let mut groups = self.inner.groups.write();
        for members in groups.values_mut() {
            if members.iter().any(&mut gone) {
                *members = members.iter().filter(|m| !gone(m)).cloned().collect();
            }
        }
        groups.retain(|_, m| !m.is_empty());
        drop(groups);
        self.changed();
    }

    /// Subscribes the local listener `dest` to `group`. Subscribing twice
    /// changes nothing: a group message reaches each subscriber once.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownDestination`] when `dest` is not a local listener.
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
    /// let (a, b) = (inbox(), inbox());
    /// dispatcher.register("a", a.clone())?;
    /// dispatcher.register("b", b.clone())?;
    /// dispatcher.subscribe("a", "Players")?;
    /// dispatcher.subscribe("a", "Players")?; // twice changes nothing
    /// dispatcher.subscribe("b", "Players")?;
    /// assert!(matches!(dispatcher.subscribe("c", "Players"), Err(Error::UnknownDestination(_))));
    /// dispatcher.send(Message::new(Text::from("deal")).to_group("Players"))?;
    /// dispatcher.flush_all().await?;
    /// assert_eq!((a.queue("inbox")?.len(), b.queue("inbox")?.len()), (1, 1));
    /// # Ok(()) }
    /// ```
    pub fn subscribe(&self, dest: impl Into<Id>, group: impl Into<Id>) -> Result<(), Error> {
        let dest = dest.into();
        let route = match self.inner.routes.read().get(&dest) {
            Some(r @ Route::Local(_)) => r.clone(),
            _ => return Err(Error::UnknownDestination(dest)),
        };
        self.add_member(group.into(), Member { id: dest, route });
        Ok(())
    }

    pub(crate) fn add_member(&self, group: Id, member: Member) {
        let mut groups = self.inner.groups.write();
        let members = groups.entry(group).or_insert_with(|| Arc::from(Vec::new()));
        if !members.iter().any(|m| m.id == member.id) {
            *members = members.iter().cloned().chain(std::iter::once(member)).collect();
            drop(groups);
            self.changed();
        }
    }

    /// Unsubscribes `dest` from `group`; returns whether it was subscribed.
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
    /// dispatcher.register("a", inbox())?;
    /// dispatcher.subscribe("a", "Players")?;
    /// assert!(dispatcher.unsubscribe("a", "Players"));
    /// assert!(!dispatcher.unsubscribe("a", "Players")); // no longer subscribed
    /// let err = dispatcher.send(Message::new(Text::from("deal")).to_group("Players")).unwrap_err();
    /// assert!(matches!(err, Error::NoSubscribers(_)));
    /// # Ok(()) }
    /// ```
    pub fn unsubscribe(&self, dest: impl Into<Id>, group: impl Into<Id>) -> bool {
        let dest = dest.into();
        self.remove_group_member(&group.into(), |m| m.id == dest)
    }

    /// Removes the members of `group` that `gone` picks; returns whether
    /// there were any.
    pub(crate) fn remove_group_member(&self, group: &Id, gone: impl Fn(&Member) -> bool) -> bool {
        let mut groups = self.inner.groups.write();
        let Some(members) = groups.get_mut(group) else { return false };
        let before = members.len();
        *members = members.iter().filter(|m| !gone(m)).cloned().collect();
        let removed = members.len() != before;
        if members.is_empty() {
            groups.remove(group);
        }
        drop(groups);
        if removed {
            self.changed();
        }
        removed
    }

    pub(crate) fn insert_route(&self, dest: Id, route: Route) -> Result<(), Error> {
        let mut routes = self.inner.routes.write();
        if routes.contains_key(&dest) {
            return Err(Error::DestinationTaken(dest));
        }
        routes.insert(dest, route);
        drop(routes);
        self.changed();
        Ok(())
    }

    pub(crate) fn remove_routes(&self, mut gone: impl FnMut(&Route) -> bool) {
        self.inner.routes.write().retain(|_, r| !gone(r));
        self.changed();
    }

    /// Removes the route of `dest` if `gone` picks it; returns whether it did.
    pub(crate) fn remove_route_if(&self, dest: &Id, gone: impl FnOnce(&Route) -> bool) -> bool {
        let mut routes = self.inner.routes.write();
        if !routes.get(dest).is_some_and(gone) {
            return false;
        }
        routes.remove(dest);
        drop(routes);
        self.changed();
        true
    }

    /// The route of `dest`, local or remote.
    pub(crate) fn route_of(&self, dest: &Id) -> Option<Route> {
        self.inner.routes.read().get(dest).cloned()
    }

    /// The local route of `dest`, if a local listener serves it.
    pub(crate) fn local_route(&self, dest: &Id) -> Option<Route> {
        match self.inner.routes.read().get(dest) {
            Some(r @ Route::Local(_)) => Some(r.clone()),
            _ => None,
        }
    }

    /// The destinations this process's listeners serve.
    pub(crate) fn local_destinations(&self) -> Vec<Id> {
        let routes = self.inner.routes.read();
        routes
            .iter()
            .filter(|(_, r)| matches!(r, Route::Local(_)))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Makes `link` the fallback unless another link is.
    pub(crate) fn set_fallback(&self, link: &Arc<dyn Outlet>) -> bool {
        let mut fallback = self.inner.fallback.write();
        match &*fallback {
            Some(l) => std::ptr::addr_eq(Arc::as_ptr(l), Arc::as_ptr(link)),
            None if self.is_shut_down() => false,
            None => {
                *fallback = Some(link.clone());
                true
            }
        }
    }

    /// Removes the fallback if `is_it` picks it; returns whether it did.
    pub(crate) fn clear_fallback(&self, is_it: impl FnOnce(&Arc<dyn Outlet>) -> bool) -> bool {
        let mut fallback = self.inner.fallback.write();
        if fallback.as_ref().is_some_and(is_it) {
            *fallback = None;
            return true;
        }
        false
    }

    /// The fallback link's route, if there is one.
    pub(super) fn fallback(&self) -> Option<Route> {
        self.inner.fallback.read().as_ref().map(|l| Route::Remote(l.clone()))
    }

    /// The destination IDs of local listeners, and the groups with a
    /// local member: what this process serves itself.
    pub(crate) fn served_here(&self) -> (BTreeSet<Id>, BTreeSet<Id>) {
        let routes = self.inner.routes.read();
        let dests = routes
            .iter()
            .filter(|(_, r)| matches!(r, Route::Local(_)))
            .map(|(id, _)| id.clone())
            .collect();
        drop(routes);
        let groups = self.inner.groups.read();
        let groups = groups
            .iter()
            .filter(|(_, ms)| ms.iter().any(|m| matches!(m.route, Route::Local(_))))
            .map(|(g, _)| g.clone())
            .collect();
        (dests, groups)
    }

    /// The local route of `dest`, from `cache` when nothing changed since
    /// it was filled: a link's messages mostly go to one destination, and
    /// the route map's lock and hash cost more than the rest of the lookup.
    pub(crate) fn local_route_cached<'c>(
        &self,
        dest: &Id,
        cache: &'c mut RouteCache,
    ) -> Option<&'c Route> {
        // Read before the lookup: a change in between makes the cache stale
        // at once, never the other way round.
        let generation = self.inner.generation.load(Ordering::SeqCst);
        let hit =
            cache.generation == generation && cache.last.as_ref().is_some_and(|(id, _)| id == dest);
        if !hit {
            let route = self.local_route(dest)?;
            cache.generation = generation;
            cache.last = Some((dest.clone(), route));
        }
        cache.last.as_ref().map(|(_, route)| route)
    }

    /// The local members of `group`, with their routes.
    pub(crate) fn local_members(&self, group: &Id) -> Vec<(Id, Route)> {
        let groups = self.inner.groups.read();
        let Some(members) = groups.get(group) else { return Vec::new() };
        members
            .iter()
            .filter(|m| matches!(m.route, Route::Local(_)))
            .map(|m| (m.id.clone(), m.route.clone()))
            .collect()
    }

    /// Delivers to a route, reporting a failure through the reply slot.
    pub(crate) fn deliver_local(&self, route: &Route, msg: Message, reply: ReplySender) {
        if let Err((e, reply)) = self.deliver_route(route, msg, reply) {
            reply.send(Err(e));
        }
    }
}

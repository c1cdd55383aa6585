//! Requests: waiting for the reply of one destination, or of every member
//! of a group, with a timeout.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::{Dispatcher, Route};
use crate::content::ContentType;
use crate::error::{Error, GroupError};
use crate::id::Id;
use crate::message::{InvalidMessage, Message, Typed};
use crate::reply::{GroupCollector, ReplySender};

/// The results of a group request, one per member that answered.
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
/// use dispatchio_core::{Dispatcher, GroupReplies, Id, Message, Text};
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("a", echo())?;
/// dispatcher.subscribe("a", "Players")?;
/// let replies: GroupReplies = dispatcher.request_group(Message::new(Text::from("hi")).to_group("Players"), None).await?;
/// let (member, reply) = &replies[0];
/// assert_eq!((member, reply.content_as::<Text>().unwrap().0.as_str()), (&Id::from("a"), "hi"));
/// # Ok(()) }
/// ```
pub type GroupReplies = Vec<(Id, Message)>;

impl Dispatcher {
    /// Sends a request and waits for its reply, at most `timeout` when given.
    /// Sets `response_required`. A `sync` message is handled at once as by
    /// [`send_sync`](Self::send_sync).
    ///
    /// # Errors
    ///
    /// Everything [`send`](Self::send) reports, and: [`Error::Timeout`];
    /// [`Error::Handler`] when the handler failed; [`Error::Unrouted`] or
    /// [`Error::Dropped`] when the listener's table sent it nowhere;
    /// [`Error::NoReply`] when the listener went away; [`Error::Shutdown`];
    /// [`Error::Invalid`] for a group message (use
    /// [`request_group`](Self::request_group)).
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
    /// use std::time::Duration;
    /// use dispatchio_core::{Dispatcher, Error, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("echo", echo())?;
    /// let reply = dispatcher.request(Message::new(Text::from("ping")).to("echo"), None).await?;
    /// assert_eq!(reply.content_as::<Text>().unwrap().0, "ping");
    /// assert!(reply.envelope().is_response);
    /// let group = Message::new(Text::from("ping")).to_group("Players");
    /// let err = dispatcher.request(group, Some(Duration::from_secs(1))).await.unwrap_err();
    /// assert!(matches!(err, Error::Invalid(_))); // one reply per member: use request_group
    /// # Ok(()) }
    /// ```
    pub async fn request(&self, msg: Message, timeout: Option<Duration>) -> Result<Message, Error> {
        self.request_on(msg, timeout, None).await
    }

    /// [`request`](Self::request) through `route` when the caller resolved
    /// it already (a [`Destination`](super::Destination)), looked up
    /// otherwise.
    pub(super) async fn request_on(
        &self,
        mut msg: Message,
        timeout: Option<Duration>,
        route: Option<Route>,
    ) -> Result<Message, Error> {
        msg.envelope_mut().response_required = true;
        if msg.envelope().group.is_some() {
            msg.envelope().validate()?;
            return Err(InvalidMessage::GroupNeedsGroupRequest.into());
        }
        if msg.envelope().sync {
            return self.send_sync(msg);
        }
        let id = self.prepare(&mut msg)?;
        let dest = msg.envelope().dest.clone().ok_or(InvalidMessage::NoDestination)?;
        let (reply, rx) = ReplySender::oneshot(id);
        let _pending = PendingGuard::new(&self.inner.pending);
        tracing::trace!(id = %id, dest = %dest, "request");
        // The route is not held while waiting: it would keep a deregistered
        // or shut-down mailbox alive.
        match route {
            Some(route) => self.deliver_route(&route, msg, reply),
            None => self.deliver_to(&dest, msg, reply),
        }
        .map_err(|(e, _)| e)?;
        let answer = match timeout {
            None => rx.await,
            Some(after) => match tokio::time::timeout(after, rx).await {
                Ok(a) => a,
                Err(_) => {
                    self.inner.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                    // The deferred reply (if any) now has nobody to go to.
                    self.inner.deferred.lock().retain(|k, d| *k != id || d.reply.is_wanted());
                    return Err(Error::Timeout { id, after });
                }
            },
        };
        match answer {
            Ok(Ok(m)) => Ok(m),
            Ok(Err(e)) => Err(self.gone(e)),
            Err(_) => Err(self.gone(Error::NoReply { id })),
        }
    }

    /// Sends a request as [`request`](Self::request) does and gives its
    /// reply typed: `T` is the content the caller expects back.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// # use dispatchio_core::{Dispatcher, Message, Reply, RoutedListener, Text};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let d = Dispatcher::new();
    /// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("shout")]).build()?;
    /// let shout = RoutedListener::builder(table)
    ///     .handler("shout", |m: &Message| {
    ///         let text = m.content_as::<Text>().map_or("", |t| &t.0);
    ///         Ok(Reply::with(Text::from(text.to_uppercase())))
    ///     })
    ///     .build()?;
    /// d.register("shouter", Arc::new(shout))?;
    /// let reply = d.request_as::<Text>(Message::new(Text::from("hi")).to("shouter"), None).await?;
    /// assert_eq!(reply.0, "HI");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`request`](Self::request), and [`Error::UnexpectedReply`] when the
    /// reply's content is not a `T` (an acknowledgement of a queued request,
    /// or another type).
    pub async fn request_as<T: ContentType>(
        &self,
        msg: Message,
        timeout: Option<Duration>,
    ) -> Result<Typed<T>, Error> {
        // `request_on` itself, not `request`: every async layer stores the
        // message in its future once more (a copy of 128 bytes each).
        let reply = self.request_on(msg, timeout, None).await?;
        Dispatcher::typed(reply)
    }

    /// A reply as the `T` its requester expects.
    pub(super) fn typed<T: ContentType>(reply: Message) -> Result<Typed<T>, Error> {
        reply.into_typed::<T>().map_err(|m| Error::UnexpectedReply {
            id: m.id(),
            expected: T::TYPE_NAME,
            got: m.envelope().ty.clone(),
        })
    }

    /// A listener that went away because of shutdown reports `Shutdown`.
    fn gone(&self, e: Error) -> Error {
        match e {
            Error::NoReply { .. } if self.is_shut_down() => Error::Shutdown,
            e => e,
        }
    }

    /// Sends a request to every member of the message's group and waits for
    /// every reply (at most `timeout` in all).
    ///
    /// # Errors
    ///
    /// [`Error::Group`] listing every member that failed (members that did
    /// not answer in time fail with [`Error::Timeout`]), and what
    /// [`send`](Self::send) reports.
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
    /// for player in ["a", "b"] {
    ///     dispatcher.register(player, echo())?;
    ///     dispatcher.subscribe(player, "Players")?;
    /// }
    /// let msg = Message::new(Text::from("ready?")).to_group("Players");
    /// let replies = dispatcher.request_group(msg, None).await?;
    /// let who: Vec<Id> = replies.iter().map(|(member, _)| member.clone()).collect();
    /// assert_eq!(who, [Id::from("a"), Id::from("b")]); // in the group's order
    /// assert!(replies.iter().all(|(_, m)| m.content_as::<Text>().unwrap().0 == "ready?"));
    /// # Ok(()) }
    /// ```
    pub async fn request_group(
        &self,
        mut msg: Message,
        timeout: Option<Duration>,
    ) -> Result<GroupReplies, Error> {
        msg.envelope_mut().response_required = true;
        msg.envelope().validate()?;
        let Some(group) = msg.envelope().group.clone() else {
            return Err(InvalidMessage::NotAGroupMessage.into());
        };
        if msg.envelope().sync {
            return self.sync_group(&group, msg);
        }
        let id = self.prepare(&mut msg)?;
        let members = self.members(&group)?;
        let (collector, done) = GroupCollector::new(members.len());
        let _pending = PendingGuard::new(&self.inner.pending);
        for m in members.iter() {
            let reply = ReplySender::group(id, collector.clone(), m.id.clone());
            if let Err((e, reply)) = self.deliver_route(&m.route, msg.clone(), reply) {
                reply.send(Err(e));
            }
        }
        // Only the members' IDs are needed from here on: holding their
        // routes while waiting would keep deregistered or shut-down
        // mailboxes alive.
        let members: Vec<Id> = members.iter().map(|m| m.id.clone()).collect();
        let finished = match timeout {
            None => done.await.is_ok(),
            Some(after) => tokio::time::timeout(after, done).await.is_ok(),
        };
        let answers = collector.take_answers();
        let mut replies: Vec<(usize, Id, Message)> = Vec::with_capacity(answers.len());
        let mut failures: Vec<(usize, Id, Error)> = Vec::new();
        let position = |member: &Id| members.iter().position(|m| m == member).unwrap_or(usize::MAX);
        for (member, answer) in answers {
            let at = position(&member);
            match answer {
                Ok(m) => replies.push((at, member, m)),
                Err(e) => failures.push((at, member, self.gone(e))),
            }
        }
        if !finished {
            let after = timeout.unwrap_or_default();
            for (at, m) in members.iter().enumerate() {
                let answered =
                    replies.iter().any(|r| r.0 == at) || failures.iter().any(|f| f.0 == at);
                if !answered {
                    self.inner.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                    failures.push((at, m.clone(), Error::Timeout { id, after }));
                }
            }
        }
        replies.sort_by_key(|r| r.0);
        failures.sort_by_key(|f| f.0);
        if failures.is_empty() {
            Ok(replies.into_iter().map(|(_, id, m)| (id, m)).collect())
        } else {
            Err(Error::Group(GroupError {
                group,
                succeeded: replies.len(),
                failures: failures.into_iter().map(|(_, id, e)| (id, e)).collect(),
            }))
        }
    }
}

/// Counts a request as pending for as long as its sender waits.
struct PendingGuard<'a>(&'a AtomicUsize);

impl<'a> PendingGuard<'a> {
    fn new(n: &'a AtomicUsize) -> PendingGuard<'a> {
        n.fetch_add(1, Ordering::AcqRel);
        PendingGuard(n)
    }
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

//! [`Inlet`]: where messages from another process enter the dispatcher.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::dispatcher::{Dispatcher, Route, RouteCache};
use crate::error::{Error, GroupError};
use crate::id::Id;
use crate::message::{InvalidMessage, Message};
use crate::reply::{Delivery, ReplySender};

/// Delivers messages that arrived from another process to the local
/// listeners they name (made by [`Dispatcher::inlet`]).
///
/// One inlet per connection reader: it remembers where the last message
/// went (a connection's messages mostly go to one destination, and the
/// route map's lock and hash cost more than the rest of the lookup), and
/// delivers straight into an idle listener in the caller's task (no hop
/// through the listener's task) when that keeps the listener's order.
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
/// use dispatchio_core::{Dispatcher, Message, ReplySender, Text};
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("echo", echo())?;
/// let mut inlet = dispatcher.inlet(); // one per connection reader
/// for n in 1..=3 {
///     // Messages as a connection's reader decodes them, each request's reply
///     // going back the way it came.
///     let (tx, rx) = tokio::sync::oneshot::channel();
///     let request = Message::new(Text(format!("#{n}"))).to("echo").with_id(n).requiring_response();
///     inlet.deliver(request, ReplySender::callback(n.into(), move |answer| drop(tx.send(answer))))?;
///     assert_eq!(rx.await??.content_as::<Text>().unwrap().0, format!("#{n}"));
/// }
/// # Ok(()) }
/// ```
pub struct Inlet {
    dispatcher: Dispatcher,
    cache: RouteCache,
}

impl std::fmt::Debug for Inlet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inlet").finish_non_exhaustive()
    }
}

impl Inlet {
    pub(super) fn new(dispatcher: Dispatcher) -> Inlet {
        Inlet { dispatcher, cache: RouteCache::default() }
    }

    /// The dispatcher it delivers to.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use dispatchio_core::Dispatcher;
    /// let dispatcher = Dispatcher::new();
    /// let inlet = dispatcher.inlet();
    /// assert!(!inlet.dispatcher().is_shut_down());
    /// dispatcher.shutdown().await;
    /// assert!(inlet.dispatcher().is_shut_down()); // the same dispatcher
    /// # }
    /// ```
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// Delivers `message` to the local listener it names, or to every local
    /// subscriber of its group; its answer goes to `reply`. A group request
    /// collects every local subscriber's answer: the reply is the first
    /// answer when all succeed, the failure itself when the group's only
    /// subscriber here failed, and [`Error::Group`] listing each failure
    /// otherwise. A one-way group message whose `reply` is
    /// [`ReplySender::unwanted_then`] is done with once every subscriber
    /// here is: `reply` is told then, of the failures gathered the same
    /// way (`None` when there were none).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`], [`Error::UnknownDestination`],
    /// [`Error::NoSubscribers`], [`Error::MailboxFull`], [`Error::Shutdown`];
    /// the error is also sent through `reply`.
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
    /// for member in ["ann", "bob"] {
    ///     dispatcher.register(member, echo())?;
    ///     dispatcher.subscribe(member, "All")?;
    /// }
    /// let mut inlet = dispatcher.inlet();
    /// // A group request from another process: one answer for the whole group here.
    /// let (tx, rx) = tokio::sync::oneshot::channel();
    /// let request = Message::new(Text::from("hi all")).to_group("All").with_id(9).requiring_response();
    /// inlet.deliver(request, ReplySender::callback(9.into(), move |answer| drop(tx.send(answer))))?;
    /// assert_eq!(rx.await??.content_as::<Text>().unwrap().0, "hi all");
    /// // Refused at once, and the refusal also goes back through the reply slot.
    /// let (tx, rx) = tokio::sync::oneshot::channel();
    /// let lost = Message::new(Text::from("hi")).to("nobody").with_id(10).requiring_response();
    /// let refused = inlet.deliver(lost, ReplySender::callback(10.into(), move |answer| drop(tx.send(answer))));
    /// assert!(matches!(refused, Err(Error::UnknownDestination(_))));
    /// assert!(matches!(rx.await?, Err(Error::UnknownDestination(_))));
    /// # Ok(()) }
    /// ```
    pub fn deliver(&mut self, message: Message, reply: ReplySender) -> Result<(), Error> {
        if let Err((e, reply)) = self.incoming(message, reply) {
            reply.send(Err(e.clone()));
            return Err(e);
        }
        Ok(())
    }

    fn incoming(
        &mut self,
        message: Message,
        reply: ReplySender,
    ) -> Result<(), (Error, ReplySender)> {
        let d = &self.dispatcher;
        if let Err(e) = message.envelope().validate() {
            return Err((e.into(), reply));
        }
        if d.is_shut_down() {
            return Err((Error::Shutdown, reply));
        }
        let env = message.envelope();
        if let Some(group) = env.group.clone() {
            let members = d.local_members(&group);
            if members.is_empty() {
                return Err((Error::NoSubscribers(group), reply));
            }
            if (env.response_required && reply.is_wanted()) || reply.tells_when_done() {
                deliver_group_request(d, group, members, message, reply);
                return Ok(());
            }
            for (_, route) in members {
                d.deliver_local(&route, message.clone(), ReplySender::unwanted());
            }
            return Ok(());
        }
        let Some(dest) = &env.dest else {
            return Err((InvalidMessage::NoDestination.into(), reply));
        };
        match d.local_route_cached(dest, &mut self.cache) {
            Some(route) => {
                // Straight into an idle listener when it can be (no hop
                // through its task); queued otherwise.
                let queued = match route {
                    Route::Local(mb) => match d.deliver_now(mb, Delivery { message, reply }) {
                        Ok(()) => return Ok(()),
                        Err(d) => d,
                    },
                    Route::Remote(_) => Delivery { message, reply },
                };
                // A refusal (a full mailbox) is the caller's to report.
                d.deliver_route(route, queued.message, queued.reply)
            }
            None => Err((Error::UnknownDestination(dest.clone()), reply)),
        }
    }
}

/// Delivers a group request to each local member, collecting every answer
/// into the one reply; or a one-way group message whose transport is told
/// when it is done with (`reply` is [`ReplySender::unwanted_then`]), each
/// member's slot then one-way too.
fn deliver_group_request(
    d: &Dispatcher,
    group: Id,
    members: Vec<(Id, Route)>,
    message: Message,
    reply: ReplySender,
) {
    let id = message.id();
    let one_way = reply.tells_when_done();
    let collect = Arc::new(GroupAnswers {
        state: Mutex::new(GroupState {
            remaining: members.len(),
            first: None,
            succeeded: 0,
            failures: Vec::new(),
            reply: Some(reply),
            group,
            one_way,
        }),
    });
    for (member, route) in members {
        let collect = collect.clone();
        let slot = if one_way {
            ReplySender::unwanted_then(move |refused| {
                collect.answer(member, refused.map_or(Ok(None), |e| Err(e.clone())));
            })
        } else {
            ReplySender::callback(id, move |answer| collect.answer(member, answer.map(Some)))
        };
        d.deliver_local(&route, message.clone(), slot);
    }
}

/// The answers of a group request from another process, from this
/// process's subscribers.
struct GroupAnswers {
    state: Mutex<GroupState>,
}

struct GroupState {
    remaining: usize,
    first: Option<Message>,
    succeeded: usize,
    failures: Vec<(Id, Error)>,
    reply: Option<ReplySender>,
    group: Id,
    /// A one-way message: no answer but the failures.
    one_way: bool,
}

impl GroupAnswers {
    /// `member`'s answer (`Ok(None)`: a one-way message done with).
    fn answer(&self, member: Id, answer: Result<Option<Message>, Error>) {
        let mut s = self.state.lock();
        match answer {
            Ok(m) => {
                s.succeeded += 1;
                if let Some(m) = m {
                    s.first.get_or_insert(m);
                }
            }
            Err(e) => s.failures.push((member, e)),
        }
        s.remaining = s.remaining.saturating_sub(1);
        if s.remaining > 0 {
            return;
        }
        let Some(reply) = s.reply.take() else { return };
        if s.one_way && s.failures.is_empty() {
            drop(s);
            // Dropped, a one-way slot tells its transport: done, no refusal.
            drop(reply);
            return;
        }
        let result = if s.failures.is_empty() {
            s.first.take().ok_or(Error::NoReply { id: reply.id() })
        } else if s.failures.len() == 1 && s.succeeded == 0 {
            // The only subscriber here failed: its error, as it is.
            Err(s.failures.remove(0).1)
        } else {
            Err(Error::Group(GroupError {
                group: s.group.clone(),
                failures: std::mem::take(&mut s.failures),
                succeeded: s.succeeded,
            }))
        };
        drop(s);
        reply.send(result);
    }
}

//! Deliveries and their replies: the message a listener is handed, and
//! where its answer goes (a waiting request, one member's slot in a group
//! request, a transport's callback, or nowhere).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::error::Error;
use crate::id::{Id, MessageId};
use crate::message::Message;

/// One message handed to a listener, with the way to answer it.
///
/// What a [`Listener`](crate::Listener) by hand gets; see its example. Built
/// by hand, as a transport does:
///
/// ```
/// use std::sync::mpsc;
/// use dispatchio_core::{Delivery, Message, MessageId, ReplySender, Text};
/// let (tx, rx) = mpsc::channel();
/// let request = Message::new(Text::from("ping")).to("echo").with_id(5);
/// let delivery = Delivery {
///     reply: ReplySender::callback(request.id(), move |answer| tx.send(answer).unwrap()),
///     message: request,
/// };
/// // What a listener does with it:
/// let reply = Message::reply_to(delivery.message.envelope(), delivery.message.content().clone(), None);
/// delivery.reply.send(Ok(reply));
/// assert_eq!(rx.recv().unwrap().unwrap().id(), MessageId(5));
/// ```
#[derive(Debug)]
pub struct Delivery {
    /// The message.
    pub message: Message,
    /// Where its reply goes (nowhere, when none is wanted).
    pub reply: ReplySender,
}

/// Where the reply to one message goes: a waiting request, one subscriber's
/// slot in a group request, a transport's callback, or nowhere.
///
/// Send exactly once. Dropped unsent while a reply is wanted, it answers with
/// [`Error::NoReply`], so a requester never waits on a reply that cannot come.
///
/// ```
/// use std::sync::mpsc;
/// use dispatchio_core::{Error, MessageId, ReplySender};
/// let (tx, rx) = mpsc::channel();
/// let reply = ReplySender::callback(MessageId(5), move |answer| tx.send(answer).unwrap());
/// drop(reply); // never sent: the requester is told, not left waiting
/// assert!(matches!(rx.recv().unwrap(), Err(Error::NoReply { id: MessageId(5) })));
/// ```
pub struct ReplySender {
    id: MessageId,
    kind: Option<ReplyKind>,
    /// Held while the message is unanswered; its drop releases a destination
    /// held by a blocking message. Boxed, as the group's slot is: every
    /// delivery carries a reply slot and is moved several times on its way
    /// to the listener, and only blocking messages and group requests need
    /// these (40 bytes a slot instead of 56).
    hold: Option<Box<Hold>>,
}

/// The hold a blocking message has on its destination.
///
/// Dropped when the message is answered (before the answer is handed over),
/// it marks the destination free at once, so a sender that got the answer
/// never finds the destination still held, and wakes the listener's task to
/// take the messages queued behind it.
pub(crate) struct Hold {
    /// The destination's "held by a blocking message" flag.
    pub(crate) blocked: Arc<AtomicBool>,
    /// Dropped (never sent on) to wake the listener's task.
    #[expect(dead_code, reason = "held for its drop, which wakes the listener's task")]
    pub(crate) release: oneshot::Sender<()>,
}

impl Drop for Hold {
    fn drop(&mut self) {
        // Before `release` is dropped (fields drop after this): the task that
        // wakes finds the flag already cleared.
        self.blocked.store(false, Ordering::Release);
    }
}

type Answer = Result<Message, Error>;

/// What [`ReplySender::unwanted_then`] calls: the error a refusal was
/// answered with, if any.
type Done = Box<dyn FnOnce(Option<&Error>) + Send>;

enum ReplyKind {
    Unwanted,
    /// Unwanted, but the transport that delivered the message is told when
    /// it is done with (and of the error it was refused with, if any).
    UnwantedThen(Done),
    Oneshot(oneshot::Sender<Answer>),
    Group(Box<(Arc<GroupCollector>, Id)>),
    Callback(Box<dyn FnOnce(Answer) + Send>),
}

impl ReplySender {
    /// No reply is wanted.
    ///
    /// ```
    /// use dispatchio_core::{Empty, Message, ReplySender};
    /// let reply = ReplySender::unwanted();
    /// assert!(!reply.is_wanted() && reply.id().is_unset());
    /// reply.send(Ok(Message::new(Empty))); // goes nowhere
    /// ```
    pub fn unwanted() -> ReplySender {
        ReplySender { id: MessageId::UNSET, kind: Some(ReplyKind::Unwanted), hold: None }
    }

    /// No reply is wanted, but `f` is called once the message is done with:
    /// handled (its handler returned, or it was queued or forwarded), or
    /// refused or abandoned. `f` gets the error a refusal was answered with
    /// (`MailboxFull`, `UnknownDestination`, `Dropped`, ...), and `None`
    /// otherwise; a message abandoned at shutdown gets `None` too (check
    /// [`Dispatcher::is_shut_down`](crate::Dispatcher::is_shut_down)). The
    /// listener treats the message as one-way in every other respect.
    ///
    /// A transport that acknowledges what it received once it is handled
    /// (NATS JetStream) uses this for one-way messages. Given to
    /// [`Inlet::deliver`](crate::transport::Inlet::deliver) with a group
    /// message, `f` is called once every local member is done with it,
    /// with the refusal as [`Inlet::deliver`](crate::transport::Inlet::deliver)
    /// reports a group request's failures.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use dispatchio_core::{Error, Id, ReplySender};
    /// let (tx, rx) = mpsc::channel();
    /// let reply = ReplySender::unwanted_then(move |refused| tx.send(refused.map(|e| e.to_string())).unwrap());
    /// assert!(!reply.is_wanted());
    /// reply.send(Err(Error::UnknownDestination(Id::from("gone"))));
    /// assert_eq!(rx.recv().unwrap().as_deref(), Some(r#"no listener is registered for destination "gone""#));
    /// ```
    pub fn unwanted_then(f: impl FnOnce(Option<&Error>) + Send + 'static) -> ReplySender {
        ReplySender {
            id: MessageId::UNSET,
            kind: Some(ReplyKind::UnwantedThen(Box::new(f))),
            hold: None,
        }
    }

    /// The reply to message `id` is handed to `f` (transports use this to send
    /// replies back over their link).
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use dispatchio_core::{Message, MessageId, ReplySender, Text};
    /// let (tx, rx) = mpsc::channel();
    /// let reply = ReplySender::callback(MessageId(5), move |answer| tx.send(answer).unwrap());
    /// assert!(reply.is_wanted() && reply.id() == MessageId(5));
    /// reply.send(Ok(Message::new(Text::from("pong")).with_id(5)));
    /// assert_eq!(rx.recv().unwrap().unwrap().content_as::<Text>().unwrap().0, "pong");
    /// ```
    pub fn callback(
        id: MessageId,
        f: impl FnOnce(Result<Message, Error>) + Send + 'static,
    ) -> ReplySender {
        ReplySender { id, kind: Some(ReplyKind::Callback(Box::new(f))), hold: None }
    }

    pub(crate) fn oneshot(id: MessageId) -> (ReplySender, oneshot::Receiver<Answer>) {
        let (tx, rx) = oneshot::channel();
        (ReplySender { id, kind: Some(ReplyKind::Oneshot(tx)), hold: None }, rx)
    }

    pub(crate) fn group(id: MessageId, collector: Arc<GroupCollector>, member: Id) -> ReplySender {
        ReplySender { id, kind: Some(ReplyKind::Group(Box::new((collector, member)))), hold: None }
    }

    /// The ID of the message this answers.
    ///
    /// ```
    /// use dispatchio_core::{MessageId, ReplySender};
    /// assert_eq!(ReplySender::callback(MessageId(9), |_| {}).id(), MessageId(9));
    /// assert!(ReplySender::unwanted().id().is_unset());
    /// ```
    pub fn id(&self) -> MessageId {
        self.id
    }

    /// Whether somebody waits for the reply.
    ///
    /// ```
    /// use dispatchio_core::{MessageId, ReplySender};
    /// assert!(ReplySender::callback(MessageId(9), |_| {}).is_wanted());
    /// assert!(!ReplySender::unwanted().is_wanted());
    /// assert!(!ReplySender::unwanted_then(|_| {}).is_wanted());
    /// ```
    pub fn is_wanted(&self) -> bool {
        match &self.kind {
            Some(ReplyKind::Unwanted | ReplyKind::UnwantedThen(_)) | None => false,
            Some(ReplyKind::Oneshot(tx)) => !tx.is_closed(),
            Some(_) => true,
        }
    }

    /// Whether this is [`unwanted_then`](Self::unwanted_then): one-way,
    /// with a transport to tell when the message is done with.
    pub(crate) fn tells_when_done(&self) -> bool {
        matches!(self.kind, Some(ReplyKind::UnwantedThen(_)))
    }

    /// Whether this is [`unwanted`](Self::unwanted): sending to it does
    /// nothing, so a reply need not even be built.
    pub(crate) fn is_unwanted(&self) -> bool {
        matches!(self.kind, Some(ReplyKind::Unwanted | ReplyKind::UnwantedThen(_)))
    }

    /// Whether the message holds its destination until answered (blocking).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::{Arc, Mutex};
    /// use dispatchio_core::{Context, Delivery, Dispatcher, Empty, Listener, Message};
    /// struct Peek(Arc<Mutex<Vec<bool>>>);
    /// impl Listener for Peek {
    ///     fn deliver(&self, d: Delivery, _: &mut Context<'_>) {
    ///         if d.message.ty() == "Empty" {
    ///             self.0.lock().unwrap().push(d.reply.holds());
    ///         }
    ///         d.reply.send(Ok(Message::reply_to(d.message.envelope(), Arc::new(Empty), None)));
    ///     }
    /// }
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("peek", Arc::new(Peek(seen.clone())))?;
    /// dispatcher.send(Message::new(Empty).to("peek").blocking())?;
    /// dispatcher.send(Message::new(Empty).to("peek"))?;
    /// dispatcher.flush("peek").await?;
    /// assert_eq!(*seen.lock().unwrap(), [true, false]); // only the blocking one holds
    /// # Ok(()) }
    /// ```
    pub fn holds(&self) -> bool {
        self.hold.is_some()
    }

    pub(crate) fn hold(&mut self, guard: Hold) {
        self.hold = Some(Box::new(guard));
    }

    /// Sends the reply (a no-op when none is wanted).
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use dispatchio_core::{Error, MessageId, ReplySender};
    /// let (tx, rx) = mpsc::channel();
    /// let reply = ReplySender::callback(MessageId(5), move |answer| tx.send(answer).unwrap());
    /// reply.send(Err(Error::Shutdown)); // an error is an answer too
    /// assert!(matches!(rx.recv().unwrap(), Err(Error::Shutdown)));
    /// assert!(rx.try_recv().is_err()); // answered exactly once
    /// ```
    pub fn send(mut self, answer: Result<Message, Error>) {
        // The destination is free before the sender learns the answer.
        self.hold = None;
        if let Some(kind) = self.kind.take() {
            deliver(kind, answer);
        }
    }
}

fn deliver(kind: ReplyKind, answer: Answer) {
    match kind {
        ReplyKind::Unwanted => {}
        ReplyKind::UnwantedThen(f) => f(answer.as_ref().err()),
        ReplyKind::Oneshot(tx) => {
            // The requester may have given up (timeout); nothing to do then.
            let _ = tx.send(answer);
        }
        ReplyKind::Group(slot) => {
            let (collector, member) = *slot;
            collector.report(member, answer)
        }
        ReplyKind::Callback(f) => f(answer),
    }
}

impl Drop for ReplySender {
    #[inline]
    fn drop(&mut self) {
        if self.hold.is_none() && matches!(self.kind, None | Some(ReplyKind::Unwanted)) {
            // Sent, or nobody to tell: every one-way message ends here.
            return;
        }
        self.hold = None;
        match self.kind.take() {
            // Nobody to tell (every one-way message ends here).
            None | Some(ReplyKind::Unwanted) => {}
            Some(ReplyKind::UnwantedThen(f)) => f(None),
            Some(kind) => deliver(kind, Err(Error::NoReply { id: self.id })),
        }
    }
}

impl std::fmt::Debug for ReplySender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            None => "sent",
            Some(ReplyKind::Unwanted) => "unwanted",
            Some(ReplyKind::UnwantedThen(_)) => "unwanted, with a callback when done",
            Some(ReplyKind::Oneshot(_)) => "request",
            Some(ReplyKind::Group(..)) => "group",
            Some(ReplyKind::Callback(_)) => "callback",
        };
        f.debug_struct("ReplySender")
            .field("id", &self.id)
            .field("kind", &kind)
            .field("holds", &self.holds())
            .finish()
    }
}

/// Collects the replies of a group request.
pub(crate) struct GroupCollector {
    state: Mutex<GroupState>,
}

struct GroupState {
    answers: Vec<(Id, Result<Message, Error>)>,
    remaining: usize,
    done: Option<oneshot::Sender<()>>,
}

impl GroupCollector {
    pub(crate) fn new(members: usize) -> (Arc<GroupCollector>, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let c = GroupCollector {
            state: Mutex::new(GroupState {
                answers: Vec::with_capacity(members),
                remaining: members,
                done: Some(tx),
            }),
        };
        (Arc::new(c), rx)
    }

    /// The answers so far, taken (the request stops waiting).
    pub(crate) fn take_answers(&self) -> Vec<(Id, Result<Message, Error>)> {
        std::mem::take(&mut self.state.lock().answers)
    }

    pub(crate) fn report(&self, member: Id, answer: Result<Message, Error>) {
        let mut s = self.state.lock();
        s.answers.push((member, answer));
        s.remaining = s.remaining.saturating_sub(1);
        if s.remaining == 0 {
            if let Some(done) = s.done.take() {
                let _ = done.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn told() -> (ReplySender, Arc<Mutex<Vec<Option<String>>>>) {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let log = calls.clone();
        let rs = ReplySender::unwanted_then(move |e| log.lock().push(e.map(|e| e.to_string())));
        (rs, calls)
    }

    #[test]
    fn an_unwanted_then_slot_is_one_way_and_tells_once_when_dropped() {
        let (rs, calls) = told();
        assert!(!rs.is_wanted() && rs.is_unwanted());
        drop(rs);
        assert_eq!(*calls.lock(), [None]);
    }

    #[test]
    fn an_unwanted_then_slot_refused_with_an_error_passes_the_error_on() {
        let (rs, calls) = told();
        rs.send(Err(Error::Shutdown));
        assert_eq!(*calls.lock(), [Some(Error::Shutdown.to_string())]);
    }
}

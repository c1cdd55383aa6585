//! Synchronous sends: handled in the sender's thread, answered at once.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Dispatcher, GroupReplies, Listener, Mailbox, Route, SyncContext};
use crate::error::{Error, GroupError, SyncError};
use crate::id::Id;
use crate::message::{InvalidMessage, Message};

thread_local! {
    /// Listeners handling a synchronous send on this thread, innermost last.
    static SYNC_STACK: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// The address of a listener object, for the re-entrancy check.
fn addr(l: &Arc<dyn Listener>) -> usize {
    Arc::as_ptr(l) as *const () as usize
}

impl Dispatcher {
    /// Handles the message in the caller's thread, through the listener's
    /// synchronous path, and returns the reply at once: the handler's content,
    /// or an empty acknowledgement ([`Empty`](crate::Empty)). A group message goes to each
    /// member in turn; the result is then an acknowledgement or
    /// [`Error::Group`].
    ///
    /// It does not wait behind messages already queued for the listener (that
    /// would not be "at once"): only order among asynchronous sends is kept.
    ///
    /// # Errors
    ///
    /// [`Error::Sync`] when it cannot be done synchronously: an `async`
    /// handler ([`SyncError::AsyncHandler`]), a deferred reply, a remote
    /// destination, a destination held by a blocking message, or a call from
    /// inside the same listener's synchronous handling (which would
    /// deadlock). Also the handler's error, unrouted and dropped messages,
    /// and what [`send`](Self::send) reports.
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
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("echo", echo())?;
    /// // No `.await`: the handler ran in this thread before `send_sync` returned.
    /// let reply = dispatcher.send_sync(Message::new(Text::from("ping")).to("echo"))?;
    /// assert_eq!(reply.content_as::<Text>().unwrap().0, "ping");
    /// # Ok(()) }
    /// ```
    pub fn send_sync(&self, mut msg: Message) -> Result<Message, Error> {
        msg.envelope_mut().sync = true;
        self.prepare(&mut msg)?;
        if let Some(group) = msg.envelope().group.clone() {
            let env = msg.envelope().clone();
            self.sync_group(&group, msg)?;
            return Ok(self.ack(&env, None));
        }
        let dest = msg.envelope().dest.clone().ok_or(InvalidMessage::NoDestination)?;
        let env = msg.envelope().clone();
        match self.sync_to(&dest, msg)? {
            Some(reply) => Ok(reply),
            None => Ok(self.ack(&env, Some(&dest))),
        }
    }

    pub(super) fn sync_group(&self, group: &Id, msg: Message) -> Result<GroupReplies, Error> {
        let members = self.members(group)?;
        let (mut ok, mut failures) = (Vec::new(), Vec::new());
        for m in members.iter() {
            let result = match &m.route {
                Route::Local(mb) => self.sync_mailbox(mb, &m.id, msg.clone()),
                Route::Remote(_) => Err(Error::Sync(SyncError::Remote)),
            };
            match result {
                Ok(Some(r)) => ok.push((m.id.clone(), r)),
                Ok(None) => ok.push((m.id.clone(), self.ack(msg.envelope(), Some(&m.id)))),
                Err(e) => failures.push((m.id.clone(), e)),
            }
        }
        if failures.is_empty() {
            Ok(ok)
        } else {
            Err(Error::Group(GroupError { group: group.clone(), failures, succeeded: ok.len() }))
        }
    }

    pub(crate) fn sync_to(&self, dest: &Id, msg: Message) -> Result<Option<Message>, Error> {
        let route = self.route_of(dest).or_else(|| self.fallback());
        match route {
            None => {
                self.note_undeliverable(&msg, "unknown destination");
                Err(Error::UnknownDestination(dest.clone()))
            }
            Some(Route::Remote(_)) => Err(Error::Sync(SyncError::Remote)),
            Some(Route::Local(mb)) => self.sync_mailbox(&mb, dest, msg),
        }
    }

    fn sync_mailbox(
        &self,
        mb: &Mailbox,
        dest: &Id,
        msg: Message,
    ) -> Result<Option<Message>, Error> {
        if mb.state.blocked.load(Ordering::Acquire) {
            return Err(Error::Sync(SyncError::Blocked));
        }
        let me = addr(&mb.listener);
        let reentrant = SYNC_STACK.with(|s| {
            let mut s = s.borrow_mut();
            if s.contains(&me) {
                true
            } else {
                s.push(me);
                false
            }
        });
        if reentrant {
            return Err(Error::Sync(SyncError::Reentrant));
        }
        // Pops even if the handler panics, so the thread stays usable.
        struct Pop;
        impl Drop for Pop {
            fn drop(&mut self) {
                SYNC_STACK.with(|s| s.borrow_mut().pop());
            }
        }
        let _pop = Pop;
        mb.listener.deliver_sync(msg, &SyncContext { dispatcher: self, me: Some(dest) })
    }
}

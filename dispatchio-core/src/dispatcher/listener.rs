//! What the dispatcher delivers to: the [`Listener`] trait, and what a
//! listener may use while it handles a delivery.

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;

use super::Dispatcher;
use crate::error::{Error, SyncError};
use crate::id::{Id, SharedStr};
use crate::message::Message;
use crate::queue::Queue;
use crate::reply::Delivery;
use crate::routing::Fired;

/// What a listener may use while handling a delivery in its task.
pub struct Context<'a> {
    pub(crate) dispatcher: &'a Dispatcher,
    pub(crate) me: Option<&'a Id>,
    pub(crate) inflight: &'a mut FuturesUnordered<BoxFuture<'static, ()>>,
    pub(crate) pool: &'a mut Vec<Fired>,
}

impl Context<'_> {
    /// The dispatcher delivering the message.
    pub fn dispatcher(&self) -> &Dispatcher {
        self.dispatcher
    }

    /// The destination ID the listener is registered under.
    pub fn me(&self) -> Option<&Id> {
        self.me
    }

    /// Runs `work` concurrently with the listener's later messages, inside the
    /// listener's task (no `tokio::spawn`, and it stops with the listener).
    pub fn spawn(&mut self, work: impl Future<Output = ()> + Send + 'static) {
        self.inflight.push(Box::pin(work));
    }

    /// A cleared [`Fired`] buffer from the task's pool (no allocation once warm).
    pub fn take_fired(&mut self) -> Fired {
        let mut f = self.pool.pop().unwrap_or_default();
        f.clear();
        f
    }

    /// Returns a buffer taken with [`take_fired`](Self::take_fired).
    pub fn give_back(&mut self, fired: Fired) {
        self.pool.push(fired);
    }
}

/// What a listener may use while handling a synchronous send, in the
/// sender's thread.
pub struct SyncContext<'a> {
    pub(crate) dispatcher: &'a Dispatcher,
    pub(crate) me: Option<&'a Id>,
}

impl SyncContext<'_> {
    /// The dispatcher delivering the message.
    pub fn dispatcher(&self) -> &Dispatcher {
        self.dispatcher
    }

    /// The destination ID the listener is registered under.
    pub fn me(&self) -> Option<&Id> {
        self.me
    }
}

/// Something that takes messages: registered with a dispatcher under a
/// destination ID, or chained to by other listeners.
pub trait Listener: Send + Sync + 'static {
    /// Handles one delivery, in the listener's task (or, for a message read
    /// from another process while the listener is idle, in the link's
    /// reader: still one delivery at a time, in order). Must not block:
    /// work that waits goes into [`Context::spawn`]. The delivery's reply
    /// must be sent (or the [`ReplySender`](crate::ReplySender) dropped) when the message is
    /// answered.
    fn deliver(&self, delivery: Delivery, cx: &mut Context<'_>);

    /// Handles a synchronous send in the sender's thread: `Ok(Some(reply))`,
    /// `Ok(None)` when handled with nothing to say, or an error.
    ///
    /// # Errors
    ///
    /// [`Error::Sync`] when the message cannot be handled synchronously (the
    /// default: [`SyncError::NotSupported`]), or the handling's own error.
    fn deliver_sync(
        &self,
        message: Message,
        cx: &SyncContext<'_>,
    ) -> Result<Option<Message>, Error> {
        let _ = (message, cx);
        Err(Error::Sync(SyncError::NotSupported))
    }

    /// The listener's named queues, for introspection.
    fn queues(&self) -> Vec<Queue> {
        Vec::new()
    }

    /// How many messages each of its rules matched, by rule name in rule
    /// order, for introspection ([`Snapshot::rule_hits`](crate::Snapshot::rule_hits));
    /// empty for a listener that does not route by rules (the default).
    fn rule_hits(&self) -> Vec<(SharedStr, u64)> {
        Vec::new()
    }

    /// Called once the listener will get no more messages (deregistered and
    /// drained, or shut down). Closes its queues by default.
    fn close(&self) {
        for q in self.queues() {
            q.close();
        }
    }
}

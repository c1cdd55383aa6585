//! A listener's mailbox and its executor: the queue senders fill, and the
//! task that takes deliveries in order, runs asynchronous work beside them
//! and holds the queue behind a blocking message. A connection's reader
//! may deliver into an idle listener in its place ([`direct`]).

mod direct;
mod inbox;
mod task;

pub(super) use task::{Flush, run_mailbox};

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::task::AtomicWaker;
use parking_lot::Mutex;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

use super::Listener;
use crate::id::Id;
use crate::reply::{Delivery, Hold};
use crate::routing::Fired;
use inbox::Inbox;

pub(crate) struct Mailbox {
    pub(in crate::dispatcher) dest: Id,
    /// The bound, as senders see it: here rather than only in the shared
    /// state, whose lock the listener's thread keeps writing (reading it
    /// from there would move that cache line for every send).
    pub(in crate::dispatcher) bound: Option<Arc<Bound>>,
    pub(in crate::dispatcher) listener: Arc<dyn Listener>,
    pub(in crate::dispatcher) state: Arc<MailboxState>,
    pub(in crate::dispatcher) task: Mutex<Option<JoinHandle<()>>>,
    /// Set once the destination is deregistered: a [`Destination`] handle
    /// that still holds the mailbox then looks the destination up again
    /// instead of handing it more messages.
    ///
    /// [`Destination`]: crate::dispatcher::Destination
    pub(in crate::dispatcher) retired: AtomicBool,
}

/// The mailbox is what senders hold: once the last holder lets go (the
/// destination deregistered, nothing else holding its route), the task
/// takes what is left and ends.
impl Drop for Mailbox {
    fn drop(&mut self) {
        self.state.inbox.senders_gone();
        self.state.task.wake();
    }
}

pub(in crate::dispatcher) struct MailboxState {
    /// What senders queue for the listener.
    inbox: Inbox,
    /// Held by an unanswered blocking message; cleared by its answer
    /// ([`Hold`]).
    pub(in crate::dispatcher) blocked: Arc<AtomicBool>,
    /// What consumes the mailbox: its queue's receiving end and the
    /// listener's in-flight work. The listener's task holds it while it
    /// delivers; a message from another process may be delivered by the
    /// link's reader itself while it holds it (see
    /// [`Dispatcher::deliver_now`]), so that one listener never handles two
    /// messages at once, whoever delivers them.
    consumer: Mutex<Consumer>,
    /// The listener's task, to wake when a direct delivery left work for it
    /// (async steps to poll, a blocking message to watch) or kept it from
    /// the consumer.
    task: AtomicWaker,
    /// Set by the task when it found the consumer taken by a direct delivery.
    missed: AtomicBool,
    /// The mailbox's bound, for a listener registered bounded.
    bound: Option<Arc<Bound>>,
}

/// The bound of a bounded mailbox, counted beside its channel.
///
/// Counted by hand rather than with tokio's bounded channel: an unbounded
/// mailbox (the default) then pays nothing for bounds it does not have,
/// and a sender that must not wait is refused with one compare-and-swap
/// instead of a semaphore's lock.
pub(in crate::dispatcher) struct Bound {
    pub(in crate::dispatcher) capacity: usize,
    /// Deliveries queued and not yet taken by the listener's task.
    pub(in crate::dispatcher) queued: AtomicUsize,
    /// Wakes senders waiting for room ([`Dispatcher::send_wait`]): one per
    /// delivery taken, every one when the mailbox closes.
    pub(in crate::dispatcher) room: Notify,
}

impl Bound {
    /// Takes a place in the queue, if one is free.
    fn reserve(&self) -> bool {
        self.queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.capacity).then_some(n + 1)
            })
            .is_ok()
    }

    /// Gives a place back: a delivery left the queue (or never entered it).
    fn release(&self) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
        self.room.notify_one();
    }
}

/// Why a mailbox did not take a delivery.
pub(in crate::dispatcher) enum Refusal {
    Full(usize),
    Closed,
}

struct Consumer {
    /// Deliveries taken from the inbox in one go, delivered in order from
    /// here.
    batch: VecDeque<Delivery>,
    /// Set once the task ended: nothing is delivered any more.
    ended: bool,
    inflight: FuturesUnordered<BoxFuture<'static, ()>>,
    pool: Vec<Fired>,
    /// Released when the blocking message being held is answered.
    held: Option<oneshot::Receiver<()>>,
    /// A flush the task reached: answered once the work in flight is done;
    /// until then the task takes nothing new.
    flushing: Option<Delivery>,
    /// Direct deliveries left before the next one is timed.
    until_timed: u32,
    /// Messages still to queue (not deliver directly) since a handler was
    /// found slow.
    queue_only: u32,
}

impl MailboxState {
    pub(in crate::dispatcher) fn new(bound: Option<Arc<Bound>>) -> MailboxState {
        MailboxState {
            inbox: Inbox::new(),
            blocked: Arc::new(AtomicBool::new(false)),
            consumer: Mutex::new(Consumer {
                batch: VecDeque::new(),
                ended: false,
                inflight: FuturesUnordered::new(),
                pool: Vec::new(),
                held: None,
                flushing: None,
                until_timed: 0,
                queue_only: 0,
            }),
            task: AtomicWaker::new(),
            missed: AtomicBool::new(false),
            bound,
        }
    }

    /// Whether the listener may take another delivery: a bounded mailbox
    /// takes none while `capacity` asynchronous handlers are running.
    fn may_take(&self, inflight: &FuturesUnordered<BoxFuture<'static, ()>>) -> bool {
        // Only a bounded mailbox counts its work in flight.
        self.bound.as_ref().is_none_or(|b| inflight.len() < b.capacity)
    }

    /// A delivery left the queue.
    fn took(&self) {
        if let Some(b) = &self.bound {
            b.release();
        }
    }
}

impl Mailbox {
    /// Queues a delivery, or gives it back: the mailbox is full, or its
    /// task is gone.
    #[allow(
        clippy::result_large_err,
        reason = "the refused delivery goes back unboxed; refusal is the rare path"
    )]
    #[inline]
    pub(in crate::dispatcher) fn offer(
        &self,
        delivery: Delivery,
    ) -> Result<(), (Refusal, Delivery)> {
        let bound = self.bound.as_deref();
        if let Some(b) = bound {
            if !b.reserve() {
                return Err((Refusal::Full(b.capacity), delivery));
            }
        }
        match self.state.inbox.push(delivery) {
            Ok(was_empty) => {
                // Anything queued behind another delivery is taken with
                // it: only the first one wakes the task.
                if was_empty {
                    self.state.task.wake();
                }
                Ok(())
            }
            Err(delivery) => {
                if let Some(b) = bound {
                    b.release();
                }
                Err((Refusal::Closed, delivery))
            }
        }
    }

    /// [`offer`](Self::offer), waiting while the mailbox is full; gives the
    /// delivery back only when the mailbox closed or the dispatcher shut
    /// down.
    pub(in crate::dispatcher) async fn offer_waiting(
        &self,
        closed: &AtomicBool,
        mut delivery: Delivery,
    ) -> Result<(), Delivery> {
        let Some(bound) = self.bound.as_deref() else {
            return self.offer(delivery).map_err(|(_, d)| d);
        };
        loop {
            // Registered before the look, so room made after it wakes us.
            let room = bound.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            match self.offer(delivery) {
                Ok(()) => return Ok(()),
                Err((Refusal::Closed, d)) => return Err(d),
                Err((Refusal::Full(_), d)) => delivery = d,
            }
            if closed.load(Ordering::Acquire) || !self.state.inbox.is_open() {
                return Err(delivery);
            }
            room.await;
        }
    }

    /// Wakes every sender waiting for room: the mailbox is closing.
    pub(in crate::dispatcher) fn wake_waiting(&self) {
        if let Some(b) = &self.bound {
            b.room.notify_waiters();
        }
    }
}

/// Makes `delivery` hold its destination until it is answered.
fn hold(c: &mut Consumer, state: &MailboxState, delivery: &mut Delivery) {
    let (release, rx) = oneshot::channel();
    state.blocked.store(true, Ordering::Release);
    delivery.reply.hold(Hold { blocked: state.blocked.clone(), release });
    c.held = Some(rx);
}

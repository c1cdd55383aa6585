//! The queue senders fill and the listener's task empties, a batch at a
//! time.
//!
//! Written here rather than taken from tokio's unbounded channel (which
//! the mailbox used before): a channel hands its receiver one message per
//! call, through a slot of its block list, so every delivery was copied
//! several times on its way out (about 7 copies of its 168 bytes, 10 % of
//! a one-way message's instructions under callgrind) and paid the
//! channel's own bookkeeping (its semaphore, block list and waker) twice.
//! Here a send appends under a short lock, and the task takes everything
//! queued in one swap of the queue (the batch hand-off), then delivers
//! from its own buffer without touching what senders share.

use std::collections::VecDeque;

use parking_lot::Mutex;

use crate::reply::Delivery;

/// The capacity a drained buffer keeps: a burst of a million messages
/// must not hold a million slots once it is handled.
const KEEP: usize = 1024;

pub(super) struct Inbox {
    queue: Mutex<Queue>,
}

struct Queue {
    items: VecDeque<Delivery>,
    /// The listener's task still takes deliveries; once it ended, sends
    /// fail instead of queueing for nobody.
    open: bool,
    /// Some sender may still send (the mailbox exists); once none can and
    /// the queue is empty, the task ends.
    senders: bool,
}

/// What [`Inbox::take`] found.
pub(super) enum Took {
    /// Deliveries moved into the caller's buffer, in order.
    Some,
    /// Nothing queued; the task is woken by the next send.
    Empty,
    /// Nothing queued and nobody left to send.
    Closed,
}

impl Inbox {
    pub(super) fn new() -> Inbox {
        Inbox { queue: Mutex::new(Queue { items: VecDeque::new(), open: true, senders: true }) }
    }

    /// Appends a delivery; whether the queue was empty (the task must be
    /// woken: it wakes by itself for anything queued behind another). Gives
    /// the delivery back when the listener's task has ended.
    #[allow(
        clippy::result_large_err,
        reason = "the refused delivery goes back unboxed; refusal is the rare path"
    )]
    #[inline]
    pub(super) fn push(&self, delivery: Delivery) -> Result<bool, Delivery> {
        let mut q = self.queue.lock();
        if !q.open {
            return Err(delivery);
        }
        let was_empty = q.items.is_empty();
        q.items.push_back(delivery);
        Ok(was_empty)
    }

    /// Moves everything queued into `batch` (empty), in one swap.
    pub(super) fn take(&self, batch: &mut VecDeque<Delivery>) -> Took {
        debug_assert!(batch.is_empty());
        if batch.capacity() > KEEP {
            batch.shrink_to(KEEP);
        }
        let mut q = self.queue.lock();
        if !q.items.is_empty() {
            // The task's emptied buffer goes to the senders, so a steady
            // flow allocates nothing.
            std::mem::swap(&mut q.items, batch);
            return Took::Some;
        }
        if q.senders { Took::Empty } else { Took::Closed }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.queue.lock().items.is_empty()
    }

    pub(super) fn is_open(&self) -> bool {
        self.queue.lock().open
    }

    /// The task ended: later sends fail. Gives back what was still queued,
    /// for the caller to drop outside the lock (a dropped reply slot
    /// answers its requester, which may run a transport's callback).
    pub(super) fn close(&self) -> VecDeque<Delivery> {
        let mut q = self.queue.lock();
        q.open = false;
        std::mem::take(&mut q.items)
    }

    /// The last sender is gone: the task ends once the queue is empty.
    pub(super) fn senders_gone(&self) {
        self.queue.lock().senders = false;
    }
}

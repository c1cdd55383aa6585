//! Direct delivery: a connection's reader hands a message to an idle
//! listener itself, without the hop through the listener's task.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use parking_lot::MutexGuard;

use super::{Consumer, Mailbox, hold};
use crate::dispatcher::{Context, Dispatcher};
use crate::reply::Delivery;

/// Direct deliveries between two timed ones: reading the clock for every
/// message would cost more than the hop it saves.
const TIME_EVERY: u32 = 16;

/// A direct delivery slower than this means a slow handler: the link's
/// reader must not wait for it, since the link also carries other
/// destinations' messages.
const SLOW_HANDLER: Duration = Duration::from_micros(200);

/// Messages queued (not delivered directly) after a slow handler was seen.
const QUEUE_AFTER_SLOW: u32 = 4096;

impl Dispatcher {
    /// Delivers a message from another process in the caller's task when
    /// the listener is idle: nothing queued for it, nothing held by a
    /// blocking message, its task not delivering. That saves the hand-off
    /// to the listener's task (a queue operation, a wake-up, often another
    /// thread) for every message a link reads. Gives the delivery back when
    /// it must be queued instead.
    ///
    /// Order holds: everything queued before was delivered (the queue is
    /// empty, checked under the consumer's lock, which the task holds while
    /// it delivers), and a delivery given back is queued behind them.
    /// Async steps the listener starts are polled by its task (woken here).
    /// A handler found slow turns direct delivery off for a while, so that
    /// the link's reader keeps reading for other destinations.
    #[allow(
        clippy::result_large_err,
        reason = "the refused delivery goes back unboxed, to be queued"
    )]
    pub(crate) fn deliver_now(&self, mb: &Mailbox, delivery: Delivery) -> Result<(), Delivery> {
        let state = &*mb.state;
        let Some(consumer) = state.consumer.try_lock() else { return Err(delivery) };
        let (result, task_has_work) = self.deliver_holding(mb, consumer, delivery);
        // The consumer is free again, on every path (a delivery given back
        // too): a task that found it taken meanwhile gave up its turn
        // (`missed`), and may have nothing else to wake it: its queue's
        // wake-up was spent on the turn it gave up. A plain load first:
        // the flag is rarely set, and a swap on every message costs a
        // locked instruction.
        let missed =
            state.missed.load(Ordering::SeqCst) && state.missed.swap(false, Ordering::SeqCst);
        if task_has_work || missed {
            state.task.wake();
        }
        result
    }

    /// [`deliver_now`](Self::deliver_now) once the consumer is held:
    /// delivers unless the listener is busy, and releases the consumer.
    /// Also says whether the delivery left work for the listener's task.
    fn deliver_holding(
        &self,
        mb: &Mailbox,
        mut consumer: MutexGuard<'_, Consumer>,
        mut delivery: Delivery,
    ) -> (Result<(), Delivery>, bool) {
        let state = &*mb.state;
        let c = &mut *consumer;
        if c.queue_only > 0 {
            c.queue_only -= 1;
            return (Err(delivery), false);
        }
        let idle = c.held.is_none()
            && c.flushing.is_none()
            && !c.ended
            && c.batch.is_empty()
            && state.inbox.is_empty()
            && state.may_take(&c.inflight);
        if !idle || self.is_shut_down() {
            return (Err(delivery), false);
        }
        if delivery.message.envelope().blocking {
            hold(c, state, &mut delivery);
        }
        let inflight = c.inflight.len();
        let started = (c.until_timed == 0).then(Instant::now);
        let mut lcx = Context {
            dispatcher: self,
            me: Some(&mb.dest),
            inflight: &mut c.inflight,
            pool: &mut c.pool,
        };
        // A listener that panics must not take the link's reader with it
        // (in its own task it would only have ended that task); the
        // delivery's reply slot is dropped, so a requester hears `NoReply`.
        let delivered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            mb.listener.deliver(delivery, &mut lcx);
        }));
        if delivered.is_err() {
            self.inner.counters.handler_errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(dest = %mb.dest, "a listener panicked while delivering a message");
        }
        match started {
            Some(t) => {
                c.until_timed = TIME_EVERY;
                if t.elapsed() > SLOW_HANDLER {
                    c.queue_only = QUEUE_AFTER_SLOW;
                }
            }
            None => c.until_timed -= 1,
        }
        // New async work must be polled once to start; a hold must be
        // watched to be released: both are the task's job.
        (Ok(()), c.inflight.len() != inflight || c.held.is_some())
    }
}

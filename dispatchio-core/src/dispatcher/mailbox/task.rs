//! The listener's task: takes deliveries in order, in batches, within a
//! time budget per poll.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures::StreamExt;

use super::inbox::Took;
use super::{MailboxState, hold};
use crate::dispatcher::{Context, Dispatcher, Inner, Listener};
use crate::id::Id;

/// Deliveries a listener's task takes in one go before it looks at its
/// in-flight work again.
const BATCH: usize = 64;

/// A listener's task: takes deliveries in order, runs async work alongside,
/// and holds later deliveries while a blocking message is unanswered.
///
/// Everything it consumes lives in `state.consumer`, which it locks only
/// while it polls (never across an await), so a link's reader can deliver
/// to an idle listener in its place ([`Dispatcher::deliver_now`]).
pub(in crate::dispatcher) async fn run_mailbox(
    dispatcher: Weak<Inner>,
    me: Id,
    listener: Arc<dyn Listener>,
    state: Arc<MailboxState>,
) {
    // However the task ends (its queue closed, or aborted by shutdown), the
    // queue's receiving end goes with it, so later sends fail instead of
    // queueing for nobody; and so does the work in flight. That work lives
    // in the shared `MailboxState`, not in this task's future, and anything
    // that still holds the mailbox (a group request waiting on its members,
    // a link's route cache) would otherwise keep it, and the reply slots
    // it holds, alive forever: its requesters would never hear back.
    struct Ended<'a>(&'a MailboxState);
    impl Drop for Ended<'_> {
        fn drop(&mut self) {
            let mut c = self.0.consumer.lock();
            c.ended = true;
            let queued = (std::mem::take(&mut c.batch), self.0.inbox.close());
            let abandoned =
                (std::mem::take(&mut c.inflight), c.held.take(), c.flushing.take(), queued);
            // Dropped outside the lock: a dropped reply slot answers its
            // requester (`NoReply`, seen as `Shutdown` after a shutdown),
            // which may run a transport's callback.
            drop(c);
            drop(abandoned);
            // Senders waiting for room find the mailbox closed.
            if let Some(b) = &self.0.bound {
                b.room.notify_waiters();
            }
        }
    }
    let _ended = Ended(&state);
    poll_fn(|cx| poll_mailbox(cx, &dispatcher, &me, &*listener, &state)).await;
    // The queue is closed: no more deliveries, by the task or directly.
    let mut inflight = std::mem::take(&mut state.consumer.lock().inflight);
    while inflight.next().await.is_some() {}
    listener.close();
}

/// One poll of a listener's task; `Ready` once its queue is closed.
fn poll_mailbox(
    cx: &mut std::task::Context<'_>,
    dispatcher: &Weak<Inner>,
    me: &Id,
    listener: &dyn Listener,
    state: &MailboxState,
) -> Poll<()> {
    state.task.register(cx.waker());
    let mut budget = PollBudget::default();
    let mut consumer = match state.consumer.try_lock() {
        Some(c) => c,
        None => {
            // A direct delivery is under way: it wakes this task when it
            // is done (`missed`). Tried once more in case it ended between
            // the first try and the flag.
            state.missed.store(true, Ordering::SeqCst);
            match state.consumer.try_lock() {
                Some(c) => c,
                None => return Poll::Pending,
            }
        }
    };
    let c = &mut *consumer;
    loop {
        // In-flight async work first, then the hold, then new deliveries
        // (the order the task always had).
        while let Poll::Ready(Some(())) = c.inflight.poll_next_unpin(cx) {}
        if let Some(held) = c.held.as_mut() {
            // The sender half is never sent on, only dropped: either result
            // means "answered".
            if Pin::new(held).poll(cx).is_pending() {
                return Poll::Pending;
            }
            c.held = None;
            state.blocked.store(false, Ordering::Release);
        }
        if c.flushing.is_some() {
            if !c.inflight.is_empty() {
                // The work in flight wakes this task as it finishes.
                return Poll::Pending;
            }
            if let Some(flush) = c.flushing.take() {
                answer_flush(dispatcher, me, flush);
            }
        }
        if !state.may_take(&c.inflight) {
            // A bounded mailbox at its limit of work in flight: the work
            // wakes this task as it finishes.
            return Poll::Pending;
        }
        if c.ended {
            return Poll::Ready(());
        }
        if c.batch.is_empty() {
            match state.inbox.take(&mut c.batch) {
                Took::Some => {}
                // A send into the empty inbox wakes this task (registered
                // above).
                Took::Empty => return Poll::Pending,
                Took::Closed => return Poll::Ready(()),
            }
        }
        let Some(inner) = dispatcher.upgrade() else { return Poll::Ready(()) };
        let dispatcher = Dispatcher { inner };
        let mut taken = 0;
        // Each delivery is taken out of the batch once, straight into the
        // binding the listener gets: a delivery is 168 bytes, and every
        // move through another `Option` or `Poll` was a copy of it.
        while let Some(mut delivery) = c.batch.pop_front() {
            state.took();
            if is_flush(&delivery) {
                // Everything before it was delivered; the work it started
                // is what is left to wait for (the loop's top).
                c.flushing = Some(delivery);
                break;
            }
            if delivery.message.envelope().blocking {
                hold(c, state, &mut delivery);
            }
            let mut lcx = Context {
                dispatcher: &dispatcher,
                me: Some(me),
                inflight: &mut c.inflight,
                pool: &mut c.pool,
            };
            listener.deliver(delivery, &mut lcx);
            taken += 1;
            if budget.spent() {
                // The thread goes back to the scheduler first: taking
                // deliveries does not count against tokio's cooperative
                // budget, so without this a slow listener with a long queue
                // keeps its worker thread for thousands of them, and
                // whatever else was scheduled there (a link's reader, other
                // listeners) waits: seconds, behind a 1 ms handler.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            // Deliver what was taken without another round; the run is
            // bounded so in-flight async work still gets its turn, and a
            // blocking message ends it (the rest waits in the batch).
            if c.held.is_some() || taken == BATCH || !state.may_take(&c.inflight) {
                break;
            }
        }
    }
}

/// What [`Dispatcher::flush`] sends: never handed to the listener.
#[derive(Debug, serde::Serialize)]
pub(in crate::dispatcher) struct Flush;

impl crate::value::Fields for Flush {}

impl crate::content::ContentType for Flush {
    const TYPE_NAME: &'static str = "dispatchio.Flush";
}

fn is_flush(delivery: &crate::reply::Delivery) -> bool {
    use crate::content::ContentType;
    // The type name first: for every other message its length alone
    // differs, which costs less than asking the content for its type.
    *delivery.message.envelope().ty == *Flush::TYPE_NAME && delivery.message.content().is::<Flush>()
}

/// Answers a flush: everything sent before it was handled.
fn answer_flush(dispatcher: &Weak<Inner>, me: &Id, flush: crate::reply::Delivery) {
    let crate::reply::Delivery { message, reply } = flush;
    match dispatcher.upgrade() {
        Some(inner) => reply.send(Ok(Dispatcher { inner }.ack(message.envelope(), Some(me)))),
        // Dropped unanswered: the requester hears that the dispatcher is gone.
        None => drop(reply),
    }
}

/// How long one poll of a listener's task may deliver before it gives its
/// thread back to the scheduler.
const POLL_BUDGET: Duration = Duration::from_millis(1);

/// The time a poll of a listener's task has spent delivering, looked at
/// after the 2nd, 4th, 8th, … delivery: a poll that delivers one message
/// (a request's round trip) reads no clock, a long one a few times, and a
/// slow handler is found after four deliveries. Yielding after a count
/// instead would cost a fast listener dearly: a task that yields wakes
/// another worker thread, which takes it over.
#[derive(Default)]
struct PollBudget {
    delivered: u32,
    since: Option<Instant>,
}

impl PollBudget {
    /// Counts one delivery; whether the poll has run for its budget.
    fn spent(&mut self) -> bool {
        self.delivered = self.delivered.saturating_add(1);
        if self.delivered < 2 || !self.delivered.is_power_of_two() {
            return false;
        }
        match self.since {
            None => {
                self.since = Some(Instant::now());
                false
            }
            Some(t) => t.elapsed() > POLL_BUDGET,
        }
    }
}

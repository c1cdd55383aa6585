//! What the NATS side of a dispatcher has seen ([`NatsStats`]), and the
//! counters behind it.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of the NATS side of one dispatcher (see
/// [`Nats::stats`](crate::Nats::stats)): every message NATS or this side
/// could not carry is counted here, and logged.
///
/// ```
/// use dispatchio_core::Dispatcher;
/// use dispatchio_nats::{NatsConfig, NatsExt};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let nats = Dispatcher::new().join_nats(NatsConfig::new("nats://127.0.0.1:4222")).await?;
/// let stats = nats.stats();
/// if stats.bad_frames > 0 || stats.slow_consumer_events > 0 {
///     eprintln!("NATS trouble: {stats:?}"); // each was logged as it happened, too
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NatsStats {
    /// Messages published (requests, one-way messages and replies).
    pub published: u64,
    /// Messages received on this dispatcher's subscriptions.
    pub received: u64,
    /// One-way messages nobody on the cluster was subscribed to (the
    /// server's no-responders answer): unrouted, as a local send to nobody.
    pub unrouted: u64,
    /// Requests answered by the server's no-responders status (failed to
    /// their senders as unknown destinations or groups with no subscribers).
    pub requests_unrouted: u64,
    /// Frames that did not decode (another program's, or corrupted), each
    /// logged with its subject.
    pub bad_frames: u64,
    /// Messages that arrived but could not be delivered here, with nobody
    /// to tell (a one-way message to a listener gone meanwhile, content
    /// that does not decode).
    pub undeliverable: u64,
    /// Replies that could not be published (the queue full, or closed).
    pub replies_lost: u64,
    /// Slow-consumer events: the server or the client dropped messages of
    /// a subscription that was not read fast enough.
    pub slow_consumer_events: u64,
    /// Times the connection to the cluster was lost.
    pub disconnects: u64,
    /// Requests failed because the connection was lost while they waited.
    pub requests_failed_disconnected: u64,
    /// Conflicts that started: a destination ID this dispatcher did not
    /// serve on the cluster because another dispatcher of the namespace
    /// holds it, or one it holds that another wanted (see
    /// [`Nats::conflicts`](crate::Nats::conflicts)).
    pub conflicts: u64,
    /// JetStream mode: messages the stream acknowledged it stored.
    pub stored: u64,
    /// JetStream mode: messages published again that the stream removed
    /// as duplicates (by `Nats-Msg-Id`).
    pub duplicates: u64,
    /// JetStream mode: messages the stream did not take after every
    /// attempt (their requests failed; each logged).
    pub store_failed: u64,
    /// JetStream mode: messages this dispatcher acknowledged, handled.
    pub acked: u64,
    /// JetStream mode: messages given to this dispatcher again (not
    /// acknowledged in time, or by a previous life of it).
    pub redelivered: u64,
}

/// The live counters.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) published: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) unrouted: AtomicU64,
    pub(crate) requests_unrouted: AtomicU64,
    pub(crate) bad_frames: AtomicU64,
    pub(crate) undeliverable: AtomicU64,
    pub(crate) replies_lost: AtomicU64,
    pub(crate) slow_consumer_events: AtomicU64,
    pub(crate) disconnects: AtomicU64,
    pub(crate) requests_failed_disconnected: AtomicU64,
    pub(crate) conflicts: AtomicU64,
    pub(crate) stored: AtomicU64,
    pub(crate) duplicates: AtomicU64,
    pub(crate) store_failed: AtomicU64,
    pub(crate) acked: AtomicU64,
    pub(crate) redelivered: AtomicU64,
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> NatsStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        NatsStats {
            published: get(&self.published),
            received: get(&self.received),
            unrouted: get(&self.unrouted),
            requests_unrouted: get(&self.requests_unrouted),
            bad_frames: get(&self.bad_frames),
            undeliverable: get(&self.undeliverable),
            replies_lost: get(&self.replies_lost),
            slow_consumer_events: get(&self.slow_consumer_events),
            disconnects: get(&self.disconnects),
            requests_failed_disconnected: get(&self.requests_failed_disconnected),
            conflicts: get(&self.conflicts),
            stored: get(&self.stored),
            duplicates: get(&self.duplicates),
            store_failed: get(&self.store_failed),
            acked: get(&self.acked),
            redelivered: get(&self.redelivered),
        }
    }
}

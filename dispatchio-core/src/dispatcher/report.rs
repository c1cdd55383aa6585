//! What the dispatcher tells about itself: counters of messages that did
//! not end in a reply, the traces that go with them, and the snapshot.
//!
//! A [`Snapshot`] is serde data: `serde_json::to_string(&d.snapshot())` is
//! what `dispatchio graph --counts` reads (each listener's rule hits).

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::{Dispatcher, Route};
use crate::error::HandlerError;
use crate::id::{Id, MessageId, SharedStr};
use crate::message::Message;

/// The counters, as the dispatcher counts them.
#[derive(Default)]
pub(super) struct CounterCells {
    pub(super) unrouted: AtomicU64,
    pub(super) dropped: AtomicU64,
    pub(super) undeliverable: AtomicU64,
    pub(super) handler_errors: AtomicU64,
    pub(super) timeouts: AtomicU64,
    pub(super) mailbox_full: AtomicU64,
}

/// Counts of messages that did not end in a handler's reply, since the
/// dispatcher was created.
///
/// ```
/// # type Inbox = dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>;
/// # fn text_inbox() -> std::sync::Arc<Inbox> {
/// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// #     let table = RoutingTable::builder().rule("text", Cond::type_is("Text"), [Action::queue("inbox")]).build().unwrap();
/// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::{Dispatcher, Empty, Message};
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("player", text_inbox())?; // routes only `Text`
/// dispatcher.send(Message::new(Empty).to("player"))?;
/// dispatcher.flush("player").await?;
/// let counters = dispatcher.snapshot().counters;
/// assert_eq!((counters.unrouted, counters.dropped, counters.timeouts), (1, 0, 0));
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Counters {
    /// Messages no rule stopped and no `otherwise` caught.
    pub unrouted: u64,
    /// Messages dropped on purpose (`drop`, or a pre-filter).
    pub dropped: u64,
    /// Messages that could not be delivered (unknown destination, empty
    /// group, closed queue, unbound forward).
    pub undeliverable: u64,
    /// Handler errors with nobody waiting to be told.
    pub handler_errors: u64,
    /// Requests that timed out.
    pub timeouts: u64,
    /// Messages refused because their destination's bounded mailbox was
    /// full (the sender was told: [`Error::MailboxFull`](crate::Error::MailboxFull)).
    pub mailbox_full: u64,
}

/// A queue of a registered listener, as introspection reports it.
///
/// ```
/// # type Inbox = dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>;
/// # fn text_inbox() -> std::sync::Arc<Inbox> {
/// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// #     let table = RoutingTable::builder().rule("text", Cond::type_is("Text"), [Action::queue("inbox")]).build().unwrap();
/// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::{Dispatcher, Id, Message, QueueInfo, Text};
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("player", text_inbox())?;
/// dispatcher.send(Message::new(Text::from("hi")).to("player"))?;
/// dispatcher.flush("player").await?;
/// let info = QueueInfo { listener: Id::from("player"), name: "inbox".into(), depth: 1 };
/// assert_eq!(dispatcher.snapshot().queues, [info]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueInfo {
    /// The listener's destination ID.
    pub listener: Id,
    /// The queue's name.
    pub name: String,
    /// Messages waiting in it.
    pub depth: usize,
}

/// How many messages each rule of a registered listener matched
/// ([`RoutedListener::rule_hits`](crate::RoutedListener::rule_hits)), as
/// introspection reports it.
///
/// With [`RuleHit`], one per rule:
///
/// ```
/// # type Inbox = dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>;
/// # fn text_inbox() -> std::sync::Arc<Inbox> {
/// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// #     let table = RoutingTable::builder().rule("text", Cond::type_is("Text"), [Action::queue("inbox")]).build().unwrap();
/// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::{Dispatcher, Empty, Id, Message, RuleHit, Text};
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("player", text_inbox())?; // one rule, "text"
/// dispatcher.send(Message::new(Text::from("hi")).to("player"))?;
/// dispatcher.send(Message::new(Empty).to("player"))?; // matches no rule
/// dispatcher.flush("player").await?;
/// let hits = &dispatcher.snapshot().rule_hits[0];
/// assert_eq!(hits.listener, Id::from("player"));
/// assert_eq!(hits.rules, [RuleHit { rule: "text".into(), hits: 1 }]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleHits {
    /// The listener's destination ID.
    pub listener: Id,
    /// Each rule, in rule order.
    pub rules: Vec<RuleHit>,
}

/// One rule's hit count.
///
/// ```
/// use dispatchio_core::RuleHit;
/// // What `dispatchio graph --counts` reads: snapshots are serde data.
/// let hit: RuleHit = serde_json::from_str(r#"{"rule": "deal", "hits": 3}"#)?;
/// assert_eq!(hit, RuleHit { rule: "deal".into(), hits: 3 });
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleHit {
    /// The rule's name.
    pub rule: String,
    /// Messages it matched since the listener was built.
    pub hits: u64,
}

/// The state of a dispatcher at one moment, for checks and diagnostics:
/// registered listeners, awaited responses, deferred replies, blocked
/// destinations, counters and per-rule hits.
///
/// It is serde data, so a running program can write it out as JSON for
/// `dispatchio graph --counts`:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dispatcher = dispatchio_core::Dispatcher::new();
/// let json = serde_json::to_string(&dispatcher.snapshot())?;
/// let back: dispatchio_core::Snapshot = serde_json::from_str(&json)?;
/// assert_eq!(back.rule_hits, dispatcher.snapshot().rule_hits);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Snapshot {
    /// Destination IDs of local listeners, sorted.
    pub listeners: Vec<Id>,
    /// Destination IDs served by remote links, with the link's name.
    pub remote: Vec<(Id, String)>,
    /// The name of the link that takes what nobody here serves, if one does
    /// (see [`Attachment::set_fallback`](crate::transport::Attachment::set_fallback)).
    pub fallback: Option<String>,
    /// Groups and their members (local destination IDs, link names), sorted.
    pub groups: Vec<(Id, Vec<Id>)>,
    /// Registered source IDs, sorted.
    pub sources: Vec<Id>,
    /// Requests whose sender is still waiting for the reply.
    pub pending_requests: usize,
    /// Message IDs whose reply a handler deferred and nobody gave yet.
    pub deferred: Vec<MessageId>,
    /// Destinations held by an unanswered blocking message.
    pub blocked: Vec<Id>,
    /// Every queue of every local listener, with its depth.
    pub queues: Vec<QueueInfo>,
    /// The per-rule hit counters of every local listener that routes by
    /// rules ([`Listener::rule_hits`](crate::Listener::rule_hits)), sorted
    /// by listener.
    #[serde(default)]
    pub rule_hits: Vec<RuleHits>,
    /// Messages that did not end in a handler's reply.
    pub counters: Counters,
    /// Whether [`Dispatcher::shutdown`] was called.
    pub shut_down: bool,
}

impl Dispatcher {
    pub(crate) fn note_unrouted(&self, msg: &Message, me: Option<&Id>) {
        self.inner.counters.unrouted.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(id = %msg.id(), ty = %msg.ty(), listener = ?me, "message unrouted");
    }

    pub(crate) fn note_dropped(&self, id: MessageId, me: Option<&Id>, why: &'static str) {
        self.inner.counters.dropped.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(id = %id, listener = ?me, why, "message dropped");
    }

    pub(crate) fn note_undeliverable(&self, msg: &Message, why: &'static str) {
        self.inner.counters.undeliverable.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(id = %msg.id(), ty = %msg.ty(), dest = ?msg.envelope().dest, why, "message undeliverable");
    }

    pub(crate) fn note_handler_error(
        &self,
        id: MessageId,
        handler: &SharedStr,
        error: &HandlerError,
    ) {
        self.inner.counters.handler_errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(id = %id, handler = %handler, error = %error, "handler failed with nobody to tell");
    }

    /// The dispatcher's state now.
    ///
    /// ```
    /// # type Inbox = dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>;
    /// # fn text_inbox() -> std::sync::Arc<Inbox> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     let table = RoutingTable::builder().rule("text", Cond::type_is("Text"), [Action::queue("inbox")]).build().unwrap();
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Id, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("player", text_inbox())?;
    /// dispatcher.subscribe("player", "Players")?;
    /// let source = dispatcher.register_source("dealer")?;
    /// source.send(Message::new(Text::from("hi")).to_group("Players"))?;
    /// dispatcher.flush("player").await?;
    /// let s = dispatcher.snapshot();
    /// assert_eq!(s.listeners, [Id::from("player")]);
    /// assert_eq!(s.groups, [(Id::from("Players"), vec![Id::from("player")])]);
    /// assert_eq!(s.sources, [Id::from("dealer")]);
    /// assert_eq!((s.queues[0].depth, s.pending_requests, s.shut_down), (1, 0, false));
    /// # Ok(()) }
    /// ```
    pub fn snapshot(&self) -> Snapshot {
        let mut s = Snapshot::default();
        for (id, route) in self.inner.routes.read().iter() {
            match route {
                Route::Local(mb) => {
                    s.listeners.push(id.clone());
                    if mb.state.blocked.load(Ordering::Acquire) {
                        s.blocked.push(id.clone());
                    }
                    for q in mb.listener.queues() {
                        s.queues.push(QueueInfo {
                            listener: id.clone(),
                            name: q.name().to_owned(),
                            depth: q.len(),
                        });
                    }
                    let hits = mb.listener.rule_hits();
                    if !hits.is_empty() {
                        let rules = hits
                            .into_iter()
                            .map(|(rule, hits)| RuleHit { rule: rule.to_string(), hits })
                            .collect();
                        s.rule_hits.push(RuleHits { listener: id.clone(), rules });
                    }
                }
                Route::Remote(link) => s.remote.push((id.clone(), link.name().to_owned())),
            }
        }
        s.groups = self
            .inner
            .groups
            .read()
            .iter()
            .map(|(g, ms)| (g.clone(), ms.iter().map(|m| m.id.clone()).collect()))
            .collect();
        s.fallback = self.inner.fallback.read().as_ref().map(|l| l.name().to_owned());
        s.sources = self.inner.sources.lock().iter().cloned().collect();
        s.pending_requests = self.inner.pending.load(Ordering::Acquire);
        s.deferred = self.inner.deferred.lock().keys().copied().collect();
        let c = &self.inner.counters;
        s.counters = Counters {
            unrouted: c.unrouted.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            undeliverable: c.undeliverable.load(Ordering::Relaxed),
            handler_errors: c.handler_errors.load(Ordering::Relaxed),
            timeouts: c.timeouts.load(Ordering::Relaxed),
            mailbox_full: c.mailbox_full.load(Ordering::Relaxed),
        };
        s.shut_down = self.is_shut_down();
        s.listeners.sort();
        s.remote.sort();
        s.groups.sort_by(|a, b| a.0.cmp(&b.0));
        s.sources.sort();
        s.deferred.sort();
        s.blocked.sort();
        s.rule_hits.sort_by(|a, b| a.listener.cmp(&b.listener));
        s
    }
}

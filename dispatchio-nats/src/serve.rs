//! Incoming: a subscription for every destination and group this process
//! serves, kept in step with its [`DirectoryWatch`]; what arrives enters
//! the dispatcher through an [`Inlet`], and the answer goes back to the
//! message's reply subject.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use futures::StreamExt;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::conflict::RETRY_INTERVAL;
use crate::outlet::{NatsOutlet, Outgoing};
use crate::roster::RosterNote;
use crate::stats::bump;
use crate::{NatsError, NatsErrorKind, SubjectKind};
use dispatchio_core::transport::{Attachment, DirectoryChange, DirectoryWatch, Inlet};
use dispatchio_core::{Id, ReplySender};
use dispatchio_net::envelope::{
    MessageRebuilder, decode_content, decode_message, encode_reply, reply_result,
};
use dispatchio_net::{RemoteError, RemoteErrorKind, ReplyResult, WireReply};

/// The queue group of every destination subscription: should two
/// dispatchers subscribe to one destination, NATS gives each message to
/// one of them, never to both.
const QUEUE_GROUP: &str = "dispatchio";

/// What the application asks of the serving task.
pub(crate) enum Command {
    /// Subscribe to every change so far, then answer once the server has
    /// the subscriptions.
    Sync(oneshot::Sender<()>),
    /// Unsubscribe from everything, detach from the dispatcher, drain the
    /// connection, then answer.
    Leave(oneshot::Sender<()>),
}

/// The serving task's state: the subscriptions, by what they serve.
pub(crate) struct Serving {
    pub(crate) outlet: Arc<NatsOutlet>,
    pub(crate) client: async_nats::Client,
    /// Shared with the inbox's reader (weakly: it joins groups as roster
    /// notes come, [`NatsOutlet::note_groups`]).
    pub(crate) attachment: Arc<Attachment>,
    pub(crate) watch: DirectoryWatch,
    /// Each subscription's reader, and what tells it to drain.
    pub(crate) readers: HashMap<(SubjectKind, Id), (JoinHandle<()>, Stop)>,
    /// Told once each subscription being drained has its drain on the way
    /// to the server (a round trip after that has it in place).
    pub(crate) draining: Vec<oneshot::Receiver<()>>,
    /// The groups other dispatchers have members of (from the roster).
    pub(crate) remote_groups: watch::Receiver<BTreeSet<Id>>,
    /// Local destinations another dispatcher holds (or whose claim went
    /// unanswered): not served on the cluster, asked for again.
    pub(crate) contested: BTreeSet<Id>,
    /// Where claim readers say this dispatcher gave an ID way.
    pub(crate) yields: mpsc::UnboundedSender<(Id, String)>,
    pub(crate) yielded: mpsc::UnboundedReceiver<(Id, String)>,
    /// JetStream mode: the reader of this dispatcher's consumer, and what
    /// tells it to stop.
    pub(crate) durable_reader: Option<(JoinHandle<()>, oneshot::Sender<()>)>,
    /// JetStream mode: the consumers of this dispatcher's groups.
    pub(crate) durable_groups: Option<crate::durable::GroupConsumers>,
    /// The groups read through the stream, as last said on the roster.
    pub(crate) said_streamed: BTreeSet<Id>,
}

impl Serving {
    /// Subscribes to what the directory gained and unsubscribes from what
    /// it lost.
    pub(crate) async fn apply_changes(&mut self) -> Result<(), NatsError> {
        for change in self.watch.changes() {
            match change {
                DirectoryChange::Registered(id) => self.claim(id).await?,
                DirectoryChange::GroupJoined(id) => {
                    self.subscribe(SubjectKind::Group, id.clone()).await?;
                    self.stream_group(id).await;
                }
                DirectoryChange::Deregistered(id) => {
                    self.unsubscribe(SubjectKind::Destination, id.clone());
                    self.withdraw(&id);
                }
                DirectoryChange::GroupLeft(id) => {
                    self.unsubscribe(SubjectKind::Group, id.clone());
                    if let Some(groups) = &mut self.durable_groups {
                        groups.leave(&self.outlet, &id).await;
                        self.outlet.my_streamed.lock().remove(&id);
                    }
                }
                _ => {}
            }
        }
        let groups = &self.watch.reported().groups;
        let changed = *self.outlet.my_groups.lock() != *groups;
        if changed {
            *self.outlet.my_groups.lock() = groups.clone();
        }
        let streamed = self.outlet.my_streamed.lock().clone();
        if changed || streamed != self.said_streamed {
            self.said_streamed = streamed;
            self.outlet.publish_note(&self.outlet.here(false));
        }
        Ok(())
    }

    /// JetStream mode: `group`'s messages for this dispatcher read through
    /// its consumer, and said so on the roster.
    async fn stream_group(&mut self, group: Id) {
        let Some(groups) = &mut self.durable_groups else { return };
        let inlet = self.attachment.dispatcher().inlet();
        if groups.join(&self.outlet, inlet, &group).await {
            self.outlet.my_streamed.lock().insert(group);
        }
    }

    /// Makes the outlet a member of every group some other dispatcher has
    /// members of, and of no other: a group message from this process
    /// then reaches them as well as its own members.
    pub(crate) fn follow_roster(&mut self) {
        self.remote_groups.borrow_and_update();
        self.outlet.follow(&self.attachment);
    }

    pub(crate) async fn subscribe(&mut self, kind: SubjectKind, id: Id) -> Result<(), NatsError> {
        let subject = match self.outlet.ns.subject(kind, &id) {
            Ok(s) => s,
            Err(e) => {
                // Served here, unreachable from the cluster: said once, loudly.
                tracing::error!(nats = %self.outlet.outlet_name, %kind, id = %id, error = %e, "cannot serve this ID on NATS");
                return Ok(());
            }
        };
        let sub = match kind {
            SubjectKind::Destination => {
                self.client.queue_subscribe(subject.clone(), QUEUE_GROUP.to_owned()).await
            }
            _ => self.client.subscribe(subject.clone()).await,
        }
        .map_err(|e| {
            NatsError::new(NatsErrorKind::Subscribe, format!("cannot subscribe to {subject}"))
                .with_source(e)
        })?;
        let inlet = self.attachment.dispatcher().inlet();
        let (stop, stopped) = oneshot::channel();
        let reader = tokio::spawn(read_subscription(self.outlet.clone(), inlet, sub, stopped));
        if let Some((old, _)) = self.readers.insert((kind, id), (reader, stop)) {
            old.abort();
        }
        Ok(())
    }

    pub(crate) fn unsubscribe(&mut self, kind: SubjectKind, id: Id) {
        // The reader drains its subscription: what the server sent before
        // the unsubscription is still delivered.
        if let Some((_, stop)) = self.readers.remove(&(kind, id)) {
            let (drained, wait) = oneshot::channel();
            if stop.send(drained).is_ok() {
                self.draining.push(wait);
            }
        }
    }

    /// A round trip to the server: everything sent before it, subscriptions
    /// included, is in place when it returns. (async-nats's `flush` only
    /// writes the socket out; a request nobody serves is answered by the
    /// server after what came before it on the connection.)
    pub(crate) async fn round_trip(&mut self) {
        for drained in std::mem::take(&mut self.draining) {
            let _ = tokio::time::timeout(DRAIN_BOUND, drained).await;
        }
        let subject = format!("{}.round-trip", self.outlet.inbox);
        let _ = self.client.request(subject, bytes::Bytes::new()).await;
    }

    /// Stops serving: every subscription and the attachment gone, the
    /// connection drained. Draining first (rather than dropping the
    /// subscriptions) lets the server stop sending while the readers still
    /// deliver, and answer, what it sent already: a request in flight gets
    /// an answer, never silence until its timeout.
    async fn leave(mut self) {
        // The holders of what this dispatcher wanted hear it wants it no more.
        for id in self.contested.clone() {
            self.withdraw(&id);
        }
        // Nothing more from the stream; what was given and not handled is
        // given again to this dispatcher's next life.
        if let Some(mut groups) = self.durable_groups.take() {
            groups.stop(&self.outlet).await;
        }
        if let Some((reader, stop)) = self.durable_reader.take() {
            let _ = stop.send(());
            if tokio::time::timeout(DRAIN_BOUND, reader).await.is_err() {
                tracing::warn!(nats = %self.outlet.outlet_name, "the JetStream consumer's reader did not stop in time");
            }
        }
        let readers: Vec<_> = self.readers.drain().map(|(_, r)| r).collect();
        let mut waiting = Vec::new();
        for (reader, stop) in readers {
            let _ = stop.send(oneshot::channel().0);
            waiting.push(reader);
        }
        for reader in waiting {
            // Each ends with its drained subscription; bounded in case the
            // connection is gone and the drain cannot complete.
            if tokio::time::timeout(DRAIN_BOUND, reader).await.is_err() {
                tracing::warn!(nats = %self.outlet.outlet_name, "a subscription did not drain in time");
            }
        }
        // The replies the readers queued are published before the
        // connection closes, and the note that this dispatcher is gone
        // after them.
        self.outlet.publish_note(&RosterNote::Gone { name: self.outlet.dispatcher_name.clone() });
        let (done, published) = oneshot::channel();
        let marker = Outgoing {
            subject: String::new(),
            reply: None,
            payload: bytes::Bytes::new(),
            headers: None,
            request: None,
            done: Some(done),
            durable: None,
        };
        if self.outlet.queue.send(marker).await.is_ok() {
            let _ = tokio::time::timeout(DRAIN_BOUND, published).await;
        }
        let _ = tokio::time::timeout(DRAIN_BOUND, self.client.flush()).await;
        // The inbox's reader holds it only weakly, for a moment at a time.
        drop(self.attachment);
        let _ = self.client.drain().await;
    }
}

/// Tells a subscription's reader to drain it; the reader answers on the
/// sender given once the drain is on its way to the server.
pub(crate) type Stop = oneshot::Sender<oneshot::Sender<()>>;
/// A reader's end of [`Stop`].
pub(crate) type Stopped = oneshot::Receiver<oneshot::Sender<()>>;

/// How long leaving waits for one subscription to drain.
const DRAIN_BOUND: std::time::Duration = std::time::Duration::from_secs(5);

/// The serving task: follows the directory until the dispatcher shuts
/// down or the application leaves.
pub(crate) async fn serve(mut serving: Serving, mut commands: mpsc::Receiver<Command>) {
    let dispatcher = serving.attachment.dispatcher().clone();
    // The application may drop its handle and keep the dispatcher joined
    // (the usual case): then only the dispatcher's shutdown ends this.
    let mut handles = true;
    let mut retry = tokio::time::interval(RETRY_INTERVAL);
    // Idle while nothing is contested: the ticks missed meanwhile are not
    // made up for in a burst of claims.
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = retry.tick(), if !serving.contested.is_empty() => {
                if let Err(e) = serving.retry_claims().await {
                    tracing::error!(nats = %serving.outlet.outlet_name, error = %e, "cannot claim again");
                }
            }
            Some((id, holder)) = serving.yielded.recv() => serving.yield_to(id, holder),
            () = serving.watch.changed() => {
                if dispatcher.is_shut_down() {
                    serving.leave().await;
                    return;
                }
                if let Err(e) = serving.apply_changes().await {
                    tracing::error!(nats = %serving.outlet.outlet_name, error = %e, "cannot follow what this process serves");
                }
            }
            Ok(()) = serving.remote_groups.changed() => serving.follow_roster(),
            command = commands.recv(), if handles => match command {
                Some(Command::Sync(done)) => {
                    if let Err(e) = serving.apply_changes().await {
                        tracing::error!(nats = %serving.outlet.outlet_name, error = %e, "cannot follow what this process serves");
                    }
                    serving.round_trip().await;
                    let _ = done.send(());
                }
                Some(Command::Leave(done)) => {
                    serving.leave().await;
                    let _ = done.send(());
                    return;
                }
                None => handles = false,
            },
        }
    }
}

/// Delivers what arrives on one subscription, in order; told to stop, it
/// drains the subscription (the server stops sending, what it sent is
/// still delivered) and ends with it.
async fn read_subscription(
    outlet: Arc<NatsOutlet>,
    mut inlet: Inlet,
    mut sub: async_nats::Subscriber,
    mut stop: Stopped,
) {
    let mut rebuilder = MessageRebuilder::default();
    let mut draining = false;
    while let Some(msg) = next_or_drain(&mut sub, &mut stop, &mut draining).await {
        incoming(&outlet, &mut inlet, &mut rebuilder, msg);
    }
}

/// The next message of `sub`, `None` once it ended. Told on `stop` to
/// stop, it drains `sub` first (the server stops sending; what it sent
/// still comes) and says so on the sender it was given.
pub(crate) async fn next_or_drain(
    sub: &mut async_nats::Subscriber,
    stop: &mut Stopped,
    draining: &mut bool,
) -> Option<async_nats::Message> {
    loop {
        tokio::select! {
            msg = sub.next() => return msg,
            drained = &mut *stop, if !*draining => {
                *draining = true;
                let result = sub.drain().await;
                if let Ok(drained) = drained {
                    let _ = drained.send(());
                }
                if result.is_err() {
                    return None;
                }
            }
        }
    }
}

fn incoming(
    outlet: &Arc<NatsOutlet>,
    inlet: &mut Inlet,
    rebuilder: &mut MessageRebuilder,
    msg: async_nats::Message,
) {
    if outlet
        .durable
        .as_ref()
        .is_some_and(|d| crate::durable::streamed_to(msg.headers.as_ref(), &d.me))
    {
        // A group message this dispatcher gets through the stream.
        return;
    }
    bump(&outlet.counters.received);
    let m = match decode_message(&msg.payload) {
        Ok(m) => m,
        Err(e) => {
            bump(&outlet.counters.bad_frames);
            tracing::warn!(nats = %outlet.outlet_name, subject = %msg.subject, error = %e, "a message that does not decode (ignored)");
            return;
        }
    };
    let reply_to = msg.reply.as_ref().filter(|_| m.response_required).map(|r| r.to_string());
    let to = m.id;
    let content = match decode_content(&outlet.registry, m.content) {
        Ok(c) => c,
        Err(reason) => {
            content_refused(outlet, &msg.subject, to, &reason, reply_to);
            return;
        }
    };
    let message = rebuilder.rebuild(&m, content);
    let wants_reply = reply_to.is_some();
    let reply = match reply_to {
        Some(reply_to) => {
            let me = outlet.clone();
            ReplySender::callback(message.id(), move |answer| {
                send_reply(&me, &reply_to, to, reply_result(&answer));
            })
        }
        None => ReplySender::unwanted(),
    };
    if let Err(e) = inlet.deliver(message, reply) {
        if !wants_reply {
            bump(&outlet.counters.undeliverable);
            tracing::warn!(nats = %outlet.outlet_name, subject = %msg.subject, id = to, error = %e, "incoming message undeliverable");
        }
    }
}

/// A message whose content does not decode: logged, and its sender told
/// (a request) or it counted undeliverable (a one-way message).
pub(crate) fn content_refused(
    outlet: &NatsOutlet,
    subject: &str,
    to: u64,
    reason: &dyn std::fmt::Display,
    reply_to: Option<String>,
) {
    tracing::warn!(nats = %outlet.outlet_name, subject, id = to, reason = %reason, "incoming content does not decode");
    match reply_to {
        Some(reply_to) => {
            let e = RemoteError { kind: RemoteErrorKind::Other, text: format!("other\n{reason}") };
            send_reply(outlet, &reply_to, to, ReplyResult::Err(e));
        }
        None => bump(&outlet.counters.undeliverable),
    }
}

pub(crate) fn send_reply(outlet: &NatsOutlet, reply_to: &str, to: u64, result: ReplyResult) {
    match encode_reply(WireReply { to, result }) {
        Ok(payload) => outlet.publish_reply(reply_to, payload),
        Err(e) => {
            bump(&outlet.counters.replies_lost);
            tracing::warn!(nats = %outlet.outlet_name, reply_to, error = %e, "a reply that does not encode is lost");
        }
    }
}

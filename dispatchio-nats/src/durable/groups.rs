//! Groups in JetStream mode, the receiving side: a durable consumer per
//! (dispatcher, group) this dispatcher has members of, on
//! `<ns>.n.<dispatcher>.g.…`, each read by a task of its own that
//! delivers to the local members through an inlet and acknowledges a
//! message once every local member is done with it (see
//! [`consume`](mod@super::consume)). The groups read so are said on the roster
//! (`streamed`), so that JetStream-mode senders publish into the stream
//! for this dispatcher rather than on the group subject.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{MAX_STORE_NAME, consume, open_consumer};
use crate::Namespace;
use crate::outlet::NatsOutlet;
use dispatchio_core::Id;
use dispatchio_core::transport::Inlet;

/// How long stopping waits for a group consumer's reader.
const STOP_BOUND: Duration = Duration::from_secs(5);

/// The group consumers of this dispatcher, and their readers.
pub(crate) struct GroupConsumers {
    pub(crate) stream: jetstream::stream::Stream,
    /// Whether a consumer found with messages owed may be made again (no
    /// other dispatcher of this name was up at the join).
    pub(crate) restart: bool,
    pub(crate) ack_wait: Duration,
    readers: HashMap<Id, (JoinHandle<()>, oneshot::Sender<()>)>,
}

impl GroupConsumers {
    pub(crate) fn new(
        stream: jetstream::stream::Stream,
        restart: bool,
        ack_wait: Duration,
    ) -> GroupConsumers {
        GroupConsumers { stream, restart, ack_wait, readers: HashMap::new() }
    }

    /// This dispatcher has members of `group` now: its consumer created
    /// (or found, from a previous life) and read. Returns whether the
    /// group is read through the stream; when it cannot be (a name too
    /// long for the store, a server that refuses), that is logged and the
    /// group is served as in core mode, on its group subject alone.
    pub(crate) async fn join(
        &mut self,
        outlet: &Arc<NatsOutlet>,
        inlet: Inlet,
        group: &Id,
    ) -> bool {
        if self.readers.contains_key(group) {
            return true;
        }
        let me = &outlet.dispatcher_name;
        let name = Namespace::group_consumer_name(me, group);
        let filter = match outlet.ns.held_group(me, group) {
            Ok(f) if name.len() <= MAX_STORE_NAME => f,
            _ => {
                tracing::error!(nats = %outlet.outlet_name, group = %group, "the group's JetStream consumer name or subject is too long: its messages travel as in core mode");
                return false;
            }
        };
        let wanted = jetstream::consumer::pull::Config {
            durable_name: Some(name.clone()),
            filter_subject: filter,
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ack_wait: self.ack_wait,
            ..Default::default()
        };
        let consumer = match open_consumer(&self.stream, wanted, self.restart).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(nats = %outlet.outlet_name, group = %group, consumer = name, error = %e, "cannot set up the group's JetStream consumer: its messages travel as in core mode");
                return false;
            }
        };
        let (stop, stopped) = oneshot::channel();
        let reader = tokio::spawn(consume(outlet.clone(), inlet, consumer, stopped));
        self.readers.insert(group.clone(), (reader, stop));
        true
    }

    /// This dispatcher has no members of `group` any more: its reader
    /// stopped, its consumer deleted and what was left for it removed from
    /// the stream (no member here is owed it now, as a local member that
    /// unsubscribed gets nothing more).
    pub(crate) async fn leave(&mut self, outlet: &NatsOutlet, group: &Id) {
        let Some((reader, stop)) = self.readers.remove(group) else { return };
        stop_reader(outlet, reader, stop).await;
        let me = &outlet.dispatcher_name;
        let name = Namespace::group_consumer_name(me, group);
        if let Err(e) = self.stream.delete_consumer(&name).await {
            tracing::warn!(nats = %outlet.outlet_name, group = %group, consumer = name, error = %e, "cannot delete the group's JetStream consumer");
        }
        if let Ok(subject) = outlet.ns.held_group(me, group) {
            if let Err(e) = self.stream.purge().filter(subject).await {
                tracing::warn!(nats = %outlet.outlet_name, group = %group, error = %e, "cannot remove the group's messages left in the stream");
            }
        }
    }

    /// Leaving the cluster or shutting down: every reader stopped; the
    /// consumers stay, so that the next life gets what is owed.
    pub(crate) async fn stop(&mut self, outlet: &NatsOutlet) {
        for (_, (reader, stop)) in self.readers.drain() {
            stop_reader(outlet, reader, stop).await;
        }
    }
}

async fn stop_reader(outlet: &NatsOutlet, reader: JoinHandle<()>, stop: oneshot::Sender<()>) {
    let _ = stop.send(());
    if tokio::time::timeout(STOP_BOUND, reader).await.is_err() {
        tracing::warn!(nats = %outlet.outlet_name, "a group consumer's reader did not stop in time");
    }
}

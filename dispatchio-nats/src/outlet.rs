//! Outgoing: the [`Outlet`] the dispatcher falls back on for whatever
//! nobody in this process serves. Each message is encoded by the shared
//! codec and queued for the publishing task, with a reply subject in this
//! dispatcher's inbox; a request's reply slot waits there for its answer.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::stats::{Counters, bump};
use crate::{Namespace, SubjectKind};
use dispatchio_core::transport::Outlet;
use dispatchio_core::{
    ContentRegistry, Delivery, Envelope, Error, Id, ReplySender, TransportError, TransportErrorKind,
};
use dispatchio_net::envelope::encode_message;

/// A request waiting for its answer.
pub(crate) struct Pending {
    pub(crate) reply: ReplySender,
    pub(crate) request: Envelope,
}

/// One message for the publishing task.
pub(crate) struct Outgoing {
    pub(crate) subject: String,
    pub(crate) reply: Option<String>,
    pub(crate) payload: Bytes,
    /// The request it carries, to fail if it cannot be published.
    pub(crate) request: Option<u64>,
    /// Told once everything queued before is published (a marker, not a
    /// message: nothing is published for it).
    pub(crate) done: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The NATS side of one dispatcher: what its outlet, its subscriptions and
/// its inbox share.
pub(crate) struct NatsOutlet {
    /// `nats:<namespace>/<dispatcher name>`: in errors and introspection.
    pub(crate) outlet_name: String,
    /// The dispatcher's own name on the cluster.
    pub(crate) dispatcher_name: String,
    pub(crate) ns: Namespace,
    /// The prefix of every reply subject of this dispatcher.
    pub(crate) inbox: String,
    pub(crate) queue: mpsc::Sender<Outgoing>,
    pub(crate) pending: Mutex<HashMap<u64, Pending>>,
    pub(crate) seq: AtomicU64,
    pub(crate) counters: Arc<Counters>,
    pub(crate) registry: Arc<ContentRegistry>,
}

impl NatsOutlet {
    pub(crate) fn error(
        &self,
        kind: TransportErrorKind,
        message: impl Into<String>,
    ) -> TransportError {
        TransportError::new(self.outlet_name.clone(), kind, message)
    }

    /// The reply subject of message `id` sent to `subject`: the inbox, the
    /// ID, and the subject's part after the namespace, so that a
    /// no-responders answer (which carries nothing else) says which
    /// message it was and where it went.
    fn reply_subject(&self, id: u64, subject: &str) -> String {
        let rest = &subject[self.ns.as_str().len() + 1..];
        format!("{}.{id}.{rest}", self.inbox)
    }

    /// The message ID and the destination or group a reply subject of
    /// this inbox names (see [`reply_subject`](Self::reply_subject)).
    pub(crate) fn parse_reply_subject(&self, subject: &str) -> Option<(u64, SubjectKind, Id)> {
        let rest = subject.strip_prefix(self.inbox.as_str())?.strip_prefix('.')?;
        let (id, rest) = rest.split_once('.')?;
        let id = id.parse().ok()?;
        let (kind, target) = self.ns.parse(&format!("{}.{rest}", self.ns.as_str())).ok()?;
        Some((id, kind, target))
    }

    /// Queues a reply to a request from another dispatcher; a reply that
    /// finds the queue full or closed is lost, counted and logged (its
    /// requester times out).
    pub(crate) fn publish_reply(&self, to: &str, payload: Bytes) {
        let out =
            Outgoing { subject: to.to_owned(), reply: None, payload, request: None, done: None };
        if let Err(e) = self.queue.try_send(out) {
            bump(&self.counters.replies_lost);
            tracing::warn!(nats = %self.outlet_name, reply_to = to, error = %e, "reply lost: it cannot be queued for publishing");
        }
    }

    /// Fails every request waiting for an answer, with `kind` and `why`.
    pub(crate) fn fail_pending(&self, kind: TransportErrorKind, why: &str) -> usize {
        let failed: Vec<Pending> = self.pending.lock().drain().map(|(_, p)| p).collect();
        let n = failed.len();
        for p in failed {
            p.reply.send(Err(self.error(kind, why).into()));
        }
        n
    }

    /// Forgets requests whose senders gave up (timed out).
    pub(crate) fn sweep(&self) {
        self.pending.lock().retain(|_, p| p.reply.is_wanted());
    }

    #[allow(
        clippy::result_large_err,
        reason = "the refused delivery goes back unboxed; refusal is the rare path"
    )]
    fn subject_of(&self, env: &Envelope) -> Result<String, Error> {
        let subject = match (&env.group, &env.dest) {
            (Some(group), _) => self.ns.group(group),
            (None, Some(dest)) => self.ns.destination(dest),
            (None, None) => {
                return Err(dispatchio_core::InvalidMessage::NoDestination.into());
            }
        };
        subject.map_err(|e| {
            self.error(TransportErrorKind::Encode, e.to_string()).with_source(e).into()
        })
    }
}

impl Outlet for NatsOutlet {
    fn name(&self) -> &str {
        &self.outlet_name
    }

    #[allow(
        clippy::result_large_err,
        reason = "the refused delivery goes back unboxed; refusal is the rare path"
    )]
    fn send(&self, delivery: Delivery) -> Result<(), (Error, Delivery)> {
        let env = delivery.message.envelope();
        let id = env.id.get() as u64;
        let subject = match self.subject_of(env) {
            Ok(s) => s,
            Err(e) => return Err((e, delivery)),
        };
        let mut content = Vec::new();
        let mut frame = Vec::new();
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = encode_message(&delivery.message, seq, &mut content, &mut frame) {
            let e = self.error(TransportErrorKind::Encode, e.to_string()).with_source(e);
            return Err((e.into(), delivery));
        }
        let Delivery { message, reply } = delivery;
        let env = message.envelope();
        let tracked = env.response_required && !env.is_response && reply.is_wanted();
        let reply = if tracked {
            let mut pending = self.pending.lock();
            if pending.get(&id).is_some_and(|p| p.reply.is_wanted()) {
                drop(pending);
                let e = self.error(
                    TransportErrorKind::DuplicateRequest,
                    format!(
                        "message ID {} already awaits a reply; request IDs must be unique",
                        message.id()
                    ),
                );
                return Err((e.into(), Delivery { message, reply }));
            }
            pending.insert(id, Pending { reply, request: env.clone() });
            None
        } else {
            Some(reply)
        };
        let out = Outgoing {
            reply: Some(self.reply_subject(id, &subject)),
            subject,
            payload: Bytes::from(frame),
            request: tracked.then_some(id),
            done: None,
        };
        match self.queue.try_send(out) {
            Ok(()) => Ok(()),
            Err(e) => {
                let reply = match reply {
                    Some(r) => r,
                    None => self
                        .pending
                        .lock()
                        .remove(&id)
                        .map_or_else(ReplySender::unwanted, |p| p.reply),
                };
                let (kind, why) = match e {
                    mpsc::error::TrySendError::Full(_) => (
                        TransportErrorKind::Full,
                        format!(
                            "the queue of {} messages to publish is full",
                            self.queue.max_capacity()
                        ),
                    ),
                    mpsc::error::TrySendError::Closed(_) => {
                        (TransportErrorKind::Closed, "the NATS connection is closed".to_owned())
                    }
                };
                Err((self.error(kind, why).into(), Delivery { message, reply }))
            }
        }
    }
}

/// Publishes what the outlet queued, in order, on the one connection: the
/// messages of one sender to one destination reach the server (and so
/// the destination's one subscriber) in the order they were sent.
pub(crate) async fn publish(
    client: async_nats::Client,
    outlet: std::sync::Weak<NatsOutlet>,
    mut queue: mpsc::Receiver<Outgoing>,
) {
    while let Some(out) = queue.recv().await {
        if let Some(done) = out.done {
            let _ = done.send(());
            continue;
        }
        let published = match out.reply {
            Some(reply) => client.publish_with_reply(out.subject, reply, out.payload).await,
            None => client.publish(out.subject, out.payload).await,
        };
        let Some(outlet) = outlet.upgrade() else { return };
        match published {
            Ok(()) => bump(&outlet.counters.published),
            Err(e) => {
                tracing::warn!(nats = %outlet.outlet_name, error = %e, "cannot publish");
                if let Some(p) = out.request.and_then(|id| outlet.pending.lock().remove(&id)) {
                    let e =
                        outlet.error(TransportErrorKind::Closed, "cannot publish").with_source(e);
                    p.reply.send(Err(e.into()));
                }
            }
        }
    }
}

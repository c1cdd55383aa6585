//! Outgoing: the [`Outlet`] the dispatcher falls back on for whatever
//! nobody in this process serves. Each message is encoded by the shared
//! codec and queued for the publishing task, with a reply subject in this
//! dispatcher's inbox; a request's reply slot waits there for its answer.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};

use crate::claim::ClaimMsg;
use crate::conflict::Conflict;
use crate::durable::{Durable, DurableOut, DurablePublisher, Target};
use crate::group::GroupWait;
use crate::roster::{Roster, RosterNote};
use crate::stats::{Counters, bump};
use crate::{Namespace, SubjectKind};
use dispatchio_core::transport::{Attachment, Outlet};
use dispatchio_core::{
    ContentRegistry, Delivery, Envelope, Error, Id, ReplySender, TransportError, TransportErrorKind,
};
use dispatchio_net::envelope::encode_message;

/// A request waiting for its answer.
pub(crate) struct Pending {
    pub(crate) reply: ReplySender,
    pub(crate) request: Envelope,
    /// A group request: whose answers it waits for, and those so far.
    pub(crate) group: Option<GroupWait>,
    /// Sweeps of the inbox passed while it waited: from the second on,
    /// whoever it waits for is probed.
    pub(crate) sweeps: u32,
    /// Sent through JetStream: its destination is not probed (a holder
    /// killed gets it again when it comes back; the request waits for its
    /// answer or its timeout).
    pub(crate) durable: bool,
}

/// One message for the publishing task.
pub(crate) struct Outgoing {
    pub(crate) subject: String,
    pub(crate) reply: Option<String>,
    pub(crate) payload: Bytes,
    /// Headers: a reply says who answered.
    pub(crate) headers: Option<async_nats::HeaderMap>,
    /// The request it carries, to fail if it cannot be published.
    pub(crate) request: Option<u64>,
    /// Told once everything queued before is published (a marker, not a
    /// message: nothing is published for it).
    pub(crate) done: Option<tokio::sync::oneshot::Sender<()>>,
    /// JetStream mode: a message to a destination, published into the
    /// stream under the destination's holder.
    pub(crate) durable: Option<DurableOut>,
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
    /// The groups other dispatchers have members of.
    pub(crate) roster: Mutex<Roster>,
    /// [`Roster::groups`] as it changes: the serving task leaves the groups
    /// nobody else has members of any more ([`NatsOutlet::follow`]).
    pub(crate) remote_groups: watch::Sender<BTreeSet<Id>>,
    /// The groups the outlet is a member of: [`Roster::groups`] once
    /// followed. Taken before `roster` wherever both are.
    pub(crate) followed: Mutex<BTreeSet<Id>>,
    /// The conflicts over IDs this dispatcher holds or wants.
    pub(crate) conflicts: watch::Sender<Vec<Conflict>>,
    /// The groups this process has members of, as last said on the roster.
    pub(crate) my_groups: Mutex<BTreeSet<Id>>,
    /// JetStream mode: those of them read through the stream.
    pub(crate) my_streamed: Mutex<BTreeSet<Id>>,
    /// JetStream mode's state (`None` in core mode).
    pub(crate) durable: Option<Durable>,
}

thread_local! {
    /// Where a message's content is encoded before it goes into its frame:
    /// one buffer per thread, kept, rather than one allocated per message.
    static CONTENT_SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The most room the content buffer keeps between messages.
const MAX_SCRATCH_KEPT: usize = 64 * 1024;

/// The room a frame starts with: a small message's envelope and content
/// fit without growing it.
const FRAME_CAPACITY: usize = 256;

/// The header of a reply that names the dispatcher that answered.
pub(crate) const FROM_HEADER: &str = "Dispatchio-From";

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

    /// Queues a reply to a request from another dispatcher, naming this
    /// one; a reply that finds the queue full or closed is lost, counted
    /// and logged (its requester times out).
    pub(crate) fn publish_reply(&self, to: &str, payload: Bytes) {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(FROM_HEADER, self.dispatcher_name.as_str());
        let out = Outgoing {
            subject: to.to_owned(),
            reply: None,
            payload,
            headers: Some(headers),
            request: None,
            done: None,
            durable: None,
        };
        if let Err(e) = self.queue.try_send(out) {
            bump(&self.counters.replies_lost);
            tracing::warn!(nats = %self.outlet_name, reply_to = to, error = %e, "reply lost: it cannot be queued for publishing");
        }
    }

    /// Queues `note` for the roster subject (a note that cannot be queued
    /// is logged: the others learn this dispatcher's groups at its next
    /// note, or its next roll call).
    pub(crate) fn publish_note(&self, note: &RosterNote) {
        self.publish_plain(&self.ns.roster(), note.encode());
    }

    /// Queues a note of this transport's own (no reply wanted); one that
    /// cannot be queued is logged.
    pub(crate) fn publish_plain(&self, subject: &str, payload: Bytes) {
        let out = Outgoing {
            subject: subject.to_owned(),
            reply: None,
            payload,
            headers: None,
            request: None,
            done: None,
            durable: None,
        };
        if let Err(e) = self.queue.try_send(out) {
            tracing::warn!(nats = %self.outlet_name, subject, error = %e, "a note cannot be queued for publishing");
        }
    }

    /// What this dispatcher answers on the claim subject of an ID it holds.
    pub(crate) fn held(&self) -> ClaimMsg {
        ClaimMsg::Held { name: self.dispatcher_name.clone(), durable: self.durable.is_some() }
    }

    /// Nobody serves `target` on the cluster: the request `id` (if one
    /// waits) fails as a local send to nobody does, a one-way message is
    /// counted unrouted and logged.
    pub(crate) fn nobody_serves(&self, id: u64, kind: SubjectKind, target: Id) {
        let unrouted = || match kind {
            SubjectKind::Group => Error::NoSubscribers(target.clone()),
            _ => Error::UnknownDestination(target.clone()),
        };
        let p = {
            let mut pending = self.pending.lock();
            let mut p = pending.remove(&id);
            let group = p.as_mut().and_then(|p| p.group.as_mut());
            if group.is_some_and(|g| !g.nobody_on_the_subject()) {
                // Still waiting for dispatchers reached through the stream.
                pending.extend(p.map(|p| (id, p)));
                return;
            }
            p
        };
        match p {
            // Nobody subscribed to the group now: what answered so far is
            // all there will be.
            Some(p) if p.group.is_some() => self.finish_group(p),
            Some(p) => {
                bump(&self.counters.requests_unrouted);
                tracing::debug!(nats = %self.outlet_name, id, %kind, target = %target, "request to nobody on the cluster");
                p.reply.send(Err(unrouted()));
            }
            None => {
                bump(&self.counters.unrouted);
                tracing::warn!(nats = %self.outlet_name, id, %kind, target = %target, "unrouted: a one-way message nobody on the cluster serves");
            }
        }
    }

    /// Lists `conflict` unless it is listed already; returns whether it
    /// is new (and then counts it).
    pub(crate) fn add_conflict(&self, conflict: Conflict) -> bool {
        let added = self.conflicts.send_if_modified(|list| {
            if list.contains(&conflict) {
                return false;
            }
            list.push(conflict);
            list.sort();
            true
        });
        if added {
            bump(&self.counters.conflicts);
        }
        added
    }

    /// Removes the conflicts `which` picks; returns whether there were any.
    pub(crate) fn remove_conflicts(&self, which: impl Fn(&Conflict) -> bool) -> bool {
        self.conflicts.send_if_modified(|list| {
            let before = list.len();
            list.retain(|c| !which(c));
            list.len() != before
        })
    }

    /// This dispatcher's roster note.
    pub(crate) fn here(&self, roll_call: bool) -> RosterNote {
        RosterNote::Here {
            name: self.dispatcher_name.clone(),
            groups: self.my_groups.lock().clone(),
            roll_call,
            streamed: self.my_streamed.lock().clone(),
        }
    }

    /// How a dispatcher that failed as a whole is named in a group error:
    /// as its outlet would be (`nats:<ns>/<name>`).
    pub(crate) fn outlet_of(&self, name: &str) -> Id {
        Id::from(format!("nats:{}/{name}", self.ns.as_str()))
    }

    /// Dispatcher `name`'s roster note: its groups. The outlet joins a group
    /// new to the roster before anyone can see the note in
    /// [`Nats::roster`](crate::Nats::roster), so that a group message sent
    /// once the roster lists a dispatcher reaches it (a process with
    /// members of its own sends a group message to them, and to the outlet
    /// only while the outlet is a member).
    /// (`streamed`: those of them it reads through the stream.)
    pub(crate) fn note_groups(
        &self,
        name: &str,
        groups: BTreeSet<Id>,
        streamed: BTreeSet<Id>,
        attachment: &Attachment,
    ) {
        let mut followed = self.followed.lock();
        if self.roster.lock().set(name, groups, streamed) {
            self.follow_locked(&mut followed, attachment);
            drop(followed);
            self.roster_changed();
        }
    }

    /// Makes the outlet a member of every group some other dispatcher has
    /// members of, and of no other.
    pub(crate) fn follow(&self, attachment: &Attachment) {
        self.follow_locked(&mut self.followed.lock(), attachment);
    }

    fn follow_locked(&self, followed: &mut BTreeSet<Id>, attachment: &Attachment) {
        let remote = self.roster.lock().groups();
        for g in remote.difference(followed) {
            attachment.join_group(g.clone());
        }
        for g in followed.difference(&remote) {
            attachment.leave_group(g);
        }
        *followed = remote;
    }

    /// Tells the serving task the roster's groups, when they changed.
    pub(crate) fn roster_changed(&self) {
        let groups = self.roster.lock().groups();
        self.remote_groups.send_if_modified(|old| {
            let changed = *old != groups;
            *old = groups;
            changed
        });
    }

    /// Dispatcher `name` is gone (left, or found dead): off the roster, and
    /// every group request waiting for its answer told so.
    ///
    /// One that `left` is forgotten; one found dead is
    /// [lost](Roster::lose): what is sent to the groups it reads through
    /// the stream is still stored for it.
    pub(crate) fn dispatcher_gone(&self, name: &str, why: &str, left: bool) {
        let mut roster = self.roster.lock();
        let known = if left { roster.remove(name) } else { roster.lose(name) };
        drop(roster);
        if known {
            tracing::info!(nats = %self.outlet_name, dispatcher = name, why, "a dispatcher left the roster");
        }
        self.roster_changed();
        let done: Vec<Pending> = {
            let mut pending = self.pending.lock();
            let complete: Vec<u64> = pending
                .iter_mut()
                .filter_map(|(id, p)| {
                    let e = self.error(
                        TransportErrorKind::PeerLost,
                        format!("dispatcher {name} {why} before answering"),
                    );
                    p.group.as_mut().is_some_and(|g| g.gone(name, e.into())).then_some(*id)
                })
                .collect();
            complete.iter().filter_map(|id| pending.remove(id)).collect()
        };
        for p in done {
            self.finish_group(p);
        }
    }

    /// Sends a complete group request its one answer.
    pub(crate) fn finish_group(&self, p: Pending) {
        let Pending { reply, group, .. } = p;
        if let Some(g) = group {
            reply.send(g.finish(|n| self.outlet_of(n)));
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

    /// Who the requests that have waited since before the last sweep wait
    /// for, to probe whether they are still there: the dispatchers of
    /// group requests, the destinations of the others.
    pub(crate) fn silent(&self) -> (BTreeSet<String>, BTreeSet<Id>) {
        let (mut dispatchers, mut destinations) = (BTreeSet::new(), BTreeSet::new());
        for p in self.pending.lock().values_mut() {
            p.sweeps += 1;
            if p.sweeps < 2 {
                continue;
            }
            match (&p.group, &p.request.dest) {
                (Some(g), _) => dispatchers.extend(g.waiting_for.iter().cloned()),
                (None, Some(dest)) if !p.durable => {
                    destinations.insert(dest.clone());
                }
                (None, _) => {}
            }
        }
        (dispatchers, destinations)
    }

    /// Nobody serves `dest` on the cluster any more: the requests to it
    /// that waited since before the last sweep (sent while it was served)
    /// will get no answer, and fail with `PeerLost`.
    pub(crate) fn destination_gone(&self, dest: &Id) -> usize {
        let failed: Vec<Pending> = {
            let mut pending = self.pending.lock();
            let ids: Vec<u64> = pending
                .iter()
                .filter(|(_, p)| {
                    p.group.is_none() && p.sweeps >= 2 && p.request.dest.as_ref() == Some(dest)
                })
                .map(|(id, _)| *id)
                .collect();
            ids.iter().filter_map(|id| pending.remove(id)).collect()
        };
        let n = failed.len();
        for p in failed {
            let e = self.error(
                TransportErrorKind::PeerLost,
                format!(
                    "nobody serves {dest} on the cluster any more: the dispatcher that had the \
                     request is gone, and its answer with it"
                ),
            );
            p.reply.send(Err(e.into()));
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
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let encode = |content: &mut Vec<u8>| {
            let mut frame = Vec::with_capacity(FRAME_CAPACITY);
            encode_message(&delivery.message, seq, content, &mut frame).map(|()| frame)
        };
        let encoded = CONTENT_SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut content) => {
                let encoded = encode(&mut content);
                // A big content's room is not kept for the thread's life.
                if content.capacity() > MAX_SCRATCH_KEPT {
                    *content = Vec::new();
                }
                encoded
            }
            // Encoding content that sends a message itself: a buffer of its own.
            Err(_) => encode(&mut Vec::new()),
        });
        let frame = match encoded {
            Ok(frame) => frame,
            Err(e) => {
                let e = self.error(TransportErrorKind::Encode, e.to_string()).with_source(e);
                return Err((e.into(), delivery));
            }
        };
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
            let group = env.group.as_ref().map(|g| {
                let waiting_for = self.roster.lock().members_of(g);
                GroupWait::new(g.clone(), waiting_for)
            });
            let durable = self.durable.is_some() && group.is_none();
            pending.insert(id, Pending { reply, request: env.clone(), group, sweeps: 0, durable });
            None
        } else {
            Some(reply)
        };
        let out = Outgoing {
            reply: Some(self.reply_subject(id, &subject)),
            subject,
            payload: Bytes::from(frame),
            headers: None,
            request: tracked.then_some(id),
            done: None,
            durable: match (&self.durable, &env.group, &env.dest) {
                (Some(_), Some(group), _) => {
                    Some(DurableOut { to: Target::Group(group.clone()), id })
                }
                (Some(_), None, Some(dest)) => {
                    Some(DurableOut { to: Target::Destination(dest.clone()), id })
                }
                _ => None,
            },
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
///
/// In JetStream mode, `durable` publishes messages to destinations into
/// the stream (in the same order).
pub(crate) async fn publish(
    client: async_nats::Client,
    outlet: std::sync::Weak<NatsOutlet>,
    mut queue: mpsc::Receiver<Outgoing>,
    durable: Option<DurablePublisher>,
) {
    while let Some(mut out) = queue.recv().await {
        if let Some(done) = out.done {
            let _ = done.send(());
            continue;
        }
        if let (Some(durable), Some(to)) = (&durable, out.durable.take()) {
            let Some(strong) = outlet.upgrade() else { return };
            match durable.publish(&client, &strong, out, to).await {
                // The holder is in core mode: published as in core mode.
                Some(core) => out = core,
                None => continue,
            }
        }
        let published = match (out.reply, out.headers) {
            (Some(reply), None) => client.publish_with_reply(out.subject, reply, out.payload).await,
            (None, None) => client.publish(out.subject, out.payload).await,
            (None, Some(h)) => client.publish_with_headers(out.subject, h, out.payload).await,
            (Some(reply), Some(h)) => {
                client.publish_with_reply_and_headers(out.subject, reply, h, out.payload).await
            }
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

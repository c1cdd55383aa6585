//! This dispatcher's inbox: the answers to what it published, and the
//! server's no-responders status for what nobody was subscribed to; with
//! them, the roster notes of the other dispatchers (read by the same task,
//! so that a dispatcher's replies are taken before its leaving), and this
//! dispatcher's presence subject, which it answers while it is up.

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_nats::StatusCode;
use std::collections::HashSet;

use bytes::Bytes;
use futures::{FutureExt, StreamExt};
use tokio::sync::mpsc;

use crate::SubjectKind;
use crate::claim::ClaimMsg;
use crate::outlet::{FROM_HEADER, NatsOutlet};
use crate::roster::RosterNote;
use crate::stats::bump;
use dispatchio_core::Id;
use dispatchio_core::transport::Attachment;
use dispatchio_net::envelope::{answer_from_reply, decode_reply};

/// How often requests whose senders gave up are forgotten.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// What the inbox task reads.
pub(crate) struct InboxSubscriptions {
    /// `<inbox>.>`: answers.
    pub(crate) inbox: async_nats::Subscriber,
    /// `<ns>.r`: the other dispatchers' notes.
    pub(crate) roster: async_nats::Subscriber,
    /// `<ns>.p.s.<name>`: "are you there?"
    pub(crate) presence: async_nats::Subscriber,
}

/// Reads the inbox, the roster and the presence subject until the inbox
/// subscription ends.
pub(crate) async fn read_inbox(
    outlet: Arc<NatsOutlet>,
    attachment: Weak<Attachment>,
    client: async_nats::Client,
    subs: InboxSubscriptions,
) {
    let InboxSubscriptions { mut inbox, mut roster, mut presence } = subs;
    let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
    let (probed, mut probes) = mpsc::unbounded_channel::<(Probe, bool)>();
    let mut probing = HashSet::new();
    loop {
        tokio::select! {
            msg = inbox.next() => match msg {
                Some(msg) => answer(&outlet, msg),
                None => return,
            },
            Some(msg) = roster.next() => {
                // Replies that came before a note are taken first: a
                // dispatcher answers what it was sent before it says it left.
                while let Some(Some(msg)) = inbox.next().now_or_never() {
                    answer(&outlet, msg);
                }
                note(&outlet, &attachment, &msg);
            }
            Some(msg) = presence.next() => {
                if let Some(reply) = msg.reply {
                    outlet.publish_reply(&reply, Bytes::new());
                }
            }
            Some((what, gone)) = probes.recv() => {
                probing.remove(&what);
                match what {
                    Probe::Dispatcher(name) if gone => {
                        outlet.dispatcher_gone(&name, "is gone (nobody on its presence subject)", false);
                    }
                    Probe::Destination(dest) if gone => {
                        let failed = outlet.destination_gone(&dest);
                        tracing::warn!(nats = %outlet.outlet_name, dest = %dest, failed_requests = failed, "nobody serves a destination requests waited on");
                    }
                    _ => {}
                }
            }
            _ = sweep.tick() => {
                outlet.sweep();
                let (dispatchers, destinations) = outlet.silent();
                let probes = dispatchers
                    .into_iter()
                    .map(Probe::Dispatcher)
                    .chain(destinations.into_iter().map(Probe::Destination));
                for what in probes {
                    if probing.insert(what.clone()) {
                        tokio::spawn(probe(outlet.clone(), client.clone(), what, probed.clone()));
                    }
                }
            }
        }
    }
}

/// Whose silence a probe checks.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Probe {
    /// A dispatcher, on its presence subject.
    Dispatcher(String),
    /// A destination, on its claim subject (its holder answers).
    Destination(Id),
}

/// Asks whether `what` is there; says on `probed` whether it is gone: the
/// server answered that nobody is subscribed to its subject. (An answer,
/// or none in time, is not gone: asked again at a later sweep.)
async fn probe(
    outlet: Arc<NatsOutlet>,
    client: async_nats::Client,
    what: Probe,
    probed: mpsc::UnboundedSender<(Probe, bool)>,
) {
    let (subject, payload) = match &what {
        Probe::Dispatcher(name) => {
            (outlet.ns.subject(SubjectKind::Dispatcher, &Id::from(name.clone())), Bytes::new())
        }
        Probe::Destination(dest) => {
            (outlet.ns.subject(SubjectKind::Claim, dest), ClaimMsg::Who.encode())
        }
    };
    let gone = match subject {
        Ok(subject) => matches!(
            client.request(subject, payload).await,
            Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders
        ),
        Err(_) => false,
    };
    let _ = probed.send((what, gone));
}

/// A roster note from another dispatcher.
fn note(outlet: &NatsOutlet, attachment: &Weak<Attachment>, msg: &async_nats::Message) {
    match RosterNote::decode(&msg.payload) {
        Ok(RosterNote::Here { name, groups, roll_call, streamed }) => {
            if name == outlet.dispatcher_name {
                return;
            }
            if roll_call {
                outlet.publish_note(&outlet.here(false));
            }
            // Gone once the dispatcher left NATS: nothing to join then.
            if let Some(attachment) = attachment.upgrade() {
                outlet.note_groups(&name, groups, streamed, &attachment);
            }
        }
        Ok(RosterNote::Gone { name }) => {
            if name != outlet.dispatcher_name {
                if let Some(durable) = &outlet.durable {
                    durable.forget(&name);
                }
                outlet.dispatcher_gone(&name, "left", true);
            }
        }
        Err(e) => {
            bump(&outlet.counters.bad_frames);
            tracing::warn!(nats = %outlet.outlet_name, subject = %msg.subject, error = %e, "a roster note that does not decode (ignored)");
        }
    }
}

fn answer(outlet: &NatsOutlet, msg: async_nats::Message) {
    bump(&outlet.counters.received);
    let Some((id, kind, target)) = outlet.parse_reply_subject(&msg.subject) else {
        bump(&outlet.counters.bad_frames);
        tracing::warn!(nats = %outlet.outlet_name, subject = %msg.subject, "a message in the inbox on a subject this dispatcher never gave");
        return;
    };
    if msg.status == Some(StatusCode::NO_RESPONDERS) {
        outlet.nobody_serves(id, kind, target);
        return;
    }
    let reply = match decode_reply(&msg.payload) {
        Ok(r) => r,
        Err(e) => {
            bump(&outlet.counters.bad_frames);
            tracing::warn!(nats = %outlet.outlet_name, subject = %msg.subject, error = %e, "a reply that does not decode");
            return;
        }
    };
    let mut pending = outlet.pending.lock();
    let Some(p) = pending.get_mut(&reply.to) else {
        tracing::debug!(nats = %outlet.outlet_name, to = reply.to, "reply to a request nobody waits for");
        return;
    };
    let answer = answer_from_reply(reply.result, &p.request, &outlet.registry, &outlet.outlet_name);
    let Some(group) = p.group.as_mut() else {
        let p = pending.remove(&reply.to);
        drop(pending);
        if let Some(p) = p {
            p.reply.send(answer);
        }
        return;
    };
    let from = msg.headers.as_ref().and_then(|h| h.get(FROM_HEADER)).map_or("", |v| v.as_str());
    if group.answer(from, answer) {
        let p = pending.remove(&reply.to);
        drop(pending);
        if let Some(p) = p {
            outlet.finish_group(p);
        }
    }
}

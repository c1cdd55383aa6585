//! This dispatcher's inbox: the answers to what it published, and the
//! server's no-responders status for what nobody was subscribed to.

use std::sync::Arc;
use std::time::Duration;

use async_nats::StatusCode;
use futures::StreamExt;

use crate::SubjectKind;
use crate::outlet::NatsOutlet;
use crate::stats::bump;
use dispatchio_core::Error;
use dispatchio_net::envelope::{answer_from_reply, decode_reply};

/// How often requests whose senders gave up are forgotten.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Reads the inbox until the subscription ends.
pub(crate) async fn read_inbox(outlet: Arc<NatsOutlet>, mut inbox: async_nats::Subscriber) {
    let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        tokio::select! {
            msg = inbox.next() => match msg {
                Some(msg) => answer(&outlet, msg),
                None => return,
            },
            _ = sweep.tick() => outlet.sweep(),
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
        let unrouted = || match kind {
            SubjectKind::Group => Error::NoSubscribers(target.clone()),
            _ => Error::UnknownDestination(target.clone()),
        };
        match outlet.pending.lock().remove(&id) {
            Some(p) => {
                bump(&outlet.counters.requests_unrouted);
                tracing::debug!(nats = %outlet.outlet_name, id, %kind, target = %target, "request to nobody on the cluster");
                p.reply.send(Err(unrouted()));
            }
            None => {
                bump(&outlet.counters.unrouted);
                tracing::warn!(nats = %outlet.outlet_name, id, %kind, target = %target, "unrouted: a one-way message nobody on the cluster serves");
            }
        }
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
    let Some(p) = outlet.pending.lock().remove(&reply.to) else {
        tracing::debug!(nats = %outlet.outlet_name, to = reply.to, "reply to a request nobody waits for");
        return;
    };
    let answer = answer_from_reply(reply.result, &p.request, &outlet.registry, &outlet.outlet_name);
    p.reply.send(answer);
}

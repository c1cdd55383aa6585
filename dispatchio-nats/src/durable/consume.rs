//! Receiving in JetStream mode: what this dispatcher's durable consumer
//! gives enters the dispatcher through an inlet, and is acknowledged once
//! it is done with: a request when it is answered (after its reply is
//! queued), a one-way message when its listener has handled it. A message
//! abandoned by a shutdown is not acknowledged (this dispatcher's next
//! life gets it again); a frame that does
//! not decode is counted, logged and terminated (never given again).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind};
use futures::StreamExt;
use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::REPLY_HEADER;
use crate::outlet::NatsOutlet;
use crate::serve::{content_refused, send_reply};
use crate::stats::bump;
use dispatchio_core::transport::Inlet;
use dispatchio_core::{Dispatcher, Error, ReplySender};
use dispatchio_net::envelope::{MessageRebuilder, decode_content, decode_message, reply_result};

/// How long a message refused by a full mailbox waits before it is given
/// again.
const FULL_RETRY: Duration = Duration::from_millis(100);

/// How long the reader waits before it asks for messages again after the
/// server refused.
const PAUSE: Duration = Duration::from_secs(1);

/// The stream sequences given to the dispatcher and not yet done with: one
/// given again meanwhile (its handler outlasted the ack wait) is marked in
/// progress rather than handled twice.
type InFlight = Arc<Mutex<HashSet<u64>>>;

/// Reads `consumer` until told to stop (or the stop's sender is gone).
pub(crate) async fn consume(
    outlet: Arc<NatsOutlet>,
    mut inlet: Inlet,
    consumer: jetstream::consumer::PullConsumer,
    mut stop: oneshot::Receiver<()>,
) {
    let dispatcher = inlet.dispatcher().clone();
    let in_flight = InFlight::default();
    let mut rebuilder = MessageRebuilder::default();
    loop {
        let mut messages = match consumer.messages().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(nats = %outlet.outlet_name, error = %e, "cannot read this dispatcher's JetStream consumer; trying again");
                tokio::select! {
                    () = tokio::time::sleep(PAUSE) => continue,
                    _ = &mut stop => return,
                }
            }
        };
        loop {
            tokio::select! {
                _ = &mut stop => return,
                given = messages.next() => match given {
                    Some(Ok(msg)) => {
                        let mut cx = Given { outlet: &outlet, dispatcher: &dispatcher, in_flight: &in_flight };
                        cx.take(&mut inlet, &mut rebuilder, msg);
                    }
                    // Missed heartbeats, a reconnect: the stream goes on.
                    Some(Err(e)) => tracing::debug!(nats = %outlet.outlet_name, error = %e, "reading the JetStream consumer"),
                    None => break,
                },
            }
        }
    }
}

/// What taking one message needs.
struct Given<'a> {
    outlet: &'a Arc<NatsOutlet>,
    dispatcher: &'a Dispatcher,
    in_flight: &'a InFlight,
}

impl Given<'_> {
    fn take(
        &mut self,
        inlet: &mut Inlet,
        rebuilder: &mut MessageRebuilder,
        msg: jetstream::Message,
    ) {
        let outlet = self.outlet;
        bump(&outlet.counters.received);
        let acker = self.acker(&msg);
        let msg = msg.message;
        let subject = msg.subject.as_str();
        let Some(acker) = acker else {
            bump(&outlet.counters.bad_frames);
            tracing::warn!(nats = %outlet.outlet_name, subject, "a message from the JetStream consumer without its acknowledgement subject (ignored)");
            return;
        };
        let Some(acker) = acker else { return };
        let m = match decode_message(&msg.payload) {
            Ok(m) => m,
            Err(e) => {
                bump(&outlet.counters.bad_frames);
                tracing::warn!(nats = %outlet.outlet_name, subject, error = %e, "a message in the stream that does not decode (terminated)");
                acker.done(AckKind::Term);
                return;
            }
        };
        let reply_to = msg
            .headers
            .as_ref()
            .and_then(|h| h.get(REPLY_HEADER))
            .filter(|_| m.response_required)
            .map(|r| r.to_string());
        let to = m.id;
        let content = match decode_content(&outlet.registry, m.content) {
            Ok(c) => c,
            Err(reason) => {
                // Never decodes: terminated, not given again.
                content_refused(outlet, subject, to, &reason, reply_to);
                acker.done(AckKind::Term);
                return;
            }
        };
        let message = rebuilder.rebuild(&m, content);
        let wants_reply = reply_to.is_some();
        let d = self.dispatcher.clone();
        let reply = match reply_to {
            Some(reply_to) => {
                let me = outlet.clone();
                ReplySender::callback(message.id(), move |answer| {
                    let abandoned = d.is_shut_down()
                        && answer
                            .as_ref()
                            .err()
                            .is_some_and(|e| any(e, |e| matches!(e, Error::Shutdown)));
                    send_reply(&me, &reply_to, to, reply_result(&answer));
                    if abandoned { acker.release() } else { acker.done(AckKind::Ack) }
                })
            }
            None => ReplySender::unwanted_then(move |refused| match refused {
                None if d.is_shut_down() => acker.release(),
                Some(e) if any(e, |e| matches!(e, Error::Shutdown)) => acker.release(),
                Some(e) if any(e, |e| matches!(e, Error::MailboxFull { .. })) => {
                    acker.done(AckKind::Nak(Some(FULL_RETRY)))
                }
                _ => acker.done(AckKind::Ack),
            }),
        };
        if let Err(e) = inlet.deliver(message, reply) {
            let again = matches!(e, Error::MailboxFull { .. } | Error::Shutdown);
            if !wants_reply && !again {
                bump(&outlet.counters.undeliverable);
                tracing::warn!(nats = %outlet.outlet_name, subject, id = to, error = %e, "incoming message undeliverable (acknowledged)");
            }
        }
    }

    /// The acknowledger of `msg`: `None` when it is not a JetStream
    /// message, `Some(None)` when it is in flight already (given again
    /// while its handler still runs: marked in progress instead).
    fn acker(&self, msg: &jetstream::Message) -> Option<Option<Acker>> {
        let to = msg.reply.as_ref()?.to_string();
        let (seq, delivered) = msg.info().map(|i| (i.stream_sequence, i.delivered)).ok()?;
        if delivered > 1 {
            bump(&self.outlet.counters.redelivered);
        }
        if !self.in_flight.lock().insert(seq) {
            self.outlet.publish_plain(&to, AckKind::Progress.into());
            return Some(None);
        }
        Some(Some(Acker {
            outlet: self.outlet.clone(),
            to,
            seq,
            in_flight: self.in_flight.clone(),
        }))
    }
}

/// Whether `e` is `what`, or a group's failures hold one: a group message
/// is done with once every local member is, and one abandoned by a
/// shutdown (or refused by a full mailbox) is given again as a whole.
fn any(e: &Error, what: fn(&Error) -> bool) -> bool {
    match e {
        Error::Group(g) => g.failures.iter().any(|(_, e)| what(e)),
        e => what(e),
    }
}

/// Acknowledges one message, once.
struct Acker {
    outlet: Arc<NatsOutlet>,
    /// Its acknowledgement subject.
    to: String,
    seq: u64,
    in_flight: InFlight,
}

impl Acker {
    /// Tells JetStream `kind` (queued after the reply, if any).
    fn done(self, kind: AckKind) {
        if matches!(kind, AckKind::Ack) {
            bump(&self.outlet.counters.acked);
        }
        self.outlet.publish_plain(&self.to, kind.into());
        self.release();
    }

    /// Done with, not acknowledged: JetStream gives it again after the ack
    /// wait.
    fn release(self) {
        self.in_flight.lock().remove(&self.seq);
    }
}

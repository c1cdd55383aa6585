//! Sending in JetStream mode: the holder of each destination, learned from
//! its claim subject and kept; each message published into the stream
//! under the holder's name, with its `Nats-Msg-Id`; the stream's
//! acknowledgements awaited apart, so that publishing never waits for one,
//! and a message the stream did not take published again (the same ID:
//! the stream removes it should it have been stored after all).

use std::collections::BTreeSet;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, context::PublishAckFuture, message::PublishMessage};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc;

use super::{REPLY_HEADER, Route};
use crate::claim::{ASK_TIMEOUT, ClaimMsg};
use crate::outlet::{NatsOutlet, Outgoing};
use crate::stats::{Counters, bump};
use crate::{Namespace, SubjectKind};
use dispatchio_core::{Id, TransportErrorKind};

/// How long a holder, once heard, is taken for the holder without asking
/// again (while messages go to it).
const REFRESH: Duration = Duration::from_secs(1);

/// How many times a message is published before its sender is told the
/// stream did not take it: with the pauses between ([`retry_pause`]),
/// about 15 s of trying, longer than a JetStream cluster takes to elect a
/// stream leader again when the leader's server is lost.
const MAX_ATTEMPTS: u32 = 12;

/// The pause before a message is published a second time.
const FIRST_PAUSE: Duration = Duration::from_millis(100);

/// The longest pause between two attempts.
const LONGEST_PAUSE: Duration = Duration::from_secs(2);

/// What a message to a destination or a group needs in JetStream mode.
pub(crate) struct DurableOut {
    pub(crate) to: Target,
    /// The message ID (the key of a waiting request, and of `Nats-Msg-Id`).
    pub(crate) id: u64,
}

/// Where a message goes in JetStream mode.
pub(crate) enum Target {
    /// Into the stream under the destination's holder.
    Destination(Id),
    /// Into the stream once for each dispatcher with members that reads
    /// the group through the stream; on the group subject for the others.
    Group(Id),
}

/// The publishing task's JetStream side.
pub(crate) struct DurablePublisher {
    js: jetstream::Context,
    storing: mpsc::UnboundedSender<Storing>,
}

/// A message published into the stream, its acknowledgement awaited.
struct Storing {
    ack: PublishAckFuture,
    again: Again,
}

/// What publishing a message again takes.
struct Again {
    subject: String,
    publish: PublishMessage,
    request: Option<u64>,
    /// A group message: the dispatcher it is published for.
    member: Option<String>,
    attempt: u32,
}

/// Who holds a destination, as its claim subject said just now.
enum Heard {
    Held(Route),
    Nobody,
    /// No answer in time, or the connection failed.
    Unknown,
}

impl DurablePublisher {
    /// Starts the task that awaits the stream's acknowledgements.
    pub(crate) fn start(js: jetstream::Context, outlet: Weak<NatsOutlet>) -> DurablePublisher {
        let (storing, rx) = mpsc::unbounded_channel();
        tokio::spawn(await_acks(js.clone(), outlet, rx));
        DurablePublisher { js, storing }
    }

    /// Publishes `out` into the stream under its destination's holder;
    /// gives it back when the holder is in core mode (it is then published
    /// on the destination subject, as in core mode). A destination nobody
    /// holds is unrouted, as in core mode.
    pub(crate) async fn publish(
        &self,
        client: &async_nats::Client,
        outlet: &Arc<NatsOutlet>,
        mut out: Outgoing,
        to: DurableOut,
    ) -> Option<Outgoing> {
        let Some(durable) = outlet.durable.as_ref() else { return Some(out) };
        let dest = match to.to {
            Target::Destination(dest) => dest,
            Target::Group(group) => return self.publish_group(outlet, out, &group, to.id).await,
        };
        let Some(route) = self.route(client, outlet, &dest).await else {
            outlet.nobody_serves(to.id, SubjectKind::Destination, dest);
            return None;
        };
        if !route.durable {
            // At most once, as in core mode: probed as core mode's are.
            if let Some(p) = outlet.pending.lock().get_mut(&to.id) {
                p.durable = false;
            }
            return Some(out);
        }
        let subject = match outlet.ns.held(&route.holder, &dest) {
            Ok(s) => s,
            Err(e) => {
                store_failed(outlet, out.request, None, &dest.to_string(), &e);
                return None;
            }
        };
        let mut publish = PublishMessage::build()
            .payload(std::mem::take(&mut out.payload))
            .message_id(durable.message_id(&outlet.dispatcher_name, to.id));
        if let (Some(_), Some(reply)) = (out.request, &out.reply) {
            publish = publish.header(REPLY_HEADER, reply.as_str());
        }
        let again = Again { subject, publish, request: out.request, member: None, attempt: 1 };
        self.send(outlet, again).await;
        None
    }

    /// Publishes group message `out` into the stream once for each
    /// dispatcher the roster says reads `group` through it (a `Nats-Msg-Id`
    /// of its own each: the stream would take the others for duplicates);
    /// gives it back, naming those dispatchers in a
    /// [`STREAMED_HEADER`](super::STREAMED_HEADER) (they skip it there),
    /// when other dispatchers have members: it is then published on the
    /// group subject as in core mode.
    async fn publish_group(
        &self,
        outlet: &Arc<NatsOutlet>,
        mut out: Outgoing,
        group: &Id,
        id: u64,
    ) -> Option<Outgoing> {
        let durable = outlet.durable.as_ref()?;
        let (streamed, members) = {
            let roster = outlet.roster.lock();
            (roster.streamed_of(group), roster.members_of(group))
        };
        let others = streamed.is_empty() || members.iter().any(|m| !streamed.contains(m));
        if let Some(r) = out.request {
            wait_for_streamed(outlet, r, &streamed, &members);
        }
        let message_id = durable.message_id(&outlet.dispatcher_name, id);
        for member in &streamed {
            let subject = match outlet.ns.held_group(member, group) {
                Ok(s) => s,
                Err(e) => {
                    store_failed(outlet, out.request, Some(member), &group.to_string(), &e);
                    continue;
                }
            };
            let mut publish = PublishMessage::build()
                .payload(out.payload.clone())
                .message_id(format!("{message_id}.{}", Namespace::consumer_name(member)));
            if let (Some(_), Some(reply)) = (out.request, &out.reply) {
                publish = publish.header(REPLY_HEADER, reply.as_str());
            }
            let member = Some(member.clone());
            let again = Again { subject, publish, request: out.request, member, attempt: 1 };
            self.send(outlet, again).await;
        }
        if !others {
            return None;
        }
        if !streamed.is_empty() {
            let names: Vec<String> = streamed.iter().map(|m| Namespace::consumer_name(m)).collect();
            let mut headers = out.headers.take().unwrap_or_default();
            headers.insert(super::STREAMED_HEADER, names.join(",").as_str());
            out.headers = Some(headers);
        }
        Some(out)
    }

    async fn send(&self, outlet: &NatsOutlet, again: Again) {
        send(&self.js, &self.storing, outlet, again).await;
    }

    /// The holder of `dest`: as last heard, asked again in the background
    /// once [`REFRESH`] has passed (publishing never waits for that), or,
    /// heard of never, asked for now.
    async fn route(
        &self,
        client: &async_nats::Client,
        outlet: &Arc<NatsOutlet>,
        dest: &Id,
    ) -> Option<Route> {
        let durable = outlet.durable.as_ref()?;
        let cached = match durable.routes.lock().get_mut(dest) {
            Some(r) if r.checked.elapsed() >= REFRESH => {
                r.checked = Instant::now();
                tokio::spawn(refresh(client.clone(), outlet.clone(), dest.clone(), r.clone()));
                Some(r.clone())
            }
            cached => cached.cloned(),
        };
        if cached.is_some() {
            return cached;
        }
        let Heard::Held(route) = who(client, outlet, dest).await else { return None };
        durable.routes.lock().insert(dest.clone(), route.clone());
        Some(route)
    }
}

/// Group request `r` goes through the stream to `streamed`: a
/// no-responders answer on the group subject then ends the wait only for
/// the others, and those of `streamed` off the roster (found dead, not
/// among `members`) have their part failed at once as `PeerLost` rather
/// than waited for until the request's timeout.
fn wait_for_streamed(
    outlet: &NatsOutlet,
    r: u64,
    streamed: &BTreeSet<String>,
    members: &BTreeSet<String>,
) {
    let mut pending = outlet.pending.lock();
    let Some(g) = pending.get_mut(&r).and_then(|p| p.group.as_mut()) else { return };
    g.streamed = streamed.clone();
    let mut complete = false;
    for lost in streamed.difference(members) {
        let e = outlet.error(
            TransportErrorKind::PeerLost,
            format!(
                "dispatcher {lost} is gone (the request waits in the stream for its next life)"
            ),
        );
        complete = g.absent(lost, e.into());
    }
    let done = if complete { pending.remove(&r) } else { None };
    drop(pending);
    if let Some(p) = done {
        outlet.finish_group(p);
    }
}

/// Asks again who holds `dest`, last heard held by `old`: another holder
/// is taken; a holder that no longer answers for `dest` is kept while it
/// is not there at all (killed: its messages wait in the stream for it to
/// come back), and forgotten when it is there without `dest`.
async fn refresh(client: async_nats::Client, outlet: Arc<NatsOutlet>, dest: Id, old: Route) {
    let route = match who(&client, &outlet, &dest).await {
        Heard::Held(route) => Some(route),
        Heard::Nobody if present(&client, &outlet, &old.holder).await => None,
        Heard::Nobody | Heard::Unknown => return,
    };
    let Some(durable) = &outlet.durable else { return };
    let mut routes = durable.routes.lock();
    match route {
        Some(route) => {
            routes.insert(dest, route);
        }
        None => {
            if routes.get(&dest).is_some_and(|r| r.holder == old.holder) {
                tracing::debug!(nats = %outlet.outlet_name, dest = %dest, holder = old.holder, "the holder no longer serves a destination");
                routes.remove(&dest);
            }
        }
    }
}

async fn send(
    js: &jetstream::Context,
    storing: &mpsc::UnboundedSender<Storing>,
    outlet: &NatsOutlet,
    again: Again,
) {
    match js.send_publish(again.subject.clone(), again.publish.clone()).await {
        Ok(ack) => {
            bump(&outlet.counters.published);
            let _ = storing.send(Storing { ack, again });
        }
        Err(e) => store_failed(outlet, again.request, again.member.as_deref(), &again.subject, &e),
    }
}

/// Awaits the stream's acknowledgements, all at once; a message not
/// taken is published again after a pause, up to [`MAX_ATTEMPTS`] times.
async fn await_acks(
    js: jetstream::Context,
    outlet: Weak<NatsOutlet>,
    mut rx: mpsc::UnboundedReceiver<Storing>,
) {
    let mut waiting = FuturesUnordered::new();
    let mut open = true;
    loop {
        tokio::select! {
            s = rx.recv(), if open => match s {
                Some(Storing { ack, again }) => waiting.push(attempt(Attempt::Published(ack), again)),
                None => open = false,
            },
            Some((acked, mut again)) = waiting.next() => {
                let Some(outlet) = outlet.upgrade() else { return };
                match acked {
                    Ok(ack) => {
                        bump(&outlet.counters.stored);
                        if ack.duplicate {
                            bump(&outlet.counters.duplicates);
                        }
                    }
                    Err(e) if again.attempt < MAX_ATTEMPTS => {
                        tracing::debug!(nats = %outlet.outlet_name, subject = again.subject, attempt = again.attempt, error = %e, "the stream did not acknowledge a message; publishing it again");
                        let pause = retry_pause(again.attempt);
                        again.attempt += 1;
                        let retry = Retry { js: js.clone(), counters: outlet.counters.clone(), pause };
                        waiting.push(attempt(Attempt::Again(retry), again));
                    }
                    Err(e) => store_failed(&outlet, again.request, again.member.as_deref(), &again.subject, &e),
                }
            }
            else => return,
        }
    }
}

/// How a message is published again: after `pause`.
struct Retry {
    js: jetstream::Context,
    counters: Arc<Counters>,
    pause: Duration,
}

/// The pause before attempt `attempt + 1`: doubling from
/// [`FIRST_PAUSE`] up to [`LONGEST_PAUSE`], so that the attempts span a
/// stream leader's election after a server is lost (seconds), not a
/// moment of it.
fn retry_pause(attempt: u32) -> Duration {
    FIRST_PAUSE.saturating_mul(1 << attempt.saturating_sub(1).min(16)).min(LONGEST_PAUSE)
}

/// One attempt at storing a message.
enum Attempt {
    /// Published: its acknowledgement awaited.
    Published(PublishAckFuture),
    /// To publish again, as this says.
    Again(Retry),
}

/// The stream's acknowledgement of an attempt, with what publishing the
/// message again takes.
async fn attempt(
    attempt: Attempt,
    again: Again,
) -> (Result<jetstream::publish::PublishAck, jetstream::context::PublishError>, Again) {
    let ack = match attempt {
        Attempt::Published(ack) => ack,
        Attempt::Again(Retry { js, counters, pause }) => {
            tokio::time::sleep(pause).await;
            match js.send_publish(again.subject.clone(), again.publish.clone()).await {
                Ok(ack) => {
                    bump(&counters.published);
                    ack
                }
                Err(e) => return (Err(e), again),
            }
        }
    };
    (ack.await, again)
}

/// The stream did not take a message: counted, logged, and its request
/// (if one waits) failed; for a group message published for dispatcher
/// `member`, that dispatcher's part of the request.
fn store_failed(
    outlet: &NatsOutlet,
    request: Option<u64>,
    member: Option<&str>,
    what: &str,
    e: &dyn std::error::Error,
) {
    bump(&outlet.counters.store_failed);
    tracing::warn!(nats = %outlet.outlet_name, subject = what, error = %e, "JetStream did not take a message");
    let Some(id) = request else { return };
    let e = outlet.error(
        TransportErrorKind::Unavailable,
        format!("JetStream did not take the message for {what}: {e}"),
    );
    let mut pending = outlet.pending.lock();
    let complete = match (member, pending.get_mut(&id)) {
        (Some(member), Some(p)) => {
            p.group.as_mut().is_some_and(|g| g.gone(member, e.clone().into()))
        }
        (_, Some(_)) => true,
        (_, None) => false,
    };
    let Some(p) = complete.then(|| pending.remove(&id)).flatten() else { return };
    drop(pending);
    match member {
        Some(_) => outlet.finish_group(p),
        None => p.reply.send(Err(e.into())),
    }
}

/// Asks `dest`'s claim subject who holds it.
async fn who(client: &async_nats::Client, outlet: &NatsOutlet, dest: &Id) -> Heard {
    let Ok(subject) = outlet.ns.subject(SubjectKind::Claim, dest) else { return Heard::Nobody };
    let request =
        async_nats::Request::new().payload(ClaimMsg::Who.encode()).timeout(Some(ASK_TIMEOUT));
    match client.send_request(subject, request).await {
        Ok(msg) => match ClaimMsg::decode(&msg.payload) {
            Ok(ClaimMsg::Held { name, durable }) => {
                Heard::Held(Route { holder: name, durable, checked: Instant::now() })
            }
            _ => {
                bump(&outlet.counters.bad_frames);
                tracing::warn!(nats = %outlet.outlet_name, dest = %dest, "an answer on a claim subject that is not a claim's");
                Heard::Unknown
            }
        },
        Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders => Heard::Nobody,
        Err(e) => {
            tracing::warn!(nats = %outlet.outlet_name, dest = %dest, error = %e, "nobody said who holds a destination");
            Heard::Unknown
        }
    }
}

/// Whether dispatcher `name` is up (it answers on its presence subject).
async fn present(client: &async_nats::Client, outlet: &NatsOutlet, name: &str) -> bool {
    // No answer in time is not "there": the holder is kept.
    super::ask_presence(client, &outlet.ns, name).await.is_ok()
}

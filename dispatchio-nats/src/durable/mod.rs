//! JetStream mode ([`Delivery::JetStream`](crate::Delivery::JetStream)):
//! messages to destination IDs go through the namespace's stream, under
//! their holder's name (`<ns>.n.<holder>.d.…`), and each dispatcher reads
//! the messages under its own name through one durable consumer named
//! after it, acknowledging each once its listener has handled it.
//!
//! Sending ([`publish`]): the holder of a destination is learned from the
//! claims (core mode's, for now: a `Who` on the claim subject), kept, and
//! asked again in the background at most once a second while messages go
//! there. Receiving
//! ([`consume`](mod@consume)): what the consumer gives enters through an inlet, with a
//! reply slot that acknowledges the message when it is done with.

mod consume;
mod groups;
mod publish;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use parking_lot::Mutex;

use crate::config::NatsConfig;
use crate::{Namespace, NatsError, NatsErrorKind, SubjectKind};
use dispatchio_core::Id;

pub(crate) use consume::consume;
pub(crate) use groups::GroupConsumers;
pub(crate) use publish::{DurableOut, DurablePublisher, Target};

/// The header that carries a request's reply subject through the stream
/// (a JetStream publish's own reply subject is the stream's
/// acknowledgement).
pub(crate) const REPLY_HEADER: &str = "Dispatchio-Reply";

/// The header of a group message published on the group subject by a
/// JetStream-mode sender that also published it into the stream for some
/// dispatchers: their names, escaped (`Namespace::consumer_name`), comma
/// separated. Those dispatchers skip it on the group subject.
pub(crate) const STREAMED_HEADER: &str = "Dispatchio-Streamed";

/// Whether a message on a group subject carries `me` (an escaped
/// dispatcher name) in its [`STREAMED_HEADER`]: it reached `me` through
/// the stream.
pub(crate) fn streamed_to(headers: Option<&async_nats::HeaderMap>, me: &str) -> bool {
    headers
        .and_then(|h| h.get(STREAMED_HEADER))
        .is_some_and(|names| names.as_str().split(',').any(|n| n == me))
}

/// The longest stream or consumer name: each is a directory of the
/// server's store.
pub(crate) const MAX_STORE_NAME: usize = 255;

/// On how many servers of a cluster the stream is kept unless told
/// otherwise: a quorum survives one server's loss.
const CLUSTER_REPLICAS: usize = 3;

/// How long the stream remembers a message ID to remove a re-publish.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// What JetStream mode adds to a dispatcher's NATS side.
pub(crate) struct Durable {
    /// Chosen at each join: with the dispatcher's name and the message ID,
    /// the `Nats-Msg-Id` of each message, so that a restarted sender's
    /// messages (whose IDs start at 1 again) are not taken for
    /// re-publishes of its previous life's.
    pub(crate) incarnation: String,
    /// This dispatcher's name, escaped as in its subjects.
    pub(crate) me: String,
    /// The holder of each destination ID messages went to, as last heard.
    pub(crate) routes: Mutex<HashMap<Id, Route>>,
}

/// Who holds a destination, as last heard on its claim subject.
#[derive(Clone, Debug)]
pub(crate) struct Route {
    pub(crate) holder: String,
    /// Whether the holder reads its stream (JetStream mode); a core-mode
    /// holder is sent to on the destination subject, at most once.
    pub(crate) durable: bool,
    pub(crate) checked: Instant,
}

impl Durable {
    pub(crate) fn new(incarnation: String, name: &str) -> Durable {
        let me = Namespace::consumer_name(name);
        Durable { incarnation, me, routes: Mutex::new(HashMap::new()) }
    }

    /// Dispatcher `name` left the cluster: the IDs it held are asked for
    /// again (a killed holder is kept: its messages wait in the stream).
    pub(crate) fn forget(&self, name: &str) {
        self.routes.lock().retain(|_, r| r.holder != name);
    }

    /// The `Nats-Msg-Id` of message `id` sent by dispatcher `name`.
    pub(crate) fn message_id(&self, name: &str, id: u64) -> String {
        format!("{name}.{}.{id}", self.incarnation)
    }
}

/// A JetStream setup error saying `what`, with its cause.
fn failed<E: std::error::Error + Send + Sync + 'static>(
    what: String,
) -> impl FnOnce(E) -> NatsError {
    move |e| NatsError::new(NatsErrorKind::JetStream, what).with_source(e)
}

/// What [`set_up`] gives: the JetStream context, this dispatcher's
/// consumer of messages to its destinations, and what makes its groups'.
pub(crate) struct SetUp {
    pub(crate) js: jetstream::Context,
    pub(crate) consumer: jetstream::consumer::PullConsumer,
    pub(crate) groups: GroupConsumers,
}

/// Makes sure the namespace's stream exists and creates (or finds) this
/// dispatcher's durable consumer on it.
///
/// # Errors
///
/// [`NatsErrorKind::JetStream`]: names too long for the server's store, a
/// server without JetStream, a stream or consumer the server refuses.
pub(crate) async fn set_up(
    client: &async_nats::Client,
    ns: &Namespace,
    name: &str,
    config: &NatsConfig,
) -> Result<SetUp, NatsError> {
    let stream_name = ns.stream_name();
    let consumer_name = Namespace::consumer_name(name);
    for (what, n) in [("namespace", &stream_name), ("dispatcher name", &consumer_name)] {
        if n.len() > MAX_STORE_NAME {
            return Err(NatsError::new(
                NatsErrorKind::JetStream,
                format!(
                    "the {what} is too long for JetStream: {} bytes as a stream or consumer \
                     name, at most {MAX_STORE_NAME}",
                    n.len()
                ),
            ));
        }
    }
    let js = jetstream::new(client.clone());
    let stream_config = |num_replicas| jetstream::stream::Config {
        name: stream_name.clone(),
        subjects: vec![ns.all_held()],
        // A message is gone from the stream once its holder has
        // acknowledged it: the stream holds what is still owed.
        retention: jetstream::stream::RetentionPolicy::WorkQueue,
        storage: jetstream::stream::StorageType::File,
        duplicate_window: DUPLICATE_WINDOW,
        num_replicas,
        ..Default::default()
    };
    let clustered = client.server_info().cluster.is_some();
    let replicas = config.stream_replicas.unwrap_or(if clustered { CLUSTER_REPLICAS } else { 1 });
    let stream = match js.get_or_create_stream(stream_config(replicas)).await {
        // Chosen here, not asked for: a cluster of fewer servers keeps one.
        Err(e) if config.stream_replicas.is_none() && replicas > 1 => {
            tracing::warn!(stream = stream_name, replicas, error = %e, "the cluster cannot keep the stream on this many servers; keeping it on one");
            js.get_or_create_stream(stream_config(1)).await
        }
        created => created,
    }
    .map_err(failed(format!("cannot set up the JetStream stream {stream_name}")))?;
    let wanted = jetstream::consumer::pull::Config {
        durable_name: Some(consumer_name.clone()),
        filter_subject: ns.destinations_held_by(name),
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        ack_wait: config.ack_wait,
        ..Default::default()
    };
    // Asked once, before this dispatcher answers there itself.
    let restart = previous_life_gone(client, ns, name).await;
    let consumer = open_consumer(&stream, wanted, restart)
        .await
        .map_err(failed(format!("cannot set up the JetStream consumer {consumer_name}")))?;
    let groups = GroupConsumers::new(stream, restart, config.ack_wait);
    Ok(SetUp { js, consumer, groups })
}

/// Creates the durable consumer `wanted`, or finds it there from a
/// previous life of this dispatcher.
///
/// A consumer found with messages given out and not acknowledged is made
/// again when `restart` says no other dispatcher of this name is up: the server gives those
/// messages again only once their ack wait has passed since they were
/// given (30 s by default), and the life they were given to is dead. The
/// consumer is deleted and created anew, delivering everything its filter
/// has in the stream: the stream's work-queue retention removes a message
/// once it is acknowledged (and deleting a consumer of a work-queue
/// stream leaves its messages there), so what is left is exactly what is
/// owed, and it comes at once. (async-nats 0.46 and the 2.9 server have
/// no way to reset a consumer's pending messages in place: its deliver
/// policy cannot be updated.) One found with another ack wait or filter
/// is made again the same way, so that the configuration of this life
/// holds.
async fn open_consumer(
    stream: &jetstream::stream::Stream,
    wanted: jetstream::consumer::pull::Config,
    restart: bool,
) -> Result<jetstream::consumer::PullConsumer, jetstream::stream::ConsumerError> {
    let name = wanted.durable_name.clone().unwrap_or_default();
    let found = stream.get_or_create_consumer(&name, wanted.clone()).await?;
    let info = found.cached_info();
    let stale = info.num_ack_pending > 0
        || info.config.ack_wait != wanted.ack_wait
        || info.config.filter_subject != wanted.filter_subject;
    if !stale {
        return Ok(found);
    }
    if !restart {
        tracing::warn!(
            consumer = name,
            owed = info.num_ack_pending,
            "a dispatcher of this name is up: its JetStream consumer is left as it is (what it was given comes again after the ack wait)"
        );
        return Ok(found);
    }
    tracing::info!(
        consumer = name,
        owed = info.num_ack_pending,
        "a previous life's JetStream consumer: made again, so that what it was owed comes at once"
    );
    stream.delete_consumer(&name).await?;
    stream.create_consumer(wanted).await
}

/// Whether nobody answers on dispatcher `name`'s presence subject (the
/// server's no-responders: no dispatcher of that name is up).
async fn previous_life_gone(client: &async_nats::Client, ns: &Namespace, name: &str) -> bool {
    matches!(
        ask_presence(client, ns, name).await,
        Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders
    )
}

/// Asks on dispatcher `name`'s presence subject whether it is up.
pub(crate) async fn ask_presence(
    client: &async_nats::Client,
    ns: &Namespace,
    name: &str,
) -> Result<async_nats::Message, async_nats::RequestError> {
    let subject = ns.subject(SubjectKind::Dispatcher, &Id::from(name)).map_err(|e| {
        async_nats::RequestError::with_source(async_nats::RequestErrorKind::Other, e)
    })?;
    let request = async_nats::Request::new()
        .payload(bytes::Bytes::new())
        .timeout(Some(crate::claim::ASK_TIMEOUT));
    client.send_request(subject, request).await
}

//! The summary's `nats` part: two dispatchers joined to one `nats-server`
//! of the bench's own (core mode), against two raw async-nats clients
//! doing the same publish/subscribe and request on the same server, and
//! two more dispatchers in JetStream mode (in a namespace of their own),
//! their repetitions alternating so that all meet the same machine state.
//!
//! Throughput: `messages` one-way 64-byte messages, a request every
//! [`WINDOW`] (dispatchio's outlet queue is bounded; the raw side does
//! the same) and one at the end; the receiver counts what arrived, so
//! every message lost is counted. Round trip: `trips` requests one after
//! another, the median.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dispatchio::routing::{Action, Cond, RoutingTable};
use dispatchio::{ContentRegistry, Dispatcher, Message, Reply, RoutedListener, Text};
use dispatchio_nats::{Delivery, NatsConfig, NatsExt};
use futures::StreamExt;
use tokio::runtime::Runtime;

use crate::nats_server::NatsServerProcess;

type Error = Box<dyn std::error::Error + Send + Sync>;

const BODY: usize = 64;
/// One-way messages between two requests of the throughput runs.
const WINDOW: u64 = 4096;
const PATIENCE: Duration = Duration::from_secs(60);

/// What one side measured.
#[derive(Default)]
pub(crate) struct Figures {
    /// Messages per second, median of the repetitions.
    pub(crate) tput: f64,
    /// Median round trip in microseconds, over every round trip.
    pub(crate) rtt_us: f64,
    /// Messages sent and never received, over every repetition.
    pub(crate) lost: u64,
}

/// The three sides' figures: dispatchio's in core mode, the raw
/// client's, dispatchio's in JetStream mode.
pub(crate) fn measure(
    rt: &Runtime,
    messages: u64,
    trips: u64,
    reps: usize,
) -> Result<(Figures, Figures, Figures), Error> {
    let server = NatsServerProcess::start()?;
    rt.block_on(async {
        let mut sides = [
            Side::dispatchio(server.url(), Delivery::Core).await?,
            Side::raw(server.url()).await?,
            Side::dispatchio(server.url(), Delivery::JetStream).await?,
        ];
        let mut tputs = [vec![], vec![], vec![]];
        let mut rtts = [vec![], vec![], vec![]];
        for _ in 0..reps {
            for (side, tput) in sides.iter_mut().zip(&mut tputs) {
                tput.push(side.throughput(messages).await?);
            }
            for (side, rtt) in sides.iter_mut().zip(&mut rtts) {
                rtt.extend(side.round_trips(trips).await?);
            }
        }
        let [ours, raw, js] = sides;
        let [t_ours, t_raw, t_js] = tputs;
        let [r_ours, r_raw, r_js] = rtts;
        let figures = |tputs, rtts, side: &Side| Figures {
            tput: crate::median_of(tputs),
            rtt_us: crate::median_of(rtts),
            lost: side.sent - side.received.load(Ordering::Relaxed),
        };
        Ok((figures(t_ours, r_ours, &ours), figures(t_raw, r_raw, &raw), figures(t_js, r_js, &js)))
    })
}

/// One side: how it sends, and what its receiver counted.
struct Side {
    how: How,
    sent: u64,
    received: Arc<AtomicU64>,
}

enum How {
    Dispatchio { sender: Dispatcher, _receiver: Dispatcher },
    Raw { client: async_nats::Client },
}

impl Side {
    /// A sender and a receiver dispatcher, each with its connection, in
    /// `delivery` mode; the receiver's listener `sink` counts one-way
    /// messages and answers requests.
    async fn dispatchio(url: &str, delivery: Delivery) -> Result<Side, Error> {
        let received = Arc::new(AtomicU64::new(0));
        let receiver = Dispatcher::new();
        let table =
            RoutingTable::builder().rule("all", Cond::Always, [Action::call("count")]).build()?;
        let count = received.clone();
        let sink = RoutedListener::builder(table)
            .handler("count", move |m: &Message| {
                if m.envelope().response_required {
                    return Ok(Reply::with(Text(String::new())));
                }
                count.fetch_add(1, Ordering::Relaxed);
                Ok(Reply::Empty)
            })
            .build()?;
        receiver.register("sink", Arc::new(sink))?;
        let config = |name: &str| {
            let mut registry = ContentRegistry::new();
            registry.register::<Text>();
            let namespace = match delivery {
                Delivery::JetStream => "bench-js",
                _ => "bench",
            };
            NatsConfig::new(url)
                .namespace(namespace)
                .name(name)
                .registry(registry)
                .delivery(delivery)
        };
        receiver.join_nats(config("receiver")).await?;
        let sender = Dispatcher::new();
        sender.join_nats(config("sender")).await?;
        Ok(Side { how: How::Dispatchio { sender, _receiver: receiver }, sent: 0, received })
    }

    /// Two raw clients: the receiver counts what arrives on `raw.>` and
    /// answers what has a reply subject, all on one subscription (so a
    /// request is answered after the messages before it, as dispatchio's
    /// are).
    async fn raw(url: &str) -> Result<Side, Error> {
        let received = Arc::new(AtomicU64::new(0));
        let receiver = async_nats::connect(url).await?;
        let mut sub = receiver.subscribe("raw.>").await?;
        // A round trip: the subscription is in place before anyone sends.
        receiver.flush().await?;
        let _ = receiver.request("raw-none", bytes::Bytes::new()).await;
        let count = received.clone();
        tokio::spawn(async move {
            while let Some(msg) = sub.next().await {
                match msg.reply {
                    Some(reply) => {
                        let _ = receiver.publish(reply, bytes::Bytes::new()).await;
                    }
                    None => {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
        let client = async_nats::connect(url).await?;
        Ok(Side { how: How::Raw { client }, sent: 0, received })
    }

    /// Messages per second of one run of `messages`.
    async fn throughput(&mut self, messages: u64) -> Result<f64, Error> {
        let body = "x".repeat(BODY);
        let start = Instant::now();
        for i in 0..messages {
            match &self.how {
                How::Dispatchio { sender, .. } => {
                    sender.send(Message::new(Text(body.clone())).to("sink"))?;
                }
                How::Raw { client } => {
                    client.publish("raw.sink", bytes::Bytes::from(body.clone())).await?;
                }
            }
            if i % WINDOW == WINDOW - 1 {
                self.request().await?;
            }
        }
        self.request().await?;
        self.sent += messages;
        Ok(messages as f64 / start.elapsed().as_secs_f64())
    }

    /// `trips` round trips, each in microseconds.
    async fn round_trips(&mut self, trips: u64) -> Result<Vec<f64>, Error> {
        let mut rtts = Vec::with_capacity(trips as usize);
        for _ in 0..trips {
            let t = Instant::now();
            self.request().await?;
            rtts.push(t.elapsed().as_secs_f64() * 1e6);
        }
        Ok(rtts)
    }

    async fn request(&self) -> Result<(), Error> {
        match &self.how {
            How::Dispatchio { sender, .. } => {
                let ask = Message::new(Text("x".repeat(BODY))).to("sink");
                sender.request(ask, Some(PATIENCE)).await?;
            }
            How::Raw { client } => {
                let ask = bytes::Bytes::from("x".repeat(BODY));
                tokio::time::timeout(PATIENCE, client.request("raw.sink", ask)).await??;
            }
        }
        Ok(())
    }
}

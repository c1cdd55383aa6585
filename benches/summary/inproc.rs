//! In-process dispatcher figures: one source sends through a [`Dispatcher`]
//! to one listener compiled from `benches/routes/inproc.route`, whose
//! handlers count (`Tick`) or answer (`Ask`). Same runtime and the same
//! payload shape as the mpsc/oneshot baselines: a small struct behind an
//! `Arc` (every [`Message`] holds its content in one).
//!
//! [`Dispatcher`]: dispatchio::Dispatcher
//! [`Message`]: dispatchio::Message

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dispatchio::{Dispatcher, Envelope, HandlerResult, Message, Reply};
use tokio::runtime::Runtime;

pub(crate) mod routes {
    dispatchio::include_routes!("benches/routes/inproc.route");
}
use routes::{Ask, Tick};

type Error = Box<dyn std::error::Error + Send + Sync>;
const PATIENCE: Duration = Duration::from_secs(60);
/// Round trips timed in a row before switching between the baseline and
/// the dispatcher: short against the machine's phases (see `measure`).
const RTT_CHUNK: u64 = 200;

/// Counts ticks; answers `Ask { n }` with `Ask { n + 1 }`.
#[derive(Default)]
struct Counter {
    ticks: AtomicU64,
}

impl routes::counter::Handler for Counter {
    fn count(&self, _: &Envelope, content: &Tick) -> HandlerResult {
        // Reads the payload so the work cannot be skipped.
        self.ticks.fetch_add(content.n as u64 & 1 | 1, Ordering::Relaxed);
        Ok(Reply::Empty)
    }

    fn answer(&self, _: &Envelope, content: &Ask) -> HandlerResult {
        Ok(Reply::with(Ask { n: content.n + 1 }))
    }
}

/// Medians of `reps` repetitions, each of the four figures once per
/// repetition, baseline next to dispatcher.
pub(crate) struct Figures {
    /// Baseline: messages per second through a bare mpsc channel.
    pub(crate) mpsc_tput: f64,
    /// Baseline: nanoseconds per mpsc + oneshot round trip.
    pub(crate) oneshot_rtt: f64,
    /// Messages per second through the dispatcher.
    pub(crate) tput: f64,
    /// Nanoseconds per request round trip through the dispatcher.
    pub(crate) rtt: f64,
}

/// Throughput (messages per second) and the sequential request round
/// trip (nanoseconds), with their baselines.
///
/// Each repetition runs a baseline next to the dispatcher figure it is
/// compared with; round trips alternate in chunks of [`RTT_CHUNK`].
/// Thread wake-up latency on a shared 2-core VM moves in phases lasting
/// up to a second (round trips of ≈ 10 µs or ≈ 45 µs, for bare tokio
/// channels as for the dispatcher); measured one after the other, the
/// two medians fell in different phases and their ratio (0.3–2.9 over
/// runs) said more about the machine than about the dispatcher.
pub(crate) fn measure(
    rt: &Runtime,
    messages: u64,
    trips: u64,
    reps: usize,
) -> Result<Figures, Error> {
    rt.block_on(async move {
        let d = Dispatcher::new();
        let listener = Arc::new(routes::counter::Listener::new(Counter::default()));
        d.register("counter", listener.clone())?;
        let me = d.new_source();
        let (mut tputs, mut rtts) = (Vec::new(), Vec::new());
        let (mut mpsc_tputs, mut oneshot_rtts) = (Vec::new(), Vec::new());
        let baseline = super::OneshotServer::start();
        for _ in 0..reps {
            mpsc_tputs.push(super::mpsc_throughput(messages).await);
            let before = listener.handlers().ticks.load(Ordering::Relaxed);
            let start = Instant::now();
            for i in 0..messages {
                me.send(Message::new(Tick { n: i as i64 }).to("counter"))?;
            }
            // One sender's messages are handled in order, so the answer
            // to this request means every tick before it was counted.
            me.request(Message::new(Ask { n: 0 }).to("counter"), Some(PATIENCE)).await?;
            tputs.push(messages as f64 / start.elapsed().as_secs_f64());
            let counted = listener.handlers().ticks.load(Ordering::Relaxed) - before;
            if counted != messages {
                return Err(format!("{counted} of {messages} ticks counted").into());
            }

            // Round trips in chunks, baseline and dispatcher alternating,
            // so that both meet every phase of the machine alike.
            let (mut raw, mut ours) = (Duration::ZERO, Duration::ZERO);
            let mut i = 0;
            while i < trips {
                let chunk = RTT_CHUNK.min(trips - i);
                raw += baseline.round_trips(chunk).await;
                let start = Instant::now();
                for k in i..i + chunk {
                    let reply = me
                        .request(Message::new(Ask { n: k as i64 }).to("counter"), Some(PATIENCE))
                        .await?;
                    if reply.content_as::<Ask>().map(|a| a.n) != Some(k as i64 + 1) {
                        return Err("a wrong answer".into());
                    }
                }
                ours += start.elapsed();
                i += chunk;
            }
            oneshot_rtts.push(raw.as_nanos() as f64 / trips as f64);
            rtts.push(ours.as_nanos() as f64 / trips as f64);
        }
        d.shutdown().await;
        let (tput, rtt) = super::summarise(&mut tputs, &mut rtts);
        let (mpsc_tput, oneshot_rtt) = super::summarise(&mut mpsc_tputs, &mut oneshot_rtts);
        Ok(Figures { mpsc_tput, oneshot_rtt, tput, rtt })
    })
}

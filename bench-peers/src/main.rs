//! dispatchio against the frameworks a user would pick instead (actix,
//! kameo, ractor) and the raw tokio channels underneath, in one run, each
//! figure interleaved across the five and repeated, medians reported with
//! every ratio (issue 16; docs/benchmarks.md, "Against the peers").
//!
//! ```text
//! cargo run --release --manifest-path bench-peers/Cargo.toml [-- --quick]
//! ```
//!
//! The same work per message everywhere: a one-way `Tick` is counted (an
//! atomic add of its payload's low bit), a request `Ask { n }` is answered
//! with `n + 1`. dispatchio's listener is compiled from a `.route` file
//! (`benches/routes/inproc.route`, the summary bench's); every framework's
//! actor runs on an unbounded mailbox, as dispatchio's does. The raw
//! baseline carries the same `Arc`'d content dispatchio does. Every
//! sender holds what it sends through, resolved once: an actor's
//! reference, a channel's sender, a dispatchio `Destination`;
//! `dispatchio-id` is dispatchio naming the destination ID on every
//! message instead (the directory's lookup on every send).
//!
//! Figures (the four of issue 16's table):
//! * `one_way`: one sender, one listener, on a 2-worker runtime, M msgs/s;
//! * `fan_out`: one sender, round-robin over 100 listeners, M msgs/s;
//! * `rtt_mt`: sequential request round trips on a 2-worker runtime, ns;
//! * `rtt_ct`: the same on a current-thread runtime, ns.
//!
//! A throughput run ends with a request to every listener: each handles its
//! messages in order, so the answer means all were counted (checked).
//! actix runs in its own `System` (one thread, as its actors do), so it has
//! no 2-worker figures of its own: its `one_way` and `fan_out` are on that
//! thread, and its `rtt_mt` is not measured.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One measurement: the figure's value (M msgs/s or ns per round trip).
type Figure = f64;

/// `dispatchio` sends through [`dispatchio::Destination`] handles, resolved
/// once, as every peer sends through its actor's reference and tokio
/// through its channel's sender; `dispatchio-id` names the destination
/// ID on every message (`Dispatcher::send`, `request_as`): the lookup
/// path, for comparison.
const FRAMEWORKS: [&str; 6] = ["dispatchio", "actix", "kameo", "ractor", "tokio", "dispatchio-id"];
const FIGURES: [&str; 4] = ["one_way", "fan_out", "rtt_mt", "rtt_ct"];
const LISTENERS: usize = 100;

/// Work per figure.
#[derive(Clone, Copy)]
struct Size {
    messages: u64,
    trips: u64,
    reps: usize,
}

/// Counts a tick as every framework does.
fn count(ticks: &AtomicU64, n: i64) {
    ticks.fetch_add(n as u64 & 1 | 1, Ordering::Relaxed);
}

fn multi_thread() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}

fn current_thread() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

fn mps(messages: u64, took: Duration) -> Figure {
    messages as f64 / took.as_secs_f64() / 1e6
}

fn ns_per(trips: u64, took: Duration) -> Figure {
    took.as_nanos() as f64 / trips as f64
}

/// Fails unless every tick was counted.
fn counted(ticks: &AtomicU64, want: u64) -> Result<(), Error> {
    let got = ticks.load(Ordering::Relaxed);
    if got != want {
        return Err(format!("{got} of {want} ticks counted").into());
    }
    Ok(())
}

mod dispatchio_side {
    use super::*;
    use dispatchio::{Destination, Dispatcher, Envelope, HandlerResult, Message, Reply};

    pub(crate) mod routes {
        dispatchio::include_routes!("../benches/routes/inproc.route");
    }
    use routes::{Ask, Tick};

    struct Counter(Arc<AtomicU64>);

    impl routes::counter::Handler for Counter {
        fn count(&self, _: &Envelope, content: &Tick) -> HandlerResult {
            count(&self.0, content.n);
            Ok(Reply::Empty)
        }

        fn answer(&self, _: &Envelope, content: &Ask) -> HandlerResult {
            Ok(Reply::with(Ask { n: content.n + 1 }))
        }
    }

    async fn ask(d: &Dispatcher, dest: i64, n: i64) -> Result<(), Error> {
        let reply = d.request_as::<Ask>(Message::new(Ask { n }).to(dest), None).await?;
        if reply.n != n + 1 {
            return Err("a wrong answer".into());
        }
        Ok(())
    }

    async fn ask_through(to: &Destination, n: i64) -> Result<(), Error> {
        let reply = to.request_as::<Ask>(Message::new(Ask { n }), None).await?;
        if reply.n != n + 1 {
            return Err("a wrong answer".into());
        }
        Ok(())
    }

    /// Ticks round-robin over `listeners` listeners, then a request to
    /// each; through handles, or by ID (`by_id`).
    pub(crate) async fn throughput(
        messages: u64,
        listeners: usize,
        by_id: bool,
    ) -> Result<Figure, Error> {
        let d = Dispatcher::new();
        let ticks = Arc::new(AtomicU64::new(0));
        for i in 0..listeners {
            let l = routes::counter::Listener::new(Counter(ticks.clone()));
            d.register(i as i64, Arc::new(l))?;
        }
        let start = Instant::now();
        if by_id {
            for i in 0..messages {
                let dest = (i % listeners as u64) as i64;
                d.send(Message::new(Tick { n: i as i64 }).to(dest))?;
            }
            for dest in 0..listeners {
                ask(&d, dest as i64, 0).await?;
            }
        } else {
            let tos =
                (0..listeners as i64).map(|i| d.destination(i)).collect::<Result<Vec<_>, _>>()?;
            for i in 0..messages {
                tos[(i % listeners as u64) as usize].send(Message::new(Tick { n: i as i64 }))?;
            }
            for to in &tos {
                ask_through(to, 0).await?;
            }
        }
        let took = start.elapsed();
        counted(&ticks, messages)?;
        d.shutdown().await;
        Ok(mps(messages, took))
    }

    pub(crate) async fn rtt(trips: u64, by_id: bool) -> Result<Figure, Error> {
        let d = Dispatcher::new();
        let ticks = Arc::new(AtomicU64::new(0));
        d.register(0, Arc::new(routes::counter::Listener::new(Counter(ticks))))?;
        let to = d.destination(0)?;
        let start = Instant::now();
        for n in 0..trips {
            if by_id {
                ask(&d, 0, n as i64).await?;
            } else {
                ask_through(&to, n as i64).await?;
            }
        }
        let took = start.elapsed();
        d.shutdown().await;
        Ok(ns_per(trips, took))
    }
}

mod actix_side {
    use super::*;
    use actix::{Actor, Addr, Context, Handler, Message};

    struct Counter(Arc<AtomicU64>);

    impl Actor for Counter {
        type Context = Context<Self>;
        fn started(&mut self, ctx: &mut Context<Self>) {
            // Unbounded, as dispatchio's mailbox (actix's default is 16).
            ctx.set_mailbox_capacity(usize::MAX);
        }
    }

    struct Tick(Arc<i64>);
    impl Message for Tick {
        type Result = ();
    }

    struct Ask(i64);
    impl Message for Ask {
        type Result = i64;
    }

    impl Handler<Tick> for Counter {
        type Result = ();
        fn handle(&mut self, msg: Tick, _: &mut Context<Self>) {
            count(&self.0, *msg.0);
        }
    }

    impl Handler<Ask> for Counter {
        type Result = i64;
        fn handle(&mut self, msg: Ask, _: &mut Context<Self>) -> i64 {
            msg.0 + 1
        }
    }

    async fn ask(addr: &Addr<Counter>, n: i64) -> Result<(), Error> {
        if addr.send(Ask(n)).await? != n + 1 {
            return Err("a wrong answer".into());
        }
        Ok(())
    }

    /// Runs `f` in an actix `System` of its own.
    fn in_system<F: Future<Output = Result<Figure, Error>>>(f: F) -> Result<Figure, Error> {
        actix::System::new().block_on(f)
    }

    pub(crate) fn throughput(messages: u64, listeners: usize) -> Result<Figure, Error> {
        in_system(async move {
            let ticks = Arc::new(AtomicU64::new(0));
            let addrs: Vec<Addr<Counter>> =
                (0..listeners).map(|_| Counter(ticks.clone()).start()).collect();
            let start = Instant::now();
            for i in 0..messages {
                addrs[(i % listeners as u64) as usize].do_send(Tick(Arc::new(i as i64)));
            }
            for addr in &addrs {
                ask(addr, 0).await?;
            }
            let took = start.elapsed();
            counted(&ticks, messages)?;
            Ok(mps(messages, took))
        })
    }

    pub(crate) fn rtt(trips: u64) -> Result<Figure, Error> {
        in_system(async move {
            let addr = Counter(Arc::new(AtomicU64::new(0))).start();
            let start = Instant::now();
            for n in 0..trips {
                ask(&addr, n as i64).await?;
            }
            Ok(ns_per(trips, start.elapsed()))
        })
    }
}

mod kameo_side {
    use super::*;
    use kameo::Actor;
    use kameo::actor::{ActorRef, Spawn};
    use kameo::mailbox;
    use kameo::message::{Context, Message};

    #[derive(Actor)]
    struct Counter(Arc<AtomicU64>);

    struct Tick(Arc<i64>);
    struct Ask(i64);

    impl Message<Tick> for Counter {
        type Reply = ();
        async fn handle(&mut self, msg: Tick, _: &mut Context<Self, ()>) {
            count(&self.0, *msg.0);
        }
    }

    impl Message<Ask> for Counter {
        type Reply = i64;
        async fn handle(&mut self, msg: Ask, _: &mut Context<Self, i64>) -> i64 {
            msg.0 + 1
        }
    }

    fn spawn(ticks: &Arc<AtomicU64>) -> ActorRef<Counter> {
        Counter::spawn_with_mailbox(Counter(ticks.clone()), mailbox::unbounded())
    }

    async fn ask(actor: &ActorRef<Counter>, n: i64) -> Result<(), Error> {
        if actor.ask(Ask(n)).await.map_err(|e| e.to_string())? != n + 1 {
            return Err("a wrong answer".into());
        }
        Ok(())
    }

    pub(crate) async fn throughput(messages: u64, listeners: usize) -> Result<Figure, Error> {
        let ticks = Arc::new(AtomicU64::new(0));
        let actors: Vec<ActorRef<Counter>> = (0..listeners).map(|_| spawn(&ticks)).collect();
        let start = Instant::now();
        for i in 0..messages {
            let actor = &actors[(i % listeners as u64) as usize];
            actor.tell(Tick(Arc::new(i as i64))).try_send().map_err(|e| e.to_string())?;
        }
        for actor in &actors {
            ask(actor, 0).await?;
        }
        let took = start.elapsed();
        counted(&ticks, messages)?;
        Ok(mps(messages, took))
    }

    pub(crate) async fn rtt(trips: u64) -> Result<Figure, Error> {
        let actor = spawn(&Arc::new(AtomicU64::new(0)));
        let start = Instant::now();
        for n in 0..trips {
            ask(&actor, n as i64).await?;
        }
        Ok(ns_per(trips, start.elapsed()))
    }
}

mod ractor_side {
    use super::*;
    use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

    struct Counter;

    enum Msg {
        Tick(Arc<i64>),
        Ask(i64, RpcReplyPort<i64>),
    }

    impl Actor for Counter {
        type Msg = Msg;
        type State = Arc<AtomicU64>;
        type Arguments = Arc<AtomicU64>;

        async fn pre_start(
            &self,
            _: ActorRef<Msg>,
            ticks: Arc<AtomicU64>,
        ) -> Result<Arc<AtomicU64>, ActorProcessingErr> {
            Ok(ticks)
        }

        async fn handle(
            &self,
            _: ActorRef<Msg>,
            msg: Msg,
            ticks: &mut Arc<AtomicU64>,
        ) -> Result<(), ActorProcessingErr> {
            match msg {
                Msg::Tick(n) => count(ticks, *n),
                Msg::Ask(n, reply) => reply.send(n + 1)?,
            }
            Ok(())
        }
    }

    async fn spawn(ticks: &Arc<AtomicU64>) -> Result<ActorRef<Msg>, Error> {
        Ok(Actor::spawn(None, Counter, ticks.clone()).await?.0)
    }

    async fn ask(actor: &ActorRef<Msg>, n: i64) -> Result<(), Error> {
        let answer = ractor::call!(actor, Msg::Ask, n).map_err(|e| e.to_string())?;
        if answer != n + 1 {
            return Err("a wrong answer".into());
        }
        Ok(())
    }

    pub(crate) async fn throughput(messages: u64, listeners: usize) -> Result<Figure, Error> {
        let ticks = Arc::new(AtomicU64::new(0));
        let mut actors = Vec::with_capacity(listeners);
        for _ in 0..listeners {
            actors.push(spawn(&ticks).await?);
        }
        let start = Instant::now();
        for i in 0..messages {
            let actor = &actors[(i % listeners as u64) as usize];
            actor.cast(Msg::Tick(Arc::new(i as i64))).map_err(|e| e.to_string())?;
        }
        for actor in &actors {
            ask(actor, 0).await?;
        }
        let took = start.elapsed();
        counted(&ticks, messages)?;
        for actor in actors {
            actor.stop(None);
        }
        Ok(mps(messages, took))
    }

    pub(crate) async fn rtt(trips: u64) -> Result<Figure, Error> {
        let actor = spawn(&Arc::new(AtomicU64::new(0))).await?;
        let start = Instant::now();
        for n in 0..trips {
            ask(&actor, n as i64).await?;
        }
        let took = start.elapsed();
        actor.stop(None);
        Ok(ns_per(trips, took))
    }
}

/// The raw baseline: an unbounded tokio channel per listener, drained by a
/// task of its own, carrying `Arc`'d content as dispatchio does; requests
/// answered on a oneshot.
mod tokio_side {
    use super::*;
    use tokio::sync::{mpsc, oneshot};

    enum Msg {
        Tick(Arc<i64>),
        Ask(Arc<i64>, oneshot::Sender<Arc<i64>>),
    }

    fn spawn(ticks: &Arc<AtomicU64>) -> mpsc::UnboundedSender<Msg> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let ticks = ticks.clone();
        tokio::spawn(async move {
            while let Some(msg) = rx.recv().await {
                match msg {
                    Msg::Tick(n) => count(&ticks, *n),
                    Msg::Ask(n, reply) => {
                        let _ = reply.send(Arc::new(*n + 1));
                    }
                }
            }
        });
        tx
    }

    async fn ask(tx: &mpsc::UnboundedSender<Msg>, n: i64) -> Result<(), Error> {
        let (reply, answer) = oneshot::channel();
        tx.send(Msg::Ask(Arc::new(n), reply)).map_err(|_| "the listener is gone")?;
        if *answer.await? != n + 1 {
            return Err("a wrong answer".into());
        }
        Ok(())
    }

    pub(crate) async fn throughput(messages: u64, listeners: usize) -> Result<Figure, Error> {
        let ticks = Arc::new(AtomicU64::new(0));
        let txs: Vec<_> = (0..listeners).map(|_| spawn(&ticks)).collect();
        let start = Instant::now();
        for i in 0..messages {
            let tx = &txs[(i % listeners as u64) as usize];
            tx.send(Msg::Tick(Arc::new(i as i64))).map_err(|_| "the listener is gone")?;
        }
        for tx in &txs {
            ask(tx, 0).await?;
        }
        let took = start.elapsed();
        counted(&ticks, messages)?;
        Ok(mps(messages, took))
    }

    pub(crate) async fn rtt(trips: u64) -> Result<Figure, Error> {
        let tx = spawn(&Arc::new(AtomicU64::new(0)));
        let start = Instant::now();
        for n in 0..trips {
            ask(&tx, n as i64).await?;
        }
        Ok(ns_per(trips, start.elapsed()))
    }
}

/// One measurement of `figure` for `framework`; `None` where the framework
/// has no such figure (actix on a multi-thread runtime).
fn measure(framework: &str, figure: &str, size: Size) -> Result<Option<Figure>, Error> {
    let Size { messages, trips, .. } = size;
    let mt = || multi_thread();
    let value = match (framework, figure) {
        ("actix", "one_way") => actix_side::throughput(messages, 1)?,
        ("actix", "fan_out") => actix_side::throughput(messages, LISTENERS)?,
        ("actix", "rtt_mt") => return Ok(None),
        ("actix", "rtt_ct") => actix_side::rtt(trips)?,
        (_, "rtt_ct") => current_thread()?.block_on(rtt(framework, trips))?,
        (_, "rtt_mt") => mt()?.block_on(rtt(framework, trips))?,
        (_, "one_way") => mt()?.block_on(throughput(framework, messages, 1))?,
        (_, "fan_out") => mt()?.block_on(throughput(framework, messages, LISTENERS))?,
        _ => return Err(format!("no figure {figure} for {framework}").into()),
    };
    Ok(Some(value))
}

async fn throughput(framework: &str, messages: u64, listeners: usize) -> Result<Figure, Error> {
    match framework {
        "dispatchio" => dispatchio_side::throughput(messages, listeners, false).await,
        "dispatchio-id" => dispatchio_side::throughput(messages, listeners, true).await,
        "kameo" => kameo_side::throughput(messages, listeners).await,
        "ractor" => ractor_side::throughput(messages, listeners).await,
        "tokio" => tokio_side::throughput(messages, listeners).await,
        _ => Err(format!("no framework {framework}").into()),
    }
}

async fn rtt(framework: &str, trips: u64) -> Result<Figure, Error> {
    match framework {
        "dispatchio" => dispatchio_side::rtt(trips, false).await,
        "dispatchio-id" => dispatchio_side::rtt(trips, true).await,
        "kameo" => kameo_side::rtt(trips).await,
        "ractor" => ractor_side::rtt(trips).await,
        "tokio" => tokio_side::rtt(trips).await,
        _ => Err(format!("no framework {framework}").into()),
    }
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}

fn main() -> Result<(), Error> {
    let quick = std::env::args().any(|a| a == "--quick");
    let size = if quick {
        Size { messages: 200_000, trips: 20_000, reps: 3 }
    } else {
        Size { messages: 1_000_000, trips: 100_000, reps: 5 }
    };
    // results[figure][framework]: one value per repetition.
    let mut results = vec![vec![Vec::new(); FRAMEWORKS.len()]; FIGURES.len()];
    for _ in 0..size.reps {
        for (f, figure) in FIGURES.iter().enumerate() {
            // Interleaved: every framework once per repetition of a figure,
            // so that all of them meet the machine's phases alike.
            for (k, framework) in FRAMEWORKS.iter().enumerate() {
                if let Some(v) = measure(framework, figure, size)? {
                    results[f][k].push(v);
                }
            }
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("median of {} repetitions; load average {}", size.reps, load.trim());
    println!(
        "{:<10} {:>12} {:>12} {:>12} {:>12} {:>12} {:>13}   dispatchio / best peer, / tokio",
        "figure",
        FRAMEWORKS[0],
        FRAMEWORKS[1],
        FRAMEWORKS[2],
        FRAMEWORKS[3],
        FRAMEWORKS[4],
        FRAMEWORKS[5]
    );
    let mut json = Vec::new();
    for (f, figure) in FIGURES.iter().enumerate() {
        let medians: Vec<Option<f64>> = results[f].iter_mut().map(|v| median(v)).collect();
        let cells: Vec<String> =
            medians.iter().map(|m| m.map_or("-".into(), |v| format!("{v:.3}"))).collect();
        // Throughput: higher is better; round trips: lower is better.
        let higher = figure.starts_with("one") || figure.starts_with("fan");
        let peers = medians[1..4].iter().flatten().copied();
        let best = if higher { peers.reduce(f64::max) } else { peers.reduce(f64::min) };
        let ratio = |against: Option<f64>| match (medians[0], against) {
            (Some(ours), Some(theirs)) => format!("{:.3}", ours / theirs),
            _ => "-".into(),
        };
        let (to_best, to_tokio) = (ratio(best), ratio(medians[4]));
        println!(
            "{figure:<10} {:>12} {:>12} {:>12} {:>12} {:>12} {:>13}   {to_best}, {to_tokio}",
            cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]
        );
        for (k, framework) in FRAMEWORKS.iter().enumerate() {
            let v = medians[k].map_or("null".into(), |v| format!("{v:.3}"));
            json.push(format!("\"{figure}_{framework}\":{v}"));
        }
    }
    println!("(one_way, fan_out: M msgs/s; rtt_mt, rtt_ct: ns per round trip)");
    println!("{{{}}}", json.join(","));
    Ok(())
}

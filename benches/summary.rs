//! The benchmark summary: every headline figure of dispatchio, each measured
//! in the same run as the raw baseline it is judged against.
//!
//! ```sh
//! cargo bench --bench summary -- --quick   # under a minute on 2 cores
//! cargo bench --bench summary              # longer, steadier figures
//! ```
//!
//! It prints a table, then the goals as ratios, and as its last line one JSON
//! object with every key (a median of several repetitions, or `null` where the
//! feature it measures is not built yet — never an invented number).
//! `docs/benchmarks.md` explains the keys and records a run.

use std::collections::BTreeMap;
use std::time::Instant;

use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};

/// Every key of the JSON line, in the order the table prints them.
const KEYS: &[(&str, &str)] = &[
    ("inproc_msgs_per_s", "dispatcher async send, compiled .route table, counting handler"),
    ("mpsc_msgs_per_s", "baseline: bare tokio mpsc to a counting task"),
    ("request_rtt_ns", "dispatcher request/response round trip"),
    ("oneshot_rtt_ns", "baseline: bare mpsc + oneshot round trip"),
    ("match_compiled_ns_10", "include_routes! matcher, 10 rules"),
    ("match_compiled_ns_100", "include_routes! matcher, 100 rules"),
    ("match_compiled_ns_1000", "include_routes! matcher, 1,000 rules"),
    ("match_compiled_ns_10000", "include_routes! matcher, 10,000 rules"),
    ("match_interpreted_ns_1000", "interpreter, 1,000 rules"),
    ("match_handwritten_ns_1000", "baseline: hand-written match + if-chains, 1,000 rules"),
    ("uds_msgs_per_s", "two processes over a Unix socket through dispatchio"),
    ("uds_raw_msgs_per_s", "baseline: raw Unix socket, same framing"),
    ("uds_rtt_p50_us", "round trip over a Unix socket through dispatchio, median"),
    ("uds_raw_rtt_p50_us", "baseline: raw Unix socket round trip, median"),
    ("check_10k_rules_s", "dispatchio check on a generated 10,000-rule file"),
];

/// The goals of the benchmarks issue: `key op factor × other_key`.
const GOALS: &[(&str, &str, f64, &str)] = &[
    ("inproc_msgs_per_s", ">=", 0.5, "mpsc_msgs_per_s"),
    ("request_rtt_ns", "<=", 2.0, "oneshot_rtt_ns"),
    ("match_compiled_ns_1000", "<=", 1.2, "match_handwritten_ns_1000"),
    ("match_compiled_ns_10000", "<=", 3.0, "match_compiled_ns_10"),
    ("match_interpreted_ns_1000", "<=", 5.0, "match_compiled_ns_1000"),
    ("uds_msgs_per_s", ">=", 0.5, "uds_raw_msgs_per_s"),
    ("uds_rtt_p50_us", "<=", 1.5, "uds_raw_rtt_p50_us"),
];

/// How much work one run does.
struct Config {
    /// Messages per throughput repetition.
    messages: u64,
    /// Round trips per latency repetition.
    round_trips: u64,
    /// Repetitions per figure; the median is reported.
    reps: usize,
}

fn main() {
    // The second process of the Unix-socket figures: this program, re-run.
    if let Ok(spec) = std::env::var(uds::CHILD_ENV) {
        uds::child(&spec);
        return;
    }
    // `cargo bench` passes `--bench`; anything else but `--quick` is ignored.
    let quick = std::env::args().any(|a| a == "--quick");
    let cfg = if quick {
        Config { messages: 200_000, round_trips: 20_000, reps: 5 }
    } else {
        Config { messages: 2_000_000, round_trips: 200_000, reps: 11 }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");

    let mut figures: BTreeMap<&str, Option<f64>> = KEYS.iter().map(|&(k, _)| (k, None)).collect();
    let mut set = |key: &'static str, value: f64| {
        assert!(figures.contains_key(key), "unknown key {key}");
        figures.insert(key, Some(value));
    };

    set("mpsc_msgs_per_s", median(cfg.reps, || mpsc_throughput(&rt, cfg.messages)));
    set("oneshot_rtt_ns", median(cfg.reps, || oneshot_rtt_ns(&rt, cfg.round_trips)));
    match inproc::measure(&rt, cfg.messages, cfg.round_trips, cfg.reps) {
        Ok((tput, rtt)) => {
            set("inproc_msgs_per_s", tput);
            set("request_rtt_ns", rtt);
        }
        Err(e) => eprintln!("inproc not measured: {e}"),
    }

    // Two processes over a Unix socket: dispatchio, then the raw socket with
    // the same framing, each against a child process of this program.
    let (uds_messages, uds_trips, uds_reps) =
        if quick { (50_000, 5_000, 3) } else { (500_000, 50_000, 7) };
    match uds::measure(&rt, uds::Side::Dispatchio, uds_messages, uds_trips, uds_reps) {
        Ok((tput, rtt)) => {
            set("uds_msgs_per_s", tput);
            set("uds_rtt_p50_us", rtt);
        }
        Err(e) => eprintln!("uds (dispatchio) not measured: {e}"),
    }
    match uds::measure(&rt, uds::Side::Raw, uds_messages, uds_trips, uds_reps) {
        Ok((tput, rtt)) => {
            set("uds_raw_msgs_per_s", tput);
            set("uds_raw_rtt_p50_us", rtt);
        }
        Err(e) => eprintln!("uds (raw) not measured: {e}"),
    }

    print_report(&figures, quick);
}

/// Runs `f` `reps` times and returns the median.
fn median(reps: usize, mut f: impl FnMut() -> f64) -> f64 {
    let mut xs: Vec<f64> = (0..reps).map(|_| f()).collect();
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Baseline: one sender task, one counting receiver task, a bounded tokio
/// mpsc channel between them; messages per second.
fn mpsc_throughput(rt: &Runtime, n: u64) -> f64 {
    rt.block_on(async move {
        let (tx, mut rx) = mpsc::channel::<std::sync::Arc<u64>>(1024);
        let start = Instant::now();
        let counter = tokio::spawn(async move {
            let mut count = 0u64;
            while let Some(msg) = rx.recv().await {
                count += *msg & 1 | 1;
            }
            count
        });
        for i in 0..n {
            tx.send(std::sync::Arc::new(i)).await.expect("receiver alive");
        }
        drop(tx);
        let count = counter.await.expect("counter task");
        assert_eq!(count, n);
        n as f64 / start.elapsed().as_secs_f64()
    })
}

/// Baseline: a server task answers each request, sent over mpsc with a
/// oneshot for the reply; sequential round trips, nanoseconds each.
fn oneshot_rtt_ns(rt: &Runtime, n: u64) -> f64 {
    rt.block_on(async move {
        let (tx, mut rx) = mpsc::channel::<(u64, oneshot::Sender<u64>)>(1024);
        tokio::spawn(async move {
            while let Some((x, reply)) = rx.recv().await {
                let _ = reply.send(x + 1);
            }
        });
        let start = Instant::now();
        for i in 0..n {
            let (reply_tx, reply_rx) = oneshot::channel();
            tx.send((i, reply_tx)).await.expect("server alive");
            assert_eq!(reply_rx.await.expect("a reply"), i + 1);
        }
        start.elapsed().as_nanos() as f64 / n as f64
    })
}

/// The medians of two lists of repetitions.
fn summarise(a: &mut [f64], b: &mut [f64]) -> (f64, f64) {
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    (a[a.len() / 2], b[b.len() / 2])
}

fn print_report(figures: &BTreeMap<&str, Option<f64>>, quick: bool) {
    println!("dispatchio benchmark summary{}", if quick { " (--quick)" } else { "" });
    println!();
    println!("{:<28} {:>16}  what", "key", "value");
    for (key, what) in KEYS {
        let value = figures[key].map_or_else(|| "not built".to_owned(), format_number);
        println!("{key:<28} {value:>16}  {what}");
    }
    println!();
    println!("goals (ratios from this run):");
    for &(key, op, factor, other) in GOALS {
        let verdict = match (figures[key], figures[other]) {
            (Some(a), Some(b)) => {
                let ratio = a / b;
                let met = if op == ">=" { ratio >= factor } else { ratio <= factor };
                format!("{ratio:.3} ({})", if met { "met" } else { "MISSED" })
            }
            _ => "n/a (not built)".to_owned(),
        };
        println!("  {key} / {other} {op} {factor}: {verdict}");
    }
    println!();
    // The last line: one JSON object (keys sorted), null where not built.
    let json: serde_json::Map<String, serde_json::Value> = KEYS
        .iter()
        .map(|&(k, _)| (k.to_owned(), figures[k].map_or(serde_json::Value::Null, json_number)))
        .collect();
    println!("{}", serde_json::Value::Object(json));
}

fn format_number(x: f64) -> String {
    if x >= 1000.0 { format!("{x:.0}") } else { format!("{x:.3}") }
}

fn json_number(x: f64) -> serde_json::Value {
    // Round to 4 significant decimals so the line stays readable.
    let rounded = if x >= 1000.0 { x.round() } else { (x * 1000.0).round() / 1000.0 };
    serde_json::Number::from_f64(rounded).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// Two processes over a Unix socket: dispatchio's links and dispatcher
/// against a raw socket with the same length-delimited framing
/// ([`dispatchio::net::codec`]). The parent listens on a socket in the temp
/// dir and re-runs this program as the child (told its part by an
/// environment variable); every message carries a 64-byte body.
mod uds {
    use std::process::{Child, Command};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use dispatchio::net::{DEFAULT_MAX_FRAME_LEN, RemoteConfig, codec};
    use dispatchio::routing::{Action, Field, RoutingTable};
    use dispatchio::{ContentRegistry, Dispatcher, Id, Message, Reply, RoutedListener, Text};
    use futures::{SinkExt, StreamExt};
    use tokio::net::{UnixListener, UnixStream};
    use tokio::runtime::Runtime;
    use tokio_util::codec::{Framed, LengthDelimitedCodec};

    pub(crate) const CHILD_ENV: &str = "DISPATCHIO_BENCH_UDS_CHILD";
    const BODY: usize = 64;
    /// Messages sent between two round trips in the throughput runs, so the
    /// sender stays within dispatchio's bounded link queue (a full queue
    /// fails the send); the raw side does the same.
    const WINDOW: u64 = 4096;
    const PATIENCE: Duration = Duration::from_secs(60);

    #[derive(Clone, Copy, Debug)]
    pub(crate) enum Side {
        Dispatchio,
        Raw,
    }

    type Error = Box<dyn std::error::Error + Send + Sync>;

    /// Throughput (messages per second, median of `reps`) and the median
    /// round trip in microseconds over every round trip of every rep.
    pub(crate) fn measure(
        rt: &Runtime,
        side: Side,
        messages: u64,
        trips: u64,
        reps: usize,
    ) -> Result<(f64, f64), Error> {
        let dir = std::env::temp_dir().join(format!("dio-bench-{}-{side:?}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("s.sock");
        let _ = std::fs::remove_file(&path);
        let result = rt.block_on(async {
            match side {
                Side::Dispatchio => dispatchio_side(&path, messages, trips, reps).await,
                Side::Raw => raw_side(&path, messages, trips, reps).await,
            }
        });
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    fn spawn_child(part: &str, path: &std::path::Path) -> Result<Child, Error> {
        Ok(Command::new(std::env::current_exe()?)
            .env(CHILD_ENV, format!("{part} {}", path.display()))
            .spawn()?)
    }

    fn summarise(tputs: &mut [f64], rtts: &mut [f64]) -> (f64, f64) {
        tputs.sort_by(f64::total_cmp);
        rtts.sort_by(f64::total_cmp);
        (tputs[tputs.len() / 2], rtts[rtts.len() / 2])
    }

    fn body() -> String {
        "x".repeat(BODY)
    }

    async fn dispatchio_side(
        path: &std::path::Path,
        messages: u64,
        trips: u64,
        reps: usize,
    ) -> Result<(f64, f64), Error> {
        let d = Dispatcher::new();
        let addr = format!("unix:{}", path.display());
        let listener = d.listen_with(&addr, &config("bench-parent")).await?;
        let mut child = spawn_child("dispatchio", path)?;
        let sink = Id::from("sink");
        if !d.wait_for_destination(&sink, PATIENCE).await {
            let _ = child.kill();
            return Err("the child's listener was never announced".into());
        }
        let me = d.new_source();
        let text = body();
        let (mut tputs, mut rtts) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            let start = Instant::now();
            for i in 0..messages {
                me.send(Message::new(Text(text.clone())).to(sink.clone()))?;
                if i % WINDOW == WINDOW - 1 {
                    me.request(Message::new(Text(String::new())).to(sink.clone()), Some(PATIENCE))
                        .await?;
                }
            }
            me.request(Message::new(Text(String::new())).to(sink.clone()), Some(PATIENCE)).await?;
            tputs.push(messages as f64 / start.elapsed().as_secs_f64());
            for _ in 0..trips {
                let t = Instant::now();
                me.request(Message::new(Text(text.clone())).to(sink.clone()), Some(PATIENCE))
                    .await?;
                rtts.push(t.elapsed().as_secs_f64() * 1e6);
            }
        }
        listener.close().await;
        let _ = tokio::task::spawn_blocking(move || child.wait()).await;
        Ok(summarise(&mut tputs, &mut rtts))
    }

    fn config(name: &str) -> RemoteConfig {
        let mut registry = ContentRegistry::new();
        registry.register::<Text>();
        RemoteConfig::new(name).registry(registry).keepalive(None)
    }

    /// Raw frames: a one-way frame's body starts with 0 and is counted; any
    /// other frame is echoed back.
    async fn raw_side(
        path: &std::path::Path,
        messages: u64,
        trips: u64,
        reps: usize,
    ) -> Result<(f64, f64), Error> {
        let listener = UnixListener::bind(path)?;
        let mut child = spawn_child("raw", path)?;
        let (io, _) = tokio::time::timeout(PATIENCE, listener.accept()).await??;
        let mut framed = Framed::new(io, codec(DEFAULT_MAX_FRAME_LEN));
        let one_way = Bytes::from(vec![0u8; BODY]);
        let request = Bytes::from(vec![1u8; BODY]);
        let (mut tputs, mut rtts) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            let start = Instant::now();
            for i in 0..messages {
                framed.feed(one_way.clone()).await?;
                if i % 64 == 63 {
                    SinkExt::<Bytes>::flush(&mut framed).await?;
                }
                if i % WINDOW == WINDOW - 1 {
                    round_trip(&mut framed, &request).await?;
                }
            }
            round_trip(&mut framed, &request).await?;
            tputs.push(messages as f64 / start.elapsed().as_secs_f64());
            for _ in 0..trips {
                let t = Instant::now();
                round_trip(&mut framed, &request).await?;
                rtts.push(t.elapsed().as_secs_f64() * 1e6);
            }
        }
        drop(framed);
        let _ = tokio::task::spawn_blocking(move || child.wait()).await;
        Ok(summarise(&mut tputs, &mut rtts))
    }

    async fn round_trip(
        framed: &mut Framed<UnixStream, LengthDelimitedCodec>,
        request: &Bytes,
    ) -> Result<(), Error> {
        framed.send(request.clone()).await?;
        match framed.next().await {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(e.into()),
            None => Err("the raw child closed early".into()),
        }
    }

    /// The child process: serves until the parent goes away.
    pub(crate) fn child(spec: &str) {
        let Some((part, path)) = spec.split_once(' ') else {
            eprintln!("bad {CHILD_ENV}: {spec}");
            std::process::exit(2);
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let result: Result<(), Error> = rt.block_on(async {
            match part {
                "dispatchio" => serve_dispatchio(path).await,
                _ => serve_raw(path).await,
            }
        });
        if let Err(e) = result {
            eprintln!("bench child: {e}");
            std::process::exit(1);
        }
    }

    async fn serve_dispatchio(path: &str) -> Result<(), Error> {
        let d = Dispatcher::new();
        let count = Arc::new(AtomicU64::new(0));
        let c = count.clone();
        let table = RoutingTable::builder()
            .rule("request", Field::ResponseRequired.is_true(), [Action::call("echo")])
            .otherwise([Action::call("count")])
            .build()?;
        let listener = RoutedListener::builder(table)
            .handler("echo", |m: &Message| Ok(Reply::Content(m.content().clone())))
            .handler("count", move |_m: &Message| {
                c.fetch_add(1, Ordering::Relaxed);
                Ok(Reply::Empty)
            })
            .build()?;
        d.register("sink", Arc::new(listener))?;
        let peer = d.connect_with(&format!("unix:{path}"), &config("bench-child")).await?;
        // Serves until the parent closes (a dialled link would reconnect for
        // ever, so stop at the first loss).
        let mut state = peer.link().watch_state();
        let _ = state.wait_for(|s| *s != dispatchio::net::LinkState::Up).await;
        peer.close().await;
        Ok(())
    }

    async fn serve_raw(path: &str) -> Result<(), Error> {
        let io = UnixStream::connect(path).await?;
        let mut framed = Framed::new(io, codec(DEFAULT_MAX_FRAME_LEN));
        let mut count = 0u64;
        while let Some(frame) = framed.next().await {
            let frame = frame?;
            if frame.first() == Some(&0) {
                count += 1;
            } else {
                framed.send(frame.freeze()).await?;
            }
        }
        let _ = count;
        Ok(())
    }
}

/// In-process dispatcher figures: one source sends through a [`Dispatcher`]
/// to one listener compiled from `benches/routes/inproc.route`, whose
/// handlers count (`Tick`) or answer (`Ask`). Same runtime and the same
/// payload shape as the mpsc/oneshot baselines: a small struct behind an
/// `Arc` (every [`Message`] holds its content in one).
///
/// [`Dispatcher`]: dispatchio::Dispatcher
/// [`Message`]: dispatchio::Message
mod inproc {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use dispatchio::{Dispatcher, Envelope, HandlerResult, Message, Reply};
    use tokio::runtime::Runtime;

    mod routes {
        dispatchio::include_routes!("benches/routes/inproc.route");
    }
    use routes::{Ask, Tick};

    type Error = Box<dyn std::error::Error + Send + Sync>;
    const PATIENCE: Duration = Duration::from_secs(60);

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

    /// Throughput (messages per second, median of `reps`) and the sequential
    /// request round trip (nanoseconds, median of `reps`).
    pub(crate) fn measure(
        rt: &Runtime,
        messages: u64,
        trips: u64,
        reps: usize,
    ) -> Result<(f64, f64), Error> {
        rt.block_on(async move {
            let d = Dispatcher::new();
            let listener = Arc::new(routes::counter::Listener::new(Counter::default()));
            d.register("counter", listener.clone())?;
            let me = d.new_source();
            let (mut tputs, mut rtts) = (Vec::new(), Vec::new());
            for _ in 0..reps {
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

                let start = Instant::now();
                for i in 0..trips {
                    let reply = me
                        .request(Message::new(Ask { n: i as i64 }).to("counter"), Some(PATIENCE))
                        .await?;
                    if reply.content_as::<Ask>().map(|a| a.n) != Some(i as i64 + 1) {
                        return Err("a wrong answer".into());
                    }
                }
                rtts.push(start.elapsed().as_nanos() as f64 / trips as f64);
            }
            d.shutdown().await;
            Ok(super::summarise(&mut tputs, &mut rtts))
        })
    }
}

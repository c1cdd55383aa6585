//! The benchmark summary: every headline figure of dispatchio, each measured
//! in the same run as the raw baseline it is judged against.
//!
//! ```sh
//! cargo bench --bench summary -- --quick   # under a minute on 2 cores
//! cargo bench --bench summary              # longer, steadier figures
//! cargo bench --bench summary -- --quick --only uds   # one part alone
//! ```
//!
//! `--only PART` (repeatable; `inproc`, `matching`, `check`, `worst`, `memory`, `uds`, `tls`,
//! `nats`: this one starts a `nats-server` of its own, installed when missing)
//! measures those parts and leaves the other keys `null`: for profiling one
//! path, not for the record.
//!
//! It prints a table, then the goals as ratios, and as its last line one JSON
//! object with every key (a median of several repetitions, or `null` where the
//! feature it measures is not built yet or its part was left out with
//! `--only` — never an invented number).
//! `docs/benchmarks.md` explains the keys and records a run.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

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
    ("tcp_msgs_per_s", "two processes over plaintext TCP loopback through dispatchio"),
    ("tls_msgs_per_s", "the same over TLS (tls: address, ring provider)"),
    ("tcp_rtt_p50_us", "round trip over plaintext TCP loopback through dispatchio, median"),
    ("tls_rtt_p50_us", "the same over TLS, median"),
    ("check_10k_rules_s", "dispatchio check on a generated 10,000-rule file"),
    ("nats_msgs_per_s", "two dispatchers on one nats-server (core mode)"),
    ("nats_raw_msgs_per_s", "baseline: raw async-nats publish/subscribe, same server"),
    ("nats_rtt_p50_us", "round trip between two dispatchers over NATS, median"),
    ("nats_raw_rtt_p50_us", "baseline: raw async-nats request/reply, median"),
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
    ("tls_msgs_per_s", ">=", 0.5, "tcp_msgs_per_s"),
    ("tls_rtt_p50_us", "<=", 1.5, "tcp_rtt_p50_us"),
    ("nats_msgs_per_s", ">=", 0.7, "nats_raw_msgs_per_s"),
    ("nats_rtt_p50_us", "<=", 1.3, "nats_raw_rtt_p50_us"),
];

/// The parts `--only` can pick.
const PARTS: &[&str] = &["inproc", "matching", "check", "worst", "memory", "uds", "tls", "nats"];

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
    // The child of the memory figures: queues a million messages, reports.
    if let Ok(side) = std::env::var(memory::CHILD_ENV) {
        memory::child(&side);
        return;
    }
    // `cargo bench` passes `--bench`; anything else but `--quick` is ignored.
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let only: Vec<&str> =
        args.windows(2).filter(|w| w[0] == "--only").map(|w| w[1].as_str()).collect();
    for part in &only {
        if !PARTS.contains(part) {
            eprintln!("--only {part}: no such part (one of {})", PARTS.join(", "));
            std::process::exit(2);
        }
    }
    let runs = |part: &str| only.is_empty() || only.contains(&part);
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
    // Figures beyond the issue's keys (memory, the checker's scaling point):
    // printed in the table and added to the JSON line.
    let mut extra: Vec<(&'static str, f64)> = Vec::new();
    let mut set = |key: &'static str, value: f64| {
        assert!(figures.contains_key(key), "unknown key {key}");
        figures.insert(key, Some(value));
    };

    // The baselines' repetitions alternate with the dispatcher's (see
    // `inproc::measure`), so both meet the same machine state.
    if runs("inproc") {
        match inproc::measure(&rt, cfg.messages, cfg.round_trips, cfg.reps) {
            Ok(m) => {
                set("mpsc_msgs_per_s", m.mpsc_tput);
                set("oneshot_rtt_ns", m.oneshot_rtt);
                set("inproc_msgs_per_s", m.tput);
                set("request_rtt_ns", m.rtt);
            }
            Err(e) => eprintln!("inproc not measured: {e}"),
        }
    }

    // One routing decision: compiled, hand-written and interpreted.
    let passes = if quick { 20 } else { 200 };
    let routing = if runs("matching") {
        matching::measure(passes, cfg.reps)
    } else {
        matching::Routing::default()
    };
    for (key, value) in &routing.figures {
        set(key, *value);
    }
    for e in &routing.errors {
        eprintln!("matching: {e}");
    }

    // The checker on the 10,000-rule file, and its 1,000-rule scaling point.
    let check_reps = if quick { 3 } else { 7 };
    if runs("check") {
        match check::measure(check_reps) {
            Ok(c) => {
                set("check_10k_rules_s", c.check_10k_s);
                extra.push(("check_1k_rules_s", c.check_1k_s));
                extra.push(("read_10k_rules_s", c.read_10k_s));
            }
            Err(e) => eprintln!("check not measured: {e}"),
        }
    }

    // Worst-case inputs of the `.route` tools, each against a plain table.
    if runs("worst") {
        match worst::measure(if quick { 3 } else { 5 }) {
            Ok(figures) => extra.extend(figures),
            Err(e) => eprintln!("worst cases not measured: {e}"),
        }
    }

    // Memory of 1,000,000 queued messages, each side in a fresh child.
    if runs("memory") {
        match (memory::measure("dispatchio"), memory::measure("raw")) {
            (Ok(d), Ok(r)) => {
                extra.push(("queued_1m_peak_rss_mb", d.peak_kb as f64 / 1024.0));
                extra.push(("queued_bytes_per_msg", d.bytes_per_msg()));
                extra.push(("raw_queued_1m_peak_rss_mb", r.peak_kb as f64 / 1024.0));
                extra.push(("raw_queued_bytes_per_msg", r.bytes_per_msg()));
            }
            (d, r) => eprintln!("memory not measured: {:?} {:?}", d.err(), r.err()),
        }
        // A listener slower than its sender: unbounded, then bounded.
        match (memory::measure("slow"), memory::measure("slow-bounded")) {
            (Ok(u), Ok(b)) => {
                extra.push(("slow_1m_peak_rss_mb", u.peak_kb as f64 / 1024.0));
                extra.push(("slow_bounded_1m_peak_rss_mb", b.peak_kb as f64 / 1024.0));
                extra.push(("slow_bounded_1m_refused", b.refused as f64));
            }
            (u, b) => eprintln!("slow listener not measured: {:?} {:?}", u.err(), b.err()),
        }
        // Hostile peers (issue 10, items 3, 5 and 6).
        match memory::measure("unread-replies") {
            Ok(m) => {
                extra.push(("unread_replies_300k_peak_rss_mb", m.peak_kb as f64 / 1024.0));
                extra.push(("unread_replies_300k_lost", m.refused as f64));
            }
            Err(e) => eprintln!("unread replies not measured: {e}"),
        }
        match memory::measure("stalled-frames") {
            Ok(m) => extra.push(("stalled_frames_50_rss_mb", m.peak_kb as f64 / 1024.0)),
            Err(e) => eprintln!("stalled frames not measured: {e}"),
        }
        match memory::measure("announce-flood") {
            Ok(m) => {
                extra.push(("announce_400k_peak_rss_mb", m.peak_kb as f64 / 1024.0));
                extra.push(("announce_400k_applied", m.refused as f64));
            }
            Err(e) => eprintln!("announcement flood not measured: {e}"),
        }
    }

    // Two processes over a Unix socket: dispatchio, then the raw socket with
    // the same framing, each against a child process of this program.
    // Messages, round trips, repetitions.
    let two_processes = if quick { (50_000, 5_000, 3) } else { (500_000, 50_000, 7) };
    if runs("uds") {
        for side in [uds::Side::Dispatchio, uds::Side::Raw] {
            uds_figures(&rt, side, two_processes, &mut set, &mut extra);
        }
    }

    // The same two processes over TCP loopback: plaintext, then TLS, in one
    // run so that their ratio meets one machine state.
    if runs("tls") {
        for side in [uds::Side::Tcp, uds::Side::Tls] {
            uds_figures(&rt, side, two_processes, &mut set, &mut extra);
        }
    }

    // Two dispatchers on a nats-server of the bench's own, against raw
    // async-nats clients on the same server.
    let (nats_messages, nats_trips, nats_reps) =
        if quick { (50_000, 5_000, 3) } else { (500_000, 50_000, 7) };
    if runs("nats") {
        match nats::measure(&rt, nats_messages, nats_trips, nats_reps) {
            Ok((ours, raw)) => {
                set("nats_msgs_per_s", ours.tput);
                set("nats_rtt_p50_us", ours.rtt_us);
                set("nats_raw_msgs_per_s", raw.tput);
                set("nats_raw_rtt_p50_us", raw.rtt_us);
                extra.push(("nats_lost", ours.lost as f64));
                extra.push(("nats_raw_lost", raw.lost as f64));
            }
            Err(e) => eprintln!("nats not measured: {e}"),
        }
    }

    // `--svg PATH`: the plot of docs/benchmarks.md, from this run's figures.
    if let Some(path) = args.iter().position(|a| a == "--svg").and_then(|i| args.get(i + 1)) {
        let hand = figures["match_handwritten_ns_1000"];
        match std::fs::write(path, plot::svg(&routing.curve, hand, quick)) {
            Ok(()) => eprintln!("wrote {path}"),
            Err(e) => eprintln!("could not write {path}: {e}"),
        }
    }

    print_report(&figures, &extra, quick);
}

/// Measures one side of the two-process figures and records its keys:
/// throughput, round trip, and each process's CPU per message.
fn uds_figures(
    rt: &tokio::runtime::Runtime,
    side: uds::Side,
    (messages, trips, reps): (u64, u64, usize),
    set: &mut impl FnMut(&'static str, f64),
    extra: &mut Vec<(&'static str, f64)>,
) {
    let [tput, rtt, sender_cpu, receiver_cpu] = side.keys();
    match uds::measure(rt, side, messages, trips, reps) {
        Ok(f) => {
            set(tput, f.tput);
            set(rtt, f.rtt_us);
            extra.push((sender_cpu, f.parent_cpu_ns));
            extra.push((receiver_cpu, f.child_cpu_ns));
        }
        Err(e) => eprintln!("{side:?} not measured: {e}"),
    }
}

/// Runs `f` `reps` times and returns the median.
fn median(reps: usize, mut f: impl FnMut() -> f64) -> f64 {
    median_of((0..reps).map(|_| f()).collect())
}

/// The median of some figures (NaN when there are none).
fn median_of(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Baseline: one sender task, one counting receiver task, a bounded tokio
/// mpsc channel between them; messages per second.
async fn mpsc_throughput(n: u64) -> f64 {
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
}

/// Baseline: a server task answers each request, sent over mpsc with a
/// oneshot for the reply; sequential round trips.
struct OneshotServer {
    tx: mpsc::Sender<(u64, oneshot::Sender<u64>)>,
}

impl OneshotServer {
    fn start() -> OneshotServer {
        let (tx, mut rx) = mpsc::channel::<(u64, oneshot::Sender<u64>)>(1024);
        tokio::spawn(async move {
            while let Some((x, reply)) = rx.recv().await {
                let _ = reply.send(x + 1);
            }
        });
        OneshotServer { tx }
    }

    /// `n` sequential round trips; how long they took.
    async fn round_trips(&self, n: u64) -> Duration {
        let start = Instant::now();
        for i in 0..n {
            let (reply_tx, reply_rx) = oneshot::channel();
            self.tx.send((i, reply_tx)).await.expect("server alive");
            assert_eq!(reply_rx.await.expect("a reply"), i + 1);
        }
        start.elapsed()
    }
}

/// The medians of two lists of repetitions.
fn summarise(a: &mut [f64], b: &mut [f64]) -> (f64, f64) {
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    (a[a.len() / 2], b[b.len() / 2])
}

/// What the extra figures are.
const EXTRA: &[(&str, &str)] = &[
    ("check_1k_rules_s", "dispatchio check on the 1,000-rule file (scaling point)"),
    ("read_10k_rules_s", "baseline: read the 10,000-rule file and split its lines"),
    ("worst_globs_100_s", "check: 100 rules `suit matches \"*K*a*?\"` (each overlapping)"),
    ("plain_rules_100_s", "baseline: check of the plain 100-rule table"),
    ("worst_set_200k_s", "check: one rule `card in {0, …, 199999}`"),
    ("plain_same_bytes_s", "baseline: check of a plain table of as many bytes"),
    ("worst_chain_10k_s", "check: 10,000 listeners, each forwarding to the next"),
    ("plain_rules_10k_s", "baseline: check of the plain 10,000-rule table"),
    ("worst_human_60k_findings_s", "dispatchio check, human output of 60,000 findings"),
    ("worst_json_60k_findings_s", "baseline: the same file, --format json"),
    ("worst_build_10k_listeners_s", "interpreter: build() of those 10,000 listeners"),
    ("queued_1m_peak_rss_mb", "peak RSS growth, 1,000,000 messages on a listener queue"),
    ("queued_bytes_per_msg", "the same per queued message"),
    ("raw_queued_1m_peak_rss_mb", "baseline: peak RSS growth, 1,000,000 Arc'd payloads in mpsc"),
    ("raw_queued_bytes_per_msg", "baseline: the same per payload"),
    ("slow_1m_peak_rss_mb", "peak RSS growth, 1,000,000 sends to a 1 ms listener, unbounded"),
    ("slow_bounded_1m_peak_rss_mb", "the same, mailbox bounded at 1,024"),
    ("slow_bounded_1m_refused", "sends the bounded mailbox refused (MailboxFull)"),
    (
        "unread_replies_300k_peak_rss_mb",
        "peak RSS growth, 300,000 requests whose replies go unread",
    ),
    ("unread_replies_300k_lost", "of those replies, lost (counted and logged in batches)"),
    ("stalled_frames_50_rss_mb", "RSS growth, 50 peers stalled after an 8 MiB frame's prefix"),
    ("announce_400k_peak_rss_mb", "peak RSS growth, one peer announcing 400,000 IDs at once"),
    ("announce_400k_applied", "of those IDs, applied (refused over the limit: 0)"),
    ("uds_sender_cpu_ns_per_msg", "Unix socket: CPU of the sending process per message"),
    ("uds_receiver_cpu_ns_per_msg", "Unix socket: CPU of the receiving process per message"),
    ("uds_raw_sender_cpu_ns_per_msg", "baseline: the same, raw socket, sending process"),
    ("uds_raw_receiver_cpu_ns_per_msg", "baseline: the same, raw socket, receiving process"),
    ("tcp_sender_cpu_ns_per_msg", "plaintext TCP: CPU of the sending process per message"),
    ("tcp_receiver_cpu_ns_per_msg", "plaintext TCP: CPU of the receiving process per message"),
    ("tls_sender_cpu_ns_per_msg", "TLS: CPU of the sending process per message"),
    ("tls_receiver_cpu_ns_per_msg", "TLS: CPU of the receiving process per message"),
    ("nats_lost", "NATS: one-way messages sent and never received, all repetitions"),
    ("nats_raw_lost", "baseline: the same, raw async-nats"),
];

fn print_report(figures: &BTreeMap<&str, Option<f64>>, extra: &[(&str, f64)], quick: bool) {
    println!("dispatchio benchmark summary{}", if quick { " (--quick)" } else { "" });
    println!();
    println!("{:<32} {:>16}  what", "key", "value");
    for (key, what) in KEYS {
        let value = figures[key].map_or_else(|| "not measured".to_owned(), format_number);
        println!("{key:<32} {value:>16}  {what}");
    }
    for &(key, what) in EXTRA {
        let value = extra
            .iter()
            .find(|(k, _)| *k == key)
            .map_or_else(|| "not measured".to_owned(), |&(_, v)| format_number(v));
        println!("{key:<32} {value:>16}  {what}");
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
            _ => "n/a (not measured)".to_owned(),
        };
        println!("  {key} / {other} {op} {factor}: {verdict}");
    }
    if let Some(s) = figures["check_10k_rules_s"] {
        println!("  check_10k_rules_s < 2: {s:.3} ({})", if s < 2.0 { "met" } else { "MISSED" });
    }
    let get = |k: &str| extra.iter().find(|(x, _)| *x == k).map(|&(_, v)| v);
    if let (Some(c10k), Some(c1k)) = (figures["check_10k_rules_s"], get("check_1k_rules_s")) {
        println!("  (check 10,000 / 1,000 rules: {:.1}; linear is 10)", c10k / c1k);
    }
    if let (Some(c10k), Some(read)) = (figures["check_10k_rules_s"], get("read_10k_rules_s")) {
        println!("  (check / read+split of the 10,000-rule file: {:.0})", c10k / read);
    }
    for (key, base) in worst::RATIOS {
        if let Some(v) = get(key) {
            let verdict = if v < 1.0 { "met" } else { "MISSED" };
            let ratio = get(base).map_or_else(String::new, |b| format!("; / {base}: {:.2}", v / b));
            println!("  {key} < 1 s: {v:.3} ({verdict}{ratio})");
        }
    }
    if let (Some(d), Some(r)) = (get("queued_bytes_per_msg"), get("raw_queued_bytes_per_msg")) {
        println!("  (bytes per queued message / raw: {:.2})", d / r);
    }
    for side in ["sender", "receiver"] {
        let ours = get(&format!("uds_{side}_cpu_ns_per_msg"));
        if let (Some(d), Some(r)) = (ours, get(&format!("uds_raw_{side}_cpu_ns_per_msg"))) {
            println!("  (Unix socket, CPU per message of the {side} / raw: {:.2})", d / r);
        }
        let tls = get(&format!("tls_{side}_cpu_ns_per_msg"));
        if let (Some(t), Some(p)) = (tls, get(&format!("tcp_{side}_cpu_ns_per_msg"))) {
            println!("  (TLS / plaintext TCP, CPU per message of the {side}: {:.2})", t / p);
        }
    }
    println!();
    // The last line: one JSON object (keys sorted), null where not built.
    let mut json: serde_json::Map<String, serde_json::Value> = KEYS
        .iter()
        .map(|&(k, _)| (k.to_owned(), figures[k].map_or(serde_json::Value::Null, json_number)))
        .collect();
    for &(k, v) in extra {
        json.insert(k.to_owned(), json_number(v));
    }
    println!("{}", serde_json::Value::Object(json));
}

fn format_number(x: f64) -> String {
    if x >= 1000.0 {
        format!("{x:.0}")
    } else if x >= 1.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.6}")
    }
}

fn json_number(x: f64) -> serde_json::Value {
    // Round to 4 significant decimals so the line stays readable.
    let rounded = if x >= 1000.0 {
        x.round()
    } else if x >= 1.0 {
        (x * 1e3).round() / 1e3
    } else {
        (x * 1e6).round() / 1e6
    };
    serde_json::Number::from_f64(rounded).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// Two processes over a Unix socket: dispatchio's links and dispatcher
/// against a raw socket with the same length-delimited framing
/// ([`dispatchio::net::codec`]). The parent listens on a socket in the temp
/// dir and re-runs this program as the child (told its part by an
/// environment variable); every message carries a 64-byte body. The same
/// dispatchio side also runs over TCP loopback, plaintext and TLS (with a
/// certificate made for the run, which the child pins), for their ratio.
mod uds {
    use std::path::Path;
    use std::process::{Child, Command};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use dispatchio::net::{DEFAULT_MAX_FRAME_LEN, NetExt, RemoteConfig, Tls, codec};
    use dispatchio::routing::{Action, Field, RoutingTable};
    use dispatchio::{ContentRegistry, Dispatcher, Id, Message, Reply, RoutedListener, Text};
    use futures::{SinkExt, StreamExt};
    use tokio::net::{UnixListener, UnixStream};
    use tokio::runtime::Runtime;
    use tokio_util::codec::{Framed, LengthDelimitedCodec};

    pub(crate) const CHILD_ENV: &str = "DISPATCHIO_BENCH_UDS_CHILD";
    /// The file of the certificate a TLS child pins.
    const PIN_ENV: &str = "DISPATCHIO_BENCH_TLS_PIN";
    /// The shared secret of the TCP and TLS runs (a TCP listener needs one).
    const SECRET: &str = "bench secret";
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
        Tcp,
        Tls,
    }

    impl Side {
        /// Its keys: throughput, round trip, the sender's and the
        /// receiver's CPU per message.
        pub(crate) fn keys(self) -> [&'static str; 4] {
            match self {
                Side::Dispatchio => [
                    "uds_msgs_per_s",
                    "uds_rtt_p50_us",
                    "uds_sender_cpu_ns_per_msg",
                    "uds_receiver_cpu_ns_per_msg",
                ],
                Side::Raw => [
                    "uds_raw_msgs_per_s",
                    "uds_raw_rtt_p50_us",
                    "uds_raw_sender_cpu_ns_per_msg",
                    "uds_raw_receiver_cpu_ns_per_msg",
                ],
                Side::Tcp => [
                    "tcp_msgs_per_s",
                    "tcp_rtt_p50_us",
                    "tcp_sender_cpu_ns_per_msg",
                    "tcp_receiver_cpu_ns_per_msg",
                ],
                Side::Tls => [
                    "tls_msgs_per_s",
                    "tls_rtt_p50_us",
                    "tls_sender_cpu_ns_per_msg",
                    "tls_receiver_cpu_ns_per_msg",
                ],
            }
        }
    }

    type Error = Box<dyn std::error::Error + Send + Sync>;

    /// What one side of the Unix-socket figures measured.
    pub(crate) struct Figures {
        /// Messages per second, median of the repetitions.
        pub(crate) tput: f64,
        /// Median round trip in microseconds, over every round trip.
        pub(crate) rtt_us: f64,
        /// CPU time of the sending process (all its threads) per message
        /// of the throughput runs, in nanoseconds; median of the repetitions.
        pub(crate) parent_cpu_ns: f64,
        /// The same for the receiving process.
        pub(crate) child_cpu_ns: f64,
    }

    /// The figures of one side; see [`Figures`].
    pub(crate) fn measure(
        rt: &Runtime,
        side: Side,
        messages: u64,
        trips: u64,
        reps: usize,
    ) -> Result<Figures, Error> {
        let dir = std::env::temp_dir().join(format!("dio-bench-{}-{side:?}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("s.sock");
        let _ = std::fs::remove_file(&path);
        let result = rt.block_on(async {
            match side {
                Side::Raw => raw_side(&path, messages, trips, reps).await,
                _ => dispatchio_side(side, &dir, messages, trips, reps).await,
            }
        });
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    /// Starts the receiving process: this program again, or under the
    /// command in `DISPATCHIO_BENCH_UDS_WRAP` (split at spaces), e.g.
    /// `valgrind --tool=callgrind` to count its instructions.
    fn spawn_child(part: &str, target: &str, pin: Option<&Path>) -> Result<Child, Error> {
        let exe = std::env::current_exe()?;
        let wrap = std::env::var("DISPATCHIO_BENCH_UDS_WRAP").unwrap_or_default();
        let mut words = wrap.split_whitespace();
        let mut command = match words.next() {
            Some(program) => {
                let mut c = Command::new(program);
                c.args(words).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        if let Some(pin) = pin {
            command.env(PIN_ENV, pin);
        }
        Ok(command.env(CHILD_ENV, format!("{part} {target}")).spawn()?)
    }

    /// What each repetition measured.
    #[derive(Default)]
    struct Reps {
        tputs: Vec<f64>,
        rtts: Vec<f64>,
        parent_cpu: Vec<f64>,
        child_cpu: Vec<f64>,
    }

    impl Reps {
        /// Records a throughput run: `messages` in `wall`, with the CPU time
        /// each process spent meanwhile.
        fn throughput(&mut self, messages: u64, wall: Duration, parent: Duration, child: Duration) {
            let n = messages as f64;
            self.tputs.push(n / wall.as_secs_f64());
            self.parent_cpu.push(parent.as_nanos() as f64 / n);
            self.child_cpu.push(child.as_nanos() as f64 / n);
        }

        fn summarise(self) -> Figures {
            Figures {
                tput: super::median_of(self.tputs),
                rtt_us: super::median_of(self.rtts),
                parent_cpu_ns: super::median_of(self.parent_cpu),
                child_cpu_ns: super::median_of(self.child_cpu),
            }
        }
    }

    /// The content of a request asking the child for its CPU time so far.
    const CPU_QUERY: &str = "cpu?";

    /// The CPU time a process has used so far: all its threads.
    fn cpu_now() -> Duration {
        cpu_time::ProcessTime::try_now().map_or(Duration::ZERO, |t| t.as_duration())
    }

    fn body() -> String {
        "x".repeat(BODY)
    }

    async fn dispatchio_side(
        side: Side,
        dir: &Path,
        messages: u64,
        trips: u64,
        reps_wanted: usize,
    ) -> Result<Figures, Error> {
        let d = Dispatcher::new();
        let parent = config("bench-parent");
        let pin = dir.join("listener.pem");
        let (addr, cfg, pin) = match side {
            Side::Tcp => ("tcp:127.0.0.1:0".to_owned(), parent.allow_plaintext(true), None),
            Side::Tls => {
                let (cert, key) = certificate()?;
                std::fs::write(&pin, &cert)?;
                let tls = Tls::new().identity_pem(cert.as_bytes(), key.as_bytes())?;
                ("tls:127.0.0.1:0".to_owned(), parent.tls(tls), Some(pin.as_path()))
            }
            _ => (format!("unix:{}", dir.join("s.sock").display()), parent, None),
        };
        let listener = d.listen_with(&addr, &cfg).await?;
        let mut child = spawn_child("dispatchio", &listener.local_addr().to_string(), pin)?;
        let sink = Id::from("sink");
        if !d.wait_for_destination(&sink, PATIENCE).await {
            let _ = child.kill();
            return Err("the child's listener was never announced".into());
        }
        let me = d.new_source();
        let text = body();
        let child_cpu = async || -> Result<Duration, Error> {
            let answer = me
                .request(Message::new(Text(CPU_QUERY.to_owned())).to(sink.clone()), Some(PATIENCE))
                .await?;
            let text =
                answer.content().downcast_ref::<Text>().ok_or("the CPU answer is not text")?;
            Ok(Duration::from_nanos(text.0.parse()?))
        };
        let mut reps = Reps::default();
        for _ in 0..reps_wanted {
            let child_before = child_cpu().await?;
            let parent_before = cpu_now();
            let start = Instant::now();
            for i in 0..messages {
                me.send(Message::new(Text(text.clone())).to(sink.clone()))?;
                if i % WINDOW == WINDOW - 1 {
                    me.request(Message::new(Text(String::new())).to(sink.clone()), Some(PATIENCE))
                        .await?;
                }
            }
            me.request(Message::new(Text(String::new())).to(sink.clone()), Some(PATIENCE)).await?;
            let wall = start.elapsed();
            let parent = cpu_now().saturating_sub(parent_before);
            let child = child_cpu().await?.saturating_sub(child_before);
            reps.throughput(messages, wall, parent, child);
            for _ in 0..trips {
                let t = Instant::now();
                me.request(Message::new(Text(text.clone())).to(sink.clone()), Some(PATIENCE))
                    .await?;
                reps.rtts.push(t.elapsed().as_secs_f64() * 1e6);
            }
        }
        listener.close().await;
        let _ = tokio::task::spawn_blocking(move || child.wait()).await;
        Ok(reps.summarise())
    }

    fn config(name: &str) -> RemoteConfig {
        let mut registry = ContentRegistry::new();
        registry.register::<Text>();
        RemoteConfig::new(name).registry(registry).keepalive(None).secret(SECRET)
    }

    /// A self-signed certificate for 127.0.0.1 and its key, as PEM.
    fn certificate() -> Result<(String, String), Error> {
        let key = rcgen::KeyPair::generate()?;
        let cert =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])?.self_signed(&key)?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// Raw frames: a one-way frame's body starts with 0 and is counted; one
    /// starting with 2 asks for the child's CPU time (8 bytes back, in
    /// nanoseconds); any other frame is echoed back.
    async fn raw_side(
        path: &std::path::Path,
        messages: u64,
        trips: u64,
        reps_wanted: usize,
    ) -> Result<Figures, Error> {
        let listener = UnixListener::bind(path)?;
        let mut child = spawn_child("raw", &path.display().to_string(), None)?;
        let (io, _) = tokio::time::timeout(PATIENCE, listener.accept()).await??;
        let mut framed = Framed::new(io, codec(DEFAULT_MAX_FRAME_LEN));
        let one_way = Bytes::from(vec![0u8; BODY]);
        let request = Bytes::from(vec![1u8; BODY]);
        let cpu_query = Bytes::from_static(&[2]);
        let mut reps = Reps::default();
        for _ in 0..reps_wanted {
            let child_before = raw_child_cpu(&mut framed, &cpu_query).await?;
            let parent_before = cpu_now();
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
            let wall = start.elapsed();
            let parent = cpu_now().saturating_sub(parent_before);
            let child = raw_child_cpu(&mut framed, &cpu_query).await?.saturating_sub(child_before);
            reps.throughput(messages, wall, parent, child);
            for _ in 0..trips {
                let t = Instant::now();
                round_trip(&mut framed, &request).await?;
                reps.rtts.push(t.elapsed().as_secs_f64() * 1e6);
            }
        }
        drop(framed);
        let _ = tokio::task::spawn_blocking(move || child.wait()).await;
        Ok(reps.summarise())
    }

    async fn round_trip(
        framed: &mut Framed<UnixStream, LengthDelimitedCodec>,
        request: &Bytes,
    ) -> Result<Bytes, Error> {
        framed.send(request.clone()).await?;
        match framed.next().await {
            Some(Ok(answer)) => Ok(answer.freeze()),
            Some(Err(e)) => Err(e.into()),
            None => Err("the raw child closed early".into()),
        }
    }

    async fn raw_child_cpu(
        framed: &mut Framed<UnixStream, LengthDelimitedCodec>,
        query: &Bytes,
    ) -> Result<Duration, Error> {
        let answer = round_trip(framed, query).await?;
        let nanos: [u8; 8] = answer[..].try_into().map_err(|_| "a CPU answer is 8 bytes")?;
        Ok(Duration::from_nanos(u64::from_be_bytes(nanos)))
    }

    /// The child process: serves until the parent goes away.
    pub(crate) fn child(spec: &str) {
        let Some((part, target)) = spec.split_once(' ') else {
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
                "dispatchio" => serve_dispatchio(target).await,
                _ => serve_raw(target).await,
            }
        });
        if let Err(e) = result {
            eprintln!("bench child: {e}");
            std::process::exit(1);
        }
    }

    /// Serves the parent at `address` (`unix:`, `tcp:` or `tls:`).
    async fn serve_dispatchio(address: &str) -> Result<(), Error> {
        let d = Dispatcher::new();
        let count = Arc::new(AtomicU64::new(0));
        let c = count.clone();
        let table = RoutingTable::builder()
            .rule("request", Field::ResponseRequired.is_true(), [Action::call("echo")])
            .otherwise([Action::call("count")])
            .build()?;
        let listener = RoutedListener::builder(table)
            .handler("echo", |m: &Message| match m.content().downcast_ref::<Text>() {
                Some(Text(q)) if q == CPU_QUERY => {
                    Ok(Reply::with(Text(cpu_now().as_nanos().to_string())))
                }
                _ => Ok(Reply::Content(m.content().clone())),
            })
            .handler("count", move |_m: &Message| {
                c.fetch_add(1, Ordering::Relaxed);
                Ok(Reply::Empty)
            })
            .build()?;
        d.register("sink", Arc::new(listener))?;
        let mut cfg = config("bench-child");
        if let Ok(pin) = std::env::var(PIN_ENV) {
            cfg = cfg.tls(Tls::new().pin_pem(&std::fs::read(pin)?)?);
        }
        let peer = d.connect_with(address, &cfg).await?;
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
            match frame.first() {
                Some(0) => count += 1,
                Some(2) => {
                    let nanos = cpu_now().as_nanos() as u64;
                    framed.send(Bytes::copy_from_slice(&nanos.to_be_bytes())).await?;
                }
                _ => framed.send(frame.freeze()).await?,
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
                            .request(
                                Message::new(Ask { n: k as i64 }).to("counter"),
                                Some(PATIENCE),
                            )
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
}

/// One routing decision, timed over a fixed set of sample messages that
/// cycles through the four types and through the literals of the table
/// (hits, near misses and values no rule mentions, in a scrambled order so
/// branch prediction cannot learn the sequence). The compiled, hand-written
/// and interpreted matchers of the 1,000-rule table route the very same
/// samples.
mod matching {
    use std::hint::black_box;
    use std::path::Path;
    use std::time::Instant;

    use dispatchio::Message;
    use dispatchio::routing::{Fired, Matcher};

    mod r10 {
        dispatchio::include_routes!("benches/routes/rules_10.route");
    }
    mod r100 {
        dispatchio::include_routes!("benches/routes/rules_100.route");
    }
    mod r1000 {
        dispatchio::include_routes!("benches/routes/rules_1000.route");
        include!("support/handwritten_1000.rs");
    }
    mod r10000 {
        dispatchio::include_routes!("benches/routes/rules_10000.route");
    }

    /// Sample messages per table.
    const SAMPLES: usize = 4096;

    /// The content of one sample, independent of the module whose structs
    /// carry it.
    enum Spec {
        Order { code: i64, price: i64 },
        Quote { level: i64, symbol: String },
        Trade { symbol: String },
        Alert { code: i64, price: i64 },
    }

    /// The samples for an `n`-rule table (`n / 4` rules per type; see
    /// `dispatchio_dsl::bench_support`): about one in nine misses every rule.
    fn specs(n: usize) -> Vec<Spec> {
        let per_type = (n / 4).max(1) as u64;
        let span = per_type + per_type / 8 + 1;
        // A fixed LCG: the same samples in every run.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state >> 33
        };
        (0..SAMPLES)
            .map(|i| {
                let k = (next() % span) as i64;
                let r = next() as i64;
                match i % 4 {
                    0 => Spec::Order { code: k, price: r % 100 },
                    1 => Spec::Quote { level: k * 10 + r % 10, symbol: format!("S{k}") },
                    2 => Spec::Trade { symbol: format!("S{k}") },
                    _ => Spec::Alert { code: k, price: r % 80 },
                }
            })
            .collect()
    }

    /// Builds the sample messages from the structs of module `$m`.
    macro_rules! messages {
        ($m:ident, $n:expr) => {
            specs($n)
                .into_iter()
                .map(|s| {
                    let msg = match s {
                        Spec::Order { code, price } => {
                            Message::new($m::Order { code, price, qty: 1 })
                        }
                        Spec::Quote { level, symbol } => Message::new($m::Quote { level, symbol }),
                        Spec::Trade { symbol } => Message::new($m::Trade { symbol, qty: 1 }),
                        Spec::Alert { code, price } => Message::new($m::Alert { code, price }),
                    };
                    msg.to("bench")
                })
                .collect::<Vec<Message>>()
        };
    }

    /// Nanoseconds per decision: the median over `reps` of `passes` passes
    /// over `samples`.
    fn time(
        passes: usize,
        reps: usize,
        samples: &[Message],
        route: impl Fn(&Message, &mut Fired),
    ) -> f64 {
        let mut fired = Fired::new();
        let one_pass = |fired: &mut Fired| {
            for msg in samples {
                fired.clear();
                route(black_box(msg), fired);
                black_box(&*fired);
            }
        };
        one_pass(&mut fired); // warm the caches and the buffer
        super::median(reps, || {
            let start = Instant::now();
            for _ in 0..passes {
                one_pass(&mut fired);
            }
            start.elapsed().as_nanos() as f64 / (passes * samples.len()) as f64
        })
    }

    /// What [`measure`] found.
    #[derive(Default)]
    pub(crate) struct Routing {
        /// `(key, ns)` of every figure measured (the issue's keys, and the
        /// interpreter and hand-written code at the other sizes, for the plot).
        pub(crate) figures: Vec<(&'static str, f64)>,
        /// Why a figure is missing.
        pub(crate) errors: Vec<String>,
        /// `(rules, compiled, interpreted)` for the plot.
        pub(crate) curve: Vec<(usize, Option<f64>, Option<f64>)>,
    }

    fn interpreted(
        n: usize,
        passes: usize,
        reps: usize,
        samples: &[Message],
    ) -> Result<f64, String> {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("benches/routes/rules_{n}.route"));
        let routes =
            dispatchio::routes::load(&path).and_then(|b| b.build()).map_err(|e| e.to_string())?;
        let listener = routes.listener("bench").ok_or("no listener `bench`")?;
        let matcher = listener.matcher();
        Ok(time(passes, reps, samples, |m, f| matcher.route(m, f)))
    }

    pub(crate) fn measure(passes: usize, reps: usize) -> Routing {
        let mut out = Routing { figures: Vec::new(), errors: Vec::new(), curve: Vec::new() };
        // Fewer passes on the big tables keep --quick quick: a decision
        // costs more there.
        let m10 = messages!(r10, 10);
        let m100 = messages!(r100, 100);
        let m1000 = messages!(r1000, 1000);
        let m10000 = messages!(r10000, 10000);
        let c10 = r10::bench::Matcher::new();
        let c100 = r100::bench::Matcher::new();
        let c1000 = r1000::bench::Matcher::new();
        let c10000 = r10000::bench::Matcher::new();
        let sets: [(usize, &'static str, &[Message], &dyn Matcher); 4] = [
            (10, "match_compiled_ns_10", &m10, &c10),
            (100, "match_compiled_ns_100", &m100, &c100),
            (1000, "match_compiled_ns_1000", &m1000, &c1000),
            (10000, "match_compiled_ns_10000", &m10000, &c10000),
        ];
        for (n, key, samples, matcher) in sets {
            let compiled = time(passes, reps, samples, |m, f| matcher.route(m, f));
            out.figures.push((key, compiled));
            // The interpreter: every size for the plot, 1,000 for the key.
            let interp = match interpreted(n, passes.div_ceil(4), reps, samples) {
                Ok(ns) => Some(ns),
                Err(e) => {
                    out.errors.push(format!("interpreter, {n} rules: {e}"));
                    None
                }
            };
            if let (1000, Some(ns)) = (n, interp) {
                out.figures.push(("match_interpreted_ns_1000", ns));
            }
            out.curve.push((n, Some(compiled), interp));
        }
        let hand = time(passes, reps, &m1000, r1000::route_handwritten);
        out.figures.push(("match_handwritten_ns_1000", hand));
        out
    }
}

/// The checker (`dispatchio check`'s library call: front end and analysis)
/// on the generated 10,000- and 1,000-rule files, and reading the 10,000-rule
/// file and splitting it into lines as a floor.
mod check {
    use std::path::PathBuf;
    use std::time::Instant;

    pub(crate) struct Check {
        pub(crate) check_10k_s: f64,
        pub(crate) check_1k_s: f64,
        pub(crate) read_10k_s: f64,
    }

    fn path(n: usize) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("benches/routes/rules_{n}.route"))
    }

    fn check_s(n: usize, reps: usize) -> Result<f64, String> {
        let path = path(n);
        let mut err = None;
        let s = super::median(reps, || {
            let start = Instant::now();
            match dispatchio::dsl::check(&path) {
                Ok(report) if report.has_errors() => {
                    err = Some(format!("{}: has errors", path.display()))
                }
                Ok(report) => drop(std::hint::black_box(report)),
                Err(e) => err = Some(e.to_string()),
            }
            start.elapsed().as_secs_f64()
        });
        err.map_or(Ok(s), Err)
    }

    pub(crate) fn measure(reps: usize) -> Result<Check, String> {
        let check_10k_s = check_s(10_000, reps)?;
        let check_1k_s = check_s(1_000, reps)?;
        let p = path(10_000);
        let mut err = None;
        let read_10k_s = super::median(reps, || {
            let start = Instant::now();
            match std::fs::read_to_string(&p) {
                Ok(text) => drop(std::hint::black_box(text.lines().count())),
                Err(e) => err = Some(e.to_string()),
            }
            start.elapsed().as_secs_f64()
        });
        err.map_or(Ok(Check { check_10k_s, check_1k_s, read_10k_s }), Err)
    }
}

/// Worst-case inputs of the `.route` tools (issue 10's shapes, several times
/// the sizes it reported), each timed against the check of a plain table:
/// the benchmark's generated table (`bench_support::rules_route`) with as
/// many rules, or (for the one big set) as many bytes; human output against
/// JSON of the same file. The budget for each is one second.
mod worst {
    use std::fmt::Write as _;
    use std::path::{Path, PathBuf};
    use std::time::Instant;

    use dispatchio::dsl::bench_support::rules_route;

    /// Each figure and the baseline its ratio is to.
    pub(crate) const RATIOS: &[(&str, &str)] = &[
        ("worst_globs_100_s", "plain_rules_100_s"),
        ("worst_set_200k_s", "plain_same_bytes_s"),
        ("worst_chain_10k_s", "plain_rules_10k_s"),
        ("worst_human_60k_findings_s", "worst_json_60k_findings_s"),
        ("worst_build_10k_listeners_s", "plain_rules_10k_s"),
    ];

    fn globs(n: usize) -> String {
        let mut out = String::from("message Card { suit: string }\nlistener l {\n");
        for k in 0..n {
            let _ = writeln!(
                out,
                "  rule r{k} when type == Card and suit matches \"*{k}*a*?\" => queue q{k}"
            );
        }
        out + "  otherwise => drop\n}\n"
    }

    fn set(n: usize) -> String {
        let items: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        format!(
            "message Card {{ card: int }}\nlistener l {{\n  rule a when type == Card and card in {{{}}} => queue a\n  otherwise => drop\n}}\n",
            items.join(", ")
        )
    }

    fn chain(n: usize) -> String {
        let mut out = String::from("message Card { card: int }\n");
        for i in 0..n {
            let action = if i + 1 < n { format!("forward l{}", i + 1) } else { "drop".to_owned() };
            let _ = writeln!(
                out,
                "listener l{i} {{ rule f when type == Card => {action}\n  otherwise => drop }}"
            );
        }
        out
    }

    /// `n` consts nothing uses: `n` `unused` findings, each with its
    /// snippet, from the cheapest file to check, so that the output is
    /// what is measured.
    fn findings(n: usize) -> String {
        (0..n).map(|i| format!("const C{i} = {i}\n")).collect()
    }

    /// Seconds for the checker on `text` (a median of `reps`).
    fn check_s(text: &str, reps: usize) -> f64 {
        super::median(reps, || {
            let start = Instant::now();
            std::hint::black_box(dispatchio::dsl::check_str("bench.route", text));
            start.elapsed().as_secs_f64()
        })
    }

    /// Seconds for `dispatchio check ARGS` (its output discarded).
    fn cli_s(args: &[&str], reps: usize) -> f64 {
        super::median(reps, || {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let argv = ["dispatchio", "check"].iter().chain(args).copied();
            let start = Instant::now();
            dispatchio_dsl::cli::run_with(argv, &mut out, &mut err);
            std::hint::black_box(out);
            start.elapsed().as_secs_f64()
        })
    }

    /// A plain table of about `bytes` bytes.
    fn plain_of_bytes(bytes: usize) -> String {
        let per_rule = rules_route(1_000).len() / 1_000;
        rules_route(bytes / per_rule)
    }

    struct Dir(PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn write(dir: &Path, name: &str, text: &str) -> Result<PathBuf, String> {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }

    pub(crate) fn measure(reps: usize) -> Result<Vec<(&'static str, f64)>, String> {
        let dir =
            Dir(std::env::temp_dir().join(format!("dispatchio-bench-{}", std::process::id())));
        std::fs::create_dir_all(&dir.0).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        out.push(("worst_globs_100_s", check_s(&globs(100), reps)));
        out.push(("plain_rules_100_s", check_s(&rules_route(100), reps)));
        let big = set(200_000);
        out.push(("worst_set_200k_s", check_s(&big, reps)));
        out.push(("plain_same_bytes_s", check_s(&plain_of_bytes(big.len()), reps)));
        let chained = chain(10_000);
        out.push(("worst_chain_10k_s", check_s(&chained, reps)));
        out.push(("plain_rules_10k_s", check_s(&rules_route(10_000), reps)));
        let many = write(&dir.0, "findings.route", &findings(60_000))?;
        let many = many.to_string_lossy().into_owned();
        out.push(("worst_human_60k_findings_s", cli_s(&[&many], reps)));
        out.push(("worst_json_60k_findings_s", cli_s(&["--format", "json", &many], reps)));
        let chain_path = write(&dir.0, "chain.route", &chained)?;
        let mut err = None;
        let build_s = super::median(reps, || match dispatchio::routes::load(&chain_path) {
            Ok(builder) => {
                let start = Instant::now();
                match builder.build() {
                    Ok(routes) => drop(std::hint::black_box(routes)),
                    Err(e) => err = Some(e.to_string()),
                }
                start.elapsed().as_secs_f64()
            }
            Err(e) => {
                err = Some(e.to_string());
                f64::NAN
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        out.push(("worst_build_10k_listeners_s", build_s));
        Ok(out)
    }
}

/// Memory: 1,000,000 messages queued on a listener's named queue (sent
/// through the dispatcher, routed by a one-rule table, never drained)
/// against 1,000,000 of the same `Arc`'d payloads in an unbounded tokio
/// mpsc channel. Each side runs in a fresh child process of this program,
/// which reports its peak resident set (`VmHWM`) before and after.
///
/// Then a listener slower than its sender (1 ms per message), sent
/// 1,000,000 messages as fast as one sender can: with the default
/// unbounded mailbox every one is held; with a mailbox bounded at
/// [`memory::SLOW_BOUND`] the sender is refused past it (issue 10, item 2).
mod memory {
    use std::process::Command;
    use std::sync::Arc;
    use std::time::Duration;

    use dispatchio::routing::{Action, Cond, RoutingTable};
    use dispatchio::{Dispatcher, Message, RoutedListener};

    pub(crate) const CHILD_ENV: &str = "DISPATCHIO_BENCH_MEM_CHILD";
    const N: u64 = 1_000_000;

    /// The payload: the same small struct on both sides.
    use super::inproc::routes::Tick as Payload;

    type Error = Box<dyn std::error::Error + Send + Sync>;

    /// Peak resident growth of one side, in KiB, and the sends a bounded
    /// mailbox refused.
    pub(crate) struct Memory {
        pub(crate) peak_kb: u64,
        pub(crate) refused: u64,
    }

    impl Memory {
        pub(crate) fn bytes_per_msg(&self) -> f64 {
            self.peak_kb as f64 * 1024.0 / N as f64
        }
    }

    pub(crate) fn measure(side: &str) -> Result<Memory, Error> {
        let out = Command::new(std::env::current_exe()?).env(CHILD_ENV, side).output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let value = |key: &str| {
            text.lines().find_map(|l| l.strip_prefix(key)).map(|v| v.trim().parse::<u64>())
        };
        match (out.status.success(), value("peak_kb "), value("refused ")) {
            (true, Some(Ok(peak_kb)), None) => Ok(Memory { peak_kb, refused: 0 }),
            (true, Some(Ok(peak_kb)), Some(Ok(refused))) => Ok(Memory { peak_kb, refused }),
            _ => Err(format!(
                "memory child ({side}) failed: {}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
            .into()),
        }
    }

    fn vm_hwm_kb() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    pub(crate) fn child(side: &str) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let result: Result<(u64, Option<u64>), Error> = rt.block_on(async {
            match side {
                "raw" => raw().await.map(|kb| (kb, None)),
                "slow" => slow(None).await,
                "slow-bounded" => slow(Some(SLOW_BOUND)).await,
                "unread-replies" => faults::unread_replies().await,
                "stalled-frames" => faults::stalled_frames().await,
                "announce-flood" => faults::announce_flood().await,
                peer if peer.starts_with("announce-peer ") => {
                    faults::announce_peer(&peer["announce-peer ".len()..]).await
                }
                _ => queued().await.map(|kb| (kb, None)),
            }
        });
        match result {
            Ok((kb, refused)) => {
                println!("peak_kb {kb}");
                if let Some(n) = refused {
                    println!("refused {n}");
                }
                use std::io::Write as _;
                let _ = std::io::stdout().flush();
                // A slow listener still has its backlog: not waited for.
                std::process::exit(0);
            }
            Err(e) => {
                eprintln!("memory child: {e}");
                std::process::exit(1);
            }
        }
    }

    async fn queued() -> Result<u64, Error> {
        let d = Dispatcher::new();
        let table =
            RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build()?;
        let listener = Arc::new(RoutedListener::builder(table).build()?);
        d.register("sink", listener.clone())?;
        let inbox = listener.queue("inbox").ok_or("no queue `inbox`")?;
        let me = d.new_source();
        let before = vm_hwm_kb().ok_or("no VmHWM")?;
        for i in 0..N {
            me.send(Message::new(Payload { n: i as i64 }).to("sink"))?;
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while (inbox.len() as u64) < N {
            if std::time::Instant::now() > deadline {
                return Err(format!("only {} of {N} queued", inbox.len()).into());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let after = vm_hwm_kb().ok_or("no VmHWM")?;
        drop(std::hint::black_box(inbox));
        Ok(after.saturating_sub(before))
    }

    /// The bound of the slow listener's mailbox in the bounded case.
    pub(crate) const SLOW_BOUND: usize = 1024;

    /// A million one-way messages sent as fast as one sender can to a
    /// listener that takes 1 ms each: with an unbounded mailbox every one
    /// is accepted and held; with a bounded one, the sender is refused
    /// past the bound. Returns the peak growth and the refusals.
    async fn slow(bound: Option<usize>) -> Result<(u64, Option<u64>), Error> {
        let d = Dispatcher::new();
        let table =
            RoutingTable::builder().rule("all", Cond::Always, [Action::call("nap")]).build()?;
        let listener = RoutedListener::builder(table)
            .handler("nap", |_m: &Message| {
                std::thread::sleep(Duration::from_millis(1));
                Ok(dispatchio::Reply::Empty)
            })
            .build()?;
        match bound {
            Some(capacity) => d.register_bounded("slow", Arc::new(listener), capacity)?,
            None => d.register("slow", Arc::new(listener))?,
        }
        let me = d.new_source();
        let before = vm_hwm_kb().ok_or("no VmHWM")?;
        let mut refused = 0u64;
        for i in 0..N {
            match me.send(Message::new(Payload { n: i as i64 }).to("slow")) {
                Ok(_) => {}
                Err(dispatchio::Error::MailboxFull { .. }) => refused += 1,
                Err(e) => return Err(e.into()),
            }
        }
        let after = vm_hwm_kb().ok_or("no VmHWM")?;
        Ok((after.saturating_sub(before), Some(refused)))
    }

    /// The peers of issue 10 that once grew a process's memory without
    /// bound, each measured in a child of its own: the growth of the peak
    /// resident set (`VmHWM`; `VmRSS` for the stalled connections, whose
    /// cost is what stays), and how many messages were refused or lost.
    mod faults {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::time::Duration;

        use dispatchio::net::{
            self, Announcement, Handshake, Hello, LinkEvents, NetConfig, NetExt, Payload,
            WireContent, WireId, WireMessage,
        };
        use dispatchio::routing::{Action, Cond, RoutingTable};
        use dispatchio::{Dispatcher, Message, Reply, RoutedListener};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        use super::{Error, vm_hwm_kb};

        pub(crate) const REQUESTS: u64 = 300_000;
        pub(crate) const STALLED: usize = 50;
        pub(crate) const ANNOUNCED: usize = 400_000;

        /// `server` listening on a fresh Unix socket; with the socket's path.
        async fn listening(
            server: &Dispatcher,
            tag: &str,
        ) -> Result<(dispatchio::net::RemoteAcceptor, std::path::PathBuf), Error> {
            let path =
                std::env::temp_dir().join(format!("dio-bench-{tag}-{}.sock", std::process::id()));
            let _ = std::fs::remove_file(&path);
            let listener = server.listen(&format!("unix:{}", path.display())).await?;
            Ok((listener, path))
        }

        fn vm_rss_kb() -> Option<u64> {
            let status = std::fs::read_to_string("/proc/self/status").ok()?;
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        }

        /// A peer's reader that stops at the first reply: it asks and never
        /// reads the answers.
        struct Stuck;

        impl LinkEvents for Stuck {
            async fn received(&self, _link: &net::Link, payload: Payload) {
                if let Payload::Reply(_) = payload {
                    std::future::pending::<()>().await;
                }
            }
        }

        /// 300,000 requests from a peer that never reads the replies (the
        /// issue: 160 → 366 MiB, a task per reply).
        pub(crate) async fn unread_replies() -> Result<(u64, Option<u64>), Error> {
            let server = Dispatcher::new();
            let handled = Arc::new(AtomicU64::new(0));
            let h = handled.clone();
            let table = RoutingTable::builder()
                .rule("all", Cond::Always, [Action::call("echo")])
                .build()?;
            let echo = RoutedListener::builder(table)
                .handler("echo", move |m: &Message| {
                    h.fetch_add(1, Ordering::Relaxed);
                    Ok(Reply::Content(m.content().clone()))
                })
                .build()?;
            server.register("echo", Arc::new(echo))?;
            let (listener, _) = listening(&server, "replies").await?;
            let link =
                net::connect(listener.local_addr(), &NetConfig::new("stuck"), Arc::new(Stuck))
                    .await?;
            let before = vm_hwm_kb().ok_or("no VmHWM")?;
            for id in 1..=REQUESTS {
                let m = WireMessage {
                    dest: Some(WireId::from("echo")),
                    response_required: true,
                    ..WireMessage::new(id, "Tick", Some(WireContent::encode("Tick", &id)?))
                };
                link.send(Payload::Message(m)).await?;
            }
            let deadline = std::time::Instant::now() + Duration::from_secs(120);
            while handled.load(Ordering::Relaxed) < REQUESTS {
                if std::time::Instant::now() > deadline {
                    return Err("the server did not handle every request".into());
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            let after = vm_hwm_kb().ok_or("no VmHWM")?;
            Ok((after.saturating_sub(before), Some(server.remote_stats().replies_lost)))
        }

        /// 50 peers that pass the handshake, send the length prefix of an
        /// 8 MiB frame and one byte of it, and stall (the issue: 400 MiB).
        pub(crate) async fn stalled_frames() -> Result<(u64, Option<u64>), Error> {
            let server = Dispatcher::new();
            let (_listener, path) = listening(&server, "stalled").await?;
            let before = vm_rss_kb().ok_or("no VmRSS")?;
            let mut peers = Vec::new();
            for n in 0..STALLED {
                let mut io = tokio::net::UnixStream::connect(&path).await?;
                let hello = Handshake::Hello(Hello {
                    version: net::PROTOCOL_VERSION,
                    peer_name: format!("stall-{n}"),
                    nonce: net::Nonce::fresh()?,
                });
                let body = hello.encode()?;
                io.write_all(&(body.len() as u32).to_be_bytes()).await?;
                io.write_all(&body).await?;
                let len = io.read_u32().await? as usize;
                let mut welcome = vec![0; len];
                io.read_exact(&mut welcome).await?;
                io.write_all(&(net::DEFAULT_MAX_FRAME_LEN as u32).to_be_bytes()).await?;
                io.write_all(&[0]).await?;
                peers.push(io);
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            let after = vm_rss_kb().ok_or("no VmRSS")?;
            drop(peers);
            Ok((after.saturating_sub(before), None))
        }

        /// A peer whose snapshot lists what it serves.
        struct Boast(Vec<Announcement>);

        impl LinkEvents for Boast {
            fn announcements(&self) -> Vec<Announcement> {
                self.0.clone()
            }

            async fn received(&self, _link: &net::Link, _payload: Payload) {}
        }

        /// One peer announcing 400,000 destination IDs in one frame (the
        /// issue: +73 MiB, applied whole). The peer is another process, so
        /// the growth is the receiving side's alone.
        pub(crate) async fn announce_flood() -> Result<(u64, Option<u64>), Error> {
            let server = Dispatcher::new();
            let (listener, _) = listening(&server, "announce").await?;
            let before = vm_hwm_kb().ok_or("no VmHWM")?;
            let mut peer = std::process::Command::new(std::env::current_exe()?)
                .env(super::CHILD_ENV, format!("announce-peer {}", listener.local_addr()))
                .stdout(std::process::Stdio::null())
                .spawn()?;
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            let result = loop {
                let applied = server.snapshot().remote.len();
                let refused = server.remote_stats().announcements_refused;
                if applied == ANNOUNCED || refused > 0 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let after = vm_hwm_kb().ok_or("no VmHWM")?;
                    break Ok((after.saturating_sub(before), Some(applied as u64)));
                }
                if std::time::Instant::now() > deadline {
                    break Err(format!("{applied} of {ANNOUNCED} applied, none refused").into());
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            };
            let _ = peer.kill();
            let _ = peer.wait();
            result
        }

        /// The announcing peer of [`announce_flood`]: connects and waits to
        /// be killed.
        pub(crate) async fn announce_peer(addr: &str) -> Result<(u64, Option<u64>), Error> {
            let ids = (0..ANNOUNCED).map(|n| Announcement::Serve(WireId::Str(format!("dest-{n}"))));
            let boast = Arc::new(Boast(ids.collect()));
            let _link = net::connect(&addr.parse()?, &NetConfig::new("boast"), boast).await?;
            tokio::time::sleep(Duration::from_secs(120)).await;
            Ok((0, None))
        }
    }

    async fn raw() -> Result<u64, Error> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Arc<Payload>>();
        let before = vm_hwm_kb().ok_or("no VmHWM")?;
        for i in 0..N {
            tx.send(Arc::new(Payload { n: i as i64 }))?;
        }
        let after = vm_hwm_kb().ok_or("no VmHWM")?;
        drop(std::hint::black_box((tx, rx)));
        Ok(after.saturating_sub(before))
    }
}

/// The routing-cost plot (`--svg PATH`), written by hand: a log-log chart
/// of nanoseconds per decision against the number of rules. Plain SVG text
/// needs no plotting crate (no extra compile time, no font files) and is
/// diffable in review.
mod plot {
    use std::fmt::Write as _;

    const W: f64 = 640.0;
    const H: f64 = 400.0;
    const LEFT: f64 = 70.0;
    const RIGHT: f64 = 170.0;
    const TOP: f64 = 40.0;
    const BOTTOM: f64 = 50.0;

    /// `curve`: `(rules, compiled ns, interpreted ns)`; `hand`: the
    /// hand-written figure at 1,000 rules.
    pub(crate) fn svg(
        curve: &[(usize, Option<f64>, Option<f64>)],
        hand: Option<f64>,
        quick: bool,
    ) -> String {
        let compiled: Vec<(f64, f64)> =
            curve.iter().filter_map(|&(n, c, _)| c.map(|c| (n as f64, c))).collect();
        let interp: Vec<(f64, f64)> =
            curve.iter().filter_map(|&(n, _, i)| i.map(|i| (n as f64, i))).collect();
        let hand: Vec<(f64, f64)> = hand.map(|h| (1000.0, h)).into_iter().collect();
        let all = compiled.iter().chain(&interp).chain(&hand).map(|&(_, y)| y.max(1e-3));
        let (lo, hi) = all.fold((f64::MAX, f64::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
        let (y0, y1) = if lo <= hi {
            (lo.log10().floor(), hi.log10().ceil().max(lo.log10().floor() + 1.0))
        } else {
            (0.0, 1.0)
        };
        let (x0, x1) = (1.0, 4.0); // 10 .. 10,000 rules
        let px = |x: f64| LEFT + (x.log10() - x0) / (x1 - x0) * (W - LEFT - RIGHT);
        let py = |y: f64| TOP + (y1 - y.max(1e-3).log10()) / (y1 - y0) * (H - TOP - BOTTOM);
        let mut out = String::new();
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(out, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
        let title = format!(
            "Routing cost per decision (cargo bench --bench summary{})",
            if quick { " -- --quick" } else { "" }
        );
        let _ = writeln!(out, r#"<text x="{LEFT}" y="22" font-size="14">{title}</text>"#);
        // Axes, grid and tick labels.
        for e in 1..=4 {
            let x = px(10f64.powi(e));
            let _ = writeln!(
                out,
                r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                H - BOTTOM,
                H - BOTTOM + 16.0,
                10u64.pow(e as u32)
            );
        }
        let mut e = y0;
        while e <= y1 {
            let y = py(10f64.powf(e));
            let _ = writeln!(
                out,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                W - RIGHT,
                LEFT - 6.0,
                y + 4.0,
                10f64.powf(e)
            );
            e += 1.0;
        }
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">rules in the table (log)</text>"#,
            (LEFT + W - RIGHT) / 2.0,
            H - 12.0
        );
        let _ = writeln!(
            out,
            r#"<text x="16" y="{:.1}" transform="rotate(-90 16 {:.1})" text-anchor="middle">ns per decision (log)</text>"#,
            (TOP + H - BOTTOM) / 2.0,
            (TOP + H - BOTTOM) / 2.0
        );
        // The series, with a legend on the right.
        let series = [
            ("compiled (include_routes!)", "#1f77b4", &compiled),
            ("interpreted", "#d62728", &interp),
            ("hand-written (1,000 only)", "#2ca02c", &hand),
        ];
        for (i, (name, colour, points)) in series.iter().enumerate() {
            let path: Vec<String> =
                points.iter().map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y))).collect();
            if path.len() > 1 {
                let _ = writeln!(
                    out,
                    r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
                    path.join(" ")
                );
            }
            for &(x, y) in points.iter() {
                let _ = writeln!(
                    out,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{colour}"><title>{name}: {x} rules, {y:.1} ns</title></circle>"#,
                    px(x),
                    py(y)
                );
            }
            let ly = TOP + 10.0 + 20.0 * i as f64;
            let lx = W - RIGHT + 12.0;
            let _ = writeln!(
                out,
                r#"<rect x="{lx}" y="{:.1}" width="12" height="12" fill="{colour}"/><text x="{:.1}" y="{:.1}">{name}</text>"#,
                ly - 10.0,
                lx + 18.0,
                ly
            );
        }
        out.push_str("</svg>\n");
        out
    }
}

/// The `nats-server` the `nats` part starts (shared with `examples/nats.rs`).
#[path = "../examples/support/nats_server.rs"]
mod nats_server;

/// Two dispatchers over NATS against raw async-nats clients.
#[path = "support/nats.rs"]
mod nats;

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
    ("diff_10k_rules_s", "dispatchio diff of that file and a copy with one rule changed"),
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
                set("diff_10k_rules_s", c.diff_10k_s);
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
            Ok((ours, raw, js)) => {
                set("nats_msgs_per_s", ours.tput);
                set("nats_rtt_p50_us", ours.rtt_us);
                set("nats_raw_msgs_per_s", raw.tput);
                set("nats_raw_rtt_p50_us", raw.rtt_us);
                extra.push(("nats_lost", ours.lost as f64));
                extra.push(("nats_raw_lost", raw.lost as f64));
                extra.push(("nats_js_msgs_per_s", js.tput));
                extra.push(("nats_js_rtt_p50_us", js.rtt_us));
                extra.push(("nats_js_lost", js.lost as f64));
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
    (
        "nats_js_msgs_per_s",
        "NATS JetStream mode: two dispatchers, one-way (baseline: nats_msgs_per_s)",
    ),
    ("nats_js_rtt_p50_us", "NATS JetStream mode: round trip, median (baseline: nats_rtt_p50_us)"),
    ("nats_js_lost", "NATS JetStream mode: one-way messages sent and never received"),
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
    if let Some(s) = figures["diff_10k_rules_s"] {
        println!("  diff_10k_rules_s < 2: {s:.3} ({})", if s < 2.0 { "met" } else { "MISSED" });
        if let Some(c) = figures["check_10k_rules_s"] {
            println!("  (diff of two 10,000-rule files / check of one: {:.2})", s / c);
        }
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

mod uds;

mod inproc;

mod matching;

mod check;

mod worst;

mod memory;

mod plot;

/// The `nats-server` the `nats` part starts (shared with `examples/nats.rs`).
#[path = "../../examples/support/nats_server.rs"]
mod nats_server;

/// Two dispatchers over NATS against raw async-nats clients.
#[path = "../support/nats.rs"]
mod nats;

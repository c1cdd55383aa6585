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

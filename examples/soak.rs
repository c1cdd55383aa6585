//! Soak: steady traffic between processes for a given time, with peers
//! killed and restarted, reporting memory over time and accounting for
//! every message. Not a test: a program to run for minutes or hours
//! (docs/robustness.md shows a 10-minute run).
//!
//! ```sh
//! cargo run --release --example soak -- --seconds 600
//! ```
//!
//! The hub (this process) listens on a Unix socket and starts `--peers`
//! copies of itself. Each peer registers a listener `peer-N`, connects to
//! the hub and streams one-way `Tick`s to the hub's listener, numbered per
//! incarnation; every `REPORT_EVERY` ticks it asks the hub, with a request,
//! whether every tick so far arrived. The hub keeps requests in flight to
//! every peer. Every `--restart-every` seconds one peer is stopped, by
//! turns with SIGKILL (nothing is flushed) and with SIGTERM (it sends what
//! it counted and closes its link), and started again as a new incarnation.
//!
//! What is checked, and makes the program fail:
//! - ticks arrive in order, none missing, from every incarnation (a gap is
//!   a message lost silently);
//! - a peer stopped with SIGTERM: the hub received exactly the ticks it
//!   says it sent, and every tick it could not send was refused to it;
//! - every request ends, with a reply or an error (a timeout counts as a
//!   hang);
//! - the hub's memory after the run is within `--rss-slack` of what it was
//!   once warmed up.

use std::collections::HashMap;
use std::process::{Child, Command, ExitCode};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use clap::Parser;
use dispatchio::net::RemoteConfig;
use dispatchio::routing::{Action, Cond, RoutingTable};
use dispatchio::{
    ContentRegistry, ContentType, Dispatcher, Error, HandlerError, Id, Listener, Message, Reply,
    RoutedListener,
};
use serde::{Deserialize, Serialize};

/// A peer asks whether its ticks arrived after this many.
const REPORT_EVERY: u64 = 2_000;
/// No request may take longer: past this it counts as a hang.
const PATIENCE: Duration = Duration::from_secs(10);

#[derive(Parser, Debug)]
#[command(about = "Soak: traffic between processes, peers killed and restarted")]
struct Args {
    /// How long the run lasts.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Peer processes beside the hub.
    #[arg(long, default_value_t = 2)]
    peers: usize,
    /// One peer is stopped and started again this often.
    #[arg(long, default_value_t = 15)]
    restart_every: u64,
    /// A line of figures this often.
    #[arg(long, default_value_t = 30)]
    report_every: u64,
    /// Ticks each peer sends per second.
    #[arg(long, default_value_t = 20_000)]
    rate: u64,
    /// Requests the hub keeps in flight to each peer.
    #[arg(long, default_value_t = 8)]
    window: usize,
    /// The hub's resident memory at the end may exceed its warmed-up
    /// figure by this fraction.
    #[arg(long, default_value_t = 0.25)]
    rss_slack: f64,
    /// Run as a peer (the hub starts these).
    #[arg(long, hide = true, num_args = 3, value_names = ["ADDRESS", "NAME", "INCARNATION"])]
    peer: Option<Vec<String>>,
}

/// One-way, peer → hub: the `seq`th tick of this incarnation.
#[derive(Debug, Serialize, Deserialize, ContentType)]
struct Tick {
    incarnation: u64,
    seq: u64,
}

/// Request, peer → hub: "I sent ticks 0..sent; `refused` more were refused to me".
#[derive(Debug, Serialize, Deserialize, ContentType)]
struct Sent {
    incarnation: u64,
    sent: u64,
    refused: u64,
    last: bool,
}

/// The hub's answer: how many ticks of the incarnation arrived, in order.
#[derive(Debug, Serialize, Deserialize, ContentType)]
struct Arrived {
    arrived: u64,
}

/// Request, hub → peer.
#[derive(Debug, Serialize, Deserialize, ContentType)]
struct Ping {
    n: u64,
}

fn config(name: &str) -> RemoteConfig {
    let mut registry = ContentRegistry::new();
    registry.register::<Tick>().register::<Sent>().register::<Arrived>().register::<Ping>();
    RemoteConfig::new(name).registry(registry)
}

/// A poisoned lock means a handler panicked; the figures are still the best there are.
trait LockOrPoisoned<T> {
    fn lock_or_poisoned(&self) -> MutexGuard<'_, T>;
}

impl<T> LockOrPoisoned<T> for Mutex<T> {
    fn lock_or_poisoned(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What the hub knows of one incarnation of a peer.
#[derive(Default, Debug)]
struct Incarnation {
    arrived: u64,
    out_of_order: u64,
    /// The last report's figures.
    reported_sent: u64,
    reported_refused: u64,
    /// Reports where fewer ticks had arrived than were sent before the report.
    short: u64,
    last_report: bool,
}

#[derive(Default)]
struct Ledger {
    incarnations: Mutex<HashMap<u64, Incarnation>>,
}

/// Outcomes of the hub's requests, by kind.
#[derive(Default)]
struct Outcomes {
    ok: AtomicU64,
    failed: Mutex<HashMap<&'static str, u64>>,
}

impl Outcomes {
    fn failed(&self, e: &Error) {
        *self.failed.lock_or_poisoned().entry(kind(e)).or_default() += 1;
    }

    fn failed_total(&self) -> u64 {
        self.failed.lock_or_poisoned().values().sum()
    }

    fn timeouts(&self) -> u64 {
        self.failed.lock_or_poisoned().get("timeout").copied().unwrap_or(0)
    }
}

/// A request's failure, in a word.
fn kind(e: &Error) -> &'static str {
    match e {
        Error::Timeout { .. } => "timeout",
        Error::UnknownDestination(_) => "unknown destination",
        Error::Link { .. } => "link lost",
        Error::MailboxFull { .. } => "mailbox full",
        Error::NoReply { .. } => "no reply",
        Error::Shutdown => "shutdown",
        _ => "other",
    }
}

fn hub_listener(ledger: Arc<Ledger>) -> Result<Arc<dyn Listener>, Box<dyn std::error::Error>> {
    let table = RoutingTable::builder()
        .rule("tick", Cond::type_is("Tick"), [Action::call("tick")])
        .rule("sent", Cond::type_is("Sent"), [Action::call("sent")])
        .build()?;
    let l2 = ledger.clone();
    let listener = RoutedListener::builder(table)
        .handler("tick", move |m: &Message| {
            let t = m.content_as::<Tick>().ok_or_else(|| HandlerError::new("not a Tick"))?;
            let mut all = ledger.incarnations.lock_or_poisoned();
            let inc = all.entry(t.incarnation).or_default();
            if t.seq != inc.arrived {
                inc.out_of_order += 1;
            }
            inc.arrived = inc.arrived.max(t.seq + 1);
            Ok(Reply::Empty)
        })
        .handler("sent", move |m: &Message| {
            let s = m.content_as::<Sent>().ok_or_else(|| HandlerError::new("not a Sent"))?;
            let mut all = l2.incarnations.lock_or_poisoned();
            let inc = all.entry(s.incarnation).or_default();
            // Ticks and this request travel one link in order: every tick
            // sent before the report has arrived by now.
            if inc.arrived < s.sent {
                inc.short += 1;
            }
            inc.reported_sent = s.sent;
            inc.reported_refused = s.refused;
            inc.last_report |= s.last;
            Ok(Reply::with(Arrived { arrived: inc.arrived }))
        })
        .build()?;
    Ok(Arc::new(listener))
}

/// Resident memory of a process, in MiB (Linux: `/proc/PID/statm`).
fn rss_mib(pid: u32) -> Option<f64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096.0 / (1024.0 * 1024.0))
}

struct PeerProcess {
    name: String,
    child: Child,
}

fn start_peer(address: &str, name: &str, incarnation: u64) -> std::io::Result<PeerProcess> {
    let child = Command::new(std::env::current_exe()?)
        .args(["--peer", address, name, &incarnation.to_string()])
        .spawn()?;
    Ok(PeerProcess { name: name.to_owned(), child })
}

/// Stops a peer: by SIGKILL, or by SIGTERM and waiting for its clean exit.
fn stop_peer(peer: &mut PeerProcess, kill: bool) -> std::io::Result<()> {
    if kill {
        peer.child.kill()?;
        peer.child.wait()?;
        return Ok(());
    }
    let status = Command::new("kill").args(["-TERM", &peer.child.id().to_string()]).status()?;
    if !status.success() {
        return Err(std::io::Error::other("kill -TERM failed"));
    }
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = peer.child.try_wait()? {
            return if status.success() {
                Ok(())
            } else {
                Err(std::io::Error::other(format!("{} exited with {status}", peer.name)))
            };
        }
        if Instant::now() > deadline {
            peer.child.kill()?;
            return Err(std::io::Error::other(format!("{} did not stop on SIGTERM", peer.name)));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Keeps `window` requests in flight to `dest` until `stop`.
async fn ping(d: Dispatcher, dest: Id, outcomes: Arc<Outcomes>, stop: Arc<AtomicBool>) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let request = Message::new(Ping { n }).to(dest.clone());
        match d.request(request, Some(PATIENCE)).await {
            Ok(_) => {
                outcomes.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                outcomes.failed(&e);
                // The peer is being restarted: try again shortly.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

async fn hub(args: &Args) -> Result<bool, Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("dispatchio-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let address = format!("unix:{}", dir.join("hub.sock").display());
    let d = Dispatcher::new();
    let ledger = Arc::new(Ledger::default());
    d.register("hub", hub_listener(ledger.clone())?)?;
    let listener = d.listen_with(&address, &config("hub")).await?;

    let mut peers = Vec::new();
    for i in 0..args.peers {
        peers.push(start_peer(&address, &format!("peer-{i}"), peers.len() as u64)?);
    }
    let mut next_incarnation = peers.len() as u64;
    let outcomes = Arc::new(Outcomes::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut pingers = Vec::new();
    for p in &peers {
        for _ in 0..args.window {
            let dest = Id::from(p.name.clone());
            pingers.push(tokio::spawn(ping(d.clone(), dest, outcomes.clone(), stop.clone())));
        }
    }

    println!(
        "soak: {} s, {} peers, {} ticks/s each, a peer restarted every {} s",
        args.seconds, args.peers, args.rate, args.restart_every
    );
    println!(
        "{:>6} {:>9} {:>16} {:>12} {:>10} {:>12} {:>9}",
        "time", "hub MiB", "peers MiB", "ticks in", "requests", "failed", "restarts"
    );
    let started = Instant::now();
    let (mut restarts, mut kills, mut terms) = (0u64, 0u64, 0u64);
    let mut rss = Vec::new();
    let mut next_restart = Duration::from_secs(args.restart_every);
    let mut next_report = Duration::from_secs(args.report_every);
    let end = Duration::from_secs(args.seconds);
    let mut problems = Vec::new();
    let mut last_arrived = 0;
    while started.elapsed() < end {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = started.elapsed();
        // The figures first: a peer restarted a moment ago has no memory to show yet.
        if now >= next_report {
            next_report += Duration::from_secs(args.report_every);
            let hub_rss = rss_mib(std::process::id()).unwrap_or(f64::NAN);
            rss.push((now, hub_rss));
            let peer_rss: Vec<String> = peers
                .iter()
                .map(|p| format!("{:.1}", rss_mib(p.child.id()).unwrap_or(f64::NAN)))
                .collect();
            let arrived: u64 =
                ledger.incarnations.lock_or_poisoned().values().map(|i| i.arrived).sum();
            if arrived == last_arrived {
                problems.push(format!("no tick arrived in {} s", args.report_every));
                println!(
                    "no tick arrived since the last report; the hub's dispatcher: {:#?}",
                    d.snapshot()
                );
                println!("its links: {:#?}", d.remote_stats());
                println!(
                    "ticks by incarnation: {:?}",
                    ledger
                        .incarnations
                        .lock_or_poisoned()
                        .iter()
                        .map(|(k, v)| (*k, v.arrived))
                        .collect::<Vec<_>>()
                );
            }
            last_arrived = arrived;
            println!(
                "{:>5}s {:>9.1} {:>16} {:>12} {:>10} {:>12} {:>9}",
                now.as_secs(),
                hub_rss,
                peer_rss.join(" "),
                arrived,
                outcomes.ok.load(Ordering::Relaxed),
                outcomes.failed_total(),
                restarts
            );
        }
        if now >= next_restart && !peers.is_empty() {
            next_restart += Duration::from_secs(args.restart_every);
            let i = (restarts as usize) % peers.len();
            let kill = restarts % 2 == 0;
            if let Err(e) = stop_peer(&mut peers[i], kill) {
                problems.push(format!("stopping {}: {e}", peers[i].name));
            }
            if kill {
                kills += 1
            } else {
                terms += 1
            }
            let name = peers[i].name.clone();
            peers[i] = start_peer(&address, &name, next_incarnation)?;
            next_incarnation += 1;
            restarts += 1;
        }
    }

    // The end: the requests first (each still ends), then every peer
    // stopped cleanly, so each last incarnation's figures are exact too.
    stop.store(true, Ordering::Relaxed);
    for p in pingers {
        p.await?;
    }
    for p in &mut peers {
        if let Err(e) = stop_peer(p, false) {
            problems.push(format!("stopping {}: {e}", p.name));
        }
        terms += 1;
    }
    listener.close().await;
    d.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);

    let all = ledger.incarnations.lock_or_poisoned();
    let (mut arrived, mut refused) = (0, 0);
    for (n, inc) in all.iter() {
        arrived += inc.arrived;
        refused += inc.reported_refused;
        if inc.out_of_order > 0 {
            problems.push(format!("incarnation {n}: {} ticks out of order", inc.out_of_order));
        }
        if inc.short > 0 {
            problems.push(format!("incarnation {n}: {} reports found ticks missing", inc.short));
        }
        if inc.last_report && inc.arrived != inc.reported_sent {
            problems.push(format!(
                "incarnation {n} stopped cleanly having sent {} ticks; {} arrived",
                inc.reported_sent, inc.arrived
            ));
        }
    }
    let clean = all.values().filter(|i| i.last_report).count();
    let in_flight_at_kill: u64 = all
        .values()
        .filter(|i| !i.last_report)
        .map(|i| i.arrived.saturating_sub(i.reported_sent))
        .sum();
    if outcomes.timeouts() > 0 {
        problems.push(format!("{} requests timed out (a hang)", outcomes.timeouts()));
    }
    let warm = rss.iter().find(|(t, _)| *t >= end / 10).or(rss.first()).map(|&(_, r)| r);
    let last = rss.last().map(|&(_, r)| r);
    if let (Some(warm), Some(last)) = (warm, last) {
        if last > warm * (1.0 + args.rss_slack) {
            problems.push(format!("hub memory grew from {warm:.1} MiB to {last:.1} MiB"));
        }
        println!(
            "hub memory: {warm:.1} MiB once warm, {last:.1} MiB at the end ({:.2}×)",
            last / warm
        );
    }
    println!(
        "ticks: {arrived} arrived from {} incarnations ({clean} stopped cleanly, every tick \
         accounted for; {} killed, {in_flight_at_kill} of their ticks arrived after their last \
         report); {refused} refused to their senders",
        all.len(),
        all.len() - clean,
    );
    let failed = outcomes.failed.lock_or_poisoned();
    let mut failed: Vec<_> = failed.iter().collect();
    failed.sort();
    println!(
        "requests: {} answered, {} failed with an error to the sender {failed:?}",
        outcomes.ok.load(Ordering::Relaxed),
        failed.iter().map(|(_, n)| **n).sum::<u64>()
    );
    println!("restarts: {kills} by SIGKILL, {terms} by SIGTERM (the last ones included)");
    for p in &problems {
        println!("PROBLEM: {p}");
    }
    Ok(problems.is_empty())
}

async fn peer(
    address: &str,
    name: &str,
    incarnation: u64,
    rate: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let d = Dispatcher::new();
    let table = RoutingTable::builder()
        .rule("ping", Cond::type_is("Ping"), [Action::call("pong")])
        .build()?;
    let listener =
        RoutedListener::builder(table).handler("pong", |_m: &Message| Ok(Reply::Empty)).build()?;
    d.register(name.to_owned(), Arc::new(listener))?;
    let link = d.connect_with(address, &config(name)).await?;
    let hub = Id::from("hub");
    if !d.wait_for_destination(&hub, PATIENCE).await {
        return Err("the hub was never announced".into());
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let me = d.new_source();
    let (mut sent, mut refused) = (0u64, 0u64);
    let batch = (rate / 100).max(1);
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let report = |sent, refused, last| {
        let ask = Message::new(Sent { incarnation, sent, refused, last }).to(hub.clone());
        me.request(ask, Some(PATIENCE))
    };
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = tick.tick() => {}
        }
        for _ in 0..batch {
            match me.send(Message::new(Tick { incarnation, seq: sent }).to(hub.clone())) {
                Ok(_) => {
                    sent += 1;
                    if sent % REPORT_EVERY == 0 {
                        report(sent, refused, false).await?;
                    }
                }
                // Refused to us, and counted: the link's queue is full.
                Err(_) => refused += 1,
            }
        }
    }
    report(sent, refused, true).await?;
    link.close().await;
    d.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    // RUST_LOG=dispatchio_core=debug shows what the links do.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let result = match &args.peer {
        Some(p) => {
            let incarnation = p[2].parse().unwrap_or(0);
            peer(&p[0], &p[1], incarnation, args.rate).await.map(|()| true)
        }
        None => hub(&args).await,
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::FAILURE
        }
    }
}

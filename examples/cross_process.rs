//! Two processes, one Unix socket: the program spawns a second copy of itself,
//! and the two dispatchers exchange 10,000 one-way messages and 1,000
//! requests in each direction, each side checking that everything arrived,
//! in order.
//!
//! ```sh
//! cargo run --example cross_process
//! ```
//!
//! The parent listens on a socket in a fresh temporary directory and starts
//! `cross_process child <address>`; the child connects. Each registers a
//! listener (`parent`, `child`), waits until the other's is announced over
//! the link, then sends to it by name, exactly as to a local listener.

use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dispatchio::net::{NetExt, RemoteConfig};
use dispatchio::routing::{Action, Cond, RoutingTable};
use dispatchio::{
    ContentRegistry, ContentType, Dispatcher, Envelope, Id, Message, Reply, RoutedListener,
};
use serde::{Deserialize, Serialize};

const ONE_WAY: u64 = 10_000;
const REQUESTS: u64 = 1_000;
/// One-way messages sent before each request. The request's reply tells how
/// many had arrived; waiting for it also keeps the sender within the link's
/// bounded queue (a send that finds it full fails rather than grow memory).
const PER_REQUEST: u64 = ONE_WAY / REQUESTS;
const PATIENCE: Duration = Duration::from_secs(30);

/// A one-way message: its place in the sender's sequence.
#[derive(Debug, Serialize, Deserialize, ContentType)]
struct Num {
    n: u64,
}

/// A request: "how many numbers have you seen?"
#[derive(Debug, Serialize, Deserialize, ContentType)]
struct Ask {
    n: u64,
}

/// The answer: the request's number and the count of numbers seen in order.
#[derive(Debug, Serialize, Deserialize, ContentType)]
struct Ans {
    n: u64,
    seen: u64,
}

/// What one side's listener has received.
#[derive(Default)]
struct Tally {
    seen: AtomicU64,
    asked: AtomicU64,
    out_of_order: AtomicU64,
}

fn config(name: &str) -> RemoteConfig {
    let mut registry = ContentRegistry::new();
    registry.register::<Num>().register::<Ask>().register::<Ans>();
    RemoteConfig::new(name).registry(registry)
}

/// Registers listener `me`: it checks that numbers come in order and
/// answers each request with the count so far.
fn register(d: &Dispatcher, me: &str) -> Result<Arc<Tally>, Box<dyn std::error::Error>> {
    let tally = Arc::new(Tally::default());
    let table = RoutingTable::builder()
        .rule("number", Cond::type_is("Num"), [Action::call("count")])
        .rule("question", Cond::type_is("Ask"), [Action::call("answer")])
        .build()?;
    let (t1, t2) = (tally.clone(), tally.clone());
    let listener = RoutedListener::builder(table)
        .typed_handler("count", move |_: &Envelope, &Num { n }| {
            if t1.seen.fetch_add(1, Ordering::SeqCst) != n {
                t1.out_of_order.fetch_add(1, Ordering::SeqCst);
            }
            Ok(Reply::Empty)
        })
        .typed_handler("answer", move |_: &Envelope, &Ask { n }| {
            t2.asked.fetch_add(1, Ordering::SeqCst);
            Ok(Reply::with(Ans { n, seen: t2.seen.load(Ordering::SeqCst) }))
        })
        .build()?;
    d.register(me, Arc::new(listener))?;
    Ok(tally)
}

/// Sends everything to `peer`, checks every answer, then waits for the
/// peer's traffic to arrive at `mine`.
async fn exchange(d: &Dispatcher, mine: &Tally, peer: &str) -> Result<(), String> {
    let peer = Id::from(peer);
    if !d.wait_for_destination(&peer, PATIENCE).await {
        return Err(format!("{peer} was never announced"));
    }
    let me = d.new_source();
    for r in 0..REQUESTS {
        for n in r * PER_REQUEST..(r + 1) * PER_REQUEST {
            me.send(Message::new(Num { n }).to(peer.clone())).map_err(|e| e.to_string())?;
        }
        let ans = me
            .request_as::<Ans>(Message::new(Ask { n: r }).to(peer.clone()), Some(PATIENCE))
            .await
            .map_err(|e| format!("request {r}: {e}"))?;
        let expected = (r + 1) * PER_REQUEST;
        if ans.n != r || ans.seen != expected {
            return Err(format!("request {r} answered {ans:?}; expected {expected} numbers seen"));
        }
    }
    let deadline = Instant::now() + PATIENCE;
    while mine.seen.load(Ordering::SeqCst) < ONE_WAY || mine.asked.load(Ordering::SeqCst) < REQUESTS
    {
        if Instant::now() > deadline {
            return Err("the peer's messages did not all arrive".to_owned());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    match mine.out_of_order.load(Ordering::SeqCst) {
        0 => Ok(()),
        bad => Err(format!("{bad} messages arrived out of order")),
    }
}

async fn child(addr: &str) -> Result<(), Box<dyn std::error::Error>> {
    let d = Dispatcher::new();
    let tally = register(&d, "child")?;
    let peer = d.connect_with(addr, &config("child")).await?;
    exchange(&d, &tally, "parent").await?;
    // Writes what is still queued (the last replies), then says goodbye.
    peer.close().await;
    Ok(())
}

async fn parent() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("dispatchio-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let addr = format!("unix:{}", dir.join("dispatch.sock").display());
    let d = Dispatcher::new();
    let tally = register(&d, "parent")?;
    let listener = d.listen_with(&addr, &config("parent")).await?;
    let mut child = Command::new(std::env::current_exe()?).args(["child", &addr]).spawn()?;
    let started = Instant::now();
    let result = exchange(&d, &tally, "child").await;
    let status = tokio::task::spawn_blocking(move || child.wait()).await??;
    listener.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    if !status.success() {
        return Err(format!("the child failed: {status}").into());
    }
    println!(
        "{ONE_WAY} messages and {REQUESTS} requests each way over {addr}, all in order, in {:.2?}",
        started.elapsed()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (who, result) = match args.get(1).map(String::as_str) {
        Some("child") => match args.get(2) {
            Some(addr) => ("child", child(addr).await),
            None => ("child", Err("usage: cross_process child <address>".into())),
        },
        _ => ("parent", parent().await),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{who}: {e}");
            ExitCode::FAILURE
        }
    }
}

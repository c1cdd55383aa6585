//! A small fixed program for counting instructions per message on the hot
//! paths with callgrind (issue 16): times on this shared machine move by
//! ±30 % between runs, instruction counts by well under 1 %.
//!
//! ```sh
//! cargo bench --bench per_message --no-run     # the binary, in release
//! scripts/instructions-per-message              # both sizes of every path, under callgrind
//! ```
//!
//! `per_message PATH N` runs one path with `N` messages on a current-thread
//! runtime (one thread: the same interleaving on every run, so the same
//! instructions). The script runs every path with `N` and `2 N` messages and
//! divides the difference by `N`: what one more message costs, without the
//! runtime's start, the registrations and the shutdown. The paths, each
//! beside the raw tokio baseline carrying the same `Arc`'d content:
//!
//! * `one_way`: `Tick`s sent to one listener (compiled from
//!   `benches/routes/inproc.route`, its handler counts), then one request
//!   whose answer means every tick before it was handled (checked);
//! * `one_way_handle`: the same through a [`dispatchio::Destination`], the
//!   destination resolved once;
//! * `one_way_named`: the same to a listener registered under a string
//!   ID, named by a string literal in every send (what string IDs cost);
//! * `fan_out`: the same round-robin over 100 listeners;
//! * `request`: sequential requests `Ask { n }` answered `Ask { n + 1 }`;
//! * `request_handle`: the same through a [`dispatchio::Destination`];
//! * `raw_one_way`, `raw_fan_out`, `raw_request`: an unbounded tokio mpsc
//!   channel per listener drained by a task that counts, a oneshot per
//!   request.
#![allow(missing_docs)] // a bench program, not an API

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dispatchio::{Dispatcher, Envelope, HandlerResult, Message, Reply};
use tokio::sync::{mpsc, oneshot};

mod routes {
    dispatchio::include_routes!("benches/routes/inproc.route");
}
use routes::{Ask, Tick};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The listeners of `fan_out` and `raw_fan_out`.
const FAN_OUT: usize = 100;

/// One-way messages sent before the sender yields to the listeners, so
/// that they drain what it sent: the heap stays the size of one chunk in
/// flight, and the allocator's cost per message stays what it is in a
/// steady flow (with everything queued first, it moved by ±7 % with `N`).
const CHUNK: u64 = 256;

/// Lets the listeners' tasks run once a chunk was sent.
async fn end_of_chunk(i: u64) {
    if i % CHUNK == CHUNK - 1 {
        tokio::task::yield_now().await;
    }
}

/// Counts ticks (reading the payload); answers `Ask { n }` with `n + 1`.
struct Counter(Arc<AtomicU64>);

impl routes::counter::Handler for Counter {
    fn count(&self, _: &Envelope, content: &Tick) -> HandlerResult {
        self.0.fetch_add(content.n as u64 & 1 | 1, Ordering::Relaxed);
        Ok(Reply::Empty)
    }

    fn answer(&self, _: &Envelope, content: &Ask) -> HandlerResult {
        Ok(Reply::with(Ask { n: content.n + 1 }))
    }
}

fn counted(ticks: &AtomicU64, want: u64) -> Result<(), Error> {
    let got = ticks.load(Ordering::Relaxed);
    if got != want {
        return Err(format!("{got} ticks counted, {want} sent").into());
    }
    Ok(())
}

async fn ask(d: &Dispatcher, dest: i64, n: i64) -> Result<(), Error> {
    let reply = d.request_as::<Ask>(Message::new(Ask { n }).to(dest), None).await?;
    if reply.n != n + 1 {
        return Err("a wrong answer".into());
    }
    Ok(())
}

/// How `one_way` names its destinations.
#[derive(Clone, Copy, PartialEq)]
enum Naming {
    /// Integer IDs, given in each send.
    Int,
    /// A `Destination` handle, resolved once.
    Handle,
    /// The string ID `"counter"`, given in each send.
    Str,
}

/// The string ID of `Naming::Str`'s listener.
const NAMED: &str = "counter";

/// `n` ticks round-robin over `listeners` listeners, then a request to each.
async fn one_way(n: u64, listeners: usize, naming: Naming) -> Result<(), Error> {
    let d = Dispatcher::new();
    let ticks = Arc::new(AtomicU64::new(0));
    for i in 0..listeners {
        d.register(i as i64, Arc::new(routes::counter::Listener::new(Counter(ticks.clone()))))?;
    }
    if naming == Naming::Str {
        d.register(NAMED, Arc::new(routes::counter::Listener::new(Counter(ticks.clone()))))?;
        for i in 0..n {
            d.send(Message::new(Tick { n: i as i64 }).to(NAMED))?;
            end_of_chunk(i).await;
        }
        let reply = d.request_as::<Ask>(Message::new(Ask { n: 0 }).to(NAMED), None).await?;
        if reply.n != 1 {
            return Err("a wrong answer".into());
        }
    } else if naming == Naming::Handle {
        let to = d.destination(0)?;
        for i in 0..n {
            to.send(Message::new(Tick { n: i as i64 }))?;
            end_of_chunk(i).await;
        }
    } else {
        for i in 0..n {
            let dest = (i % listeners as u64) as i64;
            d.send(Message::new(Tick { n: i as i64 }).to(dest))?;
            end_of_chunk(i).await;
        }
    }
    for dest in 0..listeners {
        ask(&d, dest as i64, 0).await?;
    }
    counted(&ticks, n)?;
    d.shutdown().await;
    Ok(())
}

async fn request(n: u64, handle: bool) -> Result<(), Error> {
    let d = Dispatcher::new();
    let ticks = Arc::new(AtomicU64::new(0));
    d.register(0, Arc::new(routes::counter::Listener::new(Counter(ticks))))?;
    if handle {
        let to = d.destination(0)?;
        for i in 0..n {
            let n = i as i64;
            if to.request_as::<Ask>(Message::new(Ask { n }), None).await?.n != n + 1 {
                return Err("a wrong answer".into());
            }
        }
    } else {
        for i in 0..n {
            ask(&d, 0, i as i64).await?;
        }
    }
    d.shutdown().await;
    Ok(())
}

enum Raw {
    Tick(Arc<Tick>),
    Ask(Arc<Ask>, oneshot::Sender<Arc<Ask>>),
}

fn raw_listener(ticks: &Arc<AtomicU64>) -> mpsc::UnboundedSender<Raw> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Raw>();
    let ticks = ticks.clone();
    tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            match m {
                Raw::Tick(t) => {
                    ticks.fetch_add(t.n as u64 & 1 | 1, Ordering::Relaxed);
                }
                Raw::Ask(a, reply) => {
                    let _ = reply.send(Arc::new(Ask { n: a.n + 1 }));
                }
            }
        }
    });
    tx
}

async fn raw_ask(tx: &mpsc::UnboundedSender<Raw>, n: i64) -> Result<(), Error> {
    let (reply, answer) = oneshot::channel();
    tx.send(Raw::Ask(Arc::new(Ask { n }), reply)).map_err(|_| "the listener is gone")?;
    if answer.await?.n != n + 1 {
        return Err("a wrong answer".into());
    }
    Ok(())
}

async fn raw_one_way(n: u64, listeners: usize) -> Result<(), Error> {
    let ticks = Arc::new(AtomicU64::new(0));
    let txs: Vec<_> = (0..listeners).map(|_| raw_listener(&ticks)).collect();
    for i in 0..n {
        let tx = &txs[(i % listeners as u64) as usize];
        tx.send(Raw::Tick(Arc::new(Tick { n: i as i64 }))).map_err(|_| "the listener is gone")?;
        end_of_chunk(i).await;
    }
    for tx in &txs {
        raw_ask(tx, 0).await?;
    }
    counted(&ticks, n)
}

async fn raw_request(n: u64) -> Result<(), Error> {
    let tx = raw_listener(&Arc::new(AtomicU64::new(0)));
    for i in 0..n {
        raw_ask(&tx, i as i64).await?;
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let usage = "usage: per_message PATH N (PATH: one_way, one_way_handle, one_way_named, fan_out, request, \
                 request_handle, raw_one_way, raw_fan_out, raw_request)";
    let path = args.next().ok_or(usage)?;
    let n: u64 = args.next().ok_or(usage)?.parse().map_err(|_| usage)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        match path.as_str() {
            "one_way" => one_way(n, 1, Naming::Int).await,
            "one_way_handle" => one_way(n, 1, Naming::Handle).await,
            "one_way_named" => one_way(n, 1, Naming::Str).await,
            "fan_out" => one_way(n, FAN_OUT, Naming::Int).await,
            "request" => request(n, false).await,
            "request_handle" => request(n, true).await,
            "raw_one_way" => raw_one_way(n, 1).await,
            "raw_fan_out" => raw_one_way(n, FAN_OUT).await,
            "raw_request" => raw_request(n).await,
            _ => Err(usage.into()),
        }
    })
}

//! criterion benches of the hot paths, for finding regressions (the
//! headline figures and their baselines are in `benches/summary/`):
//! one routing decision by the compiled and the interpreted matcher of the
//! 1,000-rule table, one dispatcher send, one request round trip.
//!
//! ```sh
//! cargo bench --bench hot_paths
//! ```
#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use dispatchio::routing::{Fired, Matcher};
use dispatchio::{Dispatcher, Envelope, HandlerResult, Message, Reply};

mod r1000 {
    dispatchio::include_routes!("benches/routes/rules_1000.route");
}

mod inproc {
    dispatchio::include_routes!("benches/routes/inproc.route");
}

/// A few messages of every type of the 1,000-rule table: early, middle and
/// late rules, and a miss.
fn samples() -> Vec<Message> {
    let mut out = Vec::new();
    for k in [0i64, 125, 249, 400] {
        out.push(Message::new(r1000::Order { code: k, price: 5, qty: 1 }).to("bench"));
        out.push(
            Message::new(r1000::Quote { level: k * 10 + 3, symbol: String::new() }).to("bench"),
        );
        out.push(Message::new(r1000::Trade { symbol: format!("S{k}"), qty: 1 }).to("bench"));
        out.push(Message::new(r1000::Alert { code: k, price: 70 }).to("bench"));
    }
    out
}

fn route_all(matcher: &dyn Matcher, samples: &[Message], fired: &mut Fired) {
    for msg in samples {
        fired.clear();
        matcher.route(black_box(msg), fired);
        black_box(&*fired);
    }
}

fn matching(c: &mut Criterion) {
    let samples = samples();
    let mut fired = Fired::new();
    let compiled = r1000::bench::Matcher::new();
    c.bench_function("match/compiled_1000 (16 messages)", |b| {
        b.iter(|| route_all(&compiled, &samples, &mut fired))
    });
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/routes/rules_1000.route");
    let routes = dispatchio::routes::load(path).and_then(|b| b.build()).expect("rules_1000 loads");
    let listener = routes.listener("bench").expect("listener `bench`");
    c.bench_function("match/interpreted_1000 (16 messages)", |b| {
        b.iter(|| route_all(listener.matcher(), &samples, &mut fired))
    });
}

#[derive(Default)]
struct Counter {
    ticks: AtomicU64,
}

impl inproc::counter::Handler for Counter {
    fn count(&self, _: &Envelope, content: &inproc::Tick) -> HandlerResult {
        self.ticks.fetch_add(content.n as u64 & 1 | 1, Ordering::Relaxed);
        Ok(Reply::Empty)
    }

    fn answer(&self, _: &Envelope, content: &inproc::Ask) -> HandlerResult {
        Ok(Reply::with(inproc::Ask { n: content.n + 1 }))
    }
}

fn dispatcher(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let d = rt.block_on(async { Dispatcher::new() });
    let listener = Arc::new(inproc::counter::Listener::new(Counter::default()));
    rt.block_on(async { d.register("counter", listener.clone()) }).expect("registered");
    let me = d.new_source();
    let patience = Some(Duration::from_secs(60));
    // Each batch ends with a request, so the time includes handling every
    // message sent (the listener's queue is unbounded).
    c.bench_function("dispatcher/send (handled)", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..iters {
                    me.send(Message::new(inproc::Tick { n: i as i64 }).to("counter"))
                        .expect("sent");
                }
                me.request(Message::new(inproc::Ask { n: 0 }).to("counter"), patience)
                    .await
                    .expect("flushed");
                start.elapsed()
            })
        })
    });
    c.bench_function("dispatcher/request round trip", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..iters {
                    let msg = Message::new(inproc::Ask { n: i as i64 }).to("counter");
                    black_box(me.request(msg, patience).await.expect("answered"));
                }
                start.elapsed()
            })
        })
    });
    rt.block_on(d.shutdown());
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = matching, dispatcher
}
criterion_main!(benches);

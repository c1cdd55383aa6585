//! One routing decision, timed over a fixed set of sample messages that
//! cycles through the four types and through the literals of the table
//! (hits, near misses and values no rule mentions, in a scrambled order so
//! branch prediction cannot learn the sequence). The compiled, hand-written
//! and interpreted matchers of the 1,000-rule table route the very same
//! samples.

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
    include!("../support/handwritten_1000.rs");
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
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
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
                    Spec::Order { code, price } => Message::new($m::Order { code, price, qty: 1 }),
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
    /// `(key, ns)` of every figure measured (the keys, and the
    /// interpreter and hand-written code at the other sizes, for the plot).
    pub(crate) figures: Vec<(&'static str, f64)>,
    /// Why a figure is missing.
    pub(crate) errors: Vec<String>,
    /// `(rules, compiled, interpreted)` for the plot.
    pub(crate) curve: Vec<(usize, Option<f64>, Option<f64>)>,
}

fn interpreted(n: usize, passes: usize, reps: usize, samples: &[Message]) -> Result<f64, String> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("benches/routes/rules_{n}.route"));
    let routes =
        dispatchio::routes::load(&path).and_then(|b| b.build()).map_err(|e| e.to_string())?;
    let listener = routes.listener("bench").map_err(|e| e.to_string())?;
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

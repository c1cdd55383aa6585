//! How long the analyser takes on a generated 10,000-rule table, against a
//! raw baseline: evaluating every rule's condition once on one message with
//! the reference evaluator.
//!
//! Run with `cargo bench -p dispatchio-dsl --bench analyse` (release build).
//! Optional argument: the number of rules (default 10000).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use dispatchio_dsl::analysis::{analyse, generate};
use dispatchio_dsl::concrete::{Sample, Value};
use dispatchio_oracle::eval;

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; the first numeric argument is the size.
    let rules: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    println!("== literal-keyed table (generate::table)");
    measure(&generate::table(rules, 42));
    println!("== range windows on one field (generate::range_table)");
    measure(&generate::range_table(rules, 42));
}

fn measure(program: &dispatchio_dsl::Program) {
    let mut runs = Vec::new();
    let mut findings = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        findings = black_box(analyse(black_box(program)));
        runs.push(t.elapsed());
    }
    let analysis = median(runs);

    let mut msg = Sample::new("Card");
    msg.content = BTreeMap::from([("card".to_owned(), Value::Int(3))]);
    let main = &program.listeners()[0];
    let reps = 200;
    let t = Instant::now();
    for _ in 0..reps {
        for r in &main.rules {
            black_box(eval(black_box(&r.cond), black_box(&msg)));
        }
    }
    let baseline = t.elapsed() / reps;

    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &findings {
        *by_code.entry(f.code.as_str()).or_default() += 1;
    }
    println!("rules: {}", main.rules.len());
    println!("analyse (median of 5): {:.1} ms", analysis.as_secs_f64() * 1e3);
    println!("baseline, eval every rule once: {:.3} ms", baseline.as_secs_f64() * 1e3);
    println!("ratio: {:.0}x", analysis.as_secs_f64() / baseline.as_secs_f64());
    println!("findings: {} {by_code:?}", findings.len());
}

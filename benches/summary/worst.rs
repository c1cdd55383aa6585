//! Worst-case inputs of the `.route` tools (issue 10's shapes, several times
//! the sizes it reported), each timed against the check of a plain table:
//! the benchmark's generated table (`bench_support::rules_route`) with as
//! many rules, or (for the one big set) as many bytes; human output against
//! JSON of the same file. The budget for each is one second.

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
    let dir = Dir(std::env::temp_dir().join(format!("dispatchio-bench-{}", std::process::id())));
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

//! The checker (`dispatchio check`'s library call: front end and analysis)
//! on the generated 10,000- and 1,000-rule files, and reading the 10,000-rule
//! file and splitting it into lines as a floor; `dispatchio diff`'s library
//! calls (loading both sides, then comparing) on the 10,000-rule file and a
//! copy with one rule changed, judged against `check` in the same run.

use std::path::PathBuf;
use std::time::Instant;

pub(crate) struct Check {
    pub(crate) check_10k_s: f64,
    pub(crate) check_1k_s: f64,
    pub(crate) read_10k_s: f64,
    pub(crate) diff_10k_s: f64,
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
    if let Some(e) = err {
        return Err(e);
    }
    let diff_10k_s = diff_s(reps)?;
    Ok(Check { check_10k_s, check_1k_s, read_10k_s, diff_10k_s })
}

/// The rule the copy changes (its action), in the middle of the table.
const CHANGED: (&str, &str) = (
    "rule r5000 when type == Order and code == 1250 => queue q0",
    "rule r5000 when type == Order and code == 1250 => queue q1",
);

/// Loading both 10,000-rule tables and comparing them, as `dispatchio diff` does.
fn diff_s(reps: usize) -> Result<f64, String> {
    let old = path(10_000);
    let text = std::fs::read_to_string(&old).map_err(|e| e.to_string())?;
    if !text.contains(CHANGED.0) {
        return Err(format!("{} has no `{}`", old.display(), CHANGED.0));
    }
    let new =
        std::env::temp_dir().join(format!("dispatchio-diff-bench-{}.route", std::process::id()));
    std::fs::write(&new, text.replace(CHANGED.0, CHANGED.1)).map_err(|e| e.to_string())?;
    let mut err = None;
    let s = super::median(reps, || {
        let start = Instant::now();
        match (dispatchio::dsl::load(&old), dispatchio::dsl::load(&new)) {
            (Ok(a), Ok(b)) => {
                let d = dispatchio::dsl::analysis::diff(&a.program, &b.program);
                let changes: usize = d.listeners.iter().map(|l| l.changes.len()).sum();
                if changes != 1 {
                    err = Some(format!("diff found {changes} changes, not the one made"));
                }
                drop(std::hint::black_box(d));
            }
            (Err(e), _) | (_, Err(e)) => err = Some(e.to_string()),
        }
        start.elapsed().as_secs_f64()
    });
    let _ = std::fs::remove_file(&new);
    err.map_or(Ok(s), Err)
}

//! The checker (`dispatchio check`'s library call: front end and analysis)
//! on the generated 10,000- and 1,000-rule files, and reading the 10,000-rule
//! file and splitting it into lines as a floor.

use std::path::PathBuf;
use std::time::Instant;

pub(crate) struct Check {
    pub(crate) check_10k_s: f64,
    pub(crate) check_1k_s: f64,
    pub(crate) read_10k_s: f64,
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
    err.map_or(Ok(Check { check_10k_s, check_1k_s, read_10k_s }), Err)
}

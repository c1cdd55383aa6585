//! Integration tests of the front end and `dispatchio check`, in one binary
//! (one link on a 2-core machine).

#[path = "suite/checker.rs"]
mod checker;
#[cfg(feature = "cli")]
#[path = "suite/cli.rs"]
mod cli;
#[path = "suite/codegen.rs"]
mod codegen;
#[path = "suite/corpus.rs"]
mod corpus;
#[path = "suite/guide.rs"]
mod guide;
#[path = "suite/no_panic.rs"]
mod no_panic;
// The interpreter's tests need the `runtime` feature; `cargo test
// --workspace` has it (the facade enables it, and features unify).
#[cfg(feature = "runtime")]
#[path = "suite/cond_differential.rs"]
mod cond_differential;
#[cfg(feature = "runtime")]
#[path = "suite/index_differential.rs"]
mod index_differential;
#[cfg(feature = "runtime")]
#[path = "suite/interp_differential.rs"]
mod interp_differential;
#[cfg(feature = "runtime")]
#[path = "suite/interp_routes.rs"]
mod interp_routes;

use std::path::{Path, PathBuf};

/// The fixture corpus: every `tests/fixtures/*.route` (not the `lib/` helpers
/// they import), as paths relative to the crate, sorted.
pub(crate) fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new("tests/fixtures");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the fixture directory exists")
        .map(|e| e.expect("a readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "route"))
        .collect();
    out.sort();
    out
}

//! Integration tests of the front end and `dispatchio check`, in one binary
//! (one link on a 2-core machine).

// Before the modules: a `macro_rules!` is in scope only after its definition.
/// Declares a struct of named fields as message content of type `$name`
/// (what `#[derive(dispatchio::ContentType)]` does for users; the derive
/// lives in a crate that depends on this one).
#[cfg(feature = "runtime")]
macro_rules! content_struct {
    ($(#[$attr:meta])* struct $ty:ident as $name:literal { $($field:ident: $fty:ty),* $(,)? }) => {
        $(#[$attr])*
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct $ty {
            $($field: $fty),*
        }

        impl dispatchio_core::ContentType for $ty {
            const TYPE_NAME: &'static str = $name;
        }

        impl dispatchio_core::Fields for $ty {
            fn field(&self, name: &str) -> Option<dispatchio_core::Value<'_>> {
                use dispatchio_core::AsValue as _;
                match name {
                    $(stringify!($field) => self.$field.as_value(),)*
                    _ => None,
                }
            }
        }
    };
}

#[path = "suite/checker.rs"]
mod checker;
#[cfg(feature = "cli")]
#[path = "suite/cli.rs"]
mod cli;
#[cfg(feature = "cli")]
#[path = "suite/cli_explain.rs"]
mod cli_explain;
#[cfg(feature = "cli")]
#[path = "suite/cli_graph.rs"]
mod cli_graph;
#[path = "suite/codegen.rs"]
mod codegen;
#[path = "suite/corpus.rs"]
mod corpus;
#[cfg(feature = "cli")]
#[path = "suite/diff_cli.rs"]
mod diff_cli;
#[cfg(unix)]
#[path = "suite/files.rs"]
mod files;
#[cfg(feature = "cli")]
#[path = "suite/graphviz.rs"]
mod graphviz;
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
#[path = "suite/interp_instances.rs"]
mod interp_instances;
#[cfg(feature = "runtime")]
#[path = "suite/interp_routes.rs"]
mod interp_routes;
#[cfg(feature = "runtime")]
#[path = "suite/interp_typed.rs"]
mod interp_typed;

use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicUsize, Ordering};

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

/// A private directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("dispatchio-dsl-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a writable temp dir");
        TempDir(dir)
    }

    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("a writable temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

//! The `.route` language: parser, checker, analyser, code generator and interpreter.
//!
//! The data flow is one straight line:
//!
//! ```text
//! .route text --pest--> parse tree --lower--> AST (spans) --resolve+check--> Program
//! Program --analyse--> findings (dispatchio check), witnesses checked by `decide`
//! Program --codegen--> TokenStream (include_routes!)
//! Program --interpret--> routing table at run time (feature `runtime`)
//! ```
//!
//! [`program`] is the contract between the stages: it states what a routing
//! table means. [`diagnostic`] is the one finding type every stage reports.
//!
//! ```
//! let report = dispatchio_dsl::check_str(
//!     "game.route",
//!     r#"
//!     message Card { card: int, suit: string? }
//!     listener player {
//!         rule deal when type == Card and card < 52 => queue hand
//!         rule odd  when type == Card and suit == 3 => drop
//!     }
//!     "#,
//! );
//! let error = report.errors().next().unwrap();
//! assert_eq!(error.code.as_str(), "type-mismatch");
//! print!("{}", error.render_plain(&report.sources));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

pub mod analysis;
// No public function produces or takes an AST: parsing is private, and the
// checked `Program` is the contract between the stages.
mod ast;
#[doc(hidden)]
pub mod bench_support;
mod check;
#[cfg(feature = "cli")]
pub mod cli;
pub mod codegen;
pub mod decide;
pub mod diagnostic;
pub mod explain;
// The reference evaluator of the `dispatchio-oracle` test-support crate,
// for this crate's own unit tests: a dev-dependency would give them
// `dispatchio_dsl`'s types from another build of this crate, not `crate`'s.
// Each test uses part of it.
#[cfg(test)]
#[allow(dead_code, unreachable_pub)]
#[path = "../../dispatchio-oracle/src/eval.rs"]
mod eval;
#[cfg(test)]
extern crate self as dispatchio_dsl;
pub mod concrete;
mod imports;
#[cfg(feature = "runtime")]
pub mod interp;
mod parse;
pub mod program;
mod read;
mod report;
#[cfg(test)]
mod test_support;

pub use concrete::{Sample, Value};
pub use diagnostic::{Code, Diagnostic, FileId, Label, Severity, SourceFile, SourceMap, Span};
pub use program::{Program, Skeleton};
pub use read::MAX_FILE_BYTES;
pub use report::{LoadError, Loaded, ReadError, Report, check, check_str, load, load_str};

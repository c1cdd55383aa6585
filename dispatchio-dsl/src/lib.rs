//! The `.route` language: parser, checker, analyser, code generator and interpreter.
//!
//! The data flow is one straight line:
//!
//! ```text
//! .route text --pest--> parse tree --lower--> AST (spans) --resolve+check--> Program
//! Program --analyse--> findings (dispatchio check)
//! Program --codegen--> TokenStream (include_routes!)
//! Program --interpret--> routing table at run time (feature `runtime`)
//! ```
//!
//! [`program`] is the contract between the stages: it states what a routing
//! table means. [`diagnostic`] is the one finding type every stage reports.
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

pub mod analysis;
pub mod diagnostic;
pub mod eval;
pub mod program;
pub mod sample;

pub use diagnostic::{Code, Diagnostic, FileId, Label, Severity, SourceFile, SourceMap, Span};
pub use program::Program;
pub use sample::{Sample, Value};

//! What a dispatchio message and a routing condition *are*, with no runtime:
//! IDs ([`Id`], [`MessageId`], [`SharedStr`]), field values and field access
//! ([`Value`], [`Fields`], [`Items`], [`at`]), globs ([`Glob`]), the
//! comparison tests and their one evaluation ([`Test`], [`TestOf::eval`]),
//! and the string hash of compiled string decisions ([`str_hash`]).
//!
//! Everything that gives a `.route` condition its meaning uses this crate:
//! the runtime (`dispatchio-core`, which re-exports it), the interpreter,
//! the code `include_routes!` generates, and the code generator and the
//! analyser inside the proc-macro. It depends on serde alone, so the
//! proc-macro build stays light. The language's reference evaluator, the
//! oracle of the differential tests, is written apart from it on purpose
//! (the `dispatchio-oracle` test-support crate).
//!
//! ```
//! use dispatchio_model::{Glob, Lit, Test, TestOf, Value};
//!
//! let below: Test = TestOf::Lt(Lit::Int(52));
//! assert!(below.eval(Some(Value::Int(7)), false));
//! assert!(!below.eval(Some(Value::Str("seven")), false)); // another kind: false
//! assert!(!below.eval(None, false)); // absent: false
//!
//! let enemy: Test = TestOf::Matches(Glob::new("enemy-*"));
//! assert!(enemy.eval(Some(Value::Str("enemy-3")), false));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

mod glob;
mod hash;
pub mod id;
mod test;
pub mod value;

pub use glob::{Glob, GlobTok, OwnedGlobTok, match_tokens};
pub use hash::str_hash;
pub use id::{Id, MessageId, SharedStr};
pub use test::{
    AsLitRef, GlobMatch, Lit, LitRef, StaticTest, Test, TestOf, contains, lit_cmp, lit_eq, not_in,
    with_int_text, with_text,
};
pub use value::{AsValue, ContentType, DynValue, Fields, Items, Value, at};

//! The `.route` language's reference evaluator, for tests only: what a
//! condition and a listener mean on one concrete message ([`eval`],
//! [`route`]), written to be obviously correct rather than fast.
//!
//! The analyser's claims, the interpreter, core's conditions and the
//! compiled matcher are each held to it by differential tests. It shares no
//! code with `dispatchio-model`, where every other stage finds what a test
//! means, and does not depend on it (a test below checks its source): two
//! implementations written apart, so that a bug in one shows as a
//! difference. `dispatchio-dsl`'s unit tests include `eval.rs` by path
//! (a dev-dependency cannot give a crate's unit tests its own types).
//!
//! ```
//! use dispatchio_dsl::concrete::Sample;
//!
//! let program = dispatchio_dsl::load_str(
//!     "t.route",
//!     "message Card { card: int }\nlistener l { rule low when type == Card and card < 52 => drop }",
//! )
//! .unwrap()
//! .program;
//! let mut card = Sample::new("Card");
//! card.content.insert("card".into(), dispatchio_dsl::Value::Int(7));
//! assert_eq!(dispatchio_oracle::route(&program.listeners()[0], &card).fired, [0]);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

mod eval;
#[cfg(test)]
mod tests;

pub use eval::{Decision, cmp_values, eq_value, eval, field_value, is_id_field, route, test_value};

/// The oracle's own glob (see `eval.rs`): not the model's.
pub use eval::Glob;

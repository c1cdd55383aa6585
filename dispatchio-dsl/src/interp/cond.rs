//! Lowering a checked program's conditions to the runtime's routing
//! conditions ([`dispatchio_core::routing::Cond`]).
//!
//! The interpreter has no evaluator of its own, and lowering converts
//! nothing: a program's tests are the model's ([`dispatchio_model::Test`]),
//! the very tests core's conditions evaluate, literals and parsed globs
//! included. Lowering only resolves fields to the runtime's readers. The
//! result is held to the reference evaluator (`dispatchio-oracle`) by
//! differential tests.

use dispatchio_core::SharedStr;
use dispatchio_core::routing::{Cond, Field, Pred};

use crate::program::{self, CondKind, FieldRef};

/// The runtime condition that means what `cond` means.
///
/// ```
/// use std::sync::Arc;
/// use dispatchio_core::{DynContent, DynValue, Message};
/// use dispatchio_dsl::interp::lower_cond;
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "message Card { card: int }\nlistener l { rule deal when type == Card and card < 52 => drop }",
/// )?
/// .program;
/// let cond = lower_cond(&program.listeners()[0].rules[0].cond);
/// let card = |n| {
///     let content = DynValue::Record([("card".to_owned(), DynValue::Int(n))].into());
///     Message::from_shared(Arc::new(DynContent::new("Card", content)))
/// };
/// assert!(cond.eval(&card(7)));
/// assert!(!cond.eval(&card(60)));
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
pub fn lower_cond(cond: &program::Cond) -> Cond {
    match &cond.kind {
        CondKind::Pred(p) => Cond::Pred(Pred { field: field(&p.field), test: p.test.clone() }),
        CondKind::And(cs) => Cond::And(cs.iter().map(lower_cond).collect()),
        CondKind::Or(cs) => Cond::Or(cs.iter().map(lower_cond).collect()),
        CondKind::Not(c) => Cond::Not(Box::new(lower_cond(c))),
    }
}

/// The runtime reader of a program field; fields with `id` semantics
/// ([`FieldRef::is_id`]) read as [`Field::ContentId`].
fn field(f: &FieldRef) -> Field {
    let path = |p: &[String]| p.iter().map(|s| SharedStr::from(s.clone())).collect();
    match f {
        FieldRef::Type => Field::Type,
        FieldRef::Id => Field::Id,
        FieldRef::Source => Field::Source,
        FieldRef::Dest => Field::Dest,
        FieldRef::Group => Field::Group,
        FieldRef::ResponseRequired => Field::ResponseRequired,
        FieldRef::IsResponse => Field::IsResponse,
        FieldRef::Sync => Field::Sync,
        FieldRef::Blocking => Field::Blocking,
        FieldRef::Content { path: p, .. } if f.is_id() => Field::ContentId(path(p)),
        FieldRef::Content { path: p, .. } | FieldRef::Dynamic { path: p } => {
            Field::Content(path(p))
        }
    }
}

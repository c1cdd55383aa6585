//! Lowering a checked program's conditions to the runtime's routing
//! conditions ([`dispatchio_core::routing::Cond`]).
//!
//! The interpreter has no evaluator of its own: core's conditions are the
//! one runtime meaning of `.route` conditions (builder tables use them too),
//! held to the reference evaluator ([`crate::eval`]) by differential tests.
//! Lowering only resolves fields to the runtime's readers, converts literals
//! and parses globs once.

use dispatchio_core::SharedStr;
use dispatchio_core::routing::{Cond, Field, Glob, Lit, Pred, Test};

use crate::program::{self, CondKind, FieldRef, Type};

/// The runtime condition that means what `cond` means.
pub fn lower_cond(cond: &program::Cond) -> Cond {
    match &cond.kind {
        CondKind::Pred(p) => Cond::Pred(Pred { field: field(&p.field), test: test(&p.test) }),
        CondKind::And(cs) => Cond::And(cs.iter().map(lower_cond).collect()),
        CondKind::Or(cs) => Cond::Or(cs.iter().map(lower_cond).collect()),
        CondKind::Not(c) => Cond::Not(Box::new(lower_cond(c))),
    }
}

/// The runtime reader of a program field; fields with `id` semantics (see
/// [`crate::eval`]) read as [`Field::ContentId`].
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
        FieldRef::Content { path: p, ty } if is_id_type(ty) => Field::ContentId(path(p)),
        FieldRef::Content { path: p, .. } | FieldRef::Dynamic { path: p } => {
            Field::Content(path(p))
        }
    }
}

/// `id`, `id?`, `[id]`: the types whose values have ID semantics.
fn is_id_type(ty: &Type) -> bool {
    match ty.required() {
        Type::Id => true,
        Type::List(t) => matches!(t.required(), Type::Id),
        _ => false,
    }
}

fn lit(l: &program::Lit) -> Lit {
    match l {
        program::Lit::Bool(b) => Lit::Bool(*b),
        program::Lit::Int(i) => Lit::Int(*i),
        program::Lit::Float(x) => Lit::Float(*x),
        program::Lit::Str(s) => Lit::Str(SharedStr::from(s.clone())),
    }
}

fn test(t: &program::Test) -> Test {
    use program::Test as P;
    let set = |ls: &[program::Lit]| ls.iter().map(lit).collect();
    match t {
        P::Eq(l) => Test::Eq(lit(l)),
        P::Ne(l) => Test::Ne(lit(l)),
        P::Lt(l) => Test::Lt(lit(l)),
        P::Le(l) => Test::Le(lit(l)),
        P::Gt(l) => Test::Gt(lit(l)),
        P::Ge(l) => Test::Ge(lit(l)),
        P::In(ls) => Test::In(set(ls)),
        P::NotIn(ls) => Test::NotIn(set(ls)),
        P::Matches(g) => Test::Matches(Glob::new(g)),
        P::StartsWith(s) => Test::StartsWith(SharedStr::from(s.clone())),
        P::EndsWith(s) => Test::EndsWith(SharedStr::from(s.clone())),
        P::Contains(l) => Test::Contains(lit(l)),
        P::Exists => Test::Exists,
        P::IsTrue => Test::IsTrue,
    }
}

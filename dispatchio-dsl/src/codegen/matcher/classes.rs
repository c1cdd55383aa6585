//! The classes of type names the matcher tells apart, and each rule's
//! condition partially evaluated within a class (its `type` tests decided).

use std::collections::BTreeSet;

use crate::program::{Cond, CondKind, FieldRef, Lit, MessageDef, Pred, Program, Test};

/// A set of type names the matcher does not tell apart.
#[derive(Clone, Debug)]
pub(super) enum Class<'a> {
    /// A declared message type.
    Declared(&'a MessageDef),
    /// An undeclared type name a condition mentions.
    Named(String),
    /// Every other type name.
    Other,
}

pub(super) fn classes(program: &Program) -> Vec<Class<'_>> {
    let mut out: Vec<Class<'_>> = program.messages().iter().map(Class::Declared).collect();
    let mut names = BTreeSet::new();
    pub(super) fn walk(c: &Cond, names: &mut BTreeSet<String>) {
        match &c.kind {
            CondKind::Pred(Pred { field: FieldRef::Type, test }) => {
                let lits: &[Lit] = match test {
                    Test::Eq(l) | Test::Ne(l) => std::slice::from_ref(l),
                    Test::In(s) | Test::NotIn(s) => s,
                    _ => &[],
                };
                for l in lits {
                    if let Lit::Str(s) = l {
                        names.insert(s.to_string());
                    }
                }
            }
            CondKind::Pred(_) => {}
            CondKind::And(cs) | CondKind::Or(cs) => cs.iter().for_each(|c| walk(c, names)),
            CondKind::Not(c) => walk(c, names),
        }
    }
    for l in program.listeners() {
        for r in &l.rules {
            walk(&r.cond, &mut names);
        }
    }
    for n in names {
        if program.message(&n).is_none() {
            out.push(Class::Named(n));
        }
    }
    out.push(Class::Other);
    out
}

/// A condition with the `type` tests a class decides replaced by constants.
#[derive(Clone, Debug)]
pub(super) enum P<'a> {
    Const(bool),
    Pred(&'a Pred),
    And(Vec<P<'a>>),
    Or(Vec<P<'a>>),
    Not(Box<P<'a>>),
}

impl P<'_> {
    pub(super) fn is_false(&self) -> bool {
        matches!(self, P::Const(false))
    }
}

/// `cond` within `class` (`None`: nothing known, every test stays).
pub(super) fn simplify<'a>(cond: &'a Cond, class: Option<&Class<'_>>) -> P<'a> {
    match &cond.kind {
        CondKind::Pred(p) => match (&p.field, class) {
            (FieldRef::Type, Some(Class::Declared(m))) => type_const(&p.test, &m.name),
            (FieldRef::Type, Some(Class::Named(n))) => type_const(&p.test, n),
            (FieldRef::Type, Some(Class::Other)) => match &p.test {
                // Every literal a type test holds names a class of its own.
                Test::Eq(_) | Test::In(_) => P::Const(false),
                Test::Ne(_) | Test::NotIn(_) | Test::Exists => P::Const(true),
                _ => P::Pred(p),
            },
            _ => P::Pred(p),
        },
        CondKind::And(cs) => junction(cs, class, true),
        CondKind::Or(cs) => junction(cs, class, false),
        CondKind::Not(c) => match simplify(c, class) {
            P::Const(b) => P::Const(!b),
            p => P::Not(Box::new(p)),
        },
    }
}

/// An `and` (`is_and`) or an `or` of `cs`, simplified: the neutral constant
/// (`true` for `and`) drops out, the absorbing one decides the whole, and
/// nested junctions of the same kind are flattened.
pub(super) fn junction<'a>(cs: &'a [Cond], class: Option<&Class<'_>>, is_and: bool) -> P<'a> {
    let mut out = Vec::new();
    for c in cs {
        match simplify(c, class) {
            P::Const(b) if b == is_and => {}
            P::Const(b) => return P::Const(b),
            P::And(inner) if is_and => out.extend(inner),
            P::Or(inner) if !is_and => out.extend(inner),
            p => out.push(p),
        }
    }
    match out.len() {
        0 => P::Const(is_and),
        1 => out.pop().unwrap_or(P::Const(is_and)),
        _ if is_and => P::And(out),
        _ => P::Or(out),
    }
}

pub(super) fn type_const(test: &Test, name: &str) -> P<'static> {
    P::Const(test.eval(Some(dispatchio_model::Value::Str(name)), false))
}

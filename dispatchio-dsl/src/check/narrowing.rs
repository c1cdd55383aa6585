//! Narrowing: the type names a message can have at a point of a
//! condition, from its tests on `type`.

use std::collections::BTreeSet;

use super::{Checker, Val, elem_type_name};
use crate::ast::{self, ExprKind, LitKind, Op, Operand};

/// The set of type names a message can have at some point of a condition.
///
/// A positive fact (`type == A`, `type in {A, B}`) gives a finite set, a
/// negative one (`type != A`, `type not in {…}`) a co-finite one: "any name
/// but these", undeclared names included. Both kinds are needed so that a
/// negative fact can be subtracted from a positive set (`type in {A, B} and
/// type != B` leaves `A`), and a co-finite set is never narrow enough for a
/// content field, since the message may then be of a type the program does
/// not declare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Narrowed {
    /// One of exactly these names.
    Only(BTreeSet<String>),
    /// Any name but these (`Except` of nothing: not narrowed at all).
    Except(BTreeSet<String>),
}

impl Narrowed {
    /// Any type name, declared or not.
    pub(super) fn any() -> Narrowed {
        Narrowed::Except(BTreeSet::new())
    }

    /// The names in both.
    pub(super) fn meet(self, other: Narrowed) -> Narrowed {
        use Narrowed::*;
        match (self, other) {
            (Only(a), Only(b)) => Only(&a & &b),
            (Only(a), Except(b)) | (Except(b), Only(a)) => Only(&a - &b),
            (Except(a), Except(b)) => Except(&a | &b),
        }
    }

    /// The names in either.
    pub(super) fn join(self, other: Narrowed) -> Narrowed {
        use Narrowed::*;
        match (self, other) {
            (Only(a), Only(b)) => Only(&a | &b),
            (Only(a), Except(b)) | (Except(b), Only(a)) => Except(&b - &a),
            (Except(a), Except(b)) => Except(&a & &b),
        }
    }
}

/// The names a `type` test's operand denotes.
pub(super) struct TypeNames {
    /// Message type names and string literals.
    known: BTreeSet<String>,
    /// Whether it also names something undeclared (an error, reported elsewhere).
    unknown: bool,
}

impl Checker {
    /// The types a message can have where `e` evaluates to `positive`.
    ///
    /// Only tests on `type` narrow (`==`, `!=`, `in`, `not in`), combined
    /// through `and`, `or` and `not`; any other test leaves the type open.
    /// Where a test on `type` is false, the message has one of the other
    /// names: the failure of `type == A` is `type != A`.
    ///
    /// This is exact if every other test is taken as free to be true or
    /// false: `a and b` can be true for a type exactly when `a` can and `b`
    /// can, and `a or b` exactly when `a` can or `b` can (where `a` cannot
    /// be true, it is false and `b` decides).
    pub(super) fn narrow(&self, e: &ast::Expr, positive: bool) -> Narrowed {
        match &e.kind {
            ExprKind::Not(inner) => self.narrow(inner, !positive),
            ExprKind::And(parts) | ExprKind::Or(parts) => {
                let is_and = matches!(e.kind, ExprKind::And(_));
                // `and` when true, and `or` when false, need every part: meet.
                let sets = parts.iter().map(|p| self.narrow(p, positive));
                if is_and == positive {
                    sets.fold(Narrowed::any(), Narrowed::meet)
                } else {
                    sets.reduce(Narrowed::join).unwrap_or_else(Narrowed::any)
                }
            }
            ExprKind::Exists(_) => Narrowed::any(),
            ExprKind::Pred(p) => {
                let (Some(test), [seg]) = (&p.test, p.path.segments.as_slice()) else {
                    return Narrowed::any();
                };
                if seg.name != "type" {
                    return Narrowed::any();
                }
                let Some(names) = self.type_names(&test.operand) else {
                    return Narrowed::any();
                };
                let holds_on_names = match test.op {
                    Op::Eq | Op::In => true,
                    Op::Ne | Op::NotIn => false,
                    _ => return Narrowed::any(),
                };
                if holds_on_names == positive {
                    // An unknown name (reported where the test is checked)
                    // counts as every declared type, so that a typo in `type
                    // == Crad` is one error, not also one per content field
                    // the rule reads.
                    let mut all = names.known;
                    if names.unknown {
                        all.extend(self.messages.iter().map(|m| m.name.clone()));
                    }
                    Narrowed::Only(all)
                } else {
                    // …and excludes nothing, for the same reason.
                    Narrowed::Except(names.known)
                }
            }
        }
    }

    /// The type names an operand of a `type` test denotes, without reporting
    /// anything (errors are reported when the test itself is checked).
    pub(super) fn type_names(&self, operand: &Operand) -> Option<TypeNames> {
        let mut out = TypeNames { known: BTreeSet::new(), unknown: false };
        let mut one = |o: &Operand| -> Option<()> {
            match o {
                Operand::Lit(l) => match &l.kind {
                    LitKind::Str(s) => {
                        out.known.insert(s.clone());
                    }
                    _ => return None,
                },
                Operand::Name(n) if self.message_index.contains_key(&n.name) => {
                    out.known.insert(n.name.clone());
                }
                Operand::Name(n) => {
                    let Some(&i) = self.const_index.get(&n.name) else {
                        out.unknown = true;
                        return Some(());
                    };
                    match self.consts[i].value.as_ref()? {
                        Val::One(e, _) => {
                            out.known.insert(elem_type_name(e)?);
                        }
                        Val::Set(items) => {
                            for (e, _) in items {
                                out.known.insert(elem_type_name(e)?);
                            }
                        }
                    }
                }
                Operand::Set(_) => return None,
            }
            Some(())
        };
        match operand {
            Operand::Set(s) => {
                for e in &s.elems {
                    one(e)?;
                }
            }
            other => one(other)?,
        }
        Some(out)
    }
}

#[cfg(test)]
mod props;

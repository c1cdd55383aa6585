//! The rules two tables have in common: a longest common subsequence of
//! the two rule lists, rules compared by condition and actions (never by
//! name or position in the file), so that only the others are asked about.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use similar::{Algorithm, DiffOp, capture_diff_slices_deadline};

use crate::program::{Cond, CondKind, ListenerDef, RuleDef};

/// The rules outside the common subsequence, and whether `otherwise` changed.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Alignment {
    /// Indices of the old table's rules the new table has no counterpart of.
    pub(super) old_only: Vec<usize>,
    /// Indices of the new table's rules the old table has no counterpart of.
    pub(super) new_only: Vec<usize>,
    /// Whether the `otherwise` clauses differ (or only one table has one).
    pub(super) otherwise: bool,
}

/// How long the alignment may search for a shortest edit script. Any
/// common subsequence is a sound alignment (the unaligned rules are only
/// where questions start), so past the deadline a longer edit script is
/// accepted: two unrelated 10,000-rule tables would otherwise cost
/// seconds of Myers' O(ND) for nothing.
const DEADLINE: Duration = Duration::from_millis(200);

/// Aligns `old`'s rules with `new`'s.
pub(super) fn align(old: &ListenerDef, new: &ListenerDef) -> Alignment {
    let keys = |l: &ListenerDef| l.rules.iter().map(rule_key).collect::<Vec<_>>();
    let (a, b) = (keys(old), keys(new));
    let ops =
        capture_diff_slices_deadline(Algorithm::Myers, &a, &b, Some(Instant::now() + DEADLINE));
    let (mut old_only, mut new_only) = (Vec::new(), Vec::new());
    for op in ops {
        match op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete { old_index, old_len, .. } => {
                old_only.extend(old_index..old_index + old_len)
            }
            DiffOp::Insert { new_index, new_len, .. } => {
                new_only.extend(new_index..new_index + new_len)
            }
            DiffOp::Replace { old_index, old_len, new_index, new_len } => {
                old_only.extend(old_index..old_index + old_len);
                new_only.extend(new_index..new_index + new_len);
            }
        }
    }
    let kinds = |l: &ListenerDef| {
        l.otherwise.as_ref().map(|o| o.actions.iter().map(|a| a.kind.clone()).collect::<Vec<_>>())
    };
    Alignment { old_only, new_only, otherwise: kinds(old) != kinds(new) }
}

/// A rule as its meaning sees it: condition and actions, no name, no spans.
pub(super) fn rule_key(rule: &RuleDef) -> String {
    let mut out = String::new();
    cond_key(&rule.cond, &mut out);
    for a in &rule.actions {
        let _ = write!(out, " {:?}", a.kind);
    }
    out
}

/// A condition without its spans, as text two equal conditions share.
pub(super) fn cond_key(cond: &Cond, out: &mut String) {
    match &cond.kind {
        CondKind::Pred(p) => {
            let _ = write!(out, "[{:?} {:?}]", p.field, p.test);
        }
        CondKind::And(cs) | CondKind::Or(cs) => {
            out.push_str(if matches!(cond.kind, CondKind::And(_)) { "(and" } else { "(or" });
            for c in cs {
                out.push(' ');
                cond_key(c, out);
            }
            out.push(')');
        }
        CondKind::Not(c) => {
            out.push_str("(not ");
            cond_key(c, out);
            out.push(')');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::generate::*;
    use crate::program::{FieldRef, Lit, Test, Type};

    fn card(n: i64) -> crate::program::Cond {
        and(vec![ty("Card"), pred(field("card", Type::Int), Test::Eq(Lit::Int(n)))])
    }

    #[test]
    fn renamed_rules_align_and_only_the_edited_one_is_left_over() {
        let old = listener(
            "l",
            vec![
                rule("a", card(1), vec![queue("x")]),
                rule("b", card(2), vec![queue("x")]),
                rule("c", card(3), vec![queue("x")]),
            ],
            Some(vec![queue("rest")]),
        );
        let new = listener(
            "l",
            vec![
                rule("first", card(1), vec![queue("x")]),
                rule("b", card(2), vec![queue("y")]),
                rule("third", card(3), vec![queue("x")]),
            ],
            Some(vec![queue("rest")]),
        );
        let a = align(&old, &new);
        assert_eq!(a, Alignment { old_only: vec![1], new_only: vec![1], otherwise: false });
    }

    #[test]
    fn a_different_otherwise_or_none_is_a_change() {
        let rules = vec![rule("a", pred(FieldRef::Sync, Test::IsTrue), vec![queue("x")])];
        let old = listener("l", rules.clone(), Some(vec![queue("rest")]));
        assert!(align(&old, &listener("l", rules.clone(), None)).otherwise);
        assert!(align(&old, &listener("l", rules.clone(), Some(vec![queue("other")]))).otherwise);
        assert!(!align(&old, &listener("l", rules, Some(vec![queue("rest")]))).otherwise);
    }
}

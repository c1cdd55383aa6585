//! `undecided`: the rules a question of the analysis gave up on.
//!
//! Every question has a work limit, and all the questions of an analysis
//! share one more (see `solver::Work`): exact answers about globs are
//! PSPACE-complete in general, so some tables cannot be decided in
//! reasonable time. A question given up on makes no claim (no finding is
//! ever a guess), and so that the silence is not mistaken for "nothing to
//! report", each rule such a question was about gets one `undecided`
//! warning.

use std::collections::BTreeSet;

use crate::diagnostic::{Code, Diagnostic, Label};

use super::Table;
use super::solver::F;

/// What a question given up on was about: the rules whose own condition
/// (not its negation) it asked about; the listener as a whole (`None`)
/// when there is none (the `otherwise` of `unrouted`).
pub(super) fn about(t: &Table<'_>, c: usize, goals: &[&F]) -> Vec<Option<usize>> {
    let rules: Vec<Option<usize>> = (0..t.listener.rules.len())
        .filter(|&i| t.rule(c, i).is_some_and(|r| goals.iter().any(|g| std::ptr::eq(*g, &r.f))))
        .map(Some)
        .collect();
    if rules.is_empty() { vec![None] } else { rules }
}

/// One `undecided` warning per rule (or listener) in `about`.
pub(super) fn report(t: &Table<'_>, about: &BTreeSet<Option<usize>>, out: &mut Vec<Diagnostic>) {
    let l = t.listener;
    for what in about {
        let (name, span, rules) = match what {
            Some(i) => {
                let r = &l.rules[*i];
                (format!("rule `{}`", r.name), r.span, vec![r.name.clone()])
            }
            None => (format!("listener `{}`", l.name), l.name_span, Vec::new()),
        };
        out.push(
            Diagnostic::new(
                Code::Undecided,
                format!(
                    "the analysis gave up on {name}: deciding it exactly needs more work than the limit"
                ),
                Label::new(span, "findings about this may be missing"),
            )
            .with_help(
                "patterns with many `*` and `?` compared with many other rules cost the most; \
                 simplify or split them, or allow(undecided)",
            )
            .in_listener(&l.name, rules),
        );
    }
}

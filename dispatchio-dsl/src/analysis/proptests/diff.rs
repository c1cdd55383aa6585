//! `diff` against brute force: for random tables and random edits, every
//! class `diff` reports really changes outcome (the reference evaluator
//! routes its witness through both tables), and every message of the small
//! domain whose outcome changes is in a class `diff` reports.

use std::collections::BTreeSet;

use super::*;
use crate::analysis::{Diff, End, Outcome, diff};

/// One edit of a table.
#[derive(Clone, Debug)]
enum Edit {
    Insert(usize, Cond, Vec<ActionKind>),
    Remove(usize),
    Actions(usize, Vec<ActionKind>),
    Condition(usize, Cond),
    /// Swaps a rule with the next one.
    Swap(usize),
    Otherwise(Option<Vec<ActionKind>>),
    /// Meaning-preserving: a new name.
    Rename(usize),
    /// Meaning-preserving: `c => a` becomes `c and x => a`, `c and not x => a`.
    Split(usize, Cond),
}

fn edit() -> impl Strategy<Value = Edit> {
    let pos = 0..6usize;
    prop_oneof![
        (pos.clone(), cond(), actions()).prop_map(|(i, c, a)| Edit::Insert(i, c, a)),
        pos.clone().prop_map(Edit::Remove),
        (pos.clone(), actions()).prop_map(|(i, a)| Edit::Actions(i, a)),
        (pos.clone(), cond()).prop_map(|(i, c)| Edit::Condition(i, c)),
        pos.clone().prop_map(Edit::Swap),
        prop::option::of(prop::sample::select(vec![vec![queue("a")], vec![ActionKind::Drop]]))
            .prop_map(Edit::Otherwise),
        pos.clone().prop_map(Edit::Rename),
        (pos, leaf()).prop_map(|(i, c)| Edit::Split(i, c)),
    ]
}

/// `l` with `edit` applied (positions wrap around the rules there are).
fn apply(l: &ListenerDef, edit: &Edit, serial: usize) -> ListenerDef {
    let mut l = l.clone();
    let n = l.rules.len();
    let at = |i: usize| if n == 0 { None } else { Some(i % n) };
    let fresh = format!("e{serial}");
    match edit.clone() {
        Edit::Insert(i, c, a) => l.rules.insert(i % (n + 1), rule(&fresh, c, a)),
        Edit::Remove(i) => {
            if let Some(i) = at(i) {
                l.rules.remove(i);
            }
        }
        Edit::Actions(i, a) => {
            if let Some(i) = at(i) {
                l.rules[i] = rule(&l.rules[i].name, l.rules[i].cond.clone(), a);
            }
        }
        Edit::Condition(i, c) => {
            if let Some(i) = at(i) {
                l.rules[i].cond = c;
            }
        }
        Edit::Swap(i) => {
            if n >= 2 {
                let i = i % (n - 1);
                l.rules.swap(i, i + 1);
            }
        }
        Edit::Otherwise(o) => l = listener(&l.name, l.rules, o),
        Edit::Rename(i) => {
            if let Some(i) = at(i) {
                l.rules[i].name = fresh;
            }
        }
        Edit::Split(i, x) => {
            if let Some(i) = at(i) {
                let r = l.rules.remove(i);
                let mut first = r.clone();
                first.cond = and(vec![r.cond.clone(), x.clone()]);
                let mut second = r;
                second.cond = and(vec![second.cond.clone(), not(x)]);
                second.name = fresh;
                l.rules.insert(i, second);
                l.rules.insert(i, first);
            }
        }
    }
    l
}

/// A class of messages as the user sees it: the rules fired on each side
/// (by name, rules that only `continue` left out: they change nothing) and
/// how each search ends.
type ClassKey = (Vec<String>, String, Vec<String>, String);

fn fired_names(l: &ListenerDef, fired: &[usize]) -> Vec<String> {
    fired
        .iter()
        .filter(|&&i| !acts(&l.rules[i]).is_empty() || !l.rules[i].continues())
        .map(|&i| l.rules[i].name.clone())
        .collect()
}

fn end_of(l: &ListenerDef, d: &crate::eval::Decision) -> String {
    if d.unrouted {
        "unrouted".into()
    } else if d.otherwise {
        "otherwise".into()
    } else {
        d.fired.last().map(|&i| l.rules[i].name.clone()).unwrap_or_default()
    }
}

fn reported_end(o: &Outcome) -> String {
    match &o.end {
        End::Rule { name, .. } => name.clone(),
        End::Otherwise { .. } => "otherwise".into(),
        End::Unrouted => "unrouted".into(),
    }
}

/// The class of `m`, when its outcome changes from `old` to `new`.
fn changed_class(old: &ListenerDef, new: &ListenerDef, m: &Sample) -> Option<ClassKey> {
    let (a, b) = (route(old, m), route(new, m));
    if (&a.actions, a.unrouted) == (&b.actions, b.unrouted) {
        return None;
    }
    Some((fired_names(old, &a.fired), end_of(old, &a), fired_names(new, &b.fired), end_of(new, &b)))
}

fn check_diff(old: ListenerDef, new: ListenerDef, msgs: &[Sample]) -> Result<Diff, TestCaseError> {
    let (po, pn) = (program(schema(), vec![old]), program(schema(), vec![new]));
    let (old, new) = (&po.listeners()[0], &pn.listeners()[0]);
    let d = diff(&po, &pn);
    let show_both = || format!("old:\n{}new:\n{}diff: {d:#?}", show(old), show(new));
    let mut reported = BTreeSet::new();
    for l in &d.listeners {
        prop_assert!(l.exact && l.undecided.is_empty(), "{}", show_both());
        for c in &l.changes {
            prop_assert!(c.exact, "inexact change on typed fields: {}", show_both());
            // The witness changes outcome, by the reference evaluator, and
            // the change says what each table does with it.
            let key = changed_class(old, new, &c.witness);
            prop_assert!(key.is_some(), "witness {} does not change: {}", c.witness, show_both());
            let (ro, rn) = (route(old, &c.witness), route(new, &c.witness));
            prop_assert_eq!(&c.old.actions, &ro.actions, "{}", show_both());
            prop_assert_eq!(&c.new.actions, &rn.actions, "{}", show_both());
            prop_assert_eq!(reported_end(&c.old), end_of(old, &ro), "{}", show_both());
            prop_assert_eq!(reported_end(&c.new), end_of(new, &rn), "{}", show_both());
            // One change per class.
            let key = key.unwrap_or_default();
            prop_assert!(reported.insert(key.clone()), "class {key:?} twice: {}", show_both());
        }
    }
    // Every message whose outcome changes is in a reported class.
    for m in msgs {
        if let Some(key) = changed_class(old, new, m) {
            prop_assert!(
                reported.contains(&key),
                "{m} changes ({key:?}) but diff missed its class: {}",
                show_both()
            );
        }
    }
    Ok(d)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64), ..ProptestConfig::default() })]

    #[test]
    fn diff_witnesses_change_outcome_and_brute_force_finds_no_change_diff_missed(
        old in table(),
        edits in prop::collection::vec(edit(), 1..=3),
    ) {
        let new = edits.iter().enumerate().fold(old.clone(), |l, (k, e)| apply(&l, e, k));
        thread_local!(static MSGS: Vec<Sample> = universe());
        MSGS.with(|msgs| check_diff(old, new, msgs))?;
    }

    #[test]
    fn renaming_and_splitting_rules_is_no_change(
        old in table(),
        edits in prop::collection::vec(
            prop_oneof![
                (0..6usize).prop_map(Edit::Rename),
                (0..6usize, leaf()).prop_map(|(i, c)| Edit::Split(i, c)),
            ],
            1..=3,
        ),
    ) {
        let new = edits.iter().enumerate().fold(old.clone(), |l, (k, e)| apply(&l, e, k));
        // No domain needed: the claim is that nothing is reported.
        let d = check_diff(old, new, &[])?;
        prop_assert!(d.is_empty(), "{d:#?}");
    }

    #[test]
    fn swapping_rules_whose_conditions_do_not_meet_is_no_change(
        old in table(),
        at in 0..6usize,
        x in leaf(),
    ) {
        // Two neighbours made disjoint by construction (`… and x`, `… and
        // not x`): no message fires both, so their order decides nothing,
        // `continue` or not.
        let n = old.rules.len();
        if n >= 2 {
            let i = at % (n - 1);
            let mut old = old;
            old.rules[i].cond = and(vec![old.rules[i].cond.clone(), x.clone()]);
            old.rules[i + 1].cond = and(vec![old.rules[i + 1].cond.clone(), not(x)]);
            let mut new = old.clone();
            new.rules.swap(i, i + 1);
            // No domain needed: the construction is disjoint for every
            // message, and the claim is that nothing is reported.
            let d = check_diff(old, new, &[])?;
            prop_assert!(d.is_empty(), "{d:#?}");
        }
    }
}

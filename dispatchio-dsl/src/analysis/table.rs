//! A listener's rules per type class, as formulas, with the candidate
//! index that keeps each rule compared only with rules it can share a
//! message with.

use std::collections::{BTreeSet, HashMap};

use super::affix;
use super::solver::{F, Space, VarId};
use crate::program::{Cond, CondKind, FieldRef, ListenerDef, Lit, Pred, Program, Test};

/// A literal value a rule requires of a field, for the candidate index.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Key {
    Bool(bool),
    Int(i64),
    Str(String),
}

/// One rule's formula in one class.
pub(super) struct InClass {
    pub(super) f: F,
    pub(super) nf: F,
    /// Per variable, the finite set of values the rule requires, where it has one.
    pub(super) keys: HashMap<VarId, BTreeSet<Key>>,
    /// Per int variable, the smallest interval holding every value the rule allows.
    pub(super) hulls: HashMap<VarId, (i64, i64)>,
    /// Per text variable, the literal start and end its pattern requires.
    pub(super) affixes: HashMap<VarId, affix::Affix>,
    /// Whether the formula reads untyped content.
    pub(super) approx: bool,
}

/// One listener, compiled in every class.
pub(super) struct Table<'p> {
    pub(super) listener: &'p ListenerDef,
    /// Per class (index into the spaces): per rule, its formula if it can match there.
    pub(super) classes: Vec<Vec<Option<InClass>>>,
    /// Per class, per rule: the rules (any order position) that may share a message with it.
    pub(super) cands: Vec<Vec<Vec<usize>>>,
    /// Per class, the `sync` flag as a formula (for sync-to-async).
    pub(super) sync: Vec<F>,
}

impl<'p> Table<'p> {
    pub(super) fn new(
        program: &'p Program,
        listener: &'p ListenerDef,
        spaces: &mut [Space<'p>],
    ) -> Table<'p> {
        let n = listener.rules.len();
        let mut classes: Vec<Vec<Option<InClass>>> = Vec::new();
        let mut sync = Vec::new();
        let sync_cond = Cond {
            kind: CondKind::Pred(Pred { field: FieldRef::Sync, test: Test::IsTrue }),
            span: listener.span,
        };
        for (c, space) in spaces.iter_mut().enumerate() {
            let mut rules = Vec::with_capacity(n);
            for rule in &listener.rules {
                let in_class = may_have_class(program, &rule.cond, c).then(|| {
                    let f = space.compile(&rule.cond);
                    let approx = space.is_approx(&f);
                    let mut keys = HashMap::new();
                    keys_of(&f, &mut keys);
                    let mut hulls = HashMap::new();
                    hulls_of(&f, &mut hulls);
                    let affixes = affix::affixes_of(&f);
                    InClass { nf: f.negate(), f, keys, hulls, affixes, approx }
                });
                rules.push(in_class.filter(|ic| !ic.f.is_false()));
            }
            classes.push(rules);
            sync.push(space.compile(&sync_cond));
        }
        let cands = classes.iter().map(|rules| candidates(rules)).collect();
        Table { listener, classes, cands, sync }
    }

    pub(super) fn rule(&self, c: usize, i: usize) -> Option<&InClass> {
        self.classes[c][i].as_ref()
    }

    /// Classes where rule `i` can match.
    pub(super) fn classes_of(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.classes.len()).filter(move |&c| self.classes[c][i].is_some())
    }

    /// "Rule `i` fires" in class `c`: its condition, and no earlier stopping rule's.
    pub(super) fn fires(&self, c: usize, i: usize) -> Vec<&F> {
        let Some(r) = self.rule(c, i) else { return vec![&F::False] };
        let mut goals = vec![&r.f];
        for &j in &self.cands[c][i] {
            if j < i && !self.listener.rules[j].continues() {
                if let Some(e) = self.rule(c, j) {
                    goals.push(&e.nf);
                }
            }
        }
        goals
    }

    /// "Nothing stops the search" in class `c` (the `otherwise` clause runs).
    pub(super) fn falls_through(&self, c: usize) -> Vec<&F> {
        (0..self.listener.rules.len())
            .filter(|&j| !self.listener.rules[j].continues())
            .filter_map(|j| self.rule(c, j).map(|r| &r.nf))
            .collect()
    }

    /// Whether "rule `i` fires" in class `c` ([`Table::fires`]) reads untyped content.
    pub(super) fn reach_approx(&self, c: usize, i: usize) -> bool {
        self.approx(c, &[i])
            || self.cands[c][i]
                .iter()
                .any(|&j| j < i && !self.listener.rules[j].continues() && self.approx(c, &[j]))
    }

    pub(super) fn approx(&self, c: usize, rules: &[usize]) -> bool {
        rules.iter().any(|&i| self.rule(c, i).is_some_and(|r| r.approx))
    }
}

/// Whether a condition may hold for a message of class `c` (a cheap look at
/// its `type` tests; the formula decides exactly).
pub(super) fn may_have_class(program: &Program, cond: &Cond, c: usize) -> bool {
    match type_names(cond) {
        None => true,
        Some(names) => match program.messages().get(c) {
            Some(m) => names.contains(&m.name),
            None => names.iter().any(|n| program.message(n).is_none()),
        },
    }
}

/// The type names a condition allows, when its `type` tests restrict them.
pub(super) fn type_names(cond: &Cond) -> Option<BTreeSet<String>> {
    match &cond.kind {
        CondKind::Pred(Pred { field: FieldRef::Type, test }) => match test {
            Test::Eq(Lit::Str(s)) => Some(BTreeSet::from([s.to_string()])),
            Test::In(set) => Some(
                set.iter()
                    .filter_map(|l| if let Lit::Str(s) = l { Some(s.to_string()) } else { None })
                    .collect(),
            ),
            _ => None,
        },
        CondKind::And(cs) => cs.iter().filter_map(type_names).reduce(|a, b| &a & &b),
        CondKind::Or(cs) => {
            let mut all = BTreeSet::new();
            for c in cs {
                all.extend(type_names(c)?);
            }
            Some(all)
        }
        _ => None,
    }
}

/// The finite sets of values a formula requires of its variables.
pub(super) fn keys_of(f: &F, out: &mut HashMap<VarId, BTreeSet<Key>>) {
    match f {
        F::Lit(..) => {
            if let Some((v, keys)) = literal_keys(f) {
                out.insert(v, keys);
            }
        }
        F::And(cs) => {
            for c in cs {
                let mut sub = HashMap::new();
                keys_of(c, &mut sub);
                for (v, ks) in sub {
                    match out.get_mut(&v) {
                        Some(old) => *old = &*old & &ks,
                        None => {
                            out.insert(v, ks);
                        }
                    }
                }
            }
        }
        F::Or(cs) => {
            let subs: Vec<HashMap<VarId, BTreeSet<Key>>> = cs
                .iter()
                .map(|c| {
                    let mut m = HashMap::new();
                    keys_of(c, &mut m);
                    m
                })
                .collect();
            if let Some((first, rest)) = subs.split_first() {
                for (v, ks) in first {
                    let mut all = ks.clone();
                    let mut everywhere = true;
                    for s in rest {
                        match s.get(v) {
                            Some(k) => all.extend(k.iter().cloned()),
                            None => everywhere = false,
                        }
                    }
                    if everywhere {
                        out.insert(*v, all);
                    }
                }
            }
        }
        F::True | F::False => {}
    }
}

/// The interval hulls a formula requires of its int variables.
pub(super) fn hulls_of(f: &F, out: &mut HashMap<VarId, (i64, i64)>) {
    match f {
        F::Lit(..) => {
            if let Some((v, h)) = literal_hull(f) {
                out.insert(v, h);
            }
        }
        F::And(cs) => {
            for c in cs {
                let mut sub = HashMap::new();
                hulls_of(c, &mut sub);
                for (v, (lo, hi)) in sub {
                    let e = out.entry(v).or_insert((lo, hi));
                    *e = (e.0.max(lo), e.1.min(hi));
                }
            }
        }
        F::Or(cs) => {
            let subs: Vec<HashMap<VarId, (i64, i64)>> = cs
                .iter()
                .map(|c| {
                    let mut m = HashMap::new();
                    hulls_of(c, &mut m);
                    m
                })
                .collect();
            if let Some((first, rest)) = subs.split_first() {
                for (v, &(lo, hi)) in first {
                    let hull = rest.iter().try_fold((lo, hi), |(l, h), s| {
                        s.get(v).map(|&(l2, h2)| (l.min(l2), h.max(h2)))
                    });
                    if let Some(h) = hull {
                        out.insert(*v, h);
                    }
                }
            }
        }
        F::True | F::False => {}
    }
}

/// Per rule, the rules whose required literal values do not rule out a
/// common message. Rules are bucketed by their values on the variable most
/// rules constrain, so most pairs are never looked at.
pub(super) fn candidates(rules: &[Option<InClass>]) -> Vec<Vec<usize>> {
    let mut freq: HashMap<VarId, usize> = HashMap::new();
    for r in rules.iter().flatten() {
        for v in r.keys.keys() {
            *freq.entry(*v).or_default() += 1;
        }
    }
    let primary = freq.into_iter().max_by_key(|&(v, n)| (n, std::cmp::Reverse(v))).map(|(v, _)| v);
    let mut buckets: HashMap<&Key, Vec<usize>> = HashMap::new();
    let mut wild = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let Some(r) = r else { continue };
        match primary.and_then(|p| r.keys.get(&p)) {
            Some(ks) => ks.iter().for_each(|k| buckets.entry(k).or_default().push(i)),
            None => wild.push(i),
        }
    }
    let present: Vec<usize> = (0..rules.len()).filter(|&i| rules[i].is_some()).collect();
    // Rules without a literal on the primary variable are found through
    // their interval on the most constrained int variable: sorted by lower
    // end, only a prefix can reach a given upper end.
    let mut hfreq: HashMap<VarId, usize> = HashMap::new();
    for r in rules.iter().flatten() {
        for v in r.hulls.keys() {
            *hfreq.entry(*v).or_default() += 1;
        }
    }
    let hull_var =
        hfreq.into_iter().max_by_key(|&(v, n)| (n, std::cmp::Reverse(v))).map(|(v, _)| v);
    let mut by_lo: Vec<(i64, i64, usize)> = Vec::new();
    let mut no_hull: Vec<usize> = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let Some(r) = r else { continue };
        match hull_var.and_then(|v| r.hulls.get(&v)) {
            Some(&(lo, hi)) => by_lo.push((lo, hi, i)),
            None => no_hull.push(i),
        }
    }
    by_lo.sort_unstable();
    let by_hull = |lo: i64, hi: i64| -> Vec<usize> {
        let end = by_lo.partition_point(|x| x.0 <= hi);
        let mut p: Vec<usize> = by_lo[..end]
            .iter()
            .filter(|x| x.1 >= lo)
            .map(|x| x.2)
            .chain(no_hull.iter().copied())
            .collect();
        p.sort_unstable();
        p
    };
    let compatible = |a: &InClass, b: &InClass| {
        a.keys.iter().all(|(v, ks)| b.keys.get(v).is_none_or(|kb| !ks.is_disjoint(kb)))
            && a.hulls.iter().all(|(v, &(lo, hi))| {
                b.hulls.get(v).is_none_or(|&(l2, h2)| lo.max(l2) <= hi.min(h2))
            })
            && a.affixes.iter().all(|(v, x)| b.affixes.get(v).is_none_or(|y| x.meets(y)))
    };
    // Rules with neither literals nor intervals are found through the
    // literal start or end of their patterns.
    let by_affix = affix::Index::new(
        &rules.iter().map(|r| r.as_ref().map(|r| &r.affixes)).collect::<Vec<_>>(),
    );
    let by_affix = |r: &InClass| -> Option<Vec<usize>> {
        let mut p = by_affix.as_ref()?.pool(&r.affixes)?;
        p.sort_unstable();
        p.dedup();
        Some(p)
    };
    rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let Some(r) = r else { return Vec::new() };
            let pool: Vec<usize> = match primary.and_then(|p| r.keys.get(&p)) {
                Some(ks) => {
                    let mut p: Vec<usize> = ks
                        .iter()
                        .flat_map(|k| buckets.get(k).into_iter().flatten().copied())
                        .chain(wild.iter().copied())
                        .collect();
                    p.sort_unstable();
                    p.dedup();
                    p
                }
                None => match hull_var.and_then(|v| r.hulls.get(&v)) {
                    Some(&(lo, hi)) => by_hull(lo, hi),
                    None => by_affix(r).unwrap_or_else(|| present.clone()),
                },
            };
            pool.into_iter()
                .filter(|&j| j != i && rules[j].as_ref().is_some_and(|o| compatible(r, o)))
                .collect()
        })
        .collect()
}

/// The finite set of literal values a positive literal requires (`==`, `in`),
/// for the candidate index; `None` for anything else.
pub(crate) fn literal_keys(f: &F) -> Option<(VarId, BTreeSet<Key>)> {
    let F::Lit(l, p) = f else { return None };
    let d = l.set(*p);
    if d.absent || !d.floats.keys.is_empty() || d.floats.nan || d.lists.any || d.records {
        return None;
    }
    if !d.ints.text.is_empty() || d.ints.ranges.count() > 64 {
        return None;
    }
    let strs = d.strs.allowed.as_ref()?;
    let mut keys: BTreeSet<Key> = strs.iter().map(|s| Key::Str(s.clone())).collect();
    for &(lo, hi) in &d.ints.ranges.0 {
        keys.extend((lo..=hi).map(Key::Int));
    }
    for b in [false, true] {
        if d.bools & (1 << u8::from(b)) != 0 {
            keys.insert(Key::Bool(b));
        }
    }
    Some((l.var, keys))
}

/// The interval hull of a literal that only allows ints (`card < 5`,
/// `card in {1, 9}`), for the candidate index; `None` for anything else.
pub(crate) fn literal_hull(f: &F) -> Option<(VarId, (i64, i64))> {
    let F::Lit(l, p) = f else { return None };
    let d = l.set(*p);
    let only_ints = !d.absent
        && d.bools == 0
        && d.floats.keys.is_empty()
        && !d.floats.nan
        && d.strs.allowed.as_ref().is_some_and(|a| a.is_empty())
        && !d.lists.any
        && !d.records;
    let first = d.ints.ranges.0.first()?;
    let last = d.ints.ranges.0.last()?;
    only_ints.then_some((l.var, (first.0, last.1)))
}

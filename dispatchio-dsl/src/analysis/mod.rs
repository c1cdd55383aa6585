//! The analyser: what `dispatchio check` reports about rule tables.
//!
//! [`analyse`] finds, per listener, unsatisfiable, shadowed and redundant
//! rules (at most one of these per rule, in that order), overlapping rules,
//! rules that send `sync` messages to `async` handlers and unrouted
//! messages; across listeners, forward cycles. Every finding about messages
//! carries a witness message, checked by the model's evaluation
//! ([`crate::decide`], the tests the runtime and generated code run) before
//! it is reported; the tests check every witness against the reference
//! evaluator (`dispatchio-oracle`) as well.
//!
//! # How it decides
//!
//! Conditions are split by *type class* (each declared message type, plus
//! one class for every other type name) and become formulas over one
//! variable per field (see `solver`). All findings reduce to satisfiability
//! questions on conjunctions of rule conditions and their negations:
//!
//! * unsatisfiable: `R` has no message;
//! * shadowed: `R and not E1 and not E2 …` has none, the `Ei` being the
//!   earlier stopping rules (so a rule covered by several rules *together* is
//!   found, and the finding names a minimal set of them);
//! * redundant: no message `R` fires on has a different outcome (the
//!   sequence of actions run) without `R`, following the later rules and
//!   `otherwise` path by path;
//! * overlap (`R1` earlier, stopping): "`R1` fires and `R2` matches" has a
//!   message (it reaches `R1`: no earlier stopping rule takes it), and so
//!   has "`R1` fires and `R2` does not match" (`R1` is no exception of
//!   `R2`), where trying `R2` first would change the outcome;
//! * forward cycle: one message satisfies "fires and forwards" in each
//!   listener of a loop.
//!
//! This is exact for every test on typed fields: globs are decided by
//! automata (integer IDs by their decimal text), numbers by interval sets
//! with NaN and `-0.0` handled as IEEE does, lists by element membership,
//! nested records with their parents. Findings that read `content.…` paths
//! of undeclared message types (untyped values) are marked `exact: false`.
//! A work budget keeps pathological tables from hanging the check; a
//! question the search gives up on yields no claim at all (never a guess),
//! and each rule such a question was about gets an `undecided` warning.
//!
//! # Scale
//!
//! Rules are only compared with rules they can share a message with: per
//! class, rules are indexed by the literal values (`==`, `in`) they require
//! of the most discriminating field, and otherwise by their interval on the
//! most constrained int field, so tables of thousands of `type == X and
//! field == literal` or range rules cost about linear time (10,000 rules:
//! well under a second in a release build, see `benches/analyse.rs`).
//! Satisfiability questions of the form "this rule and none of the earlier
//! ones" first try the simplest member of the literal constraints before
//! searching. Witness checks route the witness through the rule's
//! candidates only; debug builds check that against the full evaluator.
//!
//! Tables where thousands of rules all share messages pairwise (say
//! `card >= 1`, `card >= 2`, … `card >= 6000`) still cost quadratic time
//! and memory in the number of such rules (6,000 nested ranges: about 2 s).

mod affix;
mod dom;
#[doc(hidden)]
pub mod generate;
mod graph;
#[cfg(test)]
mod proptests;
mod solver;
mod strings;
#[cfg(test)]
mod tests;
mod undecided;

use std::collections::{BTreeSet, HashMap};

use crate::decide::{Decision, holds as eval, route, route_rules};
use crate::diagnostic::{Code, Diagnostic, Label};
use crate::program::{
    ActionKind, Cond, CondKind, FieldRef, ListenerDef, Lit, Pred, Program, RuleDef, Test,
};
use crate::sample::Sample;
use solver::{Answer, Class, F, Space, VarId};

/// Every analysis finding of `program`, listener by listener (rules in
/// order), then forward cycles.
pub fn analyse(program: &Program) -> Vec<Diagnostic> {
    let rules = program.listeners().iter().map(|l| l.rules.len()).sum();
    analyse_within(program, solver::Work::for_rules(rules))
}

/// [`analyse`] within the given work limits.
fn analyse_within(program: &Program, work: solver::Work) -> Vec<Diagnostic> {
    let work = std::rc::Rc::new(work);
    let mut spaces: Vec<Space<'_>> = (0..program.messages().len())
        .map(|i| Space::new(program, Class::Declared(i)))
        .chain([Space::new(program, Class::Undeclared)])
        .map(|s| s.sharing(&work))
        .collect();
    let tables: Vec<Table<'_>> =
        program.listeners().iter().map(|l| Table::new(program, l, &mut spaces)).collect();
    let mut out = Vec::new();
    let mut fires = Vec::new();
    for t in &tables {
        let mut a = ListenerAnalysis {
            t,
            spaces: &spaces,
            out: &mut out,
            status: Vec::new(),
            undecided: Default::default(),
        };
        a.run();
        fires.push(a.status);
    }
    cycles::find(&tables, &spaces, &fires, &mut out);
    out
}

/// A literal value a rule requires of a field, for the candidate index.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key {
    Bool(bool),
    Int(i64),
    Str(String),
}

/// One rule's formula in one class.
struct InClass {
    f: F,
    nf: F,
    /// Per variable, the finite set of values the rule requires, where it has one.
    keys: HashMap<VarId, BTreeSet<Key>>,
    /// Per int variable, the smallest interval holding every value the rule allows.
    hulls: HashMap<VarId, (i64, i64)>,
    /// Per text variable, the literal start and end its pattern requires.
    affixes: HashMap<VarId, affix::Affix>,
    /// Whether the formula reads untyped content.
    approx: bool,
}

/// One listener, compiled in every class.
struct Table<'p> {
    listener: &'p ListenerDef,
    /// Per class (index into the spaces): per rule, its formula if it can match there.
    classes: Vec<Vec<Option<InClass>>>,
    /// Per class, per rule: the rules (any order position) that may share a message with it.
    cands: Vec<Vec<Vec<usize>>>,
    /// Per class, the `sync` flag as a formula (for sync-to-async).
    sync: Vec<F>,
}

impl<'p> Table<'p> {
    fn new(program: &'p Program, listener: &'p ListenerDef, spaces: &mut [Space<'p>]) -> Table<'p> {
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

    fn rule(&self, c: usize, i: usize) -> Option<&InClass> {
        self.classes[c][i].as_ref()
    }

    /// Classes where rule `i` can match.
    fn classes_of(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.classes.len()).filter(move |&c| self.classes[c][i].is_some())
    }

    /// "Rule `i` fires" in class `c`: its condition, and no earlier stopping rule's.
    fn fires(&self, c: usize, i: usize) -> Vec<&F> {
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
    fn falls_through(&self, c: usize) -> Vec<&F> {
        (0..self.listener.rules.len())
            .filter(|&j| !self.listener.rules[j].continues())
            .filter_map(|j| self.rule(c, j).map(|r| &r.nf))
            .collect()
    }

    /// Whether "rule `i` fires" in class `c` ([`Table::fires`]) reads untyped content.
    fn reach_approx(&self, c: usize, i: usize) -> bool {
        self.approx(c, &[i])
            || self.cands[c][i]
                .iter()
                .any(|&j| j < i && !self.listener.rules[j].continues() && self.approx(c, &[j]))
    }

    fn approx(&self, c: usize, rules: &[usize]) -> bool {
        rules.iter().any(|&i| self.rule(c, i).is_some_and(|r| r.approx))
    }
}

/// Whether a condition may hold for a message of class `c` (a cheap look at
/// its `type` tests; the formula decides exactly).
fn may_have_class(program: &Program, cond: &Cond, c: usize) -> bool {
    match type_names(cond) {
        None => true,
        Some(names) => match program.messages().get(c) {
            Some(m) => names.contains(&m.name),
            None => names.iter().any(|n| program.message(n).is_none()),
        },
    }
}

/// The type names a condition allows, when its `type` tests restrict them.
fn type_names(cond: &Cond) -> Option<BTreeSet<String>> {
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
fn keys_of(f: &F, out: &mut HashMap<VarId, BTreeSet<Key>>) {
    match f {
        F::Lit(..) => {
            if let Some((v, keys)) = solver::literal_keys(f) {
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
fn hulls_of(f: &F, out: &mut HashMap<VarId, (i64, i64)>) {
    match f {
        F::Lit(..) => {
            if let Some((v, h)) = solver::literal_hull(f) {
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
fn candidates(rules: &[Option<InClass>]) -> Vec<Vec<usize>> {
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

/// The outcome-relevant actions of a rule (without `continue`).
fn actions(rule: &RuleDef) -> Vec<ActionKind> {
    rule.actions.iter().map(|a| a.kind.clone()).filter(|k| *k != ActionKind::Continue).collect()
}

/// Whether trying rule `b` just before the stopping rule `a` changes the
/// outcome of a message that reaches `a` and matches both: `a` runs its
/// actions and stops; `b` first would run its own and stop (a change when
/// they differ) or run its own and `continue` to `a` (a change unless it
/// has none: a rule whose only action is `continue` changes nothing).
fn changes_outcome(a: &RuleDef, b: &RuleDef) -> bool {
    if b.continues() { !actions(b).is_empty() } else { actions(a) != actions(b) }
}

/// [`route`] restricted to the rules in `among` (ascending), without rule
/// `skip`. A witness of rule `i` in class `c` can only match `i`'s
/// candidates (the others require disjoint literal values), so routing
/// among them gives the full decision at a fraction of the cost on large
/// tables; debug builds check that against the full [`route`].
fn route_among(l: &ListenerDef, among: &[usize], skip: Option<usize>, msg: &Sample) -> Decision {
    let d = route_rules(l, among.iter().copied().filter(|&i| Some(i) != skip), msg);
    if cfg!(debug_assertions) && skip.is_none() {
        debug_assert_eq!(d, route(l, msg), "candidate index missed a matching rule");
    }
    d
}

/// Rule `i` and its candidates in class `c`, ascending.
fn with_cands(t: &Table<'_>, c: usize, i: usize) -> Vec<usize> {
    let mut v = t.cands[c][i].clone();
    v.push(i);
    v.sort_unstable();
    v
}

/// What the analysis established about one rule, for later findings.
#[derive(Clone, Debug)]
struct RuleStatus {
    /// It can never fire (unsatisfiable or shadowed), or that is unknown.
    dead: bool,
}

/// The combined answer of several classes: any witness wins; otherwise
/// unsat only if every class said so.
fn any_class(answers: impl IntoIterator<Item = Answer>) -> Answer {
    let mut unknown = false;
    for a in answers {
        match a {
            Answer::Sat(s) => return Answer::Sat(s),
            Answer::Unknown => unknown = true,
            Answer::Unsat => {}
        }
    }
    if unknown { Answer::Unknown } else { Answer::Unsat }
}

struct ListenerAnalysis<'a, 'p> {
    t: &'a Table<'p>,
    spaces: &'a [Space<'p>],
    out: &'a mut Vec<Diagnostic>,
    status: Vec<RuleStatus>,
    /// What questions given up on were about (see `undecided`).
    undecided: std::cell::RefCell<BTreeSet<Option<usize>>>,
}

fn names(rules: &[&RuleDef]) -> String {
    let quoted: Vec<String> = rules.iter().map(|r| format!("`{}`", r.name)).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} and {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

impl<'a, 'p> ListenerAnalysis<'a, 'p> {
    fn l(&self) -> &ListenerDef {
        self.t.listener
    }

    fn solve(&self, c: usize, goals: &[&F]) -> Answer {
        let answer = self.spaces[c].solve(goals);
        if matches!(answer, Answer::Unknown) {
            self.undecided.borrow_mut().extend(undecided::about(self.t, c, goals));
        }
        answer
    }

    fn run(&mut self) {
        let n = self.l().rules.len();
        let mut reach: Vec<Vec<(usize, Sample)>> = Vec::with_capacity(n);
        for i in 0..n {
            let (dead, fires) = self.precedence_findings(i);
            self.status.push(RuleStatus { dead });
            reach.push(fires);
        }
        self.overlaps();
        for (i, fires) in reach.iter().enumerate() {
            self.sync_to_async(i, fires);
        }
        self.unrouted();
        undecided::report(self.t, &self.undecided.borrow(), self.out);
    }

    /// Unsatisfiable, shadowed or redundant (the first that applies). Returns
    /// whether the rule is dead, and per class where it fires, a message it fires on.
    fn precedence_findings(&mut self, i: usize) -> (bool, Vec<(usize, Sample)>) {
        let t = self.t;
        let rule = &self.l().rules[i];
        let classes: Vec<usize> = t.classes_of(i).collect();
        let approx = classes.iter().any(|&c| t.approx(c, &[i]));
        // Unsatisfiable.
        let sat = any_class(
            classes.iter().map(|&c| self.solve(c, &[t.rule(c, i).map_or(&F::False, |r| &r.f)])),
        );
        let witness = match sat {
            Answer::Unsat => {
                let d = Diagnostic::new(
                    Code::Unsatisfiable,
                    format!(
                        "rule `{}` can never match: no message satisfies its condition",
                        rule.name
                    ),
                    Label::new(rule.cond.span, "no message satisfies this"),
                )
                .with_help("check the bounds and literals of the condition")
                .in_listener(&self.l().name, vec![rule.name.clone()]);
                self.out.push(Diagnostic { exact: !approx, ..d });
                return (true, Vec::new());
            }
            Answer::Unknown => return (true, Vec::new()),
            Answer::Sat(w) => w,
        };
        // Shadowed: where (in which classes) does it fire?
        let mut fires = Vec::new();
        let mut unknown = false;
        for &c in &classes {
            match self.solve(c, &t.fires(c, i)) {
                Answer::Sat(w) => fires.push((c, w)),
                Answer::Unknown => unknown = true,
                Answer::Unsat => {}
            }
        }
        if fires.is_empty() {
            if !unknown {
                self.report_shadowed(i, &classes, witness, approx);
            }
            return (true, Vec::new());
        }
        // Where the search gave up on a class, messages there are unknown:
        // no claim that depends on all of them.
        if !unknown && !rule.allow.contains(&Code::Redundant) {
            self.redundant(i, &fires);
        }
        (false, fires)
    }

    fn report_shadowed(&mut self, i: usize, classes: &[usize], witness: Sample, approx: bool) {
        let t = self.t;
        let l = self.l();
        let rule = &l.rules[i];
        // The earlier stopping rules that share a message with this one…
        let mut earlier: Vec<usize> = classes
            .iter()
            .flat_map(|&c| t.cands[c][i].iter().copied())
            .filter(|&j| j < i && !l.rules[j].continues())
            .collect();
        earlier.sort_unstable();
        earlier.dedup();
        let covers = |set: &[usize]| {
            classes.iter().all(|&c| {
                let Some(r) = t.rule(c, i) else { return true };
                let mut goals = vec![&r.f];
                goals.extend(set.iter().filter_map(|&j| t.rule(c, j).map(|e| &e.nf)));
                self.solve(c, &goals).is_unsat()
            })
        };
        // The nearest earlier rules usually do the covering: find the
        // shortest run of them, nearest first, that covers (binary search,
        // covering grows with the run)…
        let nearest: Vec<usize> = earlier.iter().rev().copied().collect();
        let (mut lo, mut hi) = (1, nearest.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if covers(&nearest[..mid]) { hi = mid } else { lo = mid + 1 }
        }
        let mut cover: Vec<usize> = nearest[..lo.min(nearest.len())].to_vec();
        // …keep the ones that share a message with the rule…
        cover.retain(|&j| {
            classes.iter().any(|&c| match (t.rule(c, i), t.rule(c, j)) {
                (Some(r), Some(e)) => !self.solve(c, &[&r.f, &e.f]).is_unsat(),
                _ => false,
            })
        });
        // …and drop those the others make unnecessary.
        if cover.len() <= 16 {
            let mut k = 0;
            while k < cover.len() {
                let without: Vec<usize> =
                    cover.iter().copied().filter(|&j| j != cover[k]).collect();
                if covers(&without) { cover = without } else { k += 1 }
            }
        }
        cover.sort_unstable();
        let by: Vec<&RuleDef> = cover.iter().map(|&j| &l.rules[j]).collect();
        let mut d = Diagnostic::new(
            Code::Shadowed,
            format!(
                "rule `{}` can never fire: {} {} every message it matches",
                rule.name,
                names(&by),
                if by.len() == 1 { "catches" } else { "catch" }
            ),
            Label::new(rule.span, format!("covered by {}", names(&by))),
        )
        .with_help(format!("remove the rule, or move it above {}", names(&by)))
        .in_listener(
            &l.name,
            std::iter::once(&rule.name).chain(by.iter().map(|r| &r.name)).cloned().collect(),
        );
        for r in &by {
            d = d.with_related(Label::new(r.span, "this rule stops the search first"));
        }
        // Shown when a named rule (earlier, stopping) takes the witness.
        let verified =
            eval(&rule.cond, &witness) && cover.iter().any(|&j| eval(&l.rules[j].cond, &witness));
        d.exact = verified && !approx && !classes.iter().any(|&c| t.approx(c, &cover));
        self.out.push(d.with_witness(witness));
    }

    /// Redundant: for every message the rule fires on, the rest of the table
    /// would run the same actions without it.
    fn redundant(&mut self, i: usize, fires: &[(usize, Sample)]) {
        let t = self.t;
        let l = self.l();
        let rule = &l.rules[i];
        let own = actions(rule);
        let is_redundant = if rule.continues() {
            // `A, continue` adds A in front of whatever follows: only an empty A changes nothing.
            own.is_empty()
        } else {
            let mut unknown = false;
            let mut found_bad = false;
            for (c, _) in fires {
                match self.bad_path(*c, i, t.fires(*c, i), i + 1, &own) {
                    Answer::Sat(_) => {
                        found_bad = true;
                        break;
                    }
                    Answer::Unknown => unknown = true,
                    Answer::Unsat => {}
                }
            }
            !found_bad && !unknown
        };
        if !is_redundant {
            return;
        }
        let (c0, witness) = fires[0].clone();
        let among = with_cands(t, c0, i);
        let (a, b) =
            (route_among(l, &among, None, &witness), route_among(l, &among, Some(i), &witness));
        let verified = a.fired.contains(&i) && a.actions == b.actions && a.unrouted == b.unrouted;
        let approx = fires.iter().any(|(c, _)| t.approx(*c, &t.cands[*c][i]))
            || fires.iter().any(|(c, _)| t.approx(*c, &[i]));
        let mut d = Diagnostic::new(
            Code::Redundant,
            format!("rule `{}` is redundant: removing it changes no message's outcome", rule.name),
            Label::new(rule.span, "the rules after it do the same"),
        )
        .with_help("remove the rule")
        .in_listener(&l.name, vec![rule.name.clone()])
        .with_witness(witness);
        d.exact = verified && !approx;
        self.out.push(d);
    }

    /// A message satisfying `goals` whose outcome from rule `k` on differs
    /// from exactly the actions `want`; only rules that share a message with
    /// rule `i` can fire on it, so only those are followed.
    fn bad_path(
        &self,
        c: usize,
        i: usize,
        goals: Vec<&'a F>,
        k: usize,
        want: &[ActionKind],
    ) -> Answer {
        let t: &'a Table<'p> = self.t;
        let l = t.listener;
        let mut unknown = false;
        let mut g = goals;
        for &j in t.cands[c][i].iter().filter(|&&j| j >= k) {
            let Some(rj) = t.rule(c, j) else { continue };
            let rule = &l.rules[j];
            let acts = actions(rule);
            if rule.continues() && acts.is_empty() {
                continue; // runs nothing and stops nothing
            }
            // Messages on which `j` is the first rule to fire after `k`.
            let mut gj = g.clone();
            gj.push(&rj.f);
            let answer = if !rule.continues() {
                if acts == want { Answer::Unsat } else { self.solve(c, &gj) }
            } else if want.starts_with(&acts) {
                self.bad_path(c, i, gj, j + 1, &want[acts.len()..])
            } else {
                self.solve(c, &gj)
            };
            match answer {
                Answer::Sat(w) => return Answer::Sat(w),
                Answer::Unknown => unknown = true,
                Answer::Unsat => {}
            }
            g.push(&rj.nf);
        }
        // Messages no later rule stops: `otherwise` runs, or they are unrouted.
        let tail_ok = l
            .otherwise
            .as_ref()
            .is_some_and(|o| o.actions.iter().map(|a| a.kind.clone()).collect::<Vec<_>>() == want);
        if !tail_ok {
            match self.solve(c, &g) {
                Answer::Sat(w) => return Answer::Sat(w),
                Answer::Unknown => unknown = true,
                Answer::Unsat => {}
            }
        }
        if unknown { Answer::Unknown } else { Answer::Unsat }
    }

    /// Pairs of live rules where the earlier one, stopping, takes from the
    /// later one a message the later one would have given another outcome,
    /// and is not an exception of it (see [`changes_outcome`]).
    ///
    /// Exact in the way `shadowed` is: "takes" means the message *reaches*
    /// the earlier rule (no stopping rule before it matches), so a pair
    /// whose common messages all go to rules above both is no overlap, and
    /// the witness is one of the messages the order decides.
    fn overlaps(&mut self) {
        let t: &'a Table<'p> = self.t;
        let l = t.listener;
        let mut pairs = BTreeSet::new();
        for (c, cands) in t.cands.iter().enumerate() {
            for (i, cs) in cands.iter().enumerate() {
                if t.rule(c, i).is_none() || l.rules[i].continues() || self.status[i].dead {
                    continue;
                }
                for &j in cs.iter().filter(|&&j| j > i && !self.status[j].dead) {
                    if changes_outcome(&l.rules[i], &l.rules[j]) {
                        pairs.insert((i, j));
                    }
                }
            }
        }
        for (i, j) in pairs {
            let (ri, rj) = (&l.rules[i], &l.rules[j]);
            if ri.allow.contains(&Code::Overlap) || rj.allow.contains(&Code::Overlap) {
                continue;
            }
            // `i` is an exception of `j` (placed before the general rule on
            // purpose) when every message it takes also matches `j`. The
            // converse needs no question: `j` is live, so it fires on some
            // message, which `i` (stopping, earlier) does not match. Asked
            // first: where `i` lies within `j` (nested ranges) it is settled
            // without the earlier rules.
            let Some((c1, _)) = self.takes(i, j, false) else { continue };
            // A message that reaches `i` and matches both: the order decides it.
            let Some((c0, witness)) = self.takes(i, j, true) else { continue };
            // Shown when `i` fires on the witness (it reaches `i`) and `j` matches it.
            let verified = route_among(l, &with_cands(t, c0, i), None, &witness).fired.contains(&i)
                && eval(&rj.cond, &witness);
            let approx = [c0, c1].iter().any(|&c| t.approx(c, &[j]) || t.reach_approx(c, i));
            let mut d = Diagnostic::new(
                Code::Overlap,
                format!(
                    "rules `{}` and `{}` overlap: some messages match both, and the order decides",
                    ri.name, rj.name
                ),
                Label::new(rj.span, format!("also matches messages `{}` takes first", ri.name)),
            )
            .with_related(Label::new(ri.span, "this rule takes them"))
            .with_help(format!(
                "make the conditions disjoint, or allow(overlap) if `{}` first is intended",
                ri.name
            ))
            .in_listener(&l.name, vec![rj.name.clone(), ri.name.clone()])
            .with_witness(witness);
            d.exact = verified && !approx;
            self.out.push(d);
        }
    }

    /// A message rule `i` takes (it reaches `i`, which matches it) that
    /// rule `j` matches too (`matching`) or does not, and the class it is
    /// in. The earlier rules that matter are those that share a message
    /// with `i` (and, for a message `j` matches, with `j`). The question is
    /// asked without them first: if it has no answer, neither has the
    /// whole, and where its answer already reaches `i` it is one (most
    /// pairs of rules need no search through everything above them).
    fn takes(&self, i: usize, j: usize, matching: bool) -> Option<(usize, Sample)> {
        let t: &'a Table<'p> = self.t;
        let l = t.listener;
        for c in t.classes_of(i) {
            let Some(r) = t.rule(c, i) else { continue };
            let mut goals = vec![&r.f];
            match (t.rule(c, j), matching) {
                (Some(b), true) => goals.push(&b.f),
                (Some(b), false) => goals.push(&b.nf),
                (None, true) => continue,
                (None, false) => {}
            }
            // Given up on or not: no claim either way (`solve` noted it for `undecided`).
            let Answer::Sat(w) = self.solve(c, &goals) else { continue };
            if route_among(l, &with_cands(t, c, i), None, &w).fired.contains(&i) {
                return Some((c, w));
            }
            for &e in &t.cands[c][i] {
                let shares = !matching || t.cands[c][j].binary_search(&e).is_ok();
                if e < i && !l.rules[e].continues() && shares {
                    if let Some(er) = t.rule(c, e) {
                        goals.push(&er.nf);
                    }
                }
            }
            if let Answer::Sat(w) = self.solve(c, &goals) {
                return Some((c, w));
            }
        }
        None
    }

    /// A rule calling an `async` handler that fires on some `sync` message.
    fn sync_to_async(&mut self, i: usize, fires: &[(usize, Sample)]) {
        let t: &'a Table<'p> = self.t;
        let rule = &t.listener.rules[i];
        if rule.allow.contains(&Code::SyncToAsync) {
            return;
        }
        let Some(handler) = rule.actions.iter().find_map(|a| match &a.kind {
            ActionKind::Call { handler, is_async: true } => Some(handler),
            _ => None,
        }) else {
            return;
        };
        for (c, _) in fires {
            let mut goals = t.fires(*c, i);
            goals.push(&t.sync[*c]);
            if let Answer::Sat(w) = self.solve(*c, &goals) {
                let verified = w.sync
                    && route_among(t.listener, &with_cands(t, *c, i), None, &w).fired.contains(&i);
                let mut d = Diagnostic::new(
                    Code::SyncToAsync,
                    format!(
                        "rule `{}` calls async handler `{handler}` but can receive sync messages",
                        rule.name
                    ),
                    Label::new(rule.span, "fires on sync messages"),
                )
                .with_help("add `and not sync` to the condition, or call a synchronous handler")
                .in_listener(&t.listener.name, vec![rule.name.clone()])
                .with_witness(w);
                d.exact = verified && !t.approx(*c, &t.cands[*c][i]) && !t.approx(*c, &[i]);
                self.out.push(d);
                return;
            }
        }
    }

    /// Declared message types some of whose messages no rule stops, in a
    /// listener without `otherwise`.
    fn unrouted(&mut self) {
        let t: &'a Table<'p> = self.t;
        let l = t.listener;
        if l.otherwise.is_some() {
            return;
        }
        let mut types = Vec::new();
        let mut witness = None;
        for c in 0..t.classes.len() {
            let Some(m) = self.spaces[c].declared() else { continue };
            if let Answer::Sat(w) = self.solve(c, &t.falls_through(c)) {
                types.push(format!("`{}`", m.name));
                witness.get_or_insert(w);
            }
        }
        let Some(witness) = witness else { return };
        let verified = route(l, &witness).unrouted;
        let mut d = Diagnostic::new(
            Code::Unrouted,
            format!(
                "listener `{}` leaves some messages of type {} unrouted",
                l.name,
                types.join(", ")
            ),
            Label::new(l.name_span, "no rule stops these messages and there is no `otherwise`"),
        )
        .with_help("add a rule for them, or an `otherwise` clause")
        .in_listener(&l.name, Vec::new())
        .with_witness(witness);
        d.exact = verified;
        self.out.push(d);
    }
}

/// Forward cycles: loops of listeners one message can travel round.
mod cycles {
    use super::*;

    /// One way a message leaves a listener for another: a rule (or `otherwise`) that forwards.
    struct Edge {
        from: usize,
        to: usize,
        /// The rule's index, `None` for `otherwise`.
        rule: Option<usize>,
    }

    pub(super) fn find(
        tables: &[Table<'_>],
        spaces: &[Space<'_>],
        status: &[Vec<RuleStatus>],
        out: &mut Vec<Diagnostic>,
    ) {
        let index: HashMap<&str, usize> =
            tables.iter().enumerate().map(|(i, t)| (t.listener.name.as_str(), i)).collect();
        let mut edges: Vec<Vec<Edge>> = (0..tables.len()).map(|_| Vec::new()).collect();
        for (a, t) in tables.iter().enumerate() {
            let l = t.listener;
            let targets = |acts: &[crate::program::Action]| -> Vec<usize> {
                acts.iter()
                    .filter_map(|x| match &x.kind {
                        ActionKind::Forward(name) => index.get(name.as_str()).copied(),
                        _ => None,
                    })
                    .collect()
            };
            for (i, r) in l.rules.iter().enumerate() {
                if status[a][i].dead {
                    continue;
                }
                for to in targets(&r.actions) {
                    edges[a].push(Edge { from: a, to, rule: Some(i) });
                }
            }
            if let Some(o) = &l.otherwise {
                for to in targets(&o.actions) {
                    edges[a].push(Edge { from: a, to, rule: None });
                }
            }
        }
        // A cycle stays in one component: only edges inside it are followed.
        let comp = graph::components(tables.len(), |v| edges[v].iter().map(|e| e.to).collect());
        for es in &mut edges {
            es.retain(|e| comp[e.from] == comp[e.to]);
        }
        let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
        for (v, &c) in comp.iter().enumerate() {
            members.entry(c).or_default().push(v);
        }
        let mut gave_up = BTreeSet::new();
        // Each simple cycle is searched from its lowest listener, so it is
        // found once, and only through the listeners above it that are on a
        // cycle with it (Johnson's restriction): a ring of n listeners is
        // walked once, not n times.
        for start in 0..tables.len() {
            if edges[start].is_empty() {
                continue;
            }
            let above: Vec<usize> =
                members[&comp[start]].iter().copied().filter(|&v| v >= start).collect();
            let local: HashMap<usize, usize> =
                above.iter().enumerate().map(|(k, &v)| (v, k)).collect();
            let sub = graph::components(above.len(), |k| {
                edges[above[k]].iter().filter_map(|e| local.get(&e.to).copied()).collect()
            });
            let mut keep = vec![false; tables.len()];
            for (k, &v) in above.iter().enumerate() {
                keep[v] = sub[k] == sub[0];
            }
            walk(tables, spaces, &edges, start, &keep, out, &mut gave_up);
        }
        for (l, rules) in gave_up_by_listener(gave_up) {
            undecided::report(&tables[l], &rules, out);
        }
    }

    /// The rules given up on, grouped by listener.
    fn gave_up_by_listener(
        about: BTreeSet<(usize, Option<usize>)>,
    ) -> Vec<(usize, BTreeSet<Option<usize>>)> {
        let mut out: Vec<(usize, BTreeSet<Option<usize>>)> = Vec::new();
        for (l, r) in about {
            match out.last_mut() {
                Some((last, rules)) if *last == l => {
                    rules.insert(r);
                }
                _ => out.push((l, BTreeSet::from([r]))),
            }
        }
        out
    }

    /// The formula "this edge is taken", per class.
    fn taken<'a>(t: &'a Table<'_>, c: usize, e: &Edge) -> Vec<&'a F> {
        match e.rule {
            Some(i) => t.fires(c, i),
            None => t.falls_through(c),
        }
    }

    /// Every simple cycle from `start` through listeners in `keep` that one
    /// message can travel, depth first. The path's goals are kept per
    /// class and grow one edge at a time; a class in which no message takes
    /// the path so far is not asked again further down (the conjunction
    /// only grows). An explicit stack, so a ring of thousands of listeners
    /// does not recurse.
    fn walk<'a, 'e>(
        tables: &'a [Table<'_>],
        spaces: &[Space<'_>],
        edges: &'e [Vec<Edge>],
        start: usize,
        keep: &[bool],
        out: &mut Vec<Diagnostic>,
        gave_up: &mut BTreeSet<(usize, Option<usize>)>,
    ) {
        let mut path: Vec<&'e Edge> = Vec::new();
        let mut on_path = vec![false; tables.len()];
        // Per class, the goals of the path's edges, and per edge of the
        // path, how many goals each class had before it.
        let mut goals: Vec<Vec<&'a F>> = vec![Vec::new(); spaces.len()];
        let mut marks: Vec<Vec<usize>> = Vec::new();
        // Per depth, the classes in which some message takes the path.
        let mut alive: Vec<Vec<usize>> = vec![(0..spaces.len()).collect()];
        // Per depth, the listener and the next of its edges to try.
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        while let Some((at, next)) = stack.last_mut() {
            let Some(e) = edges[*at].get(*next) else {
                stack.pop();
                if let Some(e) = path.pop() {
                    on_path[e.to] = false;
                    alive.pop();
                    for (g, m) in goals.iter_mut().zip(marks.pop().unwrap_or_default()) {
                        g.truncate(m);
                    }
                }
                continue;
            };
            *next += 1;
            if !keep[e.to] || (e.to != start && on_path[e.to]) {
                continue;
            }
            // Can one message take every edge so far, this one included?
            let mark: Vec<usize> = goals.iter().map(Vec::len).collect();
            let mut sat = Vec::new();
            let mut witness = None;
            for &c in alive.last().map_or(&[][..], Vec::as_slice) {
                goals[c].extend(taken(&tables[e.from], c, e));
                match spaces[c].solve(&goals[c]) {
                    Answer::Sat(w) => {
                        witness.get_or_insert(w);
                        sat.push(c);
                    }
                    Answer::Unknown => {
                        gave_up.insert((e.from, e.rule));
                    }
                    Answer::Unsat => {}
                }
            }
            match witness {
                Some(w) if e.to == start => {
                    path.push(e);
                    report(tables, &path, w, out);
                    path.pop();
                }
                Some(_) if path.len() + 1 < tables.len() => {
                    path.push(e);
                    on_path[e.to] = true;
                    marks.push(mark);
                    alive.push(sat);
                    stack.push((e.to, 0));
                    continue;
                }
                _ => {}
            }
            for (g, m) in goals.iter_mut().zip(mark) {
                g.truncate(m);
            }
        }
    }

    fn report(tables: &[Table<'_>], path: &[&Edge], w: Sample, out: &mut Vec<Diagnostic>) {
        let first = tables[path[0].from].listener;
        let label = |e: &Edge| {
            let l = tables[e.from].listener;
            match e.rule {
                Some(i) => (l.rules[i].span, l.rules[i].name.clone()),
                None => (l.otherwise.as_ref().map_or(l.span, |o| o.span), "otherwise".to_owned()),
            }
        };
        let mut loop_names: Vec<&str> =
            path.iter().map(|e| tables[e.from].listener.name.as_str()).collect();
        loop_names.push(&first.name);
        let (span, name) = label(path[0]);
        let mut rules = vec![name];
        let mut d = Diagnostic::new(
            Code::ForwardCycle,
            format!("a message can be forwarded around a loop: {}", loop_names.join(" -> ")),
            Label::new(span, "forwards it on"),
        );
        for e in &path[1..] {
            let (span, name) = label(e);
            rules.push(format!("{}.{name}", tables[e.from].listener.name));
            d = d.with_related(Label::new(
                span,
                format!("and `{}` forwards it on", tables[e.from].listener.name),
            ));
        }
        // Check the witness really travels the loop, listener by listener.
        let verified = path.iter().all(|e| {
            let l = tables[e.from].listener;
            let dec = route(l, &w);
            match e.rule {
                Some(i) => dec.fired.contains(&i),
                None => dec.otherwise,
            }
        });
        let approx = path.iter().any(|e| {
            let t = &tables[e.from];
            (0..t.classes.len()).any(|c| match e.rule {
                Some(i) => t.approx(c, &[i]) || t.approx(c, &t.cands[c][i]),
                None => t.approx(c, &(0..t.listener.rules.len()).collect::<Vec<_>>()),
            })
        });
        let mut d = d
            .with_help("break the loop: narrow a forwarding rule's condition so the message stops")
            .in_listener(&first.name, rules)
            .with_witness(w);
        d.exact = verified && !approx;
        out.push(d);
    }
}

//! The paths of both tables through the messages that can reach a change,
//! and the classes whose outcomes differ (see the parent module's doc).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashSet};
use std::rc::Rc;

use super::align::{align, cond_key};
use super::{Change, ChangeKind, End, ListenerDiff, Outcome, Presence};
use crate::analysis::findings::{actions, with_cands};
use crate::analysis::solver::{Answer, Class, F, Space, Work};
use crate::analysis::table::Table;
use crate::analysis::undecided;
use crate::concrete::Sample;
use crate::decide::{Decision, route, route_rules};
use crate::program::{ActionKind, ListenerDef, Program};

/// Compares each pair of listeners (old, new) of the same name.
pub(super) fn compare(
    old: &Program,
    new: &Program,
    pairs: &[(&ListenerDef, &ListenerDef)],
    work: Work,
) -> Vec<ListenerDiff> {
    // One table per pair holding both rule lists, old first: the candidate
    // index then relates the rules of the two tables as it relates the
    // rules of one, and one set of variables (the new program's classes)
    // serves both.
    let combined: Vec<ListenerDef> = pairs
        .iter()
        .map(|(o, n)| ListenerDef {
            name: n.name.clone(),
            span: n.span,
            name_span: n.name_span,
            rules: o.rules.iter().chain(&n.rules).cloned().collect(),
            otherwise: None,
        })
        .collect();
    let work = Rc::new(work);
    let mut spaces: Vec<Space<'_>> = (0..new.messages().len())
        .map(|i| Space::new(new, Class::Declared(i)))
        .chain([Space::new(new, Class::Undeclared)])
        .map(|s| s.sharing(&work))
        .collect();
    let tables: Vec<Table<'_>> = combined.iter().map(|l| Table::new(new, l, &mut spaces)).collect();
    pairs
        .iter()
        .zip(&tables)
        .map(|(&(o, n), t)| {
            let pair = Pair {
                t,
                spaces: &spaces,
                m: o.rules.len(),
                old: o,
                new: n,
                programs: [old, new],
                changes: RefCell::new(Vec::new()),
                seen: RefCell::new(HashSet::new()),
                undecided: RefCell::new(BTreeSet::new()),
                inexact: Cell::new(false),
            };
            pair.run();
            pair.finish()
        })
        .collect()
}

/// Which table a path goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Old,
    New,
}

/// How a path ends: a stopping rule (index in the combined table),
/// `otherwise`, or unrouted.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum EndAt {
    Rule(usize),
    Otherwise,
    Unrouted,
}

/// One path through one table, so far or to its end.
#[derive(Clone, Debug, Default)]
struct Path {
    /// Rules fired (combined indices), in order.
    fired: Vec<usize>,
    /// Rules tried and not matched (their negations are among the goals).
    skipped: Vec<usize>,
    /// The actions run so far.
    actions: Vec<ActionKind>,
}

/// A complete path: the messages taking it are those satisfying `goals`.
struct Leaf<'a> {
    goals: Vec<&'a F>,
    path: Path,
    end: EndAt,
}

impl Leaf<'_> {
    fn same_outcome(&self, other: &Leaf<'_>) -> bool {
        self.path.actions == other.path.actions
            && (self.end == EndAt::Unrouted) == (other.end == EndAt::Unrouted)
    }
}

/// Where an exploration starts: the messages matching `rule` (a changed
/// rule, or a continuing one when `otherwise` changed) and `context`.
struct Start<'a> {
    rule: Option<usize>,
    /// Goals of every class found from here, not listed in its description.
    context: Vec<&'a F>,
    /// The context is "no stopping rule matches" (`otherwise` changed).
    falls: bool,
    /// Some condition these classes are made of reads untyped content.
    approx: bool,
}

/// A class of messages: the path through each table.
type ClassKey = (Vec<usize>, EndAt, Vec<usize>, EndAt);

/// Work limits on describing one class: negations checked for whether they
/// exclude anything (the others are listed as they are).
const MAX_SIMPLIFY: usize = 64;

struct Pair<'a, 'p> {
    /// Both rule lists: the old table's rules `0..m`, then the new table's.
    t: &'a Table<'p>,
    spaces: &'a [Space<'p>],
    m: usize,
    old: &'a ListenerDef,
    new: &'a ListenerDef,
    programs: [&'a Program; 2],
    changes: RefCell<Vec<Change>>,
    seen: RefCell<HashSet<ClassKey>>,
    /// What questions given up on were about (combined indices; `None`: the listener).
    undecided: RefCell<BTreeSet<Option<usize>>>,
    /// Some condition compared reads untyped content.
    inexact: Cell<bool>,
}

impl<'a, 'p> Pair<'a, 'p> {
    fn run(&self) {
        let t = self.t;
        let a = align(self.old, self.new);
        let changed = a.old_only.iter().copied().chain(a.new_only.iter().map(|&j| j + self.m));
        for d in changed {
            for c in t.classes_of(d).collect::<Vec<_>>() {
                self.reaching_rule(c, d);
            }
        }
        if a.otherwise {
            for c in 0..t.classes.len() {
                self.falling_through(c);
            }
        }
    }

    fn finish(self) -> ListenerDiff {
        let l = self.new;
        let undecided = self
            .undecided
            .borrow()
            .iter()
            .map(|what| match what {
                Some(j) => {
                    format!("{} rule `{}`", self.side_name(*j), self.t.listener.rules[*j].name)
                }
                None => format!("listener `{}`", l.name),
            })
            .collect();
        ListenerDiff {
            name: l.name.clone(),
            presence: Presence::Both,
            span: l.name_span,
            changes: self.changes.into_inner(),
            undecided,
            exact: !self.inexact.get(),
        }
    }

    fn side_name(&self, j: usize) -> &'static str {
        if j < self.m { "old" } else { "new" }
    }

    fn solve(&self, c: usize, goals: &[&F]) -> Answer {
        let answer = self.spaces[c].solve(goals);
        if matches!(answer, Answer::Unknown) {
            self.undecided.borrow_mut().extend(undecided::about(self.t, c, goals));
        }
        answer
    }

    /// The classes of messages matching the changed rule `d` in class `c`:
    /// only `d`'s candidates can fire on them, in either table.
    fn reaching_rule(&self, c: usize, d: usize) {
        let t = self.t;
        if t.rule(c, d).is_none() {
            return;
        }
        let pool = with_cands(t, c, d);
        let approx = t.approx(c, &pool);
        self.inexact.set(self.inexact.get() || approx);
        let (old, new): (Vec<usize>, Vec<usize>) = pool.iter().partition(|&&j| j < self.m);
        let start = Start { rule: Some(d), context: Vec::new(), falls: false, approx };
        self.explore(c, &start, &old, &new);
    }

    /// The classes of messages no stopping rule of either table matches
    /// (when `otherwise` changed): those no rule matches at all, and per
    /// continuing rule, those it matches (where only its candidates can
    /// fire, and only their negations are needed).
    fn falling_through(&self, c: usize) {
        let t = self.t;
        let rules = &t.listener.rules;
        let present: Vec<usize> = (0..rules.len()).filter(|&j| t.rule(c, j).is_some()).collect();
        let stopping_negations = |among: &[usize]| -> Vec<&'a F> {
            let stopping = among.iter().filter(|&&j| !rules[j].continues());
            stopping.filter_map(|&j| t.rule(c, j).map(|r| &r.nf)).collect()
        };
        for &j in present.iter().filter(|&&j| rules[j].continues()) {
            let pool = with_cands(t, c, j);
            let approx = t.approx(c, &pool);
            self.inexact.set(self.inexact.get() || approx);
            let continuing = |old: bool| -> Vec<usize> {
                let side = pool.iter().copied().filter(|&k| (k < self.m) == old);
                side.filter(|&k| rules[k].continues()).collect()
            };
            let context = stopping_negations(&pool);
            let start = Start { rule: Some(j), context, falls: true, approx };
            self.explore(c, &start, &continuing(true), &continuing(false));
        }
        // No rule matches at all.
        let approx = t.approx(c, &present);
        self.inexact.set(self.inexact.get() || approx);
        let context = present.iter().filter_map(|&j| t.rule(c, j).map(|r| &r.nf)).collect();
        self.explore(c, &Start { rule: None, context, falls: true, approx }, &[], &[]);
    }

    /// Every old path from `goals`, then under each every new path whose
    /// outcome differs: each such pair that has a message is a change.
    fn explore(&self, c: usize, start: &Start<'a>, old: &[usize], new: &[usize]) {
        let t = self.t;
        let mut goals = start.context.clone();
        goals.extend(start.rule.and_then(|d| t.rule(c, d)).map(|r| &r.f));
        self.walk(c, Side::Old, old, goals, Path::default(), &mut |s, o| {
            if !matches!(s.solve(c, &o.goals), Answer::Sat(_)) {
                return;
            }
            // Only rules sharing a message with every rule fired can fire too.
            let new = s.sharing(c, new, &o.path.fired);
            s.walk(c, Side::New, &new, o.goals.clone(), Path::default(), &mut |s, n| {
                if o.same_outcome(&n) {
                    return;
                }
                let key =
                    (o.path.fired.clone(), o.end.clone(), n.path.fired.clone(), n.end.clone());
                if s.seen.borrow().contains(&key) {
                    return;
                }
                if let Answer::Sat(w) = s.solve(c, &n.goals) {
                    s.seen.borrow_mut().insert(key);
                    s.report(c, start, &o, &n, w);
                }
            });
        });
    }

    /// The rules of `pool` that share a message with each of `fired` (by
    /// the candidate index: the others cannot match a message they match).
    fn sharing(&self, c: usize, pool: &[usize], fired: &[usize]) -> Vec<usize> {
        let cands = &self.t.cands[c];
        let shares = |k: &usize| fired.iter().all(|&f| cands[f].binary_search(k).is_ok());
        pool.iter().copied().filter(shares).collect()
    }

    /// The paths through one side's rules `pool` (ascending combined
    /// indices), for messages satisfying `goals`: `visit` gets each
    /// complete one. A continuing rule's subtree is only followed where it
    /// has a message, through the rules that share one with it.
    fn walk(
        &self,
        c: usize,
        side: Side,
        pool: &[usize],
        goals: Vec<&'a F>,
        path: Path,
        visit: &mut dyn FnMut(&Self, Leaf<'a>),
    ) {
        let t: &'a Table<'p> = self.t;
        let mut g = goals;
        let mut skipped = path.skipped.clone();
        for (p, &j) in pool.iter().enumerate() {
            let Some(rj) = t.rule(c, j) else { continue };
            let rule = &t.listener.rules[j];
            let acts = actions(rule);
            if rule.continues() && acts.is_empty() {
                continue; // runs nothing and stops nothing
            }
            let mut gj = g.clone();
            gj.push(&rj.f);
            let mut fired = path.fired.clone();
            fired.push(j);
            let mut actions = path.actions.clone();
            actions.extend(acts);
            let next = Path { fired, skipped: skipped.clone(), actions };
            if !rule.continues() {
                visit(self, Leaf { goals: gj, path: next, end: EndAt::Rule(j) });
            } else if let Answer::Sat(_) = self.solve(c, &gj) {
                let rest = self.sharing(c, &pool[p + 1..], &[j]);
                self.walk(c, side, &rest, gj, next, visit);
            }
            g.push(&rj.nf);
            skipped.push(j);
        }
        let otherwise = match side {
            Side::Old => &self.old.otherwise,
            Side::New => &self.new.otherwise,
        };
        let mut actions = path.actions;
        let end = match otherwise {
            Some(o) => {
                actions.extend(o.actions.iter().map(|a| a.kind.clone()));
                EndAt::Otherwise
            }
            None => EndAt::Unrouted,
        };
        visit(self, Leaf { goals: g, path: Path { fired: path.fired, skipped, actions }, end });
    }

    /// Reports the class of paths `o` (old) and `n` (new), of which `w` is
    /// a message, once the model has routed `w` through both tables.
    fn report(&self, c: usize, start: &Start<'a>, o: &Leaf<'a>, n: &Leaf<'a>, w: Sample) {
        let (od, nd) = self.route_both(c, start.rule, &w);
        if (&od.actions, od.unrouted) == (&nd.actions, nd.unrouted) {
            // The formulas and the model disagree: only possible where
            // untyped content is read (the formulas approximate it).
            self.inexact.set(true);
            return;
        }
        let ends_as = |dec: &Decision, leaf: &Leaf<'_>, offset: usize| {
            let end = match (&leaf.end, dec.unrouted, dec.otherwise) {
                (EndAt::Unrouted, true, _) | (EndAt::Otherwise, _, true) => true,
                (EndAt::Rule(j), false, false) => dec.fired.last() == Some(&(j - offset)),
                _ => false,
            };
            end && dec.actions == leaf.path.actions
        };
        let verified = ends_as(&od, o, 0) && ends_as(&nd, n, self.m);
        let kind = if nd.unrouted && !od.unrouted {
            ChangeKind::NowUnrouted
        } else if od.unrouted && !nd.unrouted {
            ChangeKind::NowRouted
        } else if nd.actions == [ActionKind::Drop] {
            ChangeKind::NowDropped
        } else {
            ChangeKind::Actions
        };
        let change = Change {
            kind,
            old: outcome(self.old, &od),
            new: outcome(self.new, &nd),
            class: self.describe(c, start, o, n),
            witness: w,
            exact: verified && !start.approx,
        };
        self.changes.borrow_mut().push(change);
    }

    /// What each table decides for `w`, a message matching `rule`: only its
    /// candidates can match it, so only they are tried (debug builds check
    /// that against every rule).
    fn route_both(&self, c: usize, rule: Option<usize>, w: &Sample) -> (Decision, Decision) {
        let Some(d) = rule else { return (route(self.old, w), route(self.new, w)) };
        let among = with_cands(self.t, c, d);
        let old = route_rules(self.old, among.iter().copied().filter(|&j| j < self.m), w);
        let new =
            route_rules(self.new, among.iter().filter(|&&j| j >= self.m).map(|j| j - self.m), w);
        debug_assert_eq!((&old, &new), (&route(self.old, w), &route(self.new, w)));
        (old, new)
    }

    /// The conditions that define the class of paths `o` and `n`: those of
    /// the rules fired (and of `d`, the changed rule it was found from) and
    /// the negations of the rules skipped, each condition once, without
    /// those the others imply.
    fn describe(&self, c: usize, start: &Start<'a>, o: &Leaf<'a>, n: &Leaf<'a>) -> Vec<String> {
        let d = start.rule;
        let t = self.t;
        let mut keys = HashSet::new();
        // (rule, negated, [its formula, its negation]): the class is the
        // conjunction of these (and, for `otherwise`, of "no stopping rule
        // matches").
        let mut terms: Vec<(usize, bool, [&'a F; 2])> = Vec::new();
        let fired = o.path.fired.iter().chain(&n.path.fired).copied().chain(d);
        let skipped = o.path.skipped.iter().chain(&n.path.skipped).copied();
        for (j, negated) in fired.map(|j| (j, false)).chain(skipped.map(|j| (j, true))) {
            let mut k = String::new();
            cond_key(&t.listener.rules[j].cond, &mut k);
            if let Some(r) = t.rule(c, j) {
                if keys.insert(k) {
                    terms.push((j, negated, [&r.f, &r.nf]));
                }
            }
        }
        // The term, or (`flip`) its opposite.
        let formula = |&(_, negated, f): &(usize, bool, [&'a F; 2]), flip: bool| -> &'a F {
            f[usize::from(negated != flip)]
        };
        let context = &start.context;
        // A term the others imply (they and its opposite have no message) says nothing.
        let mut k = 0;
        while k < terms.len() && k < MAX_SIMPLIFY {
            let mut goals = context.clone();
            goals.extend(
                terms.iter().enumerate().filter(|&(i, _)| i != k).map(|(_, x)| formula(x, false)),
            );
            goals.push(formula(&terms[k], true));
            if self.spaces[c].solve(&goals).is_unsat() {
                terms.remove(k);
            } else {
                k += 1;
            }
        }
        let mut out: Vec<String> = terms
            .iter()
            .map(|&(j, negated, _)| {
                let text = self.cond_text(j);
                if negated { format!("not ({text})") } else { text }
            })
            .collect();
        if start.falls {
            out.push("no stopping rule of either table matches it".to_owned());
        }
        out
    }

    /// Rule `j`'s condition as written in its file, on one line.
    fn cond_text(&self, j: usize) -> String {
        let program = self.programs[usize::from(j >= self.m)];
        let span = self.t.listener.rules[j].cond.span;
        let text = &program.sources().get(span.file).text;
        let written = text.get(span.start as usize..span.end as usize).unwrap_or_default();
        written.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// What the model's decision says, by rule name.
fn outcome(l: &ListenerDef, dec: &Decision) -> Outcome {
    let end = if dec.unrouted {
        End::Unrouted
    } else if let (true, Some(o)) = (dec.otherwise, &l.otherwise) {
        End::Otherwise { span: o.span }
    } else {
        let r = dec.fired.last().map(|&i| &l.rules[i]);
        r.map_or(End::Unrouted, |r| End::Rule { name: r.name.clone(), span: r.span })
    };
    Outcome {
        actions: dec.actions.clone(),
        fired: dec.fired.iter().map(|&i| l.rules[i].name.clone()).collect(),
        end,
    }
}

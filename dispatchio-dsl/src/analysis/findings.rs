//! One listener's findings: unsatisfiable, shadowed and redundant rules,
//! overlaps, `sync` messages to `async` handlers, unrouted messages.

use std::collections::BTreeSet;

use super::solver::{Answer, F, Space};
use super::table::Table;
use super::undecided;
use crate::concrete::Sample;
use crate::decide::{Decision, holds as eval, route, route_rules};
use crate::diagnostic::{Code, Diagnostic, Label};
use crate::program::{ActionKind, ListenerDef, RuleDef};

/// The outcome-relevant actions of a rule (without `continue`).
pub(super) fn actions(rule: &RuleDef) -> Vec<ActionKind> {
    rule.actions.iter().map(|a| a.kind.clone()).filter(|k| *k != ActionKind::Continue).collect()
}

/// Whether trying rule `b` just before the stopping rule `a` changes the
/// outcome of a message that reaches `a` and matches both: `a` runs its
/// actions and stops; `b` first would run its own and stop (a change when
/// they differ) or run its own and `continue` to `a` (a change unless it
/// has none: a rule whose only action is `continue` changes nothing).
pub(super) fn changes_outcome(a: &RuleDef, b: &RuleDef) -> bool {
    if b.continues() { !actions(b).is_empty() } else { actions(a) != actions(b) }
}

/// [`route`] restricted to the rules in `among` (ascending), without rule
/// `skip`. A witness of rule `i` in class `c` can only match `i`'s
/// candidates (the others require disjoint literal values), so routing
/// among them gives the full decision at a fraction of the cost on large
/// tables; debug builds check that against the full [`route`].
pub(super) fn route_among(
    l: &ListenerDef,
    among: &[usize],
    skip: Option<usize>,
    msg: &Sample,
) -> Decision {
    let d = route_rules(l, among.iter().copied().filter(|&i| Some(i) != skip), msg);
    if cfg!(debug_assertions) && skip.is_none() {
        debug_assert_eq!(d, route(l, msg), "candidate index missed a matching rule");
    }
    d
}

/// Rule `i` and its candidates in class `c`, ascending.
pub(super) fn with_cands(t: &Table<'_>, c: usize, i: usize) -> Vec<usize> {
    let mut v = t.cands[c][i].clone();
    v.push(i);
    v.sort_unstable();
    v
}

/// What the analysis established about one rule, for later findings.
#[derive(Clone, Debug)]
pub(super) struct RuleStatus {
    /// It can never fire (unsatisfiable or shadowed), or that is unknown.
    pub(super) dead: bool,
}

/// The combined answer of several classes: any witness wins; otherwise
/// unsat only if every class said so.
pub(super) fn any_class(answers: impl IntoIterator<Item = Answer>) -> Answer {
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

pub(super) struct ListenerAnalysis<'a, 'p> {
    pub(super) t: &'a Table<'p>,
    pub(super) spaces: &'a [Space<'p>],
    pub(super) out: &'a mut Vec<Diagnostic>,
    pub(super) status: Vec<RuleStatus>,
    /// What questions given up on were about (see `undecided`).
    pub(super) undecided: std::cell::RefCell<BTreeSet<Option<usize>>>,
}

pub(super) fn names(rules: &[&RuleDef]) -> String {
    let quoted: Vec<String> = rules.iter().map(|r| format!("`{}`", r.name)).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} and {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

impl<'a, 'p> ListenerAnalysis<'a, 'p> {
    pub(super) fn l(&self) -> &ListenerDef {
        self.t.listener
    }

    pub(super) fn solve(&self, c: usize, goals: &[&F]) -> Answer {
        let answer = self.spaces[c].solve(goals);
        if matches!(answer, Answer::Unknown) {
            self.undecided.borrow_mut().extend(undecided::about(self.t, c, goals));
        }
        answer
    }

    pub(super) fn run(&mut self) {
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
    pub(super) fn precedence_findings(&mut self, i: usize) -> (bool, Vec<(usize, Sample)>) {
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

    pub(super) fn report_shadowed(
        &mut self,
        i: usize,
        classes: &[usize],
        witness: Sample,
        approx: bool,
    ) {
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
    pub(super) fn redundant(&mut self, i: usize, fires: &[(usize, Sample)]) {
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
    pub(super) fn bad_path(
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
    pub(super) fn overlaps(&mut self) {
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
    pub(super) fn takes(&self, i: usize, j: usize, matching: bool) -> Option<(usize, Sample)> {
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
    pub(super) fn sync_to_async(&mut self, i: usize, fires: &[(usize, Sample)]) {
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
    pub(super) fn unrouted(&mut self) {
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

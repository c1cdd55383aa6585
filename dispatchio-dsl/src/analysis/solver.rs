//! Conditions as formulas over independent field variables, and a
//! satisfiability search that returns a witness message.
//!
//! The analysis runs once per *type class*: each declared message type, and
//! one class for every undeclared type name. Inside a class the type is
//! known, so `type` tests fold to constants and content fields have one
//! declared type. Every field is then a variable whose domain ([`Dom`])
//! includes absence where the field is optional, and a condition is a
//! negation-normal formula of literals "variable ∈ set".
//!
//! Satisfiability of a conjunction of formulas is a depth-first search that
//! intersects literal sets into a *cube* (one domain per variable), expands
//! `and`s eagerly, drops `or`s one of whose literals the cube already
//! implies, and branches on the `or` with the fewest live alternatives. The
//! search is exact: it only prunes on empty domains, and a leaf is accepted
//! only when every variable has a value (checked again by the evaluator).
//!
//! About 700 lines on purpose: the formula type, the variables of a class
//! and the search over them are one algorithm whose invariants (the cube,
//! the order of branching, the shared work budget) each part relies on;
//! value domains (`dom`) and strings (`strings`) are already apart.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use super::dom::{Dom, Pick, pred_set};
use crate::concrete::{Sample, Value};
use crate::program::{Cond, CondKind, FieldRef, MessageDef, Program, Type};

/// Index of a variable in a [`Space`].
pub(crate) type VarId = usize;

/// What a variable stands for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum VarKey {
    Type,
    Id,
    Source,
    Dest,
    Group,
    ResponseRequired,
    IsResponse,
    Sync,
    Blocking,
    /// A content path (declared or `content.…`, one variable per path).
    Path(Vec<String>),
}

/// A variable and the values it can take in its class.
#[derive(Clone, Debug)]
pub(crate) struct Var {
    pub(crate) key: VarKey,
    pub(crate) universe: Dom,
    /// The enclosing record's variable, for nested paths.
    parent: Option<VarId>,
    /// Declared non-optional in its (optional) parent: present iff the parent is.
    required_in_parent: bool,
}

/// A type class: a declared message type, or any undeclared type name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Class {
    Declared(usize),
    Undeclared,
}

/// One literal: the variable is in `pos` (or, negated, in `neg`).
#[derive(Debug)]
pub(crate) struct LitF {
    pub(crate) var: VarId,
    pos: Dom,
    neg: Dom,
}

impl LitF {
    /// The set the variable is in where the literal is `positive` (or,
    /// negated, where it is not): what the candidate index reads.
    pub(crate) fn set(&self, positive: bool) -> &Dom {
        if positive { &self.pos } else { &self.neg }
    }
}

/// A formula in negation normal form.
#[derive(Clone, Debug)]
pub(crate) enum F {
    True,
    False,
    Lit(Rc<LitF>, bool),
    And(Vec<F>),
    Or(Vec<F>),
}

impl F {
    pub(crate) fn negate(&self) -> F {
        match self {
            F::True => F::False,
            F::False => F::True,
            F::Lit(l, p) => F::Lit(l.clone(), !p),
            F::And(cs) => F::Or(cs.iter().map(F::negate).collect()),
            F::Or(cs) => F::And(cs.iter().map(F::negate).collect()),
        }
    }

    pub(crate) fn is_false(&self) -> bool {
        matches!(self, F::False)
    }

    fn and(items: Vec<F>) -> F {
        let mut out = Vec::new();
        for f in items {
            match f {
                F::True => {}
                F::False => return F::False,
                F::And(cs) => out.extend(cs),
                f => out.push(f),
            }
        }
        match out.len() {
            0 => F::True,
            1 => out.pop().unwrap_or(F::True),
            _ => F::And(out),
        }
    }

    fn or(items: Vec<F>) -> F {
        let mut out = Vec::new();
        for f in items {
            match f {
                F::False => {}
                F::True => return F::True,
                F::Or(cs) => out.extend(cs),
                f => out.push(f),
            }
        }
        match out.len() {
            0 => F::False,
            1 => out.pop().unwrap_or(F::False),
            _ => F::Or(out),
        }
    }

    /// Whether the formula holds for one value per variable.
    pub(crate) fn holds(&self, vals: &[Option<Value>]) -> bool {
        match self {
            F::True => true,
            F::False => false,
            F::Lit(l, p) => (if *p { &l.pos } else { &l.neg }).contains(vals[l.var].as_ref()),
            F::And(cs) => cs.iter().all(|c| c.holds(vals)),
            F::Or(cs) => cs.iter().any(|c| c.holds(vals)),
        }
    }

    /// Variables the formula reads.
    pub(crate) fn vars(&self, out: &mut Vec<VarId>) {
        match self {
            F::Lit(l, _) => out.push(l.var),
            F::And(cs) | F::Or(cs) => cs.iter().for_each(|c| c.vars(out)),
            _ => {}
        }
    }
}

/// The result of a satisfiability question.
#[derive(Clone, Debug)]
pub(crate) enum Answer {
    /// A witness message.
    Sat(Sample),
    Unsat,
    /// The search budget ran out.
    Unknown,
}

impl Answer {
    pub(crate) fn is_unsat(&self) -> bool {
        matches!(self, Answer::Unsat)
    }
}

/// The variables of one type class.
pub(crate) struct Space<'p> {
    program: &'p Program,
    pub(crate) class: Class,
    vars: Vec<Var>,
    index: HashMap<VarKey, VarId>,
    work: Rc<Work>,
}

/// Work limits of one satisfiability question: search nodes weighted by the
/// `or`s each one scans, and units of the string searches (see
/// `strings::search`: 10 to 30 ns each, so about 0.1 s).
const NODE_BUDGET: usize = 5_000_000;
const SEARCH_BUDGET: usize = 2_000_000;

/// The work all the questions of one analysis share, on top of the limits
/// of each question: a table of many questions that each need most of
/// their limit would otherwise take minutes. It grows with the table
/// (60 million units of string work, under a second, plus 20,000 per rule),
/// so large tables of ordinary rules stay well within it: the 10,000-rule
/// benchmark table spends 30,000 nodes and no string work; 5,000 rules
/// `topic matches "sensor-K-*"` spend 54 million units of their 160
/// million, 200 rules `suit matches "*K*a*?"` 17 million of 64. Once it is
/// spent, every further question is answered "unknown", and reported as
/// `undecided` (200 rules of an exponential shape: 0.6 s, all of it spent).
#[derive(Debug)]
pub(crate) struct Work {
    nodes: Cell<usize>,
    search: Cell<usize>,
    /// The limits of each question ([`NODE_BUDGET`], [`SEARCH_BUDGET`]).
    per_question: (usize, usize),
}

/// The shared work of an analysis: a base, and so much per rule.
const BASE_NODES: usize = 20_000_000;
const NODES_PER_RULE: usize = 1_000;
const BASE_SEARCH: usize = 60_000_000;
const SEARCH_PER_RULE: usize = 20_000;

impl Work {
    /// Leaves nothing (for tests of what happens then).
    #[cfg(test)]
    pub(crate) fn spend_all(&self) {
        self.nodes.set(0);
        self.search.set(0);
    }

    /// Limits a hundred times smaller, for tests that reach them (a debug
    /// build is slow, and the units are tuned for release builds).
    #[cfg(test)]
    pub(crate) fn small(rules: usize) -> Work {
        let w = Work::for_rules(rules);
        Work {
            nodes: Cell::new(w.nodes.get() / 100),
            search: Cell::new(w.search.get() / 100),
            per_question: (NODE_BUDGET / 100, SEARCH_BUDGET / 100),
        }
    }

    /// The work for analysing a program of `rules` rules.
    pub(crate) fn for_rules(rules: usize) -> Work {
        Work {
            nodes: Cell::new(BASE_NODES.saturating_add(NODES_PER_RULE.saturating_mul(rules))),
            search: Cell::new(BASE_SEARCH.saturating_add(SEARCH_PER_RULE.saturating_mul(rules))),
            per_question: (NODE_BUDGET, SEARCH_BUDGET),
        }
    }
}

type Cube = Vec<Option<Dom>>;

impl<'p> Space<'p> {
    /// The variables of `class`, with work of its own (see [`Space::sharing`]).
    pub(crate) fn new(program: &'p Program, class: Class) -> Space<'p> {
        let work = Rc::new(Work::for_rules(0));
        let mut s = Space { program, class, vars: Vec::new(), index: HashMap::new(), work };
        let type_dom = match class {
            Class::Declared(i) => {
                let mut d = Dom::default();
                d.strs.allowed = Some([program.messages()[i].name.clone()].into());
                d
            }
            Class::Undeclared => {
                let mut d = Dom::of_type(&Type::Str);
                d.strs.excluded = program.messages().iter().map(|m| m.name.clone()).collect();
                d
            }
        };
        s.push(VarKey::Type, type_dom, None, false);
        s.push(VarKey::Id, Dom::of_type(&Type::Int), None, false);
        let id = Dom::of_type(&Type::Optional(Box::new(Type::Id)));
        for k in [VarKey::Source, VarKey::Dest, VarKey::Group] {
            s.push(k, id.clone(), None, false);
        }
        for k in [VarKey::ResponseRequired, VarKey::IsResponse, VarKey::Sync, VarKey::Blocking] {
            s.push(k, Dom::of_type(&Type::Bool), None, false);
        }
        s
    }

    /// The same space, drawing on `work` (shared by every space of one analysis).
    pub(crate) fn sharing(mut self, work: &Rc<Work>) -> Space<'p> {
        self.work = work.clone();
        self
    }

    fn push(&mut self, key: VarKey, universe: Dom, parent: Option<VarId>, req: bool) -> VarId {
        self.vars.push(Var { key: key.clone(), universe, parent, required_in_parent: req });
        self.index.insert(key, self.vars.len() - 1);
        self.vars.len() - 1
    }

    /// The declared message type of this class, if it is one.
    pub(crate) fn declared(&self) -> Option<&'p MessageDef> {
        self.message()
    }

    fn message(&self) -> Option<&'p MessageDef> {
        match self.class {
            Class::Declared(i) => self.program.messages().get(i),
            Class::Undeclared => None,
        }
    }

    /// The variable of a content path, creating it (and its parents).
    fn path_var(&mut self, path: &[String]) -> VarId {
        let key = VarKey::Path(path.to_vec());
        if let Some(&v) = self.index.get(&key) {
            return v;
        }
        let parent = (path.len() > 1).then(|| self.path_var(&path[..path.len() - 1]));
        let (universe, req) = match self.message() {
            None => (Dom::everything(), false),
            Some(m) => match declared_type(self.program, m, path) {
                None => (Dom::absent_only(), false),
                Some((ty, ancestors_optional)) => {
                    let mut d = Dom::of_type(&ty);
                    d.absent |= ancestors_optional;
                    (d, !ty.is_optional())
                }
            },
        };
        self.push(key, universe, parent, req && parent.is_some())
    }

    fn field_var(&mut self, field: &FieldRef) -> VarId {
        let key = match field {
            FieldRef::Type => VarKey::Type,
            FieldRef::Id => VarKey::Id,
            FieldRef::Source => VarKey::Source,
            FieldRef::Dest => VarKey::Dest,
            FieldRef::Group => VarKey::Group,
            FieldRef::ResponseRequired => VarKey::ResponseRequired,
            FieldRef::IsResponse => VarKey::IsResponse,
            FieldRef::Sync => VarKey::Sync,
            FieldRef::Blocking => VarKey::Blocking,
            FieldRef::Content { path, .. } | FieldRef::Dynamic { path } => {
                return self.path_var(path);
            }
        };
        self.index[&key]
    }

    /// Whether a formula reads untyped content (its findings are then approximate).
    pub(crate) fn is_approx(&self, f: &F) -> bool {
        let mut vs = Vec::new();
        f.vars(&mut vs);
        self.class == Class::Undeclared
            && vs.iter().any(|&v| matches!(self.vars[v].key, VarKey::Path(_)))
    }

    /// The condition as a formula of this class.
    pub(crate) fn compile(&mut self, cond: &Cond) -> F {
        match &cond.kind {
            CondKind::Pred(p) => {
                let var = self.field_var(&p.field);
                let (set, comp) = pred_set(&p.test, p.field.is_id());
                let u = &self.vars[var].universe;
                let (pos, neg) = (set.intersect(u), comp.intersect(u));
                if !pos.quick_nonempty() {
                    F::False
                } else if !neg.quick_nonempty() {
                    F::True
                } else {
                    F::Lit(Rc::new(LitF { var, pos, neg }), true)
                }
            }
            CondKind::And(cs) => F::and(cs.iter().map(|c| self.compile(c)).collect()),
            CondKind::Or(cs) => F::or(cs.iter().map(|c| self.compile(c)).collect()),
            CondKind::Not(c) => self.compile(c).negate(),
        }
    }

    /// Is there a message of this class satisfying every goal?
    pub(crate) fn solve(&self, goals: &[&F]) -> Answer {
        let (nodes, search) = (self.work.nodes.get(), self.work.search.get());
        let (max_nodes, max_search) = self.work.per_question;
        let (nodes_here, search_here) = (max_nodes.min(nodes), max_search.min(search));
        let mut s = Search { space: self, nodes: nodes_here, budget: search_here, unknown: false };
        let cube: Cube = vec![None; self.vars.len()];
        // `pending` is a stack: reversed, the goals are taken in order, so the
        // rule's own condition narrows the cube before the negations meet it.
        let found = s.run(cube, goals.iter().rev().copied().collect(), Vec::new(), 0);
        self.work.nodes.set(nodes - (nodes_here - s.nodes));
        self.work.search.set(search - (search_here - s.budget));
        match found {
            Some(sample) => Answer::Sat(sample),
            None if s.unknown => Answer::Unknown,
            None => Answer::Unsat,
        }
    }

    /// Turns one value per variable into a message, filling required content
    /// fields nothing constrains with defaults.
    fn sample(&self, vals: &[Option<Value>]) -> Sample {
        let ty = match (&vals[self.index[&VarKey::Type]], self.message()) {
            (_, Some(m)) => m.name.clone(),
            (Some(Value::Str(s)), None) => s.clone(),
            _ => "Unknown".to_owned(),
        };
        let mut msg = Sample::new(ty);
        let mut paths: Vec<(&Vec<String>, &Value)> = Vec::new();
        for (var, val) in self.vars.iter().zip(vals) {
            let Some(val) = val else { continue };
            match (&var.key, val) {
                (VarKey::Id, Value::Int(i)) => msg.id = *i,
                (VarKey::Source, v) => msg.source = Some(v.clone()),
                (VarKey::Dest, v) => msg.dest = Some(v.clone()),
                (VarKey::Group, v) => msg.group = Some(v.clone()),
                (VarKey::ResponseRequired, Value::Bool(b)) => msg.response_required = *b,
                (VarKey::IsResponse, Value::Bool(b)) => msg.is_response = *b,
                (VarKey::Sync, Value::Bool(b)) => msg.sync = *b,
                (VarKey::Blocking, Value::Bool(b)) => msg.blocking = *b,
                (VarKey::Path(p), v) => paths.push((p, v)),
                _ => {}
            }
        }
        // Parents before children, so every child finds its record.
        paths.sort_by_key(|(p, _)| p.len());
        for (path, v) in paths {
            insert_at(&mut msg.content, path, v.clone());
        }
        if let Some(m) = self.message() {
            fill_defaults(self.program, m, &mut msg.content, 0);
        }
        msg
    }
}

/// Puts `v` at `path`, inside the records its parents already placed.
fn insert_at(map: &mut BTreeMap<String, Value>, path: &[String], v: Value) {
    match path {
        [] => {}
        [last] => {
            map.insert(last.clone(), v);
        }
        [first, rest @ ..] => {
            if let Some(Value::Record(inner)) = map.get_mut(first) {
                insert_at(inner, rest, v);
            }
        }
    }
}

/// The declared type at `path` in `m`, and whether an enclosing field is optional.
fn declared_type(program: &Program, m: &MessageDef, path: &[String]) -> Option<(Type, bool)> {
    let mut fields = &m.fields;
    let mut optional = false;
    for (i, name) in path.iter().enumerate() {
        let f = fields.iter().find(|f| &f.name == name)?;
        if i + 1 == path.len() {
            return Some((f.ty.clone(), optional));
        }
        optional |= f.ty.is_optional();
        match f.ty.required() {
            Type::Message(inner) => fields = &program.message(inner)?.fields,
            _ => return None,
        }
    }
    None
}

/// Required fields no variable set get a plain default, so a witness is a
/// complete message of its type.
fn fill_defaults(
    program: &Program,
    m: &MessageDef,
    content: &mut BTreeMap<String, Value>,
    depth: usize,
) {
    // Recursive message types could nest without end; a witness needs no depth.
    if depth > 8 {
        return;
    }
    for f in &m.fields {
        if f.ty.is_optional() {
            continue;
        }
        let default = match &f.ty {
            Type::Bool => Value::Bool(false),
            Type::Int | Type::Id => Value::Int(0),
            Type::Float => Value::Float(0.0),
            Type::Str => Value::Str(String::new()),
            Type::List(_) => Value::List(Vec::new()),
            Type::Message(_) => Value::Record(BTreeMap::new()),
            Type::Optional(_) | Type::Any => continue,
        };
        let entry = content.entry(f.name.clone()).or_insert(default);
        if let (Type::Message(name), Value::Record(inner)) = (&f.ty, entry) {
            if let Some(def) = program.message(name) {
                fill_defaults(program, def, inner, depth + 1);
            }
        }
    }
}

struct Search<'s, 'p> {
    space: &'s Space<'p>,
    nodes: usize,
    budget: usize,
    unknown: bool,
}

/// The current domain of `v`: the cube's, or the variable's universe.
fn cur<'a>(space: &'a Space<'_>, cube: &'a Cube, v: VarId) -> &'a Dom {
    cube[v].as_ref().unwrap_or(&space.vars[v].universe)
}

/// Deepest branching the search follows before it reports "unknown".
const MAX_DEPTH: usize = 1_000;

impl Search<'_, '_> {
    /// Searches for a message in `cube` satisfying `pending` and `ors`.
    fn run<'f>(
        &mut self,
        mut cube: Cube,
        mut pending: Vec<&'f F>,
        mut ors: Vec<&'f F>,
        depth: usize,
    ) -> Option<Sample> {
        if depth > MAX_DEPTH {
            self.unknown = true;
            return None;
        }
        loop {
            if self.nodes == 0 {
                self.unknown = true;
                return None;
            }
            self.nodes = self.nodes.saturating_sub(1 + ors.len());
            while let Some(f) = pending.pop() {
                match f {
                    F::True => {}
                    F::False => return None,
                    F::Lit(l, p) => {
                        let (dom, opposite) = if *p { (&l.pos, &l.neg) } else { (&l.neg, &l.pos) };
                        let now = cur(self.space, &cube, l.var);
                        // Already implied: nothing to narrow (and nothing to allocate).
                        if !now.meets_quick(opposite) {
                            continue;
                        }
                        let new = now.intersect(dom);
                        if !new.quick_nonempty() {
                            return None;
                        }
                        cube[l.var] = Some(new);
                    }
                    F::And(cs) => pending.extend(cs.iter()),
                    F::Or(_) => ors.push(f),
                }
            }
            // A cheap guess first: the cube's simplest member often satisfies
            // every `or` already (typical of "not any earlier rule": each
            // earlier rule wants a specific literal the guess does not have),
            // which spares a deep search over independent alternatives.
            if !ors.is_empty() {
                if let Some(vals) = self.assign(&cube, false) {
                    if ors.iter().all(|f| f.holds(&vals)) {
                        return Some(self.space.sample(&vals));
                    }
                }
            }
            // Drop the `or`s the cube already satisfies; find the most constrained one.
            let mut best: Option<(usize, Vec<&'f F>)> = None;
            let mut i = 0;
            while i < ors.len() {
                let F::Or(cs) = ors[i] else {
                    i += 1;
                    continue;
                };
                let mut alive = Vec::new();
                let mut satisfied = false;
                for c in cs {
                    match c {
                        F::Lit(l, p) => {
                            let d = cur(self.space, &cube, l.var);
                            let (yes, no) = if *p { (&l.pos, &l.neg) } else { (&l.neg, &l.pos) };
                            if !d.meets_quick(no) {
                                satisfied = true;
                                break;
                            }
                            if d.meets_quick(yes) {
                                alive.push(c);
                            }
                        }
                        F::True => {
                            satisfied = true;
                            break;
                        }
                        F::False => {}
                        _ => alive.push(c),
                    }
                }
                if satisfied {
                    ors.swap_remove(i);
                    continue;
                }
                if alive.is_empty() {
                    return None;
                }
                if best.as_ref().is_none_or(|(_, a)| alive.len() < a.len()) {
                    best = Some((i, alive));
                }
                i += 1;
            }
            let Some((i, alive)) = best else {
                return self.leaf(&cube);
            };
            ors.swap_remove(i);
            if alive.len() == 1 {
                pending = alive;
                continue;
            }
            for c in alive {
                if let Some(s) = self.run(cube.clone(), vec![c], ors.clone(), depth + 1) {
                    return Some(s);
                }
            }
            return None;
        }
    }

    /// Every formula is satisfied by the cube: pick a value per variable,
    /// keeping nested content consistent (a present field needs its record).
    fn leaf(&mut self, cube: &Cube) -> Option<Sample> {
        let vals = self.assign(cube, true)?;
        Some(self.space.sample(&vals))
    }

    /// One value per variable from the cube (`None` when it has no member;
    /// `report` says whether giving up makes the whole answer unknown).
    fn assign(&mut self, cube: &Cube, report: bool) -> Option<Vec<Option<Value>>> {
        let vars = &self.space.vars;
        let mut doms: Vec<Dom> =
            (0..vars.len()).map(|v| cur(self.space, cube, v).clone()).collect();
        let records_only = Dom { records: true, ..Dom::default() };
        let mut changed = true;
        while changed {
            changed = false;
            for (v, var) in vars.iter().enumerate() {
                let Some(p) = var.parent else { continue };
                let (before_p, before_c) = (doms[p].clone(), doms[v].clone());
                if !doms[v].absent {
                    doms[p] = doms[p].intersect(&records_only);
                }
                if !doms[p].records {
                    doms[v] = doms[v].intersect(&Dom::absent_only());
                }
                if var.required_in_parent {
                    if !doms[p].absent {
                        doms[v].absent = false;
                    }
                    let mut present = doms[v].clone();
                    present.absent = false;
                    if !present.quick_nonempty() {
                        doms[p].records = false;
                    }
                }
                changed |= doms[p] != before_p || doms[v] != before_c;
            }
        }
        let mut must_record = vec![false; vars.len()];
        for (v, var) in vars.iter().enumerate() {
            if let Some(p) = var.parent {
                must_record[p] |= !doms[v].absent;
            }
        }
        let mut vals: Vec<Option<Value>> = Vec::with_capacity(vars.len());
        for (v, var) in vars.iter().enumerate() {
            let dom = &doms[v];
            let parent_record = var.parent.map(|p| matches!(vals[p], Some(Value::Record(_))));
            let pick = if var.key == VarKey::Type && self.space.class == Class::Undeclared {
                ["Unknown", "Other"]
                    .iter()
                    .map(|s| Some(Value::Str((*s).to_owned())))
                    .find(|s| dom.contains(s.as_ref()))
                    .map_or_else(|| dom.pick(&mut self.budget), Pick::Found)
            } else if must_record[v] {
                Pick::Found(Some(Value::Record(BTreeMap::new())))
            } else if parent_record == Some(false) {
                Pick::Found(None)
            } else if parent_record == Some(true) && var.required_in_parent {
                dom.pick_present(&mut self.budget).map_some()
            } else {
                dom.pick(&mut self.budget)
            };
            match pick {
                Pick::Found(val) if dom.contains(val.as_ref()) => vals.push(val),
                Pick::GaveUp => {
                    self.unknown |= report;
                    return None;
                }
                _ => return None,
            }
        }
        Some(vals)
    }
}

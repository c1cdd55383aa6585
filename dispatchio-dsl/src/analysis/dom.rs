//! Value domains: the set of values one field may take, as a union of one
//! component per value kind, each closed under intersection.
//!
//! A predicate's set (and its complement) is built here directly from its
//! test; conditions only ever intersect these sets, so every component only
//! needs intersection, emptiness and a witness, plus the union and complement
//! of the simple shapes predicates produce.

use std::collections::{BTreeMap, BTreeSet};

use super::ranges::Ranges;
use super::strings::{self, Search, TextCons, text_ok};
use crate::concrete::Value;
use crate::program::{Lit, Test, Type};
use dispatchio_model::{Glob, GlobTok};

/// Floats as totally ordered integer keys: `-0.0` is folded into `0.0`
/// (IEEE makes them equal) and NaN is kept apart, so a set of floats is a
/// [`Ranges`] of keys plus a NaN flag, and "is there a float strictly between"
/// is plain integer arithmetic.
pub(crate) fn fkey(x: f64) -> i64 {
    let x = if x == 0.0 { 0.0 } else { x };
    let b = x.to_bits() as i64;
    if b < 0 { (b ^ i64::MAX) + 1 } else { b }
}

pub(crate) fn from_fkey(k: i64) -> f64 {
    if k >= 0 { f64::from_bits(k as u64) } else { f64::from_bits(((k - 1) ^ i64::MAX) as u64) }
}

fn fkeys_all() -> Ranges {
    Ranges::span(fkey(f64::NEG_INFINITY), fkey(f64::INFINITY))
}

/// A set of `f64` values.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Floats {
    pub(crate) keys: Ranges,
    pub(crate) nan: bool,
}

impl Floats {
    fn full() -> Floats {
        Floats { keys: fkeys_all(), nan: true }
    }
    fn is_empty(&self) -> bool {
        self.keys.is_empty() && !self.nan
    }
    fn intersect(&self, o: &Floats) -> Floats {
        Floats { keys: self.keys.intersect(&o.keys), nan: self.nan && o.nan }
    }
    fn complement(&self) -> Floats {
        Floats { keys: self.keys.complement().intersect(&fkeys_all()), nan: !self.nan }
    }
    fn union(&self, o: &Floats) -> Floats {
        Floats { keys: self.keys.union(&o.keys), nan: self.nan || o.nan }
    }
    fn pick(&self) -> Option<f64> {
        match self.keys.pick() {
            Some(k) => Some(from_fkey(k)),
            None if self.nan => Some(f64::NAN),
            None => None,
        }
    }
    /// The floats `x` with `x OP c` (`ord` lists the orderings that hold).
    fn cmp(c: f64, ord: &[std::cmp::Ordering]) -> Floats {
        use std::cmp::Ordering::*;
        if c.is_nan() {
            return Floats::default();
        }
        let k = fkey(c);
        let (lo, hi) = (fkey(f64::NEG_INFINITY), fkey(f64::INFINITY));
        let mut keys = Ranges::default();
        if ord.contains(&Less) {
            keys = keys.union(&Ranges::span(lo, k - 1));
        }
        if ord.contains(&Equal) {
            keys = keys.union(&Ranges::point(k));
        }
        if ord.contains(&Greater) {
            keys = keys.union(&Ranges::span(k + 1, hi));
        }
        Floats { keys, nan: false }
    }
}

/// The ints `v` with `(v as f64) OP c`: `v as f64` is monotone, so this is
/// an interval found by binary search.
fn ints_cmp_float(c: f64, ord: &[std::cmp::Ordering]) -> Ranges {
    use std::cmp::Ordering::*;
    if c.is_nan() {
        return Ranges::default();
    }
    // Last v with (v as f64) < c, and last v with (v as f64) <= c.
    let last = |p: &dyn Fn(i64) -> bool| -> Option<i64> {
        if !p(i64::MIN) {
            return None;
        }
        let (mut lo, mut hi) = (i64::MIN as i128, i64::MAX as i128);
        while lo < hi {
            let mid = lo + (hi - lo + 1) / 2;
            if p(mid as i64) { lo = mid } else { hi = mid - 1 }
        }
        Some(lo as i64)
    };
    let below = last(&|v| (v as f64) < c);
    let upto = last(&|v| (v as f64) <= c);
    let lt = below.map_or_else(Ranges::default, |b| Ranges::span(i64::MIN, b));
    let le = upto.map_or_else(Ranges::default, |b| Ranges::span(i64::MIN, b));
    let eq = le.intersect(&lt.complement());
    let gt = le.complement();
    let mut out = Ranges::default();
    for (o, r) in [(Less, lt), (Equal, eq), (Greater, gt)] {
        if ord.contains(&o) {
            out = out.union(&r);
        }
    }
    out
}

/// A set of ints: ranges, and for IDs, constraints on the decimal text.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Ints {
    pub(crate) ranges: Ranges,
    pub(crate) text: TextCons,
}

/// A set of strings: a finite allow-list, or everything minus a finite
/// exclusion list that also satisfies the glob constraints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Strs {
    pub(crate) allowed: Option<BTreeSet<String>>,
    pub(crate) excluded: BTreeSet<String>,
    pub(crate) pats: TextCons,
}

impl Default for Strs {
    fn default() -> Strs {
        Strs { allowed: Some(BTreeSet::new()), excluded: BTreeSet::new(), pats: Vec::new() }
    }
}

impl Strs {
    fn full() -> Strs {
        Strs { allowed: None, excluded: BTreeSet::new(), pats: Vec::new() }
    }
    fn is_full(&self) -> bool {
        self.allowed.is_none() && self.excluded.is_empty() && self.pats.is_empty()
    }
    fn intersect(&self, o: &Strs) -> Strs {
        let allowed = match (&self.allowed, &o.allowed) {
            (Some(a), Some(b)) => Some(a.intersection(b).cloned().collect()),
            (Some(a), None) | (None, Some(a)) => Some(a.clone()),
            (None, None) => None,
        };
        let mut pats = self.pats.clone();
        for p in &o.pats {
            if !pats.contains(p) {
                pats.push(p.clone());
            }
        }
        let excluded = self.excluded.union(&o.excluded).cloned().collect();
        Strs { allowed, excluded, pats }.normalized()
    }
    /// A finite allow-list absorbs the other constraints.
    fn normalized(self) -> Strs {
        match self.allowed {
            Some(a) => {
                let allowed = a
                    .into_iter()
                    .filter(|s| !self.excluded.contains(s) && text_ok(&self.pats, s))
                    .collect();
                Strs { allowed: Some(allowed), excluded: BTreeSet::new(), pats: Vec::new() }
            }
            None => self,
        }
    }
    fn search(&self, budget: &mut usize) -> Search<String> {
        match &self.allowed {
            Some(a) => match a.iter().next() {
                Some(s) => Search::Found(s.clone()),
                None => Search::Empty,
            },
            // Without globs, the first short string not excluded will do.
            None if self.pats.is_empty() => {
                let mut layer = vec![String::new()];
                loop {
                    if let Some(s) = layer.iter().find(|s| !self.excluded.contains(*s)) {
                        return Search::Found(s.clone());
                    }
                    layer = layer
                        .iter()
                        .flat_map(|p| ('a'..='z').map(move |c| format!("{p}{c}")))
                        .take(self.excluded.len() + 1)
                        .collect();
                }
            }
            None => strings::find_string(&self.pats, &self.excluded, budget),
        }
    }
}

/// A list element a `contains` test looks for, compared by value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Atom {
    Bool(bool),
    Int(i64),
    /// By [`fkey`], so `0.0` and `-0.0` are one atom.
    Float(i64),
    Str(String),
}

impl Atom {
    fn value(&self) -> Value {
        match self {
            Atom::Bool(b) => Value::Bool(*b),
            Atom::Int(i) => Value::Int(*i),
            Atom::Float(k) => Value::Float(from_fkey(*k)),
            Atom::Str(s) => Value::Str(s.clone()),
        }
    }
}

/// A set of lists: lists that do (`true`) or do not (`false`) contain each atom.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Lists {
    pub(crate) any: bool,
    pub(crate) atoms: BTreeMap<Atom, bool>,
}

impl Lists {
    fn intersect(&self, o: &Lists) -> Lists {
        if !self.any || !o.any {
            return Lists::default();
        }
        let mut atoms = self.atoms.clone();
        for (a, want) in &o.atoms {
            if atoms.insert(a.clone(), *want).is_some_and(|w| w != *want) {
                return Lists::default();
            }
        }
        Lists { any: true, atoms }
    }
}

/// A set of values of one field; `absent` is the field not being there.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Dom {
    pub(crate) absent: bool,
    /// Bit 0: `false`, bit 1: `true`.
    pub(crate) bools: u8,
    pub(crate) ints: Ints,
    pub(crate) floats: Floats,
    pub(crate) strs: Strs,
    pub(crate) lists: Lists,
    /// A nested record (message content).
    pub(crate) records: bool,
}

/// The outcome of a search that may give up.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Pick<T> {
    Found(T),
    Empty,
    GaveUp,
}

impl Dom {
    /// Every value of every kind, and absence.
    pub(crate) fn everything() -> Dom {
        Dom {
            absent: true,
            bools: 3,
            ints: Ints { ranges: Ranges::full(), text: Vec::new() },
            floats: Floats::full(),
            strs: Strs::full(),
            lists: Lists { any: true, atoms: BTreeMap::new() },
            records: true,
        }
    }

    /// The values a field of type `ty` can hold (absent included for `T?`).
    pub(crate) fn of_type(ty: &Type) -> Dom {
        let mut d = Dom::default();
        match ty {
            Type::Bool => d.bools = 3,
            Type::Int => d.ints.ranges = Ranges::full(),
            Type::Float => d.floats = Floats::full(),
            Type::Str => d.strs = Strs::full(),
            Type::Id => {
                d.ints.ranges = Ranges::full();
                d.strs = Strs::full();
            }
            Type::List(_) => d.lists.any = true,
            Type::Message(_) => d.records = true,
            Type::Optional(t) => {
                d = Dom::of_type(t);
                d.absent = true;
            }
            Type::Any => d = Dom::everything(),
        }
        d
    }

    pub(crate) fn absent_only() -> Dom {
        Dom { absent: true, ..Dom::default() }
    }

    pub(crate) fn intersect(&self, o: &Dom) -> Dom {
        Dom {
            absent: self.absent && o.absent,
            bools: self.bools & o.bools,
            ints: Ints {
                ranges: self.ints.ranges.intersect(&o.ints.ranges),
                text: merge_text(&self.ints.text, &o.ints.text),
            },
            floats: self.floats.intersect(&o.floats),
            strs: self.strs.intersect(&o.strs),
            lists: self.lists.intersect(&o.lists),
            records: self.records && o.records,
        }
    }

    /// Union, for the shapes predicate sets have (see [`Dom::complement`]).
    fn union(&self, o: &Dom) -> Dom {
        debug_assert!(self.ints.text.is_empty() && o.ints.text.is_empty());
        let strs = match (&self.strs, &o.strs) {
            (a, _) | (_, a) if a.is_full() => Strs::full(),
            (Strs { allowed: Some(a), .. }, Strs { allowed: Some(b), .. }) => Strs {
                allowed: Some(a.union(b).cloned().collect()),
                excluded: BTreeSet::new(),
                pats: Vec::new(),
            },
            _ => {
                debug_assert!(false, "union of unsupported string sets");
                Strs::full()
            }
        };
        Dom {
            absent: self.absent || o.absent,
            bools: self.bools | o.bools,
            ints: Ints { ranges: self.ints.ranges.union(&o.ints.ranges), text: Vec::new() },
            floats: self.floats.union(&o.floats),
            strs,
            lists: if self.lists.any { self.lists.clone() } else { o.lists.clone() },
            records: self.records || o.records,
        }
    }

    /// The complement among all values and absence. Only defined for the
    /// shapes [`pred_set`] builds: ints are ranges or one text constraint,
    /// strings an allow-list, an exclusion list or one glob, lists at most
    /// one atom.
    fn complement(&self) -> Dom {
        let ints = if self.ints.text.is_empty() {
            Ints { ranges: self.ints.ranges.complement(), text: Vec::new() }
        } else {
            debug_assert!(self.ints.ranges.is_full() && self.ints.text.len() == 1);
            let (g, w) = &self.ints.text[0];
            Ints { ranges: Ranges::full(), text: vec![(g.clone(), !*w)] }
        };
        let s = &self.strs;
        let strs = match (&s.allowed, s.excluded.is_empty(), s.pats.len()) {
            (Some(a), _, _) => Strs { allowed: None, excluded: a.clone(), pats: Vec::new() },
            (None, false, 0) => Strs { allowed: Some(s.excluded.clone()), ..Strs::full() },
            (None, true, 0) => Strs::default(),
            (None, true, 1) => {
                Strs { pats: vec![(s.pats[0].0.clone(), !s.pats[0].1)], ..Strs::full() }
            }
            _ => {
                debug_assert!(false, "complement of an unsupported string set");
                Strs::full()
            }
        };
        let lists = match (self.lists.any, self.lists.atoms.len()) {
            (false, _) => Lists { any: true, atoms: BTreeMap::new() },
            (true, 0) => Lists::default(),
            (true, _) => {
                debug_assert!(self.lists.atoms.len() == 1);
                let (a, w) = self
                    .lists
                    .atoms
                    .iter()
                    .next()
                    .map(|(a, w)| (a.clone(), *w))
                    .unwrap_or((Atom::Bool(true), true));
                Lists { any: true, atoms: BTreeMap::from([(a, !w)]) }
            }
        };
        Dom {
            absent: !self.absent,
            bools: 3 & !self.bools,
            ints,
            floats: self.floats.complement(),
            strs,
            lists,
            records: !self.records,
        }
    }

    /// Whether some value other than absence is allowed, cheaply: this never
    /// runs a string search (globs count as possibly non-empty).
    pub(crate) fn quick_nonempty(&self) -> bool {
        self.absent
            || self.bools != 0
            || !self.ints.ranges.is_empty()
            || !self.floats.is_empty()
            || self.strs.allowed.as_ref().is_none_or(|a| !a.is_empty())
            || self.lists.any
            || self.records
    }

    /// A member: `Some(None)` for absence, `Some(Some(v))` for a value. Absence
    /// is preferred, then the simplest kinds, so witnesses stay short.
    pub(crate) fn pick(&self, budget: &mut usize) -> Pick<Option<Value>> {
        if self.absent {
            return Pick::Found(None);
        }
        self.pick_present(budget).map(Some)
    }

    /// A present member.
    pub(crate) fn pick_present(&self, budget: &mut usize) -> Pick<Value> {
        let mut gave_up = false;
        if self.bools != 0 {
            return Pick::Found(Value::Bool(self.bools & 1 == 0));
        }
        if !self.ints.ranges.is_empty() {
            if self.ints.text.is_empty() {
                if let Some(v) = self.ints.ranges.pick() {
                    return Pick::Found(Value::Int(v));
                }
            } else {
                match strings::find_int(&self.ints.ranges, &self.ints.text, budget) {
                    Search::Found(v) => return Pick::Found(Value::Int(v)),
                    Search::Empty => {}
                    Search::GaveUp => gave_up = true,
                }
            }
        }
        if let Some(x) = self.floats.pick() {
            return Pick::Found(Value::Float(x));
        }
        match self.strs.search(budget) {
            Search::Found(s) => return Pick::Found(Value::Str(s)),
            Search::Empty => {}
            Search::GaveUp => gave_up = true,
        }
        if self.lists.any {
            let items = self.lists.atoms.iter().filter(|(_, w)| **w).map(|(a, _)| a.value());
            return Pick::Found(Value::List(items.collect()));
        }
        if self.records {
            return Pick::Found(Value::Record(BTreeMap::new()));
        }
        if gave_up { Pick::GaveUp } else { Pick::Empty }
    }

    /// Whether the two sets may meet, cheaply and without allocating: false
    /// only when they certainly do not (globs count as possibly meeting).
    pub(crate) fn meets_quick(&self, o: &Dom) -> bool {
        (self.absent && o.absent)
            || self.bools & o.bools != 0
            || ranges_meet(&self.ints.ranges, &o.ints.ranges)
            || (self.floats.nan && o.floats.nan)
            || ranges_meet(&self.floats.keys, &o.floats.keys)
            || strs_meet(&self.strs, &o.strs)
            || (self.lists.any
                && o.lists.any
                && self
                    .lists
                    .atoms
                    .iter()
                    .all(|(a, w)| o.lists.atoms.get(a).is_none_or(|x| x == w)))
            || (self.records && o.records)
    }

    /// Whether `v` (`None`: absent) is a member; used to check witnesses.
    pub(crate) fn contains(&self, v: Option<&Value>) -> bool {
        match v {
            None => self.absent,
            Some(Value::Bool(b)) => self.bools & (1 << u8::from(*b)) != 0,
            Some(Value::Int(i)) => {
                self.ints.ranges.contains(*i) && text_ok(&self.ints.text, &i.to_string())
            }
            Some(Value::Float(x)) => {
                if x.is_nan() {
                    self.floats.nan
                } else {
                    self.floats.keys.contains(fkey(*x))
                }
            }
            Some(Value::Str(s)) => {
                self.strs.allowed.as_ref().is_none_or(|a| a.contains(s))
                    && !self.strs.excluded.contains(s)
                    && text_ok(&self.strs.pats, s)
            }
            Some(Value::List(items)) => {
                self.lists.any
                    && self.lists.atoms.iter().all(|(a, want)| {
                        let v = a.value();
                        items.contains(&v) == *want
                    })
            }
            Some(Value::Record(_)) => self.records,
        }
    }
}

impl Pick<Value> {
    /// As a present `Option` value.
    pub(crate) fn map_some(self) -> Pick<Option<Value>> {
        self.map(Some)
    }
}

impl<T> Pick<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Pick<U> {
        match self {
            Pick::Found(t) => Pick::Found(f(t)),
            Pick::Empty => Pick::Empty,
            Pick::GaveUp => Pick::GaveUp,
        }
    }
}

fn ranges_meet(a: &Ranges, b: &Ranges) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.0.len() && j < b.0.len() {
        let (x, y) = (a.0[i], b.0[j]);
        if x.0.max(y.0) <= x.1.min(y.1) {
            return true;
        }
        if x.1 < y.1 { i += 1 } else { j += 1 }
    }
    false
}

fn strs_meet(a: &Strs, b: &Strs) -> bool {
    match (&a.allowed, &b.allowed) {
        (Some(x), Some(y)) => {
            let (small, big) = if x.len() <= y.len() { (x, y) } else { (y, x) };
            small.iter().any(|s| big.contains(s))
        }
        (Some(x), None) => x.iter().any(|s| !b.excluded.contains(s) && text_ok(&b.pats, s)),
        (None, Some(y)) => y.iter().any(|s| !a.excluded.contains(s) && text_ok(&a.pats, s)),
        (None, None) => true,
    }
}

fn merge_text(a: &TextCons, b: &TextCons) -> TextCons {
    let mut out = a.clone();
    for p in b {
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    out
}

mod preds;
pub(crate) use preds::pred_set;

#[cfg(test)]
mod tests;

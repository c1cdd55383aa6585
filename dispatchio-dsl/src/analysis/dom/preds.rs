//! The set of values a predicate's test admits, and its complement: what
//! a formula's literal starts from (`solver`).

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use super::*;

/// The set of present values a literal equals (the `== lit` set).
pub(super) fn eq_set(l: &Lit) -> Dom {
    use std::cmp::Ordering::Equal;
    let mut d = Dom::default();
    match l {
        Lit::Bool(b) => d.bools = 1 << u8::from(*b),
        Lit::Int(n) => {
            d.ints.ranges = Ranges::point(*n);
            d.floats = Floats::cmp(*n as f64, &[Equal]);
        }
        Lit::Float(x) => {
            d.floats = Floats::cmp(*x, &[Equal]);
            d.ints.ranges = ints_cmp_float(*x, &[Equal]);
        }
        Lit::Str(s) => d.strs.allowed = Some(BTreeSet::from([s.to_string()])),
    }
    d
}

/// The present values equal to one of the literals: their points gathered,
/// then sorted into ranges once. (Folding the literals' sets with
/// [`Dom::union`] costs the size of the set so far for each literal:
/// quadratic, 35 s for `card in {0, …, 99999}`.)
pub(super) fn in_set(set: &[Lit]) -> Dom {
    let mut d = Dom::default();
    let (mut ints, mut floats, mut strs) = (Vec::new(), Vec::new(), BTreeSet::new());
    for l in set {
        let e = eq_set(l);
        d.bools |= e.bools;
        d.floats.nan |= e.floats.nan;
        ints.extend(e.ints.ranges.0);
        floats.extend(e.floats.keys.0);
        strs.extend(e.strs.allowed.into_iter().flatten());
    }
    d.ints.ranges = Ranges::of_pieces(ints);
    d.floats.keys = Ranges::of_pieces(floats);
    d.strs.allowed = Some(strs);
    d
}

/// The present values comparable with a literal.
pub(super) fn comparable_set(l: &Lit, id: bool) -> Dom {
    let mut d = Dom::default();
    match l {
        Lit::Bool(_) => d.bools = 3,
        Lit::Int(_) | Lit::Float(_) => {
            d.ints.ranges = Ranges::full();
            d.floats = Floats::full();
            if id && matches!(l, Lit::Int(_)) {
                d.strs = Strs::full();
            }
        }
        Lit::Str(_) => {
            d.strs = Strs::full();
            if id {
                d.ints.ranges = Ranges::full();
            }
        }
    }
    d
}

/// The present values `x` with `x OP lit`.
pub(super) fn cmp_set(l: &Lit, ord: &[std::cmp::Ordering]) -> Dom {
    let mut d = Dom::default();
    match l {
        Lit::Int(n) => {
            let n = *n;
            let mut r = Ranges::default();
            for o in ord {
                r = r.union(&match o {
                    std::cmp::Ordering::Less => Ranges::span(i64::MIN, n.saturating_sub(1)),
                    std::cmp::Ordering::Equal => Ranges::point(n),
                    std::cmp::Ordering::Greater => Ranges::span(n.saturating_add(1), i64::MAX),
                });
            }
            // `saturating_*` above would wrongly include MIN/MAX themselves.
            if n == i64::MIN && !ord.contains(&std::cmp::Ordering::Equal) {
                r = r.intersect(&Ranges::span(i64::MIN + 1, i64::MAX));
            }
            if n == i64::MAX && !ord.contains(&std::cmp::Ordering::Equal) {
                r = r.intersect(&Ranges::span(i64::MIN, i64::MAX - 1));
            }
            d.ints.ranges = r;
            d.floats = Floats::cmp(n as f64, ord);
        }
        Lit::Float(x) => {
            d.floats = Floats::cmp(*x, ord);
            d.ints.ranges = ints_cmp_float(*x, ord);
        }
        _ => {}
    }
    d
}

/// The glob of the literal text `s`, after a `*` and before one as asked.
pub(super) fn affixed(star_before: bool, s: &str, star_after: bool) -> Glob {
    let mut toks: Vec<_> = s.chars().map(GlobTok::Char).collect();
    if star_before {
        toks.insert(0, GlobTok::Star);
    }
    if star_after {
        toks.push(GlobTok::Star);
    }
    Glob::from_tokens(toks)
}

pub(super) fn glob_set(g: Glob, id: bool) -> Dom {
    let g = Rc::new(g);
    let mut d =
        Dom { strs: Strs { pats: vec![(g.clone(), true)], ..Strs::full() }, ..Dom::default() };
    if id {
        d.ints = Ints { ranges: Ranges::full(), text: vec![(g, true)] };
    }
    d
}

pub(super) fn atom_of(l: &Lit) -> Option<Atom> {
    Some(match l {
        Lit::Bool(b) => Atom::Bool(*b),
        Lit::Int(i) => Atom::Int(*i),
        Lit::Float(x) if x.is_nan() => return None,
        Lit::Float(x) => Atom::Float(fkey(*x)),
        Lit::Str(s) => Atom::Str(s.to_string()),
    })
}

/// The set of values (absence included) for which `test` holds, and its complement.
pub(crate) fn pred_set(test: &Test, id: bool) -> (Dom, Dom) {
    use std::cmp::Ordering::*;
    let set = match test {
        Test::Eq(l) => eq_set(l),
        Test::Ne(l) => comparable_set(l, id).intersect(&eq_set(l).complement()),
        Test::Lt(l) => cmp_set(l, &[Less]),
        Test::Le(l) => cmp_set(l, &[Less, Equal]),
        Test::Gt(l) => cmp_set(l, &[Greater]),
        Test::Ge(l) => cmp_set(l, &[Greater, Equal]),
        Test::In(set) => in_set(set),
        Test::NotIn(set) => {
            // One comparable set per kind of literal, not per literal.
            let mut kinds: Vec<&Lit> = Vec::new();
            for l in set {
                if !kinds.iter().any(|k| std::mem::discriminant(*k) == std::mem::discriminant(l)) {
                    kinds.push(l);
                }
            }
            let comparable =
                kinds.iter().fold(Dom::default(), |acc, l| acc.union(&comparable_set(l, id)));
            comparable.intersect(&in_set(set).complement())
        }
        Test::Matches(g) => glob_set(g.clone(), id),
        Test::StartsWith(s) => glob_set(affixed(false, s, true), id),
        Test::EndsWith(s) => glob_set(affixed(true, s, false), id),
        Test::Contains(l) => {
            let mut d = match l {
                Lit::Str(s) => glob_set(affixed(true, s, !s.is_empty()), id),
                _ => Dom::default(),
            };
            // `contains NaN` never holds: no list is in the set.
            if let Some(a) = atom_of(l) {
                d.lists = Lists { any: true, atoms: BTreeMap::from([(a, true)]) };
            }
            d
        }
        Test::Exists => {
            let mut d = Dom::everything();
            d.absent = false;
            d
        }
        Test::IsTrue => Dom { bools: 2, ..Dom::default() },
    };
    let complement = set.complement();
    (set, complement)
}

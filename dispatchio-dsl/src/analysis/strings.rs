//! Emptiness of boolean combinations of globs, with a witness.
//!
//! Each constraint is an automaton over the text: a glob as a position
//! automaton (the set of glob positions still alive), a list of excluded
//! words as a trie, the decimal text of an `i64` as a small automaton. All
//! run in lock step: the product is explored breadth first from the empty
//! string, so the witness is a shortest string. Characters are explored one
//! per class of characters that every constraint treats alike (the
//! boundaries are the literal characters and the class ranges), which makes
//! the search exact over the whole of Unicode with a small alphabet.
//!
//! The product can have exponentially many states (`*10*a*?` and none of
//! `*0*a*?` … `*9*a*?`: each forbidden glob on its own has seen its digit or
//! not), so a state is explored only when no explored state *covers* it
//! (see [`Part::covered`]): what it could still reach, the covering state
//! reaches too, no later. This keeps the search exact, and the witness
//! shortest, while such inputs cost a few states instead of 3ⁿ (the
//! antichains of De Wulf, Doyen, Henzinger and Raskin, "Antichains: a new
//! algorithm for checking universality of finite automata", CAV 2006).
//! Emptiness of such combinations is PSPACE-complete in general, so some
//! inputs still run out of budget: the answer is then [`Search::GaveUp`],
//! never a guess.
//!
//! Integer IDs are tested by their decimal text ([`find_int`]): a finite set
//! of allowed values is tried value by value; otherwise the texts of the
//! excluded values are words the text must not be.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use super::dom::{Ranges, TextCons, text_ok};
use crate::eval::{Glob, GlobTok};

/// The outcome of a bounded search.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Search<T> {
    Found(T),
    Empty,
    /// The search budget ran out: the answer is unknown.
    GaveUp,
}

/// Alive positions of one glob, as bits of a fixed number of words (bit
/// `p`: about to match token `p`; bit `len`: matched).
type PosSet = [u64];

/// The words a glob's positions take.
fn width(g: &Glob) -> usize {
    (g.toks.len() + 1).div_ceil(64)
}

fn has(s: &PosSet, p: usize) -> bool {
    s[p / 64] & (1 << (p % 64)) != 0
}

fn add(s: &mut PosSet, p: usize) {
    s[p / 64] |= 1 << (p % 64);
}

/// `Star` matches the empty run: a position before a star also stands after it.
fn closure(g: &Glob, s: &mut PosSet) {
    for p in 0..g.toks.len() {
        if has(s, p) && g.toks[p] == GlobTok::Star {
            add(s, p + 1);
        }
    }
}

fn start(g: &Glob, out: &mut PosSet) {
    add(out, 0);
    closure(g, out);
}

/// The positions after `c` from `s`, into `out` (zeroed).
fn step(g: &Glob, s: &PosSet, c: char, out: &mut PosSet) {
    for p in 0..g.toks.len() {
        if !has(s, p) {
            continue;
        }
        match &g.toks[p] {
            GlobTok::Star => add(out, p),
            t if t.accepts(c) => add(out, p + 1),
            _ => {}
        }
    }
    closure(g, out);
}

fn accepts(g: &Glob, s: &PosSet) -> bool {
    has(s, g.toks.len())
}

/// One representative character per class of characters all globs (and the
/// words, whose characters are given) treat alike.
fn alphabet(pats: &TextCons, words: impl Iterator<Item = char>) -> Vec<char> {
    let mut cuts: Vec<u32> = vec![0, 0xD800, 0xE000, 0x11_0000];
    cuts.extend(words.flat_map(|c| [c as u32, c as u32 + 1]));
    for (g, _) in pats {
        for t in &g.toks {
            match t {
                GlobTok::Char(c) => cuts.extend([*c as u32, *c as u32 + 1]),
                GlobTok::Class { ranges, .. } => {
                    for &(lo, hi) in ranges {
                        cuts.extend([lo as u32, hi as u32 + 1]);
                    }
                }
                GlobTok::Any | GlobTok::Star => {}
            }
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let preferred = ('a'..='z').chain('0'..='9').chain('A'..='Z').chain(['-', '_', '.']);
    let preferred: Vec<char> = preferred.collect();
    cuts.windows(2)
        .filter(|w| w[0] != 0xD800)
        .filter_map(|w| {
            let (lo, hi) = (w[0], w[1]);
            preferred
                .iter()
                .copied()
                .find(|&c| lo <= c as u32 && (c as u32) < hi)
                .or_else(|| char::from_u32(lo))
        })
        .collect()
}

/// One automaton of a product search.
enum Part<'a> {
    /// The text must (`true`) or must not (`false`) match the glob.
    Glob(&'a Glob, bool),
    /// The text must not be one of these words.
    NotWord(&'a Words),
    /// The text must be the canonical decimal text of an `i64` (`0`, `-12`,
    /// no leading zeros, no `-0`).
    Decimal,
}

/// A state of the product: every part's state in a fixed slice of one run
/// of words, so that states hash, compare and cover each other in tight
/// loops. A glob's state is its [`PosSet`]; a word list's, its trie node
/// plus one (0 once the text left the trie: it can be no excluded word any
/// more); the decimal automaton's, a [`Num`] as one word.
type Product = Box<[u64]>;

impl Part<'_> {
    fn width(&self) -> usize {
        match self {
            Part::Glob(g, _) => width(g),
            Part::NotWord(_) | Part::Decimal => 1,
        }
    }

    fn start(&self, out: &mut [u64]) {
        match self {
            Part::Glob(g, _) => start(g, out),
            Part::NotWord(_) => out[0] = 1,
            Part::Decimal => out[0] = Num::Start { neg: false }.pack(),
        }
    }

    /// The state after `c` from `s`, into `out` (zeroed).
    fn step(&self, s: &[u64], c: char, out: &mut [u64]) {
        match self {
            Part::Glob(g, _) => step(g, s, c, out),
            Part::NotWord(w) => {
                out[0] = s[0]
                    .checked_sub(1)
                    .and_then(|n| w.next(n as u32, c))
                    .map_or(0, |n| u64::from(n) + 1);
            }
            Part::Decimal => out[0] = Num::unpack(s[0]).step(c).pack(),
        }
    }

    /// Whether the text that led to `s` satisfies this constraint.
    fn holds(&self, s: &[u64]) -> bool {
        match self {
            Part::Glob(g, want) => accepts(g, s) == *want,
            Part::NotWord(w) => s[0] == 0 || !w.end[s[0] as usize - 1],
            Part::Decimal => Num::unpack(s[0]).accepts(),
        }
    }

    /// Whether no text through `s` can satisfy this constraint.
    fn dead(&self, s: &[u64]) -> bool {
        match self {
            Part::Glob(_, true) => s.iter().all(|&w| w == 0),
            Part::Glob(_, false) | Part::NotWord(_) => false,
            Part::Decimal => Num::unpack(s[0]) == Num::Dead,
        }
    }

    /// Whether `a` is no better than `b` for this constraint: every suffix
    /// that satisfies it after `a` satisfies it after `b` too. For a glob,
    /// stepping and accepting are monotone in the set of alive positions:
    /// a required glob must have no position alive in `a` that is not in
    /// `b`, a forbidden one none in `b` that is not in `a`.
    fn covered(&self, a: &[u64], b: &[u64]) -> bool {
        match self {
            Part::Glob(_, true) => a.iter().zip(b).all(|(x, y)| x & !y == 0),
            Part::Glob(_, false) => a.iter().zip(b).all(|(x, y)| y & !x == 0),
            Part::NotWord(_) => b[0] == 0 || a[0] == b[0],
            Part::Decimal => Num::unpack(a[0]).covered_by(Num::unpack(b[0])),
        }
    }
}

/// A set of words as a trie, for "the text is none of these".
pub(crate) struct Words {
    edges: HashMap<(u32, char), u32>,
    /// Per node, whether a word ends there.
    end: Vec<bool>,
}

impl Words {
    fn new<'w>(words: impl IntoIterator<Item = &'w str>) -> Words {
        let mut t = Words { edges: HashMap::new(), end: vec![false] };
        for w in words {
            let mut n = 0u32;
            for c in w.chars() {
                let next = t.end.len() as u32;
                n = *t.edges.entry((n, c)).or_insert(next);
                if n == next {
                    t.end.push(false);
                }
            }
            t.end[n as usize] = true;
        }
        t
    }

    fn next(&self, n: u32, c: char) -> Option<u32> {
        self.edges.get(&(n, c)).copied()
    }

    fn chars(&self) -> impl Iterator<Item = char> + '_ {
        self.edges.keys().map(|&(_, c)| c)
    }
}

/// Where the decimal text of an `i64` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Num {
    /// Nothing yet, or only `-`.
    Start { neg: bool },
    /// `0`, which nothing may follow.
    Zero,
    /// `count` digits, the first not zero; `cmp` is how they compare with as
    /// many leading digits of the largest magnitude (`i64::MAX`, or
    /// `i64::MIN` for a negative number).
    Digits { neg: bool, count: u8, cmp: Cmp },
    /// Not the start of any canonical text.
    Dead,
}

/// Ordered from worst to best: a smaller prefix leaves more room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Cmp {
    Greater,
    Equal,
    Less,
}

/// The largest magnitude of a 19-digit `i64`, positive and negative.
fn bound(neg: bool) -> &'static [u8; 19] {
    if neg { b"9223372036854775808" } else { b"9223372036854775807" }
}

impl Num {
    /// As one word of a [`Product`].
    fn pack(self) -> u64 {
        match self {
            Num::Dead => 0,
            Num::Start { neg } => 1 | u64::from(neg) << 2,
            Num::Zero => 2,
            Num::Digits { neg, count, cmp } => {
                3 | u64::from(neg) << 2 | u64::from(count) << 3 | (cmp as u64) << 8
            }
        }
    }

    fn unpack(w: u64) -> Num {
        let neg = w & 4 != 0;
        match w & 3 {
            1 => Num::Start { neg },
            2 => Num::Zero,
            3 => {
                let cmp = match w >> 8 {
                    0 => Cmp::Greater,
                    1 => Cmp::Equal,
                    _ => Cmp::Less,
                };
                Num::Digits { neg, count: (w >> 3 & 31) as u8, cmp }
            }
            _ => Num::Dead,
        }
    }

    fn step(self, c: char) -> Num {
        let cmp = |c: char, b: u8| match (c as u32).cmp(&u32::from(b)) {
            std::cmp::Ordering::Less => Cmp::Less,
            std::cmp::Ordering::Equal => Cmp::Equal,
            std::cmp::Ordering::Greater => Cmp::Greater,
        };
        match (self, c) {
            (Num::Start { neg: false }, '-') => Num::Start { neg: true },
            (Num::Start { neg: false }, '0') => Num::Zero,
            (Num::Start { neg }, '1'..='9') => {
                Num::Digits { neg, count: 1, cmp: cmp(c, bound(neg)[0]) }
            }
            (Num::Digits { neg, count, cmp: was }, '0'..='9') if count < 19 => Num::Digits {
                neg,
                count: count + 1,
                cmp: if was == Cmp::Equal { cmp(c, bound(neg)[count as usize]) } else { was },
            },
            _ => Num::Dead,
        }
    }

    fn accepts(self) -> bool {
        match self {
            Num::Zero => true,
            Num::Digits { count, cmp, .. } => count < 19 || cmp != Cmp::Greater,
            _ => false,
        }
    }

    /// Whether every suffix valid after `self` is valid after `other`. With
    /// more digits, fewer suffixes are valid: a suffix that fits after
    /// `self` leaves `other` short of 19 digits, where anything goes; with as
    /// many digits, `other`'s prefix must be no larger.
    fn covered_by(self, other: Num) -> bool {
        match (self, other) {
            (Num::Dead, _) => true,
            (a, b) if a == b => true,
            (
                Num::Digits { neg: n1, count: c1, cmp: m1 },
                Num::Digits { neg: n2, count: c2, cmp: m2 },
            ) => n1 == n2 && (c1 > c2 || (c1 == c2 && m1 <= m2)),
            _ => false,
        }
    }
}

/// A shortest string over `sigma` satisfying every part; spends at most
/// `budget` units of work (shared across calls). See the module doc.
fn search(parts: &[Part<'_>], sigma: &[char], budget: &mut usize) -> Search<String> {
    // Each part's slice of a product state.
    let mut at = Vec::with_capacity(parts.len());
    let mut len = 0;
    for p in parts {
        at.push(len..len + p.width());
        len += p.width();
    }
    let slices = || parts.iter().zip(at.iter().cloned());
    let good = |st: &[u64]| slices().all(|(p, r)| p.holds(&st[r]));
    let dead = |st: &[u64]| slices().any(|(p, r)| p.dead(&st[r]));
    // Covering is the hot loop (every new state against every maximal
    // one): the globs' part is two masked subset tests over all words at
    // once, the other parts are looked at one by one.
    let (mut up, mut down) = (vec![0u64; len], vec![0u64; len]);
    let mut others = Vec::new();
    for (p, r) in slices() {
        match p {
            Part::Glob(_, true) => up[r].fill(u64::MAX),
            Part::Glob(_, false) => down[r].fill(u64::MAX),
            _ => others.push((p, r.start)),
        }
    }
    let covered = |a: &[u64], b: &[u64]| {
        a.iter()
            .zip(b)
            .zip(up.iter().zip(&down))
            .all(|((x, y), (u, d))| (x & !y & u) | (y & !x & d) == 0)
            && others.iter().all(|(p, i)| p.covered(&a[*i..*i + 1], &b[*i..*i + 1]))
    };
    let mut init = vec![0; len].into_boxed_slice();
    for (p, r) in slices() {
        p.start(&mut init[r]);
    }
    // Every state explored, with the state and character it was reached by.
    let mut states: Vec<(Product, usize, char)> = vec![(init.clone(), usize::MAX, '\0')];
    let mut seen: HashSet<Product> = HashSet::from([init]);
    // The explored states no other explored state covers.
    let mut maximal: Vec<usize> = vec![0];
    let mut queue = VecDeque::from([0usize]);
    while let Some(i) = queue.pop_front() {
        if good(&states[i].0) {
            // Rebuild the string from the parent links.
            let mut chars = Vec::new();
            let mut cur = i;
            while states[cur].1 != usize::MAX {
                chars.push(states[cur].2);
                cur = states[cur].1;
            }
            return Search::Found(chars.into_iter().rev().collect());
        }
        if dead(&states[i].0) {
            continue;
        }
        for &c in sigma {
            let mut next = vec![0; len].into_boxed_slice();
            for (p, r) in slices() {
                p.step(&states[i].0[r.clone()], c, &mut next[r]);
            }
            if seen.contains(&next) {
                continue;
            }
            // One unit per state, and one per 16 comparisons with the maximal ones.
            let work = 1 + maximal.len() / 16;
            if *budget < work {
                *budget = 0;
                return Search::GaveUp;
            }
            *budget -= work;
            if maximal.iter().any(|&k| covered(&next, &states[k].0)) {
                continue;
            }
            maximal.retain(|&k| !covered(&states[k].0, &next));
            seen.insert(next.clone());
            states.push((next, i, c));
            maximal.push(states.len() - 1);
            queue.push_back(states.len() - 1);
        }
    }
    Search::Empty
}

/// A shortest string that matches every glob marked `true`, none marked
/// `false`, and is none of `excluded`; spends at most `budget` units of
/// work (shared across calls).
pub(crate) fn find_string(
    pats: &TextCons,
    excluded: &BTreeSet<String>,
    budget: &mut usize,
) -> Search<String> {
    let words = Words::new(excluded.iter().map(String::as_str));
    let mut parts: Vec<Part<'_>> = pats.iter().map(|(g, w)| Part::Glob(g, *w)).collect();
    if !excluded.is_empty() {
        parts.push(Part::NotWord(&words));
    }
    search(&parts, &alphabet(pats, words.chars()), budget)
}

/// The most values a finite set of IDs (or of excluded IDs) may have for
/// [`find_int`]; more are only written by a generated file of millions of
/// literals.
const MAX_LISTED: u128 = 1 << 24;

/// An integer in `ranges` whose decimal text (`-12`) satisfies the glob
/// constraints. Prefers non-negative numbers and short texts.
///
/// The ranges an ID field gets are finite (`== 5`, `in {…}`) or cofinite
/// (`!= 5`, `not in {…}`, or no test at all): a finite set is tried value by
/// value, smallest magnitude first; a cofinite one is the product search
/// over canonical decimal texts, the excluded values as words. Ranges that
/// are neither (no test on an ID makes them) give [`Search::GaveUp`].
pub(crate) fn find_int(ranges: &Ranges, pats: &TextCons, budget: &mut usize) -> Search<i64> {
    let holes = ranges.complement();
    if ranges.count() <= holes.count() && ranges.count() <= MAX_LISTED {
        let mut values: Vec<i64> = ranges.0.iter().flat_map(|&(lo, hi)| lo..=hi).collect();
        values.sort_unstable_by_key(|&v| (v < 0, v.unsigned_abs()));
        for v in values {
            if *budget == 0 {
                return Search::GaveUp;
            }
            *budget -= 1;
            if text_ok(pats, &v.to_string()) {
                return Search::Found(v);
            }
        }
        return Search::Empty;
    }
    if holes.count() > MAX_LISTED {
        return Search::GaveUp;
    }
    let texts: Vec<String> =
        holes.0.iter().flat_map(|&(lo, hi)| lo..=hi).map(|v| v.to_string()).collect();
    let words = Words::new(texts.iter().map(String::as_str));
    let mut parts: Vec<Part<'_>> = vec![Part::Decimal, Part::NotWord(&words)];
    parts.extend(pats.iter().map(|(g, w)| Part::Glob(g, *w)));
    // Digits before `-`: at each length, non-negative numbers first.
    let sigma: Vec<char> = ('0'..='9').chain(['-']).collect();
    match search(&parts, &sigma, budget) {
        Search::Found(text) => match text.parse::<i64>() {
            Ok(v) => Search::Found(v),
            Err(_) => Search::GaveUp,
        },
        Search::Empty => Search::Empty,
        Search::GaveUp => Search::GaveUp,
    }
}

/// Builds a constraint list from `(glob, wanted)` pairs (test helper).
#[cfg(test)]
fn cons(items: &[(&str, bool)]) -> TextCons {
    items.iter().map(|(g, w)| (std::rc::Rc::new(Glob::new(g)), *w)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(items: &[(&str, bool)]) -> Search<String> {
        find_string(&cons(items), &BTreeSet::new(), &mut 100_000)
    }

    #[test]
    fn finds_a_shortest_string_in_an_intersection_of_globs() {
        assert_eq!(string(&[("enemy-*", true), ("*-1", true)]), Search::Found("enemy-1".into()));
        let Search::Found(s) = string(&[("a*", true), ("*b", true), ("ab", false)]) else {
            panic!("expected a string");
        };
        assert!(s.len() == 3 && s.starts_with('a') && s.ends_with('b'), "{s}");
        let Search::Found(s) = string(&[("*", true), ("", false), ("[a-z]*", false)]) else {
            panic!("expected a string");
        };
        assert!(!s.is_empty() && !s.starts_with(|c: char| c.is_ascii_lowercase()));
    }

    #[test]
    fn proves_emptiness_of_contradictory_globs() {
        assert_eq!(string(&[("a*", true), ("b*", true)]), Search::Empty);
        assert_eq!(string(&[("a?", true), ("a*", false)]), Search::Empty);
        assert_eq!(
            string(&[("[a-c]", true), ("[!b]", true), ("a", false), ("c", false)]),
            Search::Empty
        );
    }

    #[test]
    fn covered_states_are_not_explored_so_many_forbidden_globs_stay_cheap() {
        // `*1*a*?` takes every string `*10*a*?` matches: no string is left.
        // The product of the eleven automata has tens of thousands of
        // reachable states (each forbidden glob on its own: digit seen or
        // not, `a` after it or not); all but a handful are covered.
        let mut items = vec![("*10*a*?".to_owned(), true)];
        items.extend((0..10).map(|k| (format!("*{k}*a*?"), false)));
        let items: Vec<(&str, bool)> = items.iter().map(|(g, w)| (g.as_str(), *w)).collect();
        let mut budget = 1_000_000;
        assert_eq!(find_string(&cons(&items), &BTreeSet::new(), &mut budget), Search::Empty);
        let spent = 1_000_000 - budget;
        assert!(spent < 200, "explored {spent} units of work");
        // Without `*0*a*?` and `*1*a*?` there is one (`10ab`), and a shortest one.
        let items: Vec<(&str, bool)> =
            items.into_iter().filter(|(g, _)| !matches!(*g, "*0*a*?" | "*1*a*?")).collect();
        let Search::Found(s) = find_string(&cons(&items), &BTreeSet::new(), &mut 1_000_000) else {
            panic!("expected a string")
        };
        assert_eq!(s.chars().count(), 4, "{s}");
    }

    #[test]
    fn integer_texts_are_searched_with_covering_too() {
        // The same shape on an ID field: `*10*1*?` and none of `*K*1*?`.
        let mut items = vec![("*10*1*?".to_owned(), true)];
        items.extend((0..10).map(|k| (format!("*{k}*1*?"), false)));
        let items: Vec<(&str, bool)> = items.iter().map(|(g, w)| (g.as_str(), *w)).collect();
        let mut budget = 1_000_000;
        assert_eq!(find_int(&Ranges::full(), &cons(&items), &mut budget), Search::Empty);
        let spent = 1_000_000 - budget;
        assert!(spent < 2_000, "explored {spent} units of work");
        // Excluded values are words the text must not be.
        let not_7 = Ranges::point(7).complement();
        assert_eq!(find_int(&not_7, &cons(&[("?", true)]), &mut 1_000), Search::Found(0));
        let not_small = Ranges::span(0, 9).complement();
        assert_eq!(find_int(&not_small, &cons(&[("*", true)]), &mut 1_000), Search::Found(10));
        assert_eq!(find_int(&not_small, &cons(&[("?", true)]), &mut 1_000), Search::Empty);
    }

    #[test]
    fn decimal_texts_stop_at_the_bounds_of_i64() {
        let mut n = Num::Start { neg: false };
        for c in "9223372036854775807".chars() {
            n = n.step(c);
        }
        assert!(n.accepts());
        assert_eq!(n.step('0'), Num::Dead);
        let mut over = Num::Start { neg: false };
        for c in "9223372036854775808".chars() {
            over = over.step(c);
        }
        assert!(!over.accepts());
        // Fewer digits leave more room: a 19-digit prefix is covered by an 18-digit one.
        assert!(over.covered_by(Num::Digits { neg: false, count: 18, cmp: Cmp::Greater }));
        assert!(!Num::Digits { neg: false, count: 18, cmp: Cmp::Less }.covered_by(over));
        assert_eq!(Num::Start { neg: true }.step('0'), Num::Dead);
    }

    #[test]
    fn finds_integers_by_their_decimal_text_within_ranges() {
        let r = Ranges::span(100, 200);
        assert_eq!(find_int(&r, &cons(&[("*7", true)]), &mut 100_000), Search::Found(107));
        assert_eq!(find_int(&r, &cons(&[("3*", true)]), &mut 100_000), Search::Empty);
        let neg = Ranges::span(-50, -1);
        assert_eq!(find_int(&neg, &cons(&[("-4?", true)]), &mut 100_000), Search::Found(-40));
        let full = Ranges::full();
        assert_eq!(
            find_int(&full, &cons(&[("9223372036854775807", true)]), &mut 100_000),
            Search::Found(i64::MAX)
        );
        assert_eq!(
            find_int(&full, &cons(&[("-9223372036854775808", true)]), &mut 100_000),
            Search::Found(i64::MIN)
        );
        assert_eq!(
            find_int(&full, &cons(&[("0*", true), ("0", false)]), &mut 100_000),
            Search::Empty
        );
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn glob() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec!["a", "b", "*", "?", "[ab]", "[!a]", "[b-c]"]),
            0..4,
        )
        .prop_map(|parts| parts.concat())
    }

    fn all_strings(len: usize) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut layer = vec![String::new()];
        for _ in 0..len {
            layer = layer
                .iter()
                .flat_map(|p| ['a', 'b', 'c', 'x'].map(|c| format!("{p}{c}")))
                .collect();
            out.extend(layer.iter().cloned());
        }
        out
    }

    fn int_glob() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec!["1", "2", "0", "-", "*", "?", "[0-4]", "[!1]"]),
            0..4,
        )
        .prop_map(|parts| parts.concat())
    }

    /// Finite sets and sets with a few values left out, as ID tests make them.
    fn id_ranges() -> impl Strategy<Value = Ranges> {
        let points = prop::collection::vec(-30i64..300, 0..6);
        (any::<bool>(), points).prop_map(|(cofinite, ps)| {
            let set = ps.iter().fold(Ranges::default(), |r, &p| r.union(&Ranges::point(p)));
            if cofinite { set.complement() } else { set }
        })
    }

    proptest! {
        /// The integer search agrees with trying every small integer.
        #[test]
        fn int_search_agrees_with_enumeration(
            ranges in id_ranges(),
            cs in prop::collection::vec((int_glob(), any::<bool>()), 1..4),
        ) {
            let pats: TextCons = cs.iter().map(|(g, w)| (std::rc::Rc::new(Glob::new(g)), *w)).collect();
            let ok = |v: i64| ranges.contains(v) && text_ok(&pats, &v.to_string());
            let brute = (-1000i64..1000).find(|&v| ok(v));
            match find_int(&ranges, &pats, &mut 1_000_000) {
                Search::Found(v) => prop_assert!(ok(v), "{v} fails {cs:?} in {ranges:?}"),
                Search::Empty => prop_assert!(brute.is_none(), "missed {brute:?} for {cs:?} in {ranges:?}"),
                Search::GaveUp => prop_assert!(false, "gave up on {cs:?}"),
            }
        }


        /// The automaton search agrees with matching every short string:
        /// a found string satisfies every constraint, and "empty" is only
        /// said when no short string does.
        #[test]
        fn glob_search_agrees_with_enumeration(cs in prop::collection::vec((glob(), any::<bool>()), 1..4)) {
            let pats: TextCons = cs.iter().map(|(g, w)| (std::rc::Rc::new(Glob::new(g)), *w)).collect();
            let ok = |s: &str| pats.iter().all(|(g, w)| g.is_match(s) == *w);
            let brute = all_strings(5).into_iter().find(|s| ok(s));
            match find_string(&pats, &BTreeSet::new(), &mut 1_000_000) {
                Search::Found(s) => {
                    prop_assert!(ok(&s), "{s:?} fails {cs:?}");
                    // Pruning keeps the witness a shortest one.
                    if let Some(b) = &brute {
                        prop_assert_eq!(s.chars().count(), b.chars().count(), "{:?} for {:?}", s, cs);
                    }
                }
                Search::Empty => prop_assert!(brute.is_none(), "missed {brute:?} for {cs:?}"),
                Search::GaveUp => prop_assert!(false, "gave up on {cs:?}"),
            }
        }
    }
}

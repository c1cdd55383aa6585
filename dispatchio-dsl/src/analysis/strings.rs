//! Emptiness of boolean combinations of globs, with a witness.
//!
//! Each glob is run as a position automaton (the set of glob positions still
//! alive), all of them in lock step: the product is explored breadth first
//! from the empty string, so the witness is a shortest string. Characters
//! are explored one per class of characters that every glob treats alike
//! (the boundaries are the literal characters and the class ranges), which
//! makes the search exact over the whole of Unicode with a small alphabet.
//!
//! Integer IDs are tested by their decimal text: [`find_int`] walks canonical
//! decimal strings digit by digit, pruned by the allowed ranges.

use std::collections::{HashMap, VecDeque};

use super::dom::{Ranges, TextCons};
use crate::eval::{Glob, GlobTok};

/// The outcome of a bounded search.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Search<T> {
    Found(T),
    Empty,
    /// The search budget ran out: the answer is unknown.
    GaveUp,
}

/// Alive positions of one glob (bit `p`: about to match token `p`; bit
/// `len`: matched).
type PosSet = Vec<u64>;

fn has(s: &PosSet, p: usize) -> bool {
    s.get(p / 64).is_some_and(|w| w & (1 << (p % 64)) != 0)
}

fn add(s: &mut PosSet, p: usize) {
    if s.len() <= p / 64 {
        s.resize(p / 64 + 1, 0);
    }
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

fn start(g: &Glob) -> PosSet {
    let mut s = Vec::new();
    add(&mut s, 0);
    closure(g, &mut s);
    s
}

fn step(g: &Glob, s: &PosSet, c: char) -> PosSet {
    let mut out = Vec::new();
    for p in 0..g.toks.len() {
        if !has(s, p) {
            continue;
        }
        match &g.toks[p] {
            GlobTok::Star => add(&mut out, p),
            t if t.accepts(c) => add(&mut out, p + 1),
            _ => {}
        }
    }
    closure(g, &mut out);
    // A canonical form (no trailing zero words) so equal sets hash alike.
    while out.last() == Some(&0) {
        out.pop();
    }
    out
}

fn accepts(g: &Glob, s: &PosSet) -> bool {
    has(s, g.toks.len())
}

/// One representative character per class of characters all globs treat alike.
fn alphabet(pats: &TextCons) -> Vec<char> {
    let mut cuts: Vec<u32> = vec![0, 0xD800, 0xE000, 0x11_0000];
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

/// A shortest string that matches every glob marked `true` and none marked
/// `false`; explores at most `budget` product states (shared across calls).
pub(crate) fn find_string(pats: &TextCons, budget: &mut usize) -> Search<String> {
    let sigma = alphabet(pats);
    let init: Vec<PosSet> = pats.iter().map(|(g, _)| start(g)).collect();
    let good = |st: &[PosSet]| pats.iter().zip(st).all(|((g, want), s)| accepts(g, s) == *want);
    // A required glob with no alive position can never match again.
    let dead = |st: &[PosSet]| pats.iter().zip(st).any(|((_, want), s)| *want && s.is_empty());
    let mut seen: HashMap<Vec<PosSet>, (usize, char)> = HashMap::new();
    let mut states: Vec<Vec<PosSet>> = vec![init.clone()];
    seen.insert(init, (usize::MAX, '\0'));
    let mut queue = VecDeque::from([0usize]);
    while let Some(i) = queue.pop_front() {
        if good(&states[i]) {
            // Rebuild the string from the parent links.
            let mut chars = Vec::new();
            let mut cur = i;
            while let Some(&(parent, c)) = seen.get(&states[cur]) {
                if parent == usize::MAX {
                    break;
                }
                chars.push(c);
                cur = parent;
            }
            return Search::Found(chars.into_iter().rev().collect());
        }
        if dead(&states[i]) {
            continue;
        }
        for &c in &sigma {
            let next: Vec<PosSet> =
                pats.iter().zip(&states[i]).map(|((g, _), s)| step(g, s, c)).collect();
            if seen.contains_key(&next) {
                continue;
            }
            if *budget == 0 {
                return Search::GaveUp;
            }
            *budget -= 1;
            seen.insert(next.clone(), (i, c));
            states.push(next);
            queue.push_back(states.len() - 1);
        }
    }
    Search::Empty
}

const MAX_DIGITS: u32 = 19;

/// An integer in `ranges` whose decimal text (`-12`) satisfies the glob
/// constraints. Tries non-negative numbers before negative ones and short
/// texts before long ones.
pub(crate) fn find_int(ranges: &Ranges, pats: &TextCons, budget: &mut usize) -> Search<i64> {
    if ranges.is_empty() {
        return Search::Empty;
    }
    let mut s = IntSearch { ranges, pats, budget, memo: HashMap::new(), gave_up: false };
    for neg in [false, true] {
        let mut st: Vec<PosSet> = pats.iter().map(|(g, _)| start(g)).collect();
        if neg {
            st = s.step_all(&st, '-');
        }
        for len in 1..=MAX_DIGITS {
            if let Some(mag) = s.digits(&st, neg, 0, len, 0) {
                let v = if neg { -mag } else { mag };
                return Search::Found(v as i64);
            }
        }
    }
    if s.gave_up { Search::GaveUp } else { Search::Empty }
}

struct IntSearch<'a> {
    ranges: &'a Ranges,
    pats: &'a TextCons,
    budget: &'a mut usize,
    /// (automaton state, digits left) -> some digit suffix leading to acceptance.
    memo: HashMap<(Vec<PosSet>, u32), Option<i128>>,
    gave_up: bool,
}

impl IntSearch<'_> {
    fn step_all(&self, st: &[PosSet], c: char) -> Vec<PosSet> {
        self.pats.iter().zip(st).map(|((g, _), s)| step(g, s, c)).collect()
    }

    fn good(&self, st: &[PosSet]) -> bool {
        self.pats.iter().zip(st).all(|((g, want), s)| accepts(g, s) == *want)
    }

    /// A required glob with no alive position can never match again.
    fn dead(&self, st: &[PosSet]) -> bool {
        self.pats.iter().zip(st).any(|((_, want), s)| *want && s.is_empty())
    }

    /// The values with this magnitude prefix, as an inclusive i128 interval.
    fn span(neg: bool, prefix: i128, left: u32) -> (i128, i128) {
        let scale = 10i128.pow(left);
        let (lo, hi) = (prefix * scale, (prefix + 1) * scale - 1);
        if neg { (-hi, -lo) } else { (lo, hi) }
    }

    /// Where the span meets the ranges: 0 nowhere, 1 partly, 2 entirely (in one range).
    fn meet(&self, (lo, hi): (i128, i128)) -> u8 {
        let (lo, hi) = (lo.max(i64::MIN as i128), hi.min(i64::MAX as i128));
        if lo > hi {
            return 0;
        }
        let r = self.ranges.intersect(&Ranges::span(lo as i64, hi as i64));
        if r.is_empty() {
            0
        } else if r.0 == [(lo as i64, hi as i64)] {
            2
        } else {
            1
        }
    }

    /// A magnitude of exactly `len` digits extending `prefix` (`done` digits so far).
    fn digits(
        &mut self,
        st: &[PosSet],
        neg: bool,
        prefix: i128,
        len: u32,
        done: u32,
    ) -> Option<i128> {
        let left = len - done;
        if self.dead(st) {
            return None;
        }
        if left == 0 {
            let v = if neg { -prefix } else { prefix };
            let ok = v >= i64::MIN as i128
                && v <= i64::MAX as i128
                && self.ranges.contains(v as i64)
                && self.good(st);
            return ok.then_some(prefix);
        }
        if done > 0 {
            match self.meet(Self::span(neg, prefix, left)) {
                0 => return None,
                // Every completion is in range: only the automaton matters.
                2 => return self.free(st, left).map(|suffix| prefix * 10i128.pow(left) + suffix),
                _ => {}
            }
        }
        for d in 0..=9u8 {
            // Canonical text: no leading zero, and no `-0`.
            if done == 0 && d == 0 && (len > 1 || neg) {
                continue;
            }
            if *self.budget == 0 {
                self.gave_up = true;
                return None;
            }
            *self.budget -= 1;
            let next = self.step_all(st, char::from(b'0' + d));
            if let Some(m) = self.digits(&next, neg, prefix * 10 + i128::from(d), len, done + 1) {
                return Some(m);
            }
        }
        None
    }

    /// The smallest `left`-digit suffix (leading zeros allowed) taking `st` to acceptance.
    fn free(&mut self, st: &[PosSet], left: u32) -> Option<i128> {
        if left == 0 {
            return self.good(st).then_some(0);
        }
        if self.dead(st) {
            return None;
        }
        let key = (st.to_vec(), left);
        if let Some(r) = self.memo.get(&key) {
            return *r;
        }
        let mut found = None;
        for d in 0..=9u8 {
            if *self.budget == 0 {
                self.gave_up = true;
                return None;
            }
            *self.budget -= 1;
            let next = self.step_all(st, char::from(b'0' + d));
            if let Some(rest) = self.free(&next, left - 1) {
                found = Some(i128::from(d) * 10i128.pow(left - 1) + rest);
                break;
            }
        }
        self.memo.insert(key, found);
        found
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
        find_string(&cons(items), &mut 100_000)
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

    proptest! {
        /// The automaton search agrees with matching every short string:
        /// a found string satisfies every constraint, and "empty" is only
        /// said when no short string does.
        #[test]
        fn glob_search_agrees_with_enumeration(cs in prop::collection::vec((glob(), any::<bool>()), 1..4)) {
            let pats: TextCons = cs.iter().map(|(g, w)| (std::rc::Rc::new(Glob::new(g)), *w)).collect();
            let ok = |s: &str| pats.iter().all(|(g, w)| g.is_match(s) == *w);
            let brute = all_strings(5).into_iter().find(|s| ok(s));
            match find_string(&pats, &mut 1_000_000) {
                Search::Found(s) => prop_assert!(ok(&s), "{s:?} fails {cs:?}"),
                Search::Empty => prop_assert!(brute.is_none(), "missed {brute:?} for {cs:?}"),
                Search::GaveUp => prop_assert!(false, "gave up on {cs:?}"),
            }
        }
    }
}

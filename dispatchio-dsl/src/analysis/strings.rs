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

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::rc::Rc;

use rustc_hash::FxHashSet;

use super::ranges::Ranges;
use dispatchio_model::{Glob, GlobTok};

/// A glob constraint: the text must (`true`) or must not (`false`) match.
pub(crate) type TextCons = Vec<(Rc<Glob>, bool)>;

/// Whether `s` satisfies every glob constraint.
pub(crate) fn text_ok(pats: &TextCons, s: &str) -> bool {
    pats.iter().all(|(g, want)| g.is_match(s) == *want)
}

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

/// A glob as bit masks over its positions, for one alphabet: the positions
/// before a `*`, and per character those whose token accepts it. A step is
/// then a few word operations (the glob's positions run in parallel, as in
/// Glushkov's automaton), not a walk over its tokens.
struct Bits {
    /// Tokens: bit `len` is "matched".
    len: usize,
    width: usize,
    star: Vec<u64>,
    /// Per character of the alphabet, `width` words.
    accept: Vec<u64>,
}

impl Bits {
    fn new(g: &Glob, sigma: &[char]) -> Bits {
        let width = (g.tokens().len() + 1).div_ceil(64);
        let set = |v: &mut [u64], p: usize| v[p / 64] |= 1 << (p % 64);
        let mut star = vec![0; width];
        let mut accept = vec![0; width * sigma.len()];
        for (p, t) in g.tokens().iter().enumerate() {
            if *t == GlobTok::Star {
                set(&mut star, p);
                continue;
            }
            for (k, &c) in sigma.iter().enumerate() {
                if t.accepts(c) {
                    set(&mut accept[k * width..(k + 1) * width], p);
                }
            }
        }
        Bits { len: g.tokens().len(), width, star, accept }
    }

    /// `*` matches the empty run: a position before a star also stands
    /// after it. (The parser merges runs of stars, so a position after a
    /// star is never another star's.)
    fn close(&self, s: &mut PosSet) {
        let mut carry = 0;
        for (w, star) in s.iter_mut().zip(&self.star) {
            let t = *w & star;
            *w |= (t << 1) | carry;
            carry = t >> 63;
        }
    }

    fn start(&self, out: &mut PosSet) {
        out[0] = 1;
        self.close(out);
    }

    /// The positions after the alphabet's character `k` from `s`, into `out`.
    fn step(&self, s: &PosSet, k: usize, out: &mut PosSet) {
        let accept = &self.accept[k * self.width..(k + 1) * self.width];
        let mut carry = 0;
        for ((o, (w, a)), star) in out.iter_mut().zip(s.iter().zip(accept)).zip(&self.star) {
            let t = w & a;
            *o = (w & star) | (t << 1) | carry;
            carry = t >> 63;
        }
        self.close(out);
    }

    fn accepts(&self, s: &PosSet) -> bool {
        s[self.len / 64] & (1 << (self.len % 64)) != 0
    }
}

/// One representative character per class of characters all globs (and the
/// words, whose characters are given) treat alike.
fn alphabet(pats: &TextCons, words: impl Iterator<Item = char>) -> Vec<char> {
    let mut cuts: Vec<u32> = vec![0, 0xD800, 0xE000, 0x11_0000];
    cuts.extend(words.flat_map(|c| [c as u32, c as u32 + 1]));
    for (g, _) in pats {
        for t in g.tokens() {
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
    Glob(Bits, bool),
    /// The text must not be one of these words.
    NotWord(&'a Words),
    /// The text must be the canonical decimal text of an `i64` (`0`, `-12`,
    /// no leading zeros, no `-0`).
    Decimal,
}

/// A state of the product is every part's state in a fixed slice of one
/// run of words, so that states hash, compare and cover each other in tight
/// loops. A glob's state is its [`PosSet`]; a word list's, its trie node
/// plus one (0 once the text left the trie: it can be no excluded word any
/// more); the decimal automaton's, a [`Num`] as one word.
impl Part<'_> {
    /// The globs of `pats`, as parts of a search over `sigma`.
    fn globs(pats: &TextCons, sigma: &[char]) -> Vec<Part<'static>> {
        pats.iter().map(|(g, w)| Part::Glob(Bits::new(g, sigma), *w)).collect()
    }

    fn width(&self) -> usize {
        match self {
            Part::Glob(b, _) => b.width,
            Part::NotWord(_) | Part::Decimal => 1,
        }
    }

    fn start(&self, out: &mut [u64]) {
        match self {
            Part::Glob(b, _) => b.start(out),
            Part::NotWord(_) => out[0] = 1,
            Part::Decimal => out[0] = Num::Start { neg: false }.pack(),
        }
    }

    /// The state after `c`, the alphabet's character `k`, from `s`, into `out`.
    fn step(&self, s: &[u64], k: usize, c: char, out: &mut [u64]) {
        match self {
            Part::Glob(b, _) => b.step(s, k, out),
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
            Part::Glob(b, want) => b.accepts(s) == *want,
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
    /// As one word of a product state.
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
    // one): the globs' part is masked subset tests over all words at once,
    // the other parts are looked at one by one.
    let (mut up, mut down) = (vec![0u64; len], vec![0u64; len]);
    let mut others = Vec::new();
    for (p, r) in slices() {
        match p {
            Part::Glob(_, true) => up[r].fill(u64::MAX),
            Part::Glob(_, false) => down[r].fill(u64::MAX),
            _ => others.push((p, r.start)),
        }
    }
    // Whether `a` is covered by `b`, and `b` by `a`, in one pass.
    let covering = |a: &[u64], b: &[u64]| {
        let (mut ab, mut ba) = (0, 0);
        for (((x, y), u), d) in a.iter().zip(b).zip(&up).zip(&down) {
            let (only_a, only_b) = (x & !y, y & !x);
            ab |= (only_a & u) | (only_b & d);
            ba |= (only_b & u) | (only_a & d);
            if ab != 0 && ba != 0 {
                return (false, false);
            }
        }
        let (mut ab, mut ba) = (ab == 0, ba == 0);
        for (p, i) in &others {
            let (x, y) = (&a[*i..*i + 1], &b[*i..*i + 1]);
            ab = ab && p.covered(x, y);
            ba = ba && p.covered(y, x);
        }
        (ab, ba)
    };
    let mut init = vec![0; len];
    for (p, r) in slices() {
        p.start(&mut init[r]);
    }
    // The explored states no other explored state covers: their words, one
    // after another, so the covering test scans them in order rather than
    // chasing a pointer per state.
    let mut maximal: Vec<u64> = init.clone();
    // Every state explored: its words (state `k` at `k * len`), and the
    // state and character it was reached by.
    let mut words: Vec<u64> = init.clone();
    let mut links: Vec<(usize, char)> = vec![(usize::MAX, '\0')];
    // The states are this search's own words: no need for SipHash's
    // defence against chosen keys, and FxHash is several times faster.
    let mut seen: FxHashSet<Box<[u64]>> = FxHashSet::default();
    seen.insert(init.into_boxed_slice());
    let mut next = vec![0u64; len];
    let mut queue = VecDeque::from([0usize]);
    while let Some(i) = queue.pop_front() {
        let here = i * len..(i + 1) * len;
        if good(&words[here.clone()]) {
            // Rebuild the string from the parent links.
            let mut chars = Vec::new();
            let mut cur = i;
            while links[cur].0 != usize::MAX {
                chars.push(links[cur].1);
                cur = links[cur].0;
            }
            return Search::Found(chars.into_iter().rev().collect());
        }
        if dead(&words[here.clone()]) {
            continue;
        }
        for (k, &c) in sigma.iter().enumerate() {
            for (p, r) in slices() {
                p.step(&words[here.start + r.start..here.start + r.end], k, c, &mut next[r]);
            }
            if seen.contains(next.as_slice()) {
                continue;
            }
            // A unit is about one maximal state compared with this one (or
            // 64 of their words; three times that once they no longer fit
            // in a core's cache, 1 MiB), 3 words stepped, hashed and stored,
            // or a quarter of a state's fixed cost (looking it up, storing
            // it): 10 to 30 ns on the machine of docs/benchmarks.md.
            let count = maximal.len() / len.max(1);
            let scan = count * (len + 48) * if maximal.len() > 1 << 17 { 3 } else { 1 };
            let work = 12 + (24 * len + scan) / 64;
            if *budget < work {
                *budget = 0;
                return Search::GaveUp;
            }
            *budget -= work;
            // One pass over the maximal states: stop if one covers the new
            // state, and drop (in place) those the new state covers. (Both
            // cannot happen: the maximal states cover none of each other.)
            let (mut kept, mut covered) = (0, false);
            for k in 0..count {
                let m = k * len..(k + 1) * len;
                let (new_in_old, old_in_new) = covering(&next, &maximal[m.clone()]);
                if new_in_old {
                    maximal.copy_within(k * len.., kept * len);
                    kept += count - k;
                    covered = true;
                    break;
                }
                if !old_in_new {
                    maximal.copy_within(m, kept * len);
                    kept += 1;
                }
            }
            maximal.truncate(kept * len);
            if covered {
                continue;
            }
            maximal.extend_from_slice(&next);
            seen.insert(next.clone().into_boxed_slice());
            #[cfg(test)]
            tests::EXPLORED.with(|n| n.set(n.get() + 1));
            words.extend_from_slice(&next);
            links.push((i, c));
            queue.push_back(links.len() - 1);
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
    let sigma = alphabet(pats, words.chars());
    let mut parts = Part::globs(pats, &sigma);
    if !excluded.is_empty() {
        parts.push(Part::NotWord(&words));
    }
    search(&parts, &sigma, budget)
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
    // Digits before `-`: at each length, non-negative numbers first.
    let sigma: Vec<char> = ('0'..='9').chain(['-']).collect();
    let mut parts: Vec<Part<'_>> = vec![Part::Decimal, Part::NotWord(&words)];
    parts.extend(Part::globs(pats, &sigma));
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
mod tests;

#[cfg(test)]
mod props;

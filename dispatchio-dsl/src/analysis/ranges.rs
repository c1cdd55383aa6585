//! Sets of integers as sorted, disjoint inclusive ranges: the integer
//! component of a value domain (`dom`), and the integer IDs whose decimal
//! text the string search tests (`strings`).

/// Sorted, disjoint, non-adjacent inclusive ranges of `i64`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Ranges(pub(crate) Vec<(i64, i64)>);

impl Ranges {
    pub(crate) fn full() -> Ranges {
        Ranges(vec![(i64::MIN, i64::MAX)])
    }
    pub(crate) fn span(lo: i64, hi: i64) -> Ranges {
        if lo <= hi { Ranges(vec![(lo, hi)]) } else { Ranges(Vec::new()) }
    }
    pub(crate) fn point(v: i64) -> Ranges {
        Ranges(vec![(v, v)])
    }
    /// The union of inclusive ranges given in any order (sorted, then
    /// merged where they overlap or touch).
    pub(crate) fn of_pieces(mut pieces: Vec<(i64, i64)>) -> Ranges {
        pieces.retain(|(lo, hi)| lo <= hi);
        pieces.sort_unstable();
        let mut out: Vec<(i64, i64)> = Vec::with_capacity(pieces.len());
        for (lo, hi) in pieces {
            match out.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        Ranges(out)
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub(crate) fn is_full(&self) -> bool {
        self.0 == [(i64::MIN, i64::MAX)]
    }
    pub(crate) fn contains(&self, v: i64) -> bool {
        let i = self.0.partition_point(|&(_, hi)| hi < v);
        self.0.get(i).is_some_and(|&(lo, _)| lo <= v)
    }
    /// How many values, saturating.
    pub(crate) fn count(&self) -> u128 {
        self.0.iter().map(|&(lo, hi)| (hi as i128 - lo as i128 + 1) as u128).sum()
    }
    pub(crate) fn intersect(&self, other: &Ranges) -> Ranges {
        let (mut i, mut j, mut out) = (0, 0, Vec::new());
        while i < self.0.len() && j < other.0.len() {
            let (a, b) = (self.0[i], other.0[j]);
            let lo = a.0.max(b.0);
            let hi = a.1.min(b.1);
            if lo <= hi {
                out.push((lo, hi));
            }
            if a.1 < b.1 { i += 1 } else { j += 1 }
        }
        Ranges(out)
    }
    pub(crate) fn complement(&self) -> Ranges {
        let mut out = Vec::new();
        let mut next = Some(i64::MIN);
        for &(lo, hi) in &self.0 {
            if let Some(n) = next {
                if n < lo {
                    out.push((n, lo - 1));
                }
            }
            next = hi.checked_add(1);
        }
        if let Some(n) = next {
            out.push((n, i64::MAX));
        }
        Ranges(out)
    }
    pub(crate) fn union(&self, other: &Ranges) -> Ranges {
        self.complement().intersect(&other.complement()).complement()
    }
    /// A member, preferring small magnitudes so witnesses read well.
    pub(crate) fn pick(&self) -> Option<i64> {
        if self.contains(0) {
            return Some(0);
        }
        self.0.iter().map(|&(lo, hi)| if lo > 0 { lo } else { hi }).min_by_key(|v| v.unsigned_abs())
    }
}

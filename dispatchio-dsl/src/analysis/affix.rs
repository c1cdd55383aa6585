//! The literal start and end of `matches` patterns, for the candidate index.
//!
//! Two rules whose patterns on one field start with different literal text
//! (`sensor-1-*` and `sensor-2-*`), or end with it, share no message: one
//! text cannot start with both. Without this, a table of prefix rules put
//! every rule in every other's questions ("this rule and none of the
//! earlier ones"), so each question carried all the earlier patterns:
//! cubic time, 210 s for 500 rules `topic matches "sensor-K-*"`. Rules are
//! indexed by their prefix (or, without one, their suffix), so a rule is
//! only compared with rules whose prefix is a prefix of its own, or the
//! other way round.

use std::collections::HashMap;

use dispatchio_model::{Glob, GlobTok};

use super::solver::{F, VarId};

/// The affixes a formula requires of its variables: those of its glob
/// literals, and of the conjunctions of them (an `or` requires none).
pub(super) fn affixes_of(f: &F) -> HashMap<VarId, Affix> {
    let mut out: HashMap<VarId, Affix> = HashMap::new();
    match f {
        F::Lit(..) => out.extend(literal_affix(f)),
        F::And(cs) => {
            for (v, a) in cs.iter().flat_map(affixes_of) {
                let both = out.get(&v).map_or_else(|| a.clone(), |old| old.and(&a));
                out.insert(v, both);
            }
        }
        F::Or(_) | F::True | F::False => {}
    }
    out
}

/// The literal text a glob's matches start and end with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Affix {
    prefix: String,
    /// Reversed, so that "ends with" is also "starts with".
    suffix: String,
}

impl Affix {
    pub(crate) fn of(g: &Glob) -> Affix {
        let lit = |t: &dispatchio_model::OwnedGlobTok| {
            if let GlobTok::Char(c) = t { Some(*c) } else { None }
        };
        let prefix: String = g.tokens().iter().map_while(lit).collect();
        // A glob of literals only is all prefix; its suffix is the same text.
        let suffix: String = g.tokens().iter().rev().map_while(lit).collect();
        Affix { prefix, suffix }
    }

    /// Both requirements at once (a rule with two patterns on one field).
    pub(crate) fn and(&self, o: &Affix) -> Affix {
        let longer =
            |a: &String, b: &String| if a.len() >= b.len() { a.clone() } else { b.clone() };
        Affix { prefix: longer(&self.prefix, &o.prefix), suffix: longer(&self.suffix, &o.suffix) }
    }

    /// Whether one text can have both: each prefix extends the other, and
    /// each suffix.
    pub(crate) fn meets(&self, o: &Affix) -> bool {
        let nested = |a: &str, b: &str| a.starts_with(b) || b.starts_with(a);
        nested(&self.prefix, &o.prefix) && nested(&self.suffix, &o.suffix)
    }
}

/// Rules by the affix they require of one variable.
pub(super) struct Index {
    var: VarId,
    /// Rules with a prefix on `var`, by prefix.
    by_prefix: Vec<(String, usize)>,
    /// Rules with only a suffix on `var`, by (reversed) suffix.
    by_suffix: Vec<(String, usize)>,
    /// Rules with neither (or no pattern on `var`).
    wild: Vec<usize>,
}

impl Index {
    /// Indexes `rules` (each rule's affixes by variable, `None` for an
    /// absent rule) on the variable most of them constrain; `None` when no
    /// rule has an affix.
    pub(super) fn new(rules: &[Option<&HashMap<VarId, Affix>>]) -> Option<Index> {
        let mut freq: HashMap<VarId, usize> = HashMap::new();
        for r in rules.iter().flatten() {
            for (v, a) in r.iter() {
                if !a.prefix.is_empty() || !a.suffix.is_empty() {
                    *freq.entry(*v).or_default() += 1;
                }
            }
        }
        let var = freq.into_iter().max_by_key(|&(v, n)| (n, std::cmp::Reverse(v)))?.0;
        let mut index =
            Index { var, by_prefix: Vec::new(), by_suffix: Vec::new(), wild: Vec::new() };
        for (i, r) in rules.iter().enumerate() {
            let Some(r) = r else { continue };
            match r.get(&var) {
                Some(a) if !a.prefix.is_empty() => index.by_prefix.push((a.prefix.clone(), i)),
                Some(a) if !a.suffix.is_empty() => index.by_suffix.push((a.suffix.clone(), i)),
                _ => index.wild.push(i),
            }
        }
        index.by_prefix.sort_unstable();
        index.by_suffix.sort_unstable();
        Some(index)
    }

    /// The rules that may share a text with a rule requiring `affixes`
    /// (unsorted, may repeat); `None` when the rule has no affix on the
    /// indexed variable (every rule may).
    pub(super) fn pool(&self, affixes: &HashMap<VarId, Affix>) -> Option<Vec<usize>> {
        let a = affixes.get(&self.var)?;
        let (mine, same, other) = if !a.prefix.is_empty() {
            (&a.prefix, &self.by_prefix, &self.by_suffix)
        } else if !a.suffix.is_empty() {
            (&a.suffix, &self.by_suffix, &self.by_prefix)
        } else {
            return None;
        };
        let mut out: Vec<usize> = self.wild.clone();
        // Indexed by the other end: nothing known about this one.
        out.extend(other.iter().map(|(_, i)| *i));
        // Those whose text extends mine: a run of the sorted list…
        let from = same.partition_point(|(p, _)| p.as_str() < mine.as_str());
        out.extend(
            same[from..].iter().take_while(|(p, _)| p.starts_with(mine.as_str())).map(|(_, i)| *i),
        );
        // …and those whose text mine extends: one lookup per shorter start.
        for (k, _) in mine.char_indices().skip(1) {
            let head = &mine[..k];
            let at = same.partition_point(|(p, _)| p.as_str() < head);
            out.extend(same[at..].iter().take_while(|(p, _)| p == head).map(|(_, i)| *i));
        }
        Some(out)
    }
}

/// The literal start and end of the one glob a positive literal requires
/// (`matches "sensor-*"`, `starts_with`, `ends_with`, `contains`), for the
/// candidate index; `None` for anything else.
pub(crate) fn literal_affix(f: &F) -> Option<(VarId, Affix)> {
    let F::Lit(l, p) = f else { return None };
    let d = l.set(*p);
    let [(glob, true)] = d.strs.pats.as_slice() else { return None };
    // The ints of an ID field are its decimal texts under the same glob.
    let ints_ok = d.ints.ranges.is_empty()
        || (d.ints.ranges.is_full()
            && d.ints.text.len() == 1
            && d.ints.text[0] == (glob.clone(), true));
    let only_text = !d.absent
        && d.bools == 0
        && d.floats.keys.is_empty()
        && !d.floats.nan
        && d.strs.allowed.is_none()
        && d.strs.excluded.is_empty()
        && !d.lists.any
        && !d.records;
    (only_text && ints_ok).then(|| (l.var, Affix::of(glob)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affixes_meet_only_when_one_extends_the_other_at_both_ends() {
        let a = |g: &str| Affix::of(&Glob::new(g));
        assert!(!a("sensor-1-*").meets(&a("sensor-2-*")));
        assert!(!a("sensor-1-*").meets(&a("sensor-10-*")));
        assert!(a("sensor-*").meets(&a("sensor-1-*")));
        assert!(a("*.log").meets(&a("app-*")));
        assert!(!a("*.log").meets(&a("*.txt")));
        assert!(!a("x").meets(&a("y")));
        assert!(a("*a*").meets(&a("*b*")));
    }

    #[test]
    fn the_pool_holds_exactly_the_rules_whose_prefix_nests_with_mine() {
        let globs = ["sensor-*", "sensor-1-*", "sensor-10-*", "sensor-2-*", "*.log", "*x*"];
        let maps: Vec<HashMap<VarId, Affix>> =
            globs.iter().map(|g| HashMap::from([(7, Affix::of(&Glob::new(g)))])).collect();
        let index = Index::new(&maps.iter().map(Some).collect::<Vec<_>>()).unwrap();
        let mut pool = index.pool(&maps[1]).unwrap();
        pool.sort_unstable();
        pool.dedup();
        // `sensor-*` (shorter), itself, the suffix rule `*.log` and the wild `*x*`.
        assert_eq!(pool, [0, 1, 4, 5]);
        let mut pool = index.pool(&maps[0]).unwrap();
        pool.sort_unstable();
        assert_eq!(pool, [0, 1, 2, 3, 4, 5]);
    }
}

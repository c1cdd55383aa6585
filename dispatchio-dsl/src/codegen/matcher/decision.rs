//! One decision: a run of rules that each constrain one field (the message
//! ID, an int or string content field) to values or ranges, made one
//! `match` on the field's value instead of a test per rule. Integer points
//! are matched as values, integer ranges as segments of the number line
//! (counted by a division where the boundaries are evenly spaced, searched
//! otherwise), strings by their hash.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Literal, TokenStream};
use quote::{ToTokens, quote};

use super::Ret;
use super::chains::{Item, Key};
use super::read::{Gen, Mode, Read};
use crate::codegen::rt;
use crate::codegen::types::int_tokens;
use crate::program::{FieldRef, MessageDef, Type};
use dispatchio_model::str_hash;

impl<'a> Gen<'a> {
    /// The decision over `field` for items with their constraints on it.
    pub(super) fn decision(
        &self,
        field: &FieldRef,
        items: &[(Key, Item<'a>)],
        m: &MessageDef,
        ret: Ret,
    ) -> Option<TokenStream> {
        let (read, leaf) = match field {
            FieldRef::Id => (Read::Direct(quote!(env.id.0)), Type::Int),
            FieldRef::Content { path, .. } => self.typed_read(m, path),
            _ => return None,
        };
        // An arm whose first candidate always stops is a *hit*: the arm
        // only yields that rule and its steps, and one `fired.stop` after
        // the `match` records it. Big tables are mostly such arms; as data
        // they cost the compiler (and the instruction cache) far less than
        // a copy of `fired.stop` each.
        let hits = items.iter().any(|(_, it)| is_hit(it));
        let arms = Arms { generator: self, items, mode: Mode::Typed(m), ret, hits };
        let body = match &leaf {
            Type::Int => {
                let ivs: Vec<&Vec<(i64, i64)>> = items
                    .iter()
                    .map(|(k, _)| match k {
                        Key::Ints(v) => Some(v),
                        Key::Strs(_) => None,
                    })
                    .collect::<Option<_>>()?;
                if ivs.iter().all(|v| v.iter().all(|(l, h)| l == h)) {
                    arms.int_points(&ivs)
                } else {
                    arms.int_ranges(&ivs)?
                }
            }
            Type::Str => {
                let sets: Vec<&BTreeSet<String>> = items
                    .iter()
                    .map(|(k, _)| match k {
                        Key::Strs(s) => Some(s),
                        Key::Ints(_) => None,
                    })
                    .collect::<Option<_>>()?;
                arms.strings(&sets)
            }
            _ => return None,
        };
        let bind = match (&leaf, read) {
            (Type::Int, Read::Direct(place)) => quote!(let v: i64 = #place;),
            (Type::Str, Read::Direct(place)) => quote!(let v: &str = #place.as_str();),
            (Type::Int, Read::Opt(opt)) => {
                return Some(quote!(if let ::std::option::Option::Some(&v) = #opt { #body }));
            }
            (Type::Str, Read::Opt(opt)) => {
                return Some(
                    quote!(if let ::std::option::Option::Some(v) = #opt { let v: &str = v.as_str(); #body }),
                );
            }
            _ => return None,
        };
        Some(quote!({ #bind #body }))
    }
}

/// Whether an item always stops when tried: its arm can be a hit.
fn is_hit(it: &Item<'_>) -> bool {
    matches!(it.cond, super::classes::P::Const(true)) && !it.rule.continues()
}

/// What a decision's arms are made of: the items, each constrained on the
/// decided field, and how a stop returns.
struct Arms<'g, 'a> {
    generator: &'g Gen<'a>,
    items: &'g [(Key, Item<'a>)],
    mode: Mode<'g>,
    ret: Ret,
    /// Whether some arm is a hit (see [`Gen::decision`]).
    hits: bool,
}

impl Arms<'_, '_> {
    /// An arm's right-hand side, with its comma: the candidates of the arm
    /// (the items admitting its values, `members`, in order).
    fn rhs(&self, members: &[usize]) -> TokenStream {
        let first = &self.items[members[0]].1;
        if self.hits && is_hit(first) {
            let i = first.index;
            let steps = self.generator.layout.steps(&first.rule.actions);
            return quote!(::std::option::Option::Some((#i, #steps)),);
        }
        let sub: Vec<Item<'_>> = members.iter().map(|&k| self.items[k].1.clone()).collect();
        match self.generator.chain_ends(&sub, self.mode, self.ret) {
            (body, false) if self.hits => quote!({ #body ::std::option::Option::None }),
            (body, _) => quote!({ #body }),
        }
    }

    /// The arms of `groups` (each list of members to the patterns that
    /// admit exactly those, patterns ascending), in the order of their
    /// first patterns.
    fn arms<T: Copy + Ord + ToTokens>(
        &self,
        groups: BTreeMap<Vec<usize>, Vec<T>>,
        pattern: impl Fn(T) -> TokenStream,
    ) -> Vec<TokenStream> {
        let mut arms: Vec<(T, TokenStream)> = groups
            .into_iter()
            .map(|(members, patterns)| {
                let pats = patterns.iter().map(|p| pattern(*p));
                let rhs = self.rhs(&members);
                (patterns[0], quote!(#(#pats)|* => #rhs))
            })
            .collect();
        arms.sort_by_key(|(first, _)| *first);
        arms.into_iter().map(|(_, a)| a).collect()
    }

    /// The `match` over `scrutinee` with these arms, and the hit's record.
    fn decide(&self, scrutinee: TokenStream, arms: Vec<TokenStream>) -> TokenStream {
        if !self.hits {
            return quote!(match #scrutinee { #(#arms)* _ => {} });
        }
        let rt = rt();
        let stopped = self.ret.stopped();
        quote! {
            let hit: ::std::option::Option<(usize, &'static [#rt::Step])> = match #scrutinee {
                #(#arms)*
                _ => ::std::option::Option::None,
            };
            if let ::std::option::Option::Some((rule, steps)) = hit {
                fired.stop(rule, steps);
                #stopped
            }
        }
    }

    /// Every item admits single values: arms by value, values admitted by
    /// the same items sharing one.
    fn int_points(&self, ivs: &[&Vec<(i64, i64)>]) -> TokenStream {
        let mut by_value: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for (k, v) in ivs.iter().enumerate() {
            for &(x, _) in v.iter() {
                by_value.entry(x).or_default().push(k);
            }
        }
        let mut groups: BTreeMap<Vec<usize>, Vec<i64>> = BTreeMap::new();
        for (x, members) in by_value {
            groups.entry(members).or_default().push(x);
        }
        self.decide(quote!(v), self.arms(groups, int_tokens))
    }

    /// Ranges: the number line cut at every range's ends, arms by segment.
    /// `None` when wide overlapping ranges would copy rules into many arms.
    fn int_ranges(&self, ivs: &[&Vec<(i64, i64)>]) -> Option<TokenStream> {
        let mut cuts = BTreeSet::new();
        for v in ivs {
            for &(l, h) in v.iter() {
                if l > i64::MIN {
                    cuts.insert(l);
                }
                if h < i64::MAX {
                    cuts.insert(h + 1);
                }
            }
        }
        let cuts: Vec<i64> = cuts.into_iter().collect();
        let mut groups: BTreeMap<Vec<usize>, Vec<usize>> = BTreeMap::new();
        let mut total = 0;
        for seg in 0..=cuts.len() {
            let rep = if seg == 0 { i64::MIN } else { cuts[seg - 1] };
            let members: Vec<usize> = ivs
                .iter()
                .enumerate()
                .filter(|(_, v)| v.iter().any(|&(l, h)| l <= rep && rep <= h))
                .map(|(k, _)| k)
                .collect();
            total += members.len();
            if !members.is_empty() {
                groups.entry(members).or_default().push(seg);
            }
        }
        if total > 4 * self.items.len() + 16 {
            return None;
        }
        let arms = self.arms(groups, |seg| quote!(#seg));
        // Evenly spaced boundaries (buckets of one width) are counted with
        // one division instead of a search.
        let step = cuts.get(1).zip(cuts.first()).map(|(b, a)| i128::from(*b) - i128::from(*a));
        let even = cuts.len() >= 8
            && step.is_some_and(|d| d > 0)
            && cuts.windows(2).all(|w| i128::from(w[1]) - i128::from(w[0]) == step.unwrap_or(0));
        Some(if even {
            let first = int_tokens(cuts[0]);
            let d = Literal::i128_unsuffixed(step.unwrap_or(1));
            let n = cuts.len();
            let decision = self.decide(quote!(k), arms);
            quote! {
                // Segment k of the number line holds the values with k
                // boundaries <= v; the boundaries are evenly spaced.
                let k: usize = if v < #first {
                    0
                } else {
                    // i128: `v - first` does not overflow.
                    let q = (i128::from(v) - i128::from(#first)) / #d + 1;
                    usize::try_from(q).map_or(#n, |q| q.min(#n))
                };
                #decision
            }
        } else {
            let cuts = cuts.iter().map(|c| int_tokens(*c));
            let decision = self.decide(quote!(CUTS.partition_point(|&cut| cut <= v)), arms);
            quote! {
                // Segment k of the number line holds the values with k boundaries <= v.
                const CUTS: &[i64] = &[#(#cuts),*];
                #decision
            }
        })
    }

    /// Strings: arms by key, the key found by the value's hash (keys whose
    /// hashes collide share an arm and are told apart by comparison).
    fn strings(&self, sets: &[&BTreeSet<String>]) -> TokenStream {
        let keys: Vec<&String> =
            sets.iter().flat_map(|s| s.iter()).collect::<BTreeSet<_>>().into_iter().collect();
        let mut groups: BTreeMap<Vec<usize>, Vec<usize>> = BTreeMap::new();
        for (ki, key) in keys.iter().enumerate() {
            let members: Vec<usize> =
                sets.iter().enumerate().filter(|(_, s)| s.contains(*key)).map(|(k, _)| k).collect();
            groups.entry(members).or_default().push(ki);
        }
        let decision = self.decide(quote!(k), self.arms(groups, |ki| quote!(#ki)));
        let mut by_hash: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (ki, key) in keys.iter().enumerate() {
            by_hash.entry(str_hash(key)).or_default().push(ki);
        }
        let hash_arms = by_hash.into_iter().map(|(h, ks)| {
            let h = Literal::u64_suffixed(h);
            let tests = ks.iter().map(|&ki| {
                let key = keys[ki];
                quote!(if v == #key { #ki } else)
            });
            quote!(#h => #(#tests)* { usize::MAX })
        });
        let rt = rt();
        quote! {
            // One hash of the value picks the only key it can equal;
            // one comparison confirms it.
            let k: usize = match #rt::str_hash(v) {
                #(#hash_arms,)*
                _ => usize::MAX,
            };
            #decision
        }
    }
}

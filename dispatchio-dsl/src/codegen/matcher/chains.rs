//! A class's rules as code: chains of rules tried in order, runs of rules
//! on one field made one decision, long chains cut into parts.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::quote;

use super::classes::P;
use super::read::{Gen, Mode, Read};
use super::{MIN_RUN, PART_RULES, Ret};
use crate::codegen::names::{ident, rust_ident};
use crate::codegen::rt;
use crate::program::{FieldRef, Lit, MessageDef, RuleDef, Test, Type};

/// One rule as a chain sees it: its condition within the chain's class.
#[derive(Clone)]
pub(super) struct Item<'a> {
    pub(super) index: usize,
    pub(super) rule: &'a RuleDef,
    pub(super) cond: P<'a>,
}

/// What a rule constrains a keyable field to.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Key {
    /// Sorted disjoint inclusive intervals.
    Ints(Vec<(i64, i64)>),
    /// A set of strings.
    Strs(BTreeSet<String>),
}

impl Key {
    pub(super) fn meet(self, other: Key) -> Option<Key> {
        match (self, other) {
            (Key::Ints(a), Key::Ints(b)) => {
                let mut out = Vec::new();
                for &(l1, h1) in &a {
                    for &(l2, h2) in &b {
                        let (l, h) = (l1.max(l2), h1.min(h2));
                        if l <= h {
                            out.push((l, h));
                        }
                    }
                }
                out.sort_unstable();
                Some(Key::Ints(out))
            }
            (Key::Strs(a), Key::Strs(b)) => Some(Key::Strs(a.intersection(&b).cloned().collect())),
            _ => None,
        }
    }
}

/// The constraint a predicate puts on an int or string field, if it is one
/// a decision can use.
pub(super) fn key_of(test: &Test, leaf: &Type) -> Option<Key> {
    match leaf {
        Type::Int => {
            let int = |l: &Lit| match l {
                Lit::Int(i) => Some(*i),
                _ => None,
            };
            let iv = match test {
                Test::Eq(l) => {
                    let i = int(l)?;
                    vec![(i, i)]
                }
                Test::Lt(l) => {
                    let i = int(l)?;
                    if i == i64::MIN { vec![] } else { vec![(i64::MIN, i - 1)] }
                }
                Test::Le(l) => vec![(i64::MIN, int(l)?)],
                Test::Gt(l) => {
                    let i = int(l)?;
                    if i == i64::MAX { vec![] } else { vec![(i + 1, i64::MAX)] }
                }
                Test::Ge(l) => vec![(int(l)?, i64::MAX)],
                Test::In(s) => {
                    let mut v: Vec<(i64, i64)> =
                        s.iter().map(|l| int(l).map(|i| (i, i))).collect::<Option<_>>()?;
                    v.sort_unstable();
                    v.dedup();
                    v
                }
                _ => return None,
            };
            Some(Key::Ints(iv))
        }
        Type::Str => match test {
            Test::Eq(Lit::Str(s)) => Some(Key::Strs(BTreeSet::from([s.to_string()]))),
            Test::In(s) => s
                .iter()
                .map(|l| match l {
                    Lit::Str(s) => Some(s.to_string()),
                    _ => None,
                })
                .collect::<Option<BTreeSet<_>>>()
                .map(Key::Strs),
            _ => None,
        },
        _ => None,
    }
}

impl<'a> Gen<'a> {
    /// The keyable conjuncts of an item: (field, constraint, conjunct index).
    pub(super) fn keys(&self, item: &Item<'a>, m: &MessageDef) -> Vec<(&'a FieldRef, Key, usize)> {
        let conj: Vec<&P<'a>> = match &item.cond {
            P::And(v) => v.iter().collect(),
            p => vec![p],
        };
        let mut out = Vec::new();
        for (i, c) in conj.into_iter().enumerate() {
            let P::Pred(p) = c else { continue };
            let leaf = match &p.field {
                FieldRef::Id => Type::Int,
                FieldRef::Content { path, .. } => match self.typed_read(m, path) {
                    (Read::Absent, _) => continue,
                    (_, leaf) => leaf,
                },
                _ => continue,
            };
            if let Some(k) = key_of(&p.test, &leaf) {
                out.push((&p.field, k, i));
            }
        }
        out
    }

    /// The constraint of `item` on `field` (all its conjuncts on it, met) and
    /// the item with those conjuncts removed.
    pub(super) fn split(
        &self,
        item: &Item<'a>,
        field: &FieldRef,
        m: &MessageDef,
    ) -> Option<(Key, Item<'a>)> {
        let keys = self.keys(item, m);
        let mut key: Option<Key> = None;
        let mut used = BTreeSet::new();
        for (f, k, i) in keys {
            if f == field {
                key = Some(match key {
                    None => k,
                    Some(prev) => prev.meet(k)?,
                });
                used.insert(i);
            }
        }
        let key = key?;
        let rest: Vec<P<'a>> = match &item.cond {
            P::And(v) => v
                .iter()
                .enumerate()
                .filter(|(i, _)| !used.contains(i))
                .map(|(_, p)| p.clone())
                .collect(),
            _ => Vec::new(),
        };
        let cond = match rest.len() {
            0 => P::Const(true),
            1 => rest.into_iter().next().unwrap_or(P::Const(true)),
            _ => P::And(rest),
        };
        Some((key, Item { index: item.index, rule: item.rule, cond }))
    }

    /// One rule: run its steps if its condition holds; return if it stops.
    pub(super) fn rule(&self, item: &Item<'_>, mode: Mode<'_>, ret: Ret) -> TokenStream {
        let steps = self.layout.steps(&item.rule.actions);
        let i = item.index;
        let stopped = ret.stopped();
        // A part of a chain read through `Fields` (the cold fallback of a
        // big table) records out of line: thousands of inlined copies of
        // `Fired::stop` would cost compile time and buy nothing.
        let body = match (item.rule.continues(), mode, ret) {
            (true, Mode::Dyn, Ret::Part) => {
                let rt = rt();
                quote!(#rt::fire(fired, #i, #steps);)
            }
            (true, _, _) => quote!(fired.rule(#i, #steps);),
            (false, Mode::Dyn, Ret::Part) => {
                let rt = rt();
                quote!(#rt::stop(fired, #i, #steps); #stopped)
            }
            (false, _, _) => quote!(fired.stop(#i, #steps); #stopped),
        };
        match &item.cond {
            P::Const(true) => quote!({ #body }),
            P::Const(false) => quote!(),
            // No parentheses around a condition that is an `&&` or `||`
            // chain: `if` needs none.
            P::And(ps) | P::Or(ps) => {
                let ps = ps.iter().map(|p| self.cond(p, mode));
                let c = if matches!(item.cond, P::And(_)) {
                    quote!(#(#ps)&&*)
                } else {
                    quote!(#(#ps)||*)
                };
                quote!(if #c { #body })
            }
            c => {
                let c = self.cond(c, mode);
                quote!(if #c { #body })
            }
        }
    }

    /// Rules in order, with runs on one field turned into decisions, and
    /// whether the chain ends with a rule that always stops (then nothing
    /// may follow it: it would be unreachable).
    ///
    /// A chain of more than [`PART_RULES`] rules is cut, between rules and
    /// decisions, into parts of at most that many rules, each a nested
    /// `#[inline(never)]` function called in order (see [`PART_RULES`] for
    /// why); a decision bigger than a part stays inline.
    pub(super) fn chain_ends(
        &self,
        items: &[Item<'a>],
        mode: Mode<'_>,
        ret: Ret,
    ) -> (TokenStream, bool) {
        // (code, first item, end) per rule or decision, in order.
        let mut segments: Vec<(TokenStream, usize, usize)> = Vec::new();
        let mut terminated = false;
        let mut i = 0;
        while i < items.len() {
            if let Mode::Typed(m) = mode {
                if let Some((end, tree)) = self.run(items, i, m, ret) {
                    segments.push((tree, i, end));
                    i = end;
                    continue;
                }
            }
            let item = &items[i];
            segments.push((self.rule(item, mode, ret), i, i + 1));
            // Nothing after an unconditional stop can run.
            if matches!(item.cond, P::Const(true)) && !item.rule.continues() {
                terminated = true;
                break;
            }
            i += 1;
        }
        let total = segments.last().map_or(0, |(_, _, end)| *end);
        if total <= PART_RULES || segments.len() < 2 {
            let code = segments.into_iter().map(|(code, _, _)| code);
            return (quote!(#(#code)*), terminated);
        }
        // The unconditional stop that ends a terminated chain stays here, so
        // that every part can end in `false` (reachable).
        let tail = if terminated { segments.pop().map(|(code, _, _)| code) } else { None };
        // Consecutive segments of at most PART_RULES rules in all form a
        // part; a bigger decision stays inline (its own arms are cut if
        // they are long), saving a call on the way to it.
        enum Group {
            Part(usize, usize),
            Inline(TokenStream),
        }
        let mut groups: Vec<Group> = Vec::new();
        for (code, start, end) in segments {
            match groups.last_mut() {
                _ if end - start > PART_RULES => groups.push(Group::Inline(code)),
                Some(Group::Part(first, last)) if end - *first <= PART_RULES => *last = end,
                _ => groups.push(Group::Part(start, end)),
            }
        }
        let rt = rt();
        let (params, args) = match mode {
            Mode::Typed(m) => {
                let n = rust_ident(&m.name);
                (
                    quote!(env: &#rt::Envelope, c: &super::#n, content: &dyn #rt::Content, fired: &mut #rt::Fired),
                    quote!(env, c, content, fired),
                )
            }
            Mode::Dyn => (
                quote!(env: &#rt::Envelope, content: &dyn #rt::Content, fired: &mut #rt::Fired),
                quote!(env, content, fired),
            ),
        };
        let unused = match mode {
            Mode::Typed(_) => quote!(let _ = (env, c, content);),
            Mode::Dyn => quote!(let _ = (env, content);),
        };
        let stopped = ret.stopped();
        let parts = groups.into_iter().map(|group| {
            let (start, end) = match group {
                Group::Part(start, end) => (start, end),
                Group::Inline(code) => return code,
            };
            // Made again from the part's rules: within a part, a stopping
            // rule reports `true` to the caller instead of returning `()`.
            // The part starts and ends between segments, so it is cut into
            // the same rules and decisions.
            let (body, _) = self.chain_ends(&items[start..end], mode, Ret::Part);
            let f = ident(&format!("part_{}", self.parts.get()));
            self.parts.set(self.parts.get() + 1);
            quote! {
                #[inline(never)]
                fn #f(#params) -> bool {
                    #unused
                    #body
                    false
                }
                if #f(#args) { #stopped }
            }
        });
        (quote!(#(#parts)* #tail), terminated)
    }

    /// A decision for the longest run starting at `start`, if long enough.
    pub(super) fn run(
        &self,
        items: &[Item<'a>],
        start: usize,
        m: &MessageDef,
        ret: Ret,
    ) -> Option<(usize, TokenStream)> {
        let mut best: Option<(&FieldRef, usize)> = None;
        for (field, _, _) in self.keys(&items[start], m) {
            let mut end = start + 1;
            while end < items.len() && self.keys(&items[end], m).iter().any(|(f, _, _)| *f == field)
            {
                end += 1;
            }
            if best.is_none_or(|(_, e)| end > e) {
                best = Some((field, end));
            }
        }
        let (field, end) = best?;
        if end - start < MIN_RUN {
            return None;
        }
        let mut split = Vec::new();
        for item in &items[start..end] {
            split.push(self.split(item, field, m)?);
        }
        let tree = self.decision(field, &split, m, ret)?;
        Some((end, tree))
    }
}

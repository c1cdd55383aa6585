//! The differential property test: on random rule tables over small
//! domains, every claim of the analyser — and every absence of a claim —
//! agrees with brute-force evaluation of every message of the domain, and
//! every witness shows its finding.
//!
//! The domain is chosen so a finite enumeration is *representative* of the
//! infinite one: ints around every literal (each literal, and one beyond
//! each end), floats at, between and beyond the literals plus NaN, strings
//! up to a length no combination of the short test literals needs more
//! than, and IDs as ints and strings (including a string that spells an int).

use proptest::prelude::*;
use std::collections::BTreeSet;

use super::analyse;
use super::generate::*;
use crate::concrete::{Sample, Value};
use crate::diagnostic::{Code, Diagnostic};
use crate::eval::{eval, route};
use crate::program::{ActionKind, Cond, FieldRef, ListenerDef, Lit, Program, RuleDef, Test, Type};
use crate::test_support::cases;

fn opt(t: Type) -> Type {
    Type::Optional(Box::new(t))
}

fn schema() -> Vec<crate::program::MessageDef> {
    vec![
        message("A", &[("n", Type::Int), ("b", Type::Bool), ("s", opt(Type::Str))]),
        message("B", &[("n", Type::Int), ("s", opt(Type::Str)), ("x", Type::Float)]),
    ]
}

fn strings() -> Vec<String> {
    let mut out = vec![String::new()];
    let mut layer = vec![String::new()];
    for _ in 0..4 {
        layer = layer.iter().flat_map(|p| ['a', 'b', 'c'].map(|c| format!("{p}{c}"))).collect();
        out.extend(layer.iter().cloned());
    }
    out
}

/// Every message of the domain.
fn universe() -> Vec<Sample> {
    let strs = strings();
    // `Z` is an undeclared type rules name; `Y` stands for every other name.
    let mut contents: Vec<(String, Vec<(&str, Value)>)> =
        vec![("Z".into(), vec![]), ("Y".into(), vec![])];
    for n in -1..=4 {
        for s in std::iter::once(None).chain(strs.iter().map(Some)) {
            let mut base = vec![("n", Value::Int(n))];
            if let Some(s) = s {
                base.push(("s", Value::Str(s.clone())));
            }
            for b in [false, true] {
                let mut c = base.clone();
                c.push(("b", Value::Bool(b)));
                contents.push(("A".into(), c));
            }
            for x in [-1.0, 0.0, 0.5, 1.5, 2.0, f64::NAN] {
                let mut c = base.clone();
                c.push(("x", Value::Float(x)));
                contents.push(("B".into(), c));
            }
        }
    }
    let sources = [
        None,
        Some(Value::Int(0)),
        Some(Value::Int(1)),
        Some(Value::Int(12)),
        Some(Value::Int(2)),
        Some(Value::Str("a".into())),
        Some(Value::Str("ab".into())),
        Some(Value::Str("1".into())),
    ];
    let mut out = Vec::new();
    for (ty, content) in &contents {
        for source in &sources {
            for sync in [false, true] {
                let mut m = Sample::new(ty.clone());
                m.source = source.clone();
                m.sync = sync;
                m.content = content.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
                out.push(m);
            }
        }
    }
    out
}

fn int_lit() -> impl Strategy<Value = Lit> {
    (0i64..=3).prop_map(Lit::Int)
}

fn str_lit() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["", "a", "b", "ab"]).prop_map(str::to_owned)
}

/// `type in {types} and c`: content tests come with the type test that
/// narrows them, as the checker requires, so they never read the content of
/// an undeclared type.
fn guarded(types: &[&str], c: Cond) -> Cond {
    let set = types.iter().map(|t| Lit::Str((*t).to_owned().into())).collect();
    and(vec![pred(FieldRef::Type, Test::In(set)), c])
}

fn leaf() -> impl Strategy<Value = Cond> {
    let n = || field("n", Type::Int);
    let s = || field("s", opt(Type::Str));
    let x = || field("x", Type::Float);
    let tname = || prop::sample::select(vec!["A", "B", "Z"]).prop_map(str::to_owned);
    prop_oneof![
        tname().prop_map(|t| ty(&t)),
        (tname(), tname()).prop_map(|(a, b)| pred(
            FieldRef::Type,
            Test::In(vec![Lit::Str(a.into()), Lit::Str(b.into())])
        )),
        tname().prop_map(|t| pred(FieldRef::Type, Test::Ne(Lit::Str(t.into())))),
        (0..8usize, int_lit()).prop_map(move |(op, l)| guarded(
            &["A", "B"],
            pred(
                n(),
                match op {
                    0 => Test::Eq(l),
                    1 => Test::Ne(l),
                    2 => Test::Lt(l),
                    3 => Test::Le(l),
                    4 => Test::Gt(l),
                    5 => Test::Ge(l),
                    6 => Test::In(vec![l, Lit::Int(1)]),
                    _ => Test::NotIn(vec![l, Lit::Int(2)]),
                }
            )
        )),
        Just(guarded(&["A"], pred(field("b", Type::Bool), Test::IsTrue))),
        (0..4usize, prop::sample::select(vec![0.0, 1.5])).prop_map(move |(op, l)| guarded(
            &["B"],
            pred(
                x(),
                match op {
                    0 => Test::Lt(Lit::Float(l)),
                    1 => Test::Ge(Lit::Float(l)),
                    2 => Test::Eq(Lit::Float(l)),
                    _ => Test::Ne(Lit::Float(l)),
                }
            )
        )),
        (0..9usize, str_lit()).prop_map(move |(op, l)| guarded(
            &["A", "B"],
            pred(
                s(),
                match op {
                    0 => Test::Eq(Lit::Str(l.into())),
                    1 => Test::Ne(Lit::Str(l.into())),
                    2 => Test::In(vec![Lit::Str(l.into()), Lit::Str("b".into())]),
                    3 => Test::StartsWith(l.into()),
                    4 => Test::EndsWith(l.into()),
                    5 => Test::Contains(Lit::Str(l.into())),
                    6 => Test::Exists,
                    7 => Test::NotIn(vec![Lit::Str(l.into())]),
                    _ => Test::Matches(format!("{l}*").into()),
                }
            )
        )),
        prop::sample::select(vec!["a*", "*b", "?", "a?", "*a*", "[ab]", "[!a]*"])
            .prop_map(move |g| guarded(&["A", "B"], pred(s(), Test::Matches(g.to_owned().into())))),
        prop::sample::select(vec![
            Test::Eq(Lit::Int(1)),
            Test::Eq(Lit::Str("a".into())),
            Test::Ne(Lit::Int(1)),
            Test::In(vec![Lit::Int(0), Lit::Str("a".into())]),
            Test::Matches("1*".into()),
            Test::StartsWith("a".into()),
            Test::Exists,
            Test::NotIn(vec![Lit::Int(1)]),
        ])
        .prop_map(|t| pred(FieldRef::Source, t)),
        Just(pred(FieldRef::Sync, Test::IsTrue)),
    ]
}

fn cond() -> impl Strategy<Value = Cond> {
    leaf().prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..=3).prop_map(and),
            prop::collection::vec(inner.clone(), 2..=3).prop_map(or),
            inner.prop_map(not),
        ]
    })
}

fn actions() -> impl Strategy<Value = Vec<ActionKind>> {
    prop::sample::select(vec![
        vec![queue("a")],
        vec![queue("b")],
        vec![ActionKind::Drop],
        vec![queue("a"), ActionKind::Continue],
        vec![queue("b"), ActionKind::Continue],
        vec![ActionKind::Continue],
        vec![call("h", true)],
    ])
}

/// Rules `r0`, `r1`, … from conditions, actions and whether the rule says
/// `allow(overlap)`.
fn rules_of(rules: Vec<(Cond, Vec<ActionKind>, bool)>) -> Vec<RuleDef> {
    rules
        .into_iter()
        .enumerate()
        .map(|(i, (c, a, allow))| {
            let mut r = rule(&format!("r{i}"), c, a);
            if allow {
                r.allow.push(Code::Overlap);
            }
            r
        })
        .collect()
}

fn table() -> impl Strategy<Value = ListenerDef> {
    (
        prop::collection::vec((cond(), actions(), prop::bool::weighted(0.1)), 1..=5),
        prop::option::of(prop::sample::select(vec![vec![queue("a")], vec![queue("b")]])),
    )
        .prop_map(|(rules, otherwise)| listener("l", rules_of(rules), otherwise))
}

/// A listener as text, for failure messages.
fn show(l: &ListenerDef) -> String {
    fn c(cond: &Cond) -> String {
        use crate::program::CondKind::*;
        match &cond.kind {
            Pred(p) => format!("{} {:?}", p.field, p.test),
            And(cs) => format!("({})", cs.iter().map(c).collect::<Vec<_>>().join(" and ")),
            Or(cs) => format!("({})", cs.iter().map(c).collect::<Vec<_>>().join(" or ")),
            Not(x) => format!("not {}", c(x)),
        }
    }
    let mut out = String::new();
    for r in &l.rules {
        if !r.allow.is_empty() {
            out += &format!("allow({:?})\n", r.allow);
        }
        out += &format!("rule {} when {} => {:?}\n", r.name, c(&r.cond), acts(r));
        if r.continues() {
            out += "   (continue)\n";
        }
    }
    out += &format!(
        "otherwise {:?}\n",
        l.otherwise.as_ref().map(|o| o.actions.iter().map(|a| a.kind.clone()).collect::<Vec<_>>())
    );
    out
}

/// What a listener does with a message, as far as the user can tell.
fn outcome(l: &ListenerDef, m: &Sample) -> (Vec<ActionKind>, bool) {
    let d = route(l, m);
    (d.actions, d.unrouted)
}

fn acts(r: &RuleDef) -> Vec<ActionKind> {
    r.actions.iter().map(|a| a.kind.clone()).filter(|k| *k != ActionKind::Continue).collect()
}

/// Routes message `k` from the precomputed match table, optionally without
/// rule `skip`: the rule semantics of [`route`], on bits.
fn simulate(
    l: &ListenerDef,
    matches: &[Vec<bool>],
    k: usize,
    skip: Option<usize>,
) -> (Vec<usize>, Vec<ActionKind>, bool) {
    let order: Vec<usize> = (0..l.rules.len()).filter(|&i| Some(i) != skip).collect();
    simulate_in(l, matches, k, &order)
}

/// [`simulate`] with the rules tried in `order` (indices into the listener).
fn simulate_in(
    l: &ListenerDef,
    matches: &[Vec<bool>],
    k: usize,
    order: &[usize],
) -> (Vec<usize>, Vec<ActionKind>, bool) {
    let (mut fired, mut actions) = (Vec::new(), Vec::new());
    for &i in order {
        let r = &l.rules[i];
        if !matches[i][k] {
            continue;
        }
        fired.push(i);
        actions.extend(acts(r));
        if !r.continues() {
            return (fired, actions, false);
        }
    }
    match &l.otherwise {
        Some(o) => {
            actions.extend(o.actions.iter().map(|a| a.kind.clone()));
            (fired, actions, false)
        }
        None => (fired, actions, true),
    }
}

/// The findings brute force expects, as (code, rule names).
fn brute_force(l: &ListenerDef, msgs: &[Sample]) -> BTreeSet<(Code, Vec<String>)> {
    let n = l.rules.len();
    let matches: Vec<Vec<bool>> =
        l.rules.iter().map(|r| msgs.iter().map(|m| eval(&r.cond, m)).collect()).collect();
    let decisions: Vec<_> = (0..msgs.len()).map(|k| simulate(l, &matches, k, None)).collect();
    let mut out = BTreeSet::new();
    let mut dead = vec![false; n];
    for i in 0..n {
        let name = vec![l.rules[i].name.clone()];
        if !matches[i].iter().any(|&b| b) {
            out.insert((Code::Unsatisfiable, name));
            dead[i] = true;
            continue;
        }
        let fires: Vec<usize> = (0..msgs.len()).filter(|&k| decisions[k].0.contains(&i)).collect();
        if fires.is_empty() {
            out.insert((Code::Shadowed, name));
            dead[i] = true;
            continue;
        }
        let same = |k: usize| {
            let (without, with) = (simulate(l, &matches, k, Some(i)), &decisions[k]);
            without.1 == with.1 && without.2 == with.2
        };
        if fires.iter().all(|&k| same(k)) {
            out.insert((Code::Redundant, name.clone()));
        }
        let is_async = l.rules[i]
            .actions
            .iter()
            .any(|a| matches!(a.kind, ActionKind::Call { is_async: true, .. }));
        if is_async && fires.iter().any(|&k| msgs[k].sync) {
            out.insert((Code::SyncToAsync, name));
        }
    }
    // Overlap, as the guide defines it: `ri` (earlier, live, stopping) takes
    // from `rj` (later, live) some message whose outcome would change if
    // `rj` were tried just before `ri`, and is not an exception of `rj` (it
    // takes some message `rj` does not match); `allow(overlap)` on either
    // silences it.
    let allowed = |r: &RuleDef| r.allow.contains(&Code::Overlap);
    for i in 0..n {
        // The messages `ri` takes: it fires on them and stops.
        let takes: Vec<usize> = (0..msgs.len())
            .filter(|&k| !l.rules[i].continues() && decisions[k].0.last() == Some(&i))
            .collect();
        for j in i + 1..n {
            let (ri, rj) = (&l.rules[i], &l.rules[j]);
            if dead[i] || dead[j] || allowed(ri) || allowed(rj) {
                continue;
            }
            let mut moved: Vec<usize> = (0..n).filter(|&x| x != j).collect();
            moved.insert(i, j);
            let decided = takes.iter().any(|&k| {
                let (_, actions, unrouted) = simulate_in(l, &matches, k, &moved);
                matches[j][k] && (actions, unrouted) != (decisions[k].1.clone(), decisions[k].2)
            });
            let exception = takes.iter().all(|&k| matches[j][k]);
            if decided && !exception {
                out.insert((Code::Overlap, vec![rj.name.clone(), ri.name.clone()]));
            }
        }
    }
    let declared = |m: &Sample| ["A", "B", "C"].contains(&m.ty.as_str());
    if l.otherwise.is_none() && msgs.iter().zip(&decisions).any(|(m, d)| declared(m) && d.2) {
        out.insert((Code::Unrouted, vec![]));
    }
    out
}

/// The witness shows the finding.
fn check_witness(l: &ListenerDef, d: &Diagnostic, msgs: &[Sample]) -> Result<(), TestCaseError> {
    let idx = |name: &str| l.rules.iter().position(|r| r.name == name);
    let Some(w) = &d.witness else {
        prop_assert!(d.code == Code::Unsatisfiable, "no witness: {d:#?}");
        return Ok(());
    };
    let dec = route(l, w);
    match d.code {
        Code::Shadowed => {
            let i = idx(&d.rules[0]).unwrap_or(usize::MAX);
            prop_assert!(eval(&l.rules[i].cond, w) && !dec.fired.contains(&i), "{d:#?}");
            // The named rules alone cover every message of the rule.
            let cover: Vec<usize> = d.rules[1..].iter().filter_map(|r| idx(r)).collect();
            for m in msgs.iter().filter(|m| eval(&l.rules[i].cond, m)) {
                prop_assert!(
                    cover
                        .iter()
                        .any(|&j| j < i && !l.rules[j].continues() && eval(&l.rules[j].cond, m)),
                    "{d:#?} not covered: {m}"
                );
            }
        }
        Code::Redundant => {
            let i = idx(&d.rules[0]).unwrap_or(usize::MAX);
            let mut without = l.clone();
            without.rules.remove(i);
            prop_assert!(dec.fired.contains(&i) && outcome(l, w) == outcome(&without, w), "{d:#?}");
        }
        Code::Overlap => {
            // The earlier rule takes the witness (it reaches it, and it
            // stops), the later one matches it, and trying the later one
            // first would give it another outcome.
            let (j, i) = (idx(&d.rules[0]).unwrap_or(usize::MAX), idx(&d.rules[1]).unwrap_or(0));
            prop_assert!(dec.fired.last() == Some(&i) && !l.rules[i].continues(), "{d:#?}");
            prop_assert!(eval(&l.rules[j].cond, w), "{d:#?}");
            let mut moved = l.clone();
            let later = moved.rules.remove(j);
            moved.rules.insert(i, later);
            prop_assert!(outcome(l, w) != outcome(&moved, w), "{d:#?}");
        }
        Code::Unrouted => {
            prop_assert!(dec.unrouted && ["A", "B", "C"].contains(&w.ty.as_str()), "{d:#?}")
        }
        Code::SyncToAsync => {
            let i = idx(&d.rules[0]).unwrap_or(usize::MAX);
            prop_assert!(w.sync && dec.fired.contains(&i), "{d:#?}");
        }
        _ => {}
    }
    Ok(())
}

/// The witness as `--format json` writes it reads back as the same message
/// (NaN included), which the listener routes the same way.
#[cfg(feature = "cli")]
fn replays_from_json(p: &Program, l: &ListenerDef, w: &Sample) -> Result<(), TestCaseError> {
    let json = crate::cli::witness::to_json(w).to_string();
    let back = crate::cli::read_witness(p, &json);
    prop_assert!(back.is_ok(), "{json}: {back:?}");
    let back = back.unwrap_or_else(|_| w.clone());
    // `Display` shows every value (NaN too, which `==` would not equal).
    prop_assert_eq!(back.to_string(), w.to_string(), "{}", json);
    prop_assert_eq!(route(l, &back), route(l, w), "{}", json);
    Ok(())
}

fn check(l: ListenerDef, msgs: &[Sample]) -> Result<(), TestCaseError> {
    check_with(schema(), l, msgs)
}

fn check_with(
    schema: Vec<crate::program::MessageDef>,
    l: ListenerDef,
    msgs: &[Sample],
) -> Result<(), TestCaseError> {
    let p: Program = program(schema, vec![l]);
    let l = &p.listeners()[0];
    let found = analyse(&p);
    for d in &found {
        prop_assert!(d.exact, "inexact finding on typed fields: {d:#?}\n{}", show(l));
        check_witness(l, d, msgs)?;
        #[cfg(feature = "cli")]
        if let Some(w) = &d.witness {
            replays_from_json(&p, l, w)?;
        }
    }
    let claimed: BTreeSet<(Code, Vec<String>)> = found
        .iter()
        .map(|d| {
            (
                d.code,
                if d.code == Code::Unrouted {
                    vec![]
                } else if d.code == Code::Overlap {
                    d.rules.clone()
                } else {
                    vec![d.rules[0].clone()]
                },
            )
        })
        .collect();
    let expected = brute_force(l, msgs);
    prop_assert_eq!(&claimed, &expected, "listener:\n{}\nfindings: {:#?}", show(l), found);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64), ..ProptestConfig::default() })]

    #[test]
    fn every_claim_and_non_claim_agrees_with_brute_force(l in table()) {
        thread_local!(static MSGS: Vec<Sample> = universe());
        MSGS.with(|msgs| check(l, msgs))?;
    }
}

mod cycles;
mod diff;
mod explain;
mod lists;

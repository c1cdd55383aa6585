//! One meaning, for indexed tables: core's [`RuleSet`] (which partitions
//! rules by type and indexes runs of equalities and integer ranges on one
//! field) routes exactly as the reference evaluator (`eval::route`) on
//! tables built to exercise that index: long runs of `code == k` with
//! duplicate keys, int and string keys mixed, ranges with gaps and overlaps,
//! `continue` rules inside runs, non-indexable rules interleaved, rules for
//! several types and for none, with and without `otherwise`, and messages
//! whose keyed field is absent, a float (`2.0 == 2`), NaN, or a string.

use dispatchio_core::routing::{End, Fired, IndexedRule, RuleSet, Step};
use dispatchio_dsl::interp::lower_cond;
use dispatchio_dsl::program::{
    Action, ActionKind, Cond, CondKind, FieldRef, ListenerDef, Lit, Otherwise, Pred, RuleDef, Test,
    Type,
};
use dispatchio_dsl::{Sample, Value};
use dispatchio_oracle as eval;
use proptest::prelude::*;

use crate::cond_differential::{gen_cond, pools, sp};
use crate::interp_differential::{Tape, message};

fn pred(field: FieldRef, test: Test) -> Cond {
    Cond { kind: CondKind::Pred(Pred { field, test }), span: sp() }
}

fn and(cs: Vec<Cond>) -> Cond {
    Cond { kind: CondKind::And(cs), span: sp() }
}

fn code() -> FieldRef {
    FieldRef::Content { path: vec!["code".into()], ty: Type::Int }
}

fn level() -> FieldRef {
    FieldRef::Dynamic { path: vec!["level".into()] }
}

/// The type conjunct of a rule: one type, a set, or none.
fn gen_type_conj(t: &mut Tape<'_>) -> Option<Cond> {
    let s = |n: &'static str| Lit::Str(n.into());
    match t.next() % 6 {
        0 | 1 => Some(pred(FieldRef::Type, Test::Eq(s("A")))),
        2 => Some(pred(FieldRef::Type, Test::Eq(s("B")))),
        3 => Some(pred(FieldRef::Type, Test::In(vec![s("A"), s("C")]))),
        _ => None,
    }
}

/// One rule's condition of the given shape.
fn gen_body(t: &mut Tape<'_>, shape: u32) -> Cond {
    let ty = gen_type_conj(t);
    let k = i64::from(t.next() % 8);
    let mut cs: Vec<Cond> = ty.into_iter().collect();
    match shape {
        // `code == k`, keys repeating.
        0 => cs.push(pred(code(), Test::Eq(Lit::Int(k)))),
        // A string key on the same field (ill-typed for ints: never equal).
        1 => cs.push(pred(code(), Test::Eq(Lit::Str(format!("S{k}").into())))),
        // `code == k and level > j`: equality first, something else after.
        2 => {
            cs.push(pred(code(), Test::Eq(Lit::Int(k))));
            cs.push(pred(level(), Test::Gt(Lit::Int(i64::from(t.next() % 5)))));
        }
        // Integer ranges on `level`, with gaps, overlaps, empty intervals.
        3 => {
            let lo = i64::from(t.next() % 40) - 5;
            let width = i64::from(t.next() % 12);
            cs.push(pred(level(), Test::Ge(Lit::Int(lo))));
            cs.push(pred(
                level(),
                if t.chance(50) {
                    Test::Lt(Lit::Int(lo + width))
                } else {
                    Test::Le(Lit::Int(lo + width))
                },
            ));
        }
        // A one-sided range with an extreme bound.
        4 => cs.push(pred(
            level(),
            match t.next() % 4 {
                0 => Test::Gt(Lit::Int(i64::MAX)),
                1 => Test::Lt(Lit::Int(i64::MIN)),
                2 => Test::Le(Lit::Int(k)),
                _ => Test::Gt(Lit::Int(k)),
            },
        )),
        // Equality on an ID field, int or string.
        5 => cs.push(pred(
            FieldRef::Source,
            Test::Eq(if t.chance(50) { Lit::Int(k) } else { Lit::Str(k.to_string().into()) }),
        )),
        // Not indexable: a float literal, or any random condition.
        6 => cs.push(pred(code(), Test::Eq(Lit::Float(k as f64)))),
        _ => cs.push(gen_cond(t, &pools(), 1)),
    }
    match cs.len() {
        1 => cs.pop().unwrap_or_else(|| pred(FieldRef::Sync, Test::IsTrue)),
        _ => and(cs),
    }
}

fn gen_listener(t: &mut Tape<'_>) -> ListenerDef {
    let mut rules = Vec::new();
    while rules.len() < 12 + (t.next() % 40) as usize {
        // Runs of one shape, so the index has something to index.
        let shape = t.next() % 8;
        for _ in 0..1 + t.next() % 10 {
            let i = rules.len();
            let mut actions = vec![Action { kind: ActionKind::Queue(format!("q{i}")), span: sp() }];
            if t.chance(25) {
                actions.push(Action { kind: ActionKind::Continue, span: sp() });
            }
            rules.push(RuleDef {
                name: format!("r{i}"),
                span: sp(),
                name_span: sp(),
                allow: Vec::new(),
                cond: gen_body(t, shape),
                actions,
            });
        }
    }
    let otherwise = t.chance(50).then(|| Otherwise {
        span: sp(),
        actions: vec![Action { kind: ActionKind::Drop, span: sp() }],
    });
    ListenerDef { name: "l".into(), span: sp(), name_span: sp(), rules, otherwise }
}

fn gen_message(t: &mut Tape<'_>) -> Sample {
    let mut s = Sample::new(t.pick(&["A", "B", "C"]));
    let num = |t: &mut Tape<'_>| match t.next() % 8 {
        0 => Value::Float(f64::from(t.next() % 8)),
        1 => Value::Float(f64::NAN),
        2 => Value::Str(format!("S{}", t.next() % 8)),
        3 => Value::Int(t.pick(&[i64::MIN, i64::MAX, -1])),
        _ => Value::Int(i64::from(t.next() % 45) - 5),
    };
    for field in ["code", "level"] {
        if t.chance(85) {
            let v = num(t);
            s.content.insert(field.into(), v);
        }
    }
    if t.chance(70) {
        let k = t.next() % 8;
        s.source =
            Some(if t.chance(50) { Value::Int(i64::from(k)) } else { Value::Str(k.to_string()) });
    }
    s.sync = t.chance(50);
    s
}

/// The rule set of `def`, each rule's steps a queue numbered like the rule.
fn rule_set(def: &ListenerDef) -> RuleSet {
    let rules = def
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| IndexedRule {
            slot: i,
            cond: lower_cond(&r.cond),
            steps: vec![Step::Queue(i)].into(),
            continues: r.continues(),
        })
        .collect();
    RuleSet::new(rules, def.otherwise.as_ref().map(|_| vec![Step::Drop].into()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)
    ))]

    #[test]
    fn indexed_rule_sets_route_as_the_reference_evaluator(
        choices in proptest::collection::vec(any::<u32>(), 1024),
    ) {
        let mut tape = Tape { choices: &choices, at: 0 };
        let def = gen_listener(&mut tape);
        let set = rule_set(&def);
        let mut fired = Fired::new();
        for _ in 0..16 {
            let sample = gen_message(&mut tape);
            fired.clear();
            set.route(&message(&sample), &mut fired);
            let want = eval::route(&def, &sample);
            let want_steps: Vec<Step> = want
                .fired
                .iter()
                .map(|&i| Step::Queue(i))
                .chain(want.otherwise.then_some(Step::Drop))
                .collect();
            prop_assert_eq!(fired.rules(), want.fired.as_slice(), "message {}", sample);
            prop_assert_eq!(fired.steps(), want_steps.as_slice(), "message {}", sample);
            prop_assert_eq!(fired.end() == End::Otherwise, want.otherwise);
            prop_assert_eq!(fired.end() == End::Unrouted, want.unrouted);
        }
    }
}

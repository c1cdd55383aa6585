//! Lists and IDs against brute force, on a schema of their own.

use super::*;

/// Lists and `id` content: `C { tags: [int], who: id? }`.
fn list_schema() -> Vec<crate::program::MessageDef> {
    vec![message("C", &[("tags", Type::List(Box::new(Type::Int))), ("who", opt(Type::Id))])]
}

/// Every list of a subset of the literals plus an element no test names;
/// `who` as ints and strings, including a string spelling an int. The
/// `who`s hold a value for every combination of its tests that a value can
/// meet (`-3` and `"-a"`: `-?` without a `1` or an ending `2`), or a
/// rule could look redundant here that a message elsewhere shows is not.
fn list_universe() -> Vec<Sample> {
    let whos: Vec<Option<Value>> = std::iter::once(None)
        .chain([-12, -3, -2, -1, 0, 1, 2, 12, 21].map(|i| Some(Value::Int(i))))
        .chain(["", "1", "a", "-a", "-2", "12", "x2"].map(|s| Some(Value::Str(s.to_owned()))))
        .collect();
    let mut out = Vec::new();
    for bits in 0..16u32 {
        let tags: Vec<Value> = [0, 1, 2, 7]
            .iter()
            .enumerate()
            .filter(|(k, _)| bits & (1 << k) != 0)
            .map(|(_, v)| Value::Int(*v))
            .collect();
        for who in &whos {
            for sync in [false, true] {
                let mut m = Sample::new("C");
                m.content.insert("tags".into(), Value::List(tags.clone()));
                if let Some(w) = who {
                    m.content.insert("who".into(), w.clone());
                }
                m.sync = sync;
                out.push(m);
            }
        }
    }
    for sync in [false, true] {
        let mut m = Sample::new("Y");
        m.sync = sync;
        out.push(m);
    }
    out
}

fn list_leaf() -> impl Strategy<Value = Cond> {
    let tags = || field("tags", Type::List(Box::new(Type::Int)));
    let who = || field("who", opt(Type::Id));
    prop_oneof![
        Just(ty("C")),
        (0i64..=2).prop_map(move |n| guarded(&["C"], pred(tags(), Test::Contains(Lit::Int(n))))),
        prop::sample::select(vec![
            Test::Eq(Lit::Int(1)),
            Test::Eq(Lit::Str("1".into())),
            Test::Ne(Lit::Int(0)),
            Test::In(vec![Lit::Int(0), Lit::Str("a".into())]),
            Test::NotIn(vec![Lit::Int(1), Lit::Str("".into())]),
            Test::Matches("1*".into()),
            Test::Matches("-?".into()),
            Test::StartsWith("1".into()),
            Test::EndsWith("2".into()),
            Test::Contains(Lit::Str("1".into())),
            Test::Exists,
        ])
        .prop_map(move |t| guarded(&["C"], pred(who(), t))),
        Just(pred(FieldRef::Sync, Test::IsTrue)),
    ]
}

fn list_table() -> impl Strategy<Value = ListenerDef> {
    let c = list_leaf().prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..=3).prop_map(and),
            prop::collection::vec(inner.clone(), 2..=3).prop_map(or),
            inner.prop_map(not),
        ]
    });
    (
        prop::collection::vec((c, actions(), prop::bool::weighted(0.1)), 1..=5),
        prop::option::of(prop::sample::select(vec![vec![queue("a")], vec![queue("b")]])),
    )
        .prop_map(|(rules, otherwise)| listener("l", rules_of(rules), otherwise))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(128), ..ProptestConfig::default() })]

    #[test]
    fn list_and_id_claims_agree_with_brute_force(l in list_table()) {
        thread_local!(static MSGS: Vec<Sample> = list_universe());
        MSGS.with(|msgs| check_with(list_schema(), l, msgs))?;
    }
}

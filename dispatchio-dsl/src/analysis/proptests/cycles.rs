//! Forward cycles against brute force: exactly the loops one message
//! travels round.

use super::*;

fn forwarding(me: &'static str, other: &'static str) -> impl Strategy<Value = ListenerDef> {
    let acts = prop::sample::select(vec![
        vec![forward(other)],
        vec![forward(me)],
        vec![queue("x")],
        vec![ActionKind::Drop],
        vec![forward(other), ActionKind::Continue],
    ]);
    (
        prop::collection::vec((cond(), acts), 1..=4),
        prop::sample::select(vec![None, Some(vec![forward(other)]), Some(vec![ActionKind::Drop])]),
    )
        .prop_map(move |(rules, otherwise)| {
            let rules = rules
                .into_iter()
                .enumerate()
                .map(|(i, (c, a))| rule(&format!("r{i}"), c, a))
                .collect();
            listener(me, rules, otherwise)
        })
}

/// The listener loops some message of the domain really travels.
fn brute_force_loops(a: &ListenerDef, b: &ListenerDef, msgs: &[Sample]) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    for m in msgs {
        let fa = route(a, m).actions;
        let fb = route(b, m).actions;
        if fa.contains(&forward("a")) {
            out.insert(vec!["a".to_owned()]);
        }
        if fb.contains(&forward("b")) {
            out.insert(vec!["b".to_owned()]);
        }
        if fa.contains(&forward("b")) && fb.contains(&forward("a")) {
            out.insert(vec!["a".to_owned(), "b".to_owned()]);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(32), ..ProptestConfig::default() })]

    #[test]
    fn forward_cycles_are_exactly_the_loops_one_message_travels(a in forwarding("a", "b"), b in forwarding("b", "a")) {
        thread_local!(static MSGS: Vec<Sample> = universe());
        let p = program(schema(), vec![a, b]);
        let found: Vec<Diagnostic> = analyse(&p).into_iter().filter(|d| d.code == Code::ForwardCycle).collect();
        let mut claimed = BTreeSet::new();
        for d in &found {
            prop_assert!(d.exact, "{d:#?}");
            let first = d.listener.clone().unwrap_or_default();
            let mut lp = vec![first];
            lp.extend(d.rules[1..].iter().map(|r| r.split('.').next().unwrap_or("").to_owned()));
            // The witness travels the loop: every listener on it forwards it to the next.
            let w = d.witness.as_ref().expect("witness");
            for (k, name) in lp.iter().enumerate() {
                let next = &lp[(k + 1) % lp.len()];
                let l = p.listener(name).expect("listener");
                prop_assert!(route(l, w).actions.contains(&forward(next)), "{d:#?}");
            }
            claimed.insert(lp);
        }
        let expected = MSGS.with(|msgs| brute_force_loops(&p.listeners()[0], &p.listeners()[1], msgs));
        prop_assert_eq!(&claimed, &expected, "a:\n{}\nb:\n{}", show(&p.listeners()[0]), show(&p.listeners()[1]));
    }
}

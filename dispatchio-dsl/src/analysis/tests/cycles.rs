//! Forward cycles across listeners.

use super::*;

fn two_listeners(a_forwards: &str, b_forwards: &str, b_first: Option<&str>) -> Vec<Diagnostic> {
    let mut b_rules = Vec::new();
    if let Some(t) = b_first {
        b_rules.push(rule("keep", ty(t), vec![queue("kept")]));
    }
    b_rules.push(rule("back", ty(b_forwards), vec![forward("a")]));
    let p = program(
        vec![card(), greeting(), pos()],
        vec![
            listener(
                "a",
                vec![rule("out", ty(a_forwards), vec![forward("b")])],
                Some(vec![ActionKind::Drop]),
            ),
            listener("b", b_rules, Some(vec![ActionKind::Drop])),
        ],
    );
    analyse(&p)
}

#[test]
fn forwarding_different_types_each_way_is_no_cycle() {
    let d = two_listeners("Card", "Greeting", None);
    assert!(with_code(&d, Code::ForwardCycle).is_empty(), "{d:#?}");
}

#[test]
fn one_message_forwarded_both_ways_is_a_cycle() {
    let d = two_listeners("Card", "Card", None);
    let f = only(&d, Code::ForwardCycle);
    assert_eq!(f.rules, ["out", "b.back"]);
    assert_eq!(f.witness.as_ref().map(|w| w.ty.as_str()), Some("Card"));
    assert!(f.exact && f.is_error());
}

#[test]
fn a_forwarding_rule_pre_empted_for_that_message_closes_no_cycle() {
    let d = two_listeners("Card", "Card", Some("Card"));
    assert!(with_code(&d, Code::ForwardCycle).is_empty(), "{d:#?}");
}

/// `n` listeners, each forwarding cards to the next (the last one to the
/// first when `ring`).
fn forwarders(n: usize, ring: bool) -> Program {
    let listeners = (0..n)
        .map(|i| {
            let next = if i + 1 < n { Some(i + 1) } else { ring.then_some(0) };
            let rules = next
                .map(|k| rule("f", ty("Card"), vec![forward(&format!("l{k}"))]))
                .into_iter()
                .collect();
            listener(&format!("l{i}"), rules, Some(vec![ActionKind::Drop]))
        })
        .collect();
    program(vec![card()], listeners)
}

#[test]
fn a_chain_of_forwarding_listeners_is_not_walked_and_a_ring_is_walked_once() {
    // A chain has no cycle: no listener is on one, so none is walked (every
    // path from every start was, each step solving the whole path so far:
    // 3,000 listeners took over 60 s in a release build).
    let d = crate::test_support::within_30s(|| analyse(&forwarders(3_000, false)));
    assert!(d.is_empty(), "{d:#?}");
    // A ring is one cycle, found once, from its lowest listener.
    let d = crate::test_support::within_30s(|| analyse(&forwarders(500, true)));
    let cycle = only(&d, Code::ForwardCycle);
    assert_eq!(cycle.rules.len(), 500);
    assert!(cycle.message.starts_with("a message can be forwarded around a loop: l0 -> l1 -> "));
}

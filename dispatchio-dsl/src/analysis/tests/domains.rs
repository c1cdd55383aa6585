//! Exactness over the value domains: untyped content, lists, nested
//! records, integer IDs by their text, the candidate index of globs.

use super::*;

#[test]
fn untyped_content_findings_are_marked_approximate() {
    let dynx = |t: Test| pred(dynamic("level"), t);
    let (_, d) = run(
        vec![
            rule("low", dynx(Test::Lt(Lit::Int(3))), vec![queue("a")]),
            rule("mid", dynx(Test::Lt(Lit::Int(5))), vec![queue("b")]),
            rule(
                "odd",
                and(vec![dynx(Test::Gt(Lit::Int(5))), dynx(Test::Lt(Lit::Int(4)))]),
                vec![queue("c")],
            ),
        ],
        inbox(),
    );
    let u = only(&d, Code::Unsatisfiable);
    assert!(!u.exact);
}

#[test]
fn witnesses_render_and_generated_tables_analyse() {
    // Debug builds also check every indexed witness check against a full route.
    for p in [table(300, 7), range_table(300, 3)] {
        let d = analyse(&p);
        assert!(!d.is_empty());
        for f in &d {
            let text = f.render_plain(p.sources());
            assert!(text.contains(f.code.as_str()));
            if matches!(
                f.code,
                Code::Overlap
                    | Code::Shadowed
                    | Code::Redundant
                    | Code::Unrouted
                    | Code::ForwardCycle
            ) {
                assert!(f.witness.is_some(), "{f:#?}");
            }
            assert!(f.exact, "{f:#?}");
        }
    }
}

fn hand_program(rules: Vec<crate::program::RuleDef>) -> (Program, Vec<Diagnostic>) {
    let p = program(
        vec![
            message(
                "Hand",
                &[
                    ("cards", Type::List(Box::new(Type::Int))),
                    ("at", Type::Optional(Box::new(Type::Message("Pos".into())))),
                ],
            ),
            pos(),
        ],
        vec![listener("l", rules, inbox())],
    );
    let d = analyse(&p);
    (p, d)
}

#[test]
fn list_membership_is_decided_per_element() {
    let cards = || field("cards", Type::List(Box::new(Type::Int)));
    let has = |n: i64| pred(cards(), Test::Contains(Lit::Int(n)));
    // Holding 1 and 2 is covered by "holds 1"; holding 2 alone is not.
    let (_, d) = hand_program(vec![
        rule("one", and(vec![ty("Hand"), has(1)]), vec![ActionKind::Drop]),
        rule("both", and(vec![ty("Hand"), has(1), has(2)]), vec![queue("a")]),
    ]);
    only(&d, Code::Shadowed);
    let (p, d) = hand_program(vec![
        rule("one", and(vec![ty("Hand"), has(1)]), vec![ActionKind::Drop]),
        rule("two", and(vec![ty("Hand"), has(2)]), vec![queue("a")]),
    ]);
    let w = only(&d, Code::Overlap).witness.clone().expect("witness");
    assert!(eval(&p.listeners()[0].rules[0].cond, &w) && eval(&p.listeners()[0].rules[1].cond, &w));
}

#[test]
fn nested_optional_records_keep_fields_and_their_parents_consistent() {
    let at_x = || field("at.x", Type::Float);
    let at = || field("at", Type::Optional(Box::new(Type::Message("Pos".into()))));
    // A message with `at.x` has `at`: "exists at" covers "at.x > 1".
    let (_, d) = hand_program(vec![
        rule("placed", and(vec![ty("Hand"), pred(at(), Test::Exists)]), vec![ActionKind::Drop]),
        rule(
            "far",
            and(vec![ty("Hand"), pred(at_x(), Test::Gt(Lit::Float(1.0)))]),
            vec![queue("a")],
        ),
    ]);
    only(&d, Code::Shadowed);
    // A present `at` always has its required `x`: no message has `at` without `at.x`.
    let (_, d) = hand_program(vec![rule(
        "odd",
        and(vec![ty("Hand"), pred(at(), Test::Exists), not(pred(at_x(), Test::Exists))]),
        vec![queue("a")],
    )]);
    only(&d, Code::Unsatisfiable);
    // The witness of an overlap on the nested field carries the record.
    let (p, d) = hand_program(vec![
        rule(
            "near",
            and(vec![ty("Hand"), pred(at_x(), Test::Lt(Lit::Float(5.0)))]),
            vec![ActionKind::Drop],
        ),
        rule(
            "far",
            and(vec![ty("Hand"), pred(at_x(), Test::Gt(Lit::Float(1.0)))]),
            vec![queue("a")],
        ),
    ]);
    let w = only(&d, Code::Overlap).witness.clone().expect("witness");
    assert!(eval(&p.listeners()[0].rules[1].cond, &w), "{w}");
}

#[test]
fn integer_ids_are_matched_by_their_decimal_text() {
    let src = |t: Test| pred(FieldRef::Source, t);
    // Every source starting with "1" is an int 1.. or a string: `matches "1*"` then `== 1`.
    let (_, d) = run(
        vec![
            rule("ones", src(Test::Matches("1*".into())), vec![ActionKind::Drop]),
            rule("one", src(Test::Eq(Lit::Int(1))), vec![queue("a")]),
            rule("ten", src(Test::Eq(Lit::Int(10))), vec![queue("a")]),
            rule("two", src(Test::Eq(Lit::Int(2))), vec![queue("a")]),
        ],
        inbox(),
    );
    let shadowed: Vec<&str> =
        with_code(&d, Code::Shadowed).iter().map(|d| d.rules[0].as_str()).collect();
    assert_eq!(shadowed, ["one", "ten"]);
}

#[test]
fn rules_whose_patterns_start_differently_are_not_each_others_candidates() {
    // `sensor-K-*` for K = 0…499: no two share a text, so no rule's
    // questions carry another's pattern (they all did: cubic, 210 s).
    let n = 500;
    let rules = (0..n)
        .map(|k| {
            rule(
                &format!("r{k}"),
                suit(Test::Matches(format!("sensor-{k}-*").into())),
                vec![queue("a")],
            )
        })
        .chain([rule("any", suit(Test::StartsWith("sensor-".into())), vec![queue("b")])])
        .collect();
    let p = program(vec![card()], vec![listener("l", rules, inbox())]);
    let mut spaces = vec![crate::analysis::Space::new(&p, crate::analysis::Class::Declared(0))];
    let t = crate::analysis::Table::new(&p, &p.listeners()[0], &mut spaces);
    let cands = &t.cands[0];
    assert!(cands[..n].iter().all(|c| c == &[n]), "each meets only `any`: {:?}", &cands[..3]);
    assert_eq!(cands[n].len(), n, "`any` meets every one");
    // And the analysis says so: `any` overlaps none (it contains each), nothing is shadowed.
    let d = analyse(&p);
    assert!(with_code(&d, Code::Shadowed).is_empty(), "{d:#?}");
}

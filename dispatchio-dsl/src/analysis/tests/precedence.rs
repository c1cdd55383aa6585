//! One listener's rules against each other: unsatisfiable, shadowed,
//! overlapping and redundant rules, `sync` to `async`, unrouted messages.

use super::*;

#[test]
fn contradictory_bounds_are_unsatisfiable() {
    let (_, d) = run(
        vec![rule(
            "r",
            and(vec![ty("Card"), c(Test::Gt(Lit::Int(5))), c(Test::Lt(Lit::Int(3)))]),
            vec![queue("a")],
        )],
        inbox(),
    );
    let f = only(&d, Code::Unsatisfiable);
    assert_eq!(f.rules, ["r"]);
    assert!(f.exact && f.is_error());
    assert!(with_code(&d, Code::Shadowed).is_empty() && with_code(&d, Code::Redundant).is_empty());
}

#[test]
fn adjacent_float_bounds_with_no_float_between_are_unsatisfiable() {
    // No f64 lies strictly between 0.0 and the smallest subnormal.
    let (_, d) = run(
        vec![rule(
            "r",
            and(vec![ty("Pos"), x(Test::Gt(Lit::Float(0.0))), x(Test::Lt(Lit::Float(5e-324)))]),
            vec![queue("a")],
        )],
        inbox(),
    );
    only(&d, Code::Unsatisfiable);
    let (_, d) = run(
        vec![rule(
            "r",
            and(vec![ty("Pos"), x(Test::Ge(Lit::Float(0.0))), x(Test::Lt(Lit::Float(5e-324)))]),
            vec![queue("a")],
        )],
        inbox(),
    );
    assert!(with_code(&d, Code::Unsatisfiable).is_empty(), "{d:#?}");
}

#[test]
fn nan_escapes_both_sides_of_a_comparison() {
    let (_, d) = run(
        vec![rule(
            "r",
            and(vec![
                ty("Pos"),
                not(x(Test::Lt(Lit::Float(1.0)))),
                not(x(Test::Ge(Lit::Float(1.0)))),
            ]),
            vec![queue("a")],
        )],
        None,
    );
    assert!(with_code(&d, Code::Unsatisfiable).is_empty());
    let (_, d) = run(
        vec![
            rule(
                "others",
                pred(
                    FieldRef::Type,
                    Test::In(vec![Lit::Str("Card".into()), Lit::Str("Greeting".into())]),
                ),
                vec![queue("o")],
            ),
            rule("lo", and(vec![ty("Pos"), x(Test::Lt(Lit::Float(1.0)))]), vec![queue("a")]),
            rule("hi", and(vec![ty("Pos"), x(Test::Ge(Lit::Float(1.0)))]), vec![queue("b")]),
        ],
        None,
    );
    let u = only(&d, Code::Unrouted);
    let w = u.witness.as_ref().expect("witness");
    assert_eq!(w.ty, "Pos");
    assert!(matches!(w.content.get("x"), Some(crate::concrete::Value::Float(f)) if f.is_nan()));
}

#[test]
fn a_rule_covered_by_two_earlier_rules_together_is_shadowed_and_names_both() {
    let (p, d) = run(
        vec![
            rule("low", and(vec![ty("Card"), c(Test::Lt(Lit::Int(10)))]), vec![ActionKind::Drop]),
            rule("greet", ty("Greeting"), vec![queue("g")]),
            rule("high", and(vec![ty("Card"), c(Test::Ge(Lit::Int(10)))]), vec![queue("hand")]),
            rule("all", ty("Card"), vec![call("x", false)]),
        ],
        inbox(),
    );
    let f = only(&d, Code::Shadowed);
    assert_eq!(f.rules, ["all", "low", "high"]);
    assert_eq!(f.related.len(), 2);
    assert!(f.exact);
    let w = f.witness.as_ref().expect("witness");
    assert!(eval(&p.listeners()[0].rules[3].cond, w));
    assert!(!route(&p.listeners()[0], w).fired.contains(&3));
}

#[test]
fn a_rule_only_partly_covered_is_not_shadowed() {
    let (_, d) = run(
        vec![
            rule("low", and(vec![ty("Card"), c(Test::Lt(Lit::Int(10)))]), vec![ActionKind::Drop]),
            rule("high", and(vec![ty("Card"), c(Test::Gt(Lit::Int(10)))]), vec![queue("hand")]),
            rule("all", ty("Card"), vec![call("x", false)]),
        ],
        inbox(),
    );
    assert!(with_code(&d, Code::Shadowed).is_empty(), "{d:#?}");
}

#[test]
fn earlier_rules_that_continue_do_not_shadow() {
    let (_, d) = run(
        vec![
            rule("log", ty("Card"), vec![queue("log"), ActionKind::Continue]),
            rule("all", ty("Card"), vec![call("x", false)]),
        ],
        inbox(),
    );
    assert!(with_code(&d, Code::Shadowed).is_empty(), "{d:#?}");
    assert!(with_code(&d, Code::Overlap).is_empty(), "{d:#?}");
}

#[test]
fn an_exception_before_the_general_rule_is_not_an_overlap() {
    let (_, d) = run(
        vec![
            rule("ace", and(vec![ty("Card"), c(Test::Eq(Lit::Int(1)))]), vec![ActionKind::Drop]),
            rule("all", ty("Card"), vec![queue("hand")]),
        ],
        inbox(),
    );
    assert!(d.is_empty(), "{d:#?}");
}

#[test]
fn the_general_rule_first_shadows_the_exception() {
    let (_, d) = run(
        vec![
            rule("all", ty("Card"), vec![queue("hand")]),
            rule("ace", and(vec![ty("Card"), c(Test::Eq(Lit::Int(1)))]), vec![ActionKind::Drop]),
        ],
        inbox(),
    );
    assert_eq!(only(&d, Code::Shadowed).rules, ["ace", "all"]);
}

#[test]
fn crossing_rules_overlap_with_a_witness_in_both() {
    let (p, d) = run(
        vec![
            rule("low", and(vec![ty("Card"), c(Test::Lt(Lit::Int(5)))]), vec![queue("a")]),
            rule(
                "hearts",
                and(vec![ty("Card"), suit(Test::Eq(Lit::Str("h".into())))]),
                vec![queue("b")],
            ),
        ],
        inbox(),
    );
    let f = only(&d, Code::Overlap);
    assert_eq!(f.rules, ["hearts", "low"]);
    let w = f.witness.as_ref().expect("witness");
    assert!(eval(&p.listeners()[0].rules[0].cond, w) && eval(&p.listeners()[0].rules[1].cond, w));
    assert!(f.exact && !f.is_error());
}

/// Issue 11's tables: `low` (`card < 5`), `a` (`card < 10`) and `b`.
fn low_a_b(b: Cond) -> Vec<crate::program::RuleDef> {
    vec![
        rule("low", and(vec![ty("Card"), c(Test::Lt(Lit::Int(5)))]), vec![queue("low")]),
        rule("a", and(vec![ty("Card"), c(Test::Lt(Lit::Int(10)))]), vec![call("a", false)]),
        rule("b", and(vec![ty("Card"), b]), vec![call("b", false)]),
    ]
}

#[test]
fn rules_whose_common_messages_an_earlier_rule_takes_do_not_overlap() {
    // Issue 11, case 1: every message of both `a` and `b` goes to `low`.
    let b = or(vec![c(Test::Lt(Lit::Int(5))), c(Test::Gt(Lit::Int(20)))]);
    let (_, d) = run(low_a_b(b), Some(vec![ActionKind::Drop]));
    assert!(with_code(&d, Code::Overlap).is_empty(), "{d:#?}");
}

#[test]
fn an_overlap_witness_reaches_the_earlier_rule() {
    // Issue 11, case 2: `card = 0` matches both but goes to `low`; 8 and 9
    // are the messages the order of `a` and `b` decides.
    let b = or(vec![c(Test::Lt(Lit::Int(5))), c(Test::Ge(Lit::Int(8)))]);
    let (p, d) = run(low_a_b(b), Some(vec![ActionKind::Drop]));
    let f = only(&d, Code::Overlap);
    assert_eq!(f.rules, ["b", "a"]);
    let w = f.witness.as_ref().expect("witness");
    assert_eq!(route(&p.listeners()[0], w).fired, [1], "{w}");
    assert!(eval(&p.listeners()[0].rules[2].cond, w), "{w}");
    assert!(f.exact);
}

#[test]
fn an_exception_among_the_messages_that_reach_it_is_not_an_overlap() {
    // `a` alone is not within `b` (`card = 0`), but what reaches `a` (5 to
    // 9) is: `a` is an exception of `b` placed before it.
    let b = c(Test::Ge(Lit::Int(5)));
    let (_, d) = run(low_a_b(b), Some(vec![ActionKind::Drop]));
    assert!(with_code(&d, Code::Overlap).is_empty(), "{d:#?}");
}

#[test]
fn allow_overlap_on_the_earlier_rule_silences_the_pair() {
    let b = or(vec![c(Test::Lt(Lit::Int(5))), c(Test::Ge(Lit::Int(8)))]);
    let mut rules = low_a_b(b);
    rules[1].allow.push(Code::Overlap);
    let (_, d) = run(rules, Some(vec![ActionKind::Drop]));
    assert!(with_code(&d, Code::Overlap).is_empty(), "{d:#?}");
}

#[test]
fn a_rule_whose_only_action_is_continue_overlaps_nothing() {
    // Before or after `low`, `tap` runs nothing and stops nothing: the
    // order of the two changes no outcome (it is redundant instead).
    let tap =
        || rule("tap", and(vec![ty("Card"), c(Test::Gt(Lit::Int(2)))]), vec![ActionKind::Continue]);
    let low = || rule("low", and(vec![ty("Card"), c(Test::Lt(Lit::Int(5)))]), vec![queue("low")]);
    for rules in [vec![low(), tap()], vec![tap(), low()]] {
        let (_, d) = run(rules, inbox());
        assert!(with_code(&d, Code::Overlap).is_empty(), "{d:#?}");
        assert_eq!(only(&d, Code::Redundant).rules, ["tap"]);
    }
    // With an action of its own, after `low`, it would run before `low`'s.
    let tap = rule(
        "tap",
        and(vec![ty("Card"), c(Test::Gt(Lit::Int(2)))]),
        vec![queue("seen"), ActionKind::Continue],
    );
    let (_, d) = run(vec![low(), tap], inbox());
    assert_eq!(only(&d, Code::Overlap).rules, ["tap", "low"]);
}

#[test]
fn allow_overlap_silences_the_warning() {
    let mut hearts = rule(
        "hearts",
        and(vec![ty("Card"), suit(Test::Eq(Lit::Str("h".into())))]),
        vec![queue("b")],
    );
    hearts.allow.push(Code::Overlap);
    let (_, d) = run(
        vec![
            rule("low", and(vec![ty("Card"), c(Test::Lt(Lit::Int(5)))]), vec![queue("a")]),
            hearts,
        ],
        inbox(),
    );
    assert!(with_code(&d, Code::Overlap).is_empty());
}

#[test]
fn glob_containment_is_exact() {
    let src = |t: Test| pred(FieldRef::Source, t);
    // Everything `enemy-1*` matches starts with `enemy-`: shadowed.
    let (_, d) = run(
        vec![
            rule("enemies", src(Test::StartsWith("enemy-".into())), vec![ActionKind::Drop]),
            rule("first", src(Test::Matches("enemy-1*".into())), vec![queue("a")]),
        ],
        inbox(),
    );
    only(&d, Code::Shadowed);
    // `*enemy-1` also matches `xenemy-1`: an overlap, not a shadowing.
    let (p, d) = run(
        vec![
            rule("enemies", src(Test::StartsWith("enemy-".into())), vec![ActionKind::Drop]),
            rule("suffix", src(Test::Matches("*enemy-1".into())), vec![queue("a")]),
        ],
        inbox(),
    );
    assert!(with_code(&d, Code::Shadowed).is_empty(), "{d:#?}");
    let w = only(&d, Code::Overlap).witness.clone().expect("witness");
    assert!(eval(&p.listeners()[0].rules[1].cond, &w));
}

#[test]
fn a_rule_doing_what_otherwise_does_is_redundant() {
    let (_, d) = run(
        vec![rule("ace", and(vec![ty("Card"), c(Test::Eq(Lit::Int(1)))]), vec![queue("inbox")])],
        inbox(),
    );
    let f = only(&d, Code::Redundant);
    assert!(f.exact && f.witness.is_some());
}

#[test]
fn a_rule_doing_what_otherwise_does_is_not_redundant_when_a_rule_between_changes_it() {
    let (_, d) = run(
        vec![
            rule("ace", and(vec![ty("Card"), c(Test::Eq(Lit::Int(1)))]), vec![queue("inbox")]),
            rule("cards", ty("Card"), vec![ActionKind::Drop]),
        ],
        inbox(),
    );
    assert!(with_code(&d, Code::Redundant).is_empty(), "{d:#?}");
}

#[test]
fn a_rule_before_a_general_rule_with_the_same_actions_is_redundant() {
    let (_, d) = run(
        vec![
            rule("ace", and(vec![ty("Card"), c(Test::Eq(Lit::Int(1)))]), vec![queue("hand")]),
            rule("cards", ty("Card"), vec![queue("hand")]),
        ],
        None,
    );
    assert_eq!(only(&d, Code::Redundant).rules, ["ace"]);
}

#[test]
fn redundancy_follows_continue_rules_as_sequences_of_actions() {
    // ace: [log, hand]; without it: log (continue) then hand => the same.
    let (_, d) = run(
        vec![
            rule(
                "ace",
                and(vec![ty("Card"), c(Test::Eq(Lit::Int(1)))]),
                vec![queue("log"), queue("hand")],
            ),
            rule("log", ty("Card"), vec![queue("log"), ActionKind::Continue]),
            rule("cards", ty("Card"), vec![queue("hand")]),
        ],
        inbox(),
    );
    assert_eq!(only(&d, Code::Redundant).rules, ["ace"]);
    // With the order of actions swapped it is not the same outcome.
    let (_, d) = run(
        vec![
            rule(
                "ace",
                and(vec![ty("Card"), c(Test::Eq(Lit::Int(1)))]),
                vec![queue("hand"), queue("log")],
            ),
            rule("log", ty("Card"), vec![queue("log"), ActionKind::Continue]),
            rule("cards", ty("Card"), vec![queue("hand")]),
        ],
        inbox(),
    );
    assert!(with_code(&d, Code::Redundant).is_empty(), "{d:#?}");
}

#[test]
fn a_shadowed_rule_is_not_also_redundant_or_overlapping() {
    let (_, d) = run(
        vec![
            rule("all", ty("Card"), vec![queue("inbox")]),
            rule("ace", and(vec![ty("Card"), c(Test::Eq(Lit::Int(1)))]), vec![queue("inbox")]),
        ],
        inbox(),
    );
    let codes: Vec<Code> = d
        .iter()
        .filter(|d| d.rules.first().map(String::as_str) == Some("ace"))
        .map(|d| d.code)
        .collect();
    assert_eq!(codes, [Code::Shadowed]);
}

#[test]
fn sync_messages_reaching_an_async_handler_are_reported_unless_excluded() {
    let (_, d) = run(vec![rule("r", ty("Card"), vec![call("h", true)])], inbox());
    let f = only(&d, Code::SyncToAsync);
    assert!(f.witness.as_ref().is_some_and(|w| w.sync));
    let (_, d) = run(
        vec![rule(
            "r",
            and(vec![ty("Card"), not(pred(FieldRef::Sync, Test::IsTrue))]),
            vec![call("h", true)],
        )],
        inbox(),
    );
    assert!(with_code(&d, Code::SyncToAsync).is_empty());
}

#[test]
fn a_listener_without_otherwise_reports_unrouted_types_with_a_witness() {
    let (p, d) = run(vec![rule("cards", ty("Card"), vec![queue("a")])], None);
    let f = only(&d, Code::Unrouted);
    let w = f.witness.as_ref().expect("witness");
    assert!(route(&p.listeners()[0], w).unrouted);
    assert!(
        f.message.contains("`Greeting`")
            && f.message.contains("`Pos`")
            && !f.message.contains("`Card`")
    );
    let (_, d) = run(
        vec![rule(
            "known",
            pred(
                FieldRef::Type,
                Test::In(vec![
                    Lit::Str("Card".into()),
                    Lit::Str("Greeting".into()),
                    Lit::Str("Pos".into()),
                ]),
            ),
            vec![queue("a")],
        )],
        None,
    );
    assert!(with_code(&d, Code::Unrouted).is_empty(), "{d:#?}");
}

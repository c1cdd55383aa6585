//! Unit tests of each finding, positive and negative.

use super::analyse;
use super::generate::*;
use crate::diagnostic::{Code, Diagnostic};
use crate::eval::{eval, route};
use crate::program::{ActionKind, Cond, FieldRef, Lit, Program, Test, Type};

fn card() -> crate::program::MessageDef {
    message("Card", &[("card", Type::Int), ("suit", Type::Optional(Box::new(Type::Str)))])
}

fn greeting() -> crate::program::MessageDef {
    message("Greeting", &[("dealer", Type::Bool)])
}

fn pos() -> crate::program::MessageDef {
    message("Pos", &[("x", Type::Float)])
}

fn c(t: Test) -> Cond {
    pred(field("card", Type::Int), t)
}

fn suit(t: Test) -> Cond {
    pred(field("suit", Type::Optional(Box::new(Type::Str))), t)
}

fn x(t: Test) -> Cond {
    pred(field("x", Type::Float), t)
}

fn run(
    rules: Vec<crate::program::RuleDef>,
    otherwise: Option<Vec<ActionKind>>,
) -> (Program, Vec<Diagnostic>) {
    let p = program(vec![card(), greeting(), pos()], vec![listener("l", rules, otherwise)]);
    let d = analyse(&p);
    (p, d)
}

fn with_code(d: &[Diagnostic], code: Code) -> Vec<&Diagnostic> {
    d.iter().filter(|d| d.code == code).collect()
}

fn only(d: &[Diagnostic], code: Code) -> &Diagnostic {
    let found = with_code(d, code);
    assert_eq!(found.len(), 1, "expected one {code}, got {d:#?}");
    found[0]
}

fn inbox() -> Option<Vec<ActionKind>> {
    Some(vec![queue("inbox")])
}

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
    assert!(matches!(w.content.get("x"), Some(crate::sample::Value::Float(f)) if f.is_nan()));
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
    let mut spaces = vec![super::Space::new(&p, super::Class::Declared(0))];
    let t = super::Table::new(&p, &p.listeners()[0], &mut spaces);
    let cands = &t.cands[0];
    assert!(cands[..n].iter().all(|c| c == &[n]), "each meets only `any`: {:?}", &cands[..3]);
    assert_eq!(cands[n].len(), n, "`any` meets every one");
    // And the analysis says so: `any` overlaps none (it contains each), nothing is shadowed.
    let d = analyse(&p);
    assert!(with_code(&d, Code::Shadowed).is_empty(), "{d:#?}");
}

#[test]
fn a_question_the_search_gives_up_on_is_reported_as_undecided_not_kept_silent() {
    // "Some text has `a` 21 characters from its end and `b` there too": no
    // text does, but deciding it explores every split of the last 21
    // characters into a's and b's (2^21 states none covers), past the limit
    // (here a hundredth of the real one, which a release build reaches in
    // 0.2 s: `dispatchio check` of these two rules).
    // The overlap of the two rules is neither claimed nor denied: each rule
    // gets an `undecided` warning.
    let q = "?".repeat(20);
    let rules = vec![
        rule("a", suit(Test::Matches(format!("*a{q}").into())), vec![queue("a")]),
        rule("b", suit(Test::Matches(format!("*b{q}").into())), vec![queue("b")]),
    ];
    let p = program(vec![card()], vec![listener("l", rules, inbox())]);
    let d = super::analyse_within(&p, super::solver::Work::small(2));
    let undecided: Vec<&str> =
        with_code(&d, Code::Undecided).iter().map(|d| d.rules[0].as_str()).collect();
    assert_eq!(undecided, ["a", "b"], "{d:#?}");
    assert!(with_code(&d, Code::Overlap).is_empty());
}

#[test]
fn once_the_shared_work_is_spent_every_question_is_unknown() {
    let p = program(vec![card()], vec![listener("l", vec![], inbox())]);
    let work = std::rc::Rc::new(super::solver::Work::for_rules(0));
    let mut space = super::Space::new(&p, super::Class::Declared(0)).sharing(&work);
    let f = space.compile(&suit(Test::Matches("*x*".into())));
    assert!(matches!(space.solve(&[&f]), super::Answer::Sat(_)));
    work.spend_all();
    assert!(matches!(space.solve(&[&f]), super::Answer::Unknown));
    // A question without strings needs no string search, but nodes are spent too.
    let g = space.compile(&c(Test::Lt(Lit::Int(5))));
    assert!(matches!(space.solve(&[&g]), super::Answer::Unknown));
}

#[test]
fn many_questions_given_up_on_share_one_limit_and_each_rule_is_named() {
    // Sixty rules of the shape above: each question costs its whole limit,
    // until the analysis's shared work is spent; then every question is
    // answered "unknown" at once. Each rule is reported, none claimed.
    let q = "?".repeat(20);
    let letters: Vec<char> = ('a'..='z').chain('A'..='Z').collect();
    let rules = (0..60)
        .map(|k| {
            let g = format!("*{}{q}{k}", letters[k % letters.len()]);
            rule(&format!("r{k}"), suit(Test::Matches(g.into())), vec![queue(&format!("q{k}"))])
        })
        .collect();
    let p = program(vec![card()], vec![listener("l", rules, inbox())]);
    let d = super::analyse_within(&p, super::solver::Work::small(60));
    let undecided = with_code(&d, Code::Undecided);
    assert_eq!(undecided.len(), 60, "{d:#?}");
    assert!(d.iter().all(|d| d.code == Code::Undecided), "{d:#?}");
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

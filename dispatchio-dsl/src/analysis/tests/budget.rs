//! The work budget: questions given up on are `undecided`, never silent.

use super::*;

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
    let d = crate::analysis::analyse_within(&p, crate::analysis::solver::Work::small(2));
    let undecided: Vec<&str> =
        with_code(&d, Code::Undecided).iter().map(|d| d.rules[0].as_str()).collect();
    assert_eq!(undecided, ["a", "b"], "{d:#?}");
    assert!(with_code(&d, Code::Overlap).is_empty());
}

#[test]
fn once_the_shared_work_is_spent_every_question_is_unknown() {
    let p = program(vec![card()], vec![listener("l", vec![], inbox())]);
    let work = std::rc::Rc::new(crate::analysis::solver::Work::for_rules(0));
    let mut space =
        crate::analysis::Space::new(&p, crate::analysis::Class::Declared(0)).sharing(&work);
    let f = space.compile(&suit(Test::Matches("*x*".into())));
    assert!(matches!(space.solve(&[&f]), crate::analysis::solver::Answer::Sat(_)));
    work.spend_all();
    assert!(matches!(space.solve(&[&f]), crate::analysis::solver::Answer::Unknown));
    // A question without strings needs no string search, but nodes are spent too.
    let g = space.compile(&c(Test::Lt(Lit::Int(5))));
    assert!(matches!(space.solve(&[&g]), crate::analysis::solver::Answer::Unknown));
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
    let d = crate::analysis::analyse_within(&p, crate::analysis::solver::Work::small(60));
    let undecided = with_code(&d, Code::Undecided);
    assert_eq!(undecided.len(), 60, "{d:#?}");
    assert!(d.iter().all(|d| d.code == Code::Undecided), "{d:#?}");
}

//! Unit tests of the reference evaluator.

use crate::eval::*;
use dispatchio_dsl::concrete::{Sample, Value};
use dispatchio_dsl::diagnostic::{FileId, Span};
use dispatchio_dsl::program::{
    Action, ActionKind, Cond, CondKind, FieldRef, ListenerDef, Lit, Pred, RuleDef, Test, Type,
};

fn sp() -> Span {
    Span::new(FileId(0), 0, 0)
}

fn pred(field: FieldRef, test: Test) -> Cond {
    Cond { kind: CondKind::Pred(Pred { field, test }), span: sp() }
}

fn dynamic(name: &str) -> FieldRef {
    FieldRef::Dynamic { path: vec![name.to_owned()] }
}

#[test]
fn glob_matching_costs_tokens_times_characters_not_exponential_in_stars() {
    // 30 stars against 200 characters that never match: trying every
    // split took longer than anyone waited; position sets take microseconds.
    let g = Glob::new(&format!("{}*b", "*a".repeat(30)));
    let answers = within_30s(move || {
        (g.is_match(&"a".repeat(200)), g.is_match(&format!("{}b", "a".repeat(200))))
    });
    assert_eq!(answers, (false, true));
}

#[test]
fn globs_match_whole_strings_with_classes_and_escapes() {
    let g = |p: &str, s: &str| Glob::new(p).is_match(s);
    assert!(g("enemy-*", "enemy-1"));
    assert!(g("enemy-*", "enemy-"));
    assert!(!g("enemy-*", "xenemy-1"));
    assert!(g("a?c", "abc") && !g("a?c", "ac"));
    assert!(g("[a-c]x", "bx") && !g("[a-c]x", "dx"));
    assert!(g("[!a]", "b") && !g("[!a]", "a") && !g("[!a]", ""));
    assert!(g("[]]", "]"));
    assert!(g("[ab", "[ab"));
    assert!(g(r"\*", "*") && !g(r"\*", "x"));
    assert!(g("*a*b", "xxaxxb") && !g("*a*b", "ba"));
}

#[test]
fn absent_fields_make_every_test_false_except_exists() {
    let msg = Sample::new("Card");
    for test in [Test::Eq(Lit::Int(1)), Test::Ne(Lit::Int(1)), Test::NotIn(vec![Lit::Int(1)])] {
        assert!(!eval(&pred(FieldRef::Source, test), &msg));
    }
    assert!(!eval(&pred(FieldRef::Source, Test::Exists), &msg));
    let not = Cond {
        kind: CondKind::Not(Box::new(pred(FieldRef::Source, Test::Eq(Lit::Int(1))))),
        span: sp(),
    };
    assert!(eval(&not, &msg));
}

#[test]
fn ids_compare_across_kinds_and_match_ints_as_text() {
    let mut msg = Sample::new("Card");
    msg.source = Some(Value::Str("5".into()));
    assert!(eval(&pred(FieldRef::Source, Test::Ne(Lit::Int(5))), &msg));
    assert!(!eval(&pred(FieldRef::Source, Test::Eq(Lit::Int(5))), &msg));
    msg.source = Some(Value::Int(-12));
    assert!(eval(&pred(FieldRef::Source, Test::Matches("-1?".into())), &msg));
    assert!(eval(&pred(FieldRef::Source, Test::NotIn(vec![Lit::Str("x".into())])), &msg));
}

#[test]
fn dynamic_values_of_another_kind_make_comparisons_false() {
    let mut msg = Sample::new("Other");
    msg.content.insert("x".into(), Value::Str("a".into()));
    for test in [
        Test::Ne(Lit::Int(5)),
        Test::Lt(Lit::Int(5)),
        Test::NotIn(vec![Lit::Int(1)]),
        Test::Matches("*".into()),
    ] {
        let c = pred(dynamic("x"), test.clone());
        let holds = eval(&c, &msg);
        assert_eq!(holds, matches!(test, Test::Matches(_)), "{test:?}");
    }
    msg.content.insert("x".into(), Value::Int(3));
    assert!(eval(&pred(dynamic("x"), Test::Eq(Lit::Float(3.0))), &msg));
    assert!(eval(&pred(dynamic("x"), Test::Lt(Lit::Float(3.5))), &msg));
    assert!(!eval(&pred(dynamic("x"), Test::Matches("3".into())), &msg));
}

#[test]
fn nan_is_unequal_and_unordered() {
    let mut msg = Sample::new("Pos");
    msg.content.insert("x".into(), Value::Float(f64::NAN));
    let f = || FieldRef::Content { path: vec!["x".into()], ty: Type::Float };
    assert!(!eval(&pred(f(), Test::Eq(Lit::Float(f64::NAN))), &msg));
    assert!(eval(&pred(f(), Test::Ne(Lit::Float(1.0))), &msg));
    assert!(!eval(&pred(f(), Test::Lt(Lit::Float(1.0))), &msg));
    assert!(!eval(&pred(f(), Test::Ge(Lit::Float(1.0))), &msg));
    msg.content.insert("x".into(), Value::Float(-0.0));
    assert!(eval(&pred(f(), Test::Eq(Lit::Float(0.0))), &msg));
}

#[test]
fn lists_contain_elements_and_strings_contain_substrings() {
    let mut msg = Sample::new("Hand");
    msg.content.insert("cards".into(), Value::List(vec![Value::Int(1), Value::Int(7)]));
    msg.content.insert("name".into(), Value::Str("alice".into()));
    let list =
        FieldRef::Content { path: vec!["cards".into()], ty: Type::List(Box::new(Type::Int)) };
    let name = FieldRef::Content { path: vec!["name".into()], ty: Type::Str };
    assert!(eval(&pred(list.clone(), Test::Contains(Lit::Int(7))), &msg));
    assert!(!eval(&pred(list, Test::Contains(Lit::Int(2))), &msg));
    assert!(eval(&pred(name.clone(), Test::Contains(Lit::Str("lic".into()))), &msg));
    assert!(!eval(&pred(name, Test::Contains(Lit::Str("bob".into()))), &msg));
}

#[test]
fn route_stops_at_the_first_stopping_rule_and_runs_otherwise_after_continues() {
    let act = |k: ActionKind| Action { kind: k, span: sp() };
    let rule = |name: &str, cond: Cond, actions: Vec<ActionKind>| RuleDef {
        name: name.into(),
        span: sp(),
        name_span: sp(),
        allow: vec![],
        cond,
        actions: actions.into_iter().map(act).collect(),
    };
    let sync = || pred(FieldRef::Sync, Test::IsTrue);
    let mut l = ListenerDef {
        name: "l".into(),
        span: sp(),
        name_span: sp(),
        rules: vec![
            rule("log", sync(), vec![ActionKind::Queue("log".into()), ActionKind::Continue]),
            rule("stop", sync(), vec![ActionKind::Drop]),
        ],
        otherwise: None,
    };
    let mut msg = Sample::new("A");
    msg.sync = true;
    let d = route(&l, &msg);
    assert_eq!(d.fired, vec![0, 1]);
    assert_eq!(d.actions, vec![ActionKind::Queue("log".into()), ActionKind::Drop]);
    msg.sync = false;
    let d = route(&l, &msg);
    assert!(d.unrouted && d.fired.is_empty());
    l.rules[1].cond = pred(FieldRef::Blocking, Test::IsTrue);
    l.otherwise = Some(dispatchio_dsl::program::Otherwise {
        span: sp(),
        actions: vec![act(ActionKind::Drop)],
    });
    msg.sync = true;
    let d = route(&l, &msg);
    assert!(d.otherwise && !d.unrouted);
    assert_eq!(d.actions, vec![ActionKind::Queue("log".into()), ActionKind::Drop]);
}

/// Runs `f` on its own thread and fails the test if it has not returned
/// within 30 s: a guard for fixes of hangs.
fn within_30s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(30)).expect("returned within 30 s")
}

#[test]
fn the_oracle_shares_no_code_with_the_model() {
    // What the oracle may not call: the model's crate, and the evaluation,
    // glob parsing and matching that programs' data types carry from it.
    let src = include_str!("eval.rs");
    for banned in ["dispatchio_model", ".eval(", ".tokens()", "match_tokens", "lit_eq", "lit_cmp"] {
        assert!(!src.contains(banned), "eval.rs uses `{banned}`");
    }
    let manifest = include_str!("../Cargo.toml");
    assert!(!manifest.contains("dispatchio-model."), "the oracle depends on dispatchio-model");
}

//! The checker's narrowing against brute force: a condition is accepted
//! exactly when every content field in it is read only from messages of
//! types that declare it.

use std::collections::BTreeSet;

use proptest::prelude::*;

use crate::diagnostic::{Code, Diagnostic};
use crate::test_support::cases;

/// A condition of the narrowing test, before it is written as text.
#[derive(Clone, Debug)]
enum N {
    /// A test on `type`: `op` is `==`, `!=`, `in` or `not in`.
    Type(&'static str, Vec<&'static str>),
    /// A test on a content field (`k > 1`, `j`, `s == "x"`), by field
    /// name, and its position among the field tests.
    Field(&'static str, usize),
    /// A test on the envelope (`sync`), which narrows nothing.
    Free,
    And(Vec<N>),
    Or(Vec<N>),
    Not(Box<N>),
}

/// `A { k: int, s: string }`, `B { k: int, j: bool }`, `C { j: bool }`;
/// `Z` is a name the tests use that no message declares, `O` any other.
const NARROW_SCHEMA: &str = "message A { k: int, s: string }\n\
                             message B { k: int, j: bool }\n\
                             message C { j: bool }\n";
const NARROW_TYPES: [&str; 5] = ["A", "B", "C", "Z", "O"];

fn declares(ty: &str, field: &str) -> bool {
    matches!((ty, field), ("A", "k" | "s") | ("B", "k" | "j") | ("C", "j"))
}

fn narrow_cond() -> impl Strategy<Value = N> {
    let name = || prop::sample::select(vec!["A", "B", "C", "Z"]);
    let leaf = prop_oneof![
        (prop::sample::select(vec!["==", "!="]), name()).prop_map(|(op, t)| N::Type(op, vec![t])),
        (prop::sample::select(vec!["in", "not in"]), prop::collection::vec(name(), 1..=2))
            .prop_map(|(op, ts)| N::Type(op, ts)),
        prop::sample::select(vec!["k", "j", "s"]).prop_map(|f| N::Field(f, 0)),
        Just(N::Free),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..=3).prop_map(N::And),
            prop::collection::vec(inner.clone(), 2..=3).prop_map(N::Or),
            inner.prop_map(|n| N::Not(Box::new(n))),
        ]
    })
    .prop_map(|mut n| {
        number(&mut n, &mut 0);
        n
    })
}

/// Numbers the field tests in the order they are written.
fn number(n: &mut N, next: &mut usize) {
    match n {
        N::Field(_, at) => {
            *at = *next;
            *next += 1;
        }
        N::And(cs) | N::Or(cs) => cs.iter_mut().for_each(|c| number(c, next)),
        N::Not(c) => number(c, next),
        N::Type(..) | N::Free => {}
    }
}

fn narrow_text(n: &N) -> String {
    let name = |t: &str| if t == "Z" { "\"Z\"".to_owned() } else { t.to_owned() };
    match n {
        N::Type(op, ts) if op.contains("in") => {
            let set: Vec<String> = ts.iter().map(|t| name(t)).collect();
            format!("type {op} {{{}}}", set.join(", "))
        }
        N::Type(op, ts) => format!("type {op} {}", name(ts[0])),
        N::Field("k", _) => "k > 1".to_owned(),
        N::Field("j", _) => "j".to_owned(),
        N::Field(..) => "s == \"x\"".to_owned(),
        N::Free => "sync".to_owned(),
        N::And(cs) => format!("({})", cs.iter().map(narrow_text).collect::<Vec<_>>().join(" and ")),
        N::Or(cs) => format!("({})", cs.iter().map(narrow_text).collect::<Vec<_>>().join(" or ")),
        N::Not(c) => format!("not {}", narrow_text(c)),
    }
}

/// The value of `n` for a message of type `ty`, evaluated left to right
/// with `and` and `or` stopping early, every test other than on `type`
/// taking the next of `free` (so each is free to be true or false);
/// every field test reached is added to `reached`.
fn narrow_eval(
    n: &N,
    ty: &str,
    free: &mut impl Iterator<Item = bool>,
    reached: &mut Vec<(&'static str, usize)>,
) -> bool {
    match n {
        N::Type(op, ts) => ts.contains(&ty) == matches!(*op, "==" | "in"),
        N::Field(f, at) => {
            reached.push((f, *at));
            free.next().unwrap_or(false)
        }
        N::Free => free.next().unwrap_or(false),
        N::And(cs) => cs.iter().all(|c| narrow_eval(c, ty, free, reached)),
        N::Or(cs) => cs.iter().any(|c| narrow_eval(c, ty, free, reached)),
        N::Not(c) => !narrow_eval(c, ty, free, reached),
    }
}

fn free_tests(n: &N) -> usize {
    match n {
        N::Type(..) => 0,
        N::Field(..) | N::Free => 1,
        N::And(cs) | N::Or(cs) => cs.iter().map(free_tests).sum(),
        N::Not(c) => free_tests(c),
    }
}

/// Whether every content field of `n` is provably read from a message of
/// a type that declares it, by brute force: for every type and every
/// outcome of the other tests, each field evaluation reaches is declared
/// by the type, and each field is reached by some type (one no type can
/// reach is an error of its own, "no message type is possible").
fn well_narrowed(n: &N) -> bool {
    let tests = free_tests(n);
    let mut reached_by_any = BTreeSet::new();
    for ty in NARROW_TYPES {
        for bits in 0..1u32 << tests {
            let mut free = (0..tests).map(|b| bits & (1 << b) != 0);
            let mut reached = Vec::new();
            narrow_eval(n, ty, &mut free, &mut reached);
            if reached.iter().any(|(f, _)| !declares(ty, f)) {
                return false;
            }
            reached_by_any.extend(reached.iter().map(|(_, at)| *at));
        }
    }
    let mut fields = 0;
    number(&mut n.clone(), &mut fields);
    reached_by_any.len() == fields
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(512), ..ProptestConfig::default() })]

    /// The type stage accepts a condition exactly when, by brute force,
    /// every content field in it is read only from messages of types that
    /// declare it (issue 11, case 3: no well-typed table is rejected, and
    /// no ill-typed one accepted).
    #[test]
    fn narrowing_accepts_exactly_the_well_narrowed_conditions(n in narrow_cond()) {
        let text = format!(
            "{NARROW_SCHEMA}listener l {{\n rule r when {} => drop\n rule u when type in {{A, B, C}} => drop\n}}\n",
            narrow_text(&n)
        );
        let report = crate::check_str("n.route", text.as_str());
        let type_errors: Vec<&Diagnostic> = report
            .diagnostics
            .iter()
            .filter(|d| matches!(d.code, Code::FieldNotNarrowed | Code::UnknownName | Code::TypeMismatch))
            .collect();
        let expected = well_narrowed(&n);
        prop_assert_eq!(
            type_errors.is_empty(),
            expected,
            "{}\n{}",
            text,
            report.render_plain()
        );
    }
}

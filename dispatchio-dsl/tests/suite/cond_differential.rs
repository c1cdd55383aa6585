//! One meaning, at the level of single conditions: core's runtime
//! conditions (`dispatchio_core::routing::Cond`, what builder tables and the
//! interpreter evaluate) decide exactly as the reference evaluator
//! (`eval::eval`) on random condition trees and random messages: every
//! test on every kind of field, values of the wrong kind, absent fields,
//! NaN and signed zeros, integer and string IDs, globs with classes and
//! escapes.

use dispatchio_dsl::diagnostic::{FileId, Span};
use dispatchio_dsl::interp::lower_cond;
use dispatchio_dsl::program::{Cond, CondKind, FieldRef, Lit, Pred, Program, Test, Type};
use dispatchio_oracle as eval;
use proptest::prelude::*;

use crate::interp_differential::{Pools, Tape, gen_sample, message};

/// Globs worth trying: classes (negated both ways, `]` first, ranges),
/// escapes, stars, an unclosed `[`.
const GLOBS: &[&str] = &[
    "*", "", "enemy-*", "e?emy-1", "[a-e]*", "[!a]*", "[^e]*", "[]]", "[!]]x", r"\*x", r"\[x]",
    r"a\?", "a[b", "-1?", "*1", "[0-9]", "[z-a]", r"x\",
];

/// Strings that those globs and the tests' literals make interesting.
const STRS: &[&str] =
    &["", "x", "enemy-1", "*x", "[x]", "]", "]x", "a?", "ab", "a[b", "-12", "5", "e", "x\\"];

/// Content paths read, with the declared types a typed read may have.
const PATHS: &[&[&str]] = &[&["a"], &["b"], &["r", "x"]];

pub(crate) fn sp() -> Span {
    Span::new(FileId(0), 0, 0)
}

pub(crate) fn pools() -> Pools {
    Pools {
        types: vec!["A".into(), "B".into(), "enemy-1".into()],
        ints: vec![0, 1, -1, 5, -12, 52, i64::MAX, i64::MIN],
        floats: vec![0.0, -0.0, 1.0, 1.5, 5.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY],
        strs: STRS.iter().map(|s| (*s).to_owned()).collect(),
        dynamic: PATHS.iter().map(|p| p.iter().map(|s| (*s).to_owned()).collect()).collect(),
    }
}

fn gen_type(t: &mut Tape<'_>) -> Type {
    let base = [Type::Int, Type::Float, Type::Str, Type::Id, Type::Bool, Type::Any];
    let ty = t.pick(&base);
    match t.next() % 4 {
        0 => Type::List(Box::new(ty)),
        1 => Type::Optional(Box::new(ty)),
        _ => ty,
    }
}

fn gen_field(t: &mut Tape<'_>) -> FieldRef {
    match t.next() % 12 {
        0 => FieldRef::Type,
        1 => FieldRef::Id,
        2 => FieldRef::Source,
        3 => FieldRef::Dest,
        4 => FieldRef::Group,
        5 => FieldRef::ResponseRequired,
        6 => FieldRef::Sync,
        7 | 8 => FieldRef::Dynamic { path: t.pick(&pools().dynamic) },
        _ => FieldRef::Content { path: t.pick(&pools().dynamic), ty: gen_type(t) },
    }
}

fn gen_lit(t: &mut Tape<'_>, p: &Pools) -> Lit {
    match t.next() % 7 {
        0 => Lit::Bool(t.chance(50)),
        1 | 2 => Lit::Int(t.pick(&p.ints)),
        3 => Lit::Float(t.pick(&p.floats)),
        _ => Lit::Str(t.pick(&p.strs).into()),
    }
}

fn gen_test(t: &mut Tape<'_>, p: &Pools) -> Test {
    let set = |t: &mut Tape<'_>| (0..t.next() % 4).map(|_| gen_lit(t, p)).collect();
    match t.next() % 15 {
        0 => Test::Eq(gen_lit(t, p)),
        1 => Test::Ne(gen_lit(t, p)),
        2 => Test::Lt(gen_lit(t, p)),
        3 => Test::Le(gen_lit(t, p)),
        4 => Test::Gt(gen_lit(t, p)),
        5 => Test::Ge(gen_lit(t, p)),
        6 => Test::In(set(t)),
        7 => Test::NotIn(set(t)),
        8 | 9 => Test::Matches(t.pick(GLOBS).into()),
        10 => Test::StartsWith(t.pick(&p.strs).into()),
        11 => Test::EndsWith(t.pick(&p.strs).into()),
        12 => Test::Contains(gen_lit(t, p)),
        13 => Test::Exists,
        _ => Test::IsTrue,
    }
}

pub(crate) fn gen_cond(t: &mut Tape<'_>, p: &Pools, depth: u32) -> Cond {
    let kind = match if depth > 2 { 0 } else { t.next() % 6 } {
        0..=2 => CondKind::Pred(Pred { field: gen_field(t), test: gen_test(t, p) }),
        3 => CondKind::And((0..1 + t.next() % 3).map(|_| gen_cond(t, p, depth + 1)).collect()),
        4 => CondKind::Or((0..1 + t.next() % 3).map(|_| gen_cond(t, p, depth + 1)).collect()),
        _ => CondKind::Not(Box::new(gen_cond(t, p, depth + 1))),
    };
    Cond { kind, span: sp() }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2048)
    ))]

    #[test]
    fn core_conditions_decide_as_the_reference_evaluator(
        choices in proptest::collection::vec(any::<u32>(), 128),
    ) {
        let program = empty_program();
        let p = pools();
        let mut tape = Tape { choices: &choices, at: 0 };
        let cond = gen_cond(&mut tape, &p, 0);
        let lowered = lower_cond(&cond);
        for _ in 0..4 {
            let sample = gen_sample(&mut tape, &p, &program);
            let msg = message(&sample);
            prop_assert_eq!(
                lowered.eval(&msg), eval::eval(&cond, &sample),
                "condition {:?} on message {}", cond, sample
            );
        }
    }
}

/// A program with nothing declared: the samples' typed content is not needed.
fn empty_program() -> Program {
    dispatchio_dsl::load_str("empty.route", "").expect("an empty program is valid").program
}

/// The corner cases the two implementations once disagreed on, pinned.
#[test]
fn nan_inequality_and_glob_escapes_agree_with_the_reference() {
    let p = pools();
    let program = empty_program();
    let mut sample = gen_sample(&mut Tape { choices: &[], at: 0 }, &p, &program);
    let pred = |field: FieldRef, test: Test| Cond {
        kind: CondKind::Pred(Pred { field, test }),
        span: sp(),
    };
    let x = || FieldRef::Content { path: vec!["a".into()], ty: Type::Float };
    sample.content.insert("a".into(), dispatchio_dsl::Value::Float(f64::NAN));
    sample.source = Some(dispatchio_dsl::Value::Str("*x".into()));
    let cases = [
        pred(x(), Test::Ne(Lit::Float(1.0))),
        pred(x(), Test::NotIn(vec![Lit::Float(1.0), Lit::Int(2)])),
        pred(FieldRef::Source, Test::Matches(r"\*x".into())),
        pred(FieldRef::Source, Test::Matches("[!a]x".into())),
        pred(FieldRef::Source, Test::Matches("[^*]x".into())),
    ];
    let msg = message(&sample);
    for c in cases {
        let want = eval::eval(&c, &sample);
        assert_eq!(lower_cond(&c).eval(&msg), want, "{c:?}");
    }
}

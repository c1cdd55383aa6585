//! `dispatchio explain`'s trace against the reference evaluator, on the
//! random tables and the message domain of the analyser's property test:
//! the same rules fired, the same actions, the same end, and every rule
//! that did not fire shown with a part of its condition that is false.

use super::*;
use crate::eval::field_value;
use crate::explain::{FailureKind, Outcome, explain};
use crate::program::CondKind;

/// Every `STRIDE`th message of the domain: every kind of message, at a
/// cost a debug build runs 64 tables of in seconds.
const STRIDE: usize = 37;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(64)))]

    #[test]
    fn the_trace_decides_as_the_reference_evaluator_on_random_tables(l in table()) {
        let program = program(schema(), vec![l]);
        let l = &program.listeners()[0];
        thread_local! {
            static DOMAIN: Vec<Sample> = universe().into_iter().step_by(STRIDE).collect();
        }
        let domain = DOMAIN.with(Clone::clone);
        for m in &domain {
            let t = explain(&program, &l.name, m).expect("the listener is in its program");
            let d = t.decision();
            let want = route(l, m);
            prop_assert_eq!(
                (&d.fired, &d.actions, d.otherwise, d.unrouted),
                (&want.fired, &want.actions, want.otherwise, want.unrouted),
                "{}on {}", show(l), m
            );
            for r in &t.rules {
                let Outcome::Failed(f) = &r.outcome else { continue };
                // A rule explained as failed did not fire, and the failure
                // is the one the oracle finds: the first false operand of
                // each `and`, down to a test, an `or` or a `not`.
                prop_assert!(!want.fired.contains(&r.index));
                let part = first_false(&l.rules[r.index].cond, m);
                let kind = match &part.kind {
                    CondKind::Pred(p) => FailureKind::Test {
                        field: p.field.clone(),
                        value: field_value(&p.field, m),
                    },
                    CondKind::Or(_) => FailureKind::NoAlternative,
                    CondKind::Not(_) => FailureKind::Negated,
                    CondKind::And(_) => unreachable!("first_false looks into every `and`"),
                };
                // By `Debug`, so that a NaN read equals the NaN expected.
                prop_assert_eq!(format!("{:?}", f.kind), format!("{kind:?}"), "{}{} on {}", show(l), r.name, m);
            }
        }
    }
}

/// The part of `cond` (false on `m`) that explains why, by the oracle.
fn first_false<'a>(cond: &'a Cond, m: &Sample) -> &'a Cond {
    match &cond.kind {
        CondKind::And(cs) => {
            let c = cs.iter().find(|c| !eval(c, m)).expect("a false `and` has a false operand");
            first_false(c, m)
        }
        _ => cond,
    }
}

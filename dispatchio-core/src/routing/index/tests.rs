use super::*;
use crate::content::DynContent;
use crate::routing::End;
use crate::value::DynValue;
use std::sync::Arc;

fn msg(ty: &str, fields: &[(&str, DynValue)]) -> Message {
    let rec = DynValue::Record(fields.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect());
    Message::from_shared(Arc::new(DynContent::new(ty.to_owned(), rec)))
}

fn set(conds: Vec<(Cond, bool)>, otherwise: bool) -> RuleSet {
    let rules = conds
        .into_iter()
        .enumerate()
        .map(|(i, (cond, continues))| IndexedRule {
            slot: i,
            cond,
            steps: vec![Step::Queue(i)].into(),
            continues,
        })
        .collect();
    RuleSet::new(rules, otherwise.then(|| vec![Step::Drop].into()))
}

fn route(s: &RuleSet, m: &Message) -> Fired {
    let mut f = Fired::new();
    s.route(m, &mut f);
    f
}

/// `type == A and code == k` for k in 0..8, a duplicate key that
/// continues, and a rule for any type in the middle of the run.
fn keyed() -> RuleSet {
    let code = || Field::content("code");
    let mut rules: Vec<(Cond, bool)> =
        (0..8).map(|k| (Cond::type_is("A") & code().eq(k), false)).collect();
    rules.insert(3, (Cond::type_is("A") & code().eq(5), true));
    rules.insert(5, (Field::Sync.is_true(), false));
    rules.push((Cond::type_is("A") & code().eq(5), false));
    set(rules, true)
}

#[test]
fn equality_runs_keep_rule_order_continue_and_duplicates() {
    let s = keyed();
    let f = route(&s, &msg("A", &[("code", 5.into())]));
    // Rule 3 (`code == 5`, continue), then rule 7 (the first stopping `code == 5`).
    assert_eq!(f.rules(), &[3, 7]);
    assert_eq!(f.end(), End::Stopped(7));
    let f = route(&s, &msg("A", &[("code", 1.into())]).synchronous());
    assert_eq!(f.rules(), &[1], "the key hit comes before the untyped rule");
    let f = route(&s, &msg("A", &[("code", 6.into())]).synchronous());
    assert_eq!(f.rules(), &[5], "the untyped rule interleaved in the run still runs");
    let f = route(&s, &msg("A", &[("code", 99.into())]));
    assert_eq!(f.end(), End::Otherwise);
}

#[test]
fn values_the_index_cannot_key_still_route_exactly() {
    let s = keyed();
    // `2.0 == 2` holds: a float is tried against every rule of the run.
    assert_eq!(route(&s, &msg("A", &[("code", 2.0f64.into())])).rules(), &[2]);
    assert_eq!(route(&s, &msg("A", &[("code", f64::NAN.into())])).end(), End::Otherwise);
    assert_eq!(route(&s, &msg("A", &[("code", "5".into())])).end(), End::Otherwise);
    assert_eq!(route(&s, &msg("A", &[])).end(), End::Otherwise);
    assert_eq!(route(&s, &msg("B", &[("code", 5.into())])).end(), End::Otherwise);
}

#[test]
fn range_runs_find_the_interval_by_binary_search() {
    let level = || Field::content("level");
    // [0,10) [10,20) gap [30,40] [35,50) overlapping, and an empty one.
    let s = set(
        vec![
            (level().ge(0) & level().lt(10), false),
            (level().ge(10) & level().lt(20), false),
            (level().ge(30) & level().le(40), true),
            (level().ge(35) & level().lt(50), false),
            (level().gt(i64::MAX), false),
        ],
        false,
    );
    let at = |v: DynValue| route(&s, &msg("Q", &[("level", v)]));
    assert_eq!(at(0.into()).rules(), &[0]);
    assert_eq!(at(19.into()).rules(), &[1]);
    assert_eq!(at(25.into()).end(), End::Unrouted, "in the gap");
    assert_eq!(at(36.into()).rules(), &[2, 3]);
    assert_eq!(at(40.into()).rules(), &[2, 3]);
    assert_eq!(at(41.into()).rules(), &[3]);
    assert_eq!(at((-1).into()).end(), End::Unrouted);
    assert_eq!(at(i64::MAX.into()).end(), End::Unrouted);
    assert_eq!(at(9.5f64.into()).rules(), &[0], "a float is tried rule by rule");
}

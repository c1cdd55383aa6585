use super::preds::{eq_set, in_set};
use super::*;

#[test]
fn float_keys_are_ordered_like_floats_and_round_trip() {
    let xs = [f64::NEG_INFINITY, -1e300, -1.0, -5e-324, 0.0, 5e-324, 1.0, 2.5, f64::INFINITY];
    for w in xs.windows(2) {
        assert!(fkey(w[0]) < fkey(w[1]), "{:?}", w);
    }
    for x in xs {
        assert_eq!(from_fkey(fkey(x)), x);
    }
    assert_eq!(fkey(-0.0), fkey(0.0));
    assert_eq!(fkey(-5e-324) + 1, fkey(0.0));
}

#[test]
fn ranges_complement_and_union_are_exact_at_the_edges() {
    let r = Ranges(vec![(i64::MIN, -3), (4, 4), (10, i64::MAX)]);
    assert_eq!(r.complement(), Ranges(vec![(-2, 3), (5, 9)]));
    assert_eq!(r.complement().complement(), r);
    assert_eq!(Ranges::point(1).union(&Ranges::point(2)), Ranges(vec![(1, 2)]));
    assert!(Ranges::full().complement().is_empty());
}

#[test]
fn a_set_of_literals_is_the_union_of_their_sets_built_in_one_sort() {
    let lits = vec![
        Lit::Int(5),
        Lit::Int(3),
        Lit::Int(4),
        Lit::Int(i64::MAX),
        Lit::Float(2.0),
        Lit::Float(2.5),
        Lit::Float(f64::NAN),
        Lit::Str("b".into()),
        Lit::Str("a".into()),
        Lit::Bool(true),
    ];
    let folded = lits.iter().fold(Dom::default(), |acc, l| acc.union(&eq_set(l)));
    assert_eq!(in_set(&lits), folded);
    assert_eq!(in_set(&lits).ints.ranges, Ranges(vec![(2, 5), (i64::MAX, i64::MAX)]));
    // 200,000 literals: one sort (the fold was quadratic: hours here).
    let ranges = crate::test_support::within_30s(|| {
        let many: Vec<Lit> = (0..200_000).rev().map(Lit::Int).collect();
        in_set(&many).ints.ranges
    });
    assert_eq!(ranges, Ranges::span(0, 199_999));
}

#[test]
fn ints_compared_with_floats_split_where_the_conversion_does() {
    let lt = ints_cmp_float(2.5, &[std::cmp::Ordering::Less]);
    assert_eq!(lt, Ranges::span(i64::MIN, 2));
    let eq = ints_cmp_float(3.0, &[std::cmp::Ordering::Equal]);
    assert_eq!(eq, Ranges::point(3));
    assert!(ints_cmp_float(f64::NAN, &[std::cmp::Ordering::Less]).is_empty());
}

use super::*;
use proptest::prelude::*;

fn glob() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!["a", "b", "*", "?", "[ab]", "[!a]", "[b-c]"]),
        0..4,
    )
    .prop_map(|parts| parts.concat())
}

fn all_strings(len: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut layer = vec![String::new()];
    for _ in 0..len {
        layer =
            layer.iter().flat_map(|p| ['a', 'b', 'c', 'x'].map(|c| format!("{p}{c}"))).collect();
        out.extend(layer.iter().cloned());
    }
    out
}

fn int_glob() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!["1", "2", "0", "-", "*", "?", "[0-4]", "[!1]"]),
        0..4,
    )
    .prop_map(|parts| parts.concat())
}

/// Finite sets and sets with a few values left out, as ID tests make them.
fn id_ranges() -> impl Strategy<Value = Ranges> {
    let points = prop::collection::vec(-30i64..300, 0..6);
    (any::<bool>(), points).prop_map(|(cofinite, ps)| {
        let set = ps.iter().fold(Ranges::default(), |r, &p| r.union(&Ranges::point(p)));
        if cofinite { set.complement() } else { set }
    })
}

proptest! {
    /// The integer search agrees with trying every small integer.
    #[test]
    fn int_search_agrees_with_enumeration(
        ranges in id_ranges(),
        cs in prop::collection::vec((int_glob(), any::<bool>()), 1..4),
    ) {
        let pats: TextCons = cs.iter().map(|(g, w)| (std::rc::Rc::new(Glob::new(g)), *w)).collect();
        let ok = |v: i64| ranges.contains(v) && text_ok(&pats, &v.to_string());
        let brute = (-1000i64..1000).find(|&v| ok(v));
        match find_int(&ranges, &pats, &mut 1_000_000) {
            Search::Found(v) => prop_assert!(ok(v), "{v} fails {cs:?} in {ranges:?}"),
            Search::Empty => prop_assert!(brute.is_none(), "missed {brute:?} for {cs:?} in {ranges:?}"),
            Search::GaveUp => prop_assert!(false, "gave up on {cs:?}"),
        }
    }


    /// The automaton search agrees with matching every short string:
    /// a found string satisfies every constraint, and "empty" is only
    /// said when no short string does.
    #[test]
    fn glob_search_agrees_with_enumeration(cs in prop::collection::vec((glob(), any::<bool>()), 1..4)) {
        let pats: TextCons = cs.iter().map(|(g, w)| (std::rc::Rc::new(Glob::new(g)), *w)).collect();
        let ok = |s: &str| pats.iter().all(|(g, w)| g.is_match(s) == *w);
        let brute = all_strings(5).into_iter().find(|s| ok(s));
        match find_string(&pats, &BTreeSet::new(), &mut 1_000_000) {
            Search::Found(s) => {
                prop_assert!(ok(&s), "{s:?} fails {cs:?}");
                // Pruning keeps the witness a shortest one.
                if let Some(b) = &brute {
                    prop_assert_eq!(s.chars().count(), b.chars().count(), "{:?} for {:?}", s, cs);
                }
            }
            Search::Empty => prop_assert!(brute.is_none(), "missed {brute:?} for {cs:?}"),
            Search::GaveUp => prop_assert!(false, "gave up on {cs:?}"),
        }
    }
}

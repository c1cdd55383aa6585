use super::*;
use std::cell::Cell;

thread_local! {
    /// How many product states the searches of this thread explored.
    pub(super) static EXPLORED: Cell<usize> = const { Cell::new(0) };
}

fn string(items: &[(&str, bool)]) -> Search<String> {
    find_string(&cons(items), &BTreeSet::new(), &mut 100_000)
}

#[test]
fn finds_a_shortest_string_in_an_intersection_of_globs() {
    assert_eq!(string(&[("enemy-*", true), ("*-1", true)]), Search::Found("enemy-1".into()));
    let Search::Found(s) = string(&[("a*", true), ("*b", true), ("ab", false)]) else {
        panic!("expected a string");
    };
    assert!(s.len() == 3 && s.starts_with('a') && s.ends_with('b'), "{s}");
    let Search::Found(s) = string(&[("*", true), ("", false), ("[a-z]*", false)]) else {
        panic!("expected a string");
    };
    assert!(!s.is_empty() && !s.starts_with(|c: char| c.is_ascii_lowercase()));
}

#[test]
fn proves_emptiness_of_contradictory_globs() {
    assert_eq!(string(&[("a*", true), ("b*", true)]), Search::Empty);
    assert_eq!(string(&[("a?", true), ("a*", false)]), Search::Empty);
    assert_eq!(
        string(&[("[a-c]", true), ("[!b]", true), ("a", false), ("c", false)]),
        Search::Empty
    );
}

/// `required` must match, and none of `forbidden(0)` … `forbidden(9)`.
fn one_and_none_of(required: &str, forbidden: impl Fn(usize) -> String) -> TextCons {
    let mut items = vec![(std::rc::Rc::new(Glob::new(required)), true)];
    items.extend((0..10).map(|k| (std::rc::Rc::new(Glob::new(&forbidden(k))), false)));
    items
}

/// What `f` returns, and how many product states it explored.
fn counted<T>(f: impl FnOnce() -> T) -> (T, usize) {
    EXPLORED.with(|n| n.set(0));
    let out = f();
    (out, EXPLORED.with(Cell::get))
}

#[test]
fn covered_states_are_not_explored_so_many_forbidden_globs_stay_cheap() {
    // `*1*a*?` takes every string `*10*a*?` matches: no string is left.
    // The product of the eleven automata has tens of thousands of
    // reachable states (each forbidden glob on its own: digit seen or
    // not, `a` after it or not); all but a handful are covered.
    let items = one_and_none_of("*10*a*?", |k| format!("*{k}*a*?"));
    let (found, explored) = counted(|| find_string(&items, &BTreeSet::new(), &mut 1_000_000));
    assert_eq!(found, Search::Empty);
    assert!(explored < 20, "explored {explored} states");
    // Without `*0*a*?` and `*1*a*?` there is one (`10ab`), and a shortest one.
    let items: TextCons =
        items.into_iter().enumerate().filter(|(i, _)| !matches!(i, 1 | 2)).map(|x| x.1).collect();
    let Search::Found(s) = find_string(&items, &BTreeSet::new(), &mut 1_000_000) else {
        panic!("expected a string")
    };
    assert_eq!(s.chars().count(), 4, "{s}");
}

#[test]
fn integer_texts_are_searched_with_covering_too() {
    // The same shape on an ID field: `*10*1*?` and none of `*K*1*?`.
    let items = one_and_none_of("*10*1*?", |k| format!("*{k}*1*?"));
    let (found, explored) = counted(|| find_int(&Ranges::full(), &items, &mut 1_000_000));
    assert_eq!(found, Search::Empty);
    assert!(explored < 200, "explored {explored} states");
    // Excluded values are words the text must not be.
    let not_7 = Ranges::point(7).complement();
    assert_eq!(find_int(&not_7, &cons(&[("?", true)]), &mut 1_000), Search::Found(0));
    let not_small = Ranges::span(0, 9).complement();
    assert_eq!(find_int(&not_small, &cons(&[("*", true)]), &mut 1_000), Search::Found(10));
    assert_eq!(find_int(&not_small, &cons(&[("?", true)]), &mut 1_000), Search::Empty);
}

#[test]
fn decimal_texts_stop_at_the_bounds_of_i64() {
    let mut n = Num::Start { neg: false };
    for c in "9223372036854775807".chars() {
        n = n.step(c);
    }
    assert!(n.accepts());
    assert_eq!(n.step('0'), Num::Dead);
    let mut over = Num::Start { neg: false };
    for c in "9223372036854775808".chars() {
        over = over.step(c);
    }
    assert!(!over.accepts());
    // Fewer digits leave more room: a 19-digit prefix is covered by an 18-digit one.
    assert!(over.covered_by(Num::Digits { neg: false, count: 18, cmp: Cmp::Greater }));
    assert!(!Num::Digits { neg: false, count: 18, cmp: Cmp::Less }.covered_by(over));
    assert_eq!(Num::Start { neg: true }.step('0'), Num::Dead);
}

#[test]
fn finds_integers_by_their_decimal_text_within_ranges() {
    let r = Ranges::span(100, 200);
    assert_eq!(find_int(&r, &cons(&[("*7", true)]), &mut 100_000), Search::Found(107));
    assert_eq!(find_int(&r, &cons(&[("3*", true)]), &mut 100_000), Search::Empty);
    let neg = Ranges::span(-50, -1);
    assert_eq!(find_int(&neg, &cons(&[("-4?", true)]), &mut 100_000), Search::Found(-40));
    let full = Ranges::full();
    assert_eq!(
        find_int(&full, &cons(&[("9223372036854775807", true)]), &mut 100_000),
        Search::Found(i64::MAX)
    );
    assert_eq!(
        find_int(&full, &cons(&[("-9223372036854775808", true)]), &mut 100_000),
        Search::Found(i64::MIN)
    );
    assert_eq!(find_int(&full, &cons(&[("0*", true), ("0", false)]), &mut 100_000), Search::Empty);
}

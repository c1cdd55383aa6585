use super::*;
use crate::content::DynContent;
use crate::value::DynValue;
use std::sync::Arc;

fn card(fields: &[(&str, DynValue)]) -> Message {
    let rec = DynValue::Record(fields.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect());
    Message::from_shared(Arc::new(DynContent::new("Card", rec)))
}

#[test]
fn a_predicate_on_an_absent_field_is_false_except_exists() {
    let m = card(&[("card", 3.into())]);
    let suit = || Field::content("suit");
    assert!(!suit().eq("x").eval(&m));
    assert!(!suit().ne("x").eval(&m));
    assert!(!suit().not_in(["x"]).eval(&m));
    assert!(!suit().exists().eval(&m));
    assert!((!suit().eq("x")).eval(&m), "not (suit == x) holds without a suit");
    assert!(!Field::Source.ne("enemy").eval(&m), "unset source");
    assert!(!Field::Source.exists().eval(&m));
    assert!(Field::content("card").exists().eval(&m));
}

#[test]
fn ill_typed_values_make_comparisons_false() {
    let m = card(&[("card", "seven".into()), ("tags", vec![1i64].into())]);
    assert!(!Field::content("card").lt(5).eval(&m));
    assert!(!Field::content("card").ne(5).eval(&m));
    assert!(!Field::content("card").not_in([1, 2]).eval(&m));
    assert!(!Field::content("tags").eq(1).eval(&m));
}

#[test]
fn ints_and_floats_compare_numerically() {
    let m = card(&[("x", 2.5f64.into()), ("n", 3.into())]);
    assert!(Field::content("x").gt(2).eval(&m));
    assert!(Field::content("n").eq(3.0).eval(&m));
    assert!(Field::content("n").lt(3.5).eval(&m));
}

#[test]
fn nan_is_unequal_to_everything_and_ordered_with_nothing() {
    let m = card(&[("x", f64::NAN.into()), ("z", (-0.0f64).into())]);
    let x = || Field::content("x");
    assert!(x().ne(1.0).eval(&m) && x().ne(f64::NAN).eval(&m));
    assert!(!x().eq(f64::NAN).eval(&m));
    assert!(x().not_in([1.0, 2.0]).eval(&m));
    assert!(!x().lt(1.0).eval(&m) && !x().ge(1.0).eval(&m));
    assert!(Field::content("z").eq(0.0).eval(&m));
}

#[test]
fn id_fields_accept_ints_and_strings() {
    let m = card(&[]).from_source(7);
    assert!(Field::Source.ne("enemy").eval(&m));
    assert!(Field::Source.not_in(["a", "b"]).eval(&m));
    assert!(Field::Source.is_in(["a".into(), Lit::Int(7)]).eval(&m));
    assert!(Field::Source.matches("7").eval(&m), "an int ID matches by its decimal text");
    assert!(Field::Source.ne("7").eval(&m) && !Field::Source.eq("7").eval(&m));
    let neg = card(&[]).from_source(i64::MIN);
    assert!(Field::Source.eq(i64::MIN).eval(&neg));
    assert!(Field::Source.matches("-9223372036854775808").eval(&neg));
    let n = card(&[("player", 12.into())]);
    assert!(!Field::content("player").starts_with("1").eval(&n));
    assert!(Field::content_id("player").starts_with("1").eval(&n));
}

#[test]
fn string_tests_and_list_contains() {
    let m =
        card(&[("suit", "hearts".into()), ("tags", vec!["a", "b"].into())]).from_source("enemy-3");
    assert!(Field::Source.matches("enemy-?").eval(&m));
    assert!(Field::Source.starts_with("enemy").eval(&m));
    assert!(Field::content("suit").ends_with("arts").eval(&m));
    assert!(Field::content("suit").contains("ear").eval(&m));
    assert!(Field::content("tags").contains("b").eval(&m));
    assert!(!Field::content("tags").contains("c").eval(&m));
}

#[test]
fn envelope_fields_and_flags_are_read() {
    let m = card(&[]).to_group("All").requiring_response();
    assert!(Cond::type_is("Card").eval(&m));
    assert!(Cond::type_in(["Greeting", "Card"]).eval(&m));
    assert!(Field::ResponseRequired.is_true().eval(&m));
    assert!(!Field::Blocking.is_true().eval(&m));
    assert!(Field::Group.eq("All").eval(&m));
    assert!(!Field::Dest.exists().eval(&m));
    assert!((Cond::type_is("Card") & Field::Group.exists() | Cond::Always).eval(&m));
}

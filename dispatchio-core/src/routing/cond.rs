//! Conditions: a runtime tree of predicates over envelope fields and content
//! fields, evaluated with the `.route` language's semantics.
//!
//! * A predicate on an absent field (an unset `source`, a missing optional
//!   field, a content path that does not exist) is **false**, whatever its
//!   test, except [`Test::Exists`]. `not` negates as usual, so
//!   `not (suit == "x")` holds without a suit while `suit != "x"` does not.
//! * A value of a kind the test does not apply to (a string compared with
//!   `<`, a list compared with `==`, an int read where a string literal is
//!   expected) makes the predicate false, `!=` and `not in` included.
//!   Integers and floats compare numerically with each other.
//! * ID fields (`source`, `dest`, `group`, and content paths read with
//!   [`Field::ContentId`]) accept integer and string values alike; an integer
//!   ID is matched by `matches`/`starts_with`/`ends_with`/`contains` through
//!   its decimal text; an integer and a string ID are comparable and never
//!   equal (`source != 5` holds for `source = "5"`).
//! * Floats follow IEEE 754: NaN equals nothing and is ordered with nothing,
//!   so `x != lit` and `x not in SET` hold for a NaN `x`; `-0.0 == 0.0`.
//! * `not in SET` holds when the value is comparable with at least one
//!   element and equal to none.
//! * `contains` is element membership on a list, a substring test on a
//!   string or ID.
//!
//! What each test means is [`Test::eval`] (`dispatchio-model`), the one
//! implementation shared with the interpreter and generated code; this
//! module reads the fields it is given. A differential property test holds
//! both to the language's reference evaluator (`dispatchio-oracle`).

use std::ops::{BitAnd, BitOr, Not};

use crate::id::{Id, SharedStr};
use crate::message::Message;
use crate::routing::{Glob, Lit, Test};
use crate::value::Value;

/// A condition: a boolean formula over predicates.
///
/// Build with [`Field`]'s test methods and combine with `&`, `|` and `!`:
///
/// ```
/// use dispatchio_core::routing::{Cond, Field};
/// let c = Cond::type_is("Card") & Field::content("card").lt(52);
/// let loud = Field::Source.matches("enemy-*") | !Field::Sync.is_true();
/// # let _ = (c, loud);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    /// Always holds.
    Always,
    /// One test on one field.
    Pred(Pred),
    /// Every operand holds (an empty `And` holds).
    And(Vec<Cond>),
    /// At least one operand holds (an empty `Or` does not).
    Or(Vec<Cond>),
    /// The operand does not hold.
    Not(Box<Cond>),
}

/// A test on one field.
#[derive(Clone, Debug, PartialEq)]
pub struct Pred {
    /// The field read.
    pub field: Field,
    /// The test applied.
    pub test: Test,
}

/// A field a predicate reads.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// The message type name (a string).
    Type,
    /// The message ID (an int).
    Id,
    /// The source ID (absent unless set).
    Source,
    /// The destination ID (absent unless set).
    Dest,
    /// The group ID (absent unless set).
    Group,
    /// The response-required flag.
    ResponseRequired,
    /// The is-response flag.
    IsResponse,
    /// The synchronous flag.
    Sync,
    /// The blocking flag.
    Blocking,
    /// A content field, by path of field names from the content root.
    Content(Box<[SharedStr]>),
    /// A content field declared as an ID: integer and string values are both
    /// well-typed, as for `source`.
    ContentId(Box<[SharedStr]>),
}

impl Field {
    /// The content field at a dotted path (`"pos.x"`).
    pub fn content(path: &str) -> Field {
        Field::Content(path.split('.').map(|s| SharedStr::from(s.to_owned())).collect())
    }

    /// The content field at a dotted path, read as an ID.
    pub fn content_id(path: &str) -> Field {
        Field::ContentId(path.split('.').map(|s| SharedStr::from(s.to_owned())).collect())
    }

    fn pred(self, test: Test) -> Cond {
        Cond::Pred(Pred { field: self, test })
    }

    /// `field == lit`
    pub fn eq(self, lit: impl Into<Lit>) -> Cond {
        self.pred(Test::Eq(lit.into()))
    }

    /// `field != lit`
    pub fn ne(self, lit: impl Into<Lit>) -> Cond {
        self.pred(Test::Ne(lit.into()))
    }

    /// `field < lit`
    pub fn lt(self, lit: impl Into<Lit>) -> Cond {
        self.pred(Test::Lt(lit.into()))
    }

    /// `field <= lit`
    pub fn le(self, lit: impl Into<Lit>) -> Cond {
        self.pred(Test::Le(lit.into()))
    }

    /// `field > lit`
    pub fn gt(self, lit: impl Into<Lit>) -> Cond {
        self.pred(Test::Gt(lit.into()))
    }

    /// `field >= lit`
    pub fn ge(self, lit: impl Into<Lit>) -> Cond {
        self.pred(Test::Ge(lit.into()))
    }

    /// `field in {…}`
    pub fn is_in<L: Into<Lit>>(self, set: impl IntoIterator<Item = L>) -> Cond {
        self.pred(Test::In(set.into_iter().map(Into::into).collect()))
    }

    /// `field not in {…}`
    pub fn not_in<L: Into<Lit>>(self, set: impl IntoIterator<Item = L>) -> Cond {
        self.pred(Test::NotIn(set.into_iter().map(Into::into).collect()))
    }

    /// `field matches "glob"`
    pub fn matches(self, glob: &str) -> Cond {
        self.pred(Test::Matches(Glob::new(glob)))
    }

    /// `field starts_with "s"`
    pub fn starts_with(self, s: impl Into<SharedStr>) -> Cond {
        self.pred(Test::StartsWith(s.into()))
    }

    /// `field ends_with "s"`
    pub fn ends_with(self, s: impl Into<SharedStr>) -> Cond {
        self.pred(Test::EndsWith(s.into()))
    }

    /// `field contains lit`
    pub fn contains(self, lit: impl Into<Lit>) -> Cond {
        self.pred(Test::Contains(lit.into()))
    }

    /// `exists field`
    pub fn exists(self) -> Cond {
        self.pred(Test::Exists)
    }

    /// A bare bool field: it is `true`.
    pub fn is_true(self) -> Cond {
        self.pred(Test::IsTrue)
    }

    /// Whether integer and string values are both well-typed here.
    fn is_id(&self) -> bool {
        matches!(self, Field::Source | Field::Dest | Field::Group | Field::ContentId(_))
    }

    /// The field's value in `msg`, `None` when absent.
    pub fn read<'m>(&self, msg: &'m Message) -> Option<Value<'m>> {
        let env = msg.envelope();
        let id = |id: &'m Option<Id>| {
            id.as_ref().map(|id| match id {
                Id::Int(i) => Value::Int(*i),
                Id::Str(s) => Value::Str(s),
            })
        };
        match self {
            Field::Type => Some(Value::Str(&env.ty)),
            Field::Id => Some(Value::Int(env.id.get())),
            Field::Source => id(&env.source),
            Field::Dest => id(&env.dest),
            Field::Group => id(&env.group),
            Field::ResponseRequired => Some(Value::Bool(env.response_required)),
            Field::IsResponse => Some(Value::Bool(env.is_response)),
            Field::Sync => Some(Value::Bool(env.sync)),
            Field::Blocking => Some(Value::Bool(env.blocking)),
            Field::Content(path) | Field::ContentId(path) => msg.content().at(path),
        }
    }
}

impl Cond {
    /// `type == name`
    pub fn type_is(name: impl Into<SharedStr>) -> Cond {
        Field::Type.eq(Lit::Str(name.into()))
    }

    /// `type in {names}`
    pub fn type_in<S: Into<SharedStr>>(names: impl IntoIterator<Item = S>) -> Cond {
        Field::Type.pred(Test::In(names.into_iter().map(|n| Lit::Str(n.into())).collect()))
    }

    /// Whether the condition holds for `msg`.
    pub fn eval(&self, msg: &Message) -> bool {
        match self {
            Cond::Always => true,
            Cond::Pred(p) => p.eval(msg),
            Cond::And(cs) => cs.iter().all(|c| c.eval(msg)),
            Cond::Or(cs) => cs.iter().any(|c| c.eval(msg)),
            Cond::Not(c) => !c.eval(msg),
        }
    }
}

impl BitAnd for Cond {
    type Output = Cond;
    fn bitand(self, rhs: Cond) -> Cond {
        match self {
            Cond::And(mut cs) => {
                cs.push(rhs);
                Cond::And(cs)
            }
            lhs => Cond::And(vec![lhs, rhs]),
        }
    }
}

impl BitOr for Cond {
    type Output = Cond;
    fn bitor(self, rhs: Cond) -> Cond {
        match self {
            Cond::Or(mut cs) => {
                cs.push(rhs);
                Cond::Or(cs)
            }
            lhs => Cond::Or(vec![lhs, rhs]),
        }
    }
}

impl Not for Cond {
    type Output = Cond;
    fn not(self) -> Cond {
        Cond::Not(Box::new(self))
    }
}

impl Pred {
    /// Whether the predicate holds for `msg`.
    pub fn eval(&self, msg: &Message) -> bool {
        let v = self.field.read(msg);
        self.test.eval(v, self.field.is_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::DynContent;
    use crate::value::DynValue;
    use std::sync::Arc;

    fn card(fields: &[(&str, DynValue)]) -> Message {
        let rec =
            DynValue::Record(fields.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect());
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
        let m = card(&[("suit", "hearts".into()), ("tags", vec!["a", "b"].into())])
            .from_source("enemy-3");
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
}

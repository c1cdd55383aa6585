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
///
/// ```
/// # fn card(json: &str) -> dispatchio_core::Message {
/// #     let fields = serde_json::from_str(json).unwrap();
/// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
/// # }
/// use dispatchio_core::routing::{Cond, Field, Lit, Test};
/// let Cond::Pred(pred) = Field::content("card").lt(52) else { panic!("one predicate") };
/// assert_eq!((pred.field.clone(), pred.test.clone()), (Field::content("card"), Test::Lt(Lit::Int(52))));
/// assert!(pred.eval(&card(r#"{"card": 7}"#)));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Pred {
    /// The field read.
    pub field: Field,
    /// The test applied.
    pub test: Test,
}

/// A field a predicate reads.
///
/// ```
/// # fn card(json: &str) -> dispatchio_core::Message {
/// #     let fields = serde_json::from_str(json).unwrap();
/// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
/// # }
/// use dispatchio_core::routing::Field;
/// let m = card(r#"{"pos": {"x": 3}}"#).from_source("enemy-3");
/// assert!(Field::Type.eq("Card").eval(&m)); // the envelope
/// assert!(Field::Source.matches("enemy-*").eval(&m));
/// assert!(Field::content("pos.x").ge(3).eval(&m)); // the content
/// assert!(!Field::Group.exists().eval(&m)); // no group: absent
/// ```
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
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::Field;
    /// let m = card(r#"{"pos": {"x": 3}}"#);
    /// assert!(Field::content("pos.x").eq(3).eval(&m));
    /// assert!(!Field::content("pos.y").exists().eval(&m));
    /// ```
    pub fn content(path: &str) -> Field {
        Field::Content(path.split('.').map(|s| SharedStr::from(s.to_owned())).collect())
    }

    /// The content field at a dotted path, read as an ID.
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::Field;
    /// let m = card(r#"{"owner": 17}"#);
    /// // As an ID, an integer is matched through its decimal text, as `source` is.
    /// assert!(Field::content_id("owner").starts_with("1").eval(&m));
    /// assert!(!Field::content("owner").starts_with("1").eval(&m)); // an int is no string
    /// assert!(Field::content_id("owner").ne("17").eval(&m)); // `17` and `"17"` are never equal
    /// ```
    pub fn content_id(path: &str) -> Field {
        Field::ContentId(path.split('.').map(|s| SharedStr::from(s.to_owned())).collect())
    }

    fn pred(self, test: Test) -> Cond {
        Cond::Pred(Pred { field: self, test })
    }

    /// `field == lit`
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::Field;
    /// let m = card(r#"{"suit": "hearts", "card": 7.0}"#);
    /// assert!(Field::content("suit").eq("hearts").eval(&m));
    /// assert!(Field::content("card").eq(7).eval(&m)); // ints and floats compare numerically
    /// assert!(!Field::content("rank").eq("ace").eval(&m)); // absent: false
    /// ```
    pub fn eq(self, lit: impl Into<Lit>) -> Cond {
        self.pred(Test::Eq(lit.into()))
    }

    /// `field != lit`
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::Field;
    /// let m = card(r#"{"suit": "hearts"}"#);
    /// assert!(Field::content("suit").ne("spades").eval(&m));
    /// assert!(!Field::content("rank").ne("ace").eval(&m)); // absent: false, `!=` too
    /// assert!((!Field::content("rank").eq("ace")).eval(&m)); // `not (… == …)` holds
    /// ```
    pub fn ne(self, lit: impl Into<Lit>) -> Cond {
        self.pred(Test::Ne(lit.into()))
    }

    /// `field < lit`
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::Field;
    /// let card_lt = |n| Field::content("card").lt(52).eval(&card(&format!(r#"{{"card": {n}}}"#)));
    /// assert!(card_lt(7) && !card_lt(52));
    /// assert!(!Field::content("card").lt(52).eval(&card(r#"{"card": "seven"}"#))); // not a number
    /// ```
    pub fn lt(self, lit: impl Into<Lit>) -> Cond {
        self.pred(Test::Lt(lit.into()))
    }

    /// `field <= lit`
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::Field;
    /// let card_le = |n| Field::content("card").le(52).eval(&card(&format!(r#"{{"card": {n}}}"#)));
    /// assert!(card_le(52) && !card_le(53));
    /// assert!(!Field::content("card").le(52).eval(&card(r#"{"card": "seven"}"#))); // not a number
    /// ```
    pub fn le(self, lit: impl Into<Lit>) -> Cond {
        self.pred(Test::Le(lit.into()))
    }

    /// `field > lit`
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::Field;
    /// let card_gt = |n| Field::content("card").gt(0).eval(&card(&format!(r#"{{"card": {n}}}"#)));
    /// assert!(card_gt(7) && !card_gt(0));
    /// assert!(!Field::content("card").gt(0).eval(&card(r#"{"card": "seven"}"#))); // not a number
    /// ```
    pub fn gt(self, lit: impl Into<Lit>) -> Cond {
        self.pred(Test::Gt(lit.into()))
    }

    /// `field >= lit`
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::Field;
    /// let card_ge = |n| Field::content("card").ge(0).eval(&card(&format!(r#"{{"card": {n}}}"#)));
    /// assert!(card_ge(0) && !card_ge(-1));
    /// assert!(!Field::content("card").ge(0).eval(&card(r#"{"card": "seven"}"#))); // not a number
    /// ```
    pub fn ge(self, lit: impl Into<Lit>) -> Cond {
        self.pred(Test::Ge(lit.into()))
    }

    /// `field in {…}`
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::Field;
    /// let red = Field::content("suit").is_in(["hearts", "diamonds"]);
    /// assert!(red.eval(&card(r#"{"suit": "hearts"}"#)));
    /// assert!(!red.eval(&card(r#"{"suit": "spades"}"#)));
    /// ```
    pub fn is_in<L: Into<Lit>>(self, set: impl IntoIterator<Item = L>) -> Cond {
        self.pred(Test::In(set.into_iter().map(Into::into).collect()))
    }

    /// `field not in {…}`
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::Field;
    /// let black = Field::content("suit").not_in(["hearts", "diamonds"]);
    /// assert!(black.eval(&card(r#"{"suit": "spades"}"#)));
    /// assert!(!black.eval(&card(r#"{"card": 7}"#))); // absent: false
    /// assert!(!black.eval(&card(r#"{"suit": 7}"#))); // comparable with no element: false
    /// ```
    pub fn not_in<L: Into<Lit>>(self, set: impl IntoIterator<Item = L>) -> Cond {
        self.pred(Test::NotIn(set.into_iter().map(Into::into).collect()))
    }

    /// `field matches "glob"`
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::Field;
    /// let enemy = Field::content("name").matches("enemy-[0-9]*");
    /// assert!(enemy.eval(&card(r#"{"name": "enemy-42"}"#)));
    /// assert!(!enemy.eval(&card(r#"{"name": "friend-1"}"#)));
    /// ```
    pub fn matches(self, glob: &str) -> Cond {
        self.pred(Test::Matches(Glob::new(glob)))
    }

    /// `field starts_with "s"`
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::Field;
    /// let m = card(r#"{"name": "enemy-42"}"#);
    /// assert!(Field::content("name").starts_with("enemy-").eval(&m));
    /// assert!(!Field::content("name").starts_with("friend-").eval(&m));
    /// ```
    pub fn starts_with(self, s: impl Into<SharedStr>) -> Cond {
        self.pred(Test::StartsWith(s.into()))
    }

    /// `field ends_with "s"`
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::Field;
    /// let m = card(r#"{"file": "hand.route"}"#);
    /// assert!(Field::content("file").ends_with(".route").eval(&m));
    /// assert!(!Field::content("file").ends_with(".rs").eval(&m));
    /// ```
    pub fn ends_with(self, s: impl Into<SharedStr>) -> Cond {
        self.pred(Test::EndsWith(s.into()))
    }

    /// `field contains lit`
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::Field;
    /// let m = card(r#"{"tags": [1, 2], "name": "enemy-42"}"#);
    /// assert!(Field::content("tags").contains(2).eval(&m)); // an element of a list
    /// assert!(Field::content("name").contains("my-4").eval(&m)); // a substring of a string
    /// assert!(!Field::content("tags").contains(3).eval(&m));
    /// ```
    pub fn contains(self, lit: impl Into<Lit>) -> Cond {
        self.pred(Test::Contains(lit.into()))
    }

    /// `exists field`
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::Field;
    /// let m = card(r#"{"card": 7, "suit": null}"#);
    /// assert!(Field::content("card").exists().eval(&m));
    /// assert!(!Field::content("suit").exists().eval(&m)); // null is absent
    /// ```
    pub fn exists(self) -> Cond {
        self.pred(Test::Exists)
    }

    /// A bare bool field: it is `true`.
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::Field;
    /// let m = card(r#"{"face_up": true}"#).blocking();
    /// assert!(Field::Blocking.is_true().eval(&m));
    /// assert!(!Field::Sync.is_true().eval(&m));
    /// assert!(Field::content("face_up").is_true().eval(&m));
    /// ```
    pub fn is_true(self) -> Cond {
        self.pred(Test::IsTrue)
    }

    /// Whether integer and string values are both well-typed here.
    fn is_id(&self) -> bool {
        matches!(self, Field::Source | Field::Dest | Field::Group | Field::ContentId(_))
    }

    /// The field's value in `msg`, `None` when absent.
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::Value;
    /// use dispatchio_core::routing::Field;
    /// let m = card(r#"{"card": 7}"#).from_source("bob");
    /// assert_eq!(Field::Type.read(&m), Some(Value::Str("Card")));
    /// assert_eq!(Field::Source.read(&m), Some(Value::Str("bob")));
    /// assert_eq!(Field::content("card").read(&m), Some(Value::Int(7)));
    /// assert_eq!(Field::Dest.read(&m), None);
    /// ```
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
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::Cond;
    /// assert!(Cond::type_is("Card").eval(&card("{}")));
    /// assert!(!Cond::type_is("Text").eval(&card("{}")));
    /// ```
    pub fn type_is(name: impl Into<SharedStr>) -> Cond {
        Field::Type.eq(Lit::Str(name.into()))
    }

    /// `type in {names}`
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::Cond;
    /// assert!(Cond::type_in(["Card", "Deck"]).eval(&card("{}")));
    /// assert!(!Cond::type_in(["Text"]).eval(&card("{}")));
    /// ```
    pub fn type_in<S: Into<SharedStr>>(names: impl IntoIterator<Item = S>) -> Cond {
        Field::Type.pred(Test::In(names.into_iter().map(|n| Lit::Str(n.into())).collect()))
    }

    /// Whether the condition holds for `msg`.
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::{Cond, Field};
    /// let deal = Cond::type_is("Card") & Field::content("card").lt(52) & !Field::content("burnt").is_true();
    /// assert!(deal.eval(&card(r#"{"card": 7}"#)));
    /// assert!(!deal.eval(&card(r#"{"card": 7, "burnt": true}"#)));
    /// assert!(Cond::Always.eval(&card("{}")));
    /// ```
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
    ///
    /// ```
    /// # fn card(json: &str) -> dispatchio_core::Message {
    /// #     let fields = serde_json::from_str(json).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::{Field, Lit, Pred, Test};
    /// let pred = Pred { field: Field::content("card"), test: Test::Lt(Lit::Int(52)) };
    /// assert!(pred.eval(&card(r#"{"card": 7}"#)));
    /// assert!(!pred.eval(&card(r#"{"suit": "hearts"}"#))); // absent: false
    /// ```
    pub fn eval(&self, msg: &Message) -> bool {
        let v = self.field.read(msg);
        self.test.eval(v, self.field.is_id())
    }
}

#[cfg(test)]
mod tests;

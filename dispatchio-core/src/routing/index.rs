//! [`RuleSet`]: ordered rules with an index built once, so that routing a
//! message tries only the rules that can match it.
//!
//! (A little over 600 lines: the three levels below are one structure,
//! built and walked together; its tests are in `index/tests.rs`.)
//!
//! The index never decides on its own: for every message it yields a
//! *superset* of the rules whose condition holds, in rule order, and each
//! candidate's condition is still evaluated. Rules left out are rules whose
//! condition is provably false for the message, so the outcome (rules that
//! fire, `continue`, `otherwise`) is exactly that of trying every rule in
//! order. Three levels:
//!
//! 1. **Type.** Most rules say which message types they are about
//!    (`type == Card and …`). Each type name some rule requires gets its own
//!    plan over the rules that can match it (those requiring it and those
//!    requiring no type), with the now-true `type` conjunct removed; other
//!    types use the plan of the rules requiring no type.
//! 2. **Equality runs.** Within a plan, a run of consecutive rules whose
//!    conditions are conjunctions containing `field == lit` on one field
//!    with an integer or string literal gets a hash map from literal to the
//!    rules of the run with that literal: the field is read once and only
//!    the rules with the message's value are tried.
//! 3. **Range runs.** A run of rules whose conjunctions bound one field by
//!    integer ranges (`level >= 10 and level < 20`) gets the sorted interval
//!    boundaries; a binary search finds the rules whose interval holds the
//!    value.
//!
//! A value the index cannot key exactly (a float read where integer
//! literals are, because `3.0 == 3` holds) makes that run fall back to trying
//! each of its rules. Routing allocates nothing.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::message::Message;
use crate::routing::{Cond, Field, Lit, Pred, Test};
use crate::routing::{Fired, Step};
use crate::value::Value;

/// Runs shorter than this are tried rule by rule: a lookup costs about as
/// much as a few predicate evaluations.
const MIN_RUN: usize = 4;

/// One rule of a [`RuleSet`].
///
/// ```
/// # fn card(n: i64) -> dispatchio_core::Message {
/// #     let fields = serde_json::json!({ "card": n });
/// #     let fields = serde_json::from_value(fields).unwrap();
/// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
/// # }
/// use dispatchio_core::routing::{Cond, End, Field, Fired, IndexedRule, RuleSet, Step};
/// // rule low  when type == Card and card < 10 => queue low, continue
/// // rule high when type == Card and card >= 10 => queue high
/// // otherwise => drop
/// let rule = |slot, cond, steps: &[Step], continues| IndexedRule { slot, cond, steps: steps.into(), continues };
/// let rules = RuleSet::new(
///     vec![
///         rule(0, Cond::type_is("Card") & Field::content("card").lt(10), &[Step::Queue(0)], true),
///         rule(1, Cond::type_is("Card") & Field::content("card").ge(10), &[Step::Queue(1)], false),
///     ],
///     Some([Step::Drop].into()),
/// );
/// assert!(rules.rules()[0].continues);
/// assert_eq!(&*rules.rules()[1].steps, [Step::Queue(1)]);
/// ```
#[derive(Clone, Debug)]
pub struct IndexedRule {
    /// The rule's index as reported in [`Fired::rules`] (its index in the
    /// matcher's [`Layout::rules`](crate::routing::Layout::rules)).
    pub slot: usize,
    /// When the rule fires.
    pub cond: Cond,
    /// What it does, without `continue`.
    pub steps: Box<[Step]>,
    /// Whether it ends with `continue`.
    pub continues: bool,
}

/// Ordered rules and `otherwise`, indexed once at build time (see the
/// module doc); the routing core of [`RoutingTable`](crate::routing::RoutingTable)
/// and of the interpreter.
///
/// ```
/// # fn card(n: i64) -> dispatchio_core::Message {
/// #     let fields = serde_json::json!({ "card": n });
/// #     let fields = serde_json::from_value(fields).unwrap();
/// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
/// # }
/// use dispatchio_core::routing::{Cond, End, Field, Fired, IndexedRule, RuleSet, Step};
/// // rule low  when type == Card and card < 10 => queue low, continue
/// // rule high when type == Card and card >= 10 => queue high
/// // otherwise => drop
/// let rule = |slot, cond, steps: &[Step], continues| IndexedRule { slot, cond, steps: steps.into(), continues };
/// let rules = RuleSet::new(
///     vec![
///         rule(0, Cond::type_is("Card") & Field::content("card").lt(10), &[Step::Queue(0)], true),
///         rule(1, Cond::type_is("Card") & Field::content("card").ge(10), &[Step::Queue(1)], false),
///     ],
///     Some([Step::Drop].into()),
/// );
/// let mut fired = Fired::new();
/// rules.route(&card(3), &mut fired); // `low` continues; nothing stops: `otherwise`
/// assert_eq!((fired.rules(), fired.end()), (&[0][..], End::Otherwise));
/// assert_eq!(fired.steps(), [Step::Queue(0), Step::Drop]);
/// ```
#[derive(Clone, Debug)]
pub struct RuleSet {
    rules: Box<[IndexedRule]>,
    by_type: HashMap<Box<str>, Plan, FastHash>,
    untyped: Plan,
    otherwise: Option<Box<[Step]>>,
}

/// The rules a message of one type can match, as segments in rule order.
#[derive(Clone, Debug, Default)]
struct Plan {
    segs: Box<[Seg]>,
}

/// A rule to try: its index in [`RuleSet::rules`] and its condition with
/// conjuncts the plan's type makes true removed.
#[derive(Clone, Debug)]
struct Cand {
    rule: u32,
    cond: Cond,
    /// In an indexed run: `cond` without the conjuncts an index hit proves
    /// (the keyed equality, or the integer bounds of the keyed field), tried
    /// instead of `cond` when the candidate is reached through the index.
    rest: Cond,
}

#[derive(Clone, Debug)]
enum Seg {
    /// Try every candidate in order.
    Linear(Box<[Cand]>),
    /// An equality run: `field`'s value selects the candidates.
    Eq {
        field: Field,
        cands: Box<[Cand]>,
        ints: HashMap<i64, Box<[u32]>, FastHash>,
        strs: HashMap<Box<str>, Box<[u32]>, FastHash>,
    },
    /// A range run: `spans[i]` are the candidates whose interval covers
    /// `bounds[i] ..< bounds[i + 1]` (the last span is unbounded above).
    Range { field: Field, cands: Box<[Cand]>, bounds: Box<[i128]>, spans: Box<[Box<[u32]>]> },
}

/// What the index knows about one candidate's condition.
#[derive(Clone, Debug, PartialEq)]
enum Key {
    /// `field == lit` is one of its conjuncts.
    Eq(Field, EqLit),
    /// Its conjuncts bound `field` to the inclusive integer interval.
    Range(Field, i128, i128),
    /// Nothing indexable.
    None,
}

#[derive(Clone, Debug, PartialEq)]
enum EqLit {
    Int(i64),
    Str(Box<str>),
}

impl RuleSet {
    /// Indexes `rules` (in order) and `otherwise`.
    ///
    /// ```
    /// # fn card(n: i64) -> dispatchio_core::Message {
    /// #     let fields = serde_json::json!({ "card": n });
    /// #     let fields = serde_json::from_value(fields).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::{Cond, End, Field, Fired, IndexedRule, RuleSet, Step};
    /// // rule low  when type == Card and card < 10 => queue low, continue
    /// // rule high when type == Card and card >= 10 => queue high
    /// // otherwise => drop
    /// let rule = |slot, cond, steps: &[Step], continues| IndexedRule { slot, cond, steps: steps.into(), continues };
    /// let rules = RuleSet::new(
    ///     vec![
    ///         rule(0, Cond::type_is("Card") & Field::content("card").lt(10), &[Step::Queue(0)], true),
    ///         rule(1, Cond::type_is("Card") & Field::content("card").ge(10), &[Step::Queue(1)], false),
    ///     ],
    ///     Some([Step::Drop].into()),
    /// );
    /// let mut fired = Fired::new();
    /// rules.route(&card(12), &mut fired);
    /// assert_eq!((fired.rules(), fired.end()), (&[1][..], End::Stopped(1)));
    /// ```
    pub fn new(rules: Vec<IndexedRule>, otherwise: Option<Box<[Step]>>) -> RuleSet {
        let types: Vec<Option<Vec<&str>>> = rules.iter().map(|r| types_of(&r.cond)).collect();
        let mut names: Vec<&str> = types.iter().flatten().flatten().copied().collect();
        names.sort_unstable();
        names.dedup();
        // Rule counts stay far below u32::MAX (a table that large could not
        // be built in memory); saturating keeps this total anyway.
        let idx = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
        let by_type = names
            .iter()
            .map(|&name| {
                let cands = (0..rules.len())
                    .filter(|&i| types[i].as_ref().is_none_or(|t| t.contains(&name)))
                    .map(|i| {
                        let cond = without_type(&rules[i].cond, name);
                        Cand { rule: idx(i), rest: cond.clone(), cond }
                    })
                    .collect();
                (Box::from(name), Plan::new(cands))
            })
            .collect();
        let untyped = Plan::new(
            (0..rules.len())
                .filter(|&i| types[i].is_none())
                .map(|i| Cand {
                    rule: idx(i),
                    cond: rules[i].cond.clone(),
                    rest: rules[i].cond.clone(),
                })
                .collect(),
        );
        RuleSet { rules: rules.into(), by_type, untyped, otherwise }
    }

    /// The rules, in order.
    ///
    /// ```
    /// # fn card(n: i64) -> dispatchio_core::Message {
    /// #     let fields = serde_json::json!({ "card": n });
    /// #     let fields = serde_json::from_value(fields).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::{Cond, End, Field, Fired, IndexedRule, RuleSet, Step};
    /// // rule low  when type == Card and card < 10 => queue low, continue
    /// // rule high when type == Card and card >= 10 => queue high
    /// // otherwise => drop
    /// let rule = |slot, cond, steps: &[Step], continues| IndexedRule { slot, cond, steps: steps.into(), continues };
    /// let rules = RuleSet::new(
    ///     vec![
    ///         rule(0, Cond::type_is("Card") & Field::content("card").lt(10), &[Step::Queue(0)], true),
    ///         rule(1, Cond::type_is("Card") & Field::content("card").ge(10), &[Step::Queue(1)], false),
    ///     ],
    ///     Some([Step::Drop].into()),
    /// );
    /// let slots: Vec<_> = rules.rules().iter().map(|r| r.slot).collect();
    /// assert_eq!(slots, [0, 1]);
    /// ```
    pub fn rules(&self) -> &[IndexedRule] {
        &self.rules
    }

    /// Routes `msg` with the language's rule semantics: rules in order, the
    /// first that holds without `continue` stops the search, `otherwise`
    /// when nothing stopped it, else unrouted.
    ///
    /// ```
    /// # fn card(n: i64) -> dispatchio_core::Message {
    /// #     let fields = serde_json::json!({ "card": n });
    /// #     let fields = serde_json::from_value(fields).unwrap();
    /// #     dispatchio_core::Message::from_shared(std::sync::Arc::new(dispatchio_core::DynContent::new("Card", fields)))
    /// # }
    /// use dispatchio_core::routing::{Cond, End, Field, Fired, IndexedRule, RuleSet, Step};
    /// // rule low  when type == Card and card < 10 => queue low, continue
    /// // rule high when type == Card and card >= 10 => queue high
    /// // otherwise => drop
    /// let rule = |slot, cond, steps: &[Step], continues| IndexedRule { slot, cond, steps: steps.into(), continues };
    /// let rules = RuleSet::new(
    ///     vec![
    ///         rule(0, Cond::type_is("Card") & Field::content("card").lt(10), &[Step::Queue(0)], true),
    ///         rule(1, Cond::type_is("Card") & Field::content("card").ge(10), &[Step::Queue(1)], false),
    ///     ],
    ///     Some([Step::Drop].into()),
    /// );
    /// let mut fired = Fired::new();
    /// rules.route(&card(12), &mut fired);
    /// assert_eq!((fired.end(), fired.steps()), (End::Stopped(1), &[Step::Queue(1)][..]));
    /// fired.clear();
    /// rules.route(&dispatchio_core::Message::new(dispatchio_core::Empty), &mut fired); // no rule for it
    /// assert_eq!((fired.end(), fired.steps()), (End::Otherwise, &[Step::Drop][..]));
    /// ```
    pub fn route(&self, msg: &Message, fired: &mut Fired) {
        let plan = self.by_type.get(msg.ty()).unwrap_or(&self.untyped);
        for seg in plan.segs.iter() {
            if self.seg(seg, msg, fired) {
                return;
            }
        }
        match &self.otherwise {
            Some(steps) => fired.otherwise(steps),
            None => fired.unrouted(),
        }
    }

    /// Tries the candidates of one segment; `true` when a rule stopped the search.
    #[inline]
    fn seg(&self, seg: &Seg, msg: &Message, fired: &mut Fired) -> bool {
        match seg {
            Seg::Linear(cands) => cands.iter().any(|c| self.try_rule(c, msg, fired)),
            Seg::Eq { field, cands, ints, strs } => {
                let hits = match field.read(msg) {
                    Some(Value::Int(i)) => ints.get(&i),
                    Some(Value::Str(s)) => strs.get(s),
                    // `2.0 == 2` holds: a float cannot be keyed exactly.
                    Some(Value::Float(_)) => {
                        return cands.iter().any(|c| self.try_rule(c, msg, fired));
                    }
                    // Absent or of another kind: every `field == lit` of
                    // the run is false.
                    _ => None,
                };
                hits.is_some_and(|hits| self.try_some(cands, hits, msg, fired))
            }
            Seg::Range { field, cands, bounds, spans } => match field.read(msg) {
                Some(Value::Int(i)) => {
                    let at = bounds.partition_point(|&b| b <= i128::from(i));
                    // Below the first boundary no interval holds the value.
                    at.checked_sub(1)
                        .and_then(|k| spans.get(k))
                        .is_some_and(|hits| self.try_some(cands, hits, msg, fired))
                }
                Some(Value::Float(_)) => cands.iter().any(|c| self.try_rule(c, msg, fired)),
                _ => false,
            },
        }
    }

    fn try_some(&self, cands: &[Cand], hits: &[u32], msg: &Message, fired: &mut Fired) -> bool {
        hits.iter()
            .filter_map(|&h| cands.get(h as usize))
            .any(|c| self.try_cond(c.rule, &c.rest, msg, fired))
    }

    /// Evaluates one candidate and fires it; `true` when it stopped the search.
    #[inline]
    fn try_rule(&self, c: &Cand, msg: &Message, fired: &mut Fired) -> bool {
        self.try_cond(c.rule, &c.cond, msg, fired)
    }

    /// Fires rule `rule` if `cond` holds; `true` when it stopped the search.
    #[inline]
    fn try_cond(&self, rule: u32, cond: &Cond, msg: &Message, fired: &mut Fired) -> bool {
        let Some(rule) = self.rules.get(rule as usize) else { return false };
        if !cond.eval(msg) {
            return false;
        }
        if rule.continues {
            fired.rule(rule.slot, &rule.steps);
            false
        } else {
            fired.stop(rule.slot, &rule.steps);
            true
        }
    }
}

impl Plan {
    /// Splits the candidates into maximal runs of one index key kind on one
    /// field; short or unkeyed runs are tried linearly.
    fn new(cands: Vec<Cand>) -> Plan {
        let keys: Vec<Key> = cands.iter().map(|c| key_of(&c.cond)).collect();
        let mut segs = Vec::new();
        let mut linear: Vec<Cand> = Vec::new();
        let mut i = 0;
        while i < cands.len() {
            let mut j = i + 1;
            while j < cands.len() && same_run(&keys[i], &keys[j]) {
                j += 1;
            }
            let run = &cands[i..j];
            let seg = if j - i >= MIN_RUN { indexed(run, &keys[i..j]) } else { None };
            match seg {
                Some(seg) => {
                    if !linear.is_empty() {
                        segs.push(Seg::Linear(std::mem::take(&mut linear).into()));
                    }
                    segs.push(seg);
                }
                None => linear.extend_from_slice(run),
            }
            i = j;
        }
        if !linear.is_empty() {
            segs.push(Seg::Linear(linear.into()));
        }
        Plan { segs: segs.into() }
    }
}

fn same_run(a: &Key, b: &Key) -> bool {
    match (a, b) {
        (Key::Eq(f, _), Key::Eq(g, _)) | (Key::Range(f, ..), Key::Range(g, ..)) => f == g,
        _ => false,
    }
}

/// The index segment of a run of candidates with keys of one kind on one
/// field, or `None` when it is not worth one.
fn indexed(run: &[Cand], keys: &[Key]) -> Option<Seg> {
    let idx = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
    let key = keys.first()?;
    let cands: Box<[Cand]> = run
        .iter()
        .map(|c| Cand { rule: c.rule, cond: c.cond.clone(), rest: proven_removed(&c.cond, key) })
        .collect();
    match key {
        Key::Eq(field, _) => {
            let mut ints: HashMap<i64, Vec<u32>, FastHash> = HashMap::default();
            let mut strs: HashMap<Box<str>, Vec<u32>, FastHash> = HashMap::default();
            for (i, k) in keys.iter().enumerate() {
                match k {
                    Key::Eq(_, EqLit::Int(n)) => ints.entry(*n).or_default().push(idx(i)),
                    Key::Eq(_, EqLit::Str(s)) => strs.entry(s.clone()).or_default().push(idx(i)),
                    _ => return None,
                }
            }
            Some(Seg::Eq { field: field.clone(), cands, ints: freeze(ints), strs: freeze(strs) })
        }
        Key::Range(field, ..) => {
            let mut bounds: Vec<i128> = Vec::with_capacity(keys.len() * 2);
            for k in keys {
                if let Key::Range(_, lo, hi) = k {
                    if lo <= hi {
                        bounds.extend([*lo, hi + 1]);
                    }
                }
            }
            bounds.sort_unstable();
            bounds.dedup();
            let mut spans: Vec<Box<[u32]>> = Vec::with_capacity(bounds.len());
            let mut total = 0usize;
            for &start in &bounds {
                let span: Box<[u32]> = keys
                    .iter()
                    .enumerate()
                    .filter(
                        |(_, k)| matches!(k, Key::Range(_, lo, hi) if *lo <= start && start <= *hi),
                    )
                    .map(|(i, _)| idx(i))
                    .collect();
                total += span.len();
                // Heavily overlapping intervals would make the table
                // quadratic; such runs are tried linearly instead.
                if total > 8 * keys.len() + 64 {
                    return None;
                }
                spans.push(span);
            }
            Some(Seg::Range {
                field: field.clone(),
                cands,
                bounds: bounds.into(),
                spans: spans.into(),
            })
        }
        Key::None => None,
    }
}

/// `cond` without the conjuncts an index hit on `key`'s field proves: the
/// equality the run is keyed on (the first `field == int/str`, as
/// [`key_of`] chose it), or every integer bound on the range field (a hit
/// means the value is an integer inside all of them).
fn proven_removed(cond: &Cond, key: &Key) -> Cond {
    let cs = conjuncts(cond);
    let mut rest: Vec<Cond> = Vec::with_capacity(cs.len());
    let mut removed_eq = false;
    for c in cs {
        let proven = match (key, c) {
            (
                Key::Eq(f, _),
                Cond::Pred(Pred { field, test: Test::Eq(Lit::Int(_) | Lit::Str(_)) }),
            ) => !removed_eq && field == f,
            (Key::Range(f, ..), Cond::Pred(Pred { field, test })) => {
                field == f
                    && matches!(
                        test,
                        Test::Lt(Lit::Int(_))
                            | Test::Le(Lit::Int(_))
                            | Test::Gt(Lit::Int(_))
                            | Test::Ge(Lit::Int(_))
                    )
            }
            _ => false,
        };
        if proven && matches!(key, Key::Eq(..)) {
            removed_eq = true;
        }
        if !proven {
            rest.push(c.clone());
        }
    }
    match rest.len() {
        0 => Cond::Always,
        1 => rest.pop().unwrap_or(Cond::Always),
        _ => Cond::And(rest),
    }
}

/// A built map with its values frozen to boxed slices.
fn freeze<K: Eq + std::hash::Hash>(
    m: HashMap<K, Vec<u32>, FastHash>,
) -> HashMap<K, Box<[u32]>, FastHash> {
    m.into_iter().map(|(k, v)| (k, v.into_boxed_slice())).collect()
}

/// The conjuncts of a condition (itself when it is not an `And`).
fn conjuncts(cond: &Cond) -> &[Cond] {
    match cond {
        Cond::And(cs) => cs,
        c => std::slice::from_ref(c),
    }
}

/// What the index can use of a condition: the first `field == int/str`
/// conjunct, else the integer interval its range conjuncts on the first
/// range-tested field allow.
fn key_of(cond: &Cond) -> Key {
    let cs = conjuncts(cond);
    for c in cs {
        if let Cond::Pred(Pred { field, test: Test::Eq(lit) }) = c {
            match lit {
                Lit::Int(n) => return Key::Eq(field.clone(), EqLit::Int(*n)),
                Lit::Str(s) => return Key::Eq(field.clone(), EqLit::Str(s.as_str().into())),
                _ => {}
            }
        }
    }
    let range_field = cs.iter().find_map(|c| match c {
        Cond::Pred(Pred { field, test: Test::Lt(Lit::Int(_)) })
        | Cond::Pred(Pred { field, test: Test::Le(Lit::Int(_)) })
        | Cond::Pred(Pred { field, test: Test::Gt(Lit::Int(_)) })
        | Cond::Pred(Pred { field, test: Test::Ge(Lit::Int(_)) }) => Some(field),
        _ => None,
    });
    let Some(field) = range_field else { return Key::None };
    let (mut lo, mut hi) = (i128::from(i64::MIN), i128::from(i64::MAX));
    for c in cs {
        if let Cond::Pred(Pred { field: f, test }) = c {
            if f != field {
                continue;
            }
            // Every conjunct must hold, so the interval narrows; a float
            // literal or another test on the field only narrows further,
            // which the full condition still checks.
            match test {
                Test::Lt(Lit::Int(n)) => hi = hi.min(i128::from(*n) - 1),
                Test::Le(Lit::Int(n)) => hi = hi.min(i128::from(*n)),
                Test::Gt(Lit::Int(n)) => lo = lo.max(i128::from(*n) + 1),
                Test::Ge(Lit::Int(n)) => lo = lo.max(i128::from(*n)),
                _ => {}
            }
        }
    }
    Key::Range(field.clone(), lo, hi)
}

/// The message types a condition can hold for: `None` when it may hold for
/// a message of any type.
fn types_of(cond: &Cond) -> Option<Vec<&str>> {
    fn names(lits: &[Lit]) -> Vec<&str> {
        lits.iter()
            .filter_map(|l| match l {
                Lit::Str(s) => Some(s.as_str()),
                _ => None,
            })
            .collect()
    }
    match cond {
        Cond::Pred(Pred { field: Field::Type, test: Test::Eq(l) }) => {
            Some(names(std::slice::from_ref(l)))
        }
        Cond::Pred(Pred { field: Field::Type, test: Test::In(set) }) => Some(names(set)),
        // Every operand must hold: the types all constrained operands allow.
        Cond::And(cs) => cs
            .iter()
            .filter_map(types_of)
            .reduce(|a, b| a.into_iter().filter(|t| b.contains(t)).collect()),
        // One operand must hold: constrained only if every operand is (an
        // empty `Or` never holds: no type).
        Cond::Or(cs) => cs.iter().map(types_of).try_fold(Vec::new(), |mut acc, t| {
            acc.extend(t?);
            Some(acc)
        }),
        _ => None,
    }
}

/// `cond` for messages of type `ty`: conjuncts `type == ty` and
/// `type in {…ty…}`, true for them, removed.
fn without_type(cond: &Cond, ty: &str) -> Cond {
    let is_true = |c: &Cond| match c {
        Cond::Pred(Pred { field: Field::Type, test: Test::Eq(Lit::Str(s)) }) => s.as_str() == ty,
        Cond::Pred(Pred { field: Field::Type, test: Test::In(set) }) => {
            set.iter().any(|l| matches!(l, Lit::Str(s) if s.as_str() == ty))
        }
        _ => false,
    };
    if is_true(cond) {
        return Cond::Always;
    }
    match cond {
        Cond::And(cs) => {
            let mut rest: Vec<Cond> = cs.iter().filter(|c| !is_true(c)).cloned().collect();
            match rest.len() {
                0 => Cond::Always,
                1 => rest.pop().unwrap_or(Cond::Always),
                _ => Cond::And(rest),
            }
        }
        c => c.clone(),
    }
}

/// FNV-1a for the index's maps: keys are short (type names, small ints) and
/// not attacker-chosen in a way that matters (they come from the routing
/// table, which the program's author wrote), and SipHash would cost more
/// than the rest of a lookup.
type FastHash = BuildHasherDefault<Fnv>;

/// The FNV-1a hasher (64 bit).
#[derive(Clone, Copy, Debug)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        // One multiply-xorshift round instead of eight byte steps.
        let x = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = x ^ (x >> 29);
    }

    #[inline]
    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests;

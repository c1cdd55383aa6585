//! The routing table built at run time: ordered rules over [`Cond`]itions,
//! with actions naming handlers, queues and forward targets.

use std::collections::HashSet;

use crate::id::SharedStr;
use crate::message::Message;
use crate::routing::cond::Cond;
use crate::routing::index::{IndexedRule, RuleSet};
use crate::routing::{Fired, HandlerSlot, Layout, Matcher, Step};

/// One action of a rule, by name (resolved to indices by
/// [`RoutingTableBuilder::build`]).
///
/// ```
/// use dispatchio_core::{Message, Text};
/// use dispatchio_core::routing::{Action, Cond, End, Fired, Matcher, RoutingTable, Step};
///
/// let table = RoutingTable::builder()
///     .rule("log", Cond::Always, [Action::queue("log"), Action::Continue])
///     .rule("text", Cond::type_is("Text"), [Action::queue("inbox")])
///     .build()
///     .unwrap();
/// let mut fired = Fired::new();
/// table.route(&Message::new(Text::from("hi")), &mut fired);
/// assert_eq!(fired.rules(), [0, 1]); // `continue`: the search went on
/// assert_eq!(fired.steps(), [Step::Queue(0), Step::Queue(1)]);
/// assert_eq!(fired.end(), End::Stopped(1));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// `call name`: run the synchronous handler `name`.
    Call(SharedStr),
    /// `call async name`: run the asynchronous handler `name`.
    CallAsync(SharedStr),
    /// `queue name`: push the message onto the listener's queue `name`.
    Queue(SharedStr),
    /// `forward name`: hand the message to the listener bound as `name`.
    Forward(SharedStr),
    /// `drop`: discard on purpose. Only alone.
    Drop,
    /// `continue`: keep searching after this rule. Only last.
    Continue,
}

impl Action {
    /// `call name`
    ///
    /// ```
    /// use dispatchio_core::routing::{Action, Cond, Matcher, RoutingTable};
    /// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("greet")]).build().unwrap();
    /// let slot = &table.layout().handlers[0];
    /// assert_eq!((&*slot.name, slot.is_async), ("greet", false));
    /// ```
    pub fn call(name: impl Into<SharedStr>) -> Action {
        Action::Call(name.into())
    }

    /// `call async name`
    ///
    /// ```
    /// use dispatchio_core::routing::{Action, Cond, Matcher, RoutingTable};
    /// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call_async("fetch")]).build().unwrap();
    /// let slot = &table.layout().handlers[0];
    /// assert_eq!((&*slot.name, slot.is_async), ("fetch", true));
    /// ```
    pub fn call_async(name: impl Into<SharedStr>) -> Action {
        Action::CallAsync(name.into())
    }

    /// `queue name`
    ///
    /// ```
    /// use dispatchio_core::routing::{Action, Cond, Matcher, RoutingTable};
    /// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
    /// assert_eq!(table.layout().queue("inbox"), Some(0));
    /// ```
    pub fn queue(name: impl Into<SharedStr>) -> Action {
        Action::Queue(name.into())
    }

    /// `forward name`
    ///
    /// ```
    /// use dispatchio_core::routing::{Action, Cond, Matcher, RoutingTable};
    /// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::forward("audit")]).build().unwrap();
    /// assert_eq!(table.layout().forward("audit"), Some(0));
    /// ```
    pub fn forward(name: impl Into<SharedStr>) -> Action {
        Action::Forward(name.into())
    }
}

/// A routing table that is not well formed.
///
/// ```
/// use dispatchio_core::routing::{Action, BuildError, Cond, RoutingTable};
/// let err = RoutingTable::builder()
///     .rule("bad", Cond::Always, [Action::Drop, Action::queue("inbox")])
///     .build()
///     .unwrap_err();
/// assert_eq!(err, BuildError::DropNotAlone("bad".into()));
/// assert_eq!(err.to_string(), r#"rule "bad": `drop` cannot be combined with another action"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Two rules with one name.
    #[error("rule {0:?} is defined twice")]
    DuplicateRule(String),
    /// A rule (or `otherwise`) without actions.
    #[error("rule {0:?} has no actions")]
    NoActions(String),
    /// `continue` that is not the last action.
    #[error("rule {0:?}: `continue` must be the last action")]
    ContinueNotLast(String),
    /// `continue` in `otherwise`, which is always last.
    #[error("`otherwise` cannot `continue`")]
    ContinueInOtherwise,
    /// `drop` together with another action.
    #[error("rule {0:?}: `drop` cannot be combined with another action")]
    DropNotAlone(String),
    /// `otherwise` given twice.
    #[error("`otherwise` is given twice")]
    DuplicateOtherwise,
    /// One handler name used both as `call` and `call async`.
    #[error("handler {0:?} is called both synchronously and asynchronously")]
    HandlerKindConflict(String),
    /// A handler bound to a listener that its table never calls.
    #[error("handler {0:?} is not called by the routing table")]
    UnknownHandler(String),
    /// A handler the table calls but no function was given for.
    #[error("handler {0:?} is called by the routing table but not provided")]
    MissingHandler(String),
    /// A handler provided as sync where the table calls it async, or the reverse.
    #[error("handler {name:?} is declared {declared} but provided {provided}")]
    HandlerKindMismatch {
        /// The handler's name.
        name: String,
        /// How the table calls it (`sync` or `async`).
        declared: &'static str,
        /// How it was provided.
        provided: &'static str,
    },
    /// A forward target bound that the table never forwards to.
    #[error("forward target {0:?} is not used by the routing table")]
    UnknownForward(String),
    /// A forward target bound twice.
    #[error("forward target {0:?} is already bound")]
    ForwardAlreadyBound(String),
}

/// An ordered routing table with run-time conditions: the [`Matcher`] of
/// listeners built by hand. Its rules are a [`RuleSet`], indexed once when
/// the table is built (the interpreter routes with the same [`RuleSet`]).
///
/// ```
/// use dispatchio_core::routing::{Action, Cond, Field, RoutingTable};
/// let table = RoutingTable::builder()
///     .rule("deal", Cond::type_is("Card") & Field::content("card").lt(52), [Action::queue("hand")])
///     .rule("bad", Cond::type_is("Card"), [Action::Drop])
///     .otherwise([Action::queue("inbox")])
///     .build()
///     .unwrap();
/// # use dispatchio_core::routing::{End, Fired, Matcher};
/// let mut fired = Fired::new();
/// table.route(&dispatchio_core::Message::new(dispatchio_core::Text::from("hi")), &mut fired);
/// assert_eq!(fired.end(), End::Otherwise); // not a `Card`
/// ```
#[derive(Clone, Debug)]
pub struct RoutingTable {
    rules: RuleSet,
    layout: Layout,
}

impl RoutingTable {
    /// Starts a table.
    ///
    /// ```
    /// use dispatchio_core::routing::{Matcher, RoutingTable};
    /// let empty = RoutingTable::builder().build().unwrap();
    /// assert!(empty.layout().rules.is_empty()); // routes everything nowhere
    /// ```
    pub fn builder() -> RoutingTableBuilder {
        RoutingTableBuilder::default()
    }
}

impl Matcher for RoutingTable {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn route(&self, msg: &Message, fired: &mut Fired) {
        self.rules.route(msg, fired);
    }
}

/// Builds a [`RoutingTable`]; errors are reported by [`build`](Self::build).
///
/// ```
/// use dispatchio_core::routing::{Action, Cond, Matcher, RoutingTable};
/// let table = RoutingTable::builder()
///     .rule("a", Cond::type_is("A"), [Action::queue("q")])
///     .rule("b", Cond::type_is("B"), [Action::queue("q")])
///     .build()
///     .unwrap();
/// assert_eq!(table.layout().rules, ["a".into(), "b".into()]); // in the order given
/// assert_eq!(table.layout().queues.len(), 1); // one queue, named twice
/// ```
#[derive(Clone, Debug, Default)]
pub struct RoutingTableBuilder {
    rules: Vec<(SharedStr, Cond, Vec<Action>)>,
    otherwise: Option<Vec<Action>>,
    otherwise_twice: bool,
}

impl RoutingTableBuilder {
    /// Appends `rule name when cond => actions`.
    ///
    /// ```
    /// use dispatchio_core::{Message, Text};
    /// use dispatchio_core::routing::{Action, Cond, End, Fired, Matcher, RoutingTable, Step};
    ///
    /// let table = RoutingTable::builder()
    ///     .rule("first", Cond::type_is("Text"), [Action::queue("a")])
    ///     .rule("second", Cond::type_is("Text"), [Action::queue("b")])
    ///     .build()
    ///     .unwrap();
    /// let mut fired = Fired::new();
    /// table.route(&Message::new(Text::from("hi")), &mut fired);
    /// assert_eq!(fired.end(), End::Stopped(0)); // the first matching rule wins
    /// ```
    pub fn rule(
        mut self,
        name: impl Into<SharedStr>,
        cond: Cond,
        actions: impl IntoIterator<Item = Action>,
    ) -> RoutingTableBuilder {
        self.rules.push((name.into(), cond, actions.into_iter().collect()));
        self
    }

    /// Sets `otherwise => actions`.
    ///
    /// ```
    /// use dispatchio_core::{Message, Text};
    /// use dispatchio_core::routing::{Action, Cond, End, Fired, Matcher, RoutingTable, Step};
    ///
    /// use dispatchio_core::Empty;
    /// let table = RoutingTable::builder()
    ///     .rule("text", Cond::type_is("Text"), [Action::queue("inbox")])
    ///     .otherwise([Action::Drop])
    ///     .build()
    ///     .unwrap();
    /// let mut fired = Fired::new();
    /// table.route(&Message::new(Empty), &mut fired);
    /// assert_eq!((fired.end(), fired.steps()), (End::Otherwise, &[Step::Drop][..]));
    /// ```
    pub fn otherwise(mut self, actions: impl IntoIterator<Item = Action>) -> RoutingTableBuilder {
        if self.otherwise.is_some() {
            self.otherwise_twice = true;
        }
        self.otherwise = Some(actions.into_iter().collect());
        self
    }

    /// Checks the table and resolves names to indices.
    ///
    /// # Errors
    ///
    /// A [`BuildError`] for the first problem found: duplicate rule names,
    /// empty actions, misplaced `continue` or `drop`, a second `otherwise`,
    /// a handler called both sync and async.
    ///
    /// # Examples
    ///
    /// ```
    /// use dispatchio_core::routing::{Action, BuildError, Cond, RoutingTable};
    /// let twice = RoutingTable::builder()
    ///     .rule("r", Cond::Always, [Action::queue("a")])
    ///     .rule("r", Cond::Always, [Action::queue("b")])
    ///     .build();
    /// assert_eq!(twice.unwrap_err(), BuildError::DuplicateRule("r".into()));
    /// let both = RoutingTable::builder()
    ///     .rule("one", Cond::Always, [Action::call("h")])
    ///     .rule("two", Cond::Always, [Action::call_async("h")])
    ///     .build();
    /// assert_eq!(both.unwrap_err(), BuildError::HandlerKindConflict("h".into()));
    /// ```
    pub fn build(self) -> Result<RoutingTable, BuildError> {
        if self.otherwise_twice {
            return Err(BuildError::DuplicateOtherwise);
        }
        let mut layout = Layout::default();
        let mut names = HashSet::new();
        let mut rules = Vec::with_capacity(self.rules.len());
        for (name, cond, actions) in self.rules {
            if !names.insert(name.clone()) {
                return Err(BuildError::DuplicateRule(name.to_string()));
            }
            let continues = matches!(actions.last(), Some(Action::Continue));
            let body = if continues { &actions[..actions.len() - 1] } else { &actions[..] };
            let steps = lower(&name, body, &mut layout)?;
            if continues && steps.is_empty() {
                // `continue` alone runs nothing; the language wants an
                // action before it.
                return Err(BuildError::NoActions(name.to_string()));
            }
            rules.push(IndexedRule { slot: layout.rules.len(), cond, steps, continues });
            layout.rules.push(name);
        }
        let otherwise = match self.otherwise {
            Some(actions) => {
                if actions.contains(&Action::Continue) {
                    return Err(BuildError::ContinueInOtherwise);
                }
                Some(lower(&SharedStr::from("otherwise"), &actions, &mut layout)?)
            }
            None => None,
        };
        Ok(RoutingTable { rules: RuleSet::new(rules, otherwise), layout })
    }
}

/// Lowers one rule's actions (without a final `continue`) to steps.
fn lower(
    rule: &SharedStr,
    actions: &[Action],
    layout: &mut Layout,
) -> Result<Box<[Step]>, BuildError> {
    if actions.is_empty() {
        return Err(BuildError::NoActions(rule.to_string()));
    }
    if actions.contains(&Action::Drop) && actions.len() > 1 {
        return Err(BuildError::DropNotAlone(rule.to_string()));
    }
    let mut steps = Vec::with_capacity(actions.len());
    for a in actions {
        steps.push(match a {
            Action::Call(h) => Step::Call(handler(layout, h, false)?),
            Action::CallAsync(h) => Step::CallAsync(handler(layout, h, true)?),
            Action::Queue(q) => Step::Queue(intern(&mut layout.queues, q)),
            Action::Forward(f) => Step::Forward(intern(&mut layout.forwards, f)),
            Action::Drop => Step::Drop,
            Action::Continue => return Err(BuildError::ContinueNotLast(rule.to_string())),
        });
    }
    Ok(steps.into_boxed_slice())
}

fn intern(names: &mut Vec<SharedStr>, name: &SharedStr) -> usize {
    match names.iter().position(|n| n == name) {
        Some(i) => i,
        None => {
            names.push(name.clone());
            names.len() - 1
        }
    }
}

fn handler(layout: &mut Layout, name: &SharedStr, is_async: bool) -> Result<usize, BuildError> {
    match layout.handlers.iter().position(|h| &h.name == name) {
        Some(i) if layout.handlers[i].is_async == is_async => Ok(i),
        Some(_) => Err(BuildError::HandlerKindConflict(name.to_string())),
        None => {
            layout.handlers.push(HandlerSlot { name: name.clone(), is_async });
            Ok(layout.handlers.len() - 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::Empty;
    use crate::routing::{End, Field};

    fn route(table: &RoutingTable, msg: &Message) -> Fired {
        let mut f = Fired::new();
        table.route(msg, &mut f);
        f
    }

    fn table() -> RoutingTable {
        RoutingTable::builder()
            .rule(
                "enemy",
                Field::Source.matches("enemy-*"),
                [Action::call("duck"), Action::Continue],
            )
            .rule("greet", Cond::type_is("Greeting"), [Action::call("on_greeting")])
            .rule(
                "empty",
                Cond::type_is("Empty"),
                [Action::queue("hand"), Action::forward("squad")],
            )
            .rule("late", Cond::type_is("Empty"), [Action::Drop])
            .otherwise([Action::queue("inbox")])
            .build()
            .unwrap()
    }

    #[test]
    fn the_first_matching_rule_stops_the_search() {
        let f = route(&table(), &Message::new(Empty).to(1));
        assert_eq!(f.rules(), &[2]);
        assert_eq!(f.steps(), &[Step::Queue(0), Step::Forward(0)]);
        assert_eq!(f.end(), End::Stopped(2));
    }

    #[test]
    fn continue_keeps_searching_and_otherwise_catches_the_rest() {
        let f = route(
            &table(),
            &Message::new(crate::content::Text::from("x")).to(1).from_source("enemy-1"),
        );
        assert_eq!(f.rules(), &[0]);
        assert_eq!(f.steps(), &[Step::Call(0), Step::Queue(1)]);
        assert_eq!(f.end(), End::Otherwise);
        let f = route(&table(), &Message::new(Empty).to(1).from_source("enemy-1"));
        assert_eq!(f.rules(), &[0, 2]);
        assert_eq!(f.steps(), &[Step::Call(0), Step::Queue(0), Step::Forward(0)]);
    }

    #[test]
    fn without_otherwise_an_unmatched_message_is_unrouted() {
        let t = RoutingTable::builder()
            .rule(
                "enemy",
                Field::Source.matches("enemy-*"),
                [Action::call("duck"), Action::Continue],
            )
            .build()
            .unwrap();
        let f = route(&t, &Message::new(Empty).to(1).from_source("enemy-1"));
        assert_eq!(f.end(), End::Unrouted);
        assert_eq!(f.steps(), &[Step::Call(0)], "the continue rule's actions still run");
    }

    #[test]
    fn malformed_tables_are_refused() {
        let dup = RoutingTable::builder()
            .rule("a", Cond::Always, [Action::Drop])
            .rule("a", Cond::Always, [Action::Drop])
            .build();
        assert_eq!(dup.unwrap_err(), BuildError::DuplicateRule("a".into()));
        let drop = RoutingTable::builder()
            .rule("a", Cond::Always, [Action::Drop, Action::queue("q")])
            .build();
        assert_eq!(drop.unwrap_err(), BuildError::DropNotAlone("a".into()));
        let cont = RoutingTable::builder()
            .rule("a", Cond::Always, [Action::Continue, Action::queue("q")])
            .build();
        assert_eq!(cont.unwrap_err(), BuildError::ContinueNotLast("a".into()));
        let kind = RoutingTable::builder()
            .rule("a", Cond::Always, [Action::call("h"), Action::call_async("h")])
            .build();
        assert_eq!(kind.unwrap_err(), BuildError::HandlerKindConflict("h".into()));
        let other =
            RoutingTable::builder().otherwise([Action::Drop]).otherwise([Action::Drop]).build();
        assert_eq!(other.unwrap_err(), BuildError::DuplicateOtherwise);
    }
}

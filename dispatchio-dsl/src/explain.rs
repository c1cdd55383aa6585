//! Why a message went where it went: a listener's search, rule by rule,
//! for one concrete message (`dispatchio explain`, and
//! `interp::Routes::explain` (feature `runtime`) at run time).
//!
//! A [`Trace`] says of each rule whether it fired and, where it did not,
//! the first part of its condition that failed; which actions ran; how the
//! search ended; and, for each `forward`, the trace of the listener it
//! names. Conditions are evaluated by the model's evaluation, through
//! [`decide::holds`] — the meaning `dispatchio check` proves things with,
//! and the one the compiled matcher and the interpreter run — so a trace's
//! [`decision`](Trace::decision) is what they do (a property test holds the
//! three, and the reference evaluator, to the same rules fired).
//!
//! ```
//! let program = dispatchio_dsl::load_str(
//!     "game.route",
//!     "message Card { card: int }\n\
//!      listener player {\n\
//!          rule deal when type == Card and card < 52 => queue hand\n\
//!          otherwise => drop\n\
//!      }",
//! )?
//! .program;
//! let mut card = dispatchio_dsl::Sample::new("Card");
//! card.content.insert("card".into(), dispatchio_dsl::Value::Int(60));
//! let trace = dispatchio_dsl::explain::explain(&program, "player", &card).unwrap();
//! assert_eq!(trace.end, dispatchio_dsl::explain::End::Otherwise);
//! assert_eq!(
//!     trace.to_string(),
//!     "listener player: otherwise\n\
//!      \x20 rule deal: no, `card < 52` is false (card is 60)\n\
//!      \x20 otherwise: drop\n"
//! );
//! # Ok::<(), dispatchio_dsl::LoadError>(())
//! ```

use std::fmt;

use crate::concrete::{Sample, Value};
use crate::decide::{self, Decision};
use crate::diagnostic::Span;
use crate::program::{ActionKind, Cond, CondKind, FieldRef, ListenerDef, Program};

/// What one listener did with one message, and why.
///
/// ```
/// use dispatchio_dsl::explain::{End, explain};
/// use dispatchio_dsl::{Sample, Value, program::ActionKind};
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "message Card { card: int }\n\
///      listener player {\n\
///          rule deal when type == Card and card < 52 => queue hand\n\
///          otherwise => drop\n\
///      }",
/// )?
/// .program;
/// let mut card = Sample::new("Card");
/// card.content.insert("card".into(), Value::Int(60));
/// let trace = explain(&program, "player", &card).unwrap();
/// assert_eq!(trace.end, End::Otherwise);
/// assert_eq!(trace.otherwise, Some(vec![ActionKind::Drop]));
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// The listener's name.
    pub listener: String,
    /// Every rule, in order: those after the rule that stopped the search
    /// are [`Outcome::NotTried`].
    pub rules: Vec<RuleTrace>,
    /// The actions of the `otherwise` clause when it ran.
    pub otherwise: Option<Vec<ActionKind>>,
    /// How the search ended.
    pub end: End,
    /// One entry per `forward` that ran, in order.
    pub forwards: Vec<Forwarded>,
}

/// One rule of a [`Trace`].
///
/// ```
/// use dispatchio_dsl::explain::{Outcome, explain};
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "listener l {\n rule urgent when blocking => queue urgent\n rule rest when sync => queue rest\n}",
/// )?
/// .program;
/// let mut msg = dispatchio_dsl::Sample::new("Ping");
/// msg.blocking = true;
/// let trace = explain(&program, "l", &msg).unwrap();
/// assert_eq!((trace.rules[0].index, trace.rules[0].name.as_str()), (0, "urgent"));
/// assert!(matches!(trace.rules[0].outcome, Outcome::Fired { continued: false, .. }));
/// assert_eq!(trace.rules[1].outcome, Outcome::NotTried);
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RuleTrace {
    /// The rule's index in its listener.
    pub index: usize,
    /// The rule's name.
    pub name: String,
    /// The whole rule.
    pub span: Span,
    /// What became of it.
    pub outcome: Outcome,
}

/// What became of one rule.
///
/// ```
/// use dispatchio_dsl::explain::{Outcome, explain};
/// use dispatchio_dsl::program::ActionKind;
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "listener l {\n rule count when sync => call count, continue\n rule rest when sync => queue rest\n}",
/// )?
/// .program;
/// let mut msg = dispatchio_dsl::Sample::new("Ping");
/// msg.sync = true;
/// let trace = explain(&program, "l", &msg).unwrap();
/// let count = ActionKind::Call { handler: "count".into(), is_async: false };
/// assert_eq!(trace.rules[0].outcome, Outcome::Fired { actions: vec![count], continued: true });
/// assert!(matches!(trace.rules[1].outcome, Outcome::Fired { continued: false, .. }));
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Its condition held and its actions ran.
    Fired {
        /// The actions run (`continue` left out: it is not an action that runs).
        actions: Vec<ActionKind>,
        /// Whether the rule ends with `continue`, so the search went on.
        continued: bool,
    },
    /// Its condition did not hold.
    Failed(Failure),
    /// An earlier rule stopped the search.
    NotTried,
}

/// The first part of a condition that failed.
///
/// ```
/// use dispatchio_dsl::explain::{Outcome, explain};
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "message Card { card: int }\n\
///      listener l { rule deal when type == Card and card < 52 => queue hand }",
/// )?
/// .program;
/// let mut card = dispatchio_dsl::Sample::new("Card");
/// card.content.insert("card".into(), dispatchio_dsl::Value::Int(60));
/// let trace = explain(&program, "l", &card).unwrap();
/// let Outcome::Failed(failure) = &trace.rules[0].outcome else { panic!("deal failed") };
/// // The first part of the `and` that failed, as written.
/// assert_eq!(failure.text, "card < 52");
/// assert_eq!(failure.to_string(), "`card < 52` is false (card is 60)");
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// Where the part is written.
    pub span: Span,
    /// The part as written in the source.
    pub text: String,
    /// Why it failed.
    pub kind: FailureKind,
}

/// Why a part of a condition failed.
///
/// ```
/// use dispatchio_dsl::explain::{FailureKind, Outcome, explain};
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "message Card { card: int, suit: string? }\n\
///      listener l { rule hearts when type == Card and suit == \"hearts\" => queue hand }",
/// )?
/// .program;
/// let card = dispatchio_dsl::Sample::new("Card"); // no suit
/// let trace = explain(&program, "l", &card).unwrap();
/// let Outcome::Failed(failure) = &trace.rules[0].outcome else { panic!("hearts failed") };
/// assert!(matches!(&failure.kind, FailureKind::Test { value: None, .. }));
/// assert_eq!(failure.kind.to_string(), "suit is absent");
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum FailureKind {
    /// A test on a field was false.
    Test {
        /// The field tested.
        field: FieldRef,
        /// Its value in the message, `None` when absent.
        value: Option<Value>,
    },
    /// No alternative of an `or` held.
    NoAlternative,
    /// The condition under a `not` held.
    Negated,
}

/// How a listener's search ended.
///
/// ```
/// use dispatchio_dsl::explain::{End, explain};
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "listener l { rule urgent when blocking => queue urgent }",
/// )?
/// .program;
/// // No rule stopped the search, and there is no `otherwise`.
/// let trace = explain(&program, "l", &dispatchio_dsl::Sample::new("Ping")).unwrap();
/// assert_eq!(trace.end, End::Unrouted);
/// assert_eq!(trace.end.to_string(), "unrouted");
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The rule at this index fired and did not continue.
    Stopped(usize),
    /// No rule stopped the search and `otherwise` ran.
    Otherwise,
    /// No rule stopped the search and there is no `otherwise`.
    Unrouted,
}

/// One `forward` that ran, and what the listener it names did.
///
/// ```
/// use dispatchio_dsl::explain::{End, Followed, explain};
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "listener front { rule all when sync => forward back }\n\
///      listener back  { rule all when sync => queue done }",
/// )?
/// .program;
/// let mut msg = dispatchio_dsl::Sample::new("Job");
/// msg.sync = true;
/// let trace = explain(&program, "front", &msg).unwrap();
/// assert_eq!(trace.forwards[0].target, "back");
/// let Followed::Traced(back) = &trace.forwards[0].followed else { panic!("back is traced") };
/// assert_eq!(back.end, End::Stopped(0));
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Forwarded {
    /// The listener forwarded to.
    pub target: String,
    /// What became of the message there.
    pub followed: Followed,
}

/// What a forward target did with the message.
///
/// ```
/// use dispatchio_dsl::explain::{Followed, explain};
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "listener front { rule all when sync => forward back, queue seen }\n\
///      listener back  { rule all when sync => queue done }",
/// )?
/// .program;
/// let mut msg = dispatchio_dsl::Sample::new("Job");
/// msg.sync = true;
/// let trace = explain(&program, "front", &msg).unwrap();
/// let Followed::Traced(back) = &trace.forwards[0].followed else { panic!("back is traced") };
/// assert_eq!(back.listener, "back");
/// assert!(back.forwards.is_empty());
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Followed {
    /// The target's trace.
    Traced(Box<Trace>),
    /// The target is already on the path of forwards that led here: not
    /// followed again. A program that checked has no forward cycle (it is
    /// an error of `dispatchio check`); this keeps every trace finite
    /// regardless.
    Cycle,
    /// The target is not a listener of this program. A program that
    /// checked has none such (an unknown forward target is an error of
    /// `dispatchio check`); this keeps a trace from failing regardless.
    Outside,
}

/// The trace of `msg` through the listener `listener` of `program`,
/// following its `forward`s into the listeners they name; `None` when the
/// program has no such listener.
///
/// ```
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "message Card { card: int }\n\
///      listener player {\n\
///          rule deal when type == Card and card < 52 => queue hand\n\
///          otherwise => drop\n\
///      }",
/// )?
/// .program;
/// let mut card = dispatchio_dsl::Sample::new("Card");
/// card.content.insert("card".into(), dispatchio_dsl::Value::Int(7));
/// let trace = dispatchio_dsl::explain::explain(&program, "player", &card).unwrap();
/// assert_eq!(trace.to_string(), "listener player: stopped at rule `deal`\n  rule deal: fired: queue hand\n");
/// assert!(dispatchio_dsl::explain::explain(&program, "dealer", &card).is_none());
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
pub fn explain(program: &Program, listener: &str, msg: &Sample) -> Option<Trace> {
    let def = program.listener(listener)?;
    Some(trace(program, def, msg, &mut vec![listener]))
}

/// `def`'s trace; `path` holds the listeners forwarded through to get here.
fn trace<'p>(
    program: &'p Program,
    def: &'p ListenerDef,
    msg: &Sample,
    path: &mut Vec<&'p str>,
) -> Trace {
    let mut rules = Vec::with_capacity(def.rules.len());
    let mut end = None;
    for (index, rule) in def.rules.iter().enumerate() {
        let outcome = if end.is_some() {
            Outcome::NotTried
        } else if let Some(failed) = first_failure(program, &rule.cond, msg) {
            Outcome::Failed(failed)
        } else {
            let continued = rule.continues();
            if !continued {
                end = Some(End::Stopped(index));
            }
            let actions = rule.actions.iter().map(|a| &a.kind);
            let actions = actions.filter(|k| **k != ActionKind::Continue).cloned().collect();
            Outcome::Fired { actions, continued }
        };
        rules.push(RuleTrace { index, name: rule.name.clone(), span: rule.span, outcome });
    }
    let otherwise = match (end, &def.otherwise) {
        (None, Some(o)) => Some(o.actions.iter().map(|a| a.kind.clone()).collect()),
        _ => None,
    };
    let end = end.unwrap_or(if otherwise.is_some() { End::Otherwise } else { End::Unrouted });
    let mut t = Trace { listener: def.name.clone(), rules, otherwise, end, forwards: Vec::new() };
    let targets: Vec<&'p str> = forwards_of(def, &t).collect();
    for target in targets {
        let followed = match program.listener(target) {
            None => Followed::Outside,
            Some(_) if path.contains(&target) => Followed::Cycle,
            Some(next) => {
                path.push(target);
                let inner = trace(program, next, msg, path);
                path.pop();
                Followed::Traced(Box::new(inner))
            }
        };
        t.forwards.push(Forwarded { target: target.to_owned(), followed });
    }
    t
}

/// The targets of the forwards `t` ran, borrowed from the program.
fn forwards_of<'p>(def: &'p ListenerDef, t: &Trace) -> impl Iterator<Item = &'p str> {
    let fired = t.fired();
    let rules = fired.into_iter().flat_map(move |i| def.rules[i].actions.iter());
    let otherwise = def.otherwise.as_ref().filter(|_| t.otherwise.is_some());
    rules.chain(otherwise.into_iter().flat_map(|o| o.actions.iter())).filter_map(|a| {
        match &a.kind {
            ActionKind::Forward(target) => Some(target.as_str()),
            _ => None,
        }
    })
}

/// The first part of `cond` that fails on `msg`, `None` when it holds.
///
/// An `and` fails at its first operand that fails, looked into; an `or`
/// and a `not` fail as a whole.
fn first_failure(program: &Program, cond: &Cond, msg: &Sample) -> Option<Failure> {
    if decide::holds(cond, msg) {
        return None;
    }
    let kind = match &cond.kind {
        CondKind::And(cs) => {
            return cs.iter().find_map(|c| first_failure(program, c, msg));
        }
        CondKind::Pred(p) => FailureKind::Test {
            field: p.field.clone(),
            value: decide::read(&p.field, msg).and_then(Value::of_model),
        },
        CondKind::Or(_) => FailureKind::NoAlternative,
        CondKind::Not(_) => FailureKind::Negated,
    };
    let source = &program.sources().get(cond.span.file).text;
    let text = source.get(cond.span.start as usize..cond.span.end as usize).unwrap_or_default();
    let text = text.to_owned();
    Some(Failure { span: cond.span, text, kind })
}

impl Trace {
    /// The indices of the rules that fired, in order.
    ///
    /// ```
    /// let program = dispatchio_dsl::load_str(
    ///     "game.route",
    ///     "listener l {\n\
    ///          rule count  when sync     => call count, continue\n\
    ///          rule urgent when blocking => queue urgent\n\
    ///          rule rest   when sync     => queue rest\n\
    ///      }",
    /// )?
    /// .program;
    /// let mut msg = dispatchio_dsl::Sample::new("Ping");
    /// msg.sync = true;
    /// let trace = dispatchio_dsl::explain::explain(&program, "l", &msg).unwrap();
    /// assert_eq!(trace.fired(), [0, 2]);
    /// # Ok::<(), dispatchio_dsl::LoadError>(())
    /// ```
    pub fn fired(&self) -> Vec<usize> {
        let fired = self.rules.iter().filter(|r| matches!(r.outcome, Outcome::Fired { .. }));
        fired.map(|r| r.index).collect()
    }

    /// What the listener did, in the terms of [`decide::route`] (which it
    /// equals).
    ///
    /// ```
    /// let program = dispatchio_dsl::load_str(
    ///     "game.route",
    ///     "listener l {\n rule count when sync => call count, continue\n otherwise => queue rest\n}",
    /// )?
    /// .program;
    /// let mut msg = dispatchio_dsl::Sample::new("Ping");
    /// msg.sync = true;
    /// let trace = dispatchio_dsl::explain::explain(&program, "l", &msg).unwrap();
    /// let listener = program.listener("l").unwrap();
    /// assert_eq!(trace.decision(), dispatchio_dsl::decide::route(listener, &msg));
    /// assert!(trace.decision().otherwise);
    /// # Ok::<(), dispatchio_dsl::LoadError>(())
    /// ```
    pub fn decision(&self) -> Decision {
        let mut d = Decision::new();
        for r in &self.rules {
            if let Outcome::Fired { actions, .. } = &r.outcome {
                d.fired.push(r.index);
                d.actions.extend(actions.iter().cloned());
            }
        }
        d.actions.extend(self.otherwise.iter().flatten().cloned());
        d.otherwise = self.end == End::Otherwise;
        d.unrouted = self.end == End::Unrouted;
        d
    }
}

impl fmt::Display for Failure {
    /// `` `card < 52` is false (card is 60) ``
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is false ({})", self.text, self.kind)
    }
}

impl fmt::Display for FailureKind {
    /// Why, in words: `card is 60`, `suit is absent`, `no alternative holds`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureKind::Test { field, value: Some(v) } => write!(f, "{field} is {v}"),
            FailureKind::Test { field, value: None } => write!(f, "{field} is absent"),
            FailureKind::NoAlternative => f.write_str("no alternative holds"),
            FailureKind::Negated => f.write_str("what it negates holds"),
        }
    }
}

impl fmt::Display for End {
    /// `stopped at rule 2`, `otherwise`, `unrouted`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            End::Stopped(i) => write!(f, "stopped at rule {i}"),
            End::Otherwise => f.write_str("otherwise"),
            End::Unrouted => f.write_str("unrouted"),
        }
    }
}

/// An action as written in a `.route` file: `call take_bet`,
/// `call async review`, `queue hand`, `forward audit`, `drop`, `continue`.
///
/// ```
/// use dispatchio_dsl::{explain::action_text, program::ActionKind};
///
/// let review = ActionKind::Call { handler: "review".into(), is_async: true };
/// assert_eq!(action_text(&review), "call async review");
/// assert_eq!(action_text(&ActionKind::Forward("audit".into())), "forward audit");
/// ```
pub fn action_text(a: &ActionKind) -> String {
    match a {
        ActionKind::Call { handler, is_async: false } => format!("call {handler}"),
        ActionKind::Call { handler, is_async: true } => format!("call async {handler}"),
        ActionKind::Queue(q) => format!("queue {q}"),
        ActionKind::Forward(l) => format!("forward {l}"),
        ActionKind::Drop => "drop".to_owned(),
        ActionKind::Continue => "continue".to_owned(),
    }
}

/// The actions, comma-separated, as written.
pub(crate) fn actions_text(actions: &[ActionKind]) -> String {
    actions.iter().map(action_text).collect::<Vec<_>>().join(", ")
}

impl Trace {
    /// How the search ended, with the rule's name: `stopped at rule `deal``.
    ///
    /// ```
    /// let program = dispatchio_dsl::load_str(
    ///     "game.route",
    ///     "listener l {\n rule urgent when blocking => queue urgent\n otherwise => drop\n}",
    /// )?
    /// .program;
    /// let mut msg = dispatchio_dsl::Sample::new("Ping");
    /// msg.blocking = true;
    /// let trace = dispatchio_dsl::explain::explain(&program, "l", &msg).unwrap();
    /// assert_eq!(trace.end_text(), "stopped at rule `urgent`");
    /// msg.blocking = false;
    /// let trace = dispatchio_dsl::explain::explain(&program, "l", &msg).unwrap();
    /// assert_eq!(trace.end_text(), "otherwise");
    /// # Ok::<(), dispatchio_dsl::LoadError>(())
    /// ```
    pub fn end_text(&self) -> String {
        match self.end {
            End::Stopped(i) => format!("stopped at rule `{}`", self.rules[i].name),
            other => other.to_string(),
        }
    }

    fn write_indented(&self, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
        let pad = "  ".repeat(depth);
        writeln!(f, "{pad}listener {}: {}", self.listener, self.end_text())?;
        for r in &self.rules {
            match &r.outcome {
                Outcome::Fired { actions, continued } => {
                    let then = if *continued { ", continue" } else { "" };
                    writeln!(f, "{pad}  rule {}: fired: {}{then}", r.name, actions_text(actions))?;
                }
                Outcome::Failed(failure) => writeln!(f, "{pad}  rule {}: no, {failure}", r.name)?,
                Outcome::NotTried => writeln!(f, "{pad}  rule {}: not tried", r.name)?,
            }
        }
        if let Some(actions) = &self.otherwise {
            writeln!(f, "{pad}  otherwise: {}", actions_text(actions))?;
        }
        for fw in &self.forwards {
            match &fw.followed {
                Followed::Traced(t) => t.write_indented(f, depth + 1)?,
                Followed::Cycle => {
                    writeln!(f, "{pad}  forward {}: a cycle, not followed again", fw.target)?;
                }
                Followed::Outside => {
                    writeln!(f, "{pad}  forward {}: not a listener of this program", fw.target)?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for Trace {
    /// Plain text, one line per rule, forwards indented under their
    /// listener: what a program logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_indented(f, 0)
    }
}

#[cfg(test)]
mod tests;

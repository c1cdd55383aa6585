//! `dispatchio diff`: what a change to a routing table changes, on the one
//! analysis and the one meaning `check` uses.
//!
//! [`diff`] compares two checked programs listener by listener (matched by
//! name) and reports every *class* of messages whose outcome changes — the
//! actions run, or whether the message is routed at all — each with a
//! witness message checked by [`crate::decide`], the rule that decides it in
//! the old and in the new table, and the conditions that define the class.
//! Rule names do not matter to outcomes: a renamed rule, rules reordered
//! whose conditions do not meet, or a rule split into two that together
//! match the same messages, change nothing and are reported as nothing.
//!
//! # How it decides
//!
//! A class is a pair of paths, one through each table: the rules a message
//! fires in the old table (and how the search ends) and those it fires in
//! the new. Both tables' conditions become formulas of one set of
//! variables (the new program's type classes, see `solver`), and a class
//! whose outcomes differ is a satisfiable conjunction: the conditions of
//! the rules fired on both paths and the negations of those skipped. This
//! is `redundant`'s question ("following the later rules and otherwise path
//! by path", see `findings`) asked of two tables instead of one table with
//! and without a rule.
//!
//! Only messages that can reach a change are asked about. The two rule
//! lists are aligned (the longest common subsequence of rules equal up to
//! their names, see `align`): a message that matches no rule outside the
//! common ones fires the same common rules, in the same order, in both
//! tables, so its outcome can only change where both searches fall through
//! and `otherwise` changed. So the paths explored are those of messages
//! matching one changed rule — through that rule's candidates only (the
//! index `check` uses, built once over both tables) — and, if `otherwise`
//! changed, those of messages no rule stops in either table.
//!
//! Exact wherever `check` is: on typed fields, every class found is real
//! (its witness is routed by the model before it is reported) and no class
//! is missed. Conditions on untyped content (`content.…` of undeclared
//! types) make a listener's answer `exact: false`, and a question the work
//! budget gave up on names its rules in [`ListenerDiff::undecided`] (then
//! classes about them may be missing).
//!
//! Messages are those the new program's declarations allow (the messages
//! the new table will be given); where the old program declared a type
//! differently, its old messages of another shape are not compared.

mod align;
#[cfg(test)]
mod tests;
mod walk;

use crate::concrete::Sample;
use crate::diagnostic::Span;
use crate::program::{ActionKind, ListenerDef, Program};

/// Every change between two programs, listener by listener (the new
/// program's order, then listeners only the old one has).
///
/// ```
/// use dispatchio_dsl::{analysis::diff, load_str};
///
/// let old = load_str("old.route", "listener l { rule a when sync => queue q }")?.program;
/// let new = load_str("new.route", "listener l { rule a when sync => drop }")?.program;
/// let d = diff(&old, &new);
/// assert_eq!(d.listeners.len(), 1);
/// assert_eq!(d.listeners[0].name, "l");
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Diff {
    /// One entry per listener that was added, removed, or whose outcomes
    /// change (or could not all be decided); unchanged listeners are left out.
    pub listeners: Vec<ListenerDiff>,
}

impl Diff {
    /// Whether nothing changes: no listener added, removed or changed, and
    /// nothing left undecided.
    ///
    /// ```
    /// use dispatchio_dsl::{analysis::diff, load_str};
    ///
    /// // A renamed rule changes no message's outcome.
    /// let old = load_str("old.route", "listener l { rule a when sync => queue q }")?.program;
    /// let new = load_str("new.route", "listener l { rule renamed when sync => queue q }")?.program;
    /// assert!(diff(&old, &new).is_empty());
    /// # Ok::<(), dispatchio_dsl::LoadError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.listeners.is_empty()
    }
}

/// Whether a listener is on both sides of the comparison.
///
/// ```
/// use dispatchio_dsl::analysis::{Presence, diff};
/// use dispatchio_dsl::load_str;
///
/// let old = load_str("old.route", "listener l { rule a when sync => queue q }")?.program;
/// let new = load_str(
///     "new.route",
///     "listener l { rule a when sync => queue q }\nlistener audit { rule all when sync => queue seen }",
/// )?
/// .program;
/// let d = diff(&old, &new);
/// assert_eq!((d.listeners[0].name.as_str(), d.listeners[0].presence), ("audit", Presence::Added));
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// Only the new program has it.
    Added,
    /// Only the old program has it.
    Removed,
    /// Both have it; the changes say what differs.
    Both,
}

/// What changes in one listener.
///
/// ```
/// use dispatchio_dsl::analysis::{Presence, diff};
/// use dispatchio_dsl::load_str;
///
/// let old = load_str("old.route", "listener l {\n rule a when sync => queue q\n otherwise => drop\n}")?.program;
/// let new = load_str("new.route", "listener l {\n rule a when sync => queue q\n otherwise => queue rest\n}")?.program;
/// let l = &diff(&old, &new).listeners[0];
/// assert_eq!((l.name.as_str(), l.presence), ("l", Presence::Both));
/// // One class changes: the messages that fall through to `otherwise`.
/// assert_eq!(l.changes.len(), 1);
/// assert!(l.exact && l.undecided.is_empty());
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ListenerDiff {
    /// The listener's name.
    pub name: String,
    /// Added, removed, or on both sides.
    pub presence: Presence,
    /// Its name in the new program (the old one's for a removed listener).
    pub span: Span,
    /// Every class of messages whose outcome changes, in the order found.
    pub changes: Vec<Change>,
    /// Rules (`old rule `a``, `new rule `b``) or the listener, that a
    /// question gave up on (the work budget ran out): changes about them
    /// may be missing.
    pub undecided: Vec<String>,
    /// Whether the answer is exact: false when a condition compared reads
    /// untyped content (`content.…` of an undeclared type).
    pub exact: bool,
}

/// How a class of messages changes.
///
/// ```
/// use dispatchio_dsl::analysis::{ChangeKind, diff};
/// use dispatchio_dsl::load_str;
///
/// let old = load_str("old.route", "listener l { rule a when sync => queue q }")?.program;
/// let new = load_str("new.route", "listener l { rule a when sync => drop }")?.program;
/// assert_eq!(diff(&old, &new).listeners[0].changes[0].kind, ChangeKind::NowDropped);
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangeKind {
    /// The old table routed the messages; the new one leaves them unrouted.
    NowUnrouted,
    /// The old table left them unrouted; the new one routes them.
    NowRouted,
    /// The new table drops them (and the old one did not).
    NowDropped,
    /// Both route them, with different actions.
    Actions,
}

impl ChangeKind {
    /// The kebab-case name used in JSON and SARIF output.
    ///
    /// ```
    /// use dispatchio_dsl::analysis::ChangeKind;
    ///
    /// assert_eq!(ChangeKind::NowUnrouted.as_str(), "now-unrouted");
    /// assert_eq!(ChangeKind::Actions.as_str(), "actions");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::NowUnrouted => "now-unrouted",
            ChangeKind::NowRouted => "now-routed",
            ChangeKind::NowDropped => "now-dropped",
            ChangeKind::Actions => "actions",
        }
    }
}

/// One class of messages whose outcome changes.
///
/// ```
/// use dispatchio_dsl::{analysis::diff, load_str};
///
/// let old = load_str("old.route", "listener l { rule a when sync => queue q }")?.program;
/// let new = load_str("new.route", "listener l { rule a when sync and not blocking => queue q }")?.program;
/// let change = &diff(&old, &new).listeners[0].changes[0];
/// // Blocking sync messages were queued, and are no longer routed.
/// assert_eq!(change.witness.to_string(), "type=Unknown sync=true blocking=true");
/// // The class: the old rule's condition, and not the new one's.
/// assert_eq!(change.class, ["sync", "not (sync and not blocking)"]);
/// assert!(change.exact);
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Change {
    /// How it changes.
    pub kind: ChangeKind,
    /// A message of the class, routed by the model through both tables.
    pub witness: Sample,
    /// What the old table does with the class.
    pub old: Outcome,
    /// What the new table does with it.
    pub new: Outcome,
    /// The conditions that define the class, simplified: the conditions of
    /// the rules that fire (`type == Card and card < 10`) and of the rules
    /// it must not match (`not (card == 3)`) where they exclude something.
    pub class: Vec<String>,
    /// Whether the claim is exact: the witness was checked by the model and
    /// no condition compared reads untyped content.
    pub exact: bool,
}

/// What one table does with a message.
///
/// ```
/// use dispatchio_dsl::{analysis::diff, load_str, program::ActionKind};
///
/// let old = load_str("old.route", "listener l { rule a when sync => queue q }")?.program;
/// let new = load_str("new.route", "listener l { rule b when sync => queue r }")?.program;
/// let change = &diff(&old, &new).listeners[0].changes[0];
/// assert_eq!((change.old.fired.as_slice(), change.new.fired.as_slice()), (&["a".to_owned()][..], &["b".to_owned()][..]));
/// assert_eq!(change.new.actions, [ActionKind::Queue("r".into())]);
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The actions run, in order (`continue` left out).
    pub actions: Vec<ActionKind>,
    /// The rules that fire, in order.
    pub fired: Vec<String>,
    /// How the search ends: the deciding rule.
    pub end: End,
}

/// How a table's search for a message ends.
///
/// ```
/// use dispatchio_dsl::analysis::{End, diff};
/// use dispatchio_dsl::load_str;
///
/// let old = load_str("old.route", "listener l {\n rule a when sync => queue q\n otherwise => drop\n}")?.program;
/// let new = load_str("new.route", "listener l {\n rule a when sync => queue q\n}")?.program;
/// let change = &diff(&old, &new).listeners[0].changes[0];
/// assert!(matches!(change.old.end, End::Otherwise { .. }));
/// assert_eq!(change.new.end, End::Unrouted);
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// This rule stops the search.
    Rule {
        /// The rule's name.
        name: String,
        /// The rule, in its own program's sources.
        span: Span,
    },
    /// No rule stops it; the `otherwise` clause runs.
    Otherwise {
        /// The clause, in its own program's sources.
        span: Span,
    },
    /// No rule stops it and there is no `otherwise`.
    Unrouted,
}

/// What changes from `old` to `new`, listener by listener.
///
/// Both must be checked programs (from [`check`](crate::check) or
/// [`load`](crate::load)); their declarations may differ (see the module
/// documentation on which messages are compared).
///
/// ```
/// use dispatchio_dsl::{analysis::diff, load_str};
/// let old = load_str("old.route", "message Card { card: int }\n\
///     listener player { rule deal when type == Card and card < 52 => queue hand }").unwrap();
/// let new = load_str("new.route", "message Card { card: int }\n\
///     listener player { rule deal when type == Card and card < 50 => queue hand }").unwrap();
/// let d = diff(&old.program, &new.program);
/// let change = &d.listeners[0].changes[0];
/// // Cards 50 and 51 were dealt, and are no longer.
/// let card = &change.witness.content["card"];
/// assert!(matches!(card, dispatchio_dsl::Value::Int(50 | 51)));
/// assert_eq!(change.kind, dispatchio_dsl::analysis::ChangeKind::NowUnrouted);
/// ```
pub fn diff(old: &Program, new: &Program) -> Diff {
    let rules = |p: &Program| p.listeners().iter().map(|l| l.rules.len()).sum::<usize>();
    diff_within(old, new, super::solver::Work::for_rules(rules(old) + rules(new)))
}

/// [`diff`] within the given work limits.
pub(super) fn diff_within(old: &Program, new: &Program, work: super::solver::Work) -> Diff {
    let pairs: Vec<(&ListenerDef, &ListenerDef)> =
        new.listeners().iter().filter_map(|n| old.listener(&n.name).map(|o| (o, n))).collect();
    let compared = walk::compare(old, new, &pairs, work);
    let mut out = Vec::new();
    let mut compared = compared.into_iter();
    for n in new.listeners() {
        if old.listener(&n.name).is_none() {
            out.push(one_sided(n, Presence::Added));
        } else if let Some(d) = compared.next() {
            if !d.changes.is_empty() || !d.undecided.is_empty() {
                out.push(d);
            }
        }
    }
    for o in old.listeners() {
        if new.listener(&o.name).is_none() {
            out.push(one_sided(o, Presence::Removed));
        }
    }
    Diff { listeners: out }
}

fn one_sided(l: &ListenerDef, presence: Presence) -> ListenerDiff {
    ListenerDiff {
        name: l.name.clone(),
        presence,
        span: l.name_span,
        changes: Vec::new(),
        undecided: Vec::new(),
        exact: true,
    }
}

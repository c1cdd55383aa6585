//! The analyser: what `dispatchio check` reports about rule tables.
//!
//! [`analyse`] finds, per listener, unsatisfiable, shadowed and redundant
//! rules (at most one of these per rule, in that order), overlapping rules,
//! rules that send `sync` messages to `async` handlers and unrouted
//! messages; across listeners, forward cycles. Every finding about messages
//! carries a witness message, checked by the model's evaluation
//! ([`crate::decide`], the tests the runtime and generated code run) before
//! it is reported; the tests check every witness against the reference
//! evaluator (`dispatchio-oracle`) as well.
//!
//! # How it decides
//!
//! Conditions are split by *type class* (each declared message type, plus
//! one class for every other type name) and become formulas over one
//! variable per field (see `solver`). All findings reduce to satisfiability
//! questions on conjunctions of rule conditions and their negations:
//!
//! * unsatisfiable: `R` has no message;
//! * shadowed: `R and not E1 and not E2 …` has none, the `Ei` being the
//!   earlier stopping rules (so a rule covered by several rules *together* is
//!   found, and the finding names a minimal set of them);
//! * redundant: no message `R` fires on has a different outcome (the
//!   sequence of actions run) without `R`, following the later rules and
//!   `otherwise` path by path;
//! * overlap (`R1` earlier, stopping): "`R1` fires and `R2` matches" has a
//!   message (it reaches `R1`: no earlier stopping rule takes it), and so
//!   has "`R1` fires and `R2` does not match" (`R1` is no exception of
//!   `R2`), where trying `R2` first would change the outcome;
//! * forward cycle: one message satisfies "fires and forwards" in each
//!   listener of a loop.
//!
//! Where it lives: `table` (each listener's rules per class as formulas,
//! the candidate index), `findings` (one listener's findings), `cycles`
//! (forward cycles across listeners), `solver` (formulas, spaces and
//! satisfiability), `dom` (value domains), `ranges` (integer sets),
//! `strings` (glob constraints and the string search), `affix` (the affix
//! index of glob rules), `graph` (strongly connected components),
//! `undecided` (the warning when the budget runs out); `diff` compares two
//! tables with the same questions ([`diff()`], `dispatchio diff`).
//!
//! This is exact for every test on typed fields: globs are decided by
//! automata (integer IDs by their decimal text), numbers by interval sets
//! with NaN and `-0.0` handled as IEEE does, lists by element membership,
//! nested records with their parents. Findings that read `content.…` paths
//! of undeclared message types (untyped values) are marked `exact: false`.
//! A work budget keeps pathological tables from hanging the check; a
//! question the search gives up on yields no claim at all (never a guess),
//! and each rule such a question was about gets an `undecided` warning.
//!
//! # Scale
//!
//! Rules are only compared with rules they can share a message with: per
//! class, rules are indexed by the literal values (`==`, `in`) they require
//! of the most discriminating field, and otherwise by their interval on the
//! most constrained int field, so tables of thousands of `type == X and
//! field == literal` or range rules cost about linear time (10,000 rules:
//! well under a second in a release build, see `benches/analyse.rs`).
//! Satisfiability questions of the form "this rule and none of the earlier
//! ones" first try the simplest member of the literal constraints before
//! searching. Witness checks route the witness through the rule's
//! candidates only; debug builds check that against the full evaluator.
//!
//! Tables where thousands of rules all share messages pairwise (say
//! `card >= 1`, `card >= 2`, … `card >= 6000`) still cost quadratic time
//! and memory in the number of such rules (6,000 nested ranges: about 2 s).

mod affix;
mod cycles;
mod diff;
mod dom;
mod findings;
#[doc(hidden)]
pub mod generate;
mod graph;
#[cfg(test)]
mod proptests;
mod ranges;
mod solver;
mod strings;
mod table;
#[cfg(test)]
mod tests;
mod undecided;

pub use diff::{Change, ChangeKind, Diff, End, ListenerDiff, Outcome, Presence, diff};

use crate::diagnostic::Diagnostic;
use crate::program::Program;
use findings::ListenerAnalysis;
use solver::{Class, Space};
use table::Table;

/// Every analysis finding of `program`, listener by listener (rules in
/// order), then forward cycles.
///
/// ```
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "listener l {\n rule urgent when blocking => queue urgent\n rule answer when sync => call answer\n}",
/// )?
/// .program;
/// let findings = dispatchio_dsl::analysis::analyse(&program);
/// assert_eq!(findings[0].code.as_str(), "overlap");
/// // With a message that shows it: both rules match, and the first one wins.
/// assert_eq!(findings[0].witness.as_ref().unwrap().to_string(), "type=Unknown sync=true blocking=true");
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
pub fn analyse(program: &Program) -> Vec<Diagnostic> {
    let rules = program.listeners().iter().map(|l| l.rules.len()).sum();
    analyse_within(program, solver::Work::for_rules(rules))
}

/// [`analyse`] within the given work limits.
fn analyse_within(program: &Program, work: solver::Work) -> Vec<Diagnostic> {
    let work = std::rc::Rc::new(work);
    let mut spaces: Vec<Space<'_>> = (0..program.messages().len())
        .map(|i| Space::new(program, Class::Declared(i)))
        .chain([Space::new(program, Class::Undeclared)])
        .map(|s| s.sharing(&work))
        .collect();
    let tables: Vec<Table<'_>> =
        program.listeners().iter().map(|l| Table::new(program, l, &mut spaces)).collect();
    let mut out = Vec::new();
    let mut fires = Vec::new();
    for t in &tables {
        let mut a = ListenerAnalysis {
            t,
            spaces: &spaces,
            out: &mut out,
            status: Vec::new(),
            undecided: Default::default(),
        };
        a.run();
        fires.push(a.status);
    }
    cycles::find(&tables, &spaces, &fires, &mut out);
    out
}

//! Unit tests of `diff` on `.route` text: what is a change and what is not.

use super::{ChangeKind, Diff, End, Presence, diff};
use crate::concrete::Value;
use crate::program::ActionKind;

const SCHEMA: &str =
    "message Card { card: int, suit: string? }\nmessage Greeting { dealer: bool }\n";

fn run(old: &str, new: &str) -> Diff {
    let load = |name: &str, body: &str| {
        crate::load_str(name, format!("{SCHEMA}{body}"))
            .unwrap_or_else(|e| panic!("{name} does not load: {e:?}"))
            .program
    };
    diff(&load("old.route", old), &load("new.route", new))
}

#[test]
fn identical_tables_have_no_diff() {
    let t = "listener l { rule a when type == Card and card < 5 => queue low\n otherwise => drop }";
    assert!(run(t, t).is_empty());
}

#[test]
fn a_rename_is_no_change() {
    let d = run(
        "listener l { rule a when type == Card and card < 5 => queue low\n otherwise => drop }",
        "listener l { rule low when type == Card and card < 5 => queue low\n otherwise => drop }",
    );
    assert!(d.is_empty(), "{d:#?}");
}

#[test]
fn reordering_rules_whose_conditions_do_not_meet_is_no_change() {
    let d = run(
        "listener l {\n rule a when type == Card and card < 5 => queue low\n \
         rule b when type == Card and card > 10 => queue high\n otherwise => drop }",
        "listener l {\n rule b when type == Card and card > 10 => queue high\n \
         rule a when type == Card and card < 5 => queue low\n otherwise => drop }",
    );
    assert!(d.is_empty(), "{d:#?}");
}

#[test]
fn reordering_overlapping_rules_changes_the_messages_both_match() {
    let d = run(
        "listener l {\n rule a when type == Card and card < 5 => queue low\n \
         rule b when type == Card and card > 2 and card < 10 => queue mid\n otherwise => drop }",
        "listener l {\n rule b when type == Card and card > 2 and card < 10 => queue mid\n \
         rule a when type == Card and card < 5 => queue low\n otherwise => drop }",
    );
    let l = &d.listeners[0];
    assert_eq!(l.changes.len(), 1, "{l:#?}");
    let c = &l.changes[0];
    assert!(matches!(c.witness.content["card"], Value::Int(3 | 4)), "{c:#?}");
    assert_eq!(c.kind, ChangeKind::Actions);
    assert!(matches!(&c.old.end, End::Rule { name, .. } if name == "a"));
    assert!(matches!(&c.new.end, End::Rule { name, .. } if name == "b"));
    assert!(c.exact);
}

#[test]
fn splitting_a_rule_into_two_that_match_the_same_messages_is_no_change() {
    let d = run(
        "listener l { rule a when type == Card and card < 10 => queue low\n otherwise => drop }",
        "listener l {\n rule a1 when type == Card and card < 3 => queue low\n \
         rule a2 when type == Card and card >= 3 and card < 10 => queue low\n otherwise => drop }",
    );
    assert!(d.is_empty(), "{d:#?}");
}

#[test]
fn a_narrowed_rule_leaves_the_rest_unrouted_with_a_witness_and_a_description() {
    let d = run(
        "listener l { rule deal when type == Card and card < 52 => queue hand }",
        "listener l { rule deal when type == Card and card < 50 => queue hand }",
    );
    let c = &d.listeners[0].changes[0];
    assert_eq!(d.listeners[0].changes.len(), 1);
    assert_eq!(c.kind, ChangeKind::NowUnrouted);
    assert!(matches!(c.witness.content["card"], Value::Int(50 | 51)), "{c:#?}");
    assert_eq!(c.new.end, End::Unrouted);
    assert_eq!(c.old.actions, vec![ActionKind::Queue("hand".into())]);
    // The class: the old rule fires, the new one does not.
    assert_eq!(c.class, ["type == Card and card < 52", "not (type == Card and card < 50)"]);
}

#[test]
fn a_changed_otherwise_changes_only_what_falls_through() {
    let d = run(
        "listener l { rule a when type == Card => queue hand\n otherwise => queue rest }",
        "listener l { rule a when type == Card => queue hand\n otherwise => drop }",
    );
    let changes = &d.listeners[0].changes;
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0].kind, ChangeKind::NowDropped);
    assert_ne!(changes[0].witness.ty, "Card");
    assert!(matches!(changes[0].new.end, End::Otherwise { .. }));
}

#[test]
fn a_new_rule_before_others_is_one_class_per_rule_it_takes_from() {
    let d = run(
        "listener l {\n rule a when type == Card and card < 5 => queue low\n \
         rule b when type == Card => queue any\n otherwise => drop }",
        "listener l {\n rule x when type == Card and card == 3 or type == Greeting => drop\n \
         rule a when type == Card and card < 5 => queue low\n \
         rule b when type == Card => queue any\n otherwise => drop }",
    );
    let changes = &d.listeners[0].changes;
    // Card 3 (from `a`) and Greetings (from `otherwise`); `x` drops them both,
    // but Greetings were dropped before: no change there.
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0].witness.content["card"], Value::Int(3));
    assert_eq!(changes[0].kind, ChangeKind::NowDropped);
}

#[test]
fn listeners_only_on_one_side_are_added_or_removed() {
    let d = run(
        "listener gone { otherwise => drop }\nlistener l { otherwise => drop }",
        "listener l { otherwise => drop }\nlistener fresh { otherwise => drop }",
    );
    let got: Vec<(&str, Presence)> =
        d.listeners.iter().map(|l| (l.name.as_str(), l.presence)).collect();
    assert_eq!(got, [("fresh", Presence::Added), ("gone", Presence::Removed)]);
}

#[test]
fn a_continuing_rule_added_in_front_changes_the_actions_of_what_it_matches() {
    let d = run(
        "listener l { rule a when type == Card => queue hand\n otherwise => drop }",
        "listener l {\n rule log when type == Card and card > 40 => queue audit, continue\n \
         rule a when type == Card => queue hand\n otherwise => drop }",
    );
    let changes = &d.listeners[0].changes;
    assert_eq!(changes.len(), 1, "{changes:#?}");
    let c = &changes[0];
    assert!(matches!(c.witness.content["card"], Value::Int(n) if n > 40));
    assert_eq!(
        c.new.actions,
        vec![ActionKind::Queue("audit".into()), ActionKind::Queue("hand".into())]
    );
    assert_eq!(c.new.fired, ["log", "a"]);
}

#[test]
fn untyped_content_makes_the_answer_inexact() {
    let d = run(
        "listener l { rule a when content.n == 1 => queue x\n otherwise => drop }",
        "listener l { rule a when content.n == 2 => queue x\n otherwise => drop }",
    );
    let l = &d.listeners[0];
    assert!(!l.exact);
    assert!(!l.changes.is_empty());
    assert!(l.changes.iter().all(|c| !c.exact));
}

#[test]
fn a_spent_budget_is_reported_as_undecided_not_as_no_change() {
    let load = |body: &str| crate::load_str("t.route", format!("{SCHEMA}{body}")).unwrap().program;
    let old = load("listener l { rule a when type == Card and card < 5 => queue low }");
    let new = load("listener l { rule a when type == Card and card < 6 => queue low }");
    let work = crate::analysis::solver::Work::for_rules(0);
    work.spend_all();
    let d = super::diff_within(&old, &new, work);
    assert!(!d.is_empty());
    assert!(d.listeners[0].changes.is_empty());
    assert_eq!(d.listeners[0].undecided, ["old rule `a`", "new rule `a`"]);
}

#[test]
fn a_changed_declaration_is_compared_over_the_new_programs_messages() {
    let load = |text: &str| crate::load_str("t.route", text).unwrap().program;
    let old = load(
        "message Card { card: string }\n\
         listener l { rule a when type == Card and card == \"one\" => queue x\n otherwise => drop }",
    );
    let new = load(
        "message Card { card: int }\n\
         listener l { rule a when type == Card and card == 1 => queue x\n otherwise => drop }",
    );
    let d = diff(&old, &new);
    let changes = &d.listeners[0].changes;
    // Old messages with a string card cannot reach the new table: the one
    // class is the new rule's, of int cards.
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0].witness.content["card"], Value::Int(1));
    assert_eq!(changes[0].kind, ChangeKind::Actions);
    assert!(changes[0].exact);
}

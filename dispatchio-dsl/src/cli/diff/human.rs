//! `diff --format human`: each change drawn like a diagnostic (check's
//! renderer), on an excerpt of the new file at the rule that decides it
//! now, with the old file's deciding rule as a related excerpt. Nothing at
//! all when nothing changes.

use std::io::Write;

use super::json::{change_message, listener_message, outcome_text};
use super::{Compared, Names};
use crate::analysis::{Change, End, ListenerDiff, Presence};
use crate::cli::human::{HumanDiagnostic, handler, plural, render};
use crate::diagnostic::{Label, Span};

pub(super) fn write(
    out: &mut dyn Write,
    compared: &[Compared],
    names: &Names,
    color: bool,
) -> std::io::Result<()> {
    let handler = handler(color);
    // Listeners changed (on both sides), added, removed; changes in the first.
    let (mut listeners, mut changes) = ([0; 3], 0);
    for c in compared {
        for l in &c.diff.listeners {
            listeners[match l.presence {
                Presence::Both => 0,
                Presence::Added => 1,
                Presence::Removed => 2,
            }] += 1;
            let mut reports = Vec::new();
            if let Some(message) = listener_message(l) {
                let (heading, severity) = match l.presence {
                    Presence::Added => ("listener-added", miette::Severity::Advice),
                    Presence::Removed => ("listener-removed", miette::Severity::Advice),
                    Presence::Both => ("undecided", miette::Severity::Warning),
                };
                let show = |p: &std::path::Path| names.show(p);
                let sources: (_, &dyn Fn(&std::path::Path) -> String) =
                    (c.sources(l.presence != Presence::Removed), &show);
                let at = Label::new(l.span, "");
                let heading = Some(format!("change[{heading}]"));
                reports.push((
                    message.clone(),
                    HumanDiagnostic::drawn(message, heading, severity, None, sources, &[&at]),
                ));
            }
            for ch in &l.changes {
                changes += 1;
                reports.push((change_message(l, ch), change_report(c, l, ch, names)));
            }
            for (message, r) in reports {
                let text = render(&handler, &r).unwrap_or(message);
                writeln!(out, "{text}")?;
            }
        }
    }
    let [changed, added, removed] = listeners;
    let mut parts = Vec::new();
    if changed > 0 {
        parts.push(format!(
            "{changes} change{} in {changed} listener{}",
            plural(changes),
            plural(changed)
        ));
    }
    for (n, what) in [(added, "added"), (removed, "removed")] {
        if n > 0 {
            parts.push(format!("{n} listener{} {what}", plural(n)));
        }
    }
    if !parts.is_empty() {
        writeln!(
            out,
            "compared {} file{}: {}",
            compared.len(),
            plural(compared.len()),
            parts.join(", ")
        )?;
    }
    Ok(())
}

fn change_report(c: &Compared, l: &ListenerDiff, ch: &Change, names: &Names) -> HumanDiagnostic {
    let show = |p: &std::path::Path| names.show(p);
    let mut help =
        vec![format!("witness: {}", ch.witness), format!("class: {}", ch.class.join("; "))];
    if !ch.exact {
        help.push("note: this change is approximate (untyped content)".to_owned());
    }
    let at = |end: &End, fallback: Span, what: String| match end {
        End::Rule { span, .. } | End::Otherwise { span } => Label::new(*span, what),
        End::Unrouted => Label::new(fallback, format!("{what}: no rule stops it")),
    };
    let now = at(&ch.new.end, l.span, format!("now: {}", outcome_text(&ch.new)));
    let old_listener = c.programs[0].listener(&l.name).map_or(l.span, |o| o.name_span);
    let before = at(&ch.old.end, old_listener, format!("before: {}", outcome_text(&ch.old)));
    HumanDiagnostic::drawn(
        change_message(l, ch),
        Some(format!("change[{}]", ch.kind.as_str())),
        miette::Severity::Advice,
        Some(help.join("\n")),
        (c.sources(true), &show),
        &[&now],
    )
    .with_related(HumanDiagnostic::related(
        before.message.clone(),
        (c.sources(false), &show),
        &before,
    ))
}

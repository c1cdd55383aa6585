//! The facts the checker records in a [`Program`](crate::Program) for later stages, with
//! the checks they rest on: which nested-message fields are boxed (types
//! that contain each other), and how each handler is called (sync or
//! async, never both). Code generation and the interpreter read them and
//! check nothing again, so `dispatchio check` and `include_routes!` refuse
//! the same programs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::diagnostic::{Code, Diagnostic, Label, Span};
use crate::program::{ActionKind, Facts, HandlerKind, ListenerDef, MessageDef, Type};

/// The facts of a program of these items, and the errors that make some of
/// them impossible (a type that contains itself through required fields, a
/// handler called both sync and async).
pub(crate) fn facts(
    messages: &[MessageDef],
    listeners: &[ListenerDef],
) -> (Facts, Vec<Diagnostic>) {
    let mut errors = uninhabited(messages);
    let mut facts = Facts::default();
    let index: HashMap<&str, &MessageDef> = messages.iter().map(|m| (m.name.as_str(), m)).collect();
    for m in messages {
        for f in &m.fields {
            if let Some((n, _)) = nested_message(&f.ty) {
                if n == m.name || nested_reaches(&index, n, &m.name, false) {
                    facts.boxed.insert((m.name.clone(), f.name.clone()));
                }
            }
        }
    }
    for l in listeners {
        handler_kinds(l, &mut facts, &mut errors);
    }
    (facts, errors)
}

/// Records how `l` calls each handler, refusing a handler called both with
/// and without `async` (one trait method cannot be both).
fn handler_kinds(l: &ListenerDef, facts: &mut Facts, errors: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<&str, (bool, Span)> = BTreeMap::new();
    let all =
        l.rules.iter().flat_map(|r| &r.actions).chain(l.otherwise.iter().flat_map(|o| &o.actions));
    for a in all {
        let ActionKind::Call { handler, is_async } = &a.kind else { continue };
        match seen.get(handler.as_str()) {
            Some(&(was, first)) if was != *is_async => errors.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    format!("handler `{handler}` is called both with and without `async`"),
                    Label::new(a.span, "called this way here"),
                )
                .with_related(Label::new(first, "and the other way here"))
                .with_help(
                    "a handler is either synchronous or asynchronous: use one form, or two handlers",
                )
                .in_listener(l.name.clone(), Vec::new()),
            ),
            Some(_) => {}
            None => {
                seen.insert(handler, (*is_async, a.span));
                let kind = if *is_async { HandlerKind::Async } else { HandlerKind::Sync };
                facts.handlers.insert((l.name.clone(), handler.clone()), kind);
            }
        }
    }
}

/// The message type a field nests directly and whether it may be absent
/// (`T?`); a list (`[T]`) nests nothing, since it may be empty.
pub(crate) fn nested_message(ty: &Type) -> Option<(&str, bool)> {
    match ty {
        Type::Message(n) => Some((n, false)),
        Type::Optional(t) => match &**t {
            Type::Message(n) => Some((n, true)),
            _ => None,
        },
        _ => None,
    }
}

/// Whether message type `to` is reachable from `from` through nested fields
/// (only through fields that are never absent when `required_only`).
pub(crate) fn nested_reaches(
    index: &HashMap<&str, &MessageDef>,
    from: &str,
    to: &str,
    required_only: bool,
) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from];
    while let Some(m) = stack.pop() {
        let Some(def) = index.get(m) else { continue };
        for f in &def.fields {
            let Some((n, optional)) = nested_message(&f.ty) else { continue };
            if required_only && optional {
                continue;
            }
            if n == to {
                return true;
            }
            if seen.insert(n) {
                stack.push(n);
            }
        }
    }
    false
}

/// Message types that contain themselves through fields that are never
/// absent: no finite value of them exists, so no message of the type can be
/// built (and no Rust struct can hold one). Reported by `check`, so the
/// interpreter, `include_routes!` and the command line agree.
pub(crate) fn uninhabited(messages: &[MessageDef]) -> Vec<Diagnostic> {
    let index: HashMap<&str, &MessageDef> = messages.iter().map(|m| (m.name.as_str(), m)).collect();
    messages
        .iter()
        .filter(|m| nested_reaches(&index, &m.name, &m.name, true))
        .map(|m| {
            Diagnostic::new(
                Code::TypeMismatch,
                format!(
                    "message type `{}` contains itself through fields that are never absent",
                    m.name
                ),
                Label::new(m.name_span, "no value of this type can exist"),
            )
            .with_help("make one of the fields on the way optional (`T?`) or a list (`[T]`)")
        })
        .collect()
}

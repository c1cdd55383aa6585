//! The facts the checker records in a [`Program`](crate::Program) for later stages, with
//! the checks they rest on: which nested-message fields are boxed (types
//! that contain each other), how each handler is called (sync or async,
//! never both), and which message types each call of a handler can pass
//! it. Code generation and the interpreter read them and check nothing
//! again, so `dispatchio check` and `include_routes!` refuse the same
//! programs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::diagnostic::{Code, Diagnostic, Label, Span};
use dispatchio_model::Value;

use crate::program::{
    ActionKind, Cond, CondKind, Facts, FieldRef, HandlerCall, HandlerKind, ListenerDef, Lit,
    MessageDef, Reach, Test, Type,
};

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
        handler_calls(l, messages, &mut facts);
    }
    (facts, errors)
}

/// Records, for each handler `l` calls, every call with the message types
/// that can reach it there.
fn handler_calls(l: &ListenerDef, messages: &[MessageDef], facts: &mut Facts) {
    let calls = |actions: &[crate::program::Action]| {
        actions
            .iter()
            .filter_map(|a| match &a.kind {
                ActionKind::Call { handler, .. } => Some(handler.clone()),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    for r in &l.rules {
        for handler in calls(&r.actions) {
            let reach = reach(&r.cond, messages);
            let call = HandlerCall { rule: r.name.clone(), reach };
            facts.calls.entry((l.name.clone(), handler)).or_default().push(call);
        }
    }
    if let Some(o) = &l.otherwise {
        for handler in calls(&o.actions) {
            let call = HandlerCall { rule: "otherwise".to_owned(), reach: Reach::Any };
            facts.calls.entry((l.name.clone(), handler)).or_default().push(call);
        }
    }
}

/// The message types for which `cond` can hold, taking every test that is
/// not on `type` as free to be true or false (so this may admit a type the
/// condition in fact excludes, never the reverse).
fn reach(cond: &Cond, messages: &[MessageDef]) -> Reach {
    let declared = |name: &str| messages.iter().any(|m| m.name == name);
    if can_be(cond, None, true, &declared) {
        return Reach::Any;
    }
    let types = messages
        .iter()
        .filter(|m| can_be(cond, Some(&m.name), true, &declared))
        .map(|m| m.name.clone())
        .collect();
    Reach::Types(types)
}

/// Whether `cond` can evaluate to `want` on a message whose type is `ty`
/// (`None`: some name the program does not declare, not fixed).
fn can_be(cond: &Cond, ty: Option<&str>, want: bool, declared: &dyn Fn(&str) -> bool) -> bool {
    match &cond.kind {
        CondKind::Not(c) => can_be(c, ty, !want, declared),
        CondKind::And(parts) if want => parts.iter().all(|p| can_be(p, ty, true, declared)),
        CondKind::And(parts) => parts.iter().any(|p| can_be(p, ty, false, declared)),
        CondKind::Or(parts) if want => parts.iter().any(|p| can_be(p, ty, true, declared)),
        CondKind::Or(parts) => parts.iter().all(|p| can_be(p, ty, false, declared)),
        CondKind::Pred(p) if p.field != FieldRef::Type => true,
        // The one meaning of a test, on the type name.
        CondKind::Pred(p) => match ty {
            Some(name) => p.test.eval(Some(Value::Str(name)), false) == want,
            None => {
                let undeclared =
                    |lits: &[Lit]| lits.iter().any(|l| !matches!(l, Lit::Str(s) if declared(s)));
                match &p.test {
                    Test::Eq(l) => !want || undeclared(std::slice::from_ref(l)),
                    Test::In(set) => !want || undeclared(set),
                    Test::Ne(l) => want || undeclared(std::slice::from_ref(l)),
                    Test::NotIn(set) => want || undeclared(set),
                    _ => true,
                }
            }
        },
    }
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

//! Names, consts and types: from parsed files to the typed [`Program`].
//!
//! The checker collects every error it finds rather than stopping at the
//! first. It owns:
//!
//! * declarations (`declare`): `duplicate` names (per kind, across the
//!   whole program), unknown type names in message fields, const values,
//!   and the `unused` message types and consts of the root file;
//! * conditions (`conditions`): every field resolved (envelope, declared
//!   content, or `content.…`), every literal fitted to its field's type
//!   (ints widen to float fields), every operator checked against the
//!   field's type;
//! * narrowing (`narrowing`): a bare content field is legal only where the
//!   condition has already narrowed `type` (see [`Checker::narrow`]) to
//!   types that all declare it with one type;
//! * listeners (`listeners`): `continue` last, `drop` alone, one
//!   `otherwise` and last, known forward targets, valid `allow` codes;
//! * the facts later stages read (`facts`): boxed fields, handler kinds.
//!
//! This file holds the entry points (`check`, the skeleton of a refused
//! program, `assemble`), the checker's state and the helpers its parts share.

use std::collections::{BTreeSet, HashMap};

mod conditions;
mod declare;
mod facts;
mod listeners;
mod narrowing;

use narrowing::Narrowed;

use crate::ast::{self, LitKind, Op};
use crate::diagnostic::{Code, Diagnostic, FileId, Label, Severity, SourceMap, Span};
use crate::imports::ParsedFiles;
use crate::program::{ConstDef, FieldRef, ListenerDef, Lit, MessageDef, Program, Skeleton, Type};

/// The envelope fields, present on every message.
const ENVELOPE: [&str; 9] = [
    "type",
    "id",
    "source",
    "dest",
    "group",
    "response_required",
    "is_response",
    "sync",
    "blocking",
];
/// What the checker gives later stages: the program when there is no
/// error, what of it checked when there is, and every diagnostic (errors
/// and `unused` warnings) in any case.
pub(crate) struct Checked {
    /// The program, when no finding is an error.
    pub(crate) program: Option<Program>,
    /// The parts that checked, when some finding is an error (for the stub
    /// after errors).
    pub(crate) skeleton: Option<Skeleton>,
    /// Every finding, ordered by file and position.
    pub(crate) diagnostics: Vec<Diagnostic>,
}

/// Checks loaded files.
///
/// Files that did not load completely (a syntax error, an unreadable import)
/// are still checked for their skeleton, but only the loader's diagnostics
/// are reported: the missing declarations would only cause a cascade of
/// unknown-name errors.
pub(crate) fn check(loaded: ParsedFiles) -> Checked {
    let ParsedFiles { sources, root, files, mut diagnostics, complete } = loaded;
    let mut checker = Checker {
        root,
        diags: Vec::new(),
        messages: Vec::new(),
        message_index: HashMap::new(),
        message_used: Vec::new(),
        consts: Vec::new(),
        const_index: HashMap::new(),
        const_used: Vec::new(),
        listener_index: HashMap::new(),
    };
    let items: Vec<&ast::Item> = files.iter().flat_map(|(_, f)| f.items.iter()).collect();
    checker.declare(&items);
    checker.resolve_fields(&items);
    let consts = checker.resolve_consts(&items);
    let mut listeners = Vec::new();
    for item in &items {
        if let ast::Item::Listener(l) = item {
            listeners.push(checker.listener(l));
        }
    }
    let (facts, errors) = facts::facts(&checker.messages, &listeners);
    checker.diags.extend(errors);
    checker.unused();
    if complete {
        diagnostics.append(&mut checker.diags);
    }
    diagnostics.sort_by_key(|d| (d.primary.span.file, d.primary.span.start, d.primary.span.end));
    if diagnostics.iter().any(Diagnostic::is_error) {
        let skeleton = skeleton(sources, root, checker.messages, consts, listeners);
        return Checked { program: None, skeleton: Some(skeleton), diagnostics };
    }
    let program = Program::checked(sources, root, checker.messages, consts, listeners, facts);
    Checked { program: Some(program), skeleton: None, diagnostics }
}

/// The parts of a refused program that can still become Rust: fields whose
/// type did not resolve are left out, and of two listeners of one name the
/// first is kept (as of messages and consts, which `declare` keeps once).
/// The facts are those of what is left; the errors they find are reported
/// already.
fn skeleton(
    sources: SourceMap,
    root: FileId,
    mut messages: Vec<MessageDef>,
    consts: Vec<ConstDef>,
    mut listeners: Vec<ListenerDef>,
) -> Skeleton {
    fn resolved(ty: &Type) -> bool {
        match ty {
            Type::Any => false,
            Type::List(t) | Type::Optional(t) => resolved(t),
            _ => true,
        }
    }
    for m in &mut messages {
        m.fields.retain(|f| resolved(&f.ty));
    }
    let mut names = BTreeSet::new();
    listeners.retain(|l| names.insert(l.name.clone()));
    let (facts, _) = facts::facts(&messages, &listeners);
    Skeleton::new(Program::checked(sources, root, messages, consts, listeners, facts))
}

/// A program of these items, checked for what the facts rest on, with
/// pseudo sources: how `analysis::generate` builds random tables for tests
/// and benchmarks without writing them out as text. The items must be
/// well-typed (the generator's are by construction); the errors returned
/// are those of [`facts::facts`].
pub(crate) fn assemble(
    sources: SourceMap,
    root: FileId,
    messages: Vec<MessageDef>,
    listeners: Vec<ListenerDef>,
) -> (Program, Vec<Diagnostic>) {
    let (facts, errors) = facts::facts(&messages, &listeners);
    (Program::checked(sources, root, messages, Vec::new(), listeners, facts), errors)
}

/// A resolved const or operand element: a literal or a message type name.
#[derive(Clone, Debug)]
enum Elem {
    Lit(LitKind),
    TypeName(String),
}

/// A resolved operand: one value or a set, each element with the span to blame.
#[derive(Clone, Debug)]
enum Val {
    One(Elem, Span),
    Set(Vec<(Elem, Span)>),
}

struct ConstEntry {
    name: String,
    name_span: Span,
    file: FileId,
    /// `None` until resolved, and where resolution failed.
    value: Option<Val>,
}

struct Checker {
    root: FileId,
    diags: Vec<Diagnostic>,
    messages: Vec<MessageDef>,
    message_index: HashMap<String, usize>,
    message_used: Vec<bool>,
    consts: Vec<ConstEntry>,
    const_index: HashMap<String, usize>,
    const_used: Vec<bool>,
    listener_index: HashMap<String, Span>,
}

impl Checker {
    fn error(&mut self, code: Code, message: impl Into<String>, span: Span, label: &str) {
        self.diags.push(Diagnostic::new(code, message, Label::new(span, label)));
    }

    fn duplicate(&mut self, what: &str, name: &str, span: Span, first: Span) {
        self.diags.push(
            Diagnostic::new(
                Code::Duplicate,
                format!("{what} `{name}` is declared twice"),
                Label::new(span, "declared again here"),
            )
            .with_related(Label::new(first, "first declared here")),
        );
    }
}

fn elem_lit(e: &Elem) -> Lit {
    match e {
        Elem::Lit(l) => lit_of(l),
        Elem::TypeName(n) => Lit::Str(n.clone().into()),
    }
}

fn elem_type_name(e: &Elem) -> Option<String> {
    match e {
        Elem::TypeName(n) | Elem::Lit(LitKind::Str(n)) => Some(n.clone()),
        Elem::Lit(_) => None,
    }
}

fn lit_of(l: &LitKind) -> Lit {
    match l {
        LitKind::Bool(b) => Lit::Bool(*b),
        LitKind::Int(i) => Lit::Int(*i),
        LitKind::Float(x) => Lit::Float(*x),
        LitKind::Str(s) => Lit::Str(s.clone().into()),
    }
}

fn elem_desc(e: &Elem) -> String {
    match e {
        Elem::TypeName(n) => format!("the message type `{n}`"),
        Elem::Lit(LitKind::Bool(b)) => format!("the bool `{b}`"),
        Elem::Lit(LitKind::Int(i)) => format!("the int `{i}`"),
        Elem::Lit(LitKind::Float(x)) => format!("the float `{x:?}`"),
        Elem::Lit(LitKind::Str(s)) => format!("the string `{s:?}`"),
    }
}

/// The field's type as users think of it, quoted (`type` holds a type name).
fn shown(field: &FieldRef) -> String {
    match field {
        FieldRef::Type => "a type name".to_owned(),
        other => format!("`{}`", other.ty()),
    }
}

fn op_help(op: Op) -> &'static str {
    match op {
        Op::Eq | Op::Ne => "lists and nested messages have no literals; use `contains` on lists",
        Op::Lt | Op::Le | Op::Gt | Op::Ge => "`<`, `<=`, `>`, `>=` apply to int and float fields",
        Op::In | Op::NotIn => "`in` and `not in` apply to int, string, id fields and `type`",
        Op::Matches | Op::StartsWith | Op::EndsWith => {
            "`matches`, `starts_with` and `ends_with` apply to string and id fields"
        }
        Op::Contains => "`contains` applies to strings, ids (substring) and lists (element)",
    }
}

fn warning_codes_help() -> String {
    let codes: Vec<&str> = Code::ALL
        .into_iter()
        .filter(|c| c.severity() == Severity::Warning)
        .map(Code::as_str)
        .collect();
    format!("only warnings can be allowed: {}", codes.join(", "))
}

/// `a`, `a and b`, `a, b and c`.
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Checks a `matches` pattern: every `[` class is closed and not empty.
fn check_glob(pattern: &str) -> Result<(), String> {
    let mut rest = pattern;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let Some(close) = after.find(']') else {
            return Err("`[` without a closing `]`".to_owned());
        };
        if close == 0 {
            return Err("empty character class `[]`".to_owned());
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// The declared name closest to a misspelt one,
/// when one is close enough to be a likely typo (an edit, or a swap of two
/// neighbours, for every three characters, at least one).
pub(crate) fn did_you_mean<'a>(
    name: &str,
    declared: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    declared
        .filter(|d| *d != name)
        .map(|d| (strsim::osa_distance(name, d), d))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, d)| d)
}

/// The help line of [`did_you_mean`].
fn suggestion(near: &str) -> String {
    format!("did you mean `{near}`?")
}

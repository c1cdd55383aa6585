//! Names, consts and types: from parsed files to the typed [`Program`].
//!
//! The checker collects every error it finds rather than stopping at the
//! first. It owns:
//!
//! * declarations: `duplicate` names (per kind, across the whole program),
//!   unknown type names in message fields, const values;
//! * conditions: every field resolved (envelope, declared content, or
//!   `content.…`), every literal fitted to its field's type (ints widen to
//!   float fields), every operator checked against the field's type;
//! * narrowing: a bare content field is legal only where the condition has
//!   already narrowed `type` (see [`Checker::narrow`]) to types that all
//!   declare it with one type;
//! * actions: `continue` last, `drop` alone, one `otherwise` and last, known
//!   forward targets, valid `allow` codes;
//! * `unused` message types and consts of the root file.

use std::collections::{BTreeSet, HashMap};

mod facts;

use dispatchio_model::Glob;

use crate::ast::{self, ExprKind, LitKind, Op, Operand, TypeExprKind};
use crate::diagnostic::{Code, Diagnostic, FileId, Label, Severity, SourceMap, Span};
use crate::load::Loaded;
use crate::program::{
    Action, ActionKind, Cond, CondKind, ConstDef, ConstValue, FieldDef, FieldRef, ListenerDef, Lit,
    MessageDef, Otherwise, Pred, Program, RuleDef, Test, Type,
};

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

/// The set of type names a message can have at some point of a condition.
///
/// A positive fact (`type == A`, `type in {A, B}`) gives a finite set, a
/// negative one (`type != A`, `type not in {…}`) a co-finite one: "any name
/// but these", undeclared names included. Both kinds are needed so that a
/// negative fact can be subtracted from a positive set (`type in {A, B} and
/// type != B` leaves `A`), and a co-finite set is never narrow enough for a
/// content field, since the message may then be of a type the program does
/// not declare.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Narrowed {
    /// One of exactly these names.
    Only(BTreeSet<String>),
    /// Any name but these (`Except` of nothing: not narrowed at all).
    Except(BTreeSet<String>),
}

impl Narrowed {
    /// Any type name, declared or not.
    fn any() -> Narrowed {
        Narrowed::Except(BTreeSet::new())
    }

    /// The names in both.
    fn meet(self, other: Narrowed) -> Narrowed {
        use Narrowed::*;
        match (self, other) {
            (Only(a), Only(b)) => Only(&a & &b),
            (Only(a), Except(b)) | (Except(b), Only(a)) => Only(&a - &b),
            (Except(a), Except(b)) => Except(&a | &b),
        }
    }

    /// The names in either.
    fn join(self, other: Narrowed) -> Narrowed {
        use Narrowed::*;
        match (self, other) {
            (Only(a), Only(b)) => Only(&a | &b),
            (Only(a), Except(b)) | (Except(b), Only(a)) => Except(&b - &a),
            (Except(a), Except(b)) => Except(&a & &b),
        }
    }
}

/// Checks loaded files. Returns the program when there is no error, and every
/// diagnostic (errors and `unused` warnings) in any case.
pub(crate) fn check(loaded: Loaded) -> (Option<Program>, Vec<Diagnostic>) {
    let Loaded { sources, root, files, mut diagnostics, complete } = loaded;
    if !complete {
        return (None, diagnostics);
    }
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
    diagnostics.append(&mut checker.diags);
    diagnostics.sort_by_key(|d| (d.primary.span.file, d.primary.span.start, d.primary.span.end));
    if diagnostics.iter().any(Diagnostic::is_error) {
        return (None, diagnostics);
    }
    let program = Program::checked(sources, root, checker.messages, consts, listeners, facts);
    (Some(program), diagnostics)
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

    // ------------------------------------------------------------ declarations

    /// Registers every message, const and listener name, reporting duplicates.
    fn declare(&mut self, items: &[&ast::Item]) {
        for item in items {
            match item {
                ast::Item::Message(m) => {
                    if let Some(&i) = self.message_index.get(&m.name.name) {
                        let first = self.messages[i].name_span;
                        self.duplicate("message type", &m.name.name, m.name.span, first);
                        continue;
                    }
                    self.message_index.insert(m.name.name.clone(), self.messages.len());
                    self.messages.push(MessageDef {
                        name: m.name.name.clone(),
                        span: m.span,
                        name_span: m.name.span,
                        fields: Vec::new(),
                    });
                    self.message_used.push(false);
                }
                ast::Item::Const(c) => {
                    if let Some(&i) = self.const_index.get(&c.name.name) {
                        let first = self.consts[i].name_span;
                        self.duplicate("const", &c.name.name, c.name.span, first);
                        continue;
                    }
                    self.const_index.insert(c.name.name.clone(), self.consts.len());
                    self.consts.push(ConstEntry {
                        name: c.name.name.clone(),
                        name_span: c.name.span,
                        file: c.span.file,
                        value: None,
                    });
                    self.const_used.push(false);
                }
                ast::Item::Listener(l) => {
                    if let Some(&first) = self.listener_index.get(&l.name.name) {
                        self.duplicate("listener", &l.name.name, l.name.span, first);
                        continue;
                    }
                    self.listener_index.insert(l.name.name.clone(), l.name.span);
                }
                ast::Item::Import(_) => {}
            }
        }
    }

    /// Resolves every message's field types.
    fn resolve_fields(&mut self, items: &[&ast::Item]) {
        for item in items {
            let ast::Item::Message(m) = item else { continue };
            let Some(&index) = self.message_index.get(&m.name.name) else { continue };
            if self.messages[index].span != m.span {
                continue; // a duplicate declaration, already reported
            }
            let mut fields: Vec<FieldDef> = Vec::new();
            for f in &m.fields {
                if let Some(first) = fields.iter().find(|d| d.name == f.name.name) {
                    let first = first.span;
                    self.duplicate("field", &f.name.name, f.name.span, first);
                    continue;
                }
                if ENVELOPE.contains(&f.name.name.as_str()) {
                    self.diags.push(
                        Diagnostic::new(
                            Code::Duplicate,
                            format!(
                                "field `{}` has the name of an envelope field",
                                f.name.name
                            ),
                            Label::new(f.name.span, "also an envelope field"),
                        )
                        .with_help(format!(
                            "`{}` in a condition always means the envelope field; rename the content field",
                            f.name.name
                        )),
                    );
                    continue;
                }
                let ty = self.field_type(&f.ty, &m.name.name);
                fields.push(FieldDef { name: f.name.name.clone(), ty, span: f.span });
            }
            self.messages[index].fields = fields;
        }
    }

    fn field_type(&mut self, ty: &ast::TypeExpr, owner: &str) -> Type {
        match &ty.kind {
            TypeExprKind::Optional(inner) => {
                Type::Optional(Box::new(self.field_type(inner, owner)))
            }
            TypeExprKind::List(inner) => Type::List(Box::new(self.field_type(inner, owner))),
            TypeExprKind::Named(name) => match name.as_str() {
                "bool" => Type::Bool,
                "int" => Type::Int,
                "float" => Type::Float,
                "string" => Type::Str,
                "id" => Type::Id,
                _ => match self.message_index.get(name) {
                    Some(&i) => {
                        // A message nested in another counts as used, except by itself.
                        if name != owner {
                            self.message_used[i] = true;
                        }
                        Type::Message(name.clone())
                    }
                    None => {
                        let near =
                            did_you_mean(name, self.message_index.keys().map(String::as_str))
                                .map(|n| suggestion(n) + " ");
                        self.diags.push(
                            Diagnostic::new(
                                Code::UnknownName,
                                format!("unknown type `{name}`"),
                                Label::new(ty.span, "not a declared type"),
                            )
                            .with_help(format!(
                                "{}field types are bool, int, float, string, id, [T], T? or a declared message type",
                                near.unwrap_or_default()
                            )),
                        );
                        Type::Any
                    }
                },
            },
        }
    }

    /// Resolves const values in declaration order: a const's set may name
    /// message types and earlier single-literal consts.
    fn resolve_consts(&mut self, items: &[&ast::Item]) -> Vec<ConstDef> {
        let mut defs = Vec::new();
        for item in items {
            let ast::Item::Const(c) = item else { continue };
            let Some(&index) = self.const_index.get(&c.name.name) else { continue };
            if self.consts[index].name_span != c.name.span {
                continue; // a duplicate declaration, already reported
            }
            let value = match &c.value {
                Operand::Set(set) => {
                    let mut elems = Vec::new();
                    let mut ok = true;
                    for e in &set.elems {
                        match self.elem(e, true) {
                            Some(el) => elems.push(el),
                            None => ok = false,
                        }
                    }
                    ok.then_some(Val::Set(elems))
                }
                other => self.elem(other, true).map(|(e, s)| Val::One(e, s)),
            };
            if let Some(v) = &value {
                let program_value = match v {
                    Val::One(e, _) => ConstValue::Lit(elem_lit(e)),
                    Val::Set(items) => {
                        ConstValue::Set(items.iter().map(|(e, _)| elem_lit(e)).collect())
                    }
                };
                defs.push(ConstDef {
                    name: c.name.name.clone(),
                    value: program_value,
                    span: c.span,
                });
            }
            self.consts[index].value = value;
        }
        defs
    }

    /// Resolves one literal or name (not a set). Names are message types
    /// (when `type_names`) or single-literal consts.
    fn elem(&mut self, operand: &Operand, type_names: bool) -> Option<(Elem, Span)> {
        match operand {
            Operand::Lit(l) => Some((Elem::Lit(l.kind.clone()), l.span)),
            Operand::Set(s) => {
                self.error(
                    Code::TypeMismatch,
                    "sets cannot contain sets",
                    s.span,
                    "a set inside a set",
                );
                None
            }
            Operand::Name(name) => {
                let message = self.message_index.get(&name.name).copied();
                if let (true, Some(i)) = (type_names, message) {
                    self.message_used[i] = true;
                    return Some((Elem::TypeName(name.name.clone()), name.span));
                }
                match self.use_const(name)? {
                    Val::One(e, _) => Some((e, name.span)),
                    Val::Set(_) => {
                        self.error(
                            Code::TypeMismatch,
                            format!("const `{}` is a set; sets cannot contain sets", name.name),
                            name.span,
                            "a set",
                        );
                        None
                    }
                }
            }
        }
    }

    /// The value of const `name`, marking it used; an error if there is none.
    fn use_const(&mut self, name: &ast::Ident) -> Option<Val> {
        let Some(&i) = self.const_index.get(&name.name) else {
            let mut d = Diagnostic::new(
                Code::UnknownName,
                format!("unknown const `{}`", name.name),
                Label::new(name.span, "not declared"),
            );
            if self.message_index.contains_key(&name.name) {
                d = d.with_help(format!(
                    "`{}` is a message type; message types compare only with `type`",
                    name.name
                ));
            } else if let Some(near) =
                did_you_mean(&name.name, self.const_index.keys().map(String::as_str))
            {
                d = d.with_help(suggestion(near));
            }
            self.diags.push(d);
            return None;
        };
        self.const_used[i] = true;
        // A const used before its own value was resolved (a const set naming
        // a later const): its value is unknown here.
        match &self.consts[i].value {
            Some(Val::One(e, _)) => Some(Val::One(e.clone(), name.span)),
            Some(Val::Set(items)) => {
                Some(Val::Set(items.iter().map(|(e, _)| (e.clone(), name.span)).collect()))
            }
            None => {
                let decl = self.consts[i].name_span;
                self.diags.push(
                    Diagnostic::new(
                        Code::UnknownName,
                        format!("const `{}` is used before its value is known", name.name),
                        Label::new(name.span, "used here"),
                    )
                    .with_related(Label::new(decl, "declared here"))
                    .with_help("a const's set may only name consts declared before it"),
                );
                None
            }
        }
    }

    /// Resolves an operand for a test on a field (`type_field`: the field is `type`).
    fn operand(&mut self, operand: &Operand, type_field: bool) -> Option<Val> {
        match operand {
            Operand::Lit(l) => Some(Val::One(Elem::Lit(l.kind.clone()), l.span)),
            Operand::Name(name) => {
                let message = self.message_index.get(&name.name).copied();
                if let (true, Some(i)) = (type_field, message) {
                    self.message_used[i] = true;
                    return Some(Val::One(Elem::TypeName(name.name.clone()), name.span));
                }
                if type_field && !self.const_index.contains_key(&name.name) {
                    let mut d = Diagnostic::new(
                        Code::UnknownName,
                        format!("unknown message type `{}`", name.name),
                        Label::new(name.span, "not a declared message type or const"),
                    );
                    if let Some(near) =
                        did_you_mean(&name.name, self.message_index.keys().map(String::as_str))
                    {
                        d = d.with_help(suggestion(near));
                        // The type meant is routed here: no `unused` for it.
                        let i = self.message_index[near];
                        self.message_used[i] = true;
                    }
                    self.diags.push(d);
                    return None;
                }
                self.use_const(name)
            }
            Operand::Set(set) => {
                let mut out = Vec::new();
                let mut ok = true;
                for e in &set.elems {
                    match self.elem(e, type_field) {
                        Some(el) => out.push(el),
                        None => ok = false,
                    }
                }
                ok.then_some(Val::Set(out))
            }
        }
    }

    // ------------------------------------------------------------ listeners

    fn listener(&mut self, l: &ast::Listener) -> ListenerDef {
        let mut rules: Vec<RuleDef> = Vec::new();
        let mut otherwise: Option<Otherwise> = None;
        let mut names: HashMap<&str, Span> = HashMap::new();
        for clause in &l.clauses {
            match clause {
                ast::Clause::Rule(r) => {
                    if let Some(o) = &otherwise {
                        self.diags.push(
                            Diagnostic::new(
                                Code::Syntax,
                                "`otherwise` must come after every rule",
                                Label::new(o.span, "`otherwise` before a rule"),
                            )
                            .with_related(Label::new(r.name.span, "this rule follows it")),
                        );
                    }
                    if let Some(&first) = names.get(r.name.name.as_str()) {
                        self.duplicate("rule", &r.name.name, r.name.span, first);
                    } else {
                        names.insert(&r.name.name, r.name.span);
                    }
                    let start = self.diags.len();
                    rules.push(self.rule(r));
                    self.attach(start, &l.name.name, Some(&r.name.name));
                }
                ast::Clause::Otherwise(o) => {
                    if let Some(first) = &otherwise {
                        self.diags.push(
                            Diagnostic::new(
                                Code::Syntax,
                                "a listener has at most one `otherwise`",
                                Label::new(o.span, "second `otherwise`"),
                            )
                            .with_related(Label::new(first.span, "first `otherwise`")),
                        );
                        continue;
                    }
                    let start = self.diags.len();
                    let actions = self.actions(&o.actions, false);
                    self.attach(start, &l.name.name, None);
                    otherwise = Some(Otherwise { span: o.span, actions });
                }
            }
        }
        ListenerDef {
            name: l.name.name.clone(),
            span: l.span,
            name_span: l.name.span,
            rules,
            otherwise,
        }
    }

    /// Marks the diagnostics from `start` on as being about `listener` (and `rule`).
    fn attach(&mut self, start: usize, listener: &str, rule: Option<&str>) {
        for d in &mut self.diags[start..] {
            if d.listener.is_none() {
                d.listener = Some(listener.to_owned());
                d.rules = rule.map(|r| vec![r.to_owned()]).unwrap_or_default();
            }
        }
    }

    fn rule(&mut self, r: &ast::Rule) -> RuleDef {
        let mut allow = Vec::new();
        for code in &r.allow {
            match Code::from_name(&code.name) {
                Some(c) if c.severity() == Severity::Warning => allow.push(c),
                Some(c) => self.diags.push(
                    Diagnostic::new(
                        Code::Syntax,
                        format!("`{c}` is an error and cannot be allowed"),
                        Label::new(code.span, "an error code"),
                    )
                    .with_help(warning_codes_help()),
                ),
                None => self.diags.push(
                    Diagnostic::new(
                        Code::UnknownName,
                        format!("unknown finding code `{}`", code.name),
                        Label::new(code.span, "not a finding code"),
                    )
                    .with_help(warning_codes_help()),
                ),
            }
        }
        let cond = self.cond(&r.cond, &Narrowed::any());
        let actions = self.actions(&r.actions, true);
        RuleDef {
            name: r.name.name.clone(),
            span: r.span,
            name_span: r.name.span,
            allow,
            cond,
            actions,
        }
    }

    fn actions(&mut self, actions: &[ast::Action], may_continue: bool) -> Vec<Action> {
        let mut out = Vec::new();
        let count = actions.len();
        for (i, a) in actions.iter().enumerate() {
            let kind = match &a.kind {
                ast::ActionKind::Call { handler, is_async } => {
                    ActionKind::Call { handler: handler.name.clone(), is_async: *is_async }
                }
                ast::ActionKind::Queue(q) => ActionKind::Queue(q.name.clone()),
                ast::ActionKind::Forward(target) => {
                    if !self.listener_index.contains_key(&target.name) {
                        let mut d = Diagnostic::new(
                            Code::UnknownName,
                            format!("unknown listener `{}`", target.name),
                            Label::new(target.span, "no listener of that name"),
                        );
                        if let Some(near) = did_you_mean(
                            &target.name,
                            self.listener_index.keys().map(String::as_str),
                        ) {
                            d = d.with_help(suggestion(near));
                        }
                        self.diags.push(d);
                    }
                    ActionKind::Forward(target.name.clone())
                }
                ast::ActionKind::Drop => {
                    if count > 1 {
                        self.error(
                            Code::Syntax,
                            "`drop` cannot be combined with other actions",
                            a.span,
                            "`drop` must be the only action",
                        );
                    }
                    ActionKind::Drop
                }
                ast::ActionKind::Continue => {
                    if !may_continue {
                        self.error(
                            Code::Syntax,
                            "`otherwise` cannot `continue`: nothing comes after it",
                            a.span,
                            "not allowed in `otherwise`",
                        );
                    } else if i + 1 != count {
                        self.error(
                            Code::Syntax,
                            "`continue` must be the last action",
                            a.span,
                            "actions follow it",
                        );
                    }
                    ActionKind::Continue
                }
            };
            out.push(Action { kind, span: a.span });
        }
        out
    }

    // ------------------------------------------------------------ conditions

    /// Type-checks a condition in the narrowing context `ctx`.
    fn cond(&mut self, e: &ast::Expr, ctx: &Narrowed) -> Cond {
        let kind = match &e.kind {
            ExprKind::Or(parts) => {
                // `a or b`: `b` is only reached where `a` is false.
                let mut here = ctx.clone();
                let mut out = Vec::new();
                for p in parts {
                    out.push(self.cond(p, &here));
                    here = here.meet(self.narrow(p, false));
                }
                CondKind::Or(out)
            }
            ExprKind::And(parts) => {
                // `a and b`: `b` is only reached where `a` is true.
                let mut here = ctx.clone();
                let mut out = Vec::new();
                for p in parts {
                    out.push(self.cond(p, &here));
                    here = here.meet(self.narrow(p, true));
                }
                CondKind::And(out)
            }
            ExprKind::Not(inner) => CondKind::Not(Box::new(self.cond(inner, ctx))),
            ExprKind::Exists(path) => match self.field(path, ctx) {
                Some(field) => {
                    self.check_exists(&field, path, ctx);
                    CondKind::Pred(Pred { field, test: Test::Exists })
                }
                None => CondKind::And(Vec::new()),
            },
            ExprKind::Pred(p) => match self.pred(p, ctx) {
                Some(pred) => CondKind::Pred(pred),
                None => CondKind::And(Vec::new()),
            },
        };
        Cond { kind, span: e.span }
    }

    /// The types a message can have where `e` evaluates to `positive`.
    ///
    /// Only tests on `type` narrow (`==`, `!=`, `in`, `not in`), combined
    /// through `and`, `or` and `not`; any other test leaves the type open.
    /// Where a test on `type` is false, the message has one of the other
    /// names: the failure of `type == A` is `type != A`.
    ///
    /// This is exact if every other test is taken as free to be true or
    /// false: `a and b` can be true for a type exactly when `a` can and `b`
    /// can, and `a or b` exactly when `a` can or `b` can (where `a` cannot
    /// be true, it is false and `b` decides).
    fn narrow(&self, e: &ast::Expr, positive: bool) -> Narrowed {
        match &e.kind {
            ExprKind::Not(inner) => self.narrow(inner, !positive),
            ExprKind::And(parts) | ExprKind::Or(parts) => {
                let is_and = matches!(e.kind, ExprKind::And(_));
                // `and` when true, and `or` when false, need every part: meet.
                let sets = parts.iter().map(|p| self.narrow(p, positive));
                if is_and == positive {
                    sets.fold(Narrowed::any(), Narrowed::meet)
                } else {
                    sets.reduce(Narrowed::join).unwrap_or_else(Narrowed::any)
                }
            }
            ExprKind::Exists(_) => Narrowed::any(),
            ExprKind::Pred(p) => {
                let (Some(test), [seg]) = (&p.test, p.path.segments.as_slice()) else {
                    return Narrowed::any();
                };
                if seg.name != "type" {
                    return Narrowed::any();
                }
                let Some(names) = self.type_names(&test.operand) else {
                    return Narrowed::any();
                };
                let holds_on_names = match test.op {
                    Op::Eq | Op::In => true,
                    Op::Ne | Op::NotIn => false,
                    _ => return Narrowed::any(),
                };
                if holds_on_names == positive {
                    // An unknown name (reported where the test is checked)
                    // counts as every declared type, so that a typo in `type
                    // == Crad` is one error, not also one per content field
                    // the rule reads.
                    let mut all = names.known;
                    if names.unknown {
                        all.extend(self.messages.iter().map(|m| m.name.clone()));
                    }
                    Narrowed::Only(all)
                } else {
                    // …and excludes nothing, for the same reason.
                    Narrowed::Except(names.known)
                }
            }
        }
    }

    /// The type names an operand of a `type` test denotes, without reporting
    /// anything (errors are reported when the test itself is checked).
    fn type_names(&self, operand: &Operand) -> Option<TypeNames> {
        let mut out = TypeNames { known: BTreeSet::new(), unknown: false };
        let mut one = |o: &Operand| -> Option<()> {
            match o {
                Operand::Lit(l) => match &l.kind {
                    LitKind::Str(s) => {
                        out.known.insert(s.clone());
                    }
                    _ => return None,
                },
                Operand::Name(n) if self.message_index.contains_key(&n.name) => {
                    out.known.insert(n.name.clone());
                }
                Operand::Name(n) => {
                    let Some(&i) = self.const_index.get(&n.name) else {
                        out.unknown = true;
                        return Some(());
                    };
                    match self.consts[i].value.as_ref()? {
                        Val::One(e, _) => {
                            out.known.insert(elem_type_name(e)?);
                        }
                        Val::Set(items) => {
                            for (e, _) in items {
                                out.known.insert(elem_type_name(e)?);
                            }
                        }
                    }
                }
                Operand::Set(_) => return None,
            }
            Some(())
        };
        match operand {
            Operand::Set(s) => {
                for e in &s.elems {
                    one(e)?;
                }
            }
            other => one(other)?,
        }
        Some(out)
    }

    /// Resolves a field path where the type is narrowed to `ctx`.
    fn field(&mut self, path: &ast::Path, ctx: &Narrowed) -> Option<FieldRef> {
        let first = path.segments.first()?;
        let envelope = match first.name.as_str() {
            "type" => Some(FieldRef::Type),
            "id" => Some(FieldRef::Id),
            "source" => Some(FieldRef::Source),
            "dest" => Some(FieldRef::Dest),
            "group" => Some(FieldRef::Group),
            "response_required" => Some(FieldRef::ResponseRequired),
            "is_response" => Some(FieldRef::IsResponse),
            "sync" => Some(FieldRef::Sync),
            "blocking" => Some(FieldRef::Blocking),
            _ => None,
        };
        if let Some(field) = envelope {
            if path.segments.len() > 1 {
                self.error(
                    Code::UnknownName,
                    format!("`{}` is an envelope field and has no fields", first.name),
                    path.span,
                    "no such field",
                );
                return None;
            }
            return Some(field);
        }
        let names: Vec<String> = path.segments.iter().map(|s| s.name.clone()).collect();
        if first.name == "content" && names.len() > 1 {
            return Some(FieldRef::Dynamic { path: names[1..].to_vec() });
        }
        let text = path.text();
        let types = match ctx {
            Narrowed::Only(types) => types,
            Narrowed::Except(excluded) => {
                self.not_narrowed(path, &names, excluded);
                return None;
            }
        };
        if types.is_empty() {
            self.error(
                Code::FieldNotNarrowed,
                format!("content field `{text}` is used where no message type is possible"),
                path.span,
                "the tests on `type` before it exclude every type",
            );
            return None;
        }
        let mut found: Vec<(&String, Type)> = Vec::new();
        let mut missing: Vec<(&String, String)> = Vec::new();
        for ty in types {
            match lookup(&self.messages, &self.message_index, ty, &names) {
                Ok(t) => found.push((ty, t)),
                Err(why) => missing.push((ty, why)),
            }
        }
        if found.is_empty() {
            let (_, why) = &missing[0];
            let message = if missing.len() == 1 {
                why.clone()
            } else {
                let all: Vec<String> = missing.iter().map(|(t, _)| format!("`{t}`")).collect();
                format!("none of {} has a field `{text}`", join_and(&all))
            };
            self.error(Code::UnknownName, message, path.span, "unknown field");
            return None;
        }
        if let Some((ty, why)) = missing.first() {
            self.diags.push(
                Diagnostic::new(
                    Code::FieldNotNarrowed,
                    format!("content field `{text}` is used where the message may be a `{ty}`"),
                    Label::new(path.span, why.clone()),
                )
                .with_help(format!(
                    "narrow `type` to types that declare `{text}` before testing it"
                )),
            );
            return None;
        }
        let (first_ty, t0) = &found[0];
        if let Some((other, t1)) = found.iter().find(|(_, t)| t != t0) {
            self.error(
                Code::FieldNotNarrowed,
                format!("content field `{text}` is `{t0}` in `{first_ty}` but `{t1}` in `{other}`"),
                path.span,
                "its type depends on the message type here",
            );
            return None;
        }
        Some(FieldRef::Content { path: names, ty: t0.clone() })
    }

    /// `field-not-narrowed` (or `unknown-name`) for a content field where
    /// the message may be of any type but `excluded`.
    fn not_narrowed(&mut self, path: &ast::Path, names: &[String], excluded: &BTreeSet<String>) {
        let text = path.text();
        let declaring: Vec<String> = self
            .messages
            .iter()
            .filter(|m| lookup(&self.messages, &self.message_index, &m.name, names).is_ok())
            .map(|m| format!("`{}`", m.name))
            .collect();
        if declaring.is_empty() {
            self.diags.push(
                Diagnostic::new(
                    Code::UnknownName,
                    format!("no message type declares a field `{text}`"),
                    Label::new(path.span, "unknown field"),
                )
                .with_help(format!(
                    "envelope fields are {}; `content.{text}` reads undeclared content",
                    ENVELOPE.join(", ")
                )),
            );
        } else {
            // `!=` and `not in` alone leave every other name possible,
            // undeclared ones included.
            let label = if excluded.is_empty() {
                "the message may be of any type here".to_owned()
            } else {
                let but: Vec<String> = excluded.iter().map(|n| format!("`{n}`")).collect();
                format!("the message may be of any type but {} here", join_and(&but))
            };
            self.diags.push(
                Diagnostic::new(
                    Code::FieldNotNarrowed,
                    format!("content field `{text}` is used where `type` is not narrowed"),
                    Label::new(path.span, label),
                )
                .with_help(format!(
                    "test `type` first, e.g. `type == {} and …`; `{text}` is declared in {}",
                    declaring[0].trim_matches('`'),
                    join_and(&declaring)
                )),
            );
        }
    }

    fn check_exists(&mut self, field: &FieldRef, path: &ast::Path, ctx: &Narrowed) {
        let optional = match field {
            FieldRef::Source | FieldRef::Dest | FieldRef::Group | FieldRef::Dynamic { .. } => true,
            FieldRef::Content { ty, .. } => ty.is_optional() || self.path_may_be_absent(path, ctx),
            _ => false,
        };
        if !optional {
            self.diags.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    format!("`exists` on `{field}`, which is always present"),
                    Label::new(path.span, format!("`{field}` is `{}`", field.ty())),
                )
                .with_help(
                    "`exists` applies to optional fields (`T?`), `source`, `dest`, `group` and `content.…` paths",
                ),
            );
        }
    }

    /// Whether some enclosing segment of a content path (`pos` in `pos.x`)
    /// is optional in one of the types the message can have here.
    fn path_may_be_absent(&self, path: &ast::Path, ctx: &Narrowed) -> bool {
        let Narrowed::Only(types) = ctx else { return false };
        let names: Vec<String> = path.segments.iter().map(|s| s.name.clone()).collect();
        (1..names.len()).any(|n| {
            types.iter().any(|ty| {
                lookup(&self.messages, &self.message_index, ty, &names[..n])
                    .is_ok_and(|t| t.is_optional())
            })
        })
    }

    fn pred(&mut self, p: &ast::PredExpr, ctx: &Narrowed) -> Option<Pred> {
        let field = self.field(&p.path, ctx)?;
        let ty = field.ty();
        let base = ty.required().clone();
        let Some(t) = &p.test else {
            if matches!(base, Type::Bool | Type::Any) && field != FieldRef::Type {
                return Some(Pred { field, test: Test::IsTrue });
            }
            self.diags.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    format!(
                        "`{field}` is {}, not `bool`: it cannot stand alone as a test",
                        shown(&field)
                    ),
                    Label::new(p.path.span, "not a bool"),
                )
                .with_help(format!("compare it, e.g. `{field} == …`")),
            );
            return None;
        };
        let is_type = field == FieldRef::Type;
        let val = self.operand(&t.operand, is_type)?;
        let op = t.op;
        let fits_op = match op {
            Op::Eq | Op::Ne => !matches!(base, Type::List(_) | Type::Message(_)),
            Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                matches!(base, Type::Int | Type::Float | Type::Any) && !is_type
            }
            Op::In | Op::NotIn => {
                matches!(base, Type::Int | Type::Str | Type::Id | Type::Any) || is_type
            }
            Op::Matches | Op::StartsWith | Op::EndsWith => {
                matches!(base, Type::Str | Type::Id | Type::Any)
            }
            Op::Contains => {
                !matches!(base, Type::Bool | Type::Int | Type::Float | Type::Message(_))
            }
        };
        if !fits_op {
            self.diags.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    format!(
                        "`{}` does not apply to `{field}`, which is {}",
                        op.as_str(),
                        shown(&field)
                    ),
                    Label::new(t.op_span, format!("not for {}", shown(&field))),
                )
                .with_help(op_help(op)),
            );
            return None;
        }
        let test = match op {
            Op::In | Op::NotIn => {
                let Val::Set(items) = val else {
                    self.error(
                        Code::TypeMismatch,
                        format!("`{}` needs a set `{{…}}`", op.as_str()),
                        t.operand.span(),
                        "a single value",
                    );
                    return None;
                };
                let mut lits = Vec::new();
                let mut failed_at: Option<Span> = None;
                for (e, span) in &items {
                    // Elements of a const share the const's span: report one.
                    if failed_at == Some(*span) {
                        lits.push(None);
                        continue;
                    }
                    let lit = self.fit(e, *span, &field, &base, true);
                    if lit.is_none() {
                        failed_at = Some(*span);
                    }
                    lits.push(lit);
                }
                let lits: Option<Vec<Lit>> = lits.into_iter().collect();
                let lits = lits?;
                if op == Op::In { Test::In(lits) } else { Test::NotIn(lits) }
            }
            _ => {
                let Val::One(e, span) = val else {
                    self.error(
                        Code::TypeMismatch,
                        format!("`{}` compares with one value, not a set", op.as_str()),
                        t.operand.span(),
                        "a set",
                    );
                    return None;
                };
                match op {
                    Op::Matches | Op::StartsWith | Op::EndsWith => {
                        let Elem::Lit(LitKind::Str(s)) = e else {
                            self.error(
                                Code::TypeMismatch,
                                format!("`{}` needs a string", op.as_str()),
                                span,
                                "not a string",
                            );
                            return None;
                        };
                        if op == Op::Matches {
                            if let Err(why) = check_glob(&s) {
                                self.error(
                                    Code::Syntax,
                                    format!("invalid pattern: {why}"),
                                    span,
                                    "here",
                                );
                                return None;
                            }
                        }
                        match op {
                            Op::Matches => Test::Matches(Glob::new(&s)),
                            Op::StartsWith => Test::StartsWith(s.into()),
                            _ => Test::EndsWith(s.into()),
                        }
                    }
                    Op::Contains => {
                        let lit = match &base {
                            Type::List(elem) => {
                                self.fit(&e, span, &field, elem.required(), false)?
                            }
                            Type::Any => self.fit(&e, span, &field, &Type::Any, false)?,
                            _ => match e {
                                Elem::Lit(LitKind::Str(s)) => Lit::Str(s.into()),
                                _ => {
                                    self.error(
                                        Code::TypeMismatch,
                                        format!("`contains` on `{field}` needs a string"),
                                        span,
                                        "not a string",
                                    );
                                    return None;
                                }
                            },
                        };
                        Test::Contains(lit)
                    }
                    Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                        if base == Type::Any
                            && !matches!(e, Elem::Lit(LitKind::Int(_) | LitKind::Float(_)))
                        {
                            self.error(
                                Code::TypeMismatch,
                                format!("`{}` compares with a number", op.as_str()),
                                span,
                                "not a number",
                            );
                            return None;
                        }
                        let lit = self.fit(&e, span, &field, &base, false)?;
                        match op {
                            Op::Lt => Test::Lt(lit),
                            Op::Le => Test::Le(lit),
                            Op::Gt => Test::Gt(lit),
                            _ => Test::Ge(lit),
                        }
                    }
                    _ => {
                        let lit = self.fit(&e, span, &field, &base, false)?;
                        if op == Op::Eq { Test::Eq(lit) } else { Test::Ne(lit) }
                    }
                }
            }
        };
        Some(Pred { field, test })
    }

    /// Fits one value to a field of (required) type `ty`: ints widen to
    /// floats, `type` takes message names and strings, `id` ints and strings.
    fn fit(
        &mut self,
        e: &Elem,
        span: Span,
        field: &FieldRef,
        ty: &Type,
        in_set: bool,
    ) -> Option<Lit> {
        let lit = match (field, ty, e) {
            (FieldRef::Type, _, Elem::TypeName(n)) => Some(Lit::Str(n.clone().into())),
            (FieldRef::Type, _, Elem::Lit(LitKind::Str(s))) => {
                // `type == "Card"` routes the declared `Card` as surely as
                // `type == Card` does: the type is used.
                if let Some(&i) = self.message_index.get(s) {
                    self.message_used[i] = true;
                }
                Some(Lit::Str(s.clone().into()))
            }
            (FieldRef::Type, ..) => None,
            (_, _, Elem::TypeName(_)) => None,
            (_, Type::Any, Elem::Lit(l)) => Some(lit_of(l)),
            (_, Type::Bool, Elem::Lit(LitKind::Bool(b))) => Some(Lit::Bool(*b)),
            (_, Type::Int, Elem::Lit(LitKind::Int(i))) => Some(Lit::Int(*i)),
            (_, Type::Float, Elem::Lit(LitKind::Float(x))) => Some(Lit::Float(*x)),
            // Widening: `x > 1` on a float field means `x > 1.0`.
            #[allow(
                clippy::cast_precision_loss,
                reason = "int literals widen to f64 by definition"
            )]
            (_, Type::Float, Elem::Lit(LitKind::Int(i))) => Some(Lit::Float(*i as f64)),
            (_, Type::Str, Elem::Lit(LitKind::Str(s))) => Some(Lit::Str(s.clone().into())),
            (_, Type::Id, Elem::Lit(LitKind::Int(i))) => Some(Lit::Int(*i)),
            (_, Type::Id, Elem::Lit(LitKind::Str(s))) => Some(Lit::Str(s.clone().into())),
            _ => None,
        };
        if lit.is_none() {
            let expected = if *field == FieldRef::Type {
                "a message type name or a string".to_owned()
            } else {
                let article =
                    if ty.to_string().starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
                format!("{article} `{ty}`")
            };
            let mut d = Diagnostic::new(
                Code::TypeMismatch,
                format!("`{field}` is compared with {}, but expects {expected}", elem_desc(e)),
                Label::new(span, format!("expected {expected}")),
            );
            if matches!(e, Elem::TypeName(_)) {
                d = d.with_help("message type names compare only with `type`");
            } else if in_set
                && matches!(ty, Type::Int | Type::Str)
                && matches!(e, Elem::Lit(LitKind::Int(_) | LitKind::Str(_)))
            {
                d = d.with_help("only `id` fields (`source`, `dest`, `group`, `id`-typed content) mix ints and strings");
            }
            self.diags.push(d);
        }
        lit
    }

    // ------------------------------------------------------------ unused

    fn unused(&mut self) {
        for (i, m) in self.messages.iter().enumerate() {
            if !self.message_used[i] && m.name_span.file == self.root {
                self.diags.push(
                    Diagnostic::new(
                        Code::Unused,
                        format!("message type `{}` is never used", m.name),
                        Label::new(m.name_span, "declared here"),
                    )
                    .with_help("route it with `type == …` in a listener, or remove it"),
                );
            }
        }
        for (i, c) in self.consts.iter().enumerate() {
            if !self.const_used[i] && c.file == self.root {
                self.diags.push(
                    Diagnostic::new(
                        Code::Unused,
                        format!("const `{}` is never used", c.name),
                        Label::new(c.name_span, "declared here"),
                    )
                    .with_help("use it in a condition, or remove it"),
                );
            }
        }
    }
}

/// The declared type of `path` in message `ty`, or why there is none.
fn lookup(
    messages: &[MessageDef],
    index: &HashMap<String, usize>,
    ty: &str,
    path: &[String],
) -> Result<Type, String> {
    let Some(&i) = index.get(ty) else {
        return Err(format!("`{ty}` is not a declared message type, so it has no fields"));
    };
    let mut msg = &messages[i];
    let mut result = Err(String::new());
    for (n, name) in path.iter().enumerate() {
        let Some(f) = msg.field(name) else {
            return Err(format!("`{}` has no field `{name}`", msg.name));
        };
        if n + 1 == path.len() {
            result = Ok(f.ty.clone());
            break;
        }
        match f.ty.required() {
            Type::Message(inner) => match index.get(inner) {
                Some(&j) => msg = &messages[j],
                None => return Err(format!("`{inner}` is not declared")),
            },
            other => return Err(format!("`{name}` is `{other}` and has no fields")),
        }
    }
    result
}

/// The names a `type` test's operand denotes.
struct TypeNames {
    /// Message type names and string literals.
    known: BTreeSet<String>,
    /// Whether it also names something undeclared (an error, reported elsewhere).
    unknown: bool,
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

/// The declared name closest to a misspelt one,
/// when one is close enough to be a likely typo (an edit, or a swap of two
/// neighbours, for every three characters, at least one).
fn did_you_mean<'a>(name: &str, declared: impl Iterator<Item = &'a str>) -> Option<&'a str> {
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

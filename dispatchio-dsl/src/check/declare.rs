//! Declarations: every message, const and listener name (duplicates),
//! message field types, const values and the operands that use them, and
//! the `unused` warnings of the root file.

use super::{Checker, ConstEntry, ENVELOPE, Elem, Val, did_you_mean, elem_lit, suggestion};
use crate::ast::{self, Operand, TypeExprKind};
use crate::diagnostic::{Code, Diagnostic, Label, Span};
use crate::program::{ConstDef, ConstValue, FieldDef, MessageDef, Type};

impl Checker {
    /// Registers every message, const and listener name, reporting duplicates.
    pub(super) fn declare(&mut self, items: &[&ast::Item]) {
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
    pub(super) fn resolve_fields(&mut self, items: &[&ast::Item]) {
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

    pub(super) fn field_type(&mut self, ty: &ast::TypeExpr, owner: &str) -> Type {
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
    pub(super) fn resolve_consts(&mut self, items: &[&ast::Item]) -> Vec<ConstDef> {
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
    pub(super) fn elem(&mut self, operand: &Operand, type_names: bool) -> Option<(Elem, Span)> {
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
    pub(super) fn use_const(&mut self, name: &ast::Ident) -> Option<Val> {
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
    pub(super) fn operand(&mut self, operand: &Operand, type_field: bool) -> Option<Val> {
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
}

impl Checker {
    pub(super) fn unused(&mut self) {
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

//! Conditions: every field resolved where the condition has narrowed
//! `type`, every literal fitted to its field's type, every operator
//! checked against it.

use std::collections::{BTreeSet, HashMap};

use dispatchio_model::Glob;

use super::{
    Checker, ENVELOPE, Elem, Narrowed, Val, check_glob, elem_desc, join_and, lit_of, op_help, shown,
};
use crate::ast::{self, ExprKind, LitKind, Op};
use crate::diagnostic::{Code, Diagnostic, Label, Span};
use crate::program::{Cond, CondKind, FieldRef, Lit, MessageDef, Pred, Test, Type};

impl Checker {
    /// Type-checks a condition in the narrowing context `ctx`.
    pub(super) fn cond(&mut self, e: &ast::Expr, ctx: &Narrowed) -> Cond {
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

    /// Resolves a field path where the type is narrowed to `ctx`.
    pub(super) fn field(&mut self, path: &ast::Path, ctx: &Narrowed) -> Option<FieldRef> {
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
    pub(super) fn not_narrowed(
        &mut self,
        path: &ast::Path,
        names: &[String],
        excluded: &BTreeSet<String>,
    ) {
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

    pub(super) fn check_exists(&mut self, field: &FieldRef, path: &ast::Path, ctx: &Narrowed) {
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
    pub(super) fn path_may_be_absent(&self, path: &ast::Path, ctx: &Narrowed) -> bool {
        let Narrowed::Only(types) = ctx else { return false };
        let names: Vec<String> = path.segments.iter().map(|s| s.name.clone()).collect();
        (1..names.len()).any(|n| {
            types.iter().any(|ty| {
                lookup(&self.messages, &self.message_index, ty, &names[..n])
                    .is_ok_and(|t| t.is_optional())
            })
        })
    }

    pub(super) fn pred(&mut self, p: &ast::PredExpr, ctx: &Narrowed) -> Option<Pred> {
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
    pub(super) fn fit(
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
}

/// The declared type of `path` in message `ty`, or why there is none.
pub(super) fn lookup(
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

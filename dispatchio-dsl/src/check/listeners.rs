//! Listeners: rules and `otherwise` in order, `allow` codes, actions
//! (`continue` last, `drop` alone, known forward targets).

use std::collections::HashMap;

use super::{Checker, Narrowed, did_you_mean, suggestion, warning_codes_help};
use crate::ast::{self};
use crate::diagnostic::{Code, Diagnostic, Label, Severity, Span};
use crate::program::{Action, ActionKind, ListenerDef, Otherwise, RuleDef};

impl Checker {
    pub(super) fn listener(&mut self, l: &ast::Listener) -> ListenerDef {
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
    pub(super) fn attach(&mut self, start: usize, listener: &str, rule: Option<&str>) {
        for d in &mut self.diags[start..] {
            if d.listener.is_none() {
                d.listener = Some(listener.to_owned());
                d.rules = rule.map(|r| vec![r.to_owned()]).unwrap_or_default();
            }
        }
    }

    pub(super) fn rule(&mut self, r: &ast::Rule) -> RuleDef {
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

    pub(super) fn actions(&mut self, actions: &[ast::Action], may_continue: bool) -> Vec<Action> {
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
}

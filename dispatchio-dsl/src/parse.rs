//! Parsing: `.route` text to the [`ast`](crate::ast), through the pest grammar
//! in `grammar/route.pest`.
//!
//! This module owns the translation of pest's failures into user words: a
//! parse error says what was expected at that place ("a condition", "`=>`"),
//! never a grammar rule's name. Literal values (integers out of range, bad
//! `\u{…}` escapes) are checked while lowering, and reported as `syntax`
//! errors at the literal.
//!
//! Over 600 lines on purpose: one function per rule of the one grammar,
//! and the error wording that refers to those rules; split, a grammar
//! rule's lowering and its error words would sit in different files.

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;

use crate::ast::{
    self, Action, ActionKind, Clause, Expr, ExprKind, FieldDecl, File, Ident, Import, Item,
    Listener, LitKind, Literal, Message, Op, Operand, Otherwise, Path, PredExpr, SetExpr, TestExpr,
    TypeExpr, TypeExprKind,
};
use crate::diagnostic::{Code, Diagnostic, FileId, Label, Span};

mod grammar {
    // pest_derive generates a public, undocumented `Rule` enum; it never
    // leaves this crate.
    #![allow(missing_docs, unreachable_pub)]

    #[derive(pest_derive::Parser)]
    // See the comment at the top of the grammar for why the path leaves the crate.
    #[grammar = "../grammar/route.pest"]
    pub struct RouteParser;
}

use grammar::{RouteParser, Rule};

/// How deep conditions and types may nest. Deeper input is rejected with a
/// `syntax` error rather than risking the stack in the later, recursive stages.
const MAX_DEPTH: u32 = 64;

/// Parses one file. Returns the syntax tree, or every syntax error found
/// (pest stops at the first grammar error; literal errors are all collected).
pub(crate) fn parse_file(file: FileId, text: &str) -> Result<File, Vec<Diagnostic>> {
    let mut pairs = match RouteParser::parse(Rule::file, text) {
        Ok(pairs) => pairs,
        Err(err) => return Err(vec![grammar_error(file, text, &err)]),
    };
    let mut lower = Lower { file, errors: Vec::new() };
    let items = match pairs.next() {
        Some(root) => {
            root.into_inner().filter(|p| p.as_rule() != Rule::EOI).map(|p| lower.item(p)).collect()
        }
        None => Vec::new(),
    };
    if lower.errors.is_empty() { Ok(File { items }) } else { Err(lower.errors) }
}

/// A `syntax` diagnostic for pest's failure: "expected X or Y, found `z`".
fn grammar_error(file: FileId, text: &str, err: &pest::error::Error<Rule>) -> Diagnostic {
    let pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    }
    .min(text.len());
    let found = found_at(text, pos);
    let span = Span::new(file, pos, pos + found.len());
    let found_words =
        if found.is_empty() { "the end of the file".to_owned() } else { format!("`{found}`") };
    let mut wants_name = false;
    let (message, label) = match &err.variant {
        ErrorVariant::ParsingError { .. } if text[pos..].starts_with("/*") => (
            "this block comment is never closed with `*/`".to_owned(),
            "comment starts here".to_owned(),
        ),
        // The string rule fails only on a missing closing quote or a bad escape.
        ErrorVariant::ParsingError { .. } if found == "\"" => {
            (
                "this string is not closed on its line, or has an escape other than \\\" \\\\ \\n \\t \\u{…}"
                    .to_owned(),
                "invalid string".to_owned(),
            )
        }
        ErrorVariant::ParsingError { positives, .. } => {
            wants_name = positives.iter().any(|r| matches!(r, Rule::ident | Rule::keyword));
            let mut expected: Vec<&str> = Vec::new();
            for r in positives {
                let words = describe_rule(*r);
                if !expected.contains(&words) {
                    expected.push(words);
                }
            }
            // A condition starts with a name or `not`, and after a field
            // `not` can only begin `not in`: say the larger thing once.
            const TEST: &str = "a test (`==`, `<`, `in`, `matches`, …)";
            if expected.contains(&"a condition") {
                expected.retain(|w| !matches!(*w, "a name" | "`not`" | "a field" | "`(`"));
            }
            if expected.contains(&TEST) {
                expected.retain(|w| *w != "`not`");
            }
            if expected.is_empty() {
                (format!("unexpected {found_words}"), "not expected here".to_owned())
            } else {
                let list = join_or(&expected);
                (format!("expected {list}, found {found_words}"), format!("expected {list}"))
            }
        }
        // pest's own resource guards ("stack limit reached"): only absurdly
        // nested input gets here.
        ErrorVariant::CustomError { .. } => {
            ("the input is nested too deeply".to_owned(), "too deep from here".to_owned())
        }
    };
    let mut d = Diagnostic::new(Code::Syntax, message, Label::new(span, label));
    if wants_name && is_keyword(found) {
        d = d.with_help(format!("`{found}` is a reserved keyword and cannot be used as a name"));
    }
    d
}

/// The token at `pos`, for "found …": a word, a string start, an operator or one character.
fn found_at(text: &str, pos: usize) -> &str {
    let rest = &text[pos..];
    let Some(first) = rest.chars().next() else {
        return "";
    };
    if first.is_ascii_alphanumeric() || first == '_' {
        let end =
            rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        return &rest[..end];
    }
    for op in ["=>", "==", "!=", "<=", ">="] {
        if rest.starts_with(op) {
            return &rest[..2];
        }
    }
    &rest[..first.len_utf8()]
}

const KEYWORDS: [&str; 25] = [
    "message",
    "allow",
    "const",
    "listener",
    "rule",
    "when",
    "otherwise",
    "import",
    "and",
    "or",
    "not",
    "in",
    "matches",
    "starts_with",
    "ends_with",
    "contains",
    "exists",
    "true",
    "false",
    "call",
    "async",
    "queue",
    "forward",
    "drop",
    "continue",
];

/// Whether `word` is a reserved keyword of the language.
pub(crate) fn is_keyword(word: &str) -> bool {
    KEYWORDS.contains(&word)
}

/// What a grammar rule is called in an error message.
fn describe_rule(r: Rule) -> &'static str {
    match r {
        Rule::EOI => "the end of the file",
        Rule::ident | Rule::keyword => "a name",
        Rule::path => "a field",
        Rule::float | Rule::int => "a number",
        Rule::string => "a string",
        Rule::bool => "`true` or `false`",
        Rule::set => "a set `{…}`",
        Rule::file => "an item",
        Rule::import | Rule::kw_import => "`import`",
        Rule::message | Rule::kw_message => "`message`",
        Rule::const_decl | Rule::kw_const => "`const`",
        Rule::listener | Rule::kw_listener => "`listener`",
        Rule::field_decl => "a field `name: type`",
        Rule::type_expr | Rule::list_type => "a type",
        Rule::optional => "`?`",
        Rule::rule | Rule::kw_rule => "`rule`",
        Rule::allow | Rule::kw_allow => "`allow(…)`",
        Rule::code_name => "a finding code",
        Rule::otherwise | Rule::kw_otherwise => "`otherwise`",
        Rule::kw_when => "`when`",
        Rule::arrow => "`=>`",
        Rule::actions
        | Rule::call
        | Rule::queue
        | Rule::forward
        | Rule::drop_action
        | Rule::continue_action
        | Rule::kw_call
        | Rule::kw_queue
        | Rule::kw_forward
        | Rule::kw_drop
        | Rule::kw_continue => "an action",
        Rule::kw_async => "`async`",
        Rule::cond
        | Rule::conj
        | Rule::not_cond
        | Rule::paren
        | Rule::exists
        | Rule::pred
        | Rule::kw_exists => "a condition",
        Rule::kw_and => "`and`",
        Rule::lbrace => "`{`",
        Rule::rbrace => "`}`",
        Rule::lparen => "`(`",
        Rule::rparen => "`)`",
        Rule::lbracket => "`[`",
        Rule::rbracket => "`]`",
        Rule::colon => "`:`",
        Rule::comma => "`,`",
        Rule::assign => "`=`",
        Rule::kw_or => "`or`",
        Rule::kw_not => "`not`",
        Rule::cmp
        | Rule::cmp_op
        | Rule::in_test
        | Rule::not_in
        | Rule::kw_in
        | Rule::matches
        | Rule::starts_with
        | Rule::ends_with
        | Rule::contains
        | Rule::kw_matches
        | Rule::kw_starts_with
        | Rule::kw_ends_with
        | Rule::kw_contains => "a test (`==`, `<`, `in`, `matches`, …)",
        // Silent rules (whitespace, comments, fragments of tokens) are never
        // reported by pest; this arm only keeps the match total.
        _ => "valid syntax",
    }
}

/// `a`, `a or b`, `a, b or c`.
fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Lowers pest pairs to the AST, collecting literal errors.
struct Lower {
    file: FileId,
    errors: Vec<Diagnostic>,
}

impl Lower {
    /// The pair's span, ending at its last token. pest's implicit whitespace
    /// before a repetition that matches nothing (`(comma ~ action)*` after a
    /// single action) stays inside the pair, so its own end can run on over
    /// blank lines and comments up to the next item.
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let mut last = pair.clone();
        while let Some(child) = last.clone().into_inner().last() {
            last = child;
        }
        Span::new(self.file, pair.as_span().start(), last.as_span().end())
    }

    fn error(&mut self, span: Span, message: impl Into<String>, label: &str) {
        self.errors.push(Diagnostic::new(Code::Syntax, message, Label::new(span, label)));
    }

    fn ident(&self, pair: Pair<'_, Rule>) -> Ident {
        Ident { name: pair.as_str().to_owned(), span: self.span(&pair) }
    }

    fn item(&mut self, pair: Pair<'_, Rule>) -> Item {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::import => {
                let lit = meaningful(pair).next();
                let (path, path_span) = match lit {
                    Some(p) => {
                        let s = self.span(&p);
                        (self.string(&p), s)
                    }
                    None => (String::new(), span),
                };
                Item::Import(Import { path, path_span, span })
            }
            Rule::message => {
                let mut inner = meaningful(pair);
                let name = self.next_ident(&mut inner, span);
                let fields = inner.map(|f| self.field_decl(f)).collect();
                Item::Message(Message { name, fields, span })
            }
            Rule::const_decl => {
                let mut inner = meaningful(pair);
                let name = self.next_ident(&mut inner, span);
                let value = match inner.next() {
                    Some(p) => self.operand(p),
                    None => Operand::Set(SetExpr { elems: Vec::new(), span }),
                };
                Item::Const(ast::Const { name, value, span })
            }
            _ => {
                let mut inner = meaningful(pair);
                let name = self.next_ident(&mut inner, span);
                let clauses = inner.map(|c| self.clause(c)).collect();
                Item::Listener(Listener { name, clauses, span })
            }
        }
    }

    /// The next pair as an identifier. The grammar guarantees it is there;
    /// the fallback only keeps a grammar edit from turning into a panic.
    fn next_ident<'i>(&self, it: &mut impl Iterator<Item = Pair<'i, Rule>>, span: Span) -> Ident {
        match it.next() {
            Some(p) => self.ident(p),
            None => Ident { name: String::new(), span },
        }
    }

    fn field_decl(&mut self, pair: Pair<'_, Rule>) -> FieldDecl {
        let span = self.span(&pair);
        let mut inner = meaningful(pair);
        let name = self.next_ident(&mut inner, span);
        let ty = match inner.next() {
            Some(t) => self.type_expr(t, 0),
            None => TypeExpr { kind: TypeExprKind::Named(String::new()), span },
        };
        FieldDecl { name, ty, span }
    }

    fn type_expr(&mut self, pair: Pair<'_, Rule>, depth: u32) -> TypeExpr {
        let span = self.span(&pair);
        if depth > MAX_DEPTH {
            self.error(span, format!("types nest more than {MAX_DEPTH} levels deep"), "too deep");
            return TypeExpr { kind: TypeExprKind::Named("int".to_owned()), span };
        }
        let mut inner = meaningful(pair);
        let base = match inner.next() {
            Some(p) if p.as_rule() == Rule::list_type => {
                let list_span = self.span(&p);
                let elem = match meaningful(p).next() {
                    Some(e) => self.type_expr(e, depth + 1),
                    None => TypeExpr { kind: TypeExprKind::Named(String::new()), span },
                };
                TypeExpr { kind: TypeExprKind::List(Box::new(elem)), span: list_span }
            }
            Some(p) => {
                let s = self.span(&p);
                TypeExpr { kind: TypeExprKind::Named(p.as_str().to_owned()), span: s }
            }
            None => TypeExpr { kind: TypeExprKind::Named(String::new()), span },
        };
        if inner.next().is_some() {
            TypeExpr { kind: TypeExprKind::Optional(Box::new(base)), span }
        } else {
            base
        }
    }

    fn clause(&mut self, pair: Pair<'_, Rule>) -> Clause {
        let span = self.span(&pair);
        if pair.as_rule() == Rule::otherwise {
            let actions = meaningful(pair).last().map(|a| self.actions(a)).unwrap_or_default();
            return Clause::Otherwise(Otherwise { actions, span });
        }
        let mut allow = Vec::new();
        let mut name = None;
        let mut cond = None;
        let mut actions = Vec::new();
        for p in meaningful(pair) {
            match p.as_rule() {
                Rule::allow => {
                    allow = p
                        .into_inner()
                        .filter(|c| c.as_rule() == Rule::code_name)
                        .map(|c| self.ident(c))
                        .collect();
                }
                Rule::ident => name = Some(self.ident(p)),
                Rule::cond => cond = Some(self.expr(p, 0)),
                Rule::actions => actions = self.actions(p),
                _ => {}
            }
        }
        Clause::Rule(ast::Rule {
            allow,
            name: name.unwrap_or(Ident { name: String::new(), span }),
            cond: cond.unwrap_or(Expr { kind: ExprKind::And(Vec::new()), span }),
            actions,
            span,
        })
    }

    fn actions(&mut self, pair: Pair<'_, Rule>) -> Vec<Action> {
        meaningful(pair)
            .map(|a| {
                let span = self.span(&a);
                let rule_kind = a.as_rule();
                let mut inner = meaningful(a);
                let kind = match rule_kind {
                    Rule::call => {
                        let mut is_async = false;
                        let mut handler = Ident { name: String::new(), span };
                        for p in inner {
                            match p.as_rule() {
                                Rule::kw_async => is_async = true,
                                _ => handler = self.ident(p),
                            }
                        }
                        ActionKind::Call { handler, is_async }
                    }
                    Rule::queue => ActionKind::Queue(self.next_ident(&mut inner, span)),
                    Rule::forward => ActionKind::Forward(self.next_ident(&mut inner, span)),
                    Rule::drop_action => ActionKind::Drop,
                    _ => ActionKind::Continue,
                };
                Action { kind, span }
            })
            .collect()
    }

    fn expr(&mut self, pair: Pair<'_, Rule>, depth: u32) -> Expr {
        let span = self.span(&pair);
        if depth > MAX_DEPTH {
            self.error(
                span,
                format!("conditions nest more than {MAX_DEPTH} levels deep"),
                "too deep",
            );
            return Expr { kind: ExprKind::And(Vec::new()), span };
        }
        let kind = pair.as_rule();
        let mut parts: Vec<Expr> = Vec::new();
        match kind {
            Rule::cond | Rule::conj => {
                for p in meaningful(pair) {
                    parts.push(self.expr(p, depth + 1));
                }
                if parts.len() == 1 {
                    return parts.pop().unwrap_or(Expr { kind: ExprKind::And(Vec::new()), span });
                }
                let shape =
                    if kind == Rule::cond { ExprKind::Or(parts) } else { ExprKind::And(parts) };
                Expr { kind: shape, span }
            }
            Rule::not_cond => {
                let inner = meaningful(pair)
                    .next()
                    .map(|p| self.expr(p, depth + 1))
                    .unwrap_or(Expr { kind: ExprKind::And(Vec::new()), span });
                Expr { kind: ExprKind::Not(Box::new(inner)), span }
            }
            Rule::paren => match meaningful(pair).next() {
                Some(p) => self.expr(p, depth + 1),
                None => Expr { kind: ExprKind::And(Vec::new()), span },
            },
            Rule::exists => {
                let path = meaningful(pair).next().map(|p| self.path(p));
                Expr { kind: ExprKind::Exists(path.unwrap_or(self.empty_path(span))), span }
            }
            _ => {
                let mut inner = meaningful(pair);
                let path = inner.next().map(|p| self.path(p)).unwrap_or(self.empty_path(span));
                let test = inner.next().map(|t| self.test(t));
                Expr { kind: ExprKind::Pred(PredExpr { path, test }), span }
            }
        }
    }

    fn empty_path(&self, span: Span) -> Path {
        Path { segments: Vec::new(), span }
    }

    fn path(&self, pair: Pair<'_, Rule>) -> Path {
        let span = self.span(&pair);
        Path { segments: pair.into_inner().map(|p| self.ident(p)).collect(), span }
    }

    fn test(&mut self, pair: Pair<'_, Rule>) -> TestExpr {
        let kind = pair.as_rule();
        let start = pair.as_span().start();
        let mut op_end = start;
        let mut op = match kind {
            Rule::in_test => Op::In,
            Rule::not_in => Op::NotIn,
            Rule::matches => Op::Matches,
            Rule::starts_with => Op::StartsWith,
            Rule::ends_with => Op::EndsWith,
            Rule::contains => Op::Contains,
            _ => Op::Eq,
        };
        let mut operand = None;
        for p in meaningful(pair) {
            match p.as_rule() {
                Rule::cmp_op => {
                    op = match p.as_str() {
                        "!=" => Op::Ne,
                        "<" => Op::Lt,
                        "<=" => Op::Le,
                        ">" => Op::Gt,
                        ">=" => Op::Ge,
                        _ => Op::Eq,
                    };
                    op_end = p.as_span().end();
                }
                Rule::kw_in
                | Rule::kw_not
                | Rule::kw_matches
                | Rule::kw_starts_with
                | Rule::kw_ends_with
                | Rule::kw_contains => op_end = p.as_span().end(),
                _ => operand = Some(self.operand(p)),
            }
        }
        let op_span = Span::new(self.file, start, op_end);
        let operand = operand.unwrap_or(Operand::Set(SetExpr { elems: Vec::new(), span: op_span }));
        TestExpr { op, op_span, operand }
    }

    fn operand(&mut self, pair: Pair<'_, Rule>) -> Operand {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::ident => Operand::Name(self.ident(pair)),
            Rule::set => {
                let elems = meaningful(pair).map(|p| self.operand(p)).collect();
                Operand::Set(SetExpr { elems, span })
            }
            Rule::int => Operand::Lit(Literal { kind: LitKind::Int(self.int(&pair)), span }),
            Rule::float => Operand::Lit(Literal { kind: LitKind::Float(self.float(&pair)), span }),
            Rule::bool => {
                Operand::Lit(Literal { kind: LitKind::Bool(pair.as_str() == "true"), span })
            }
            _ => Operand::Lit(Literal { kind: LitKind::Str(self.string(&pair)), span }),
        }
    }

    fn int(&mut self, pair: &Pair<'_, Rule>) -> i64 {
        let text = pair.as_str();
        let (negative, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (radix, digits) = match body.strip_prefix("0x") {
            Some(hex) => (16, hex),
            None => (10, body),
        };
        let digits: String = digits.chars().filter(|&c| c != '_').collect();
        let value = i128::from_str_radix(&digits, radix)
            .ok()
            .map(|v| if negative { -v } else { v })
            .and_then(|v| i64::try_from(v).ok());
        match value {
            Some(v) => v,
            None => {
                let span = self.span(pair);
                self.error(
                    span,
                    format!("integer literal `{text}` does not fit in 64 bits"),
                    "out of range",
                );
                0
            }
        }
    }

    fn float(&mut self, pair: &Pair<'_, Rule>) -> f64 {
        let text = pair.as_str();
        let clean: String = text.chars().filter(|&c| c != '_').collect();
        match clean.parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => {
                let span = self.span(pair);
                self.error(span, format!("float literal `{text}` is out of range"), "out of range");
                0.0
            }
        }
    }

    /// Decodes a string literal (quotes included in the pair).
    fn string(&mut self, pair: &Pair<'_, Rule>) -> String {
        let text = pair.as_str();
        let body = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
        let mut out = String::with_capacity(body.len());
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('u') => {
                    // The grammar guarantees `{hex}` follows.
                    let hex: String =
                        chars.by_ref().skip(1).take_while(|&c| c != '}').collect::<String>();
                    match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        Some(ch) => out.push(ch),
                        None => {
                            let span = self.span(pair);
                            self.error(
                                span,
                                format!("`\\u{{{hex}}}` is not a Unicode scalar value"),
                                "invalid escape",
                            );
                        }
                    }
                }
                Some(other) => out.push(other),
                None => {}
            }
        }
        out
    }
}

/// The inner pairs that carry meaning: keyword and punctuation tokens are
/// dropped. Every walk over inner pairs goes through here.
fn meaningful<'i>(pair: Pair<'i, Rule>) -> impl Iterator<Item = Pair<'i, Rule>> {
    pair.into_inner().filter(|p| {
        !matches!(
            p.as_rule(),
            Rule::lbrace
                | Rule::rbrace
                | Rule::lparen
                | Rule::rparen
                | Rule::lbracket
                | Rule::rbracket
                | Rule::colon
                | Rule::comma
                | Rule::assign
                | Rule::kw_import
                | Rule::kw_message
                | Rule::kw_const
                | Rule::kw_listener
                | Rule::kw_rule
                | Rule::kw_when
                | Rule::kw_otherwise
                | Rule::kw_and
                | Rule::kw_or
                | Rule::kw_not
                | Rule::kw_exists
                | Rule::kw_call
                | Rule::kw_queue
                | Rule::kw_forward
                | Rule::kw_drop
                | Rule::kw_continue
                | Rule::arrow
        )
    })
}

#[cfg(test)]
mod tests;

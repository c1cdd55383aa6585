//! The syntax tree of one `.route` file, as written: names are not resolved,
//! consts are not inlined, nothing is type-checked. Every node keeps its
//! [`Span`] (file and byte range), so later stages can point at it.

use crate::diagnostic::Span;

/// One parsed file.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct File {
    /// Items in source order.
    pub(crate) items: Vec<Item>,
}

/// A top-level item.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Item {
    /// `import "path"`
    Import(Import),
    /// `message Name { … }`
    Message(Message),
    /// `const NAME = …`
    Const(Const),
    /// `listener name { … }`
    Listener(Listener),
}

/// A name and where it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ident {
    /// The name.
    pub(crate) name: String,
    /// Its span.
    pub(crate) span: Span,
}

/// `import "other.route"`
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Import {
    /// The path as written (escapes decoded), relative to the importing file.
    pub(crate) path: String,
    /// The string literal's span.
    pub(crate) path_span: Span,
    /// The whole item.
    pub(crate) span: Span,
}

/// `message Name { field: type, … }`
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Message {
    /// The type name.
    pub(crate) name: Ident,
    /// Fields in order.
    pub(crate) fields: Vec<FieldDecl>,
    /// The whole item.
    pub(crate) span: Span,
}

/// `name: type`
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FieldDecl {
    /// The field name.
    pub(crate) name: Ident,
    /// The declared type.
    pub(crate) ty: TypeExpr,
    /// The whole declaration.
    pub(crate) span: Span,
}

/// A field type as written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TypeExpr {
    /// Its shape.
    pub(crate) kind: TypeExprKind,
    /// Its span.
    pub(crate) span: Span,
}

/// The shape of a [`TypeExpr`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TypeExprKind {
    /// A name: a primitive (`int`, `string`, …) or a message type.
    Named(String),
    /// `[T]`
    List(Box<TypeExpr>),
    /// `T?`
    Optional(Box<TypeExpr>),
}

/// `const NAME = value`
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Const {
    /// The const's name.
    pub(crate) name: Ident,
    /// Its value: a literal or a set.
    pub(crate) value: Operand,
    /// The whole item.
    pub(crate) span: Span,
}

/// A literal as written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Literal {
    /// Its value.
    pub(crate) kind: LitKind,
    /// Its span.
    pub(crate) span: Span,
}

/// The value of a [`Literal`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LitKind {
    /// `true` / `false`
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string, escapes decoded.
    Str(String),
}

/// The right-hand side of a test, or a const's value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Operand {
    /// A literal.
    Lit(Literal),
    /// A name: a const, or a message type where compared with `type`.
    Name(Ident),
    /// `{elem, …}`
    Set(SetExpr),
}

impl Operand {
    /// Where the operand is written.
    pub(crate) fn span(&self) -> Span {
        match self {
            Operand::Lit(l) => l.span,
            Operand::Name(n) => n.span,
            Operand::Set(s) => s.span,
        }
    }
}

/// `{elem, …}`: elements are literals or names, never nested sets.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SetExpr {
    /// The elements, each an [`Operand::Lit`] or an [`Operand::Name`].
    pub(crate) elems: Vec<Operand>,
    /// The whole set.
    pub(crate) span: Span,
}

/// `listener name { … }`
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Listener {
    /// The listener's name.
    pub(crate) name: Ident,
    /// Rules and `otherwise` clauses in source order (the checker enforces
    /// that `otherwise` is last and unique).
    pub(crate) clauses: Vec<Clause>,
    /// The whole item.
    pub(crate) span: Span,
}

/// One entry of a listener's body.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Clause {
    /// `rule …`
    Rule(Rule),
    /// `otherwise => …`
    Otherwise(Otherwise),
}

/// `[allow(code, …)] rule NAME when COND => ACTIONS`
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Rule {
    /// The codes in `allow(…)`, unvalidated.
    pub(crate) allow: Vec<Ident>,
    /// The rule's name.
    pub(crate) name: Ident,
    /// The condition.
    pub(crate) cond: Expr,
    /// The actions.
    pub(crate) actions: Vec<Action>,
    /// The whole rule, `allow` included.
    pub(crate) span: Span,
}

/// `otherwise => ACTIONS`
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Otherwise {
    /// The actions.
    pub(crate) actions: Vec<Action>,
    /// The whole clause.
    pub(crate) span: Span,
}

/// An action as written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Action {
    /// What it does.
    pub(crate) kind: ActionKind,
    /// Its span.
    pub(crate) span: Span,
}

/// The kind of an [`Action`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ActionKind {
    /// `call [async] name`
    Call {
        /// The handler.
        handler: Ident,
        /// `async` was written.
        is_async: bool,
    },
    /// `queue name`
    Queue(Ident),
    /// `forward name`
    Forward(Ident),
    /// `drop`
    Drop,
    /// `continue`
    Continue,
}

/// A condition as written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Expr {
    /// Its shape.
    pub(crate) kind: ExprKind,
    /// Its span.
    pub(crate) span: Span,
}

/// The shape of an [`Expr`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ExprKind {
    /// `a or b or …` (two or more).
    Or(Vec<Expr>),
    /// `a and b and …` (two or more).
    And(Vec<Expr>),
    /// `not a`
    Not(Box<Expr>),
    /// `exists path`
    Exists(Path),
    /// `path` or `path OP operand`
    Pred(PredExpr),
}

/// `path [OP operand]`
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PredExpr {
    /// The field.
    pub(crate) path: Path,
    /// The test; `None` for a bare bool field.
    pub(crate) test: Option<TestExpr>,
}

/// `OP operand`
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TestExpr {
    /// The operator.
    pub(crate) op: Op,
    /// Where the operator is written.
    pub(crate) op_span: Span,
    /// The right-hand side.
    pub(crate) operand: Operand,
}

/// A test operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in`
    In,
    /// `not in`
    NotIn,
    /// `matches`
    Matches,
    /// `starts_with`
    StartsWith,
    /// `ends_with`
    EndsWith,
    /// `contains`
    Contains,
}

impl Op {
    /// The operator as written.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::In => "in",
            Op::NotIn => "not in",
            Op::Matches => "matches",
            Op::StartsWith => "starts_with",
            Op::EndsWith => "ends_with",
            Op::Contains => "contains",
        }
    }
}

/// A dotted field path: `card`, `pos.x`, `content.a.b`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Path {
    /// The segments.
    pub(crate) segments: Vec<Ident>,
    /// The whole path.
    pub(crate) span: Span,
}

impl Path {
    /// The path as written (`pos.x`).
    pub(crate) fn text(&self) -> String {
        let names: Vec<&str> = self.segments.iter().map(|s| s.name.as_str()).collect();
        names.join(".")
    }
}

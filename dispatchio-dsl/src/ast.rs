//! The syntax tree of one `.route` file, as written: names are not resolved,
//! consts are not inlined, nothing is type-checked. Every node keeps its
//! [`Span`] (file and byte range), so later stages can point at it.

use crate::diagnostic::Span;

/// One parsed file.
#[derive(Clone, Debug, PartialEq)]
pub struct File {
    /// Items in source order.
    pub items: Vec<Item>,
}

/// A top-level item.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
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
pub struct Ident {
    /// The name.
    pub name: String,
    /// Its span.
    pub span: Span,
}

/// `import "other.route"`
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    /// The path as written (escapes decoded), relative to the importing file.
    pub path: String,
    /// The string literal's span.
    pub path_span: Span,
    /// The whole item.
    pub span: Span,
}

/// `message Name { field: type, … }`
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// The type name.
    pub name: Ident,
    /// Fields in order.
    pub fields: Vec<FieldDecl>,
    /// The whole item.
    pub span: Span,
}

/// `name: type`
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDecl {
    /// The field name.
    pub name: Ident,
    /// The declared type.
    pub ty: TypeExpr,
    /// The whole declaration.
    pub span: Span,
}

/// A field type as written.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    /// Its shape.
    pub kind: TypeExprKind,
    /// Its span.
    pub span: Span,
}

/// The shape of a [`TypeExpr`].
#[derive(Clone, Debug, PartialEq)]
pub enum TypeExprKind {
    /// A name: a primitive (`int`, `string`, …) or a message type.
    Named(String),
    /// `[T]`
    List(Box<TypeExpr>),
    /// `T?`
    Optional(Box<TypeExpr>),
}

/// `const NAME = value`
#[derive(Clone, Debug, PartialEq)]
pub struct Const {
    /// The const's name.
    pub name: Ident,
    /// Its value: a literal or a set.
    pub value: Operand,
    /// The whole item.
    pub span: Span,
}

/// A literal as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Literal {
    /// Its value.
    pub kind: LitKind,
    /// Its span.
    pub span: Span,
}

/// The value of a [`Literal`].
#[derive(Clone, Debug, PartialEq)]
pub enum LitKind {
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
pub enum Operand {
    /// A literal.
    Lit(Literal),
    /// A name: a const, or a message type where compared with `type`.
    Name(Ident),
    /// `{elem, …}`
    Set(SetExpr),
}

impl Operand {
    /// Where the operand is written.
    pub fn span(&self) -> Span {
        match self {
            Operand::Lit(l) => l.span,
            Operand::Name(n) => n.span,
            Operand::Set(s) => s.span,
        }
    }
}

/// `{elem, …}`: elements are literals or names, never nested sets.
#[derive(Clone, Debug, PartialEq)]
pub struct SetExpr {
    /// The elements, each an [`Operand::Lit`] or an [`Operand::Name`].
    pub elems: Vec<Operand>,
    /// The whole set.
    pub span: Span,
}

/// `listener name { … }`
#[derive(Clone, Debug, PartialEq)]
pub struct Listener {
    /// The listener's name.
    pub name: Ident,
    /// Rules and `otherwise` clauses in source order (the checker enforces
    /// that `otherwise` is last and unique).
    pub clauses: Vec<Clause>,
    /// The whole item.
    pub span: Span,
}

/// One entry of a listener's body.
#[derive(Clone, Debug, PartialEq)]
pub enum Clause {
    /// `rule …`
    Rule(Rule),
    /// `otherwise => …`
    Otherwise(Otherwise),
}

/// `[allow(code, …)] rule NAME when COND => ACTIONS`
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The codes in `allow(…)`, unvalidated.
    pub allow: Vec<Ident>,
    /// The rule's name.
    pub name: Ident,
    /// The condition.
    pub cond: Expr,
    /// The actions.
    pub actions: Vec<Action>,
    /// The whole rule, `allow` included.
    pub span: Span,
}

/// `otherwise => ACTIONS`
#[derive(Clone, Debug, PartialEq)]
pub struct Otherwise {
    /// The actions.
    pub actions: Vec<Action>,
    /// The whole clause.
    pub span: Span,
}

/// An action as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    /// What it does.
    pub kind: ActionKind,
    /// Its span.
    pub span: Span,
}

/// The kind of an [`Action`].
#[derive(Clone, Debug, PartialEq)]
pub enum ActionKind {
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
pub struct Expr {
    /// Its shape.
    pub kind: ExprKind,
    /// Its span.
    pub span: Span,
}

/// The shape of an [`Expr`].
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
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
pub struct PredExpr {
    /// The field.
    pub path: Path,
    /// The test; `None` for a bare bool field.
    pub test: Option<TestExpr>,
}

/// `OP operand`
#[derive(Clone, Debug, PartialEq)]
pub struct TestExpr {
    /// The operator.
    pub op: Op,
    /// Where the operator is written.
    pub op_span: Span,
    /// The right-hand side.
    pub operand: Operand,
}

/// A test operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
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
    pub fn as_str(self) -> &'static str {
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
pub struct Path {
    /// The segments.
    pub segments: Vec<Ident>,
    /// The whole path.
    pub span: Span,
}

impl Path {
    /// The path as written (`pos.x`).
    pub fn text(&self) -> String {
        let names: Vec<&str> = self.segments.iter().map(|s| s.name.as_str()).collect();
        names.join(".")
    }
}

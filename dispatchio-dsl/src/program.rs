//! The typed program: what the front end produces from `.route` files once
//! imports, names and consts are resolved and every condition is type-checked.
//!
//! The analyser, the code generator and the interpreter all start from here,
//! so this module is the single statement of what a routing table *means*:
//!
//! * A listener tries its rules top to bottom. The first rule whose condition
//!   holds runs its actions and stops the search, unless its actions end with
//!   [`ActionKind::Continue`], in which case the search goes on. `otherwise`
//!   runs when no rule stopped the search.
//! * A predicate on a field that is absent (an unset `source`, an optional
//!   content field that is missing, a `content.…` path that does not exist or
//!   holds a value of another type) is **false**, whatever its test, except
//!   [`Test::Exists`]. `not` then negates as usual, so `not (suit == "x")`
//!   holds for a message without a suit while `suit != "x"` does not.
//! * A content field reference ([`FieldRef::Content`]) is only produced where
//!   the checker proved that every type the message can have at that point
//!   declares the path with one type; it names the path, not the type, and is
//!   read from whichever of those types the message has.

// Over 600 lines because of its docs: every public item has a doc
// example (issue 14). Without its `///` lines it is under 450 lines:
// the contract's types and their accessors, one room.

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::{FileId, SourceMap, Span};

/// A checked program: one root file and everything it imports.
///
/// Only the checker builds one, so everything later stages read from it has
/// been checked, and the facts they need were established once, there:
/// which nested-message fields are boxed, and whether each handler is
/// synchronous or asynchronous. It is read through accessors.
///
/// ```
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "message Card { card: int }\n\
///      listener player { rule deal when type == Card and card < 52 => queue hand }",
/// )?
/// .program;
/// assert_eq!(program.message("Card").unwrap().fields[0].name, "card");
/// assert_eq!(program.listener("player").unwrap().rules[0].name, "deal");
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Program {
    sources: SourceMap,
    root: FileId,
    messages: Vec<MessageDef>,
    consts: Vec<ConstDef>,
    listeners: Vec<ListenerDef>,
    boxed: BTreeSet<(String, String)>,
    handlers: BTreeMap<(String, String), HandlerKind>,
    calls: BTreeMap<(String, String), Vec<HandlerCall>>,
}

/// What of a program with errors checked: every message type with the
/// fields whose types resolved, the consts whose values did, and each
/// listener (the first of a name) with its rules, handlers, queues and
/// forward targets, conditions as far as they checked.
///
/// The checker makes one when it refuses a file (see
/// [`Report::skeleton`](crate::Report::skeleton)), so that the code generator
/// can emit the API stub after errors with its real generator (the including
/// crate then sees the `.route` errors, not one error per use of a
/// generated item). It is opaque: nothing may route, analyse or interpret
/// by a program that did not check.
///
/// ```
/// // `card == "x"` does not type-check: no program, but a skeleton of what did.
/// let report = dispatchio_dsl::check_str(
///     "game.route",
///     r#"message Card { card: int }
///        listener player { rule deal when type == Card and card == "x" => queue hand }"#,
/// );
/// assert!(report.program.is_none());
/// let skeleton = report.skeleton.as_ref().expect("a refused file has a skeleton");
/// // What `include_routes!` emits after errors: the errors, then the stub.
/// let span = proc_macro2::Span::call_site();
/// let stub = dispatchio_dsl::codegen::generate_errors(
///     &report.sources, &report.diagnostics, Some(skeleton), &[], span,
/// )
/// .to_string();
/// assert!(stub.contains("compile_error") && stub.contains("struct Card"));
/// ```
#[derive(Clone, Debug)]
pub struct Skeleton(Program);

impl Skeleton {
    /// The parts that checked, as a program, for the stub's generator only.
    pub(crate) fn program(&self) -> &Program {
        &self.0
    }

    /// The skeleton of `program`: its declarations, with nothing left out
    /// (what the stub of a file that checks would be; for tests).
    #[doc(hidden)]
    pub fn of(program: &Program) -> Skeleton {
        Skeleton(program.clone())
    }

    /// The skeleton of what the checker built (`check`), or of a program
    /// the analysis refused.
    pub(crate) fn new(program: Program) -> Skeleton {
        Skeleton(program)
    }
}

/// How a listener's handler is called: one trait method is either
/// synchronous or asynchronous, never both (the checker refuses a handler
/// called both ways).
///
/// ```
/// use dispatchio_dsl::program::HandlerKind;
///
/// let program = dispatchio_dsl::load_str(
///     "bank.route",
///     "listener bank {\n\
///          rule pay   when sync     => call pay\n\
///          rule audit when not sync => call async audit\n\
///      }",
/// )?
/// .program;
/// assert_eq!(program.handler_kind("bank", "pay"), Some(HandlerKind::Sync));
/// assert_eq!(program.handler_kind("bank", "audit"), Some(HandlerKind::Async));
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HandlerKind {
    /// `call name`: runs in the listener's task and returns its reply.
    Sync,
    /// `call async name`: a future run concurrently with later messages.
    Async,
}

/// The facts the checker establishes about a program, beyond its items.
#[derive(Clone, Debug, Default)]
pub(crate) struct Facts {
    /// `(message, field)` pairs whose nested message is boxed: those that
    /// close a cycle of types containing each other.
    pub(crate) boxed: BTreeSet<(String, String)>,
    /// `(listener, handler)` to how it is called.
    pub(crate) handlers: BTreeMap<(String, String), HandlerKind>,
    /// `(listener, handler)` to every call of it, in rule order.
    pub(crate) calls: BTreeMap<(String, String), Vec<HandlerCall>>,
}

/// One `call` of a handler: the rule (`otherwise` for the otherwise clause)
/// and the message types that can reach the handler through it.
///
/// ```
/// let program = dispatchio_dsl::load_str(
///     "bets.route",
///     "message Bet { amount: int }\n\
///      listener croupier {\n\
///          rule bet when type == Bet => call take\n\
///          otherwise => call take\n\
///      }",
/// )?
/// .program;
/// let calls = program.handler_calls("croupier", "take");
/// let rules: Vec<&str> = calls.iter().map(|c| c.rule.as_str()).collect();
/// assert_eq!(rules, ["bet", "otherwise"]);
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerCall {
    /// The rule's name, or `otherwise`.
    pub rule: String,
    /// The message types the rule can pass the handler.
    pub reach: Reach,
}

/// The message types that can reach a point of a listener.
///
/// ```
/// use dispatchio_dsl::program::Reach;
///
/// let program = dispatchio_dsl::load_str(
///     "bets.route",
///     "message Bet { amount: int }\n\
///      listener croupier {\n\
///          rule bet when type == Bet => call take\n\
///          otherwise => call take\n\
///      }",
/// )?
/// .program;
/// let calls = program.handler_calls("croupier", "take");
/// // `rule bet` passes only `Bet`s; `otherwise` any type, undeclared ones too.
/// assert_eq!(calls[0].reach, Reach::Types(["Bet".to_owned()].into()));
/// assert_eq!(calls[1].reach, Reach::Any);
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Only these declared types (none: the rule matches nothing).
    Types(BTreeSet<String>),
    /// Any type, undeclared ones included.
    Any,
}

impl Program {
    /// The checker's result; only `crate::check` calls this.
    pub(crate) fn checked(
        sources: SourceMap,
        root: FileId,
        messages: Vec<MessageDef>,
        consts: Vec<ConstDef>,
        listeners: Vec<ListenerDef>,
        facts: Facts,
    ) -> Program {
        let Facts { boxed, handlers, calls } = facts;
        Program { sources, root, messages, consts, listeners, boxed, handlers, calls }
    }

    /// Every file read, imports included.
    ///
    /// ```
    /// let program = dispatchio_dsl::load_str("game.route", "listener l { rule any when sync => drop }")?
    ///     .program;
    /// let (_, file) = program.sources().files().next().unwrap();
    /// assert_eq!(file.path, std::path::Path::new("game.route"));
    /// assert!(file.text.starts_with("listener l"));
    /// # Ok::<(), dispatchio_dsl::LoadError>(())
    /// ```
    pub fn sources(&self) -> &SourceMap {
        &self.sources
    }

    /// The file the program was loaded from.
    ///
    /// ```
    /// let program = dispatchio_dsl::load_str("game.route", "listener l { rule any when sync => drop }")?
    ///     .program;
    /// let root = program.sources().get(program.root());
    /// assert_eq!(root.path, std::path::Path::new("game.route"));
    /// # Ok::<(), dispatchio_dsl::LoadError>(())
    /// ```
    pub fn root(&self) -> FileId {
        self.root
    }

    /// Message schemas, in declaration order (imports first).
    ///
    /// ```
    /// let program = dispatchio_dsl::load_str(
    ///     "game.route",
    ///     "message Card { card: int }\n\
    ///      message Bet { amount: int }\n\
    ///      listener l { rule any when type in {Card, Bet} => drop }",
    /// )?
    /// .program;
    /// let names: Vec<&str> = program.messages().iter().map(|m| m.name.as_str()).collect();
    /// assert_eq!(names, ["Card", "Bet"]);
    /// # Ok::<(), dispatchio_dsl::LoadError>(())
    /// ```
    pub fn messages(&self) -> &[MessageDef] {
        &self.messages
    }

    /// Named constants, in declaration order. Conditions already carry their
    /// values inlined; these are kept for codegen and the `unused` check.
    ///
    /// ```
    /// use dispatchio_dsl::program::{ConstValue, Lit};
    ///
    /// let program = dispatchio_dsl::load_str(
    ///     "game.route",
    ///     "message Card { card: int }\n\
    ///      const DECK = 52\n\
    ///      listener l { rule deal when type == Card and card < DECK => drop }",
    /// )?
    /// .program;
    /// assert_eq!(program.consts()[0].name, "DECK");
    /// assert_eq!(program.consts()[0].value, ConstValue::Lit(Lit::Int(52)));
    /// # Ok::<(), dispatchio_dsl::LoadError>(())
    /// ```
    pub fn consts(&self) -> &[ConstDef] {
        &self.consts
    }

    /// Listeners, in declaration order.
    ///
    /// ```
    /// let program = dispatchio_dsl::load_str(
    ///     "game.route",
    ///     "listener front { rule all when sync => forward back }\n\
    ///      listener back  { rule all when sync => queue done }",
    /// )?
    /// .program;
    /// let names: Vec<&str> = program.listeners().iter().map(|l| l.name.as_str()).collect();
    /// assert_eq!(names, ["front", "back"]);
    /// # Ok::<(), dispatchio_dsl::LoadError>(())
    /// ```
    pub fn listeners(&self) -> &[ListenerDef] {
        &self.listeners
    }

    /// The message schema named `name`.
    ///
    /// ```
    /// let program = dispatchio_dsl::load_str(
    ///     "game.route",
    ///     "message Card { card: int, suit: string? }\n\
    ///      listener l { rule any when type == Card => drop }",
    /// )?
    /// .program;
    /// assert_eq!(program.message("Card").map(|m| m.fields.len()), Some(2));
    /// assert!(program.message("Bet").is_none());
    /// # Ok::<(), dispatchio_dsl::LoadError>(())
    /// ```
    pub fn message(&self, name: &str) -> Option<&MessageDef> {
        self.messages.iter().find(|m| m.name == name)
    }

    /// The listener named `name`.
    ///
    /// ```
    /// let program = dispatchio_dsl::load_str(
    ///     "game.route",
    ///     "listener player { rule any when sync => queue hand\n otherwise => drop }",
    /// )?
    /// .program;
    /// let player = program.listener("player").unwrap();
    /// assert_eq!(player.rules.len(), 1);
    /// assert!(player.otherwise.is_some());
    /// assert!(program.listener("dealer").is_none());
    /// # Ok::<(), dispatchio_dsl::LoadError>(())
    /// ```
    pub fn listener(&self, name: &str) -> Option<&ListenerDef> {
        self.listeners.iter().find(|l| l.name == name)
    }

    /// Whether field `field` of message `message` holds its nested message
    /// boxed: it closes a cycle of types containing each other.
    ///
    /// ```
    /// // A `Node` holds a `Node`: the field that closes the cycle is boxed.
    /// let program = dispatchio_dsl::load_str(
    ///     "tree.route",
    ///     "message Node { value: int, next: Node? }\n\
    ///      listener l { rule any when type == Node => drop }",
    /// )?
    /// .program;
    /// assert!(program.is_boxed("Node", "next"));
    /// assert!(!program.is_boxed("Node", "value"));
    /// # Ok::<(), dispatchio_dsl::LoadError>(())
    /// ```
    pub fn is_boxed(&self, message: &str, field: &str) -> bool {
        self.boxed.contains(&(message.to_owned(), field.to_owned()))
    }

    /// How listener `listener` calls handler `handler`, if it calls it.
    ///
    /// ```
    /// use dispatchio_dsl::program::HandlerKind;
    ///
    /// let program = dispatchio_dsl::load_str(
    ///     "audit.route",
    ///     "listener audit { rule all when not sync => call async record }",
    /// )?
    /// .program;
    /// assert_eq!(program.handler_kind("audit", "record"), Some(HandlerKind::Async));
    /// // A handler the listener never calls has no kind.
    /// assert_eq!(program.handler_kind("audit", "other"), None);
    /// # Ok::<(), dispatchio_dsl::LoadError>(())
    /// ```
    pub fn handler_kind(&self, listener: &str, handler: &str) -> Option<HandlerKind> {
        self.handlers.get(&(listener.to_owned(), handler.to_owned())).copied()
    }

    /// Every call of `handler` in `listener`, in rule order, with the
    /// message types each can pass it (empty when the listener never calls
    /// it).
    ///
    /// ```
    /// let program = dispatchio_dsl::load_str(
    ///     "game.route",
    ///     "listener l {\n\
    ///          rule first  when blocking => call log, continue\n\
    ///          rule second when sync     => call log\n\
    ///      }",
    /// )?
    /// .program;
    /// let rules: Vec<&str> = program.handler_calls("l", "log").iter().map(|c| c.rule.as_str()).collect();
    /// assert_eq!(rules, ["first", "second"]);
    /// assert!(program.handler_calls("l", "nothing").is_empty());
    /// # Ok::<(), dispatchio_dsl::LoadError>(())
    /// ```
    pub fn handler_calls(&self, listener: &str, handler: &str) -> &[HandlerCall] {
        self.calls.get(&(listener.to_owned(), handler.to_owned())).map_or(&[], Vec::as_slice)
    }
}

/// `message Name { field: type, … }`
///
/// ```
/// use dispatchio_dsl::program::Type;
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "message Card { card: int, suit: string? }\n\
///      listener l { rule any when type == Card => drop }",
/// )?
/// .program;
/// let card = &program.messages()[0];
/// assert_eq!(card.name, "Card");
/// let types: Vec<String> = card.fields.iter().map(|f| f.ty.to_string()).collect();
/// assert_eq!(types, ["int", "string?"]);
/// assert_eq!(card.fields[0].ty, Type::Int);
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MessageDef {
    /// The type name (also the message's `type`).
    pub name: String,
    /// The whole declaration.
    pub span: Span,
    /// The name's span.
    pub name_span: Span,
    /// Fields in declaration order.
    pub fields: Vec<FieldDef>,
}

impl MessageDef {
    /// The field named `name`.
    ///
    /// ```
    /// use dispatchio_dsl::program::Type;
    ///
    /// let program = dispatchio_dsl::load_str(
    ///     "game.route",
    ///     "message Hand { cards: [int] }\n\
    ///      listener l { rule any when type == Hand => drop }",
    /// )?
    /// .program;
    /// let hand = program.message("Hand").unwrap();
    /// assert_eq!(hand.field("cards").map(|f| &f.ty), Some(&Type::List(Box::new(Type::Int))));
    /// assert!(hand.field("card").is_none());
    /// # Ok::<(), dispatchio_dsl::LoadError>(())
    /// ```
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// One field of a message schema.
///
/// ```
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "message Card { card: int }\n\
///      listener l { rule any when type == Card => drop }",
/// )?
/// .program;
/// let field = program.message("Card").unwrap().field("card").unwrap();
/// // Its span points at `card: int` in the source.
/// let text = &program.sources().get(field.span.file).text;
/// assert_eq!(&text[field.span.start as usize..field.span.end as usize], "card: int");
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDef {
    /// The field name.
    pub name: String,
    /// Its declared type.
    pub ty: Type,
    /// The declaration's span.
    pub span: Span,
}

/// A field type.
///
/// ```
/// use dispatchio_dsl::program::Type;
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "message Pos { x: float }\n\
///      message Move { pos: Pos, owners: [id]? }\n\
///      listener l { rule any when type == Move => drop }",
/// )?
/// .program;
/// let mv = program.message("Move").unwrap();
/// assert_eq!(mv.field("pos").unwrap().ty, Type::Message("Pos".into()));
/// let owners = &mv.field("owners").unwrap().ty;
/// assert_eq!(*owners, Type::Optional(Box::new(Type::List(Box::new(Type::Id)))));
/// assert_eq!(owners.to_string(), "[id]?");
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// `bool`
    Bool,
    /// `int` (i64)
    Int,
    /// `float` (f64)
    Float,
    /// `string`
    Str,
    /// `id`: an integer or a string.
    Id,
    /// `[T]`
    List(Box<Type>),
    /// Another declared message type, nested.
    Message(String),
    /// `T?`
    Optional(Box<Type>),
    /// The type of `content.…` paths into undeclared content, checked at run time.
    Any,
}

impl Type {
    /// The type without an outer `?`.
    ///
    /// ```
    /// use dispatchio_dsl::program::Type;
    ///
    /// let suit = Type::Optional(Box::new(Type::Str));
    /// assert_eq!(suit.required(), &Type::Str);
    /// assert_eq!(Type::Int.required(), &Type::Int);
    /// ```
    pub fn required(&self) -> &Type {
        match self {
            Type::Optional(t) => t,
            t => t,
        }
    }

    /// Whether this is `T?`.
    ///
    /// ```
    /// use dispatchio_dsl::program::Type;
    ///
    /// assert!(Type::Optional(Box::new(Type::Str)).is_optional());
    /// // A list may be empty, but it is always there.
    /// assert!(!Type::List(Box::new(Type::Str)).is_optional());
    /// ```
    pub fn is_optional(&self) -> bool {
        matches!(self, Type::Optional(_))
    }
}

impl std::fmt::Display for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Type::Bool => f.write_str("bool"),
            Type::Int => f.write_str("int"),
            Type::Float => f.write_str("float"),
            Type::Str => f.write_str("string"),
            Type::Id => f.write_str("id"),
            Type::List(t) => write!(f, "[{t}]"),
            Type::Message(name) => f.write_str(name),
            Type::Optional(t) => write!(f, "{t}?"),
            Type::Any => f.write_str("any"),
        }
    }
}

/// `const NAME = value`
///
/// ```
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "message Card { card: int }\n\
///      const DECK = 52\n\
///      listener l { rule deal when type == Card and card < DECK => drop }",
/// )?
/// .program;
/// let deck = &program.consts()[0];
/// assert_eq!(deck.name, "DECK");
/// let text = &program.sources().get(deck.span.file).text;
/// assert_eq!(&text[deck.span.start as usize..deck.span.end as usize], "const DECK = 52");
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ConstDef {
    /// The constant's name.
    pub name: String,
    /// Its value.
    pub value: ConstValue,
    /// The declaration's span.
    pub span: Span,
}

/// The value of a constant.
///
/// ```
/// use dispatchio_dsl::program::{ConstValue, Lit};
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "const STAFF = {\"root\", 0}\n\
///      listener l { rule staff when source in STAFF => drop }",
/// )?
/// .program;
/// assert_eq!(program.consts()[0].value, ConstValue::Set(vec![Lit::from("root"), Lit::Int(0)]));
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum ConstValue {
    /// A single literal.
    Lit(Lit),
    /// A set `{lit, …}`.
    Set(Vec<Lit>),
}

/// A literal, after const inlining and type checking (`dispatchio-model`'s).
///
/// Int literals compared with a `float` field are converted to `Float` by the
/// checker, so a [`Test`] always holds literals of the field's own type (for
/// `id` fields: `Int` or `Str`; for `type`: `Str` holding a type name).
pub use dispatchio_model::Lit;

/// `listener name { rules… [otherwise => actions] }`
///
/// ```
/// use dispatchio_dsl::program::ActionKind;
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "listener player {\n\
///          rule urgent when blocking => queue urgent\n\
///          otherwise => queue inbox\n\
///      }",
/// )?
/// .program;
/// let player = program.listener("player").unwrap();
/// assert_eq!(player.rules[0].name, "urgent");
/// let otherwise = player.otherwise.as_ref().unwrap();
/// assert_eq!(otherwise.actions[0].kind, ActionKind::Queue("inbox".into()));
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ListenerDef {
    /// The listener's name.
    pub name: String,
    /// The whole declaration.
    pub span: Span,
    /// The name's span.
    pub name_span: Span,
    /// Rules in order.
    pub rules: Vec<RuleDef>,
    /// The `otherwise` clause, if any.
    pub otherwise: Option<Otherwise>,
}

/// `rule NAME when CONDITION => ACTION, …`
///
/// ```
/// use dispatchio_dsl::{Code, program::ActionKind};
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "listener l {\n\
///          allow(overlap) rule log when sync => call log\n\
///          rule rest when blocking => drop\n\
///      }",
/// )?
/// .program;
/// let log = &program.listeners()[0].rules[0];
/// assert_eq!(log.name, "log");
/// assert_eq!(log.allow, [Code::Overlap]);
/// assert_eq!(log.actions[0].kind, ActionKind::Call { handler: "log".into(), is_async: false });
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RuleDef {
    /// The rule's name, unique within its listener.
    pub name: String,
    /// The whole rule.
    pub span: Span,
    /// The name's span.
    pub name_span: Span,
    /// Warning codes silenced by `allow(…)` before the rule (kebab-case names, validated).
    pub allow: Vec<crate::diagnostic::Code>,
    /// The condition.
    pub cond: Cond,
    /// The actions, in order; `Continue` can only be last, `Drop` only alone.
    pub actions: Vec<Action>,
}

impl RuleDef {
    /// Whether the rule's actions end with `continue`.
    ///
    /// ```
    /// let program = dispatchio_dsl::load_str(
    ///     "game.route",
    ///     "listener l {\n\
    ///          rule count when sync => call count, continue\n\
    ///          rule serve when sync => queue work\n\
    ///      }",
    /// )?
    /// .program;
    /// let rules = &program.listeners()[0].rules;
    /// assert!(rules[0].continues());
    /// assert!(!rules[1].continues());
    /// # Ok::<(), dispatchio_dsl::LoadError>(())
    /// ```
    pub fn continues(&self) -> bool {
        matches!(self.actions.last(), Some(Action { kind: ActionKind::Continue, .. }))
    }
}

/// `otherwise => actions`
///
/// ```
/// use dispatchio_dsl::program::ActionKind;
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "listener l {\n rule urgent when blocking => queue urgent\n otherwise => call log, queue rest\n}",
/// )?
/// .program;
/// let otherwise = program.listeners()[0].otherwise.as_ref().unwrap();
/// let kinds: Vec<&ActionKind> = otherwise.actions.iter().map(|a| &a.kind).collect();
/// assert_eq!(
///     kinds,
///     [&ActionKind::Call { handler: "log".into(), is_async: false }, &ActionKind::Queue("rest".into())]
/// );
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Otherwise {
    /// The clause's span.
    pub span: Span,
    /// The actions (never `Continue`).
    pub actions: Vec<Action>,
}

/// One action of a rule.
///
/// ```
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "listener l { rule all when sync => queue work, forward audit }\n\
///      listener audit { rule all when sync => drop }",
/// )?
/// .program;
/// let action = &program.listeners()[0].rules[0].actions[1];
/// let text = &program.sources().get(action.span.file).text;
/// assert_eq!(&text[action.span.start as usize..action.span.end as usize], "forward audit");
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    /// What it does.
    pub kind: ActionKind,
    /// Where it is written.
    pub span: Span,
}

/// What an action does.
///
/// ```
/// use dispatchio_dsl::program::ActionKind;
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "listener l { rule all when not sync => call async review, queue seen, continue }",
/// )?
/// .program;
/// let kinds: Vec<&ActionKind> = program.listeners()[0].rules[0].actions.iter().map(|a| &a.kind).collect();
/// assert_eq!(
///     kinds,
///     [
///         &ActionKind::Call { handler: "review".into(), is_async: true },
///         &ActionKind::Queue("seen".into()),
///         &ActionKind::Continue,
///     ]
/// );
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// `call name` / `call async name`: run a handler; the first call's return is the reply.
    Call {
        /// The handler's name.
        handler: String,
        /// `call async`.
        is_async: bool,
    },
    /// `queue name`: push a copy onto the listener's queue `name`.
    Queue(String),
    /// `forward name`: hand the message to listener `name`.
    Forward(String),
    /// `drop`: discard on purpose.
    Drop,
    /// `continue`: keep searching after this rule.
    Continue,
}

/// A condition: a boolean formula over predicates.
///
/// ```
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "message Card { card: int }\n\
///      listener l { rule deal when type == Card and card < 52 => drop }",
/// )?
/// .program;
/// let cond = &program.listeners()[0].rules[0].cond;
/// let text = &program.sources().get(cond.span.file).text;
/// assert_eq!(&text[cond.span.start as usize..cond.span.end as usize], "type == Card and card < 52");
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Cond {
    /// The formula.
    pub kind: CondKind,
    /// Where it is written.
    pub span: Span,
}

/// The shape of a condition.
///
/// ```
/// use dispatchio_dsl::program::CondKind;
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "listener l { rule r when blocking and not (sync or is_response) => drop }",
/// )?
/// .program;
/// let CondKind::And(parts) = &program.listeners()[0].rules[0].cond.kind else { panic!("an and") };
/// assert!(matches!(parts[0].kind, CondKind::Pred(_)));
/// let CondKind::Not(inner) = &parts[1].kind else { panic!("a not") };
/// assert!(matches!(&inner.kind, CondKind::Or(alternatives) if alternatives.len() == 2));
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum CondKind {
    /// One test on one field.
    Pred(Pred),
    /// All of them hold (at least two operands).
    And(Vec<Cond>),
    /// At least one holds (at least two operands).
    Or(Vec<Cond>),
    /// It does not hold.
    Not(Box<Cond>),
}

/// A test on one field: `card < 52`, `source matches "enemy-*"`, `exists suit`.
///
/// ```
/// use dispatchio_dsl::program::{CondKind, FieldRef, Lit, Test, Type};
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "message Card { card: int }\n\
///      listener l { rule deal when type == Card and card < 52 => drop }",
/// )?
/// .program;
/// let CondKind::And(parts) = &program.listeners()[0].rules[0].cond.kind else { panic!("an and") };
/// let CondKind::Pred(card) = &parts[1].kind else { panic!("a predicate") };
/// assert_eq!(card.field, FieldRef::Content { path: vec!["card".into()], ty: Type::Int });
/// assert_eq!(card.test, Test::Lt(Lit::Int(52)));
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Pred {
    /// The field tested.
    pub field: FieldRef,
    /// The test.
    pub test: Test,
}

/// A field a predicate reads.
///
/// ```
/// use dispatchio_dsl::program::{CondKind, FieldRef};
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "listener l { rule r when source == \"bank\" and content.meta.level == 3 => drop }",
/// )?
/// .program;
/// let CondKind::And(parts) = &program.listeners()[0].rules[0].cond.kind else { panic!("an and") };
/// let fields: Vec<FieldRef> = parts
///     .iter()
///     .map(|c| match &c.kind {
///         CondKind::Pred(p) => p.field.clone(),
///         _ => panic!("a predicate"),
///     })
///     .collect();
/// let dynamic = FieldRef::Dynamic { path: vec!["meta".into(), "level".into()] };
/// assert_eq!(fields, [FieldRef::Source, dynamic]);
/// assert_eq!(fields[1].to_string(), "content.meta.level");
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FieldRef {
    /// The message type name; tests hold `Lit::Str` type names.
    Type,
    /// The message ID (`int`).
    Id,
    /// The source ID (`id?`).
    Source,
    /// The destination ID (`id?`).
    Dest,
    /// The group ID (`id?`).
    Group,
    /// The response-required flag.
    ResponseRequired,
    /// The is-response flag.
    IsResponse,
    /// The synchronous flag.
    Sync,
    /// The blocking flag.
    Blocking,
    /// A declared content field, by path (`card`, `pos.x`), with its declared
    /// type (the same in every type the message can have here).
    Content {
        /// Field names from the content root.
        path: Vec<String>,
        /// The declared type of the last field, `?` included.
        ty: Type,
    },
    /// `content.a.b`: a path into content of undeclared shape, typed `any`.
    Dynamic {
        /// Field names from the content root.
        path: Vec<String>,
    },
}

impl FieldRef {
    /// The field's static type (`type` counts as `string`).
    ///
    /// ```
    /// use dispatchio_dsl::program::{FieldRef, Type};
    ///
    /// assert_eq!(FieldRef::Type.ty(), Type::Str);
    /// assert_eq!(FieldRef::Group.ty(), Type::Optional(Box::new(Type::Id)));
    /// assert_eq!(FieldRef::Dynamic { path: vec!["meta".into()] }.ty(), Type::Any);
    /// ```
    pub fn ty(&self) -> Type {
        match self {
            FieldRef::Type => Type::Str,
            FieldRef::Id => Type::Int,
            FieldRef::Source | FieldRef::Dest | FieldRef::Group => {
                Type::Optional(Box::new(Type::Id))
            }
            FieldRef::ResponseRequired
            | FieldRef::IsResponse
            | FieldRef::Sync
            | FieldRef::Blocking => Type::Bool,
            FieldRef::Content { ty, .. } => ty.clone(),
            FieldRef::Dynamic { .. } => Type::Any,
        }
    }
}

impl FieldRef {
    /// Whether the field has `id` semantics: integer and string values are
    /// both well-typed and never equal, and string tests read an integer by
    /// its decimal text (`source`, `dest`, `group`, and content fields of
    /// type `id`, `id?` or `[id]`).
    ///
    /// ```
    /// use dispatchio_dsl::program::{FieldRef, Type};
    ///
    /// assert!(FieldRef::Source.is_id());
    /// let owners = FieldRef::Content { path: vec!["owners".into()], ty: Type::List(Box::new(Type::Id)) };
    /// assert!(owners.is_id());
    /// // The message ID is an `int`, not an `id`.
    /// assert!(!FieldRef::Id.is_id());
    /// ```
    pub fn is_id(&self) -> bool {
        match self {
            FieldRef::Source | FieldRef::Dest | FieldRef::Group => true,
            FieldRef::Content { ty, .. } => match ty.required() {
                Type::Id => true,
                Type::List(t) => matches!(t.required(), Type::Id),
                _ => false,
            },
            _ => false,
        }
    }
}

impl std::fmt::Display for FieldRef {
    /// The field as written in a `.route` file.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldRef::Type => f.write_str("type"),
            FieldRef::Id => f.write_str("id"),
            FieldRef::Source => f.write_str("source"),
            FieldRef::Dest => f.write_str("dest"),
            FieldRef::Group => f.write_str("group"),
            FieldRef::ResponseRequired => f.write_str("response_required"),
            FieldRef::IsResponse => f.write_str("is_response"),
            FieldRef::Sync => f.write_str("sync"),
            FieldRef::Blocking => f.write_str("blocking"),
            FieldRef::Content { path, .. } => f.write_str(&path.join(".")),
            FieldRef::Dynamic { path } => write!(f, "content.{}", path.join(".")),
        }
    }
}

/// What a predicate tests (`dispatchio-model`'s: one enum, and one
/// evaluation, for the checker's programs, the runtime and generated code).
/// Each is false on an absent field, except `Exists`; a `matches` glob is
/// parsed by the checker.
pub use dispatchio_model::Test;

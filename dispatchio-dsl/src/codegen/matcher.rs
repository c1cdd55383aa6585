//! Per listener: the handler trait, the listener type and the compiled matcher.
//!
//! How the matcher is made fast without changing what it means:
//!
//! * **Type first, once.** The envelope's type name is matched once against
//!   the *classes* the program can tell apart: each declared message type,
//!   each undeclared type name a condition mentions, and "any other name".
//!   Every rule's condition is partially evaluated for each class (a `type`
//!   test is a constant within a class), so a class's chain holds only the
//!   rules that can fire for it and never compares a type name again.
//! * **Typed fields.** Within a declared type's chain the content is
//!   downcast once to its struct and fields are read as struct fields. When
//!   the content is not that struct (content of another process that was not
//!   registered, see `register_content_types`), a fallback chain reads every
//!   field through the runtime's `Fields` abstraction, with the same meaning.
//! * **Shared work.** A run of consecutive rules that all constrain the same
//!   int or string field with `==`, `in` or ranges becomes one decision:
//!   a `match` on the value (equalities), a binary search over the range
//!   boundaries (a division when they are evenly spaced), or a `match` on a string's hash confirmed by one
//!   comparison. For one
//!   value only the rules whose constraint admits it remain, in order, so
//!   the rule-order semantics (first stopping rule wins, `continue`) are kept.
//! * **Stopping arms are data.** A decision arm whose first candidate always
//!   stops yields `Some((rule, steps))` from the `match`, and one
//!   `fired.stop` after it records the hit: the arms of a big table are a
//!   `match` yielding constants (which the compiler can turn into a lookup
//!   table), not thousands of copies of `fired.stop`. Arms with conditions
//!   or `continue` keep their code (and yield `None`).
//! * **No allocation.** Steps are `'static` slices copied into the caller's
//!   reusable `Fired` buffer; globs are static token
//!   arrays; an integer ID's text for string tests is formatted on the stack.
//!
//! How big tables stay compilable (the 10,000-rule benchmark table did not
//! finish LLVM's optimisation in ten minutes before; it now adds about 25 s
//! to a release build, see `docs/benchmarks.md`):
//!
//! * **Parts.** A chain of more than `PART_RULES` (64) rules is cut, between
//!   rules and decisions, into nested `#[inline(never)]` functions of at
//!   most that many rules, called in order; inside a part a stopping rule
//!   returns `true` and the caller returns in turn (`Ret`). A decision
//!   bigger than a part stays inline (its arms' own chains are cut), and an
//!   unconditional stop that ends a chain stays in the caller. LLVM's alias
//!   analysis is quadratic in a function's size; parts keep it linear in
//!   the table's.
//! * **Out of line where it is cold.** The `Fields` fallback is `#[cold]`,
//!   a test read through `Fields` is one call (`dyn_test_at`: the path walk
//!   and the test), and rules inside parts of such chains record through
//!   out-of-line `stop`/`fire` rather than inlined `Fired` methods.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::names::{camel, ident, listener_module, rust_ident};
use super::rt;
use super::types::{float_tokens, int_tokens};
use crate::program::{
    ActionKind, Cond, CondKind, FieldRef, ListenerDef, Lit, MessageDef, Pred, Program, RuleDef,
    Test, Type,
};
use dispatchio_model::str_hash;
use dispatchio_model::{Glob, GlobTok};

/// Shortest run of rules on one field worth a decision instead of a chain.
const MIN_RUN: usize = 4;

/// Most rules one generated function holds before its chain is cut into
/// parts (nested functions called in order).
///
/// LLVM's alias analysis grows quadratically with the size of a function
/// full of calls: the 10,000-rule benchmark table's `Fields` fallback, one
/// function of 10,000 `dyn_test` calls, did not finish optimising in ten
/// minutes. Parts of 64 rules keep each function small; the cost is one
/// call per 64 rules tried, on chains that try that many rules anyway.
const PART_RULES: usize = 64;

/// What a rule that stops does in the function being generated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ret {
    /// A route function: `return;`.
    Route,
    /// A part of a chain (see [`PART_RULES`]): `return true;`, and the
    /// caller returns in turn.
    Part,
}

impl Ret {
    fn stopped(self) -> TokenStream {
        match self {
            Ret::Route => quote!(return;),
            Ret::Part => quote!(return true;),
        }
    }
}

// ---------------------------------------------------------------- layout

/// The names behind a listener's step indices, in order of first use.
#[derive(Default)]
struct Layout {
    handlers: Vec<(String, bool)>,
    queues: Vec<String>,
    forwards: Vec<String>,
}

impl Layout {
    fn of(l: &ListenerDef) -> Layout {
        let mut out = Layout::default();
        let all = l
            .rules
            .iter()
            .flat_map(|r| &r.actions)
            .chain(l.otherwise.iter().flat_map(|o| &o.actions));
        for a in all {
            match &a.kind {
                ActionKind::Call { handler, is_async }
                    if !out.handlers.iter().any(|(n, _)| n == handler) =>
                {
                    out.handlers.push((handler.clone(), *is_async));
                }
                ActionKind::Queue(q) if !out.queues.contains(q) => out.queues.push(q.clone()),
                ActionKind::Forward(f) if !out.forwards.contains(f) => out.forwards.push(f.clone()),
                _ => {}
            }
        }
        out
    }

    fn steps(&self, actions: &[crate::program::Action]) -> TokenStream {
        let rt = rt();
        let steps = actions.iter().filter_map(|a| {
            let pos = |v: &[String], n: &str| v.iter().position(|x| x == n).unwrap_or(0);
            Some(match &a.kind {
                ActionKind::Call { handler, is_async } => {
                    let i = self.handlers.iter().position(|(n, _)| n == handler).unwrap_or(0);
                    if *is_async {
                        quote!(#rt::Step::CallAsync(#i))
                    } else {
                        quote!(#rt::Step::Call(#i))
                    }
                }
                ActionKind::Queue(q) => {
                    let i = pos(&self.queues, q);
                    quote!(#rt::Step::Queue(#i))
                }
                ActionKind::Forward(f) => {
                    let i = pos(&self.forwards, f);
                    quote!(#rt::Step::Forward(#i))
                }
                ActionKind::Drop => quote!(#rt::Step::Drop),
                ActionKind::Continue => return None,
            })
        });
        quote!(&[#(#steps),*])
    }
}

// ---------------------------------------------------------------- classes

/// A set of type names the matcher does not tell apart.
#[derive(Clone, Debug)]
enum Class<'a> {
    /// A declared message type.
    Declared(&'a MessageDef),
    /// An undeclared type name a condition mentions.
    Named(String),
    /// Every other type name.
    Other,
}

fn classes(program: &Program) -> Vec<Class<'_>> {
    let mut out: Vec<Class<'_>> = program.messages().iter().map(Class::Declared).collect();
    let mut names = BTreeSet::new();
    fn walk(c: &Cond, names: &mut BTreeSet<String>) {
        match &c.kind {
            CondKind::Pred(Pred { field: FieldRef::Type, test }) => {
                let lits: &[Lit] = match test {
                    Test::Eq(l) | Test::Ne(l) => std::slice::from_ref(l),
                    Test::In(s) | Test::NotIn(s) => s,
                    _ => &[],
                };
                for l in lits {
                    if let Lit::Str(s) = l {
                        names.insert(s.to_string());
                    }
                }
            }
            CondKind::Pred(_) => {}
            CondKind::And(cs) | CondKind::Or(cs) => cs.iter().for_each(|c| walk(c, names)),
            CondKind::Not(c) => walk(c, names),
        }
    }
    for l in program.listeners() {
        for r in &l.rules {
            walk(&r.cond, &mut names);
        }
    }
    for n in names {
        if program.message(&n).is_none() {
            out.push(Class::Named(n));
        }
    }
    out.push(Class::Other);
    out
}

// ---------------------------------------------------------------- partial evaluation

/// A condition with the `type` tests a class decides replaced by constants.
#[derive(Clone, Debug)]
enum P<'a> {
    Const(bool),
    Pred(&'a Pred),
    And(Vec<P<'a>>),
    Or(Vec<P<'a>>),
    Not(Box<P<'a>>),
}

impl P<'_> {
    fn is_false(&self) -> bool {
        matches!(self, P::Const(false))
    }
}

/// `cond` within `class` (`None`: nothing known, every test stays).
fn simplify<'a>(cond: &'a Cond, class: Option<&Class<'_>>) -> P<'a> {
    match &cond.kind {
        CondKind::Pred(p) => match (&p.field, class) {
            (FieldRef::Type, Some(Class::Declared(m))) => type_const(&p.test, &m.name),
            (FieldRef::Type, Some(Class::Named(n))) => type_const(&p.test, n),
            (FieldRef::Type, Some(Class::Other)) => match &p.test {
                // Every literal a type test holds names a class of its own.
                Test::Eq(_) | Test::In(_) => P::Const(false),
                Test::Ne(_) | Test::NotIn(_) | Test::Exists => P::Const(true),
                _ => P::Pred(p),
            },
            _ => P::Pred(p),
        },
        CondKind::And(cs) => junction(cs, class, true),
        CondKind::Or(cs) => junction(cs, class, false),
        CondKind::Not(c) => match simplify(c, class) {
            P::Const(b) => P::Const(!b),
            p => P::Not(Box::new(p)),
        },
    }
}

/// An `and` (`is_and`) or an `or` of `cs`, simplified: the neutral constant
/// (`true` for `and`) drops out, the absorbing one decides the whole, and
/// nested junctions of the same kind are flattened.
fn junction<'a>(cs: &'a [Cond], class: Option<&Class<'_>>, is_and: bool) -> P<'a> {
    let mut out = Vec::new();
    for c in cs {
        match simplify(c, class) {
            P::Const(b) if b == is_and => {}
            P::Const(b) => return P::Const(b),
            P::And(inner) if is_and => out.extend(inner),
            P::Or(inner) if !is_and => out.extend(inner),
            p => out.push(p),
        }
    }
    match out.len() {
        0 => P::Const(is_and),
        1 => out.pop().unwrap_or(P::Const(is_and)),
        _ if is_and => P::And(out),
        _ => P::Or(out),
    }
}

fn type_const(test: &Test, name: &str) -> P<'static> {
    P::Const(test.eval(Some(dispatchio_model::Value::Str(name)), false))
}

// ---------------------------------------------------------------- field reads

/// How generated code reads a field.
enum Read {
    /// Always present: a place expression of the leaf's Rust type (or `&str`
    /// for `Borrowed` strings).
    Direct(TokenStream),
    /// Maybe absent: an `Option<&Leaf>` expression.
    Opt(TokenStream),
    /// Never present in this class (a path through a field the type lacks).
    Absent,
}

/// Whether a string place is a `String` (`Owned`) or a `&str` expression.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StrKind {
    Owned,
    Borrowed,
}

/// Where content fields are read from.
#[derive(Clone, Copy)]
enum Mode<'a> {
    /// The content was downcast to the struct `c`.
    Typed(&'a MessageDef),
    /// Through `Fields` on `content`.
    Dyn,
}

struct Gen<'a> {
    program: &'a Program,
    layout: &'a Layout,
    /// How many chain parts are made so far (their names are `part_{n}`).
    parts: std::cell::Cell<usize>,
}

impl<'a> Gen<'a> {
    /// How to read a declared content path from the struct `c` of `m`.
    fn typed_read(&self, m: &MessageDef, path: &[String]) -> (Read, Type) {
        let mut cur = quote!(c);
        let mut optional = false;
        let mut msg = m;
        let mut leaf = Type::Bool;
        for (i, seg) in path.iter().enumerate() {
            let Some(f) = msg.field(seg) else { return (Read::Absent, Type::Bool) };
            let id = rust_ident(seg);
            let boxed = self.program.is_boxed(&msg.name, seg);
            let last = i + 1 == path.len();
            match (optional, f.ty.is_optional()) {
                (false, false) => {
                    cur = if boxed { quote!((*#cur.#id)) } else { quote!(#cur.#id) };
                }
                (false, true) => {
                    cur =
                        if boxed { quote!(#cur.#id.as_deref()) } else { quote!(#cur.#id.as_ref()) };
                    optional = true;
                }
                (true, false) => {
                    cur = if boxed {
                        quote!(#cur.map(|x| &*x.#id))
                    } else {
                        quote!(#cur.map(|x| &x.#id))
                    };
                }
                (true, true) => {
                    cur = if boxed {
                        quote!(#cur.and_then(|x| x.#id.as_deref()))
                    } else {
                        quote!(#cur.and_then(|x| x.#id.as_ref()))
                    };
                }
            }
            leaf = f.ty.required().clone();
            if !last {
                match &leaf {
                    Type::Message(n) => match self.program.message(n) {
                        Some(next) => msg = next,
                        None => return (Read::Absent, Type::Bool),
                    },
                    // Only messages have fields.
                    _ => return (Read::Absent, Type::Bool),
                }
            }
        }
        (if optional { Read::Opt(cur) } else { Read::Direct(cur) }, leaf)
    }

    /// A predicate as a boolean expression.
    fn pred(&self, p: &Pred, mode: Mode<'_>) -> TokenStream {
        let (read, leaf, strkind) = match (&p.field, mode) {
            (FieldRef::Type, _) => {
                (Read::Direct(quote!(env.ty.as_str())), Type::Str, StrKind::Borrowed)
            }
            (FieldRef::Id, _) => (Read::Direct(quote!(env.id.0)), Type::Int, StrKind::Owned),
            (FieldRef::Source, _) => {
                (Read::Opt(quote!(env.source.as_ref())), Type::Id, StrKind::Owned)
            }
            (FieldRef::Dest, _) => (Read::Opt(quote!(env.dest.as_ref())), Type::Id, StrKind::Owned),
            (FieldRef::Group, _) => {
                (Read::Opt(quote!(env.group.as_ref())), Type::Id, StrKind::Owned)
            }
            (FieldRef::ResponseRequired, _) => {
                (Read::Direct(quote!(env.response_required)), Type::Bool, StrKind::Owned)
            }
            (FieldRef::IsResponse, _) => {
                (Read::Direct(quote!(env.is_response)), Type::Bool, StrKind::Owned)
            }
            (FieldRef::Sync, _) => (Read::Direct(quote!(env.sync)), Type::Bool, StrKind::Owned),
            (FieldRef::Blocking, _) => {
                (Read::Direct(quote!(env.blocking)), Type::Bool, StrKind::Owned)
            }
            (FieldRef::Content { path, .. }, Mode::Typed(m)) => {
                let (read, leaf) = self.typed_read(m, path);
                (read, leaf, StrKind::Owned)
            }
            (FieldRef::Content { path, .. } | FieldRef::Dynamic { path }, _) => {
                return self.dyn_pred(path, &p.test, p.field.is_id());
            }
        };
        match read {
            Read::Absent => quote!(false),
            Read::Direct(place) => leaf_test(&place, &leaf, strkind, &p.test),
            Read::Opt(opt) => {
                if p.test == Test::Exists {
                    return quote!(#opt.is_some());
                }
                let inner = leaf_test(&quote!((*v)), &leaf, strkind, &p.test);
                if inner.to_string() == "false" {
                    return quote!(false);
                }
                quote!(match #opt { ::std::option::Option::Some(v) => #inner, ::std::option::Option::None => false })
            }
        }
    }

    /// A test on a path read through `Fields`, by the runtime's `dyn_test`.
    fn dyn_pred(&self, path: &[String], test: &Test, id: bool) -> TokenStream {
        let rt = rt();
        let t = dyn_test(test);
        quote!(#rt::dyn_test_at(content, &[#(#path),*], &#t, #id))
    }

    fn cond(&self, p: &P<'_>, mode: Mode<'_>) -> TokenStream {
        match p {
            P::Const(b) => quote!(#b),
            P::Pred(pred) => self.pred(pred, mode),
            P::And(ps) => {
                let ps = ps.iter().map(|p| self.cond(p, mode));
                quote!((#(#ps)&&*))
            }
            P::Or(ps) => {
                let ps = ps.iter().map(|p| self.cond(p, mode));
                quote!((#(#ps)||*))
            }
            P::Not(p) => {
                // Parenthesised: `!` binds tighter than `==`, and `!c.n == 1`
                // would be the bitwise not of an int compared with 1.
                let p = self.cond(p, mode);
                quote!(!(#p))
            }
        }
    }
}

// ---------------------------------------------------------------- leaf tests

fn strref(place: &TokenStream, kind: StrKind) -> TokenStream {
    match kind {
        StrKind::Owned => quote!(#place.as_str()),
        StrKind::Borrowed => quote!(#place),
    }
}

fn or_all(parts: Vec<TokenStream>) -> TokenStream {
    match parts.len() {
        0 => quote!(false),
        1 => parts.into_iter().next().unwrap_or_else(|| quote!(false)),
        _ => quote!((#(#parts)||*)),
    }
}

/// `Some(code)` when `place` (of leaf type `ty`) and `l` are comparable with
/// `op` (`==`, `!=`, `<`, …); `None` when incomparable (the test is false).
fn compare(
    place: &TokenStream,
    ty: &Type,
    kind: StrKind,
    op: &str,
    l: &Lit,
) -> Option<TokenStream> {
    let rt = rt();
    let op: TokenStream = op.parse().unwrap_or_default();
    let ordered = !matches!(op.to_string().as_str(), "==" | "!=");
    match (ty, l) {
        (Type::Int, Lit::Int(i)) => {
            let i = int_tokens(*i);
            Some(quote!(#place #op #i))
        }
        (Type::Int, Lit::Float(x)) => {
            let x = float_tokens(*x);
            Some(quote!((#place as f64) #op #x))
        }
        (Type::Float, Lit::Float(x)) => {
            let x = float_tokens(*x);
            Some(quote!(#place #op #x))
        }
        (Type::Float, Lit::Int(i)) => {
            let x = float_tokens(*i as f64);
            Some(quote!(#place #op #x))
        }
        (Type::Bool, Lit::Bool(b)) if !ordered => {
            // `x == true` reads better as `x`.
            let positive = (op.to_string() == "==") == *b;
            Some(if positive { quote!(#place) } else { quote!(!#place) })
        }
        (Type::Str, Lit::Str(s)) if !ordered => {
            let (r, s) = (strref(place, kind), s.as_str());
            Some(quote!(#r #op #s))
        }
        (Type::Id, Lit::Int(i)) if !ordered => {
            let i = int_tokens(*i);
            let eq = quote!(#rt::id_is_int(&#place, #i));
            Some(if op.to_string() == "==" { eq } else { quote!(!#eq) })
        }
        (Type::Id, Lit::Str(s)) if !ordered => {
            let s = s.as_str();
            let eq = quote!(#rt::id_is_str(&#place, #s));
            Some(if op.to_string() == "==" { eq } else { quote!(!#eq) })
        }
        _ => None,
    }
}

/// The string a string test sees: `Some((setup, text))` for strings and IDs.
fn text_test(
    place: &TokenStream,
    ty: &Type,
    kind: StrKind,
    f: impl Fn(TokenStream) -> TokenStream,
) -> TokenStream {
    let rt = rt();
    match ty {
        Type::Str => f(strref(place, kind)),
        Type::Id => {
            let body = f(quote!(t));
            quote!(#rt::id_text(&#place, |t: &str| #body))
        }
        _ => quote!(false),
    }
}

/// A test on a present value at `place` of leaf type `ty`.
fn leaf_test(place: &TokenStream, ty: &Type, kind: StrKind, test: &Test) -> TokenStream {
    let rt = rt();
    let cmp = |op: &str, l: &Lit| compare(place, ty, kind, op, l).unwrap_or_else(|| quote!(false));
    match test {
        Test::Exists => quote!(true),
        Test::IsTrue => match ty {
            Type::Bool => quote!(#place),
            _ => quote!(false),
        },
        Test::Eq(l) => cmp("==", l),
        Test::Ne(l) => cmp("!=", l),
        Test::Lt(l) => cmp("<", l),
        Test::Le(l) => cmp("<=", l),
        Test::Gt(l) => cmp(">", l),
        Test::Ge(l) => cmp(">=", l),
        Test::In(set) | Test::NotIn(set) => {
            let negate = matches!(test, Test::NotIn(_));
            let eqs: Vec<TokenStream> =
                set.iter().filter_map(|l| compare(place, ty, kind, "==", l)).collect();
            if eqs.is_empty() {
                return quote!(false);
            }
            // A `matches!` with or-patterns for literal sets of ints and strings.
            let pattern = match ty {
                Type::Int if set.iter().all(|l| matches!(l, Lit::Int(_))) => {
                    let pats = set.iter().filter_map(|l| match l {
                        Lit::Int(i) => Some(int_tokens(*i)),
                        _ => None,
                    });
                    Some(quote!(matches!(#place, #(#pats)|*)))
                }
                Type::Str if set.iter().all(|l| matches!(l, Lit::Str(_))) => {
                    let r = strref(place, kind);
                    let pats = set.iter().filter_map(|l| match l {
                        Lit::Str(s) => Some(Literal::string(s)),
                        _ => None,
                    });
                    Some(quote!(matches!(#r, #(#pats)|*)))
                }
                _ => None,
            };
            let any = pattern.unwrap_or_else(|| or_all(eqs));
            if negate { quote!(!#any) } else { any }
        }
        Test::Matches(g) => {
            let toks = glob_tokens(g);
            text_test(place, ty, kind, |t| quote!(#rt::glob_match(#toks, #t)))
        }
        Test::StartsWith(s) => {
            let s = s.as_str();
            text_test(place, ty, kind, |t| quote!(#t.starts_with(#s)))
        }
        Test::EndsWith(s) => {
            let s = s.as_str();
            text_test(place, ty, kind, |t| quote!(#t.ends_with(#s)))
        }
        Test::Contains(l) => match ty {
            Type::List(elem) => {
                let (elem, optional) = match &**elem {
                    Type::Optional(t) => (&**t, true),
                    t => (t, false),
                };
                let eq = leaf_test(&quote!((*e)), elem, StrKind::Owned, &Test::Eq(l.clone()));
                if eq.to_string() == "false" {
                    quote!(false)
                } else if optional {
                    quote!(#place.iter().any(|e| match e { ::std::option::Option::Some(e) => #eq, ::std::option::Option::None => false }))
                } else {
                    quote!(#place.iter().any(|e| #eq))
                }
            }
            _ => match l {
                Lit::Str(s) => {
                    let s = s.as_str();
                    text_test(place, ty, kind, |t| quote!(#t.contains(#s)))
                }
                _ => quote!(false),
            },
        },
    }
}

/// A glob as a `&'static [GlobTok]` expression: the tokens the checker
/// parsed, matched at run time by the model's one glob matcher
/// (`dispatchio_model::match_tokens`).
fn glob_tokens(glob: &Glob) -> TokenStream {
    let rt = rt();
    let toks = glob.tokens().iter().map(|t| match t {
        GlobTok::Char(c) => quote!(#rt::GlobTok::Char(#c)),
        GlobTok::Any => quote!(#rt::GlobTok::Any),
        GlobTok::Star => quote!(#rt::GlobTok::Star),
        GlobTok::Class { negated, ranges } => {
            let ranges = ranges.iter().map(|(a, b)| quote!((#a, #b)));
            quote!(#rt::GlobTok::Class { negated: #negated, ranges: &[#(#ranges),*] })
        }
    });
    quote!(&[#(#toks),*])
}

fn dyn_lit(l: &Lit) -> TokenStream {
    let rt = rt();
    match l {
        Lit::Bool(b) => quote!(#rt::DynLit::Bool(#b)),
        Lit::Int(i) => {
            let i = int_tokens(*i);
            quote!(#rt::DynLit::Int(#i))
        }
        Lit::Float(x) => {
            let x = float_tokens(*x);
            quote!(#rt::DynLit::Float(#x))
        }
        Lit::Str(s) => {
            let s = s.as_str();
            quote!(#rt::DynLit::Str(#s))
        }
    }
}

fn dyn_test(t: &Test) -> TokenStream {
    let rt = rt();
    match t {
        // The comparisons differ only in the variant: `DynTest::<Op>(lit)`.
        Test::Eq(l) | Test::Ne(l) | Test::Lt(l) | Test::Le(l) | Test::Gt(l) | Test::Ge(l) => {
            let op = match t {
                Test::Eq(_) => quote!(Eq),
                Test::Ne(_) => quote!(Ne),
                Test::Lt(_) => quote!(Lt),
                Test::Le(_) => quote!(Le),
                Test::Gt(_) => quote!(Gt),
                _ => quote!(Ge),
            };
            let l = dyn_lit(l);
            quote!(#rt::DynTest::#op(#l))
        }
        Test::In(s) => {
            let s = s.iter().map(dyn_lit);
            quote!(#rt::DynTest::In(&[#(#s),*]))
        }
        Test::NotIn(s) => {
            let s = s.iter().map(dyn_lit);
            quote!(#rt::DynTest::NotIn(&[#(#s),*]))
        }
        Test::Matches(g) => {
            let g = glob_tokens(g);
            quote!(#rt::DynTest::Matches(#g))
        }
        Test::StartsWith(s) => {
            let s = s.as_str();
            quote!(#rt::DynTest::StartsWith(#s))
        }
        Test::EndsWith(s) => {
            let s = s.as_str();
            quote!(#rt::DynTest::EndsWith(#s))
        }
        Test::Contains(l) => {
            let l = dyn_lit(l);
            quote!(#rt::DynTest::Contains(#l))
        }
        Test::Exists => quote!(#rt::DynTest::Exists),
        Test::IsTrue => quote!(#rt::DynTest::IsTrue),
    }
}

// ---------------------------------------------------------------- chains

/// One rule as a chain sees it: its condition within the chain's class.
#[derive(Clone)]
struct Item<'a> {
    index: usize,
    rule: &'a RuleDef,
    cond: P<'a>,
}

/// What a rule constrains a keyable field to.
#[derive(Clone, Debug, PartialEq)]
enum Key {
    /// Sorted disjoint inclusive intervals.
    Ints(Vec<(i64, i64)>),
    /// A set of strings.
    Strs(BTreeSet<String>),
}

impl Key {
    fn meet(self, other: Key) -> Option<Key> {
        match (self, other) {
            (Key::Ints(a), Key::Ints(b)) => {
                let mut out = Vec::new();
                for &(l1, h1) in &a {
                    for &(l2, h2) in &b {
                        let (l, h) = (l1.max(l2), h1.min(h2));
                        if l <= h {
                            out.push((l, h));
                        }
                    }
                }
                out.sort_unstable();
                Some(Key::Ints(out))
            }
            (Key::Strs(a), Key::Strs(b)) => Some(Key::Strs(a.intersection(&b).cloned().collect())),
            _ => None,
        }
    }
}

/// The constraint a predicate puts on an int or string field, if it is one
/// a decision can use.
fn key_of(test: &Test, leaf: &Type) -> Option<Key> {
    match leaf {
        Type::Int => {
            let int = |l: &Lit| match l {
                Lit::Int(i) => Some(*i),
                _ => None,
            };
            let iv = match test {
                Test::Eq(l) => {
                    let i = int(l)?;
                    vec![(i, i)]
                }
                Test::Lt(l) => {
                    let i = int(l)?;
                    if i == i64::MIN { vec![] } else { vec![(i64::MIN, i - 1)] }
                }
                Test::Le(l) => vec![(i64::MIN, int(l)?)],
                Test::Gt(l) => {
                    let i = int(l)?;
                    if i == i64::MAX { vec![] } else { vec![(i + 1, i64::MAX)] }
                }
                Test::Ge(l) => vec![(int(l)?, i64::MAX)],
                Test::In(s) => {
                    let mut v: Vec<(i64, i64)> =
                        s.iter().map(|l| int(l).map(|i| (i, i))).collect::<Option<_>>()?;
                    v.sort_unstable();
                    v.dedup();
                    v
                }
                _ => return None,
            };
            Some(Key::Ints(iv))
        }
        Type::Str => match test {
            Test::Eq(Lit::Str(s)) => Some(Key::Strs(BTreeSet::from([s.to_string()]))),
            Test::In(s) => s
                .iter()
                .map(|l| match l {
                    Lit::Str(s) => Some(s.to_string()),
                    _ => None,
                })
                .collect::<Option<BTreeSet<_>>>()
                .map(Key::Strs),
            _ => None,
        },
        _ => None,
    }
}

impl<'a> Gen<'a> {
    /// The keyable conjuncts of an item: (field, constraint, conjunct index).
    fn keys(&self, item: &Item<'a>, m: &MessageDef) -> Vec<(&'a FieldRef, Key, usize)> {
        let conj: Vec<&P<'a>> = match &item.cond {
            P::And(v) => v.iter().collect(),
            p => vec![p],
        };
        let mut out = Vec::new();
        for (i, c) in conj.into_iter().enumerate() {
            let P::Pred(p) = c else { continue };
            let leaf = match &p.field {
                FieldRef::Id => Type::Int,
                FieldRef::Content { path, .. } => match self.typed_read(m, path) {
                    (Read::Absent, _) => continue,
                    (_, leaf) => leaf,
                },
                _ => continue,
            };
            if let Some(k) = key_of(&p.test, &leaf) {
                out.push((&p.field, k, i));
            }
        }
        out
    }

    /// The constraint of `item` on `field` (all its conjuncts on it, met) and
    /// the item with those conjuncts removed.
    fn split(&self, item: &Item<'a>, field: &FieldRef, m: &MessageDef) -> Option<(Key, Item<'a>)> {
        let keys = self.keys(item, m);
        let mut key: Option<Key> = None;
        let mut used = BTreeSet::new();
        for (f, k, i) in keys {
            if f == field {
                key = Some(match key {
                    None => k,
                    Some(prev) => prev.meet(k)?,
                });
                used.insert(i);
            }
        }
        let key = key?;
        let rest: Vec<P<'a>> = match &item.cond {
            P::And(v) => v
                .iter()
                .enumerate()
                .filter(|(i, _)| !used.contains(i))
                .map(|(_, p)| p.clone())
                .collect(),
            _ => Vec::new(),
        };
        let cond = match rest.len() {
            0 => P::Const(true),
            1 => rest.into_iter().next().unwrap_or(P::Const(true)),
            _ => P::And(rest),
        };
        Some((key, Item { index: item.index, rule: item.rule, cond }))
    }

    /// One rule: run its steps if its condition holds; return if it stops.
    fn rule(&self, item: &Item<'_>, mode: Mode<'_>, ret: Ret) -> TokenStream {
        let steps = self.layout.steps(&item.rule.actions);
        let i = item.index;
        let stopped = ret.stopped();
        // A part of a chain read through `Fields` (the cold fallback of a
        // big table) records out of line: thousands of inlined copies of
        // `Fired::stop` would cost compile time and buy nothing.
        let body = match (item.rule.continues(), mode, ret) {
            (true, Mode::Dyn, Ret::Part) => {
                let rt = rt();
                quote!(#rt::fire(fired, #i, #steps);)
            }
            (true, _, _) => quote!(fired.rule(#i, #steps);),
            (false, Mode::Dyn, Ret::Part) => {
                let rt = rt();
                quote!(#rt::stop(fired, #i, #steps); #stopped)
            }
            (false, _, _) => quote!(fired.stop(#i, #steps); #stopped),
        };
        match &item.cond {
            P::Const(true) => quote!({ #body }),
            P::Const(false) => quote!(),
            // No parentheses around a condition that is an `&&` or `||`
            // chain: `if` needs none.
            P::And(ps) | P::Or(ps) => {
                let ps = ps.iter().map(|p| self.cond(p, mode));
                let c = if matches!(item.cond, P::And(_)) {
                    quote!(#(#ps)&&*)
                } else {
                    quote!(#(#ps)||*)
                };
                quote!(if #c { #body })
            }
            c => {
                let c = self.cond(c, mode);
                quote!(if #c { #body })
            }
        }
    }

    /// Rules in order, with runs on one field turned into decisions, and
    /// whether the chain ends with a rule that always stops (then nothing
    /// may follow it: it would be unreachable).
    ///
    /// A chain of more than [`PART_RULES`] rules is cut, between rules and
    /// decisions, into parts of at most that many rules, each a nested
    /// `#[inline(never)]` function called in order (see [`PART_RULES`] for
    /// why); a decision bigger than a part stays inline.
    fn chain_ends(&self, items: &[Item<'a>], mode: Mode<'_>, ret: Ret) -> (TokenStream, bool) {
        // (code, first item, end) per rule or decision, in order.
        let mut segments: Vec<(TokenStream, usize, usize)> = Vec::new();
        let mut terminated = false;
        let mut i = 0;
        while i < items.len() {
            if let Mode::Typed(m) = mode {
                if let Some((end, tree)) = self.run(items, i, m, ret) {
                    segments.push((tree, i, end));
                    i = end;
                    continue;
                }
            }
            let item = &items[i];
            segments.push((self.rule(item, mode, ret), i, i + 1));
            // Nothing after an unconditional stop can run.
            if matches!(item.cond, P::Const(true)) && !item.rule.continues() {
                terminated = true;
                break;
            }
            i += 1;
        }
        let total = segments.last().map_or(0, |(_, _, end)| *end);
        if total <= PART_RULES || segments.len() < 2 {
            let code = segments.into_iter().map(|(code, _, _)| code);
            return (quote!(#(#code)*), terminated);
        }
        // The unconditional stop that ends a terminated chain stays here, so
        // that every part can end in `false` (reachable).
        let tail = if terminated { segments.pop().map(|(code, _, _)| code) } else { None };
        // Consecutive segments of at most PART_RULES rules in all form a
        // part; a bigger decision stays inline (its own arms are cut if
        // they are long), saving a call on the way to it.
        enum Group {
            Part(usize, usize),
            Inline(TokenStream),
        }
        let mut groups: Vec<Group> = Vec::new();
        for (code, start, end) in segments {
            match groups.last_mut() {
                _ if end - start > PART_RULES => groups.push(Group::Inline(code)),
                Some(Group::Part(first, last)) if end - *first <= PART_RULES => *last = end,
                _ => groups.push(Group::Part(start, end)),
            }
        }
        let rt = rt();
        let (params, args) = match mode {
            Mode::Typed(m) => {
                let n = rust_ident(&m.name);
                (
                    quote!(env: &#rt::Envelope, c: &super::#n, content: &dyn #rt::Content, fired: &mut #rt::Fired),
                    quote!(env, c, content, fired),
                )
            }
            Mode::Dyn => (
                quote!(env: &#rt::Envelope, content: &dyn #rt::Content, fired: &mut #rt::Fired),
                quote!(env, content, fired),
            ),
        };
        let unused = match mode {
            Mode::Typed(_) => quote!(let _ = (env, c, content);),
            Mode::Dyn => quote!(let _ = (env, content);),
        };
        let stopped = ret.stopped();
        let parts = groups.into_iter().map(|group| {
            let (start, end) = match group {
                Group::Part(start, end) => (start, end),
                Group::Inline(code) => return code,
            };
            // Made again from the part's rules: within a part, a stopping
            // rule reports `true` to the caller instead of returning `()`.
            // The part starts and ends between segments, so it is cut into
            // the same rules and decisions.
            let (body, _) = self.chain_ends(&items[start..end], mode, Ret::Part);
            let f = ident(&format!("part_{}", self.parts.get()));
            self.parts.set(self.parts.get() + 1);
            quote! {
                #[inline(never)]
                fn #f(#params) -> bool {
                    #unused
                    #body
                    false
                }
                if #f(#args) { #stopped }
            }
        });
        (quote!(#(#parts)* #tail), terminated)
    }

    /// A decision for the longest run starting at `start`, if long enough.
    fn run(
        &self,
        items: &[Item<'a>],
        start: usize,
        m: &MessageDef,
        ret: Ret,
    ) -> Option<(usize, TokenStream)> {
        let mut best: Option<(&FieldRef, usize)> = None;
        for (field, _, _) in self.keys(&items[start], m) {
            let mut end = start + 1;
            while end < items.len() && self.keys(&items[end], m).iter().any(|(f, _, _)| *f == field)
            {
                end += 1;
            }
            if best.is_none_or(|(_, e)| end > e) {
                best = Some((field, end));
            }
        }
        let (field, end) = best?;
        if end - start < MIN_RUN {
            return None;
        }
        let mut split = Vec::new();
        for item in &items[start..end] {
            split.push(self.split(item, field, m)?);
        }
        let tree = self.decision(field, &split, m, ret)?;
        Some((end, tree))
    }

    /// The decision over `field` for items with their constraints on it.
    fn decision(
        &self,
        field: &FieldRef,
        items: &[(Key, Item<'a>)],
        m: &MessageDef,
        ret: Ret,
    ) -> Option<TokenStream> {
        let (read, leaf) = match field {
            FieldRef::Id => (Read::Direct(quote!(env.id.0)), Type::Int),
            FieldRef::Content { path, .. } => self.typed_read(m, path),
            _ => return None,
        };
        let mode = Mode::Typed(m);
        // An arm whose first candidate always stops is a *hit*: the arm
        // only yields that rule and its steps, and one `fired.stop` after
        // the `match` records it. Big tables are mostly such arms; as data
        // they cost the compiler (and the instruction cache) far less than
        // a copy of `fired.stop` each.
        let simple = |it: &Item<'_>| matches!(it.cond, P::Const(true)) && !it.rule.continues();
        let hits = items.iter().any(|(_, it)| simple(it));
        // Candidates per arm: the items whose constraint admits the arm's
        // values, in order. The arm's right-hand side, with its comma.
        let arm = |members: &[usize]| -> TokenStream {
            let first = &items[members[0]].1;
            if hits && simple(first) {
                let i = first.index;
                let steps = self.layout.steps(&first.rule.actions);
                return quote!(::std::option::Option::Some((#i, #steps)),);
            }
            let sub: Vec<Item<'a>> = members.iter().map(|&k| items[k].1.clone()).collect();
            match self.chain_ends(&sub, mode, ret) {
                (body, false) if hits => quote!({ #body ::std::option::Option::None }),
                (body, _) => quote!({ #body }),
            }
        };
        // The `match` over `scrutinee` with these arms, and the hit's record.
        let decide = |scrutinee: TokenStream, arms: Vec<TokenStream>| -> TokenStream {
            if !hits {
                return quote!(match #scrutinee { #(#arms)* _ => {} });
            }
            let rt = rt();
            let stopped = ret.stopped();
            quote! {
                let hit: ::std::option::Option<(usize, &'static [#rt::Step])> = match #scrutinee {
                    #(#arms)*
                    _ => ::std::option::Option::None,
                };
                if let ::std::option::Option::Some((rule, steps)) = hit {
                    fired.stop(rule, steps);
                    #stopped
                }
            }
        };
        let body = match &leaf {
            Type::Int => {
                let ivs: Vec<&Vec<(i64, i64)>> = items
                    .iter()
                    .map(|(k, _)| match k {
                        Key::Ints(v) => Some(v),
                        Key::Strs(_) => None,
                    })
                    .collect::<Option<_>>()?;
                let points = ivs.iter().all(|v| v.iter().all(|(l, h)| l == h));
                if points {
                    // value -> items admitting it; arms grouped by identical item lists.
                    let mut by_value: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
                    for (k, v) in ivs.iter().enumerate() {
                        for &(x, _) in v.iter() {
                            by_value.entry(x).or_default().push(k);
                        }
                    }
                    let mut groups: BTreeMap<Vec<usize>, Vec<i64>> = BTreeMap::new();
                    for (x, members) in by_value {
                        groups.entry(members).or_default().push(x);
                    }
                    let mut arms: Vec<(i64, TokenStream)> = groups
                        .into_iter()
                        .map(|(members, values)| {
                            let first = values[0];
                            let pats = values.iter().map(|x| int_tokens(*x));
                            let rhs = arm(&members);
                            (first, quote!(#(#pats)|* => #rhs))
                        })
                        .collect();
                    arms.sort_by_key(|(first, _)| *first);
                    decide(quote!(v), arms.into_iter().map(|(_, a)| a).collect())
                } else {
                    let mut cuts = BTreeSet::new();
                    for v in &ivs {
                        for &(l, h) in v.iter() {
                            if l > i64::MIN {
                                cuts.insert(l);
                            }
                            if h < i64::MAX {
                                cuts.insert(h + 1);
                            }
                        }
                    }
                    let cuts: Vec<i64> = cuts.into_iter().collect();
                    let mut groups: BTreeMap<Vec<usize>, Vec<usize>> = BTreeMap::new();
                    let mut total = 0;
                    for seg in 0..=cuts.len() {
                        let rep = if seg == 0 { i64::MIN } else { cuts[seg - 1] };
                        let members: Vec<usize> = ivs
                            .iter()
                            .enumerate()
                            .filter(|(_, v)| v.iter().any(|&(l, h)| l <= rep && rep <= h))
                            .map(|(k, _)| k)
                            .collect();
                        total += members.len();
                        if !members.is_empty() {
                            groups.entry(members).or_default().push(seg);
                        }
                    }
                    // Wide overlapping ranges would copy rules into many arms.
                    if total > 4 * items.len() + 16 {
                        return None;
                    }
                    let mut arms: Vec<(usize, TokenStream)> = groups
                        .into_iter()
                        .map(|(members, segs)| {
                            let first = segs[0];
                            let rhs = arm(&members);
                            (first, quote!(#(#segs)|* => #rhs))
                        })
                        .collect();
                    arms.sort_by_key(|(first, _)| *first);
                    let arms: Vec<TokenStream> = arms.into_iter().map(|(_, a)| a).collect();
                    // Evenly spaced boundaries (buckets of one width) are
                    // counted with one division instead of a search.
                    let step =
                        cuts.get(1).zip(cuts.first()).map(|(b, a)| i128::from(*b) - i128::from(*a));
                    let even = cuts.len() >= 8
                        && step.is_some_and(|d| d > 0)
                        && cuts
                            .windows(2)
                            .all(|w| i128::from(w[1]) - i128::from(w[0]) == step.unwrap_or(0));
                    if even {
                        let first = int_tokens(cuts[0]);
                        let d = Literal::i128_unsuffixed(step.unwrap_or(1));
                        let n = cuts.len();
                        let decision = decide(quote!(k), arms);
                        quote! {
                            // Segment k of the number line holds the values with k
                            // boundaries <= v; the boundaries are evenly spaced.
                            let k: usize = if v < #first {
                                0
                            } else {
                                // i128: `v - first` does not overflow.
                                let q = (i128::from(v) - i128::from(#first)) / #d + 1;
                                usize::try_from(q).map_or(#n, |q| q.min(#n))
                            };
                            #decision
                        }
                    } else {
                        let cuts = cuts.iter().map(|c| int_tokens(*c));
                        let decision = decide(quote!(CUTS.partition_point(|&cut| cut <= v)), arms);
                        quote! {
                            // Segment k of the number line holds the values with k boundaries <= v.
                            const CUTS: &[i64] = &[#(#cuts),*];
                            #decision
                        }
                    }
                }
            }
            Type::Str => {
                let sets: Vec<&BTreeSet<String>> = items
                    .iter()
                    .map(|(k, _)| match k {
                        Key::Strs(s) => Some(s),
                        Key::Ints(_) => None,
                    })
                    .collect::<Option<_>>()?;
                let keys: Vec<&String> = sets
                    .iter()
                    .flat_map(|s| s.iter())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let mut groups: BTreeMap<Vec<usize>, Vec<usize>> = BTreeMap::new();
                for (ki, key) in keys.iter().enumerate() {
                    let members: Vec<usize> = sets
                        .iter()
                        .enumerate()
                        .filter(|(_, s)| s.contains(*key))
                        .map(|(k, _)| k)
                        .collect();
                    groups.entry(members).or_default().push(ki);
                }
                let mut arms: Vec<(usize, TokenStream)> = groups
                    .into_iter()
                    .map(|(members, ks)| {
                        let first = ks[0];
                        let rhs = arm(&members);
                        (first, quote!(#(#ks)|* => #rhs))
                    })
                    .collect();
                arms.sort_by_key(|(first, _)| *first);
                let decision = decide(quote!(k), arms.into_iter().map(|(_, a)| a).collect());
                // Keys by hash; keys whose hashes collide share an arm and are
                // told apart by comparison.
                let mut by_hash: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
                for (ki, key) in keys.iter().enumerate() {
                    by_hash.entry(str_hash(key)).or_default().push(ki);
                }
                let hash_arms = by_hash.into_iter().map(|(h, ks)| {
                    let h = Literal::u64_suffixed(h);
                    let tests = ks.iter().map(|&ki| {
                        let key = keys[ki];
                        quote!(if v == #key { #ki } else)
                    });
                    quote!(#h => #(#tests)* { usize::MAX })
                });
                let rt = rt();
                quote! {
                    // One hash of the value picks the only key it can equal;
                    // one comparison confirms it.
                    let k: usize = match #rt::str_hash(v) {
                        #(#hash_arms,)*
                        _ => usize::MAX,
                    };
                    #decision
                }
            }
            _ => return None,
        };
        let bind = match (&leaf, read) {
            (Type::Int, Read::Direct(place)) => quote!(let v: i64 = #place;),
            (Type::Str, Read::Direct(place)) => quote!(let v: &str = #place.as_str();),
            (Type::Int, Read::Opt(opt)) => {
                return Some(quote!(if let ::std::option::Option::Some(&v) = #opt { #body }));
            }
            (Type::Str, Read::Opt(opt)) => {
                return Some(
                    quote!(if let ::std::option::Option::Some(v) = #opt { let v: &str = v.as_str(); #body }),
                );
            }
            _ => return None,
        };
        Some(quote!({ #bind #body }))
    }
}

// ---------------------------------------------------------------- handler signatures

/// The content a handler method receives.
enum ContentParam<'a> {
    /// Every rule calling it narrows `type` to this declared type.
    One(&'a MessageDef),
    /// Several declared types: a generated enum.
    Several(Vec<&'a MessageDef>),
    /// Undeclared types can reach it: `&dyn Content`.
    Any,
}

fn content_params<'a>(
    program: &'a Program,
    l: &ListenerDef,
    classes: &[Class<'a>],
) -> Vec<ContentParam<'a>> {
    let layout = Layout::of(l);
    let mut reach: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); layout.handlers.len()];
    let mut add = |actions: &[crate::program::Action], cls: &BTreeSet<usize>| {
        for a in actions {
            if let ActionKind::Call { handler, .. } = &a.kind {
                if let Some(h) = layout.handlers.iter().position(|(n, _)| n == handler) {
                    reach[h].extend(cls.iter().copied());
                }
            }
        }
    };
    for r in &l.rules {
        let cls: BTreeSet<usize> = classes
            .iter()
            .enumerate()
            .filter(|(_, c)| !simplify(&r.cond, Some(c)).is_false())
            .map(|(i, _)| i)
            .collect();
        add(&r.actions, &cls);
    }
    if let Some(o) = &l.otherwise {
        add(&o.actions, &(0..classes.len()).collect());
    }
    let _ = program;
    reach
        .into_iter()
        .map(|cls| {
            let declared: Option<Vec<&'a MessageDef>> = cls
                .iter()
                .map(|&i| match &classes[i] {
                    Class::Declared(m) => Some(*m),
                    _ => None,
                })
                .collect();
            match declared {
                Some(v) if v.len() == 1 => ContentParam::One(v[0]),
                Some(v) if v.len() > 1 => ContentParam::Several(v),
                _ => ContentParam::Any,
            }
        })
        .collect()
}

// ---------------------------------------------------------------- the listener module

/// The module for one listener.
pub(crate) fn listener(program: &Program, l: &ListenerDef) -> TokenStream {
    let rt = rt();
    let module = listener_module(&l.name);
    let layout = Layout::of(l);
    let classes = classes(program);
    let g = Gen { program, layout: &layout, parts: std::cell::Cell::new(0) };
    let params = content_params(program, l, &classes);
    let lname = &l.name;
    let location = program.sources().location(l.name_span);

    // --- the handler trait and its content enums
    let mut enums = Vec::new();
    let methods: Vec<TokenStream> = layout
        .handlers
        .iter()
        .zip(&params)
        .map(|((name, is_async), param)| {
            let method = rust_ident(name);
            let callers: Vec<String> = l
                .rules
                .iter()
                .filter(|r| r.actions.iter().any(|a| matches!(&a.kind, ActionKind::Call { handler, .. } if handler == name)))
                .map(|r| format!("`{}`", r.name))
                .chain(l.otherwise.iter().filter(|o| o.actions.iter().any(|a| matches!(&a.kind, ActionKind::Call { handler, .. } if handler == name))).map(|_| "`otherwise`".to_owned()))
                .collect();
            let (ty, what) = match param {
                ContentParam::One(m) => {
                    let n = rust_ident(&m.name);
                    (quote!(&super::#n), format!("a `{}`", m.name))
                }
                ContentParam::Several(ms) => {
                    let e = ident(&format!("{}Content", camel(name)));
                    let variants = ms.iter().map(|m| {
                        let n = rust_ident(&m.name);
                        let doc = format!("A `{}`.", m.name);
                        quote!(#[doc = #doc] #n(&'a super::#n))
                    });
                    let doc = format!("The content `{name}` receives: one of the types its rules admit.");
                    enums.push(quote! {
                        #[doc = #doc]
                        #[derive(Clone, Copy, Debug)]
                        pub enum #e<'a> { #(#variants,)* }
                    });
                    let names: Vec<String> = ms.iter().map(|m| format!("`{}`", m.name)).collect();
                    (quote!(#e<'_>), format!("one of {}", names.join(", ")))
                }
                ContentParam::Any => (quote!(&dyn #rt::Content), "content of any type".to_owned()),
            };
            let doc = format!(
                "`call {}{name}` in rule{} {}: receives {what}.",
                if *is_async { "async " } else { "" },
                if callers.len() == 1 { "" } else { "s" },
                callers.join(", ")
            );
            if *is_async {
                let doc2 = "The future must own what it uses (clone from `envelope` and `content` before the `async move` block): it runs concurrently with the listener's later messages.";
                quote! {
                    #[doc = #doc]
                    #[doc = ""]
                    #[doc = #doc2]
                    fn #method(&self, envelope: &#rt::Envelope, content: #ty)
                        -> impl ::std::future::Future<Output = #rt::HandlerResult> + ::std::marker::Send + 'static;
                }
            } else {
                quote! {
                    #[doc = #doc]
                    fn #method(&self, envelope: &#rt::Envelope, content: #ty) -> #rt::HandlerResult;
                }
            }
        })
        .collect();
    let unit_impl = methods.is_empty().then(|| {
        quote! {
            /// The listener calls no handler: `()` is its handler.
            impl Handler for () {}
        }
    });

    // --- the adapter from handler indices to trait methods
    let content_expr = |param: &ContentParam<'_>, name: &str| -> (TokenStream, String) {
        match param {
            ContentParam::One(m) => {
                let n = rust_ident(&m.name);
                (quote!(message.content_as::<super::#n>()), m.name.clone())
            }
            ContentParam::Several(ms) => {
                let e = ident(&format!("{}Content", camel(name)));
                let tries = ms.iter().map(|m| {
                    let n = rust_ident(&m.name);
                    quote!(if let ::std::option::Option::Some(c) = message.content_as::<super::#n>() {
                        ::std::option::Option::Some(#e::#n(c))
                    } else)
                });
                let names: Vec<&str> = ms.iter().map(|m| m.name.as_str()).collect();
                (quote!(#(#tries)* { ::std::option::Option::None }), names.join(" or "))
            }
            ContentParam::Any => {
                (quote!(::std::option::Option::Some(&**message.content())), String::new())
            }
        }
    };
    let mut sync_arms = Vec::new();
    let mut async_arms = Vec::new();
    for (i, ((name, is_async), param)) in layout.handlers.iter().zip(&params).enumerate() {
        let method = rust_ident(name);
        let (expr, expected) = content_expr(param, name);
        if *is_async {
            async_arms.push(quote! {
                #i => match #expr {
                    ::std::option::Option::Some(content) => ::std::boxed::Box::pin(self.0.#method(message.envelope(), content)),
                    ::std::option::Option::None => ::std::boxed::Box::pin(::std::future::ready(
                        ::std::result::Result::Err(#rt::content_mismatch(#name, #expected, &message)),
                    )),
                },
            });
        } else {
            sync_arms.push(quote! {
                #i => match #expr {
                    ::std::option::Option::Some(content) => self.0.#method(message.envelope(), content),
                    ::std::option::Option::None => ::std::result::Result::Err(#rt::content_mismatch(#name, #expected, message)),
                },
            });
        }
    }
    let call = (!sync_arms.is_empty()).then(|| {
        quote! {
            fn call(&self, handler: usize, message: &#rt::Message) -> #rt::HandlerResult {
                match handler {
                    #(#sync_arms)*
                    _ => ::std::result::Result::Err(#rt::no_such_handler(handler)),
                }
            }
        }
    });
    let call_async = (!async_arms.is_empty()).then(|| {
        quote! {
            fn call_async(&self, handler: usize, message: #rt::Message) -> #rt::BoxFuture<'static, #rt::HandlerResult> {
                match handler {
                    #(#async_arms)*
                    _ => ::std::boxed::Box::pin(::std::future::ready(::std::result::Result::Err(#rt::no_such_handler(handler)))),
                }
            }
        }
    });

    // --- the matcher
    let ends = match &l.otherwise {
        Some(o) => {
            let steps = layout.steps(&o.actions);
            quote!(fired.otherwise(#steps);)
        }
        None => quote!(fired.unrouted();),
    };
    let items_for = |class: Option<&Class<'_>>| -> Vec<Item<'_>> {
        l.rules
            .iter()
            .enumerate()
            .map(|(index, rule)| Item { index, rule, cond: simplify(&rule.cond, class) })
            .filter(|it| !it.cond.is_false())
            .collect()
    };
    let mut fns = Vec::new();
    let mut arms = Vec::new();
    let mut other = quote!();
    for (k, class) in classes.iter().enumerate() {
        let f = ident(&format!("route_{k}"));
        let items = items_for(Some(class));
        match class {
            Class::Declared(m) => {
                let (body, terminated) = g.chain_ends(&items, Mode::Typed(m), Ret::Route);
                let ends = (!terminated).then_some(&ends);
                let n = rust_ident(&m.name);
                let doc = format!("Messages of type `{}`, content downcast to the struct.", m.name);
                fns.push(quote! {
                    #[doc = #doc]
                    fn #f(env: &#rt::Envelope, c: &super::#n, content: &dyn #rt::Content, fired: &mut #rt::Fired) {
                        let _ = (env, c, content);
                        #body
                        #ends
                    }
                });
                let name = &m.name;
                arms.push(quote! {
                    #name => match content.downcast_ref::<super::#n>() {
                        ::std::option::Option::Some(c) => #f(env, c, content, fired),
                        ::std::option::Option::None => route_fields(env, content, fired),
                    },
                });
            }
            Class::Named(_) | Class::Other => {
                let (body, terminated) = g.chain_ends(&items, Mode::Dyn, Ret::Route);
                let ends = (!terminated).then_some(&ends);
                let doc = match class {
                    Class::Named(n) => format!("Messages of undeclared type `{n}`."),
                    _ => "Messages of every other type.".to_owned(),
                };
                fns.push(quote! {
                    #[doc = #doc]
                    fn #f(env: &#rt::Envelope, content: &dyn #rt::Content, fired: &mut #rt::Fired) {
                        let _ = (env, content);
                        #body
                        #ends
                    }
                });
                match class {
                    Class::Named(n) => arms.push(quote!(#n => #f(env, content, fired),)),
                    _ => other = quote!(_ => #f(env, content, fired),),
                }
            }
        }
    }
    let (fallback, terminated) = g.chain_ends(&items_for(None), Mode::Dyn, Ret::Route);
    let fallback_ends = (!terminated).then_some(&ends);
    let rules = l.rules.iter().map(|r| &r.name);
    let slots = layout.handlers.iter().map(
        |(n, a)| quote!(#rt::HandlerSlot { name: #rt::SharedStr::from_static(#n), is_async: #a }),
    );
    let queues = layout.queues.iter();
    let forwards = layout.forwards.iter();
    let queue_fns = layout.queues.iter().map(|q| {
        let f = ident(&format!("queue_{q}"));
        let doc = format!("The queue `{q}` (`queue {q}`), to take messages from.");
        quote! {
            #[doc = #doc]
            pub fn #f(&self) -> #rt::Queue {
                // The layout always has it; the fallback keeps this panic-free.
                self.inner.queue(#q).unwrap_or_else(|| #rt::Queue::new(#q))
            }
        }
    });
    let mod_doc = format!(
        "Listener `{lname}` (declared at `{location}`): its handler trait, listener type and compiled matcher."
    );
    let trait_doc = format!("The handlers listener `{lname}` calls: one method per `call` target.");

    quote! {
        #[doc = #mod_doc]
        #[allow(non_snake_case, non_camel_case_types, reason = "names come from the .route file")]
        pub mod #module {
            #[doc = #trait_doc]
            pub trait Handler: ::std::marker::Send + ::std::marker::Sync + 'static {
                #(#methods)*
            }

            #unit_impl

            #(#enums)*

            /// The compiled routing table: decides which rules fire for a message.
            pub struct Matcher {
                layout: #rt::Layout,
            }

            impl Matcher {
                /// The matcher, with its layout (rule, handler, queue and forward names).
                pub fn new() -> Matcher {
                    Matcher {
                        layout: #rt::Layout {
                            rules: ::std::vec![#(#rt::SharedStr::from_static(#rules)),*],
                            handlers: ::std::vec![#(#slots),*],
                            queues: ::std::vec![#(#rt::SharedStr::from_static(#queues)),*],
                            forwards: ::std::vec![#(#rt::SharedStr::from_static(#forwards)),*],
                        },
                    }
                }
            }

            impl ::std::default::Default for Matcher {
                fn default() -> Matcher {
                    Matcher::new()
                }
            }

            impl #rt::Matcher for Matcher {
                fn layout(&self) -> &#rt::Layout {
                    &self.layout
                }

                fn route(&self, msg: &#rt::Message, fired: &mut #rt::Fired) {
                    let env = msg.envelope();
                    let content: &dyn #rt::Content = &**msg.content();
                    match env.ty.as_str() {
                        #(#arms)*
                        #other
                    }
                }
            }

            #(#fns)*

            /// Any message whose content is not its type's struct: every rule,
            /// every field read through `Fields`. Rare (content of another
            /// process whose type was not registered), so kept off the hot path.
            #[cold]
            fn route_fields(env: &#rt::Envelope, content: &dyn #rt::Content, fired: &mut #rt::Fired) {
                let _ = (env, content);
                #fallback
                #fallback_ends
            }

            struct Adapter<H>(H);

            impl<H: Handler> #rt::Handlers for Adapter<H> {
                #call
                #call_async
            }

            /// The listener: routes with [`Matcher`], calls `H`'s methods, owns the queues.
            pub struct Listener<H: Handler> {
                inner: #rt::RoutedListener<Matcher, Adapter<H>>,
            }

            impl<H: Handler> Listener<H> {
                /// A listener calling `handlers`.
                pub fn new(handlers: H) -> Listener<H> {
                    Listener { inner: #rt::RoutedListener::new(Matcher::new(), Adapter(handlers)) }
                }

                /// The handlers.
                pub fn handlers(&self) -> &H {
                    &self.inner.handlers().0
                }

                /// The queue `name`, if the listener has one.
                pub fn queue(&self, name: &str) -> ::std::option::Option<#rt::Queue> {
                    self.inner.queue(name)
                }

                #(#queue_fns)*

                /// Binds forward target `name` (`forward name`) to a listener or a destination.
                ///
                /// # Errors
                ///
                /// When the listener never forwards to `name`, or it is bound already.
                pub fn bind_forward(
                    &self,
                    name: &str,
                    target: impl ::std::convert::Into<#rt::ForwardTarget>,
                ) -> ::std::result::Result<(), #rt::BuildError> {
                    self.inner.bind_forward(name, target)
                }

                /// How many messages each rule matched, in rule order.
                pub fn rule_hits(&self) -> ::std::vec::Vec<(#rt::SharedStr, u64)> {
                    self.inner.rule_hits()
                }

                /// The compiled matcher.
                pub fn matcher(&self) -> &Matcher {
                    self.inner.matcher()
                }
            }

            impl<H: Handler> #rt::Listener for Listener<H> {
                fn deliver(&self, delivery: #rt::Delivery, cx: &mut #rt::Context<'_>) {
                    #rt::Listener::deliver(&self.inner, delivery, cx)
                }

                fn deliver_sync(
                    &self,
                    message: #rt::Message,
                    cx: &#rt::SyncContext<'_>,
                ) -> ::std::result::Result<::std::option::Option<#rt::Message>, #rt::Error> {
                    #rt::Listener::deliver_sync(&self.inner, message, cx)
                }

                fn queues(&self) -> ::std::vec::Vec<#rt::Queue> {
                    #rt::Listener::queues(&self.inner)
                }

                fn close(&self) {
                    #rt::Listener::close(&self.inner)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// The model parses every glob the checker, the analyser, generated code
    /// and the runtime use; the reference evaluator parses its own: both
    /// must give the same tokens.
    #[test]
    fn the_oracle_s_glob_parser_gives_the_model_s_tokens() {
        use crate::eval::{Glob, GlobTok};
        use dispatchio_model::{Glob as CoreGlob, GlobTok as CoreTok};
        let patterns = [
            "", "*", "**a", "?", "[a-c]x", "[!a]", "[^a]", "[]]", "[!]]", "[ab", r"\*", r"a",
            r"\[x]", "[z-a]", "[a-]", "[é-ü]*", "e[-x]",
        ];
        for p in patterns {
            let ours: Vec<dispatchio_model::OwnedGlobTok> = Glob::new(p)
                .toks
                .into_iter()
                .map(|t| match t {
                    GlobTok::Char(c) => CoreTok::Char(c),
                    GlobTok::Any => CoreTok::Any,
                    GlobTok::Star => CoreTok::Star,
                    GlobTok::Class { negated, ranges } => {
                        CoreTok::Class { negated, ranges: ranges.into() }
                    }
                })
                .collect();
            assert_eq!(ours.as_slice(), CoreGlob::new(p).tokens(), "pattern {p:?}");
        }
    }
}

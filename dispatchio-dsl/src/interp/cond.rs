//! Conditions lowered for the interpreter: the program's condition tree with
//! fields resolved to the runtime's field readers and globs parsed once.
//!
//! The tree is evaluated over the runtime's content abstraction
//! ([`dispatchio_core::Value`], read with [`Field::read`]) with exactly the
//! semantics of the reference evaluator ([`crate::eval`]), which is the
//! oracle the differential tests hold this module to.
//!
//! Why not core's own [`dispatchio_core::routing::Cond`]? Its tree is the
//! same shape, but two of its corner cases differ from the language's
//! reference semantics: `x != lit` and `x not in SET` are false there when
//! `x` is a float NaN (the reference says `NaN != x` holds, as in IEEE 754),
//! and its globs have no `\x` escape. Keeping the evaluation here, next to
//! the oracle it must equal, lets the interpreter mean exactly what the
//! language says without changing the runtime's builder API.

use std::cmp::Ordering;
use std::fmt::Write as _;

use dispatchio_core::routing::Field;
use dispatchio_core::{Message, SharedStr, Value};

use crate::eval::{Glob, GlobTok};
use crate::program::{self, CondKind, FieldRef, Lit, Type};

/// A condition ready to evaluate.
#[derive(Clone, Debug)]
pub(crate) enum Node {
    /// One test on one field.
    Pred(Pred),
    /// Every operand holds.
    And(Box<[Node]>),
    /// At least one operand holds.
    Or(Box<[Node]>),
    /// The operand does not hold.
    Not(Box<Node>),
}

/// A test on one field.
#[derive(Clone, Debug)]
pub(crate) struct Pred {
    /// How to read the field from a message.
    field: Field,
    /// Whether the field has `id` semantics (ints and strings comparable,
    /// ints matched as decimal text).
    id: bool,
    /// The test.
    test: Test,
}

/// A test, with literals converted once.
#[derive(Clone, Debug)]
enum Test {
    Eq(Lit),
    Ne(Lit),
    Lt(Lit),
    Le(Lit),
    Gt(Lit),
    Ge(Lit),
    In(Box<[Lit]>),
    NotIn(Box<[Lit]>),
    Matches(Box<[GlobTok]>),
    StartsWith(Box<str>),
    EndsWith(Box<str>),
    Contains(Lit),
    Exists,
    IsTrue,
}

impl Node {
    /// Lowers a checked condition.
    pub(crate) fn lower(cond: &program::Cond) -> Node {
        match &cond.kind {
            CondKind::Pred(p) => Node::Pred(Pred {
                field: field(&p.field),
                id: crate::eval::is_id_field(&p.field),
                test: test(&p.test),
            }),
            CondKind::And(cs) => Node::And(cs.iter().map(Node::lower).collect()),
            CondKind::Or(cs) => Node::Or(cs.iter().map(Node::lower).collect()),
            CondKind::Not(c) => Node::Not(Box::new(Node::lower(c))),
        }
    }

    /// Whether the condition holds for `msg`.
    pub(crate) fn eval(&self, msg: &Message) -> bool {
        match self {
            Node::Pred(p) => p.field.read(msg).is_some_and(|v| p.test.holds(v, p.id)),
            Node::And(cs) => cs.iter().all(|c| c.eval(msg)),
            Node::Or(cs) => cs.iter().any(|c| c.eval(msg)),
            Node::Not(c) => !c.eval(msg),
        }
    }
}

/// The runtime reader of a program field.
fn field(f: &FieldRef) -> Field {
    let path = |p: &[String]| p.iter().map(|s| SharedStr::from(s.clone())).collect();
    match f {
        FieldRef::Type => Field::Type,
        FieldRef::Id => Field::Id,
        FieldRef::Source => Field::Source,
        FieldRef::Dest => Field::Dest,
        FieldRef::Group => Field::Group,
        FieldRef::ResponseRequired => Field::ResponseRequired,
        FieldRef::IsResponse => Field::IsResponse,
        FieldRef::Sync => Field::Sync,
        FieldRef::Blocking => Field::Blocking,
        // The `id` flag on the predicate carries the ID semantics; the
        // reader only needs the path.
        FieldRef::Content { path: p, ty } if matches!(ty.required(), Type::Id) => {
            Field::ContentId(path(p))
        }
        FieldRef::Content { path: p, .. } | FieldRef::Dynamic { path: p } => {
            Field::Content(path(p))
        }
    }
}

fn test(t: &program::Test) -> Test {
    use program::Test as P;
    match t {
        P::Eq(l) => Test::Eq(l.clone()),
        P::Ne(l) => Test::Ne(l.clone()),
        P::Lt(l) => Test::Lt(l.clone()),
        P::Le(l) => Test::Le(l.clone()),
        P::Gt(l) => Test::Gt(l.clone()),
        P::Ge(l) => Test::Ge(l.clone()),
        P::In(set) => Test::In(set.clone().into()),
        P::NotIn(set) => Test::NotIn(set.clone().into()),
        P::Matches(g) => Test::Matches(Glob::new(g).toks.into()),
        P::StartsWith(s) => Test::StartsWith(s.as_str().into()),
        P::EndsWith(s) => Test::EndsWith(s.as_str().into()),
        P::Contains(l) => Test::Contains(l.clone()),
        P::Exists => Test::Exists,
        P::IsTrue => Test::IsTrue,
    }
}

impl Test {
    /// Whether the test holds for the present value `v` (see [`crate::eval`]
    /// for every rule applied here).
    fn holds(&self, v: Value<'_>, id: bool) -> bool {
        use Ordering::{Equal, Greater, Less};
        match self {
            Test::Eq(l) => eq_value(v, l, id) == Some(true),
            Test::Ne(l) => eq_value(v, l, id) == Some(false),
            Test::Lt(l) => cmp_values(v, l) == Some(Less),
            Test::Le(l) => matches!(cmp_values(v, l), Some(Less | Equal)),
            Test::Gt(l) => cmp_values(v, l) == Some(Greater),
            Test::Ge(l) => matches!(cmp_values(v, l), Some(Greater | Equal)),
            Test::In(set) => set.iter().any(|l| eq_value(v, l, id) == Some(true)),
            Test::NotIn(set) => {
                // Comparable with at least one element and equal to none.
                let mut comparable = false;
                for l in set.iter() {
                    match eq_value(v, l, id) {
                        Some(true) => return false,
                        Some(false) => comparable = true,
                        None => {}
                    }
                }
                comparable
            }
            Test::Matches(toks) => with_text(v, id, |t| glob_match(toks, t)),
            Test::StartsWith(s) => with_text(v, id, |t| t.starts_with(&**s)),
            Test::EndsWith(s) => with_text(v, id, |t| t.ends_with(&**s)),
            Test::Contains(l) => match (v, l) {
                (Value::List(items), l) => (0..items.len())
                    .filter_map(|i| items.item(i))
                    .any(|x| eq_value(x, l, id) == Some(true)),
                (v, Lit::Str(s)) => with_text(v, id, |t| t.contains(s.as_str())),
                _ => false,
            },
            Test::Exists => true,
            Test::IsTrue => matches!(v, Value::Bool(true)),
        }
    }
}

/// `Some(equal?)` when `v` and `l` are comparable, `None` when not.
fn eq_value(v: Value<'_>, l: &Lit, id: bool) -> Option<bool> {
    match (v, l) {
        (Value::Bool(a), Lit::Bool(b)) => Some(a == *b),
        (Value::Int(a), Lit::Int(b)) => Some(a == *b),
        (Value::Float(a), Lit::Float(b)) => Some(a == *b),
        (Value::Int(a), Lit::Float(b)) => Some(a as f64 == *b),
        (Value::Float(a), Lit::Int(b)) => Some(a == *b as f64),
        (Value::Str(a), Lit::Str(b)) => Some(a == b),
        (Value::Int(_), Lit::Str(_)) | (Value::Str(_), Lit::Int(_)) if id => Some(false),
        _ => None,
    }
}

/// The numeric order of `v` and `l`; `None` when either is not a number or is NaN.
fn cmp_values(v: Value<'_>, l: &Lit) -> Option<Ordering> {
    match (v, l) {
        (Value::Int(a), Lit::Int(b)) => Some(a.cmp(b)),
        (Value::Int(a), Lit::Float(b)) => (a as f64).partial_cmp(b),
        (Value::Float(a), Lit::Int(b)) => a.partial_cmp(&(*b as f64)),
        (Value::Float(a), Lit::Float(b)) => a.partial_cmp(b),
        _ => None,
    }
}

/// Runs `f` on the text string tests see: a string, or an integer ID's
/// decimal text (written to the stack: routing allocates nothing). False on
/// every other kind of value.
fn with_text(v: Value<'_>, id: bool, f: impl FnOnce(&str) -> bool) -> bool {
    match v {
        Value::Str(s) => f(s),
        Value::Int(i) if id => {
            let mut buf = DecimalBuf::default();
            // Writing an i64 into 20 bytes cannot fail.
            let _ = write!(buf, "{i}");
            f(buf.as_str())
        }
        _ => false,
    }
}

/// Room for the decimal text of any i64 (`-9223372036854775808`: 20 bytes).
#[derive(Default)]
struct DecimalBuf {
    bytes: [u8; 20],
    len: usize,
}

impl DecimalBuf {
    fn as_str(&self) -> &str {
        // Only ASCII digits and `-` are ever written.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl std::fmt::Write for DecimalBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Whether the glob matches the whole of `s`.
///
/// The reference evaluator defines matching recursively, which is
/// exponential on patterns like `*a*a*a*b`; this is the classic iterative
/// matcher with one backtrack point (the last `*`), linear in practice and
/// quadratic at worst, over the same tokens. It walks `s` by byte offsets
/// of characters, so it allocates nothing.
fn glob_match(toks: &[GlobTok], s: &str) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    // (token index after the star, text offset the star's run ends at)
    let mut star: Option<(usize, usize)> = None;
    while t < s.len() {
        let c = s[t..].chars().next().unwrap_or_default();
        match toks.get(p) {
            Some(GlobTok::Star) => {
                star = Some((p + 1, t));
                p += 1;
            }
            Some(tok) if tok.accepts(c) => {
                p += 1;
                t += c.len_utf8();
            }
            _ => match star {
                Some((after, run_end)) => {
                    // Let the star swallow one more character and retry.
                    let skipped = s[run_end..].chars().next().unwrap_or_default();
                    let next = run_end + skipped.len_utf8();
                    star = Some((after, next));
                    p = after;
                    t = next;
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|tok| *tok == GlobTok::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(pattern: &str, s: &str) -> bool {
        glob_match(&Glob::new(pattern).toks, s)
    }

    #[test]
    fn the_linear_glob_matcher_agrees_with_the_reference_definition() {
        let patterns = [
            "enemy-*", "a?c", "[a-c]x", "[!a]", "[]]", "[ab", r"\*", "*a*b", "", "**", "*", "?*?",
            "é*ü", "[é-ü]", "*a*a*a*b",
        ];
        let texts = [
            "", "a", "ab", "abc", "enemy-", "enemy-1", "bx", "]", "[ab", "*", "xxaxxb", "éaü", "ñ",
            "aaaaaaab", "aaaa",
        ];
        for p in patterns {
            for s in texts {
                assert_eq!(g(p, s), Glob::new(p).is_match(s), "pattern {p:?} on {s:?}");
            }
        }
    }

    #[test]
    fn integer_ids_are_written_as_decimal_text_without_allocating() {
        for i in [0, -12, i64::MIN, i64::MAX] {
            let mut seen = String::new();
            assert!(with_text(Value::Int(i), true, |t| {
                seen = t.to_owned();
                true
            }));
            assert_eq!(seen, i.to_string());
        }
        assert!(!with_text(Value::Int(5), false, |_| true), "a plain int is not text");
    }
}

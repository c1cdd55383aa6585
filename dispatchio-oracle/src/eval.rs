//! The reference evaluator: what a condition and a listener *mean* on one
//! concrete message, written to be obviously correct rather than fast.
//!
//! It is the oracle the analyser, the interpreter and the compiled matcher
//! are tested against, so every choice the language reference leaves open is
//! made here, once. It deliberately shares no code with `dispatchio-model`
//! (the one implementation of tests, globs and field access that everything
//! else uses): a differential test only proves something when the two sides
//! were written apart. It reads a checked program's data (the literals and
//! the glob's pattern text) and nothing else of it: it parses each glob
//! itself and never calls the model's evaluation.
//!
//! The choices:
//!
//! * A predicate on an absent field is false, except `exists`
//!   (see `dispatchio_dsl::program`).
//! * Values are compared by kind. A value of another kind than the literal
//!   makes the comparison *false*, `!=` and `not in` included; this is how an
//!   ill-typed `content.…` value behaves. Two exceptions:
//!   - `id` fields (`source`, `dest`, `group`, content fields of type `id`):
//!     an integer and a string ID are always comparable and never equal, so
//!     `source != 5` holds for `source = "5"`.
//!   - An integer and a float compare numerically, the integer converted to
//!     `f64` (only reachable through `content.…`: the checker converts int
//!     literals on float fields).
//! * Floats follow IEEE 754: `NaN` equals nothing, is ordered with nothing,
//!   and `NaN != x` holds; `-0.0 == 0.0`.
//! * `not in SET` holds when the value is comparable with at least one element
//!   and equal to none.
//! * String tests (`matches`, `starts_with`, `ends_with`, `contains "s"`) apply
//!   to strings and to IDs, an integer ID by its decimal text (`-12`). On any
//!   other kind they are false.
//! * `contains LIT` on a list holds when an element equals `LIT` (by the rules
//!   above); on a string or ID it is a substring test.
//! * A bare bool field holds when the value is `true`.
//!
//! Globs (`matches`) match the whole string: `*` any run of characters, `?`
//! exactly one, `[abc]`, `[a-z]` one character of a class, `[!a]` (or `[^a]`)
//! one character outside it, `\x` the character `x` itself. A `]` first in a
//! class is a member; a `[` with no closing `]` is a literal `[`.

use std::borrow::Cow;

use dispatchio_dsl::concrete::{Sample, Value};
use dispatchio_dsl::program::{
    ActionKind, Cond, CondKind, FieldRef, ListenerDef, Lit, Pred, Test, Type,
};

/// Whether `cond` holds for `msg`.
pub fn eval(cond: &Cond, msg: &Sample) -> bool {
    match &cond.kind {
        CondKind::Pred(p) => eval_pred(p, msg),
        CondKind::And(cs) => cs.iter().all(|c| eval(c, msg)),
        CondKind::Or(cs) => cs.iter().any(|c| eval(c, msg)),
        CondKind::Not(c) => !eval(c, msg),
    }
}

/// What a listener does with one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Indices of the rules that fired, in order (the last one stopped the
    /// search unless it continued).
    pub fired: Vec<usize>,
    /// The actions run, in order, `otherwise`'s included; `continue` is not an
    /// action that runs and is left out.
    pub actions: Vec<ActionKind>,
    /// Whether the `otherwise` clause ran.
    pub otherwise: bool,
    /// Whether nothing stopped the search and there is no `otherwise`.
    pub unrouted: bool,
}

/// Routes `msg` through `listener`: rules top to bottom, the first stopping
/// rule ends the search, `otherwise` when nothing stopped it.
pub fn route(listener: &ListenerDef, msg: &Sample) -> Decision {
    let mut d =
        Decision { fired: Vec::new(), actions: Vec::new(), otherwise: false, unrouted: false };
    for (i, rule) in listener.rules.iter().enumerate() {
        if !eval(&rule.cond, msg) {
            continue;
        }
        d.fired.push(i);
        d.actions.extend(
            rule.actions.iter().map(|a| &a.kind).filter(|k| **k != ActionKind::Continue).cloned(),
        );
        if !rule.continues() {
            return d;
        }
    }
    match &listener.otherwise {
        Some(o) => {
            d.otherwise = true;
            d.actions.extend(o.actions.iter().map(|a| a.kind.clone()));
        }
        None => d.unrouted = true,
    }
    d
}

/// The value a field has in `msg`, or `None` when it is absent.
pub fn field_value(field: &FieldRef, msg: &Sample) -> Option<Value> {
    match field {
        FieldRef::Type => Some(Value::Str(msg.ty.clone())),
        FieldRef::Id => Some(Value::Int(msg.id)),
        FieldRef::Source => msg.source.clone(),
        FieldRef::Dest => msg.dest.clone(),
        FieldRef::Group => msg.group.clone(),
        FieldRef::ResponseRequired => Some(Value::Bool(msg.response_required)),
        FieldRef::IsResponse => Some(Value::Bool(msg.is_response)),
        FieldRef::Sync => Some(Value::Bool(msg.sync)),
        FieldRef::Blocking => Some(Value::Bool(msg.blocking)),
        FieldRef::Content { path, .. } | FieldRef::Dynamic { path } => {
            msg.content_at(path).cloned()
        }
    }
}

/// Whether the field has `id` semantics (int and string comparable, ints as text).
pub fn is_id_field(field: &FieldRef) -> bool {
    match field {
        FieldRef::Source | FieldRef::Dest | FieldRef::Group => true,
        FieldRef::Content { ty, .. } => match ty.required() {
            Type::Id => true,
            Type::List(t) => matches!(t.required(), Type::Id),
            _ => false,
        },
        _ => false,
    }
}

fn eval_pred(p: &Pred, msg: &Sample) -> bool {
    let Some(v) = field_value(&p.field, msg) else {
        return false;
    };
    test_value(&p.test, &v, is_id_field(&p.field))
}

/// Whether `test` holds for the present value `v` (`id`: the field is an ID).
pub fn test_value(test: &Test, v: &Value, id: bool) -> bool {
    use std::cmp::Ordering::*;
    let ord =
        |l: &Lit, ok: &[std::cmp::Ordering]| cmp_values(v, l).is_some_and(|o| ok.contains(&o));
    match test {
        Test::Eq(l) => eq_value(v, l, id) == Some(true),
        Test::Ne(l) => eq_value(v, l, id) == Some(false),
        Test::Lt(l) => ord(l, &[Less]),
        Test::Le(l) => ord(l, &[Less, Equal]),
        Test::Gt(l) => ord(l, &[Greater]),
        Test::Ge(l) => ord(l, &[Greater, Equal]),
        Test::In(set) => set.iter().any(|l| eq_value(v, l, id) == Some(true)),
        Test::NotIn(set) => {
            let eqs: Vec<_> = set.iter().map(|l| eq_value(v, l, id)).collect();
            eqs.contains(&Some(false)) && !eqs.contains(&Some(true))
        }
        // The pattern as written, parsed here: not the checker's tokens.
        Test::Matches(g) => text(v, id).is_some_and(|t| Glob::new(g.as_str()).is_match(&t)),
        Test::StartsWith(s) => text(v, id).is_some_and(|t| t.starts_with(s.as_str())),
        Test::EndsWith(s) => text(v, id).is_some_and(|t| t.ends_with(s.as_str())),
        Test::Contains(l) => match (v, l) {
            (Value::List(items), l) => items.iter().any(|x| eq_value(x, l, id) == Some(true)),
            (v, Lit::Str(s)) => text(v, id).is_some_and(|t| t.contains(s.as_str())),
            _ => false,
        },
        Test::Exists => true,
        Test::IsTrue => *v == Value::Bool(true),
    }
}

/// `Some(equal?)` when `v` and `l` are comparable, `None` when not.
pub fn eq_value(v: &Value, l: &Lit, id: bool) -> Option<bool> {
    match (v, l) {
        (Value::Bool(a), Lit::Bool(b)) => Some(a == b),
        (Value::Int(a), Lit::Int(b)) => Some(a == b),
        (Value::Float(a), Lit::Float(b)) => Some(a == b),
        (Value::Int(a), Lit::Float(b)) => Some(*a as f64 == *b),
        (Value::Float(a), Lit::Int(b)) => Some(*a == *b as f64),
        (Value::Str(a), Lit::Str(b)) => Some(a.as_str() == b.as_str()),
        (Value::Int(_), Lit::Str(_)) | (Value::Str(_), Lit::Int(_)) if id => Some(false),
        _ => None,
    }
}

/// The numeric order of `v` and `l`; `None` when either is not a number or is NaN.
pub fn cmp_values(v: &Value, l: &Lit) -> Option<std::cmp::Ordering> {
    match (v, l) {
        (Value::Int(a), Lit::Int(b)) => Some(a.cmp(b)),
        (Value::Int(a), Lit::Float(b)) => (*a as f64).partial_cmp(b),
        (Value::Float(a), Lit::Int(b)) => a.partial_cmp(&(*b as f64)),
        (Value::Float(a), Lit::Float(b)) => a.partial_cmp(b),
        _ => None,
    }
}

/// The text string tests see: a string, or an integer ID's decimal text.
fn text(v: &Value, id: bool) -> Option<Cow<'_, str>> {
    match v {
        Value::Str(s) => Some(Cow::Borrowed(s)),
        Value::Int(i) if id => Some(Cow::Owned(i.to_string())),
        _ => None,
    }
}

/// One element of a parsed glob.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GlobTok {
    /// This character.
    Char(char),
    /// `?`: any one character.
    Any,
    /// `[…]`: one character in (or, if `negated`, outside) the inclusive ranges.
    Class {
        /// `[!…]`
        negated: bool,
        /// Inclusive ranges.
        ranges: Vec<(char, char)>,
    },
    /// `*`: any run of characters, empty included.
    Star,
}

impl GlobTok {
    /// Whether this single-character token accepts `c` (`Star` accepts everything).
    pub fn accepts(&self, c: char) -> bool {
        match self {
            GlobTok::Char(x) => *x == c,
            GlobTok::Any | GlobTok::Star => true,
            GlobTok::Class { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
            }
        }
    }
}

/// A parsed glob (see the module doc for the syntax).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Glob {
    /// The tokens, in order.
    pub toks: Vec<GlobTok>,
}

impl Glob {
    /// Parses a glob; every string is a glob (see the module doc for the corner cases).
    pub fn new(pattern: &str) -> Glob {
        let chars: Vec<char> = pattern.chars().collect();
        let mut toks = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' => {
                    // `**` means the same as `*`; keeping one keeps automata small.
                    if toks.last() != Some(&GlobTok::Star) {
                        toks.push(GlobTok::Star);
                    }
                    i += 1;
                }
                '?' => {
                    toks.push(GlobTok::Any);
                    i += 1;
                }
                '\\' if i + 1 < chars.len() => {
                    toks.push(GlobTok::Char(chars[i + 1]));
                    i += 2;
                }
                '[' => match parse_class(&chars, i + 1) {
                    Some((tok, next)) => {
                        toks.push(tok);
                        i = next;
                    }
                    None => {
                        toks.push(GlobTok::Char('['));
                        i += 1;
                    }
                },
                c => {
                    toks.push(GlobTok::Char(c));
                    i += 1;
                }
            }
        }
        Glob { toks }
    }

    /// A glob matching exactly `s` (no metacharacters).
    pub fn literal(s: &str) -> Glob {
        Glob { toks: s.chars().map(GlobTok::Char).collect() }
    }

    /// Whether the glob matches the whole of `s`.
    pub fn is_match(&self, s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        match_from(&self.toks, &chars)
    }
}

/// Whether `toks` match the whole of `s`, by the definition of a glob run
/// one character at a time: the set of token positions the text so far can
/// have reached (a position before a `*` also stands after it, the star
/// matching nothing). Cost: tokens × characters.
///
/// (The recursive definition, a star trying every split of the rest, is as
/// obviously correct but exponential in the number of stars: `*a*a…*b`
/// against a run of `a`s never returned.)
fn match_from(toks: &[GlobTok], s: &[char]) -> bool {
    let close = |alive: &mut [bool]| {
        for p in 0..toks.len() {
            if alive[p] && toks[p] == GlobTok::Star {
                alive[p + 1] = true;
            }
        }
    };
    let mut alive = vec![false; toks.len() + 1];
    alive[0] = true;
    close(&mut alive);
    for &c in s {
        let mut next = vec![false; toks.len() + 1];
        for (p, tok) in toks.iter().enumerate().filter(|&(p, _)| alive[p]) {
            match tok {
                GlobTok::Star => next[p] = true,
                t if t.accepts(c) => next[p + 1] = true,
                _ => {}
            }
        }
        close(&mut next);
        alive = next;
    }
    alive[toks.len()]
}

/// Parses a class body starting after `[`; returns the token and the index after `]`.
fn parse_class(chars: &[char], mut i: usize) -> Option<(GlobTok, usize)> {
    let negated = matches!(chars.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *chars.get(i)?;
        if c == ']' && !first {
            return Some((GlobTok::Class { negated, ranges }, i + 1));
        }
        first = false;
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&h| h != ']') {
            let hi = chars[i + 2];
            // A reversed range (`[z-a]`) is empty, as in most glob dialects.
            if c <= hi {
                ranges.push((c, hi));
            }
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
}

//! A test on one present value as Rust (comparisons, sets, globs, affixes,
//! `contains`), and tests read through `Fields` as the runtime's `DynTest`.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::codegen::rt;
use crate::codegen::types::{float_tokens, int_tokens};
use crate::program::{Lit, Test, Type};
use dispatchio_model::{Glob, GlobTok};

/// Whether a string place is a `String` (`Owned`) or a `&str` expression.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum StrKind {
    Owned,
    Borrowed,
}

pub(super) fn strref(place: &TokenStream, kind: StrKind) -> TokenStream {
    match kind {
        StrKind::Owned => quote!(#place.as_str()),
        StrKind::Borrowed => quote!(#place),
    }
}

pub(super) fn or_all(parts: Vec<TokenStream>) -> TokenStream {
    match parts.len() {
        0 => quote!(false),
        1 => parts.into_iter().next().unwrap_or_else(|| quote!(false)),
        _ => quote!((#(#parts)||*)),
    }
}

/// `Some(code)` when `place` (of leaf type `ty`) and `l` are comparable with
/// `op` (`==`, `!=`, `<`, …); `None` when incomparable (the test is false).
pub(super) fn compare(
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
pub(super) fn text_test(
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
pub(super) fn leaf_test(place: &TokenStream, ty: &Type, kind: StrKind, test: &Test) -> TokenStream {
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
pub(super) fn glob_tokens(glob: &Glob) -> TokenStream {
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

pub(super) fn dyn_lit(l: &Lit) -> TokenStream {
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

pub(super) fn dyn_test(t: &Test) -> TokenStream {
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

//! How generated code reads the envelope's and the content's fields, and a
//! predicate or a condition as a boolean expression over them.

use proc_macro2::TokenStream;
use quote::quote;

use super::classes::P;
use super::layout::Layout;
use super::leaf::{StrKind, dyn_test, leaf_test};
use crate::codegen::names::rust_ident;
use crate::codegen::rt;
use crate::program::{FieldRef, MessageDef, Pred, Program, Test, Type};

/// How generated code reads a field.
pub(super) enum Read {
    /// Always present: a place expression of the leaf's Rust type (or `&str`
    /// for `Borrowed` strings).
    Direct(TokenStream),
    /// Maybe absent: an `Option<&Leaf>` expression.
    Opt(TokenStream),
    /// Never present in this class (a path through a field the type lacks).
    Absent,
}

/// Where content fields are read from.
#[derive(Clone, Copy)]
pub(super) enum Mode<'a> {
    /// The content was downcast to the struct `c`.
    Typed(&'a MessageDef),
    /// Through `Fields` on `content`.
    Dyn,
}

pub(super) struct Gen<'a> {
    pub(super) program: &'a Program,
    pub(super) layout: &'a Layout,
    /// How many chain parts are made so far (their names are `part_{n}`).
    pub(super) parts: std::cell::Cell<usize>,
}

impl<'a> Gen<'a> {
    /// How to read a declared content path from the struct `c` of `m`.
    pub(super) fn typed_read(&self, m: &MessageDef, path: &[String]) -> (Read, Type) {
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
    pub(super) fn pred(&self, p: &Pred, mode: Mode<'_>) -> TokenStream {
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
    pub(super) fn dyn_pred(&self, path: &[String], test: &Test, id: bool) -> TokenStream {
        let rt = rt();
        let t = dyn_test(test);
        quote!(#rt::dyn_test_at(content, &[#(#path),*], &#t, #id))
    }

    pub(super) fn cond(&self, p: &P<'_>, mode: Mode<'_>) -> TokenStream {
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

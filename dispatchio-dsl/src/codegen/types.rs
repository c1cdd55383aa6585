//! Message structs, their runtime traits, and consts.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::names::rust_ident;
use super::rt;
use crate::program::{ConstDef, ConstValue, Lit, MessageDef, Program, Type};

/// The Rust type of a field type.
pub(crate) fn rust_type(ty: &Type, boxed: bool) -> TokenStream {
    let rt = rt();
    match ty {
        Type::Bool => quote!(bool),
        Type::Int => quote!(i64),
        Type::Float => quote!(f64),
        Type::Str => quote!(::std::string::String),
        Type::Id => quote!(#rt::Id),
        Type::List(t) => {
            let t = rust_type(t, false);
            quote!(::std::vec::Vec<#t>)
        }
        Type::Message(n) => {
            let n = rust_ident(n);
            if boxed { quote!(::std::boxed::Box<#n>) } else { quote!(#n) }
        }
        Type::Optional(t) => {
            let t = rust_type(t, boxed);
            quote!(::std::option::Option<#t>)
        }
        // Never a declared field's type; `DynValue` is the honest Rust for it.
        Type::Any => quote!(#rt::DynValue),
    }
}

/// A message struct and its impls.
pub(crate) fn message(program: &Program, m: &MessageDef) -> TokenStream {
    let rt = rt();
    let name = rust_ident(&m.name);
    let type_name = &m.name;
    let location = program.sources().location(m.name_span);
    let doc = format!("Content of message type `{type_name}` (declared at `{location}`).");
    let fields = m.fields.iter().map(|f| {
        let ident = rust_ident(&f.name);
        let ty = rust_type(&f.ty, program.is_boxed(&m.name, &f.name));
        let doc = format!("`{}: {}`", f.name, f.ty);
        let rename = (ident != f.name).then(|| {
            let n = &f.name;
            quote!(#[serde(rename = #n)])
        });
        let skip = f.ty.is_optional().then(
            || quote!(#[serde(default, skip_serializing_if = "::std::option::Option::is_none")]),
        );
        quote! { #[doc = #doc] #rename #skip pub #ident: #ty }
    });
    let view = |f: &crate::program::FieldDef| {
        let ident = rust_ident(&f.name);
        match (program.is_boxed(&m.name, &f.name), f.ty.is_optional()) {
            (false, _) => quote!(#rt::AsValue::as_value(&self.#ident)),
            (true, false) => quote!(#rt::AsValue::as_value(&*self.#ident)),
            (true, true) => quote!(self.#ident.as_deref().and_then(#rt::AsValue::as_value)),
        }
    };
    let views: Vec<(String, TokenStream)> =
        m.fields.iter().map(|f| (f.name.clone(), view(f))).collect();
    let impls = content_impls(&rt, &name, type_name, &views);
    let serde_path = format!("{rt}::serde").replace(' ', "");
    quote! {
        #[doc = #doc]
        #[allow(non_camel_case_types, non_snake_case, reason = "names come from the .route file")]
        #[derive(Clone, Debug, PartialEq, #rt::serde::Serialize, #rt::serde::Deserialize)]
        #[serde(crate = #serde_path)]
        pub struct #name {
            #(#fields,)*
        }

        #impls
    }
}

/// The runtime's `ContentType` and `Fields` impls for struct `ty`: what
/// `include_routes!` emits for each message type and what
/// `#[derive(ContentType)]` emits for a hand-written struct.
///
/// `krate` is the path the runtime's traits are reached by
/// (`::dispatchio::__private` or `::dispatchio`); `fields` pairs each field
/// name conditions use with an expression of type `Option<Value<'_>>` that
/// views it from `&self` (`None` when absent).
pub(crate) fn content_impls(
    krate: &TokenStream,
    ty: &proc_macro2::Ident,
    type_name: &str,
    fields: &[(String, TokenStream)],
) -> TokenStream {
    let arms = fields.iter().map(|(n, v)| quote!(#n => #v));
    let pushes = fields.iter().map(|(n, v)| {
        // Only present fields: an absent one is `None` in `field` too.
        quote! {
            if #v.is_some() {
                names.push(::std::string::String::from(#n));
            }
        }
    });
    quote! {
        const _: () = {
            #[automatically_derived]
            impl #krate::ContentType for #ty {
                const TYPE_NAME: &'static str = #type_name;
            }

            #[automatically_derived]
            impl #krate::Fields for #ty {
                fn field(&self, name: &str) -> ::std::option::Option<#krate::Value<'_>> {
                    match name {
                        #(#arms,)*
                        _ => ::std::option::Option::None,
                    }
                }

                fn field_names(&self) -> ::std::vec::Vec<::std::string::String> {
                    #[allow(unused_mut, reason = "a type without fields pushes nothing")]
                    let mut names = ::std::vec::Vec::new();
                    #(#pushes)*
                    names
                }
            }

            // No `AsValue` impl: the runtime's blanket impl for every
            // `ContentType` already views a nested content type as a record.
        };
    }
}

/// A literal as a Rust expression of its natural type.
pub(crate) fn lit_tokens(l: &Lit) -> TokenStream {
    match l {
        Lit::Bool(b) => quote!(#b),
        Lit::Int(i) => int_tokens(*i),
        Lit::Float(x) => float_tokens(*x),
        Lit::Str(s) => {
            let s = Literal::string(s);
            quote!(#s)
        }
    }
}

/// An `i64` literal (`i64::MIN` cannot be written as `-lit`).
pub(crate) fn int_tokens(i: i64) -> TokenStream {
    if i == i64::MIN {
        quote!(i64::MIN)
    } else if i < 0 {
        let l = Literal::i64_unsuffixed(-i);
        quote!(-#l)
    } else {
        let l = Literal::i64_unsuffixed(i);
        quote!(#l)
    }
}

/// An `f64` literal, with the constants for the values no literal writes.
pub(crate) fn float_tokens(x: f64) -> TokenStream {
    if x.is_nan() {
        quote!(f64::NAN)
    } else if x == f64::INFINITY {
        quote!(f64::INFINITY)
    } else if x == f64::NEG_INFINITY {
        quote!(f64::NEG_INFINITY)
    } else if x.is_sign_negative() {
        let l = Literal::f64_unsuffixed(-x);
        quote!(-#l)
    } else {
        let l = Literal::f64_unsuffixed(x);
        quote!(#l)
    }
}

/// An ID literal as a const `Id` expression.
pub(crate) fn id_tokens(l: &Lit) -> TokenStream {
    let rt = rt();
    match l {
        Lit::Int(i) => {
            let i = int_tokens(*i);
            quote!(#rt::Id::Int(#i))
        }
        Lit::Str(s) => {
            let s = s.as_str();
            quote!(#rt::Id::Str(#rt::SharedStr::from_static(#s)))
        }
        other => lit_tokens(other),
    }
}

/// A `pub const` for a `.route` const.
pub(crate) fn constant(program: &Program, c: &ConstDef) -> TokenStream {
    let rt = rt();
    let name = rust_ident(&c.name);
    let doc = format!("`const {}` (declared at `{}`).", c.name, program.sources().location(c.span));
    let (ty, value) = match &c.value {
        ConstValue::Lit(l) => {
            let ty = match l {
                Lit::Bool(_) => quote!(bool),
                Lit::Int(_) => quote!(i64),
                Lit::Float(_) => quote!(f64),
                Lit::Str(_) => quote!(&str),
            };
            (ty, lit_tokens(l))
        }
        ConstValue::Set(items) => {
            let all = |f: fn(&Lit) -> bool| items.iter().all(f);
            if all(|l| matches!(l, Lit::Int(_))) {
                let v = items.iter().map(lit_tokens);
                (quote!(&[i64]), quote!(&[#(#v),*]))
            } else if all(|l| matches!(l, Lit::Str(_))) {
                let v = items.iter().map(lit_tokens);
                (quote!(&[&str]), quote!(&[#(#v),*]))
            } else if all(|l| matches!(l, Lit::Float(_) | Lit::Int(_))) {
                let v = items.iter().map(|l| match l {
                    Lit::Int(i) => float_tokens(*i as f64),
                    l => lit_tokens(l),
                });
                (quote!(&[f64]), quote!(&[#(#v),*]))
            } else if all(|l| matches!(l, Lit::Int(_) | Lit::Str(_))) {
                // Ints and strings mix only in ID sets.
                let v = items.iter().map(id_tokens);
                (quote!(&[#rt::Id]), quote!(&[#(#v),*]))
            } else {
                let v = items.iter().filter(|l| matches!(l, Lit::Bool(_))).map(lit_tokens);
                (quote!(&[bool]), quote!(&[#(#v),*]))
            }
        }
    };
    quote! {
        #[doc = #doc]
        #[allow(non_upper_case_globals, reason = "names come from the .route file")]
        pub const #name: #ty = #value;
    }
}

/// `register_content_types`: lets a process decode every message type of
/// the program into its struct when it arrives from another process.
pub(crate) fn register_fn(program: &Program) -> TokenStream {
    let rt = rt();
    let names = program.messages().iter().map(|m| rust_ident(&m.name));
    quote! {
        /// Registers every message type of this `.route` program with `registry`,
        /// so content arriving from another process decodes to these structs
        /// (and the compiled matchers read it as typed fields).
        pub fn register_content_types(registry: &mut #rt::ContentRegistry) {
            #( registry.register::<#names>(); )*
            let _ = registry;
        }
    }
}

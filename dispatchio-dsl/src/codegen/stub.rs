//! The API stub emitted after errors (askama's "skeleton"): the names the
//! including crate uses, so the build shows the `.route` errors instead of
//! one "cannot find type" per use of a generated item.
//!
//! It is derived from whatever of the files parses: message structs with the
//! fields whose types are known (and the content traits, without fields
//! visible to routing), and per listener a module with a `Handler`
//! trait (one defaulted method per `call` target, taking `&dyn Content`, as
//! the narrowed types are unknown without a checked program), a `Matcher`
//! and a `Listener<H>`. Nothing of it runs: its matcher routes nothing.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::quote;

use super::names::rust_ident;
use super::rt;
use crate::ast;
use crate::diagnostic::SourceMap;

pub(crate) fn stub(sources: &SourceMap) -> TokenStream {
    let files: Vec<ast::File> =
        sources.files().filter_map(|(id, f)| crate::parse::parse_file(id, &f.text).ok()).collect();
    let items: Vec<&ast::Item> = files.iter().flat_map(|f| &f.items).collect();
    let mut declared = BTreeSet::new();
    for item in &items {
        if let ast::Item::Message(m) = item {
            declared.insert(m.name.name.clone());
        }
    }
    let mut done = BTreeSet::new();
    let rt = rt();
    let mut out = vec![quote! {
        /// Stub: the .route file has errors.
        pub fn register_content_types(registry: &mut #rt::ContentRegistry) {
            let _ = registry;
        }
    }];
    for item in &items {
        match item {
            ast::Item::Message(m) if done.insert(("m", m.name.name.clone())) => {
                out.push(message(m, &declared));
            }
            ast::Item::Listener(l) if done.insert(("l", l.name.name.clone())) => {
                out.push(listener(l));
            }
            ast::Item::Const(c) if done.insert(("c", c.name.name.clone())) => {
                out.extend(constant(c));
            }
            _ => {}
        }
    }
    quote!(#(#out)*)
}

fn field_type(t: &ast::TypeExpr, declared: &BTreeSet<String>) -> Option<TokenStream> {
    let rt = rt();
    Some(match &t.kind {
        ast::TypeExprKind::Named(n) => match n.as_str() {
            "bool" => quote!(bool),
            "int" => quote!(i64),
            "float" => quote!(f64),
            "string" => quote!(::std::string::String),
            "id" => quote!(#rt::Id),
            // Boxed: the stub does not know which types contain themselves.
            n if declared.contains(n) => {
                let n = rust_ident(n);
                quote!(::std::boxed::Box<#n>)
            }
            _ => return None,
        },
        ast::TypeExprKind::List(t) => {
            let t = field_type(t, declared)?;
            quote!(::std::vec::Vec<#t>)
        }
        ast::TypeExprKind::Optional(t) => {
            let t = field_type(t, declared)?;
            quote!(::std::option::Option<#t>)
        }
    })
}

/// A const whose type its literal decides (sets and names are left out).
fn constant(c: &ast::Const) -> Option<TokenStream> {
    let ast::Operand::Lit(l) = &c.value else { return None };
    let (ty, v) = match &l.kind {
        ast::LitKind::Bool(b) => (quote!(bool), quote!(#b)),
        ast::LitKind::Int(i) => (quote!(i64), super::types::int_tokens(*i)),
        ast::LitKind::Float(x) => (quote!(f64), super::types::float_tokens(*x)),
        ast::LitKind::Str(s) => (quote!(&str), quote!(#s)),
    };
    let name = rust_ident(&c.name.name);
    Some(quote! {
        /// Stub: the .route file has errors.
        #[allow(non_upper_case_globals, reason = "names come from the .route file")]
        pub const #name: #ty = #v;
    })
}

fn message(m: &ast::Message, declared: &BTreeSet<String>) -> TokenStream {
    let name = rust_ident(&m.name.name);
    let fields = m.fields.iter().filter_map(|f| {
        let ty = field_type(&f.ty, declared)?;
        let id = rust_ident(&f.name.name);
        Some(quote!(#[doc = "Stub: the .route file has errors."] pub #id: #ty))
    });
    let rt = rt();
    let serde_path = format!("{rt}::serde").replace(' ', "");
    // The content traits too (no field visible to routing: nothing routes),
    // so code that sends or matches on the struct does not add errors.
    let impls = super::types::content_impls(&rt, &name, &m.name.name, &[]);
    quote! {
        /// Stub: the .route file has errors.
        #[allow(non_camel_case_types, non_snake_case, reason = "names come from the .route file")]
        #[derive(Clone, Debug, #rt::serde::Serialize, #rt::serde::Deserialize)]
        #[serde(crate = #serde_path)]
        pub struct #name { #(#fields,)* }

        #impls
    }
}

fn listener(l: &ast::Listener) -> TokenStream {
    let rt = rt();
    let module = rust_ident(&l.name.name);
    let mut handlers = BTreeSet::new();
    let mut queues = BTreeSet::new();
    for c in &l.clauses {
        let actions = match c {
            ast::Clause::Rule(r) => &r.actions,
            ast::Clause::Otherwise(o) => &o.actions,
        };
        for a in actions {
            match &a.kind {
                ast::ActionKind::Call { handler, .. } => {
                    handlers.insert(handler.name.clone());
                }
                ast::ActionKind::Queue(q) => {
                    queues.insert(q.name.clone());
                }
                _ => {}
            }
        }
    }
    let methods = handlers.iter().map(|h| {
        let m = rust_ident(h);
        quote! {
            /// Stub: the .route file has errors.
            fn #m(&self, envelope: &#rt::Envelope, content: &dyn #rt::Content) -> #rt::HandlerResult {
                let _ = (envelope, content);
                ::std::result::Result::Ok(#rt::Reply::Empty)
            }
        }
    });
    // As generated for real: a listener without `call`s takes `()`.
    let unit = handlers.is_empty().then(|| quote!(impl Handler for () {}));
    let queue_fns = queues.iter().map(|q| {
        let f = super::names::ident(&format!("queue_{q}"));
        quote! {
            /// Stub: the .route file has errors.
            pub fn #f(&self) -> #rt::Queue {
                #rt::Queue::new(#q)
            }
        }
    });
    quote! {
        /// Stub: the .route file has errors.
        #[allow(non_snake_case, non_camel_case_types, reason = "names come from the .route file")]
        pub mod #module {
            /// Stub: the .route file has errors.
            pub trait Handler: ::std::marker::Send + ::std::marker::Sync + 'static {
                #(#methods)*
            }

            #unit

            /// Stub: the .route file has errors.
            #[derive(Default)]
            pub struct Matcher {
                layout: #rt::Layout,
            }

            impl Matcher {
                /// Stub: the .route file has errors.
                pub fn new() -> Matcher {
                    Matcher::default()
                }
            }

            impl #rt::Matcher for Matcher {
                fn layout(&self) -> &#rt::Layout {
                    &self.layout
                }

                fn route(&self, msg: &#rt::Message, fired: &mut #rt::Fired) {
                    let _ = msg;
                    fired.unrouted();
                }
            }

            /// Stub: the .route file has errors.
            pub struct Listener<H: Handler> {
                handlers: H,
            }

            impl<H: Handler> Listener<H> {
                /// Stub: the .route file has errors.
                pub fn new(handlers: H) -> Listener<H> {
                    Listener { handlers }
                }

                /// Stub: the .route file has errors.
                pub fn handlers(&self) -> &H {
                    &self.handlers
                }

                /// Stub: the .route file has errors.
                pub fn queue(&self, name: &str) -> ::std::option::Option<#rt::Queue> {
                    let _ = name;
                    ::std::option::Option::None
                }

                #(#queue_fns)*

                /// Stub: the .route file has errors.
                pub fn bind_forward(
                    &self,
                    name: &str,
                    target: impl ::std::convert::Into<#rt::ForwardTarget>,
                ) -> ::std::result::Result<(), #rt::BuildError> {
                    let _ = (name, target.into());
                    ::std::result::Result::Ok(())
                }
            }

            impl<H: Handler> #rt::Listener for Listener<H> {
                fn deliver(&self, delivery: #rt::Delivery, cx: &mut #rt::Context<'_>) {
                    let _ = (delivery, cx);
                }
            }
        }
    }
}

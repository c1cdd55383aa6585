//! A listener's handlers: what each method receives (the content its rules
//! narrow to), the `Handler` trait's methods, and the adapter that calls
//! them by index.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::quote;

use super::classes::{Class, simplify};
use super::layout::Layout;
use crate::codegen::names::{camel, ident, rust_ident};
use crate::codegen::rt;
use crate::program::{ActionKind, ListenerDef, MessageDef, Program};

/// The content a handler method receives.
pub(super) enum ContentParam<'a> {
    /// Every rule calling it narrows `type` to this declared type.
    One(&'a MessageDef),
    /// Several declared types: a generated enum.
    Several(Vec<&'a MessageDef>),
    /// Undeclared types can reach it: `&dyn Content`.
    Any,
}

pub(super) fn content_params<'a>(
    program: &'a Program,
    l: &ListenerDef,
    classes: &[Class<'a>],
) -> Vec<ContentParam<'a>> {
    let layout = Layout::of(program, l);
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

/// A listener's `Handler` trait's methods, the content enums they take,
/// and `impl Handler for ()` when it calls no handler.
pub(super) struct HandlerTrait {
    pub(super) methods: Vec<TokenStream>,
    pub(super) enums: Vec<TokenStream>,
    pub(super) unit_impl: Option<TokenStream>,
}

/// The methods of `l`'s `Handler` trait: one per handler of `layout`, each
/// taking the content `params` says, documented with the rules calling it.
pub(super) fn handler_trait(
    l: &ListenerDef,
    layout: &Layout,
    params: &[ContentParam<'_>],
) -> HandlerTrait {
    let rt = rt();
    let mut enums = Vec::new();
    let methods: Vec<TokenStream> = layout
        .handlers
        .iter()
        .zip(params)
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

    HandlerTrait { methods, enums, unit_impl }
}

/// The adapter's `Handlers` methods, from handler indices to trait methods:
/// `call` for the synchronous handlers, `call_async` for the others (each
/// `None` when there is none), the content downcast as `params` says.
pub(super) fn adapter(
    layout: &Layout,
    params: &[ContentParam<'_>],
) -> (Option<TokenStream>, Option<TokenStream>) {
    let rt = rt();
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
    for (i, ((name, is_async), param)) in layout.handlers.iter().zip(params).enumerate() {
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

    (call, call_async)
}

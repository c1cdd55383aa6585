//! A listener's `Matcher::route`: type dispatch to one function per class
//! of type names, each running its chain, and the `Fields` fallback.

use proc_macro2::TokenStream;
use quote::quote;

use super::Body;
use super::Ret;
use super::chains::Item;
use super::classes::{Class, simplify};
use super::layout::Layout;
use super::read::{Gen, Mode};
use crate::codegen::names::{ident, rust_ident};
use crate::codegen::rt;
use crate::program::{ListenerDef, Program};

/// The body of `Matcher::route` and the functions it calls: with
/// [`Body::Unrouted`], one that routes nothing, and no functions.
pub(super) fn route(
    program: &Program,
    l: &ListenerDef,
    layout: &Layout,
    classes: &[Class<'_>],
    body: Body,
) -> (TokenStream, Vec<TokenStream>) {
    let rt = rt();
    let g = Gen { program, layout, parts: std::cell::Cell::new(0) };
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
    let compiled = body == Body::Compiled;
    for (k, class) in classes.iter().enumerate().filter(|_| compiled) {
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
    let route = if compiled {
        let (fallback, terminated) = g.chain_ends(&items_for(None), Mode::Dyn, Ret::Route);
        let fallback_ends = (!terminated).then_some(&ends);
        fns.push(quote! {
            /// Any message whose content is not its type's struct: every rule,
            /// every field read through `Fields`. Rare (content of another
            /// process whose type was not registered), so kept off the hot path.
            #[cold]
            fn route_fields(env: &#rt::Envelope, content: &dyn #rt::Content, fired: &mut #rt::Fired) {
                let _ = (env, content);
                #fallback
                #fallback_ends
            }
        });
        quote! {
            let env = msg.envelope();
            let content: &dyn #rt::Content = &**msg.content();
            match env.ty.as_str() {
                #(#arms)*
                #other
            }
        }
    } else {
        quote! {
            let _ = msg;
            fired.unrouted();
        }
    };
    (route, fns)
}

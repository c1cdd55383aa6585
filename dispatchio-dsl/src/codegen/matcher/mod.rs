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
mod chains;
mod classes;
mod decision;
mod handlers;
mod layout;
mod leaf;
mod read;
mod route;

use proc_macro2::TokenStream;
use quote::quote;

use super::names::{ident, listener_module};
use super::rt;
use crate::program::{ListenerDef, Program};

use classes::classes;
use handlers::content_params;
use layout::Layout;

/// Shortest run of rules on one field worth a decision instead of a chain.
pub(super) const MIN_RUN: usize = 4;

/// Most rules one generated function holds before its chain is cut into
/// parts (nested functions called in order).
///
/// LLVM's alias analysis grows quadratically with the size of a function
/// full of calls: the 10,000-rule benchmark table's `Fields` fallback, one
/// function of 10,000 `dyn_test` calls, did not finish optimising in ten
/// minutes. Parts of 64 rules keep each function small; the cost is one
/// call per 64 rules tried, on chains that try that many rules anyway.
pub(super) const PART_RULES: usize = 64;

/// What a rule that stops does in the function being generated.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Ret {
    /// A route function: `return;`.
    Route,
    /// A part of a chain (see [`PART_RULES`]): `return true;`, and the
    /// caller returns in turn.
    Part,
}

impl Ret {
    pub(super) fn stopped(self) -> TokenStream {
        match self {
            Ret::Route => quote!(return;),
            Ret::Part => quote!(return true;),
        }
    }
}

/// What a listener module's matcher does.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    /// Routes by the program's rules: a program that checked.
    Compiled,
    /// Routes nothing (every message unrouted): the stub after errors,
    /// whose conditions did not check. The API around it is the same.
    Unrouted,
}

/// The module for one listener.
pub(crate) fn listener(program: &Program, l: &ListenerDef, body: Body) -> TokenStream {
    let rt = rt();
    let module = listener_module(&l.name);
    let layout = Layout::of(program, l);
    let classes = classes(program);
    let params = content_params(program, l, &classes);
    let lname = &l.name;
    let location = program.sources().location(l.name_span);

    let handlers::HandlerTrait { methods, enums, unit_impl } =
        handlers::handler_trait(l, &layout, &params);
    let (call, call_async) = handlers::adapter(&layout, &params);
    let (route, fns) = route::route(program, l, &layout, &classes, body);
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
                self.inner.queue(#q).unwrap_or_else(|_| #rt::Queue::new(#q))
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
                    #route
                }
            }

            #(#fns)*

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

                /// The queue `name`, by its name in the `.route` file (the
                /// `queue_<name>()` methods give each without a lookup).
                ///
                /// # Errors
                ///
                /// When the listener has no queue of that name; the error lists its queues.
                pub fn queue(&self, name: &str) -> ::std::result::Result<#rt::Queue, #rt::UnknownQueue> {
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

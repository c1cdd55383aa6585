//! The names behind a listener's step indices (handlers, queues, forward
//! targets), in order of first use, and the steps of a rule's actions.

use proc_macro2::TokenStream;
use quote::quote;

use crate::codegen::rt;
use crate::program::{ActionKind, HandlerKind, ListenerDef, Program};

/// The names behind a listener's step indices, in order of first use.
#[derive(Default)]
pub(super) struct Layout {
    pub(super) handlers: Vec<(String, bool)>,
    pub(super) queues: Vec<String>,
    pub(super) forwards: Vec<String>,
}

impl Layout {
    /// The layout of `l`, each handler's kind as the checker recorded it
    /// (`Program::handler_kind`).
    pub(super) fn of(program: &Program, l: &ListenerDef) -> Layout {
        let mut out = Layout::default();
        let all = l
            .rules
            .iter()
            .flat_map(|r| &r.actions)
            .chain(l.otherwise.iter().flat_map(|o| &o.actions));
        for a in all {
            match &a.kind {
                ActionKind::Call { handler, .. }
                    if !out.handlers.iter().any(|(n, _)| n == handler) =>
                {
                    let kind = program.handler_kind(&l.name, handler);
                    out.handlers.push((handler.clone(), kind == Some(HandlerKind::Async)));
                }
                ActionKind::Queue(q) if !out.queues.contains(q) => out.queues.push(q.clone()),
                ActionKind::Forward(f) if !out.forwards.contains(f) => out.forwards.push(f.clone()),
                _ => {}
            }
        }
        out
    }

    pub(super) fn steps(&self, actions: &[crate::program::Action]) -> TokenStream {
        let rt = rt();
        let steps = actions.iter().filter_map(|a| {
            let pos = |v: &[String], n: &str| v.iter().position(|x| x == n).unwrap_or(0);
            Some(match &a.kind {
                ActionKind::Call { handler, .. } => {
                    let (i, is_async) = self
                        .handlers
                        .iter()
                        .enumerate()
                        .find(|(_, (n, _))| n == handler)
                        .map_or((0, false), |(i, (_, a))| (i, *a));
                    if is_async {
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
